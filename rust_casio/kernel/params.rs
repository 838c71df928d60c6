// SPDX-License-Identifier: GPL-2.0

//! Parameters: the `sched_attr` interface, and what `/proc` shows of a
//! task and of a CPU.

use core::ptr;
use kernel::bindings;

use crate::edf::{self, CasioParams, JobStats};
use crate::rq::{Rq, TaskRqLock};
use crate::task::{entity, Task};
use crate::timer::reset_job;
use crate::{CasioRqInfo, CasioTaskInfo};

/// The parameters `attr` asks for, or why they are invalid.
///
/// # Safety
///
/// `attr` points to a valid `struct sched_attr`.
pub(crate) unsafe fn attr_params(
    attr: *const bindings::sched_attr,
) -> Result<CasioParams, edf::ParamError> {
    // SAFETY: the caller passes a valid attr.
    let attr = unsafe { &*attr };
    CasioParams::from_attr(attr.sched_runtime, attr.sched_deadline, attr.sched_period)
}

/// The `sched_attr` flags a CASIO task keeps.
pub(crate) const CASIO_FLAGS: u32 = bindings::SCHED_FLAG_DL_OVERRUN
    | bindings::SCHED_FLAG_CASIO_BUDGET
    | bindings::SCHED_FLAG_CASIO_UNRESERVED;

/// The CASIO flags of `attr`.
///
/// # Safety
///
/// `attr` points to a valid `struct sched_attr`.
pub(crate) unsafe fn attr_flags(attr: *const bindings::sched_attr) -> u32 {
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
    // SAFETY: forwarded from the caller; this is the only handle of `p`.
    let (new, flags, p) = unsafe { (attr_params(attr), attr_flags(attr), Task::from_raw(p)) };
    new != Ok(p.se().params) || flags != p.se().flags
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
    // SAFETY: forwarded from the caller; this is the only handle of `p`.
    let (params, flags, mut p) =
        unsafe { (attr_params(attr), attr_flags(attr), Task::from_raw(p)) };
    let se = p.se_mut();
    if let Ok(params) = params {
        se.params = params;
    }
    se.flags = flags;
    se.stats = JobStats::default();
    reset_job(&mut p);
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
    attr.sched_flags |= u64::from(flags & !bindings::SCHED_FLAG_CASIO_UNRESERVED);
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
    // SAFETY: `p` is valid and its rq lock held; this is its only handle.
    let mut p = unsafe { Task::from_raw(p) };
    p.se_mut().pi_deadline = core::cmp::max(deadline, 1);
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
    // SAFETY: `p` is valid; the locks make the snapshot consistent.
    let _locked = unsafe { TaskRqLock::lock(p) };
    // SAFETY: `p` is valid and its rq lock held while `_locked` lives;
    // this is its only handle.
    let p = unsafe { Task::from_raw(p) };
    let se = p.se();
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
    // A boosted task of another policy is not a CASIO task.
    p.has_casio_policy()
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
    // SAFETY: this is the only handle of the running task here.
    let curr = unsafe { rq.curr_task() };
    let curr_deadline = if curr.is_casio() { curr.key() } else { 0 };
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
