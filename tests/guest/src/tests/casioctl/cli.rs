//! The command line: usage, parameters, targets and permissions.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{casioctl, ctl, expect_code, expect_contains, kv, wait_casio};
use crate::harness::TestResult;

crate::tests! {
    help_usage: "--help of casioctl and of every subcommand; unknown ones fail" => t_help_usage,
    run_get_roundtrip: "run sets the parameters a child reads back with get" => t_run_get_roundtrip,
    bad_params: "invalid parameters fail and change nothing" => t_bad_params,
    non_casio_target: "get and stats of a non-CASIO task" => t_non_casio_target,
    eperm: "an unprivileged casioctl gets EPERM" => t_eperm,
}

fn t_help_usage() -> TestResult {
    let o = ctl(&["--help"], 10)?;
    expect_code(&o, 0, "--help")?;
    expect_contains(&o.stdout, "taskset", "--help")?;
    for sub in ["run", "get", "set", "stats", "taskset", "plot", "trace"] {
        let o = ctl(&[sub, "--help"], 10)?;
        expect_code(&o, 0, &format!("{sub} --help"))?;
        expect_contains(&o.stdout, "usage: casioctl", &format!("{sub} --help"))?;
    }
    let o = ctl(&["bogus"], 10)?;
    expect_code(&o, 2, "unknown command")?;
    expect_contains(&o.stderr, "unknown command", "unknown command")?;
    let o = ctl(&[], 10)?;
    expect_code(&o, 2, "no command")?;
    Ok(())
}

fn t_run_get_roundtrip() -> TestResult {
    // casioctl run ... -- casioctl get 0: the exec'd program sees itself.
    let me = casioctl();
    let o = ctl(
        &[
            "run",
            "--runtime",
            "2ms",
            "--deadline",
            "10ms",
            "--period",
            "20ms",
            "--",
            &me,
            "get",
            "0",
        ],
        20,
    )?;
    expect_code(&o, 0, "run -- get 0")?;
    let want = [
        ("policy", "SCHED_CASIO (8)"),
        ("runtime", "2ms (2000000 ns)"),
        ("deadline", "10ms (10000000 ns)"),
        ("period", "20ms (20000000 ns)"),
    ];
    for (k, v) in want {
        if kv(&o.stdout, k).as_deref() != Some(v) {
            return Err(format!("run -- get 0: {k} is not '{v}': {}", o.both()));
        }
    }

    // A long-running CASIO process, queried from outside.
    let mut c = Command::new(&me);
    c.args([
        "run",
        "--deadline",
        "50ms",
        "--runtime",
        "5ms",
        "--id",
        "7",
        "--",
        "sleep",
        "5",
    ]);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("spawn: {e}"))?;
    let pid = child.id() as i32;
    let res = (|| -> TestResult {
        wait_casio(pid)?;
        let a = casio_abi::getattr(pid).map_err(|e| format!("getattr: {e}"))?;
        if (a.sched_runtime, a.sched_deadline, a.sched_period)
            != (5_000_000, 50_000_000, 50_000_000)
        {
            return Err(format!("getattr after run: {a:?}"));
        }
        let ps = pid.to_string();
        let o = ctl(&["get", &ps], 10)?;
        expect_code(&o, 0, "get PID")?;
        if kv(&o.stdout, "policy").as_deref() != Some("SCHED_CASIO (8)")
            || kv(&o.stdout, "runtime").as_deref() != Some("5ms (5000000 ns)")
            || kv(&o.stdout, "pid").as_deref() != Some(ps.as_str())
        {
            return Err(format!("get PID: {}", o.both()));
        }
        // set: new parameters, then another policy, then back.
        let o = ctl(
            &[
                "set",
                &ps,
                "--deadline",
                "30ms",
                "--runtime",
                "3ms",
                "--period",
                "60ms",
            ],
            10,
        )?;
        expect_code(&o, 0, "set --deadline")?;
        let a = casio_abi::getattr(pid).map_err(|e| format!("getattr: {e}"))?;
        if (
            a.sched_policy,
            a.sched_runtime,
            a.sched_deadline,
            a.sched_period,
        ) != (8, 3_000_000, 30_000_000, 60_000_000)
        {
            return Err(format!("after set: {a:?}"));
        }
        let o = ctl(&["set", &ps, "--policy", "fifo:10"], 10)?;
        expect_code(&o, 0, "set --policy fifo:10")?;
        expect_contains(&o.stdout, "SCHED_FIFO", "set --policy fifo:10")?;
        if casio_abi::getscheduler(pid) != Ok(casio_abi::SCHED_FIFO) {
            return Err("set --policy fifo:10 did not take".into());
        }
        let o = ctl(&["set", &ps, "--policy", "other"], 10)?;
        expect_code(&o, 0, "set --policy other")?;
        let o = ctl(&["get", &ps], 10)?;
        expect_contains(&o.stdout, "SCHED_NORMAL", "get after set other")?;
        Ok(())
    })();
    let _ = child.kill();
    let _ = child.wait();
    res
}

