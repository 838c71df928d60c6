// SPDX-License-Identifier: GPL-2.0

//! The timers: each task's, at a job's deadline or its next release, and
//! each CPU's, at the end of a throttled window of the cap.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ptr;
use kernel::bindings;

use crate::base;
use crate::class::{enqueue_task, link, planned_release, stop_waiting};
use crate::edf::Job;
use crate::jobs::{job_clock, settle, Before};
use crate::rq::{Rq, RqLock, TaskRqLock};
use crate::smp::{offline_migration, push_tasks};
use crate::task::{task_of_timer, Task, TaskRef};
use crate::{container_of, CasioRq};

/// The function a [`HrTimer`] runs when it fires.
pub(crate) type TimerFn = unsafe extern "C" fn(*mut bindings::hrtimer) -> bindings::hrtimer_restart;

/// A `struct hrtimer` in CASIO's state. The hrtimer core changes it
/// behind Rust's back, from any CPU and in interrupt context, so Rust
/// never reads or writes it as a value: it only hands its address to the
/// hrtimer functions, as the kernel crate's `Opaque` fields do.
#[repr(transparent)]
pub struct HrTimer(UnsafeCell<MaybeUninit<bindings::hrtimer>>);

impl HrTimer {
    pub(crate) fn as_ptr(&self) -> *mut bindings::hrtimer {
        self.0.get().cast()
    }

    /// Sets the timer up from scratch to run `function`.
    ///
    /// # Safety
    ///
    /// Nobody else uses the timer; whatever it holds is not a live timer.
    pub(crate) unsafe fn init(&self, function: TimerFn) {
        // SAFETY: forwarded from the caller.
        unsafe { base::init_hrtimer(self.as_ptr(), function) };
    }

    /// Arms the timer to fire at `at` ns on CLOCK_MONOTONIC. Never waits
    /// for a running callback, so any lock may be held.
    ///
    /// # Safety
    ///
    /// The timer was set up with [`HrTimer::init`].
    pub(crate) unsafe fn start(&self, at: u64) {
        let expires = core::cmp::min(at, i64::MAX as u64) as i64;
        // SAFETY: forwarded from the caller.
        unsafe {
            bindings::hrtimer_start_range_ns(
                self.as_ptr(),
                expires,
                0,
                bindings::hrtimer_mode_HRTIMER_MODE_ABS_HARD,
            )
        };
    }

    /// Whether the timer is queued: armed and not yet expired.
    ///
    /// # Safety
    ///
    /// The timer was set up with [`HrTimer::init`].
    pub(crate) unsafe fn is_queued(&self) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { base::hrtimer_is_queued(self.as_ptr()) }
    }

    /// Stops the timer unless its callback runs; returns whether it was
    /// armed and is now stopped. Never waits.
    ///
    /// # Safety
    ///
    /// The timer was set up with [`HrTimer::init`].
    pub(crate) unsafe fn try_to_cancel(&self) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { bindings::hrtimer_try_to_cancel(self.as_ptr()) == 1 }
    }
}

/// Arms the timer of `p`, a CASIO task whose rq lock is held, to fire at
/// `at` on the job clock, moving an expiry already armed.
///
/// The timer holds one reference on the task from an arming until the
/// callback of the last expiry finds, under the rq lock, that nothing
/// armed it again (`timer_ref`). An arming while an expiry is pending,
/// or while a callback runs that has not yet looked, takes none: that
/// reference goes on to the new expiry. So references are balanced
/// however armings and callbacks on other CPUs interleave, which the
/// hrtimer state alone cannot tell (SCHED_DEADLINE's timer avoids the
/// question by never moving a queued expiry).
pub(crate) fn arm_timer(p: &mut Task<'_>, at: u64) {
    let raw = p.as_ptr();
    let se = p.se_mut();
    if se.timer_ref == 0 {
        // SAFETY: `p` is valid; the reference is dropped by the callback
        // that finds the timer not armed again, or by `reset_job()`.
        unsafe { TaskRef::get(raw) }.into_raw();
        // INVARIANT: the timer holds the reference just taken.
        se.timer_ref = 1;
    }
    // SAFETY: the timer was set up by `fork_entity()`.
    unsafe { se.timer.start(at) };
}

