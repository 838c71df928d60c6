// SPDX-License-Identifier: GPL-2.0

//! The per-CPU cap on CASIO run time.
//!
//! CASIO runs above the RT and fair classes, so a task that never blocks
//! would starve them. Each CPU lets CASIO tasks run at most `runtime` ns
//! in every window of `period` ns; once they have, the CPU is throttled
//! and serves lower classes until the window ends. A window starts when
//! CASIO time is first charged after the previous one ended, so a CPU
//! that has been busy with CASIO for a whole period always gives the other
//! classes `period - runtime` before it runs CASIO again.

/// Run-time accounting of one CPU's CASIO tasks against the cap.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuntimeCap {
    /// Start of the current window, ns; 0 when no window is open.
    pub window_start: u64,
    /// CASIO run time charged in the current window, ns.
    pub used: u64,
    /// How many times the CPU was throttled.
    pub throttles: u64,
    /// 1 while the CPU is throttled.
    pub throttled: u32,
}

impl RuntimeCap {
    /// Whether CASIO tasks may not run on this CPU now.
    pub fn is_throttled(&self) -> bool {
        self.throttled != 0
    }

    /// Charges `delta` ns of CASIO run time at `now`, against a cap of
    /// `runtime` ns per `period` ns. Returns the end of the window if this
    /// charge throttles the CPU: the caller must stop running CASIO tasks
    /// and call [`RuntimeCap::unthrottle`] at that time.
    pub fn charge(&mut self, now: u64, delta: u64, runtime: u64, period: u64) -> Option<u64> {
        if self.is_throttled() {
            return None;
        }
        let end = self.window_start.saturating_add(period);
        if self.window_start == 0 || now >= end {
            self.window_start = core::cmp::max(now, 1);
            self.used = 0;
        }
        self.used = self.used.saturating_add(delta);
        if self.used < runtime {
            return None;
        }
        self.throttled = 1;
        self.throttles = self.throttles.wrapping_add(1);
        Some(self.window_start.saturating_add(period))
    }

    /// Ends a throttled window; the next window starts at the next
    /// charge.
    pub fn unthrottle(&mut self) {
        self.throttled = 0;
        self.used = 0;
        self.window_start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn throttles_at_runtime_and_reports_window_end() {
        let mut c = RuntimeCap::default();
        assert_eq!(c.charge(1000 * MS, 400 * MS, 950 * MS, 1000 * MS), None);
        assert_eq!(c.window_start, 1000 * MS, "first charge opens a window");
        assert_eq!(c.charge(1500 * MS, 500 * MS, 950 * MS, 1000 * MS), None);
        assert_eq!(
            c.charge(1960 * MS, 50 * MS, 950 * MS, 1000 * MS),
            Some(2000 * MS)
        );
        assert!(c.is_throttled());
        assert_eq!(c.throttles, 1);
        // Charges while throttled (the task has not been switched out yet)
        // neither count nor throttle again.
        assert_eq!(c.charge(1970 * MS, 5 * MS, 950 * MS, 1000 * MS), None);
        assert_eq!(c.throttles, 1);
        c.unthrottle();
        assert!(!c.is_throttled());
        assert_eq!(c.charge(2001 * MS, MS, 950 * MS, 1000 * MS), None);
        assert_eq!((c.window_start, c.used), (2001 * MS, MS), "a new window");
    }

    #[test]
    fn a_new_window_forgets_the_old_one() {
        let mut c = RuntimeCap::default();
        assert_eq!(c.charge(1000 * MS, 900 * MS, 950 * MS, 1000 * MS), None);
        // Idle past the window's end: the next charge opens a new window.
        assert_eq!(c.charge(2100 * MS, 900 * MS, 950 * MS, 1000 * MS), None);
        assert_eq!(c.window_start, 2100 * MS);
        assert_eq!(c.used, 900 * MS);
    }

    #[test]
    fn saturates() {
        let mut c = RuntimeCap::default();
        assert_eq!(
            c.charge(u64::MAX, u64::MAX, u64::MAX, u64::MAX),
            Some(u64::MAX)
        );
    }
}
