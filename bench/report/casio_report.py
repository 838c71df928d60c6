#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn CASIO benchmark output into bench/REPORT.md and SVG plots.

Inputs (any may be missing):
  --guest LOG   console log of a guest boot running `casio-bench all`
                (only the `BENCH ...` lines are used; kernel lines are ignored)
  --host FILE   output of the host queue benchmark (casio-queue-bench)
  --overhead FILE  the BENCH lines of bench/overhead.sh: boots of the
                CASIO=y and CASIO=off kernels running `casio-bench overhead`,
                each introduced by a `BENCH overhead_boot` line
Outputs:
  --out DIR     DIR/REPORT.md, DIR/plots/sched_miss.svg, DIR/plots/queue_scaling.svg
  --save-raw    also store the BENCH lines of the inputs in DIR/results/
                (guest-bench.txt, host-scaling.txt), so the report can be
                regenerated from committed data

Python 3 standard library only.  Run the tests with
  python3 -m unittest discover -s bench/report
"""

import argparse
import math
import os
import re
import sys
from xml.sax.saxutils import escape

# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*([A-Za-z0-9_+().-]+)=("([^"]*)"|(\S*))')
_NAME = re.compile(r"BENCH ([A-Za-z0-9_]+)(?=\s|$)")


def parse_kv(text):
    """Parse `key=value key="v w" ...` into a dict (later keys win).

    Parsing stops at the first token that is not key=value (e.g. a kernel
    message glued to the end of the line)."""
    out = {}
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            break
        key = m.group(1)
        val = m.group(3) if m.group(3) is not None else m.group(4)
        out[key] = val
        pos = m.end()
    return out


def parse_lines(text):
    """All BENCH records in a log: a list of (name, dict) in order.

    A record may start anywhere in a line (console lines can be prefixed by
    other output); carriage returns and NULs are ignored."""
    recs = []
    for raw in text.replace("\r", "").replace("\0", "").split("\n"):
        i = raw.find("BENCH ")
        if i < 0:
            continue
        m = _NAME.match(raw, i)
        if not m:
            continue
        recs.append((m.group(1), parse_kv(raw[m.end():])))
    return recs


def bench_lines(text):
    """The raw BENCH lines of a log (from "BENCH " on), plus DONE markers."""
    out = []
    for raw in text.replace("\r", "").replace("\0", "").split("\n"):
        i = raw.find("BENCH ")
        if i >= 0:
            out.append(raw[i:].rstrip())
        elif raw.strip() in ("CASIO-BENCH-DONE", "CASIO-QUEUE-BENCH-DONE"):
            out.append(raw.strip())
    return out


def fnum(v, default=None):
    """Float of a value, or default for missing / 'na' / garbage."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return default
    return x if math.isfinite(x) else default


def first(recs, name):
    for n, d in recs:
        if n == name:
            return d
    return None


def every(recs, name):
    return [d for n, d in recs if n == name]


POLICIES = ["casio", "fifo", "deadline", "normal"]
SCHED_POLICIES = ["casio", "casio_yield", "fifo", "deadline"]
POLICY_LABEL = {"casio": "CASIO", "casio_yield": "CASIO (yield)", "fifo": "FIFO", "deadline": "DEADLINE",
                "normal": "NORMAL"}


def sched_table(recs):
    """Per (policy, U): sets, sets with >= 1 miss, misses, jobs, strict
    misses, mean busy0, sets with an error; plus per-U RTA counts.

    Computed from the per-set `BENCH sched` lines (not the summaries)."""
    table = {}
    for d in every(recs, "sched"):
        pol, u = d.get("policy"), fnum(d.get("u"))
        if pol is None or u is None:
            continue
        e = table.setdefault((pol, round(u, 2)), {
            "sets": 0, "missed": 0, "misses": 0, "jobs": 0, "strict": 0,
            "busy": [], "errors": 0, "max_late_ms": None})
        if "error" in d:
            e["errors"] += 1
            continue
        misses = int(fnum(d.get("misses"), 0))
        e["sets"] += 1
        e["missed"] += 1 if misses > 0 else 0
        e["misses"] += misses
        e["jobs"] += int(fnum(d.get("jobs"), 0))
        e["strict"] += int(fnum(d.get("strict_misses"), 0))
        b = fnum(d.get("busy0"))
        if b is not None:
            e["busy"].append(b)
        late = fnum(d.get("max_late_ms"))
        if late is not None and (e["max_late_ms"] is None or late > e["max_late_ms"]):
            e["max_late_ms"] = late
    rta = {}
    for d in every(recs, "sched_set"):
        u = fnum(d.get("u"))
        if u is None:
            continue
        r = rta.setdefault(round(u, 2), {"sets": 0, "rm_miss": 0})
        r["sets"] += 1
        r["rm_miss"] += 1 if d.get("rm_rta") == "miss" else 0
    return table, rta


# ---------------------------------------------------------------------------
# SVG
# ---------------------------------------------------------------------------

COLORS = {"casio": "#d62728", "casio_yield": "#ff7f0e", "fifo": "#1f77b4", "deadline": "#2ca02c",
          "normal": "#7f7f7f", "rm_rta": "#1f77b4",
          "rbtree": "#d62728", "list": "#1f77b4"}


def _fmt_tick(v):
    if v >= 1000 and v == int(v):
        return f"{int(v):,}"
    if v == int(v):
        return str(int(v))
    return f"{v:g}"


