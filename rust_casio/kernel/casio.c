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
 *
 * Global EDF only needs the sum to fit all CPUs. A task allowed on one
 * CPU alone (partitioned EDF) can only use that CPU, so the shares of
 * the tasks pinned to a CPU must also fit its cap; casio.bw_cpu records
 * which CPU holds a task's share, -1 for none. sched_setaffinity() that
 * would overfill a CPU fails with -EBUSY; the kernel's own affinity
 * changes (a CPU going offline, cpusets) move the share unchecked.
 * Lock order: p->pi_lock, rq lock, casio_bw_lock.
 */
static DEFINE_RAW_SPINLOCK(casio_bw_lock);
static u64 casio_total_bw;
static DEFINE_PER_CPU(u64, casio_pinned_bw);
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

/* The cap of one CPU, in units of BW_UNIT; U64_MAX if there is none. */
static u64 casio_cpu_cap_bw(void)
{
	if (sysctl_sched_casio_runtime < 0)
		return U64_MAX;
	return to_ratio(sysctl_sched_casio_period, sysctl_sched_casio_runtime);
}

static u64 casio_cap_bw(void)
{
	if (sysctl_sched_casio_runtime < 0)
		return U64_MAX;
	return casio_cpu_cap_bw() * num_online_cpus();
}

/* The CPU a task allowed on @mask is pinned to, or -1. */
static int casio_pinned_cpu(const struct cpumask *mask)
{
	return cpumask_weight(mask) == 1 ? cpumask_first(mask) : -1;
}

/*
 * Gives p the share new_bw, held by CPU new_cpu (-1 for none), if the
 * change fits: neither the sum nor new_cpu's pinned sum may grow past
 * its cap. With !check the change is made whatever it costs.
 */
static int __casio_bw_move(struct task_struct *p, u64 new_bw, int new_cpu,
			   bool check)
{
	u64 old_bw = p->casio.bw;
	int old_cpu = old_bw ? p->casio.bw_cpu : -1;
	u64 pinned;

	lockdep_assert_held(&casio_bw_lock);
	if (!new_bw)
		new_cpu = -1;
	if (check && new_bw > old_bw &&
	    casio_total_bw - old_bw + new_bw > casio_cap_bw())
		return -EBUSY;
	if (check && new_cpu >= 0 && (new_cpu != old_cpu || new_bw > old_bw)) {
		pinned = per_cpu(casio_pinned_bw, new_cpu) + new_bw;
		if (new_cpu == old_cpu)
			pinned -= old_bw;
		if (pinned > casio_cpu_cap_bw())
			return -EBUSY;
	}

	casio_total_bw = casio_total_bw - old_bw + new_bw;
	if (old_cpu >= 0)
		per_cpu(casio_pinned_bw, old_cpu) -= old_bw;
	if (new_cpu >= 0)
		per_cpu(casio_pinned_bw, new_cpu) += new_bw;
	/* casio_bw_set_cpus() peeks at it without the lock. */
	WRITE_ONCE(p->casio.bw, new_bw);
	p->casio.bw_cpu = new_cpu;
	return 0;
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
	int ret;

	/*
	 * A dead task (a zombie not yet reaped) gave its share back when it
	 * last switched out, in casio_task_dead_bw(), and nothing would give
	 * back a new one: it reserves nothing. p->pi_lock orders this against
	 * do_task_dead() setting the state.
	 */
	if (READ_ONCE(p->__state) == TASK_DEAD)
		new_bw = 0;

	raw_spin_lock(&casio_bw_lock);
	ret = __casio_bw_move(p, new_bw, casio_pinned_cpu(&p->cpus_mask), true);
	raw_spin_unlock(&casio_bw_lock);
	return ret;
}

/*
 * Called with p's pi_lock and rq lock held before p's affinity becomes
 * @new_mask: moves p's share to the CPU it is now pinned to, if any.
 * With @check (sched_setaffinity()) returns -EBUSY instead if that CPU's
 * pinned share would grow past the cap.
 */
