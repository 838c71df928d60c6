//! Where workloads run and how the controller waits for them.

use casio_abi::{monotonic_ns, online_cpus, set_affinity_cpu, sleep_ns, Errno};

use crate::common::checks::sys;
use crate::common::proc::{spawn, Child};
use crate::{diag, MS, SEC};

/// Timeout for joining workload children.
pub const JOIN_NS: u64 = 15 * SEC;

/// How late a timed wake-up may be (QEMU TCG wake-up latency): 40 ms, as
/// release timers firing 28 ms late were seen on a loaded 2-core host.
pub const WAKE_MARGIN: u64 = 40 * MS;

/// The CPU workloads run on.
pub const WORK_CPU: usize = 0;

/// Pin the calling (controlling) process away from the workload CPU when
/// there is more than one CPU.
pub fn pin_harness() {
    let n = online_cpus();
    if n >= 2 {
        if let Err(e) = set_affinity_cpu(0, n - 1) {
            diag!("could not pin harness to CPU {}: {e}", n - 1);
        }
    }
}

pub fn pin_work() -> Result<(), String> {
    sys("sched_setaffinity(CPU 0)", set_affinity_cpu(0, WORK_CPU))
}

/// A child that sleeps until it is killed.
pub fn sleeper(label: &str) -> Result<Child, String> {
    spawn(label, || loop {
        sleep_ns(SEC);
    })
}

/// Spin on the wall clock until `end` (CLOCK_MONOTONIC ns).
pub fn spin_until(end: u64) {
    while monotonic_ns() < end {
        std::hint::spin_loop();
    }
}

/// The errno of writing `v` to `path` (0: success).
pub fn write_errno(path: &str, v: &str) -> i32 {
    match std::fs::write(path, v) {
        Ok(()) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

/// Drop to uid/gid 65534 with RLIMIT_RTPRIO = `rtprio`.
pub fn drop_privileges(rtprio: u64) -> Result<(), String> {
    let lim = libc::rlimit {
        rlim_cur: rtprio,
        rlim_max: rtprio,
    };
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_RTPRIO, &lim) != 0 {
            return Err(format!("setrlimit(RTPRIO, {rtprio}): {}", Errno::last()));
        }
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(format!("setgroups: {}", Errno::last()));
        }
        if libc::setgid(65534) != 0 {
            return Err(format!("setgid: {}", Errno::last()));
        }
        if libc::setuid(65534) != 0 {
            return Err(format!("setuid: {}", Errno::last()));
        }
        if libc::getuid() != 65534 || libc::geteuid() != 65534 {
            return Err("uid did not change".into());
        }
    }
    Ok(())
}
