//! `casio-fuzz`: seeded random churn of everything root can do to
//! SCHED_CASIO, then the invariants that must hold once it is over.
//!
//! Victim processes loop over spinning, yielding, sleeping, forking and
//! taking PI futexes. Worker processes, as SCHED_DEADLINE tasks so that no
//! CASIO or RT victim can starve them, issue random operations at the
//! victims: `sched_setattr` and `sched_setscheduler` with valid, boundary
//! and garbage values, the getters, `sched_setaffinity`, SIGSTOP and
//! SIGCONT, writes to the registration files and sysctls, CPU hotplug,
//! reads of the statistics files, and SIGKILL (the coordinator replaces
//! killed victims). An unprivileged worker sends the calls that change
//! something to two sentinel tasks; each must fail with EPERM or EACCES
//! and leave the sentinel as it was.
//!
//! Each worker's sequence of operations comes from the seed, which is
//! printed, so a run can be replayed; the interleaving is the kernel's.
//! A run ends after a number of calls or a time, whichever comes first.
//! Then every task is killed and must be reaped within a bound, and the
//! checks run: no admitted bandwidth left in all or on any CPU, no CASIO
//! task queued, `nr_running` back to idle, a fresh periodic task and
//! admission still right, and a clean kernel log. `--stress N` runs N
//! periodic CASIO tasks with hotplug cycling instead, and checks that no
//! task is lost and every job is counted.

use std::sync::atomic::{AtomicBool, Ordering};

use casio_abi::{
    getattr, monotonic_ns, online_cpus, sched_yield, set_affinity_cpus, setattr, sleep_ns,
    thread_cpu_ns, Errno, SchedAttr, SchedCasioParam, SCHED_BATCH, SCHED_CASIO, SCHED_DEADLINE,
    SCHED_FIFO, SCHED_FLAG_CASIO_BUDGET, SCHED_FLAG_DL_OVERRUN, SCHED_FLAG_RESET_ON_FORK,
    SCHED_IDLE, SCHED_NORMAL, SCHED_RESET_ON_FORK, SCHED_RR,
};
use casio_testkit::rng::Rng;
use casio_testkit::shm::{Shared, Slot};
use casio_testkit::shm_record;

use crate::common::cpus::{bring_all_online, possible_cpus, read_cpus_file, set_cpu_online};
use crate::common::kernel::kernel_log;
use crate::common::stats::read_stat;
use crate::common::work::spin_until;
use crate::{MS, SEC};

/// The CASIO cap sysctl, restored at the end.
const CAP_SYSCTL: &str = "/proc/sys/kernel/sched_casio_runtime_us";

/// A kernel without the series (`make kernel CASIO=n`): the same churn
/// runs with SCHED_FIFO 99, CASIO's place among the RT priorities, in
/// place of SCHED_CASIO, and the checks of CASIO's own state are left
/// out. This is the reference for "is it CASIO's fault?".
fn stock_kernel() -> bool {
    STOCK.load(Ordering::Relaxed)
}

/// Set once by `main()`, before anything forks.
static STOCK: AtomicBool = AtomicBool::new(false);
/// The event-log sysctl, restored at the end.
const LOG_SYSCTL: &str = "/proc/sys/kernel/sched_casio_event_log";
/// How long every task may take to die and be reaped after SIGKILL: a
/// CASIO task waiting for its release dies at the release, at most one
/// period (4.2 s) later; TCG adds the rest.
const REAP_BOUND_NS: u64 = 30 * SEC;
/// Run time of each SCHED_DEADLINE worker per period: four of them, the
/// coordinator and the unprivileged worker fit two CPUs, so that hotplug
/// may take all others offline (the DEADLINE admission refuses the
/// last one with EBUSY).
const WORKER_DL: (u64, u64) = (5 * MS, 20 * MS);
const COORD_DL: (u64, u64) = (MS, 20 * MS);

/// The operations of the privileged workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    SetAttr,
    SetSchedCasio,
    SetSchedOther,
    Get,
    Affinity,
    StopCont,
    RegisterWrite,
    CapSysctl,
    LogSysctl,
    Hotplug,
    ReadProc,
    Kill,
}

/// Every operation, with its weight in the random choice.
pub const OPS: [(Op, u64); 12] = [
    (Op::SetAttr, 30),
    (Op::SetSchedCasio, 8),
    (Op::SetSchedOther, 6),
    (Op::Get, 10),
    (Op::Affinity, 12),
    (Op::StopCont, 6),
    (Op::RegisterWrite, 4),
    (Op::CapSysctl, 3),
    (Op::LogSysctl, 2),
    (Op::Hotplug, 2),
    (Op::ReadProc, 6),
    (Op::Kill, 1),
];

