//! `casio-tool-tests [--list] [NAME...]`: in-guest tests of the `casioctl`
//! tool (tools/casioctl), run as a subprocess (`/bin/casioctl`, or the
//! path in `$CASIOCTL`).
//!
//! Output: `ok N - name` / `not ok N - name: reason` per test (diagnostics
//! as `# ...` lines), then `P passed, F failed`, then
//! `CASIO-TOOL-TESTS-DONE`. Exit status 0 iff no test failed.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use casio_abi::{monotonic_ns, sleep_ns, SCHED_CASIO};
use casio_testkit::sysctl::Restore;

type TestResult = Result<(), String>;

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

// ---------------------------------------------------------------------------
// A small JSON reader (the guest crate has no JSON dependency).
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn get(&self, k: &str) -> Option<&J> {
        match self {
            J::Obj(v) => v.iter().find(|(kk, _)| kk == k).map(|(_, v)| v),
            _ => None,
        }
    }
    fn num(&self, k: &str) -> Option<f64> {
        match self.get(k) {
            Some(J::Num(n)) => Some(*n),
            _ => None,
        }
    }
    fn arr(&self, k: &str) -> &[J] {
        match self.get(k) {
            Some(J::Arr(a)) => a,
            _ => &[],
        }
    }
    fn str(&self, k: &str) -> Option<&str> {
        match self.get(k) {
            Some(J::Str(s)) => Some(s),
            _ => None,
        }
    }
}

struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn err(&self, m: &str) -> String {
        format!("JSON: {m} at byte {}", self.i)
    }
    fn lit(&mut self, s: &str, v: J) -> Result<J, String> {
        if self.b[self.i..].starts_with(s.as_bytes()) {
            self.i += s.len();
            Ok(v)
        } else {
            Err(self.err("bad literal"))
        }
    }
    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        while self.i < self.b.len() {
            let c = self.b[self.i];
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|_| self.err("bad UTF-8")),
                b'\\' => {
                    let e = *self.b.get(self.i).ok_or_else(|| self.err("bad escape"))?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let h = std::str::from_utf8(&self.b[self.i..self.i + 4])
                                .ok()
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or_else(|| self.err("bad \\u"))?;
                            self.i += 4;
                            let ch = char::from_u32(h).unwrap_or('?');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        o => out.push(o),
                    }
                }
                o => out.push(o),
            }
        }
        Err(self.err("unterminated string"))
    }
    fn value(&mut self) -> Result<J, String> {
        self.ws();
        let c = *self
            .b
            .get(self.i)
            .ok_or_else(|| self.err("unexpected end"))?;
        match c {
            b'{' => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.b.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(J::Obj(v));
                    }
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err(self.err("expected key"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.i += 1;
                    let val = self.value()?;
                    v.push((k, val));
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {}
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.b.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(J::Arr(v));
                    }
                    v.push(self.value()?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {}
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            b'"' => Ok(J::Str(self.string()?)),
            b't' => self.lit("true", J::Bool(true)),
            b'f' => self.lit("false", J::Bool(false)),
            b'n' => self.lit("null", J::Null),
            _ => {
                let st = self.i;
                while self.i < self.b.len()
                    && matches!(
                        self.b[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                std::str::from_utf8(&self.b[st..self.i])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .map(J::Num)
                    .ok_or_else(|| self.err("bad number"))
            }
        }
    }
}

fn parse_json(s: &str) -> Result<J, String> {
    let mut p = P {
        b: s.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err("trailing data"));
    }
    Ok(v)
}

// ---------------------------------------------------------------------------
// Task-set record checks
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Job {
    release: f64,
    deadline: f64,
    finish: Option<f64>,
    miss: bool,
    exec: f64,
}

#[derive(Debug, Clone)]
struct Task {
    name: String,
    runtime: f64,
    period: f64,
    jobs: Vec<Job>,
    /// (job, start, end)
    slices: Vec<(usize, f64, f64)>,
}

fn load_record(path: &str) -> Result<(J, Vec<Task>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let j = parse_json(&text)?;
    if j.str("format") != Some("casioctl-taskset") {
        return Err(format!("{path}: not a casioctl-taskset record"));
    }
    let mut tasks = Vec::new();
    for t in j.arr("tasks") {
        let mut jobs = Vec::new();
        for jb in t.arr("jobs") {
            jobs.push(Job {
                release: jb.num("release_ns").ok_or("job without release_ns")?,
                deadline: jb
                    .num("abs_deadline_ns")
                    .ok_or("job without abs_deadline_ns")?,
                finish: jb.num("finish_ns"),
                miss: matches!(jb.get("miss"), Some(J::Bool(true))),
                exec: jb.num("exec_ns").unwrap_or(0.0),
            });
        }
        let mut slices = Vec::new();
        for s in t.arr("slices") {
            slices.push((
                s.num("job").ok_or("slice without job")? as usize,
                s.num("start_ns").ok_or("slice without start_ns")?,
                s.num("end_ns").ok_or("slice without end_ns")?,
            ));
        }
        tasks.push(Task {
            name: t.str("name").unwrap_or("?").to_string(),
            runtime: t.num("runtime_ns").ok_or("task without runtime_ns")?,
            period: t.num("period_ns").ok_or("task without period_ns")?,
            jobs,
            slices,
        });
    }
    Ok((j, tasks))
}

/// Ready tolerance after a release (wake-up latency) and before a finish
/// (sampling), and the largest tolerated overlap of a slice with a
/// competing ready job that has an earlier deadline.
const READY_TOL_NS: f64 = 5.0 * MS;
const FINISH_TOL_NS: f64 = 1.0 * MS;
const OVERLAP_TOL_NS: f64 = 3.0 * MS;
/// Kernel deadlines follow the actual wake-up times, so nominal deadlines
/// closer than this are not ordered.
const DEADLINE_TOL_NS: f64 = 5.0 * MS;

/// EDF consistency: whenever a task executed, no other task had a ready
/// job (released, not finished) with an earlier absolute deadline.
/// Returns a list of violations (empty = consistent).
fn edf_violations(tasks: &[Task]) -> Vec<String> {
    let mut v = Vec::new();
    for (ai, a) in tasks.iter().enumerate() {
        for &(jidx, s0, s1) in &a.slices {
            let Some(ja) = a.jobs.get(jidx) else {
                v.push(format!("{}: slice refers to missing job {jidx}", a.name));
                continue;
            };
            for (bi, b) in tasks.iter().enumerate() {
                if bi == ai {
                    continue;
                }
                for jb in &b.jobs {
                    if jb.deadline + DEADLINE_TOL_NS >= ja.deadline {
                        continue;
                    }
                    let r0 = jb.release + READY_TOL_NS;
                    let r1 = jb.finish.unwrap_or(f64::INFINITY) - FINISH_TOL_NS;
                    let ov = s1.min(r1) - s0.max(r0);
                    if ov > OVERLAP_TOL_NS {
                        v.push(format!(
                            "{} ran {:.1}-{:.1} ms (deadline {:.1}) while {} was ready from {:.1} (deadline {:.1}, finished {:.1}): overlap {:.1} ms",
                            a.name,
                            s0 / MS,
                            s1 / MS,
                            ja.deadline / MS,
                            b.name,
                            jb.release / MS,
                            jb.deadline / MS,
                            jb.finish.unwrap_or(f64::NAN) / MS,
                            ov / MS
                        ));
                    }
                }
            }
        }
    }
    v
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

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
        let t0 = monotonic_ns();
        while casio_abi::getscheduler(pid).map(|p| p & 0xff) != Ok(SCHED_CASIO) {
            if monotonic_ns() - t0 > 5_000_000_000 {
                return Err(format!("pid {pid} never became SCHED_CASIO"));
            }
            sleep_ns(10_000_000);
        }
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
        let t0 = monotonic_ns();
        while casio_abi::getscheduler(pid).map(|p| p & 0xff) != Ok(SCHED_CASIO) {
            if monotonic_ns() - t0 > 5_000_000_000 {
                return Err(format!("pid {pid} never became SCHED_CASIO"));
            }
            sleep_ns(10_000_000);
        }
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

fn t_taskset_edf() -> TestResult {
    let f = tmp("edf.toml");
    let json = tmp("edf.json");
    let svg = tmp("edf.svg");
    std::fs::write(&f, EDF_SET).map_err(|e| format!("write {f}: {e}"))?;
    let o = ctl(
        &[
            "taskset",
            &f,
            "--json",
            &json,
            "--svg",
            &svg,
            "--fail-on-miss",
        ],
        60,
    )?;
    diag(o.stdout.trim_end());
    expect_code(&o, 0, "taskset U=0.6")?;
    expect_contains(&o.stdout, "taskset: 3 tasks, U=0.60,", "summary")?;
    expect_contains(&o.stdout, "misses 0", "summary")?;
    let (j, tasks) = load_record(&json)?;
    if j.str("policy") != Some("casio") || tasks.len() != 3 {
        return Err("record: wrong policy or task count".into());
    }
    for t in &tasks {
        let want = (2e9 / t.period).ceil() as usize;
        if t.jobs.len() != want {
            return Err(format!(
                "{}: {} jobs, expected {want}",
                t.name,
                t.jobs.len()
            ));
        }
        for (k, jb) in t.jobs.iter().enumerate() {
            if jb.miss || jb.finish.is_none() {
                return Err(format!("{}: job {k} missed: {jb:?}", t.name));
            }
            if jb.exec < t.runtime {
                return Err(format!("{}: job {k} burnt only {} ns", t.name, jb.exec));
            }
            let want_rel = k as f64 * t.period;
            if (jb.release - want_rel).abs() > 1.0 {
                return Err(format!("{}: job {k} released at {}", t.name, jb.release));
            }
        }
        if t.slices.is_empty() {
            return Err(format!("{}: no execution slices", t.name));
        }
        let mut last = f64::MIN;
        for &(jx, s0, s1) in &t.slices {
            if s1 < s0 || s0 < last || jx >= t.jobs.len() {
                return Err(format!("{}: slices out of order at {s0}", t.name));
            }
            last = s1;
        }
    }
    let v = edf_violations(&tasks);
    if !v.is_empty() {
        for x in v.iter().take(10) {
            diag(x);
        }
        return Err(format!("{} EDF violations, first: {}", v.len(), v[0]));
    }
    // The chart: 3 rows, one bar per slice.
    let s = std::fs::read_to_string(&svg).map_err(|e| format!("read {svg}: {e}"))?;
    let nslices: usize = tasks.iter().map(|t| t.slices.len()).sum();
    if s.matches("<g class=\"row\"").count() != 3
        || s.matches("<rect class=\"slice").count() != nslices
        || !s.trim_end().ends_with("</svg>")
    {
        return Err("SVG from taskset --svg has the wrong structure".into());
    }
    // plot from the record gives the same chart structure.
    let svg2 = tmp("plot.svg");
    let o = ctl(&["plot", &json, "-o", &svg2], 20)?;
    expect_code(&o, 0, "plot")?;
    let s2 = std::fs::read_to_string(&svg2).map_err(|e| format!("read {svg2}: {e}"))?;
    if s2.matches("<rect class=\"slice").count() != nslices {
        return Err("plot: wrong number of bars".into());
    }
    for p in [&f, &json, &svg, &svg2] {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}

const OVERLOAD_SET: &str = "2\n\
    1 60 60 100 100 100 0 0\n\
    2 70 70 200 200 200 0 0\n\
    3 105 105 300 300 300 0 0\n";

fn t_taskset_overload() -> TestResult {
    // casio_system format (times in ms), U = 0.6 + 0.35 + 0.35 = 1.3.
    let f = tmp("overload.txt");
    let json = tmp("overload.json");
    std::fs::write(&f, OVERLOAD_SET).map_err(|e| format!("write {f}: {e}"))?;
    // Under the default cap admission control refuses U = 1.3 pinned to
    // one CPU: some task's sched_setattr() fails and the run says so.
    let o = ctl(&["taskset", &f, "--duration", "300ms"], 60)?;
    expect_code(&o, 1, "overloaded taskset under the CASIO cap")?;
    expect_contains(
        &o.stderr,
        "EBUSY: admission control",
        "overloaded taskset under the CASIO cap",
    )?;
    // With the cap off it runs, and misses.
    let _cap = Restore::set("/proc/sys/kernel/sched_casio_runtime_us", "-1")?;
    let o = ctl(&["taskset", &f, "--json", &json, "--fail-on-miss"], 60)?;
    diag(o.stdout.trim_end());
    expect_code(&o, 1, "overloaded taskset with --fail-on-miss")?;
    expect_contains(&o.stdout, "taskset: 3 tasks, U=1.30,", "summary")?;
    let misses: usize = o
        .stdout
        .lines()
        .find(|l| l.starts_with("taskset:"))
        .and_then(|l| l.split("misses ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no miss count in: {}", o.stdout))?;
    if misses == 0 {
        return Err("an overloaded set (U=1.3) reported no misses".into());
    }
    let (_, tasks) = load_record(&json)?;
    let rec_misses: usize = tasks
        .iter()
        .map(|t| t.jobs.iter().filter(|j| j.miss).count())
        .sum();
    if rec_misses != misses {
        return Err(format!("record has {rec_misses} misses, report {misses}"));
    }
    // Without --fail-on-miss the same run succeeds.
    let o = ctl(&["taskset", &f, "--duration", "500ms"], 60)?;
    expect_code(&o, 0, "overloaded taskset without --fail-on-miss")?;
    let _ = std::fs::remove_file(&f);
    let _ = std::fs::remove_file(&json);
    Ok(())
}

fn t_taskset_formats() -> TestResult {
    // JSON task-set file, fifo-rm policy, short run.
    let f = tmp("set.json");
    std::fs::write(
        &f,
        r#"{"duration": "600ms", "task": [
            {"name": "x", "runtime": "5ms", "deadline": "50ms"},
            {"name": "y", "runtime": "10ms", "deadline": "100ms", "period": "100ms"}]}"#,
    )
    .map_err(|e| format!("write: {e}"))?;
    let o = ctl(&["taskset", &f, "--policy", "fifo-rm"], 30)?;
    expect_code(&o, 0, "json set under fifo-rm")?;
    expect_contains(
        &o.stdout,
        "taskset: 2 tasks, U=0.20, jobs 18, misses 0",
        "fifo-rm",
    )?;
    // Malformed files name the line.
    let bad = tmp("bad.txt");
    std::fs::write(&bad, "2\n1 10 10 100 100 100 0 0\n2 10 10 100\n").map_err(|e| e.to_string())?;
    let o = ctl(&["taskset", &bad], 10)?;
    expect_code(&o, 2, "malformed casio_system file")?;
    expect_contains(&o.stderr, "line 3", "malformed casio_system file")?;
    let badt = tmp("bad.toml");
    std::fs::write(&badt, "[[task]]\nruntime = \"2ms\"\ndeadline = 5\n")
        .map_err(|e| e.to_string())?;
    let o = ctl(&["taskset", &badt], 10)?;
    expect_code(&o, 2, "malformed toml file")?;
    expect_contains(&o.stderr, "no unit", "malformed toml file")?;
    for p in [&f, &bad, &badt] {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
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
    let words: Vec<&str> = o.stdout.split_whitespace().collect();
    let checked: usize = words.get(1).and_then(|w| w.parse().ok()).unwrap_or(0);
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
    casio_guest_tests::tests::events::mount_tracefs()?;
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
    let words: Vec<&str> = o.stdout.split_whitespace().collect();
    let checked: usize = words.get(1).and_then(|w| w.parse().ok()).unwrap_or(0);
    if checked < 20 {
        return Err(format!(
            "only {checked} switches checked in the ftrace text: {}",
            o.both()
        ));
    }
    Ok(())
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

struct Test {
    name: &'static str,
    run: fn() -> TestResult,
}

const TESTS: &[Test] = &[
    Test {
        name: "help_usage",
        run: t_help_usage,
    },
    Test {
        name: "run_get_roundtrip",
        run: t_run_get_roundtrip,
    },
    Test {
        name: "bad_params",
        run: t_bad_params,
    },
    Test {
        name: "non_casio_target",
        run: t_non_casio_target,
    },
    Test {
        name: "eperm",
        run: t_eperm,
    },
    Test {
        name: "stats_trace",
        run: t_stats_trace,
    },
    Test {
        name: "taskset_edf",
        run: t_taskset_edf,
    },
    Test {
        name: "taskset_overload",
        run: t_taskset_overload,
    },
    Test {
        name: "taskset_formats",
        run: t_taskset_formats,
    },
    Test {
        name: "run_budget_sigxcpu",
        run: t_run_budget_sigxcpu,
    },
    Test {
        name: "kernel_trace_edf",
        run: t_kernel_trace_edf,
    },
    Test {
        name: "ftrace_trace_edf",
        run: t_ftrace_trace_edf,
    },
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for t in TESTS {
            println!("{}", t.name);
        }
        return;
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "usage: casio-tool-tests [--list] [NAME...]  (tests {})",
            casioctl()
        );
        return;
    }
    let mut sel: Vec<&Test> = Vec::new();
    for a in &args {
        match TESTS.iter().find(|t| t.name == a) {
            Some(t) => sel.push(t),
            None => {
                eprintln!("casio-tool-tests: unknown test {a} (see --list)");
                std::process::exit(2);
            }
        }
    }
    if sel.is_empty() {
        sel = TESTS.iter().collect();
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
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_reader() {
        let j =
            parse_json(r#"{"a": [1, 2.5, -3e2], "b": {"c": "x\"y\u0041"}, "d": null, "e": true}"#)
                .unwrap();
        assert_eq!(j.arr("a").len(), 3);
        assert_eq!(j.get("b").unwrap().str("c"), Some("x\"yA"));
        assert!(parse_json("{\"a\": }").is_err());
        assert!(parse_json("[1, 2] x").is_err());
    }

    fn task(name: &str, jobs: Vec<(f64, f64, f64)>, slices: Vec<(usize, f64, f64)>) -> Task {
        Task {
            name: name.into(),
            runtime: 1.0,
            period: 1.0,
            jobs: jobs
                .into_iter()
                .map(|(r, d, f)| Job {
                    release: r * MS,
                    deadline: d * MS,
                    finish: Some(f * MS),
                    miss: false,
                    exec: 0.0,
                })
                .collect(),
            slices: slices
                .into_iter()
                .map(|(j, a, b)| (j, a * MS, b * MS))
                .collect(),
        }
    }

    #[test]
    fn edf_checker() {
        // a (deadline 100) runs 0-20; b (deadline 50) released at 0 runs 20-40:
        // a ran while b was ready with an earlier deadline -> violation.
        let a = task("a", vec![(0.0, 100.0, 20.0)], vec![(0, 0.0, 20.0)]);
        let b = task("b", vec![(0.0, 50.0, 40.0)], vec![(0, 20.0, 40.0)]);
        assert_eq!(edf_violations(&[a, b]).len(), 1);
        // Correct order: b first.
        let a = task("a", vec![(0.0, 100.0, 40.0)], vec![(0, 20.0, 40.0)]);
        let b = task("b", vec![(0.0, 50.0, 20.0)], vec![(0, 0.0, 20.0)]);
        assert!(edf_violations(&[a, b]).is_empty());
        // Within tolerance (2 ms of wake-up latency).
        let a = task(
            "a",
            vec![(0.0, 100.0, 42.0)],
            vec![(0, 0.0, 2.0), (0, 22.0, 42.0)],
        );
        let b = task("b", vec![(0.0, 50.0, 22.0)], vec![(0, 2.0, 22.0)]);
        assert!(edf_violations(&[a, b]).is_empty());
    }
}
