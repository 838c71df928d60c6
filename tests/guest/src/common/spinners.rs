//! Spinning CASIO workloads on a shared board (SMP tests).

use casio_abi::{monotonic_ns, set_casio, sleep_ns, sleep_until_ns};

use crate::common::checks::{ms, sys};
use crate::common::cpus::{cpu_all, getcpu, set_aff};
use crate::common::kernel::ThrottleOff;
use crate::common::proc::{spawn, wait_for_all, Child};
use crate::common::shared::{shm_record, Shared, Slot};
use crate::common::stats::read_stat;
use crate::{MS, SEC};

/// Phases a test can tell its workload processes about.
pub const NPH: usize = 12;

/// [`SpinnerSlots::state`] values.
pub const ST_SLEEPING: u64 = 1;
pub const ST_SPINNING: u64 = 2;
pub const ST_BLOCKED: u64 = 3;
/// [`SpinnerSlots::cmd`]: block (sleep until the stop flag).
pub const CMD_BLOCK: u64 = 1;

shm_record! {
    /// What the controller tells every spinner of a [`Board`].
    pub struct BoardHead {
        pub stop: Slot,
        pub go: Slot,
        /// The current phase (< [`NPH`]).
        pub phase: Slot,
        /// When [`Start::AtT0`] spinners start.
        pub t0: Slot,
    }
}

shm_record! {
    /// One spinner of a [`Board`].
    pub struct SpinnerSlots {
        pub ready: Slot,
        /// A command from the controller ([`CMD_BLOCK`]).
        pub cmd: Slot,
        /// `ST_*`.
        pub state: Slot,
        /// When it started spinning, or blocked.
        pub time: Slot,
        /// The CPUs it ran on in each phase.
        pub mask: [Slot; NPH],
    }
}

/// How a spinner starts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Sleep-poll (1 ms) until the go flag, then spin.
    Go,
    /// Wait for T0 to be published, sleep until T0 (TIMER_ABSTIME), spin.
    AtT0,
}

/// Shared memory of a test's workload processes: a stop flag, a go flag,
/// the current phase, T0, and per task a ready flag, a command, a state,
/// a time stamp and the set of CPUs it ran on in each phase.
pub struct Board {
    pub head: Shared<BoardHead>,
    pub tasks: Shared<SpinnerSlots>,
}

impl Board {
    pub fn new(ntasks: usize) -> Result<Board, String> {
        Ok(Board {
            head: Shared::one()?,
            tasks: Shared::new(ntasks)?,
        })
    }
    /// The slots of task `i`.
    pub fn task(&self, i: usize) -> &SpinnerSlots {
        &self.tasks[i]
    }
    pub fn stopped(&self) -> bool {
        self.head.rec().stop.get() != 0
    }
    pub fn stop(&self) {
        self.head.rec().stop.set(1)
    }
    pub fn go(&self) {
        self.head.rec().go.set(1)
    }
    pub fn phase(&self) -> u64 {
        self.head.rec().phase.get()
    }
    pub fn set_phase(&self, p: usize) {
        assert!(p < NPH);
        self.head.rec().phase.set(p as u64)
    }
    pub fn set_t0(&self, t0: u64) {
        self.head.rec().t0.set(t0)
    }
    /// CPUs task `i` ran on in phase `p`.
    pub fn mask(&self, i: usize, p: usize) -> u64 {
        self.task(i).mask[p].get()
    }
    /// Record the CPU the caller runs on in its task's mask of the current
    /// phase.  The phase is read before and after the CPU: only a reading
    /// that lies wholly inside one phase counts, so a CPU seen before a
    /// change the controller made (and then announced) never lands in the
    /// mask of the phase after it.
    pub fn record_cpu(&self, i: usize) -> (u64, usize, bool) {
        let p1 = self.phase();
        let c = getcpu();
        let p2 = self.phase();
        if p1 != p2 || p1 as usize >= NPH || c >= 64 {
            return (p1, c, false);
        }
        let slot = &self.task(i).mask[p1 as usize];
        let bit = 1u64 << c;
        if slot.get() & bit == 0 {
            slot.or(bit);
        }
        (p1, c, true)
    }
}

/// Body of a spinner: announce readiness, start as `start` says, then spin
/// (recording CPUs) until the stop flag, or block on command.
pub fn spinner(b: &Board, i: usize, start: Start) -> Result<(), String> {
    let me = b.task(i);
    me.ready.set(1);
    match start {
        Start::Go => {
            while b.head.rec().go.get() == 0 {
                if b.stopped() {
                    return Ok(());
                }
                sleep_ns(MS);
            }
        }
        Start::AtT0 => {
            let t0 = loop {
                let t = b.head.rec().t0.get();
                if t != 0 {
                    break t;
                }
                if b.stopped() {
                    return Ok(());
                }
                sleep_ns(MS);
            };
            me.state.set(ST_SLEEPING);
            sleep_until_ns(t0);
        }
    }
    me.time.set(monotonic_ns());
    me.state.set(ST_SPINNING);
    let mut it = 0u32;
    loop {
        it = it.wrapping_add(1);
        if it.is_multiple_of(16) {
            if b.stopped() {
                return Ok(());
            }
            if me.cmd.get() == CMD_BLOCK {
                me.time.set(monotonic_ns());
                me.state.set(ST_BLOCKED);
                while !b.stopped() {
                    sleep_ns(5 * MS);
                }
                return Ok(());
            }
        }
        b.record_cpu(i);
    }
}

