"""bench/tools/summarize.py: the proxy bounds come from each PgBouncer run's own window.

Synthetic results.csv rows stand in for pgbench runs (the arithmetic is what is tested;
the bench itself runs against real servers)."""

import csv
import io
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench", "tools"))
import summarize  # noqa: E402

HEADER = ("target,mode,protocol,clients,round,tps,lat_mean_ms,lat_p99_ms,window_tps,"
          "machine_busy_pct,proxy_cpu_us_per_txn,other_cpu_us_per_txn,proxy_user_us_per_txn")


def rows(text):
    return list(csv.DictReader(io.StringIO(HEADER + "\n" + text)))


class ProxyBounds(unittest.TestCase):
    def test_each_round_is_divided_by_its_own_window_tps(self):
        # Round 2 ran slow (machine noise): its other CPU per transaction is higher and its
        # tps lower. Mixing its tps with another round's CPU would inflate the ratio.
        runs = rows(
            "pgbouncer,select-only,simple,50,1,10000,,,10000,100,40,160,10\n"
            "pgbouncer,select-only,simple,50,2,6000,,,6000,100,60,273.33,15\n"
            "pgbouncer,select-only,simple,50,3,10000,,,10000,100,40,160,10\n")
        b = summarize.proxy_bounds(runs, 2)
        self.assertAlmostEqual(b["zero"], 2e6 / 160)
        self.assertAlmostEqual(b["zero_ratio"], 2e6 / 160 / 10000)  # 1.25
        self.assertAlmostEqual(b["kernel"], 2e6 / (160 + 40 - 10))
        self.assertAlmostEqual(b["kernel_ratio"], 2e6 / 190 / 10000)
        self.assertEqual(b["busy"], 100)

    def test_runs_without_a_window_are_left_out(self):
        runs = rows("pgbouncer,select-only,simple,500,1,9000,,,,,,,\n"
                    "pgbouncer,select-only,simple,500,2,9000,,,9000,95,30,170,5\n")
        b = summarize.proxy_bounds(runs, 2)
        self.assertAlmostEqual(b["zero_ratio"], 2e6 / 170 / 9000)
        self.assertEqual(summarize.proxy_bounds(runs[:1], 2), {})

    def test_without_user_time_only_the_zero_cost_bound(self):
        runs = rows("pgbouncer,select-only,simple,10,1,9000,,,9000,95,30,170,\n")
        b = summarize.proxy_bounds(runs, 2)
        self.assertIsNotNone(b["zero"])
        self.assertIsNone(b["kernel"])


class RoundRatios(unittest.TestCase):
    def test_rounds_are_paired_and_a_failed_run_leaves_its_round_out(self):
        grouped = summarize.group_runs(rows(
            "pgbouncer,connect-churn,simple,10,1,200,,,,,,,\n"
            "pgmux,connect-churn,simple,10,1,160,,,,,,,\n"
            "pgbouncer,connect-churn,simple,10,2,180,,,,,,,\n"
            "pgmux,connect-churn,simple,10,2,,,,,,,,\n"
            "pgbouncer,connect-churn,simple,10,3,150,,,,,,,\n"
            "pgmux,connect-churn,simple,10,3,195,,,,,,,\n"))
        per_target = grouped[("connect-churn", "simple", 10)]
        ratios = summarize.round_ratios(per_target)
        self.assertEqual(sorted(ratios), [0.8, 1.3])
        row = summarize.summary_row(("connect-churn", "simple", 10),
                                    summarize.cell_medians(grouped)[("connect-churn", "simple",
                                                                     10)], {}, ratios)
        self.assertEqual(row["pgmux_vs_pgbouncer_round_min"], "0.800")
        self.assertEqual(row["pgmux_vs_pgbouncer_round_max"], "1.300")
        self.assertEqual(row["pgmux_ahead_rounds"], "1/2")

    def test_no_pgbouncer_no_ratios(self):
        grouped = summarize.group_runs(rows("pgmux,select-only,prepared,10,1,9000,,,,,,,\n"))
        self.assertEqual(summarize.round_ratios(grouped[("select-only", "prepared", 10)]), [])


class Report(unittest.TestCase):
    def test_unsaturated_cells_get_no_bound(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "results.csv"), "w") as f:
                f.write(HEADER + "\n"
                        "direct,select-only,simple,1,1,14000,0.07,0.15,14000,55,,70,\n"
                        "pgbouncer,select-only,simple,1,1,9000,0.1,0.2,9000,56,35,75,7\n"
                        "pgmux,select-only,simple,1,1,9500,0.1,0.2,9500,55,34,72,6\n"
                        "pgbouncer,select-only,simple,50,1,12000,4,12,12000,96,30,110,7\n"
                        "pgmux,select-only,simple,50,1,11000,4.5,14,11000,98,40,120,11\n")
            with open(os.path.join(d, "machine.txt"), "w") as f:
                f.write("nproc: 2\n")
            out = subprocess.run([sys.executable, summarize.__file__, d], check=True,
                                 capture_output=True, text=True).stdout
            with open(os.path.join(d, "summary.csv")) as f:
                summary = {r["clients"]: r for r in csv.DictReader(f)}
        self.assertEqual(summary["1"]["zero_cost_bound_tps"], "")
        self.assertEqual(summary["50"]["bound_vs_pgbouncer"], "%.3f" % (2e6 / 110 / 12000))
        self.assertEqual(summary["50"]["kernel_only_bound_vs_pgbouncer"],
                         "%.3f" % (2e6 / 133 / 12000))
        self.assertIn("not saturated", out)
        self.assertIn("pgmux 34.0 us CPU (user 6.0, kernel 28.0)", out)
        self.assertEqual(summary["50"]["pgmux_ahead_rounds"], "0/1")
        self.assertIn("0.917-0.917, 0/1", out)


if __name__ == "__main__":
    unittest.main()
