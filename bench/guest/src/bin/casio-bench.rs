//! casio-bench: in-guest benchmarks of SCHED_CASIO against SCHED_FIFO,
//! SCHED_DEADLINE and SCHED_NORMAL.  See bench/README.md.
//!
//! ```text
//! casio-bench all|switch|sched|latency [--quick] [options]
//! casio-bench overhead [--quick]  cost of the series for non-CASIO tasks
//! casio-bench taskset U K        print set K of utilization U (host or guest)
//! ```
//!
//! `overhead` is not part of `all`: it compares two kernels (CASIO on and
//! off, bench/overhead.sh boots them alternately) and runs on both.
//!
//! Workloads run on CPU 0; the driver pins itself to CPU 1 and only waits.
//! Every result is printed as a `BENCH <name> key=value ...` line (see
//! `casio_bench::line`); the last line is `CASIO-BENCH-DONE`.

use std::process::ExitCode;

use casio_abi::{burn_cpu, monotonic_ns, set_affinity_cpu, sleep_until_ns};
use casio_bench::line::BenchLine;
use casio_bench::stats::{median, min_max, percentile_sorted};
use casio_bench::sys::{self, Policy, Shm, ThrottleOff};
use casio_bench::taskset::{
    describe, generate, liu_layland_bound, rm_priorities, rm_schedulable, seed_for, total_u,
    GenParams, Task,
};

const MS: u64 = 1_000_000;
const WORK_CPU: usize = 0;
const DRIVER_CPU: usize = 1;

#[derive(Clone, Debug)]
struct Config {
    quick: bool,
    /// switch: round trips per round, rounds, warm-up round trips.
    trips: u64,
    rounds: u32,
    warmup: u64,
    /// sched: utilizations, sets per utilization, run length, tolerance.
    utils: Vec<f64>,
    sets: u32,
    dur_ms: u64,
    tol_ms: u64,
    /// latency: jobs per policy, period, jobs per segment.
    jobs: u32,
    lat_period_ms: u64,
    lat_segment: u32,
    lat_burn_us: u64,
    /// overhead: rounds, pipe round trips, fork+exit+wait iterations,
    /// hackbench groups, senders (= receivers) per group, loops.
    ovh: Overhead,
}

#[derive(Clone, Copy, Debug)]
struct Overhead {
    rounds: u32,
    trips: u64,
    forks: u64,
    groups: usize,
    fds: usize,
    loops: usize,
    /// hackbench runs per round (their mean is the round's figure).
    runs: u32,
}

impl Config {
    fn full() -> Config {
        Config {
            quick: false,
            trips: 20_000,
            rounds: 7,
            warmup: 1_000,
            utils: vec![0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95],
            sets: 8,
            dur_ms: 3_000,
            tol_ms: 5,
            jobs: 300,
            lat_period_ms: 10,
            lat_segment: 100,
            lat_burn_us: 200,
            ovh: Overhead {
                rounds: 7,
                trips: 10_000,
                forks: 1_000,
                groups: 2,
                fds: 10,
                // 100 KB per receiver, more than a pipe holds (64 KB):
                // senders block and wake up too, as in hackbench's default.
                loops: 100,
                runs: 3,
            },
        }
    }

    fn quick() -> Config {
        Config {
            quick: true,
            trips: 2_000,
            rounds: 3,
            warmup: 200,
            utils: vec![0.7, 0.95],
            sets: 2,
            dur_ms: 1_000,
            jobs: 50,
            lat_segment: 50,
            ovh: Overhead {
                rounds: 2,
                trips: 1_000,
                forks: 100,
                groups: 1,
                fds: 5,
                loops: 100,
                runs: 1,
            },
            ..Config::full()
        }
    }
}

fn usage() -> &'static str {
    "usage: casio-bench all|switch|sched|latency|overhead [--quick] [--trips N] [--rounds R]\n\
     \x20                 [--sets K] [--utils U,U,..] [--duration-ms MS] [--tol-ms MS]\n\
     \x20                 [--jobs J] [--period-ms MS] [--ovh-rounds R] [--ovh-trips N]\n\
     \x20                 [--forks N] [--hb-groups G] [--hb-fds F] [--hb-loops L] [--hb-runs K]\n\
     \x20      casio-bench taskset U K    print task set K (0-based) of utilization U"
}

fn emit(l: BenchLine) {
    println!("{l}");
    sys::flush();
}

fn note(msg: &str) {
    println!("# {msg}");
    sys::flush();
}

fn errno_of(e: casio_abi::Errno) -> u64 {
    e.0 as u64
}

// ---------------------------------------------------------------------------
// 1. switch: pipe ping-pong on CPU 0
// ---------------------------------------------------------------------------

/// One round: `trips` round trips between two processes on CPU 0 under
/// `policy`; returns ns per round trip.
fn switch_round(policy: Policy, trips: u64, warmup: u64) -> Result<f64, String> {
    let shm = Shm::new(4)?;
    let (r1, w1) = sys::pipe().map_err(|e| format!("pipe: {e}"))?;
    let (r2, w2) = sys::pipe().map_err(|e| format!("pipe: {e}"))?;
    let alarm = 300;
    let setup = |slot: usize| -> bool {
        if let Err(e) = set_affinity_cpu(0, WORK_CPU) {
            shm.set(slot, 1000 + errno_of(e));
            return false;
        }
        if let Err(e) = policy.apply() {
            shm.set(slot, errno_of(e));
            return false;
        }
        true
    };
    let b = sys::fork_child(alarm, || {
        sys::close(w1);
        sys::close(r2);
        if !setup(2) {
            return 3;
        }
        while sys::read1(r1) {
            if !sys::write1(w2) {
                break;
            }
        }
        0
    })
    .map_err(|e| format!("fork: {e}"))?;
    let a = sys::fork_child(alarm, || {
        sys::close(r1);
        sys::close(w2);
        if !setup(1) {
            return 3;
        }
        for _ in 0..warmup {
            if !(sys::write1(w1) && sys::read1(r2)) {
                return 4;
            }
        }
        let t0 = monotonic_ns();
        for _ in 0..trips {
            if !(sys::write1(w1) && sys::read1(r2)) {
                return 4;
            }
        }
        shm.set(0, monotonic_ns() - t0);
        0
    })
    .map_err(|e| format!("fork: {e}"))?;
    for fd in [r1, w1, r2, w2] {
        sys::close(fd);
    }
    let st = sys::wait_all(&[a, b], monotonic_ns() + alarm as u64 * 1_000 * MS);
    for (slot, who) in [(1, "A"), (2, "B")] {
        let e = shm.get(slot);
        if e != 0 {
            let what = if e >= 1000 {
                "sched_setaffinity"
            } else {
                "set policy"
            };
            return Err(format!(
                "task {who}: {what}: {}",
                casio_abi::Errno((e % 1000) as i32)
            ));
        }
    }
    if st[0] != 0 || shm.get(0) == 0 {
        return Err(format!("ping task status {} / pong {}", st[0], st[1]));
    }
    Ok(shm.get(0) as f64 / trips as f64)
}

