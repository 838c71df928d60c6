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
//!
//! The pieces. `sys` and `ops` are the leaves; `churn`, `stress` and
//! `checks` use them and this module, never each other, and this module
//! runs them:
//!
//! - this module: [`Config`] and its command line, the constants the runs
//!   share, [`main`];
//! - `sys`: small process helpers (fork, kill, reap, files);
//! - `ops`: the workers' operations ([`Op`], [`pick_op`]) and the random
//!   arguments they take;
//! - `churn`: the syscall fuzzer (its victims, its workers, the
//!   coordinator);
//! - `stress`: the stress run of many periodic tasks;
//! - `checks`: the checks after either run, and their [`Report`].

use std::sync::atomic::{AtomicBool, Ordering};

use casio_abi::{monotonic_ns, online_cpus, setattr, SchedAttr, SCHED_NORMAL};

use crate::common::cpus::possible_cpus;
use crate::{MS, SEC};

mod checks;
mod churn;
mod ops;
mod stress;
mod sys;

pub use checks::Report;
pub use ops::{pick_op, Op, OPS};

use checks::final_checks;
use churn::fuzz;
use stress::stress;
use sys::getpid;

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
const UNPRIV_DL: (u64, u64) = (2 * MS, 20 * MS);

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
}
