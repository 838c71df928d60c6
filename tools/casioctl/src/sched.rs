//! Setting and describing scheduling policies, with explanations of
//! kernel errors.

use casio_abi::{
    CasioParams, Errno, ParamError, SchedAttr, CASIO_MAX_PERIOD, CASIO_MIN_PERIOD,
    CASIO_MIN_RUNTIME, CASIO_TOP_BIT, SCHED_BATCH, SCHED_CASIO, SCHED_DEADLINE, SCHED_FIFO,
    SCHED_FLAG_CASIO_BUDGET, SCHED_FLAG_DL_OVERRUN, SCHED_FLAG_RESET_ON_FORK, SCHED_IDLE,
    SCHED_NORMAL, SCHED_RESET_ON_FORK, SCHED_RR,
};

use crate::duration::format_ns;

/// Message for EPERM.
pub const EPERM_MSG: &str = "permission denied: SCHED_CASIO needs CAP_SYS_NICE or RLIMIT_RTPRIO 99";
/// Message for a kernel that refuses valid parameters.
pub const NO_CASIO_MSG: &str = "this kernel has no SCHED_CASIO (policy 8)";

/// Check SCHED_CASIO parameters (ns; `t == 0` means `t = d`) against the
/// kernel's rule, [`CasioParams::from_attr`], and name the part it refuses.
pub fn check_casio(c: u64, d: u64, t: u64) -> Result<(), String> {
    let tt = if t == 0 { d } else { t };
    let f = format_ns;
    debug_assert_eq!(
        (CASIO_MIN_PERIOD, CASIO_MAX_PERIOD),
        (100_000, 4_194_304_000)
    );
    Err(match CasioParams::from_attr(c, d, t) {
        Ok(_) => return Ok(()),
        Err(ParamError::ZeroDeadline) => "invalid deadline 0: the deadline must be > 0".into(),
        Err(ParamError::TopBitSet) if d & CASIO_TOP_BIT != 0 => {
            format!("invalid deadline {d} ns: the top bit must be clear")
        }
        Err(ParamError::TopBitSet) => format!("invalid period {t} ns: the top bit must be clear"),
        Err(ParamError::RuntimeTooSmall) => format!(
            "invalid runtime {}: the runtime must be at least {CASIO_MIN_RUNTIME} ns",
            f(c)
        ),
        Err(ParamError::RuntimeAboveDeadline) => format!(
            "invalid runtime {}: the runtime must not exceed the deadline {} (C <= D)",
            f(c),
            f(d)
        ),
        Err(ParamError::DeadlineAbovePeriod) => format!(
            "invalid deadline {}: the deadline must not exceed the period {} (D <= T)",
            f(d),
            f(tt)
        ),
        Err(ParamError::PeriodOutOfRange) if tt < CASIO_MIN_PERIOD => format!(
            "invalid period {}: the period (= deadline when not given) must be at least 100us",
            f(tt)
        ),
        Err(ParamError::PeriodOutOfRange) => format!(
            "invalid period {}: the period (= deadline when not given) must be at most 4.194304s",
            f(tt)
        ),
    })
}

/// Explain an errno from setting a policy on `pid` (0 = self).
pub fn explain(e: Errno, pid: i32, casio: bool) -> String {
    match e {
        Errno::EPERM if casio => EPERM_MSG.into(),
        Errno::EPERM => format!(
            "permission denied: changing the policy of pid {pid} needs CAP_SYS_NICE (or a matching RLIMIT_RTPRIO)"
        ),
        Errno::ESRCH => format!("no such process: pid {pid}"),
        Errno::EINVAL if casio => NO_CASIO_MSG.into(),
        Errno::EBUSY => "the kernel refused the change (EBUSY: admission control: C/T does not fit \
                         the CASIO bandwidth left on all CPUs, or on the one CPU the task is \
                         pinned to; see /proc/sched_casio_bw)"
            .into(),
        e => format!("the kernel refused the change: {e} ({})", std::io::Error::from_raw_os_error(e.0)),
    }
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
) -> Result<(), String> {
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

/// A non-CASIO policy from the command line.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct OtherPolicy {
    /// Policy number.
    pub policy: i32,
    /// Priority (FIFO/RR) or nice (OTHER/BATCH).
    pub value: i32,
}

