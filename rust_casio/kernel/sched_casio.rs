// SPDX-License-Identifier: GPL-2.0

//! CASIO: an earliest-deadline-first scheduling class.
//!
//! This is the kernel glue. It implements the `sched_class` callbacks
//! that `kernel/sched/casio.c` places in the class array, and defines the
//! state CASIO keeps in `task_struct` and `struct rq`. Every decision comes
//! from the pure EDF core in [`edf`]; every `unsafe` block that touches the
//! scheduler's data is here.
//!
//! Context: the callbacks run with the runqueue lock held and interrupts
//! off, unless their comment says otherwise. Nothing here sleeps or
//! allocates: the queue is intrusive, its links live in the task.

use core::ffi::c_int;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};
use kernel::bindings;

pub mod edf;

use edf::{job, CasioParams, EdfNode, EdfQueue, Job, JobStats, RuntimeCap};

/// Per-task CASIO state, embedded in `task_struct` as `casio`.
#[repr(C)]
pub struct SchedCasioEntity {
    /// Link in the EDF queue of the task's CPU. It is the first field, so
    /// a pointer to the node is a pointer to the entity.
    pub node: EdfNode,
    /// Relative runtime, deadline and period, in nanoseconds.
    pub params: CasioParams,
    /// The current job, on CLOCK_MONOTONIC.
    pub job: Job,
    /// Job statistics since the parameters were last set.
    pub stats: JobStats,
    /// Fires at the deadline of the current job, to count a miss, or at
    /// the next release while the task waits for it.
    pub timer: bindings::hrtimer,
    /// Free tag from `struct sched_casio_param`.
    pub casio_id: u32,
    /// 1 while the task waits for its next release: it is then on the
    /// runqueue for the core, but not in the EDF queue nor in nr_running.
    pub waiting_release: u32,
    /// The `sched_attr` flags CASIO keeps: budget enforcement, overrun
    /// signal, and whether the task reserves bandwidth.
    pub flags: u32,
    /// 1 when a job used up its runtime and the task asked for SIGXCPU;
    /// the POSIX CPU-timer tick sends the signal and clears it.
    pub overrun: u32,
    /// Share of a CPU (C/T in units of `BW_UNIT`) the task was admitted
    /// with; owned by the admission control in `kernel/sched/casio.c`.
    pub bw: u64,
    /// Non-zero while a task of another policy runs in CASIO because a
    /// CASIO task waits on a PI lock it holds: the waiter's deadline,
    /// which orders the task in the queue. Such a task has no job.
    pub pi_deadline: u64,
}

/// What `/proc/PID/sched_casio` shows of a task.
#[repr(C)]
pub struct CasioTaskInfo {
    /// Relative runtime, deadline and period, in nanoseconds.
    pub params: CasioParams,
    /// The current job.
    pub job: Job,
    /// Job statistics since the parameters were last set.
    pub stats: JobStats,
    /// Free tag from `struct sched_casio_param`.
    pub casio_id: u32,
    /// 1 while the task waits for its next release.
    pub waiting_release: u32,
    /// The task's CASIO `sched_attr` flags.
    pub flags: u32,
}

/// Per-CPU CASIO state, embedded in `struct rq` as `casio`.
#[repr(C)]
pub struct CasioRq {
    /// Queued CASIO tasks of this CPU, the running one included, ordered
    /// by absolute deadline.
    pub queue: EdfQueue,
    /// Job statistics of the CASIO tasks that ran on this CPU.
    pub stats: JobStats,
    /// CASIO run time of this CPU against the cap.
    pub cap: RuntimeCap,
    /// Ends a throttled window of the cap.
    pub cap_timer: bindings::hrtimer,
    /// The runqueue this state belongs to.
    pub rq: *mut bindings::rq,
}

// The C view of both types is generated from the definitions above, and
// bindgen reads it back; they must agree.
const _: () = assert!(
    core::mem::size_of::<bindings::sched_casio_entity>()
        == core::mem::size_of::<SchedCasioEntity>()
        && core::mem::align_of::<bindings::sched_casio_entity>()
            == core::mem::align_of::<SchedCasioEntity>()
        && core::mem::size_of::<bindings::casio_rq>() == core::mem::size_of::<CasioRq>()
        && core::mem::align_of::<bindings::casio_rq>() == core::mem::align_of::<CasioRq>()
);

/// A runqueue whose lock is held.
///
/// # Invariants
///
/// `ptr` points to a valid `struct rq` whose lock the caller holds for `'a`.
struct Rq<'a> {
    ptr: NonNull<bindings::rq>,
    _lock: PhantomData<&'a mut bindings::rq>,
}

impl<'a> Rq<'a> {
    /// # Safety
    ///
    /// `rq` points to a valid runqueue whose lock is held for `'a`.
    unsafe fn from_raw(rq: *mut bindings::rq) -> Self {
        // INVARIANT: guaranteed by the caller; the scheduler core passes its
        // locked runqueue to every class callback.
        Rq {
            // SAFETY: the caller passes a valid, hence non-null, runqueue.
            ptr: unsafe { NonNull::new_unchecked(rq) },
            _lock: PhantomData,
        }
    }

    fn as_ptr(&self) -> *mut bindings::rq {
        self.ptr.as_ptr()
    }

    /// The rq task clock, which excludes IRQ time, for runtime accounting.
    fn clock_task(&self) -> u64 {
        // SAFETY: the type invariant says the rq is valid and locked.
        unsafe { bindings::rq_clock_task(self.as_ptr()) }
    }

    fn curr(&self) -> *mut bindings::task_struct {
        // SAFETY: the rq is valid; `curr` only changes under its lock.
        unsafe { (*self.as_ptr()).curr }
    }

