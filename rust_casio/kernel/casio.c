// SPDX-License-Identifier: GPL-2.0
/*
 * CASIO: earliest-deadline-first scheduling class.
 *
 * The scheduling logic is Rust, in kernel/sched/casio/; its entry
 * points are declared in casio.h, which cbindgen generates from it.
 * This file only gives the class its slot in the class array, between
 * the deadline and the RT class.
 */

DEFINE_SCHED_CLASS(casio) = {
	.enqueue_task		= casio_enqueue_task,
	.dequeue_task		= casio_dequeue_task,
	.yield_task		= casio_yield_task,

	.check_preempt_curr	= casio_check_preempt_curr,

	.pick_next_task		= casio_pick_next_task,
	.put_prev_task		= casio_put_prev_task,
	.set_next_task		= casio_set_next_task,

#ifdef CONFIG_SMP
	.balance		= casio_balance,
	.pick_task		= casio_pick_task,
	.select_task_rq		= casio_select_task_rq,
	.set_cpus_allowed	= set_cpus_allowed_common,
#endif

	.task_tick		= casio_task_tick,

	.task_dead		= casio_task_dead,

	.prio_changed		= casio_prio_changed,
	.switched_from		= casio_switched_from,
	.switched_to		= casio_switched_to,

	.update_curr		= casio_update_curr,
};