def svg_plot(series, title, xlabel, ylabel, logx=False, logy=False,
             xlim=None, ylim=None, xticks=None, yticks=None,
             width=640, height=400):
    """A line plot as an SVG string.

    series: list of dicts {label, points: [(x, y)], color, dash (bool)}.
    Points with y <= 0 are dropped on a log-y axis."""
    longest = max((len(s["label"]) for s in series), default=0)
    mr = max(120, int(50 + 6.8 * longest))
    ml, mt, mb = 70, 40, 55
    width = max(width, ml + mr + 360)
    pw, ph = width - ml - mr, height - mt - mb
    tx = (lambda v: math.log10(v)) if logx else (lambda v: v)
    ty = (lambda v: math.log10(v)) if logy else (lambda v: v)
    pts_all = [(x, y) for s in series for (x, y) in s["points"]
               if not (logy and y <= 0) and not (logx and x <= 0)]
    if xlim is None:
        xs = [p[0] for p in pts_all] or [1, 10]
        xlim = (min(xs), max(xs))
    if ylim is None:
        ys = [p[1] for p in pts_all] or [1, 10]
        ylim = (min(ys), max(ys))
    x0, x1 = tx(xlim[0]), tx(xlim[1])
    y0, y1 = ty(ylim[0]), ty(ylim[1])
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1

    def px(x):
        return ml + (tx(x) - x0) / (x1 - x0) * pw

    def py(y):
        return mt + ph - (ty(y) - y0) / (y1 - y0) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
           f'<text x="{ml + pw / 2:.1f}" y="22" text-anchor="middle" font-size="14" '
           f'font-weight="bold">{escape(title)}</text>']
    if xticks is None:
        xticks = _auto_ticks(xlim, logx)
    if yticks is None:
        yticks = _auto_ticks(ylim, logy)
    for v in xticks:
        x = px(v)
        out.append(f'<line x1="{x:.1f}" y1="{mt}" x2="{x:.1f}" y2="{mt + ph}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{x:.1f}" y="{mt + ph + 16}" text-anchor="middle">{escape(_fmt_tick(v))}</text>')
    for v in yticks:
        y = py(v)
        out.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{ml + pw}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{ml - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_fmt_tick(v))}</text>')
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="black"/>')
    out.append(f'<text x="{ml + pw / 2:.1f}" y="{height - 12}" text-anchor="middle">{escape(xlabel)}</text>')
    out.append(f'<text x="16" y="{mt + ph / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 16 {mt + ph / 2:.1f})">{escape(ylabel)}</text>')
    for k, s in enumerate(series):
        pts = [(x, y) for (x, y) in s["points"]
               if not (logy and y <= 0) and not (logx and x <= 0)]
        color = s.get("color", "black")
        dash = ' stroke-dasharray="6 4"' if s.get("dash") else ""
        if len(pts) > 1:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}"/>')
        ly = mt + 10 + k * 20
        lx = ml + pw + 12
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 30}" y="{ly + 4}">{escape(s["label"])}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _auto_ticks(lim, log):
    lo, hi = lim
    if log:
        a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        return [10.0 ** e for e in range(a, b + 1) if lo <= 10.0 ** e <= hi * 1.0001]
    step = (hi - lo) / 5 if hi > lo else 1
    mag = 10 ** math.floor(math.log10(step))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= step), default=step)
    t = math.ceil(lo / step) * step
    out = []
    while t <= hi + 1e-9:
        out.append(round(t, 10))
        t += step
    return out


def sched_svg(recs):
    table, rta = sched_table(recs)
    us = sorted({u for (_, u) in table})
    if not us:
        return None
    series = []
    for pol in SCHED_POLICIES:
        pts = []
        for u in us:
            e = table.get((pol, u))
            if e and e["sets"]:
                pts.append((u, e["missed"] / e["sets"]))
        if pts:
            series.append({"label": {"casio": "CASIO, D = T, sleep to release", "casio_yield": "CASIO, D = T, sched_yield",
                                     "fifo": "FIFO, RM priorities",
                                     "deadline": "SCHED_DEADLINE"}[pol],
                           "points": pts, "color": COLORS[pol]})
    pts = [(u, rta[u]["rm_miss"] / rta[u]["sets"]) for u in us if u in rta and rta[u]["sets"]]
    if pts:
        series.append({"label": "RM, exact RTA", "points": pts, "color": COLORS["rm_rta"], "dash": True})
    lo = min(us)
    hi = max(us)
    return svg_plot(series, "Task sets with >= 1 deadline miss", "total utilization U",
                    "fraction of sets", xlim=(lo - 0.02, hi + 0.02), ylim=(0, 1.0),
                    xticks=us, yticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0])


def scaling_data(recs):
    data = {}
    for d in every(recs, "scaling"):
        n, ns = fnum(d.get("n")), fnum(d.get("ns_per_op"))
        if n is None or ns is None:
            continue
        data.setdefault((d.get("impl"), d.get("op")), []).append((int(n), ns))
    for v in data.values():
        v.sort()
    return data


def scaling_svg(recs):
    data = scaling_data(recs)
    if not data:
        return None
    series = []
    for imp, label in (("rbtree", "EdfQueue (rb-tree)"), ("list", "linear list")):
        for op, dash in (("cycle", False), ("dequeue+enqueue", True)):
            pts = data.get((imp, op))
            if pts:
                series.append({"label": f"{label}: {op}", "points": pts,
                               "color": COLORS[imp], "dash": dash})
    ns = [n for v in data.values() for n, _ in v]
    ys = [y for s in series for _, y in s["points"] if y > 0]
    if not ys:
        return None
    ylo = 10 ** math.floor(math.log10(min(ys)))
    yhi = 10 ** math.ceil(math.log10(max(ys)))
    return svg_plot(series, "EDF queue: cost per operation vs queued tasks",
                    "queued tasks n (log)", "ns per operation (log)", logx=True, logy=True,
                    xlim=(min(ns), max(ns)), ylim=(ylo, yhi), width=700)


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------

def f(v, prec=1, na="n/a"):
    x = fnum(v)
    return na if x is None else f"{x:.{prec}f}"


def kscaling_section(guest, cmds):
    """Section 2b: the queue self-benchmark inside the guest kernel."""
    L = ["### 2b. The same queue inside the kernel", "",
         f"Command: `{cmds['guest_full']}` (guest `casio-bench kscaling`), which writes n to "
         "`/sys/kernel/debug/sched_casio/queue_bench` (`CONFIG_SCHED_CASIO_QUEUE_BENCH`): the "
         "kernel queues n nodes of its own (no task involved) with random deadlines and times "
         "100,000 requeues (a node leaves and comes back with a new deadline, as a task that "
         "sleeps and wakes) and 100,000 look-ups of the earliest with the class's own queue code, "
         "best of five rounds, in ns per operation.", ""]
    pts = {}
    for d in every(guest, "kscaling"):
        try:
            pts[int(d["n"])] = (float(d["requeue_ns"]), float(d["pick_ns"]))
        except (KeyError, ValueError):
            continue
    if not pts:
        errs = [f"- {e.get('n')}: {e.get('error')}" for e in every(guest, "kscaling_error")]
        return L + (["No in-kernel scaling results."] + errs + [""])
    ns_list = sorted(pts)
    lo, hi = min(ns_list), max(ns_list)
    rows = []
    for k, op in enumerate(("requeue (dequeue + enqueue)", "pick (earliest)")):
        a, b = pts[lo][k], pts[hi][k]
        ratio = f"{b / a:.1f}x" if a > 0 else "n/a"
        rows.append([op] + [f"{pts[n][k]:.1f}" for n in ns_list] + [ratio])
    L += [md_table(["operation"] + [f"n={n:,}" for n in ns_list] + [f"n={hi:,} / n={lo:,}"], rows),
          "", "Expected as on the host: a requeue grows like log n, pick stays flat; TCG makes "
          "the absolute numbers slow, not the ratios.", ""]
    return L