    fn casio(&mut self) -> &mut CasioRq {
        // SAFETY: the rq is valid and locked, so nothing else accesses its
        // CASIO state while `self` is borrowed; `CasioRq` is the type that
        // `rq->casio` was generated from (see the assertion above).
        unsafe { &mut *(ptr::addr_of_mut!((*self.as_ptr()).casio) as *mut CasioRq) }
    }

    fn queue(&mut self) -> &mut EdfQueue {
        &mut self.casio().queue
    }

    /// Whether this CPU has CASIO tasks it may run now.
    fn has_runnable(&mut self) -> bool {
        !self.casio().cap.is_throttled() && !self.queue().is_empty()
    }

    fn resched_curr(&self) {
        // SAFETY: the rq is valid and locked, as `resched_curr()` requires.
        unsafe { bindings::resched_curr(self.as_ptr()) }
    }

    fn add_nr_running(&self) {
        // SAFETY: the rq is valid and locked.
        unsafe { bindings::add_nr_running(self.as_ptr(), 1) }
    }

    fn sub_nr_running(&self) {
        // SAFETY: the rq is valid and locked.
        unsafe { bindings::sub_nr_running(self.as_ptr(), 1) }
    }

    /// Whether a class above CASIO has work on this CPU.
    fn higher_class_runnable(&self) -> bool {
        let rq = self.as_ptr();
        // SAFETY: the rq is valid and locked; `stop` is either null or the
        // CPU's stopper task, which lives as long as the CPU.
        unsafe {
            let stop = (*rq).stop;
            (*rq).dl.dl_nr_running > 0 || (!stop.is_null() && on_rq_queued(stop))
        }
    }

