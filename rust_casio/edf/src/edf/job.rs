// SPDX-License-Identifier: GPL-2.0

//! Job deadline arithmetic and scheduling decisions.
//!
//! All functions are pure and work on `u64` nanosecond timestamps with
//! saturating arithmetic: a result that would overflow is `u64::MAX`. They
//! never panic. The job life cycle (wake-up and yield rules) is
//! [`super::account::Job`].

use super::params::CasioParams;
use super::tree::EdfKey;

/// Absolute deadline of a job released at `release`.
///
/// `release + p.deadline`, saturating at `u64::MAX`.
pub fn job_deadline(release: u64, p: &CasioParams) -> u64 {
    release.saturating_add(p.deadline)
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
