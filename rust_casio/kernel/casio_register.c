// SPDX-License-Identifier: GPL-2.0
/*
 * Registering tasks with CASIO through /proc, as the Loadable-Scheduler
 * modules did: writing a pid to /proc/casio/add, or to its alias
 * /proc/process_sched_add, makes that task SCHED_CASIO with the default
 * relative deadline, kernel.sched_casio_default_deadline_us, as
 * sched_setscheduler() with a struct sched_casio_param would: runtime and
 * period equal the deadline, and the task reserves no bandwidth. The
 * files are root's, as the Loadable-Scheduler's was, and the change is
 * made with the writer's rights, as sched_setscheduler() would make it.
 */
#include <linux/proc_fs.h>
#include <linux/uaccess.h>

#include "casio_base.h"

#ifdef CONFIG_PROC_FS

/* 100 ms; the limits are those of a CASIO period. */
static int sysctl_sched_casio_default_deadline = 100000;
static int casio_deadline_min_us = 100;
static int casio_deadline_max_us = 1 << 22;

static CASIO_CTL_TABLE_ARRAY casio_register_sysctls[] = {
	{
		.procname	= "sched_casio_default_deadline_us",
		.data		= &sysctl_sched_casio_default_deadline,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &casio_deadline_min_us,
		.extra2		= &casio_deadline_max_us,
	},
	CASIO_CTL_TABLE_END
};

static ssize_t casio_add_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	u64 deadline = (u64)READ_ONCE(sysctl_sched_casio_default_deadline) *
		       NSEC_PER_USEC;
	struct sched_attr attr = {
		.sched_policy	= SCHED_CASIO,
		.sched_flags	= SCHED_FLAG_CASIO_UNRESERVED,
		.sched_runtime	= deadline,
		.sched_deadline	= deadline,
		.sched_period	= deadline,
	};
	struct task_struct *p;
	int pid, ret;

	ret = kstrtoint_from_user(buf, count, 10, &pid);
	if (ret)
		return ret;
	if (pid <= 0)
		return -EINVAL;
	p = find_get_task_by_vpid(pid);
	if (!p)
		return -ESRCH;
	ret = sched_setattr(p, &attr);
	put_task_struct(p);
	return ret ? ret : count;
}

static const struct proc_ops casio_add_proc_ops = {
	.proc_write	= casio_add_write,
	.proc_lseek	= noop_llseek,
};

static int __init casio_register_init(void)
{
	struct proc_dir_entry *dir = proc_mkdir("casio", NULL);

	if (dir)
		proc_create("add", 0200, dir, &casio_add_proc_ops);
	proc_create("process_sched_add", 0200, NULL, &casio_add_proc_ops);
	register_sysctl_init("kernel", casio_register_sysctls);
	return 0;
}
late_initcall(casio_register_init);

#endif /* CONFIG_PROC_FS */
