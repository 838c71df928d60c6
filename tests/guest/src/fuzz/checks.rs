//! The checks after either run: every task killed and reaped in time, no
//! bandwidth or queued task left, `nr_running` idle, a fresh task still
//! right, a clean kernel log.

use casio_abi::{
    monotonic_ns, sched_yield, set_affinity_cpus, setattr, sleep_ns, thread_cpu_ns, Errno,
    SchedAttr, SCHED_NORMAL,
};

use super::sys::{fork_with, getpid, kill, pgrp_of, reap_any, write_file};
use super::{stock_kernel, CAP_SYSCTL, LOG_SYSCTL, REAP_BOUND_NS};
use crate::common::cpus::{bring_all_online, read_cpus_file};
use crate::common::kernel::{kernel_log, kernel_log_lost};
use crate::common::stats::read_stat;
use crate::{MS, SEC};

/// The result of the checks, printed as `ok`/`not ok` lines.
#[derive(Default)]
pub struct Report {
    n: usize,
    failed: usize,
}

impl Report {
    pub fn check(&mut self, name: &str, r: Result<String, String>) {
        self.n += 1;
        match r {
            Ok(m) if m.is_empty() => println!("ok {} - {name}", self.n),
            Ok(m) => println!("ok {} - {name}: {m}", self.n),
            Err(m) => {
                self.failed += 1;
                println!("not ok {} - {name}: {m}", self.n);
            }
        }
    }

    pub fn finish(&self) -> i32 {
        println!("{} passed, {} failed", self.n - self.failed, self.failed);
        (self.failed != 0) as i32
    }
}

/// The tasks that hold CASIO bandwidth (`reserved: 1` and a CASIO
/// policy), as `pid:comm`, for the diagnosis of a leak.
fn reserving_tasks() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let s = std::fs::read_to_string(format!("/proc/{pid}/sched_casio")).unwrap_or_default();
            s.contains("policy: casio") && s.contains("reserved: 1")
        })
        .map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            format!("{pid}:{}", comm.trim())
        })
        .collect()
}

/// Our process group: every task the run made, however deep.
fn group_members(pgid: i32) -> Vec<i32> {
    let me = getpid();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|&pid| pgrp_of(pid) == Some(pgid))
        .collect()
}

/// Kills every task of the run and reaps them; the time it took.
fn kill_and_reap(pgid: i32) -> Result<String, String> {
    let t0 = monotonic_ns();
    loop {
        let left = group_members(pgid);
        for &pid in &left {
            let _ = kill(pid, libc::SIGKILL);
        }
        while reap_any().is_some() {}
        if left.is_empty() {
            return Ok(format!("in {} ms", (monotonic_ns() - t0) / MS));
        }
        if monotonic_ns() - t0 > REAP_BOUND_NS {
            let states: Vec<String> = left
                .iter()
                .take(8)
                .map(|p| {
                    let s = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
                    let st = s.rsplit_once(") ").map(|(_, r)| &r[..1]).unwrap_or("?");
                    format!("{p}:{st}")
                })
                .collect();
            return Err(format!(
                "{} tasks left after {} s: {}",
                left.len(),
                REAP_BOUND_NS / SEC,
                states.join(" ")
            ));
        }
        sleep_ns(20 * MS);
    }
}

fn check_bw() -> (Result<String, String>, Result<String, String>) {
    let total = crate::common::bw::read_bw().map(|(t, _, _)| t);
    let total = match total {
        Ok(0) => Ok(String::new()),
        Ok(t) => Err(format!(
            "total_bw {t}, want 0: admitted bandwidth leaked (tasks holding some: {:?})",
            reserving_tasks()
        )),
        Err(e) => Err(e),
    };
    let pinned = match crate::common::bw::read_pinned_bw() {
        Ok(v) if v.iter().all(|&b| b == 0) => Ok(String::new()),
        Ok(v) => Err(format!("pinned_bw {v:?}, want all 0")),
        Err(e) => Err(e),
    };
    (total, pinned)
}

fn check_queues() -> Result<String, String> {
    let rows = read_cpus_file()?.ok_or("no /proc/sched_casio_cpus")?;
    let busy: Vec<String> = rows
        .iter()
        .filter(|r| r.queued != 0 || r.curr_pid != 0)
        .map(|r| format!("cpu{} queued {} curr {}", r.cpu, r.queued, r.curr_pid))
        .collect();
    if busy.is_empty() {
        Ok(String::new())
    } else {
        Err(busy.join(", "))
    }
}

/// With every task gone, the running count settles at us alone (a
/// kworker may come and go): a leaked `nr_running` stays.
fn check_nr_running() -> Result<String, String> {
    let mut least = u64::MAX;
    for _ in 0..20 {
        least = least.min(crate::common::kernel::procs_running()?);
        if least <= 1 {
            break;
        }
        sleep_ns(50 * MS);
    }
    if least <= 2 {
        Ok(format!("procs_running {least}"))
    } else {
        Err(format!(
            "procs_running never below {least} with the system idle"
        ))
    }
}