impl Op {
    /// The name `--ops` takes.
    pub fn short(self) -> &'static str {
        match self {
            Op::SetAttr => "setattr",
            Op::SetSchedCasio => "casio",
            Op::SetSchedOther => "other",
            Op::Get => "get",
            Op::Affinity => "affinity",
            Op::StopCont => "stop",
            Op::RegisterWrite => "register",
            Op::CapSysctl => "cap",
            Op::LogSysctl => "log",
            Op::Hotplug => "hotplug",
            Op::ReadProc => "read",
            Op::Kill => "kill",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::SetAttr => "sched_setattr",
            Op::SetSchedCasio => "sched_setscheduler(CASIO block)",
            Op::SetSchedOther => "sched_setscheduler(other)",
            Op::Get => "getattr/getparam/rr_get_interval",
            Op::Affinity => "sched_setaffinity",
            Op::StopCont => "SIGSTOP/SIGCONT",
            Op::RegisterWrite => "/proc/casio/add writes",
            Op::CapSysctl => "cap sysctl writes",
            Op::LogSysctl => "event-log sysctl writes",
            Op::Hotplug => "CPU offline/online",
            Op::ReadProc => "/proc reads",
            Op::Kill => "SIGKILL of victims",
        }
    }
}

/// A weighted random operation among those `allowed` (a bit per entry of
/// [`OPS`]).
pub fn pick_op(r: &mut Rng, allowed: u32) -> Op {
    let ops = || {
        OPS.iter()
            .enumerate()
            .filter(|(i, _)| allowed & 1 << i != 0)
    };
    let total: u64 = ops().map(|(_, (_, w))| w).sum();
    let mut x = r.below(total.max(1));
    for (_, &(op, w)) in ops() {
        if x < w {
            return op;
        }
        x -= w;
    }
    Op::Get
}

/// What a run does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub seed: u64,
    pub calls: u64,
    pub secs: u64,
    pub victims: usize,
    pub workers: usize,
    pub hotplug: bool,
    /// Victims may be switched to and from SCHED_DEADLINE, with valid
    /// parameters only. Off by default: stock 6.1 does not survive
    /// DEADLINE tasks with CPU hotplug (see the README).
    pub dl: bool,
    /// 0: the syscall fuzzer; N: the stress run with N periodic tasks.
    pub stress: usize,
    /// The operations the workers may pick, a bit per entry of [`OPS`].
    pub ops: u32,
    /// Victims only spin, yield, sleep and fork: no PI futexes and no
    /// policy changes of their own.
    pub simple_victims: bool,
    /// The stress run's tasks are SCHED_FIFO sleepers instead: the same
    /// load for a stock kernel, to compare hotplug times against.
    pub fifo: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0,
            calls: 20_000,
            secs: 120,
            victims: 24,
            workers: 4,
            hotplug: true,
            dl: false,
            stress: 0,
            ops: (1 << OPS.len()) - 1,
            simple_victims: false,
            fifo: false,
        }
    }
}

pub const USAGE: &str = "usage: casio-fuzz [--seed N] [--calls N] [--secs N] [--victims N] \
[--workers N] [--no-hotplug] [--dl] [--simple-victims] [--ops a:b:...] [--stress TASKS [--fifo]]
ops: setattr casio other get affinity stop register cap log hotplug read kill";

fn num(s: Option<&String>, what: &str) -> Result<u64, String> {
    let s = s.ok_or_else(|| format!("{what} needs a value"))?;
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("{what}: {s:?} is not a number"))
}

/// Parses the command line; a seed of 0 (the default) takes the time.
pub fn parse_args(args: &[String]) -> Result<Config, String> {
    let mut c = Config::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => c.seed = num(it.next(), "--seed")?,
            "--calls" => c.calls = num(it.next(), "--calls")?,
            "--secs" => c.secs = num(it.next(), "--secs")?,
            "--victims" => c.victims = num(it.next(), "--victims")? as usize,
            "--workers" => c.workers = num(it.next(), "--workers")? as usize,
            "--stress" => c.stress = num(it.next(), "--stress")? as usize,
            "--no-hotplug" => c.hotplug = false,
            "--dl" => c.dl = true,
            "--simple-victims" => c.simple_victims = true,
            "--fifo" => c.fifo = true,
            "--ops" => {
                let list = it.next().ok_or("--ops needs a value")?;
                c.ops = 0;
                for name in list.split(':') {
                    let i = OPS
                        .iter()
                        .position(|(op, _)| op.short() == name)
                        .ok_or_else(|| format!("--ops: unknown operation {name:?}\n{USAGE}"))?;
                    c.ops |= 1 << i;
                }
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            o => return Err(format!("unknown argument {o:?}\n{USAGE}")),
        }
    }
    if c.victims == 0 || c.victims > 256 || c.workers == 0 || c.workers > 8 {
        return Err(format!("--victims 1..256 and --workers 1..8\n{USAGE}"));
    }
    Ok(c)
}

const NFUTEX: usize = 4;

