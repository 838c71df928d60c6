# SPDX-License-Identifier: GPL-2.0
"""Unit tests of casio_report (python3 -m unittest discover -s bench/report)."""

import os
import tempfile
import unittest
import xml.etree.ElementTree as ET

import casio_report as cr

GUEST = """\
[    1.0] Linux version 6.1.192
casio-init: running /bin/casio-bench all --quick\r
BENCH machine cpu="QEMU Virtual CPU version 2.5+" nproc=2 kernel=6.1.192 mode=quick what=all\r
# some human text
BENCH switch_config trips=2000 rounds=3 warmup=200 casio="C=90ms,D=T=100ms" fifo="prio=50"
BENCH switch policy=casio rounds=3 trips=2000 median_us=100.000 min_us=99.0 max_us=101.5
BENCH switch policy=fifo rounds=3 trips=2000 median_us=99.000 min_us=98.0 max_us=100.0
BENCH switch_ratio casio_over_fifo=1.0101 casio_over_deadline=na casio_over_normal=0.9
BENCH sched_config n_min=5 n_max=10 t_min_ms=100 t_max_ms=1000 sets=2 tol_ms=5
BENCH sched_calib_idle busy0=0.010
BENCH sched_calib policy=casio c_ms=50 t_ms=100 jobs=10 misses=0 max_late_ms=-40.0 busy0=0.540 error=none
BENCH sched_calib policy=deadline c_ms=50 t_ms=100 jobs=10 misses=3 max_late_ms=12.5 busy0=0.500 error=none
BENCH sched_set u=0.70 set=0 seed=70000 n=7 u_actual=0.7000 rm_rta=ok
BENCH sched policy=casio u=0.70 set=0 seed=70000 n=7 jobs=24 misses=0 strict_misses=0 max_late_ms=-88.179 busy0=0.789
BENCH sched policy=fifo u=0.70 set=0 seed=70000 n=7 jobs=24 misses=0 strict_misses=1 max_late_ms=-1.0 busy0=0.796
BENCH sched_set u=0.95 set=0 seed=95000 n=5 u_actual=0.9500 rm_rta=miss
BENCH sched policy=fifo u=0.95 set=0 seed=95000 n=5 jobs=16 misses=2 strict_misses=2 max_late_ms=409.079 busy0=1.000
BENCH sched_task policy=fifo u=0.95 set=0 task=3 c_us=229223 t_us=547000 jobs=2 misses=2 max_late_ms=409.079
BENCH sched policy=casio u=0.95 set=0 seed=95000 n=5 jobs=16 misses=0 strict_misses=0 max_late_ms=-45.626 busy0=na
BENCH sched_set u=0.95 set=1 seed=95001 n=6 u_actual=0.9500 rm_rta=ok
BENCH sched policy=fifo u=0.95 set=1 seed=95001 n=6 jobs=20 misses=0 strict_misses=0 max_late_ms=-3.0 busy0=0.990
BENCH sched policy=casio u=0.95 set=1 seed=95001 n=6 jobs=20 misses=1 strict_misses=3 max_late_ms=7.5 busy0=0.980
BENCH sched policy=deadline u=0.95 set=1 seed=95001 n=6 jobs=0 misses=0 strict_misses=0 max_late_ms=0 busy0=na error="task 0: set policy: EBUSY"
[   12.5] some kernel line BENCH not-a-record
BENCH kscaling n=10 requeue_ns=50.0 pick_ns=5.0
BENCH kscaling n=10000 requeue_ns=200.0 pick_ns=5.5
BENCH latency policy=casio jobs=50 period_ms=10 p50_us=110.0 p99_us=4500.0 max_us=4514.4 mean_us=384.1 min_us=88.2 over_1ms=2
BENCH latency policy=fifo jobs=50 period_ms=10 p50_us=100.0 p99_us=2500.0 max_us=2562.4 mean_us=268.0 min_us=87.5 over_1ms=1
BENCH done seconds=14.7 ok=true
CASIO-BENCH-DONE
"""

HOST = """\
BENCH host cpu="Some CPU @ 2.00GHz" nproc=2 kernel=6.8.0 profile=release
BENCH scaling_config sizes=10,100,1000,10000 reps=7 target_ms=40 stat=median
BENCH scaling impl=rbtree op=cycle n=10 ns_per_op=20.00
BENCH scaling impl=rbtree op=cycle n=10000 ns_per_op=80.00
BENCH scaling impl=list op=cycle n=10 ns_per_op=10.00
BENCH scaling impl=list op=cycle n=10000 ns_per_op=10000.00
BENCH scaling impl=rbtree op=dequeue+enqueue n=10 ns_per_op=30.00
BENCH scaling impl=rbtree op=dequeue+enqueue n=10000 ns_per_op=150.00
CASIO-QUEUE-BENCH-DONE
"""