/// Fork one spinner per label, task `i` of the board for label `i`.
pub fn spawn_spinners(b: &Board, labels: &[String], start: Start) -> Result<Vec<Child>, String> {
    assert!(labels.len() <= b.tasks.len());
    let mut kids = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        kids.push(spawn(l, move || spinner(b, i, start))?);
    }
    Ok(kids)
}

/// Wait until every task `0..kids.len()` of the board is ready.
pub fn wait_ready(b: &Board, kids: &mut [Child], what: &str) -> Result<(), String> {
    let n = kids.len();
    wait_for_all(what, kids, 10 * SEC, || {
        (0..n).all(|i| b.task(i).ready.get() != 0)
    })
}

/// Wait until every task in `which` is in `state`.
pub fn wait_state(
    b: &Board,
    kids: &mut [Child],
    which: &[usize],
    state: u64,
    what: &str,
    timeout_ns: u64,
) -> Result<(), String> {
    wait_for_all(what, kids, timeout_ns, || {
        which.iter().all(|&i| b.task(i).state.get() == state)
    })
}

/// SCHED_CASIO with the 2011 block (C = D = T = `d`, reserves nothing).
pub fn set_legacy(pid: i32, id: u32, d: u64, who: &str) -> Result<(), String> {
    sys(
        &format!("sched_setscheduler({who}, CASIO, D={}ms)", ms(d)),
        set_casio(pid, id, d),
    )
}

/// The absolute deadline of `pid`'s current job.
pub fn job_deadline(pid: i32) -> Result<u64, String> {
    read_stat(pid)?.get("job_deadline_ns")
}

/// The absolute deadlines of the current jobs of `pids`.
pub fn job_deadlines(pids: &[i32]) -> Result<Vec<u64>, String> {
    pids.iter().map(|&p| job_deadline(p)).collect()
}

/// Turns the CASIO cap off while alive (RT throttling stays as it is).
/// No CASIO cap and no RT bandwidth (which CASIO shares): nothing stops
/// the CASIO tasks of a test that samples what runs.
pub fn cap_off() -> Result<ThrottleOff, String> {
    ThrottleOff::new()
}

pub fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// CPU-time deltas of `pids` over a window of `len_ns` starting now:
/// (deltas, actual window length).
pub fn measure(pids: &[i32], len_ns: u64) -> Result<(Vec<u64>, u64), String> {
    let c0 = cpu_all(pids)?;
    let t0 = monotonic_ns();
    sleep_ns(len_ns);
    let c1 = cpu_all(pids)?;
    let t1 = monotonic_ns();
    Ok((c1.iter().zip(&c0).map(|(a, b)| a - b).collect(), t1 - t0))
}

/// Start `n` spinners that go to sleep on CPU `c0` (pinned) with legacy
/// deadlines `dl(i)`, are then allowed on `cpus` while asleep, and wake
/// together at T0 (returned): a kernel without SMP placement keeps them
/// all on c0.
pub fn start_spread(
    b: &Board,
    labels: &[String],
    c0: usize,
    cpus: &[usize],
    dl: impl Fn(usize) -> u64,
) -> Result<(Vec<Child>, u64), String> {
    let mut kids = spawn_spinners(b, labels, Start::AtT0)?;
    wait_ready(b, &mut kids, "spinners ready")?;
    for (i, k) in kids.iter().enumerate() {
        set_aff(k.pid(), &[c0], &labels[i])?;
        set_legacy(k.pid(), 1 + i as u32, dl(i), &labels[i])?;
    }
    let t0 = monotonic_ns() + 600 * MS;
    b.set_t0(t0);
    let all: Vec<usize> = (0..kids.len()).collect();
    wait_state(
        b,
        &mut kids,
        &all,
        ST_SLEEPING,
        "spinners asleep until T0",
        5 * SEC,
    )?;
    for (i, k) in kids.iter().enumerate() {
        set_aff(k.pid(), cpus, &labels[i])?;
    }
    if monotonic_ns() + 50 * MS > t0 {
        return Err(
            "set-up too slow: T0 came before every spinner was allowed on all workload CPUs".into(),
        );
    }
    Ok((kids, t0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_phases() {
        let b = Board::new(2).unwrap();
        b.set_phase(3);
        let (p, c, ok) = b.record_cpu(1);
        assert!(ok && p == 3);
        assert_eq!(b.mask(1, 3), 1u64 << c);
        assert_eq!(b.mask(0, 3), 0);
    }
}
