// SPDX-License-Identifier: GPL-2.0

//! The `sched_class` callbacks that `kernel/sched/casio.c` puts in the
//! class table: queueing, picking, wake-ups and class changes.

use core::ffi::c_int;
use core::ptr::{self, NonNull};
use kernel::bindings;

use crate::edf::{job, EdfNode, EdfQueue, Job, JobStats, RuntimeCap};
use crate::jobs::{event, job_clock, settle, update_curr, Before};
use crate::rq::{cpu_rq, earliest_unlocked, Rq};
use crate::smp::pull_tasks;
use crate::task::{
    casio_id, entity, is_casio_task, nr_cpus_allowed, on_rq_queued, queue_key, task_of,
};
use crate::timer::{arm_timer, casio_cap_timer_fn, casio_timer_fn, reset_job};
use crate::{admission, base, rd, CasioRq, SchedCasioEntity};

/// Makes `se`, queued on `rq` by `deadline`, pushable: a candidate to run
/// on another CPU.
///
/// # Safety
///
/// `se` is the entity of a task queued on `rq`, not pushable.
unsafe fn push_link(rq: &mut Rq<'_>, se: &mut SchedCasioEntity, deadline: u64) {
    // SAFETY: the task is queued on `rq`, so its entity stays valid while
    // linked; `push_node` is linked only with `node`.
    unsafe {
        rq.casio()
            .pushable
            .enqueue(NonNull::from(&mut se.push_node), deadline)
    };
}

/// Takes `se` off the pushable queue of `rq`; returns whether it was on
/// it.
///
/// # Safety
///
/// `se` is the entity of a task of `rq`.
unsafe fn push_unlink(rq: &mut Rq<'_>, se: &mut SchedCasioEntity) -> bool {
    if !se.push_node.is_linked() {
        return false;
    }
    // SAFETY: a linked pushable node of a task of `rq` is in its queue.
    unsafe {
        rq.casio()
            .pushable
            .dequeue(NonNull::from(&mut se.push_node))
    };
    true
}

/// Queues `se` by its deadline, counting it in nr_running; a task that is
/// not running and may migrate is also made pushable.
///
/// # Safety
///
/// `se` is the entity of a task of `rq`, not in any queue.
pub(crate) unsafe fn link(rq: &mut Rq<'_>, se: &mut SchedCasioEntity) {
    let deadline = queue_key(se);
    // SAFETY: the node is unlinked and lives in its task, which stays valid
    // while queued: a task is dequeued before it is freed.
    unsafe { rq.queue().enqueue(NonNull::from(&mut se.node), deadline) };
    // SAFETY: forwarded from the caller.
    let p = unsafe { task_of(NonNull::from(&se.node)) };
    // SAFETY: `p` is valid.
    if p != rq.curr() && unsafe { nr_cpus_allowed(p) } > 1 {
        // SAFETY: `se` was just queued; it was in no queue.
        unsafe { push_link(rq, se, deadline) };
    }
    rq.publish();
    rq.add_nr_running();
    // SAFETY: forwarded from the caller.
    unsafe { event(bindings::casio_event_CASIO_EVENT_ENQUEUE, se, deadline) };
}

/// Takes `se` off the queue of `rq` if it is on it.
///
/// # Safety
///
/// `se` is the entity of a task of `rq`.
pub(crate) unsafe fn unlink(rq: &mut Rq<'_>, se: &mut SchedCasioEntity) {
    if se.node.is_linked() {
        // SAFETY: a linked node of a task of this rq is in this rq's queue.
        unsafe { rq.queue().dequeue(NonNull::from(&mut se.node)) };
        // SAFETY: forwarded from the caller.
        unsafe { push_unlink(rq, se) };
        rq.publish();
        rq.sub_nr_running();
        // SAFETY: forwarded from the caller.
        unsafe { event(bindings::casio_event_CASIO_EVENT_DEQUEUE, se, queue_key(se)) };
    }
}

