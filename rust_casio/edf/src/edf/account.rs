// SPDX-License-Identifier: GPL-2.0

//! Job accounting: releases, completions, deadline misses, lateness and
//! execution time of a task's jobs.
//!
//! A job is released at some time `r` with absolute deadline `r + D`. It
//! ends when the task yields, or when the task, blocked, wakes up and may
//! not keep the job ([`Job::wake_up`]): the deadline has come, the runtime
//! C is used up, or the runtime left does not fit the task's bandwidth
//! until the deadline (the wake-up rule of the constant bandwidth server,
//! as SCHED_DEADLINE applies it). The job then ended when the task last
//! blocked, and a new one is released at the wake-up. A job misses its
//! deadline if it is still ready or running at that instant
//! ([`Job::deadline_reached`], driven by a timer), or if it ends after it
//! ([`Job::end`]); a miss is counted once.

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

    /// On a wake-up at `now` of a task that has used `exec` ns of CPU:
    /// keeps the job if what it may still run fits the task's bandwidth
    /// until its deadline, otherwise ends it and releases a new job at
    /// `now`, with deadline `now + D`. Returns true if a new job was
    /// released.
    ///
    /// This is the wake-up rule of the constant bandwidth server (Abeni
    /// and Buttazzo, "Integrating multimedia applications in hard
    /// real-time systems", RTSS 1998) as SCHED_DEADLINE applies it
    /// (`dl_entity_overflow()` in `kernel/sched/deadline.c`). With
    /// `used = exec - exec_at_release`, the job is kept if and only if
    ///
    /// ```text
    /// active && now < deadline && used < C
    ///        && (C - used) * D <= (deadline - now) * C
    /// ```
    ///
    /// that is, if the runtime left over the time left, `(C - used) /
    /// (deadline - now)`, is at most the density C/D (which is C/T when
    /// D = T, and the period plays no part). The products are compared
    /// exactly, in `u64`, and cannot overflow for accepted parameters
    /// (`C <= D < 2^32`).
    ///
    /// A task that wakes late in its job with much of its runtime left
    /// would, with its old deadline, demand more than its bandwidth until
    /// then and delay tasks with earlier real deadlines; it gets a fresh
    /// job and deadline instead. A task that blocks briefly after running
    /// keeps its job: from a release at `r` it may wake as late as
    /// `r + used * D / C`. A job that used its runtime C is done, though
    /// no runtime left trivially fits (SCHED_DEADLINE would keep that
    /// deadline, throttled): a task that did its work and sleeps until its
    /// next release must not carry its old deadline into the next period.
    ///
    /// For constrained deadlines (D < T) SCHED_DEADLINE does not start a
    /// new period while the deadline is ahead but applies the revised
    /// wake-up rule (`update_dl_revised_wakeup()`): it keeps the deadline
    /// and cuts the runtime to `(deadline - now) * C / D`. CASIO has no
    /// per-job runtime to cut (C is counted from `exec_at_release`, and
    /// its enforcement is optional), so it releases a new job there too:
    /// the same rule for every D <= T.
    ///
    /// The old job ends, once, when the task last blocked (at `now` if it
    /// never did), so it is a miss only if that was after its deadline.
    pub fn wake_up(&mut self, stats: &mut JobStats, now: u64, exec: u64, p: &CasioParams) -> bool {
        if self.keeps_on_wake_up(now, exec, p) {
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

    /// The CBS wake-up test of [`Job::wake_up`]: whether the job may keep
    /// its deadline on a wake-up at `now` with `exec` ns of CPU used.
    fn keeps_on_wake_up(&self, now: u64, exec: u64, p: &CasioParams) -> bool {
        let used = exec.saturating_sub(self.exec_at_release);
        if !self.is_active() || now >= self.deadline || used >= p.runtime {
            return false;
        }
        // Both differences are positive: used < C and now < deadline.
        runtime_fits(
            p.runtime.saturating_sub(used),
            self.deadline.saturating_sub(now),
            p,
        )
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

/// Whether `left` ns of runtime, `0 < left <= C`, fit in the `laxity` ns
/// left until the deadline at the task's density C/D:
/// `left * D <= laxity * C`, compared exactly.
///
/// Once `laxity >= D` they fit, since then `left * D <= C * D <= laxity *
/// C`. Below that, `left <= C` and `laxity < D`, so both products are at
/// most `C * D`, and accepted parameters ([`CasioParams::from_attr`]) have
/// `C <= D <= CASIO_MAX_PERIOD_NS < 2^32`: no product reaches 2^64. There
/// is thus no need for 128-bit arithmetic (whose helpers the kernel's
/// Rust support stubs out with panics) nor for SCHED_DEADLINE's
/// `DL_SCALE` shifts, which round to about 1 us. Parameters that could
/// overflow are never accepted; for them the runtime does not fit.
fn runtime_fits(left: u64, laxity: u64, p: &CasioParams) -> bool {
    if laxity >= p.deadline {
        return true;
    }
    match (left.checked_mul(p.deadline), laxity.checked_mul(p.runtime)) {
        (Some(need), Some(have)) => need <= have,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

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
        // 5 ms left in 25 ms: exactly the density C/D = 1/5.
        assert!(
            !j.wake_up(&mut s, 1025 * MS, 5 * MS, &Q),
            "before the deadline, runtime left fits"
        );
        assert_eq!(j.deadline, 1050 * MS);
        j.last_block = 1030 * MS;
        assert!(
            j.wake_up(&mut s, 1070 * MS, 5 * MS, &Q),
            "after the deadline"
        );
        assert_eq!(j.release, 1070 * MS);
        assert_eq!(j.deadline, 1120 * MS);
        assert_eq!((s.jobs_completed, s.deadline_misses), (1, 0));
    }

    #[test]
    fn wake_up_at_the_deadline_starts_new_job() {
        // C = D: 1 ns of runtime left fits in the last 1 ns.
        const F: CasioParams = CasioParams {
            runtime: 100 * MS,
            deadline: 100 * MS,
            period: 100 * MS,
        };
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &F);
        let used = F.runtime - 1;
        assert!(!j.wake_up(&mut s, 1100 * MS - 1, used, &F), "1 ns before");
        assert!(j.wake_up(&mut s, 1100 * MS, used, &F), "at the deadline");
        assert_eq!(j.release, 1100 * MS);
        assert_eq!(j.deadline, 1200 * MS);
        // With C < D, 1 ns before the deadline no runtime left fits.
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        assert!(j.wake_up(&mut s, 1100 * MS - 1, P.runtime - 1, &P));
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
        // Overran C (no budget enforcement): done too, even early.
        j.last_block = 1100 * MS;
        assert!(j.wake_up(&mut s, 1101 * MS, 45 * MS, &P), "C overrun");
        assert_eq!(j.release, 1101 * MS);
        assert_eq!((s.jobs_completed, s.max_job_exec_ns), (2, 25 * MS));
    }

    /// The CBS inequality `(C - used) * D <= (deadline - now) * C` at its
    /// boundary: from a release at r, a job that used u ns fits until
    /// `r + u * D / C` and not one ns later.
    #[test]
    fn cbs_exactly_fits_keeps_and_one_ns_over_renews() {
        let (mut j0, mut s0) = (Job::default(), JobStats::default());
        // exec_at_release != 0: `used` is counted from the release.
        j0.release(&mut s0, 1000 * MS, 5 * MS, &P);
        j0.last_block = 1010 * MS;
        let exec = 15 * MS; // used 10 ms: fits until 1000 + 10 * 100 / 20
        let wake = |now: u64, exec: u64| {
            let (mut j, mut s) = (j0, s0);
            let renewed = j.wake_up(&mut s, now, exec, &P);
            if renewed {
                assert_eq!((j.release, j.deadline), (now, now + P.deadline));
            } else {
                assert_eq!((j, s), (j0, s0), "kept unchanged");
            }
            renewed
        };
        assert!(!wake(1050 * MS, exec), "exactly fits");
        assert!(wake(1050 * MS + 1, exec), "1 ns late");
        assert!(wake(1050 * MS, exec - 1), "1 ns more runtime left");
        assert!(!wake(1050 * MS + 1, exec + 1), "both 1 ns further");
        assert!(!wake(1000 * MS, 5 * MS), "at the release, nothing used");
        assert!(wake(1000 * MS + 1, 5 * MS), "1 ns later, nothing used");
        assert!(!wake(900 * MS, 5 * MS), "clock before the release");
    }

    #[test]
    fn brief_block_early_in_the_job_keeps_it() {
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        // Runs 5 ms from its release, blocks 5 ms on I/O.
        j.last_block = 1005 * MS;
        assert!(!j.wake_up(&mut s, 1010 * MS, 5 * MS, &P));
        // Runs 2 ms more, blocks 8 ms: 20 ms <= 7 ms * D / C = 35 ms.
        j.last_block = 1012 * MS;
        assert!(!j.wake_up(&mut s, 1020 * MS, 7 * MS, &P));
        assert_eq!((j.release, j.deadline), (1000 * MS, 1100 * MS));
        assert_eq!((s.jobs_released, s.jobs_completed), (1, 0));
        // Runs to its end in time: one job.
        assert!(!j.end(&mut s, 1033 * MS, 20 * MS));
        assert_eq!(
            (s.jobs_released, s.jobs_completed, s.deadline_misses),
            (1, 1, 0)
        );
    }

    /// D < T compares the density C/D, not C/T (as `dl_entity_overflow`);
    /// on overflow the new job's deadline is now + D.
    #[test]
    fn constrained_deadline_uses_the_density() {
        let con = CasioParams::from_attr(10 * MS, 50 * MS, 100 * MS).unwrap();
        let imp = CasioParams::from_attr(10 * MS, 100 * MS, 100 * MS).unwrap();
        let wake = |p: &CasioParams, now: u64, used: u64| {
            let (mut j, mut s) = (Job::default(), JobStats::default());
            j.release(&mut s, 1000 * MS, 0, p);
            j.last_block = 1000 * MS + used;
            let renewed = j.wake_up(&mut s, now, used, p);
            assert_eq!(s.jobs_released, 1 + renewed as u64);
            (renewed, j.release, j.deadline)
        };
        // 5 ms left in 25 ms: fits C/D = 1/5, would not fit C/T = 1/10.
        assert_eq!(wake(&con, 1025 * MS, 5 * MS), (false, 1000 * MS, 1050 * MS));
        let late = 1025 * MS + 1;
        assert_eq!(wake(&con, late, 5 * MS), (true, late, late + 50 * MS));
        // D = T: 5 ms left in 50 ms is exactly C/T = C/D = 1/10.
        assert_eq!(wake(&imp, 1050 * MS, 5 * MS), (false, 1000 * MS, 1100 * MS));
        let late = 1050 * MS + 1;
        assert_eq!(wake(&imp, late, 5 * MS), (true, late, late + 100 * MS));
    }

    /// `sched_setattr` with period 0 means T = D, and the rule uses C and
    /// D only: the same decisions as with T = D given explicitly.
    #[test]
    fn period_zero_is_t_equals_d() {
        let zero = CasioParams::from_attr(30 * MS, 120 * MS, 0).unwrap();
        let same = CasioParams::from_attr(30 * MS, 120 * MS, 120 * MS).unwrap();
        let longer = CasioParams::from_attr(30 * MS, 120 * MS, 480 * MS).unwrap();
        assert_eq!(zero, same);
        for used in (0..=32).map(|k| k * MS) {
            for now in (990..=1130).map(|k| k * MS) {
                let go = |p: &CasioParams| {
                    let (mut j, mut s) = (Job::default(), JobStats::default());
                    j.release(&mut s, 1000 * MS, 0, p);
                    (j.wake_up(&mut s, now, used, p), j, s)
                };
                let (r, j, s) = go(&zero);
                assert_eq!((r, j, s), go(&same));
                assert_eq!(r, go(&longer).0, "T plays no part");
                let e = now.saturating_sub(1000 * MS);
                let fits = used < 30 * MS && now < 1120 * MS && e * 30 <= used * 120;
                assert_eq!(r, !fits, "used {} now {}", used, now);
            }
        }
    }

    /// A wake-up that releases a new job ends the old one exactly once,
    /// at the last block, and counts a miss only if that was late.
    #[test]
    fn renewal_ends_the_old_job_once() {
        // Runtime left does not fit, deadline ahead: on time.
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        j.last_block = 1001 * MS;
        assert!(j.wake_up(&mut s, 1040 * MS, MS, &P));
        assert_eq!(
            (s.jobs_released, s.jobs_completed, s.deadline_misses),
            (2, 1, 0)
        );
        assert_eq!((s.total_exec_ns, s.max_lateness_ns), (MS, 0));
        // The new job fits at once: a second wake-up keeps it.
        assert!(!j.wake_up(&mut s, 1040 * MS, MS, &P));
        assert_eq!((s.jobs_released, s.jobs_completed), (2, 1));

        // Blocked 10 ms after its deadline: a miss, when it blocked.
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        j.last_block = 1110 * MS;
        assert!(j.wake_up(&mut s, 1300 * MS, 5 * MS, &P));
        assert_eq!((s.jobs_completed, s.deadline_misses), (1, 1));
        assert_eq!(s.max_lateness_ns, 10 * MS);

        // Blocked exactly at its deadline: not late.
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        j.last_block = 1100 * MS;
        assert!(j.wake_up(&mut s, 1300 * MS, 5 * MS, &P));
        assert_eq!((s.jobs_completed, s.deadline_misses), (1, 0));

        // Miss already counted by the deadline timer: not twice.
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        assert!(j.deadline_reached(&mut s, 1100 * MS));
        j.last_block = 1120 * MS;
        assert!(j.wake_up(&mut s, 1200 * MS, 25 * MS, &P));
        assert_eq!((s.jobs_completed, s.deadline_misses), (1, 1));
        assert_eq!(s.max_lateness_ns, 20 * MS);

        // Never blocked: ends at the wake-up.
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        assert!(j.wake_up(&mut s, 1150 * MS, 5 * MS, &P));
        assert_eq!((s.jobs_completed, s.deadline_misses), (1, 1));
        assert_eq!(s.max_lateness_ns, 50 * MS);

        // An ended job (after a yield) is not ended again.
        let (mut j, mut s) = (Job::default(), JobStats::default());
        j.release(&mut s, 1000 * MS, 0, &P);
        assert!(!j.end(&mut s, 1010 * MS, 10 * MS));
        assert!(j.wake_up(&mut s, 1020 * MS, 10 * MS, &P));
        assert_eq!((s.jobs_released, s.jobs_completed), (2, 1));
    }

    /// The CBS rule, stated plainly in 128-bit arithmetic.
    fn reference_keeps(j: &Job, now: u64, exec: u64, p: &CasioParams) -> bool {
        let used = exec.saturating_sub(j.exec_at_release);
        j.active == 1
            && now < j.deadline
            && used < p.runtime
            && u128::from(p.runtime - used) * u128::from(p.deadline)
                <= u128::from(j.deadline - now) * u128::from(p.runtime)
    }

    /// Xorshift64 (Marsaglia 2003).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// Uniform enough in `lo..=hi`.
        fn range(&mut self, lo: u64, hi: u64) -> u64 {
            match (hi - lo).checked_add(1) {
                Some(n) => lo + self.next() % n,
                None => self.next(),
            }
        }

        fn one_in(&mut self, n: u64) -> bool {
            self.next() % n == 0
        }
    }

    /// Checks one wake-up against the reference: the decision, the job
    /// and the statistics after it.
    fn check_wake_up(j0: Job, s0: JobStats, now: u64, exec: u64, p: &CasioParams) -> bool {
        let keep = reference_keeps(&j0, now, exec, p);
        let (mut j, mut s) = (j0, s0);
        let renewed = j.wake_up(&mut s, now, exec, p);
        let ctx = || format!("{:?} {:?} now {} exec {}", j0, p, now, exec);
        assert_eq!(renewed, !keep, "{}", ctx());
        if keep {
            assert_eq!((j, s), (j0, s0), "{}", ctx());
            return true;
        }
        let ended = j0.active == 1;
        let at = if j0.last_block != 0 {
            j0.last_block
        } else {
            now
        };
        let miss = ended && at > j0.deadline && j0.missed == 0;
        let used = exec.saturating_sub(j0.exec_at_release);
        let mut want = s0;
        want.jobs_released += 1;
        if ended {
            want.jobs_completed += 1;
            want.total_exec_ns += used;
            want.max_job_exec_ns = want.max_job_exec_ns.max(used);
            if at > j0.deadline {
                want.max_lateness_ns = want.max_lateness_ns.max(at - j0.deadline);
            }
            want.deadline_misses += miss as u64;
        }
        assert_eq!(s, want, "{}", ctx());
        let deadline = now.saturating_add(p.deadline).max(1);
        let new = Job {
            release: now,
            deadline,
            exec_at_release: exec,
            last_block: 0,
            active: 1,
            missed: 0,
            overran: 0,
        };
        assert_eq!(j, new, "{}", ctx());
        false
    }

    /// 100,000 random wake-ups with accepted parameters, half of them at
    /// the boundary of the inequality, against [`reference_keeps`].
    #[test]
    fn wake_up_matches_the_reference_cbs_rule() {
        use super::super::params::{CASIO_MAX_PERIOD_NS as MAX_P, CASIO_MIN_PERIOD_NS as MIN_P};
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut kept, mut renewed, mut exact) = (0, 0, 0);
        for _ in 0..100_000 {
            let t = match rng.next() % 8 {
                0 => MIN_P,
                1 => MAX_P,
                _ => rng.range(MIN_P, MAX_P),
            };
            let d = if rng.one_in(3) { t } else { rng.range(1024, t) };
            let c = match rng.next() % 8 {
                0 => d,
                1 => 1024,
                _ => rng.range(1024, d),
            };
            let attr_t = if d == t && rng.one_in(2) { 0 } else { t };
            let p = CasioParams::from_attr(c, d, attr_t).unwrap();
            let r = if rng.one_in(64) {
                u64::MAX - rng.range(0, 2 * d)
            } else {
                rng.range(1, 1 << 62)
            };
            let x0 = rng.range(0, 1 << 62);
            let (mut j, mut s) = (Job::default(), JobStats::default());
            j.release(&mut s, r, x0, &p);
            s.jobs_completed = rng.range(0, 1000);
            s.max_lateness_ns = rng.range(0, 3 * MS);
            if rng.one_in(2) {
                j.last_block = r.saturating_add(rng.range(0, 2 * d));
            }
            if rng.one_in(8) {
                j.missed = 1;
                s.deadline_misses = 1;
            }
            if rng.one_in(16) {
                j.active = 0;
            }
            let used = match rng.next() % 8 {
                0 => 0,
                1 => c,
                2 => c + rng.range(0, c),
                3 => c - 1,
                _ => rng.range(0, c - 1),
            };
            let exec = if rng.one_in(32) {
                x0 - rng.range(0, x0)
            } else {
                x0 + used
            };
            let now = match rng.next() % 8 {
                0..=3 => {
                    // Last instant the job fits: r + floor(used * D / C).
                    let e = u128::from(used) * u128::from(d) / u128::from(c);
                    let e = u64::try_from(e).unwrap_or(u64::MAX);
                    let base = r.saturating_add(e);
                    match rng.next() % 3 {
                        0 => base - 1,
                        1 => base,
                        _ => base.saturating_add(1),
                    }
                }
                4 => (j.deadline - 1).saturating_add(rng.range(0, 2)),
                5 => r.saturating_sub(rng.range(0, d)),
                _ => r.saturating_add(rng.range(0, 2 * d)),
            };
            if reference_keeps(&j, now, exec, &p)
                && u128::from(c - exec.saturating_sub(x0)) * u128::from(d)
                    == u128::from(j.deadline - now) * u128::from(c)
            {
                exact += 1;
            }
            if check_wake_up(j, s, now, exec, &p) {
                kept += 1;
            } else {
                renewed += 1;
            }
        }
        assert!(kept > 20_000 && renewed > 20_000, "{} {}", kept, renewed);
        // C * D of accepted parameters fits in u64, so `runtime_fits` is
        // exact for them.
        assert!(MAX_P.checked_mul(MAX_P).is_some());
        assert!(exact > 1_000, "exactly fitting cases: {}", exact);
    }

    /// Any parameters, accepted or not: no panic or overflow (tests run
    /// with overflow checks), the job is kept only if it fits, and the
    /// decision is exact whenever C * D fits in 64 bits.
    #[test]
    fn wake_up_with_any_parameters() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let any = |rng: &mut Rng| {
            let v = rng.next();
            v >> (rng.next() % 64)
        };
        for _ in 0..100_000 {
            let p = CasioParams {
                runtime: any(&mut rng),
                deadline: any(&mut rng),
                period: any(&mut rng),
            };
            let (mut j, mut s) = (Job::default(), JobStats::default());
            j.release(&mut s, any(&mut rng), any(&mut rng), &p);
            j.last_block = any(&mut rng);
            let (now, exec) = (any(&mut rng), any(&mut rng));
            let keep = reference_keeps(&j, now, exec, &p);
            if p.runtime.checked_mul(p.deadline).is_some() {
                check_wake_up(j, s, now, exec, &p);
            } else if !{ j }.wake_up(&mut s, now, exec, &p) {
                assert!(keep, "{:?} {:?} now {} exec {}", j, p, now, exec);
            }
        }
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
