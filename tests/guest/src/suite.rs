//! The SCHED_CASIO tests.  Each runs in its own forked process (see
//! [`crate::harness`]) and returns `Err(reason)` on failure.

use std::fmt::Debug;

use casio_abi::*;
use casio_testkit::rng::shuffled;

use crate::harness::{Test, TestResult};
use crate::kernel::{self, ThrottleOff};
use crate::proc::{gap_covering, join_all, spawn, wait_for, Child, GapLog, Shm};
use crate::{diag, MS, SEC};

/// Every test, in run order.
pub const TESTS: &[Test] = &[
    Test {
        name: "roundtrip_self",
        desc: "set CASIO on self via setscheduler/setattr; every getter reports it",
        run: t_roundtrip_self,
    },
    Test {
        name: "roundtrip_other",
        desc: "same on another (sleeping) pid, incl. boundary values",
        run: t_roundtrip_other,
    },
    Test {
        name: "einval",
        desc: "invalid CASIO params, priorities, policies, NULL, negative pid -> EINVAL",
        run: t_einval,
    },
    Test {
        name: "eperm",
        desc: "uid 65534 with RLIMIT_RTPRIO < 99 -> EPERM; RLIMIT_RTPRIO 99 allowed",
        run: t_eperm,
    },
    Test {
        name: "esrch",
        desc: "reaped pid -> ESRCH from every call",
        run: t_esrch,
    },
    Test {
        name: "efault",
        desc: "bad user pointers -> EFAULT; 16-byte CASIO block read in full",
        run: t_efault,
    },
    Test {
        name: "edf_order",
        desc: "5 CASIO tasks on CPU 0 finish in deadline order (2 creation orders)",
        run: t_edf_order,
    },
    Test {
        name: "preempt_fifo",
        desc: "waking CASIO task preempts a SCHED_FIFO 99 spinner",
        run: t_preempt_fifo,
    },
    Test {
        name: "preempt_cfs",
        desc: "waking CASIO task preempts a SCHED_NORMAL hog",
        run: t_preempt_cfs,
    },
    Test {
        name: "dl_preempts_casio",
        desc: "waking SCHED_DEADLINE task preempts a CASIO spinner",
        run: t_dl_preempts_casio,
    },
    Test {
        name: "class_order",
        desc: "kernel log has the class-order boot line",
        run: t_class_order,
    },
    Test {
        name: "legacy_policies",
        desc: "NORMAL/FIFO/RR/BATCH/IDLE/DEADLINE behave as before",
        run: t_legacy_policies,
    },
    Test {
        name: "fork_inherit",
        desc: "child of a CASIO task is CASIO with the same params",
        run: t_fork_inherit,
    },
    Test {
        name: "reset_on_fork",
        desc: "RESET_ON_FORK (flag or policy bit) makes the child SCHED_NORMAL",
        run: t_reset_on_fork,
    },
    Test {
        name: "nr_running",
        desc: "procs_running counts runnable CASIO tasks and drops back",
        run: t_nr_running,
    },
    crate::rt::PERIODIC_YIELD,
    crate::rt::OVERLOAD_MISSES,
    crate::rt::FEASIBLE_SET_NO_MISS,
    crate::rt::STATS_RESET_AND_NONCASIO,
    crate::rt::WAKE_BEFORE_RELEASE_KEEPS_JOB,
    crate::rt::LIFECYCLE_LOOPS,
    crate::rt::ADMISSION_CONTROL,
    crate::budget::BUDGET_THROTTLE,
    crate::budget::CAP_THROTTLES_RUNAWAY,
    crate::pi::PI_BOOST_AHEAD_OF_RT,
    crate::events::CASIO_EVENT_LOG,
    crate::events::TRACEPOINTS,
    crate::events::PROC_REGISTER,
    crate::events::QUEUE_BENCH_SCALING,
    Test {
        name: "zombie_reserves_nothing",
        desc: "sched_setattr(SCHED_CASIO) on an unreaped zombie leaves no bandwidth behind",
        run: crate::regress::t_zombie_reserves_nothing,
    },
    Test {
        name: "sleep_periodic_set",
        desc: "U=0.9 set of clock_nanosleep loops on CPU 0 for 4 s: no miss beyond jitter (CBS)",
        run: crate::cbs::t_sleep_periodic_set,
    },
    Test {
        name: "sync_start_order",
        desc: "5 tasks set at creation, all woken at a common T0: finish in T0 + D order (CBS)",
        run: crate::cbs::t_sync_start_order,
    },
];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Timeout for joining workload children.
pub(crate) const JOIN_NS: u64 = 15 * SEC;

/// Collects failed checks so one run reports all of them.
/// Failures collected by a test body; shared with the `rt` tests.
#[derive(Default)]
pub(crate) struct Fails(pub(crate) Vec<String>);

impl Fails {
    pub(crate) fn push(&mut self, s: String) {
        self.0.push(s);
    }

    pub(crate) fn eq<T: PartialEq + Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }

    pub(crate) fn ok<T>(&mut self, what: &str, r: SysResult<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(format!("{what}: failed with {e}"));
                None
            }
        }
    }

    pub(crate) fn err_is<T: Debug>(&mut self, what: &str, r: SysResult<T>, want: Errno) {
        match r {
            Err(e) if e == want => {}
            Err(e) => self.push(format!("{what}: got {e}, want {want}")),
            Ok(v) => self.push(format!("{what}: succeeded ({v:?}), want {want}")),
        }
    }

    pub(crate) fn check(&mut self, cond: bool, msg: impl FnOnce() -> String) {
        if !cond {
            self.push(msg());
        }
    }

    /// Compare a getattr result with the expected values.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn attr(
        &mut self,
        what: &str,
        got: SysResult<SchedAttr>,
        policy: i32,
        prio: u32,
        c: u64,
        d: u64,
        t: u64,
        flags: u64,
    ) {
        let Some(a) = self.ok(what, got) else { return };
        let want = (SCHED_ATTR_SIZE_VER1, policy as u32, flags, prio, c, d, t);
        let have = (
            a.size,
            a.sched_policy,
            a.sched_flags,
            a.sched_priority,
            a.sched_runtime,
            a.sched_deadline,
            a.sched_period,
        );
        if have != want {
            self.push(format!(
                "{what}: (size, policy, flags, prio, runtime, deadline, period) = {have:?}, want {want:?}"
            ));
        }
    }

    pub(crate) fn finish(self) -> TestResult {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0.join("; "))
        }
    }
}

pub(crate) fn sys<T>(what: &str, r: SysResult<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e}"))
}

/// The CPU workloads run on.
const WORK_CPU: usize = 0;

/// Pin the calling (controlling) process away from the workload CPU when
/// there is more than one CPU.
pub(crate) fn pin_harness() {
    let n = online_cpus();
    if n >= 2 {
        if let Err(e) = set_affinity_cpu(0, n - 1) {
            diag!("could not pin harness to CPU {}: {e}", n - 1);
        }
    }
}

