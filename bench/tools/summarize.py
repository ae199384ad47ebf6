#!/usr/bin/env python3
"""Turns the raw benchmark CSVs into medians, ratios, a gnuplot data file and a report.

Reads RESULTS/results.csv (one row per pgbench run) and, when present, RESULTS/cpu.csv
and RESULTS/memory.csv; writes RESULTS/summary.csv and RESULTS/tps.dat and prints the
report table on stdout. Standard library only; single-threaded.
"""

import csv
import os
import statistics
import sys

TARGETS = ("direct", "pgbouncer", "pgmux")


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


def diff(a, b):
    return a - b if a is not None and b is not None else None


def fmt(value, digits=2):
    return "" if value is None else "%.*f" % (digits, value)


def read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def cell_medians(rows):
    """{(mode, protocol, clients): {target: (tps, lat_mean, lat_p99, ok_runs, runs)}}."""
    grouped, order = {}, []
    for row in rows:
        cell = (row["mode"], row["protocol"], int(row["clients"]))
        if cell not in grouped:
            grouped[cell] = {}
            order.append(cell)
        grouped[cell].setdefault(row["target"], []).append(row)
    mode_rank = {m: i for i, m in enumerate(dict.fromkeys(c[0] for c in order))}
    proto_rank = {p: i for i, p in enumerate(dict.fromkeys(c[1] for c in order))}
    order.sort(key=lambda c: (mode_rank[c[0]], proto_rank[c[1]], c[2]))
    result = {}
    for cell in order:
        result[cell] = {}
        for target, runs in grouped[cell].items():
            tps = [number(r["tps"]) for r in runs]
            result[cell][target] = (
                median(tps),
                median(number(r["lat_mean_ms"]) for r in runs),
                median(number(r["lat_p99_ms"]) for r in runs),
                sum(1 for t in tps if t is not None),
                len(runs),
            )
    return result


SUMMARY_FIELDS = [
    "mode", "protocol", "clients",
    "direct_tps", "pgbouncer_tps", "pgmux_tps", "pgmux_vs_pgbouncer", "pgmux_vs_direct",
    "direct_lat_mean_ms", "pgbouncer_lat_mean_ms", "pgmux_lat_mean_ms",
    "direct_lat_p99_ms", "pgbouncer_lat_p99_ms", "pgmux_lat_p99_ms",
    "pgbouncer_added_lat_ms", "pgmux_added_lat_ms",
    "pgbouncer_added_p99_ms", "pgmux_added_p99_ms", "failed_runs",
]


def summary_row(cell, per_target):
    get = lambda t, i: per_target[t][i] if t in per_target else None  # noqa: E731
    row = {"mode": cell[0], "protocol": cell[1], "clients": cell[2]}
    for t in TARGETS:
        row[t + "_tps"] = fmt(get(t, 0), 1)
        row[t + "_lat_mean_ms"] = fmt(get(t, 1), 3)
        row[t + "_lat_p99_ms"] = fmt(get(t, 2), 3)
    row["pgmux_vs_pgbouncer"] = fmt(ratio(get("pgmux", 0), get("pgbouncer", 0)), 3)
    row["pgmux_vs_direct"] = fmt(ratio(get("pgmux", 0), get("direct", 0)), 3)
    if cell[2] == 1:  # the latency a proxy adds is only meaningful without queueing
        for t in ("pgbouncer", "pgmux"):
            row[t + "_added_lat_ms"] = fmt(diff(get(t, 1), get("direct", 1)), 3)
            row[t + "_added_p99_ms"] = fmt(diff(get(t, 2), get("direct", 2)), 3)
    row["failed_runs"] = sum(v[4] - v[3] for v in per_target.values())
    return row


