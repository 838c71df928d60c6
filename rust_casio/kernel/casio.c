// SPDX-License-Identifier: GPL-2.0
/*
 * CASIO: earliest-deadline-first scheduling class.
 *
 * The scheduling logic is Rust, in kernel/sched/casio/; its entry
 * points are declared in casio.h, which cbindgen generates from it.
 * This file gives the class its slot in the class array, between the
 * deadline and the RT class, and keeps the CASIO bandwidth for admission
 * control.
 */

/*
 * The CASIO bandwidth cap, sched_casio_runtime_us per
 * sched_casio_period_us (95% by default), serves twice. Each CPU runs
 * CASIO tasks for at most that share of every period, so that a runaway
 * task leaves the other classes what RT throttling would; and admission
 * control keeps the sum of C/T over all CASIO tasks within that share of
 * every online CPU. A runtime of -1 turns both off (the sum is still
 * kept). Tasks set with sched_setscheduler() declare no runtime and
 * reserve nothing. Each task records what it was admitted with in
 * casio.bw, so that what is added is exactly what is later removed.
 * Lock order: p->pi_lock, rq lock, casio_bw_lock.
 */
static DEFINE_RAW_SPINLOCK(casio_bw_lock);
static u64 casio_total_bw;
static int sysctl_sched_casio_period = 1000000;
static int sysctl_sched_casio_runtime = 950000;

/*
 * The per-CPU cap in ns, for the class's run-time accounting; false if
 * there is none. Any context: the two values are read without a lock,
 * like RT's, and a torn pair lasts one window.
 */
bool casio_cap(u64 *runtime, u64 *period)
{
	int rt = READ_ONCE(sysctl_sched_casio_runtime);

	if (rt < 0)
		return false;
	*runtime = (u64)rt * NSEC_PER_USEC;
	*period = (u64)READ_ONCE(sysctl_sched_casio_period) * NSEC_PER_USEC;
	return true;
}

static u64 casio_cap_bw(void)
{
	if (sysctl_sched_casio_runtime < 0)
		return U64_MAX;
	return to_ratio(sysctl_sched_casio_period, sysctl_sched_casio_runtime) *
	       num_online_cpus();
}

static u64 casio_attr_bw(const struct sched_attr *attr)
{
	u64 period = attr->sched_period ?: attr->sched_deadline;

	if (attr->sched_flags & SCHED_FLAG_CASIO_UNRESERVED)
		return 0;
	return to_ratio(period, attr->sched_runtime);
}

/*
 * Called with p's pi_lock and rq lock held when p's policy or CASIO
 * parameters are about to change: moves p's share of the bandwidth.
 * Returns -EBUSY if the new share does not fit.
 */
int casio_bw_change(struct task_struct *p, int policy, const struct sched_attr *attr)
{
	u64 new_bw = casio_policy(policy) ? casio_attr_bw(attr) : 0;
	u64 old_bw = p->casio.bw;
	int ret = 0;

	raw_spin_lock(&casio_bw_lock);
	if (new_bw > old_bw &&
	    casio_total_bw - old_bw + new_bw > casio_cap_bw()) {
		ret = -EBUSY;
	} else {
		casio_total_bw = casio_total_bw - old_bw + new_bw;
		p->casio.bw = new_bw;
	}
	raw_spin_unlock(&casio_bw_lock);
	return ret;
}

/*
 * A forked child of a CASIO task is admitted when it becomes visible;
 * returns -EBUSY if its share does not fit, and the caller makes it a
 * SCHED_NORMAL task.
 */
int casio_bw_fork(struct task_struct *p)
{
	struct sched_attr attr = {
		.sched_runtime = p->casio.params.runtime,
		.sched_deadline = p->casio.params.deadline,
		.sched_period = p->casio.params.period,
		.sched_flags = p->casio.flags,
	};

	lockdep_assert_held(&p->pi_lock);
	if (!task_has_casio_policy(p) || p->casio.bw)
		return 0;
	return casio_bw_change(p, SCHED_CASIO, &attr);
}

static void casio_task_dead_bw(struct task_struct *p)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&casio_bw_lock, flags);
	casio_total_bw -= p->casio.bw;
	p->casio.bw = 0;
	raw_spin_unlock_irqrestore(&casio_bw_lock, flags);
	casio_task_dead(p);
}

static int sched_casio_handler(struct ctl_table *table, int write, void *buffer,
			       size_t *lenp, loff_t *ppos)
{
	int old_period, old_runtime, ret;
	static DEFINE_MUTEX(mutex);

	mutex_lock(&mutex);
	old_period = sysctl_sched_casio_period;
	old_runtime = sysctl_sched_casio_runtime;
	ret = proc_dointvec_minmax(table, write, buffer, lenp, ppos);
	if (!ret && write) {
		raw_spin_lock_irq(&casio_bw_lock);
		/* The cap may not fall below what is already admitted. */
		if (sysctl_sched_casio_runtime > sysctl_sched_casio_period ||
		    casio_total_bw > casio_cap_bw())
			ret = -EBUSY;
		raw_spin_unlock_irq(&casio_bw_lock);
	}
	if (ret) {
		sysctl_sched_casio_period = old_period;
		sysctl_sched_casio_runtime = old_runtime;
	}
	mutex_unlock(&mutex);
	return ret;
}

static struct ctl_table sched_casio_sysctls[] = {
	{
		.procname	= "sched_casio_period_us",
		.data		= &sysctl_sched_casio_period,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= sched_casio_handler,
		.extra1		= SYSCTL_ONE,
		.extra2		= SYSCTL_INT_MAX,
	},
	{
		.procname	= "sched_casio_runtime_us",
		.data		= &sysctl_sched_casio_runtime,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= sched_casio_handler,
		.extra1		= SYSCTL_NEG_ONE,
		.extra2		= SYSCTL_INT_MAX,
	},
	{}
};

static int __init casio_sysctl_init(void)
{
	register_sysctl_init("kernel", sched_casio_sysctls);
	return 0;
}
late_initcall(casio_sysctl_init);

/* Admitted bandwidth and its cap, in units of BW_UNIT. */
void casio_bw_read(u64 *total, u64 *cap)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&casio_bw_lock, flags);
	*total = casio_total_bw;
	*cap = casio_cap_bw();
	raw_spin_unlock_irqrestore(&casio_bw_lock, flags);
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
#endif

	.task_tick		= casio_task_tick,

	.task_dead		= casio_task_dead_bw,

	.prio_changed		= casio_prio_changed,
	.switched_from		= casio_switched_from,
	.switched_to		= casio_switched_to,

	.update_curr		= casio_update_curr,
};
