//! Userspace ABI of the SCHED_CASIO scheduling class (Earliest Deadline
//! First), plus small safe wrappers around the scheduling syscalls.
//!
//! Every scheduling-policy wrapper issues the raw system call
//! (`libc::syscall`) so that no C library policy checks get in the way:
//! what the caller sees is exactly what the kernel returned.  Affinity,
//! clocks, sleeping and yielding go through nix.  Errors are reported as
//! [`Errno`].
//!
//! The `raw` module exposes the same calls with caller-chosen pointers so
//! that tests can pass NULL or bogus addresses on purpose.
//!
//! Beside the calls, the rules userspace shares with the kernel or needs
//! in more than one program: the parameter rule (the EDF core's own,
//! [`CasioParams::from_attr`]), the [`event`] log parser, CPU lists
//! ([`parse_cpu_list`]) and rate-monotonic priorities ([`rm_priorities`]).

#![deny(missing_docs)]

use std::fmt;
use std::mem;

use casio_edf::edf;
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::time::TimeSpec;
use nix::time::{clock_gettime, clock_nanosleep, ClockId, ClockNanosleepFlags};
use nix::unistd::Pid;

pub mod event;

pub use casio_edf::edf::{CasioParams, ParamError};

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

/// `SCHED_NORMAL` (a.k.a. `SCHED_OTHER`), the CFS policy.
pub const SCHED_NORMAL: i32 = 0;
/// `SCHED_FIFO`.
pub const SCHED_FIFO: i32 = 1;
/// `SCHED_RR`.
pub const SCHED_RR: i32 = 2;
/// `SCHED_BATCH`.
pub const SCHED_BATCH: i32 = 3;
/// `SCHED_IDLE`.
pub const SCHED_IDLE: i32 = 5;
/// `SCHED_DEADLINE`.
pub const SCHED_DEADLINE: i32 = 6;
/// `SCHED_CASIO`: the new EDF class.
pub const SCHED_CASIO: i32 = 8;

/// Or-ed into the policy of `sched_setscheduler`: children start as
/// SCHED_NORMAL.
pub const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;
/// `sched_attr.sched_flags` bit with the same meaning as
/// [`SCHED_RESET_ON_FORK`].
pub const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
/// `sched_attr.sched_flags`: send SIGXCPU when a job (SCHED_CASIO) or
/// a reservation (SCHED_DEADLINE) uses up its runtime.
pub const SCHED_FLAG_DL_OVERRUN: u64 = 0x04;
/// `sched_attr.sched_flags`, SCHED_CASIO only: a job that uses up its
/// runtime is throttled until the next release.
pub const SCHED_FLAG_CASIO_BUDGET: u64 = 0x80;

/// Size of the first version of `struct sched_attr` (without util clamps).
pub const SCHED_ATTR_SIZE_VER0: u32 = 48;
/// Size of `struct sched_attr` with the utilization clamp fields.
pub const SCHED_ATTR_SIZE_VER1: u32 = 56;

/// Smallest valid SCHED_CASIO runtime, in ns (the EDF core's).
pub const CASIO_MIN_RUNTIME: u64 = edf::CASIO_MIN_RUNTIME_NS;
/// Smallest valid SCHED_CASIO period, in ns (100 us, the EDF core's).
pub const CASIO_MIN_PERIOD: u64 = edf::CASIO_MIN_PERIOD_NS;
/// Largest valid SCHED_CASIO period, in ns (~4.19 s, the EDF core's).
pub const CASIO_MAX_PERIOD: u64 = edf::CASIO_MAX_PERIOD_NS;
/// The top bit of deadline and period must be clear
/// ([`ParamError::TopBitSet`]).
pub const CASIO_TOP_BIT: u64 = 1 << 63;

/// The line the kernel prints at boot describing the class order; its
/// presence in the kernel log is part of the contract.
pub const CLASS_ORDER_BOOT_LINE: &str =
    "sched_casio: class order stop > dl > casio > rt > fair > idle";

// ---------------------------------------------------------------------------
// Errno
// ---------------------------------------------------------------------------

