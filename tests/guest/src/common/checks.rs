//! Checks that collect failures: [`Fails`] and small formatting helpers.

use std::fmt::Debug;

use casio_abi::{
    Errno, SchedAttr, SysResult, SCHED_ATTR_SIZE_VER1, SCHED_BATCH, SCHED_IDLE, SCHED_NORMAL,
};

use crate::common::kernel::fair_runtime_is_slice;
use crate::harness::TestResult;
use crate::MS;

/// Collects failed checks so one run reports all of them.
#[derive(Default)]
pub struct Fails(pub Vec<String>);

impl Fails {
    pub fn push(&mut self, s: String) {
        self.0.push(s);
    }

    pub fn eq<T: PartialEq + Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }

    pub fn ok<T>(&mut self, what: &str, r: SysResult<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(format!("{what}: failed with {e}"));
                None
            }
        }
    }

    pub fn err_is<T: Debug>(&mut self, what: &str, r: SysResult<T>, want: Errno) {
        match r {
            Err(e) if e == want => {}
            Err(e) => self.push(format!("{what}: got {e}, want {want}")),
            Ok(v) => self.push(format!("{what}: succeeded ({v:?}), want {want}")),
        }
    }

    pub fn check(&mut self, cond: bool, msg: impl FnOnce() -> String) {
        if !cond {
            self.push(msg());
        }
    }

    /// Compare a getattr result with the expected values.
    #[allow(clippy::too_many_arguments)]
    pub fn attr(
        &mut self,
        what: &str,
        got: SysResult<SchedAttr>,
        policy: i32,
        prio: u32,
        c: u64,
        d: u64,
        t: u64,
        flags: u64,
    ) {
        let Some(a) = self.ok(what, got) else { return };
        let want = (SCHED_ATTR_SIZE_VER1, policy as u32, flags, prio, c, d, t);
        // From 6.12 on, a fair task's runtime is its EEVDF slice, which
        // the kernel chooses: only its policy and the rest are checked.
        let fair = [SCHED_NORMAL, SCHED_BATCH, SCHED_IDLE].contains(&(a.sched_policy as i32));
        let runtime = if fair && fair_runtime_is_slice() && policy == a.sched_policy as i32 {
            c
        } else {
            a.sched_runtime
        };
        let have = (
            a.size,
            a.sched_policy,
            a.sched_flags,
            a.sched_priority,
            runtime,
            a.sched_deadline,
            a.sched_period,
        );
        if have != want {
            self.push(format!(
                "{what}: (size, policy, flags, prio, runtime, deadline, period) = {have:?}, want {want:?}"
            ));
        }
    }

    pub fn finish(self) -> TestResult {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0.join("; "))
        }
    }
}

pub fn sys<T>(what: &str, r: SysResult<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e}"))
}

pub fn ms(ns: u64) -> f64 {
    ns as f64 / MS as f64
}

/// Signed offset of `t` from `base`, in ms.
pub fn rel_ms(t: u64, base: u64) -> f64 {
    (t as f64 - base as f64) / MS as f64
}

/// Signed `a - b` in ms.
pub fn dms(a: u64, b: u64) -> f64 {
    (a as f64 - b as f64) / MS as f64
}