/// Reschedules if `p`, queued on `rq`, should run instead of what runs now,
/// or if `p` runs but is no longer the earliest.
///
/// # Safety
///
/// `p` is a valid CASIO task of `rq`.
pub(crate) unsafe fn resched_if_preempted(rq: &mut Rq<'_>, p: *mut bindings::task_struct) {
    // SAFETY: `p` is valid.
    if unsafe { !on_rq_queued(p) } {
        return;
    }
    if rq.curr() == p {
        // SAFETY: `p` is queued, so its node is in this rq's queue.
        let node = unsafe { NonNull::new_unchecked(ptr::addr_of_mut!((*entity(p)).node)) };
        if rq.queue().earliest() != Some(node) {
            rq.resched_curr();
        }
    } else {
        // SAFETY: `p` is queued on the rq.
        unsafe { base::wakeup_preempt(rq, p) };
    }
}

/// `enqueue_task`: `p` becomes ready on `rq`.
///
/// A waking task keeps its job if the job's deadline is still ahead, and
/// starts a new one otherwise; a task without a job gets its first. A task
/// waiting for its next release stays off the queue: the timer queues it.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` a task of the
/// CASIO class that is not queued.
pub(crate) unsafe fn enqueue_task(rq: &mut Rq<'_>, p: *mut bindings::task_struct, flags: c_int) {
    // SAFETY: `p` is a valid task; its entity is only touched under the
    // rq lock, which is held.
    let se = unsafe { &mut *entity(p) };
    if se.waiting_release != 0 || se.node.is_linked() {
        return;
    }
    if se.pi_deadline != 0 {
        // SAFETY: `p` is not queued, as the core guarantees.
        unsafe { link(rq, se) };
        return;
    }
    if (flags as u32 & bindings::ENQUEUE_WAKEUP) != 0 || !se.job.released() {
        let now = job_clock();
        // SAFETY: `p` is valid; its runtime is updated under the rq lock.
        let exec = unsafe { (*p).se.sum_exec_runtime };
        let before = Before::of(se);
        if se.job.wake_up(&mut se.stats, now, exec, &se.params) {
            // SAFETY: `p` is a CASIO task of the locked `rq`.
            unsafe { arm_timer(p, se.job.deadline) };
        }
        // SAFETY: `se` is the entity of a task of the locked `rq`.
        unsafe { settle(rq, se, before) };
    }
    // SAFETY: `p` is not queued, as the core guarantees.
    unsafe { link(rq, se) };
    // A task queued here by a migration or by a change of affinity or
    // parameters may run elsewhere, but only a pick here pushes it, and
    // the running task may not give the CPU up for long. Wake-ups push
    // in `casio_task_woken()` instead.
    if (flags as u32 & bindings::ENQUEUE_WAKEUP) == 0 && se.push_node.is_linked() {
        rq.resched_curr();
    }
}

/// `dequeue_task`: `p` leaves `rq`, to sleep, migrate or change class.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` a CASIO task of it.
pub(crate) unsafe fn dequeue_task(rq: &mut Rq<'_>, p: *mut bindings::task_struct, flags: c_int) {
    update_curr(rq);
    // SAFETY: `p` is valid and its entity is protected by the rq lock.
    let se = unsafe { &mut *entity(p) };
    if (flags as u32 & bindings::DEQUEUE_SLEEP) != 0 {
        // A job that blocks past its deadline ended here.
        se.job.last_block = job_clock();
    }
    // SAFETY: `p` is a task of `rq`.
    unsafe { unlink(rq, se) };
}