/// An error number returned by a system call.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// `EPERM`
    pub const EPERM: Errno = Errno(libc::EPERM);
    /// `ESRCH`
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    /// `EINTR`
    pub const EINTR: Errno = Errno(libc::EINTR);
    /// `EAGAIN`
    pub const EAGAIN: Errno = Errno(libc::EAGAIN);
    /// `EFAULT`
    pub const EFAULT: Errno = Errno(libc::EFAULT);
    /// `EBUSY`
    pub const EBUSY: Errno = Errno(libc::EBUSY);
    /// `EINVAL`
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    /// `E2BIG`
    pub const E2BIG: Errno = Errno(libc::E2BIG);
    /// `ECHILD`
    pub const ECHILD: Errno = Errno(libc::ECHILD);
    /// `ENOSYS`
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);

    /// The calling thread's current `errno`.
    pub fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// Symbolic name, e.g. `"EINVAL"` (nix's table); `"E?"` for numbers
    /// it does not know, `"OK"` for 0.
    pub fn name(self) -> String {
        match self.0 {
            0 => "OK".into(),
            e => match nix::errno::Errno::from_raw(e) {
                nix::errno::Errno::UnknownErrno => "E?".into(),
                n => format!("{n:?}"),
            },
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name().as_str() {
            "E?" => write!(f, "errno {}", self.0),
            n => f.write_str(n),
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self, self.0)
    }
}

impl std::error::Error for Errno {}

/// Result of a system call wrapper.
pub type SysResult<T> = Result<T, Errno>;

fn check(ret: libc::c_long) -> SysResult<libc::c_long> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

// ---------------------------------------------------------------------------
// Structures
// ---------------------------------------------------------------------------

/// The parameter block given to `sched_setscheduler(pid, SCHED_CASIO, &p)`.
///
/// Runtime and period both become equal to `deadline`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedCasioParam {
    /// Must be 0.
    pub sched_priority: i32,
    /// Free-form task identifier.
    pub casio_id: u32,
    /// Relative deadline in ns.
    pub deadline: u64,
}

impl SchedCasioParam {
    /// A parameter block with priority 0.
    pub fn new(casio_id: u32, deadline_ns: u64) -> Self {
        SchedCasioParam {
            sched_priority: 0,
            casio_id,
            deadline: deadline_ns,
        }
    }
}

/// `struct sched_attr` (SCHED_ATTR_SIZE_VER1, 56 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedAttr {
    /// Size of this structure as known to the caller.
    pub size: u32,
    /// Policy number.
    pub sched_policy: u32,
    /// `SCHED_FLAG_*` bits.
    pub sched_flags: u64,
    /// Nice value (SCHED_NORMAL, SCHED_BATCH).
    pub sched_nice: i32,
    /// Static priority (SCHED_FIFO, SCHED_RR).
    pub sched_priority: u32,
    /// Runtime in ns (SCHED_DEADLINE, SCHED_CASIO).
    pub sched_runtime: u64,
    /// Relative deadline in ns (SCHED_DEADLINE, SCHED_CASIO).
    pub sched_deadline: u64,
    /// Period in ns (SCHED_DEADLINE, SCHED_CASIO); 0 means = deadline.
    pub sched_period: u64,
    /// Utilization clamp minimum.
    pub sched_util_min: u32,
    /// Utilization clamp maximum.
    pub sched_util_max: u32,
}

impl SchedAttr {
    /// A zeroed attribute block with `size` = 56 and the given policy.
    pub fn new(policy: i32) -> Self {
        SchedAttr {
            size: SCHED_ATTR_SIZE_VER1,
            sched_policy: policy as u32,
            ..Default::default()
        }
    }

    /// SCHED_CASIO attributes: runtime `c`, deadline `d`, period `t` (ns).
    pub fn casio(c: u64, d: u64, t: u64) -> Self {
        SchedAttr {
            sched_runtime: c,
            sched_deadline: d,
            sched_period: t,
            ..SchedAttr::new(SCHED_CASIO)
        }
    }

    /// SCHED_DEADLINE attributes: runtime `c`, deadline `d`, period `t` (ns).
    pub fn deadline(c: u64, d: u64, t: u64) -> Self {
        SchedAttr {
            sched_runtime: c,
            sched_deadline: d,
            sched_period: t,
            ..SchedAttr::new(SCHED_DEADLINE)
        }
    }