/// Parse `other[:NICE]`, `normal`, `batch[:NICE]`, `idle`, `fifo:PRIO`, `rr:PRIO`.
pub fn parse_policy(s: &str) -> Result<OtherPolicy, String> {
    let (name, arg) = match s.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (s, None),
    };
    let num =
        |a: Option<&str>, what: &str, lo: i32, hi: i32, def: Option<i32>| -> Result<i32, String> {
            match a {
                None => {
                    def.ok_or_else(|| format!("policy '{name}' needs a {what}, e.g. {name}:{hi}"))
                }
                Some(v) => {
                    let n: i32 = v
                        .parse()
                        .map_err(|_| format!("invalid {what} '{v}' for policy '{name}'"))?;
                    if n < lo || n > hi {
                        Err(format!(
                            "{what} {n} out of range {lo}..{hi} for policy '{name}'"
                        ))
                    } else {
                        Ok(n)
                    }
                }
            }
        };
    let (policy, value) = match name.to_ascii_lowercase().as_str() {
        "other" | "normal" => (SCHED_NORMAL, num(arg, "nice value", -20, 19, Some(0))?),
        "batch" => (SCHED_BATCH, num(arg, "nice value", -20, 19, Some(0))?),
        "idle" => (SCHED_IDLE, num(arg, "nice value", 0, 0, Some(0))?),
        "fifo" => (SCHED_FIFO, num(arg, "priority", 1, 99, None)?),
        "rr" => (SCHED_RR, num(arg, "priority", 1, 99, None)?),
        "casio" => {
            return Err("use --deadline (and --runtime/--period) to set SCHED_CASIO".into())
        }
        _ => {
            return Err(format!(
                "unknown policy '{s}' (expected other[:NICE], batch[:NICE], idle, fifo:PRIO or rr:PRIO)"
            ))
        }
    };
    Ok(OtherPolicy { policy, value })
}

/// Apply a non-CASIO policy.
pub fn set_other(pid: i32, p: OtherPolicy, reset_on_fork: bool) -> Result<(), String> {
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
pub fn describe(pid: i32) -> Result<String, String> {
    let a = casio_abi::getattr(pid).map_err(|e| match e {
        Errno::ESRCH => format!("no such process: pid {pid}"),
        e => format!("sched_getattr({pid}) failed: {e}"),
    })?;
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
pub fn stats(pid: i32) -> Result<String, String> {
    let a = casio_abi::getattr(pid).map_err(|e| match e {
        Errno::ESRCH => format!("no such process: pid {pid}"),
        e => format!("sched_getattr({pid}) failed: {e}"),
    })?;
    if a.sched_policy as i32 != SCHED_CASIO {
        return Err(format!(
            "pid {pid} is not a SCHED_CASIO task (policy {})",
            casio_abi::policy_name(a.sched_policy as i32)
        ));
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
        assert!(check_casio(0, 0, 0).unwrap_err().contains("deadline 0"));
        assert!(check_casio(1000, 10 * MS, 0)
            .unwrap_err()
            .contains("at least 1024 ns"));
        assert!(check_casio(20 * MS, 10 * MS, 0)
            .unwrap_err()
            .contains("C <= D"));
        assert!(check_casio(2 * MS, 10 * MS, 5 * MS)
            .unwrap_err()
            .contains("D <= T"));
        assert!(check_casio(2048, 50_000, 0)
            .unwrap_err()
            .contains("at least 100us"));
        assert!(check_casio(MS, 5000 * MS, 0)
            .unwrap_err()
            .contains("at most 4.194304s"));
        assert!(check_casio(MS, 10 * MS, CASIO_TOP_BIT | MS)
            .unwrap_err()
            .contains("top bit"));
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
        assert!(parse_policy("fifo")
            .unwrap_err()
            .contains("needs a priority"));
        assert!(parse_policy("fifo:100")
            .unwrap_err()
            .contains("out of range"));
        assert!(parse_policy("bogus")
            .unwrap_err()
            .contains("unknown policy"));
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
        let e = stats(0).unwrap_err();
        assert!(e.contains("is not a SCHED_CASIO task"), "{e}");
    }
}