    /// Adds to this CPU's totals what a task's statistics gained.
    fn account(&mut self, before: &JobStats, after: &JobStats) {
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

/// The CASIO entity of `p`.
///
/// # Safety
///
/// `p` points to a valid task.
unsafe fn entity(p: *mut bindings::task_struct) -> *mut SchedCasioEntity {
    // SAFETY: `p` is valid; `SchedCasioEntity` is the type `task->casio`
    // was generated from.
    unsafe { ptr::addr_of_mut!((*p).casio) as *mut SchedCasioEntity }
}

/// The task whose CASIO entity holds `node`.
///
/// # Safety
///
/// `node` is the `casio.node` field of a valid task.
unsafe fn task_of(node: NonNull<EdfNode>) -> *mut bindings::task_struct {
    // SAFETY: only addresses inside the static `init_task` are taken,
    // nothing is read; this is `offsetof(struct task_struct, casio)`, and
    // the node sits at offset 0 of the entity.
    let offset = unsafe {
        (ptr::addr_of!(bindings::init_task.casio) as usize)
            .wrapping_sub(ptr::addr_of!(bindings::init_task) as usize)
    };
    // SAFETY: the caller guarantees `node` lies `offset` bytes into a task.
    unsafe { (node.as_ptr() as *mut u8).sub(offset) as *mut bindings::task_struct }
}

/// The time base of CASIO jobs: CLOCK_MONOTONIC, the clock on which user
/// space sleeps until its next release, and on which the timer runs.
fn job_clock() -> u64 {
    // SAFETY: `ktime_get()` may be called in any context but NMI.
    unsafe { bindings::ktime_get() as u64 }
}

/// The deadline `se` is queued by: that of its job, or the one it
/// inherited.
fn queue_key(se: &SchedCasioEntity) -> u64 {
    if se.pi_deadline != 0 {
        se.pi_deadline
    } else {
        se.job.deadline
    }
}

/// Queues `se` by its deadline, counting it in nr_running.
///
/// # Safety
///
/// `se` is the entity of a task of `rq`, not in any queue.
unsafe fn link(rq: &mut Rq<'_>, se: &mut SchedCasioEntity) {
    let deadline = queue_key(se);
    // SAFETY: the node is unlinked and lives in its task, which stays valid
    // while queued: a task is dequeued before it is freed.
    unsafe { rq.queue().enqueue(NonNull::from(&mut se.node), deadline) };
    rq.add_nr_running();
    // SAFETY: forwarded from the caller.
    unsafe { event(bindings::casio_event_CASIO_EVENT_ENQUEUE, se, deadline) };
}

/// Takes `se` off the queue of `rq` if it is on it.
///
/// # Safety
///
/// `se` is the entity of a task of `rq`.
unsafe fn unlink(rq: &mut Rq<'_>, se: &mut SchedCasioEntity) {
    if se.node.is_linked() {
        // SAFETY: a linked node of a task of this rq is in this rq's queue.
        unsafe { rq.queue().dequeue(NonNull::from(&mut se.node)) };
        rq.sub_nr_running();
        // SAFETY: forwarded from the caller.
        unsafe { event(bindings::casio_event_CASIO_EVENT_DEQUEUE, se, queue_key(se)) };
    }
}

/// Reports an event of the task whose entity is `se` to the tracepoints
/// and to /proc/casio_event.
///
/// # Safety
///
/// `se` is the entity of a valid task whose rq lock is held.
unsafe fn event(ev: bindings::casio_event, se: &SchedCasioEntity, deadline: u64) {
    // SAFETY: the caller guarantees `se` lies in a valid task.
    let p = unsafe { task_of(NonNull::from(&se.node)) };
    // SAFETY: `p` is valid and its rq lock is held, as the log requires.
    unsafe { bindings::casio_event_task(ev, p, deadline) };
}

/// A task's job accounting before a change, to settle the change.
#[derive(Clone, Copy)]
struct Before {
    stats: JobStats,
    deadline: u64,
}

impl Before {
    fn of(se: &SchedCasioEntity) -> Self {
        Before {
            stats: se.stats,
            deadline: se.job.deadline,
        }
    }
}

/// Adds what the statistics of `se` gained since `before` to the CPU's
/// totals, and reports the job events behind the gain: the end and miss
/// of the previous job, then the release of a new one.
///
/// # Safety
///
/// `se` is the entity of a task of the locked `rq`.
unsafe fn settle(rq: &mut Rq<'_>, se: &SchedCasioEntity, before: Before) {
    rq.account(&before.stats, &se.stats);
    let (old, new) = (&before.stats, &se.stats);
    if new.jobs_completed != old.jobs_completed {
        // SAFETY: forwarded from the caller.
        unsafe {
            event(
                bindings::casio_event_CASIO_EVENT_JOB_END,
                se,
                before.deadline,
            )
        };
    }
    if new.deadline_misses != old.deadline_misses {
        // SAFETY: forwarded from the caller.
        unsafe { event(bindings::casio_event_CASIO_EVENT_MISS, se, before.deadline) };
    }
    if new.jobs_released != old.jobs_released {
        // SAFETY: forwarded from the caller.
        unsafe {
            event(
                bindings::casio_event_CASIO_EVENT_RELEASE,
                se,
                se.job.deadline,
            )
        };
    }
}

/// Arms the timer of `p` to fire at `at` on the job clock. An armed timer
/// holds a reference on the task.
///
/// # Safety
///
/// `p` is a CASIO task whose rq lock is held.
unsafe fn arm_timer(p: *mut bindings::task_struct, at: u64) {
    // SAFETY: `p` is valid and its entity is protected by the rq lock.
    let timer = unsafe { &mut (*entity(p)).timer };
    let expires = core::cmp::min(at, i64::MAX as u64) as i64;
    if timer.state & bindings::HRTIMER_STATE_ENQUEUED as u8 == 0 {
        // SAFETY: `p` is valid; the reference is dropped by the callback or
        // by whoever cancels the timer.
        unsafe { bindings::get_task_struct(p) };
    }
    // SAFETY: the timer was set up by `casio_fork_entity()`. Starting it
    // never waits for a running callback, so holding the rq lock is fine.
    unsafe {
        bindings::hrtimer_start_range_ns(
            timer,
            expires,
            0,
            bindings::hrtimer_mode_HRTIMER_MODE_ABS_HARD,
        )
    };
}

/// Stops the timer of `p` unless its callback already runs, and forgets the
/// current job: the next enqueue releases a new one.
///
/// # Safety
///
/// `p` is valid and its rq lock is held, or `p` is dead.
unsafe fn reset_job(p: *mut bindings::task_struct) {
    // SAFETY: `p` is valid; the caller serialises access to its entity.
    let se = unsafe { &mut *entity(p) };
    // SAFETY: the timer was set up by `casio_fork_entity()`; trying to
    // cancel never waits, and a callback that already runs finds no job.
    if unsafe { bindings::hrtimer_try_to_cancel(&mut se.timer) } == 1 {
        // SAFETY: the cancelled timer held a reference, and so does the
        // caller, so this is not the last one.
        unsafe { bindings::put_task_struct(p) };
    }
    se.job = Job::default();
    se.waiting_release = 0;
    se.pi_deadline = 0;
    // SAFETY: a single aligned word, also written by the CPU-timer tick.
    unsafe { ptr::write_volatile(&mut se.overrun, 0) };
}

/// The task whose CASIO timer is `timer`.
///
/// # Safety
///
/// `timer` is the `casio.timer` field of a valid task.
unsafe fn task_of_timer(timer: *mut bindings::hrtimer) -> *mut bindings::task_struct {
    // SAFETY: only addresses inside the static `init_task` are taken.
    let offset = unsafe {
        (ptr::addr_of!(bindings::init_task.casio.timer) as usize)
            .wrapping_sub(ptr::addr_of!(bindings::init_task) as usize)
    };
    // SAFETY: the caller guarantees `timer` lies `offset` bytes into a task.
    unsafe { (timer as *mut u8).sub(offset) as *mut bindings::task_struct }
}

/// The CASIO timer: at a job's deadline it counts a miss if the job is
/// still ready or running; at a release it queues the waiting task with
/// its new job.
///
/// Runs in hard interrupt context, without the rq lock, which it takes.
unsafe extern "C" fn casio_timer_fn(timer: *mut bindings::hrtimer) -> bindings::hrtimer_restart {
    // SAFETY: CASIO arms only the `casio.timer` of tasks, and an armed
    // timer holds a reference on its task, so `p` is valid.
    let p = unsafe { task_of_timer(timer) };
    let mut rf = bindings::rq_flags::default();
    // SAFETY: `p` is valid; `task_rq_lock()` takes `p->pi_lock` and the
    // lock of the rq `p` is on, with interrupts already off here.
    let raw = unsafe { bindings::task_rq_lock(p, &mut rf) };
    // SAFETY: the lock of `raw` is held until `task_rq_unlock()` below.
    let mut rq = unsafe { Rq::from_raw(raw) };
    // SAFETY: the rq is locked.
    unsafe { bindings::update_rq_clock(rq.as_ptr()) };
    // SAFETY: `p` is valid and a task of the locked rq.
    if unsafe { is_casio_task(p) } {
        // SAFETY: as above.
        unsafe { timer_expired(&mut rq, p) };
    }
    // SAFETY: pairs with `task_rq_lock()` above.
    unsafe { bindings::task_rq_unlock(raw, p, &mut rf) };
    // SAFETY: drops the reference of this arming; if the callback armed
    // the timer again, that arming took its own.
    unsafe { bindings::put_task_struct(p) };
    bindings::hrtimer_restart_HRTIMER_NORESTART
}

/// # Safety
///
/// `p` is a CASIO task of the locked `rq`.
unsafe fn timer_expired(rq: &mut Rq<'_>, p: *mut bindings::task_struct) {
    // SAFETY: `p` is valid and its entity is protected by the rq lock.
    let se = unsafe { &mut *entity(p) };
    let now = job_clock();
    let before = Before::of(se);
    if se.waiting_release != 0 {
        se.waiting_release = 0;
        // SAFETY: `p` is valid.
        let exec = unsafe { (*p).se.sum_exec_runtime };
        // Release at the planned time, one period after the last release,
        // however late the timer fired, so that releases do not drift.
        let planned = se.job.release.saturating_add(se.params.period);
        se.job.release(
            &mut se.stats,
            core::cmp::min(planned, now),
            exec,
            &se.params,
        );
        // SAFETY: `p` is a CASIO task of `rq`.
        unsafe { arm_timer(p, se.job.deadline) };
        // SAFETY: `p` is valid.
        if unsafe { on_rq_queued(p) } {
            // SAFETY: a waiting task is not in the queue.
            unsafe { link(rq, se) };
            // SAFETY: the rq is locked and `p` is queued on it.
            unsafe { bindings::check_preempt_curr(rq.as_ptr(), p, 0) };
        }
    } else if se.node.is_linked() {
        se.job.deadline_reached(&mut se.stats, now);
    }
    // SAFETY: `se` is the entity of a task of the locked `rq`.
    unsafe { settle(rq, se, before) };
}

/// # Safety
///
/// `p` points to a valid task.
unsafe fn on_rq_queued(p: *mut bindings::task_struct) -> bool {
    // SAFETY: `p` is valid.
    unsafe { (*p).on_rq == bindings::TASK_ON_RQ_QUEUED as c_int }
}

/// # Safety
///
/// `p` points to a valid task.
unsafe fn is_casio_task(p: *mut bindings::task_struct) -> bool {
    // SAFETY: `p` is valid; only the address of the class is taken.
    unsafe { ptr::eq((*p).sched_class, ptr::addr_of!(bindings::casio_sched_class)) }
}

/// Charges the running task for the time since it was last charged, and
/// enforces its budget and the CPU's cap on CASIO time.
fn update_curr(rq: &mut Rq<'_>) {
    let curr = rq.curr();
    // SAFETY: `rq->curr` is valid while the rq is locked.
    if unsafe { !is_casio_task(curr) } {
        return;
    }
    let now = rq.clock_task();
    // SAFETY: as above; `se.exec_start` is only written under the rq lock.
    let delta = now.wrapping_sub(unsafe { (*curr).se.exec_start }) as i64;
    if delta <= 0 {
        return;
    }
    // SAFETY: `curr` is the running task of the locked rq.
    unsafe { bindings::update_current_exec_runtime(curr, now, delta as u64) };
    // SAFETY: `curr` is a CASIO task of the locked rq.
    unsafe { enforce_budget(rq, curr) };
    charge_cap(rq, now, delta as u64);
}

/// Acts on a job of `p` that used up its runtime: the task is sent
/// SIGXCPU if it asked (`SCHED_FLAG_DL_OVERRUN`), and throttled until its
/// next release if it asked for a budget (`SCHED_FLAG_CASIO_BUDGET`).
///
/// # Safety
///
/// `p` is the running CASIO task of the locked `rq`.
unsafe fn enforce_budget(rq: &mut Rq<'_>, p: *mut bindings::task_struct) {
    // SAFETY: `p` is valid and its entity is protected by the rq lock.
    let se = unsafe { &mut *entity(p) };
    // SAFETY: as above; the runtime was just updated.
    let exec = unsafe { (*p).se.sum_exec_runtime };
    let before = Before::of(se);
    if !se.job.runtime_exhausted(&mut se.stats, exec, &se.params) {
        return;
    }
    // SAFETY: `se` is the entity of a task of the locked `rq`.
    unsafe { settle(rq, se, before) };
    if se.flags & bindings::SCHED_FLAG_DL_OVERRUN != 0 {
        // SAFETY: a single aligned word, also read by the CPU-timer tick.
        unsafe { ptr::write_volatile(&mut se.overrun, 1) };
    }
    if se.flags & bindings::SCHED_FLAG_CASIO_BUDGET != 0 && se.node.is_linked() {
        // SAFETY: `p` is a task of `rq`.
        unsafe { unlink(rq, se) };
        se.waiting_release = 1;
        let next = se.job.next_release(job_clock(), &se.params);
        // SAFETY: `p` is a CASIO task of the locked `rq`.
        unsafe {
            arm_timer(p, next);
            event(
                bindings::casio_event_CASIO_EVENT_THROTTLE,
                se,
                se.job.deadline,
            );
        }
        rq.resched_curr();
    }
}

/// Charges `delta` ns of CASIO time, at `now` on the rq task clock, to the
/// CPU's cap, and throttles the CPU's CASIO tasks if the cap is reached.
/// The windows run on the rq clock, which costs nothing to read here; only
/// the timer that ends a throttled window needs the job clock.
fn charge_cap(rq: &mut Rq<'_>, now: u64, delta: u64) {
    let (mut runtime, mut period) = (0, 0);
    // SAFETY: plain reads of the sysctls into the locals.
    if unsafe { !bindings::casio_cap(&mut runtime, &mut period) } {
        return;
    }
    let crq = rq.casio();
    if let Some(end) = crq.cap.charge(now, delta, runtime, period) {
        let at = job_clock().saturating_add(end.saturating_sub(now));
        let expires = core::cmp::min(at, i64::MAX as u64) as i64;
        // SAFETY: the timer was set up by `casio_init_rq()`; starting it
        // never waits for its callback, so holding the rq lock is fine.
        unsafe {
            bindings::hrtimer_start_range_ns(
                &mut crq.cap_timer,
                expires,
                0,
                bindings::hrtimer_mode_HRTIMER_MODE_ABS_HARD,
            )
        };
        rq.resched_curr();
        let curr = rq.curr();
        // SAFETY: `curr` is the running CASIO task of the locked rq.
        unsafe {
            let se = &*entity(curr);
            event(
                bindings::casio_event_CASIO_EVENT_THROTTLE,
                se,
                queue_key(se),
            );
        }
    }
}

/// The CASIO state of the runqueue whose cap timer is `timer`.
///
/// # Safety
///
/// `timer` is the `cap_timer` field of a [`CasioRq`].
unsafe fn casio_rq_of_timer(timer: *mut bindings::hrtimer) -> *mut CasioRq {
    let probe = MaybeUninit::<CasioRq>::uninit();
    let base = probe.as_ptr();
    // SAFETY: only the address of a field of the local is taken.
    let offset = unsafe { ptr::addr_of!((*base).cap_timer) as usize - base as usize };
    // SAFETY: the caller guarantees `timer` lies `offset` bytes into one.
    unsafe { (timer as *mut u8).sub(offset) as *mut CasioRq }
}

/// The end of a throttled window: the CPU may run CASIO tasks again.
///
/// Runs in hard interrupt context, without the rq lock, which it takes.
unsafe extern "C" fn casio_cap_timer_fn(
    timer: *mut bindings::hrtimer,
) -> bindings::hrtimer_restart {
    // SAFETY: only `casio_init_rq()` sets this callback, on the cap timer
    // of a runqueue, and runqueues are never freed.
    let raw = unsafe { (*casio_rq_of_timer(timer)).rq };
    // SAFETY: `raw` is a valid runqueue; interrupts are off here.
    unsafe { bindings::raw_spin_rq_lock_nested(raw, 0) };
    // SAFETY: the lock of `raw` is held until the unlock below.
    let mut rq = unsafe { Rq::from_raw(raw) };
    rq.casio().cap.unthrottle();
    if rq.has_runnable() {
        rq.resched_curr();
    }
    // SAFETY: pairs with the lock above.
    unsafe { bindings::raw_spin_rq_unlock(raw) };
    bindings::hrtimer_restart_HRTIMER_NORESTART
}

/// Reschedules if `p`, queued on `rq`, should run instead of what runs now,
/// or if `p` runs but is no longer the earliest.
///
/// # Safety
///
/// `p` is a valid CASIO task of `rq`.
unsafe fn resched_if_preempted(rq: &mut Rq<'_>, p: *mut bindings::task_struct) {
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
        // SAFETY: the rq is locked and `p` is queued on it.
        unsafe { bindings::check_preempt_curr(rq.as_ptr(), p, 0) };
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
#[no_mangle]
pub unsafe extern "C" fn casio_enqueue_task(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    flags: c_int,
) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    // SAFETY: `p` is a valid task; its entity is only touched under the
    // rq lock, which is held.
    let se = unsafe { &mut *entity(p) };
    if se.waiting_release != 0 || se.node.is_linked() {
        return;
    }
    if se.pi_deadline != 0 {
        // SAFETY: `p` is not queued, as the core guarantees.
        unsafe { link(&mut rq, se) };
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
        unsafe { settle(&mut rq, se, before) };
    }
    // SAFETY: `p` is not queued, as the core guarantees.
    unsafe { link(&mut rq, se) };
}

/// `dequeue_task`: `p` leaves `rq`, to sleep, migrate or change class.
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
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    update_curr(&mut rq);
    // SAFETY: `p` is valid and its entity is protected by the rq lock.
    let se = unsafe { &mut *entity(p) };
    if (flags as u32 & bindings::DEQUEUE_SLEEP) != 0 {
        // A job that blocks past its deadline ended here.
        se.job.last_block = job_clock();
    }
    // SAFETY: `p` is a task of `rq`.
    unsafe { unlink(&mut rq, se) };
}

/// `yield_task`: `sched_yield()` ends the running task's job. The task
/// waits off the queue until its next release, one period after the last,
/// or runs its next job at once if that release is already due.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and a CASIO task running.
#[no_mangle]
pub unsafe extern "C" fn casio_yield_task(rq: *mut bindings::rq) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    // The yield path does not update the clock; charge the job first.
    // SAFETY: the rq is locked.
    unsafe { bindings::update_rq_clock(rq.as_ptr()) };
    update_curr(&mut rq);
    let curr = rq.curr();
    // SAFETY: `curr` is valid while the rq is locked.
    let se = unsafe { &mut *entity(curr) };
    if se.pi_deadline != 0 {
        // A boosted task has no job to end; it goes behind its equals.
        // SAFETY: `curr` is a queued task of `rq`.
        unsafe {
            unlink(&mut rq, se);
            link(&mut rq, se);
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
    unsafe { unlink(&mut rq, se) };
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
            link(&mut rq, se);
        }
    }
    // SAFETY: `se` is the entity of a task of the locked `rq`.
    unsafe { settle(&mut rq, se, before) };
    // SAFETY: the rq is locked; the clock was just updated.
    unsafe { (*rq.as_ptr()).clock_update_flags |= bindings::RQCF_REQ_SKIP as u32 };
}

