// SPDX-License-Identifier: GPL-2.0
/*
 * The sched_casio_* tracepoints, and the functions through which the
 * class fires them and feeds the event log (casio_event.c).
 */
#include <linux/jump_label.h>
#include <linux/sched.h>

#define CREATE_TRACE_POINTS
#include <trace/events/sched_casio.h>

#include "../casio_trace.h"

void casio_trace_task(enum casio_event ev, struct task_struct *p, u32 casio_id,
		      u64 deadline)
{
	switch (ev) {
	case CASIO_EVENT_ENQUEUE:
		trace_sched_casio_enqueue(p, casio_id, deadline);
		break;
	case CASIO_EVENT_DEQUEUE:
		trace_sched_casio_dequeue(p, casio_id, deadline);
		break;
	case CASIO_EVENT_RELEASE:
		trace_sched_casio_release(p, casio_id, deadline);
		break;
	case CASIO_EVENT_JOB_END:
		trace_sched_casio_job_end(p, casio_id, deadline);
		break;
	case CASIO_EVENT_MISS:
		trace_sched_casio_miss(p, casio_id, deadline);
		break;
	case CASIO_EVENT_THROTTLE:
		trace_sched_casio_throttle(p, casio_id, deadline);
		break;
	default:
		return;
	}
	if (static_branch_unlikely(&casio_event_log_on.key))
		casio_event_log_task(ev, p, casio_id, deadline);
}

void casio_trace_switch(struct task_struct *prev, s64 prev_id,
			struct task_struct *next, u32 next_id, u64 next_deadline)
{
	trace_sched_casio_switch(prev, prev_id, next, next_id, next_deadline);
	if (static_branch_unlikely(&casio_event_log_on.key))
		casio_event_log_switch(prev, prev_id, next, next_id);
}
