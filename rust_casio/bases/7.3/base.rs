// SPDX-License-Identifier: GPL-2.0

//! The adaptation to Linux 7.3: the entry points of the class table in
//! `kernel/sched/casio.c` whose signatures or work differ from other
//! bases (the others are in `entry.rs`), and how this base reads the
//! running task, charges runtime, asks for preemption and sets timers up.
//! What differs between kernel bases lives here and in the base's C files
//! and hunks; the modules it calls are the same for every base.
//!
//! Every decision takes `rq->donor`, the task whose scheduling context
//! runs: runtime is charged to it and a woken task is compared with it.
//! The class depends on !SCHED_PROXY_EXEC, so it is also `rq->curr`.
//!
//! Of this base's `kernel` crate the class uses `declare_trace!` and
//! `static_branch_unlikely!` (`report.rs`) and `#[kunit_tests]`
//! (`kunit.rs`), which no other base has. What the modules shared with
//! 6.1 and 6.12 do stays as it is there: the root domain's overload
//! count is a `core` `AtomicI32` over the C `atomic_t`, the same
//! operations `Atomic<i32>::from_ptr()` would give; its CPU masks are
//! used through the C helpers, where `Cpumask::as_ref()` would wrap the
//! same calls; and the queue self-benchmark's debugfs file is created by
//! `queue_bench.c`, shared C. Each would be a second copy of shared
//! code for one base.

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
    bindings::hrtimer_restart::HRTIMER_NORESTART;

/// Whether `cpu` is in `mask`.
///
/// This base's helper takes a mutable mask; it does not write it.
///
/// # Safety
///
/// `mask` points to a valid CPU mask and `cpu` is below `nr_cpu_ids`.
pub(crate) unsafe fn cpumask_test_cpu(cpu: c_int, mask: *const bindings::cpumask) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe { bindings::cpumask_test_cpu(cpu, mask.cast_mut()) }
}

/// Sets the hrtimer at `timer` up from scratch, on CLOCK_MONOTONIC (the
/// job clock), to run `function` in hard interrupt context.
///
/// # Safety
///
/// Nobody else uses the timer; whatever it holds is not a live timer.
pub(crate) unsafe fn init_hrtimer(timer: *mut bindings::hrtimer, function: TimerFn) {
    // SAFETY: `hrtimer_setup()` overwrites the whole timer, which nobody
    // else uses, callback included.
    unsafe {
        bindings::hrtimer_setup(
            timer,
            Some(function),
            bindings::CLOCK_MONOTONIC as bindings::clockid_t,
            bindings::hrtimer_mode_HRTIMER_MODE_ABS_HARD,
        )
    };
}

/// Whether the hrtimer at `timer` is queued: armed and not yet expired.
///
/// # Safety
///
/// `timer` was set up with [`init_hrtimer`].
pub(crate) unsafe fn hrtimer_is_queued(timer: *mut bindings::hrtimer) -> bool {
    // SAFETY: `timer` is valid; `is_queued` is a bool the hrtimer core
    // writes under its base lock, read once as `hrtimer_is_queued()` does.
    unsafe { ptr::read_volatile(ptr::addr_of!((*timer).is_queued)) }
}

/// The interrupt state `raw_spin_lock_irqsave()` saves: an unsigned long,
/// as this base's bindings spell it.
pub(crate) type IrqFlags = usize;

/// The task whose scheduling context runs on `rq`, `rq->donor`.
pub(crate) fn rq_curr(rq: &Rq<'_>) -> *mut bindings::task_struct {
    // SAFETY: the rq is valid; `donor` only changes under its lock. It
    // shares a union with `curr` without proxy execution.
    unsafe { (*rq.as_ptr()).__bindgen_anon_1.donor }
}

/// Charges the donor of `rq` for its time since it was last charged, up
/// to `now` (the rq task clock): its runtime sum, its group and its
/// cgroup. Returns the time charged; none if not positive.
pub(crate) fn charge_curr(rq: &mut Rq<'_>, _now: u64) -> i64 {
    // SAFETY: the rq is locked; `update_curr_common()` charges its
    // donor up to `rq_clock_task()`, which is `now`.
    unsafe { bindings::update_curr_common(rq.as_ptr()) }
}

