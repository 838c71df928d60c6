//! The operations of the privileged workers, picked by weight, and the
//! random arguments they take.

use casio_abi::{
    SchedAttr, SCHED_BATCH, SCHED_CASIO, SCHED_DEADLINE, SCHED_FIFO, SCHED_FLAG_CASIO_BUDGET,
    SCHED_FLAG_DL_OVERRUN, SCHED_FLAG_RESET_ON_FORK, SCHED_IDLE, SCHED_NORMAL, SCHED_RR,
};
use casio_testkit::rng::Rng;

use super::stock_kernel;
use crate::MS;

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

    pub(super) fn name(self) -> &'static str {
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

// ---------------------------------------------------------------------
// Random arguments

pub(super) fn random_time(r: &mut Rng) -> u64 {
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

pub(super) fn random_policy(r: &mut Rng, dl: bool) -> i32 {
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
pub(super) fn random_attr(r: &mut Rng, dl: bool) -> (SchedAttr, u32) {
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

pub(super) fn random_mask(r: &mut Rng, ncpu: usize) -> Vec<usize> {
    match r.below(6) {
        0 => vec![r.below(ncpu as u64) as usize],
        1 => (0..ncpu).collect(),
        2 => vec![],
        3 => vec![ncpu + r.below(60) as usize],
        _ => (0..ncpu).filter(|_| r.below(2) == 0).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
