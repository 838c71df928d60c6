// SPDX-License-Identifier: GPL-2.0
/*
 * CASIO: earliest-deadline-first scheduling class.
 *
 * The scheduling logic is Rust, in kernel/sched/casio/; its entry
 * points are declared in casio.h, which cbindgen generates from it.
 * This file gives the class its slot in the class array, between the
 * deadline and the RT class, and holds what the class needs from C that
 * differs by kernel base (here, the RT bandwidth); casio_support.c holds
 * the rest.
 */

/*
 * RT throttling is off by default on this base (sched_rt_runtime_us is
 * 1000000) and RT tasks have no bandwidth limit of their own unless
 * CONFIG_RT_GROUP_SCHED is set: the fair and ext servers, deadline
 * entities that serve the fair and sched_ext classes (50 ms every second
 * by default), keep those tasks and with them the RCU and hotplug
 * kthreads from starving, and they preempt CASIO as they preempt RT. So
 * CASIO charges no RT budget here; its own cap (casio_support.c) still
 * applies.
 */
bool casio_rt_charge(struct rq *rq, u64 delta)
{
	return false;
}

bool casio_rt_throttled(struct rq *rq)
{
	return false;
}

DEFINE_SCHED_CLASS(casio) = {
	.enqueue_task		= casio_enqueue_task,
	.dequeue_task		= casio_dequeue_task,
	.yield_task		= casio_yield_task,

	.wakeup_preempt		= casio_wakeup_preempt,

	.pick_task		= casio_pick_task,
	.put_prev_task		= casio_put_prev_task,
	.set_next_task		= casio_set_next_task,

	.balance		= casio_balance,
	.select_task_rq		= casio_select_task_rq,
	.set_cpus_allowed	= set_cpus_allowed_common,
	.rq_online		= casio_rq_online,
	.rq_offline		= casio_rq_offline,
	.task_woken		= casio_task_woken,

	.task_tick		= casio_task_tick,

	.task_dead		= casio_task_dead,

	.get_prio		= casio_get_prio,
	.prio_changed		= casio_prio_changed,
	.switched_from		= casio_switched_from,
	.switched_to		= casio_switched_to,

	.update_curr		= casio_update_curr,
};
