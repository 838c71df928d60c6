// SPDX-License-Identifier: GPL-2.0

//! The entry points of the class table whose signatures are the same on
//! every kernel base this series supports, each handing the locked
//! runqueue to the class logic. Those that differ are in `base.rs`, and
//! their pick entry points share [`pick_if_queued`].

use core::ffi::c_int;
use kernel::bindings;

use crate::class;
use crate::jobs::update_curr;
use crate::rq::Rq;
use crate::smp::{self, pull_tasks, push_tasks};
use crate::task::Task;

/// What a pick entry point of `base.rs` does first. Every pick of an RT
/// or fair task asks CASIO first (stop > dl > casio > rt > fair), nearly
/// always of an empty queue: the test comes before anything that needs a
/// stack frame, and `pick`, out of line, does the rest, so that the empty
/// case is a compare and a return.
///
/// # Safety
///
/// `rq` is the runqueue the core passes to a pick entry point, locked.
#[inline(always)]
pub(crate) unsafe fn pick_if_queued(
    rq: *mut bindings::rq,
    pick: impl FnOnce(Rq<'_>) -> *mut bindings::task_struct,
) -> *mut bindings::task_struct {
    // SAFETY: forwarded from the caller.
    let rq = unsafe { Rq::from_raw(rq) };
    if !rq.has_queued() {
        return core::ptr::null_mut();
    }
    pick(rq)
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
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, mut p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    class::enqueue_task(&mut rq, &mut p, flags);
}

/// `yield_task`: [`class::yield_task`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and a CASIO task running.
#[no_mangle]
pub unsafe extern "C" fn casio_yield_task(rq: *mut bindings::rq) {
    // SAFETY: the core passes its locked runqueue.
    class::yield_task(&mut unsafe { Rq::from_raw(rq) });
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
    // SAFETY: the core passes a task whose `pi_lock` it holds, which keeps
    // its CASIO state still here; this is its only handle.
    class::select_task_rq(&unsafe { Task::from_raw(p) }, cpu, flags)
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
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, mut p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    class::switched_to(&mut rq, &mut p);
}

/// `switched_from`: [`class::switched_from`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` of it.
#[no_mangle]
pub unsafe extern "C" fn casio_switched_from(rq: *mut bindings::rq, p: *mut bindings::task_struct) {
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, mut p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    class::switched_from(&mut rq, &mut p);
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

/// `task_woken`: [`smp::task_woken`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, not pinned, and `p` a
/// CASIO task of it.
#[no_mangle]
pub unsafe extern "C" fn casio_task_woken(rq: *mut bindings::rq, p: *mut bindings::task_struct) {
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    smp::task_woken(&mut rq, &p);
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