fn switch_policies() -> Vec<Policy> {
    vec![
        Policy::Casio {
            c: 90 * MS,
            d: 100 * MS,
            t: 100 * MS,
        },
        Policy::Fifo(50),
        Policy::Deadline {
            c: 90 * MS,
            d: 100 * MS,
            t: 100 * MS,
        },
        Policy::Normal,
    ]
}

fn bench_switch(cfg: &Config) -> bool {
    note(&format!(
        "switch: pipe ping-pong, 2 processes on CPU {WORK_CPU}, {} round trips x {} rounds (+{} warm-up), policies interleaved",
        cfg.trips, cfg.rounds, cfg.warmup
    ));
    emit(
        BenchLine::new("switch_config")
            .kv("trips", cfg.trips)
            .kv("rounds", cfg.rounds)
            .kv("warmup", cfg.warmup)
            .kv("casio", "C=90ms,D=T=100ms")
            .kv("fifo", "prio=50")
            .kv("deadline", "runtime=90ms,D=T=100ms")
            .kv("normal", "nice=0"),
    );
    let pols = switch_policies();
    let mut res: Vec<Vec<f64>> = vec![Vec::new(); pols.len()];
    let mut errors: Vec<Option<String>> = vec![None; pols.len()];
    for round in 0..cfg.rounds {
        for k in 0..pols.len() {
            let i = (k + round as usize) % pols.len();
            if errors[i].is_some() {
                continue;
            }
            match switch_round(pols[i], cfg.trips, cfg.warmup) {
                Ok(ns) => {
                    res[i].push(ns / 1000.0);
                    emit(
                        BenchLine::new("switch_round")
                            .kv("policy", pols[i].name())
                            .kv("round", round)
                            .kv("trips", cfg.trips)
                            .f("us_per_trip", ns / 1000.0, 3),
                    );
                }
                Err(e) => {
                    emit(
                        BenchLine::new("switch_error")
                            .kv("policy", pols[i].name())
                            .kv("error", &e),
                    );
                    errors[i] = Some(e);
                }
            }
        }
    }
    let mut med = vec![None; pols.len()];
    for (i, p) in pols.iter().enumerate() {
        if let (Some(m), Some((lo, hi))) = (median(&res[i]), min_max(&res[i])) {
            med[i] = Some(m);
            emit(
                BenchLine::new("switch")
                    .kv("policy", p.name())
                    .kv("rounds", res[i].len())
                    .kv("trips", cfg.trips)
                    .f("median_us", m, 3)
                    .f("min_us", lo, 3)
                    .f("max_us", hi, 3),
            );
        }
    }
    let ratio = |a: usize, b: usize| match (med[a], med[b]) {
        (Some(x), Some(y)) if y > 0.0 => format!("{:.4}", x / y),
        _ => "na".to_string(),
    };
    emit(
        BenchLine::new("switch_ratio")
            .kv("casio_over_fifo", ratio(0, 1))
            .kv("casio_over_deadline", ratio(0, 2))
            .kv("casio_over_normal", ratio(0, 3)),
    );
    errors[0].is_none() && errors[1].is_none()
}

// ---------------------------------------------------------------------------
// 3. sched: schedulability of random task sets
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// CASIO with D = T; a job sleeps to its release.
    Casio,
    /// CASIO with D = T; the policy is set at the synchronous release and
    /// a job ends with sched_yield(), so the kernel releases the next one
    /// on its period grid (r + T) instead of at the jittered wake-up.
    CasioYield,
    Fifo,
    Deadline,
}

/// Fixed per-job budget allowance of SCHED_DEADLINE on top of 1.1 C.
const DL_SLACK: u64 = MS;

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Casio => "casio",
            Kind::CasioYield => "casio_yield",
            Kind::Fifo => "fifo",
            Kind::Deadline => "deadline",
        }
    }

    fn policy(self, set: &[Task], i: usize) -> Policy {
        let k = set[i];
        match self {
            Kind::Casio | Kind::CasioYield => Policy::Casio {
                c: k.c.max(casio_abi::CASIO_MIN_RUNTIME),
                d: k.t,
                t: k.t,
            },
            // RM priorities 10..10+n-1.
            Kind::Fifo => Policy::Fifo(rm_priorities(set, 10)[i]),
            // Budget = 1.1 C + 1 ms, capped at the deadline: SCHED_DEADLINE
            // charges the task's kernel time around each job (wake-up,
            // clock_nanosleep, context switches: tens of µs under TCG),
            // which 10 % of a sub-millisecond C does not cover.
            Kind::Deadline => Policy::Deadline {
                c: (k.c + k.c / 10 + DL_SLACK).clamp(1024, k.t),
                d: k.t,
                t: k.t,
            },
        }
    }
}

const SLOTS: usize = 5; // jobs, misses, strict misses, max lateness, error

struct SchedResult {
    jobs: u64,
    misses: u64,
    strict: u64,
    max_late_ns: i64,
    busy0: Option<f64>,
    error: Option<String>,
    /// Per task: (jobs, misses, max lateness ns).
    per_task: Vec<(u64, u64, i64)>,
}

impl SchedResult {
    fn failed(e: String) -> SchedResult {
        SchedResult {
            jobs: 0,
            misses: 0,
            strict: 0,
            max_late_ns: 0,
            busy0: None,
            error: Some(e),
            per_task: Vec::new(),
        }
    }
}