/// `yield_task`: `sched_yield()` ends the running task's job. The task
/// waits off the queue until its next release, one period after the last,
/// or runs its next job at once if that release is already due.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and a CASIO task running.
pub(crate) unsafe fn yield_task(rq: &mut Rq<'_>) {
    // The yield path does not update the clock; charge the job first.
    // SAFETY: the rq is locked.
    unsafe { bindings::update_rq_clock(rq.as_ptr()) };
    update_curr(rq);
    let curr = rq.curr();
    // SAFETY: `curr` is valid while the rq is locked.
    let se = unsafe { &mut *entity(curr) };
    if se.pi_deadline != 0 {
        // A boosted task has no job to end; it goes behind its equals.
        // SAFETY: `curr` is a queued task of `rq`.
        unsafe {
            unlink(rq, se);
            link(rq, se);
        }
        return;
    }
    let now = job_clock();
    // SAFETY: as above.
    let exec = unsafe { (*curr).se.sum_exec_runtime };
    let before = Before::of(se);
    se.job.end(&mut se.stats, now, exec);
    let next = se.job.next_release(now, &se.params);
    // SAFETY: `curr` is a task of `rq`.
    unsafe { unlink(rq, se) };
    if next > now {
        se.waiting_release = 1;
        // SAFETY: `curr` is a CASIO task of the locked `rq`.
        unsafe { arm_timer(curr, next) };
    } else {
        se.waiting_release = 0;
        se.job.release(&mut se.stats, now, exec, &se.params);
        // SAFETY: as above; `curr` was just unlinked.
        unsafe {
            arm_timer(curr, se.job.deadline);
            link(rq, se);
        }
    }
    // SAFETY: `se` is the entity of a task of the locked `rq`.
    unsafe { settle(rq, se, before) };
    // SAFETY: the rq is locked; the clock was just updated.
    unsafe { (*rq.as_ptr()).clock_update_flags |= bindings::RQCF_REQ_SKIP };
}

/// `check_preempt_curr`: `p` woke up while a CASIO task runs.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, `p` and `rq->curr` CASIO tasks.
pub(crate) unsafe fn check_preempt_curr(
    rq: &mut Rq<'_>,
    p: *mut bindings::task_struct,
    _flags: c_int,
) {
    // SAFETY: both tasks are valid and their entities are rq-protected.
    let (curr, new) = unsafe { (&(*entity(rq.curr())).node, &(*entity(p)).node) };
    if !curr.is_linked() || job::should_preempt(curr.key(), new.key()) {
        rq.resched_curr();
    }
}

/// `pick_task`: the earliest-deadline task of `rq`, not yet made current;
/// none while the CPU is throttled by the cap.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
pub(crate) unsafe fn pick_task(rq: &mut Rq<'_>) -> *mut bindings::task_struct {
    // Every pick of an RT or fair task comes here first: look at the
    // queue before asking the RT bandwidth, a call into C.
    let node = match rq.queue().earliest() {
        Some(node) => node,
        None => return ptr::null_mut(),
    };
    if rq.throttled() {
        return ptr::null_mut();
    }
    // SAFETY: every node in the queue is the node of a queued task.
    unsafe { task_of(node) }
}

/// `set_next_task`: `p` becomes the running task of `rq`.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` a CASIO task of it.
pub(crate) unsafe fn set_next_task(rq: &mut Rq<'_>, p: *mut bindings::task_struct, first: bool) {
    // SAFETY: `p` is valid; `se.exec_start` is written under the rq lock.
    unsafe { (*p).se.exec_start = rq.clock_task() };
    // SAFETY: `p` is valid and its entity is protected by the rq lock.
    let se = unsafe { &mut *entity(p) };
    // SAFETY: `p` is a task of `rq`.
    if unsafe { push_unlink(rq, se) } {
        rq.publish();
    }
    if first {
        picked(rq);
    }
}

/// After a pick: what runs is settled, and the tasks behind it may find
/// another CPU. Only a pick runs the balance callbacks afterwards.
pub(crate) fn picked(rq: &mut Rq<'_>) {
    if rq.casio().pushable_earliest != 0 {
        // SAFETY: the rq is locked.
        unsafe { bindings::casio_queue_push(rq.as_ptr()) };
    }
}

/// Reports that the CPU switches from `prev`, of any class, to the
/// CASIO task `p`.
///
/// # Safety
///
/// Both tasks are valid and the lock of their rq is held.
pub(crate) unsafe fn report_switch(
    prev: *mut bindings::task_struct,
    p: *mut bindings::task_struct,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let prev_id = match (*prev).policy == bindings::SCHED_CASIO {
            true => i64::from(casio_id(prev)),
            false => -1,
        };
        let deadline = queue_key(&*entity(p));
        bindings::casio_event_switch(prev, prev_id, p, casio_id(p), deadline)
    };
}

