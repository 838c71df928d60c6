// SPDX-License-Identifier: GPL-2.0
/*
 * The CASIO event log: the latest scheduling events of every CPU, read
 * from /proc/casio_event in the format of the 2011 CASIO,
 * "action,timestamp_ns,message". The class fires the sched_casio_*
 * tracepoints for the same events (casio_trace.c).
 *
 * The class reports events with the runqueue lock of the task's CPU held,
 * from any context it runs in, hard interrupts included. So the log is a
 * ring per CPU, allocated at boot, with a raw spinlock of its own taken
 * inside the runqueue lock; a full ring overwrites its oldest events,
 * which are counted as lost. A reader copies the rings when it opens the
 * file, so reading consumes nothing and readers do not disturb each
 * other. Logging costs a clock read and a lock per event, so it is off
 * until kernel.sched_casio_event_log is set, which enables the static key
 * casio_event_log_on; the class calls the log only when that key is on.
 * The tracepoints do not depend on it.
 */
#include <linux/init.h>
#include <linux/jump_label.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/sysctl.h>
#include <linux/timekeeping.h>

#include "../casio_base.h"
#include "../casio_event.h"

/* Events kept per CPU: a few seconds of a busy task set. */
#define CASIO_EVENT_RING	4096

struct casio_event_rec {
	u64	ts;
	u64	seq;
	u64	deadline;
	s64	id;		/* casio_id, -1 for a task that is not CASIO */
	s64	next_id;	/* switch: the next task's casio_id */
	pid_t	pid;		/* switch: the previous task */
	pid_t	next_pid;
	u32	cpu;
	u32	action;
};

struct casio_event_ring {
	raw_spinlock_t		lock;
	u64			head;	/* events written since boot */
	struct casio_event_rec	rec[CASIO_EVENT_RING];
};

static DEFINE_PER_CPU(struct casio_event_ring *, casio_event_ring);
struct casio_event_key casio_event_log_on = {
	.key = STATIC_KEY_FALSE_INIT,
};
static int sysctl_sched_casio_event_log;

static int sched_casio_event_log_handler(CASIO_CTL_TABLE *table, int write,
					 void *buffer, size_t *lenp, loff_t *ppos)
{
	static DEFINE_MUTEX(mutex);
	int ret;

	mutex_lock(&mutex);
	ret = proc_dointvec_minmax(table, write, buffer, lenp, ppos);
	if (!ret && write) {
		if (sysctl_sched_casio_event_log)
			static_branch_enable(&casio_event_log_on.key);
		else
			static_branch_disable(&casio_event_log_on.key);
	}
	mutex_unlock(&mutex);
	return ret;
}

