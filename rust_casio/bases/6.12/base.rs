// SPDX-License-Identifier: GPL-2.0

//! The adaptation to Linux 6.12: the entry points of the class table in
//! `kernel/sched/casio.c`, with this base's callback signatures, each
//! handing the locked runqueue to the base-independent class logic.
//! What differs between kernel bases lives here and in the base's C
//! hunks; the modules it calls are the same for every base.

use core::ffi::c_int;
use kernel::bindings;

use crate::class;
use crate::jobs::update_curr;
use crate::rq::Rq;
use crate::smp::{self, pull_tasks, push_tasks};
use crate::timer::TimerFn;

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

/// The interrupt state `raw_spin_lock_irqsave()` saves: an unsigned long,
/// as this base's bindings spell it.
pub(crate) type IrqFlags = usize;

/// The task running on `rq`, `rq->curr`.
pub(crate) fn rq_curr(rq: &Rq<'_>) -> *mut bindings::task_struct {
    // SAFETY: the rq is valid; `curr` only changes under its lock. It
    // shares a union with `donor`, the same task without proxy execution.
    unsafe { (*rq.as_ptr()).__bindgen_anon_1.curr }
}

/// Charges the running task of `rq` for its time since it was last
/// charged, up to `now` (the rq task clock): its runtime sum, its group
/// and its cgroup. Returns the time charged; none if not positive.
pub(crate) fn charge_curr(rq: &mut Rq<'_>, _now: u64) -> i64 {
    // SAFETY: the rq is locked; `update_curr_common()` charges its
    // `curr` up to `rq_clock_task()`, which is `now`.
    unsafe { bindings::update_curr_common(rq.as_ptr()) }
}

/// Asks the core whether the CASIO task `p`, just queued on `rq`,
/// preempts what runs there.
///
/// # Safety
///
/// `p` is queued on `rq`.
pub(crate) unsafe fn wakeup_preempt(rq: &mut Rq<'_>, p: *mut bindings::task_struct) {
    // SAFETY: the rq is locked and `p` is queued on it.
    unsafe { bindings::wakeup_preempt(rq.as_ptr(), p, 0) };
}

/// `enqueue_task`: [`class::enqueue_task`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` a task of the
/// CASIO class that is not queued.
#[no_mangle]
pub unsafe extern "C" fn casio_enqueue_task(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    flags: c_int,
) {
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { class::enqueue_task(&mut Rq::from_raw(rq), p, flags) }
}

/// `dequeue_task`: [`class::dequeue_task`]; the task always leaves.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` a CASIO task of it.
#[no_mangle]
pub unsafe extern "C" fn casio_dequeue_task(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    flags: c_int,
) -> bool {
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { class::dequeue_task(&mut Rq::from_raw(rq), p, flags) };
    true
}

/// `yield_task`: [`class::yield_task`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and a CASIO task running.
#[no_mangle]
pub unsafe extern "C" fn casio_yield_task(rq: *mut bindings::rq) {
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { class::yield_task(&mut Rq::from_raw(rq)) }
}

/// `wakeup_preempt`: [`class::check_preempt_curr`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, `p` and `rq->curr` CASIO tasks.
#[no_mangle]
pub unsafe extern "C" fn casio_wakeup_preempt(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    _flags: c_int,
) {
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { class::check_preempt_curr(&mut Rq::from_raw(rq), p, _flags) }
}

/// `pick_task`: [`class::pick_task`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_pick_task(rq: *mut bindings::rq) -> *mut bindings::task_struct {
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { class::pick_task(&mut Rq::from_raw(rq)) }
}

/// `set_next_task`: [`class::set_next_task`]. After a pick (`first`),
/// `curr` is still the task switched from, and the switch is reported.
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
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    let prev = rq.curr();
    // SAFETY: `p` is a CASIO task of the locked rq, and `prev` a valid
    // task of it.
    unsafe {
        class::set_next_task(&mut rq, p, first);
        if first && prev != p {
            class::report_switch(prev, p);
        }
    }
}

/// `pick_next_task`: [`class::pick_task`], and the switch to the task
/// picked. The core switches by itself after `pick_task`, but says
/// nothing to the class when the running task is picked again; the tasks
/// queued behind it must still be pushed then ([`class::picked`]).
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `prev` its current task.
#[no_mangle]
pub unsafe extern "C" fn casio_pick_next_task(
    rq: *mut bindings::rq,
    prev: *mut bindings::task_struct,
) -> *mut bindings::task_struct {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    // SAFETY: the rq is locked.
    let p = unsafe { class::pick_task(&mut rq) };
    if p.is_null() {
        return p;
    }
    // SAFETY: `prev` is the current task of the locked rq and `p` a queued
    // CASIO task of it, as `put_prev_set_next_task()` needs.
    unsafe { bindings::put_prev_set_next_task(rq.as_ptr(), prev, p) };
    if p == prev {
        class::picked(&mut rq);
    }
    p
}

