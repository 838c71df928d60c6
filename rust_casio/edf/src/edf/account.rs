// SPDX-License-Identifier: GPL-2.0

//! Job accounting: releases, completions, deadline misses, lateness and
//! execution time of a task's jobs.
//!
//! A job is released at some time `r` with absolute deadline `r + D`. It
//! ends when the task yields, or when the task, blocked, wakes up after
//! using its runtime C or at or after its deadline (the job then ended
//! when the task last blocked). A
//! job misses its deadline if it is still ready or running at that
//! instant ([`Job::deadline_reached`], driven by a timer), or if it ends
//! after it ([`Job::end`]); a miss is counted once.

use super::job::job_deadline;
use super::params::CasioParams;

/// Per-task job statistics, reset when the task's parameters change.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobStats {
    /// Jobs released.
    pub jobs_released: u64,
    /// Jobs that ended.
    pub jobs_completed: u64,
    /// Jobs that missed their deadline.
    pub deadline_misses: u64,
    /// Largest lateness (end minus absolute deadline) of an ended job, ns.
    pub max_lateness_ns: u64,
    /// CPU time used by ended jobs, ns.
    pub total_exec_ns: u64,
    /// Largest CPU time used by one ended job, ns.
    pub max_job_exec_ns: u64,
    /// Jobs that used up their runtime C before they ended.
    pub runtime_overruns: u64,
}

/// The current job of a task. All-zero means no job was released yet.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Job {
    /// Release time, ns.
    pub release: u64,
    /// Absolute deadline, ns; 0 when no job was ever released.
    pub deadline: u64,
    /// CPU time the task had used when the job was released, ns.
    pub exec_at_release: u64,
    /// When the task last blocked during this job, ns (0: never).
    pub last_block: u64,
    /// 1 while the job is released and has not ended.
    pub active: u32,
    /// 1 once the job's miss is counted.
    pub missed: u32,
    /// 1 once the job has used up its runtime.
    pub overran: u32,
}

impl Job {
    /// Whether a job was ever released.
    pub fn released(&self) -> bool {
        self.deadline != 0
    }

    /// Whether the job is released and has not ended.
    pub fn is_active(&self) -> bool {
        self.active != 0
    }

    /// Releases a new job at `now` for a task that has used `exec` ns of CPU.
    pub fn release(&mut self, stats: &mut JobStats, now: u64, exec: u64, p: &CasioParams) {
        *self = Job {
            release: now,
            // A deadline of 0 means "no job"; `now` is never 0 on a running
            // kernel, but keep the invariant regardless.
            deadline: core::cmp::max(job_deadline(now, p), 1),
            exec_at_release: exec,
            last_block: 0,
            active: 1,
            missed: 0,
            overran: 0,
        };
        stats.jobs_released = stats.jobs_released.wrapping_add(1);
    }

    /// Ends the job at `at`, when the task has used `exec` ns of CPU.
    /// Returns true if the job missed its deadline and that miss was not
    /// counted before. Does nothing for an inactive job.
    pub fn end(&mut self, stats: &mut JobStats, at: u64, exec: u64) -> bool {
        if !self.is_active() {
            return false;
        }
        self.active = 0;
        let used = exec.saturating_sub(self.exec_at_release);
        stats.jobs_completed = stats.jobs_completed.wrapping_add(1);
        stats.total_exec_ns = stats.total_exec_ns.saturating_add(used);
        stats.max_job_exec_ns = core::cmp::max(stats.max_job_exec_ns, used);
        if at > self.deadline {
            stats.max_lateness_ns = core::cmp::max(stats.max_lateness_ns, at - self.deadline);
            return self.count_miss(stats);
        }
        false
    }

    /// The job's deadline passed at `now` while the task was ready or
    /// running. Returns true if a miss was counted now.
    pub fn deadline_reached(&mut self, stats: &mut JobStats, now: u64) -> bool {
        if !self.is_active() || now < self.deadline {
            return false;
        }
        self.count_miss(stats)
    }

