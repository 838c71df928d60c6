// SPDX-License-Identifier: GPL-2.0

//! The `sched_class` callbacks that `kernel/sched/casio.c` puts in the
//! class table: queueing, picking, wake-ups and class changes.

use core::ffi::c_int;
use core::ptr::{self, NonNull};
use kernel::bindings;

use crate::edf::{job, EdfNode, EdfQueue, Job, JobStats, RuntimeCap};
use crate::jobs::{job_clock, settle, update_curr, Before};
use crate::report::{self, event};
use crate::rq::{earliest_unlocked, Rq};
use crate::smp::pull_tasks;
use crate::task::{casio_id, entity, is_casio_task, task_of, task_of_wait, Task};
use crate::timer::{arm_timer, casio_cap_timer_fn, casio_timer_fn, reset_job};
use crate::{admission, base, rd, CasioRq};

/// Makes `p`, queued on `rq` by `deadline`, pushable: a candidate to run
/// on another CPU.
fn push_link(rq: &mut Rq<'_>, p: &mut Task<'_>, deadline: u64) {
    let node = NonNull::from(&mut p.se_mut().push_node);
    // SAFETY: `p` is queued on `rq`, so its entity stays valid while
    // linked; `push_node` is linked only while `node` is, and was not.
    unsafe { rq.casio().pushable.enqueue(node, deadline) };
}

/// Takes `p` off the pushable queue of `rq`; returns whether it was on
/// it.
fn push_unlink(rq: &mut Rq<'_>, p: &mut Task<'_>) -> bool {
    if !p.se().push_node.is_linked() {
        return false;
    }
    let node = NonNull::from(&mut p.se_mut().push_node);
    // SAFETY: a linked pushable node of a task of `rq` is in its queue.
    unsafe { rq.casio().pushable.dequeue(node) };
    true
}

/// The release `p` waits for: one period after the last.
pub(crate) fn planned_release(p: &Task<'_>) -> u64 {
    let se = p.se();
    se.job.release.saturating_add(se.params.period)
}

/// Puts `p`, a queued task of `rq` that waits for its release, on the
/// CPU's waiting queue.
fn wait_link(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    let at = planned_release(p);
    let node = NonNull::from(&mut p.se_mut().wait_node);
    // SAFETY: `p` is queued on `rq`, so its entity stays valid while
    // linked, and it is off every queue while `wait_node` is unlinked.
    unsafe { rq.casio().waiting.enqueue(node, at) };
}

/// Takes `p`, a task of `rq`, off the CPU's waiting queue if it is on it.
fn wait_unlink(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    if !p.se().wait_node.is_linked() {
        return;
    }
    let node = NonNull::from(&mut p.se_mut().wait_node);
    // SAFETY: a linked waiting node of a task of `rq` is in its queue.
    unsafe { rq.casio().waiting.dequeue(node) };
}

/// `p`, a queued CASIO task of `rq` off its queue, waits for its release
/// at `at`. On an offline CPU its timer fires at once instead, to move
/// it to an active one (see [`crate::timer::casio_timer_fn`]).
pub(crate) fn start_waiting(rq: &mut Rq<'_>, p: &mut Task<'_>, at: u64) {
    // A task throttled by its budget may yield before it switches out.
    wait_unlink(rq, p);
    p.se_mut().waiting_release = 1;
    wait_link(rq, p);
    arm_timer(p, if rq.online() { at } else { job_clock() });
}

/// `p`, a task of `rq`, no longer waits for a release.
pub(crate) fn stop_waiting(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    p.se_mut().waiting_release = 0;
    wait_unlink(rq, p);
}

/// Arms the timer of every task waiting on `rq`, which goes offline, to
/// fire at once: each moves its task to an active CPU. Tasks left there
/// waiting for a release seconds away would be stranded by a change of
/// class meanwhile, enqueued in their new class on a dead CPU.
pub(crate) fn hurry_waiting(rq: &mut Rq<'_>) {
    let now = job_clock();
    let mut at = rq.casio().waiting.earliest();
    while let Some(node) = at {
        // SAFETY: `node` is in the waiting queue of `rq`.
        at = unsafe { rq.casio().waiting.next(node) };
        // SAFETY: every node of the waiting queue is the `wait_node` of a
        // task queued on `rq`, whose lock is held; this is its only handle.
        let mut p = unsafe { Task::from_raw(task_of_wait(node)) };
        arm_timer(&mut p, now);
    }
}

/// Queues `p`, a task of `rq` in no queue, by its deadline, counting it
/// in nr_running; a task that is not running and may migrate is also
/// made pushable.
pub(crate) fn link(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    let deadline = p.key();
    let node = NonNull::from(&mut p.se_mut().node);
    // SAFETY: the node is unlinked and lives in its task, which stays
    // valid while queued: a task is dequeued before it is freed.
    unsafe { rq.queue().enqueue(node, deadline) };
    if !rq.is_curr(p) && p.nr_cpus_allowed() > 1 {
        push_link(rq, p, deadline);
    }
    rq.publish();
    rq.add_nr_running();
    event(bindings::casio_event_CASIO_EVENT_ENQUEUE, p, deadline);
}

