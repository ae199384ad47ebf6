#!/usr/bin/env python3
"""Turns the raw benchmark CSVs into medians, ratios, a gnuplot data file and a report.

Reads RESULTS/results.csv (one row per pgbench run) and, when present, RESULTS/cpu.csv
and RESULTS/memory.csv; writes RESULTS/summary.csv and RESULTS/tps.dat and prints the
report table on stdout. Files from older runs without the steady-state CPU columns (or
cpu.csv's syscall_method) are read too; those figures are then left out. Standard library
only; single-threaded.
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


# results.csv columns of the steady-state CPU window, in the order cell_medians keeps them
# (tuple positions 5 to 9).
WINDOW_COLUMNS = ("window_tps", "machine_busy_pct", "proxy_cpu_us_per_txn",
                  "other_cpu_us_per_txn", "proxy_user_us_per_txn")
WINDOW_TPS, BUSY_PCT, PROXY_US, OTHER_US, PROXY_USER_US = 5, 6, 7, 8, 9


def group_runs(rows):
    """{(mode, protocol, clients): {target: [results.csv rows]}}, the cells in report order
    (modes and protocols as first seen, clients ascending)."""
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
    return {cell: grouped[cell] for cell in order}


def cell_medians(grouped):
    """{(mode, protocol, clients): {target: (tps, lat_mean, lat_p99, ok_runs, runs,
    window_tps, machine_busy_pct, proxy_cpu_us_per_txn, other_cpu_us_per_txn,
    proxy_user_us_per_txn)}} from group_runs()."""
    result = {}
    for cell, per_target in grouped.items():
        result[cell] = {}
        for target, runs in per_target.items():
            tps = [number(r["tps"]) for r in runs]
            result[cell][target] = (
                median(tps),
                median(number(r["lat_mean_ms"]) for r in runs),
                median(number(r["lat_p99_ms"]) for r in runs),
                sum(1 for t in tps if t is not None),
                len(runs),
            ) + tuple(median(number(r.get(k)) for r in runs) for k in WINDOW_COLUMNS)
    return result


SUMMARY_FIELDS = [
    "mode", "protocol", "clients",
    "direct_tps", "pgbouncer_tps", "pgmux_tps", "pgmux_vs_pgbouncer", "pgmux_vs_direct",
    "pgmux_vs_pgbouncer_round_min", "pgmux_vs_pgbouncer_round_max", "pgmux_ahead_rounds",
    "direct_lat_mean_ms", "pgbouncer_lat_mean_ms", "pgmux_lat_mean_ms",
    "direct_lat_p99_ms", "pgbouncer_lat_p99_ms", "pgmux_lat_p99_ms",
    "pgbouncer_added_lat_ms", "pgmux_added_lat_ms",
    "pgbouncer_added_p99_ms", "pgmux_added_p99_ms", "failed_runs",
    "direct_window_tps", "pgbouncer_window_tps", "pgmux_window_tps",
    "direct_machine_busy_pct", "pgbouncer_machine_busy_pct", "pgmux_machine_busy_pct",
    "pgbouncer_proxy_cpu_us", "pgmux_proxy_cpu_us",
    "direct_other_cpu_us", "pgbouncer_other_cpu_us", "pgmux_other_cpu_us",
    "zero_cost_bound_tps", "bound_vs_pgbouncer",
    "pgbouncer_proxy_user_us", "pgmux_proxy_user_us",
    "kernel_only_bound_tps", "kernel_only_bound_vs_pgbouncer",
]

# PgBouncer's machine busy % from which the zero-cost proxy bound applies.
SATURATED_PCT = 90.0


def cpu_count(results):
    """CPUs of the machine that ran the benchmark: nproc from machine.txt when present."""
    try:
        with open(os.path.join(results, "machine.txt")) as f:
            for line in f:
                if line.startswith("nproc:"):
                    return int(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return os.cpu_count() or 1


def proxy_bounds(runs, ncpu):
    """The proxy bounds of a cell from PgBouncer's runs of it (results.csv rows), as a dict:
    zero (tps), zero_ratio, kernel (tps), kernel_ratio, busy (%), each the median over the runs
    whose steady-state window was measured; {} where none was.

    Per run, over its own window: zero = ncpu * 1e6 / the CPU (us) everything but PgBouncer
    spent per transaction, the tps a proxy that cost nothing would reach with the machine
    fully busy; kernel = ncpu * 1e6 / (that + PgBouncer's kernel CPU per transaction), the
    tps of a proxy that made PgBouncer's system calls at no user-space cost. Each ratio
    divides by the same window's tps, so a round slowed by machine noise sets its own
    bound instead of mixing with another round's tps."""
    zero, zero_ratio, kernel, kernel_ratio, busy = [], [], [], [], []
    for r in runs:
        other, tps = number(r.get("other_cpu_us_per_txn")), number(r.get("window_tps"))
        if not other or not tps:
            continue
        busy.append(number(r.get("machine_busy_pct")))
        zero.append(ncpu * 1e6 / other)
        zero_ratio.append(zero[-1] / tps)
        proxy, user = number(r.get("proxy_cpu_us_per_txn")), number(r.get("proxy_user_us_per_txn"))
        if proxy is not None and user is not None:
            kernel.append(ncpu * 1e6 / (other + proxy - user))
            kernel_ratio.append(kernel[-1] / tps)
    if not zero:
        return {}
    return {"zero": median(zero), "zero_ratio": median(zero_ratio), "kernel": median(kernel),
            "kernel_ratio": median(kernel_ratio), "busy": median(busy)}


def round_ratios(per_target):
    """pgmux/PgBouncer tps round by round, for the rounds where both ran: how far one run
    of a cell strays from the next, next to the ratio of the medians."""
    def by_round(target):
        return {r["round"]: number(r["tps"]) for r in per_target.get(target, [])}
    mux, bnc = by_round("pgmux"), by_round("pgbouncer")
    return [mux[k] / bnc[k] for k in mux if mux[k] is not None and bnc.get(k)]


def summary_row(cell, per_target, bounds, ratios=()):
    get = lambda t, i: per_target[t][i] if t in per_target else None  # noqa: E731
    row = {"mode": cell[0], "protocol": cell[1], "clients": cell[2]}
    for t in TARGETS:
        row[t + "_tps"] = fmt(get(t, 0), 1)
        row[t + "_lat_mean_ms"] = fmt(get(t, 1), 3)
        row[t + "_lat_p99_ms"] = fmt(get(t, 2), 3)
    row["pgmux_vs_pgbouncer"] = fmt(ratio(get("pgmux", 0), get("pgbouncer", 0)), 3)
    row["pgmux_vs_direct"] = fmt(ratio(get("pgmux", 0), get("direct", 0)), 3)
    if ratios:
        row["pgmux_vs_pgbouncer_round_min"] = fmt(min(ratios), 3)
        row["pgmux_vs_pgbouncer_round_max"] = fmt(max(ratios), 3)
        row["pgmux_ahead_rounds"] = "%d/%d" % (sum(1 for r in ratios if r >= 1), len(ratios))
    if cell[2] == 1:  # the latency a proxy adds is only meaningful without queueing
        for t in ("pgbouncer", "pgmux"):
            row[t + "_added_lat_ms"] = fmt(diff(get(t, 1), get("direct", 1)), 3)
            row[t + "_added_p99_ms"] = fmt(diff(get(t, 2), get("direct", 2)), 3)
    row["failed_runs"] = sum(v[4] - v[3] for v in per_target.values())
    for t in TARGETS:
        row[t + "_window_tps"] = fmt(get(t, WINDOW_TPS), 1)
        row[t + "_machine_busy_pct"] = fmt(get(t, BUSY_PCT), 1)
        row[t + "_other_cpu_us"] = fmt(get(t, OTHER_US), 2)
        if t != "direct":
            row[t + "_proxy_cpu_us"] = fmt(get(t, PROXY_US), 2)
            row[t + "_proxy_user_us"] = fmt(get(t, PROXY_USER_US), 2)
    if bounds.get("busy") is not None and bounds["busy"] >= SATURATED_PCT:  # they assume it
        row["zero_cost_bound_tps"] = fmt(bounds["zero"], 1)
        row["bound_vs_pgbouncer"] = fmt(bounds["zero_ratio"], 3)
        row["kernel_only_bound_tps"] = fmt(bounds["kernel"], 1)
        row["kernel_only_bound_vs_pgbouncer"] = fmt(bounds["kernel_ratio"], 3)
    return row


def write_summary(path, medians, bounds, grouped):
    rows = [summary_row(cell, per_target, bounds.get(cell, {}),
                        round_ratios(grouped.get(cell, {})))
            for cell, per_target in medians.items()]
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


def print_latency_split(medians):
    """At 1 client, each proxy's CPU per transaction split into user space and kernel, next
    to the latency it adds: what is left of the added latency without the user-space part."""
    for (mode, protocol, clients), per_target in medians.items():
        if clients != 1 or "direct" not in per_target:
            continue
        parts = []
        for t in ("pgbouncer", "pgmux"):
            v = per_target.get(t)
            if v is None or v[PROXY_US] is None or v[PROXY_USER_US] is None:
                break
            parts.append("%s %s us CPU (user %s, kernel %s)" % (
                t, fmt(v[PROXY_US], 1), fmt(v[PROXY_USER_US], 1),
                fmt(v[PROXY_US] - v[PROXY_USER_US], 1)))
        else:
            print("  %-14s %-9s per transaction: %s" % (mode, protocol, "; ".join(parts)))


def print_throughput(rows):
    print("Throughput (median of rounds; tps, mean / p99 latency in ms; mux = pgmux)")
    head = "%-14s %-9s %7s %10s %10s %10s %8s %8s  %-20s %-20s %s"
    print(head % ("mode", "protocol", "clients", "direct", "pgbouncer", "pgmux",
                  "mux/bnc", "mux/dir", "mean d/b/m", "p99 d/b/m",
                  "mux/bnc by round: range, rounds >= 1"))
    for r in rows:
        lat = "/".join(r[t + "_lat_mean_ms"] or "-" for t in TARGETS)
        p99 = "/".join(r[t + "_lat_p99_ms"] or "-" for t in TARGETS)
        spread = "-"
        if r.get("pgmux_ahead_rounds"):
            spread = "%s-%s, %s" % (r["pgmux_vs_pgbouncer_round_min"],
                                    r["pgmux_vs_pgbouncer_round_max"], r["pgmux_ahead_rounds"])
        print(head % (r["mode"], r["protocol"], r["clients"], r["direct_tps"] or "-",
                      r["pgbouncer_tps"] or "-", r["pgmux_tps"] or "-",
                      r["pgmux_vs_pgbouncer"] or "-", r["pgmux_vs_direct"] or "-", lat, p99,
                      spread))
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


def print_window(medians, bounds, ncpu):
    """Where the CPU goes in the steady-state window of the select-only runs."""
    cells = [(c, p) for c, p in medians.items() if c[0] == "select-only"]
    if not any(v[BUSY_PCT] is not None for _, p in cells for v in p.values()):
        return  # results.csv from before the window columns, or no select-only cell
    print("\nWhere the CPU goes (steady-state window, median of rounds)")
    print("  select-only; busy%% of %d CPUs; us of CPU per transaction: proxy = the proxy process," % ncpu)
    print("  of which user_us in the proxy's own code (utime; the rest is the kernel working for it),")
    print("  other = the rest of the machine's busy CPU (PostgreSQL, pgbench, the kernel...)")
    head = "  %-9s %7s  %-10s %10s %6s %9s %9s %9s"
    print(head % ("protocol", "clients", "target", "window_tps", "busy%", "proxy_us", "user_us",
                  "other_us"))
    for (mode, protocol, clients), per_target in cells:
        first = True
        for t in TARGETS:
            if t not in per_target:
                continue
            v = per_target[t]
            print(head % (protocol if first else "", clients if first else "", t,
                          fmt(v[WINDOW_TPS], 1) or "-", fmt(v[BUSY_PCT], 1) or "-",
                          fmt(v[PROXY_US], 2) or "-", fmt(v[PROXY_USER_US], 2) or "-",
                          fmt(v[OTHER_US], 2) or "-"))
            first = False
        b = bounds.get((mode, protocol, clients), {})
        if not b:
            if "pgbouncer" in per_target:
                print("    zero-cost proxy bound: no steady-state window in PgBouncer's runs (failed,"
                      " shorter than 3 s, or logins outlasted the allowance)")
        elif b["busy"] is None or b["busy"] < SATURATED_PCT:
            print("    zero-cost proxy bound: does not apply, the machine was not saturated"
                  " in PgBouncer's runs (busy %s%% < %.0f%%)" % (
                      fmt(b["busy"], 1) or "?", SATURATED_PCT))
        else:
            print("    zero-cost proxy bound: %.0f tps, at most %s x PgBouncer's tps in the same"
                  " window, for any proxy here" % (b["zero"], fmt(b["zero_ratio"], 2)))
            if b["kernel"] is not None:
                print("    no-user-space proxy bound: %.0f tps, at most %s x PgBouncer's, for a proxy"
                      " making PgBouncer's system calls at no user-space cost" % (
                          b["kernel"], fmt(b["kernel_ratio"], 2) or "?"))


def print_cpu(rows):
    if not rows:
        return
    print("\nProxy CPU cost per transaction (pgbench -S -M simple, 10 clients; median of rounds)")
    print("  %-10s %-12s %12s %8s %8s %12s %14s %12s  %-15s" % (
        "proxy", "method", "cpu_us/txn", "user", "kernel", "ctxsw/txn", "instr/txn",
        "syscalls/txn", "syscalls via"))
    for target in ("pgbouncer", "pgmux"):
        mine = [r for r in rows if r["target"] == target]
        if not mine:
            continue
        cols = [median(number(r.get(k)) for r in mine)
                for k in ("cpu_us_per_txn", "ctxsw_per_txn", "instructions_per_txn",
                          "syscalls_per_txn", "user_us_per_txn", "system_us_per_txn")]
        via = "/".join(dict.fromkeys(r.get("syscall_method") or "-" for r in mine))
        print("  %-10s %-12s %12s %8s %8s %12s %14s %12s  %-15s" % (
            target, mine[0]["method"], fmt(cols[0], 2) or "-", fmt(cols[4], 2) or "-",
            fmt(cols[5], 2) or "-", fmt(cols[1], 3) or "-", fmt(cols[2], 0) or "-",
            fmt(cols[3], 2) or "-", via))


def print_instructions(rows):
    if not rows:
        return
    print("\nProxy instructions per transaction in user space (valgrind --tool=callgrind;"
          " pgbench -S -M simple, 10 clients;\n  the difference of a run of %s and one of %s"
          " transactions, which leaves out logins and start-up)" % (
              rows[0]["transactions_a"] or "?", rows[0]["transactions_b"] or "?"))
    per = {}
    for r in rows:
        per[r["target"]] = number(r["instructions_per_txn"])
        print("  %-10s %14s" % (r["target"], fmt(per[r["target"]], 0) or "-"))
    if per.get("pgbouncer") and per.get("pgmux"):
        print("  pgmux/PgBouncer: %.2f" % (per["pgmux"] / per["pgbouncer"]))


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
    ncpu = cpu_count(results)
    grouped = group_runs(read_csv(os.path.join(results, "results.csv")))
    medians = cell_medians(grouped)
    bounds = {cell: proxy_bounds(t.get("pgbouncer", []), ncpu) for cell, t in grouped.items()}
    rows = write_summary(os.path.join(results, "summary.csv"), medians, bounds, grouped)
    write_plot_data(os.path.join(results, "tps.dat"), medians)
    print_throughput(rows)
    print_latency_split(medians)
    print_window(medians, bounds, ncpu)
    print_cpu(read_csv(os.path.join(results, "cpu.csv")))
    print_instructions(read_csv(os.path.join(results, "instructions.csv")))
    print_memory(read_csv(os.path.join(results, "memory.csv")))


if __name__ == "__main__":
    main()
