// SPDX-License-Identifier: GPL-2.0

//! Global EDF: push and pull. Each CPU queues its own CASIO tasks; the
//! root domain keeps the CPUs in a heap by their earliest deadline
//! ([`crate::rd`]). A task goes where it would run at once when it wakes
//! (`select_task_rq`); a CPU pushes the tasks it cannot run to CPUs that
//! would run them (after a wake-up, and once the next task is set), and
//! pulls the earliest task it could run when its own CASIO task blocks,
//! as the deadline class does. Migrations take both runqueue locks with
//! `double_lock_balance()`, which may drop the lock held.

use core::ffi::c_int;
use kernel::bindings;

use crate::class::hurry_waiting;
use crate::rd;
use crate::rq::{cpu_rq, earliest_unlocked, pushable_unlocked, Rq};
use crate::task::{task_of_push, Task, TaskRef};

/// The most tasks one push moves: each push moves one task away, so a
/// push ends anyway; the bound keeps an interrupt-off section short.
const MAX_PUSHES: usize = 64;

/// Whether `p`, a task of the locked `rq`, may move to `cpu` now.
pub(crate) fn can_move(rq: &Rq<'_>, p: &Task<'_>, cpu: c_int) -> bool {
    p.cpu() == rq.cpu()
        && p.is_casio()
        && p.queued()
        && !p.on_cpu()
        && p.se().push_node.is_linked()
        && p.may_move_to(cpu)
}

/// Moves the queued task `p` from `from` to `to`; both locks are held.
///
/// # Safety
///
/// `p` is a queued, not running task of `from`, allowed on `to`.
pub(crate) unsafe fn move_task(from: &Rq<'_>, to: &Rq<'_>, p: &Task<'_>) {
    let p = p.as_ptr();
    // SAFETY: both runqueues are locked and `p` may move, as the caller
    // guarantees; this is how the core migrates a queued task.
    unsafe {
        bindings::deactivate_task(from.as_ptr(), p, 0);
        bindings::set_task_cpu(p, to.cpu() as u32);
        bindings::activate_task(to.as_ptr(), p, 0);
    }
}

/// Finds and locks a CPU that would run the pushable task `p` of `rq` at
/// once, taking the lock of its runqueue too. The lock of `rq` may be
/// dropped meanwhile; `None` if there is no such CPU or `p` changed.
///
/// # Safety
///
/// `p` is held by a reference: it stays valid while the lock of `rq` is
/// dropped.
pub(crate) unsafe fn find_lock_later_rq<'b>(rq: &mut Rq<'_>, p: &Task<'_>) -> Option<Rq<'b>> {
    for _ in 0..3 {
        let deadline = p.queued_deadline();
        // SAFETY: `p` is valid and its rq lock is held.
        let cpu = unsafe { rd::find_cpu(p.as_ptr(), deadline) }?;
        if cpu == rq.cpu() {
            return None;
        }
        let earliest = earliest_unlocked(cpu);
        if earliest != 0 && earliest <= deadline {
            return None;
        }
        let later = cpu_rq(cpu);
        // SAFETY: the lock of `rq` is held, as double_lock_balance()
        // requires; it returns with both locks held.
        if unsafe { bindings::double_lock_balance(rq.as_ptr(), later) } != 0 {
            // The lock of `rq` was dropped: `p` may have run, moved or
            // changed its affinity meanwhile.
            if !can_move(rq, p, cpu) {
                // SAFETY: pairs with the double_lock_balance() above.
                unsafe { bindings::double_unlock_balance(rq.as_ptr(), later) };
                return None;
            }
        }
        // SAFETY: the lock of `later` is held until the caller releases it.
        let mut later = unsafe { Rq::from_raw(later) };
        let earliest = later.casio().earliest;
        // `p` is still queued on the locked `rq`.
        if later.online() && (earliest == 0 || p.queued_deadline() < earliest) {
            return Some(later);
        }
        // SAFETY: pairs with the double_lock_balance() above.
        unsafe { bindings::double_unlock_balance(rq.as_ptr(), later.as_ptr()) };
    }
    None
}

/// Moves the earliest pushable task of `rq` to a CPU that runs it at
/// once; returns whether it did.
pub(crate) fn push_one(rq: &mut Rq<'_>) -> bool {
    let node = match rq.casio().pushable.earliest() {
        Some(node) => node,
        None => return false,
    };
    // SAFETY: every node of the pushable queue is the `push_node` of a
    // task queued on the locked `rq`, and not the running one, so this is
    // its only handle here.
    let p = unsafe { Task::from_raw(task_of_push(node)) };
    let deadline = p.queued_deadline();
    if matches!(rq.curr_queued_key(), Some(curr) if deadline < curr.deadline)
        && rq.curr_nr_cpus_allowed() > 1
    {
        // `p` preempts the task running here, which may then move.
        rq.resched_curr();
        return false;
    }
    // SAFETY: `p` is valid; the reference keeps it so while the lock of
    // `rq` may be dropped.
    let _ref = unsafe { TaskRef::get(p.as_ptr()) };
    // SAFETY: `p` is referenced.
    let moved = match unsafe { find_lock_later_rq(rq, &p) } {
        Some(later) => {
            // SAFETY: both locks are held, and `p` is a queued, not
            // running, pushable task of `rq` allowed on `later`.
            unsafe { move_task(rq, &later, &p) };
            later.resched_curr();
            // SAFETY: pairs with the double_lock_balance() that locked it.
            unsafe { bindings::double_unlock_balance(rq.as_ptr(), later.as_ptr()) };
            true
        }
        None => false,
    };
    moved
}