# ---------------------------------------------------------------------------
# Overhead: CONFIG_SCHED_CASIO_POLICY=y against =n, alternating boots
# ---------------------------------------------------------------------------

OVH_WORKLOADS = ["pipe_fifo", "pipe_normal", "fork", "hackbench", "control"]
# Derived in each boot: FIFO over NORMAL ping-pong. Both run in the same boot,
# so the host's speed cancels; what CASIO adds to the RT switch path only
# (the pick loop asks the CASIO class before the RT class) remains.
OVH_DERIVED = {"fifo_over_normal": ("pipe_fifo", "pipe_normal")}
OVH_LABEL = {"pipe_fifo": "pipe ping-pong, SCHED_FIFO (µs / round trip)",
             "pipe_normal": "pipe ping-pong, SCHED_NORMAL (µs / round trip)",
             "fork": "fork + exit + wait (µs / iteration)",
             "hackbench": "hackbench pattern, pipes (µs / message)",
             "control": "control: user-space loop (µs / 1,000 iterations)",
             "fifo_over_normal": "pipe FIFO / pipe NORMAL of the same boot (ratio)"}


def overhead_boots(recs):
    """The boots of an overhead run: a list of dicts with seq, round, side
    ('y' or 'n'), config (the overhead_config record), medians (workload ->
    the boot's median µs), rounds (workload -> list of per-round µs),
    errors (workload -> message) and done (the done record).

    Records before the first `overhead_boot` line are ignored."""
    boots = []
    cur = None
    for name, d in recs:
        if name == "overhead_boot":
            cur = {"seq": int(fnum(d.get("seq"), len(boots))), "round": int(fnum(d.get("round"), -1)),
                   "side": d.get("side"), "kernel": d.get("kernel"),
                   "host_seconds": fnum(d.get("host_seconds")), "clock": d.get("clock", "host"),
                   "config": {},
                   "medians": {}, "rounds": {}, "errors": {}, "done": None, "machine": {}}
            boots.append(cur)
        elif cur is None:
            continue
        elif name == "machine":
            cur["machine"] = d
        elif name == "overhead_config":
            cur["config"] = d
        elif name == "overhead_round":
            v = fnum(d.get("us"))
            if v is not None:
                cur["rounds"].setdefault(d.get("workload"), []).append(v)
        elif name == "overhead":
            v = fnum(d.get("median_us"))
            if v is not None:
                cur["medians"][d.get("workload")] = v
        elif name == "overhead_error":
            cur["errors"][d.get("workload")] = d.get("error", "?")
        elif name == "done":
            cur["done"] = d
    return boots


def median(xs):
    """Median (mean of the two middle values for an even count); None if empty."""
    v = sorted(xs)
    n = len(v)
    if not n:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def quartiles(xs):
    """(Q1, Q3) by linear interpolation between order statistics (the
    "inclusive" method: position (n - 1) p); None if empty."""
    v = sorted(xs)
    if not v:
        return None

    def q(p):
        pos = (len(v) - 1) * p
        lo = int(math.floor(pos))
        hi = min(lo + 1, len(v) - 1)
        return v[lo] + (v[hi] - v[lo]) * (pos - lo)
    return q(0.25), q(0.75)


