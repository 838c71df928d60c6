//! Small process helpers of the fuzzer.

use casio_abi::{setattr, Errno, SchedAttr, SCHED_FLAG_RESET_ON_FORK};

pub(super) fn getpid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::getpid() }
}

pub(super) fn kill(pid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: plain syscall; pid 0 and negative pids are never passed.
    if pid > 0 && unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else if pid <= 0 {
        Err(Errno::EINVAL)
    } else {
        Err(Errno::last())
    }
}

/// Forks; the child runs `f` and exits with its status, never returning.
pub(super) fn fork_with(f: impl FnOnce() -> i32) -> Result<i32, String> {
    crate::common::proc::flush_stdio();
    // SAFETY: the child only runs `f` and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", Errno::last()));
    }
    if pid == 0 {
        let code = f();
        crate::common::proc::flush_stdio();
        // SAFETY: leaves the child without running the parent's atexit.
        unsafe { libc::_exit(code) };
    }
    Ok(pid)
}

/// Reaps one exited child without blocking: (pid, status).
pub(super) fn reap_any() -> Option<(i32, i32)> {
    let mut st = 0;
    // SAFETY: `st` is a live int.
    let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
    (pid > 0).then_some((pid, st))
}

pub(super) fn make_deadline(c: u64, t: u64, reset_on_fork: bool) -> Result<(), String> {
    let mut a = SchedAttr::deadline(c, t, t);
    if reset_on_fork {
        a.sched_flags = SCHED_FLAG_RESET_ON_FORK;
    }
    setattr(0, &a, 0).map_err(|e| format!("SCHED_DEADLINE {c}/{t}: {e}"))
}

pub(super) fn write_file(path: &str, text: &str) -> Result<(), i32> {
    std::fs::write(path, text).map_err(|e| e.raw_os_error().unwrap_or(-1))
}

/// The process group of `pid`, from `/proc/PID/stat`.
pub(super) fn pgrp_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid pgrp ...: comm may hold spaces.
    let rest = stat.rsplit_once(") ")?.1;
    rest.split_whitespace().nth(2)?.parse().ok()
}