    /// SCHED_FIFO / SCHED_RR attributes with a static priority.
    pub fn rt(policy: i32, prio: u32) -> Self {
        SchedAttr {
            sched_priority: prio,
            ..SchedAttr::new(policy)
        }
    }
}

/// Whether the kernel should accept SCHED_CASIO parameters (runtime `c`,
/// deadline `d`, period `t`, all ns; `t == 0` means `t = d`): the kernel's
/// own rule, [`CasioParams::from_attr`] of the EDF core, so that tests and
/// tools predict EINVAL exactly.
pub fn casio_params_valid(c: u64, d: u64, t: u64) -> bool {
    CasioParams::from_attr(c, d, t).is_ok()
}

/// How [`rm_priorities`] ranks tasks of equal period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RmTies {
    /// Equal periods share a priority.
    Share,
    /// Every task gets its own priority; of equal periods, the earlier
    /// task the higher.
    ByIndex,
}

/// Rate-monotonic SCHED_FIFO priorities, one per task in task order: the
/// shortest period gets `top`, each longer one the next lower priority
/// (never below 1). `ties` says what tasks of equal period get.
pub fn rm_priorities(periods: &[u64], top: u32, ties: RmTies) -> Vec<u32> {
    let mut order: Vec<usize> = (0..periods.len()).collect();
    order.sort_by_key(|&i| (periods[i], i));
    let mut prio = vec![0; periods.len()];
    let mut rank = 0u32;
    for (k, &i) in order.iter().enumerate() {
        if k > 0 && (ties == RmTies::ByIndex || periods[i] != periods[order[k - 1]]) {
            rank += 1;
        }
        prio[i] = top.saturating_sub(rank).max(1);
    }
    prio
}

/// CPUs of a sysfs CPU list such as `0-3` or `0,2-3` (empty text: none);
/// `None` if the text is not a CPU list.
pub fn parse_cpu_list(s: &str) -> Option<Vec<usize>> {
    let mut v = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                if b < a {
                    return None;
                }
                v.extend(a..=b);
            }
            None => v.push(part.parse().ok()?),
        }
    }
    Some(v)
}

/// The CPUs of `/sys/devices/system/cpu/WHICH` (`possible`, `online`,
/// `present`...).
pub fn sys_cpu_list(which: &str) -> Result<Vec<usize>, String> {
    let p = format!("/sys/devices/system/cpu/{which}");
    let s = std::fs::read_to_string(&p).map_err(|e| format!("read {p}: {e}"))?;
    parse_cpu_list(&s).ok_or_else(|| format!("cannot parse {p}: {s:?}"))
}

// ---------------------------------------------------------------------------
// Raw calls (caller-chosen pointers)
// ---------------------------------------------------------------------------

/// The scheduling syscalls with caller-chosen pointers, for negative tests.
pub mod raw {
    use super::{check, SysResult};

    /// `sched_setscheduler(pid, policy, param)`.
    ///
    /// # Safety
    /// The kernel only reads through `param`; any address is memory safe,
    /// but the call has no meaning unless it points at a parameter block.
    pub unsafe fn sched_setscheduler(
        pid: i32,
        policy: i32,
        param: *const libc::c_void,
    ) -> SysResult<()> {
        check(libc::syscall(
            libc::SYS_sched_setscheduler,
            pid as libc::c_long,
            policy as libc::c_long,
            param,
        ))
        .map(|_| ())
    }

    /// `sched_setattr(pid, attr, flags)`.
    ///
    /// # Safety
    /// The kernel reads through `attr` (and writes back `size` on E2BIG).
    pub unsafe fn sched_setattr(pid: i32, attr: *mut libc::c_void, flags: u32) -> SysResult<()> {
        check(libc::syscall(
            libc::SYS_sched_setattr,
            pid as libc::c_long,
            attr,
            flags as libc::c_long,
        ))
        .map(|_| ())
    }

    /// `sched_getattr(pid, attr, size, flags)`.
    ///
    /// # Safety
    /// The kernel writes up to `size` bytes at `attr`.
    pub unsafe fn sched_getattr(
        pid: i32,
        attr: *mut libc::c_void,
        size: u32,
        flags: u32,
    ) -> SysResult<()> {
        check(libc::syscall(
            libc::SYS_sched_getattr,
            pid as libc::c_long,
            attr,
            size as libc::c_long,
            flags as libc::c_long,
        ))
        .map(|_| ())
    }