/// After setting `pol`, read the attributes back: the kernel must report
/// the policy and parameters that were set.
fn readback_ok(pol: Policy) -> bool {
    let Ok(a) = casio_abi::getattr(0) else {
        return false;
    };
    match pol {
        Policy::Casio { c, d, t } => {
            a.sched_policy == casio_abi::SCHED_CASIO as u32
                && (a.sched_runtime, a.sched_deadline, a.sched_period) == (c, d, t)
        }
        Policy::Deadline { c, d, t } => {
            a.sched_policy == casio_abi::SCHED_DEADLINE as u32
                && (a.sched_runtime, a.sched_deadline, a.sched_period) == (c, d, t)
        }
        Policy::Fifo(p) => a.sched_policy == casio_abi::SCHED_FIFO as u32 && a.sched_priority == p,
        Policy::Normal => a.sched_policy == casio_abi::SCHED_NORMAL as u32,
    }
}

fn sched_run(set: &[Task], kind: Kind, dur_ns: u64, tol_ns: u64) -> SchedResult {
    let n = set.len();
    let shm = match Shm::new(n * SLOTS) {
        Ok(s) => s,
        Err(e) => return SchedResult::failed(e),
    };
    for i in 0..n {
        shm.set(i * SLOTS + 3, i64::MIN as u64);
    }
    let start = monotonic_ns() + 300 * MS;
    let end = start + dur_ns;
    let alarm = (dur_ns / 1_000_000_000) as u32 + 30;
    let mut pids = Vec::new();
    let mut error = None;
    for (i, task) in set.iter().copied().enumerate() {
        let pol = kind.policy(set, i);
        let shm = &shm;
        let r = sys::fork_child(alarm, move || {
            let base = i * SLOTS;
            if let Err(e) = set_affinity_cpu(0, WORK_CPU) {
                shm.set(base + 4, 1000 + errno_of(e));
                return 3;
            }
            // The yield variant's first job is released when the policy
            // is set, so it is set at the synchronous release; a task that
            // another one's first job keeps from setting it starts later,
            // which EDF does not mind.
            if kind == Kind::CasioYield {
                sleep_until_ns(start);
            }
            if let Err(e) = pol.apply() {
                shm.set(base + 4, errno_of(e));
                return 3;
            }
            if !readback_ok(pol) {
                shm.set(base + 4, 2000);
                return 3;
            }
            let mut release = if kind == Kind::CasioYield {
                monotonic_ns()
            } else {
                start
            };
            let (mut jobs, mut misses, mut strict, mut max_late) = (0u64, 0u64, 0u64, i64::MIN);
            while release < end {
                if kind == Kind::CasioYield {
                    // Ends the previous job; returns at the next release.
                    if jobs > 0 {
                        let _ = casio_abi::sched_yield();
                    }
                } else {
                    sleep_until_ns(release);
                }
                let done = burn_cpu(task.c);
                let late = done as i64 - (release + task.t) as i64;
                jobs += 1;
                strict += (late > 0) as u64;
                misses += (late > tol_ns as i64) as u64;
                max_late = max_late.max(late);
                release += task.t;
            }
            shm.set(base, jobs);
            shm.set(base + 1, misses);
            shm.set(base + 2, strict);
            shm.set(base + 3, max_late as u64);
            0
        });
        match r {
            Ok(pid) => pids.push(pid),
            Err(e) => {
                error = Some(format!("fork: {e}"));
                break;
            }
        }
    }
    sleep_until_ns(start);
    let j0 = sys::cpu_jiffies(WORK_CPU);
    sleep_until_ns(end);
    let j1 = sys::cpu_jiffies(WORK_CPU);
    let st = sys::wait_all(&pids, end + 20_000 * MS);
    let mut res = SchedResult {
        jobs: 0,
        misses: 0,
        strict: 0,
        max_late_ns: i64::MIN,
        busy0: sys::busy_fraction(j0, j1),
        error,
        per_task: Vec::new(),
    };
    for (i, &s) in st.iter().enumerate() {
        let base = i * SLOTS;
        let e = shm.get(base + 4);
        if e != 0 && res.error.is_none() {
            let what = if e >= 1000 {
                "sched_setaffinity"
            } else {
                "set policy"
            };
            res.error = Some(format!(
                "task {i}: {what}: {}",
                casio_abi::Errno((e % 1000) as i32)
            ));
        } else if s != 0 && res.error.is_none() {
            res.error = Some(format!("task {i}: exit status {s}"));
        }
        res.jobs += shm.get(base);
        res.misses += shm.get(base + 1);
        res.strict += shm.get(base + 2);
        res.max_late_ns = res.max_late_ns.max(shm.get(base + 3) as i64);
        res.per_task
            .push((shm.get(base), shm.get(base + 1), shm.get(base + 3) as i64));
    }
    res
}

