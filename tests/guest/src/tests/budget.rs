//! Tests of runtime budgets (`SCHED_FLAG_CASIO_BUDGET`, SIGXCPU with
//! `SCHED_FLAG_DL_OVERRUN`) and of the per-CPU cap on CASIO run time
//! (`kernel.sched_casio_{period,runtime}_us`, 95% by default).
//!
//! CPU shares are measured with the thread CPU-time clock of the tasks
//! themselves, over wall-clock windows long enough for QEMU TCG's timer
//! jitter (tens of ms); the bounds are stated next to each check.

use std::sync::atomic::{AtomicU64, Ordering};

use casio_abi::{
    getattr, monotonic_ns, set_casio, setattr, sleep_until_ns, thread_cpu_ns, Errno, SchedAttr,
    SCHED_FIFO, SCHED_FLAG_CASIO_BUDGET, SCHED_FLAG_DL_OVERRUN, SCHED_NORMAL,
};

use crate::common::checks::{ms, sys, Fails};
use crate::common::kernel::{
    fair_server_ns_per_s, read_runtime, ThrottleOff, CASIO_RUNTIME_PATH, RT_RUNTIME_PATH,
};
use crate::common::proc::{join_all, spawn};
use crate::common::shared::{shm_record, Shared, Slot};
use crate::common::stats::{read_global, read_stat, G_CAP_THROTTLES};
use crate::common::work::{pin_harness, pin_work, spin_until};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    budget_throttle: "C=10 D=T=100ms spinner: budget flag caps it near C/T with SIGXCPU per job; flags checked" => t_budget_throttle,
    cap_throttles_runaway: "default 95% cap: a CFS task shares a CPU with a spinning CASIO task; none with the cap off" => t_cap_throttles_runaway,
}

/// Timeout for joining the spinners (longer than [`JOIN_NS`](crate::common::work::JOIN_NS)).
const SPINNER_JOIN_NS: u64 = 20 * SEC;
const SIGXCPU_FLAGS: u64 = SCHED_FLAG_DL_OVERRUN;
const BUDGET_FLAGS: u64 = SCHED_FLAG_CASIO_BUDGET | SCHED_FLAG_DL_OVERRUN;
/// The internal "reserves nothing" flag, which user space may not pass.
const UNRESERVED_FLAG: u64 = 0x2000_0000;

static SIGXCPU_COUNT: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_sigxcpu(_: libc::c_int) {
    SIGXCPU_COUNT.fetch_add(1, Ordering::Relaxed);
}

fn count_sigxcpu() -> Result<(), String> {
    let handler = on_sigxcpu as extern "C" fn(libc::c_int);
    // SAFETY: the handler only touches an atomic counter.
    if unsafe { libc::signal(libc::SIGXCPU, handler as libc::sighandler_t) } == libc::SIG_ERR {
        return Err(format!("signal(SIGXCPU): {}", Errno::last()));
    }
    Ok(())
}

/// What one spinning CASIO task saw.
#[derive(Debug, Default)]
struct Spin {
    flags: u64,
    wall: u64,
    cpu: u64,
    sigxcpu: u64,
    overruns: u64,
    released: u64,
    budget: u64,
    overrun_signal: u64,
}

shm_record! {
    /// What the spinner of [`run_spinner`] reports, as in [`Spin`].
    struct SpinSlots {
        flags: Slot,
        wall: Slot,
        cpu: Slot,
        sigxcpu: Slot,
        overruns: Slot,
        released: Slot,
        budget: Slot,
        overrun_signal: Slot,
    }
}

/// Runs a CASIO task (C = 10 ms, D = T = 100 ms, `flags`) that spins for
/// `spin` ns on the work CPU, and returns what it measured.
fn run_spinner(flags: u64, spin: u64) -> Result<Spin, String> {
    let shm = Shared::<SpinSlots>::one()?;
    let r = shm.rec();
    let mut child = spawn("spinner", || {
        pin_work()?;
        count_sigxcpu()?;
        let mut a = SchedAttr::casio(10 * MS, 100 * MS, 100 * MS);
        a.sched_flags |= flags;
        sys("setattr CASIO 10/100/100ms", setattr(0, &a, 0))?;
        r.flags.set(sys("getattr", getattr(0))?.sched_flags);
        let (w0, c0) = (monotonic_ns(), thread_cpu_ns());
        spin_until(w0 + spin);
        r.wall.set(monotonic_ns() - w0);
        r.cpu.set(thread_cpu_ns() - c0);
        r.sigxcpu.set(SIGXCPU_COUNT.load(Ordering::Relaxed));
        let s = read_stat(0)?;
        r.overruns.set(s.get("runtime_overruns")?);
        r.released.set(s.get("jobs_released")?);
        r.budget.set(s.get("budget")?);
        r.overrun_signal.set(s.get("overrun_signal")?);
        diag!("spinner flags {flags:#x}: {}", s.brief());
        Ok(())
    })?;
    child.join(SPINNER_JOIN_NS)?;
    Ok(Spin {
        flags: r.flags.get(),
        wall: r.wall.get(),
        cpu: r.cpu.get(),
        sigxcpu: r.sigxcpu.get(),
        overruns: r.overruns.get(),
        released: r.released.get(),
        budget: r.budget.get(),
        overrun_signal: r.overrun_signal.get(),
    })
}

