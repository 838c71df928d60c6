//! Tests of the CASIO event log, `/proc/casio_event`, and of the
//! `sched_casio_*` tracepoints.

use casio_testkit::sysctl::Restore;

use casio_abi::event::{self, Event, Kind, TaskRef};
use casio_abi::{
    burn_cpu, getattr, getscheduler, monotonic_ns, sched_yield, setattr, SchedAttr, SCHED_CASIO,
};

use crate::common::checks::{sys, Fails};
use crate::common::kernel::{mount_tracefs, TRACEFS};
use crate::common::proc::spawn;
use crate::common::shared::{Shared, Slot};
use crate::common::stats::read_stat;
use crate::common::work::{drop_privileges, pin_harness, pin_work, sleeper, write_errno};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    casio_event_log: "/proc/casio_event: a 10-job task's releases, ends, switches; root only; reads consume nothing" => t_casio_event_log,
    tracepoints: "sched_casio_* tracepoints in tracefs record a periodic task" => t_tracepoints,
    proc_register: "pid to /proc/casio/add and /proc/process_sched_add: CASIO with the default deadline; errnos" => t_proc_register,
    queue_bench_scaling: "debugfs queue self-benchmark: requeue grows like log n from 10 to 10,000 tasks, pick flat" => t_queue_bench_scaling,
}

const EVENT_PATH: &str = event::PROC_CASIO_EVENT;
const JOBS: u64 = 10;
const T: u64 = 50 * MS;

fn read_events() -> Result<Vec<Event>, String> {
    let text =
        std::fs::read_to_string(EVENT_PATH).map_err(|e| format!("read {EVENT_PATH}: {e}"))?;
    event::parse(&text).map_err(|e| format!("{EVENT_PATH}: {e}"))
}

/// The pid of a task event (not of a switch or a message).
fn task_pid(e: &Event) -> Option<i64> {
    e.task.map(|t| t.pid)
}

/// Runs a CASIO task (5/50/50 ms, casio_id 42) for `JOBS` jobs of burn +
/// yield on the work CPU; returns its pid and the time before it started.
fn run_periodic(label: &str) -> Result<(i32, u64), String> {
    let ran = Shared::<Slot>::one()?;
    let ran = ran.rec();
    let start = monotonic_ns();
    let mut child = spawn(label, || {
        pin_work()?;
        sys(
            "setattr CASIO 5/50/50ms",
            setattr(0, &SchedAttr::casio(5 * MS, T, T), 0),
        )?;
        ran.set(1);
        for _ in 0..JOBS {
            burn_cpu(2 * MS);
            sys("sched_yield", sched_yield())?;
        }
        Ok(())
    })?;
    let pid = child.pid();
    child.join(20 * SEC)?;
    if ran.get() != 1 {
        return Err("the periodic task never ran".into());
    }
    Ok((pid, start))
}

const EVENT_LOG_SYSCTL: &str = "/proc/sys/kernel/sched_casio_event_log";