# Two rounds (y n, n y) of an overhead run; boot 3 has a failed workload.
OVERHEAD = """\
BENCH machine cpu="must be ignored: before the first boot"
BENCH overhead_boot seq=0 round=0 side=y kernel=bzImage.base host_seconds=40
BENCH machine cpu="QEMU Virtual CPU version 2.5+" nproc=2 kernel=6.1.192 mode=full what=overhead
BENCH overhead_config casio=present casio_cap_us=950000 rounds=3 pipe_trips=10000 pipe_warmup=1000 fifo="prio=50" forks=1000 hb_groups=2 hb_fds=10 hb_loops=40 hb_bytes=100 hb_mode=pipe
BENCH overhead_round workload=pipe_fifo round=0 us=10.0
BENCH overhead_round workload=pipe_fifo round=1 us=11.0
BENCH overhead_round workload=pipe_fifo round=2 us=10.5
BENCH overhead workload=pipe_fifo rounds=3 median_us=10.500 min_us=10.0 max_us=11.0
BENCH overhead workload=pipe_normal rounds=3 median_us=10.000 min_us=9.0 max_us=11.0
BENCH overhead workload=fork rounds=3 median_us=300.000 min_us=290.0 max_us=310.0
BENCH overhead workload=control rounds=3 median_us=100.000 min_us=99.0 max_us=101.0
BENCH done seconds=30.0 ok=true
CASIO-BENCH-DONE
BENCH overhead_boot seq=1 round=0 side=n kernel=bzImage.off-base host_seconds=38
BENCH overhead_config casio=absent casio_cap_us=absent rounds=3
BENCH overhead workload=pipe_fifo rounds=3 median_us=10.000 min_us=9.9 max_us=10.2
BENCH overhead workload=pipe_normal rounds=3 median_us=10.000 min_us=9.0 max_us=11.0
BENCH overhead workload=fork rounds=3 median_us=300.000 min_us=290.0 max_us=310.0
BENCH overhead workload=control rounds=3 median_us=100.000 min_us=99.0 max_us=101.0
BENCH done seconds=29.0 ok=true
BENCH overhead_boot seq=2 round=1 side=n kernel=bzImage.off-base host_seconds=39
BENCH overhead workload=pipe_fifo rounds=3 median_us=10.000 min_us=9.9 max_us=10.2
BENCH overhead workload=fork rounds=3 median_us=200.000 min_us=190.0 max_us=210.0
BENCH overhead workload=control rounds=3 median_us=100.000 min_us=99.0 max_us=101.0
BENCH done seconds=28.0 ok=true
BENCH overhead_boot seq=3 round=1 side=y kernel=bzImage.base host_seconds=41
BENCH overhead workload=pipe_fifo rounds=3 median_us=10.200 min_us=10.0 max_us=10.4
BENCH overhead_error workload=fork error="fork: EAGAIN"
BENCH overhead workload=control rounds=3 median_us=102.000 min_us=101.0 max_us=103.0
BENCH done seconds=31.0 ok=false
"""


class ParseTests(unittest.TestCase):
    def test_kv_quoting(self):
        d = cr.parse_kv(' a=1 b="x y=z" c= d=na e=-3.5')
        self.assertEqual(d, {"a": "1", "b": "x y=z", "c": "", "d": "na", "e": "-3.5"})

    def test_kv_stops_at_garbage(self):
        d = cr.parse_kv(" a=1 b=2 [  3.1] kernel says x=y")
        self.assertEqual(d, {"a": "1", "b": "2"})

    def test_keys_with_punctuation(self):
        d = cr.parse_kv(" op=dequeue+enqueue op2=enqueue(fill) n_lo=10")
        self.assertEqual(d["op"], "dequeue+enqueue")
        self.assertEqual(d["op2"], "enqueue(fill)")

    def test_lines(self):
        recs = cr.parse_lines(GUEST)
        names = [n for n, _ in recs]
        self.assertEqual(names[0], "machine")
        self.assertEqual(recs[0][1]["cpu"], "QEMU Virtual CPU version 2.5+")
        self.assertEqual(recs[0][1]["what"], "all")  # \r stripped
        self.assertNotIn("not", names)  # "BENCH not-a-record" has no valid name
        self.assertEqual(names.count("sched"), 7)
        self.assertEqual(cr.first(recs, "done")["ok"], "true")

    def test_prefixed_record(self):
        recs = cr.parse_lines("garbage>BENCH switch policy=casio median_us=1.5\n")
        self.assertEqual(recs, [("switch", {"policy": "casio", "median_us": "1.5"})])

    def test_bench_lines(self):
        lines = cr.bench_lines(GUEST)
        self.assertTrue(lines[0].startswith("BENCH machine"))
        self.assertEqual(lines[-1], "CASIO-BENCH-DONE")
        self.assertFalse(any("casio-init" in x for x in lines))

    def test_fnum(self):
        self.assertEqual(cr.fnum("1.5"), 1.5)
        self.assertIsNone(cr.fnum("na"))
        self.assertIsNone(cr.fnum(None))
        self.assertIsNone(cr.fnum("nan"))
        self.assertEqual(cr.fnum("x", 0), 0)


