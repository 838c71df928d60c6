// SPDX-License-Identifier: GPL-2.0

//! Events, to the `sched_casio_*` tracepoints and the event log. The
//! tracepoints' static keys and the log's are tested here, inline, so an
//! event nobody traces or logs costs no call.

use kernel::bindings;

use crate::task::Task;

kernel::declare_trace! {
    /// # Safety
    ///
    /// `p` is valid and its rq lock held; so for the others.
    unsafe fn sched_casio_enqueue(p: *mut bindings::task_struct, casio_id: u32, deadline: u64);
    /// # Safety
    ///
    /// As [`sched_casio_enqueue`].
    unsafe fn sched_casio_dequeue(p: *mut bindings::task_struct, casio_id: u32, deadline: u64);
    /// # Safety
    ///
    /// As [`sched_casio_enqueue`].
    unsafe fn sched_casio_release(p: *mut bindings::task_struct, casio_id: u32, deadline: u64);
    /// # Safety
    ///
    /// As [`sched_casio_enqueue`].
    unsafe fn sched_casio_job_end(p: *mut bindings::task_struct, casio_id: u32, deadline: u64);
    /// # Safety
    ///
    /// As [`sched_casio_enqueue`].
    unsafe fn sched_casio_miss(p: *mut bindings::task_struct, casio_id: u32, deadline: u64);
    /// # Safety
    ///
    /// As [`sched_casio_enqueue`].
    unsafe fn sched_casio_throttle(p: *mut bindings::task_struct, casio_id: u32, deadline: u64);
    /// # Safety
    ///
    /// `prev` and `next` are valid and their rq lock held.
    unsafe fn sched_casio_switch(
        prev: *mut bindings::task_struct,
        prev_casio_id: i64,
        next: *mut bindings::task_struct,
        next_casio_id: u32,
        next_deadline: u64,
    );
}

/// Whether kernel.sched_casio_event_log is set.
#[inline(always)]
fn log_on() -> bool {
    // SAFETY: `casio_event_log_on` is a static key defined by C.
    unsafe {
        kernel::jump_label::static_branch_unlikely!(
            bindings::casio_event_log_on,
            bindings::casio_event_key,
            key
        )
    }
}

/// Reports an event of `p` by the deadline `deadline`.
#[inline(always)]
pub(crate) fn event(ev: bindings::casio_event, p: &Task<'_>, deadline: u64) {
    let (t, id) = (p.as_ptr(), p.casio_id());
    // SAFETY: `p` is valid and its rq lock is held, as the tracepoints
    // and the log require.
    unsafe {
        match ev {
            bindings::casio_event_CASIO_EVENT_ENQUEUE => sched_casio_enqueue(t, id, deadline),
            bindings::casio_event_CASIO_EVENT_DEQUEUE => sched_casio_dequeue(t, id, deadline),
            bindings::casio_event_CASIO_EVENT_RELEASE => sched_casio_release(t, id, deadline),
            bindings::casio_event_CASIO_EVENT_JOB_END => sched_casio_job_end(t, id, deadline),
            bindings::casio_event_CASIO_EVENT_MISS => sched_casio_miss(t, id, deadline),
            bindings::casio_event_CASIO_EVENT_THROTTLE => sched_casio_throttle(t, id, deadline),
            _ => return,
        }
        if log_on() {
            bindings::casio_event_log_task(ev, t, id, deadline);
        }
    }
}

/// Reports that the CPU switches from `prev`, of any class, to `next`.
///
/// # Safety
///
/// `prev` is the current task of the locked rq of `next`; `prev_id` is
/// its casio_id, -1 if it is not a CASIO task.
#[inline(always)]
pub(crate) unsafe fn switch(prev: *mut bindings::task_struct, prev_id: i64, next: &Task<'_>) {
    let (t, id) = (next.as_ptr(), next.casio_id());
    // SAFETY: both tasks are valid and their rq lock held, as the
    // tracepoint and the log require.
    unsafe {
        sched_casio_switch(prev, prev_id, t, id, next.key());
        if log_on() {
            bindings::casio_event_log_switch(prev, prev_id, t, id);
        }
    }
}
