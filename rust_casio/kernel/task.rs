// SPDX-License-Identifier: GPL-2.0

//! Tasks: the CASIO entity embedded in `task_struct`, and the way back
//! from an entity's fields to their task.

use core::ffi::c_int;
use core::ptr::{self, NonNull};
use kernel::bindings;

use crate::edf::EdfNode;
use crate::SchedCasioEntity;

/// The CASIO entity of `p`.
///
/// # Safety
///
/// `p` points to a valid task.
pub(crate) unsafe fn entity(p: *mut bindings::task_struct) -> *mut SchedCasioEntity {
    // SAFETY: `p` is valid; `SchedCasioEntity` is the type `task->casio`
    // was generated from.
    unsafe { ptr::addr_of_mut!((*p).casio) as *mut SchedCasioEntity }
}

/// The task whose CASIO entity holds `node`.
///
/// # Safety
///
/// `node` is the `casio.node` field of a valid task.
pub(crate) unsafe fn task_of(node: NonNull<EdfNode>) -> *mut bindings::task_struct {
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
    // SAFETY: only addresses inside the static `init_task` are taken.
    let offset = unsafe {
        (ptr::addr_of!(bindings::init_task.casio.timer) as usize)
            .wrapping_sub(ptr::addr_of!(bindings::init_task) as usize)
    };
    // SAFETY: the caller guarantees `timer` lies `offset` bytes into a task.
    unsafe { (timer as *mut u8).sub(offset) as *mut bindings::task_struct }
}

/// # Safety
///
/// `p` points to a valid task.
pub(crate) unsafe fn on_rq_queued(p: *mut bindings::task_struct) -> bool {
    // SAFETY: `p` is valid.
    unsafe { (*p).on_rq == bindings::TASK_ON_RQ_QUEUED as c_int }
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
    // SAFETY: only addresses inside the static `init_task` are taken.
    let offset = unsafe {
        (ptr::addr_of!(bindings::init_task.casio.push_node) as usize)
            .wrapping_sub(ptr::addr_of!(bindings::init_task) as usize)
    };
    // SAFETY: the caller guarantees `node` lies `offset` bytes into a task.
    unsafe { (node.as_ptr() as *mut u8).sub(offset) as *mut bindings::task_struct }
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