    /// On a wake-up at `now` of a task that has used `exec` ns of CPU: keeps
    /// the job if its deadline is still ahead and it has not used its
    /// runtime C (a task that blocks in the middle of a job keeps its
    /// deadline). Otherwise the job ended when the task last blocked, and a
    /// new one is released at `now`; with a passed deadline this is what
    /// SCHED_DEADLINE does. Returns true if a new job was released.
    ///
    /// A job that used its runtime is done: a task that did its work and
    /// sleeps until its next release must not carry its old deadline into
    /// the next period, which it would whenever it wakes a little earlier
    /// relative to its release than last time.
    pub fn wake_up(&mut self, stats: &mut JobStats, now: u64, exec: u64, p: &CasioParams) -> bool {
        let used = exec.saturating_sub(self.exec_at_release);
        if self.is_active() && now < self.deadline && used < p.runtime {
            return false;
        }
        let ended_at = if self.last_block != 0 {
            self.last_block
        } else {
            now
        };
        self.end(stats, ended_at, exec);
        self.release(stats, now, exec, p);
        true
    }

    /// Checks the running job against its runtime C once the task has
    /// used `exec` ns of CPU. Returns true, once per job, when the job has
    /// used up its runtime without ending: the caller then throttles the
    /// task or signals it, as its flags ask.
    pub fn runtime_exhausted(&mut self, stats: &mut JobStats, exec: u64, p: &CasioParams) -> bool {
        if !self.is_active() || self.overran != 0 {
            return false;
        }
        if exec.saturating_sub(self.exec_at_release) < p.runtime {
            return false;
        }
        self.overran = 1;
        stats.runtime_overruns = stats.runtime_overruns.wrapping_add(1);
        true
    }

    /// Release time of the job after this one: one period after this
    /// release, but not before `now`.
    pub fn next_release(&self, now: u64, p: &CasioParams) -> u64 {
        core::cmp::max(self.release.saturating_add(p.period), now)
    }

    fn count_miss(&mut self, stats: &mut JobStats) -> bool {
        if self.missed != 0 {
            return false;
        }
        self.missed = 1;
        stats.deadline_misses = stats.deadline_misses.wrapping_add(1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const P: CasioParams = CasioParams {
        runtime: 20 * MS,
        deadline: 100 * MS,
        period: 100 * MS,
    };

    #[test]
    fn release_sets_deadline_and_counts() {
        let (mut j, mut s) = (Job::default(), JobStats::default());
        assert!(!j.released());
        j.release(&mut s, 1000 * MS, 5 * MS, &P);
        assert!(j.released() && j.is_active());
        assert_eq!(j.deadline, 1100 * MS);
        assert_eq!(s.jobs_released, 1);
    }

    #[test]
    fn on_time_end_is_no_miss() {
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 5 * MS, &P);
        assert!(!j.end(&mut s, 1050 * MS, 25 * MS));
        assert_eq!(s.jobs_completed, 1);
        assert_eq!(s.deadline_misses, 0);
        assert_eq!(s.total_exec_ns, 20 * MS);
        assert_eq!(s.max_job_exec_ns, 20 * MS);
        assert_eq!(s.max_lateness_ns, 0);
        // Ending twice does nothing.
        assert!(!j.end(&mut s, 1060 * MS, 30 * MS));
        assert_eq!(s.jobs_completed, 1);
    }

    #[test]
    fn miss_counted_once_by_timer_then_end() {
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        assert!(!j.deadline_reached(&mut s, 1099 * MS), "not yet");
        assert!(j.deadline_reached(&mut s, 1100 * MS));
        assert!(!j.deadline_reached(&mut s, 1101 * MS), "counted once");
        assert!(!j.end(&mut s, 1130 * MS, 40 * MS), "already counted");
        assert_eq!(s.deadline_misses, 1);
        assert_eq!(s.max_lateness_ns, 30 * MS);
    }

    #[test]
    fn late_end_without_timer_counts_miss() {
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        assert!(j.end(&mut s, 1101 * MS, 1));
        assert_eq!(s.deadline_misses, 1);
        assert_eq!(s.max_lateness_ns, MS);
    }

    #[test]
    fn wake_up_keeps_or_renews() {
        let (mut j, mut s) = (Job::default(), JobStats::default());
        assert!(j.wake_up(&mut s, 1000 * MS, 0, &P), "first job");
        j.last_block = 1010 * MS;
        assert!(!j.wake_up(&mut s, 1050 * MS, 10 * MS, &P), "keeps the job");
        assert_eq!(j.deadline, 1100 * MS);
        j.last_block = 1060 * MS;
        assert!(j.wake_up(&mut s, 1200 * MS, 20 * MS, &P), "new job");
        assert_eq!(j.release, 1200 * MS);
        assert_eq!(j.deadline, 1300 * MS);
        assert_eq!(s.jobs_released, 2);
        assert_eq!(s.jobs_completed, 1);
        assert_eq!(s.deadline_misses, 0, "ended when it blocked, in time");
        assert_eq!(s.total_exec_ns, 20 * MS);
    }

    #[test]
    fn wake_up_after_deadline_starts_new_job_even_before_next_release() {
        const Q: CasioParams = CasioParams {
            runtime: 10 * MS,
            deadline: 50 * MS,
            period: 100 * MS,
        };
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &Q);
        j.last_block = 1020 * MS;
        assert!(
            !j.wake_up(&mut s, 1049 * MS, 5 * MS, &Q),
            "before the deadline"
        );
        assert_eq!(j.deadline, 1050 * MS);
        assert!(
            j.wake_up(&mut s, 1070 * MS, 5 * MS, &Q),
            "after the deadline"
        );
        assert_eq!(j.release, 1070 * MS);
        assert_eq!(j.deadline, 1120 * MS);
    }

