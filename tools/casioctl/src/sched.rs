//! Setting and describing scheduling policies, with explanations of
//! kernel errors.

use casio_abi::{
    CasioParams, Errno, ParamError, SchedAttr, CASIO_MAX_PERIOD, CASIO_MIN_PERIOD,
    CASIO_MIN_RUNTIME, CASIO_TOP_BIT, SCHED_BATCH, SCHED_CASIO, SCHED_DEADLINE, SCHED_FIFO,
    SCHED_FLAG_CASIO_BUDGET, SCHED_FLAG_DL_OVERRUN, SCHED_FLAG_RESET_ON_FORK, SCHED_IDLE,
    SCHED_NORMAL, SCHED_RESET_ON_FORK, SCHED_RR,
};

use crate::duration::format_ns;

/// SCHED_CASIO parameters the kernel would refuse, by the part it
/// refuses (ns, the period resolved from the deadline when not given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadParams {
    /// D = 0.
    #[error("invalid deadline 0: the deadline must be > 0")]
    ZeroDeadline,
    /// Bit 63 of D.
    #[error("invalid deadline {0} ns: the top bit must be clear")]
    DeadlineTopBit(u64),
    /// Bit 63 of T.
    #[error("invalid period {0} ns: the top bit must be clear")]
    PeriodTopBit(u64),
    /// C < 1024 ns.
    #[error("invalid runtime {}: the runtime must be at least {CASIO_MIN_RUNTIME} ns", format_ns(*.0))]
    RuntimeTooSmall(u64),
    /// C > D.
    #[error("invalid runtime {}: the runtime must not exceed the deadline {} (C <= D)", format_ns(*.0), format_ns(*.1))]
    RuntimeAboveDeadline(u64, u64),
    /// D > T.
    #[error("invalid deadline {}: the deadline must not exceed the period {} (D <= T)", format_ns(*.0), format_ns(*.1))]
    DeadlineAbovePeriod(u64, u64),
    /// T < 100 us.
    #[error("invalid period {}: the period (= deadline when not given) must be at least 100us", format_ns(*.0))]
    PeriodTooShort(u64),
    /// T > 4.194304 s.
    #[error("invalid period {}: the period (= deadline when not given) must be at most 4.194304s", format_ns(*.0))]
    PeriodTooLong(u64),
}

/// Check SCHED_CASIO parameters (ns; `t == 0` means `t = d`) against the
/// kernel's rule, [`CasioParams::from_attr`], and name the part it refuses.
pub fn check_casio(c: u64, d: u64, t: u64) -> Result<(), BadParams> {
    let tt = if t == 0 { d } else { t };
    debug_assert_eq!(
        (CASIO_MIN_PERIOD, CASIO_MAX_PERIOD),
        (100_000, 4_194_304_000)
    );
    Err(match CasioParams::from_attr(c, d, t) {
        Ok(_) => return Ok(()),
        Err(ParamError::ZeroDeadline) => BadParams::ZeroDeadline,
        Err(ParamError::TopBitSet) if d & CASIO_TOP_BIT != 0 => BadParams::DeadlineTopBit(d),
        Err(ParamError::TopBitSet) => BadParams::PeriodTopBit(t),
        Err(ParamError::RuntimeTooSmall) => BadParams::RuntimeTooSmall(c),
        Err(ParamError::RuntimeAboveDeadline) => BadParams::RuntimeAboveDeadline(c, d),
        Err(ParamError::DeadlineAbovePeriod) => BadParams::DeadlineAbovePeriod(d, tt),
        Err(ParamError::PeriodOutOfRange) if tt < CASIO_MIN_PERIOD => BadParams::PeriodTooShort(tt),
        Err(ParamError::PeriodOutOfRange) => BadParams::PeriodTooLong(tt),
    })
}

