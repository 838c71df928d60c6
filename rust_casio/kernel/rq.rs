// SPDX-License-Identifier: GPL-2.0

//! A runqueue borrowed with its lock held, and what CASIO reads and
//! changes of it.

use core::ffi::c_int;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use kernel::bindings;

use crate::edf::{EdfKey, EdfQueue, JobStats};
use crate::rd;
use crate::task::{entity, is_casio_task, nr_cpus_allowed, on_rq_queued, Task};
use crate::CasioRq;

/// A runqueue whose lock is held.
///
/// # Invariants
///
/// `ptr` points to a valid `struct rq` whose lock the caller holds for `'a`.
pub(crate) struct Rq<'a> {
    ptr: NonNull<bindings::rq>,
    _lock: PhantomData<&'a mut bindings::rq>,
}

impl<'a> Rq<'a> {
    /// # Safety
    ///
    /// `rq` points to a valid runqueue whose lock is held for `'a`.
    pub(crate) unsafe fn from_raw(rq: *mut bindings::rq) -> Self {
        // INVARIANT: guaranteed by the caller; the scheduler core passes its
        // locked runqueue to every class callback.
        Rq {
            // SAFETY: the caller passes a valid, hence non-null, runqueue.
            ptr: unsafe { NonNull::new_unchecked(rq) },
            _lock: PhantomData,
        }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::rq {
        self.ptr.as_ptr()
    }

    /// The rq task clock, which excludes IRQ time, for runtime accounting.
    pub(crate) fn clock_task(&self) -> u64 {
        // SAFETY: the type invariant says the rq is valid and locked.
        unsafe { bindings::rq_clock_task(self.as_ptr()) }
    }

    /// The task running on this CPU, whose time CASIO accounts and which
    /// a woken task may preempt.
    pub(crate) fn curr(&self) -> *mut bindings::task_struct {
        crate::base::rq_curr(self)
    }

    /// Whether `p` is the task running on this CPU.
    pub(crate) fn is_curr(&self, p: &Task<'_>) -> bool {
        self.curr() == p.as_ptr()
    }

    /// The running task, as a handle.
    ///
    /// # Safety
    ///
    /// While the result borrows the task's entity, no other handle of the
    /// task does.
    pub(crate) unsafe fn curr_task(&self) -> Task<'a> {
        // SAFETY: `curr` is valid while the rq is locked, which it is for
        // `'a`; the caller rules out a second borrow of its entity.
        unsafe { Task::from_raw(self.curr()) }
    }

    /// The key the running task is queued by, if it is a CASIO task in
    /// this CPU's queue.
    pub(crate) fn curr_queued_key(&self) -> Option<EdfKey> {
        let curr = self.curr();
        // SAFETY: `curr` is valid while the rq is locked, and so is its
        // entity; the key is copied out and no reference is kept.
        unsafe {
            if !is_casio_task(curr) {
                return None;
            }
            let node = &(*entity(curr)).node;
            node.is_linked().then(|| node.key())
        }
    }

    /// The number of CPUs the running task may run on.
    pub(crate) fn curr_nr_cpus_allowed(&self) -> c_int {
        // SAFETY: `curr` is valid while the rq is locked.
        unsafe { nr_cpus_allowed(self.curr()) }
    }

    pub(crate) fn casio(&mut self) -> &mut CasioRq {
        // SAFETY: the rq is valid and locked, so nothing else accesses its
        // CASIO state while `self` is borrowed; `CasioRq` is the type that
        // `rq->casio` was generated from (see the assertion above).
        unsafe { &mut *ptr::addr_of_mut!((*self.as_ptr()).casio).cast::<CasioRq>() }
    }

    /// Whether a CASIO task is queued on this CPU, the running one
    /// included. The pick entry points ask this before anything else: it
    /// is a load of the queue's cached first node, and the CPU's picks of
    /// every RT and fair task come to CASIO first.
    pub(crate) fn has_queued(&self) -> bool {
        // SAFETY: the rq is valid and locked, so nothing changes its CASIO
        // state while `self` is borrowed; `CasioRq` is the type that
        // `rq->casio` was generated from.
        let crq = unsafe { &*ptr::addr_of!((*self.as_ptr()).casio).cast::<CasioRq>() };
        crq.queue.earliest().is_some()
    }

