//! Guest-side plumbing: forked workload processes, shared result slots,
//! scheduling policies, CPU pinning and a few /proc readers.
//!
//! The benchmark driver stays single-threaded and forks one process per
//! workload task; results come back through an anonymous shared mapping.

use std::io::Write;

use casio_abi::{monotonic_ns, setattr, setscheduler, Errno, SchedAttr};

/// A policy under test, with the per-task parameters it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// SCHED_CASIO with runtime, deadline, period (ns).
    Casio {
        /// Runtime C.
        c: u64,
        /// Relative deadline D.
        d: u64,
        /// Period T.
        t: u64,
    },
    /// SCHED_FIFO with a static priority.
    Fifo(u32),
    /// SCHED_DEADLINE with runtime, deadline, period (ns).
    Deadline {
        /// Runtime (budget).
        c: u64,
        /// Relative deadline.
        d: u64,
        /// Period.
        t: u64,
    },
    /// SCHED_NORMAL (CFS), nice 0.
    Normal,
}

impl Policy {
    /// Short name used in BENCH lines: casio, fifo, deadline, normal.
    pub fn name(&self) -> &'static str {
        match self {
            Policy::Casio { .. } => "casio",
            Policy::Fifo(_) => "fifo",
            Policy::Deadline { .. } => "deadline",
            Policy::Normal => "normal",
        }
    }

    /// Give the calling thread this policy.
    pub fn apply(&self) -> Result<(), Errno> {
        match *self {
            Policy::Casio { c, d, t } => setattr(0, &SchedAttr::casio(c, d, t), 0),
            Policy::Deadline { c, d, t } => setattr(0, &SchedAttr::deadline(c, d, t), 0),
            Policy::Fifo(p) => setscheduler(0, casio_abi::SCHED_FIFO, p as i32),
            Policy::Normal => setscheduler(0, casio_abi::SCHED_NORMAL, 0),
        }
    }
}

pub use casio_testkit::Shm;

/// Flush Rust's stdout/stderr (before fork, so buffers are not duplicated).
pub fn flush() {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

/// Fork a child that arms `alarm(alarm_s)`, runs `f` and `_exit`s with
/// its return value.  Returns the child's pid.
pub fn fork_child<F: FnOnce() -> i32>(alarm_s: u32, f: F) -> Result<i32, Errno> {
    flush();
    // SAFETY: the driver is single-threaded; the child only runs `f` and
    // then _exit()s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Errno::last());
    }
    if pid == 0 {
        // SAFETY: plain alarm; the default SIGALRM action kills the child.
        unsafe { libc::alarm(alarm_s) };
        // Children report through shared memory and never print, so there
        // is nothing to flush (and no stdio lock to take after fork).
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
        // SAFETY: leave without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    Ok(pid)
}

/// Wait for all `pids` until `deadline_ns` (CLOCK_MONOTONIC); SIGKILL and
/// reap the ones still running then.  Returns one status per pid: the exit
/// code, or `128 + signal` for a killed one (`-1` if it could not be reaped).
pub fn wait_all(pids: &[i32], deadline_ns: u64) -> Vec<i32> {
    let mut status: Vec<Option<i32>> = vec![None; pids.len()];
    loop {
        for (i, &pid) in pids.iter().enumerate() {
            if status[i].is_some() {
                continue;
            }
            let mut st = 0;
            // SAFETY: non-blocking wait for our own child.
            let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
            if r == pid {
                status[i] = Some(decode(st));
            } else if r < 0 && Errno::last() != Errno::EINTR {
                status[i] = Some(-1);
            }
        }
        if status.iter().all(Option::is_some) {
            break;
        }
        if monotonic_ns() >= deadline_ns {
            for (i, &pid) in pids.iter().enumerate() {
                if status[i].is_none() {
                    // SAFETY: signalling and reaping our own child.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                        let mut st = 0;
                        let r = libc::waitpid(pid, &mut st, 0);
                        status[i] = Some(if r == pid { decode(st) } else { -1 });
                    }
                }
            }
            break;
        }
        casio_abi::sleep_ns(2_000_000);
    }
    status.into_iter().map(|s| s.unwrap_or(-1)).collect()
}

