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
            empty = os.path.join(d, "empty.log")
            open(empty, "w").close()
            self.assertEqual(cr.main(["--guest", empty, "--out", out2]), 1)


if __name__ == "__main__":
    unittest.main()
