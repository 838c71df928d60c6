//! The kernel's record of a task set, checked for EDF by `casioctl trace`.

use casio_abi::monotonic_ns;
use casio_testkit::sysctl::Restore;

use super::{ctl, diag, expect_code, expect_contains, switches_checked, tmp, EDF_SET};
use crate::harness::TestResult;

crate::tests! {
    kernel_trace_edf: "/proc/casio_event of a task set: every switch picked the earliest deadline" => t_kernel_trace_edf,
    ftrace_trace_edf: "the same check on the tracepoints (tracefs text)" => t_ftrace_trace_edf,
}

/// The kernel's own record of a task set, /proc/casio_event, read back
/// with `casioctl trace --check-edf`: every switch to a CASIO task picked
/// the earliest deadline queued on its CPU.
fn t_kernel_trace_edf() -> TestResult {
    let f = tmp("trace.toml");
    std::fs::write(&f, EDF_SET).map_err(|e| format!("write {f}: {e}"))?;
    let log = Restore::set("/proc/sys/kernel/sched_casio_event_log", "1")?;
    let start = monotonic_ns();
    let run = ctl(&["taskset", &f], 60);
    drop(log);
    let o = run?;
    expect_code(&o, 0, "taskset U=0.6")?;
    let since = start.to_string();
    let o = ctl(&["trace", "--check-edf", "--since", &since], 30)?;
    diag(o.stdout.trim_end());
    expect_code(&o, 0, "trace --check-edf")?;
    // "edf: N switches checked, U to tasks not seen queued, L lost-event
    // markers, 0 inversions": 3 tasks over 2 s switch in at least 20 times
    // (one per job); nothing may be lost.
    let checked = switches_checked(&o);
    if checked < 20 {
        return Err(format!("only {checked} switches checked: {}", o.both()));
    }
    expect_contains(
        &o.stdout,
        " 0 lost-event markers, 0 inversions",
        "check summary",
    )?;
    // The CSV carries the task set's releases and job ends.
    let o = ctl(&["trace", "--csv", "--since", &since], 30)?;
    expect_code(&o, 0, "trace --csv")?;
    for kind in [
        ",release,",
        ",jobend,",
        ",enqueue,",
        ",dequeue,",
        ",switch,",
    ] {
        if !o.stdout.contains(kind) {
            return Err(format!("no {kind} event in the trace of the task set"));
        }
    }
    Ok(())
}

/// The same check on the tracepoints: tracefs records the task set with
/// the mono clock, and `casioctl trace --check-edf --file` reads it.
fn t_ftrace_trace_edf() -> TestResult {
    let tracing = "/sys/kernel/tracing";
    crate::common::kernel::mount_tracefs()?;
    let w = |file: &str, v: &str| {
        std::fs::write(format!("{tracing}/{file}"), v)
            .map_err(|e| format!("write {v:?} to {tracing}/{file}: {e}"))
    };
    // trace_clock lists the clocks with the current one in brackets.
    let clocks = std::fs::read_to_string(format!("{tracing}/trace_clock")).unwrap_or_default();
    let old_clock = clocks
        .split_whitespace()
        .find_map(|c| c.strip_prefix('[')?.strip_suffix(']'))
        .unwrap_or("local")
        .to_string();
    w("trace_clock", "mono")?;
    w("trace", "")?;
    w("events/sched_casio/enable", "1")?;
    let f = tmp("ftrace.toml");
    std::fs::write(&f, EDF_SET).map_err(|e| format!("write {f}: {e}"))?;
    let run = ctl(&["taskset", &f], 60);
    w("events/sched_casio/enable", "0")?;
    let o = run?;
    expect_code(&o, 0, "taskset U=0.6 under tracing")?;
    let dump = tmp("ftrace.txt");
    std::fs::copy(format!("{tracing}/trace"), &dump).map_err(|e| format!("copy trace: {e}"))?;
    w("trace_clock", &old_clock)?;
    let o = ctl(&["trace", "--check-edf", "--file", &dump], 30)?;
    diag(o.stdout.trim_end());
    expect_code(&o, 0, "trace --check-edf --file (ftrace text)")?;
    let checked = switches_checked(&o);
    if checked < 20 {
        return Err(format!(
            "only {checked} switches checked in the ftrace text: {}",
            o.both()
        ));
    }
    Ok(())
}