static CASIO_CTL_TABLE_ARRAY casio_event_sysctls[] = {
	{
		.procname	= "sched_casio_event_log",
		.data		= &sysctl_sched_casio_event_log,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= sched_casio_event_log_handler,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	CASIO_CTL_TABLE_END
};

static void casio_event_log(int cpu, const struct casio_event_rec *rec)
{
	struct casio_event_ring *ring = READ_ONCE(per_cpu(casio_event_ring, cpu));
	struct casio_event_rec *slot;
	unsigned long flags;

	if (!ring)
		return;
	raw_spin_lock_irqsave(&ring->lock, flags);
	slot = &ring->rec[ring->head % CASIO_EVENT_RING];
	*slot = *rec;
	slot->seq = ring->head++;
	raw_spin_unlock_irqrestore(&ring->lock, flags);
}

void casio_event_log_task(enum casio_event ev, struct task_struct *p,
			  u32 casio_id, u64 deadline)
{
	struct casio_event_rec rec = {
		.ts = ktime_get_ns(),
		.deadline = deadline,
		.id = p->policy == SCHED_CASIO ? casio_id : -1,
		.pid = p->pid,
		.cpu = task_cpu(p),
		.action = ev,
	};

	casio_event_log(rec.cpu, &rec);
}

void casio_event_log_switch(struct task_struct *prev, s64 prev_id,
			    struct task_struct *next, u32 next_id)
{
	struct casio_event_rec rec = {
		.ts = ktime_get_ns(),
		.id = prev_id,
		.pid = prev->policy == SCHED_CASIO ? prev->pid : -1,
		.next_id = next->policy == SCHED_CASIO ? next_id : -1,
		.next_pid = next->pid,
		.cpu = task_cpu(next),
		.action = CASIO_EVENT_SWITCH,
	};

	casio_event_log(rec.cpu, &rec);
}

#ifdef CONFIG_PROC_FS

struct casio_event_snapshot {
	size_t			nr;
	struct casio_event_rec	rec[];
};

/* In time order; the events of one CPU keep their order. */
static int casio_event_cmp(const void *a, const void *b)
{
	const struct casio_event_rec *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/*
 * Copies every ring. A ring that wrapped adds a message event, at the
 * time of its oldest kept event, saying how many events it lost.
 */
static struct casio_event_snapshot *casio_event_snapshot(void)
{
	struct casio_event_snapshot *snap;
	size_t max = (size_t)nr_cpu_ids * (CASIO_EVENT_RING + 1);
	int cpu;

	snap = kvmalloc(struct_size(snap, rec, max), GFP_KERNEL);
	if (!snap)
		return NULL;
	snap->nr = 0;
	for_each_possible_cpu(cpu) {
		struct casio_event_ring *ring = READ_ONCE(per_cpu(casio_event_ring, cpu));
		struct casio_event_rec *first = &snap->rec[snap->nr];
		unsigned long flags;
		u64 head, n, i;

		if (!ring)
			continue;
		raw_spin_lock_irqsave(&ring->lock, flags);
		head = ring->head;
		n = min_t(u64, head, CASIO_EVENT_RING);
		for (i = head - n; i < head; i++)
			snap->rec[snap->nr++] = ring->rec[i % CASIO_EVENT_RING];
		raw_spin_unlock_irqrestore(&ring->lock, flags);
		if (head > n) {
			snap->rec[snap->nr++] = (struct casio_event_rec) {
				.ts = first->ts,
				.seq = head - n,
				.deadline = head - n,
				.cpu = cpu,
				.action = CASIO_EVENT_MESSAGE,
			};
		}
	}
	sort(snap->rec, snap->nr, sizeof(snap->rec[0]), casio_event_cmp, NULL);
	return snap;
}

static void *casio_event_start(struct seq_file *m, loff_t *pos)
{
	struct casio_event_snapshot *snap = m->private;

	return *pos < snap->nr ? &snap->rec[*pos] : NULL;
}

static void *casio_event_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return casio_event_start(m, pos);
}

static void casio_event_stop(struct seq_file *m, void *v)
{
}

static int casio_event_show(struct seq_file *m, void *v)
{
	const struct casio_event_rec *r = v;

	switch (r->action) {
	case CASIO_EVENT_SWITCH:
		seq_printf(m, "%u,%llu,%u:prev->(%lld:%d),next->(%lld:%d)\n",
			   r->action, r->ts, r->cpu, r->id, r->pid,
			   r->next_id, r->next_pid);
		break;
	case CASIO_EVENT_MESSAGE:
		/* a lost-events marker: its deadline field holds the count */
		seq_printf(m, "%u,%llu,cpu%u lost %llu events\n",
			   r->action, r->ts, r->cpu, r->deadline);
		break;
	default:
		seq_printf(m, "%u,%llu,%u:%lld:%d:%llu\n", r->action, r->ts,
			   r->cpu, r->id, r->pid, r->deadline);
	}
	return 0;
}

static const struct seq_operations casio_event_seq_ops = {
	.start	= casio_event_start,
	.next	= casio_event_next,
	.stop	= casio_event_stop,
	.show	= casio_event_show,
};

static int casio_event_open(struct inode *inode, struct file *file)
{
	struct casio_event_snapshot *snap = casio_event_snapshot();
	int ret;

	if (!snap)
		return -ENOMEM;
	ret = seq_open(file, &casio_event_seq_ops);
	if (ret) {
		kvfree(snap);
		return ret;
	}
	((struct seq_file *)file->private_data)->private = snap;
	return 0;
}

static int casio_event_release(struct inode *inode, struct file *file)
{
	kvfree(((struct seq_file *)file->private_data)->private);
	return seq_release(inode, file);
}

static const struct proc_ops casio_event_proc_ops = {
	.proc_open	= casio_event_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= casio_event_release,
};

#endif /* CONFIG_PROC_FS */

static int __init casio_event_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct casio_event_ring *ring = kvzalloc(sizeof(*ring), GFP_KERNEL);

		if (!ring)
			return -ENOMEM;
		raw_spin_lock_init(&ring->lock);
		/* The lock and the ring are set up before CPUs see them. */
		smp_store_release(&per_cpu(casio_event_ring, cpu), ring);
	}
#ifdef CONFIG_PROC_FS
	/* Root only, as other tasks' scheduling is not everyone's to see. */
	proc_create("casio_event", 0400, NULL, &casio_event_proc_ops);
#endif
	register_sysctl_init("kernel", casio_event_sysctls);
	return 0;
}
late_initcall(casio_event_init);
