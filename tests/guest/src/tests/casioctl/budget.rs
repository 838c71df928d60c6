//! `casioctl run --budget --sigxcpu`.

use std::process::{Command, Stdio};

use casio_abi::{monotonic_ns, sleep_ns};

use super::{casioctl, ctl, expect_code, expect_contains, kv};
use crate::harness::TestResult;

crate::tests! {
    run_budget_sigxcpu: "run --budget --sigxcpu sets both flags; a spinner dies of SIGXCPU" => t_run_budget_sigxcpu,
}

/// `run --budget --sigxcpu` sets both flags, and a spinning command run
/// with `--sigxcpu` and a 5 ms runtime dies of SIGXCPU.
fn t_run_budget_sigxcpu() -> TestResult {
    let me = casioctl();
    let o = ctl(
        &[
            "run",
            "--runtime",
            "200ms",
            "--deadline",
            "400ms",
            "--budget",
            "--sigxcpu",
            "--",
            &me,
            "get",
            "0",
        ],
        20,
    )?;
    expect_code(&o, 0, "run --budget --sigxcpu -- get 0")?;
    let flags = kv(&o.stdout, "flags").unwrap_or_default();
    expect_contains(&flags, "budget", "flags of run --budget")?;
    expect_contains(&flags, "sigxcpu", "flags of run --sigxcpu")?;
    let mut c = Command::new(casioctl());
    c.args([
        "run",
        "--runtime",
        "5ms",
        "--deadline",
        "100ms",
        "--sigxcpu",
        "--",
        "/bin/sh",
        "-c",
        "while :; do :; done",
    ]);
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().map_err(|e| format!("cannot spawn {c:?}: {e}"))?;
    let end = monotonic_ns() + 10_000_000_000;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if monotonic_ns() < end => sleep_ns(10_000_000),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(
                    "a spinner run with --sigxcpu and a 5 ms runtime still runs after 10 s".into(),
                );
            }
            Err(e) => return Err(format!("wait: {e}")),
        }
    };
    use std::os::unix::process::ExitStatusExt;
    if status.signal() != Some(libc::SIGXCPU) {
        return Err(format!(
            "spinner run with --sigxcpu ended with {status:?}, want death by SIGXCPU"
        ));
    }
    Ok(())
}
