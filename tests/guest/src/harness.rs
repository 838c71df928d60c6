//! Test runner: each test runs in its own forked process group with a
//! timeout; results are printed as `ok N - name` / `not ok N - name: why`,
//! then `P passed, F failed` and `CASIO-TESTS-DONE`.

use std::io::Write;

use casio_abi::{monotonic_ns, sleep_ns, Errno};

use crate::common::kernel;
use crate::common::proc::{
    decode_status, flush_stdio, run_catching, set_diag_fd, write_fd, ExitKind,
};

/// Result of one test body.
pub type TestResult = Result<(), String>;

/// A registered test.
#[derive(Clone, Copy)]
pub struct Test {
    /// Short name used on the command line.
    pub name: &'static str,
    /// One-line description.
    pub desc: &'static str,
    /// The body; runs in a forked child.
    pub run: fn() -> TestResult,
}

/// Registers a module's tests, in run order, as `pub const TESTS: &[Test]`
/// (or another name: `const NAME;` first):
///
/// ```ignore
/// crate::tests! {
///     roundtrip_self: "set CASIO on self; every getter reports it" => t_roundtrip_self,
/// }
/// ```
///
/// The name before the colon is the test's name on the command line and
/// in the `ok N - name` lines; the body is a `fn() -> TestResult`.
#[macro_export]
macro_rules! tests {
    (const $list:ident; $($name:ident: $desc:literal => $run:path),* $(,)?) => {
        /// The tests of this module, in run order.
        pub const $list: &[$crate::harness::Test] = &[$($crate::harness::Test {
            name: stringify!($name),
            desc: $desc,
            run: $run,
        }),*];
    };
    ($($name:ident: $desc:literal => $run:path),* $(,)?) => {
        $crate::tests! { const TESTS; $($name: $desc => $run),* }
    };
}

/// Default per-test timeout.
pub const TEST_TIMEOUT_NS: u64 = 30 * 1_000_000_000;

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Print test names.
    List,
    /// Print usage.
    Help,
    /// Run these tests (indices into the registry), in order.
    Run(Vec<usize>),
}

/// Parse `casio-tests [--list | --help | NAME...]`.
pub fn parse_args(args: &[String], tests: &[Test]) -> Result<Command, String> {
    let mut sel = Vec::new();
    for a in args {
        match a.as_str() {
            "--list" | "-l" => return Ok(Command::List),
            "--help" | "-h" => return Ok(Command::Help),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            name => match tests.iter().position(|t| t.name == name) {
                Some(i) => sel.push(i),
                None => return Err(format!("unknown test {name} (see --list)")),
            },
        }
    }
    if sel.is_empty() {
        sel = (0..tests.len()).collect();
    }
    Ok(Command::Run(sel))
}

/// Outcome of one test as seen by the runner.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Passed?
    pub ok: bool,
    /// Failure reason (empty if passed).
    pub reason: String,
    /// Diagnostic lines (`# ...`) the test emitted.
    pub diags: Vec<String>,
}

/// Interpret what a test child wrote to its report pipe and how it ended.
/// `timeout_ns` is the limit that applied (for the message).
pub fn interpret(output: &str, exit: Option<ExitKind>, timed_out: Option<u64>) -> Outcome {
    let mut diags = Vec::new();
    let mut result: Option<Result<(), String>> = None;
    for line in output.lines() {
        if let Some(r) = line.strip_prefix("RESULT ") {
            result = Some(if r == "ok" {
                Ok(())
            } else {
                Err(r.strip_prefix("fail: ").unwrap_or(r).to_string())
            });
        } else if !line.is_empty() {
            diags.push(line.to_string());
        }
    }
    let (ok, reason) = if let Some(t) = timed_out {
        (
            false,
            format!("timeout after {} ms (killed)", t / 1_000_000),
        )
    } else {
        match (result, exit) {
            (Some(Ok(())), Some(ExitKind::Code(0))) => (true, String::new()),
            (Some(Err(r)), _) => (false, r),
            (Some(Ok(())), Some(e)) => (false, format!("reported ok but ended with {e:?}")),
            (None, Some(ExitKind::Signal(s))) => {
                (false, format!("test process killed by signal {s}"))
            }
            (None, Some(ExitKind::Code(c))) => (
                false,
                format!("test process exited with code {c} without a result"),
            ),
            (_, None) => (false, "test process vanished".to_string()),
        }
    };
    Outcome { ok, reason, diags }
}

fn read_available(fd: i32, out: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: reading into a live buffer from our pipe.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if r <= 0 {
            return;
        }
        out.extend_from_slice(&buf[..r as usize]);
    }
}