/// Why setting or reading the policy of a task failed.
#[derive(Debug, thiserror::Error)]
pub enum SchedError {
    /// Parameters the kernel would refuse; caught before asking it.
    #[error(transparent)]
    BadParams(#[from] BadParams),
    /// EPERM for SCHED_CASIO.
    #[error("permission denied: SCHED_CASIO needs CAP_SYS_NICE or RLIMIT_RTPRIO 99")]
    CasioPermission,
    /// EPERM for another policy.
    #[error("permission denied: changing the policy of pid {0} needs CAP_SYS_NICE (or a matching RLIMIT_RTPRIO)")]
    Permission(i32),
    /// ESRCH.
    #[error("no such process: pid {0}")]
    NoSuchProcess(i32),
    /// EINVAL for parameters that pass the rule: no SCHED_CASIO here.
    #[error("this kernel has no SCHED_CASIO (policy 8)")]
    NoCasio,
    /// EBUSY: admission control.
    #[error(
        "the kernel refused the change (EBUSY: admission control: C/T does not fit \
         the CASIO bandwidth left on all CPUs, or on the one CPU the task is \
         pinned to; see /proc/sched_casio_bw)"
    )]
    Admission,
    /// Any other errno of a change.
    #[error("the kernel refused the change: {0} ({text})", text = strerror(*.0))]
    Refused(Errno),
    /// sched_getattr() failed.
    #[error("sched_getattr({0}) failed: {1}")]
    GetAttr(i32, Errno),
    /// `stats` of a task under another policy.
    #[error("pid {pid} is not a SCHED_CASIO task (policy {policy})")]
    NotCasio {
        /// The task.
        pid: i32,
        /// Its policy's name.
        policy: &'static str,
    },
}

/// The C library's text for an errno ("Operation not permitted").
fn strerror(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.0)
}

impl SchedError {
    /// Whether the command line was at fault (exit 2) rather than the
    /// system (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(self, SchedError::BadParams(_))
    }
}

/// Explain an errno from setting a policy on `pid` (0 = self).
pub fn explain(e: Errno, pid: i32, casio: bool) -> SchedError {
    match e {
        Errno::EPERM if casio => SchedError::CasioPermission,
        Errno::EPERM => SchedError::Permission(pid),
        Errno::ESRCH => SchedError::NoSuchProcess(pid),
        Errno::EINVAL if casio => SchedError::NoCasio,
        Errno::EBUSY => SchedError::Admission,
        e => SchedError::Refused(e),
    }
}

fn getattr(pid: i32) -> Result<SchedAttr, SchedError> {
    casio_abi::getattr(pid).map_err(|e| match e {
        Errno::ESRCH => SchedError::NoSuchProcess(pid),
        e => SchedError::GetAttr(pid, e),
    })
}

/// Set SCHED_CASIO on `pid` (0 = self) with runtime `c` (D when `None`),
/// deadline `d` and period `t` (D when 0). A task that gives only a
/// deadline is set with the 2011 `sched_setscheduler` block, which
/// reserves no bandwidth; otherwise `sched_setattr` sets C, D and T and
/// admission control reserves C/T. With an id, the casio_id is set first
/// through `sched_setscheduler` (the only call that carries it).
pub fn set_casio(
    pid: i32,
    c: Option<u64>,
    d: u64,
    t: u64,
    id: Option<u32>,
    reset_on_fork: bool,
    flags: u64,
) -> Result<(), SchedError> {
    let tt = if t == 0 { d } else { t };
    let cc = c.unwrap_or(d);
    check_casio(cc, d, t)?;
    let deadline_only = c.is_none() && tt == d && flags == 0;
    // When sched_setattr() follows and fails (EBUSY), what the task had is
    // put back, so that a refused change changes nothing.
    let before = match id {
        Some(_) if !deadline_only => casio_abi::getattr(pid).ok(),
        _ => None,
    };
    if deadline_only || id.is_some() {
        let policy = SCHED_CASIO
            | if reset_on_fork {
                SCHED_RESET_ON_FORK
            } else {
                0
            };
        let p = casio_abi::SchedCasioParam::new(id.unwrap_or(0), d);
        casio_abi::set_casio_param(pid, policy, &p).map_err(|e| explain(e, pid, true))?;
        if deadline_only {
            return Ok(());
        }
    }
    let mut a = SchedAttr::casio(cc, d, tt);
    a.sched_flags |= flags;
    if reset_on_fork {
        a.sched_flags |= SCHED_FLAG_RESET_ON_FORK;
    }
    casio_abi::setattr(pid, &a, 0).map_err(|e| {
        if let Some(old) = before {
            let _ = casio_abi::setattr(pid, &old, 0);
        }
        explain(e, pid, true)
    })
}