fn t_casio_event_log() -> TestResult {
    pin_harness();
    let mut f = Fails::default();
    // Off by default: a task run now leaves nothing in the log.
    let off = std::fs::read_to_string(EVENT_LOG_SYSCTL)
        .map_err(|e| format!("read {EVENT_LOG_SYSCTL}: {e}"))?;
    f.eq("sched_casio_event_log by default", off.trim(), "0");
    let (quiet, _) = run_periodic("unlogged task")?;
    let leaked = read_events()?
        .iter()
        .filter(|e| task_pid(e) == Some(quiet as i64))
        .count();
    f.eq("events of a task run with the log off", leaked, 0);
    let _on = Restore::set(EVENT_LOG_SYSCTL, "1")?;
    let (pid, start) = run_periodic("event task")?;
    let evs = read_events()?;
    let me = TaskRef {
        id: 0,
        pid: pid as i64,
    };
    let mine: Vec<&Event> = evs
        .iter()
        .filter(|e| {
            e.ts_ns >= start
                && match e.kind {
                    Kind::Switch => e.next == Some(me),
                    Kind::Message => false,
                    _ => task_pid(e) == Some(pid as i64),
                }
        })
        .collect();
    let count = |k: Kind| mine.iter().filter(|e| e.kind == k).count() as u64;
    diag!(
        "task {pid}: {} events: release {}, job end {}, switch-to {}, enqueue {}, dequeue {}, miss {}",
        mine.len(),
        count(Kind::Release),
        count(Kind::JobEnd),
        count(Kind::Switch),
        count(Kind::Enqueue),
        count(Kind::Dequeue),
        count(Kind::Miss)
    );
    // The first job comes with setattr, one more after each of the JOBS
    // yields (the last may still be pending when the task exits).
    f.check(count(Kind::Release) >= JOBS, || {
        format!("{} releases, want >= {JOBS}", count(Kind::Release))
    });
    f.check(count(Kind::JobEnd) >= JOBS, || {
        format!("{} job ends, want >= {JOBS}", count(Kind::JobEnd))
    });
    f.check(count(Kind::Switch) >= JOBS, || {
        format!(
            "{} switches to the task, want >= {JOBS}",
            count(Kind::Switch)
        )
    });
    f.check(
        count(Kind::Enqueue) >= JOBS && count(Kind::Dequeue) >= JOBS,
        || {
            format!(
                "{} enqueues and {} dequeues, want >= {JOBS} each",
                count(Kind::Enqueue),
                count(Kind::Dequeue)
            )
        },
    );
    // Timestamps are CLOCK_MONOTONIC and in order. A release is logged
    // when it happens, at or after the release time r (a late timer may
    // log it up to tens of ms after r; bound: 100 ms), so its deadline
    // r + D lies in (ts - 100 ms, ts + D].
    let mut last = 0;
    for e in &mine {
        let ts = &e.ts_ns;
        f.check(*ts >= last, || format!("event at {ts} after one at {last}"));
        last = *ts;
        if e.kind == Kind::Release {
            let dl = e.abs_deadline_ns.unwrap_or(0);
            f.check(dl + 100 * MS > *ts && dl <= ts + T, || {
                format!("release event at {ts} with deadline {dl}: want (ts - 100 ms, ts + 50 ms]")
            });
        }
    }
    f.check(last <= monotonic_ns(), || {
        "an event lies in the future".to_string()
    });
    // Reading consumes nothing: a second read still has the task's events.
    let again = read_events()?;
    let still = again.iter().filter(|e| mine.contains(e)).count();
    f.eq("task events in a second read", still, mine.len());
    // Root only.
    let errno = Shared::<Slot>::one()?;
    let errno = errno.rec();
    let mut probe = spawn("unprivileged reader", || {
        drop_privileges(0)?;
        let r = std::fs::File::open(EVENT_PATH);
        errno.set(r.err().and_then(|e| e.raw_os_error()).unwrap_or(0) as u64);
        Ok(())
    })?;
    probe.join(10 * SEC)?;
    f.eq(
        "errno opening /proc/casio_event as uid 65534",
        errno.get() as i32,
        libc::EACCES,
    );
    f.finish()
}

const EVENTS: [&str; 7] = [
    "sched_casio_enqueue",
    "sched_casio_dequeue",
    "sched_casio_release",
    "sched_casio_job_end",
    "sched_casio_miss",
    "sched_casio_throttle",
    "sched_casio_switch",
];

fn write(path: &str, v: &str) -> Result<(), String> {
    std::fs::write(path, v).map_err(|e| format!("write {v:?} to {path}: {e}"))
}

fn t_tracepoints() -> TestResult {
    pin_harness();
    mount_tracefs()?;
    let mut f = Fails::default();
    for e in EVENTS {
        let p = format!("{TRACEFS}/events/sched_casio/{e}/format");
        f.check(std::path::Path::new(&p).exists(), || format!("{p} missing"));
    }
    write(&format!("{TRACEFS}/trace"), "")?;
    write(&format!("{TRACEFS}/events/sched_casio/enable"), "1")?;
    let run = run_periodic("traced task");
    write(&format!("{TRACEFS}/events/sched_casio/enable"), "0")?;
    let (pid, _) = run?;
    let text = std::fs::read_to_string(format!("{TRACEFS}/trace"))
        .map_err(|e| format!("read {TRACEFS}/trace: {e}"))?;
    let evs = event::parse(&text).map_err(|e| format!("{TRACEFS}/trace: {e}"))?;
    let count = |k: Kind| {
        evs.iter()
            .filter(|e| e.kind == k)
            .filter(|e| match k {
                Kind::Switch => e.next.map(|t| t.pid) == Some(pid as i64),
                _ => task_pid(e) == Some(pid as i64),
            })
            .count() as u64
    };
    let (rel, end, sw) = (
        count(Kind::Release),
        count(Kind::JobEnd),
        count(Kind::Switch),
    );
    diag!("tracefs: task {pid}: {rel} releases, {end} job ends, {sw} switches to it");
    f.check(rel >= JOBS && end >= JOBS && sw >= JOBS, || {
        format!("tracefs shows {rel} releases, {end} job ends, {sw} switches; want >= {JOBS} each")
    });
    f.finish()
}

const DEFAULT_DEADLINE_SYSCTL: &str = "/proc/sys/kernel/sched_casio_default_deadline_us";

