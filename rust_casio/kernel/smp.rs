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
use core::ptr;
use kernel::bindings;

use crate::base;
use crate::rd;
use crate::rq::{cpu_rq, earliest_unlocked, Rq};
use crate::task::{
    entity, is_casio_task, nr_cpus_allowed, on_rq_queued, task_deadline, task_of_push, TaskRef,
};

/// Whether `p`, a task of the locked `rq`, may move to `cpu` now.
///
/// # Safety
///
/// `p` is valid and the lock of `rq` is held.
pub(crate) unsafe fn can_move(rq: &Rq<'_>, p: *mut bindings::task_struct, cpu: c_int) -> bool {
    // SAFETY: `p` is valid; these fields change under its rq lock, held.
    unsafe {
        bindings::task_cpu(p) as c_int == rq.cpu()
            && is_casio_task(p)
            && on_rq_queued(p)
            && (*p).on_cpu == 0
            && (*p).migration_disabled == 0
            && (*entity(p)).push_node.is_linked()
            && base::cpumask_test_cpu(cpu, (*p).cpus_ptr)
    }
}

/// Moves the queued task `p` from `from` to `to`; both locks are held.
///
/// # Safety
///
/// `p` is a queued, not running task of `from`, allowed on `to`.
pub(crate) unsafe fn move_task(from: &Rq<'_>, to: &Rq<'_>, p: *mut bindings::task_struct) {
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
/// `p` is a valid pushable task of the locked `rq`, held by a reference.
pub(crate) unsafe fn find_lock_later_rq<'b>(
    rq: &mut Rq<'_>,
    p: *mut bindings::task_struct,
) -> Option<Rq<'b>> {
    for _ in 0..3 {
        // SAFETY: `p` is queued on the locked `rq`.
        let deadline = unsafe { task_deadline(p) };
        // SAFETY: `p` is valid and its rq lock is held.
        let cpu = unsafe { rd::find_cpu(p, deadline) }?;
        if cpu == rq.cpu() {
            return None;
        }
        let later = cpu_rq(cpu);
        // SAFETY: `later` is a valid runqueue.
        let earliest = unsafe { earliest_unlocked(later) };
        if earliest != 0 && earliest <= deadline {
            return None;
        }
        // SAFETY: the lock of `rq` is held, as double_lock_balance()
        // requires; it returns with both locks held.
        if unsafe { bindings::double_lock_balance(rq.as_ptr(), later) } != 0 {
            // The lock of `rq` was dropped: `p` may have run, moved or
            // changed its affinity meanwhile.
            // SAFETY: the lock of `rq` is held again; `p` is referenced.
            if unsafe { !can_move(rq, p, cpu) } {
                // SAFETY: pairs with the double_lock_balance() above.
                unsafe { bindings::double_unlock_balance(rq.as_ptr(), later) };
                return None;
            }
        }
        // SAFETY: the lock of `later` is held until the caller releases it.
        let mut later = unsafe { Rq::from_raw(later) };
        let earliest = later.casio().earliest;
        // SAFETY: `p` is still queued on the locked `rq`.
        if later.online() && (earliest == 0 || unsafe { task_deadline(p) } < earliest) {
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
    // SAFETY: every node of the pushable queue is a task's `push_node`.
    let p = unsafe { task_of_push(node) };
    // SAFETY: `p` is queued on the locked `rq`.
    let deadline = unsafe { task_deadline(p) };
    let curr = rq.curr();
    // SAFETY: `curr` is valid while the rq is locked.
    unsafe {
        let curr_se = &*entity(curr);
        if is_casio_task(curr)
            && curr_se.node.is_linked()
            && deadline < curr_se.node.key().deadline
            && nr_cpus_allowed(curr) > 1
        {
            // `p` preempts the task running here, which may then move.
            rq.resched_curr();
            return false;
        }
    }
    // SAFETY: `p` is valid; the reference keeps it so while the lock of
    // `rq` may be dropped.
    let _ref = unsafe { TaskRef::get(p) };
    // SAFETY: `p` is a pushable task of the locked `rq`, referenced.
    let moved = match unsafe { find_lock_later_rq(rq, p) } {
        Some(later) => {
            // SAFETY: both locks are held, and `p` is a queued, not
            // running, pushable task of `rq` allowed on `later`.
            unsafe { move_task(rq, &later, p) };
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
    for _ in 0..64 {
        if !push_one(rq) {
            break;
        }
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
        let src = cpu_rq(cpu);
        let ours = match rq.casio().earliest {
            0 => u64::MAX,
            d => d,
        };
        // SAFETY: `src` is a valid runqueue; the word is rechecked below.
        let theirs = unsafe { ptr::read_volatile(ptr::addr_of!((*src).casio.pushable_earliest)) };
        if theirs == 0 || theirs >= ours {
            continue;
        }
        // SAFETY: the lock of `rq` is held; both are held on return.
        unsafe { bindings::double_lock_balance(rq.as_ptr(), src) };
        // SAFETY: the lock of `src` is held until the unlock below.
        let mut src = unsafe { Rq::from_raw(src) };
        if let Some(node) = src.casio().pushable.earliest() {
            // SAFETY: every node of the pushable queue is a task's
            // `push_node`, and `p` is queued on the locked `src`.
            let (p, deadline) = unsafe {
                let p = task_of_push(node);
                (p, task_deadline(p))
            };
            let ours = match rq.casio().earliest {
                0 => u64::MAX,
                d => d,
            };
            let curr = src.curr();
            // A task about to preempt what runs on `src` stays there.
            // SAFETY: `curr` is valid while `src` is locked.
            let preempts_curr = unsafe {
                is_casio_task(curr)
                    && (*entity(curr)).node.is_linked()
                    && deadline < task_deadline(curr)
            };
            // SAFETY: `p` is a task of the locked `src`.
            if deadline < ours && !preempts_curr && unsafe { can_move(&src, p, this_cpu) } {
                // SAFETY: both locks are held; `p` is queued, not running,
                // and allowed here.
                unsafe { move_task(&src, rq, p) };
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

/// `task_woken`: `p` was queued on `rq` by a wake-up and does not run; if
/// it cannot preempt here, another CPU may run it.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, not pinned, and `p` a
/// CASIO task of it.
pub(crate) unsafe fn task_woken(rq: &mut Rq<'_>, p: *mut bindings::task_struct) {
    let curr = rq.curr();
    // SAFETY: both tasks are valid and their entities rq-protected.
    let push = unsafe {
        (*p).on_cpu == 0
            && (*entity(p)).push_node.is_linked()
            && is_casio_task(curr)
            && (*entity(curr)).node.is_linked()
            && (nr_cpus_allowed(curr) < 2 || task_deadline(curr) <= task_deadline(p))
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
/// task away.
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
}

/// Moves `p`, waiting on the offline `rq` for its release, to an active
/// CPU; returns that CPU's runqueue, locked instead of `rq`.
///
/// # Safety
///
/// `p` is a CASIO task of `rq`, whose lock and `p->pi_lock` are held, and
/// not running (the CPU is offline).
pub(crate) unsafe fn offline_migration(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
) -> *mut bindings::rq {
    // SAFETY: `p` is valid and its `pi_lock` is held.
    let cpu = unsafe { rd::fallback_cpu(p) };
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