    pub(crate) fn queue(&mut self) -> &mut EdfQueue {
        &mut self.casio().queue
    }

    pub(crate) fn cpu(&self) -> c_int {
        // SAFETY: the rq is valid; its CPU number never changes.
        unsafe { (*self.as_ptr()).cpu }
    }

    /// Whether the CPU is online in its root domain.
    pub(crate) fn online(&self) -> bool {
        // SAFETY: the rq is valid; `online` changes under its lock.
        unsafe { (*self.as_ptr()).online != 0 }
    }

    /// Updates what the root domain knows of this CPU after its queues
    /// changed: its earliest deadline, and whether it has tasks to push.
    pub(crate) fn publish(&mut self) {
        let online = self.online();
        let rq = self.as_ptr();
        let crq = self.casio();
        let earliest = earliest_deadline(&crq.queue);
        let pushable = earliest_deadline(&crq.pushable);
        let (old_earliest, old_pushable) = (crq.earliest, crq.pushable_earliest);
        crq.earliest = earliest;
        // SAFETY: an aligned word, read locklessly by pulling CPUs.
        unsafe { ptr::write_volatile(&mut crq.pushable_earliest, pushable) };
        // An offline CPU is in neither set; `casio_rq_online()` adds it.
        if !online {
            return;
        }
        if earliest != old_earliest {
            // SAFETY: the rq is locked and online, so it is in its root
            // domain's sets.
            unsafe { rd::set(rq, earliest) };
        }
        if (pushable != 0) != (old_pushable != 0) {
            // SAFETY: as above; the flag follows `pushable_earliest`.
            unsafe { rd::set_overload(rq, pushable != 0) };
        }
    }

    /// Checks that what `publish()` keeps agrees with the queues, here
    /// and in the root domain. For KUnit suites.
    #[allow(dead_code)] // Called only by the bases that have a KUnit suite.
    pub(crate) fn check_published(&mut self) -> Result<(), &'static str> {
        let online = self.online();
        let rq = self.as_ptr();
        let crq = self.casio();
        let (earliest, pushable) = (
            earliest_deadline(&crq.queue),
            earliest_deadline(&crq.pushable),
        );
        if crq.earliest != earliest {
            return Err("the published earliest deadline is stale");
        }
        if crq.pushable_earliest != pushable {
            return Err("the published earliest pushable deadline is stale");
        }
        if !online {
            return Ok(());
        }
        // SAFETY: the rq is locked and online.
        unsafe { rd::check(rq, earliest, pushable) }
    }

    /// Whether the CPU's cap or the RT bandwidth it shares stops CASIO.
    pub(crate) fn throttled(&mut self) -> bool {
        // SAFETY: the rq is valid and locked.
        self.casio().cap.is_throttled() || unsafe { bindings::casio_rt_throttled(self.as_ptr()) }
    }

    /// Whether this CPU has CASIO tasks it may run now.
    pub(crate) fn has_runnable(&mut self) -> bool {
        !self.throttled() && !self.queue().is_empty()
    }

    /// Updates the rq clocks.
    pub(crate) fn update_clock(&mut self) {
        // SAFETY: the rq is valid and locked.
        unsafe { bindings::update_rq_clock(self.as_ptr()) }
    }

    /// Tells the core that the clocks were just updated, so that the
    /// coming `__schedule()` need not update them again.
    pub(crate) fn skip_clock_update(&mut self) {
        // SAFETY: the rq is valid and locked.
        unsafe { (*self.as_ptr()).clock_update_flags |= bindings::RQCF_REQ_SKIP };
    }

    /// Queues a push of this CPU's pushable tasks, run once the core
    /// releases the lock.
    pub(crate) fn queue_push(&mut self) {
        // SAFETY: the rq is valid and locked.
        unsafe { bindings::casio_queue_push(self.as_ptr()) }
    }

    /// Queues a pull of earlier tasks from other CPUs, run once the core
    /// releases the lock.
    pub(crate) fn queue_pull(&mut self) {
        // SAFETY: the rq is valid and locked.
        unsafe { bindings::casio_queue_pull(self.as_ptr()) }
    }

    pub(crate) fn resched_curr(&self) {
        // SAFETY: the rq is valid and locked, as `resched_curr()` requires.
        unsafe { bindings::resched_curr(self.as_ptr()) }
    }

    pub(crate) fn add_nr_running(&self) {
        // SAFETY: the rq is valid and locked.
        unsafe { bindings::add_nr_running(self.as_ptr(), 1) }
    }

    pub(crate) fn sub_nr_running(&self) {
        // SAFETY: the rq is valid and locked.
        unsafe { bindings::sub_nr_running(self.as_ptr(), 1) }
    }

    /// Whether a class above CASIO has work on this CPU.
    pub(crate) fn higher_class_runnable(&self) -> bool {
        let rq = self.as_ptr();
        // SAFETY: the rq is valid and locked; `stop` is either null or the
        // CPU's stopper task, which lives as long as the CPU.
        unsafe {
            let stop = (*rq).stop;
            (*rq).dl.dl_nr_running > 0 || (!stop.is_null() && on_rq_queued(stop))
        }
    }

    /// Adds to this CPU's totals what a task's statistics gained.
    pub(crate) fn account(&mut self, before: &JobStats, after: &JobStats) {
        let total = &mut self.casio().stats;
        let gain = |a: u64, b: u64| b.wrapping_sub(a);
        total.jobs_released = total
            .jobs_released
            .wrapping_add(gain(before.jobs_released, after.jobs_released));
        total.jobs_completed = total
            .jobs_completed
            .wrapping_add(gain(before.jobs_completed, after.jobs_completed));
        total.deadline_misses = total
            .deadline_misses
            .wrapping_add(gain(before.deadline_misses, after.deadline_misses));
        total.total_exec_ns = total
            .total_exec_ns
            .wrapping_add(gain(before.total_exec_ns, after.total_exec_ns));
        total.runtime_overruns = total
            .runtime_overruns
            .wrapping_add(gain(before.runtime_overruns, after.runtime_overruns));
        total.max_lateness_ns = core::cmp::max(total.max_lateness_ns, after.max_lateness_ns);
        total.max_job_exec_ns = core::cmp::max(total.max_job_exec_ns, after.max_job_exec_ns);
    }
}

