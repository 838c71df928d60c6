// SPDX-License-Identifier: GPL-2.0

//! Admission control: the bandwidth of CASIO tasks against the cap.
//!
//! A task with runtime C per period T reserves the share C/T of a CPU,
//! in units of [`BW_UNIT`] (one full CPU), as SCHED_DEADLINE counts it.
//! Global EDF needs the sum of all shares to fit the cap of every online
//! CPU together. A task allowed on one CPU only can use no other, so the
//! shares pinned to a CPU must also fit that CPU's cap. [`Ledger`] keeps
//! both sums and decides every change; the caller keeps it under a lock
//! and records in each task the [`Share`] it was admitted with, so that
//! what is added is exactly what is later removed.

/// Fixed-point shift of a bandwidth, as the kernel's `BW_SHIFT`.
pub const BW_SHIFT: u32 = 20;
/// A bandwidth of one full CPU.
pub const BW_UNIT: u64 = 1 << BW_SHIFT;

/// `runtime / period` in units of [`BW_UNIT`], as the kernel's
/// `to_ratio()`; 0 for a zero period. The runtime is at most the period
/// for every valid CASIO task and cap; a larger one saturates.
pub fn ratio(period: u64, runtime: u64) -> u64 {
    if period == 0 {
        return 0;
    }
    match runtime.checked_shl(BW_SHIFT) {
        Some(scaled) if scaled >> BW_SHIFT == runtime => scaled / period,
        _ => u64::MAX,
    }
}

/// The cap of each CPU: `runtime` of every `period` (in any one unit),
/// or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cap {
    /// A CPU's cap in units of [`BW_UNIT`]; `None` when there is no cap.
    per_cpu: Option<u64>,
}

impl Cap {
    /// The cap `runtime` per `period`; a negative runtime means none, as
    /// for `sched_rt_runtime_us`.
    pub fn new(runtime: i64, period: u64) -> Self {
        Cap {
            per_cpu: u64::try_from(runtime).ok().map(|rt| ratio(period, rt)),
        }
    }

    /// A CPU's cap, `None` if there is none.
    pub fn per_cpu(&self) -> Option<u64> {
        self.per_cpu
    }

    /// The cap of `cpus` CPUs together, `None` if there is none.
    pub fn total(&self, cpus: u32) -> Option<u64> {
        self.per_cpu.map(|c| c.saturating_mul(u64::from(cpus)))
    }
}

/// What a task reserves: its share and the CPU it is pinned to, if any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Share {
    /// C/T in units of [`BW_UNIT`]; 0 for none.
    pub bw: u64,
    /// The only CPU the task may run on, whose pinned sum holds `bw`.
    pub cpu: Option<u32>,
}

impl Share {
    /// The share `bw`, pinned to `cpu` if any; no CPU holds a zero share.
    pub fn new(bw: u64, cpu: Option<u32>) -> Self {
        Share {
            bw,
            cpu: if bw == 0 { None } else { cpu },
        }
    }
}

/// Why a change was refused: the bandwidth would not fit (`-EBUSY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

/// The sums that admission control keeps: of all shares, and of the
/// shares pinned to each CPU, in storage the caller provides.
///
/// # Invariants
///
/// `total` is the sum of the shares applied and not yet removed, and
/// `pinned[c]` that of those pinned to CPU `c`, as long as every change
/// goes through [`Ledger::apply`] or [`Ledger::change`].
pub struct Ledger<'a> {
    total: &'a mut u64,
    pinned: &'a mut [u64],
}

impl<'a> Ledger<'a> {
    /// The ledger kept in `total` and `pinned` (one entry per possible
    /// CPU). A CPU beyond `pinned` holds nothing and fits nothing.
    pub fn new(total: &'a mut u64, pinned: &'a mut [u64]) -> Self {
        Ledger { total, pinned }
    }

    /// The sum of all admitted shares.
    pub fn total(&self) -> u64 {
        *self.total
    }

    /// The sum of the shares pinned to `cpu`.
    pub fn pinned(&self, cpu: u32) -> u64 {
        self.pinned.get(cpu as usize).copied().unwrap_or(0)
    }

    /// Whether a task holding `old` may hold `new` instead, with `cpus`
    /// CPUs online: neither the sum nor the pinned sum of `new`'s CPU may
    /// grow past its cap. A change that does not grow them always fits.
    pub fn fits(&self, old: Share, new: Share, cap: Cap, cpus: u32) -> bool {
        if new.bw > old.bw {
            if let Some(limit) = cap.total(cpus) {
                if self.total().saturating_sub(old.bw).saturating_add(new.bw) > limit {
                    return false;
                }
            }
        }
        let cpu = match new.cpu {
            Some(cpu) if new.cpu != old.cpu || new.bw > old.bw => cpu,
            _ => return true,
        };
        if cpu as usize >= self.pinned.len() {
            return false;
        }
        let mut pinned = self.pinned(cpu).saturating_add(new.bw);
        if old.cpu == Some(cpu) {
            pinned = pinned.saturating_sub(old.bw);
        }
        !matches!(cap.per_cpu(), Some(limit) if pinned > limit)
    }

    /// Replaces `old` by `new` in the sums, whatever it costs: for the
    /// changes the kernel makes itself (a CPU going offline, a task
    /// dying), which cannot be refused.
    pub fn apply(&mut self, old: Share, new: Share) {
        *self.total = self.total().wrapping_sub(old.bw).wrapping_add(new.bw);
        if let Some(p) = old.cpu.and_then(|c| self.pinned.get_mut(c as usize)) {
            *p = p.wrapping_sub(old.bw);
        }
        if let Some(p) = new.cpu.and_then(|c| self.pinned.get_mut(c as usize)) {
            *p = p.wrapping_add(new.bw);
        }
    }