/// `check_preempt_curr`: `p` woke up while a CASIO task runs.
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
    // SAFETY: the core passes its locked runqueue.
    let rq = unsafe { Rq::from_raw(rq) };
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
#[no_mangle]
pub unsafe extern "C" fn casio_pick_task(rq: *mut bindings::rq) -> *mut bindings::task_struct {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    if rq.casio().cap.is_throttled() {
        return ptr::null_mut();
    }
    match rq.queue().earliest() {
        // SAFETY: every node in the queue is the node of a queued task.
        Some(node) => unsafe { task_of(node) },
        None => ptr::null_mut(),
    }
}

/// `set_next_task`: `p` becomes the running task of `rq`.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` a CASIO task of it.
#[no_mangle]
pub unsafe extern "C" fn casio_set_next_task(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    _first: bool,
) {
    // SAFETY: the core passes its locked runqueue.
    let rq = unsafe { Rq::from_raw(rq) };
    // SAFETY: `p` is valid; `se.exec_start` is written under the rq lock.
    unsafe { (*p).se.exec_start = rq.clock_task() };
}

/// `pick_next_task`: picks and starts the earliest-deadline task.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_pick_next_task(rq: *mut bindings::rq) -> *mut bindings::task_struct {
    // SAFETY: forwarded from the caller.
    let p = unsafe { casio_pick_task(rq) };
    if !p.is_null() {
        // SAFETY: forwarded from the caller; `p` is a queued CASIO task.
        unsafe { casio_set_next_task(rq, p, true) };
        // SAFETY: the rq is locked; `curr` is still the task switched from.
        let prev = unsafe { (*rq).curr };
        if prev != p {
            // SAFETY: both tasks are valid and the rq lock is held.
            unsafe { bindings::casio_event_switch(prev, p) };
        }
    }
    p
}