fn t_bad_params() -> TestResult {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "run",
                "--runtime",
                "20ms",
                "--deadline",
                "10ms",
                "--",
                "true",
            ],
            "C <= D",
        ),
        (
            &[
                "run",
                "--runtime",
                "2ms",
                "--deadline",
                "10ms",
                "--period",
                "5ms",
                "--",
                "true",
            ],
            "D <= T",
        ),
        (
            &[
                "run",
                "--runtime",
                "1000ns",
                "--deadline",
                "10ms",
                "--",
                "true",
            ],
            "1024 ns",
        ),
        (
            &[
                "run",
                "--deadline",
                "50us",
                "--runtime",
                "10us",
                "--",
                "true",
            ],
            "at least 100us",
        ),
        (
            &["run", "--deadline", "5s", "--", "true"],
            "at most 4.194304s",
        ),
        (&["run", "--deadline", "10", "--", "true"], "no unit"),
        (&["run", "--deadline", "10ms"], "no command"),
        (&["run", "--", "true"], "missing --deadline"),
        (&["get"], "missing PID"),
        (&["get", "abc"], "invalid pid"),
        (&["set", "1", "--policy", "fifo:0"], "out of range"),
        (&["taskset"], "missing FILE"),
    ];
    for (args, needle) in cases {
        let o = ctl(args, 10)?;
        let what = format!("casioctl {}", args.join(" "));
        expect_code(&o, 2, &what)?;
        expect_contains(&o.stderr, needle, &what)?;
        if o.stderr.contains("panicked") {
            return Err(format!("{what}: panic: {}", o.stderr));
        }
    }
    // Runtime failures: exit 1.
    let o = ctl(&["get", "2147483000"], 10)?;
    expect_code(&o, 1, "get of a missing pid")?;
    expect_contains(&o.stderr, "no such process", "get of a missing pid")?;
    let o = ctl(
        &["run", "--deadline", "10ms", "--", "/nonexistent/prog"],
        10,
    )?;
    expect_code(&o, 1, "run of a missing program")?;
    expect_contains(&o.stderr, "cannot execute", "run of a missing program")?;
    let o = ctl(&["taskset", "/nonexistent.toml"], 10)?;
    expect_code(&o, 2, "taskset of a missing file")?;
    expect_contains(&o.stderr, "cannot read", "taskset of a missing file")?;
    refused_set_changes_nothing()
}

/// `set --id` goes through two calls; when admission control refuses the
/// second (99/100 on one CPU under the 95% cap), the task keeps its policy.
fn refused_set_changes_nothing() -> TestResult {
    let mut child = Command::new("sleep")
        .arg("10")
        .spawn()
        .map_err(|e| format!("spawn sleep: {e}"))?;
    let pid = child.id() as i32;
    let res = (|| -> TestResult {
        casio_abi::set_affinity_cpu(pid, 0).map_err(|e| format!("pin sleep to CPU 0: {e}"))?;
        let ps = pid.to_string();
        let what = "set --deadline 100ms --runtime 99ms --id 3 on a pinned task";
        let o = ctl(
            &[
                "set",
                &ps,
                "--deadline",
                "100ms",
                "--runtime",
                "99ms",
                "--id",
                "3",
            ],
            10,
        )?;
        expect_code(&o, 1, what)?;
        expect_contains(&o.stderr, "EBUSY: admission control", what)?;
        match casio_abi::getscheduler(pid) {
            Ok(p) if p & 0xff == casio_abi::SCHED_NORMAL => Ok(()),
            r => Err(format!(
                "{what}: the policy is {r:?} after the refusal, not SCHED_NORMAL"
            )),
        }
    })();
    let _ = child.kill();
    let _ = child.wait();
    res
}

