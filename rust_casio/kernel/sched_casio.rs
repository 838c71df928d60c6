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

pub mod admission;
pub mod edf;
pub mod rd;

use edf::{job, CasioParams, EdfNode, EdfQueue, Job, JobStats, RuntimeCap};

/// Per-task CASIO state, embedded in `task_struct` as `casio`.
#[repr(C)]
pub struct SchedCasioEntity {
    /// Link in the EDF queue of the task's CPU. It is the first field, so
    /// a pointer to the node is a pointer to the entity.
    pub node: EdfNode,
    /// Link in the CPU's queue of pushable tasks: queued, not running and
    /// allowed on more than one CPU.
    pub push_node: EdfNode,
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
    /// with; owned by the admission control (`admission.rs`).
    pub bw: u64,
    /// The CPU whose pinned share holds `bw` (the task may run there
    /// only), or -1; meaningful while `bw` is non-zero. Owned by the
    /// admission control.
    pub bw_cpu: i32,
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

/// What `/proc/sched_casio` and `/proc/sched_casio_cpus` show of a CPU.
#[repr(C)]
pub struct CasioRqInfo {
    /// Job statistics of the CASIO tasks that ran on the CPU.
    pub stats: JobStats,
    /// Windows in which the cap throttled the CPU.
    pub cap_throttles: u64,
    /// Queued CASIO tasks, the running one included.
    pub queued: u64,
    /// The deadline the running task is queued by; 0 if it is not a
    /// CASIO task.
    pub curr_deadline: u64,
}

/// Per-CPU CASIO state, embedded in `struct rq` as `casio`.
#[repr(C)]
pub struct CasioRq {
    /// Queued CASIO tasks of this CPU, the running one included, ordered
    /// by absolute deadline.
    pub queue: EdfQueue,
    /// The queued tasks that may run on another CPU, by deadline.
    pub pushable: EdfQueue,
    /// Earliest deadline in `queue`, 0 if empty: the CPU's key in its
    /// root domain's heap.
    pub earliest: u64,
    /// Earliest deadline in `pushable`, 0 if empty; read without the lock
    /// by CPUs looking for a task to pull.
    pub pushable_earliest: u64,
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

    fn cpu(&self) -> c_int {
        // SAFETY: the rq is valid; its CPU number never changes.
        unsafe { (*self.as_ptr()).cpu }
    }

    /// Whether the CPU is online in its root domain.
    fn online(&self) -> bool {
        // SAFETY: the rq is valid; `online` changes under its lock.
        unsafe { (*self.as_ptr()).online != 0 }
    }