/// Takes `p`, a task of `rq`, off its queue if it is on it.
pub(crate) fn unlink(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    if !p.se().node.is_linked() {
        return;
    }
    let node = NonNull::from(&mut p.se_mut().node);
    // SAFETY: a linked node of a task of this rq is in this rq's queue.
    unsafe { rq.queue().dequeue(node) };
    push_unlink(rq, p);
    rq.publish();
    rq.sub_nr_running();
    event(bindings::casio_event_CASIO_EVENT_DEQUEUE, p, p.key());
}

/// Reschedules if `p`, a CASIO task of `rq`, should run instead of what
/// runs now, or if `p` runs but is no longer the earliest.
pub(crate) fn resched_if_preempted(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    if !p.queued() {
        return;
    }
    if rq.is_curr(p) {
        let node = NonNull::from(&p.se().node);
        if rq.queue().earliest() != Some(node) {
            rq.resched_curr();
        }
    } else {
        base::wakeup_preempt(rq, p);
    }
}

/// `enqueue_task`: `p`, a CASIO task not queued, becomes ready on `rq`.
///
/// A waking task keeps its job while the runtime it has left fits its
/// bandwidth until the job's deadline (the CBS rule), and starts a new
/// one otherwise; a task without a job gets its first. A task waiting
/// for its next release stays off the queue: the timer queues it.
pub(crate) fn enqueue_task(rq: &mut Rq<'_>, p: &mut Task<'_>, flags: c_int) {
    let se = p.se();
    if se.waiting_release != 0 {
        wait_link(rq, p);
        return;
    }
    if se.node.is_linked() {
        return;
    }
    if se.pi_deadline != 0 {
        link(rq, p);
        return;
    }
    let wakeup = (flags as u32 & bindings::ENQUEUE_WAKEUP) != 0;
    if wakeup || !se.job.released() {
        let now = job_clock();
        let exec = p.exec_runtime();
        let before = Before::of(p.se());
        let se = p.se_mut();
        if se.job.wake_up(&mut se.stats, now, exec, &se.params) {
            let deadline = se.job.deadline;
            arm_timer(p, deadline);
        }
        settle(rq, p, before);
    }
    link(rq, p);
    // A task queued here by a migration or by a change of affinity or
    // parameters may run elsewhere, but only a pick here pushes it, and
    // the running task may not give the CPU up for long. Wake-ups push
    // in `casio_task_woken()` instead.
    if !wakeup && p.se().push_node.is_linked() {
        rq.resched_curr();
    }
}

/// `dequeue_task`: `p`, a CASIO task of `rq`, leaves it, to sleep,
/// migrate or change class.
pub(crate) fn dequeue_task(rq: &mut Rq<'_>, p: &mut Task<'_>, flags: c_int) {
    update_curr(rq);
    if (flags as u32 & bindings::DEQUEUE_SLEEP) != 0 {
        // A job that blocks past its deadline ended here.
        p.se_mut().job.last_block = job_clock();
    }
    unlink(rq, p);
    wait_unlink(rq, p);
}

/// `yield_task`: `sched_yield()` ends the running task's job. The task
/// waits off the queue until its next release, one period after the last,
/// or runs its next job at once if that release is already due.
pub(crate) fn yield_task(rq: &mut Rq<'_>) {
    // The yield path does not update the clock; charge the job first.
    rq.update_clock();
    update_curr(rq);
    // SAFETY: the running task has no other handle here.
    let mut curr = unsafe { rq.curr_task() };
    let p = &mut curr;
    if p.se().pi_deadline != 0 {
        // A boosted task has no job to end; it goes behind its equals.
        unlink(rq, p);
        link(rq, p);
        return;
    }
    let now = job_clock();
    let exec = p.exec_runtime();
    let before = Before::of(p.se());
    let se = p.se_mut();
    se.job.end(&mut se.stats, now, exec);
    let next = se.job.next_release(now, &se.params);
    unlink(rq, p);
    if next > now {
        start_waiting(rq, p, next);
    } else {
        stop_waiting(rq, p);
        let se = p.se_mut();
        se.job.release(&mut se.stats, now, exec, &se.params);
        let deadline = se.job.deadline;
        arm_timer(p, deadline);
        link(rq, p);
    }
    settle(rq, p, before);
    rq.skip_clock_update();
}

/// `check_preempt_curr`: the CASIO task `p` woke up while a CASIO task
/// runs on `rq`.
pub(crate) fn check_preempt_curr(rq: &mut Rq<'_>, p: &Task<'_>) {
    let new = p.se().node.key();
    match rq.curr_queued_key() {
        Some(curr) if !job::should_preempt(curr, new) => {}
        _ => rq.resched_curr(),
    }
}