/// A fresh periodic task: 25 jobs of 1 ms in 1 s, ended by
/// `sched_yield()`, must be released, completed and (nearly) all on time;
/// then a task of 90% of a CPU must be admitted pinned to each online CPU.
fn check_fresh_task() -> Result<String, String> {
    let pid = fork_with(|| {
        let run = || -> Result<(), String> {
            setattr(0, &SchedAttr::casio(4 * MS, 40 * MS, 40 * MS), 0)
                .map_err(|e| format!("setattr 4/40 ms: {e}"))?;
            let end = monotonic_ns() + SEC;
            let mut jobs = 0;
            while monotonic_ns() < end {
                let t = thread_cpu_ns();
                while thread_cpu_ns() - t < MS {}
                sched_yield().map_err(|e| format!("yield: {e}"))?;
                jobs += 1;
            }
            let s = read_stat(0)?;
            let (rel, done, miss) = (
                s.n("jobs_released"),
                s.n("jobs_completed"),
                s.n("deadline_misses"),
            );
            if done != jobs || rel < done || rel > done + 1 || jobs < 20 || miss > 2 {
                return Err(format!(
                    "{jobs} yields: released {rel}, completed {done}, missed {miss}"
                ));
            }
            setattr(0, &SchedAttr::new(SCHED_NORMAL), 0).map_err(|e| format!("{e}"))?;
            for cpu in crate::common::cpus::online_cpu_list()? {
                set_affinity_cpus(0, &[cpu]).map_err(|e| format!("pin to {cpu}: {e}"))?;
                setattr(0, &SchedAttr::casio(90 * MS, 100 * MS, 100 * MS), 0)
                    .map_err(|e| format!("90% of CPU {cpu} refused: {e}"))?;
                setattr(0, &SchedAttr::new(SCHED_NORMAL), 0).map_err(|e| format!("{e}"))?;
            }
            Ok(())
        };
        match run() {
            Ok(()) => 0,
            Err(e) => {
                println!("# fresh task: {e}");
                1
            }
        }
    })?;
    let end = monotonic_ns() + 20 * SEC;
    loop {
        let mut st = 0;
        // SAFETY: waits for our own child.
        let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
        if r == pid {
            return if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 {
                Ok("25 jobs of 1/40 ms, then 90% admitted on each CPU".into())
            } else {
                Err(format!("fresh task failed (status {st:#x})"))
            };
        }
        if monotonic_ns() > end {
            let _ = kill(pid, libc::SIGKILL);
            return Err("fresh task did not finish in 20 s".into());
        }
        sleep_ns(10 * MS);
    }
}

/// Kernel log lines that are splats, counted (not printed: the console
/// judge prints them, and the words must not appear twice). A log that
/// wrapped cannot show that nothing happened, so it fails too: the long
/// runs boot with a ring buffer that holds them (`log_buf_len`).
fn check_log() -> Result<String, String> {
    let log = kernel_log()?;
    let lost = kernel_log_lost()?;
    let n = crate::common::splat::splats_in(&log).len();
    if lost > 0 {
        Err(format!(
            "the kernel log wrapped: its first {lost} records are gone (boot with a larger \
             log_buf_len); {n} splat lines in the rest"
        ))
    } else if n == 0 {
        Ok(format!("{} lines read", log.len()))
    } else {
        Err(format!(
            "{n} splat lines in the kernel log (see the console)"
        ))
    }
}

fn restore_sysctls() -> Vec<String> {
    let mut out = vec![];
    if stock_kernel() {
        return out;
    }
    for (path, v) in [(CAP_SYSCTL, "950000"), (LOG_SYSCTL, "0")] {
        if let Err(e) = write_file(path, v) {
            out.push(format!("restore {path}: {}", Errno(e)));
        }
    }
    out
}

pub(super) fn final_checks(rep: &mut Report, pgid: i32) {
    rep.check("every task killed and reaped", kill_and_reap(pgid));
    for m in bring_all_online().into_iter().chain(restore_sysctls()) {
        println!("# {m}");
    }
    if stock_kernel() {
        println!("# stock kernel: the checks of CASIO's state are left out");
    } else {
        let (total, pinned) = check_bw();
        rep.check("no admitted bandwidth left (total_bw)", total);
        rep.check("no bandwidth left pinned to any CPU (pinned_bw)", pinned);
        rep.check("no CASIO task queued on any CPU", check_queues());
    }
    rep.check("nr_running back to idle", check_nr_running());
    if !stock_kernel() {
        rep.check(
            "a fresh periodic task and admission still right",
            check_fresh_task(),
        );
    }
    rep.check("no splat in the kernel log", check_log());
}