int casio_bw_set_cpus(struct task_struct *p, const struct cpumask *new_mask,
		      bool check)
{
	unsigned long flags;
	int cpu, ret = 0;

	/* Only setscheduler and fork, under p->pi_lock, make it non-zero. */
	if (!READ_ONCE(p->casio.bw))
		return 0;

	cpu = casio_pinned_cpu(new_mask);
	raw_spin_lock_irqsave(&casio_bw_lock, flags);
	if (p->casio.bw && cpu != p->casio.bw_cpu)
		ret = __casio_bw_move(p, p->casio.bw, cpu, check);
	raw_spin_unlock_irqrestore(&casio_bw_lock, flags);
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
	__casio_bw_move(p, 0, -1, false);
	raw_spin_unlock_irqrestore(&casio_bw_lock, flags);
	casio_task_dead(p);
}

static int sched_casio_handler(struct ctl_table *table, int write, void *buffer,
			       size_t *lenp, loff_t *ppos)
{
	int old_period, old_runtime, ret, cpu;
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
		for_each_possible_cpu(cpu) {
			if (per_cpu(casio_pinned_bw, cpu) > casio_cpu_cap_bw())
				ret = -EBUSY;
		}
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

/* The share of the tasks pinned to @cpu, in units of BW_UNIT. */
u64 casio_bw_pinned(int cpu)
{
	unsigned long flags;
	u64 bw;

	raw_spin_lock_irqsave(&casio_bw_lock, flags);
	bw = per_cpu(casio_pinned_bw, cpu);
	raw_spin_unlock_irqrestore(&casio_bw_lock, flags);
	return bw;
}

#ifdef CONFIG_SMP
/*
 * Global EDF across the CPUs of a root domain: the storage of its CASIO
 * CPU sets, which the class (rd.rs) keeps as cpudeadline.c keeps the
 * deadline class's.
 */
int casio_cpus_init(struct casio_cpus *cc)
{
	raw_spin_lock_init(&cc->lock);
	cc->slots = kcalloc(nr_cpu_ids, sizeof(*cc->slots), GFP_KERNEL);
	cc->free = kzalloc(cpumask_size(), GFP_KERNEL);
	cc->overload = kzalloc(cpumask_size(), GFP_KERNEL);
	if (!cc->slots || !cc->free || !cc->overload) {
		casio_cpus_cleanup(cc);
		return -ENOMEM;
	}
	atomic_set(&cc->nr_overloaded, 0);
	casio_cpuheap_init(cc);
	return 0;
}

void casio_cpus_cleanup(struct casio_cpus *cc)
{
	kfree(cc->overload);
	kfree(cc->free);
	kfree(cc->slots);
}

static DEFINE_PER_CPU(struct balance_callback, casio_push_head);
static DEFINE_PER_CPU(struct balance_callback, casio_pull_head);

/* Pushes or pulls once the core is done with rq's current change. */
void casio_queue_push(struct rq *rq)
{
	queue_balance_callback(rq, &per_cpu(casio_push_head, rq->cpu),
			       casio_push_tasks);
}

void casio_queue_pull(struct rq *rq)
{
	queue_balance_callback(rq, &per_cpu(casio_pull_head, rq->cpu),
			       casio_pull_tasks);
}
#endif /* CONFIG_SMP */

/*
 * Taking a CPU offline fails with -EBUSY if the admitted CASIO bandwidth
 * would not fit the CPUs left, as for SCHED_DEADLINE.
 */
int casio_bw_check_offline(void)
{
	unsigned long flags;
	int ret = 0;

	raw_spin_lock_irqsave(&casio_bw_lock, flags);
	if (sysctl_sched_casio_runtime >= 0 &&
	    casio_total_bw > to_ratio(sysctl_sched_casio_period,
				      sysctl_sched_casio_runtime) *
			     (num_online_cpus() - 1))
		ret = -EBUSY;
	raw_spin_unlock_irqrestore(&casio_bw_lock, flags);
	return ret;
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

	.task_dead		= casio_task_dead_bw,

	.prio_changed		= casio_prio_changed,
	.switched_from		= casio_switched_from,
	.switched_to		= casio_switched_to,

	.update_curr		= casio_update_curr,
};