/// `put_prev_task`: `p` stops running; it stays queued if still ready.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` its current task.
#[no_mangle]
pub unsafe extern "C" fn casio_put_prev_task(
    rq: *mut bindings::rq,
    _p: *mut bindings::task_struct,
) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    update_curr(&mut rq);
}

/// `balance`: tells the core whether this CPU has work at or above CASIO,
/// so that lower classes need not pull any.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_balance(
    rq: *mut bindings::rq,
    _prev: *mut bindings::task_struct,
    _rf: *mut bindings::rq_flags,
) -> c_int {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    (rq.higher_class_runnable() || rq.has_runnable()) as c_int
}

/// `select_task_rq`: a waking or forked CASIO task stays on its CPU.
///
/// Runs with `p->pi_lock` held and no rq lock; it reads nothing.
#[no_mangle]
pub extern "C" fn casio_select_task_rq(
    _p: *mut bindings::task_struct,
    cpu: c_int,
    _flags: c_int,
) -> c_int {
    cpu
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

/// `switched_to`: `p` just became a CASIO task.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, `p` a CASIO task of it.
#[no_mangle]
pub unsafe extern "C" fn casio_switched_to(rq: *mut bindings::rq, p: *mut bindings::task_struct) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    // SAFETY: forwarded from the caller.
    unsafe { resched_if_preempted(&mut rq, p) };
}

