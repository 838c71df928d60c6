//! CPUs: lists, hotplug, per-process CPU clocks, `/proc/sched_casio_cpus`
//! and the CPU layout of the SMP tests ([`setup`]).

use std::collections::BTreeSet;

use casio_abi::{monotonic_ns, set_affinity_cpu, set_affinity_cpus, sleep_ns, sys_cpu_list, Errno};

use crate::common::checks::sys;
use crate::{diag, MS, SEC};

/// Fewest online CPUs the tests accept.
pub const MIN_CPUS: usize = 4;

/// The per-CPU SMP state file of the class.
pub const CPUS_FILE: &str = "/proc/sched_casio_cpus";
/// Its header line.
pub const CPUS_HEADER: &str = "cpu online queued curr_pid curr_deadline_ns";

// ---------------------------------------------------------------------------
// Parsers (pure, host-tested)
// ---------------------------------------------------------------------------

/// One row of [`CPUS_FILE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuRow {
    /// CPU number.
    pub cpu: usize,
    /// The CPU is online.
    pub online: bool,
    /// CASIO tasks in the CPU's EDF queue, the running one included.
    pub queued: u64,
    /// The CASIO task running there, 0 if none.
    pub curr_pid: i32,
    /// Its absolute deadline (CLOCK_MONOTONIC ns), 0 if none.
    pub curr_deadline: u64,
}

/// Parse [`CPUS_FILE`]: the header, then one `cpuN online queued curr_pid
/// curr_deadline_ns` row per CPU in increasing CPU order.
pub fn parse_cpus_file(text: &str) -> Result<Vec<CpuRow>, String> {
    let mut lines = text.lines();
    let h = lines.next().unwrap_or("");
    if h.trim_end() != CPUS_HEADER {
        return Err(format!("header {h:?}, want {CPUS_HEADER:?}"));
    }
    let mut rows: Vec<CpuRow> = Vec::new();
    for l in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() != 5 {
            return Err(format!("row {l:?}: {} fields, want 5", f.len()));
        }
        let cpu: usize = f[0]
            .strip_prefix("cpu")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("row {l:?}: label is not cpuN"))?;
        let online = match f[1] {
            "0" => false,
            "1" => true,
            o => return Err(format!("row {l:?}: online {o:?} is not 0 or 1")),
        };
        let num = |s: &str| -> Result<u64, String> {
            s.parse()
                .map_err(|e| format!("row {l:?}: {s:?} is not a number: {e}"))
        };
        let queued = num(f[2])?;
        let pid = num(f[3])?;
        let curr_deadline = num(f[4])?;
        let curr_pid =
            i32::try_from(pid).map_err(|_| format!("row {l:?}: pid {pid} out of range"))?;
        if let Some(prev) = rows.last() {
            if cpu <= prev.cpu {
                return Err(format!(
                    "row {l:?} after cpu{}: CPUs out of order",
                    prev.cpu
                ));
            }
        }
        rows.push(CpuRow {
            cpu,
            online,
            queued,
            curr_pid,
            curr_deadline,
        });
    }
    Ok(rows)
}

/// Field 39 (`processor`, the CPU the task last ran on) of a
/// `/proc/PID/stat` text.
pub fn parse_stat_processor(stat: &str) -> Option<usize> {
    // Field 2, the command, is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(39 - 3)?.parse().ok()
}

/// Indexes of the `m` smallest values of `deadlines` (ties: lower index).
pub fn earliest(deadlines: &[u64], m: usize) -> BTreeSet<usize> {
    let mut idx: Vec<usize> = (0..deadlines.len()).collect();
    idx.sort_by_key(|&i| (deadlines[i], i));
    idx.into_iter().take(m).collect()
}

/// CPU numbers of a bit mask, for messages.
pub fn mask_cpus(mask: u64) -> Vec<usize> {
    (0..64).filter(|c| mask & (1u64 << c) != 0).collect()
}

/// Bit mask of a CPU list.
pub fn cpus_mask(cpus: &[usize]) -> u64 {
    cpus.iter().fold(0, |m, &c| m | (1u64 << c))
}

// ---------------------------------------------------------------------------
// Kernel helpers
// ---------------------------------------------------------------------------