    /// `sched_getparam(pid, param)`.
    ///
    /// # Safety
    /// The kernel writes a `struct sched_param` (4 bytes) at `param`.
    pub unsafe fn sched_getparam(pid: i32, param: *mut libc::c_void) -> SysResult<()> {
        check(libc::syscall(
            libc::SYS_sched_getparam,
            pid as libc::c_long,
            param,
        ))
        .map(|_| ())
    }

    /// `sched_rr_get_interval(pid, ts)`.
    ///
    /// # Safety
    /// The kernel writes a `struct timespec` at `ts`.
    pub unsafe fn sched_rr_get_interval(pid: i32, ts: *mut libc::c_void) -> SysResult<()> {
        check(libc::syscall(
            libc::SYS_sched_rr_get_interval,
            pid as libc::c_long,
            ts,
        ))
        .map(|_| ())
    }
}

// ---------------------------------------------------------------------------
// Safe wrappers
// ---------------------------------------------------------------------------

/// `sched_setscheduler(pid, SCHED_CASIO, {0, casio_id, deadline})`.
pub fn set_casio(pid: i32, casio_id: u32, deadline_ns: u64) -> SysResult<()> {
    set_casio_param(
        pid,
        SCHED_CASIO,
        &SchedCasioParam::new(casio_id, deadline_ns),
    )
}

/// `sched_setscheduler(pid, policy, p)` with a CASIO parameter block;
/// `policy` may carry [`SCHED_RESET_ON_FORK`] or be any number (for tests).
pub fn set_casio_param(pid: i32, policy: i32, p: &SchedCasioParam) -> SysResult<()> {
    // SAFETY: `p` is a valid, live SchedCasioParam; the kernel only reads it.
    unsafe { raw::sched_setscheduler(pid, policy, p as *const _ as *const libc::c_void) }
}

/// `sched_setscheduler(pid, policy, {priority})` with a classic
/// `struct sched_param` (for SCHED_NORMAL/FIFO/RR/BATCH/IDLE).
pub fn setscheduler(pid: i32, policy: i32, priority: i32) -> SysResult<()> {
    let p = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: valid pointer to a sched_param; the kernel only reads it.
    unsafe { raw::sched_setscheduler(pid, policy, &p as *const _ as *const libc::c_void) }
}

/// `sched_setattr(pid, attr, flags)`.
pub fn setattr(pid: i32, attr: &SchedAttr, flags: u32) -> SysResult<()> {
    let mut a = *attr;
    // SAFETY: `a` is a valid SchedAttr of `a.size` bytes (or smaller size
    // field); the kernel may write back the size field only.
    unsafe { raw::sched_setattr(pid, &mut a as *mut _ as *mut libc::c_void, flags) }
}

/// `sched_getattr(pid, &attr, 56, 0)`.
pub fn getattr(pid: i32) -> SysResult<SchedAttr> {
    let mut a = SchedAttr::default();
    // SAFETY: the kernel writes at most SCHED_ATTR_SIZE_VER1 bytes into `a`,
    // which is exactly that large.
    unsafe {
        raw::sched_getattr(
            pid,
            &mut a as *mut _ as *mut libc::c_void,
            mem::size_of::<SchedAttr>() as u32,
            0,
        )?
    };
    Ok(a)
}

/// `sched_getscheduler(pid)`: the policy (possibly with
/// [`SCHED_RESET_ON_FORK`] or-ed in).
pub fn getscheduler(pid: i32) -> SysResult<i32> {
    // SAFETY: plain syscall with integer argument.
    check(unsafe { libc::syscall(libc::SYS_sched_getscheduler, pid as libc::c_long) })
        .map(|r| r as i32)
}

/// `sched_getparam(pid)`: the static priority.
pub fn getparam(pid: i32) -> SysResult<i32> {
    let mut p = libc::sched_param { sched_priority: -1 };
    // SAFETY: the kernel writes one struct sched_param into `p`.
    unsafe { raw::sched_getparam(pid, &mut p as *mut _ as *mut libc::c_void)? };
    Ok(p.sched_priority)
}