fn bench_sched(cfg: &Config) -> bool {
    let gp = GenParams::default();
    let dur = cfg.dur_ms * MS;
    let tol = cfg.tol_ms * MS;
    note(&format!(
        "sched: UUniFast sets, n={}..{}, T log-uniform in [{}, {}] ms, {} sets per U, {} ms each, miss = finish > release + D + {} ms",
        gp.n_min,
        gp.n_max,
        gp.t_min / MS,
        gp.t_max / MS,
        cfg.sets,
        cfg.dur_ms,
        cfg.tol_ms
    ));
    emit(
        BenchLine::new("sched_config")
            .kv("n_min", gp.n_min)
            .kv("n_max", gp.n_max)
            .kv("t_min_ms", gp.t_min / MS)
            .kv("t_max_ms", gp.t_max / MS)
            .kv("periods", "log-uniform,1ms-grain")
            .kv("c_min_us", gp.c_min / 1000)
            .kv("sets", cfg.sets)
            .kv(
                "utils",
                cfg.utils
                    .iter()
                    .map(|u| format!("{u}"))
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .kv("duration_ms", cfg.dur_ms)
            .kv("tol_ms", cfg.tol_ms)
            .kv("seed_rule", "1000*round(100*U)+k")
            .kv("deadline_budget", "1.1*C+1ms")
            .kv(
                "casio_yield",
                "policy set at the release, jobs end with sched_yield",
            )
            .kv("fifo_prio", "rate-monotonic,10+rank"),
    );
    // Calibration: CPU 0 busy fraction with nothing of ours on it, and one
    // task of U = 0.5 (C = 50 ms, T = 100 ms) alone under each policy.
    let j0 = sys::cpu_jiffies(WORK_CPU);
    casio_abi::sleep_ns(1_000 * MS);
    let idle = sys::busy_fraction(j0, sys::cpu_jiffies(WORK_CPU));
    let fmt = |b: Option<f64>| b.map_or("na".to_string(), |b| format!("{b:.3}"));
    emit(BenchLine::new("sched_calib_idle").kv("busy0", fmt(idle)));
    let half = [Task {
        c: 50 * MS,
        t: 100 * MS,
    }];
    for kind in [Kind::Casio, Kind::CasioYield, Kind::Fifo, Kind::Deadline] {
        let r = sched_run(&half, kind, 1_000 * MS, tol);
        emit(
            BenchLine::new("sched_calib")
                .kv("policy", kind.name())
                .kv("c_ms", 50)
                .kv("t_ms", 100)
                .kv("jobs", r.jobs)
                .kv("misses", r.misses)
                .f("max_late_ms", r.max_late_ns as f64 / 1e6, 3)
                .kv("busy0", fmt(r.busy0))
                .kv("error", r.error.as_deref().unwrap_or("none")),
        );
    }
    let kinds = [Kind::Casio, Kind::CasioYield, Kind::Fifo, Kind::Deadline];
    let mut ok = true;
    let mut run_no = 0usize;
    for &u in &cfg.utils {
        let mut summary = [(0u32, 0u32, 0u64, 0u64); 4]; // sets, sets missed, misses, jobs
        let mut rm_fail = 0;
        for k in 0..cfg.sets {
            let seed = seed_for(u, k);
            let set = generate(seed, u, &gp);
            let rm_ok = rm_schedulable(&set);
            rm_fail += (!rm_ok) as u32;
            emit(
                BenchLine::new("sched_set")
                    .f("u", u, 2)
                    .kv("set", k)
                    .kv("seed", seed)
                    .kv("n", set.len())
                    .f("u_actual", total_u(&set), 4)
                    .kv("rm_rta", if rm_ok { "ok" } else { "miss" })
                    .f("ll_bound", liu_layland_bound(set.len()), 4)
                    .kv("tasks_us", describe(&set)),
            );
            for j in 0..kinds.len() {
                let ki = (j + run_no) % kinds.len();
                let kind = kinds[ki];
                let r = sched_run(&set, kind, dur, tol);
                let mut l = BenchLine::new("sched")
                    .kv("policy", kind.name())
                    .f("u", u, 2)
                    .kv("set", k)
                    .kv("seed", seed)
                    .kv("n", set.len())
                    .kv("jobs", r.jobs)
                    .kv("misses", r.misses)
                    .kv("strict_misses", r.strict)
                    .f("max_late_ms", r.max_late_ns as f64 / 1e6, 3)
                    .kv(
                        "busy0",
                        r.busy0.map_or("na".to_string(), |b| format!("{b:.3}")),
                    );
                if let Some(e) = &r.error {
                    l = l.kv("error", e);
                    if kind != Kind::Deadline {
                        ok = false;
                    }
                } else {
                    let s = &mut summary[ki];
                    s.0 += 1;
                    s.1 += (r.misses > 0) as u32;
                    s.2 += r.misses;
                    s.3 += r.jobs;
                }
                emit(l);
                for (ti, &(jobs, misses, late)) in r.per_task.iter().enumerate() {
                    if misses > 0 {
                        emit(
                            BenchLine::new("sched_task")
                                .kv("policy", kind.name())
                                .f("u", u, 2)
                                .kv("set", k)
                                .kv("task", ti)
                                .kv("c_us", set[ti].c / 1000)
                                .kv("t_us", set[ti].t / 1000)
                                .kv("jobs", jobs)
                                .kv("misses", misses)
                                .f("max_late_ms", late as f64 / 1e6, 3),
                        );
                    }
                }
            }
            run_no += 1;
        }
        for (ki, kind) in kinds.iter().enumerate() {
            let s = summary[ki];
            emit(
                BenchLine::new("sched_summary")
                    .kv("policy", kind.name())
                    .f("u", u, 2)
                    .kv("sets", s.0)
                    .kv("sets_missed", s.1)
                    .kv("misses", s.2)
                    .kv("jobs", s.3)
                    .kv("rm_rta_unschedulable", rm_fail),
            );
        }
    }
    ok
}

// ---------------------------------------------------------------------------
// 4. latency: periodic task against a CFS hog
// ---------------------------------------------------------------------------

fn latency_segment(pol: Policy, jobs: u32, period: u64, burn: u64) -> Result<Vec<i64>, String> {
    let shm = Shm::new(jobs as usize + 1)?;
    let hog = sys::fork_child(120, || {
        if set_affinity_cpu(0, WORK_CPU).is_err() || Policy::Normal.apply().is_err() {
            return 3;
        }
        loop {
            std::hint::spin_loop();
        }
    })
    .map_err(|e| format!("fork: {e}"))?;
    let start = monotonic_ns() + 100 * MS;
    let task = sys::fork_child(120, || {
        if let Err(e) = set_affinity_cpu(0, WORK_CPU) {
            shm.set(jobs as usize, 1000 + errno_of(e));
            return 3;
        }
        if let Err(e) = pol.apply() {
            shm.set(jobs as usize, errno_of(e));
            return 3;
        }
        for k in 0..jobs as u64 {
            let release = start + k * period;
            sleep_until_ns(release);
            let woke = monotonic_ns();
            shm.set(k as usize, woke.wrapping_sub(release));
            burn_cpu(burn);
        }
        0
    });
    let task = match task {
        Ok(t) => t,
        Err(e) => {
            sys::kill_child(hog);
            return Err(format!("fork: {e}"));
        }
    };
    let st = sys::wait_all(&[task], start + jobs as u64 * period + 30_000 * MS);
    sys::kill_child(hog);
    let e = shm.get(jobs as usize);
    if e != 0 {
        let what = if e >= 1000 {
            "sched_setaffinity"
        } else {
            "set policy"
        };
        return Err(format!("{what}: {}", casio_abi::Errno((e % 1000) as i32)));
    }
    if st[0] != 0 {
        return Err(format!("task exit status {}", st[0]));
    }
    Ok((0..jobs as usize).map(|k| shm.get(k) as i64).collect())
}

fn bench_latency(cfg: &Config) -> bool {
    let period = cfg.lat_period_ms * MS;
    let burn = cfg.lat_burn_us * 1000;
    note(&format!(
        "latency: periodic task (T = {} ms, {} us of work per job) on CPU {WORK_CPU} against a SCHED_NORMAL spinning hog; {} jobs per policy in segments of {}",
        cfg.lat_period_ms, cfg.lat_burn_us, cfg.jobs, cfg.lat_segment
    ));
    emit(
        BenchLine::new("latency_config")
            .kv("period_ms", cfg.lat_period_ms)
            .kv("jobs", cfg.jobs)
            .kv("segment", cfg.lat_segment)
            .kv("burn_us", cfg.lat_burn_us)
            .kv("hog", "SCHED_NORMAL spin on CPU 0")
            .kv("casio", "C=1ms,D=T")
            .kv("fifo", "prio=50")
            .kv("deadline", "runtime=1ms,D=T"),
    );
    let pols = [
        Policy::Casio {
            c: MS,
            d: period,
            t: period,
        },
        Policy::Fifo(50),
        Policy::Deadline {
            c: MS,
            d: period,
            t: period,
        },
    ];
    let mut lat: Vec<Vec<i64>> = vec![Vec::new(); pols.len()];
    let mut errors: Vec<Option<String>> = vec![None; pols.len()];
    let seg = cfg.lat_segment.max(1);
    let nseg = cfg.jobs.div_ceil(seg);
    for s in 0..nseg {
        let jobs = seg.min(cfg.jobs - s * seg);
        for k in 0..pols.len() {
            let i = (k + s as usize) % pols.len();
            if errors[i].is_some() {
                continue;
            }
            match latency_segment(pols[i], jobs, period, burn) {
                Ok(v) => lat[i].extend(v),
                Err(e) => {
                    emit(
                        BenchLine::new("latency_error")
                            .kv("policy", pols[i].name())
                            .kv("error", &e),
                    );
                    errors[i] = Some(e);
                }
            }
        }
    }
    let mut pct = vec![None; pols.len()];
    for (i, p) in pols.iter().enumerate() {
        let mut v = lat[i].clone();
        if v.is_empty() {
            continue;
        }
        v.sort_unstable();
        let us = |x: Option<i64>| x.unwrap_or(0) as f64 / 1000.0;
        let (p50, p99, max) = (
            us(percentile_sorted(&v, 50.0)),
            us(percentile_sorted(&v, 99.0)),
            us(v.last().copied()),
        );
        let mean = v.iter().sum::<i64>() as f64 / v.len() as f64 / 1000.0;
        let over_1ms = v.iter().filter(|&&x| x > 1_000_000).count();
        pct[i] = Some((p50, p99, max));
        emit(
            BenchLine::new("latency")
                .kv("policy", p.name())
                .kv("jobs", v.len())
                .kv("period_ms", cfg.lat_period_ms)
                .f("p50_us", p50, 1)
                .f("p99_us", p99, 1)
                .f("max_us", max, 1)
                .f("mean_us", mean, 1)
                .f("min_us", us(v.first().copied()), 1)
                .kv("over_1ms", over_1ms),
        );
    }
    let r = |f: fn(&(f64, f64, f64)) -> f64| match (&pct[0], &pct[1]) {
        (Some(a), Some(b)) if f(b) > 0.0 => format!("{:.3}", f(a) / f(b)),
        _ => "na".to_string(),
    };
    emit(
        BenchLine::new("latency_ratio")
            .kv("p50_casio_over_fifo", r(|x| x.0))
            .kv("p99_casio_over_fifo", r(|x| x.1))
            .kv("max_casio_over_fifo", r(|x| x.2)),
    );
    errors[0].is_none() && errors[1].is_none()
}

// ---------------------------------------------------------------------------
// 5. overhead: what the series costs tasks that never use CASIO
// ---------------------------------------------------------------------------

/// The workloads of `casio-bench overhead`, none of which uses CASIO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ovh {
    /// Pipe ping-pong on CPU 0 under SCHED_FIFO: µs per round trip.
    PipeFifo,
    /// The same under SCHED_NORMAL.
    PipeNormal,
    /// fork + _exit + waitpid on CPU 0: µs per iteration.
    Fork,
    /// hackbench's pattern on every CPU: µs per message.
    Hackbench,
    /// The control: a user-space loop on CPU 0 without system calls,
    /// which no kernel change can speed up or slow down; its y/n spread
    /// is the emulator's and the host's noise. µs per 1,000 iterations.
    Control,
}

