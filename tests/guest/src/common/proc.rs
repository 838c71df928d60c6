//! Process helpers: forked children with timeouts, shared memory, and the
//! diagnostic channel.

use std::io::Write;
use std::sync::atomic::{AtomicI32, Ordering};

use casio_abi::{monotonic_ns, sleep_ns, Errno};

/// Safety net: every spawned workload child arms `alarm()` with this many
/// seconds, so even a child nobody reaps dies eventually.
pub const CHILD_ALARM_S: u32 = 25;

static DIAG_FD: AtomicI32 = AtomicI32::new(-1);

/// Route [`diag`] output to file descriptor `fd` (-1: stdout).
pub fn set_diag_fd(fd: i32) {
    DIAG_FD.store(fd, Ordering::SeqCst);
}

/// The file descriptor [`diag`] writes to, -1 for stdout.
pub fn diag_fd() -> i32 {
    DIAG_FD.load(Ordering::SeqCst)
}

/// Write all of `buf` to `fd`, ignoring errors.
pub fn write_fd(fd: i32, buf: &[u8]) {
    let mut off = 0;
    while off < buf.len() {
        // SAFETY: pointer/length from a live slice.
        let r = unsafe {
            libc::write(
                fd,
                buf[off..].as_ptr() as *const libc::c_void,
                buf.len() - off,
            )
        };
        if r <= 0 {
            if r < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            return;
        }
        off += r as usize;
    }
}

/// Emit one diagnostic line (`# ...`).
pub fn diag(msg: &str) {
    let mut line = String::with_capacity(msg.len() + 3);
    for l in msg.lines() {
        line.push_str("# ");
        line.push_str(l);
        line.push('\n');
    }
    let fd = diag_fd();
    if fd < 0 {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    } else {
        write_fd(fd, line.as_bytes());
    }
}

/// `diag!("fmt", args...)`: formatted [`diag`].
#[macro_export]
macro_rules! diag {
    ($($arg:tt)*) => { $crate::common::proc::diag(&format!($($arg)*)) };
}

/// Flush Rust's stdio buffers (before fork).
pub fn flush_stdio() {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".to_string()
    }
}

/// Run `f`, turning a panic into an `Err` message.
pub fn run_catching<F: FnOnce() -> Result<(), String>>(f: F) -> Result<(), String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(panic_message(p.as_ref())),
    }
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

/// Decode a `waitpid` status.
pub fn decode_status(status: i32) -> ExitKind {
    if libc::WIFEXITED(status) {
        ExitKind::Code(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        ExitKind::Signal(libc::WTERMSIG(status))
    } else {
        ExitKind::Code(-1)
    }
}

/// A forked child running a closure; killed and reaped on drop.
pub struct Child {
    pid: i32,
    err_fd: i32,
    exit: Option<ExitKind>,
    label: String,
}

/// Fork a child that runs `f` and exits: 0 if it returned `Ok`, 1 with the
/// message sent back to the parent if `Err`, 2 on panic.  The child arms
/// `alarm(CHILD_ALARM_S)` first.
pub fn spawn<F: FnOnce() -> Result<(), String>>(label: &str, f: F) -> Result<Child, String> {
    flush_stdio();
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a valid two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(format!("pipe2: {}", Errno::last()));
    }
    // SAFETY: fork in a single-threaded process; the child only runs `f`
    // and then _exit()s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = Errno::last();
        // SAFETY: closing fds we own.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        return Err(format!("fork: {e}"));
    }
    if pid == 0 {
        // SAFETY: child side: closing our copy of the read end, arming the
        // safety alarm.
        unsafe {
            libc::close(fds[0]);
            libc::alarm(CHILD_ALARM_S);
        }
        let (code, msg) = match run_catching(f) {
            Ok(()) => (0, None),
            Err(m) => (1, Some(m)),
        };
        if let Some(m) = msg {
            write_fd(fds[1], m.as_bytes());
        }
        flush_stdio();
        // SAFETY: terminate the child without running the parent's atexit
        // handlers or destructors.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: parent: close the write end, make the read end non-blocking.
    unsafe {
        libc::close(fds[1]);
        libc::fcntl(fds[0], libc::F_SETFL, libc::O_NONBLOCK);
    }
    Ok(Child {
        pid,
        err_fd: fds[0],
        exit: None,
        label: label.to_string(),
    })
}

impl Child {
    /// The child's pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Whether the child has been reaped.
    pub fn reaped(&self) -> bool {
        self.exit.is_some()
    }

    fn try_reap(&mut self) -> Option<ExitKind> {
        if self.exit.is_none() {
            let mut st = 0;
            // SAFETY: waiting for our own child.
            let r = unsafe { libc::waitpid(self.pid, &mut st, libc::WNOHANG) };
            if r == self.pid {
                self.exit = Some(decode_status(st));
            } else if r < 0 && Errno::last() == Errno::ECHILD {
                self.exit = Some(ExitKind::Code(-1));
            }
        }
        self.exit
    }