class TableTests(unittest.TestCase):
    def test_sched_table(self):
        table, rta = cr.sched_table(cr.parse_lines(GUEST))
        c95 = table[("casio", 0.95)]
        self.assertEqual((c95["sets"], c95["missed"], c95["misses"], c95["jobs"]), (2, 1, 1, 36))
        self.assertEqual(c95["strict"], 3)
        self.assertEqual(c95["busy"], [0.98])  # "na" skipped
        self.assertEqual(c95["max_late_ms"], 7.5)
        f95 = table[("fifo", 0.95)]
        self.assertEqual((f95["sets"], f95["missed"], f95["misses"]), (2, 1, 2))
        d95 = table[("deadline", 0.95)]
        self.assertEqual((d95["sets"], d95["errors"]), (0, 1))
        self.assertEqual(table[("fifo", 0.7)]["missed"], 0)  # strict miss within tolerance
        self.assertEqual(rta, {0.7: {"sets": 1, "rm_miss": 0}, 0.95: {"sets": 2, "rm_miss": 1}})

    def test_scaling_data(self):
        data = cr.scaling_data(cr.parse_lines(HOST))
        self.assertEqual(data[("list", "cycle")], [(10, 10.0), (10000, 10000.0)])
        self.assertEqual(len(data), 3)


