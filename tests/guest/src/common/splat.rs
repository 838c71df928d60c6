//! Kernel splats in the kernel log.

use crate::common::checks::Fails;
use crate::common::kernel;

/// Substrings that mark a kernel splat (as qemu/judge-log.sh matches them).
pub const SPLAT_MARKERS: [&str; 25] = [
    "BUG:",
    "WARNING:",
    "Oops",
    "Kernel panic",
    "general protection fault",
    "kernel BUG at",
    "Unable to handle kernel",
    "possible circular locking",
    "inconsistent lock state",
    "possible recursive locking",
    "suspicious RCU usage",
    "INFO: lockdep",
    "self-detected stall",
    "rcu: INFO:",
    "detected stall",
    "blocked for more than",
    "sleeping function called from invalid context",
    "soft lockup",
    "hard LOCKUP",
    "UBSAN",
    "Call Trace:",
    "list_add corruption",
    "list_del corruption",
    "stack-protector",
    "ODEBUG:",
];

/// Kernel log lines that look like a splat.
pub fn splat_lines() -> Vec<String> {
    splats_in(&kernel::kernel_log().unwrap_or_default())
}

/// Whether `line` starts a warning that the stock kernel of the same base
/// and config gives under the same load (README, reliability), which
/// qemu/judge-log.sh lists without failing.
fn known_stock_warning(line: &str) -> bool {
    line.contains("WARNING: CPU:")
        && line.contains(" at kernel/futex/pi.c:")
        && line.contains(" futex_unlock_pi")
}

/// The splat lines of `log`, without the blocks of known stock warnings
/// (from the WARNING line to `---[ end trace`, 80 lines at most).
pub fn splats_in(log: &[String]) -> Vec<String> {
    let mut out = vec![];
    let mut skip = 0;
    for l in log {
        if known_stock_warning(l) {
            skip = 80;
        } else if skip > 0 {
            skip -= 1;
            if l.contains("---[ end trace") {
                skip = 0;
            }
        } else if SPLAT_MARKERS.iter().any(|m| l.contains(m)) {
            out.push(l.clone());
        }
    }
    out
}

/// Fail if the kernel log has more splat lines than `before` of them.
pub fn check_no_new_splat(f: &mut Fails, before: usize) {
    let now = splat_lines();
    if now.len() > before {
        f.push(format!(
            "{} new kernel splat line(s) in the log during the test, first: {}",
            now.len() - before,
            now[before]
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_stock_warning_is_left_out() {
        let log: Vec<String> = [
            "[ 1.0] WARNING: CPU: 1 PID: 9 at kernel/futex/pi.c:623 futex_unlock_pi+0x2a5/0x3a0",
            "[ 1.0] Call Trace:",
            "[ 1.0] ---[ end trace 0000000000000000 ]---",
            "[ 2.0] WARNING: CPU: 0 PID: 7 at kernel/sched/core.c:1 foo+0x1/0x2",
            "[ 2.0] Call Trace:",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let s = splats_in(&log);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].contains("core.c"));
    }
}
