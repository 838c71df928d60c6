// SPDX-License-Identifier: GPL-2.0

//! Tasks: the [`Task`] handle the class logic works on, the CASIO entity
//! embedded in `task_struct`, and the way back from an entity's fields to
//! their task.

use core::ffi::c_int;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use kernel::bindings;

use crate::base;
use crate::edf::EdfNode;
use crate::{container_of, SchedCasioEntity};

/// A task whose scheduling state the holder may use: its CASIO entity
/// and the fields of `task_struct` that change under its runqueue lock.
/// The class logic works on these handles; the raw task pointers stay at
/// the entry points and in the helpers below.
///
/// # Invariants
///
/// `ptr` points to a task that stays valid for `'a`; the lock that
/// protects its scheduling state (its rq lock, or its `pi_lock` where a
/// callback runs under that alone) is held for `'a`; and while this
/// handle borrows the task's entity, no other handle of the task does.
pub(crate) struct Task<'a> {
    ptr: NonNull<bindings::task_struct>,
    _lock: PhantomData<&'a mut bindings::task_struct>,
}

impl<'a> Task<'a> {
    /// # Safety
    ///
    /// `p` points to a task that stays valid for `'a`, whose rq lock (or
    /// `pi_lock`, where that is what the caller holds) is held for `'a`,
    /// and no other handle of it borrows its entity meanwhile.
    pub(crate) unsafe fn from_raw(p: *mut bindings::task_struct) -> Self {
        // INVARIANT: guaranteed by the caller.
        Task {
            // SAFETY: the caller passes a valid, hence non-null, task.
            ptr: unsafe { NonNull::new_unchecked(p) },
            _lock: PhantomData,
        }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::task_struct {
        self.ptr.as_ptr()
    }

    /// The task's CASIO entity.
    pub(crate) fn se(&self) -> &SchedCasioEntity {
        // SAFETY: the type invariant says the task is valid, its entity
        // protected by a lock held and borrowed through this handle only.
        unsafe { &*entity(self.as_ptr()) }
    }

    /// The task's CASIO entity, to change.
    pub(crate) fn se_mut(&mut self) -> &mut SchedCasioEntity {
        // SAFETY: as in `se()`; `self` is borrowed mutably as long as the
        // entity is.
        unsafe { &mut *entity(self.as_ptr()) }
    }

    /// Whether the task is in the CASIO class.
    pub(crate) fn is_casio(&self) -> bool {
        // SAFETY: the task is valid.
        unsafe { is_casio_task(self.as_ptr()) }
    }

    /// Whether the task has the SCHED_CASIO policy.
    pub(crate) fn has_casio_policy(&self) -> bool {
        // SAFETY: the task is valid; its policy changes under its locks.
        unsafe { (*self.as_ptr()).policy == bindings::SCHED_CASIO }
    }

    /// Whether the core has the task on its runqueue.
    pub(crate) fn queued(&self) -> bool {
        // SAFETY: the task is valid.
        unsafe { on_rq_queued(self.as_ptr()) }
    }

    /// Whether the task is on a CPU: running, or still switching out.
    pub(crate) fn on_cpu(&self) -> bool {
        // SAFETY: the task is valid; `on_cpu` changes under its rq lock.
        unsafe { (*self.as_ptr()).on_cpu != 0 }
    }

    /// The CPU whose runqueue the task is on.
    pub(crate) fn cpu(&self) -> c_int {
        // SAFETY: the task is valid.
        unsafe { bindings::task_cpu(self.as_ptr()) as c_int }
    }

    /// Whether the runqueue the task is on is online: the CPU is up and
    /// in its root domain.
    pub(crate) fn rq_online(&self) -> bool {
        let rq = crate::rq::cpu_rq(self.cpu());
        // SAFETY: runqueues live forever. `online` changes under the rq
        // lock, which the callers hold.
        unsafe { (*rq).online != 0 }
    }

    /// Whether the task may move to `cpu` by its affinity, and may
    /// migrate at all now.
    pub(crate) fn may_move_to(&self, cpu: c_int) -> bool {
        let p = self.as_ptr();
        // SAFETY: the task is valid; its mask and the migration count
        // change under its rq lock, held; `cpu` is a possible CPU.
        unsafe { (*p).migration_disabled == 0 && base::cpumask_test_cpu(cpu, (*p).cpus_ptr) }
    }

    /// The number of CPUs the task may run on.
    pub(crate) fn nr_cpus_allowed(&self) -> c_int {
        // SAFETY: the task is valid.
        unsafe { nr_cpus_allowed(self.as_ptr()) }
    }

    /// The task's total runtime, as the core accounts it.
    pub(crate) fn exec_runtime(&self) -> u64 {
        // SAFETY: the task is valid; the sum changes under its rq lock.
        unsafe { (*self.as_ptr()).se.sum_exec_runtime }
    }

    /// Starts the task's runtime accounting at `now`, the rq task clock.
    pub(crate) fn set_exec_start(&mut self, now: u64) {
        // SAFETY: the task is valid; `exec_start` is written under its
        // rq lock.
        unsafe { (*self.as_ptr()).se.exec_start = now };
    }

    /// The task's tag from `struct sched_casio_param`.
    pub(crate) fn casio_id(&self) -> u32 {
        // SAFETY: the task is valid.
        unsafe { casio_id(self.as_ptr()) }
    }

    /// The deadline the task is to be queued by.
    pub(crate) fn key(&self) -> u64 {
        queue_key(self.se())
    }

    /// The deadline the task is in the queue with.
    pub(crate) fn queued_deadline(&self) -> u64 {
        self.se().node.key().deadline
    }
}

/// The CASIO entity of `p`.
///
/// # Safety
///
/// `p` points to a valid task.
pub(crate) unsafe fn entity(p: *mut bindings::task_struct) -> *mut SchedCasioEntity {
    // SAFETY: `p` is valid; `SchedCasioEntity` is the type `task->casio`
    // was generated from.
    unsafe { ptr::addr_of_mut!((*p).casio).cast::<SchedCasioEntity>() }
}

/// A reference on a task, dropped with the guard.
///
/// # Invariants
///
/// The guard owns one reference on the valid task `p`.
pub(crate) struct TaskRef {
    p: *mut bindings::task_struct,
}

impl TaskRef {
    /// Takes a new reference on `p`.
    ///
    /// # Safety
    ///
    /// `p` is valid.
    pub(crate) unsafe fn get(p: *mut bindings::task_struct) -> Self {
        // SAFETY: `p` is valid.
        unsafe { bindings::get_task_struct(p) };
        // INVARIANT: the reference was just taken.
        TaskRef { p }
    }