/// SIGKILL and reap one child.
pub fn kill_child(pid: i32) {
    // SAFETY: signalling and reaping our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0);
    }
}

fn decode(st: i32) -> i32 {
    if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else if libc::WIFSIGNALED(st) {
        128 + libc::WTERMSIG(st)
    } else {
        -1
    }
}

/// A pipe `(read end, write end)`.
pub fn pipe() -> Result<(i32, i32), Errno> {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a valid two-element array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } < 0 {
        return Err(Errno::last());
    }
    Ok((fds[0], fds[1]))
}

/// Write all of `buf`; false on error.
pub fn write_all(fd: i32, buf: &[u8]) -> bool {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: writing from the live slice `buf[done..]`.
        let r = unsafe {
            libc::write(
                fd,
                buf[done..].as_ptr() as *const libc::c_void,
                buf.len() - done,
            )
        };
        if r > 0 {
            done += r as usize;
        } else if !(r < 0 && Errno::last() == Errno::EINTR) {
            return false;
        }
    }
    true
}

/// Read exactly `n` bytes (in chunks of at most `buf.len()`); false on EOF
/// or error.
pub fn read_exact(fd: i32, mut n: usize, buf: &mut [u8]) -> bool {
    while n > 0 {
        let want = n.min(buf.len());
        // SAFETY: reading at most `buf.len()` bytes into the live `buf`.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, want) };
        if r > 0 {
            n -= r as usize;
        } else if !(r < 0 && Errno::last() == Errno::EINTR) {
            return false;
        }
    }
    true
}

/// Block until every child in `pids` has exited (no polling, so the caller
/// stays asleep while they run); the children must bound their own run
/// time (e.g. `fork_child`'s alarm). Returns one status per pid as
/// [`wait_all`] does.
pub fn wait_blocking(pids: &[i32]) -> Vec<i32> {
    pids.iter()
        .map(|&pid| loop {
            let mut st = 0;
            // SAFETY: blocking wait for our own child.
            let r = unsafe { libc::waitpid(pid, &mut st, 0) };
            if r == pid {
                break decode(st);
            }
            if !(r < 0 && Errno::last() == Errno::EINTR) {
                break -1;
            }
        })
        .collect()
}

/// Close a file descriptor, ignoring errors.
pub fn close(fd: i32) {
    // SAFETY: closing a descriptor we own.
    unsafe { libc::close(fd) };
}

/// Read exactly one byte; false on EOF or error.
pub fn read1(fd: i32) -> bool {
    let mut b = 0u8;
    loop {
        // SAFETY: reading one byte into a live local.
        let r = unsafe { libc::read(fd, &mut b as *mut u8 as *mut libc::c_void, 1) };
        if r == 1 {
            return true;
        }
        if r < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return false;
    }
}

/// Write exactly one byte; false on error.
pub fn write1(fd: i32) -> bool {
    let b = b'x';
    loop {
        // SAFETY: writing one byte from a live local.
        let r = unsafe { libc::write(fd, &b as *const u8 as *const libc::c_void, 1) };
        if r == 1 {
            return true;
        }
        if r < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return false;
    }
}