const OVH_WORKLOADS: [Ovh; 5] = [
    Ovh::PipeFifo,
    Ovh::PipeNormal,
    Ovh::Fork,
    Ovh::Hackbench,
    Ovh::Control,
];

/// Iterations of the control loop per run.
const CONTROL_ITERS: u64 = 20_000_000;

impl Ovh {
    fn name(self) -> &'static str {
        match self {
            Ovh::PipeFifo => "pipe_fifo",
            Ovh::PipeNormal => "pipe_normal",
            Ovh::Fork => "fork",
            Ovh::Hackbench => "hackbench",
            Ovh::Control => "control",
        }
    }

    /// One run: µs per operation.
    fn run(self, o: &Overhead) -> Result<f64, String> {
        let ns = match self {
            Ovh::PipeFifo => switch_round(Policy::Fifo(50), o.trips, o.trips / 10)?,
            Ovh::PipeNormal => switch_round(Policy::Normal, o.trips, o.trips / 10)?,
            Ovh::Fork => fork_round(o.forks)?,
            // The mean of `hb_runs` runs: under TCG one run's figure
            // varies up to tenfold, with the mix of batched and one-by-one
            // wake-ups it happens to fall into.
            Ovh::Hackbench => {
                let mut sum = 0.0;
                for _ in 0..o.runs {
                    sum += hackbench_round(o.groups, o.fds, o.loops)?;
                }
                sum / o.runs as f64
            }
            Ovh::Control => control_round(CONTROL_ITERS)? * 1000.0,
        };
        Ok(ns / 1000.0)
    }
}

