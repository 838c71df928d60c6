// SPDX-License-Identifier: GPL-2.0

//! Jobs: their accounting, the running task's budget, the CPU's cap on
//! CASIO time, and the events they report.

use core::ptr;
use kernel::bindings;

use crate::base;
use crate::class::{start_waiting, unlink};
use crate::edf::JobStats;
use crate::report::event;
use crate::rq::Rq;
use crate::task::Task;
use crate::SchedCasioEntity;

/// The time base of CASIO jobs: CLOCK_MONOTONIC, the clock on which user
/// space sleeps until its next release, and on which the timer runs.
///
/// The wake-up and sleep paths read it for each switch, which costs a
/// device access where the clocksource is the HPET (a QEMU guest whose
/// TSC is not trusted). The rq clock is cheaper but may lag it by tens of
/// milliseconds when a CPU missed ticks (a preempted vCPU), so releases
/// would get deadlines in the past.
pub(crate) fn job_clock() -> u64 {
    // SAFETY: `ktime_get()` may be called in any context but NMI.
    unsafe { bindings::ktime_get() as u64 }
}

/// A task's job accounting before a change, to settle the change.
#[derive(Clone, Copy)]
pub(crate) struct Before {
    stats: JobStats,
    deadline: u64,
}

impl Before {
    pub(crate) fn of(se: &SchedCasioEntity) -> Self {
        Before {
            stats: se.stats,
            deadline: se.job.deadline,
        }
    }
}

/// Adds what the statistics of `p`, a task of `rq`, gained since
/// `before` to the CPU's totals, and reports the job events behind the
/// gain: the end and miss of the previous job, then the release of a new
/// one.
pub(crate) fn settle(rq: &mut Rq<'_>, p: &Task<'_>, before: Before) {
    let se = p.se();
    rq.account(&before.stats, &se.stats);
    let (old, new) = (&before.stats, &se.stats);
    if new.jobs_completed != old.jobs_completed {
        event(
            bindings::casio_event_CASIO_EVENT_JOB_END,
            p,
            before.deadline,
        );
    }
    if new.deadline_misses != old.deadline_misses {
        event(bindings::casio_event_CASIO_EVENT_MISS, p, before.deadline);
    }
    if new.jobs_released != old.jobs_released {
        event(
            bindings::casio_event_CASIO_EVENT_RELEASE,
            p,
            se.job.deadline,
        );
    }
}

/// Charges the running task for the time since it was last charged, and
/// enforces its budget and the CPU's cap on CASIO time.
pub(crate) fn update_curr(rq: &mut Rq<'_>) {
    // SAFETY: the callers hold no handle of the running task while they
    // charge it.
    let mut curr = unsafe { rq.curr_task() };
    if !curr.is_casio() {
        return;
    }
    let now = rq.clock_task();
    let delta = base::charge_curr(rq, now);
    if delta <= 0 {
        return;
    }
    enforce_budget(rq, &mut curr);
    charge_cap(rq, &curr, now, delta as u64);
    // SAFETY: the rq is locked.
    if unsafe { bindings::casio_rt_charge(rq.as_ptr(), delta as u64) } {
        rq.resched_curr();
    }
}

/// Acts on a job of `p`, the running CASIO task of `rq`, that used up its
/// runtime: the task is sent SIGXCPU if it asked
/// (`SCHED_FLAG_DL_OVERRUN`), and throttled until its next release if it
/// asked for a budget (`SCHED_FLAG_CASIO_BUDGET`).
pub(crate) fn enforce_budget(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    // The runtime was just updated.
    let exec = p.exec_runtime();
    let before = Before::of(p.se());
    let se = p.se_mut();
    if !se.job.runtime_exhausted(&mut se.stats, exec, &se.params) {
        return;
    }
    settle(rq, p, before);
    let se = p.se_mut();
    if se.flags & bindings::SCHED_FLAG_DL_OVERRUN != 0 {
        // SAFETY: a single aligned word, also read by the CPU-timer tick.
        unsafe { ptr::write_volatile(&mut se.overrun, 1) };
    }
    if se.flags & bindings::SCHED_FLAG_CASIO_BUDGET != 0 && se.node.is_linked() {
        unlink(rq, p);
        let se = p.se();
        let next = se.job.next_release(job_clock(), &se.params);
        start_waiting(rq, p, next);
        event(
            bindings::casio_event_CASIO_EVENT_THROTTLE,
            p,
            p.se().job.deadline,
        );
        rq.resched_curr();
    }
}

/// Charges `delta` ns of CASIO time of `curr`, the running task, at `now`
/// on the rq task clock, to the CPU's cap, and throttles the CPU's CASIO
/// tasks if the cap is reached. The windows run on the rq clock, which
/// costs nothing to read here; only the timer that ends a throttled
/// window needs the job clock.
pub(crate) fn charge_cap(rq: &mut Rq<'_>, curr: &Task<'_>, now: u64, delta: u64) {
    let (mut runtime, mut period) = (0, 0);
    // A CPU going offline must run its tasks until the core moved them.
    // SAFETY: plain reads of the sysctls into the locals.
    if !rq.online() || unsafe { !bindings::casio_cap(&mut runtime, &mut period) } {
        return;
    }
    let crq = rq.casio();
    if let Some(end) = crq.cap.charge(now, delta, runtime, period) {
        let at = job_clock().saturating_add(end.saturating_sub(now));
        // SAFETY: the timer was set up by `init_rq()`.
        unsafe { crq.cap_timer.start(at) };
        rq.resched_curr();
        event(bindings::casio_event_CASIO_EVENT_THROTTLE, curr, curr.key());
    }
}