fn t_non_casio_target() -> TestResult {
    // A SCHED_NORMAL process: get says so, stats refuses it clearly.
    let mut child = Command::new("sleep")
        .arg("5")
        .spawn()
        .map_err(|e| format!("spawn sleep: {e}"))?;
    let ps = child.id().to_string();
    let res = (|| -> TestResult {
        let o = ctl(&["get", &ps], 10)?;
        expect_code(&o, 0, "get non-CASIO")?;
        if kv(&o.stdout, "policy").as_deref() != Some("SCHED_NORMAL (0)") {
            return Err(format!("get non-CASIO: {}", o.both()));
        }
        let o = ctl(&["stats", &ps], 10)?;
        expect_code(&o, 1, "stats non-CASIO")?;
        expect_contains(&o.stderr, "is not a SCHED_CASIO task", "stats non-CASIO")?;
        Ok(())
    })();
    let _ = child.kill();
    let _ = child.wait();
    res
}

/// Fork, drop to uid/gid 65534 with RLIMIT_RTPRIO 0, exec casioctl with
/// `args`; returns (exit code, stderr). (std's Command with pre_exec is not
/// usable on the guest kernel: its fork path fails with ENOSYS.)
fn run_unprivileged(args: &[&str]) -> Result<(i32, String), String> {
    use std::ffi::CString;
    let prog = CString::new(casioctl()).unwrap();
    let mut cargs: Vec<CString> = vec![prog.clone()];
    cargs.extend(args.iter().map(|a| CString::new(*a).unwrap()));
    let mut argv: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut fds = [0i32; 2];
    // SAFETY: valid array for pipe2.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe2: {}", std::io::Error::last_os_error()));
    }
    let _ = std::io::stdout().flush();
    // SAFETY: the child only makes raw system calls, then execs or _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: child side, see above.
        unsafe {
            libc::dup2(fds[1], 2);
            let r = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::setrlimit(libc::RLIMIT_RTPRIO, &r) != 0
                || libc::syscall(libc::SYS_setgroups, 0usize, std::ptr::null::<libc::gid_t>()) != 0
                || libc::syscall(libc::SYS_setgid, 65534usize) != 0
                || libc::syscall(libc::SYS_setuid, 65534usize) != 0
            {
                libc::_exit(120);
            }
            libc::execv(prog.as_ptr(), argv.as_ptr());
            libc::_exit(121);
        }
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(fds[1]) };
    let mut err = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        // SAFETY: reading into a live buffer.
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if n <= 0 {
            break;
        }
        err.extend_from_slice(&buf[..n as usize]);
    }
    let mut st = 0;
    // SAFETY: closing our fd and reaping our child.
    unsafe {
        libc::close(fds[0]);
        libc::waitpid(pid, &mut st, 0);
    }
    let code = if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else {
        -1
    };
    match code {
        120 => Err("could not drop privileges in the child".into()),
        121 => Err(format!("could not exec {}", casioctl())),
        c => Ok((c, String::from_utf8_lossy(&err).into_owned())),
    }
}

fn t_eperm() -> TestResult {
    let (code, err) = run_unprivileged(&["run", "--deadline", "10ms", "--", "true"])?;
    if code != 1 {
        return Err(format!(
            "unprivileged run: expected exit 1, got {code}: {err}"
        ));
    }
    expect_contains(
        &err,
        "permission denied: SCHED_CASIO needs CAP_SYS_NICE or RLIMIT_RTPRIO 99",
        "unprivileged run",
    )
}