/// Reap every process of process group `pgid` that was re-parented to us
/// (we are a child subreaper), waiting up to `timeout_ns` while some remain.
fn reap_group(pgid: i32, timeout_ns: u64) {
    let deadline = monotonic_ns() + timeout_ns;
    loop {
        let mut st = 0;
        // SAFETY: reaping children of ours in the test's process group.
        let r = unsafe { libc::waitpid(-pgid, &mut st, libc::WNOHANG) };
        if r > 0 {
            continue;
        }
        if r < 0 {
            return; // ECHILD: nothing left
        }
        if monotonic_ns() >= deadline {
            return;
        }
        sleep_ns(5_000_000);
    }
}

/// Run one test in a forked child and return its outcome.
pub fn run_one(test: &Test, timeout_ns: u64) -> Outcome {
    flush_stdio();
    let mut fds = [0i32; 2];
    // SAFETY: valid array for pipe2.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Outcome {
            ok: false,
            reason: format!("pipe2: {}", Errno::last()),
            diags: vec![],
        };
    }
    // SAFETY: the runner is single-threaded; the child runs the test and
    // _exit()s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Outcome {
            ok: false,
            reason: format!("fork: {}", Errno::last()),
            diags: vec![],
        };
    }
    if pid == 0 {
        // SAFETY: child: own process group (so the runner can kill the
        // whole test), close the read end.
        unsafe {
            libc::setpgid(0, 0);
            libc::close(fds[0]);
        }
        set_diag_fd(fds[1]);
        // Start every test from a clean slate: all CPUs, SCHED_NORMAL.
        let _ = casio_abi::set_affinity_all(0);
        let _ = casio_abi::setscheduler(0, casio_abi::SCHED_NORMAL, 0);
        let r = run_catching(test.run);
        let line = match r {
            Ok(()) => "RESULT ok\n".to_string(),
            Err(e) => format!("RESULT fail: {}\n", e.replace('\n', " | ")),
        };
        write_fd(fds[1], line.as_bytes());
        flush_stdio();
        // SAFETY: leave without running the runner's destructors.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: parent: own copy of the write end is not needed; reads must
    // not block; put the child in its own group (races with the child's
    // own setpgid, either wins).
    unsafe {
        libc::close(fds[1]);
        libc::fcntl(fds[0], libc::F_SETFL, libc::O_NONBLOCK);
        libc::setpgid(pid, pid);
    }
    let start = monotonic_ns();
    let mut out = Vec::new();
    let mut timed_out = None;
    let exit = loop {
        read_available(fds[0], &mut out);
        let mut st = 0;
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
        if r == pid {
            break Some(decode_status(st));
        }
        if monotonic_ns() - start > timeout_ns {
            timed_out = Some(timeout_ns);
            // SAFETY: killing our child's process group and the child.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut st, 0);
            }
            break Some(decode_status(st));
        }
        sleep_ns(5_000_000);
    };
    // Whatever the test left behind in its group dies now.
    // SAFETY: signalling the test's process group (ESRCH if empty).
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    reap_group(pid, 3_000_000_000);
    read_available(fds[0], &mut out);
    // SAFETY: closing our fd.
    unsafe { libc::close(fds[0]) };
    interpret(&String::from_utf8_lossy(&out), exit, timed_out)
}

