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
 * CASIO shares the RT bandwidth, sched_rt_runtime_us of every
 * sched_rt_period_us on each CPU, with the RT class, and its time counts
 * in it as deadline time does: deadline, CASIO and RT tasks together
 * leave the fair class the rest of each period, and with it the RCU and
 * hotplug kthreads. Within the budget CASIO runs before RT. Charges
 * @delta ns of CASIO time to @rq's budget; returns whether it is used up,
 * which stops CASIO and RT there until the RT period timer refills it.
 * Called with the rq lock held.
 */
bool casio_rt_charge(struct rq *rq, u64 delta)
{
	struct rt_rq *rt_rq = &rq->rt;
	bool exceeded;

	if (!rt_bandwidth_enabled())
		return false;
	/* The period timer's lock is global: take it only to start it. */
	if (!READ_ONCE(sched_rt_bandwidth(rt_rq)->rt_period_active))
		start_rt_bandwidth(sched_rt_bandwidth(rt_rq));
	raw_spin_lock(&rt_rq->rt_runtime_lock);
	if (sched_rt_bandwidth_account(rt_rq))
		rt_rq->rt_time += delta;
	exceeded = sched_rt_runtime_exceeded(rt_rq);
	raw_spin_unlock(&rt_rq->rt_runtime_lock);
	return exceeded;
}

/* Whether the RT bandwidth of @rq is used up, which stops CASIO too. */
bool casio_rt_throttled(struct rq *rq)
{
	return rt_bandwidth_enabled() && rt_rq_throttled(&rq->rt);
}

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
	.rq_online		= casio_rq_online,
	.rq_offline		= casio_rq_offline,
	.task_woken		= casio_task_woken,
#endif

	.task_tick		= casio_task_tick,

	.task_dead		= casio_task_dead,

	.prio_changed		= casio_prio_changed,
	.switched_from		= casio_switched_from,
	.switched_to		= casio_switched_to,

	.update_curr		= casio_update_curr,
};