/// `switched_from`: `p` leaves CASIO for another class; its timer stops.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked and `p` of it.
#[no_mangle]
pub unsafe extern "C" fn casio_switched_from(
    _rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
) {
    // SAFETY: the rq lock of `p` is held, and the caller holds a reference.
    unsafe { reset_job(p) };
}

/// `task_dead`: a CASIO task exited; its timer stops.
///
/// # Safety
///
/// Called by the scheduler core for a dead task it still holds.
#[no_mangle]
pub unsafe extern "C" fn casio_task_dead(p: *mut bindings::task_struct) {
    // SAFETY: `p` is dead and still referenced by the caller.
    unsafe { reset_job(p) };
}

/// `prio_changed`: the parameters, and so the deadline, of `p` changed.
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
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    // SAFETY: forwarded from the caller.
    unsafe { resched_if_preempted(&mut rq, p) };
}

/// Sets up the CASIO state of a runqueue, at boot.
///
/// # Safety
///
/// `rq` points to a runqueue nobody uses yet.
#[no_mangle]
pub unsafe extern "C" fn casio_init_rq(rq: *mut bindings::rq) {
    // SAFETY: the caller gives exclusive access to the runqueue; its
    // `casio` field was generated from `CasioRq`.
    let crq = unsafe { &mut *(ptr::addr_of_mut!((*rq).casio) as *mut CasioRq) };
    // SAFETY: overwriting the uninitialised fields without reading them.
    unsafe {
        ptr::write(&mut crq.queue, EdfQueue::new());
        ptr::write(&mut crq.stats, JobStats::default());
        ptr::write(&mut crq.cap, RuntimeCap::default());
        ptr::write(&mut crq.rq, rq);
    }
    // SAFETY: nobody uses the runqueue, hence its timer, yet.
    unsafe { init_timer(&mut crq.cap_timer, casio_cap_timer_fn) };
}

/// Sets `timer` up from scratch, on the job clock, to run `function` in
/// hard interrupt context.
///
/// # Safety
///
/// Nobody else uses `timer`; whatever it holds is not a live timer.
unsafe fn init_timer(
    timer: &mut bindings::hrtimer,
    function: unsafe extern "C" fn(*mut bindings::hrtimer) -> bindings::hrtimer_restart,
) {
    // SAFETY: `hrtimer_init()` overwrites the whole timer; the caller
    // guarantees that no one else uses it.
    unsafe {
        bindings::hrtimer_init(
            timer,
            bindings::CLOCK_MONOTONIC as bindings::clockid_t,
            bindings::hrtimer_mode_HRTIMER_MODE_ABS_HARD,
        )
    };
    timer.function = Some(function);
}