/// The contents of a small file, trimmed; `None` if unreadable.
pub fn read_file(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// CPU model name from /proc/cpuinfo (first "model name" line).
pub fn cpu_model() -> String {
    parse_cpu_model(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default())
}

/// The first `model name` value of a /proc/cpuinfo text, or "unknown".
pub fn parse_cpu_model(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// `(busy, total)` jiffies of `cpu` from a /proc/stat text.  Busy is
/// everything but idle and iowait.
pub fn parse_cpu_jiffies(stat: &str, cpu: usize) -> Option<(u64, u64)> {
    let tag = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(tag.as_str()))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 5 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest guest_nice are
    // already included in user/nice).
    let total: u64 = v.iter().take(8).sum();
    let idle = v[3] + v[4];
    Some((total - idle, total))
}

/// `(busy, total)` jiffies of `cpu` now.
pub fn cpu_jiffies(cpu: usize) -> Option<(u64, u64)> {
    parse_cpu_jiffies(&std::fs::read_to_string("/proc/stat").ok()?, cpu)
}

/// Busy fraction between two [`cpu_jiffies`] readings.
pub fn busy_fraction(a: Option<(u64, u64)>, b: Option<(u64, u64)>) -> Option<f64> {
    let ((b0, t0), (b1, t1)) = (a?, b?);
    let dt = t1.checked_sub(t0)?;
    if dt == 0 {
        return None;
    }
    Some(b1.saturating_sub(b0) as f64 / dt as f64)
}

pub use casio_testkit::throttle::ThrottleOff;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_and_stat() {
        let ci = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: QEMU Virtual CPU version 2.5+\nflags: x\n";
        assert_eq!(parse_cpu_model(ci), "QEMU Virtual CPU version 2.5+");
        assert_eq!(parse_cpu_model("nothing"), "unknown");
        let st = "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 5 1 4 50 10 2 3 0 0 0\ncpu1 5 0 6 50 0 0 0 0 0 0\nintr 1\n";
        assert_eq!(parse_cpu_jiffies(st, 0), Some((15, 75)));
        assert_eq!(parse_cpu_jiffies(st, 1), Some((11, 61)));
        assert_eq!(parse_cpu_jiffies(st, 2), None);
        assert_eq!(busy_fraction(Some((10, 100)), Some((60, 200))), Some(0.5));
        assert_eq!(busy_fraction(Some((10, 100)), Some((10, 100))), None);
        assert_eq!(busy_fraction(None, Some((10, 100))), None);
    }

    #[test]
    fn shm_and_fork() {
        let shm = Shm::new(4).unwrap();
        assert_eq!(shm.len(), 4);
        assert_eq!(shm.get(3), 0);
        let pid = fork_child(10, || {
            shm.set(2, 42);
            7
        })
        .unwrap();
        let st = wait_all(&[pid], monotonic_ns() + 5_000_000_000);
        assert_eq!(st, vec![7]);
        assert_eq!(shm.get(2), 42);
        // A child that hangs is killed at the deadline.
        let pid = fork_child(10, || loop {
            casio_abi::sleep_ns(1_000_000_000);
        })
        .unwrap();
        let st = wait_all(&[pid], monotonic_ns() + 50_000_000);
        assert_eq!(st, vec![128 + libc::SIGKILL]);
    }

    #[test]
    fn pipes_and_blocking_wait() {
        let (r, w) = pipe().unwrap();
        let pid = fork_child(10, || {
            close(r);
            let data = [7u8; 100];
            (0..50).all(|_| write_all(w, &data)) as i32
        })
        .unwrap();
        close(w);
        let mut buf = [0u8; 64];
        assert!(read_exact(r, 5000, &mut buf));
        assert_eq!(buf[0], 7);
        // EOF once the writer has exited.
        assert!(!read_exact(r, 1, &mut buf));
        close(r);
        assert_eq!(wait_blocking(&[pid]), vec![1]);
        assert_eq!(wait_blocking(&[-12345]), vec![-1]);
    }

    #[test]
    fn policy_names() {
        assert_eq!(Policy::Fifo(50).name(), "fifo");
        assert_eq!(Policy::Normal.name(), "normal");
        assert_eq!(Policy::Casio { c: 1, d: 2, t: 3 }.name(), "casio");
        assert_eq!(Policy::Deadline { c: 1, d: 2, t: 3 }.name(), "deadline");
    }
}