    /// Replaces `old` by `new` if it [fits](Ledger::fits).
    pub fn change(&mut self, old: Share, new: Share, cap: Cap, cpus: u32) -> Result<(), Busy> {
        if !self.fits(old, new, cap, cpus) {
            return Err(Busy);
        }
        self.apply(old, new);
        Ok(())
    }

    /// Whether what is admitted fits `cap` with `cpus` CPUs online: the
    /// check before the cap shrinks, or before a CPU goes offline.
    pub fn within(&self, cap: Cap, cpus: u32) -> bool {
        let limit = match cap.per_cpu() {
            Some(limit) => limit,
            None => return true,
        };
        !matches!(cap.total(cpus), Some(t) if self.total() > t)
            && self.pinned.iter().all(|&p| p <= limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HALF: u64 = BW_UNIT / 2;

    fn cap95() -> Cap {
        Cap::new(950_000, 1_000_000)
    }

    #[test]
    fn ratio_is_the_kernels() {
        assert_eq!(ratio(1_000_000, 950_000), 996_147);
        assert_eq!(ratio(100, 50), HALF);
        assert_eq!(ratio(0, 50), 0);
        assert_eq!(ratio(1, u64::MAX), u64::MAX);
        assert_eq!(Cap::new(-1, 1_000_000).per_cpu(), None);
        assert_eq!(Cap::new(-1, 1_000_000).total(4), None);
        assert_eq!(cap95().total(2), Some(2 * 996_147));
    }

    #[test]
    fn the_sum_fits_every_cpu_together() {
        let (mut total, mut pinned) = (0, [0u64; 2]);
        let mut l = Ledger::new(&mut total, &mut pinned);
        let none = Share::default();
        let half = Share::new(HALF, None);
        for _ in 0..3 {
            assert_eq!(l.change(none, half, cap95(), 2), Ok(()));
        }
        assert_eq!(l.total(), 3 * HALF);
        // A fourth half would need 2 full CPUs, more than 2 x 95%.
        assert_eq!(l.change(none, half, cap95(), 2), Err(Busy));
        // Without a cap everything fits; shrinking always fits.
        assert!(l.fits(none, half, Cap::new(-1, 1), 2));
        assert!(l.fits(half, Share::new(HALF / 2, None), cap95(), 1));
        l.apply(half, none);
        assert_eq!(l.total(), 2 * HALF);
        assert!(l.within(cap95(), 2));
        // A CPU going offline: one CPU cannot hold two halves at 95%.
        assert!(!l.within(cap95(), 1));
    }

    #[test]
    fn pinned_shares_fit_their_cpu() {
        let (mut total, mut pinned) = (0, [0u64; 2]);
        let mut l = Ledger::new(&mut total, &mut pinned);
        let none = Share::default();
        let on0 = Share::new(HALF, Some(0));
        assert_eq!(l.change(none, on0, cap95(), 2), Ok(()));
        assert_eq!(l.change(none, on0, cap95(), 2), Err(Busy));
        assert_eq!(
            l.change(none, Share::new(HALF, Some(1)), cap95(), 2),
            Ok(())
        );
        assert_eq!((l.pinned(0), l.pinned(1)), (HALF, HALF));
        // Moving a share between CPUs checks the new one only.
        assert_eq!(
            l.change(on0, Share::new(HALF, Some(1)), cap95(), 2),
            Err(Busy)
        );
        let small = Share::new(HALF / 2, Some(1));
        assert_eq!(l.change(none, small, cap95(), 2), Ok(()));
        assert_eq!(
            l.change(small, Share::new(HALF / 2, Some(0)), cap95(), 2),
            Ok(())
        );
        assert_eq!((l.pinned(0), l.pinned(1)), (HALF + HALF / 2, HALF));
        // Unpinning moves the share out of the CPU's sum.
        l.apply(on0, Share::new(HALF, None));
        assert_eq!((l.pinned(0), l.total()), (HALF / 2, 2 * HALF + HALF / 2));
        // An unknown CPU fits nothing; a zero share pins nothing.
        assert!(!l.fits(none, Share::new(1, Some(7)), cap95(), 2));
        assert_eq!(Share::new(0, Some(1)).cpu, None);
        // The cap may not shrink below a pinned sum.
        assert!(!l.within(Cap::new(400_000, 1_000_000), 2));
    }

    #[test]
    fn apply_then_remove_restores_the_sums() {
        // Random changes, each undone in reverse: the sums come back to 0.
        let (mut total, mut pinned) = (0, [0u64; 4]);
        let mut l = Ledger::new(&mut total, &mut pinned);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut held = [Share::default(); 16];
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x % 16) as usize;
            let cpu = match (x >> 8) % 6 {
                c if c < 4 => Some(c as u32),
                _ => None,
            };
            let new = Share::new((x >> 16) % (BW_UNIT / 4), cpu);
            if l.change(held[i], new, cap95(), 4).is_ok() {
                held[i] = new;
            }
            assert!(l.within(cap95(), 4));
        }
        for s in held.iter_mut() {
            l.apply(*s, Share::default());
            *s = Share::default();
        }
        assert_eq!(l.total(), 0);
        assert!((0..4).all(|c| l.pinned(c) == 0));
    }
}