/// Resets the CASIO state that a new task copied from its parent: it is
/// on no queue, has no job, no statistics and its own timer. Its
/// parameters are inherited; its first job is released when it first runs.
///
/// # Safety
///
/// `p` is a task being set up by `fork()`, not yet visible to anyone.
/// Process context.
#[no_mangle]
pub unsafe extern "C" fn casio_fork_entity(p: *mut bindings::task_struct) {
    // SAFETY: the caller gives exclusive access to `p`.
    let se = unsafe { &mut *entity(p) };
    // SAFETY: the node was copied from the parent and may look linked;
    // overwriting it without reading it is what resets it.
    unsafe { ptr::write(&mut se.node, EdfNode::new()) };
    se.job = Job::default();
    se.stats = JobStats::default();
    se.waiting_release = 0;
    se.overrun = 0;
    se.pi_deadline = 0;
    // The child is admitted on its own, by `sched_post_fork()`.
    se.bw = 0;
    // SAFETY: the timer was copied from the parent's and must not be
    // touched as a timer; the child is not visible to anyone yet.
    unsafe { init_timer(&mut se.timer, casio_timer_fn) };
}

/// The parameters `attr` asks for, or why they are invalid.
///
/// # Safety
///
/// `attr` points to a valid `struct sched_attr`.
unsafe fn attr_params(attr: *const bindings::sched_attr) -> Result<CasioParams, edf::ParamError> {
    // SAFETY: the caller passes a valid attr.
    let attr = unsafe { &*attr };
    CasioParams::from_attr(attr.sched_runtime, attr.sched_deadline, attr.sched_period)
}

/// The `sched_attr` flags a CASIO task keeps.
const CASIO_FLAGS: u32 = bindings::SCHED_FLAG_DL_OVERRUN
    | bindings::SCHED_FLAG_CASIO_BUDGET
    | bindings::SCHED_FLAG_CASIO_UNRESERVED;

/// The CASIO flags of `attr`.
///
/// # Safety
///
/// `attr` points to a valid `struct sched_attr`.
unsafe fn attr_flags(attr: *const bindings::sched_attr) -> u32 {
    // SAFETY: the caller passes a valid attr.
    unsafe { (*attr).sched_flags as u32 & CASIO_FLAGS }
}

/// Whether `attr` holds valid CASIO parameters: SCHED_DEADLINE's rules.
///
/// # Safety
///
/// `attr` points to a valid `struct sched_attr`. Any context.
#[no_mangle]
pub unsafe extern "C" fn casio_checkparam(attr: *const bindings::sched_attr) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe { attr_params(attr) }.is_ok()
}

/// Whether `attr` would change the parameters of the CASIO task `p`.
///
/// # Safety
///
/// `p` and `attr` are valid; the rq lock of `p` is held.
#[no_mangle]
pub unsafe extern "C" fn casio_param_changed(
    p: *mut bindings::task_struct,
    attr: *const bindings::sched_attr,
) -> bool {
    // SAFETY: forwarded from the caller.
    let (new, flags) = unsafe { (attr_params(attr), attr_flags(attr)) };
    // SAFETY: `p` is valid and its entity is protected by the held rq lock.
    let se = unsafe { &*entity(p) };
    new != Ok(se.params) || flags != se.flags
}

/// Applies validated parameters to `p`: its statistics restart and its
/// next enqueue releases a new job.
///
/// # Safety
///
/// `p` and `attr` are valid, `attr` passed [`casio_checkparam`], the rq
/// lock of `p` is held and `p` is not queued.
#[no_mangle]
pub unsafe extern "C" fn casio_setparam(
    p: *mut bindings::task_struct,
    attr: *const bindings::sched_attr,
) {
    // SAFETY: forwarded from the caller.
    let params = unsafe { attr_params(attr) };
    // SAFETY: `p` is valid and its entity is protected by the held rq lock.
    let se = unsafe { &mut *entity(p) };
    if let Ok(params) = params {
        se.params = params;
    }
    // SAFETY: forwarded from the caller.
    se.flags = unsafe { attr_flags(attr) };
    // SAFETY: as above.
    unsafe { reset_job(p) };
    se.stats = JobStats::default();
}

/// Reports the parameters of the CASIO task `p` in `attr`.
///
/// # Safety
///
/// `p` and `attr` are valid; the caller holds a reference on `p`.
#[no_mangle]
pub unsafe extern "C" fn casio_getparam(
    p: *mut bindings::task_struct,
    attr: *mut bindings::sched_attr,
) {
    // SAFETY: `p` is valid. The parameters may change concurrently, as
    // for SCHED_DEADLINE's getattr; a copy is taken.
    let (params, flags) = unsafe {
        (
            ptr::read_volatile(ptr::addr_of!((*entity(p)).params)),
            ptr::read_volatile(ptr::addr_of!((*entity(p)).flags)),
        )
    };
    // SAFETY: the caller passes a valid attr.
    let attr = unsafe { &mut *attr };
    attr.sched_priority = 0;
    attr.sched_runtime = params.runtime;
    attr.sched_deadline = params.deadline;
    attr.sched_period = params.period;
    // The reservation flag is internal.
    attr.sched_flags |= (flags & !bindings::SCHED_FLAG_CASIO_UNRESERVED) as u64;
}

