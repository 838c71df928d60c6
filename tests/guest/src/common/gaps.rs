//! Gaps in a spinning task's clock reads: the times it was off the CPU.

use casio_abi::monotonic_ns;

use crate::common::shared::{shm_record, Slot};

/// How many gaps a [`GapLog`] keeps.
pub const GAP_CAP: usize = 4096;

shm_record! {
    /// The gaps longer than a threshold between consecutive clock reads
    /// of a spinning task, in shared memory.
    pub struct GapLog {
        /// Gaps stored in `gaps`.
        count: Slot,
        /// The largest gap: length and start.
        max_gap: Slot,
        max_at: Slot,
        /// When the spin started and ended.
        start: Slot,
        end: Slot,
        /// (start, end) of each gap.
        gaps: [[Slot; 2]; GAP_CAP],
    }
}

impl GapLog {
    /// Spin (reading CLOCK_MONOTONIC) until `until_ns` or until `stop`
    /// becomes non-zero, recording every gap longer than `min_gap_ns`
    /// between consecutive readings.
    pub fn spin(&self, until_ns: u64, stop: Option<&Slot>, min_gap_ns: u64) {
        let start = monotonic_ns();
        self.start.set(start);
        let mut last = start;
        let mut n = 0usize;
        let mut max_gap = 0;
        let mut iter = 0u32;
        loop {
            let now = monotonic_ns();
            let gap = now.saturating_sub(last);
            if gap > min_gap_ns {
                if n < GAP_CAP {
                    self.gaps[n][0].set(last);
                    self.gaps[n][1].set(now);
                    n += 1;
                    self.count.set(n as u64);
                }
                if gap > max_gap {
                    max_gap = gap;
                    self.max_gap.set(gap);
                    self.max_at.set(last);
                }
            }
            last = now;
            if now >= until_ns {
                break;
            }
            iter = iter.wrapping_add(1);
            if let Some(s) = stop {
                if iter.is_multiple_of(64) && s.get() != 0 {
                    break;
                }
            }
        }
        self.end.set(last);
    }

    /// The recorded gaps as (start, end) pairs.
    pub fn gaps(&self) -> Vec<(u64, u64)> {
        let n = (self.count.get() as usize).min(GAP_CAP);
        self.gaps[..n]
            .iter()
            .map(|[s, e]| (s.get(), e.get()))
            .collect()
    }

    /// Largest gap (length, start).
    pub fn max_gap(&self) -> (u64, u64) {
        (self.max_gap.get(), self.max_at.get())
    }

    /// Spin start and end.
    pub fn span(&self) -> (u64, u64) {
        (self.start.get(), self.end.get())
    }
}

/// The gap (start, end) with length >= `min_len` that contains time `t`
/// (start <= t <= end), if any.
pub fn gap_covering(gaps: &[(u64, u64)], t: u64, min_len: u64) -> Option<(u64, u64)> {
    gaps.iter()
        .copied()
        .find(|&(s, e)| e.saturating_sub(s) >= min_len && s <= t && t <= e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::shared::Shared;

    #[test]
    fn gap_cover() {
        let g = [(10, 20), (100, 160), (200, 205)];
        assert_eq!(gap_covering(&g, 150, 40), Some((100, 160)));
        assert_eq!(gap_covering(&g, 160, 40), Some((100, 160)));
        assert_eq!(gap_covering(&g, 15, 40), None);
        assert_eq!(gap_covering(&g, 15, 5), Some((10, 20)));
        assert_eq!(gap_covering(&g, 170, 1), None);
    }

    #[test]
    fn gaplog_spin() {
        let g = Shared::<GapLog>::one().unwrap();
        let g = g.rec();
        let now = monotonic_ns();
        g.spin(now + 5_000_000, None, 1_000_000_000);
        let (s, e) = g.span();
        assert!(s >= now && e >= now + 5_000_000);
        assert!(g.gaps().is_empty());
    }
}