impl Rq<'_> {
    /// Runs `f` with the rq lock unpinned, as code that may drop and
    /// retake it (a pull or push) requires, and pins it again after.
    ///
    /// # Safety
    ///
    /// `rf` is what pinned the lock of this runqueue.
    pub(crate) unsafe fn unpinned<T>(
        &mut self,
        rf: *mut bindings::rq_flags,
        f: impl FnOnce(&mut Self) -> T,
    ) -> T {
        // SAFETY: the lock is held and pinned by `rf`, as the caller says.
        unsafe { bindings::rq_unpin_lock(self.as_ptr(), rf) };
        let ret = f(self);
        // SAFETY: `f` returns with the same lock held.
        unsafe { bindings::rq_repin_lock(self.as_ptr(), rf) };
        ret
    }
}

/// A task's `pi_lock` and the lock of its runqueue, taken with
/// `task_rq_lock()`; both are released on drop.
///
/// # Invariants
///
/// `p` is valid while the guard lives, and its `pi_lock` and the lock of
/// `rq`, the runqueue it is on, are held, the latter pinned by `rf`.
pub(crate) struct TaskRqLock {
    p: *mut bindings::task_struct,
    rq: *mut bindings::rq,
    rf: bindings::rq_flags,
}

impl TaskRqLock {
    /// # Safety
    ///
    /// `p` is valid while the guard lives, and neither lock is held.
    pub(crate) unsafe fn lock(p: *mut bindings::task_struct) -> Self {
        let mut rf = bindings::rq_flags::default();
        // SAFETY: `p` is valid, and the locks are not held yet.
        let rq = unsafe { bindings::task_rq_lock(p, &mut rf) };
        // INVARIANT: `task_rq_lock()` returns with both locks held.
        TaskRqLock { p, rq, rf }
    }