/// Checks the timer reference of `p`, whose rq lock is held, against its
/// hrtimer: a queued expiry holds one. For KUnit suites.
#[allow(dead_code)] // Called only by the bases that have a KUnit suite.
pub(crate) fn check_timer_ref(p: &Task<'_>) -> Result<(), &'static str> {
    let se = p.se();
    if se.timer_ref > 1 {
        return Err("the timer holds more than one task reference");
    }
    // SAFETY: the timer was set up by `fork_entity()`.
    if unsafe { se.timer.is_queued() } && se.timer_ref == 0 {
        return Err("a queued timer holds no task reference");
    }
    Ok(())
}

/// How long the timer of a task waiting on an offline CPU waits for the
/// task to switch out before it tries again to move it.
const SWITCH_OUT_RETRY_NS: u64 = 1_000_000;

/// Stops the timer of `p` unless its callback already runs, and forgets the
/// current job: the next enqueue releases a new one. `p` is referenced
/// by the caller, which holds its rq lock or knows it dead, and is on no
/// CASIO queue.
///
/// A task that waits for its release on an offline CPU keeps waiting, with
/// its timer fired at once: that timer is what moves it to an active CPU,
/// whatever its class is by then.
pub(crate) fn reset_job(p: &mut Task<'_>) {
    if p.se().waiting_release != 0 && p.queued() && !p.rq_online() {
        arm_timer(p, job_clock());
    } else {
        // SAFETY: the timer was set up by `fork_entity()`. A callback that
        // already runs finds no job, and keeps or drops the reference.
        if unsafe { p.se().timer.try_to_cancel() } {
            // INVARIANT: the cancelled expiry held the timer's reference.
            p.se_mut().timer_ref = 0;
            // SAFETY: that reference is dropped here; the caller holds
            // another, so this is not the last one.
            drop(unsafe { TaskRef::adopt(p.as_ptr()) });
        }
        p.se_mut().waiting_release = 0;
    }
    let se = p.se_mut();
    se.job = Job::default();
    se.pi_deadline = 0;
    // SAFETY: a single aligned word, also written by the CPU-timer tick.
    unsafe { ptr::write_volatile(&mut se.overrun, 0) };
}

/// The CASIO timer: at a job's deadline it counts a miss if the job is
/// still ready or running; at a release it queues the waiting task with
/// its new job. A task that waits on an offline CPU is first moved to an
/// active one.
///
/// Runs in hard interrupt context, without the rq lock, which it takes.
///
/// # Safety
///
/// Called by the hrtimer core, with `timer` the `casio.timer` of a task.
pub(crate) unsafe extern "C" fn casio_timer_fn(
    timer: *mut bindings::hrtimer,
) -> bindings::hrtimer_restart {
    // SAFETY: CASIO arms only the `casio.timer` of tasks, and the timer
    // holds a reference on its task until a callback finds it not armed
    // again (see `arm_timer()`): this one, below, under the rq lock.
    let task = unsafe { TaskRef::adopt(task_of_timer(timer)) };
    // SAFETY: `task` is valid; interrupts are already off here.
    let mut locked = unsafe { TaskRqLock::lock(task.as_ptr()) };
    // SAFETY: the lock of its rq is held until `locked` is dropped, after
    // the last use of `p`; this callback has the only handle of it.
    let mut p = unsafe { Task::from_raw(task.as_ptr()) };
    let waiting = p.se().waiting_release != 0;
    if waiting && !locked.rq().online() && p.queued() {
        if p.on_cpu() || locked.rq().is_curr(&p) {
            // It began to wait as it ran; once off the CPU it can move.
            // Its switch-out fires the timer again (`put_prev_task()`).
            arm_timer(&mut p, job_clock().saturating_add(SWITCH_OUT_RETRY_NS));
            return timer_callback_end(locked, task, &mut p);
        }
        // SAFETY: `p` is queued and not on a CPU, and its locks are held;
        // `offline_migration()` returns with the new rq locked instead.
        unsafe { locked.relock(|rq| offline_migration(rq, &p)) };
    }
    let casio = p.is_casio();
    let push = {
        let mut rq = locked.rq();
        rq.update_clock();
        if casio {
            timer_expired(&mut rq, &mut p);
        } else if waiting {
            // It left CASIO while it waited on an offline CPU, and is moved.
            p.se_mut().waiting_release = 0;
        }
        casio && rq.casio().pushable_earliest != 0
    };
    if push {
        // Pushing may drop the rq lock; `p->pi_lock` keeps `p` where it is.
        locked.unpinned(push_tasks);
    }
    timer_callback_end(locked, task, &mut p)
}

/// Ends the callback of the timer of `p`: unlocks its rq and drops the
/// timer's reference `task`, unless the timer was armed again meanwhile,
/// so that the new expiry holds it. Under the rq lock nothing can arm
/// it, and it cannot expire again before this callback returns: a timer
/// whose callback runs stays on that CPU's queue.
fn timer_callback_end(
    locked: TaskRqLock,
    task: TaskRef,
    p: &mut Task<'_>,
) -> bindings::hrtimer_restart {
    let se = p.se_mut();
    // SAFETY: the timer was set up by `fork_entity()`.
    let rearmed = unsafe { se.timer.is_queued() };
    if !rearmed {
        // INVARIANT: the reference is dropped below, once unlocked.
        se.timer_ref = 0;
    }
    drop(locked);
    if rearmed {
        task.into_raw();
    } else {
        drop(task);
    }
    base::HRTIMER_NORESTART
}

/// The timer of `p`, a CASIO task of the locked `rq`, fired.
pub(crate) fn timer_expired(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    let now = job_clock();
    let before = Before::of(p.se());
    if p.se().waiting_release != 0 {
        if !p.se().job.released() {
            // Its parameters changed while it waited on an offline CPU;
            // moved, it starts afresh, as any task whose parameters change.
            stop_waiting(rq, p);
            if p.queued() {
                enqueue_task(rq, p, 0);
            }
            return;
        }
        // Release at the planned time, one period after the last release,
        // however late the timer fired, so that releases do not drift.
        let planned = planned_release(p);
        if planned > now {
            // It fired early to move the task off an offline CPU.
            arm_timer(p, planned);
            return;
        }
        let exec = p.exec_runtime();
        stop_waiting(rq, p);
        let se = p.se_mut();
        se.job.release(&mut se.stats, planned, exec, &se.params);
        let deadline = se.job.deadline;
        arm_timer(p, deadline);
        if p.queued() {
            // A waiting task is not in the queue.
            link(rq, p);
            base::wakeup_preempt(rq, p);
        }
    } else if p.se().node.is_linked() {
        let se = p.se_mut();
        se.job.deadline_reached(&mut se.stats, now);
    }
    settle(rq, p, before);
}

/// The CASIO state of the runqueue whose cap timer is `timer`.
///
/// # Safety
///
/// `timer` is the `cap_timer` field of a [`CasioRq`].
pub(crate) unsafe fn casio_rq_of_timer(timer: *mut bindings::hrtimer) -> *mut CasioRq {
    let probe = MaybeUninit::<CasioRq>::uninit();
    container_of!(timer, probe.as_ptr(), cap_timer)
}

/// The end of a throttled window: the CPU may run CASIO tasks again.
///
/// Runs in hard interrupt context, without the rq lock, which it takes.
///
/// # Safety
///
/// Called by the hrtimer core, with `timer` the cap timer of a runqueue.
pub(crate) unsafe extern "C" fn casio_cap_timer_fn(
    timer: *mut bindings::hrtimer,
) -> bindings::hrtimer_restart {
    // SAFETY: only `casio_init_rq()` sets this callback, on the cap timer
    // of a runqueue, and runqueues are never freed.
    let raw = unsafe { (*casio_rq_of_timer(timer)).rq };
    // SAFETY: `raw` is a valid runqueue; interrupts are off here.
    let mut locked = unsafe { RqLock::lock(raw) };
    let mut rq = locked.rq();
    rq.casio().cap.unthrottle();
    if rq.has_runnable() {
        rq.resched_curr();
    }
    base::HRTIMER_NORESTART
}
