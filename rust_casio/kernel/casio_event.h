/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KERNEL_SCHED_CASIO_EVENT_H
#define _KERNEL_SCHED_CASIO_EVENT_H

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

void casio_event_task(enum casio_event ev, struct task_struct *p, u32 casio_id,
		      u64 deadline);
void casio_event_switch(struct task_struct *prev, s64 prev_id,
			struct task_struct *next, u32 next_id, u64 next_deadline);

#endif /* _KERNEL_SCHED_CASIO_EVENT_H */
