// SPDX-License-Identifier: GPL-2.0

//! Validation of CASIO task parameters, following SCHED_DEADLINE's rules.

/// Relative parameters of a CASIO task in nanoseconds.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CasioParams {
    /// Worst-case execution time per job.
    pub runtime: u64,
    /// Relative deadline of each job, measured from its release.
    pub deadline: u64,
    /// Minimum distance between two job releases.
    pub period: u64,
}

/// Smallest accepted runtime (`1 << DL_SCALE` in SCHED_DEADLINE).
pub const CASIO_MIN_RUNTIME_NS: u64 = 1024;
/// Smallest accepted period: 100 us (SCHED_DEADLINE's default minimum).
pub const CASIO_MIN_PERIOD_NS: u64 = 100_000;
/// Largest accepted period: 2^22 us (SCHED_DEADLINE's default maximum).
pub const CASIO_MAX_PERIOD_NS: u64 = 4_194_304_000;

/// Bit that must be clear in deadlines and periods (reserved for wrap-around
/// and sign handling, as in SCHED_DEADLINE).
const TOP_BIT: u64 = 1 << 63;

/// Why a set of parameters was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamError {
    /// The relative deadline is zero.
    ZeroDeadline,
    /// The runtime is below [`CASIO_MIN_RUNTIME_NS`].
    RuntimeTooSmall,
    /// The runtime is larger than the relative deadline.
    RuntimeAboveDeadline,
    /// The relative deadline is larger than the (resolved) period.
    DeadlineAbovePeriod,
    /// The (resolved) period is outside
    /// [[`CASIO_MIN_PERIOD_NS`], [`CASIO_MAX_PERIOD_NS`]].
    PeriodOutOfRange,
    /// Bit 63 of the deadline or of the period is set.
    TopBitSet,
}

impl CasioParams {
    /// Validates what `sched_setattr` gave (`period == 0` means
    /// `period = deadline`) and returns the resolved parameters.
    ///
    /// The rules are those of SCHED_DEADLINE (`__checkparam_dl`) with the
    /// default period limits, checked in the same order, so the first
    /// failing rule decides the error:
    /// 1. `deadline != 0`, else [`ParamError::ZeroDeadline`];
    /// 2. `runtime >= CASIO_MIN_RUNTIME_NS`, else
    ///    [`ParamError::RuntimeTooSmall`];
    /// 3. bit 63 clear in `deadline` and in `period`, else
    ///    [`ParamError::TopBitSet`];
    /// 4. `deadline <= period` (after resolving a zero period), else
    ///    [`ParamError::DeadlineAbovePeriod`];
    /// 5. `runtime <= deadline`, else [`ParamError::RuntimeAboveDeadline`];
    /// 6. `CASIO_MIN_PERIOD_NS <= period <= CASIO_MAX_PERIOD_NS`, else
    ///    [`ParamError::PeriodOutOfRange`].
    pub fn from_attr(runtime: u64, deadline: u64, period: u64) -> Result<CasioParams, ParamError> {
        if deadline == 0 {
            return Err(ParamError::ZeroDeadline);
        }
        if runtime < CASIO_MIN_RUNTIME_NS {
            return Err(ParamError::RuntimeTooSmall);
        }
        if deadline & TOP_BIT != 0 || period & TOP_BIT != 0 {
            return Err(ParamError::TopBitSet);
        }
        let period = if period == 0 { deadline } else { period };
        if period < deadline {
            return Err(ParamError::DeadlineAbovePeriod);
        }
        if deadline < runtime {
            return Err(ParamError::RuntimeAboveDeadline);
        }
        if !(CASIO_MIN_PERIOD_NS..=CASIO_MAX_PERIOD_NS).contains(&period) {
            return Err(ParamError::PeriodOutOfRange);
        }
        Ok(CasioParams {
            runtime,
            deadline,
            period,
        })
    }