/// Fork a child that `_exit(0)`s at once and reap it; `ECHILD` if it did not
/// exit with status 0.
fn fork_exit_wait() -> Result<(), casio_abi::Errno> {
    // SAFETY: the caller is single-threaded; the child only _exit()s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(casio_abi::Errno::last());
    }
    if pid == 0 {
        // SAFETY: leave at once, without exit handlers.
        unsafe { libc::_exit(0) };
    }
    let st = sys::wait_blocking(&[pid]);
    if st[0] == 0 {
        Ok(())
    } else {
        Err(casio_abi::Errno(libc::ECHILD))
    }
}

/// A process on CPU 0 forks `n` children that exit at once, reaping each
/// before the next fork (after n / 10 untimed ones); ns per iteration.
fn fork_round(n: u64) -> Result<f64, String> {
    let shm = Shm::new(2)?;
    let alarm = 300;
    let w = sys::fork_child(alarm, || {
        if let Err(e) = set_affinity_cpu(0, WORK_CPU) {
            shm.set(1, 1000 + errno_of(e));
            return 3;
        }
        for _ in 0..n / 10 {
            if let Err(e) = fork_exit_wait() {
                shm.set(1, errno_of(e));
                return 4;
            }
        }
        let t0 = monotonic_ns();
        for _ in 0..n {
            if let Err(e) = fork_exit_wait() {
                shm.set(1, errno_of(e));
                return 4;
            }
        }
        shm.set(0, monotonic_ns() - t0);
        0
    })
    .map_err(|e| format!("fork: {e}"))?;
    let st = sys::wait_all(&[w], monotonic_ns() + alarm as u64 * 1_000 * MS);
    let e = shm.get(1);
    if e != 0 {
        let what = if e >= 1000 {
            "sched_setaffinity"
        } else {
            "fork/exit/wait"
        };
        return Err(format!("{what}: {}", casio_abi::Errno((e % 1000) as i32)));
    }
    if st[0] != 0 || shm.get(0) == 0 {
        return Err(format!("fork loop status {}", st[0]));
    }
    Ok(shm.get(0) as f64 / n as f64)
}

/// `iters` steps of a xorshift generator in a process on CPU 0; ns per step.
fn control_round(iters: u64) -> Result<f64, String> {
    let shm = Shm::new(1)?;
    let c = sys::fork_child(300, || {
        if set_affinity_cpu(0, WORK_CPU).is_err() {
            return 3;
        }
        let mut x = std::hint::black_box(0x9e37_79b9_7f4a_7c15u64);
        let t0 = monotonic_ns();
        for _ in 0..iters {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x = std::hint::black_box(x);
        }
        shm.set(0, monotonic_ns() - t0);
        (x == 0) as i32
    })
    .map_err(|e| format!("fork: {e}"))?;
    let st = sys::wait_all(&[c], monotonic_ns() + 300 * 1_000 * MS);
    if st[0] != 0 || shm.get(0) == 0 {
        return Err(format!("control loop status {}", st[0]));
    }
    Ok(shm.get(0) as f64 / iters as f64)
}

/// Bytes per hackbench message (hackbench's DATASIZE).
const HB_DATA: usize = 100;

/// hackbench's pattern (its `-pipe` mode: the guest kernel has no AF_UNIX
/// sockets): `groups` groups of `fds` receivers and `fds` senders, each
/// sender writing `loops` messages of 100 bytes to every receiver of its
/// group, one pipe per receiver; the processes may run on every CPU. Timed by the driver from the common
/// start (every process forked and waiting) to the last one reaped; ns
/// per message.
fn hackbench_round(groups: usize, fds: usize, loops: usize) -> Result<f64, String> {
    let (ready_r, ready_w) = sys::pipe().map_err(|e| format!("pipe: {e}"))?;
    let (go_r, go_w) = sys::pipe().map_err(|e| format!("pipe: {e}"))?;
    let alarm = 300;
    let mut pids = Vec::new();
    let mut pipes = Vec::new();
    // Every worker: leave the driver's CPU pinning, drop its copies of the
    // start pipe's write end and the ready pipe's read end, say it is
    // ready and wait for the start (EOF of the start pipe).
    let start = || -> bool {
        let _ = casio_abi::set_affinity_all(0);
        sys::close(go_w);
        sys::close(ready_r);
        sys::write1(ready_w) && !sys::read1(go_r)
    };
    let mut setup = Ok(());
    'groups: for _ in 0..groups {
        let mut outs = Vec::new();
        for _ in 0..fds {
            let (rx, tx) = match sys::pipe() {
                Ok(p) => p,
                Err(e) => {
                    setup = Err(format!("pipe: {e}"));
                    break 'groups;
                }
            };
            pipes.extend([rx, tx]);
            outs.push(tx);
            let r = sys::fork_child(alarm, || {
                let mut buf = [0u8; HB_DATA];
                if !start() {
                    return 3;
                }
                if sys::read_exact(rx, loops * fds * HB_DATA, &mut buf) {
                    0
                } else {
                    4
                }
            });
            match r {
                Ok(pid) => pids.push(pid),
                Err(e) => {
                    setup = Err(format!("fork: {e}"));
                    break 'groups;
                }
            }
        }
        for _ in 0..fds {
            let outs = &outs;
            let r = sys::fork_child(alarm, move || {
                let data = [b'x'; HB_DATA];
                if !start() {
                    return 3;
                }
                for _ in 0..loops {
                    for &fd in outs {
                        if !sys::write_all(fd, &data) {
                            return 4;
                        }
                    }
                }
                0
            });
            match r {
                Ok(pid) => pids.push(pid),
                Err(e) => {
                    setup = Err(format!("fork: {e}"));
                    break 'groups;
                }
            }
        }
    }
    for fd in pipes {
        sys::close(fd);
    }
    sys::close(ready_w);
    sys::close(go_r);
    // Wait until every worker is ready (or one died: EOF comes early).
    let mut ready = 0;
    while ready < pids.len() && sys::read1(ready_r) {
        ready += 1;
    }
    sys::close(ready_r);
    let t0 = monotonic_ns();
    sys::close(go_w);
    let st = sys::wait_blocking(&pids);
    let ns = monotonic_ns() - t0;
    setup?;
    if ready < pids.len() {
        return Err(format!("only {ready} of {} workers got ready", pids.len()));
    }
    if let Some((i, s)) = st.iter().enumerate().find(|(_, &s)| s != 0) {
        return Err(format!("worker {i} of {}: exit status {s}", pids.len()));
    }
    Ok(ns as f64 / (groups * fds * fds * loops) as f64)
}

