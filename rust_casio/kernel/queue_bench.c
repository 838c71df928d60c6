// SPDX-License-Identifier: GPL-2.0
/*
 * A self-benchmark of the CASIO EDF queue, for the project's scaling
 * measurements: writing a number of tasks N (10 to 100000) to
 * sched_casio/queue_bench in debugfs queues N nodes of its own (no task
 * is touched) and times 100000 requeues (a dequeue and an enqueue with a
 * new deadline, as a task that sleeps and wakes) and 100000 look-ups of
 * the earliest deadline with the queue code the class runs, best of five
 * rounds; reading the file shows the last result, in nanoseconds per
 * operation.
 */
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "../casio.h"

#define CASIO_BENCH_ROUNDS	5
#define CASIO_BENCH_MIN		10
#define CASIO_BENCH_MAX		100000

#define CASIO_BENCH_OPS		100000	/* BENCH_OPS in sched_casio.rs */

static DEFINE_MUTEX(casio_bench_mutex);
static size_t casio_bench_n;
static u64 casio_bench_best[2];

static int casio_bench_show(struct seq_file *m, void *v)
{
	static const char * const phase[] = { "requeue", "pick" };
	int i;

	mutex_lock(&casio_bench_mutex);
	if (!casio_bench_n) {
		seq_puts(m, "no run yet: write a number of tasks (10 to 100000)\n");
	} else {
		seq_printf(m, "n %zu", casio_bench_n);
		/* Tenths of a nanosecond per operation. */
		for (i = 0; i < 2; i++) {
			u64 t = div64_u64(casio_bench_best[i] * 10, CASIO_BENCH_OPS);

			seq_printf(m, " %s_ns %llu.%llu", phase[i], t / 10, t % 10);
		}
		seq_putc(m, '\n');
	}
	mutex_unlock(&casio_bench_mutex);
	return 0;
}

static int casio_bench_open(struct inode *inode, struct file *file)
{
	return single_open(file, casio_bench_show, NULL);
}

static ssize_t casio_bench_write(struct file *file, const char __user *buf,
				 size_t count, loff_t *ppos)
{
	struct casio_edf_node *nodes;
	unsigned int n;
	int ret, r, i;

	ret = kstrtouint_from_user(buf, count, 10, &n);
	if (ret)
		return ret;
	if (n < CASIO_BENCH_MIN || n > CASIO_BENCH_MAX)
		return -EINVAL;
	nodes = kvcalloc(n, sizeof(*nodes), GFP_KERNEL);
	if (!nodes)
		return -ENOMEM;
	mutex_lock(&casio_bench_mutex);
	for (i = 0; i < 2; i++)
		casio_bench_best[i] = U64_MAX;
	for (r = 0; r < CASIO_BENCH_ROUNDS; r++) {
		u64 ns[2];

		/* Every round leaves the nodes unlinked, as zeroed nodes are. */
		casio_queue_bench(nodes, n, get_random_u64(), ns);
		for (i = 0; i < 2; i++)
			casio_bench_best[i] = min(casio_bench_best[i], ns[i]);
		cond_resched();
	}
	casio_bench_n = n;
	mutex_unlock(&casio_bench_mutex);
	kvfree(nodes);
	return count;
}

static const struct file_operations casio_bench_fops = {
	.owner		= THIS_MODULE,
	.open		= casio_bench_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= single_release,
	.write		= casio_bench_write,
};

static int __init casio_bench_init(void)
{
	struct dentry *dir = debugfs_create_dir("sched_casio", NULL);

	debugfs_create_file("queue_bench", 0600, dir, NULL, &casio_bench_fops);
	return 0;
}
late_initcall(casio_bench_init);