fn t_budget_throttle() -> TestResult {
    pin_harness();
    let mut f = Fails::default();

    // Flags the kernel must refuse.
    let mut fifo = SchedAttr::rt(SCHED_FIFO, 10);
    fifo.sched_flags |= SCHED_FLAG_CASIO_BUDGET;
    f.err_is(
        "SCHED_FIFO with the budget flag",
        setattr(0, &fifo, 0),
        Errno::EINVAL,
    );
    let mut normal = SchedAttr::new(SCHED_NORMAL);
    normal.sched_flags |= SCHED_FLAG_CASIO_BUDGET;
    f.err_is(
        "SCHED_NORMAL with the budget flag",
        setattr(0, &normal, 0),
        Errno::EINVAL,
    );
    let mut internal = SchedAttr::casio(10 * MS, 100 * MS, 100 * MS);
    internal.sched_flags |= UNRESERVED_FLAG;
    f.err_is(
        "the kernel-internal unreserved flag",
        setattr(0, &internal, 0),
        Errno::EINVAL,
    );

    // Budget and SIGXCPU: 1.5 s of spinning gets about 15 jobs of 10 ms.
    // Bounds: at most 25% of the wall time (C/T = 10%, plus a 1 ms tick of
    // overrun per job and TCG's late release timers), at least 5%; one
    // SIGXCPU per job is due, at least 3 must arrive.
    let b = run_spinner(BUDGET_FLAGS, 1500 * MS)?;
    diag!(
        "budget+SIGXCPU: {b:?}, CPU share {:.3}",
        b.cpu as f64 / b.wall as f64
    );
    f.eq(
        "getattr flags (budget + overrun)",
        b.flags & BUDGET_FLAGS,
        BUDGET_FLAGS,
    );
    f.eq("/proc budget", b.budget, 1);
    f.eq("/proc overrun_signal", b.overrun_signal, 1);
    f.check(b.cpu * 4 <= b.wall, || {
        format!(
            "throttled task used {:.0} ms of CPU in {:.0} ms (> 25%)",
            ms(b.cpu),
            ms(b.wall)
        )
    });
    f.check(b.cpu * 20 >= b.wall, || {
        format!(
            "throttled task used only {:.0} ms of CPU in {:.0} ms (< 5%)",
            ms(b.cpu),
            ms(b.wall)
        )
    });
    f.check(b.overruns >= 7 && b.released >= 7, || {
        format!(
            "{} overruns in {} jobs over {:.0} ms: want >= 7 each",
            b.overruns,
            b.released,
            ms(b.wall)
        )
    });
    f.check(b.sigxcpu >= 3, || {
        format!("{} SIGXCPU with the budget, want >= 3", b.sigxcpu)
    });

    // SIGXCPU without the budget: never throttled, one job that overruns
    // once (it never yields nor sleeps), so exactly one signal. The cap
    // leaves it at least 60% of the CPU.
    let s = run_spinner(SIGXCPU_FLAGS, 1000 * MS)?;
    diag!("SIGXCPU only: {s:?}");
    f.eq(
        "getattr flags (overrun only)",
        s.flags & BUDGET_FLAGS,
        SIGXCPU_FLAGS,
    );
    f.eq("/proc budget without the flag", s.budget, 0);
    f.check(s.cpu * 10 >= s.wall * 6, || {
        format!(
            "unthrottled task used only {:.0} ms of CPU in {:.0} ms",
            ms(s.cpu),
            ms(s.wall)
        )
    });
    f.eq(
        "(jobs, overruns, SIGXCPU) without the budget",
        (s.released, s.overruns, s.sigxcpu),
        (1, 1, 1),
    );

    // No flags: the overrun is counted, no signal is sent.
    let n = run_spinner(0, 500 * MS)?;
    diag!("no flags: {n:?}");
    f.eq(
        "(jobs, overruns, SIGXCPU) without flags",
        (n.released, n.overruns, n.sigxcpu),
        (1, 1, 0),
    );
    f.finish()
}

