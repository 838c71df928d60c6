//! Kernel splats in the kernel log.

use crate::common::*;

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
    kernel::kernel_log()
        .unwrap_or_default()
        .into_iter()
        .filter(|l| SPLAT_MARKERS.iter().any(|m| l.contains(m)))
        .collect()
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