/// `put_prev_task`: `p` stops running; it stays queued if still ready.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` its current task.
pub(crate) unsafe fn put_prev_task(rq: &mut Rq<'_>, p: *mut bindings::task_struct) {
    update_curr(rq);
    // SAFETY: `p` is valid and its entity is protected by the rq lock.
    let se = unsafe { &mut *entity(p) };
    // SAFETY: as above.
    if se.node.is_linked() && !se.push_node.is_linked() && unsafe { nr_cpus_allowed(p) } > 1 {
        let deadline = se.node.key().deadline;
        // SAFETY: the task is queued on `rq` and not pushable.
        unsafe { push_link(rq, se, deadline) };
        rq.publish();
    }
}

/// `balance`: before the core picks a task after a CASIO task `prev`
/// stopped running, or after a task of a higher class when no CASIO task
/// is queued here, pulls earlier CASIO tasks from overloaded CPUs; then
/// tells the core whether this CPU has work at or above CASIO, so that
/// lower classes need not pull any.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and pinned by `rf`.
pub(crate) unsafe fn balance(
    rq: &mut Rq<'_>,
    prev: *mut bindings::task_struct,
    rf: *mut bindings::rq_flags,
) -> c_int {
    // SAFETY: `prev` is valid and its entity protected by the rq lock.
    let prev_left = unsafe { is_casio_task(prev) && !(*entity(prev)).node.is_linked() };
    if prev_left || rq.queue().is_empty() {
        // SAFETY: the core passes the `rf` that pinned the lock; pulling
        // may drop it.
        unsafe { rq.unpinned(rf, pull_tasks) };
    }
    c_int::from(rq.higher_class_runnable() || rq.has_runnable())
}

/// `select_task_rq`: a waking or forked CASIO task stays on its CPU
/// unless a CASIO task with an earlier or equal deadline is queued there;
/// it then goes to a CPU without CASIO tasks, or to the one whose earliest
/// deadline is the latest, if later than its own.
///
/// # Safety
///
/// Called by the scheduler core with `p->pi_lock` held and no rq lock.
pub(crate) unsafe fn select_task_rq(
    p: *mut bindings::task_struct,
    cpu: c_int,
    flags: c_int,
) -> c_int {
    if flags as u32 & (bindings::WF_TTWU | bindings::WF_FORK) == 0 {
        return cpu;
    }
    // SAFETY: `cpu` is a possible CPU.
    let earliest = unsafe { earliest_unlocked(cpu_rq(cpu)) };
    // SAFETY: `p` is valid.
    if earliest == 0 || unsafe { nr_cpus_allowed(p) } < 2 {
        return cpu;
    }
    // SAFETY: `p` is valid; `p->pi_lock` keeps its timer callback, the
    // only other writer of a sleeping task's job, away.
    let (job, params, pi_deadline) = unsafe {
        let se = &*entity(p);
        (se.job, se.params, se.pi_deadline)
    };
    let now = job_clock();
    // The deadline the task will be queued with, as `casio_enqueue_task()`
    // decides it, near enough for placement.
    let deadline = if pi_deadline != 0 {
        pi_deadline
    } else if job.released() && job.deadline > now {
        job.deadline
    } else {
        now.saturating_add(params.deadline)
    };
    if earliest > deadline {
        return cpu;
    }
    // SAFETY: `p` is valid and its `pi_lock` is held.
    unsafe { rd::find_cpu(p, deadline) }.unwrap_or(cpu)
}

/// `switched_to`: `p` just became a CASIO task.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, `p` a CASIO task of it.
pub(crate) unsafe fn switched_to(rq: &mut Rq<'_>, p: *mut bindings::task_struct) {
    // SAFETY: forwarded from the caller.
    unsafe { resched_if_preempted(rq, p) };
    // SAFETY: `p` is valid and its entity protected by the rq lock.
    if unsafe { (*entity(p)).push_node.is_linked() } {
        // SAFETY: the rq is locked.
        unsafe { bindings::casio_queue_push(rq.as_ptr()) };
    }
}

