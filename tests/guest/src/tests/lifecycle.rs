//! Fork, exit, policy changes and SIGKILL in loops.

use casio_abi::{
    burn_cpu, getscheduler, monotonic_ns, sched_yield, setattr, setscheduler, sleep_ns, Errno,
    SchedAttr, SCHED_DEADLINE, SCHED_FIFO, SCHED_FLAG_CASIO_BUDGET, SCHED_NORMAL, SCHED_RR,
};

use crate::common::bw::read_bw;
use crate::common::checks::{dms, ms, sys, Fails};
use crate::common::kernel::ThrottleOff;
use crate::common::proc::{spawn, wait_for, Child};
use crate::common::shared::{shm_record, Shared, Slot};
use crate::common::stats::{read_global, read_stat, TaskStat};
use crate::common::work::{pin_harness, pin_work, WAKE_MARGIN};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    lifecycle_loops: "30 x fork/exit, policy hops out of yield-sleep, SIGKILL; throttled hops; no bandwidth left" => t_lifecycle_loops,
}

// ---------------------------------------------------------------------------
// 6. lifecycle_loops
// ---------------------------------------------------------------------------

const LC_ITERS: usize = 30;

/// Poll `pid`'s file until `cond` holds on it.
fn wait_stat(
    what: &str,
    child: &mut Child,
    timeout_ns: u64,
    mut cond: impl FnMut(&TaskStat) -> bool,
) -> Result<(), String> {
    let pid = child.pid();
    let mut last = String::new();
    let r = wait_for(what, &mut [child], timeout_ns, || match read_stat(pid) {
        Ok(s) => {
            last = s.brief();
            cond(&s)
        }
        Err(e) => {
            last = e;
            false
        }
    });
    r.map_err(|e| format!("{e} (last: {last})"))
}

shm_record! {
    /// What the children of the lifecycle loops report.
    struct Lifecycle {
        /// Bumped by a running hopper or budget spinner.
        progress: Slot,
        /// The spinner runs.
        spinning: Slot,
    }
}

shm_record! {
    /// What the final periodic task reports.
    struct FinalTask {
        /// The release of its first job.
        r0: Slot,
        /// When yield k returned (k = 1..=3).
        yield_ret: [Slot; 4],
        completed: Slot,
        /// Deadline misses + 1 (0: not reported).
        misses_plus_1: Slot,
    }
}

/// `counter` grows by at least 3 within `timeout_ns`.
fn wait_progress(
    what: &str,
    counter: &Slot,
    child: &mut Child,
    timeout_ns: u64,
) -> Result<(), String> {
    let start = counter.get();
    wait_for(what, &mut [child], timeout_ns, || {
        counter.get() >= start + 3
    })
}

/// A budget-throttled task (C = 2 ms, T = 100 ms, spinning) is switched to
/// SCHED_NORMAL and SCHED_RR, back to CASIO, and SIGKILLed, three times
/// over: it must run under each policy, be throttled again under CASIO
/// and be reaped within 3 s.
fn throttled_switches(counter: &Slot) -> Result<(), String> {
    let throttled = |s: &TaskStat| s.policy() == "casio" && s.n("waiting_release") == 1;
    let mut budget = SchedAttr::casio(2 * MS, 100 * MS, 100 * MS);
    budget.sched_flags |= SCHED_FLAG_CASIO_BUDGET;
    for round in 0..3 {
        let ctx = |e: String| format!("throttled round {round}: {e}");
        counter.set(0);
        let mut t = spawn("budget spinner", || {
            pin_work()?;
            sys("setattr CASIO 2/100/100ms + budget", setattr(0, &budget, 0))?;
            loop {
                counter.add(1);
                burn_cpu(MS / 4);
            }
        })
        .map_err(ctx)?;
        let pid = t.pid();
        wait_stat("budget spinner throttled", &mut t, 5 * SEC, throttled).map_err(ctx)?;
        sys(
            "setscheduler(throttled, OTHER)",
            setscheduler(pid, SCHED_NORMAL, 0),
        )
        .map_err(ctx)?;
        wait_progress(
            "ex-throttled task runs as SCHED_OTHER",
            counter,
            &mut t,
            3 * SEC,
        )
        .map_err(ctx)?;
        sys("setscheduler(RR 10)", setscheduler(pid, SCHED_RR, 10)).map_err(ctx)?;
        wait_progress(
            "ex-throttled task runs as SCHED_RR",
            counter,
            &mut t,
            3 * SEC,
        )
        .map_err(ctx)?;
        sys("setattr(CASIO + budget) again", setattr(pid, &budget, 0)).map_err(ctx)?;
        wait_stat("budget spinner throttled again", &mut t, 5 * SEC, throttled).map_err(ctx)?;
        kill_and_reap(&mut t, 3 * SEC).map_err(ctx)?;
    }
    Ok(())
}