/// [`CPUS_FILE`] parsed; `None` when the kernel has no such file.
pub fn read_cpus_file() -> Result<Option<Vec<CpuRow>>, String> {
    match std::fs::read_to_string(CPUS_FILE) {
        Ok(t) => parse_cpus_file(&t)
            .map(Some)
            .map_err(|e| format!("{CPUS_FILE}: {e}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("read {CPUS_FILE}: {e}")),
    }
}

/// Possible CPUs (`/sys/devices/system/cpu/possible`).
pub fn possible_cpus() -> Result<Vec<usize>, String> {
    sys_cpu_list("possible")
}

/// Online CPUs (`/sys/devices/system/cpu/online`).
pub fn online_cpu_list() -> Result<Vec<usize>, String> {
    sys_cpu_list("online")
}

pub fn online_path(cpu: usize) -> String {
    format!("/sys/devices/system/cpu/cpu{cpu}/online")
}

/// Whether `cpu` is online (a CPU without an `online` file, CPU 0, is).
pub fn cpu_online(cpu: usize) -> bool {
    match std::fs::read_to_string(online_path(cpu)) {
        Ok(s) => s.trim() == "1",
        Err(_) => cpu == 0,
    }
}

/// Write `0` or `1` to the CPU's `online` file; the errno on failure.
pub fn set_cpu_online(cpu: usize, on: bool) -> Result<(), i32> {
    match std::fs::write(online_path(cpu), if on { "1" } else { "0" }) {
        Ok(()) => Ok(()),
        Err(e) => Err(e.raw_os_error().unwrap_or(-1)),
    }
}

/// Bring every possible CPU online; returns what had to be done (empty
/// when every CPU was online).
pub fn bring_all_online() -> Vec<String> {
    let mut out = Vec::new();
    let Ok(cpus) = possible_cpus() else {
        return out;
    };
    for cpu in cpus {
        if cpu_online(cpu) {
            continue;
        }
        let mut r = Err(0);
        for _ in 0..5 {
            r = set_cpu_online(cpu, true);
            if r.is_ok() {
                break;
            }
            sleep_ns(200 * MS);
        }
        out.push(match r {
            Ok(()) => format!("brought CPU {cpu} back online"),
            Err(e) => format!("could not bring CPU {cpu} back online: {}", Errno(e)),
        });
    }
    out
}

/// Brings every CPU back online when dropped (also on a panic).
pub struct OnlineGuard;

impl Drop for OnlineGuard {
    fn drop(&mut self) {
        for m in bring_all_online() {
            diag!("{m}");
        }
    }
}

/// Take `cpu` offline, retrying EBUSY for up to `timeout_ns`; returns how
/// many EBUSY it got.
pub fn offline(cpu: usize, timeout_ns: u64) -> Result<u32, String> {
    let end = monotonic_ns() + timeout_ns;
    let mut busy = 0;
    loop {
        match set_cpu_online(cpu, false) {
            Ok(()) => return Ok(busy),
            Err(e) if e == libc::EBUSY && monotonic_ns() < end => {
                busy += 1;
                sleep_ns(100 * MS);
            }
            Err(e) => {
                return Err(format!(
                    "taking CPU {cpu} offline: {} (after {busy} EBUSY)",
                    Errno(e)
                ))
            }
        }
    }
}

pub fn online(cpu: usize) -> Result<(), String> {
    set_cpu_online(cpu, true).map_err(|e| format!("bringing CPU {cpu} online: {}", Errno(e)))
}

/// CPU time of process `pid` (its CPUCLOCK_SCHED process clock: the
/// kernel's sum_exec_runtime, including the current slice), ns.
pub fn cpu_ns(pid: i32) -> Result<u64, String> {
    // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED), as glibc's
    // clock_getcpuclockid() computes it (without its extra syscall).
    let clk: libc::clockid_t = ((!pid) << 3) | 2;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write into.
    if unsafe { libc::clock_gettime(clk, &mut ts) } != 0 {
        return Err(format!("CPU clock of pid {pid}: {}", Errno::last()));
    }
    Ok(ts.tv_sec as u64 * SEC + ts.tv_nsec as u64)
}

/// CPU time of every pid.
pub fn cpu_all(pids: &[i32]) -> Result<Vec<u64>, String> {
    pids.iter().map(|&p| cpu_ns(p)).collect()
}

/// The CPU `pid` last ran on (`/proc/PID/stat` field 39).
pub fn last_cpu(pid: i32) -> Result<usize, String> {
    let p = format!("/proc/{pid}/stat");
    let s = std::fs::read_to_string(&p).map_err(|e| format!("read {p}: {e}"))?;
    parse_stat_processor(&s).ok_or_else(|| format!("no processor field in {p}: {s:?}"))
}

/// The CPU the caller runs on.
pub fn getcpu() -> usize {
    // SAFETY: sched_getcpu takes no arguments.
    let c = unsafe { libc::sched_getcpu() };
    if c < 0 {
        63
    } else {
        c as usize
    }
}

/// CPUs of a test: `n` online, the controller's `ctl` (the last one) and
/// the workload CPUs `work` (all others).
pub struct Ctx {
    pub n: usize,
    pub ctl: usize,
    pub work: Vec<usize>,
}

impl Ctx {
    /// M: how many workload CASIO tasks can run at once.
    pub fn m(&self) -> usize {
        self.work.len()
    }
}

/// Every CPU online, at least [`MIN_CPUS`] of them, numbered 0..n-1; the
/// caller pinned to the last one.
pub fn setup() -> Result<Ctx, String> {
    for m in bring_all_online() {
        diag!("{m}");
    }
    let online = online_cpu_list()?;
    let n = online.len();
    if n < MIN_CPUS {
        return Err(format!(
            "needs at least {MIN_CPUS} online CPUs, found {n} ({online:?}); boot with QEMU_SMP=4 or more"
        ));
    }
    if online != (0..n).collect::<Vec<_>>() {
        return Err(format!("online CPUs {online:?} are not 0..{n}"));
    }
    let ctl = n - 1;
    sys(
        &format!("pin the controller to CPU {ctl}"),
        set_affinity_cpu(0, ctl),
    )?;
    Ok(Ctx {
        n,
        ctl,
        work: (0..ctl).collect(),
    })
}

pub fn set_aff(pid: i32, cpus: &[usize], who: &str) -> Result<(), String> {
    sys(
        &format!("sched_setaffinity({who}, {cpus:?})"),
        set_affinity_cpus(pid, cpus),
    )
}

#[cfg(test)]
mod tests {
    use casio_abi::burn_cpu;

    use super::*;

    #[test]
    fn cpu_masks() {
        assert_eq!(cpus_mask(&[0, 2]), 5);
        assert_eq!(mask_cpus(5), vec![0, 2]);
    }

    #[test]
    fn cpus_file_parse() {
        let t = "cpu online queued curr_pid curr_deadline_ns\ncpu0 1 2 57 123456789\ncpu1 1 0 0 0\ncpu2 0 0 0 0\n";
        let r = parse_cpus_file(t).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(
            r[0],
            CpuRow {
                cpu: 0,
                online: true,
                queued: 2,
                curr_pid: 57,
                curr_deadline: 123456789
            }
        );
        assert!(!r[2].online);
        assert!(parse_cpus_file("cpu online\ncpu0 1 0 0 0\n").is_err());
        assert!(parse_cpus_file(&format!("{CPUS_HEADER}\ncpu0 1 0 0\n")).is_err());
        assert!(parse_cpus_file(&format!("{CPUS_HEADER}\ncpu0 2 0 0 0\n")).is_err());
        assert!(parse_cpus_file(&format!("{CPUS_HEADER}\ncpu1 1 0 0 0\ncpu0 1 0 0 0\n")).is_err());
        assert!(parse_cpus_file(&format!("{CPUS_HEADER}\nx0 1 0 0 0\n")).is_err());
        assert_eq!(
            parse_cpus_file(&format!("{CPUS_HEADER}\n")).unwrap(),
            vec![]
        );
    }

    #[test]
    fn stat_processor() {
        let mut fields: Vec<String> = (3..=52).map(|i| i.to_string()).collect();
        fields[39 - 3] = "2".into();
        let s = format!("123 (a b) c) {}", fields.join(" "));
        assert_eq!(parse_stat_processor(&s), Some(2));
        assert_eq!(parse_stat_processor("1 (x) R 1"), None);
        let own = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(parse_stat_processor(&own).is_some());
    }

    #[test]
    fn earliest_set() {
        let e = earliest(&[50, 10, 40, 10, 30], 3);
        assert_eq!(e, [1, 3, 4].into_iter().collect());
        assert!(earliest(&[], 2).is_empty());
    }

    #[test]
    fn own_cpu_clock() {
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        let a = cpu_ns(pid).unwrap();
        burn_cpu(5 * MS);
        let b = cpu_ns(pid).unwrap();
        assert!(b - a >= 5 * MS, "{a} -> {b}");
    }
}