shm_record! {
    /// What the coordinator, the workers and the victims of the churn
    /// share.
    struct Churn {
        calls: Slot,
        stop: Slot,
        unpriv_calls: Slot,
        unpriv_bad: Slot,
        worker_bad: Slot,
        /// Held by the worker whose CPU hotplug write is under way.
        hotplug_busy: Slot,
        hotplugs: Slot,
        /// The PI futex words, in the low 32 bits.
        futex: [Slot; NFUTEX],
        /// The robust-list node of each futex word, at the same distance
        /// before it (the robust list's `futex_offset`).
        node: [Slot; NFUTEX],
        /// How often each operation of [`OPS`] was picked.
        ops: [Slot; OPS.len()],
    }
}

/// The churn's shared memory: the record, and each victim's pid.
struct ChurnShm {
    churn: Shared<Churn>,
    victims: Shared<Slot>,
}

impl ChurnShm {
    fn new(victims: usize) -> Result<ChurnShm, String> {
        Ok(ChurnShm {
            churn: Shared::one()?,
            victims: Shared::new(victims)?,
        })
    }

    fn c(&self) -> &Churn {
        self.churn.rec()
    }
}

// ---------------------------------------------------------------------
// Small process helpers

fn getpid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::getpid() }
}

fn kill(pid: i32, sig: i32) -> Result<(), Errno> {
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
fn fork_with(f: impl FnOnce() -> i32) -> Result<i32, String> {
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
fn reap_any() -> Option<(i32, i32)> {
    let mut st = 0;
    // SAFETY: `st` is a live int.
    let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
    (pid > 0).then_some((pid, st))
}

fn make_deadline(c: u64, t: u64, reset_on_fork: bool) -> Result<(), String> {
    let mut a = SchedAttr::deadline(c, t, t);
    if reset_on_fork {
        a.sched_flags = SCHED_FLAG_RESET_ON_FORK;
    }
    setattr(0, &a, 0).map_err(|e| format!("SCHED_DEADLINE {c}/{t}: {e}"))
}

fn write_file(path: &str, text: &str) -> Result<(), i32> {
    std::fs::write(path, text).map_err(|e| e.raw_os_error().unwrap_or(-1))
}

// ---------------------------------------------------------------------
// PI futexes, shared by the victims

fn futex_word(shm: &ChurnShm, i: usize) -> *mut u32 {
    // The low half of a 64-bit slot (little-endian x86_64).
    shm.c().futex[i].atomic() as *const _ as *mut u32
}

fn futex_pi(word: *mut u32, op: i32, timeout: Option<&libc::timespec>) -> Result<(), Errno> {
    let ts = timeout.map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` points into the live shared mapping; `ts` is null or
    // a live timespec.
    let r = unsafe { libc::syscall(libc::SYS_futex, word, op, 0, ts, 0usize, 0u32) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// A robust-futex list (`set_robust_list(2)`): the kernel releases the
/// PI futexes a victim holds when it is killed, marking them
/// FUTEX_OWNER_DIED, so that the others can take them again.
#[repr(C)]
struct RobustListHead {
    next: usize,
    futex_offset: libc::c_long,
    list_op_pending: usize,
}

/// The robust list node of PI futex `i` (only its owner links it).
fn robust_node(shm: &ChurnShm, i: usize) -> usize {
    shm.c().node[i].atomic() as *const _ as usize
}

/// Registers the calling victim's robust list, empty.
fn robust_init() -> &'static mut RobustListHead {
    let head = Box::leak(Box::new(RobustListHead {
        next: 0,
        futex_offset: std::mem::offset_of!(Churn, futex) as libc::c_long
            - std::mem::offset_of!(Churn, node) as libc::c_long,
        list_op_pending: 0,
    }));
    head.next = head as *mut _ as usize;
    // SAFETY: the head lives for the rest of the process.
    unsafe {
        libc::syscall(
            libc::SYS_set_robust_list,
            head as *mut RobustListHead,
            std::mem::size_of::<RobustListHead>(),
        )
    };
    head
}

/// Takes PI futex `i` for at most 20 ms of waiting, holds it while
/// spinning up to 2 ms, and releases it; the robust list covers a kill
/// at any point.
fn pi_critical_section(shm: &ChurnShm, head: &mut RobustListHead, r: &mut Rng, i: usize) {
    let word = futex_word(shm, i);
    let node = robust_node(shm, i);
    let head_addr = head as *mut RobustListHead as usize;
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let ns = now.tv_nsec as u64 + 20 * MS;
    let deadline = libc::timespec {
        tv_sec: now.tv_sec + (ns / SEC) as libc::time_t,
        tv_nsec: (ns % SEC) as libc::c_long,
    };
    // Bit 0 of an entry marks a PI futex.
    head.list_op_pending = node | 1;
    if futex_pi(word, libc::FUTEX_LOCK_PI, Some(&deadline)).is_ok() {
        shm.c().node[i].set(head_addr as u64);
        head.next = node | 1;
        head.list_op_pending = 0;
        spin_until(monotonic_ns() + r.below(2 * MS));
        head.list_op_pending = node | 1;
        head.next = head_addr;
        let _ = futex_pi(word, libc::FUTEX_UNLOCK_PI, None);
    }
    head.list_op_pending = 0;
}

// ---------------------------------------------------------------------
// Victims

/// A victim: loops until killed.
fn victim(shm: &ChurnShm, seed: u64, simple: bool) -> i32 {
    let mut r = Rng::new(seed);
    let head = robust_init();
    loop {
        match r.below(if simple { 6 } else { 9 }) {
            0 | 1 => spin_until(monotonic_ns() + r.below(20 * MS)),
            2 => {
                let _ = sched_yield();
            }
            3 => {
                // SAFETY: plain sleep.
                unsafe { libc::usleep(r.below(5000) as u32) };
            }
            4 => {
                let spin = r.below(2 * MS);
                let yield_too = r.below(2) == 0;
                if let Ok(pid) = fork_with(|| {
                    spin_until(monotonic_ns() + spin);
                    if yield_too {
                        let _ = sched_yield();
                    }
                    0
                }) {
                    let mut st = 0;
                    // SAFETY: waits for our own child.
                    while unsafe { libc::waitpid(pid, &mut st, 0) } < 0
                        && Errno::last() == Errno::EINTR
                    {}
                }
            }
            5 => sleep_ns(r.below(10 * MS)),
            6 | 7 => {
                let i = r.below(NFUTEX as u64) as usize;
                pi_critical_section(shm, head, &mut r, i)
            }
            _ => {
                // The victim changes its own policy.
                let a = if r.below(2) == 0 {
                    let t = (2 + r.below(50)) * MS;
                    if stock_kernel() {
                        let mut a = SchedAttr::new(SCHED_FIFO);
                        a.sched_priority = 99;
                        a
                    } else {
                        SchedAttr::casio(t / 10, t, t)
                    }
                } else {
                    SchedAttr::new(SCHED_NORMAL)
                };
                let _ = setattr(0, &a, 0);
            }
        }
    }
}

fn spawn_victim(shm: &ChurnShm, cfg: &Config, slot: usize, seed: u64) -> Result<i32, String> {
    let pid = fork_with(|| victim(shm, seed, cfg.simple_victims))?;
    shm.victims[slot].set(pid as u64);
    Ok(pid)
}

// ---------------------------------------------------------------------
// Random arguments

fn random_time(r: &mut Rng) -> u64 {
    match r.below(10) {
        0 => 0,
        1 => 1023 + r.below(3),
        2 => 100_000 + r.below(3) - 1,
        3 => 4_194_304_000 + r.below(3) - 1,
        4 => 1 << 63 | r.below(1000),
        5 => r.next_u64(),
        6 => (1 + r.below(100)) * 100_000,
        _ => (1 + r.below(200)) * MS,
    }
}

fn random_policy(r: &mut Rng, dl: bool) -> i32 {
    let p = match r.below(16) {
        0..=5 => SCHED_CASIO,
        6 => SCHED_NORMAL,
        7 => SCHED_FIFO,
        8 => SCHED_RR,
        9 => SCHED_BATCH,
        10 => SCHED_IDLE,
        11 => SCHED_DEADLINE,
        12 => 4,
        13 => 7,
        14 => 9,
        _ => r.next_u64() as i32,
    };
    let p = if p == SCHED_DEADLINE && !dl {
        SCHED_CASIO
    } else {
        p
    };
    if p == SCHED_CASIO && stock_kernel() {
        SCHED_FIFO
    } else {
        p
    }
}

fn random_flags(r: &mut Rng) -> u64 {
    match r.below(8) {
        0..=2 => 0,
        3 => SCHED_FLAG_CASIO_BUDGET,
        4 => SCHED_FLAG_DL_OVERRUN | SCHED_FLAG_CASIO_BUDGET,
        5 => SCHED_FLAG_RESET_ON_FORK,
        6 => 1 << r.below(64),
        _ => r.next_u64(),
    }
}

/// A random `sched_attr`: mostly sane CASIO parameters, then boundary
/// values and garbage.
fn random_attr(r: &mut Rng, dl: bool) -> (SchedAttr, u32) {
    let policy = random_policy(r, dl);
    let mut a = SchedAttr::new(policy);
    match policy {
        SCHED_CASIO if r.below(2) == 0 => {
            // Valid, and small enough to be admitted mostly.
            let t = (1 + r.below(100)) * MS;
            let d = t - r.below(t / 2);
            a.sched_runtime = 1024 + r.below(d / 8);
            a.sched_deadline = d;
            a.sched_period = if r.below(4) == 0 { 0 } else { t };
        }
        SCHED_DEADLINE => {
            // Only valid DEADLINE parameters: stock kernels do not all
            // survive random ones with hotplug (see the README).
            let t = (10 + r.below(90)) * MS;
            a.sched_runtime = MS / 2 + r.below(MS);
            a.sched_deadline = t;
            a.sched_period = t;
        }
        SCHED_FIFO | SCHED_RR if r.below(4) != 0 => a.sched_priority = 1 + r.below(99) as u32,
        _ => {
            a.sched_runtime = random_time(r);
            a.sched_deadline = random_time(r);
            a.sched_period = random_time(r);
            a.sched_priority = if r.below(4) == 0 {
                r.next_u64() as u32
            } else {
                0
            };
            a.sched_nice = r.below(40) as i32 - 20;
        }
    }
    a.sched_flags = if policy == SCHED_DEADLINE {
        0
    } else {
        random_flags(r)
    };
    a.size = match r.below(10) {
        0 => 48,
        1 => r.below(128) as u32,
        _ => 56,
    };
    let flags = if r.below(20) == 0 {
        r.next_u64() as u32
    } else {
        0
    };
    (a, flags)
}

fn random_mask(r: &mut Rng, ncpu: usize) -> Vec<usize> {
    match r.below(6) {
        0 => vec![r.below(ncpu as u64) as usize],
        1 => (0..ncpu).collect(),
        2 => vec![],
        3 => vec![ncpu + r.below(60) as usize],
        _ => (0..ncpu).filter(|_| r.below(2) == 0).collect(),
    }
}

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

fn worker(shm: &ChurnShm, cfg: &Config, seed: u64, end_ns: u64) -> i32 {
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
fn sentinel_state(pid: i32) -> Result<(SchedAttr, Vec<usize>), Errno> {
    let mut a = getattr(pid)?;
    a.size = 0;
    Ok((a, casio_abi::get_affinity(pid)?))
}

fn sentinel() -> i32 {
    loop {
        sleep_ns(50 * MS);
    }
}

fn unprivileged(shm: &ChurnShm, seed: u64, sentinels: [i32; 2], end_ns: u64) -> i32 {
    if let Err(e) = make_deadline(2 * MS, 20 * MS, false) {
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

// ---------------------------------------------------------------------
// Checks after the run

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

/// The process group of `pid`, from `/proc/PID/stat`.
fn pgrp_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid pgrp ...: comm may hold spaces.
    let rest = stat.rsplit_once(") ")?.1;
    rest.split_whitespace().nth(2)?.parse().ok()
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
/// judge prints them, and the words must not appear twice).
fn check_log() -> Result<String, String> {
    let log = kernel_log()?;
    let n = crate::common::splat::splats_in(&log).len();
    if n == 0 {
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

fn final_checks(rep: &mut Report, pgid: i32) {
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

// ---------------------------------------------------------------------
// The runs

/// Makes the run a process group of its own, whose orphans we reap; its
/// id.
fn setup(cfg: &Config) -> i32 {
    // SAFETY: plain syscalls on ourselves.
    unsafe {
        libc::setpgid(0, 0);
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    println!(
        "# casio-fuzz: seed {:#x}, {} CPUs online of {}{}",
        cfg.seed,
        online_cpus(),
        possible_cpus().map(|c| c.len()).unwrap_or(0),
        if stock_kernel() {
            ", stock kernel: SCHED_FIFO 99 in place of SCHED_CASIO"
        } else {
            ""
        }
    );
    getpid()
}

/// The syscall fuzzer: the churn, then whether every call answered as
/// documented.
fn fuzz(cfg: &Config) -> Result<String, String> {
    let ops: Vec<&str> = (OPS.iter().enumerate())
        .filter(|(i, _)| cfg.ops & 1 << i != 0)
        .map(|(_, (op, _))| op.short())
        .collect();
    println!(
        "# {} calls or {} s, {} victims ({}), {} workers, hotplug {}, DEADLINE victims {}, ops {}",
        cfg.calls,
        cfg.secs,
        cfg.victims,
        if cfg.simple_victims { "simple" } else { "full" },
        cfg.workers,
        cfg.hotplug,
        cfg.dl,
        ops.join(":")
    );
    let run = || -> Result<String, String> {
        let shm = ChurnShm::new(cfg.victims)?;
        let mut seeds = Rng::new(cfg.seed);
        let t0 = monotonic_ns();
        let end = t0 + cfg.secs * SEC;
        for i in 0..cfg.victims {
            spawn_victim(&shm, cfg, i, seeds.next_u64())?;
        }
        let casio_sentinel = fork_with(sentinel)?;
        let sentinel_attr = if stock_kernel() {
            SchedAttr::rt(SCHED_FIFO, 99)
        } else {
            SchedAttr::casio(MS, 100 * MS, 100 * MS)
        };
        setattr(casio_sentinel, &sentinel_attr, 0).map_err(|e| format!("CASIO sentinel: {e}"))?;
        let normal_sentinel = fork_with(sentinel)?;
        // On CPU 0, which never goes offline, their affinity reads stay.
        for p in [casio_sentinel, normal_sentinel] {
            set_affinity_cpus(p, &[0]).map_err(|e| format!("pin sentinel: {e}"))?;
        }
        let mut workers = vec![];
        for _ in 0..cfg.workers {
            let s = seeds.next_u64();
            workers.push(fork_with(|| worker(&shm, cfg, s, end))?);
        }
        let s = seeds.next_u64();
        let unpriv = fork_with(|| unprivileged(&shm, s, [casio_sentinel, normal_sentinel], end))?;
        // For reading a stack dump of the run: who is who.
        println!(
            "# pids: coordinator {}, sentinels {casio_sentinel} {normal_sentinel}, workers \
             {workers:?}, unprivileged {unpriv}",
            getpid()
        );
        // The coordinator forks victims to replace killed ones, so its
        // children must not inherit SCHED_DEADLINE.
        make_deadline(COORD_DL.0, COORD_DL.1, true)?;
        let mut replaced = 0u64;
        let mut next_report = t0 + 10 * SEC;
        let mut worker_fail = vec![];
        while !workers.is_empty() {
            while let Some((pid, st)) = reap_any() {
                if let Some(i) = workers.iter().position(|&w| w == pid) {
                    workers.swap_remove(i);
                    if st != 0 {
                        worker_fail.push(format!("worker {pid} ended with status {st:#x}"));
                    }
                } else if let Some(i) =
                    (0..cfg.victims).find(|&i| shm.victims[i].get() == pid as u64)
                {
                    spawn_victim(&shm, cfg, i, seeds.next_u64())?;
                    replaced += 1;
                }
            }
            let now = monotonic_ns();
            if now > end + 60 * SEC {
                shm.c().stop.set(1);
                worker_fail.push("workers still running 60 s after the end".into());
                break;
            }
            if now > next_report {
                println!(
                    "# {} s: {} calls",
                    (now - t0) / SEC,
                    shm.c().calls.get().min(cfg.calls)
                );
                next_report += 10 * SEC;
            }
            sleep_ns(5 * MS);
        }
        shm.c().stop.set(1);
        let mut st = 0;
        // SAFETY: waits for our own child, with the stop flag set.
        unsafe { libc::waitpid(unpriv, &mut st, 0) };
        let secs = (monotonic_ns() - t0) as f64 / SEC as f64;
        let calls = shm.c().calls.get().min(cfg.calls);
        println!(
            "# {calls} calls in {secs:.1} s ({:.0}/s), {replaced} victims replaced",
            calls as f64 / secs
        );
        for (i, (op, _)) in OPS.iter().enumerate() {
            println!("#   {:>8} {}", shm.c().ops[i].get(), op.name());
        }
        println!(
            "#   {:>8} unprivileged calls at the sentinels",
            shm.c().unpriv_calls.get()
        );
        println!("#   {:>8} CPU hotplug writes done", shm.c().hotplugs.get());
        let (bad, unpriv_bad) = (shm.c().worker_bad.get(), shm.c().unpriv_bad.get());
        if !worker_fail.is_empty() || bad != 0 || unpriv_bad != 0 || st != 0 {
            return Err(format!(
                "{bad} unexpected results, {unpriv_bad} unprivileged calls not refused or not \
                 harmless, unprivileged worker status {st:#x}; {}",
                worker_fail.join("; ")
            ));
        }
        if calls == 0 {
            return Err("no call was made".into());
        }
        Ok(format!("{calls} calls in {secs:.0} s"))
    };
    run()
}

shm_record! {
    /// One stress task: its own counts of jobs and CPU time, then what
    /// /proc/PID/sched_casio said once it stopped.
    struct StressTask {
        yields: Slot,
        released: Slot,
        completed: Slot,
        missed: Slot,
        /// Set when the task stopped and parked.
        done: Slot,
        cpu_ns: Slot,
    }
}

/// Jobs a stress task may see renewed on a wake-up, beyond its yields.
const MAX_RENEWALS: u64 = 2;

/// The reference load of `--stress N --fifo`, which also runs on a stock
/// kernel: a SCHED_FIFO 50 task that runs `runtime / 2` per period and
/// sleeps until its next one; it counts its jobs, and the jobs done after
/// the end of their period as missed.
fn fifo_stress_task(stop: &Slot, me: &StressTask, runtime: u64, period: u64) -> i32 {
    if casio_abi::setscheduler(0, SCHED_FIFO, 50).is_err() {
        return 3;
    }
    let mut next = monotonic_ns();
    let cpu0 = thread_cpu_ns();
    while stop.get() == 0 {
        let t = thread_cpu_ns();
        while thread_cpu_ns() - t < runtime / 2 {}
        me.yields.add(1);
        // Late as a CASIO job would be: done after its release + period.
        if monotonic_ns() > next + period {
            me.missed.add(1);
        }
        next += period;
        casio_abi::sleep_until_ns(next);
    }
    me.cpu_ns.set(thread_cpu_ns() - cpu0);
    me.done.set(1);
    park()
}

/// Blocks until killed. A stopped stress task waits here, so that its
/// counts stay as they are while the coordinator reads them: a task that
/// read its own file could block in the read and have the job it woke in
/// renewed by the CBS rule.
fn park() -> ! {
    loop {
        // SAFETY: plain syscall.
        unsafe { libc::pause() };
    }
}

/// The stress run: `cfg.stress` periodic CASIO tasks, together 80% of one
/// CPU so that hotplug may take every other CPU away, each with jobs of
/// 0.1 ms ended by `sched_yield()`, for `cfg.secs`, while CPUs 1.. go
/// offline and online in turn.
fn stress(cfg: &Config) -> Result<String, String> {
    let n = cfg.stress;
    let period = 250 * MS;
    let runtime = (period * 8 / 10 / n as u64).max(1024 * 2);
    println!(
        "# stress: {n} CASIO tasks of {runtime}/{period} ns for {} s with hotplug {}",
        cfg.secs, cfg.hotplug
    );
    let run = || -> Result<String, String> {
        let stop = Shared::<Slot>::one()?;
        let tasks = Shared::<StressTask>::new(n)?;
        let mut pids = vec![];
        for i in 0..n {
            let (stop, me) = (stop.rec(), &tasks[i]);
            pids.push(fork_with(move || {
                if cfg.fifo {
                    return fifo_stress_task(stop, me, runtime, period);
                }
                if setattr(0, &SchedAttr::casio(runtime, period, period), 0).is_err() {
                    return 3;
                }
                let cpu0 = thread_cpu_ns();
                while stop.get() == 0 {
                    let t = thread_cpu_ns();
                    while thread_cpu_ns() - t < runtime / 2 {}
                    if sched_yield().is_err() {
                        return 4;
                    }
                    me.yields.add(1);
                }
                me.cpu_ns.set(thread_cpu_ns() - cpu0);
                me.done.set(1);
                park()
            })?);
        }
        make_deadline(COORD_DL.0, COORD_DL.1, true)?;
        let t0 = monotonic_ns();
        let end = t0 + cfg.secs * SEC;
        let ncpu = possible_cpus().map(|c| c.len()).unwrap_or(1);
        let (mut cycles, mut busy, mut longest) = (0u64, 0u64, 0u64);
        let mut cpu = 1;
        while monotonic_ns() < end {
            if cfg.hotplug && ncpu > 1 {
                for on in [false, true] {
                    let t = monotonic_ns();
                    match set_cpu_online(cpu, on) {
                        Ok(()) => cycles += on as u64,
                        Err(libc::EBUSY) => busy += 1,
                        Err(e) => return Err(format!("CPU {cpu} online={on}: {}", Errno(e))),
                    }
                    longest = longest.max(monotonic_ns() - t);
                    sleep_ns(200 * MS);
                }
                cpu = 1 + cpu % (ncpu - 1);
            } else {
                sleep_ns(100 * MS);
            }
        }
        for m in bring_all_online() {
            println!("# {m}");
        }
        for l in std::fs::read_to_string("/proc/sched_casio")
            .unwrap_or_default()
            .lines()
        {
            println!("# {l}");
        }
        stop.rec().set(1);
        // Every task stops and parks; then its counts are read, and it is
        // killed.
        let stop_end = monotonic_ns() + REAP_BOUND_NS;
        while tasks.iter().any(|t| t.done.get() == 0) && monotonic_ns() < stop_end {
            sleep_ns(20 * MS);
        }
        let mut st_bad = vec![];
        for (i, &pid) in pids.iter().enumerate() {
            if cfg.fifo || tasks[i].done.get() == 0 {
                continue;
            }
            match read_stat(pid) {
                Ok(s) => {
                    tasks[i].released.set(s.n("jobs_released"));
                    tasks[i].completed.set(s.n("jobs_completed"));
                    tasks[i].missed.set(s.n("deadline_misses"));
                }
                Err(e) => st_bad.push(format!("{pid}: {e}")),
            }
        }
        for &pid in &pids {
            let _ = kill(pid, libc::SIGKILL);
        }
        let reap_end = monotonic_ns() + REAP_BOUND_NS;
        let mut left: Vec<i32> = pids.clone();
        while !left.is_empty() && monotonic_ns() < reap_end {
            while let Some((pid, st)) = reap_any() {
                if let Some(i) = left.iter().position(|&p| p == pid) {
                    left.swap_remove(i);
                    let killed = libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGKILL;
                    if !killed {
                        st_bad.push(format!("{pid}:{st:#x}"));
                    }
                }
            }
            sleep_ns(20 * MS);
        }
        let (mut jobs, mut misses, mut mismatched) = (0u64, 0u64, vec![]);
        let mut renewed = 0;
        let cpu_ns: u64 = tasks.iter().map(|t| t.cpu_ns.get()).sum();
        let mut idle = 0;
        for i in 0..n {
            let t = &tasks[i];
            let y = t.yields.get();
            let (rel, done, miss) = (t.released.get(), t.completed.get(), t.missed.get());
            // A job also ends when the CBS rule renews it on a wake-up
            // after the task blocked, which a few tasks of a long run see
            // once or twice (where they block is not known yet).
            renewed += (done > y) as u64;
            if !cfg.fifo
                && t.done.get() == 1
                && (done < y || done > y + MAX_RENEWALS || rel < done || rel > done + 1)
            {
                mismatched.push(format!(
                    "task {i}: {y} yields, released {rel}, completed {done}"
                ));
            }
            idle += (y == 0) as usize;
            jobs += y;
            misses += miss.min(u64::MAX / 2);
        }
        let reported = tasks.iter().filter(|t| t.done.get() == 1).count();
        println!(
            "# {jobs} jobs, {misses} missed, {renewed} tasks with jobs renewed on a wake-up, \
             {cycles} offline/online cycles ({busy} EBUSY, longest write {} ms); the tasks used \
             {} ms of CPU, {} us a job",
            longest / MS,
            cpu_ns / MS,
            cpu_ns / jobs.max(1) / 1000
        );
        let mut errs = vec![];
        if !left.is_empty() {
            errs.push(format!(
                "{} tasks not ended {} s after the stop",
                left.len(),
                REAP_BOUND_NS / SEC
            ));
        }
        if reported != n {
            errs.push(format!("{} of {n} tasks stopped", reported));
        }
        if idle != 0 {
            errs.push(format!("{idle} tasks never completed a job"));
        }
        if !st_bad.is_empty() {
            errs.push(format!(
                "tasks failed: {}",
                st_bad.iter().take(8).cloned().collect::<Vec<_>>().join(" ")
            ));
        }
        if !mismatched.is_empty() {
            errs.push(format!(
                "{} tasks' job counts differ from the kernel's: {}",
                mismatched.len(),
                mismatched
                    .iter()
                    .take(4)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        if cfg.hotplug && ncpu > 1 && cycles == 0 {
            errs.push("no CPU went offline and back".into());
        }
        if errs.is_empty() {
            Ok(format!(
                "{n} tasks, {jobs} jobs counted alike by tasks and kernel, {cycles} hotplug cycles"
            ))
        } else {
            Err(errs.join("; "))
        }
    };
    run()
}

/// `casio-fuzz` main.
pub fn main(args: &[String]) -> i32 {
    let mut cfg = match parse_args(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("casio-fuzz: {e}");
            return 2;
        }
    };
    if cfg.seed == 0 {
        cfg.seed = monotonic_ns() ^ ((getpid() as u64) << 32) | 1;
    }
    STOCK.store(
        !std::path::Path::new("/proc/sched_casio_bw").exists(),
        Ordering::Relaxed,
    );
    let mut rep = Report::default();
    let pgid = setup(&cfg);
    let (name, r) = if cfg.stress > 0 {
        ("stress: no task lost, every job counted", stress(&cfg))
    } else {
        ("random churn: every result as documented", fuzz(&cfg))
    };
    // Back to a plain task, so the checks do not depend on our bandwidth.
    let _ = setattr(0, &SchedAttr::new(SCHED_NORMAL), 0);
    rep.check(name, r);
    final_checks(&mut rep, pgid);
    rep.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args() {
        let a = |v: &[&str]| parse_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(a(&[]).unwrap(), Config::default());
        let c = a(&["--seed", "0x10", "--calls", "5", "--no-hotplug", "--dl"]).unwrap();
        assert_eq!((c.seed, c.calls, c.hotplug, c.dl), (16, 5, false, true));
        assert!(a(&["--calls"]).is_err());
        assert!(a(&["--victims", "0"]).is_err());
        assert!(a(&["--bogus"]).unwrap_err().contains("bogus"));
        assert_eq!(a(&["--stress", "1000"]).unwrap().stress, 1000);
    }

    #[test]
    fn ops_follow_the_seed_and_cover_all() {
        let seq = |s| {
            let mut r = Rng::new(s);
            (0..2000)
                .map(|_| pick_op(&mut r, u32::MAX))
                .collect::<Vec<_>>()
        };
        assert_eq!(seq(7), seq(7));
        assert_ne!(seq(7), seq(8));
        for (op, _) in OPS {
            assert!(seq(7).contains(&op), "{op:?} never picked");
        }
    }

    #[test]
    fn attrs_cover_valid_and_invalid() {
        let mut r = Rng::new(3);
        let (mut valid, mut invalid) = (0, 0);
        for _ in 0..2000 {
            let (a, _) = random_attr(&mut r, true);
            if a.sched_policy as i32 == SCHED_CASIO {
                if casio_abi::casio_params_valid(a.sched_runtime, a.sched_deadline, a.sched_period)
                {
                    valid += 1;
                } else {
                    invalid += 1;
                }
            }
            if a.sched_policy as i32 == SCHED_DEADLINE {
                assert!(a.sched_runtime <= a.sched_deadline && a.sched_deadline == a.sched_period);
            }
        }
        assert!(
            valid > 100 && invalid > 100,
            "{valid} valid, {invalid} invalid"
        );
    }
}
