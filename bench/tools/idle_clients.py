#!/usr/bin/env python3
"""Opens many authenticated, idle PostgreSQL client connections and holds them.

Used by bench/run.sh to measure a proxy's memory per idle client. Each connection sends
a v3 StartupMessage, answers SCRAM-SHA-256 (or md5, cleartext, trust) and waits for
ReadyForQuery, then sits idle until this process gets SIGTERM/SIGINT. The SCRAM salted
password is computed once per (salt, iterations), so logins cost only HMACs here.
Loopback only; no third-party modules. Single-threaded (asyncio).

Writes one line "ready OK FAILED SECONDS" to --ready-file once every login has ended.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import resource
import signal
import struct
import sys
import time

PROTOCOL_V3 = 196608
SALTED_CACHE = {}


class LoginError(Exception):
    pass


def message(kind, body):
    return kind + struct.pack("!I", len(body) + 4) + body


def startup_packet(user, database):
    params = b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
    body = struct.pack("!I", PROTOCOL_V3) + params
    return struct.pack("!I", len(body) + 4) + body


async def read_message(reader):
    header = await reader.readexactly(5)
    length = struct.unpack("!I", header[1:5])[0]
    if length < 4 or length > 1 << 20:
        raise LoginError("bad message length %d" % length)
    return header[:1], await reader.readexactly(length - 4)


def error_text(body):
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[part[:1]] = part[1:].decode(errors="replace")
    return "%s %s" % (fields.get(b"C", "?"), fields.get(b"M", "?"))


def salted_password(password, salt, iterations):
    key = (salt, iterations)
    if key not in SALTED_CACHE:
        SALTED_CACHE[key] = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return SALTED_CACHE[key]


class Scram:
    """Client side of one SCRAM-SHA-256 exchange (no channel binding)."""

    def __init__(self, password):
        self.password = password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = "n=,r=" + self.nonce

    def initial_response(self):
        data = ("n,," + self.first_bare).encode()
        body = b"SCRAM-SHA-256\0" + struct.pack("!i", len(data)) + data
        return message(b"p", body)

    def final_response(self, server_first):
        attrs = dict(item.split("=", 1) for item in server_first.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise LoginError("server nonce does not extend the client nonce")
        salted = salted_password(self.password, base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=" + attrs["r"]
        auth_message = ",".join([self.first_bare, server_first, without_proof]).encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        final = without_proof + ",p=" + base64.b64encode(proof).decode()
        return message(b"p", final.encode())


def md5_response(user, password, salt):
    inner = hashlib.md5((password + user).encode()).hexdigest()
    outer = hashlib.md5(inner.encode() + salt).hexdigest()
    return message(b"p", b"md5" + outer.encode() + b"\0")


def answer_auth(args, body, state):
    """Returns the bytes to send for one Authentication message (b"" for none)."""
    code = struct.unpack("!I", body[:4])[0]
    if code in (0, 12):  # AuthenticationOk, SASLFinal
        return b""
    if code == 3:
        return message(b"p", args.password.encode() + b"\0")
    if code == 5:
        return md5_response(args.user, args.password, body[4:8])
    if code == 10:
        if b"SCRAM-SHA-256\0" not in body[4:]:
            raise LoginError("server offers no SCRAM-SHA-256")
        state["scram"] = Scram(args.password)
        return state["scram"].initial_response()
    if code == 11:
        return state["scram"].final_response(body[4:].decode())
    raise LoginError("unsupported authentication request %d" % code)


async def login(args):
    reader, writer = await asyncio.open_connection(args.host, args.port)
    try:
        writer.write(startup_packet(args.user, args.dbname))
        state = {}
        while True:
            kind, body = await read_message(reader)
            if kind == b"R":
                reply = answer_auth(args, body, state)
                if reply:
                    writer.write(reply)
            elif kind == b"E":
                raise LoginError(error_text(body))
            elif kind == b"Z":
                return reader, writer
    except BaseException:
        writer.close()
        raise


async def one_client(args, gate, held, errors):
    async with gate:
        try:
            held.append(await asyncio.wait_for(login(args), args.login_timeout))
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, LoginError) as e:
            errors.append("%s: %s" % (type(e).__name__, e))


async def main_async(args):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    gate = asyncio.Semaphore(args.concurrency)
    held, errors = [], []
    started = time.monotonic()
    await asyncio.gather(*(one_client(args, gate, held, errors) for _ in range(args.count)))
    elapsed = time.monotonic() - started
    for e in sorted(set(errors))[:5]:
        print("idle_clients: login failed: %s" % e, file=sys.stderr)
    with open(args.ready_file + ".tmp", "w") as f:
        f.write("ready %d %d %.2f\n" % (len(held), len(errors), elapsed))
    os.rename(args.ready_file + ".tmp", args.ready_file)
    await stop.wait()
    for _, writer in held:
        writer.write(message(b"X", b""))
        writer.close()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--dbname", required=True)
    p.add_argument("--password", default=os.environ.get("PGPASSWORD", ""))
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=200, help="logins in flight at once")
    p.add_argument("--login-timeout", type=float, default=60.0)
    p.add_argument("--ready-file", required=True)
    return p.parse_args()


def main():
    args = parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.count + 100
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