    /// Parameters from the `sched_setscheduler` block, which carries only a
    /// relative deadline: `runtime = period = deadline`, validated by
    /// [`CasioParams::from_attr`] (so `deadline` must lie in
    /// [[`CASIO_MIN_PERIOD_NS`], [`CASIO_MAX_PERIOD_NS`]]).
    pub fn from_deadline(deadline: u64) -> Result<CasioParams, ParamError> {
        Self::from_attr(deadline, deadline, deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParamError::*;

    const MIN_P: u64 = CASIO_MIN_PERIOD_NS;
    const MAX_P: u64 = CASIO_MAX_PERIOD_NS;
    const TOP: u64 = 1 << 63;

    type Row = ((u64, u64, u64), Result<CasioParams, ParamError>);

    fn ok(r: u64, d: u64, p: u64) -> Result<CasioParams, ParamError> {
        Ok(CasioParams {
            runtime: r,
            deadline: d,
            period: p,
        })
    }

    #[test]
    fn constants() {
        assert_eq!(CASIO_MIN_RUNTIME_NS, 1 << 10);
        assert_eq!(CASIO_MAX_PERIOD_NS, (1 << 22) * 1000);
        assert_eq!(CASIO_MIN_PERIOD_NS, 100 * 1000);
    }

    #[test]
    fn from_attr_table() {
        #[rustfmt::skip]
        let table: &[Row] = &[
            // Plain valid, period resolved from deadline.
            ((1_000_000, 5_000_000, 10_000_000), ok(1_000_000, 5_000_000, 10_000_000)),
            ((1_000_000, 5_000_000, 0), ok(1_000_000, 5_000_000, 5_000_000)),
            // ZeroDeadline, also wins over every other error.
            ((1_000_000, 0, 10_000_000), Err(ZeroDeadline)),
            ((0, 0, 0), Err(ZeroDeadline)),
            ((TOP, 0, TOP), Err(ZeroDeadline)),
            // Runtime boundary 1023/1024.
            ((1023, MIN_P, MIN_P), Err(RuntimeTooSmall)),
            ((1024, MIN_P, MIN_P), ok(1024, MIN_P, MIN_P)),
            ((0, MIN_P, MIN_P), Err(RuntimeTooSmall)),
            ((1023, TOP, 0), Err(RuntimeTooSmall)),
            // Top bit of deadline or period, reported before range errors.
            ((1024, TOP | MIN_P, 0), Err(TopBitSet)),
            ((1024, MIN_P, TOP | MIN_P), Err(TopBitSet)),
            ((1024, MIN_P, TOP), Err(TopBitSet)),
            ((1024, u64::MAX, u64::MAX), Err(TopBitSet)),
            ((1024, TOP - 1, TOP - 1), Err(PeriodOutOfRange)),
            // Huge runtime is not subject to the top-bit rule itself.
            ((u64::MAX, MIN_P, MIN_P), Err(RuntimeAboveDeadline)),
            // runtime <= deadline <= period.
            ((2_000, 1_999, MIN_P), Err(RuntimeAboveDeadline)),
            ((2_000, 2_000, MIN_P), ok(2_000, 2_000, MIN_P)),
            ((1024, MIN_P + 1, MIN_P), Err(DeadlineAbovePeriod)),
            ((1024, MIN_P, MIN_P), ok(1024, MIN_P, MIN_P)),
            ((MIN_P + 2, MIN_P + 1, MIN_P), Err(DeadlineAbovePeriod)),
            ((1024, MAX_P + 1, MAX_P), Err(DeadlineAbovePeriod)),
            // Period range 99_999/100_000 and MAX/MAX+1.
            ((1024, 50_000, 99_999), Err(PeriodOutOfRange)),
            ((1024, 50_000, 100_000), ok(1024, 50_000, 100_000)),
            ((1024, 99_999, 0), Err(PeriodOutOfRange)),
            ((1024, 100_000, 0), ok(1024, 100_000, 100_000)),
            ((1024, 1024, 0), Err(PeriodOutOfRange)),
            ((1024, 50_000, MAX_P), ok(1024, 50_000, MAX_P)),
            ((1024, 50_000, MAX_P + 1), Err(PeriodOutOfRange)),
            ((1024, MAX_P, 0), ok(1024, MAX_P, MAX_P)),
            ((1024, MAX_P + 1, 0), Err(PeriodOutOfRange)),
            ((MAX_P, MAX_P, MAX_P), ok(MAX_P, MAX_P, MAX_P)),
        ];
        for &((r, d, p), want) in table {
            assert_eq!(
                CasioParams::from_attr(r, d, p),
                want,
                "({}, {}, {})",
                r,
                d,
                p
            );
        }
        // Every error variant is covered by the table.
        for e in [
            ZeroDeadline,
            RuntimeTooSmall,
            RuntimeAboveDeadline,
            DeadlineAbovePeriod,
            PeriodOutOfRange,
            TopBitSet,
        ] {
            assert!(table.iter().any(|&(_, w)| w == Err(e)), "{:?}", e);
        }
    }

    #[test]
    fn from_deadline_table() {
        let table: &[(u64, Result<CasioParams, ParamError>)] = &[
            (0, Err(ZeroDeadline)),
            (1023, Err(RuntimeTooSmall)),
            (1024, Err(PeriodOutOfRange)),
            (MIN_P - 1, Err(PeriodOutOfRange)),
            (MIN_P, ok(MIN_P, MIN_P, MIN_P)),
            (10_000_000, ok(10_000_000, 10_000_000, 10_000_000)),
            (MAX_P, ok(MAX_P, MAX_P, MAX_P)),
            (MAX_P + 1, Err(PeriodOutOfRange)),
            (TOP, Err(TopBitSet)),
            (u64::MAX, Err(TopBitSet)),
        ];
        for &(d, want) in table {
            assert_eq!(CasioParams::from_deadline(d), want, "{}", d);
        }
    }

    #[test]
    fn accepted_params_satisfy_the_rules() {
        // Sweep around every boundary; whatever is accepted obeys the rules
        // and whatever obeys the rules is accepted.
        let vals = [
            0,
            1,
            1023,
            1024,
            1025,
            50_000,
            MIN_P - 1,
            MIN_P,
            MIN_P + 1,
            MAX_P - 1,
            MAX_P,
            MAX_P + 1,
            TOP - 1,
            TOP,
            u64::MAX,
        ];
        for &r in &vals {
            for &d in &vals {
                for &p in &vals {
                    let res = CasioParams::from_attr(r, d, p);
                    let pp = if p == 0 { d } else { p };
                    let valid = d != 0
                        && r >= 1024
                        && r <= d
                        && d <= pp
                        && d & TOP == 0
                        && p & TOP == 0
                        && (MIN_P..=MAX_P).contains(&pp);
                    assert_eq!(res.is_ok(), valid, "({}, {}, {}) -> {:?}", r, d, p, res);
                    if let Ok(c) = res {
                        assert_eq!(
                            c,
                            CasioParams {
                                runtime: r,
                                deadline: d,
                                period: pp
                            }
                        );
                    }
                }
            }
        }
    }
}