/// Why a `--policy` argument was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadPolicy {
    /// FIFO or RR without a priority.
    #[error("policy '{policy}' needs a {what}, e.g. {policy}:{hi}")]
    NeedsValue {
        /// The policy as written.
        policy: String,
        /// "priority" or "nice value".
        what: &'static str,
        /// The largest value, for the example.
        hi: i32,
    },
    /// A value that is not a number.
    #[error("invalid {what} '{value}' for policy '{policy}'")]
    BadValue {
        /// The policy as written.
        policy: String,
        /// "priority" or "nice value".
        what: &'static str,
        /// The value as written.
        value: String,
    },
    /// A value outside the policy's range.
    #[error("{what} {n} out of range {lo}..{hi} for policy '{policy}'")]
    OutOfRange {
        /// The policy as written.
        policy: String,
        /// "priority" or "nice value".
        what: &'static str,
        /// The value.
        n: i32,
        /// Smallest valid value.
        lo: i32,
        /// Largest valid value.
        hi: i32,
    },
    /// `casio`, which takes --deadline instead.
    #[error("use --deadline (and --runtime/--period) to set SCHED_CASIO")]
    Casio,
    /// A name that is no policy.
    #[error(
        "unknown policy '{0}' (expected other[:NICE], batch[:NICE], idle, fifo:PRIO or rr:PRIO)"
    )]
    Unknown(String),
}

/// A non-CASIO policy from the command line.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct OtherPolicy {
    /// Policy number.
    pub policy: i32,
    /// Priority (FIFO/RR) or nice (OTHER/BATCH).
    pub value: i32,
}

/// Parse `other[:NICE]`, `normal`, `batch[:NICE]`, `idle`, `fifo:PRIO`, `rr:PRIO`.
pub fn parse_policy(s: &str) -> Result<OtherPolicy, BadPolicy> {
    let (name, arg) = match s.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (s, None),
    };
    let num = |a: Option<&str>,
               what: &'static str,
               lo: i32,
               hi: i32,
               def: Option<i32>|
     -> Result<i32, BadPolicy> {
        let policy = name.to_string();
        match a {
            None => def.ok_or(BadPolicy::NeedsValue { policy, what, hi }),
            Some(v) => match v.parse::<i32>() {
                Err(_) => Err(BadPolicy::BadValue {
                    policy,
                    what,
                    value: v.to_string(),
                }),
                Ok(n) if n < lo || n > hi => Err(BadPolicy::OutOfRange {
                    policy,
                    what,
                    n,
                    lo,
                    hi,
                }),
                Ok(n) => Ok(n),
            },
        }
    };
    let (policy, value) = match name.to_ascii_lowercase().as_str() {
        "other" | "normal" => (SCHED_NORMAL, num(arg, "nice value", -20, 19, Some(0))?),
        "batch" => (SCHED_BATCH, num(arg, "nice value", -20, 19, Some(0))?),
        "idle" => (SCHED_IDLE, num(arg, "nice value", 0, 0, Some(0))?),
        "fifo" => (SCHED_FIFO, num(arg, "priority", 1, 99, None)?),
        "rr" => (SCHED_RR, num(arg, "priority", 1, 99, None)?),
        "casio" => return Err(BadPolicy::Casio),
        _ => return Err(BadPolicy::Unknown(s.to_string())),
    };
    Ok(OtherPolicy { policy, value })
}