pub(crate) fn pin_work() -> Result<(), String> {
    sys("sched_setaffinity(CPU 0)", set_affinity_cpu(0, WORK_CPU))
}

/// A child that sleeps until it is killed.
pub(crate) fn sleeper(label: &str) -> Result<Child, String> {
    spawn(label, || loop {
        sleep_ns(SEC);
    })
}

/// Spin on the wall clock until `end` (CLOCK_MONOTONIC ns).
pub(crate) fn spin_until(end: u64) {
    while monotonic_ns() < end {
        std::hint::spin_loop();
    }
}

/// The errno of writing `v` to `path` (0: success).
pub(crate) fn write_errno(path: &str, v: &str) -> i32 {
    match std::fs::write(path, v) {
        Ok(()) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

/// Sleep-poll for the release time T0 published in slot `i`.
fn wait_t0(shm: &Shm, i: usize) -> Result<u64, String> {
    shm.wait_nonzero(i, 10 * SEC, 2 * MS)
        .ok_or_else(|| "release time T0 never published".to_string())
}

/// `getparam` into a 16-byte buffer: the kernel must write exactly the
/// 4-byte `struct sched_param` (priority 0) and nothing beyond it.
fn getparam_writes_4_bytes(f: &mut Fails, pid: i32) {
    let mut buf = [0xAAu8; 16];
    // SAFETY: `buf` is 16 writable bytes; the kernel writes at most a
    // struct sched_param (4 bytes).
    let r = unsafe { raw::sched_getparam(pid, buf.as_mut_ptr() as *mut libc::c_void) };
    if f.ok("sched_getparam(16-byte buffer)", r).is_some() {
        f.eq(
            "sched_getparam priority bytes",
            &buf[..4],
            &[0u8, 0, 0, 0][..],
        );
        f.check(buf[4..].iter().all(|&b| b == 0xAA), || {
            format!(
                "sched_getparam wrote past the 4-byte struct sched_param: {:02x?}",
                &buf[4..]
            )
        });
    }
}

pub(crate) fn ms(ns: u64) -> f64 {
    ns as f64 / MS as f64
}

/// Signed offset of `t` from `base`, in ms.
pub(crate) fn rel_ms(t: u64, base: u64) -> f64 {
    (t as f64 - base as f64) / MS as f64
}

// ---------------------------------------------------------------------------
// a. round trips
// ---------------------------------------------------------------------------

fn t_roundtrip_self() -> TestResult {
    let mut f = Fails::default();
    sys(
        "sched_setscheduler(self, CASIO, D=50ms)",
        set_casio(0, 42, 50 * MS),
    )?;
    f.eq("getscheduler(self)", getscheduler(0), Ok(SCHED_CASIO));
    f.eq("getparam(self)", getparam(0), Ok(0));
    getparam_writes_4_bytes(&mut f, 0);
    f.attr(
        "getattr after setscheduler",
        getattr(0),
        SCHED_CASIO,
        0,
        50 * MS,
        50 * MS,
        50 * MS,
        0,
    );
    f.eq("rr_get_interval(self)", rr_get_interval(0), Ok((0, 0)));
    f.eq(
        "sched_get_priority_min(8)",
        get_priority_min(SCHED_CASIO),
        Ok(0),
    );
    f.eq(
        "sched_get_priority_max(8)",
        get_priority_max(SCHED_CASIO),
        Ok(0),
    );

    // New parameters while already CASIO, via the setscheduler block.
    if f.ok("setscheduler CASIO D=20ms", set_casio(0, 43, 20 * MS))
        .is_some()
    {
        f.attr(
            "getattr after 2nd setscheduler",
            getattr(0),
            SCHED_CASIO,
            0,
            20 * MS,
            20 * MS,
            20 * MS,
            0,
        );
    }
    // Explicit C < D < T via setattr.
    if f.ok(
        "setattr CASIO 5/20/40ms",
        setattr(0, &SchedAttr::casio(5 * MS, 20 * MS, 40 * MS), 0),
    )
    .is_some()
    {
        f.eq(
            "getscheduler after setattr",
            getscheduler(0),
            Ok(SCHED_CASIO),
        );
        f.attr(
            "getattr after setattr 5/20/40",
            getattr(0),
            SCHED_CASIO,
            0,
            5 * MS,
            20 * MS,
            40 * MS,
            0,
        );
        f.eq("getparam after setattr", getparam(0), Ok(0));
    }
    // Period 0 resolves to the deadline.
    if f.ok(
        "setattr CASIO 2/30/0ms",
        setattr(0, &SchedAttr::casio(2 * MS, 30 * MS, 0), 0),
    )
    .is_some()
    {
        f.attr(
            "getattr after setattr period 0",
            getattr(0),
            SCHED_CASIO,
            0,
            2 * MS,
            30 * MS,
            30 * MS,
            0,
        );
    }
    // Back to SCHED_NORMAL and in again with setattr.
    sys(
        "setscheduler(self, NORMAL)",
        setscheduler(0, SCHED_NORMAL, 0),
    )?;
    f.eq(
        "getscheduler after NORMAL",
        getscheduler(0),
        Ok(SCHED_NORMAL),
    );
    f.attr(
        "getattr after NORMAL",
        getattr(0),
        SCHED_NORMAL,
        0,
        0,
        0,
        0,
        0,
    );
    if f.ok(
        "setattr NORMAL -> CASIO 10/10/100ms",
        setattr(0, &SchedAttr::casio(10 * MS, 10 * MS, 100 * MS), 0),
    )
    .is_some()
    {
        f.eq(
            "getscheduler after setattr from NORMAL",
            getscheduler(0),
            Ok(SCHED_CASIO),
        );
        f.attr(
            "getattr after setattr from NORMAL",
            getattr(0),
            SCHED_CASIO,
            0,
            10 * MS,
            10 * MS,
            100 * MS,
            0,
        );
        f.eq(
            "rr_get_interval after setattr",
            rr_get_interval(0),
            Ok((0, 0)),
        );
    }
    sys(
        "setscheduler(self, NORMAL)",
        setscheduler(0, SCHED_NORMAL, 0),
    )?;
    f.finish()
}

fn t_roundtrip_other() -> TestResult {
    // Slots: 0 stop, 1 "report now", 2 child's own getscheduler + 1,
    // 3 child's own getattr deadline, 4 reported.
    let shm = Shm::new(8)?;
    let mut child = spawn("sleeper", || {
        let deadline = monotonic_ns() + 20 * SEC;
        let mut reported = false;
        while shm.get(0) == 0 && monotonic_ns() < deadline {
            if !reported && shm.get(1) != 0 {
                shm.set(2, (getscheduler(0).unwrap_or(-1) + 1) as u64);
                shm.set(3, getattr(0).map(|a| a.sched_deadline).unwrap_or(0));
                shm.set(4, 1);
                reported = true;
            }
            sleep_ns(10 * MS);
        }
        Ok(())
    })?;
    let pid = child.pid();
    let mut f = Fails::default();

    sys(
        "sched_setscheduler(child, CASIO, D=80ms)",
        set_casio(pid, 7, 80 * MS),
    )?;
    f.eq("getscheduler(child)", getscheduler(pid), Ok(SCHED_CASIO));
    f.eq("getparam(child)", getparam(pid), Ok(0));
    getparam_writes_4_bytes(&mut f, pid);
    f.attr(
        "getattr(child)",
        getattr(pid),
        SCHED_CASIO,
        0,
        80 * MS,
        80 * MS,
        80 * MS,
        0,
    );
    f.eq("rr_get_interval(child)", rr_get_interval(pid), Ok((0, 0)));

    shm.set(1, 1);
    if shm.wait_nonzero(4, 5 * SEC, 2 * MS).is_some() {
        f.eq(
            "child's own getscheduler",
            shm.get(2) as i64 - 1,
            SCHED_CASIO as i64,
        );
        f.eq("child's own getattr deadline", shm.get(3), 80 * MS);
    } else {
        f.push("child did not report its own policy".into());
    }

    let cases = [
        ("3/60/120ms", 3 * MS, 60 * MS, 120 * MS, 120 * MS),
        ("min C=1024, D=T=100us", 1024, 100_000, 100_000, 100_000),
        ("C=D=1024, T=100us", 1024, 1024, 100_000, 100_000),
        (
            "max T",
            10 * MS,
            100 * MS,
            CASIO_MAX_PERIOD,
            CASIO_MAX_PERIOD,
        ),
        (
            "D=T=max, T=0",
            10 * MS,
            CASIO_MAX_PERIOD,
            0,
            CASIO_MAX_PERIOD,
        ),
        ("C=D=T=40ms", 40 * MS, 40 * MS, 40 * MS, 40 * MS),
    ];
    for (name, c, d, t, t_resolved) in cases {
        let what = format!("setattr(child, {name})");
        if f.ok(&what, setattr(pid, &SchedAttr::casio(c, d, t), 0))
            .is_some()
        {
            f.attr(
                &format!("getattr(child) after {name}"),
                getattr(pid),
                SCHED_CASIO,
                0,
                c,
                d,
                t_resolved,
                0,
            );
        }
    }
    if f.ok(
        "setscheduler(child, CASIO, D=max)",
        set_casio(pid, 8, CASIO_MAX_PERIOD),
    )
    .is_some()
    {
        f.attr(
            "getattr(child) after setscheduler D=max",
            getattr(pid),
            SCHED_CASIO,
            0,
            CASIO_MAX_PERIOD,
            CASIO_MAX_PERIOD,
            CASIO_MAX_PERIOD,
            0,
        );
    }
    if f.ok(
        "setscheduler(child, NORMAL)",
        setscheduler(pid, SCHED_NORMAL, 0),
    )
    .is_some()
    {
        f.eq(
            "getscheduler(child) after NORMAL",
            getscheduler(pid),
            Ok(SCHED_NORMAL),
        );
    }
    shm.set(0, 1);
    if let Err(e) = child.join(JOIN_NS) {
        f.push(e);
    }
    f.finish()
}

// ---------------------------------------------------------------------------
// b. error cases
// ---------------------------------------------------------------------------

const INVALID_POLICIES: [i32; 6] = [4, 7, 9, 99, 999, 1000];

fn t_einval() -> TestResult {
    let mut f = Fails::default();
    let top = CASIO_TOP_BIT;
    let max = CASIO_MAX_PERIOD;

    // sched_setscheduler with the CASIO block.
    let blocks: [(&str, i32, u64); 9] = [
        ("D = 0", 0, 0),
        ("D = 99999ns (T < 100us)", 0, 99_999),
        ("D = 1024ns", 0, 1024),
        ("D = max + 1", 0, max + 1),
        ("D top bit", 0, top | (10 * MS)),
        ("D = u64::MAX", 0, u64::MAX),
        ("sched_priority 1", 1, 10 * MS),
        ("sched_priority -1", -1, 10 * MS),
        ("sched_priority 99", 99, 10 * MS),
    ];
    for (name, prio, d) in blocks {
        let p = SchedCasioParam {
            sched_priority: prio,
            casio_id: 1,
            deadline: d,
        };
        f.err_is(
            &format!("setscheduler CASIO {name}"),
            set_casio_param(0, SCHED_CASIO, &p),
            Errno::EINVAL,
        );
    }

    // sched_setattr.
    let attrs: [(&str, u64, u64, u64); 14] = [
        ("C > D", 20 * MS, 10 * MS, 30 * MS),
        ("C > D, T = 0", 20 * MS, 10 * MS, 0),
        ("D > T", MS, 30 * MS, 20 * MS),
        ("C < 1024", 1023, 10 * MS, 10 * MS),
        ("C = 0", 0, 10 * MS, 10 * MS),
        ("T < 100us", 1024, 50_000, 99_999),
        ("D = T = 99999ns", 1024, 99_999, 0),
        ("T > max", MS, 10 * MS, max + 1),
        ("D > max, T = 0", MS, max + 1, 0),
        ("D = 0", 1024, 0, 10 * MS),
        ("D = 0, T = 0", 0, 0, 0),
        ("top bit of D", MS, top | (10 * MS), 0),
        ("top bit of T", MS, 10 * MS, top | (10 * MS)),
        ("top bit of D and T", MS, top | (10 * MS), top | (20 * MS)),
    ];
    for (name, c, d, t) in attrs {
        debug_assert!(!casio_params_valid(c, d, t), "{name}");
        f.err_is(
            &format!("setattr CASIO {name}"),
            setattr(0, &SchedAttr::casio(c, d, t), 0),
            Errno::EINVAL,
        );
    }
    let mut a = SchedAttr::casio(MS, 10 * MS, 10 * MS);
    a.sched_priority = 1;
    f.err_is(
        "setattr CASIO sched_priority 1",
        setattr(0, &a, 0),
        Errno::EINVAL,
    );

    // Unknown policies, through both calls.
    let valid_block = SchedCasioParam::new(1, 10 * MS);
    for pol in INVALID_POLICIES {
        f.err_is(
            &format!("setscheduler policy {pol}"),
            set_casio_param(0, pol, &valid_block),
            Errno::EINVAL,
        );
        let mut a = SchedAttr::casio(MS, 10 * MS, 10 * MS);
        a.sched_policy = pol as u32;
        f.err_is(
            &format!("setattr policy {pol}"),
            setattr(0, &a, 0),
            Errno::EINVAL,
        );
        f.err_is(
            &format!("get_priority_max({pol})"),
            get_priority_max(pol),
            Errno::EINVAL,
        );
    }

    // NULL parameter pointers.
    // SAFETY: NULL is never dereferenced by us; the kernel must reject it.
    let r = unsafe { raw::sched_setscheduler(0, SCHED_CASIO, std::ptr::null()) };
    f.err_is("setscheduler CASIO NULL param", r, Errno::EINVAL);
    // SAFETY: as above.
    let r = unsafe { raw::sched_setattr(0, std::ptr::null_mut(), 0) };
    f.err_is("setattr NULL attr", r, Errno::EINVAL);
    // SAFETY: as above.
    let r = unsafe { raw::sched_getattr(0, std::ptr::null_mut(), SCHED_ATTR_SIZE_VER1, 0) };
    f.err_is("getattr NULL attr", r, Errno::EINVAL);

    // Negative pid.
    f.err_is(
        "setscheduler CASIO pid -1",
        set_casio(-1, 1, 10 * MS),
        Errno::EINVAL,
    );
    f.err_is(
        "setattr CASIO pid -1",
        setattr(-1, &SchedAttr::casio(MS, 10 * MS, 0), 0),
        Errno::EINVAL,
    );
    f.err_is("getscheduler pid -1", getscheduler(-1), Errno::EINVAL);
    f.err_is("getparam pid -1", getparam(-1), Errno::EINVAL);
    f.err_is("getattr pid -1", getattr(-1), Errno::EINVAL);
    f.err_is("rr_get_interval pid -1", rr_get_interval(-1), Errno::EINVAL);

    // None of that may have changed our policy.
    f.eq(
        "getscheduler after rejected calls",
        getscheduler(0),
        Ok(SCHED_NORMAL),
    );

    // Controls: the valid neighbours of the rejected values are accepted.
    let controls: [(&str, SchedAttr); 4] = [
        ("setattr C=D=T=100us", SchedAttr::casio(100_000, 100_000, 0)),
        ("setattr C=D=T=max", SchedAttr::casio(max, max, max)),
        (
            "setattr C=D=10ms, T=0",
            SchedAttr::casio(10 * MS, 10 * MS, 0),
        ),
        (
            "setattr C=10ms, D=T=20ms",
            SchedAttr::casio(10 * MS, 20 * MS, 20 * MS),
        ),
    ];
    for (name, a) in controls {
        f.ok(name, setattr(0, &a, 0));
        f.ok("back to NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    }
    f.ok(
        "setscheduler CASIO D=100us",
        set_casio(0, 1, CASIO_MIN_PERIOD),
    );
    f.ok(
        "setscheduler CASIO D=max",
        set_casio(0, 1, CASIO_MAX_PERIOD),
    );
    f.ok("back to NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    f.finish()
}

/// Drop to uid/gid 65534 with RLIMIT_RTPRIO = `rtprio`.
pub(crate) fn drop_privileges(rtprio: u64) -> Result<(), String> {
    let lim = libc::rlimit {
        rlim_cur: rtprio,
        rlim_max: rtprio,
    };
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_RTPRIO, &lim) != 0 {
            return Err(format!("setrlimit(RTPRIO, {rtprio}): {}", Errno::last()));
        }
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(format!("setgroups: {}", Errno::last()));
        }
        if libc::setgid(65534) != 0 {
            return Err(format!("setgid: {}", Errno::last()));
        }
        if libc::setuid(65534) != 0 {
            return Err(format!("setuid: {}", Errno::last()));
        }
        if libc::getuid() != 65534 || libc::geteuid() != 65534 {
            return Err("uid did not change".into());
        }
    }
    Ok(())
}

fn t_eperm() -> TestResult {
    // SAFETY: getpid has no preconditions.
    let root_pid = unsafe { libc::getpid() };
    let mut f = Fails::default();
    for rtprio in [0u64, 98] {
        let mut c = spawn(&format!("uid 65534, RLIMIT_RTPRIO {rtprio}"), move || {
            // Control: still root here, so this must work.
            sys("root: set_casio", set_casio(0, 1, 10 * MS))?;
            sys("root: back to NORMAL", setscheduler(0, SCHED_NORMAL, 0))?;
            drop_privileges(rtprio)?;
            let mut f = Fails::default();
            f.err_is("setscheduler CASIO", set_casio(0, 1, 10 * MS), Errno::EPERM);
            f.err_is(
                "setscheduler CASIO|RESET_ON_FORK",
                set_casio_param(
                    0,
                    SCHED_CASIO | SCHED_RESET_ON_FORK,
                    &SchedCasioParam::new(1, 10 * MS),
                ),
                Errno::EPERM,
            );
            f.err_is(
                "setattr CASIO",
                setattr(0, &SchedAttr::casio(MS, 10 * MS, 0), 0),
                Errno::EPERM,
            );
            f.err_is(
                "setscheduler CASIO on a root-owned pid",
                set_casio(root_pid, 1, 10 * MS),
                Errno::EPERM,
            );
            f.eq("getscheduler afterwards", getscheduler(0), Ok(SCHED_NORMAL));
            f.finish()
        })?;
        if let Err(e) = c.join(JOIN_NS) {
            f.push(e);
        }
    }
    // RLIMIT_RTPRIO 99 lets an unprivileged task in.
    let mut c = spawn("uid 65534, RLIMIT_RTPRIO 99", || {
        drop_privileges(99)?;
        sys("setscheduler CASIO", set_casio(0, 1, 10 * MS))?;
        let mut f = Fails::default();
        f.eq("getscheduler", getscheduler(0), Ok(SCHED_CASIO));
        f.finish()
    })?;
    if let Err(e) = c.join(JOIN_NS) {
        f.push(e);
    }
    f.eq(
        "our own policy (untouched)",
        getscheduler(0),
        Ok(SCHED_NORMAL),
    );
    f.finish()
}

fn t_esrch() -> TestResult {
    let mut c = spawn("short-lived", || Ok(()))?;
    c.join(JOIN_NS)?;
    let pid = c.pid();
    drop(c);
    let mut f = Fails::default();
    f.err_is(
        "setscheduler CASIO",
        set_casio(pid, 1, 10 * MS),
        Errno::ESRCH,
    );
    f.err_is(
        "setattr CASIO",
        setattr(pid, &SchedAttr::casio(MS, 10 * MS, 0), 0),
        Errno::ESRCH,
    );
    f.err_is("getscheduler", getscheduler(pid), Errno::ESRCH);
    f.err_is("getparam", getparam(pid), Errno::ESRCH);
    f.err_is("getattr", getattr(pid), Errno::ESRCH);
    f.err_is("rr_get_interval", rr_get_interval(pid), Errno::ESRCH);
    if !f.0.is_empty() {
        diag!("pid used: {pid} (reaped)");
    }
    f.finish()
}

/// A page whose successor is unmapped: returns (page start, page size).
fn page_before_hole() -> Result<(*mut u8, usize), String> {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    // SAFETY: fresh anonymous mapping of two pages; the second is unmapped
    // again so the first ends at a hole.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            2 * page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return Err(format!("mmap: {}", Errno::last()));
        }
        let p = p as *mut u8;
        if libc::munmap(p.add(page) as *mut libc::c_void, page) != 0 {
            return Err(format!("munmap: {}", Errno::last()));
        }
        Ok((p, page))
    }
}