    /// Takes over a reference the caller owns, such as an armed timer's.
    ///
    /// # Safety
    ///
    /// The caller owns a reference on `p` and gives it up.
    pub(crate) unsafe fn adopt(p: *mut bindings::task_struct) -> Self {
        // INVARIANT: the caller hands its reference over.
        TaskRef { p }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::task_struct {
        self.p
    }

    /// Hands the reference over to whoever will drop it later (a timer
    /// being armed).
    pub(crate) fn into_raw(self) -> *mut bindings::task_struct {
        let p = self.p;
        core::mem::forget(self);
        p
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: the type invariant says the guard owns a reference.
        unsafe { bindings::put_task_struct(self.p) };
    }
}

/// The static `init_task`, whose field addresses give the offsets of a
/// task's fields for [`container_of`]; it is never read.
// Taking the address of an extern static needs no `unsafe` from Rust 1.82
// on; older compilers of other bases still ask for it.
#[allow(unused_unsafe)]
fn task_probe() -> *const bindings::task_struct {
    // SAFETY: only the address of the static is taken.
    unsafe { ptr::addr_of!(bindings::init_task) }
}

/// The task whose CASIO entity holds `node`.
///
/// # Safety
///
/// `node` is the `casio.node` field of a valid task.
pub(crate) unsafe fn task_of(node: NonNull<EdfNode>) -> *mut bindings::task_struct {
    container_of!(node.as_ptr(), task_probe(), casio.node)
}

/// The deadline `se` is queued by: that of its job, or the one it
/// inherited.
pub(crate) fn queue_key(se: &SchedCasioEntity) -> u64 {
    if se.pi_deadline != 0 {
        se.pi_deadline
    } else {
        se.job.deadline
    }
}

/// The number of CPUs `p` may run on.
///
/// # Safety
///
/// `p` points to a valid task.
pub(crate) unsafe fn nr_cpus_allowed(p: *mut bindings::task_struct) -> c_int {
    // SAFETY: `p` is valid; the count changes under its rq lock, and a
    // stale value only makes a placement less good.
    unsafe { ptr::read_volatile(ptr::addr_of!((*p).nr_cpus_allowed)) }
}

/// The tag of `p` from `struct sched_casio_param`.
///
/// # Safety
///
/// `p` is valid.
pub(crate) unsafe fn casio_id(p: *mut bindings::task_struct) -> u32 {
    // SAFETY: `p` is valid; the tag is a single word written without a
    // lock by `casio_set_id()`.
    unsafe { ptr::read_volatile(ptr::addr_of!((*entity(p)).casio_id)) }
}

/// The task whose CASIO timer is `timer`.
///
/// # Safety
///
/// `timer` is the `casio.timer` field of a valid task.
pub(crate) unsafe fn task_of_timer(timer: *mut bindings::hrtimer) -> *mut bindings::task_struct {
    container_of!(timer, task_probe(), casio.timer)
}

/// # Safety
///
/// `p` points to a valid task.
pub(crate) unsafe fn on_rq_queued(p: *mut bindings::task_struct) -> bool {
    // SAFETY: `p` is valid.
    // `on_rq` is an int on some bases and a u8 on others.
    unsafe { i64::from((*p).on_rq) == i64::from(bindings::TASK_ON_RQ_QUEUED) }
}

/// # Safety
///
/// `p` points to a valid task.
pub(crate) unsafe fn is_casio_task(p: *mut bindings::task_struct) -> bool {
    // SAFETY: `p` is valid; only the address of the class is taken.
    unsafe { ptr::eq((*p).sched_class, ptr::addr_of!(bindings::casio_sched_class)) }
}

/// The task whose CASIO entity holds `node` as its pushable link.
///
/// # Safety
///
/// `node` is the `casio.push_node` field of a valid task.
pub(crate) unsafe fn task_of_push(node: NonNull<EdfNode>) -> *mut bindings::task_struct {
    container_of!(node.as_ptr(), task_probe(), casio.push_node)
}

/// The task whose CASIO entity holds `node` as its waiting link.
///
/// # Safety
///
/// `node` is the `casio.wait_node` field of a valid task.
pub(crate) unsafe fn task_of_wait(node: NonNull<EdfNode>) -> *mut bindings::task_struct {
    container_of!(node.as_ptr(), task_probe(), casio.wait_node)
}