/// `pick_task`: the earliest-deadline task of `rq`, not yet made current;
/// none while the CPU is throttled by the cap.
pub(crate) fn pick_task(rq: &mut Rq<'_>) -> *mut bindings::task_struct {
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

/// `set_next_task`: `p`, a CASIO task of `rq`, becomes its running task.
pub(crate) fn set_next_task(rq: &mut Rq<'_>, p: &mut Task<'_>, first: bool) {
    p.set_exec_start(rq.clock_task());
    if push_unlink(rq, p) {
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
        rq.queue_push();
    }
}

/// Reports that the CPU switches to the CASIO task `p` from the task
/// still current on `rq`, of any class; nothing if that is `p`.
pub(crate) fn report_switch(rq: &Rq<'_>, p: &Task<'_>) {
    if rq.is_curr(p) {
        return;
    }
    let prev = rq.curr();
    // SAFETY: `prev` is valid while the rq is locked.
    let prev_id = match unsafe { (*prev).policy } == bindings::SCHED_CASIO {
        // SAFETY: as above.
        true => i64::from(unsafe { casio_id(prev) }),
        false => -1,
    };
    // SAFETY: `prev` is the current task of the locked rq of `p`, and
    // `prev_id` its casio_id or -1.
    unsafe { report::switch(prev, prev_id, p) };
}

/// `put_prev_task`: `p`, the running task of `rq`, stops running; it
/// stays queued if still ready.
pub(crate) fn put_prev_task(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    update_curr(rq);
    if p.se().waiting_release != 0 && p.queued() && !rq.online() {
        // It began to wait as it ran on a CPU going offline, where its
        // timer cannot move it until it is off the CPU, and nothing else
        // will: no pick runs it, so balance_push() never sees it. Fired
        // again at once, the timer moves it in the first interrupt after
        // the switch, while the CPU is up, instead of a retry later that
        // a dying CPU may not see; a wake-up of a task left queued on a
        // dead CPU would reschedule that CPU.
        arm_timer(p, job_clock());
    }
    let se = p.se();
    if se.node.is_linked() && !se.push_node.is_linked() && p.nr_cpus_allowed() > 1 {
        let deadline = se.node.key().deadline;
        push_link(rq, p, deadline);
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
/// `rq` is locked and pinned by `rf`, and `prev` is a task of it.
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
/// deadline is the latest, if later than its own. `p->pi_lock` is held
/// and no rq lock: the handle's lock is the `pi_lock`.
pub(crate) fn select_task_rq(p: &Task<'_>, cpu: c_int, flags: c_int) -> c_int {
    if flags as u32 & (bindings::WF_TTWU | bindings::WF_FORK) == 0 {
        return cpu;
    }
    let earliest = earliest_unlocked(cpu);
    if earliest == 0 || p.nr_cpus_allowed() < 2 {
        return cpu;
    }
    // `p->pi_lock` keeps its timer callback, the only other writer of a
    // sleeping task's job, away.
    let se = p.se();
    let now = job_clock();
    // The deadline the task will be queued with, as `casio_enqueue_task()`
    // decides it, near enough for placement.
    let deadline = if se.pi_deadline != 0 {
        se.pi_deadline
    } else if se.job.released() && se.job.deadline > now {
        se.job.deadline
    } else {
        now.saturating_add(se.params.deadline)
    };
    if earliest > deadline {
        return cpu;
    }
    // SAFETY: `p` is valid and its `pi_lock` is held.
    unsafe { rd::find_cpu(p.as_ptr(), deadline) }.unwrap_or(cpu)
}

/// `switched_to`: `p`, a task of `rq`, just became a CASIO task.
pub(crate) fn switched_to(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    resched_if_preempted(rq, p);
    if p.se().push_node.is_linked() {
        rq.queue_push();
    }
}

/// `switched_from`: `p`, a task of `rq`, leaves CASIO for another class;
/// its timer stops, and the CPU may take CASIO tasks from others if it
/// has none left.
pub(crate) fn switched_from(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    reset_job(p);
    if p.queued() && rq.queue().is_empty() {
        rq.queue_pull();
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
    unsafe { admission::release(p) };
    // SAFETY: `p` is dead: nothing else uses its entity any more.
    reset_job(&mut unsafe { Task::from_raw(p) });
}

/// `prio_changed`: the parameters, and so the deadline, of `p`, a CASIO
/// task of `rq`, changed.
pub(crate) fn prio_changed(rq: &mut Rq<'_>, p: &mut Task<'_>) {
    if rq.is_curr(p) {
        // Its deadline may be later now: earlier tasks elsewhere may come.
        rq.queue_pull();
    }
    resched_if_preempted(rq, p);
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
        ptr::write(&mut crq.waiting, EdfQueue::new());
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
        ptr::write(&mut se.wait_node, EdfNode::new());
    }
    se.job = Job::default();
    se.stats = JobStats::default();
    se.waiting_release = 0;
    // INVARIANT: the new timer holds no reference yet.
    se.timer_ref = 0;
    se.overrun = 0;
    se.pi_deadline = 0;
    // The child is admitted on its own, by `sched_post_fork()`.
    se.bw = 0;
    se.bw_cpu = -1;
    // SAFETY: the timer was copied from the parent's and must not be
    // touched as a timer; the child is not visible to anyone yet.
    unsafe { se.timer.init(casio_timer_fn) };
}