/// Whether the running kernel has SCHED_CASIO (the policy has a priority
/// range only when the class is built in).
fn casio_present() -> bool {
    // SAFETY: plain syscall wrapper without pointers.
    unsafe { libc::sched_get_priority_max(casio_abi::SCHED_CASIO) >= 0 }
}

fn bench_overhead(cfg: &Config) -> bool {
    let o = cfg.ovh;
    let casio = casio_present();
    let cap = sys::read_file(casio_testkit::throttle::CASIO_RUNTIME_PATH)
        .unwrap_or_else(|| "absent".into());
    note(&format!(
        "overhead: none of these tasks uses CASIO; SCHED_CASIO {} in this kernel; {} rounds of: pipe ping-pong (FIFO, NORMAL) {} round trips, fork+exit+wait x {}, hackbench {} group(s) x {} senders x {} receivers x {} loops x {} runs; workloads rotated every round",
        if casio { "present" } else { "absent" },
        o.rounds,
        o.trips,
        o.forks,
        o.groups,
        o.fds,
        o.fds,
        o.loops,
        o.runs
    ));
    emit(
        BenchLine::new("overhead_config")
            .kv("casio", if casio { "present" } else { "absent" })
            .kv("casio_cap_us", &cap)
            .kv("rounds", o.rounds)
            .kv("pipe_trips", o.trips)
            .kv("pipe_warmup", o.trips / 10)
            .kv("fifo", "prio=50")
            .kv("forks", o.forks)
            .kv("hb_groups", o.groups)
            .kv("hb_fds", o.fds)
            .kv("hb_loops", o.loops)
            .kv("hb_runs", o.runs)
            .kv("hb_bytes", HB_DATA)
            .kv("hb_mode", "pipe")
            .kv("unit", "us per op")
            .kv(
                "ops",
                "pipe=round trip,fork=fork+exit+wait,hackbench=message,control=1000 iterations",
            ),
    );
    let n = OVH_WORKLOADS.len();
    let mut res: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut errors: Vec<Option<String>> = vec![None; n];
    // One untimed run of each first (warm caches, first-touch faults).
    for (i, w) in OVH_WORKLOADS.iter().enumerate() {
        if let Err(e) = w.run(&o) {
            emit(
                BenchLine::new("overhead_error")
                    .kv("workload", w.name())
                    .kv("error", &e),
            );
            errors[i] = Some(e);
        }
    }
    for round in 0..o.rounds {
        for k in 0..n {
            let i = (k + round as usize) % n;
            if errors[i].is_some() {
                continue;
            }
            let w = OVH_WORKLOADS[i];
            match w.run(&o) {
                Ok(us) => {
                    res[i].push(us);
                    emit(
                        BenchLine::new("overhead_round")
                            .kv("workload", w.name())
                            .kv("round", round)
                            .f("us", us, 3),
                    );
                }
                Err(e) => {
                    emit(
                        BenchLine::new("overhead_error")
                            .kv("workload", w.name())
                            .kv("error", &e),
                    );
                    errors[i] = Some(e);
                }
            }
        }
    }
    for (i, w) in OVH_WORKLOADS.iter().enumerate() {
        if let (Some(m), Some((lo, hi))) = (median(&res[i]), min_max(&res[i])) {
            emit(
                BenchLine::new("overhead")
                    .kv("workload", w.name())
                    .kv("rounds", res[i].len())
                    .f("median_us", m, 3)
                    .f("min_us", lo, 3)
                    .f("max_us", hi, 3),
            );
        }
    }
    errors.iter().all(Option::is_none)
}

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------

fn parse_args(args: &[String]) -> Result<(String, Config), String> {
    let mut what = None;
    let mut quick = false;
    let mut opts: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--quick" {
            quick = true;
        } else if a == "-h" || a == "--help" {
            return Err(String::new());
        } else if let Some(k) = a.strip_prefix("--") {
            let (k, v) = match k.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => {
                    i += 1;
                    let v = args.get(i).ok_or(format!("--{k} needs a value"))?;
                    (k.to_string(), v.clone())
                }
            };
            opts.push((k, v));
        } else if what.is_none() {
            what = Some(a.clone());
        } else {
            return Err(format!("unexpected argument {a}"));
        }
        i += 1;
    }
    let what = what.unwrap_or_else(|| "all".to_string());
    if !["all", "switch", "kscaling", "sched", "latency", "overhead"].contains(&what.as_str()) {
        return Err(format!("unknown benchmark {what}"));
    }
    let mut cfg = if quick {
        Config::quick()
    } else {
        Config::full()
    };
    for (k, v) in opts {
        let num = || {
            v.parse::<u64>()
                .map_err(|_| format!("--{k}: bad number {v}"))
        };
        match k.as_str() {
            "trips" => cfg.trips = num()?.max(1),
            "rounds" => cfg.rounds = num()?.max(1) as u32,
            "sets" => cfg.sets = num()?.max(1) as u32,
            "duration-ms" => cfg.dur_ms = num()?.max(100),
            "tol-ms" => cfg.tol_ms = num()?,
            "jobs" => cfg.jobs = num()?.max(1) as u32,
            "period-ms" => cfg.lat_period_ms = num()?.max(1),
            "ovh-rounds" => cfg.ovh.rounds = num()?.max(1) as u32,
            "ovh-trips" => cfg.ovh.trips = num()?.max(1),
            "forks" => cfg.ovh.forks = num()?.max(1),
            "hb-groups" => cfg.ovh.groups = num()?.clamp(1, 64) as usize,
            "hb-fds" => cfg.ovh.fds = num()?.clamp(1, 64) as usize,
            "hb-loops" => cfg.ovh.loops = num()?.max(1) as usize,
            "hb-runs" => cfg.ovh.runs = num()?.max(1) as u32,
            "utils" => {
                cfg.utils = v
                    .split(',')
                    .map(|x| x.parse::<f64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("--utils: bad list {v}"))?;
                if cfg.utils.iter().any(|&u| !(u > 0.0 && u <= 1.0)) {
                    return Err("--utils: each U must be in (0, 1]".to_string());
                }
            }
            _ => return Err(format!("unknown option --{k}")),
        }
    }
    Ok((what, cfg))
}

