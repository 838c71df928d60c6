//! The privileged workers, which issue random operations at the victims,
//! and the unprivileged worker, whose calls at two sentinels must all be
//! refused.

use std::sync::atomic::Ordering;

use casio_abi::{
    getattr, monotonic_ns, set_affinity_cpus, setattr, sleep_ns, Errno, SchedAttr, SchedCasioParam,
    SCHED_BATCH, SCHED_CASIO, SCHED_DEADLINE, SCHED_FIFO, SCHED_FLAG_CASIO_BUDGET,
    SCHED_FLAG_DL_OVERRUN, SCHED_IDLE, SCHED_NORMAL, SCHED_RESET_ON_FORK, SCHED_RR,
};
use casio_testkit::rng::Rng;

use super::ChurnShm;
use crate::common::cpus::{possible_cpus, set_cpu_online};
use crate::fuzz::ops::{pick_op, random_attr, random_mask, random_policy, random_time, Op, OPS};
use crate::fuzz::sys::{getpid, kill, make_deadline, pgrp_of, write_file};
use crate::fuzz::{stock_kernel, Config, CAP_SYSCTL, LOG_SYSCTL, UNPRIV_DL, WORKER_DL};
use crate::MS;

// ---------------------------------------------------------------------
// Privileged workers

struct Worker<'a> {
    shm: &'a ChurnShm,
    /// The process group of the run.
    pgid: i32,
    cfg: &'a Config,
    r: Rng,
    ncpu: usize,
    /// Unexpected results, printed up to a few.
    bad: u64,
}