fn t_proc_register() -> TestResult {
    pin_harness();
    let mut f = Fails::default();
    let restore = Restore::save(DEFAULT_DEADLINE_SYSCTL)?;
    f.eq("default deadline (us)", restore.old(), "100000");

    let a = sleeper("registered by /proc/casio/add")?;
    f.eq(
        "write pid to /proc/casio/add",
        write_errno("/proc/casio/add", &a.pid().to_string()),
        0,
    );
    f.eq(
        "policy after /proc/casio/add",
        getscheduler(a.pid()),
        Ok(SCHED_CASIO),
    );
    if let Some(at) = f.ok("getattr", getattr(a.pid())) {
        f.eq(
            "C/D/T after /proc/casio/add",
            (at.sched_runtime, at.sched_deadline, at.sched_period),
            (100 * MS, 100 * MS, 100 * MS),
        );
    }
    match read_stat(a.pid()) {
        Ok(s) => f.eq("registered task reserves bandwidth", s.n("reserved"), 0),
        Err(e) => f.push(e),
    }

    // The tunable default, and the Loadable-Scheduler alias.
    f.eq(
        "default deadline 30 ms",
        write_errno(DEFAULT_DEADLINE_SYSCTL, "30000"),
        0,
    );
    f.eq(
        "default deadline below 100 us",
        write_errno(DEFAULT_DEADLINE_SYSCTL, "50"),
        libc::EINVAL,
    );
    let b = sleeper("registered by /proc/process_sched_add")?;
    f.eq(
        "write pid to /proc/process_sched_add",
        write_errno("/proc/process_sched_add", &format!("{}\n", b.pid())),
        0,
    );
    if let Some(at) = f.ok("getattr", getattr(b.pid())) {
        f.eq(
            "deadline with the 30 ms default",
            at.sched_deadline,
            30 * MS,
        );
    }

    // Bad input.
    for bad in ["abc", "0", "-5", "12x"] {
        f.eq(
            &format!("write {bad:?} to /proc/casio/add"),
            write_errno("/proc/casio/add", bad),
            libc::EINVAL,
        );
    }
    let mut gone = spawn("exited", || Ok(()))?;
    let gone_pid = gone.pid();
    gone.join(10 * SEC)?;
    f.eq(
        "an exited pid",
        write_errno("/proc/casio/add", &gone_pid.to_string()),
        libc::ESRCH,
    );

    // The files are root's: an unprivileged writer (uid 65534) may not
    // register a root task nor itself.
    // The errnos of registering root's task and itself.
    let errnos = Shared::<Slot>::new(2)?;
    let victim = a.pid();
    let mut u = spawn("unprivileged writer", || {
        drop_privileges(0)?;
        errnos[0].set(write_errno("/proc/casio/add", &victim.to_string()) as u64);
        // SAFETY: getpid cannot fail.
        let me = unsafe { libc::getpid() };
        errnos[1].set(write_errno("/proc/casio/add", &me.to_string()) as u64);
        Ok(())
    })?;
    u.join(10 * SEC)?;
    f.eq(
        "unprivileged writer, root's task",
        errnos[0].get() as i32,
        libc::EACCES,
    );
    f.eq(
        "unprivileged writer, itself",
        errnos[1].get() as i32,
        libc::EACCES,
    );
    drop((a, b));
    f.finish()
}

const QUEUE_BENCH: &str = "/sys/kernel/debug/sched_casio/queue_bench";

/// Runs the kernel's queue self-benchmark with `n` nodes: ns per
/// (requeue, pick).
fn queue_bench(n: u64) -> Result<[f64; 2], String> {
    std::fs::write(QUEUE_BENCH, n.to_string())
        .map_err(|e| format!("write {n} to {QUEUE_BENCH}: {e}"))?;
    let t = std::fs::read_to_string(QUEUE_BENCH).map_err(|e| format!("read {QUEUE_BENCH}: {e}"))?;
    let w: Vec<&str> = t.split_whitespace().collect();
    let bad = || format!("{QUEUE_BENCH}: unexpected {t:?}");
    if w.len() != 6 || w[0] != "n" || w[1] != n.to_string() || w[2] != "requeue_ns" {
        return Err(bad());
    }
    let num = |i: usize| w[i].parse::<f64>().map_err(|_| bad());
    Ok([num(3)?, num(5)?])
}

fn t_queue_bench_scaling() -> TestResult {
    pin_harness();
    let mut f = Fails::default();
    for bad in ["5", "100001", "abc"] {
        f.eq(
            &format!("write {bad:?}"),
            write_errno(QUEUE_BENCH, bad),
            libc::EINVAL,
        );
    }
    let small = queue_bench(10)?;
    let big = queue_bench(10_000)?;
    diag!("queue self-benchmark, ns per op (requeue, pick): n=10 {small:?}, n=10000 {big:?}");
    // A requeue is O(log n): about 4x from 10 to 10,000 (more once the
    // tree outgrows the caches, and TCG adds noise); a queue that searched
    // linearly would grow about 1000x. Bound: 15x. The cached pick is
    // O(1). Bound: 5x.
    let names = ["requeue", "pick"];
    for k in 0..2 {
        let bound = if k == 1 { 5.0 } else { 15.0 };
        f.check(small[k] > 0.0 && big[k] > 0.0, || {
            format!("{}: no time measured", names[k])
        });
        let ratio = big[k] / small[k].max(0.1);
        f.check(ratio < bound, || {
            format!(
                "{}: {ratio:.1}x from n=10 to n=10000, want < {bound}x",
                names[k]
            )
        });
    }
    f.finish()
}
