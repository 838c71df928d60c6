// SPDX-License-Identifier: GPL-2.0

//! CASIO: an earliest-deadline-first scheduling class.
//!
//! This is the kernel glue. It implements the `sched_class` callbacks
//! that `kernel/sched/casio.c` places in the class array, and defines the
//! state CASIO keeps in `task_struct` and `struct rq`. Every decision comes
//! from the pure EDF core in [`edf`]. The modules:
//!
//! - [`entry`]: the entry points whose signatures every base shares;
//!   [`base`]: the others, and what else differs by kernel base;
//! - [`class`]: the callbacks' logic, queueing and picking;
//! - `jobs`: job accounting, budgets and the cap; [`timer`]: the timers;
//! - [`smp`]: push and pull; [`rd`]: the root domain's CPU sets;
//! - [`admission`]: the admitted bandwidth; `report`: the events, to
//!   the tracepoints and the event log;
//! - [`params`]: `sched_attr` and what `/proc` shows; [`bench`]: the
//!   queue self-benchmark;
//! - `rq` and `task`: the runqueue and task handles the others use.
//!
//! The class logic is safe code on two handles: `Rq`, a runqueue whose
//! lock is held, and `Task`, a task whose scheduling state that lock
//! protects. The entry points make them from the core's raw pointers;
//! the other `unsafe` blocks are in the handles' small helpers, the
//! intrusive queues and the calls into C.
//!
//! Context: the callbacks run with the runqueue lock held and interrupts
//! off, unless their comment says otherwise. Nothing here sleeps or
//! allocates: the queue is intrusive, its links live in the task.
//!
//! The glue is shared by bases whose `kernel` crates differ (6.1's has
//! no locks, timers or trees), so it keeps small local versions of what
//! later crates offer, and some of those would not fit anyway: the
//! crate's `RBTree` owns boxed nodes, so queueing would allocate under
//! the rq lock; its `SpinLock` is not a raw spinlock, which the rq lock
//! and the root-domain locks are; its `HrTimer` needs a pinned owner of
//! its own and cannot take the timers embedded in `task_struct` and
//! `struct rq`. Its tracepoint declarations and static keys are not on
//! the older bases, so `report` is per base: on those it calls C, which
//! fires the tracepoints and tests the event log's key.

use kernel::bindings;

/// The prefix of the class's `pr_*!()` messages, which `module!` defines
/// for a module.
#[allow(dead_code)] // Only the KUnit suites print.
const __LOG_PREFIX: &[u8] = b"sched_casio\0";

/// `container_of()`: the object that holds the field `$ptr` points to,
/// as `$($field)+` of the object `$probe` points to, which has the same
/// type. Only the two addresses of the probe are taken, never its
/// contents, so any object of that type will do: a static one, or an
/// uninitialised local of a small type.
///
/// # Safety
///
/// The caller of the expanded code guarantees that `$ptr` points to that
/// field of a live object; the result points to the object.
macro_rules! container_of {
    ($ptr:expr, $probe:expr, $($field:tt)+) => {{
        let probe = $probe;
        // SAFETY: only addresses within the probe are computed.
        let offset = unsafe { core::ptr::addr_of!((*probe).$($field)+) as usize - probe as usize };
        ($ptr).cast::<u8>().wrapping_sub(offset).cast()
    }};
}
pub(crate) use container_of;

pub mod admission;
pub mod base;
pub mod bench;
pub mod class;
pub mod edf;
pub mod entry;
mod jobs;
pub mod params;
pub mod rd;
mod report;
mod rq;
pub mod smp;
mod task;
pub mod timer;

use edf::{CasioParams, EdfNode, EdfQueue, Job, JobStats, RuntimeCap};

/// Per-task CASIO state, embedded in `task_struct` as `casio`.
#[repr(C)]
pub struct SchedCasioEntity {
    /// Link in the EDF queue of the task's CPU. It is the first field, so
    /// a pointer to the node is a pointer to the entity.
    pub node: EdfNode,
    /// Link in the CPU's queue of pushable tasks: queued, not running and
    /// allowed on more than one CPU.
    pub push_node: EdfNode,
    /// Link in the CPU's queue of tasks waiting for their release, by
    /// release time: linked while `waiting_release` is set and the task is
    /// queued in CASIO.
    pub wait_node: EdfNode,
    /// Relative runtime, deadline and period, in nanoseconds.
    pub params: CasioParams,
    /// The current job, on CLOCK_MONOTONIC.
    pub job: Job,
    /// Job statistics since the parameters were last set.
    pub stats: JobStats,
    /// Fires at the deadline of the current job, to count a miss, or at
    /// the next release while the task waits for it.
    pub timer: timer::HrTimer,
    /// 1 while the timer holds a reference on the task: from the arming
    /// of an expiry until its callback, under the rq lock, finds the timer
    /// not armed again. Changed under the task's rq lock.
    pub timer_ref: u32,
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
    /// The queued tasks that wait for their next release, by release
    /// time: off `queue`, and moved by their timers if the CPU goes
    /// offline.
    pub waiting: EdfQueue,
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
    pub cap_timer: timer::HrTimer,
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