/// Pushes the tasks `rq` cannot run to CPUs that run them at once.
pub(crate) fn push_tasks(rq: &mut Rq<'_>) {
    // Each push moves a task away, so this ends; the bound is for safety.
    for _ in 0..MAX_PUSHES {
        if !push_one(rq) {
            break;
        }
    }
}

/// The earliest deadline of `rq`, or the latest possible one if it has
/// no CASIO task: what a task must beat to be pulled there.
fn pull_bound(rq: &mut Rq<'_>) -> u64 {
    match rq.casio().earliest {
        0 => u64::MAX,
        d => d,
    }
}

/// Pulls to `rq` the earliest pushable task of each overloaded CPU that
/// is earlier than anything `rq` would run.
pub(crate) fn pull_tasks(rq: &mut Rq<'_>) {
    if !rq.online() {
        return;
    }
    let this_cpu = rq.cpu();
    let mut pulled = false;
    let mut cpu = -1;
    loop {
        // SAFETY: the rq is locked and online, so it has a root domain.
        cpu = match unsafe { rd::next_overloaded(rq.as_ptr(), cpu) } {
            Some(cpu) => cpu,
            None => break,
        };
        if cpu == this_cpu {
            continue;
        }
        let theirs = pushable_unlocked(cpu);
        if theirs == 0 || theirs >= pull_bound(rq) {
            continue;
        }
        let src = cpu_rq(cpu);
        // SAFETY: the lock of `rq` is held; both are held on return.
        unsafe { bindings::double_lock_balance(rq.as_ptr(), src) };
        // SAFETY: the lock of `src` is held until the unlock below.
        let mut src = unsafe { Rq::from_raw(src) };
        if let Some(node) = src.casio().pushable.earliest() {
            // SAFETY: every node of the pushable queue is the `push_node`
            // of a task queued on the locked `src`, not its running one.
            let p = unsafe { Task::from_raw(task_of_push(node)) };
            let deadline = p.queued_deadline();
            // A task about to preempt what runs on `src` stays there.
            let preempts_curr = matches!(src.curr_queued_key(), Some(c) if deadline < c.deadline);
            if deadline < pull_bound(rq) && !preempts_curr && can_move(&src, &p, this_cpu) {
                // SAFETY: both locks are held; `p` is queued, not running,
                // and allowed here.
                unsafe { move_task(&src, rq, &p) };
                pulled = true;
            }
        }
        // SAFETY: pairs with the double_lock_balance() above.
        unsafe { bindings::double_unlock_balance(rq.as_ptr(), src.as_ptr()) };
    }
    if pulled {
        rq.resched_curr();
    }
}

/// `task_woken`: `p` was queued on `rq`, locked and not pinned, by a
/// wake-up and does not run; if it cannot preempt here, another CPU may
/// run it.
pub(crate) fn task_woken(rq: &mut Rq<'_>, p: &Task<'_>) {
    let push = !p.on_cpu()
        && p.se().push_node.is_linked()
        && match rq.curr_queued_key() {
            Some(curr) => rq.curr_nr_cpus_allowed() < 2 || curr.deadline <= p.queued_deadline(),
            None => false,
        };
    if push {
        push_tasks(rq);
    }
}

/// `rq_online`: the CPU joins its root domain's view of CASIO.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
pub(crate) unsafe fn rq_online(rq: &mut Rq<'_>) {
    let crq = rq.casio();
    let (earliest, pushable) = (crq.earliest, crq.pushable_earliest);
    // SAFETY: the rq is locked and online.
    unsafe {
        rd::set(rq.as_ptr(), earliest);
        if pushable != 0 {
            rd::set_overload(rq.as_ptr(), true);
        }
    }
}

/// `rq_offline`: the CPU leaves its root domain's view of CASIO, and its
/// cap no longer throttles it, so that the core can move every queued
/// task away; the timers of the tasks waiting for a release move those.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
pub(crate) unsafe fn rq_offline(rq: &mut Rq<'_>) {
    // SAFETY: the rq is locked and still in its root domain's sets.
    unsafe {
        if rq.casio().pushable_earliest != 0 {
            rd::set_overload(rq.as_ptr(), false);
        }
        rd::clear(rq.as_ptr());
    }
    let crq = rq.casio();
    // SAFETY: the timer was set up by `init_rq()`; a callback that already
    // runs only unthrottles.
    unsafe { crq.cap_timer.try_to_cancel() };
    crq.cap.unthrottle();
    hurry_waiting(rq);
}

/// Moves `p`, waiting on the offline `rq` for its release, to an active
/// CPU; returns that CPU's runqueue, locked instead of `rq`.
///
/// # Safety
///
/// `p` is a queued task of `rq`, whose lock and `p->pi_lock` are held,
/// and not on a CPU.
pub(crate) unsafe fn offline_migration(rq: *mut bindings::rq, p: &Task<'_>) -> *mut bindings::rq {
    // SAFETY: `p` is valid and its `pi_lock` is held.
    let cpu = unsafe { rd::fallback_cpu(p.as_ptr()) };
    let later = cpu_rq(cpu);
    if later == rq {
        // The CPU is coming back: active, but not yet online here.
        return rq;
    }
    // SAFETY: the lock of `rq` is held; `p->pi_lock` keeps `p` on `rq`
    // even if the rq lock is dropped, since it is in no pushable queue.
    unsafe { bindings::double_lock_balance(rq, later) };
    // SAFETY: both locks are held.
    unsafe {
        let (from, to) = (Rq::from_raw(rq), Rq::from_raw(later));
        move_task(&from, &to, p);
        // Keeps the lock of `later`, releases that of `rq`.
        bindings::double_unlock_balance(later, rq);
    }
    later
}
