// SPDX-License-Identifier: GPL-2.0
/*
 * CASIO job statistics in /proc.
 *
 * /proc/PID/sched_casio shows the parameters, current job and job
 * statistics of one task; /proc/sched_casio the totals of each CPU and of
 * the system; /proc/sched_casio_cpus the tasks each CPU queues and runs;
 * /proc/sched_casio_bw the admitted bandwidth and its cap. The
 * class keeps the numbers and hands out copies; this file only prints
 * them.
 */
#include <linux/proc_fs.h>
#include <linux/sched/debug.h>
#include <linux/seq_file.h>

#ifdef CONFIG_PROC_FS

static void casio_show_stats(struct seq_file *m, const struct casio_job_stats *s)
{
	seq_printf(m, "jobs_released: %llu\n", s->jobs_released);
	seq_printf(m, "jobs_completed: %llu\n", s->jobs_completed);
	seq_printf(m, "deadline_misses: %llu\n", s->deadline_misses);
	seq_printf(m, "max_lateness_ns: %llu\n", s->max_lateness_ns);
	seq_printf(m, "total_exec_ns: %llu\n", s->total_exec_ns);
	seq_printf(m, "max_job_exec_ns: %llu\n", s->max_job_exec_ns);
	seq_printf(m, "runtime_overruns: %llu\n", s->runtime_overruns);
}

int proc_pid_sched_casio(struct seq_file *m, struct pid_namespace *ns,
			 struct pid *pid, struct task_struct *p)
{
	struct casio_task_info info;
	bool casio = casio_task_info(p, &info);

	seq_printf(m, "policy: %s\n", casio ? "casio" : "other");
	seq_printf(m, "casio_id: %u\n", info.casio_id);
	seq_printf(m, "runtime_ns: %llu\n", info.params.runtime);
	seq_printf(m, "deadline_ns: %llu\n", info.params.deadline);
	seq_printf(m, "period_ns: %llu\n", info.params.period);
	seq_printf(m, "job_release_ns: %llu\n", info.job.release);
	seq_printf(m, "job_deadline_ns: %llu\n", info.job.deadline);
	seq_printf(m, "waiting_release: %u\n", info.waiting_release);
	seq_printf(m, "budget: %d\n", !!(info.flags & SCHED_FLAG_CASIO_BUDGET));
	seq_printf(m, "overrun_signal: %d\n", !!(info.flags & SCHED_FLAG_DL_OVERRUN));
	seq_printf(m, "reserved: %d\n", !(info.flags & SCHED_FLAG_CASIO_UNRESERVED));
	casio_show_stats(m, &info.stats);
	return 0;
}

static int casio_proc_show(struct seq_file *m, void *v)
{
	struct casio_job_stats all = {};
	u64 all_throttles = 0;
	int cpu;

	seq_puts(m, "cpu jobs_released jobs_completed deadline_misses max_lateness_ns total_exec_ns max_job_exec_ns runtime_overruns cap_throttles\n");
	for_each_possible_cpu(cpu) {
		struct casio_rq_info info;
		struct casio_job_stats s;
		struct rq_flags rf;
		struct rq *rq = cpu_rq(cpu);
		u64 throttles;

		rq_lock_irqsave(rq, &rf);
		casio_rq_info(rq, &info);
		rq_unlock_irqrestore(rq, &rf);
		s = info.stats;
		throttles = info.cap_throttles;

		seq_printf(m, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu\n", cpu,
			   s.jobs_released, s.jobs_completed, s.deadline_misses,
			   s.max_lateness_ns, s.total_exec_ns, s.max_job_exec_ns,
			   s.runtime_overruns, throttles);
		all.jobs_released += s.jobs_released;
		all.jobs_completed += s.jobs_completed;
		all.deadline_misses += s.deadline_misses;
		all.max_lateness_ns = max(all.max_lateness_ns, s.max_lateness_ns);
		all.total_exec_ns += s.total_exec_ns;
		all.max_job_exec_ns = max(all.max_job_exec_ns, s.max_job_exec_ns);
		all.runtime_overruns += s.runtime_overruns;
		all_throttles += throttles;
	}
	seq_printf(m, "all %llu %llu %llu %llu %llu %llu %llu %llu\n",
		   all.jobs_released, all.jobs_completed, all.deadline_misses,
		   all.max_lateness_ns, all.total_exec_ns, all.max_job_exec_ns,
		   all.runtime_overruns, all_throttles);
	return 0;
}

/*
 * What global EDF sees on each CPU: the CASIO tasks queued there and
 * the one that runs, with its deadline. Each line is read under that
 * CPU's rq lock; the lines are not one snapshot.
 */
static int casio_cpus_show(struct seq_file *m, void *v)
{
	int cpu;

	seq_puts(m, "cpu online queued curr_pid curr_deadline_ns\n");
	for_each_possible_cpu(cpu) {
		struct rq *rq = cpu_rq(cpu);
		struct casio_rq_info info;
		struct rq_flags rf;
		pid_t pid = 0;
		int online;

		rq_lock_irqsave(rq, &rf);
		casio_rq_info(rq, &info);
		online = cpu_online(cpu);
		if (info.curr_deadline)
			pid = task_pid_nr(rq->curr);
		rq_unlock_irqrestore(rq, &rf);

		seq_printf(m, "cpu%d %d %llu %d %llu\n", cpu, online,
			   info.queued, pid, info.curr_deadline);
	}
	return 0;
}

static int casio_bw_show(struct seq_file *m, void *v)
{
	u64 total, cap;
	int cpu;

	casio_bw_read(&total, &cap);
	seq_printf(m, "total_bw: %llu\n", total);
	if (cap == U64_MAX)
		seq_puts(m, "cap_bw: -1\n");
	else
		seq_printf(m, "cap_bw: %llu\n", cap);
	seq_printf(m, "bw_unit: %llu\n", (u64)BW_UNIT);
	seq_puts(m, "pinned_bw:");
	for_each_possible_cpu(cpu)
		seq_printf(m, " %llu", casio_bw_pinned(cpu));
	seq_putc(m, '\n');
	return 0;
}

static int __init casio_proc_init(void)
{
	proc_create_single("sched_casio", 0444, NULL, casio_proc_show);
	proc_create_single("sched_casio_bw", 0444, NULL, casio_bw_show);
	proc_create_single("sched_casio_cpus", 0444, NULL, casio_cpus_show);
	return 0;
}
late_initcall(casio_proc_init);

#endif /* CONFIG_PROC_FS */