/// `put_prev_task`: [`class::put_prev_task`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` its current task.
#[no_mangle]
pub unsafe extern "C" fn casio_put_prev_task(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    _next: *mut bindings::task_struct,
) {
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { class::put_prev_task(&mut Rq::from_raw(rq), p) }
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

/// `select_task_rq`: [`class::select_task_rq`].
///
/// # Safety
///
/// Called by the scheduler core with `p->pi_lock` held and no rq lock.
#[no_mangle]
pub unsafe extern "C" fn casio_select_task_rq(
    p: *mut bindings::task_struct,
    cpu: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { class::select_task_rq(p, cpu, flags) }
}

/// `task_tick`: charges the running task on every tick.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_task_tick(
    rq: *mut bindings::rq,
    _p: *mut bindings::task_struct,
    _queued: c_int,
) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    update_curr(&mut rq);
}

/// `update_curr`: charges the running task, for readers of its runtime.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_update_curr(rq: *mut bindings::rq) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    update_curr(&mut rq);
}

/// `switched_to`: [`class::switched_to`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, `p` a CASIO task of it.
#[no_mangle]
pub unsafe extern "C" fn casio_switched_to(rq: *mut bindings::rq, p: *mut bindings::task_struct) {
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { class::switched_to(&mut Rq::from_raw(rq), p) }
}

/// `switched_from`: [`class::switched_from`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` of it.
#[no_mangle]
pub unsafe extern "C" fn casio_switched_from(rq: *mut bindings::rq, p: *mut bindings::task_struct) {
    // SAFETY: forwarded from the caller.
    unsafe { class::switched_from(&mut Rq::from_raw(rq), p) }
}

/// `task_dead`: [`class::task_dead`].
///
/// # Safety
///
/// Called by the scheduler core for a dead task it still holds.
#[no_mangle]
pub unsafe extern "C" fn casio_task_dead(p: *mut bindings::task_struct) {
    // SAFETY: forwarded from the caller.
    unsafe { class::task_dead(p) }
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
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { class::prio_changed(&mut Rq::from_raw(rq), p, _oldprio) }
}

/// `task_woken`: [`smp::task_woken`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, not pinned, and `p` a
/// CASIO task of it.
#[no_mangle]
pub unsafe extern "C" fn casio_task_woken(rq: *mut bindings::rq, p: *mut bindings::task_struct) {
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { smp::task_woken(&mut Rq::from_raw(rq), p) }
}

/// `rq_online`: [`smp::rq_online`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_rq_online(rq: *mut bindings::rq) {
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { smp::rq_online(&mut Rq::from_raw(rq)) }
}

/// `rq_offline`: [`smp::rq_offline`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_rq_offline(rq: *mut bindings::rq) {
    // SAFETY: forwarded from the caller; the core passes its locked runqueue.
    unsafe { smp::rq_offline(&mut Rq::from_raw(rq)) }
}

/// Balance callback: pushes the tasks `rq` cannot run.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, not pinned.
#[no_mangle]
pub unsafe extern "C" fn casio_push_tasks(rq: *mut bindings::rq) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    push_tasks(&mut rq);
}

/// Balance callback: pulls earlier tasks to `rq` from overloaded CPUs.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, not pinned.
#[no_mangle]
pub unsafe extern "C" fn casio_pull_tasks(rq: *mut bindings::rq) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    pull_tasks(&mut rq);
}

/// `init_rq`: [`class::init_rq`].
///
/// # Safety
///
/// `rq` points to a runqueue nobody uses yet.
#[no_mangle]
pub unsafe extern "C" fn casio_init_rq(rq: *mut bindings::rq) {
    // SAFETY: forwarded from the caller.
    unsafe { class::init_rq(rq) }
}

/// `fork_entity`: [`class::fork_entity`].
///
/// # Safety
///
/// `p` is a task being set up by `fork()`, not yet visible to anyone.
/// Process context.
#[no_mangle]
pub unsafe extern "C" fn casio_fork_entity(p: *mut bindings::task_struct) {
    // SAFETY: forwarded from the caller.
    unsafe { class::fork_entity(p) }
}
