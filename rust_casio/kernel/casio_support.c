// SPDX-License-Identifier: GPL-2.0
/*
 * What the CASIO class needs from C on every kernel base: the cap's
 * sysctls, the storage of its root-domain CPU sets and its balance
 * callbacks. The class table and what differs by base are in casio.c.
 */

#include "casio_base.h"

/*
 * The CASIO bandwidth cap, sched_casio_runtime_us per
 * sched_casio_period_us (95% by default), serves twice. Each CPU runs
 * CASIO tasks for at most that share of every period, so that a runaway
 * task leaves the other classes what RT throttling would; and admission
 * control (the class's admission.rs) keeps the sum of C/T over all CASIO
 * tasks within that share of every online CPU, and the shares of the
 * tasks pinned to a CPU within that CPU's. A runtime of -1 turns both
 * off. casio_bw_lock guards the sums; lock order: p->pi_lock, rq lock,
 * casio_bw_lock.
 */
DEFINE_RAW_SPINLOCK(casio_bw_lock);
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

static int sched_casio_handler(CASIO_CTL_TABLE *table, int write,
			       void *buffer, size_t *lenp, loff_t *ppos)
{
	int old_period, old_runtime, ret;
	static DEFINE_MUTEX(mutex);

	mutex_lock(&mutex);
	old_period = sysctl_sched_casio_period;
	old_runtime = sysctl_sched_casio_runtime;
	ret = proc_dointvec_minmax(table, write, buffer, lenp, ppos);
	if (!ret && write) {
		/* The cap may not fall below what is already admitted. */
		if (sysctl_sched_casio_runtime > sysctl_sched_casio_period ||
		    !casio_bw_fits_cap())
			ret = -EBUSY;
	}
	if (ret) {
		sysctl_sched_casio_period = old_period;
		sysctl_sched_casio_runtime = old_runtime;
	}
	mutex_unlock(&mutex);
	return ret;
}

static CASIO_CTL_TABLE_ARRAY sched_casio_sysctls[] = {
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
	CASIO_CTL_TABLE_END
};

static int __init casio_sysctl_init(void)
{
	register_sysctl_init("kernel", sched_casio_sysctls);
	return 0;
}
late_initcall(casio_sysctl_init);

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