def median_ci(xs, level=0.95):
    """Distribution-free confidence interval of the median (from the
    binomial distribution of the sign test): (lo, hi, coverage) with the
    largest k such that [x_(k), x_(n+1-k)] covers at least `level`, or None
    when n is too small for any interval to reach that level."""
    v = sorted(xs)
    n = len(v)
    if n == 0:
        return None
    best = None
    for k in range(1, n // 2 + 1):
        # P(x_(k) <= median <= x_(n+1-k)) = 1 - 2 P(Binom(n, 1/2) <= k - 1)
        tail = sum(math.comb(n, i) for i in range(k)) / 2 ** n
        cov = 1 - 2 * tail
        if cov >= level:
            best = (v[k - 1], v[n - k], cov)
        else:
            break
    return best


def overhead_stats(boots):
    """Per workload: the y/n ratios of the boot medians of each round that
    has both sides, and their summary.

    Returns {workload: {"ratios": [...], "pairs": n, "median": m, "min": .., "max": ..,
    "q1": .., "q3": .., "ci": (lo, hi, cov) or None, "pooled": median(y) / median(n),
    "y": [boot medians], "n": [...], "spread_y": (max - min) / median of the y boots,
    "spread_n": same for n, "within": median over boots of (max - min) / median of
    the rounds inside a boot, "norm": the per-round ratios divided by the
    control's ratio of the same round, "norm_median", "norm_ci"}}."""
    out = {}
    rounds = {}
    for b in boots:
        rounds.setdefault(b["round"], {}).setdefault(b["side"], []).append(b)
    def side_median(sides, side, w):
        return median([b["medians"][w] for b in sides.get(side, []) if w in b["medians"]])

    for b in boots:
        for k, (a, c) in OVH_DERIVED.items():
            if b["medians"].get(a) and b["medians"].get(c):
                b["medians"][k] = b["medians"][a] / b["medians"][c]
    for w in OVH_WORKLOADS + list(OVH_DERIVED):
        ratios, norm = [], []
        for r in sorted(rounds):
            sides = rounds[r]
            y, n = side_median(sides, "y", w), side_median(sides, "n", w)
            if y is None or not n:
                continue
            ratios.append(y / n)
            yc, nc = side_median(sides, "y", "control"), side_median(sides, "n", "control")
            if w in OVH_WORKLOADS and w != "control" and yc and nc:
                norm.append((y / yc) / (n / nc))
        yv = [b["medians"][w] for b in boots if b["side"] == "y" and w in b["medians"]]
        nv = [b["medians"][w] for b in boots if b["side"] == "n" and w in b["medians"]]
        within = []
        for b in boots:
            rr = b["rounds"].get(w, [])
            m = median(rr)
            if m:
                within.append((max(rr) - min(rr)) / m)
        if not ratios and not yv and not nv:
            continue
        e = {"ratios": ratios, "pairs": len(ratios), "y": yv, "n": nv,
             "median": median(ratios), "min": min(ratios) if ratios else None,
             "max": max(ratios) if ratios else None, "ci": median_ci(ratios),
             "pooled": (median(yv) / median(nv)) if yv and nv and median(nv) else None,
             "spread_y": ((max(yv) - min(yv)) / median(yv)) if yv else None,
             "spread_n": ((max(nv) - min(nv)) / median(nv)) if nv else None,
             "within": median(within), "norm": norm, "norm_median": median(norm),
             "norm_ci": median_ci(norm)}
        qs = quartiles(ratios)
        e["q1"], e["q3"] = qs if qs else (None, None)
        out[w] = e
    return out


def overhead_verdict(e, goal=0.01, exact=False):
    """Whether a workload meets the goal (y/n ratio <= 1 + goal), judged on
    the confidence interval of the median ratio when there is one, or on
    the ratio itself when the boots of each kernel agree (`exact`: the
    guest's clock counts instructions)."""
    if e.get("median") is None:
        return "n/a"
    if exact:
        return "met" if e["median"] <= 1 + goal else "not met"
    ci = e.get("ci")
    if ci:
        lo, hi, _ = ci
        if hi <= 1 + goal:
            return "met"
        if lo > 1 + goal:
            return "not met"
        return "not resolved (noise)"
    return "met (few pairs)" if e["median"] <= 1 + goal else "not met (few pairs)"


def overhead_section(recs, cmds):
    """Section 5: the cost of the series for tasks that do not use CASIO."""
    L = ["## 5. What CASIO costs tasks that do not use it", "",
         f"Command: `{cmds['overhead']}` (guest `casio-bench overhead`; kernels from "
         "`scripts/build-kernel.sh` and `CASIO=off scripts/build-kernel.sh`).", ""]
    boots = overhead_boots(recs)
    if not boots:
        return L + ["No overhead results.", ""]
    cfg = next((b["config"] for b in boots if b["config"]), {})
    ny = sum(1 for b in boots if b["side"] == "y")
    nn = sum(1 for b in boots if b["side"] == "n")
    order = " ".join(b["side"] for b in sorted(boots, key=lambda b: b["seq"]))
    secs = [fnum((b["done"] or {}).get("seconds")) for b in boots]
    secs = [x for x in secs if x is not None]
    hsecs = [b["host_seconds"] for b in boots]
    mach = next((b["machine"] for b in boots if b["machine"]), {})
    L += ["The same patched tree built twice, non-debug config: `CONFIG_SCHED_CASIO_POLICY=y` "
          "(**y**, the CASIO kernel) and `=n` (**n**, `CASIO=off`: the series applied, every "
          "`CONFIG_SCHED_CASIO_*` option off). None of the tasks below uses CASIO. Each boot "
          f"runs every workload {cfg.get('rounds', '?')} times, the order rotated every round "
          "(after one untimed run of each), and reports the median; RT throttling is off in "
          "both kernels, the CASIO cap is left at its default "
          f"(`sched_casio_runtime_us` = {cfg.get('casio_cap_us', '?')} on y). "
          f"{ny} boots of y and {nn} of n, alternating in the order `{order}` (a y/n pair per "
          "round, the pair's order swapped every round, so a slow drift of the host cancels); "
          f"guest {mach.get('cpu', '?')}, {mach.get('nproc', '?')} CPUs, "
          f"{f(median(secs), 0)} s of benchmark per boot.", "",
          f"- pipe: two processes on CPU 0 bounce one byte over two pipes, {cfg.get('pipe_trips', '?')} "
          f"round trips (after {cfg.get('pipe_warmup', '?')} warm-up ones), under SCHED_FIFO "
          f"({cfg.get('fifo', '?')}) and SCHED_NORMAL.",
          f"- fork: a process on CPU 0 forks a child that exits at once and reaps it, "
          f"{cfg.get('forks', '?')} times.",
          f"- hackbench: {cfg.get('hb_groups', '?')} group(s) of {cfg.get('hb_fds', '?')} senders "
          f"and {cfg.get('hb_fds', '?')} receivers on every CPU; each sender writes "
          f"{cfg.get('hb_loops', '?')} messages of {cfg.get('hb_bytes', '?')} bytes to each receiver "
          "of its group, one pipe per receiver (hackbench's `-pipe` mode; the guest kernel has "
          "no AF_UNIX sockets); timed from the common start to the last exit; a round's figure "
          f"is the mean of {cfg.get('hb_runs', '1')} such runs.", ""]
    st = overhead_stats(boots)
    icount = all(str(b.get("clock", "host")).startswith("icount") for b in boots)
    def exact(e):
        return icount and all(x is not None and x < 0.002 for x in (e["spread_y"], e["spread_n"]))
    if icount:
        shift = str(boots[0]["clock"]).replace("icount-shift", "")
        L += [f"Guest clock: QEMU counts instructions (`-icount shift={shift},sleep=off`, one vCPU, "
              "`norandmaps`): it advances "
              f"{2 ** int(shift) if shift.isdigit() else '2^shift'} ns per executed guest instruction "
              "and skips idle time, so µs per operation is a count of instructions (all weighted "
              "alike: no caches, no branch prediction), whatever the load of the host. Boots of "
              "the same kernel agree to 0.1 % or better (hackbench: about 1 %, its many "
              "processes still feel the timing of the console's output; noise table below), "
              "the control loop's y/n is 1, and one y/n pair decides; the rounds repeat the "
              "pair to show it (`OVERHEAD_ICOUNT=0 bench/overhead.sh` measures with the host's clock "
              "instead, where boot-to-boot noise is 7-12 %).", ""]
    rows = []
    for w in OVH_WORKLOADS + list(OVH_DERIVED):
        e = st.get(w)
        if not e:
            continue
        ci = e["ci"]
        nci = e["norm_ci"]
        rows.append([OVH_LABEL[w], f(median(e["y"]), 2), f(median(e["n"]), 2), e["pairs"],
                     f(e["median"], 4), f"{f(e['min'], 4)} .. {f(e['max'], 4)}",
                     f"{f(e['q1'], 4)} .. {f(e['q3'], 4)}",
                     f"{ci[0]:.4f} .. {ci[1]:.4f} ({100 * ci[2]:.0f} %)" if ci else "n/a",
                     f(e["pooled"], 4),
                     "-" if w not in OVH_WORKLOADS or w == "control" else
                     f(e["norm_median"], 4) + (f" ({nci[0]:.4f} .. {nci[1]:.4f})" if nci else ""),
                     "-" if w == "control" else overhead_verdict(e, exact=exact(e))])
    if icount:
        L += ["Ratios are y / n of time per operation (above 1: the CASIO kernel is slower), per "
              "round the ratio of the two boots' medians, then over the rounds their median and "
              "range (the other columns matter with the host's clock: a sign-test confidence "
              "interval of the median, y over n of all boots, and the ratio divided by the "
              "control's of the same round). The last row is derived in each boot: FIFO "
              "ping-pong over NORMAL ping-pong; the NORMAL pick takes the fair fast path, so "
              "its y/n is what the series adds to the RT switch path. Goal: within 1 % "
              "(ratio <= 1.01), judged on the ratio itself where the boots of each kernel agree "
              "to 0.2 %, else on the confidence interval.", "",
              md_table(["workload", "y median", "n median", "pairs", "median y/n", "min .. max",
                        "IQR", "CI of the median", "pooled", "normalized (CI)", "goal <= 1.01"], rows), "",
              "What the FIFO rows show is the RT pick asking CASIO's first: the core asks the "
              "classes in the order stop > dl > casio > rt, so every pick of an RT task calls "
              "CASIO's pick, nearly always on an empty queue. CASIO's pick entry points test the "
              "queue's cached first node before anything that needs a stack frame and leave the "
              "pick proper to a function of its own: on Linux 6.1 an empty queue costs 4 "
              "instructions (compare, branch, clear, return), where it cost 13 (three pushes and "
              "a stack frame set up before the test, and their undoing). "
              "`results/overhead-icount-before-pick-fast-path.txt` is the run before that.", ""]
    else:
      L += ["Ratios are y / n of time per operation (above 1: the CASIO kernel is slower). "
          "Per round, the ratio of the two boots' medians; then over the rounds their median, "
          "range, interquartile range and a distribution-free confidence interval of the median "
          "(sign test: the order statistics that cover the median with at least 95 % probability). "
          '"pooled" is the median of all y boots over the median of all n boots. The control '
          "is a user-space loop without system calls that no kernel change can speed up or slow "
          "down: its ratios show the noise of the emulator and the shared host between boots. "
          '"normalized" divides the ratio of each round by the ratio of the control in the same '
          "round (which cancels the speed of the host during those two boots), with its "
          "confidence interval. The last row is derived in each boot: FIFO ping-pong time over "
          "NORMAL ping-pong time. Both come from the same boot, so the speed of the host "
          "cancels, and on the NORMAL side the pick takes the fair fast path, which the series "
          "does not touch; its y/n is what the series adds to the RT switch path (the pick loop "
          "asks the CASIO class before the RT class). Goal: within "
          "1 % (ratio <= 1.01), judged on the confidence interval.", "",
          md_table(["workload", "y median", "n median", "pairs", "median y/n", "min .. max",
                    "IQR", "CI of the median", "pooled", "normalized (CI)", "goal <= 1.01"], rows), ""]
    rows = []
    for w in OVH_WORKLOADS + list(OVH_DERIVED):
        e = st.get(w)
        if not e:
            continue
        pr = 3 if icount else 1
        rows.append([w, f"{100 * e['spread_y']:.{pr}f} %" if e["spread_y"] is not None else "n/a",
                     f"{100 * e['spread_n']:.{pr}f} %" if e["spread_n"] is not None else "n/a",
                     f"{100 * e['within']:.{pr}f} %" if e["within"] is not None else "n/a"])
    L += ["Noise: the range (max - min) / median of the boot medians of one kernel, and "
          "inside a boot of the rounds of one workload (median over boots). A y/n difference "
          "smaller than the boot-to-boot range of one kernel needs many pairs to show.", "",
          md_table(["workload", "between boots, y", "between boots, n", "within a boot"], rows), ""]
    errs = [(b["seq"], b["side"], w, m) for b in boots for w, m in b["errors"].items()]
    for seq, side, w, m in errs:
        L += [f"- boot {seq} ({side}): {w} failed: {m}"]
    if errs:
        L += [""]
    L += ["Per-round ratios: " + "; ".join(
        f"{w} " + ", ".join(f"{r:.4f}" for r in st[w]["ratios"]) for w in OVH_WORKLOADS + list(OVH_DERIVED)
        if w in st and st[w]["ratios"]) + ".", ""]
    if hsecs and all(x is not None for x in hsecs):
        L += [f"Host time per boot (QEMU start to exit): "
              f"median {median(hsecs):.0f} s, total {sum(hsecs):.0f} s.", ""]
    return L


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


DEFAULT_CMDS = {
    "guest_full": "bash bench/run.sh",
    "guest_quick": "bash bench/run.sh --quick",
    "host": "cargo run --release --manifest-path bench/host/Cargo.toml",
    "report": "python3 bench/report/casio_report.py --guest bench/results/guest-bench.txt "
              "--host bench/results/host-scaling.txt --overhead bench/results/overhead.txt --out bench",
    "overhead": "bash bench/overhead.sh",
}


def render(guest, host, cmds=None, plots=None, overhead=None):
    """The REPORT.md text from guest, host and overhead records."""
    cmds = dict(DEFAULT_CMDS, **(cmds or {}))
    plots = plots or {}
    L = ["# CASIO benchmark report", "",
         "Generated by `bench/report/casio_report.py` from the captured `BENCH` lines "
         "(kept in `bench/results/`). Regenerate everything with "
         f"`{cmds['guest_full']}` (full, about 15 min) or `{cmds['guest_quick']}` (quick), and section 5 "
         f"with `{cmds['overhead']}`; "
         f"re-render this file from the stored results with `{cmds['report']}`. "
         "See `bench/README.md` for what each benchmark does.", ""]

    # Machine
    m = first(guest, "machine") or {}
    h = first(host, "host") or {}
    done = first(guest, "done") or {}
    L += ["## Machine", "",
          md_table(["", "CPU (model name)", "CPUs", "kernel", "run"], [
              ["guest (QEMU TCG)", m.get("cpu", "n/a"), m.get("nproc", "n/a"), m.get("kernel", "n/a"),
               f"`casio-bench {m.get('what', '?')}` {m.get('mode', '?')} mode, "
               f"{f(done.get('seconds'), 0)} s, ok={done.get('ok', 'n/a')}"],
              ["host (queue scaling)", h.get("cpu", "n/a"), h.get("nproc", "n/a"), h.get("kernel", "n/a"),
               f"`casio-queue-bench`, {h.get('profile', '?')} build"],
          ]), "",
          "The guest is QEMU TCG (software emulation) on a shared host: wake-ups can be "
          "late by milliseconds, so every figure is a ratio or a count measured side by side in "
          "one boot, with the policies interleaved round by round. The guest boots with "
          "`tsc=reliable`: otherwise it finds its vCPUs' TSCs unsynchronized and falls back to "
          "the HPET, which turns every clock read into an emulated device access. That cost "
          "fell on the classes that read the clock at each switch (CASIO's job accounting, "
          "SCHED_DEADLINE's timers): the last HPET run gave CASIO/FIFO 1.106 and SCHED_DEADLINE "
          "misses at low utilization, neither of which remains with the TSC.", ""]

    # Switch
    L += ["## 1. Context switch: pipe ping-pong", "",
          f"Command: `{cmds['guest_full']}` (guest `casio-bench switch`).", ""]
    sc = first(guest, "switch_config") or {}
    sw = {d.get("policy"): d for d in every(guest, "switch")}
    if sw:
        fifo = fnum((sw.get("fifo") or {}).get("median_us"))
        rows = []
        for p in POLICIES:
            d = sw.get(p)
            if not d:
                continue
            med = fnum(d.get("median_us"))
            rel = f"{med / fifo:.3f}" if (fifo and med) else "n/a"
            rows.append([p.upper() if p != "deadline" else "DEADLINE", f(d.get("median_us"), 2),
                         f(d.get("min_us"), 2), f(d.get("max_us"), 2), rel, d.get("rounds", "?")])
        L += [f"Two processes on CPU 0 bounce one byte over two pipes (the shape of "
              f"`perf bench sched pipe`), {sc.get('trips', '?')} round trips per round after "
              f"{sc.get('warmup', '?')} warm-up ones, {sc.get('rounds', '?')} rounds, the policy order "
              "rotated every round. Parameters: CASIO "
              f"{sc.get('casio', '?')}, FIFO {sc.get('fifo', '?')}, DEADLINE {sc.get('deadline', '?')}, "
              f"NORMAL {sc.get('normal', '?')}.", "",
              md_table(["policy", "median µs / round trip", "min", "max", "median / FIFO", "rounds"], rows), ""]
        r = first(guest, "switch_ratio") or {}
        cf = fnum(r.get("casio_over_fifo"))
        verdict = "n/a"
        if cf is not None:
            verdict = "**met**" if cf <= 1.02 else "**not met**"
        L += [f"CASIO/FIFO = {f(r.get('casio_over_fifo'), 3)}, CASIO/DEADLINE = "
              f"{f(r.get('casio_over_deadline'), 3)}, CASIO/NORMAL = {f(r.get('casio_over_normal'), 3)}. "
              f"Target: CASIO within 2 % of FIFO (ratio <= 1.02): {verdict}.", ""]
        errs = every(guest, "switch_error")
        for e in errs:
            L += [f"- error under {e.get('policy')}: {e.get('error')}"]
        if errs:
            L += [""]
    else:
        L += ["No switch results in the log.", ""]

    # Scaling
    L += ["## 2. Scaling of the EDF queue (host)", "",
          f"Command: `{cmds['host']}`. The same requeue and look-up under criterion's "
          "statistics: `cargo bench --manifest-path bench/host/Cargo.toml` "
          "(`bench/host/benches/edf_queue.rs`, results under `bench/host/target/criterion`).", ""]
    data = scaling_data(host)
    if data:
        ns_list = sorted({n for v in data.values() for n, _ in v})
        rows = []
        ops = ["earliest", "cycle", "dequeue+enqueue", "enqueue(fill)", "earliest+dequeue(drain)"]
        for imp in ("rbtree", "list"):
            for op in ops:
                pts = dict(data.get((imp, op), []))
                if not pts:
                    continue
                lo, hi = pts.get(min(ns_list)), pts.get(max(ns_list))
                ratio = f"{hi / lo:.1f}x" if lo and hi else "n/a"
                rows.append([{"rbtree": "EdfQueue", "list": "list"}[imp], op] +
                            [f"{pts[n]:.1f}" if n in pts else "n/a" for n in ns_list] + [ratio])
        cfg = first(host, "scaling_config") or {}
        L += ["The pure core `rust_casio/edf` (`EdfQueue`: intrusive red-black tree with a cached "
              "leftmost node) against a baseline written for contrast: an intrusive doubly-linked "
              "list in arrival order whose `earliest` is a linear search. Each figure is the median "
              f"of {cfg.get('reps', '?')} timed repetitions of about {cfg.get('target_ms', '?')} ms "
              "(ns per operation, release build).", "",
              "- `earliest`: peek at the earliest deadline (scheduler `pick_next_task`).",
              "- `cycle`: earliest, dequeue it, enqueue it again one period later (a job ends).",
              "- `dequeue+enqueue`: a random task leaves and comes back with a new deadline "
              "(block / wake-up), one pair per op.",
              "- `enqueue(fill)`: n enqueues into an empty queue (mean over sizes 0..n, includes "
              "allocating the node pool); `earliest+dequeue(drain)`: n times remove the earliest.", "",
              md_table(["queue", "operation"] + [f"n={n:,}" for n in ns_list] +
                       [f"n={max(ns_list):,} / n={min(ns_list):,}"], rows), ""]
        if plots.get("scaling"):
            L += [f"![cost per operation vs n]({plots['scaling']})", ""]
        L += ["Theory: red-black tree insert and remove are O(log n) and `earliest` is O(1) "
              "(cached leftmost), so from n = 10 to 10,000 the tree operations should grow about "
              "log(10,000)/log(10) = 4x (more in practice once the tree outgrows the caches); a "
              "linear search grows 1,000x.", ""]
    else:
        L += ["No host scaling results.", ""]
    L += kscaling_section(guest, cmds)

    # Sched
    L += ["## 3. Schedulability of random task sets", "",
          f"Command: `{cmds['guest_full']}` (guest `casio-bench sched`; "
          "`casio-bench taskset U K` prints set K of utilization U).", ""]
    table, rta = sched_table(guest)
    cfg = first(guest, "sched_config") or {}
    idle = first(guest, "sched_calib_idle") or {}
    cal = {d.get("policy"): d for d in every(guest, "sched_calib")}
    us = sorted({u for (_, u) in table})
    if us:
        L += [f"UUniFast (Bini and Buttazzo 2005) utilizations, n = {cfg.get('n_min', '?')}..{cfg.get('n_max', '?')} "
              f"tasks, periods {cfg.get('periods', '?')} in [{cfg.get('t_min_ms', '?')}, {cfg.get('t_max_ms', '?')}] ms, "
              f"D = T, C >= {cfg.get('c_min_us', '?')} µs; {cfg.get('sets', '?')} sets per U, seed "
              f"`{cfg.get('seed_rule', '?')}` for set k. Every set runs {cfg.get('duration_ms', '?')} ms on CPU 0 "
              "from a synchronous release (the critical instant) under each policy in turn: CASIO "
              "(EDF; C, D = T), the same CASIO set whose jobs end with `sched_yield()` (see below), "
              f"SCHED_FIFO with rate-monotonic priorities, SCHED_DEADLINE with budget "
              f"{cfg.get('deadline_budget', '?')} and D = T. A job is a busy loop of C ns of thread CPU time "
              "started when `clock_nanosleep` to its release returns (or, in the yield variant, when "
              "`sched_yield()` returns at the release the kernel set); it **misses** when it finishes "
              f"later than release + T + {cfg.get('tol_ms', '?')} ms (tolerance for TCG timer jitter).", "",
              f"Calibration: CPU 0 busy fraction {f(idle.get('busy0'), 3)} with none of our tasks; "
              "one task with C = 50 ms, T = 100 ms (U = 0.5) alone for 1 s: " +
              (", ".join(f"{POLICY_LABEL[p]} busy0 {f(cal[p].get('busy0'), 3)}, {cal[p].get('misses', '?')} misses, "
                         f"max lateness {f(cal[p].get('max_late_ms'), 1)} ms"
                         + ("" if cal[p].get("error", "none") == "none" else f" (error: {cal[p]['error']})")
                         for p in SCHED_POLICIES if p in cal) or "n/a") +
              ". `busy0` below is the measured CPU 0 busy fraction during the runs (compare with U).", ""]
        rows = []
        for u in us:
            row = [f"{u:.2f}"]
            busy = []
            for p in SCHED_POLICIES:
                e = table.get((p, u))
                if not e or not e["sets"]:
                    row.append("n/a" if not e or not e["errors"] else f"error x{e['errors']}")
                    continue
                row.append(f"{e['missed']}/{e['sets']} ({e['misses']} of {e['jobs']} jobs)")
                busy += e["busy"]
            r = rta.get(u)
            row.append(f"{r['rm_miss']}/{r['sets']}" if r else "n/a")
            row.append(f"{sum(busy) / len(busy):.3f}" if busy else "n/a")
            rows.append(row)
        L += ["Each cell: sets with at least one miss / sets run (missed jobs of all jobs).", "",
              md_table(["U"] + [POLICY_LABEL[p] for p in SCHED_POLICIES] +
                       ["RM unschedulable by RTA", "mean busy0"], rows), ""]
        if plots.get("sched"):
            L += [f"![fraction of sets with a miss vs U]({plots['sched']})", ""]
        worst = []
        for p in SCHED_POLICIES:
            lates = [table[(p, u)]["max_late_ms"] for u in us
                     if (p, u) in table and table[(p, u)]["max_late_ms"] is not None]
            if lates:
                worst.append(f"{POLICY_LABEL[p]} {max(lates):.1f} ms")
        if worst:
            L += ["Largest lateness (finish - deadline) seen over all sets: " + ", ".join(worst) +
                  " (negative = every job finished early).", ""]
        tasks = sorted(every(guest, "sched_task"), key=lambda d: -(fnum(d.get("max_late_ms")) or 0.0))
        if tasks:
            L += [f"Tasks that missed: {len(tasks)} task runs in all; the 15 latest (from the "
                  "`sched_task` lines; C and T in ms):", "",
                  md_table(["policy", "U", "set", "task", "C", "T", "misses / jobs", "max lateness ms"],
                           [[POLICY_LABEL.get(d.get("policy"), "?"), d.get("u", "?"), d.get("set", "?"),
                             d.get("task", "?"), f(fnum(d.get("c_us"), 0) / 1000, 1),
                             f(fnum(d.get("t_us"), 0) / 1000, 0),
                             f"{d.get('misses', '?')} / {d.get('jobs', '?')}", f(d.get("max_late_ms"), 1)]
                            for d in tasks[:15]]), ""]
            if len(tasks) > 15:
                L += [f"({len(tasks) - 15} more in `bench/results/guest-bench.txt`.)", ""]
        L += ["Why two CASIO columns: the first is the commonest shape of a real-time program, a task "
              "that sleeps to its next release with `clock_nanosleep(TIMER_ABSTIME)`; the second ends "
              "each job with `sched_yield()` and lets the kernel release the next one on the period "
              "grid (r + T, planned, however late its timer fires), the job model EDF theory assumes. "
              "A sleeping task's wake-up follows the CBS rule, as SCHED_DEADLINE's does "
              "(Documentation/scheduler/sched-casio.rst): it keeps its job only while the runtime it "
              "has left fits before that job's deadline at its bandwidth, and a task woken at its next "
              "release, past its last deadline, gets a new job with deadline (wake-up + D), so the "
              "wake-up latency of the emulated timer delays the deadline as much as the job. Before "
              "that rule a task could wake early in a window holding a nearly passed deadline and a "
              "nearly full budget and run ahead of earlier deadlines: the sleep variant then missed in "
              "2, 4, 3 and 6 of 8 sets at U = 0.8, 0.85, 0.9 and 0.95, where SCHED_DEADLINE missed in "
              "none. In the yield variant the policy is set at the synchronous release, so a task that "
              "another's first job keeps from setting it starts a little later, which EDF does not "
              "mind. In both, the "
              "QEMU overhead on CPU 0 (mean busy0 above U) leaves EDF less than the full CPU near "
              "U = 1; misses are counted against release + T + 5 ms. SCHED_DEADLINE's budget has a fixed 1 ms "
              "on top of 1.1 C because the kernel time around each job is charged to the budget: with "
              "1.1 C alone, tasks with C below about 1 ms overran their budget every job, were "
              "throttled and fell behind by hundreds of ms even at U = 0.5 (an earlier full run, whose "
              "lines are kept in `bench/results/guest-bench-run1.txt`).", ""]
        dl = [table[("deadline", u)] for u in us if ("deadline", u) in table]
        lo_dl = [e for e in dl[: len(dl) // 2] if e["sets"]]
        hi_dl = [e for e in dl[len(dl) // 2:] if e["sets"]]
        if lo_dl and hi_dl and (sum(e["missed"] for e in lo_dl) / sum(e["sets"] for e in lo_dl) >
                                sum(e["missed"] for e in hi_dl) / sum(e["sets"] for e in hi_dl)):
            L += ["Open question: SCHED_DEADLINE misses more often at the lower utilizations than at the "
                  "higher ones, the opposite of what EDF theory and the other policies show, and its misses "
                  "are spread over tasks of every size with lateness up to hundreds of ms. Budget "
                  "throttling is involved (a 1.1 C budget without the fixed 1 ms made it far worse), "
                  "but why it hits more when CPU 0 has more idle time (e.g. late replenishment timers "
                  "after idle under TCG) is not established; SCHED_DEADLINE is the reference class here, "
                  "not the subject, so this was not pursued.", ""]
        L += ["Theory: EDF meets every deadline of an implicit-deadline periodic set iff U <= 1 "
              "(Liu and Layland 1973), so CASIO and SCHED_DEADLINE should show no misses at any U "
              "here, up to the emulator's extra load. Rate-monotonic fixed priorities are "
              "guaranteed only up to n (2^(1/n) - 1) (0.743 for n = 5, 0.718 for n = 10, "
              "Liu and Layland 1973); random sets stay schedulable up to about U = 0.88 on "
              "average (Lehoczky, Sha and Ding 1989). The column \"RM unschedulable by RTA\" is the "
              "exact answer of response-time analysis (Joseph and Pandya 1986; Audsley et al. "
              "1993) for the same sets: FIFO-RM should miss on those sets (their worst case is the "
              "synchronous release every run starts with) and on no others.", ""]
    else:
        L += ["No schedulability results in the log.", ""]

    # Latency
    L += ["## 4. Wake-up latency against a CFS hog", "",
          f"Command: `{cmds['guest_full']}` (guest `casio-bench latency`).", ""]
    lc = first(guest, "latency_config") or {}
    lat = {d.get("policy"): d for d in every(guest, "latency")}
    if lat:
        fifo = lat.get("fifo") or {}
        rows = []
        for p in ("casio", "fifo", "deadline"):
            d = lat.get(p)
            if not d:
                continue

            def rel(k, d=d):
                a, b = fnum(d.get(k)), fnum(fifo.get(k))
                return f"{a / b:.2f}" if a is not None and b else "n/a"
            rows.append([p.upper(), d.get("jobs", "?"), f(d.get("p50_us")), f(d.get("p99_us")),
                         f(d.get("max_us")), f(d.get("mean_us")), d.get("over_1ms", "n/a"),
                         rel("p50_us"), rel("p99_us"), rel("max_us")])
        L += [f"A periodic task (T = {lc.get('period_ms', '?')} ms, {lc.get('burn_us', '?')} µs of work per job) "
              f"and a SCHED_NORMAL busy loop share CPU 0; {lc.get('jobs', '?')} jobs per policy, run in "
              f"segments of {lc.get('segment', '?')} with the policies interleaved. Latency = CLOCK_MONOTONIC "
              "right after `clock_nanosleep(TIMER_ABSTIME)` returns minus the programmed release.", "",
              md_table(["policy", "jobs", "p50 µs", "p99 µs", "max µs", "mean µs", "> 1 ms",
                        "p50 / FIFO", "p99 / FIFO", "max / FIFO"], rows), ""]
        for e in every(guest, "latency_error"):
            L += [f"- error under {e.get('policy')}: {e.get('error')}"]
        L += ["Expected: CASIO and FIFO both preempt the CFS hog at once, so their latencies "
              "should match (ratios near 1); p99 and max are dominated by emulator jitter.", ""]
    else:
        L += ["No latency results in the log.", ""]

    L += overhead_section(overhead or [], cmds)

    L += ["## Not done / caveats", "",
          "- Section 2b times the class's queue code inside the kernel on nodes of its own, not a "
          "run queue holding n real tasks.",
          "- All guest figures come from QEMU TCG, not hardware: absolute microseconds mean "
          "little, ratios and miss counts measured in the same boot are what to compare.",
          "- The switch ratio is steady within a boot but not between boots: full runs of this "
          "benchmark have given CASIO/FIFO = 0.77, 0.94, 1.01 and, after budgets, the CPU cap and "
          "the event hooks were added, 1.09 to 1.15. Two back-to-back boots of `casio-bench switch` "
          "on the base kernel, one with the budget, cap and event hooks compiled out, gave 1.053 "
          "and 1.068: the hooks cost about 1.5 %. The rest of the distance to FIFO is probably the "
          "job accounting's CLOCK_MONOTONIC read at every wake-up and sleep, not measured "
          "separately.",
          "- Since wake-ups follow the CBS rule, the ping-pong's CASIO tasks (C = 90 ms, D = T = "
          "100 ms, each using about half of CPU 0) get a new job at almost every wake-up: a task "
          "that used less than its bandwidth has more runtime left than fits before its deadline. "
          "Each new job re-arms the task's deadline timer (a clock read and an hrtimer "
          "reprogramming, costly under TCG); SCHED_DEADLINE applies the same rule without a timer "
          "per job, and CASIO/DEADLINE stays near 1. The 2 % target against FIFO is not met since "
          "(1.13 to 1.17 in alternating boots of the kernels before and after the glue's "
          "restructuring, which did not change it). Arming the deadline timer lazily, leaving a "
          "pending timer that fires before the new deadline and re-arming it from its callback, "
          "gave 1.10 and 1.12, but under `smp_stress` CPU offline writes took 6 to 8 s instead of "
          "2.5 to 5.6 s and the test failed in 2 of 4 runs; it was taken back until that is "
          "understood.", ""]
    return "\n".join(L)


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--guest", help="guest console log (or stored BENCH lines)")
    ap.add_argument("--host", help="host casio-queue-bench output")
    ap.add_argument("--overhead", help="BENCH lines of bench/overhead.sh (CASIO=y and =off boots)")
    ap.add_argument("--out", default="bench", help="output directory (default: bench)")
    ap.add_argument("--save-raw", action="store_true",
                    help="store the BENCH lines in OUT/results/ (guest-bench.txt, host-scaling.txt)")
    a = ap.parse_args(argv)
    gtext = open(a.guest, encoding="utf-8", errors="replace").read() if a.guest else ""
    htext = open(a.host, encoding="utf-8", errors="replace").read() if a.host else ""
    otext = open(a.overhead, encoding="utf-8", errors="replace").read() if a.overhead else ""
    guest, host, overhead = parse_lines(gtext), parse_lines(htext), parse_lines(otext)
    if not guest and not host and not overhead:
        print("casio_report: no BENCH lines in the inputs", file=sys.stderr)
        return 1
    if a.guest and "CASIO-BENCH-DONE" not in gtext:
        print("casio_report: warning: guest log has no CASIO-BENCH-DONE (incomplete run?)", file=sys.stderr)
    os.makedirs(os.path.join(a.out, "plots"), exist_ok=True)
    if a.save_raw:
        os.makedirs(os.path.join(a.out, "results"), exist_ok=True)
        for text, name in ((gtext, "guest-bench.txt"), (htext, "host-scaling.txt")):
            if text:
                with open(os.path.join(a.out, "results", name), "w", encoding="utf-8") as fh:
                    fh.write("\n".join(bench_lines(text)) + "\n")
    plots = {}
    for key, fname, svg in (("sched", "sched_miss.svg", sched_svg(guest)),
                            ("scaling", "queue_scaling.svg", scaling_svg(host))):
        if svg:
            with open(os.path.join(a.out, "plots", fname), "w", encoding="utf-8") as fh:
                fh.write(svg)
            plots[key] = f"plots/{fname}"
    with open(os.path.join(a.out, "REPORT.md"), "w", encoding="utf-8") as fh:
        fh.write(render(guest, host, plots=plots, overhead=overhead))
    print(f"casio_report: wrote {os.path.join(a.out, 'REPORT.md')} and {len(plots)} plot(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