class OverheadTests(unittest.TestCase):
    def test_boots(self):
        boots = cr.overhead_boots(cr.parse_lines(OVERHEAD))
        self.assertEqual([(b["seq"], b["round"], b["side"]) for b in boots],
                         [(0, 0, "y"), (1, 0, "n"), (2, 1, "n"), (3, 1, "y")])
        b0 = boots[0]
        self.assertEqual(b0["machine"]["cpu"], "QEMU Virtual CPU version 2.5+")
        self.assertEqual(b0["config"]["casio"], "present")
        self.assertEqual(b0["rounds"]["pipe_fifo"], [10.0, 11.0, 10.5])
        self.assertEqual(b0["medians"], {"pipe_fifo": 10.5, "pipe_normal": 10.0, "fork": 300.0,
                                         "control": 100.0})
        self.assertEqual(b0["host_seconds"], 40)
        self.assertEqual(boots[3]["errors"], {"fork": "fork: EAGAIN"})
        self.assertNotIn("fork", boots[3]["medians"])
        self.assertEqual(cr.overhead_boots(cr.parse_lines(GUEST)), [])

    def test_order_statistics(self):
        self.assertEqual(cr.median([3, 1, 2]), 2)
        self.assertEqual(cr.median([4, 1, 3, 2]), 2.5)
        self.assertIsNone(cr.median([]))
        self.assertEqual(cr.quartiles([1, 2, 3, 4, 5]), (2, 4))
        self.assertEqual(cr.quartiles([1, 2, 3, 4]), (1.75, 3.25))
        self.assertEqual(cr.quartiles([7]), (7, 7))
        self.assertIsNone(cr.quartiles([]))

    def test_median_ci(self):
        # n = 5: the widest interval [x(1), x(5)] covers 1 - 2/32 = 93.75 % only.
        self.assertIsNone(cr.median_ci([1, 2, 3, 4, 5]))
        lo, hi, cov = cr.median_ci([1, 2, 3, 4, 5], level=0.9)
        self.assertEqual((lo, hi), (1, 5))
        self.assertAlmostEqual(cov, 0.9375)
        # n = 8: [x(1), x(8)] covers 99.2 %, [x(2), x(7)] 93.0 %: the first.
        lo, hi, cov = cr.median_ci([8, 1, 7, 2, 6, 3, 5, 4])
        self.assertEqual((lo, hi), (1, 8))
        self.assertAlmostEqual(cov, 1 - 2 / 256)
        # n = 10: [x(2), x(9)] covers 97.9 %, [x(3), x(8)] 89.1 %.
        lo, hi, cov = cr.median_ci(list(range(1, 11)))
        self.assertEqual((lo, hi), (2, 9))
        self.assertAlmostEqual(cov, 1 - 2 * 11 / 1024)
        self.assertIsNone(cr.median_ci([]))

    def test_stats(self):
        st = cr.overhead_stats(cr.overhead_boots(cr.parse_lines(OVERHEAD)))
        p = st["pipe_fifo"]
        self.assertEqual(p["pairs"], 2)
        self.assertAlmostEqual(p["ratios"][0], 1.05)
        self.assertAlmostEqual(p["ratios"][1], 1.02)
        self.assertAlmostEqual(p["median"], 1.035)
        self.assertAlmostEqual(p["min"], 1.02)
        self.assertAlmostEqual(p["max"], 1.05)
        self.assertAlmostEqual(p["pooled"], 10.35 / 10.0)
        self.assertAlmostEqual(p["spread_y"], 0.3 / 10.35)
        self.assertAlmostEqual(p["spread_n"], 0.0)
        # Only boot 0 has per-round figures: (11 - 10) / 10.5.
        self.assertAlmostEqual(p["within"], 1 / 10.5)
        self.assertIsNone(p["ci"])
        # Divided by the control's ratio of the same round: 1.05 / 1.0, 1.02 / 1.02.
        self.assertAlmostEqual(p["norm"][0], 1.05)
        self.assertAlmostEqual(p["norm"][1], 1.0)
        self.assertAlmostEqual(p["norm_median"], 1.025)
        self.assertEqual(st["control"]["norm"], [])
        self.assertAlmostEqual(st["control"]["median"], 1.01)
        # fork failed in boot 3: round 1 has no y figure, one pair is left.
        fk = st["fork"]
        self.assertEqual(fk["ratios"], [1.0])
        self.assertEqual(fk["y"], [300.0])
        self.assertEqual(fk["n"], [300.0, 200.0])
        self.assertAlmostEqual(fk["pooled"], 300 / 250)
        self.assertNotIn("hackbench", st)
        # FIFO over NORMAL in the same boot: 10.5 / 10 on y, 10 / 10 on n.
        self.assertEqual(st["fifo_over_normal"]["ratios"], [1.05])
        self.assertEqual(st["fifo_over_normal"]["norm"], [])

    def test_verdict(self):
        self.assertEqual(cr.overhead_verdict({"median": None}), "n/a")
        self.assertEqual(cr.overhead_verdict({"median": 1.0, "ci": (0.99, 1.009, 0.96)}), "met")
        self.assertEqual(cr.overhead_verdict({"median": 1.03, "ci": (1.02, 1.04, 0.96)}), "not met")
        self.assertEqual(cr.overhead_verdict({"median": 1.0, "ci": (0.98, 1.02, 0.96)}),
                         "not resolved (noise)")
        self.assertEqual(cr.overhead_verdict({"median": 1.005, "ci": None}), "met (few pairs)")
        self.assertEqual(cr.overhead_verdict({"median": 1.02, "ci": None}), "not met (few pairs)")

    def test_section(self):
        md = cr.render([], [], overhead=cr.parse_lines(OVERHEAD))
        self.assertIn("## 5. What CASIO costs tasks that do not use it", md)
        self.assertIn("2 boots of y and 2 of n, alternating in the order `y n n y`", md)
        self.assertIn("| pipe ping-pong, SCHED_FIFO (µs / round trip) | 10.35 | 10.00 | 2 | 1.0350 | "
                      "1.0200 .. 1.0500 | 1.0275 .. 1.0425 | n/a | 1.0350 | 1.0250 | not met (few pairs) |", md)
        self.assertIn("| control: user-space loop (µs / 1,000 iterations) | 101.00 | 100.00 | 2 | 1.0100 | "
                      "1.0000 .. 1.0200 | 1.0050 .. 1.0150 | n/a | 1.0100 | - | - |", md)
        self.assertIn("| fork | 0.0 % | 40.0 % | n/a |", md)
        self.assertIn("- boot 3 (y): fork failed: fork: EAGAIN", md)
        self.assertIn("Per-round ratios: pipe_fifo 1.0500, 1.0200; pipe_normal 1.0000; fork 1.0000; "
                      "control 1.0000, 1.0200; fifo_over_normal 1.0500.", md)
        self.assertIn("| pipe FIFO / pipe NORMAL of the same boot (ratio) | 1.05 | 1.00 | 1 | 1.0500 | "
                      "1.0500 .. 1.0500 | 1.0500 .. 1.0500 | n/a | 1.0500 | - | not met (few pairs) |", md)
        self.assertIn("median 40 s, total 158 s", md)
        self.assertIn("No overhead results.", cr.render([], []))