    #[test]
    fn wake_up_at_the_deadline_starts_new_job() {
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        assert!(!j.wake_up(&mut s, 1100 * MS - 1, MS, &P), "1 ns before");
        assert!(j.wake_up(&mut s, 1100 * MS, MS, &P), "at the deadline");
        assert_eq!(j.release, 1100 * MS);
        assert_eq!(j.deadline, 1200 * MS);
    }

    #[test]
    fn wake_up_after_using_the_runtime_starts_new_job() {
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        j.last_block = 1020 * MS;
        assert!(!j.wake_up(&mut s, 1050 * MS, 19 * MS, &P), "C not used up");
        j.last_block = 1080 * MS;
        assert!(
            j.wake_up(&mut s, 1099 * MS, 20 * MS, &P),
            "C used: job done"
        );
        assert_eq!(j.release, 1099 * MS);
        assert_eq!(s.jobs_completed, 1);
        assert_eq!(s.deadline_misses, 0);
    }

    #[test]
    fn runtime_exhausted_once_per_job() {
        let (mut j, mut s) = (Job::default(), JobStats::default());
        assert!(!j.runtime_exhausted(&mut s, 100 * MS, &P), "no job yet");
        j.release(&mut s, 1000 * MS, 5 * MS, &P);
        assert!(!j.runtime_exhausted(&mut s, 24 * MS, &P), "19 ms < C");
        assert!(j.runtime_exhausted(&mut s, 25 * MS, &P), "20 ms = C");
        assert!(!j.runtime_exhausted(&mut s, 30 * MS, &P), "once per job");
        assert_eq!(s.runtime_overruns, 1);
        j.release(&mut s, 1100 * MS, 30 * MS, &P);
        assert!(!j.runtime_exhausted(&mut s, 49 * MS, &P));
        assert!(!j.end(&mut s, 1150 * MS, 49 * MS));
        assert!(!j.runtime_exhausted(&mut s, 60 * MS, &P), "ended job");
        assert_eq!(s.runtime_overruns, 1);
    }

    #[test]
    fn next_release_is_periodic_but_never_past() {
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        assert_eq!(j.next_release(1020 * MS, &P), 1100 * MS);
        assert_eq!(j.next_release(1150 * MS, &P), 1150 * MS);
    }

    #[test]
    fn saturates_near_max() {
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, u64::MAX - 1, 0, &P);
        assert_eq!(j.deadline, u64::MAX);
        assert_eq!(j.next_release(0, &P), u64::MAX);
    }
}
