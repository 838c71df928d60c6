// SPDX-License-Identifier: GPL-2.0

//! Tasks: the CASIO entity embedded in `task_struct`, and the way back
//! from an entity's fields to their task.

use core::ffi::c_int;
use core::ptr::{self, NonNull};
use kernel::bindings;

use crate::edf::EdfNode;
use crate::{container_of, SchedCasioEntity};

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

/// The deadline of the queued task `p`.
///
/// # Safety
///
/// `p` is valid and its rq lock is held.
pub(crate) unsafe fn task_deadline(p: *mut bindings::task_struct) -> u64 {
    // SAFETY: forwarded from the caller.
    unsafe { (*entity(p)).node.key().deadline }
}