/// `sched_get_priority_min(policy)`.
pub fn get_priority_min(policy: i32) -> SysResult<i32> {
    // SAFETY: plain syscall with integer argument.
    check(unsafe { libc::syscall(libc::SYS_sched_get_priority_min, policy as libc::c_long) })
        .map(|r| r as i32)
}

/// `sched_get_priority_max(policy)`.
pub fn get_priority_max(policy: i32) -> SysResult<i32> {
    // SAFETY: plain syscall with integer argument.
    check(unsafe { libc::syscall(libc::SYS_sched_get_priority_max, policy as libc::c_long) })
        .map(|r| r as i32)
}

/// `sched_rr_get_interval(pid)` as `(seconds, nanoseconds)`.
pub fn rr_get_interval(pid: i32) -> SysResult<(i64, i64)> {
    let mut ts = libc::timespec {
        tv_sec: -1,
        tv_nsec: -1,
    };
    // SAFETY: the kernel writes one struct timespec into `ts`.
    unsafe { raw::sched_rr_get_interval(pid, &mut ts as *mut _ as *mut libc::c_void)? };
    Ok((ts.tv_sec, ts.tv_nsec))
}

/// Restrict `pid` (0 = calling thread) to the single CPU `cpu`.
pub fn set_affinity_cpu(pid: i32, cpu: usize) -> SysResult<()> {
    set_affinity_cpus(pid, &[cpu])
}

impl From<nix::errno::Errno> for Errno {
    fn from(e: nix::errno::Errno) -> Self {
        Errno(e as i32)
    }
}

/// Restrict `pid` (0 = calling thread) to the given CPUs (EINVAL for a
/// CPU number beyond the set's size).
pub fn set_affinity_cpus(pid: i32, cpus: &[usize]) -> SysResult<()> {
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c)?;
    }
    Ok(sched_setaffinity(Pid::from_raw(pid), &set)?)
}

/// Allow `pid` (0 = calling thread) on every CPU the kernel lets it use.
pub fn set_affinity_all(pid: i32) -> SysResult<()> {
    let all: Vec<usize> = (0..CpuSet::count()).collect();
    set_affinity_cpus(pid, &all)
}

/// The CPUs `pid` (0 = calling thread) may run on.
pub fn get_affinity(pid: i32) -> SysResult<Vec<usize>> {
    let set = sched_getaffinity(Pid::from_raw(pid))?;
    Ok((0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect())
}

/// Number of online CPUs.
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n < 1 {
        1
    } else {
        n as usize
    }
}

fn clock_ns(clock: ClockId) -> u64 {
    let ts = clock_gettime(clock).unwrap_or_else(|e| panic!("clock_gettime({clock}) failed: {e}"));
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

/// CLOCK_MONOTONIC in ns.
pub fn monotonic_ns() -> u64 {
    clock_ns(ClockId::CLOCK_MONOTONIC)
}

/// CPU time consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID), ns.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(ClockId::CLOCK_THREAD_CPUTIME_ID)
}

/// Sleep until CLOCK_MONOTONIC reaches `abs_ns` (TIMER_ABSTIME; restarts
/// after signals).  Returns at once if that time has passed.
pub fn sleep_until_ns(abs_ns: u64) {
    let ts = TimeSpec::new(
        (abs_ns / 1_000_000_000) as libc::time_t,
        (abs_ns % 1_000_000_000) as libc::c_long,
    );
    while clock_nanosleep(
        ClockId::CLOCK_MONOTONIC,
        ClockNanosleepFlags::TIMER_ABSTIME,
        &ts,
    ) == Err(nix::errno::Errno::EINTR)
    {}
}

/// Sleep for `ns` nanoseconds of CLOCK_MONOTONIC.
pub fn sleep_ns(ns: u64) {
    sleep_until_ns(monotonic_ns() + ns);
}

/// Spin until the calling thread's CPU-time clock advanced by `ns`.
/// Returns the CLOCK_MONOTONIC time at which it finished.
pub fn burn_cpu(ns: u64) -> u64 {
    let start = thread_cpu_ns();
    while thread_cpu_ns().wrapping_sub(start) < ns {
        std::hint::spin_loop();
    }
    monotonic_ns()
}