    /// Updates what the root domain knows of this CPU after its queues
    /// changed: its earliest deadline, and whether it has tasks to push.
    fn publish(&mut self) {
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

    /// Whether the CPU's cap or the RT bandwidth it shares stops CASIO.
    fn throttled(&mut self) -> bool {
        // SAFETY: the rq is valid and locked.
        self.casio().cap.is_throttled() || unsafe { bindings::casio_rt_throttled(self.as_ptr()) }
    }

    /// Whether this CPU has CASIO tasks it may run now.
    fn has_runnable(&mut self) -> bool {
        !self.throttled() && !self.queue().is_empty()
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
///
/// The wake-up and sleep paths read it for each switch, which costs a
/// device access where the clocksource is the HPET (a QEMU guest whose
/// TSC is not trusted). The rq clock is cheaper but may lag it by tens of
/// milliseconds when a CPU missed ticks (a preempted vCPU), so releases
/// would get deadlines in the past.
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

/// The earliest deadline in `queue`, 0 if it is empty.
fn earliest_deadline(queue: &EdfQueue) -> u64 {
    match queue.earliest() {
        // SAFETY: a node in a queue is valid while linked.
        Some(node) => unsafe { node.as_ref() }.key().deadline,
        None => 0,
    }
}

/// The number of CPUs `p` may run on.
///
/// # Safety
///
/// `p` points to a valid task.
unsafe fn nr_cpus_allowed(p: *mut bindings::task_struct) -> c_int {
    // SAFETY: `p` is valid; the count changes under its rq lock, and a
    // stale value only makes a placement less good.
    unsafe { ptr::read_volatile(ptr::addr_of!((*p).nr_cpus_allowed)) }
}

/// Queues `se` by its deadline, counting it in nr_running; a task that is
/// not running and may migrate is also made pushable.
///
/// # Safety
///
/// `se` is the entity of a task of `rq`, not in any queue.
unsafe fn link(rq: &mut Rq<'_>, se: &mut SchedCasioEntity) {
    let deadline = queue_key(se);
    // SAFETY: the node is unlinked and lives in its task, which stays valid
    // while queued: a task is dequeued before it is freed.
    unsafe { rq.queue().enqueue(NonNull::from(&mut se.node), deadline) };
    // SAFETY: forwarded from the caller.
    let p = unsafe { task_of(NonNull::from(&se.node)) };
    // SAFETY: `p` is valid.
    if p != rq.curr() && unsafe { nr_cpus_allowed(p) } > 1 {
        // SAFETY: as for `node`; `push_node` is linked only with `node`.
        unsafe {
            rq.casio()
                .pushable
                .enqueue(NonNull::from(&mut se.push_node), deadline)
        };
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
unsafe fn unlink(rq: &mut Rq<'_>, se: &mut SchedCasioEntity) {
    if se.node.is_linked() {
        // SAFETY: a linked node of a task of this rq is in this rq's queue.
        unsafe { rq.queue().dequeue(NonNull::from(&mut se.node)) };
        if se.push_node.is_linked() {
            // SAFETY: as above, for the pushable queue.
            unsafe {
                rq.casio()
                    .pushable
                    .dequeue(NonNull::from(&mut se.push_node))
            };
        }
        rq.publish();
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
    unsafe { bindings::casio_event_task(ev, p, casio_id(p), deadline) };
}

/// The tag of `p` from `struct sched_casio_param`.
///
/// # Safety
///
/// `p` is valid.
unsafe fn casio_id(p: *mut bindings::task_struct) -> u32 {
    // SAFETY: `p` is valid; the tag is a single word written without a
    // lock by `casio_set_id()`.
    unsafe { ptr::read_volatile(ptr::addr_of!((*entity(p)).casio_id)) }
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
    // A pending timer's reference carries over to the new expiry. The
    // state alone cannot tell: the timer may expire meanwhile on another
    // CPU, whose callback then drops the reference it held.
    // SAFETY: the timer was set up by `casio_fork_entity()`; trying to
    // cancel never waits.
    if unsafe { bindings::hrtimer_try_to_cancel(timer) } != 1 {
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
    let mut raw = unsafe { bindings::task_rq_lock(p, &mut rf) };
    // SAFETY: `p` is valid and a task of the locked rq.
    let casio = unsafe { is_casio_task(p) };
    // SAFETY: the lock of `raw` is held, and with it the state of `p`.
    if casio && unsafe { (*raw).online == 0 && stranded(raw, p) } {
        // The CPU went offline with `p` waiting for its release, off the
        // queue the core emptied: `p` moves to an active CPU first.
        // SAFETY: the rq lock is unpinned while it may be dropped, and
        // the lock held afterwards is pinned; `p` waits and is not on a
        // CPU, and its locks are held.
        unsafe {
            bindings::rq_unpin_lock(raw, &mut rf);
            raw = offline_migration(raw, p);
            bindings::rq_repin_lock(raw, &mut rf);
        }
    }
    // SAFETY: the lock of `raw` is held until `task_rq_unlock()` below.
    let mut rq = unsafe { Rq::from_raw(raw) };
    // SAFETY: the rq is locked.
    unsafe { bindings::update_rq_clock(rq.as_ptr()) };
    if casio {
        // SAFETY: `p` is a CASIO task of the locked rq.
        unsafe { timer_expired(&mut rq, p) };
        if rq.casio().pushable_earliest != 0 {
            // SAFETY: pushing may drop the rq lock, so it is unpinned;
            // `p->pi_lock` keeps `p` valid and `raw` stays locked after.
            unsafe { bindings::rq_unpin_lock(raw, &mut rf) };
            push_tasks(&mut rq);
            // SAFETY: pairs with the unpin above.
            unsafe { bindings::rq_repin_lock(raw, &mut rf) };
        }
    }
    // SAFETY: pairs with `task_rq_lock()` above.
    unsafe { bindings::task_rq_unlock(raw, p, &mut rf) };
    // SAFETY: drops the reference of this arming; if the callback armed
    // the timer again, that arming took its own.
    unsafe { bindings::put_task_struct(p) };
    bindings::hrtimer_restart_HRTIMER_NORESTART
}

/// Whether `p`, of the offline `rq`, waits for its release and is off
/// every CPU: nothing else moves it, as the core moves only the tasks
/// the CPU picks while it goes down. A task that just yielded is still
/// current until it switches out; a task whose deadline timer fires
/// runs or is queued, and the core moves it.
///
/// # Safety
///
/// `p` is a task of `rq`, whose lock is held.
unsafe fn stranded(rq: *mut bindings::rq, p: *mut bindings::task_struct) -> bool {
    // SAFETY: forwarded from the caller; these fields change under the
    // rq lock.
    unsafe {
        (*entity(p)).waiting_release != 0 && on_rq_queued(p) && (*p).on_cpu == 0 && (*rq).curr != p
    }
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
    // SAFETY: the rq is locked.
    if unsafe { bindings::casio_rt_charge(rq.as_ptr(), delta as u64) } {
        rq.resched_curr();
    }
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
    // A CPU going offline must run its tasks until the core moved them.
    // SAFETY: plain reads of the sysctls into the locals.
    if !rq.online() || unsafe { !bindings::casio_cap(&mut runtime, &mut period) } {
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
    if rq.throttled() {
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
    first: bool,
) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    // SAFETY: `p` is valid; `se.exec_start` is written under the rq lock.
    unsafe { (*p).se.exec_start = rq.clock_task() };
    // SAFETY: `p` is valid and its entity is protected by the rq lock.
    let se = unsafe { &mut *entity(p) };
    if se.push_node.is_linked() {
        // SAFETY: a linked pushable node of a task of `rq` is in its queue.
        unsafe {
            rq.casio()
                .pushable
                .dequeue(NonNull::from(&mut se.push_node))
        };
        rq.publish();
    }
    // What runs is settled: the tasks behind it may find another CPU.
    // Only a pick runs the balance callbacks afterwards.
    if first && rq.casio().pushable_earliest != 0 {
        // SAFETY: the rq is locked.
        unsafe { bindings::casio_queue_push(rq.as_ptr()) };
    }
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
            // SAFETY: both tasks are valid and the rq lock is held; `prev`
            // may be of any class.
            unsafe {
                let prev_id = match (*prev).policy == bindings::SCHED_CASIO {
                    true => casio_id(prev) as i64,
                    false => -1,
                };
                let deadline = queue_key(&*entity(p));
                bindings::casio_event_switch(prev, prev_id, p, casio_id(p), deadline)
            };
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
pub unsafe extern "C" fn casio_put_prev_task(rq: *mut bindings::rq, p: *mut bindings::task_struct) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    update_curr(&mut rq);
    // SAFETY: `p` is valid and its entity is protected by the rq lock.
    let se = unsafe { &mut *entity(p) };
    // SAFETY: as above.
    if se.node.is_linked() && !se.push_node.is_linked() && unsafe { nr_cpus_allowed(p) } > 1 {
        let deadline = se.node.key().deadline;
        // SAFETY: the task is queued on `rq`, so its node stays valid while
        // linked; `push_node` is unlinked.
        unsafe {
            rq.casio()
                .pushable
                .enqueue(NonNull::from(&mut se.push_node), deadline)
        };
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
#[no_mangle]
pub unsafe extern "C" fn casio_balance(
    rq: *mut bindings::rq,
    prev: *mut bindings::task_struct,
    rf: *mut bindings::rq_flags,
) -> c_int {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    // SAFETY: `prev` is valid and its entity protected by the rq lock.
    let prev_left = unsafe { is_casio_task(prev) && !(*entity(prev)).node.is_linked() };
    if prev_left || rq.queue().is_empty() {
        // SAFETY: pulling may drop the rq lock, so it is unpinned; the
        // core passes the `rf` that pinned it.
        unsafe { bindings::rq_unpin_lock(rq.as_ptr(), rf) };
        pull_tasks(&mut rq);
        // SAFETY: pairs with the unpin above.
        unsafe { bindings::rq_repin_lock(rq.as_ptr(), rf) };
    }
    (rq.higher_class_runnable() || rq.has_runnable()) as c_int
}

/// `select_task_rq`: a waking or forked CASIO task stays on its CPU
/// unless a CASIO task with an earlier or equal deadline is queued there;
/// it then goes to a CPU without CASIO tasks, or to the one whose earliest
/// deadline is the latest, if later than its own.
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
#[no_mangle]
pub unsafe extern "C" fn casio_switched_from(rq: *mut bindings::rq, p: *mut bindings::task_struct) {
    // SAFETY: the rq lock of `p` is held, and the caller holds a reference.
    unsafe { reset_job(p) };
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
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
#[no_mangle]
pub unsafe extern "C" fn casio_task_dead(p: *mut bindings::task_struct) {
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
#[no_mangle]
pub unsafe extern "C" fn casio_prio_changed(
    rq: *mut bindings::rq,
    p: *mut bindings::task_struct,
    _oldprio: c_int,
) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
    if rq.curr() == p {
        // Its deadline may be later now: earlier tasks elsewhere may come.
        // SAFETY: the rq is locked.
        unsafe { bindings::casio_queue_pull(rq.as_ptr()) };
    }
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
        ptr::write(&mut crq.pushable, EdfQueue::new());
        ptr::write(&mut crq.earliest, 0);
        ptr::write(&mut crq.pushable_earliest, 0);
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

/// Fills `info` with the CASIO state of the CPU of `rq`.
///
/// # Safety
///
/// `rq` is locked and `info` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn casio_rq_info(rq: *mut bindings::rq, info: *mut CasioRqInfo) {
    // SAFETY: the caller holds the lock of `rq`.
    let mut rq = unsafe { Rq::from_raw(rq) };
    let curr = rq.curr();
    // SAFETY: `curr` is valid while the rq is locked, and so is its entity.
    let curr_deadline = match unsafe { is_casio_task(curr) } {
        // SAFETY: as above.
        true => queue_key(unsafe { &*entity(curr) }),
        false => 0,
    };
    let crq = rq.casio();
    // SAFETY: the caller passes a valid `info`.
    unsafe {
        ptr::write(
            info,
            CasioRqInfo {
                stats: crq.stats,
                cap_throttles: crq.cap.throttles,
                queued: crq.queue.len() as u64,
                curr_deadline,
            },
        )
    };
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

// Global EDF. Each CPU queues its own CASIO tasks; the root domain keeps
// the CPUs in a heap by their earliest deadline (`casio_cpus` in
// kernel/sched/casio.c). A task goes where it would run at once when it
// wakes (`select_task_rq`); a CPU pushes the tasks it cannot run to CPUs
// that would run them (after a wake-up, and once the next task is set),
// and pulls the earliest task it could run when its own CASIO task
// blocks, as the deadline class does. Migrations take both runqueue
// locks with `double_lock_balance()`, which may drop the lock held.

/// The task whose CASIO entity holds `node` as its pushable link.
///
/// # Safety
///
/// `node` is the `casio.push_node` field of a valid task.
unsafe fn task_of_push(node: NonNull<EdfNode>) -> *mut bindings::task_struct {
    // SAFETY: only addresses inside the static `init_task` are taken.
    let offset = unsafe {
        (ptr::addr_of!(bindings::init_task.casio.push_node) as usize)
            .wrapping_sub(ptr::addr_of!(bindings::init_task) as usize)
    };
    // SAFETY: the caller guarantees `node` lies `offset` bytes into a task.
    unsafe { (node.as_ptr() as *mut u8).sub(offset) as *mut bindings::task_struct }
}

/// The runqueue of `cpu`.
fn cpu_rq(cpu: c_int) -> *mut bindings::rq {
    // SAFETY: `cpu` comes from the scheduler's CPU masks, so it is a
    // possible CPU, whose runqueue lives forever.
    unsafe { bindings::cpu_rq(cpu) }
}

/// The earliest deadline queued on `rq`, read without its lock.
///
/// # Safety
///
/// `rq` points to a valid runqueue.
unsafe fn earliest_unlocked(rq: *mut bindings::rq) -> u64 {
    // SAFETY: the rq is valid; the word is written under its lock, and a
    // stale value is rechecked under both locks before acting on it.
    unsafe { ptr::read_volatile(ptr::addr_of!((*rq).casio.earliest)) }
}

/// The deadline of the queued task `p`.
///
/// # Safety
///
/// `p` is valid and its rq lock is held.
unsafe fn task_deadline(p: *mut bindings::task_struct) -> u64 {
    // SAFETY: forwarded from the caller.
    unsafe { (*entity(p)).node.key().deadline }
}

/// Whether `p`, a task of the locked `rq`, may move to `cpu` now.
///
/// # Safety
///
/// `p` is valid and the lock of `rq` is held.
unsafe fn can_move(rq: &Rq<'_>, p: *mut bindings::task_struct, cpu: c_int) -> bool {
    // SAFETY: `p` is valid; these fields change under its rq lock, held.
    unsafe {
        bindings::task_cpu(p) as c_int == rq.cpu()
            && is_casio_task(p)
            && on_rq_queued(p)
            && (*p).on_cpu == 0
            && (*p).migration_disabled == 0
            && (*entity(p)).push_node.is_linked()
            && bindings::cpumask_test_cpu(cpu, (*p).cpus_ptr)
    }
}

/// Moves the queued task `p` from `from` to `to`; both locks are held.
///
/// # Safety
///
/// `p` is a queued, not running task of `from`, allowed on `to`.
unsafe fn move_task(from: &Rq<'_>, to: &Rq<'_>, p: *mut bindings::task_struct) {
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
unsafe fn find_lock_later_rq<'b>(rq: &mut Rq<'_>, p: *mut bindings::task_struct) -> Option<Rq<'b>> {
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
fn push_one(rq: &mut Rq<'_>) -> bool {
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
    unsafe { bindings::get_task_struct(p) };
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
    // SAFETY: drops the reference taken above.
    unsafe { bindings::put_task_struct(p) };
    moved
}

/// Pushes the tasks `rq` cannot run to CPUs that run them at once.
fn push_tasks(rq: &mut Rq<'_>) {
    // Each push moves a task away, so this ends; the bound is for safety.
    for _ in 0..64 {
        if !push_one(rq) {
            break;
        }
    }
}

/// Pulls to `rq` the earliest pushable task of each overloaded CPU that
/// is earlier than anything `rq` would run.
fn pull_tasks(rq: &mut Rq<'_>) {
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

/// `task_woken`: `p` was queued on `rq` by a wake-up and does not run; if
/// it cannot preempt here, another CPU may run it.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked, not pinned, and `p` a
/// CASIO task of it.
#[no_mangle]
pub unsafe extern "C" fn casio_task_woken(rq: *mut bindings::rq, p: *mut bindings::task_struct) {
    // SAFETY: the core passes its locked runqueue.
    let mut rq = unsafe { Rq::from_raw(rq) };
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
        push_tasks(&mut rq);
    }
}

/// `rq_online`: the CPU joins its root domain's view of CASIO.
///
/// # Safety
///
/// Called by the scheduler core with `rq` locked.
#[no_mangle]
pub unsafe extern "C" fn casio_rq_online(rq: *mut bindings::rq) {
    // SAFETY: the core passes its locked runqueue, now online.
    let mut rq = unsafe { Rq::from_raw(rq) };
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
#[no_mangle]
pub unsafe extern "C" fn casio_rq_offline(rq: *mut bindings::rq) {
    // SAFETY: the core passes its locked runqueue, still online.
    let mut rq = unsafe { Rq::from_raw(rq) };
    // SAFETY: the rq is locked and still in its root domain's sets.
    unsafe {
        if rq.casio().pushable_earliest != 0 {
            rd::set_overload(rq.as_ptr(), false);
        }
        rd::clear(rq.as_ptr());
    }
    let crq = rq.casio();
    // SAFETY: the timer was set up by `casio_init_rq()`; trying to cancel
    // never waits, and a callback that already runs only unthrottles.
    unsafe { bindings::hrtimer_try_to_cancel(&mut crq.cap_timer) };
    crq.cap.unthrottle();
}

/// Moves `p`, waiting on the offline `rq` for its release, to an active
/// CPU; returns that CPU's runqueue, locked instead of `rq`.
///
/// # Safety
///
/// `p` is a CASIO task of `rq`, whose lock and `p->pi_lock` are held, and
/// not running (the CPU is offline).
unsafe fn offline_migration(
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