class RenderTests(unittest.TestCase):
    def test_svgs_are_xml(self):
        g, h = cr.parse_lines(GUEST), cr.parse_lines(HOST)
        for svg in (cr.sched_svg(g), cr.scaling_svg(h)):
            self.assertIsNotNone(svg)
            root = ET.fromstring(svg)
            self.assertTrue(root.tag.endswith("svg"))
            self.assertGreater(len(root.findall(".//{http://www.w3.org/2000/svg}polyline")), 0)
        self.assertIsNone(cr.sched_svg([]))
        self.assertIsNone(cr.scaling_svg([]))

    def test_report(self):
        g, h = cr.parse_lines(GUEST), cr.parse_lines(HOST)
        md = cr.render(g, h, plots={"sched": "plots/s.svg", "scaling": "plots/q.svg"})
        self.assertIn("| guest (QEMU TCG) | QEMU Virtual CPU version 2.5+ | 2 | 6.1.192 |", md)
        self.assertIn("Some CPU @ 2.00GHz", md)
        self.assertIn("| CASIO | 100.00 | 99.00 | 101.50 | 1.010 | 3 |", md)
        self.assertIn("CASIO/FIFO = 1.010", md)
        self.assertIn("(ratio <= 1.02): **met**", md)
        self.assertIn("| 0.95 | 1/2 (1 of 36 jobs) | n/a | 1/2 (2 of 36 jobs) | error x1 | 1/2 |", md)
        self.assertIn("| EdfQueue | cycle | 20.0 | 80.0 | 4.0x |", md)
        self.assertIn("| list | cycle | 10.0 | 10000.0 | 1000.0x |", md)
        self.assertIn("| CASIO | 50 | 110.0 | 4500.0 | 4514.4 | 384.1 | 2 | 1.10 | 1.80 | 1.76 |", md)
        self.assertIn("![fraction of sets with a miss vs U](plots/s.svg)", md)
        self.assertIn("busy fraction 0.010 with none", md)
        self.assertIn("CASIO busy0 0.540, 0 misses, max lateness -40.0 ms, DEADLINE busy0 0.500, 3 misses", md)
        self.assertIn("| FIFO | 0.95 | 0 | 3 | 229.2 | 547 | 2 / 2 | 409.1 |", md)
        self.assertIn("### 2b. The same queue inside the kernel", md)
        self.assertIn("| requeue (dequeue + enqueue) | 50.0 | 200.0 | 4.0x |", md)
        self.assertIn("| pick (earliest) | 5.0 | 5.5 | 1.1x |", md)

    def test_report_missing_inputs(self):
        md = cr.render([], [])
        self.assertIn("No switch results", md)
        self.assertIn("No host scaling results", md)
        self.assertIn("No schedulability results", md)
        self.assertIn("No latency results", md)

    def test_main_writes_files(self):
        with tempfile.TemporaryDirectory() as d:
            g, h = os.path.join(d, "g.log"), os.path.join(d, "h.txt")
            with open(g, "w") as fh:
                fh.write(GUEST)
            with open(h, "w") as fh:
                fh.write(HOST)
            out = os.path.join(d, "out")
            self.assertEqual(cr.main(["--guest", g, "--host", h, "--out", out, "--save-raw"]), 0)
            for p in ("REPORT.md", "plots/sched_miss.svg", "plots/queue_scaling.svg",
                      "results/guest-bench.txt", "results/host-scaling.txt"):
                self.assertTrue(os.path.isfile(os.path.join(out, p)), p)
            # The stored results regenerate the same report.
            first = open(os.path.join(out, "REPORT.md")).read()
            out2 = os.path.join(d, "out2")
            self.assertEqual(cr.main(["--guest", os.path.join(out, "results/guest-bench.txt"),
                                      "--host", os.path.join(out, "results/host-scaling.txt"),
                                      "--out", out2]), 0)
            self.assertEqual(first, open(os.path.join(out2, "REPORT.md")).read())
            ovh = os.path.join(d, "overhead.txt")
            with open(ovh, "w") as fh:
                fh.write(OVERHEAD)
            out3 = os.path.join(d, "out3")
            self.assertEqual(cr.main(["--overhead", ovh, "--out", out3]), 0)
            self.assertIn("| 2 | 1.0350 |", open(os.path.join(out3, "REPORT.md")).read())
            empty = os.path.join(d, "empty.log")
            open(empty, "w").close()
            self.assertEqual(cr.main(["--guest", empty, "--out", out2]), 1)


if __name__ == "__main__":
    unittest.main()
