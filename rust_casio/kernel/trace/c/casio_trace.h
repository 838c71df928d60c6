/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KERNEL_SCHED_CASIO_TRACE_H
#define _KERNEL_SCHED_CASIO_TRACE_H

#include "casio_event.h"

/*
 * The class reports its events through these: each fires the event's
 * tracepoint and, when kernel.sched_casio_event_log is set, logs it.
 * The tracepoints are C inlines, which Rust cannot call directly.
 */
void casio_trace_task(enum casio_event ev, struct task_struct *p, u32 casio_id,
		      u64 deadline);
void casio_trace_switch(struct task_struct *prev, s64 prev_id,
			struct task_struct *next, u32 next_id, u64 next_deadline);

#endif /* _KERNEL_SCHED_CASIO_TRACE_H */