fn t_efault() -> TestResult {
    let mut f = Fails::default();
    let bad: *mut libc::c_void = std::ptr::without_provenance_mut(1);
    // SAFETY: address 1 is never mapped; the kernel must fault cleanly.
    unsafe {
        f.err_is(
            "setscheduler CASIO param=1",
            raw::sched_setscheduler(0, SCHED_CASIO, bad),
            Errno::EFAULT,
        );
        f.err_is(
            "setattr attr=1",
            raw::sched_setattr(0, bad, 0),
            Errno::EFAULT,
        );
        f.err_is(
            "getattr attr=1",
            raw::sched_getattr(0, bad, SCHED_ATTR_SIZE_VER1, 0),
            Errno::EFAULT,
        );
        f.err_is(
            "getparam param=1",
            raw::sched_getparam(0, bad),
            Errno::EFAULT,
        );
        f.err_is(
            "rr_get_interval ts=1",
            raw::sched_rr_get_interval(0, bad),
            Errno::EFAULT,
        );
    }
    // A CASIO block whose deadline field lies in an unmapped page: the
    // kernel must read all 16 bytes, so this faults.
    let (page, size) = page_before_hole()?;
    // SAFETY: the last 8 bytes of the mapped page hold priority and id;
    // the deadline would be in the hole.  Writes stay inside the page.
    unsafe {
        let p = page.add(size - 8);
        std::ptr::write_bytes(p, 0, 8);
        (p.add(4) as *mut u32).write_unaligned(1);
        f.err_is(
            "setscheduler CASIO block straddling an unmapped page",
            raw::sched_setscheduler(0, SCHED_CASIO, p as *const libc::c_void),
            Errno::EFAULT,
        );
        // The classic 4-byte struct sched_param at the very end of the page
        // is still fine for the old policies (ABI unchanged).
        let q = page.add(size - 4);
        (q as *mut i32).write_unaligned(0);
        f.ok(
            "setscheduler NORMAL with 4-byte param at end of page",
            raw::sched_setscheduler(0, SCHED_NORMAL, q as *const libc::c_void),
        );
        (q as *mut i32).write_unaligned(10);
        f.ok(
            "setscheduler FIFO 10 with 4-byte param at end of page",
            raw::sched_setscheduler(0, SCHED_FIFO, q as *const libc::c_void),
        );
        f.eq("getparam after FIFO 10", getparam(0), Ok(10));
        libc::munmap(page as *mut libc::c_void, size);
    }
    f.ok("back to NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    f.eq("getscheduler at end", getscheduler(0), Ok(SCHED_NORMAL));
    f.finish()
}

// ---------------------------------------------------------------------------
// c. EDF order
// ---------------------------------------------------------------------------

const EDF_N: usize = 5;
const EDF_BURN: u64 = 30 * MS;

fn edf_deadline(k: usize) -> u64 {
    1000 * MS + 200 * MS * k as u64
}

/// Run the EDF experiment with tasks created in `order`; returns the
/// failure reason, if any.
fn edf_run(order: &[usize]) -> TestResult {
    // Slots: 0 T0, 1 ready count, 2 finish counter, 3 late flag,
    // 10+k set time of task k, 20+pos task (k+1) finishing at position pos,
    // 30+k finish time of task k.
    let shm = Shm::new(40)?;
    let mut kids: Vec<Child> = Vec::new();
    for &k in order {
        let shm = &shm;
        kids.push(spawn(&format!("edf task {k}"), move || {
            pin_work()?;
            sys("set_casio", set_casio(0, k as u32, edf_deadline(k)))?;
            shm.set(10 + k, monotonic_ns());
            shm.fetch_add(1, 1);
            let t0 = wait_t0(shm, 0)?;
            if monotonic_ns() + 5 * MS > t0 {
                shm.set(3, 1);
            }
            sleep_until_ns(t0);
            let fin = burn_cpu(EDF_BURN);
            let pos = shm.fetch_add(2, 1) as usize;
            if pos < 10 {
                shm.set(20 + pos, k as u64 + 1);
            }
            shm.set(30 + k, fin);
            Ok(())
        })?);
    }
    {
        let mut refs: Vec<&mut Child> = kids.iter_mut().collect();
        wait_for("edf tasks ready", &mut refs, 10 * SEC, || {
            shm.get(1) >= EDF_N as u64
        })?;
    }
    let t0 = monotonic_ns() + 200 * MS;
    shm.set(0, t0);
    join_all(&mut kids, JOIN_NS)?;
    if shm.get(3) != 0 {
        return Err("setup too slow: a task saw T0 too late".into());
    }
    let finish: Vec<usize> = (0..EDF_N)
        .map(|p| shm.get(20 + p) as usize)
        .map(|v| v.wrapping_sub(1))
        .collect();
    // Each task slept from setting the policy to T0 with all its runtime
    // left, so its wake-up releases a new job (the CBS rule): the
    // absolute deadlines are T0 + D, in the order of D.
    let expected: Vec<usize> = (0..EDF_N).collect();
    let times: Vec<String> = (0..EDF_N)
        .map(|k| {
            format!(
                "task{k}(D={}ms) done at T0+{:.1}ms",
                edf_deadline(k) / MS,
                rel_ms(shm.get(30 + k), t0)
            )
        })
        .collect();
    diag!("creation order {order:?}: {}", times.join(", "));
    if finish != expected {
        return Err(format!(
            "creation order {order:?}: finish order {finish:?} != deadline order {expected:?}"
        ));
    }
    Ok(())
}

fn t_edf_order() -> TestResult {
    pin_harness();
    let first = shuffled(EDF_N, 0xCA510);
    let mut second = first.clone();
    second.reverse();
    let mut f = Fails::default();
    for order in [first, second] {
        if let Err(e) = edf_run(&order) {
            f.push(e);
        }
    }
    f.finish()
}

// ---------------------------------------------------------------------------
// d. CASIO preempts FIFO 99 and CFS
// ---------------------------------------------------------------------------

const PRE_GAPS: GapLog = GapLog { base: 8, cap: 4096 };

fn preempt_run(hog_policy: i32, hog_prio: i32) -> TestResult {
    let hog_name = policy_name(hog_policy);
    let _rt = ThrottleOff::new()?;
    pin_harness();
    // Slots: 0 T0, 1 casio ready, 2 hog ready, 3 casio finish, 4 casio wake.
    let shm = Shm::new(PRE_GAPS.base + PRE_GAPS.slots())?;
    let wake_off = 500 * MS;
    let spin_len = 2 * SEC;
    let mut casio = spawn("casio task", || {
        pin_work()?;
        sys("set_casio D=100ms", set_casio(0, 1, 100 * MS))?;
        shm.set(1, 1);
        let t0 = wait_t0(&shm, 0)?;
        sleep_until_ns(t0 + wake_off);
        shm.set(4, monotonic_ns());
        let fin = burn_cpu(50 * MS);
        shm.set(3, fin);
        Ok(())
    })?;
    wait_for("casio task ready", &mut [&mut casio], 10 * SEC, || {
        shm.get(1) != 0
    })?;
    let mut hog = spawn(&format!("{hog_name} hog"), || {
        pin_work()?;
        sys(
            &format!("setscheduler {hog_name} {hog_prio}"),
            setscheduler(0, hog_policy, hog_prio),
        )?;
        shm.set(2, 1);
        let t0 = wait_t0(&shm, 0)?;
        sleep_until_ns(t0);
        PRE_GAPS.spin(&shm, t0 + spin_len, None, MS);
        Ok(())
    })?;
    wait_for("hog ready", &mut [&mut hog, &mut casio], 10 * SEC, || {
        shm.get(2) != 0
    })?;
    let t0 = monotonic_ns() + 200 * MS;
    shm.set(0, t0);
    let r1 = hog.join(JOIN_NS);
    let r2 = casio.join(JOIN_NS);
    r1?;
    r2?;

    let fin = shm.get(3);
    let wake = shm.get(4);
    let (spin_start, spin_end) = PRE_GAPS.span(&shm);
    let (max_gap, max_at) = PRE_GAPS.max_gap(&shm);
    let gaps = PRE_GAPS.gaps(&shm);
    diag!(
        "{hog_name} hog spun T0+{:.1}..T0+{:.1}ms, {} gaps >1ms, max {:.1}ms at T0+{:.1}ms; casio woke T0+{:.1}ms, finished T0+{:.1}ms",
        rel_ms(spin_start, t0),
        rel_ms(spin_end, t0),
        gaps.len(),
        ms(max_gap),
        rel_ms(max_at, t0),
        rel_ms(wake, t0),
        rel_ms(fin, t0)
    );
    if spin_end < t0 + spin_len - 100 * MS {
        return Err(format!(
            "hog spun only until T0+{:.1}ms",
            rel_ms(spin_end, t0)
        ));
    }
    let mut f = Fails::default();
    f.check(fin + 500 * MS < spin_end, || {
        format!(
            "CASIO task finished at T0+{:.1}ms, not before the {hog_name} hog's end (T0+{:.1}ms) - 500ms",
            rel_ms(fin, t0),
            rel_ms(spin_end, t0)
        )
    });
    f.check(max_gap >= 40 * MS, || {
        format!(
            "{hog_name} hog never stalled >= 40ms (largest gap {:.1}ms)",
            ms(max_gap)
        )
    });
    f.check(gap_covering(&gaps, fin, 40 * MS).is_some(), || {
        format!(
            "no >= 40ms stall of the {hog_name} hog around the CASIO finish time T0+{:.1}ms",
            rel_ms(fin, t0)
        )
    });
    f.finish()
}

fn t_preempt_fifo() -> TestResult {
    preempt_run(SCHED_FIFO, 99)
}

fn t_preempt_cfs() -> TestResult {
    preempt_run(SCHED_NORMAL, 0)
}

// ---------------------------------------------------------------------------
// e. DEADLINE preempts CASIO
// ---------------------------------------------------------------------------

fn t_dl_preempts_casio() -> TestResult {
    // Disabling RT throttling also disables SCHED_DEADLINE admission
    // control, which otherwise refuses DEADLINE tasks pinned to one CPU.
    let _rt = ThrottleOff::new()?;
    pin_harness();
    // Slots: 0 T0, 1 dl ready, 2 spinner ready, 3 dl finish, 4 dl wake.
    let shm = Shm::new(PRE_GAPS.base + PRE_GAPS.slots())?;
    let wake_off = 300 * MS;
    let spin_len = 1500 * MS;
    let mut dl = spawn("deadline task", || {
        pin_work()?;
        sys(
            "setattr SCHED_DEADLINE 30/100/100ms",
            setattr(0, &SchedAttr::deadline(30 * MS, 100 * MS, 100 * MS), 0),
        )?;
        shm.set(1, 1);
        let t0 = wait_t0(&shm, 0)?;
        sleep_until_ns(t0 + wake_off);
        shm.set(4, monotonic_ns());
        let fin = burn_cpu(10 * MS);
        shm.set(3, fin);
        Ok(())
    })?;
    wait_for("deadline task ready", &mut [&mut dl], 10 * SEC, || {
        shm.get(1) != 0
    })?;
    let mut spinner = spawn("casio spinner", || {
        pin_work()?;
        sys("set_casio D=2s", set_casio(0, 1, 2 * SEC))?;
        shm.set(2, 1);
        let t0 = wait_t0(&shm, 0)?;
        sleep_until_ns(t0);
        PRE_GAPS.spin(&shm, t0 + spin_len, None, MS);
        Ok(())
    })?;
    wait_for(
        "casio spinner ready",
        &mut [&mut spinner, &mut dl],
        10 * SEC,
        || shm.get(2) != 0,
    )?;
    let t0 = monotonic_ns() + 200 * MS;
    shm.set(0, t0);
    let r1 = spinner.join(JOIN_NS);
    let r2 = dl.join(JOIN_NS);
    r1?;
    r2?;

    let fin = shm.get(3);
    let wake = shm.get(4);
    let (spin_start, spin_end) = PRE_GAPS.span(&shm);
    let (max_gap, max_at) = PRE_GAPS.max_gap(&shm);
    let gaps = PRE_GAPS.gaps(&shm);
    diag!(
        "casio spinner spun T0+{:.1}..T0+{:.1}ms, {} gaps >1ms, max {:.1}ms at T0+{:.1}ms; deadline task woke T0+{:.1}ms, finished T0+{:.1}ms",
        rel_ms(spin_start, t0),
        rel_ms(spin_end, t0),
        gaps.len(),
        ms(max_gap),
        rel_ms(max_at, t0),
        rel_ms(wake, t0),
        rel_ms(fin, t0)
    );
    if spin_end < t0 + spin_len - 100 * MS {
        return Err(format!(
            "casio spinner spun only until T0+{:.1}ms",
            rel_ms(spin_end, t0)
        ));
    }
    let mut f = Fails::default();
    f.check(fin + 500 * MS < spin_end, || {
        format!(
            "DEADLINE task finished at T0+{:.1}ms, not before the CASIO spinner's end (T0+{:.1}ms) - 500ms",
            rel_ms(fin, t0),
            rel_ms(spin_end, t0)
        )
    });
    f.check(gap_covering(&gaps, fin, 8 * MS).is_some(), || {
        format!(
            "no >= 8ms stall of the CASIO spinner around the DEADLINE finish time T0+{:.1}ms (largest gap {:.1}ms)",
            rel_ms(fin, t0),
            ms(max_gap)
        )
    });
    f.finish()
}

// ---------------------------------------------------------------------------
// f. class order boot line
// ---------------------------------------------------------------------------

fn t_class_order() -> TestResult {
    let log = kernel::kernel_log()?;
    if log.iter().any(|l| l.contains(CLASS_ORDER_BOOT_LINE)) {
        return Ok(());
    }
    let related: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("casio") || l.contains("CASIO"))
        .take(5)
        .collect();
    for l in &related {
        diag!("kernel log: {l}");
    }
    Err(format!(
        "{:?} not found in {} kernel log lines",
        CLASS_ORDER_BOOT_LINE,
        log.len()
    ))
}