fn print_taskset(args: &[String]) -> ExitCode {
    let (Some(u), Some(k)) = (
        args.first().and_then(|x| x.parse::<f64>().ok()),
        args.get(1).and_then(|x| x.parse::<u32>().ok()),
    ) else {
        eprintln!("{}", usage());
        return ExitCode::from(2);
    };
    let seed = seed_for(u, k);
    let set = generate(seed, u, &GenParams::default());
    println!(
        "# U={u} set={k} seed={seed} n={} U_actual={:.4} RM(RTA)={}",
        set.len(),
        total_u(&set),
        if rm_schedulable(&set) { "ok" } else { "miss" }
    );
    println!("# task  C_us  T_us  U  fifo_prio");
    let prio = rm_priorities(&set, 10);
    for (i, t) in set.iter().enumerate() {
        println!("{i} {} {} {:.4} {}", t.c / 1000, t.t / 1000, t.u(), prio[i]);
    }
    ExitCode::SUCCESS
}

/// The kernel's queue self-benchmark (CONFIG_SCHED_CASIO_QUEUE_BENCH).
const QUEUE_BENCH: &str = "/sys/kernel/debug/sched_casio/queue_bench";

/// Parses `n N requeue_ns X pick_ns Y`.
fn parse_queue_bench(text: &str) -> Option<(u64, f64, f64)> {
    let w: Vec<&str> = text.split_whitespace().collect();
    if w.len() != 6 || w[0] != "n" || w[2] != "requeue_ns" || w[4] != "pick_ns" {
        return None;
    }
    Some((w[1].parse().ok()?, w[3].parse().ok()?, w[5].parse().ok()?))
}

/// Item 2 inside the kernel: the class's own queue code timed with n = 10
/// to 10,000 nodes queued by the kernel's self-benchmark (requeues and
/// look-ups of the earliest, best of five rounds).
fn bench_kscaling(cfg: &Config) -> bool {
    let sizes: &[u64] = if cfg.quick {
        &[10, 1000]
    } else {
        &[10, 100, 1000, 10_000]
    };
    for &n in sizes {
        let r = std::fs::write(QUEUE_BENCH, n.to_string())
            .map_err(|e| format!("write {n} to {QUEUE_BENCH}: {e}"))
            .and_then(|()| {
                std::fs::read_to_string(QUEUE_BENCH).map_err(|e| format!("read {QUEUE_BENCH}: {e}"))
            })
            .and_then(|t| {
                parse_queue_bench(&t).ok_or_else(|| format!("cannot parse {QUEUE_BENCH}: {t:?}"))
            });
        match r {
            Ok((got, requeue, pick)) if got == n => emit(
                BenchLine::new("kscaling")
                    .kv("n", n)
                    .f("requeue_ns", requeue, 1)
                    .f("pick_ns", pick, 1),
            ),
            Ok((got, ..)) => {
                emit(
                    BenchLine::new("kscaling_error")
                        .kv("n", n)
                        .kv("error", format!("ran n={got}")),
                );
                return false;
            }
            Err(e) => {
                emit(BenchLine::new("kscaling_error").kv("n", n).kv("error", e));
                return false;
            }
        }
    }
    true
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("taskset") {
        return print_taskset(&args[1..]);
    }
    let (what, cfg) = match parse_args(&args) {
        Ok(x) => x,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("casio-bench: {e}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    let ncpu = casio_abi::online_cpus();
    let kernel = sys::read_file("/proc/sys/kernel/osrelease").unwrap_or_else(|| "?".into());
    emit(
        BenchLine::new("machine")
            .kv("cpu", sys::cpu_model())
            .kv("nproc", ncpu)
            .kv("kernel", &kernel)
            .kv("mode", if cfg.quick { "quick" } else { "full" })
            .kv("what", &what),
    );
    if ncpu > DRIVER_CPU {
        if let Err(e) = set_affinity_cpu(0, DRIVER_CPU) {
            note(&format!("cannot pin the driver to CPU {DRIVER_CPU}: {e}"));
        }
    } else {
        note(
            "only one CPU: the driver shares CPU 0 with the workloads (results are less reliable)",
        );
    }
    // The overhead run also boots kernels without CASIO, and leaves the
    // CASIO cap as it is: it measures what tasks outside the class pay.
    let knobs: &[&'static str] = if what == "overhead" {
        &[casio_testkit::throttle::RT_RUNTIME_PATH]
    } else {
        &casio_testkit::throttle::THROTTLE_KNOBS
    };
    let guard = match ThrottleOff::only(knobs) {
        Ok(g) => {
            note(&format!(
                "{} off (-1) for the run (was {})",
                if what == "overhead" {
                    "RT throttling"
                } else {
                    "RT throttling and the CASIO cap"
                },
                g.describe_old()
            ));
            Some(g)
        }
        Err(e) => {
            note(&format!(
                "{e}: SCHED_DEADLINE may be refused, FIFO and CASIO throttled"
            ));
            None
        }
    };
    let t0 = monotonic_ns();
    let mut ok = true;
    if what == "all" || what == "switch" {
        ok &= bench_switch(&cfg);
    }
    if what == "all" || what == "kscaling" {
        ok &= bench_kscaling(&cfg);
    }
    if what == "all" || what == "sched" {
        ok &= bench_sched(&cfg);
    }
    if what == "all" || what == "latency" {
        ok &= bench_latency(&cfg);
    }
    if what == "overhead" {
        ok &= bench_overhead(&cfg);
    }
    drop(guard);
    emit(
        BenchLine::new("done")
            .f("seconds", (monotonic_ns() - t0) as f64 / 1e9, 1)
            .kv("ok", ok),
    );
    println!("CASIO-BENCH-DONE");
    sys::flush();
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::parse_queue_bench;

    #[test]
    fn queue_bench_line() {
        assert_eq!(
            parse_queue_bench("n 10 requeue_ns 51.2 pick_ns 3.0\n"),
            Some((10, 51.2, 3.0))
        );
        assert_eq!(parse_queue_bench("no run yet: write a number\n"), None);
    }
}