    fn read_message(&mut self) -> String {
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            // SAFETY: reading into a live buffer from our pipe.
            let r = unsafe {
                libc::read(
                    self.err_fd,
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                )
            };
            if r <= 0 {
                break;
            }
            out.extend_from_slice(&buf[..r as usize]);
        }
        String::from_utf8_lossy(&out).trim().to_string()
    }

    /// If the child has already exited, its result (as [`Child::join`]);
    /// `None` while it is running.  Never blocks.
    pub fn poll_exit(&mut self) -> Option<Result<(), String>> {
        self.try_reap()?;
        Some(self.join(0))
    }

    /// Send SIGKILL (if still running) and reap.
    pub fn kill(&mut self) {
        if self.exit.is_none() {
            // SAFETY: signalling our own, not yet reaped child.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let mut st = 0;
            loop {
                // SAFETY: blocking wait for our own child.
                let r = unsafe { libc::waitpid(self.pid, &mut st, 0) };
                if r == self.pid {
                    self.exit = Some(decode_status(st));
                    break;
                }
                if r < 0 && Errno::last() != Errno::EINTR {
                    self.exit = Some(ExitKind::Code(-1));
                    break;
                }
            }
        }
    }

    /// Wait up to `timeout_ns` for the child to exit.  `Ok` if it exited
    /// with status 0; otherwise an error naming the child and the reason
    /// (its own message, a signal, or a timeout, after which it is killed).
    pub fn join(&mut self, timeout_ns: u64) -> Result<(), String> {
        let deadline = monotonic_ns() + timeout_ns;
        while self.try_reap().is_none() {
            if monotonic_ns() >= deadline {
                self.kill();
                return Err(format!(
                    "{}: no exit within {} ms (killed)",
                    self.label,
                    timeout_ns / 1_000_000
                ));
            }
            sleep_ns(2_000_000);
        }
        let msg = self.read_message();
        match self.exit {
            Some(ExitKind::Code(0)) => Ok(()),
            Some(ExitKind::Code(c)) if !msg.is_empty() => {
                Err(format!("{}: {} (exit {})", self.label, msg, c))
            }
            Some(ExitKind::Code(c)) => Err(format!("{}: exit code {}", self.label, c)),
            Some(ExitKind::Signal(s)) => Err(format!(
                "{}: killed by signal {}{}",
                self.label,
                s,
                if s == libc::SIGALRM {
                    " (safety alarm)"
                } else {
                    ""
                }
            )),
            None => unreachable!(),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
        // SAFETY: closing the fd we own.
        unsafe { libc::close(self.err_fd) };
    }
}

/// Join every child (each with the same overall deadline); the first
/// error is returned, but all are reaped.
pub fn join_all(children: &mut [Child], timeout_ns: u64) -> Result<(), String> {
    let deadline = monotonic_ns() + timeout_ns;
    let mut first = Ok(());
    for c in children.iter_mut() {
        let left = deadline.saturating_sub(monotonic_ns()).max(1_000_000);
        let r = c.join(left);
        if first.is_ok() {
            first = r;
        }
    }
    first
}

/// Sleep-poll until `cond()` holds.  Fails early with the child's own
/// error if one of `children` exits first, or with `what` after
/// `timeout_ns`.
pub fn wait_for(
    what: &str,
    children: &mut [&mut Child],
    timeout_ns: u64,
    mut cond: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = monotonic_ns() + timeout_ns;
    loop {
        if cond() {
            return Ok(());
        }
        for c in children.iter_mut() {
            if let Some(r) = c.poll_exit() {
                return Err(match r {
                    Ok(()) => format!("{what}: {} exited early", c.label),
                    Err(e) => e,
                });
            }
        }
        if monotonic_ns() >= deadline {
            return Err(format!("{what}: timed out"));
        }
        sleep_ns(2_000_000);
    }
}

/// [`wait_for`] with every child of `kids` watched.
pub fn wait_for_all(
    what: &str,
    kids: &mut [Child],
    timeout_ns: u64,
    cond: impl FnMut() -> bool,
) -> Result<(), String> {
    let mut refs: Vec<&mut Child> = kids.iter_mut().collect();
    wait_for(what, &mut refs, timeout_ns, cond)
}

pub use casio_testkit::Shm;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shm_and_child() {
        let shm = Shm::new(4).unwrap();
        let mut c = spawn("t", || {
            shm.set(1, 42);
            Ok(())
        })
        .unwrap();
        c.join(5_000_000_000).unwrap();
        assert_eq!(shm.get(1), 42);

        let mut c = spawn("failing", || Err("bad thing".into())).unwrap();
        let e = c.join(5_000_000_000).unwrap_err();
        assert!(e.contains("bad thing"), "{e}");

        let mut c = spawn("sleeper", || {
            casio_abi::sleep_ns(10_000_000_000);
            Ok(())
        })
        .unwrap();
        let e = c.join(50_000_000).unwrap_err();
        assert!(e.contains("killed"), "{e}");
        assert!(c.reaped());
    }
}