/// Asks the core whether the CASIO task `p`, just queued on `rq`,
/// preempts what runs there.
pub(crate) fn wakeup_preempt(rq: &mut Rq<'_>, p: &Task<'_>) {
    // SAFETY: the rq is locked and `p` is queued on it.
    unsafe { bindings::wakeup_preempt(rq.as_ptr(), p.as_ptr(), 0) };
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
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, mut p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    class::dequeue_task(&mut rq, &mut p, flags);
    true
}

/// `wakeup_preempt`: [`class::check_preempt_curr`]. The core also calls
/// it when a task of a higher class wakes while CASIO runs; such a task
/// preempts anyway, and the core reschedules for it.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` queued on it.
#[no_mangle]
pub unsafe extern "C" fn casio_wakeup_preempt(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    _flags: c_int,
) {
    // SAFETY: the core passes its locked runqueue and a task queued on
    // it, of which this is the only handle.
    let (mut rq, p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    if p.is_casio() {
        class::check_preempt_curr(&mut rq, &p);
    }
}

/// `pick_task`: [`class::pick_task`]. The core switches to the task
/// picked by itself, but says nothing to the class when the running task
/// is picked again; the tasks queued behind it must still be pushed then
/// ([`class::picked`]).
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_pick_task(
    rq: *mut bindings::rq,
    _rf: *mut bindings::rq_flags,
) -> *mut bindings::task_struct {
    // SAFETY: the core passes its locked runqueue.
    unsafe { pick_if_queued(rq, pick_queued) }
}

/// [`casio_pick_task`] with a task queued ([`pick_if_queued`]).
#[inline(never)]
fn pick_queued(mut rq: Rq<'_>) -> *mut bindings::task_struct {
    let p = class::pick_task(&mut rq);
    if !p.is_null() && p == rq.curr() {
        class::picked(&mut rq);
    }
    p
}

/// `balance`: [`class::balance`], after the donor of `rq`.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and pinned by `rf`.
#[no_mangle]
pub unsafe extern "C" fn casio_balance(
    rq: *mut bindings::rq,
    rf: *mut bindings::rq_flags,
) -> c_int {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    let prev = rq.curr();
    // SAFETY: `prev` is the donor of the locked rq, `rf` pins its lock.
    unsafe { class::balance(&mut rq, prev, rf) }
}

/// `set_next_task`: [`class::set_next_task`]. After a pick (`first`),
/// the donor is still the task switched from, and the switch is reported.
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
    if first {
        class::report_switch(&rq, &p);
    }
    class::set_next_task(&mut rq, &mut p, first);
}

/// `put_prev_task`: [`class::put_prev_task`].
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` its donor.
#[no_mangle]
pub unsafe extern "C" fn casio_put_prev_task(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    _next: *mut bindings::task_struct,
) {
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, mut p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    class::put_prev_task(&mut rq, &mut p);
}

/// `get_prio`: the deadline `p` is queued by, which `prio_changed` gets
/// back after a change that keeps the class.
///
/// # Safety
///
/// Called by the scheduler core with the rq of `p` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_get_prio(
    _rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
) -> u64 {
    // SAFETY: `p` is valid and its rq lock held; this is its only handle.
    unsafe { Task::from_raw(p) }.key()
}

/// `prio_changed`: [`class::prio_changed`], if the deadline changed. The
/// core calls it after every change that keeps the class, an affinity
/// change included.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, `p` a CASIO task of it.
#[no_mangle]
pub unsafe extern "C" fn casio_prio_changed(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    old_deadline: u64,
) {
    // SAFETY: the core passes its locked runqueue and a task of it, of
    // which this is the only handle.
    let (mut rq, mut p) = unsafe { (Rq::from_raw(rq), Task::from_raw(p)) };
    if p.key() != old_deadline {
        class::prio_changed(&mut rq, &mut p);
    }
}

#[path = "kunit.rs"]
mod kunit;
