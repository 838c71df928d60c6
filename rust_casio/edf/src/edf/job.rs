// SPDX-License-Identifier: GPL-2.0

//! Job deadline arithmetic and scheduling decisions.
//!
//! All functions are pure and work on `u64` nanosecond timestamps with
//! saturating arithmetic: a result that would overflow is `u64::MAX`, one
//! that would underflow is `0`. They never panic.

use super::params::CasioParams;
use super::tree::EdfKey;

/// Absolute deadline of a job released at `release`.
///
/// `release + p.deadline`, saturating at `u64::MAX`.
pub fn job_deadline(release: u64, p: &CasioParams) -> u64 {
    release.saturating_add(p.deadline)
}

/// On wake-up at `now` of a task whose current job has absolute deadline
/// `abs_deadline`: keep the job if `now < abs_deadline`, otherwise start a new
/// job released at `now`. Returns the (possibly new) absolute deadline.
pub fn deadline_on_wakeup(now: u64, abs_deadline: u64, p: &CasioParams) -> u64 {
    if now < abs_deadline {
        abs_deadline
    } else {
        job_deadline(now, p)
    }
}

/// `sched_yield` ends the current job. The next job is released one period
/// after the current one (whose release is `abs_deadline - p.deadline`), but
/// never before `now`. Returns the next job's absolute deadline, i.e.
/// `max(abs_deadline - deadline + period, now) + deadline`, saturating.
pub fn deadline_after_yield(now: u64, abs_deadline: u64, p: &CasioParams) -> u64 {
    let release = abs_deadline.saturating_sub(p.deadline);
    let next_release = core::cmp::max(release.saturating_add(p.period), now);
    job_deadline(next_release, p)
}

/// Should a newly ready task with key `new` preempt the running CASIO task
/// with key `curr`? Only if `new` is strictly earlier (equal keys: no).
pub fn should_preempt(curr: EdfKey, new: EdfKey) -> bool {
    new < curr
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: CasioParams = CasioParams {
        runtime: 2_000_000,
        deadline: 5_000_000,
        period: 10_000_000,
    };
    const MAX: u64 = u64::MAX;

    #[test]
    fn job_deadline_adds_and_saturates() {
        assert_eq!(job_deadline(0, &P), 5_000_000);
        assert_eq!(job_deadline(1_000, &P), 5_001_000);
        assert_eq!(job_deadline(MAX - 5_000_000, &P), MAX);
        assert_eq!(job_deadline(MAX - 4_999_999, &P), MAX);
        assert_eq!(job_deadline(MAX - 5_000_001, &P), MAX - 1);
        assert_eq!(job_deadline(MAX, &P), MAX);
    }

    #[test]
    fn wakeup_keeps_or_renews_job() {
        // Still before the deadline: same job.
        assert_eq!(deadline_on_wakeup(100, 5_000_000, &P), 5_000_000);
        assert_eq!(deadline_on_wakeup(4_999_999, 5_000_000, &P), 5_000_000);
        // At or after the deadline: new job released now.
        assert_eq!(deadline_on_wakeup(5_000_000, 5_000_000, &P), 10_000_000);
        assert_eq!(deadline_on_wakeup(7_000_000, 5_000_000, &P), 12_000_000);
        // Fresh task (abs_deadline 0) always gets a new job.
        assert_eq!(deadline_on_wakeup(0, 0, &P), 5_000_000);
        assert_eq!(deadline_on_wakeup(123, 0, &P), 5_000_123);
        // Saturation.
        assert_eq!(deadline_on_wakeup(MAX - 1, MAX - 1, &P), MAX);
        assert_eq!(deadline_on_wakeup(MAX - 1, MAX, &P), MAX);
        assert_eq!(deadline_on_wakeup(MAX, MAX, &P), MAX);
    }

    #[test]
    fn yield_moves_to_next_period() {
        // Job released at 0 (deadline 5ms), yield at 3ms: next release at
        // 10ms, deadline 15ms.
        assert_eq!(deadline_after_yield(3_000_000, 5_000_000, &P), 15_000_000);
        // Yield exactly at the next release.
        assert_eq!(deadline_after_yield(10_000_000, 5_000_000, &P), 15_000_000);
        // Late: the next release would be in the past, so it is now.
        assert_eq!(deadline_after_yield(12_000_000, 5_000_000, &P), 17_000_000);
        // Implicit-deadline task: deadline == period.
        let q = CasioParams {
            runtime: 1_000,
            deadline: 1_000_000,
            period: 1_000_000,
        };
        assert_eq!(deadline_after_yield(500_000, 1_000_000, &q), 2_000_000);
        // Saturation near u64::MAX.
        assert_eq!(deadline_after_yield(0, MAX, &P), MAX);
        assert_eq!(deadline_after_yield(MAX, 0, &P), MAX);
        assert_eq!(
            deadline_after_yield(MAX - 6_000_000, MAX - 6_000_000, &P),
            MAX
        );
        assert_eq!(
            deadline_after_yield(0, MAX - 20_000_000, &P),
            MAX - 10_000_000
        );
        // Underflow of the release saturates at 0.
        assert_eq!(deadline_after_yield(0, 1_000, &P), 15_000_000);
        assert_eq!(deadline_after_yield(0, 0, &P), 15_000_000);
    }

    #[test]
    fn preempt_only_if_strictly_earlier() {
        let k = EdfKey::new;
        assert!(should_preempt(k(10, 5), k(9, 100)));
        assert!(should_preempt(k(10, 5), k(10, 4)));
        assert!(!should_preempt(k(10, 5), k(10, 5)));
        assert!(!should_preempt(k(10, 5), k(10, 6)));
        assert!(!should_preempt(k(10, 5), k(11, 0)));
        assert!(!should_preempt(k(0, 0), k(0, 0)));
        assert!(!should_preempt(k(MAX, MAX), k(MAX, MAX)));
        assert!(should_preempt(k(MAX, MAX), k(MAX, MAX - 1)));
    }
}