/// `sched_yield()`.
pub fn sched_yield() -> SysResult<()> {
    Ok(nix::sched::sched_yield()?)
}

/// Human-readable policy name ("SCHED_CASIO", ...), `"?"` when unknown.
pub fn policy_name(policy: i32) -> &'static str {
    match policy & !SCHED_RESET_ON_FORK {
        SCHED_NORMAL => "SCHED_NORMAL",
        SCHED_FIFO => "SCHED_FIFO",
        SCHED_RR => "SCHED_RR",
        SCHED_BATCH => "SCHED_BATCH",
        SCHED_IDLE => "SCHED_IDLE",
        SCHED_DEADLINE => "SCHED_DEADLINE",
        SCHED_CASIO => "SCHED_CASIO",
        _ => "?",
    }
}

// ---------------------------------------------------------------------------
// Host unit tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn casio_param_layout() {
        assert_eq!(size_of::<SchedCasioParam>(), 16);
        assert_eq!(align_of::<SchedCasioParam>(), 8);
        assert_eq!(offset_of!(SchedCasioParam, sched_priority), 0);
        assert_eq!(offset_of!(SchedCasioParam, casio_id), 4);
        assert_eq!(offset_of!(SchedCasioParam, deadline), 8);
        // The classic struct sched_param stays 4 bytes and shares the
        // priority field's position.
        assert_eq!(size_of::<libc::sched_param>(), 4);
    }

    #[test]
    fn sched_attr_layout() {
        assert_eq!(size_of::<SchedAttr>(), 56);
        assert_eq!(size_of::<SchedAttr>() as u32, SCHED_ATTR_SIZE_VER1);
        assert_eq!(offset_of!(SchedAttr, size), 0);
        assert_eq!(offset_of!(SchedAttr, sched_policy), 4);
        assert_eq!(offset_of!(SchedAttr, sched_flags), 8);
        assert_eq!(offset_of!(SchedAttr, sched_nice), 16);
        assert_eq!(offset_of!(SchedAttr, sched_priority), 20);
        assert_eq!(offset_of!(SchedAttr, sched_runtime), 24);
        assert_eq!(offset_of!(SchedAttr, sched_deadline), 32);
        assert_eq!(offset_of!(SchedAttr, sched_period), 40);
        assert_eq!(offset_of!(SchedAttr, sched_util_min), 48);
        assert_eq!(offset_of!(SchedAttr, sched_util_max), 52);
        assert_eq!(
            offset_of!(SchedAttr, sched_util_min) as u32,
            SCHED_ATTR_SIZE_VER0
        );
    }

    #[test]
    fn constructors() {
        let a = SchedAttr::casio(1024, 2000, 0);
        assert_eq!(a.size, 56);
        assert_eq!(a.sched_policy, 8);
        assert_eq!(a.sched_priority, 0);
        assert_eq!(
            (a.sched_runtime, a.sched_deadline, a.sched_period),
            (1024, 2000, 0)
        );
        let p = SchedCasioParam::new(7, 5_000_000);
        assert_eq!(p.sched_priority, 0);
        assert_eq!(p.casio_id, 7);
        assert_eq!(p.deadline, 5_000_000);
        let r = SchedAttr::rt(SCHED_FIFO, 99);
        assert_eq!((r.sched_policy, r.sched_priority), (1, 99));
    }

    #[test]
    fn errno_names() {
        assert_eq!(Errno(libc::EINVAL).name(), "EINVAL");
        assert_eq!(Errno::EPERM.name(), "EPERM");
        assert_eq!(Errno::ESRCH.name(), "ESRCH");
        assert_eq!(Errno::EFAULT.name(), "EFAULT");
        assert_eq!(Errno(libc::EBUSY).to_string(), "EBUSY");
        assert_eq!(Errno(4095).name(), "E?");
        assert_eq!(Errno(4095).to_string(), "errno 4095");
        assert_eq!(format!("{:?}", Errno::EINVAL), "EINVAL(22)");
    }

    #[test]
    fn validity_rule() {
        let ms = 1_000_000u64;
        assert!(casio_params_valid(10 * ms, 100 * ms, 0));
        assert!(casio_params_valid(10 * ms, 100 * ms, 100 * ms));
        assert!(casio_params_valid(1024, CASIO_MIN_PERIOD, 0));
        assert!(casio_params_valid(1024, 1024 * 100, CASIO_MAX_PERIOD));
        assert!(!casio_params_valid(1023, 100 * ms, 0), "C < 1024");
        assert!(!casio_params_valid(200 * ms, 100 * ms, 0), "C > D");
        assert!(!casio_params_valid(10 * ms, 100 * ms, 50 * ms), "D > T");
        assert!(!casio_params_valid(0, 0, 0), "D = 0");
        assert!(!casio_params_valid(1024, 0, 100 * ms), "D = 0 with T");
        assert!(!casio_params_valid(1024, 99_999, 0), "T < 100us");
        assert!(
            !casio_params_valid(1024, ms, CASIO_MAX_PERIOD + 1),
            "T > max"
        );
        assert!(
            !casio_params_valid(1024, CASIO_TOP_BIT | ms, 0),
            "top bit D"
        );
        assert!(
            !casio_params_valid(1024, ms, CASIO_TOP_BIT | ms),
            "top bit T"
        );
    }

    #[test]
    fn validity_rule_is_the_cores() {
        let ms = 1_000_000u64;
        assert_eq!(CASIO_MIN_RUNTIME, 1024);
        assert_eq!(CASIO_MIN_PERIOD, 100_000);
        assert_eq!(CASIO_MAX_PERIOD, 4_194_304_000);
        assert_eq!(
            CasioParams::from_attr(1024, CASIO_TOP_BIT | ms, 0),
            Err(ParamError::TopBitSet)
        );
    }

    #[test]
    fn rate_monotonic_priorities() {
        // Shared: shorter period, higher priority; equal periods share.
        assert_eq!(
            rm_priorities(&[100, 50, 200, 50], 98, RmTies::Share),
            vec![97, 98, 96, 98]
        );
        // By index: t=100 (idx 1) highest, then t=100 (idx 3), t=200,
        // t=300 lowest.
        assert_eq!(
            rm_priorities(&[300, 100, 200, 100], 13, RmTies::ByIndex),
            vec![10, 13, 11, 12]
        );
        assert_eq!(rm_priorities(&[3, 2, 1], 2, RmTies::ByIndex), vec![1, 1, 2]);
        assert!(rm_priorities(&[], 98, RmTies::Share).is_empty());
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3\n"), Some(vec![0, 1, 2, 3]));
        assert_eq!(parse_cpu_list("0,2-3"), Some(vec![0, 2, 3]));
        assert_eq!(parse_cpu_list("\n"), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("a"), None);
        assert_eq!(parse_cpu_list("0-1\n").map(|v| v.len()), Some(2));
        assert_eq!(parse_cpu_list("0").map(|v| v.len()), Some(1));
        assert_eq!(parse_cpu_list("0,2-3").map(|v| v.len()), Some(3));
        assert_eq!(parse_cpu_list("x").map(|v| v.len()), None);
    }

    #[test]
    fn clocks_and_burn() {
        let t0 = monotonic_ns();
        let c0 = thread_cpu_ns();
        burn_cpu(2_000_000);
        assert!(thread_cpu_ns() - c0 >= 2_000_000);
        assert!(monotonic_ns() - t0 >= 2_000_000);
    }

    #[test]
    fn policy_names() {
        assert_eq!(policy_name(SCHED_CASIO), "SCHED_CASIO");
        assert_eq!(policy_name(SCHED_FIFO | SCHED_RESET_ON_FORK), "SCHED_FIFO");
        assert_eq!(policy_name(4), "?");
    }

    #[test]
    fn host_query_calls() {
        // Calls that work on any Linux kernel.
        assert_eq!(get_priority_min(SCHED_FIFO), Ok(1));
        assert_eq!(get_priority_max(SCHED_FIFO), Ok(99));
        assert_eq!(get_priority_max(4), Err(Errno::EINVAL));
        assert!(getscheduler(0).is_ok());
        assert_eq!(getscheduler(-1), Err(Errno::EINVAL));
        let a = getattr(0).expect("getattr self");
        assert_eq!(a.size, 56);
        assert!(!get_affinity(0).unwrap().is_empty());
        assert!(online_cpus() >= 1);
    }
}
