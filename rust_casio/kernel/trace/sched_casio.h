/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM sched_casio

#if !defined(_TRACE_SCHED_CASIO_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_SCHED_CASIO_H

#include <linux/sched.h>
#include <linux/tracepoint.h>

/*
 * Scheduling events of the CASIO class. Times are CLOCK_MONOTONIC
 * nanoseconds, the clock of CASIO jobs; @deadline is the absolute
 * deadline the task is queued by, or that of the job concerned.
 */
DECLARE_EVENT_CLASS(sched_casio_task,

	TP_PROTO(struct task_struct *p, u32 casio_id, u64 deadline),

	TP_ARGS(p, casio_id, deadline),

	TP_STRUCT__entry(
		__field(int,	cpu)
		__field(pid_t,	pid)
		__field(u32,	casio_id)
		__field(u64,	deadline)
	),

	TP_fast_assign(
		__entry->cpu		= task_cpu(p);
		__entry->pid		= p->pid;
		__entry->casio_id	= casio_id;
		__entry->deadline	= deadline;
	),

	TP_printk("cpu=%d pid=%d casio_id=%u deadline=%llu",
		  __entry->cpu, __entry->pid, __entry->casio_id,
		  (unsigned long long)__entry->deadline)
);

DEFINE_EVENT(sched_casio_task, sched_casio_enqueue,
	TP_PROTO(struct task_struct *p, u32 casio_id, u64 deadline),
	TP_ARGS(p, casio_id, deadline));

DEFINE_EVENT(sched_casio_task, sched_casio_dequeue,
	TP_PROTO(struct task_struct *p, u32 casio_id, u64 deadline),
	TP_ARGS(p, casio_id, deadline));

DEFINE_EVENT(sched_casio_task, sched_casio_release,
	TP_PROTO(struct task_struct *p, u32 casio_id, u64 deadline),
	TP_ARGS(p, casio_id, deadline));

DEFINE_EVENT(sched_casio_task, sched_casio_job_end,
	TP_PROTO(struct task_struct *p, u32 casio_id, u64 deadline),
	TP_ARGS(p, casio_id, deadline));

DEFINE_EVENT(sched_casio_task, sched_casio_miss,
	TP_PROTO(struct task_struct *p, u32 casio_id, u64 deadline),
	TP_ARGS(p, casio_id, deadline));

DEFINE_EVENT(sched_casio_task, sched_casio_throttle,
	TP_PROTO(struct task_struct *p, u32 casio_id, u64 deadline),
	TP_ARGS(p, casio_id, deadline));

/*
 * A CPU switches to the CASIO task @next, queued by @next_deadline; @prev
 * may be of any class, and its casio_id is -1 if it is not a CASIO task.
 */
TRACE_EVENT(sched_casio_switch,

	TP_PROTO(struct task_struct *prev, s64 prev_casio_id,
		 struct task_struct *next, u32 next_casio_id, u64 next_deadline),

	TP_ARGS(prev, prev_casio_id, next, next_casio_id, next_deadline),

	TP_STRUCT__entry(
		__field(int,	cpu)
		__field(pid_t,	prev_pid)
		__field(s64,	prev_casio_id)
		__field(pid_t,	next_pid)
		__field(u32,	next_casio_id)
		__field(u64,	next_deadline)
	),

	TP_fast_assign(
		__entry->cpu		= task_cpu(next);
		__entry->prev_pid	= prev->pid;
		__entry->prev_casio_id	= prev_casio_id;
		__entry->next_pid	= next->pid;
		__entry->next_casio_id	= next_casio_id;
		__entry->next_deadline	= next_deadline;
	),

	TP_printk("cpu=%d prev_pid=%d prev_casio_id=%lld next_pid=%d next_casio_id=%u next_deadline=%llu",
		  __entry->cpu, __entry->prev_pid,
		  (long long)__entry->prev_casio_id,
		  __entry->next_pid, __entry->next_casio_id,
		  (unsigned long long)__entry->next_deadline)
);

#endif /* _TRACE_SCHED_CASIO_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