/// `switched_from`: `p` leaves CASIO for another class; its timer stops,
/// and the CPU may take CASIO tasks from others if it has none left.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` of it.
pub(crate) unsafe fn switched_from(rq: &mut Rq<'_>, p: *mut bindings::task_struct) {
    // SAFETY: the rq lock of `p` is held, and the caller holds a reference.
    unsafe { reset_job(p) };
    // SAFETY: `p` is valid.
    if unsafe { on_rq_queued(p) } && rq.queue().is_empty() {
        // SAFETY: the rq is locked.
        unsafe { bindings::casio_queue_pull(rq.as_ptr()) };
    }
}

/// `task_dead`: a CASIO task exited; its timer stops and its share of
/// the bandwidth is given back.
///
/// # Safety
///
/// Called by the scheduler core for a dead task it still holds.
pub(crate) unsafe fn task_dead(p: *mut bindings::task_struct) {
    // SAFETY: `p` is dead and still referenced by the caller.
    unsafe {
        admission::release(p);
        reset_job(p);
    }
}

/// `prio_changed`: the parameters, and so the deadline, of `p` changed.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, `p` a CASIO task of it.
pub(crate) unsafe fn prio_changed(rq: &mut Rq<'_>, p: *mut bindings::task_struct, _oldprio: c_int) {
    if rq.curr() == p {
        // Its deadline may be later now: earlier tasks elsewhere may come.
        // SAFETY: the rq is locked.
        unsafe { bindings::casio_queue_pull(rq.as_ptr()) };
    }
    // SAFETY: forwarded from the caller.
    unsafe { resched_if_preempted(rq, p) };
}

/// Sets up the CASIO state of a runqueue, at boot.
///
/// # Safety
///
/// `rq` points to a runqueue nobody uses yet.
pub(crate) unsafe fn init_rq(rq: *mut bindings::rq) {
    // SAFETY: the caller gives exclusive access to the runqueue; its
    // `casio` field was generated from `CasioRq`.
    let crq = unsafe { &mut *ptr::addr_of_mut!((*rq).casio).cast::<CasioRq>() };
    // SAFETY: overwriting the uninitialised fields without reading them.
    unsafe {
        ptr::write(&mut crq.queue, EdfQueue::new());
        ptr::write(&mut crq.pushable, EdfQueue::new());
        ptr::write(&mut crq.earliest, 0);
        ptr::write(&mut crq.pushable_earliest, 0);
        ptr::write(&mut crq.stats, JobStats::default());
        ptr::write(&mut crq.cap, RuntimeCap::default());
        ptr::write(&mut crq.rq, rq);
    }
    // SAFETY: nobody uses the runqueue, hence its timer, yet.
    unsafe { crq.cap_timer.init(casio_cap_timer_fn) };
}

/// Resets the CASIO state that a new task copied from its parent: it is
/// on no queue, has no job, no statistics and its own timer. Its
/// parameters are inherited; its first job is released when it first runs.
///
/// # Safety
///
/// `p` is a task being set up by `fork()`, not yet visible to anyone.
/// Process context.
pub(crate) unsafe fn fork_entity(p: *mut bindings::task_struct) {
    // SAFETY: the caller gives exclusive access to `p`.
    let se = unsafe { &mut *entity(p) };
    // SAFETY: the node was copied from the parent and may look linked;
    // overwriting it without reading it is what resets it.
    unsafe {
        ptr::write(&mut se.node, EdfNode::new());
        ptr::write(&mut se.push_node, EdfNode::new());
    }
    se.job = Job::default();
    se.stats = JobStats::default();
    se.waiting_release = 0;
    se.overrun = 0;
    se.pi_deadline = 0;
    // The child is admitted on its own, by `sched_post_fork()`.
    se.bw = 0;
    se.bw_cpu = -1;
    // SAFETY: the timer was copied from the parent's and must not be
    // touched as a timer; the child is not visible to anyone yet.
    unsafe { se.timer.init(casio_timer_fn) };
}
