// SPDX-License-Identifier: GPL-2.0

//! Events, to the `sched_casio_*` tracepoints and the event log, on a
//! base whose `kernel` crate cannot fire tracepoints: through
//! `casio_trace.c`, which tests the tracepoints' and the log's static
//! keys in C.

use kernel::bindings;

use crate::task::Task;

/// Reports an event of `p` by the deadline `deadline`.
pub(crate) fn event(ev: bindings::casio_event, p: &Task<'_>, deadline: u64) {
    // SAFETY: `p` is valid and its rq lock is held, as the log requires.
    unsafe { bindings::casio_trace_task(ev, p.as_ptr(), p.casio_id(), deadline) };
}

/// Reports that the CPU switches from `prev`, of any class, to `next`.
///
/// # Safety
///
/// `prev` is the current task of the locked rq of `next`; `prev_id` is
/// its casio_id, -1 if it is not a CASIO task.
pub(crate) unsafe fn switch(prev: *mut bindings::task_struct, prev_id: i64, next: &Task<'_>) {
    // SAFETY: both tasks are valid and their rq lock held, as the log
    // requires.
    unsafe {
        bindings::casio_trace_switch(prev, prev_id, next.as_ptr(), next.casio_id(), next.key())
    };
}