/// Entry point of `casio-tests`; returns the process exit code.
pub fn main(tests: &[Test], args: &[String]) -> i32 {
    let cmd = match parse_args(args, tests) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("casio-tests: {e}");
            return 2;
        }
    };
    let sel = match cmd {
        Command::List => {
            for t in tests {
                println!("{}", t.name);
            }
            return 0;
        }
        Command::Help => {
            println!("usage: casio-tests [--list] [NAME...]");
            println!("Runs the SCHED_CASIO tests (all, or the named ones).");
            for t in tests {
                println!("  {:<20} {}", t.name, t.desc);
            }
            return 0;
        }
        Command::Run(sel) => sel,
    };

    // Children orphaned by a test get re-parented to us, so we can reap
    // (and have killed) them.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    if uid != 0 {
        crate::diag!("warning: running as uid {uid}, not root; most tests need root");
    }
    crate::diag!(
        "casio-tests: {} test(s), {} online CPU(s), timeout {} s each",
        sel.len(),
        casio_abi::online_cpus(),
        TEST_TIMEOUT_NS / 1_000_000_000
    );
    let knobs_orig: Vec<(&str, Option<i64>)> = kernel::THROTTLE_KNOBS
        .iter()
        .map(|&k| (k, kernel::read_runtime(k).ok()))
        .collect();
    // Keep the runner itself off the workload CPU 0.
    let ncpu = casio_abi::online_cpus();
    if ncpu >= 2 {
        let _ = casio_abi::set_affinity_cpu(0, ncpu - 1);
    }

    let (mut passed, mut failed) = (0, 0);
    for (n, &i) in sel.iter().enumerate() {
        let t = &tests[i];
        let o = run_one(t, TEST_TIMEOUT_NS);
        let mut stdout = std::io::stdout().lock();
        if o.ok {
            passed += 1;
            let _ = writeln!(stdout, "ok {} - {}", n + 1, t.name);
        } else {
            failed += 1;
            let _ = writeln!(stdout, "not ok {} - {}: {}", n + 1, t.name, o.reason);
        }
        for d in &o.diags {
            let _ = writeln!(stdout, "{d}");
        }
        let _ = stdout.flush();
        drop(stdout);
        // A test killed mid-way may have left RT or CASIO throttling off.
        for &(knob, orig) in &knobs_orig {
            let Some(orig) = orig else { continue };
            if kernel::read_runtime(knob).ok() != Some(orig) {
                match kernel::write_runtime(knob, orig) {
                    Ok(()) => crate::diag!("restored {knob} to {orig}"),
                    Err(e) => crate::diag!("could not restore {knob}: {e}"),
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    println!("CASIO-TESTS-DONE");
    flush_stdio();
    if failed == 0 {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass() -> TestResult {
        crate::diag!("hello");
        Ok(())
    }
    fn fail() -> TestResult {
        Err("expected 8, got 0".into())
    }
    fn boom() -> TestResult {
        panic!("kaboom")
    }
    fn hang() -> TestResult {
        casio_abi::sleep_ns(60_000_000_000);
        Ok(())
    }
    fn crash() -> TestResult {
        // SAFETY: deliberately kill ourselves.
        unsafe { libc::raise(libc::SIGKILL) };
        Ok(())
    }

    const T: [Test; 3] = [
        Test {
            name: "a",
            desc: "",
            run: pass,
        },
        Test {
            name: "b",
            desc: "",
            run: fail,
        },
        Test {
            name: "c",
            desc: "",
            run: boom,
        },
    ];

    #[test]
    fn args() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_args(&s(&[]), &T), Ok(Command::Run(vec![0, 1, 2])));
        assert_eq!(
            parse_args(&s(&["c", "a"]), &T),
            Ok(Command::Run(vec![2, 0]))
        );
        assert_eq!(parse_args(&s(&["--list"]), &T), Ok(Command::List));
        assert!(parse_args(&s(&["zz"]), &T).is_err());
        assert!(parse_args(&s(&["--bogus"]), &T).is_err());
    }

    #[test]
    fn interpret_cases() {
        let o = interpret("# x\nRESULT ok\n", Some(ExitKind::Code(0)), None);
        assert!(o.ok);
        assert_eq!(o.diags, vec!["# x"]);
        let o = interpret("RESULT fail: bad\n", Some(ExitKind::Code(0)), None);
        assert_eq!((o.ok, o.reason.as_str()), (false, "bad"));
        let o = interpret("", Some(ExitKind::Signal(9)), None);
        assert!(!o.ok && o.reason.contains("signal 9"));
        let o = interpret("", Some(ExitKind::Signal(9)), Some(TEST_TIMEOUT_NS));
        assert!(!o.ok && o.reason.contains("timeout"));
    }

    #[test]
    fn run_in_child() {
        let o = run_one(&T[0], TEST_TIMEOUT_NS);
        assert!(o.ok, "{o:?}");
        assert_eq!(o.diags, vec!["# hello"]);
        let o = run_one(&T[1], TEST_TIMEOUT_NS);
        assert_eq!(o.reason, "expected 8, got 0");
        let o = run_one(&T[2], TEST_TIMEOUT_NS);
        assert!(o.reason.contains("kaboom"), "{o:?}");
        let h = Test {
            name: "h",
            desc: "",
            run: hang,
        };
        let o = run_one(&h, 200_000_000);
        assert!(!o.ok && o.reason.contains("timeout"), "{o:?}");
        let k = Test {
            name: "k",
            desc: "",
            run: crash,
        };
        let o = run_one(&k, TEST_TIMEOUT_NS);
        assert!(!o.ok && o.reason.contains("signal 9"), "{o:?}");
    }
}
