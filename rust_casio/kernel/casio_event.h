/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KERNEL_SCHED_CASIO_EVENT_H
#define _KERNEL_SCHED_CASIO_EVENT_H

#include <linux/jump_label.h>
#include <linux/types.h>

struct task_struct;

/*
 * CASIO scheduling events, reported by the class with the runqueue lock
 * of the task's CPU held, with the task's casio_id and deadline: the
 * class's state is its own. The numbers are the action field of
 * /proc/casio_event, the format of the 2011 CASIO.
 */
enum casio_event {
	CASIO_EVENT_ENQUEUE	= 1,
	CASIO_EVENT_DEQUEUE	= 2,
	CASIO_EVENT_SWITCH	= 3,
	CASIO_EVENT_MESSAGE	= 4,
	CASIO_EVENT_RELEASE	= 5,
	CASIO_EVENT_JOB_END	= 6,
	CASIO_EVENT_MISS	= 7,
	CASIO_EVENT_THROTTLE	= 8,
};

/*
 * The event log, kept while kernel.sched_casio_event_log is set, which
 * turns on this key. Whoever reports an event tests the key first, so an
 * unused log costs one branch. The key sits in a struct, as in a
 * tracepoint, which is the shape Rust's static_branch_unlikely!() tests.
 */
struct casio_event_key {
	struct static_key_false key;
};

extern struct casio_event_key casio_event_log_on;

void casio_event_log_task(enum casio_event ev, struct task_struct *p,
			  u32 casio_id, u64 deadline);
void casio_event_log_switch(struct task_struct *prev, s64 prev_id,
			    struct task_struct *next, u32 next_id);

#endif /* _KERNEL_SCHED_CASIO_EVENT_H */