/// Records the tag given with `struct sched_casio_param`.
///
/// # Safety
///
/// `p` is valid and the caller holds a reference on it. Process context,
/// no lock: the tag is informational.
#[no_mangle]
pub unsafe extern "C" fn casio_set_id(p: *mut bindings::task_struct, casio_id: u32) {
    // SAFETY: `p` is valid; a single aligned word is written.
    unsafe { ptr::write_volatile(ptr::addr_of_mut!((*entity(p)).casio_id), casio_id) };
}

/// `p`, of another policy, holds a PI lock that the CASIO task `pi_task`
/// waits on, and runs in CASIO by `pi_task`'s current deadline until the
/// lock is released (`switched_from` then forgets it).
///
/// # Safety
///
/// `p` and `pi_task` are valid; `p->pi_lock` and its rq lock are held and
/// `p` is not queued.
#[no_mangle]
pub unsafe extern "C" fn casio_pi_boost(
    p: *mut bindings::task_struct,
    pi_task: *mut bindings::task_struct,
) {
    // SAFETY: `pi_task` is blocked on the lock `p` holds, so it is valid;
    // its deadline changes only under its own rq lock, and a stale value
    // only orders `p` a little differently.
    let deadline = unsafe { ptr::read_volatile(ptr::addr_of!((*entity(pi_task)).job.deadline)) };
    // SAFETY: `p` is valid and its entity is protected by the held rq lock.
    unsafe { (*entity(p)).pi_deadline = core::cmp::max(deadline, 1) };
}

/// Fills `info` with the CASIO state of `p`. Returns whether `p` is a CASIO
/// task; the state of other tasks is what they had when they left CASIO.
///
/// # Safety
///
/// `p` and `info` are valid and the caller holds a reference on `p`.
/// Process context, no scheduler lock held.
#[no_mangle]
pub unsafe extern "C" fn casio_task_info(
    p: *mut bindings::task_struct,
    info: *mut CasioTaskInfo,
) -> bool {
    let mut rf = bindings::rq_flags::default();
    // SAFETY: `p` is valid; the locks make the snapshot consistent.
    let raw = unsafe { bindings::task_rq_lock(p, &mut rf) };
    // SAFETY: `p` is valid and its entity is protected by the rq lock. A
    // boosted task of another policy is not a CASIO task.
    let (se, casio) = unsafe { (&*entity(p), (*p).policy == bindings::SCHED_CASIO) };
    // SAFETY: the caller passes a valid `info`.
    unsafe {
        ptr::write(
            info,
            CasioTaskInfo {
                params: se.params,
                job: se.job,
                stats: se.stats,
                casio_id: se.casio_id,
                waiting_release: se.waiting_release,
                flags: se.flags,
            },
        )
    };
    // SAFETY: pairs with `task_rq_lock()` above.
    unsafe { bindings::task_rq_unlock(raw, p, &mut rf) };
    casio
}

/// Operations per timed phase of the queue self-benchmark: enough that
/// the two clock reads around a phase do not count.
const BENCH_OPS: usize = 100_000;

/// Times the EDF queue for the queue self-benchmark (`queue_bench.c`).
/// With `n` nodes queued under pseudo-random deadlines, it times
/// [`BENCH_OPS`] requeues (a node leaves and comes back with a new
/// deadline, as a task that sleeps and wakes) and as many look-ups of the
/// earliest deadline. `ns[0..2]` get the total time of each phase.
///
/// # Safety
///
/// `nodes` points to `n` (at least one) zeroed nodes that nobody else
/// uses, and `ns` to two `u64`. Process context.
#[no_mangle]
pub unsafe extern "C" fn casio_queue_bench(nodes: *mut EdfNode, n: usize, seed: u64, ns: *mut u64) {
    let mut queue = EdfQueue::new();
    let mut x = seed | 1;
    let mut next_key = || {
        // xorshift64; deadlines stay clear of the top bit.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x >> 1
    };
    // SAFETY: `i < n`, and the caller passes `n` valid nodes.
    let node = |i: usize| unsafe { NonNull::new_unchecked(nodes.add(i)) };
    for i in 0..n {
        // SAFETY: each node is unlinked until it is enqueued here, and the
        // nodes outlive the queue.
        unsafe { queue.enqueue(node(i), next_key()) };
    }
    // Visit the nodes in strides of a step coprime with `n`.
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let mut step = (n / 2) | 1;
    while n > 1 && gcd(step, n) != 1 {
        step += 2;
    }
    let t0 = job_clock();
    let mut i = 0;
    for _ in 0..BENCH_OPS {
        i = (i + step) % n;
        // SAFETY: every node is linked in `queue` but while requeued here.
        unsafe {
            queue.dequeue(node(i));
            queue.enqueue(node(i), next_key());
        }
    }
    let t1 = job_clock();
    let (mut seen, q): (usize, *const EdfQueue) = (0, &queue);
    for _ in 0..BENCH_OPS {
        // SAFETY: `q` points to the live queue; reading the pointer
        // afresh keeps each look-up from being merged with the others.
        let queue = unsafe { &*ptr::read_volatile(&q) };
        if let Some(e) = queue.earliest() {
            seen = seen.wrapping_add(e.as_ptr() as usize);
        }
    }
    // SAFETY: a read of a local keeps the look-ups from being optimised out.
    unsafe { ptr::read_volatile(&seen) };
    let t2 = job_clock();
    for i in 0..n {
        // SAFETY: every node is linked; it leaves the queue unlinked.
        unsafe { queue.dequeue(node(i)) };
    }
    // SAFETY: the caller passes room for two values.
    unsafe { ptr::copy_nonoverlapping([t1 - t0, t2 - t1].as_ptr(), ns, 2) };
}