def write_summary(path, medians):
    rows = [summary_row(cell, per_target) for cell, per_target in medians.items()]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_FIELDS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def write_plot_data(path, medians):
    """tps.dat: clients and the median tps of each target, select-only simple only."""
    with open(path, "w") as f:
        f.write("# clients direct pgbouncer pgmux (median tps, pgbench -S -M simple)\n")
        for (mode, protocol, clients), per_target in medians.items():
            if mode == "select-only" and protocol == "simple":
                cols = [fmt(per_target[t][0], 1) if t in per_target else "" for t in TARGETS]
                f.write("%d %s\n" % (clients, " ".join(c or "NaN" for c in cols)))


def print_throughput(rows):
    print("Throughput (median of rounds; tps, mean / p99 latency in ms; mux = pgmux)")
    head = "%-14s %-9s %7s %10s %10s %10s %8s %8s  %-20s %-20s"
    print(head % ("mode", "protocol", "clients", "direct", "pgbouncer", "pgmux",
                  "mux/bnc", "mux/dir", "mean d/b/m", "p99 d/b/m"))
    for r in rows:
        lat = "/".join(r[t + "_lat_mean_ms"] or "-" for t in TARGETS)
        p99 = "/".join(r[t + "_lat_p99_ms"] or "-" for t in TARGETS)
        print(head % (r["mode"], r["protocol"], r["clients"], r["direct_tps"] or "-",
                      r["pgbouncer_tps"] or "-", r["pgmux_tps"] or "-",
                      r["pgmux_vs_pgbouncer"] or "-", r["pgmux_vs_direct"] or "-", lat, p99))
    failed = sum(int(r["failed_runs"]) for r in rows)
    if failed:
        print("  %d run(s) failed; see errors.log" % failed)
    added = [r for r in rows if r["clients"] == 1 and r["pgmux_added_lat_ms"] != ""]
    if added:
        print("\nLatency added over direct PostgreSQL at 1 client (ms, mean / p99)")
        for r in added:
            print("  %-14s %-9s pgbouncer %s / %s   pgmux %s / %s" % (
                r["mode"], r["protocol"], r["pgbouncer_added_lat_ms"] or "-",
                r["pgbouncer_added_p99_ms"] or "-", r["pgmux_added_lat_ms"] or "-",
                r["pgmux_added_p99_ms"] or "-"))


def print_cpu(rows):
    if not rows:
        return
    print("\nProxy CPU cost per transaction (pgbench -S -M simple, 10 clients; median of rounds)")
    print("  %-10s %-12s %12s %12s %14s %12s" % (
        "proxy", "method", "cpu_us/txn", "ctxsw/txn", "instr/txn", "syscalls/txn"))
    for target in ("pgbouncer", "pgmux"):
        mine = [r for r in rows if r["target"] == target]
        if not mine:
            continue
        cols = [median(number(r[k]) for r in mine)
                for k in ("cpu_us_per_txn", "ctxsw_per_txn", "instructions_per_txn",
                          "syscalls_per_txn")]
        print("  %-10s %-12s %12s %12s %14s %12s" % (
            target, mine[0]["method"], fmt(cols[0], 2) or "-", fmt(cols[1], 3) or "-",
            fmt(cols[2], 0) or "-", fmt(cols[3], 2) or "-"))


def print_memory(rows):
    if not rows:
        return
    print("\nProxy memory with idle authenticated clients (VmRSS)")
    print("  %-10s %11s %9s %14s %13s %12s" % (
        "proxy", "connections", "failed", "rss_before_kib", "rss_after_kib", "kib_per_conn"))
    for r in rows:
        print("  %-10s %11s %9s %14s %13s %12s" % (
            r["target"], r["connections"], r["failed"], r["rss_before_kib"],
            r["rss_after_kib"], r["kib_per_conn"] or "-"))


def main():
    results = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "results")
    medians = cell_medians(read_csv(os.path.join(results, "results.csv")))
    rows = write_summary(os.path.join(results, "summary.csv"), medians)
    write_plot_data(os.path.join(results, "tps.dat"), medians)
    print_throughput(rows)
    print_cpu(read_csv(os.path.join(results, "cpu.csv")))
    print_memory(read_csv(os.path.join(results, "memory.csv")))


if __name__ == "__main__":
    main()