impl Worker<'_> {
    fn victim(&mut self) -> i32 {
        let i = self.r.below(self.cfg.victims as u64) as usize;
        self.shm.victims[i].get() as i32
    }

    fn unexpected(&mut self, what: String) {
        self.bad += 1;
        self.shm.c().worker_bad.add(1);
        if self.bad <= 3 {
            println!("# worker {}: unexpected: {what}", getpid());
        }
    }

    fn run(&mut self, op: Op) {
        let pid = self.victim();
        // A killed victim's slot holds its pid until the coordinator
        // replaces it, and pids wrap: act only on members of the run.
        if pid <= 0 || pgrp_of(pid) != Some(self.pgid) {
            return;
        }
        match op {
            Op::SetAttr => {
                let (a, flags) = random_attr(&mut self.r, self.cfg.dl);
                let r = setattr(pid, &a, flags);
                self.check_setattr(pid, &a, flags, r);
            }
            Op::SetSchedCasio => {
                let mut p = SchedCasioParam::new(
                    self.r.below(1000) as u32,
                    match self.r.below(3) {
                        0 => random_time(&mut self.r),
                        _ => (1 + self.r.below(200)) * MS,
                    },
                );
                if self.r.below(8) == 0 {
                    p.sched_priority = self.r.below(100) as i32;
                }
                let policy = match self.r.below(4) {
                    0 => SCHED_CASIO | SCHED_RESET_ON_FORK,
                    _ => SCHED_CASIO,
                };
                if stock_kernel() {
                    let fifo = SCHED_FIFO | (policy & SCHED_RESET_ON_FORK);
                    let _ = casio_abi::setscheduler(pid, fifo, 99);
                    return;
                }
                let r = casio_abi::set_casio_param(pid, policy, &p);
                let valid = p.sched_priority == 0
                    && casio_abi::casio_params_valid(p.deadline, p.deadline, p.deadline);
                if !valid && r.is_ok() {
                    self.unexpected(format!("CASIO block {p:?} accepted"));
                }
            }
            Op::SetSchedOther => {
                let policy = random_policy(&mut self.r, false);
                let policy = if policy == SCHED_CASIO {
                    SCHED_FIFO
                } else {
                    policy
                };
                let prio = self.r.below(101) as i32;
                let _ = casio_abi::setscheduler(pid, policy, prio);
            }
            Op::Get => match self.r.below(4) {
                0 => {
                    if let Ok(a) = getattr(pid) {
                        let p = a.sched_policy as i32;
                        if ![
                            SCHED_NORMAL,
                            SCHED_FIFO,
                            SCHED_RR,
                            SCHED_BATCH,
                            SCHED_IDLE,
                            SCHED_DEADLINE,
                            SCHED_CASIO,
                        ]
                        .contains(&p)
                        {
                            self.unexpected(format!("getattr policy {p}"));
                        }
                        if p == SCHED_CASIO
                            && !casio_abi::casio_params_valid(
                                a.sched_runtime,
                                a.sched_deadline,
                                a.sched_period,
                            )
                        {
                            self.unexpected(format!("getattr of a CASIO task: {a:?}"));
                        }
                    }
                }
                1 => {
                    let _ = casio_abi::getparam(pid);
                }
                2 => {
                    let _ = casio_abi::rr_get_interval(pid);
                }
                _ => {
                    let _ = casio_abi::getscheduler(pid);
                }
            },
            Op::Affinity => {
                let mask = random_mask(&mut self.r, self.ncpu);
                let _ = set_affinity_cpus(pid, &mask);
            }
            Op::StopCont => {
                let sig = if self.r.below(2) == 0 {
                    libc::SIGSTOP
                } else {
                    libc::SIGCONT
                };
                let _ = kill(pid, sig);
            }
            Op::RegisterWrite => {
                let file = if self.r.below(2) == 0 {
                    "/proc/casio/add"
                } else {
                    "/proc/process_sched_add"
                };
                let text = match self.r.below(5) {
                    0 => "abc".to_string(),
                    1 => "-1".to_string(),
                    2 => format!("{}", self.r.next_u64()),
                    3 => String::new(),
                    _ => format!("{pid}\n"),
                };
                let _ = write_file(file, &text);
            }
            Op::CapSysctl => {
                const VALUES: [&str; 9] = [
                    "950000", "-1", "500000", "1000000", "100", "0", "2000000", "x", "950000",
                ];
                let v = VALUES[self.r.below(VALUES.len() as u64) as usize];
                let _ = write_file(CAP_SYSCTL, v);
            }
            Op::LogSysctl => {
                let v = ["0", "1", "2", "-1"][self.r.below(4) as usize];
                let _ = write_file(LOG_SYSCTL, v);
            }
            Op::Hotplug => {
                // One write at a time: under TCG each takes up to seconds.
                let busy = self.shm.c().hotplug_busy.atomic();
                if self.cfg.hotplug
                    && self.ncpu > 1
                    && busy
                        .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                {
                    let cpu = 1 + self.r.below(self.ncpu as u64 - 1) as usize;
                    if set_cpu_online(cpu, self.r.below(2) == 0).is_ok() {
                        self.shm.c().hotplugs.add(1);
                    }
                    busy.store(0, Ordering::SeqCst);
                }
            }
            Op::ReadProc => {
                let path = match self.r.below(5) {
                    0 => "/proc/casio_event".to_string(),
                    1 => "/proc/sched_casio".to_string(),
                    2 => "/proc/sched_casio_cpus".to_string(),
                    3 => "/proc/sched_casio_bw".to_string(),
                    _ => format!("/proc/{pid}/sched_casio"),
                };
                let _ = std::fs::read(path);
            }
            Op::Kill => {
                let _ = kill(pid, libc::SIGKILL);
            }
        }
    }

    /// What the kernel must answer to a `sched_setattr`: invalid CASIO
    /// parameters are EINVAL, whatever else happens.
    fn check_setattr(&mut self, pid: i32, a: &SchedAttr, flags: u32, r: Result<(), Errno>) {
        if a.sched_policy as i32 != SCHED_CASIO || flags != 0 || a.size != 56 {
            return;
        }
        if a.sched_flags & !(SCHED_FLAG_CASIO_BUDGET | SCHED_FLAG_DL_OVERRUN | 1) != 0 {
            return;
        }
        let valid = a.sched_priority == 0
            && casio_abi::casio_params_valid(a.sched_runtime, a.sched_deadline, a.sched_period);
        match r {
            Ok(()) if !valid => self.unexpected(format!("invalid CASIO attr accepted: {a:?}")),
            Err(e) if valid && e != Errno::EBUSY && e != Errno::ESRCH => self.unexpected(format!(
                "valid CASIO attr for {pid} refused with {e}: {a:?}"
            )),
            Err(e) if !valid && e != Errno::EINVAL && e != Errno::ESRCH => {
                self.unexpected(format!("invalid CASIO attr refused with {e}, not EINVAL"))
            }
            _ => {}
        }
    }
}

pub(super) fn worker(shm: &ChurnShm, cfg: &Config, seed: u64, end_ns: u64) -> i32 {
    if let Err(e) = make_deadline(WORKER_DL.0, WORKER_DL.1, false) {
        println!("# worker: {e}");
        return 2;
    }
    let mut w = Worker {
        shm,
        // SAFETY: no arguments.
        pgid: unsafe { libc::getpgrp() },
        cfg,
        r: Rng::new(seed),
        ncpu: possible_cpus().map(|c| c.len()).unwrap_or(1),
        bad: 0,
    };
    while shm.c().stop.get() == 0 && monotonic_ns() < end_ns {
        if shm.c().calls.add(1) >= cfg.calls {
            break;
        }
        let op = pick_op(&mut w.r, cfg.ops);
        shm.c().ops[OPS.iter().position(|(o, _)| *o == op).unwrap()].add(1);
        w.run(op);
    }
    0
}