// ---------------------------------------------------------------------------
// g. existing policies
// ---------------------------------------------------------------------------

fn t_legacy_policies() -> TestResult {
    let mut f = Fails::default();
    let table = [
        (SCHED_NORMAL, 0, 0),
        (SCHED_FIFO, 1, 99),
        (SCHED_RR, 1, 99),
        (SCHED_BATCH, 0, 0),
        (SCHED_IDLE, 0, 0),
        (SCHED_DEADLINE, 0, 0),
        (SCHED_CASIO, 0, 0),
    ];
    for (pol, min, max) in table {
        f.eq(
            &format!("sched_get_priority_min({pol})"),
            get_priority_min(pol),
            Ok(min),
        );
        f.eq(
            &format!("sched_get_priority_max({pol})"),
            get_priority_max(pol),
            Ok(max),
        );
    }
    for pol in [4, 7, 9] {
        f.err_is(
            &format!("sched_get_priority_min({pol})"),
            get_priority_min(pol),
            Errno::EINVAL,
        );
    }

    // FIFO.
    if f.ok("setscheduler FIFO 10", setscheduler(0, SCHED_FIFO, 10))
        .is_some()
    {
        f.eq("getscheduler FIFO", getscheduler(0), Ok(SCHED_FIFO));
        f.eq("getparam FIFO", getparam(0), Ok(10));
        f.attr("getattr FIFO 10", getattr(0), SCHED_FIFO, 10, 0, 0, 0, 0);
        f.eq("rr_get_interval FIFO", rr_get_interval(0), Ok((0, 0)));
    }
    if f.ok(
        "setattr FIFO 50",
        setattr(0, &SchedAttr::rt(SCHED_FIFO, 50), 0),
    )
    .is_some()
    {
        f.eq("getparam FIFO 50", getparam(0), Ok(50));
    }
    // RR.
    if f.ok("setscheduler RR 20", setscheduler(0, SCHED_RR, 20))
        .is_some()
    {
        f.eq("getscheduler RR", getscheduler(0), Ok(SCHED_RR));
        f.eq("getparam RR", getparam(0), Ok(20));
        f.attr("getattr RR 20", getattr(0), SCHED_RR, 20, 0, 0, 0, 0);
        match rr_get_interval(0) {
            Ok((s, ns)) => f.check(s > 0 || ns > 0, || "rr_get_interval RR returned 0".into()),
            Err(e) => f.push(format!("rr_get_interval RR: {e}")),
        }
    }
    // NORMAL with nice, BATCH, IDLE.
    for (pol, nice) in [(SCHED_NORMAL, -3), (SCHED_BATCH, 5), (SCHED_NORMAL, 0)] {
        let a = SchedAttr {
            sched_nice: nice,
            ..SchedAttr::new(pol)
        };
        let what = format!("setattr {} nice {nice}", policy_name(pol));
        if f.ok(&what, setattr(0, &a, 0)).is_some() {
            f.eq(
                &format!("getscheduler after {what}"),
                getscheduler(0),
                Ok(pol),
            );
            if let Some(g) = f.ok(&format!("getattr after {what}"), getattr(0)) {
                f.eq(
                    &format!("getattr (policy, nice) after {what}"),
                    (g.sched_policy, g.sched_nice),
                    (pol as u32, nice),
                );
            }
        }
    }
    for pol in [SCHED_BATCH, SCHED_IDLE, SCHED_NORMAL] {
        let name = policy_name(pol);
        if f.ok(&format!("setscheduler {name}"), setscheduler(0, pol, 0))
            .is_some()
        {
            f.eq(&format!("getscheduler {name}"), getscheduler(0), Ok(pol));
            f.eq(&format!("getparam {name}"), getparam(0), Ok(0));
        }
    }
    // DEADLINE (needs our affinity to span the root domain: the harness
    // reset it to all CPUs).
    if f.ok(
        "setattr DEADLINE 10/30/100ms",
        setattr(0, &SchedAttr::deadline(10 * MS, 30 * MS, 100 * MS), 0),
    )
    .is_some()
    {
        f.eq("getscheduler DEADLINE", getscheduler(0), Ok(SCHED_DEADLINE));
        f.eq("getparam DEADLINE", getparam(0), Ok(0));
        f.attr(
            "getattr DEADLINE",
            getattr(0),
            SCHED_DEADLINE,
            0,
            10 * MS,
            30 * MS,
            100 * MS,
            0,
        );
        f.ok("DEADLINE -> NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    }
    // Classic errors.
    f.err_is("FIFO prio 0", setscheduler(0, SCHED_FIFO, 0), Errno::EINVAL);
    f.err_is(
        "FIFO prio 100",
        setscheduler(0, SCHED_FIFO, 100),
        Errno::EINVAL,
    );
    f.err_is(
        "NORMAL prio 1",
        setscheduler(0, SCHED_NORMAL, 1),
        Errno::EINVAL,
    );
    f.err_is(
        "DEADLINE runtime > deadline",
        setattr(0, &SchedAttr::deadline(50 * MS, 30 * MS, 100 * MS), 0),
        Errno::EINVAL,
    );
    f.eq("getscheduler at end", getscheduler(0), Ok(SCHED_NORMAL));
    f.finish()
}

// ---------------------------------------------------------------------------
// h. fork
// ---------------------------------------------------------------------------

/// Fork a child that checks its own policy with `check` and then waits
/// (sleeping) for the stop slot, so the parent can inspect it too.
fn fork_and_check<F>(
    label: &str,
    check: F,
    parent_check: impl FnOnce(i32) -> TestResult,
) -> TestResult
where
    F: FnOnce() -> TestResult,
{
    // Slots: 0 stop, 1 child checked.
    let shm = Shm::new(2)?;
    let mut c = spawn(label, || {
        let r = check();
        shm.set(1, 1);
        r?;
        shm.wait_nonzero(0, 10 * SEC, 5 * MS);
        Ok(())
    })?;
    wait_for(label, &mut [&mut c], 10 * SEC, || shm.get(1) != 0)?;
    let r = parent_check(c.pid());
    shm.set(0, 1);
    let j = c.join(JOIN_NS);
    j.and(r)
}

fn t_fork_inherit() -> TestResult {
    let mut f = Fails::default();
    let (c, d, t) = (20 * MS, 50 * MS, 200 * MS);
    sys(
        "setattr CASIO 20/50/200ms",
        setattr(0, &SchedAttr::casio(c, d, t), 0),
    )?;
    let r = fork_and_check(
        "child of setattr CASIO task",
        || {
            let mut f = Fails::default();
            f.eq("child getscheduler", getscheduler(0), Ok(SCHED_CASIO));
            f.eq("child getparam", getparam(0), Ok(0));
            f.attr("child getattr", getattr(0), SCHED_CASIO, 0, c, d, t, 0);
            f.finish()
        },
        |pid| {
            let mut f = Fails::default();
            f.eq("getscheduler(child)", getscheduler(pid), Ok(SCHED_CASIO));
            f.attr("getattr(child)", getattr(pid), SCHED_CASIO, 0, c, d, t, 0);
            f.finish()
        },
    );
    if let Err(e) = r {
        f.push(e);
    }
    sys("setscheduler CASIO D=70ms", set_casio(0, 5, 70 * MS))?;
    let r = fork_and_check(
        "child of setscheduler CASIO task",
        || {
            let mut f = Fails::default();
            f.eq("child getscheduler", getscheduler(0), Ok(SCHED_CASIO));
            f.attr(
                "child getattr",
                getattr(0),
                SCHED_CASIO,
                0,
                70 * MS,
                70 * MS,
                70 * MS,
                0,
            );
            f.finish()
        },
        |_| Ok(()),
    );
    if let Err(e) = r {
        f.push(e);
    }
    f.ok("back to NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    f.finish()
}

fn child_is_normal() -> TestResult {
    let mut f = Fails::default();
    f.eq("child getscheduler", getscheduler(0), Ok(SCHED_NORMAL));
    f.eq("child getparam", getparam(0), Ok(0));
    f.attr("child getattr", getattr(0), SCHED_NORMAL, 0, 0, 0, 0, 0);
    f.finish()
}

fn parent_sees_normal(pid: i32) -> TestResult {
    let mut f = Fails::default();
    f.eq("getscheduler(child)", getscheduler(pid), Ok(SCHED_NORMAL));
    f.finish()
}

fn t_reset_on_fork() -> TestResult {
    let mut f = Fails::default();
    let rof = SCHED_RESET_ON_FORK;

    // 1. sched_setattr with SCHED_FLAG_RESET_ON_FORK.
    let a = SchedAttr {
        sched_flags: SCHED_FLAG_RESET_ON_FORK,
        ..SchedAttr::casio(20 * MS, 50 * MS, 100 * MS)
    };
    sys(
        "setattr CASIO + SCHED_FLAG_RESET_ON_FORK",
        setattr(0, &a, 0),
    )?;
    f.eq(
        "getscheduler (flag)",
        getscheduler(0),
        Ok(SCHED_CASIO | rof),
    );
    f.attr(
        "getattr (flag)",
        getattr(0),
        SCHED_CASIO,
        0,
        20 * MS,
        50 * MS,
        100 * MS,
        SCHED_FLAG_RESET_ON_FORK,
    );
    if let Err(e) = fork_and_check("child (setattr flag)", child_is_normal, parent_sees_normal) {
        f.push(format!("setattr flag: {e}"));
    }

    // 2. sched_setscheduler with policy | SCHED_RESET_ON_FORK.
    sys(
        "setscheduler CASIO|RESET_ON_FORK D=40ms",
        set_casio_param(0, SCHED_CASIO | rof, &SchedCasioParam::new(3, 40 * MS)),
    )?;
    f.eq(
        "getscheduler (policy bit)",
        getscheduler(0),
        Ok(SCHED_CASIO | rof),
    );
    f.attr(
        "getattr (policy bit)",
        getattr(0),
        SCHED_CASIO,
        0,
        40 * MS,
        40 * MS,
        40 * MS,
        SCHED_FLAG_RESET_ON_FORK,
    );
    if let Err(e) = fork_and_check("child (policy bit)", child_is_normal, parent_sees_normal) {
        f.push(format!("policy bit: {e}"));
    }

    // 3. Setting the policy again without the bit clears it.
    sys("setscheduler CASIO D=40ms", set_casio(0, 3, 40 * MS))?;
    f.eq(
        "getscheduler (bit cleared)",
        getscheduler(0),
        Ok(SCHED_CASIO),
    );
    if let Err(e) = fork_and_check(
        "child (bit cleared)",
        || {
            let mut f = Fails::default();
            f.eq("child getscheduler", getscheduler(0), Ok(SCHED_CASIO));
            f.finish()
        },
        |_| Ok(()),
    ) {
        f.push(format!("bit cleared: {e}"));
    }
    f.ok("back to NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    f.finish()
}

// ---------------------------------------------------------------------------
// i. nr_running
// ---------------------------------------------------------------------------

fn median(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v[v.len() / 2]
}

fn t_nr_running() -> TestResult {
    const K: usize = 3;
    pin_harness();
    // Slots: 0 T0, 1 ready count, 2 stop.
    let shm = Shm::new(4)?;
    let mut before = Vec::new();
    for _ in 0..5 {
        before.push(kernel::procs_running()?);
        sleep_ns(20 * MS);
    }
    let before = median(&before);
    let mut kids = Vec::new();
    for k in 0..K {
        let shm = &shm;
        kids.push(spawn(&format!("casio spinner {k}"), move || {
            pin_work()?;
            sys("set_casio D=4s", set_casio(0, k as u32, 4 * SEC))?;
            shm.fetch_add(1, 1);
            let t0 = wait_t0(shm, 0)?;
            sleep_until_ns(t0);
            let end = t0 + 8 * SEC;
            while shm.get(2) == 0 && monotonic_ns() < end {
                std::hint::spin_loop();
            }
            Ok(())
        })?);
    }
    {
        let mut refs: Vec<&mut Child> = kids.iter_mut().collect();
        wait_for("casio spinners ready", &mut refs, 10 * SEC, || {
            shm.get(1) >= K as u64
        })?;
    }
    let t0 = monotonic_ns() + 200 * MS;
    shm.set(0, t0);
    sleep_until_ns(t0 + 300 * MS);
    let mut during = Vec::new();
    let mut during_la = Vec::new();
    for _ in 0..10 {
        during.push(kernel::procs_running()?);
        during_la.push(kernel::loadavg_running().unwrap_or(0));
        sleep_ns(50 * MS);
    }
    shm.set(2, 1);
    join_all(&mut kids, JOIN_NS)?;
    sleep_ns(300 * MS);
    let mut after = Vec::new();
    for _ in 0..5 {
        after.push(kernel::procs_running()?);
        sleep_ns(50 * MS);
    }
    diag!(
        "procs_running before {before}, during {during:?} (loadavg {during_la:?}), after {after:?}"
    );
    let dmin = *during.iter().min().unwrap();
    let dmax = *during.iter().max().unwrap();
    let dmed = median(&during);
    let amed = median(&after);
    let k = K as u64;
    let mut f = Fails::default();
    f.check(dmin >= k, || {
        format!("procs_running {dmin} < {K} while {K} CASIO tasks were runnable")
    });
    f.check(dmed + 1 >= amed + k, || {
        format!(
            "procs_running rose only from {amed} (after) to {dmed} (during, medians) with {K} runnable CASIO tasks"
        )
    });
    f.check(dmax <= before + k + 16, || {
        format!("procs_running {dmax} implausibly high while {K} CASIO tasks ran")
    });
    f.check(amed <= before + 1, || {
        format!("procs_running did not drop back after the CASIO tasks exited: {amed} (before: {before})")
    });
    f.finish()
}