    /// The locked runqueue.
    pub(crate) fn rq(&mut self) -> Rq<'_> {
        // SAFETY: the type invariant says its lock is held while `self`
        // lives, and `self` is borrowed for as long as the result.
        unsafe { Rq::from_raw(self.rq) }
    }

    /// Runs `f` on the locked runqueue with its lock unpinned.
    pub(crate) fn unpinned<T>(&mut self, f: impl FnOnce(&mut Rq<'_>) -> T) -> T {
        let rf: *mut bindings::rq_flags = &mut self.rf;
        // SAFETY: `rf` pins the lock held, as the type invariant says.
        unsafe { self.rq().unpinned(rf, f) }
    }

    /// Moves the task to the runqueue `f` returns locked, after it
    /// released the one it was given.
    ///
    /// # Safety
    ///
    /// `f` returns a valid runqueue whose lock it holds, with that of the
    /// one it was given released, and the task on it.
    pub(crate) unsafe fn relock(&mut self, f: impl FnOnce(*mut bindings::rq) -> *mut bindings::rq) {
        // SAFETY: the lock of `rq` is held and pinned by `rf`.
        unsafe { bindings::rq_unpin_lock(self.rq, &mut self.rf) };
        // INVARIANT: the caller guarantees that `f` hands the task over
        // with the lock of its new runqueue held.
        self.rq = f(self.rq);
        // SAFETY: the lock of the new `rq` is held.
        unsafe { bindings::rq_repin_lock(self.rq, &mut self.rf) };
    }
}

impl Drop for TaskRqLock {
    fn drop(&mut self) {
        // SAFETY: the type invariant says both locks are held.
        unsafe { bindings::task_rq_unlock(self.rq, self.p, &mut self.rf) };
    }
}

/// The lock of a runqueue taken from outside the scheduler core (a
/// timer callback, with interrupts off); released on drop.
///
/// # Invariants
///
/// `rq` is valid and its lock is held.
pub(crate) struct RqLock {
    rq: *mut bindings::rq,
}

impl RqLock {
    /// # Safety
    ///
    /// `rq` is valid, interrupts are off and its lock is not held.
    pub(crate) unsafe fn lock(rq: *mut bindings::rq) -> Self {
        // SAFETY: forwarded from the caller.
        unsafe { bindings::raw_spin_rq_lock_nested(rq, 0) };
        // INVARIANT: the lock was just taken.
        RqLock { rq }
    }

    /// The locked runqueue.
    pub(crate) fn rq(&mut self) -> Rq<'_> {
        // SAFETY: the type invariant says its lock is held while `self`
        // lives, and `self` is borrowed for as long as the result.
        unsafe { Rq::from_raw(self.rq) }
    }
}

impl Drop for RqLock {
    fn drop(&mut self) {
        // SAFETY: the type invariant says the lock is held.
        unsafe { bindings::raw_spin_rq_unlock(self.rq) };
    }
}

/// The earliest deadline in `queue`, 0 if it is empty.
pub(crate) fn earliest_deadline(queue: &EdfQueue) -> u64 {
    match queue.earliest() {
        // SAFETY: a node in a queue is valid while linked.
        Some(node) => unsafe { node.as_ref() }.key().deadline,
        None => 0,
    }
}

/// The runqueue of `cpu`.
pub(crate) fn cpu_rq(cpu: c_int) -> *mut bindings::rq {
    // SAFETY: `cpu` comes from the scheduler's CPU masks, so it is a
    // possible CPU, whose runqueue lives forever.
    unsafe { bindings::cpu_rq(cpu) }
}

/// The earliest deadline queued on `cpu`, read without its rq lock.
pub(crate) fn earliest_unlocked(cpu: c_int) -> u64 {
    let rq = cpu_rq(cpu);
    // SAFETY: runqueues live forever; the word is written under its lock,
    // and a stale value is rechecked under both locks before acting on it.
    unsafe { ptr::read_volatile(ptr::addr_of!((*rq).casio.earliest)) }
}

/// The earliest deadline among the pushable tasks of `cpu`, read without
/// its rq lock.
pub(crate) fn pushable_unlocked(cpu: c_int) -> u64 {
    let rq = cpu_rq(cpu);
    // SAFETY: as in `earliest_unlocked()`.
    unsafe { ptr::read_volatile(ptr::addr_of!((*rq).casio.pushable_earliest)) }
}