/// SIGKILL `child` and wait up to `timeout_ns` for it to be reaped;
/// returns how long that took.
fn kill_and_reap(child: &mut Child, timeout_ns: u64) -> Result<u64, String> {
    let t = monotonic_ns();
    // SAFETY: signalling our own, not yet reaped child.
    unsafe { libc::kill(child.pid(), libc::SIGKILL) };
    while child.poll_exit().is_none() {
        if monotonic_ns() - t > timeout_ns {
            return Err(format!(
                "pid {} not gone {} ms after SIGKILL",
                child.pid(),
                timeout_ns / MS
            ));
        }
        sleep_ns(MS);
    }
    Ok(monotonic_ns() - t)
}

fn t_lifecycle_loops() -> TestResult {
    pin_harness();
    // Throttling off lifts DEADLINE admission control, which refuses a
    // DEADLINE task pinned to one CPU.
    let rt = ThrottleOff::new();
    if let Err(e) = &rt {
        diag!("could not disable RT throttling ({e}); DEADLINE step may be refused");
    }
    let start = monotonic_ns();
    let shm = Shared::<Lifecycle>::one()?;
    let lc = shm.rec();
    let mut dl_skipped = 0;
    let mut kill_wait_max = 0u64;
    let mut kill_spin_max = 0u64;
    for it in 0..LC_ITERS {
        let ctx = |e: String| format!("iteration {it}: {e}");
        // a. A short-lived CASIO child: 1-2 jobs, then exit.
        let jobs = 1 + it % 2;
        let mut short = spawn("short-lived task", move || {
            pin_work()?;
            sys(
                "setattr CASIO 2/20/20ms",
                setattr(0, &SchedAttr::casio(2 * MS, 20 * MS, 20 * MS), 0),
            )?;
            for _ in 0..jobs {
                burn_cpu(2 * MS);
                sys("sched_yield", sched_yield())?;
            }
            let s = read_stat(0)?;
            if s.n("jobs_completed") != jobs as u64 {
                return Err(format!("after {jobs} jobs: {}", s.brief()));
            }
            Ok(())
        })
        .map_err(ctx)?;
        short.join(5 * SEC).map_err(ctx)?;

        // b. A CASIO task that sleeps in yield most of the time, moved to
        // other policies while it sleeps there.
        lc.progress.set(0);
        let mut hop = spawn("policy hopper", move || {
            pin_work()?;
            sys(
                "setattr CASIO 1/100/100ms",
                setattr(0, &SchedAttr::casio(MS, 100 * MS, 100 * MS), 0),
            )?;
            loop {
                burn_cpu(MS / 2);
                // Errors are fine here (policy may be anything); progress
                // is what the parent watches.
                let _ = sched_yield();
                lc.progress.add(1);
            }
        })
        .map_err(ctx)?;
        let pid = hop.pid();
        let sleeping = |s: &TaskStat| s.policy() == "casio" && s.n("waiting_release") == 1;
        wait_stat("hopper sleeping in yield", &mut hop, 5 * SEC, sleeping).map_err(ctx)?;
        sys(
            "setscheduler(hopper, OTHER)",
            setscheduler(pid, SCHED_NORMAL, 0),
        )
        .map_err(ctx)?;
        let s = read_stat(pid).map_err(ctx)?;
        if s.policy() != "other" {
            return Err(ctx(format!("hopper on SCHED_OTHER: {}", s.brief())));
        }
        // Whatever the kernel does with the pending release, the task must
        // run again soon (T = 100 ms) under its new policy.
        wait_progress(
            "hopper runs as SCHED_OTHER",
            &lc.progress,
            &mut hop,
            3 * SEC,
        )
        .map_err(ctx)?;
        sys(
            "setscheduler(hopper, FIFO 10)",
            setscheduler(pid, SCHED_FIFO, 10),
        )
        .map_err(ctx)?;
        wait_progress("hopper runs as SCHED_FIFO", &lc.progress, &mut hop, 3 * SEC).map_err(ctx)?;
        sys(
            "setscheduler(hopper, RR 10)",
            setscheduler(pid, SCHED_RR, 10),
        )
        .map_err(ctx)?;
        wait_progress("hopper runs as SCHED_RR", &lc.progress, &mut hop, 3 * SEC).map_err(ctx)?;
        sys(
            "setattr(hopper, CASIO 1/100/100ms)",
            setattr(pid, &SchedAttr::casio(MS, 100 * MS, 100 * MS), 0),
        )
        .map_err(ctx)?;
        wait_stat(
            "hopper back on CASIO, sleeping in yield",
            &mut hop,
            5 * SEC,
            sleeping,
        )
        .map_err(ctx)?;
        match setattr(pid, &SchedAttr::deadline(MS, 30 * MS, 30 * MS), 0) {
            Ok(()) => {
                if getscheduler(pid) != Ok(SCHED_DEADLINE) {
                    return Err(ctx(format!(
                        "hopper policy after DEADLINE: {:?}",
                        getscheduler(pid)
                    )));
                }
                wait_progress(
                    "hopper runs as SCHED_DEADLINE",
                    &lc.progress,
                    &mut hop,
                    3 * SEC,
                )
                .map_err(ctx)?;
                // And back to CASIO once more.
                sys(
                    "setattr(hopper, CASIO 1/100/100ms) from DEADLINE",
                    setattr(pid, &SchedAttr::casio(MS, 100 * MS, 100 * MS), 0),
                )
                .map_err(ctx)?;
                wait_stat(
                    "hopper on CASIO after DEADLINE, sleeping in yield",
                    &mut hop,
                    5 * SEC,
                    sleeping,
                )
                .map_err(ctx)?;
            }
            Err(e) if e == Errno::EPERM || e == Errno::EBUSY => {
                if dl_skipped == 0 {
                    diag!("SCHED_DEADLINE refused with {e}: DEADLINE step skipped");
                }
                dl_skipped += 1;
            }
            Err(e) => return Err(ctx(format!("setattr(hopper, DEADLINE): {e}"))),
        }
        // c. SIGKILL while it sleeps in yield (it is in yield-sleep now).
        // It dies at the latest when its next release (<= 100 ms) comes.
        let dt = kill_and_reap(&mut hop, 3 * SEC).map_err(ctx)?;
        kill_wait_max = kill_wait_max.max(dt);

        // d. SIGKILL a CASIO task while it spins (D = T = 2 s, no yield).
        lc.spinning.set(0);
        let mut spin = spawn("spinner", move || {
            pin_work()?;
            sys(
                "setattr CASIO 1/2000/2000ms",
                setattr(0, &SchedAttr::casio(MS, 2 * SEC, 2 * SEC), 0),
            )?;
            lc.spinning.set(1);
            loop {
                std::hint::spin_loop();
            }
        })
        .map_err(ctx)?;
        wait_for("spinner running", &mut [&mut spin], 5 * SEC, || {
            lc.spinning.get() != 0
        })
        .map_err(ctx)?;
        let dt = kill_and_reap(&mut spin, 3 * SEC).map_err(ctx)?;
        kill_spin_max = kill_spin_max.max(dt);
        if monotonic_ns() - start > 22 * SEC {
            return Err(format!(
                "only {} of {LC_ITERS} iterations in 22 s (something is slow or stuck)",
                it + 1
            ));
        }
    }
    diag!(
        "{LC_ITERS} iterations in {:.1}s; SIGKILL->reaped: yield-sleeping (T=100ms) {:.1}ms max, spinning {:.1}ms max; DEADLINE step skipped {dl_skipped} times",
        ms(monotonic_ns() - start) / 1000.0,
        ms(kill_wait_max),
        ms(kill_spin_max)
    );
    throttled_switches(&lc.progress)?;
    drop(rt);

    // SIGKILL of a task sleeping in yield with T = 1 s: it must be gone
    // within T + 1 s (the kernel may let it sleep until its release).
    let mut long = spawn("T=1s yield sleeper", || {
        pin_work()?;
        sys(
            "setattr CASIO 1/1000/1000ms",
            setattr(0, &SchedAttr::casio(MS, SEC, SEC), 0),
        )?;
        loop {
            burn_cpu(MS / 2);
            let _ = sched_yield();
        }
    })?;
    wait_stat("T=1s task sleeping in yield", &mut long, 5 * SEC, |s| {
        s.policy() == "casio" && s.n("waiting_release") == 1
    })?;
    let dt = kill_and_reap(&mut long, 2 * SEC)?;
    diag!(
        "SIGKILL of a task sleeping in yield with T=1s: reaped after {:.1}ms",
        ms(dt)
    );

    // A final periodic task still works: 3 jobs, period T.
    let shm2 = Shared::<FinalTask>::one()?;
    let s2 = shm2.rec();
    let mut fin = spawn("final periodic task", move || {
        pin_work()?;
        sys(
            "setattr CASIO 5/100/100ms",
            setattr(0, &SchedAttr::casio(5 * MS, 100 * MS, 100 * MS), 0),
        )?;
        s2.r0.set(read_stat(0)?.get("job_release_ns")?);
        for k in 1..=3 {
            burn_cpu(5 * MS);
            sys("sched_yield", sched_yield())?;
            s2.yield_ret[k].set(monotonic_ns());
        }
        let s = read_stat(0)?;
        s2.completed.set(s.n("jobs_completed"));
        s2.misses_plus_1.set(s.n("deadline_misses") + 1);
        Ok(())
    })?;
    fin.join(5 * SEC)?;
    let mut f = Fails::default();
    let r0 = s2.r0.get();
    for k in 1..=3u64 {
        let ret = s2.yield_ret[k as usize].get();
        let want = r0 + k * 100 * MS;
        f.check(ret + MS >= want && ret <= want + WAKE_MARGIN, || {
            format!(
                "final task: yield #{k} returned at r0{:+.1}ms, want r0+{}ms (-1/+40)",
                dms(ret, r0),
                k * 100
            )
        });
    }
    f.eq(
        "final task (jobs_completed, misses)",
        (s2.completed.get(), s2.misses_plus_1.get().wrapping_sub(1)),
        (3, 0),
    );
    // The global file still reads fine.
    if let Err(e) = read_global() {
        f.push(e);
    }
    // Every task is gone: no bandwidth may stay admitted.
    f.eq("total_bw after the loops", read_bw()?.0, 0);
    f.finish()
}