/// Spins a legacy CASIO task (deadline 100 ms, no budget) and a CFS task
/// on the work CPU from `t0` for `len` ns; returns their CPU times.
fn share_cpu(len: u64) -> Result<(u64, u64), String> {
    // The CPU times of the CFS and the CASIO spinner.
    let shm = Shared::<Slot>::new(2)?;
    let t0 = monotonic_ns() + 300 * MS;
    let end = t0 + len;
    let cfs = spawn("CFS spinner", || {
        pin_work()?;
        spin_until(t0);
        let c0 = thread_cpu_ns();
        spin_until(end);
        shm[0].set(thread_cpu_ns() - c0);
        Ok(())
    })?;
    let casio = spawn("CASIO spinner", || {
        pin_work()?;
        sys(
            "sched_setscheduler(CASIO, 100ms)",
            set_casio(0, 1, 100 * MS),
        )?;
        sleep_until_ns(t0);
        let c0 = thread_cpu_ns();
        spin_until(end);
        shm[1].set(thread_cpu_ns() - c0);
        Ok(())
    })?;
    join_all(&mut [cfs, casio], SPINNER_JOIN_NS)?;
    Ok((shm[0].get(), shm[1].get()))
}

fn t_cap_throttles_runaway() -> TestResult {
    pin_harness();
    let mut f = Fails::default();
    f.eq(
        "default sched_casio_runtime_us",
        read_runtime(CASIO_RUNTIME_PATH)?,
        950_000,
    );
    f.eq(
        "default sched_casio_period_us",
        read_runtime("/proc/sys/kernel/sched_casio_period_us")?,
        1_000_000,
    );
    let work = 0;
    // The RT bandwidth, which CASIO shares, would stop the spinner too:
    // only the cap is under test here.
    let _rt = casio_testkit::sysctl::Restore::set(RT_RUNTIME_PATH, "-1")?;
    let g0 = read_global()?;

    // Where a fair server gives CFS its 50 ms of every second (6.12 and
    // later), CASIO never reaches a 95% cap: the cap under test is 80%.
    let _cap80 = match fair_server_ns_per_s() {
        0 => None,
        _ => Some(casio_testkit::sysctl::Restore::set(
            CASIO_RUNTIME_PATH,
            "800000",
        )?),
    };
    // Cap on: 2 s are two windows of 1 s, each leaving 50 ms (or 200 ms)
    // to CFS. Bounds: CFS gets at least 30 ms (it may first run some ms
    // into the first throttled window), CASIO at most 98.5%.
    let (cfs, casio) = share_cpu(2 * SEC)?;
    let g1 = read_global()?;
    let throttles = g1.cpus[work][G_CAP_THROTTLES] - g0.cpus[work][G_CAP_THROTTLES];
    diag!(
        "cap on: CFS {:.1} ms, CASIO {:.1} ms of 2000 ms, {throttles} throttles",
        ms(cfs),
        ms(casio)
    );
    f.check(cfs >= 30 * MS, || {
        format!(
            "CFS got {:.1} ms next to a spinning CASIO task with the cap on, want >= 30",
            ms(cfs)
        )
    });
    f.check(casio <= 1970 * MS, || {
        format!(
            "CASIO spinner got {:.1} ms of 2000 with the cap on",
            ms(casio)
        )
    });
    f.check(throttles >= 1, || {
        "cap_throttles of the work CPU did not grow".to_string()
    });

    drop(_cap80);
    // Cap off: CFS does not run until the CASIO task stops (bound: 20 ms),
    // but for what the fair server guarantees it (6.12 and later).
    let bound = 20 * MS + fair_server_ns_per_s();
    let off = ThrottleOff::new()?;
    let (cfs, casio) = share_cpu(SEC)?;
    drop(off);
    let g2 = read_global()?;
    let throttles = g2.cpus[work][G_CAP_THROTTLES] - g1.cpus[work][G_CAP_THROTTLES];
    diag!(
        "cap off: CFS {:.1} ms, CASIO {:.1} ms of 1000 ms, {throttles} throttles",
        ms(cfs),
        ms(casio)
    );
    f.check(cfs <= bound, || {
        format!(
            "CFS got {:.1} ms next to a spinning CASIO task with the cap off, want <= {:.0}",
            ms(cfs),
            ms(bound)
        )
    });
    f.eq("cap_throttles with the cap off", throttles, 0);
    f.finish()
}
