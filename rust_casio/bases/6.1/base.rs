// SPDX-License-Identifier: GPL-2.0

//! The adaptation to Linux 6.1: the entry points of the class table in
//! `kernel/sched/casio.c` whose signatures or work differ from other
//! bases (the others are in `entry.rs`), and how this base reads `curr`,
//! charges runtime, asks for preemption and sets timers up. What differs
//! between kernel bases lives here and in the base's C files and hunks;
//! the modules it calls are the same for every base.

use core::ffi::c_int;
use core::ptr;
use kernel::bindings;

use crate::class;
use crate::entry::pick_if_queued;
use crate::rq::Rq;
use crate::task::Task;
use crate::timer::TimerFn;
/// What a timer callback returns when it is not to run again.
pub(crate) const HRTIMER_NORESTART: bindings::hrtimer_restart =
    bindings::hrtimer_restart_HRTIMER_NORESTART;

/// Whether `cpu` is in `mask`.
///
/// # Safety
///
/// `mask` points to a valid CPU mask and `cpu` is below `nr_cpu_ids`.
pub(crate) unsafe fn cpumask_test_cpu(cpu: c_int, mask: *const bindings::cpumask) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe { bindings::cpumask_test_cpu(cpu, mask) }
}

/// Sets the hrtimer at `timer` up from scratch, on CLOCK_MONOTONIC (the
/// job clock), to run `function` in hard interrupt context.
///
/// # Safety
///
/// Nobody else uses the timer; whatever it holds is not a live timer.
pub(crate) unsafe fn init_hrtimer(timer: *mut bindings::hrtimer, function: TimerFn) {
    // SAFETY: `hrtimer_init()` overwrites the whole timer, which nobody
    // else uses; then the callback is set before anyone can arm it.
    unsafe {
        bindings::hrtimer_init(
            timer,
            bindings::CLOCK_MONOTONIC as bindings::clockid_t,
            bindings::hrtimer_mode_HRTIMER_MODE_ABS_HARD,
        );
        (*timer).function = Some(function);
    }
}

/// Whether the hrtimer at `timer` is queued: armed and not yet expired.
///
/// # Safety
///
/// `timer` was set up with [`init_hrtimer`].
pub(crate) unsafe fn hrtimer_is_queued(timer: *mut bindings::hrtimer) -> bool {
    // SAFETY: `timer` is valid; `state` is a byte the hrtimer core
    // writes under its base lock, read once as `hrtimer_is_queued()` does.
    let state = unsafe { ptr::read_volatile(ptr::addr_of!((*timer).state)) };
    u32::from(state) & bindings::HRTIMER_STATE_ENQUEUED != 0
}

/// The interrupt state `raw_spin_lock_irqsave()` saves: an unsigned long,
/// as this base's bindings spell it.
pub(crate) type IrqFlags = core::ffi::c_ulong;

/// The task running on `rq`, `rq->curr`.
pub(crate) fn rq_curr(rq: &Rq<'_>) -> *mut bindings::task_struct {
    // SAFETY: the rq is valid; `curr` only changes under its lock.
    unsafe { (*rq.as_ptr()).curr }
}

/// Charges the running task of `rq` for its time since it was last
/// charged, up to `now` (the rq task clock): its runtime sum, its group
/// and its cgroup. Returns the time charged; none if not positive.
pub(crate) fn charge_curr(rq: &mut Rq<'_>, now: u64) -> i64 {
    let curr = rq.curr();
    // SAFETY: `curr` is valid while the rq is locked; `se.exec_start` is
    // only written under the rq lock.
    let delta = now.wrapping_sub(unsafe { (*curr).se.exec_start }) as i64;
    if delta > 0 {
        // SAFETY: `curr` is the running task of the locked rq.
        unsafe { bindings::update_current_exec_runtime(curr, now, delta as u64) };
    }
    delta
}

/// Asks the core whether the CASIO task `p`, just queued on `rq`,
/// preempts what runs there.
pub(crate) fn wakeup_preempt(rq: &mut Rq<'_>, p: &Task<'_>) {
    // SAFETY: the rq is locked and `p` is queued on it.
    unsafe { bindings::check_preempt_curr(rq.as_ptr(), p.as_ptr(), 0) };
}

/// `dequeue_task`: [`class::dequeue_task`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` a CASIO task of it.
#[no_mangle]
pub unsafe extern "C" fn casio_dequeue_task(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    flags: c_int,
) {
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, mut p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    class::dequeue_task(&mut rq, &mut p, flags);
}

/// `check_preempt_curr`: [`class::check_preempt_curr`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, `p` and `rq->curr` CASIO tasks.
#[no_mangle]
pub unsafe extern "C" fn casio_check_preempt_curr(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    _flags: c_int,
) {
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    class::check_preempt_curr(&mut rq, &p);
}

/// `set_next_task`: [`class::set_next_task`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` a CASIO task of it.
#[no_mangle]
pub unsafe extern "C" fn casio_set_next_task(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    first: bool,
) {
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, mut p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    class::set_next_task(&mut rq, &mut p, first);
}

/// `pick_next_task`: picks and starts the earliest-deadline task.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_pick_next_task(rq: *mut bindings::rq) -> *mut bindings::task_struct {
    // SAFETY: the core passes its locked runqueue.
    unsafe { pick_if_queued(rq, pick_next_queued) }
}

/// [`casio_pick_next_task`] with a task queued ([`pick_if_queued`]).
#[inline(never)]
fn pick_next_queued(mut rq: Rq<'_>) -> *mut bindings::task_struct {
    let p = class::pick_task(&mut rq);
    if p.is_null() {
        return p;
    }
    // SAFETY: `p` is a queued CASIO task of the locked rq, of which this
    // is the only handle.
    let mut next = unsafe { Task::from_raw(p) };
    // `curr` is still the task switched from.
    class::report_switch(&rq, &next);
    class::set_next_task(&mut rq, &mut next, true);
    p
}

/// `put_prev_task`: [`class::put_prev_task`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` its current task.
#[no_mangle]
pub unsafe extern "C" fn casio_put_prev_task(rq: *mut bindings::rq, p: *mut bindings::task_struct) {
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, mut p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    class::put_prev_task(&mut rq, &mut p);
}

/// `pick_task`: [`class::pick_task`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_pick_task(rq: *mut bindings::rq) -> *mut bindings::task_struct {
    // SAFETY: the core passes its locked runqueue.
    unsafe { pick_if_queued(rq, pick_queued) }
}

/// [`casio_pick_task`] with a task queued ([`pick_if_queued`]).
#[inline(never)]
fn pick_queued(mut rq: Rq<'_>) -> *mut bindings::task_struct {
    class::pick_task(&mut rq)
}

/// `balance`: [`class::balance`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and pinned by `rf`.
#[no_mangle]
pub unsafe extern "C" fn casio_balance(
    rq: *mut bindings::rq,
    prev: *mut bindings::task_struct,
    rf: *mut bindings::rq_flags,
) -> c_int {
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { class::balance(&mut Rq::from_raw(rq), prev, rf) }
}

/// `prio_changed`: [`class::prio_changed`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, `p` a CASIO task of it.
#[no_mangle]
pub unsafe extern "C" fn casio_prio_changed(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    _oldprio: c_int,
) {
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, mut p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    class::prio_changed(&mut rq, &mut p);
}
