//! `casio-tool-tests`: in-guest tests of the `casioctl` tool
//! (tools/casioctl), run as a subprocess (`/bin/casioctl`, or the path in
//! `$CASIOCTL`). The tests run in this process, one after the other.
//!
//! Output: `ok N - name` / `not ok N - name: reason` per test (diagnostics
//! as `# ...` lines), then `P passed, F failed`, then
//! `CASIO-TOOL-TESTS-DONE`. Exit status 0 iff no test failed.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use casio_abi::{monotonic_ns, sleep_ns};

use crate::harness::{Test, TestResult};

pub mod budget;
pub mod cli;
pub mod json;
pub mod record;
pub mod stats;
pub mod taskset;
pub mod trace;

/// The tests of `casio-tool-tests`, in run order.
pub fn tool_tests() -> Vec<Test> {
    [
        cli::TESTS,
        stats::TESTS,
        taskset::TESTS,
        budget::TESTS,
        trace::TESTS,
    ]
    .concat()
}

const MS: f64 = 1e6;

fn casioctl() -> String {
    std::env::var("CASIOCTL").unwrap_or_else(|_| "/bin/casioctl".to_string())
}

fn diag(s: &str) {
    for l in s.lines() {
        println!("# {l}");
    }
}

/// Result of one casioctl invocation.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn both(&self) -> String {
        format!(
            "exit {} | stdout: {} | stderr: {}",
            self.code,
            self.stdout.trim(),
            self.stderr.trim()
        )
    }
}

/// Run a command with a timeout (killed after it).
fn run_cmd(mut cmd: Command, timeout_s: u64) -> Result<Out, String> {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot spawn {cmd:?}: {e}"))?;
    // Read both pipes in threads so a chatty child cannot block.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let ho = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let he = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let deadline = monotonic_ns() + timeout_s * 1_000_000_000;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {}
            Err(e) => return Err(format!("wait: {e}")),
        }
        if monotonic_ns() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?} timed out after {timeout_s} s"));
        }
        sleep_ns(10_000_000);
    };
    let stdout = ho.join().unwrap_or_default();
    let stderr = he.join().unwrap_or_default();
    let code = status.code().unwrap_or(-1);
    Ok(Out {
        code,
        stdout,
        stderr,
    })
}

fn ctl(args: &[&str], timeout_s: u64) -> Result<Out, String> {
    let mut c = Command::new(casioctl());
    c.args(args);
    run_cmd(c, timeout_s)
}

fn expect_code(o: &Out, code: i32, what: &str) -> TestResult {
    if o.code != code {
        return Err(format!("{what}: expected exit {code}, got {}", o.both()));
    }
    Ok(())
}

fn expect_contains(hay: &str, needle: &str, what: &str) -> TestResult {
    if !hay.contains(needle) {
        return Err(format!("{what}: expected '{needle}' in: {}", hay.trim()));
    }
    Ok(())
}

/// Wait (up to 5 s) until `pid` is SCHED_CASIO.
fn wait_casio(pid: i32) -> TestResult {
    let t0 = monotonic_ns();
    while casio_abi::getscheduler(pid).map(|p| p & 0xff) != Ok(casio_abi::SCHED_CASIO) {
        if monotonic_ns() - t0 > 5_000_000_000 {
            return Err(format!("pid {pid} never became SCHED_CASIO"));
        }
        sleep_ns(10_000_000);
    }
    Ok(())
}

/// The N of `casioctl trace --check-edf`'s "edf: N switches checked, ...".
fn switches_checked(o: &Out) -> usize {
    let words: Vec<&str> = o.stdout.split_whitespace().collect();
    words.get(1).and_then(|w| w.parse().ok()).unwrap_or(0)
}

/// `key: value` lines.
fn kv(text: &str, key: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
}

fn tmp(name: &str) -> String {
    format!("/tmp/casio-tool-tests-{}-{name}", std::process::id())
}

/// U = 0.2 + 0.2 + 0.2. Deadlines are below the periods on purpose: the
/// kernel starts a new job only when a task wakes at/after its current
/// deadline, and its deadlines follow the actual (jittered) wake-up times;
/// with D == T a wake-up a little earlier than the previous one's lateness
/// continues the old job with a stale, too early deadline. D < T leaves a
/// margin for that jitter, so the kernel's deadlines equal release + D.
const EDF_SET: &str = r#"
duration = "2s"
[[task]]
name = "fast"
runtime = "20ms"
deadline = "90ms"
period = "100ms"
[[task]]
name = "mid"
runtime = "40ms"
deadline = "150ms"
period = "200ms"
[[task]]
name = "slow"
runtime = "60ms"
deadline = "270ms"
period = "300ms"
"#;

/// Entry point of `casio-tool-tests`; returns the process exit code.
pub fn main(args: &[String]) -> i32 {
    let tests = tool_tests();
    if args.iter().any(|a| a == "--list") {
        for t in &tests {
            println!("{}", t.name);
        }
        return 0;
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "usage: casio-tool-tests [--list] [NAME...]  (tests {})",
            casioctl()
        );
        return 0;
    }
    let mut sel: Vec<&Test> = Vec::new();
    for a in args {
        match tests.iter().find(|t| t.name == a) {
            Some(t) => sel.push(t),
            None => {
                eprintln!("casio-tool-tests: unknown test {a} (see --list)");
                return 2;
            }
        }
    }
    if sel.is_empty() {
        sel = tests.iter().collect();
    }
    // Keep the runner off CPU 0, where the task sets run.
    let ncpu = casio_abi::online_cpus();
    if ncpu >= 2 {
        let _ = casio_abi::set_affinity_cpu(0, ncpu - 1);
    }
    diag(&format!(
        "casio-tool-tests: {} test(s) of {}, {} CPU(s)",
        sel.len(),
        casioctl(),
        ncpu
    ));
    let (mut passed, mut failed) = (0, 0);
    for (n, t) in sel.iter().enumerate() {
        let r = std::panic::catch_unwind(t.run)
            .unwrap_or_else(|_| Err("the test panicked".to_string()));
        match r {
            Ok(()) => {
                passed += 1;
                println!("ok {} - {}", n + 1, t.name);
            }
            Err(e) => {
                failed += 1;
                println!("not ok {} - {}: {}", n + 1, t.name, e.replace('\n', " | "));
            }
        }
        let _ = std::io::stdout().flush();
    }
    println!("{passed} passed, {failed} failed");
    println!("CASIO-TOOL-TESTS-DONE");
    let _ = std::io::stdout().flush();
    if failed == 0 {
        0
    } else {
        1
    }
}