// ---------------------------------------------------------------------
// The unprivileged worker and its sentinels

/// What a sentinel looks like from outside: policy, parameters, CPUs.
/// Not a fair task's runtime: from 6.12 on it is the EEVDF slice, which
/// the kernel sets itself.
fn sentinel_state(pid: i32) -> Result<(SchedAttr, Vec<usize>), Errno> {
    let mut a = getattr(pid)?;
    a.size = 0;
    if a.sched_policy != SCHED_CASIO as u32 && a.sched_policy != SCHED_DEADLINE as u32 {
        a.sched_runtime = 0;
    }
    Ok((a, casio_abi::get_affinity(pid)?))
}

pub(super) fn sentinel() -> i32 {
    loop {
        sleep_ns(50 * MS);
    }
}

pub(super) fn unprivileged(shm: &ChurnShm, seed: u64, sentinels: [i32; 2], end_ns: u64) -> i32 {
    if let Err(e) = make_deadline(UNPRIV_DL.0, UNPRIV_DL.1, false) {
        println!("# unprivileged worker: {e}");
        return 2;
    }
    let before: Vec<_> = sentinels.iter().map(|&p| sentinel_state(p)).collect();
    // SAFETY: plain syscalls; dropping root also drops every capability.
    if unsafe {
        libc::setresgid(65534, 65534, 65534) != 0 || libc::setresuid(65534, 65534, 65534) != 0
    } {
        println!("# unprivileged worker: setresuid: {}", Errno::last());
        return 2;
    }
    let mut r = Rng::new(seed);
    let ncpu = possible_cpus().map(|c| c.len()).unwrap_or(1);
    let bad = |what: String| {
        if shm.c().unpriv_bad.add(1) < 3 {
            println!("# unprivileged worker: {what}");
        }
    };
    while shm.c().stop.get() == 0 && monotonic_ns() < end_ns {
        let k = r.below(2) as usize;
        let pid = sentinels[k];
        // A stock kernel has neither the CASIO calls nor their files.
        let op = match r.below(8) {
            0 | 1 | 6 if stock_kernel() => 2,
            op => op,
        };
        let (what, res): (&str, Result<(), Errno>) = match op {
            0 => {
                let t = (1 + r.below(100)) * MS;
                (
                    "setattr CASIO",
                    setattr(pid, &SchedAttr::casio(t / 4, t, t), 0),
                )
            }
            1 => (
                "setscheduler CASIO",
                casio_abi::set_casio(pid, 1, (1 + r.below(100)) * MS),
            ),
            2 => (
                "setscheduler FIFO",
                casio_abi::setscheduler(pid, SCHED_FIFO, 50),
            ),
            3 => (
                "setscheduler NORMAL",
                casio_abi::setscheduler(pid, SCHED_NORMAL, 0),
            ),
            4 => (
                "setaffinity",
                set_affinity_cpus(
                    pid,
                    &random_mask(&mut r, ncpu)
                        .iter()
                        .copied()
                        .filter(|&c| c < ncpu)
                        .chain([0])
                        .collect::<Vec<_>>(),
                ),
            ),
            5 => ("SIGSTOP", kill(pid, libc::SIGSTOP)),
            6 => (
                "write /proc/casio/add",
                write_file("/proc/casio/add", &format!("{pid}\n")).map_err(Errno),
            ),
            _ => {
                let (file, v) = match r.below(3) {
                    _ if stock_kernel() => ("/sys/devices/system/cpu/cpu1/online", "0"),
                    0 => (CAP_SYSCTL, "-1"),
                    1 => (LOG_SYSCTL, "1"),
                    _ => ("/sys/devices/system/cpu/cpu1/online", "0"),
                };
                (file, write_file(file, v).map_err(Errno))
            }
        };
        shm.c().unpriv_calls.add(1);
        match res {
            Err(e) if e == Errno::EPERM || e.0 == libc::EACCES => {}
            other => bad(format!(
                "{what} on sentinel {pid}: {other:?}, want EPERM/EACCES"
            )),
        }
        if sentinel_state(pid) != before[k] {
            bad(format!("{what} changed sentinel {pid}"));
        }
    }
    0
}
