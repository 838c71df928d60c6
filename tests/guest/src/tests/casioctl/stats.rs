//! `casioctl stats` and `casioctl trace`.

use std::process::{Command, Stdio};

use super::{casioctl, ctl, diag, expect_code, expect_contains, wait_casio};
use crate::harness::TestResult;

crate::tests! {
    stats_trace: "stats of a CASIO task; trace without the event log" => t_stats_trace,
}

fn t_stats_trace() -> TestResult {
    let mut c = Command::new(casioctl());
    c.args([
        "run",
        "--deadline",
        "50ms",
        "--runtime",
        "5ms",
        "--",
        "sleep",
        "5",
    ]);
    c.stdout(Stdio::null());
    let mut child = c.spawn().map_err(|e| format!("spawn: {e}"))?;
    let pid = child.id() as i32;
    let res = (|| -> TestResult {
        wait_casio(pid)?;
        let ps = pid.to_string();
        let o = ctl(&["stats", &ps], 10)?;
        expect_code(&o, 0, "stats")?;
        expect_contains(&o.stdout, "policy: SCHED_CASIO (8)", "stats")?;
        let has_file = std::path::Path::new(&format!("/proc/{pid}/sched_casio")).exists();
        if has_file {
            expect_contains(&o.stdout, "jobs_released", "stats")?;
        } else {
            expect_contains(
                &o.stdout,
                "this kernel exports no CASIO statistics",
                "stats",
            )?;
        }
        diag(&format!(
            "stats: kernel statistics file {}",
            if has_file { "present" } else { "absent" }
        ));
        let o = ctl(&["stats"], 10)?;
        expect_code(&o, 0, "stats (all)")?;
        expect_contains(&o.stdout, &format!("pid: {pid}"), "stats (all)")?;
        Ok(())
    })();
    let _ = child.kill();
    let _ = child.wait();
    res?;
    let o = ctl(&["trace"], 20)?;
    if std::path::Path::new("/proc/casio_event").exists() {
        expect_code(&o, 0, "trace")?;
    } else {
        expect_code(&o, 1, "trace without /proc/casio_event")?;
        expect_contains(
            &o.stderr,
            "this kernel exports no CASIO event trace",
            "trace without /proc/casio_event",
        )?;
    }
    Ok(())
}