/// Apply a non-CASIO policy.
pub fn set_other(pid: i32, p: OtherPolicy, reset_on_fork: bool) -> Result<(), SchedError> {
    let mut a = SchedAttr::new(p.policy);
    match p.policy {
        SCHED_FIFO | SCHED_RR => a.sched_priority = p.value as u32,
        _ => a.sched_nice = p.value,
    }
    if reset_on_fork {
        a.sched_flags |= SCHED_FLAG_RESET_ON_FORK;
    }
    casio_abi::setattr(pid, &a, 0).map_err(|e| explain(e, pid, false))
}

/// `key: value` description of a task's policy (from sched_getattr).
pub fn describe(pid: i32) -> Result<String, SchedError> {
    let a = getattr(pid)?;
    Ok(describe_attr(pid, &a))
}

/// Format attributes.
pub fn describe_attr(pid: i32, a: &SchedAttr) -> String {
    let p = a.sched_policy as i32;
    let name = match casio_abi::policy_name(p) {
        "?" => format!("unknown({p})"),
        n => n.to_string(),
    };
    let mut s = format!("pid: {pid}\npolicy: {name} ({p})\n");
    let mut flags = Vec::new();
    if a.sched_flags & SCHED_FLAG_RESET_ON_FORK != 0 {
        flags.push("reset-on-fork");
    }
    if a.sched_flags & SCHED_FLAG_DL_OVERRUN != 0 {
        flags.push("sigxcpu");
    }
    if a.sched_flags & SCHED_FLAG_CASIO_BUDGET != 0 {
        flags.push("budget");
    }
    s.push_str(&format!(
        "flags: {:#x}{}\n",
        a.sched_flags,
        if flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", flags.join(","))
        }
    ));
    match p {
        SCHED_CASIO | SCHED_DEADLINE => {
            for (k, v) in [
                ("runtime", a.sched_runtime),
                ("deadline", a.sched_deadline),
                ("period", a.sched_period),
            ] {
                s.push_str(&format!("{k}: {} ({v} ns)\n", format_ns(v)));
            }
            if p == SCHED_CASIO && a.sched_period > 0 {
                s.push_str(&format!(
                    "utilization: {:.4}\n",
                    a.sched_runtime as f64 / a.sched_period as f64
                ));
            }
        }
        SCHED_FIFO | SCHED_RR => s.push_str(&format!("priority: {}\n", a.sched_priority)),
        _ => s.push_str(&format!("nice: {}\n", a.sched_nice)),
    }
    s
}

/// Path of the per-task statistics file.
pub fn stats_path(pid: i32) -> String {
    format!("/proc/{pid}/sched_casio")
}

/// Parse `key: value` statistics lines.
pub fn parse_stats(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Statistics report for one pid.
pub fn stats(pid: i32) -> Result<String, SchedError> {
    let a = getattr(pid)?;
    if a.sched_policy as i32 != SCHED_CASIO {
        return Err(SchedError::NotCasio {
            pid,
            policy: casio_abi::policy_name(a.sched_policy as i32),
        });
    }
    let mut s = describe_attr(pid, &a);
    match std::fs::read_to_string(stats_path(pid)) {
        Ok(text) => {
            s.push_str(&format!("statistics ({}):\n", stats_path(pid)));
            for (k, v) in parse_stats(&text) {
                s.push_str(&format!("  {k}: {v}\n"));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            s.push_str(&format!(
                "statistics: this kernel exports no CASIO statistics ({} does not exist)\n",
                stats_path(pid)
            ));
        }
        Err(e) => s.push_str(&format!(
            "statistics: cannot read {}: {e}\n",
            stats_path(pid)
        )),
    }
    Ok(s)
}

/// System-wide totals file of kernels with statistics.
pub const PROC_SCHED_CASIO: &str = "/proc/sched_casio";

/// All pids (thread-group leaders) currently under SCHED_CASIO.
pub fn casio_pids() -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) {
                if let Ok(p) = casio_abi::getscheduler(pid) {
                    if p & !SCHED_RESET_ON_FORK == SCHED_CASIO {
                        out.push(pid);
                    }
                }
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    const MS: u64 = 1_000_000;

    #[test]
    fn casio_rule_messages() {
        assert!(check_casio(2 * MS, 10 * MS, 10 * MS).is_ok());
        assert!(check_casio(2 * MS, 10 * MS, 0).is_ok());
        let e = |c, d, t| check_casio(c, d, t).unwrap_err().to_string();
        assert!(e(0, 0, 0).contains("deadline 0"));
        assert!(e(1000, 10 * MS, 0).contains("at least 1024 ns"));
        assert!(e(20 * MS, 10 * MS, 0).contains("C <= D"));
        assert!(e(2 * MS, 10 * MS, 5 * MS).contains("D <= T"));
        assert!(e(2048, 50_000, 0).contains("at least 100us"));
        assert!(e(MS, 5000 * MS, 0).contains("at most 4.194304s"));
        assert!(e(MS, 10 * MS, CASIO_TOP_BIT | MS).contains("top bit"));
        assert!(e(MS, CASIO_TOP_BIT | MS, 0).contains("invalid deadline"));
        // Agrees with the ABI crate's rule.
        for c in [0, 1023, 1024, MS, 10 * MS, 200 * MS] {
            for d in [0, 50_000, 100_000, MS, 10 * MS, 100 * MS, 5000 * MS] {
                for t in [
                    0,
                    100_000,
                    10 * MS,
                    100 * MS,
                    CASIO_MAX_PERIOD,
                    CASIO_MAX_PERIOD + 1,
                ] {
                    assert_eq!(
                        check_casio(c, d, t).is_ok(),
                        casio_abi::casio_params_valid(c, d, t),
                        "{c} {d} {t}"
                    );
                }
            }
        }
    }

    #[test]
    fn policies() {
        assert_eq!(
            parse_policy("fifo:10"),
            Ok(OtherPolicy {
                policy: 1,
                value: 10
            })
        );
        assert_eq!(
            parse_policy("RR:99"),
            Ok(OtherPolicy {
                policy: 2,
                value: 99
            })
        );
        assert_eq!(
            parse_policy("other"),
            Ok(OtherPolicy {
                policy: 0,
                value: 0
            })
        );
        assert_eq!(
            parse_policy("batch:5"),
            Ok(OtherPolicy {
                policy: 3,
                value: 5
            })
        );
        let e = |s| parse_policy(s).unwrap_err().to_string();
        assert!(e("fifo").contains("needs a priority"));
        assert_eq!(e("fifo"), "policy 'fifo' needs a priority, e.g. fifo:99");
        assert!(e("fifo:100").contains("out of range"));
        assert_eq!(e("rr:x"), "invalid priority 'x' for policy 'rr'");
        assert!(e("bogus").contains("unknown policy"));
    }

    #[test]
    fn describe_format() {
        let a = SchedAttr::casio(2 * MS, 10 * MS, 20 * MS);
        let s = describe_attr(5, &a);
        assert!(s.contains("policy: SCHED_CASIO (8)"));
        assert!(s.contains("runtime: 2ms (2000000 ns)"));
        assert!(s.contains("period: 20ms (20000000 ns)"));
        assert!(s.contains("utilization: 0.1000"));
        let s = describe_attr(5, &SchedAttr::rt(SCHED_FIFO, 7));
        assert!(s.contains("policy: SCHED_FIFO (1)") && s.contains("priority: 7"));
    }

    #[test]
    fn stats_parse() {
        let v = parse_stats("jobs_released: 10\ndeadline_misses: 0\n\nbad line\n");
        assert_eq!(
            v,
            vec![
                ("jobs_released".to_string(), "10".to_string()),
                ("deadline_misses".to_string(), "0".to_string())
            ]
        );
        // This test process is not under SCHED_CASIO.
        let e = stats(0).unwrap_err().to_string();
        assert!(e.contains("is not a SCHED_CASIO task"), "{e}");
    }
}
