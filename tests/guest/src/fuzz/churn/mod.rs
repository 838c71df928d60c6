//! The syscall fuzzer: the victims ([`victim`](mod@victim)), the
//! privileged and the unprivileged workers ([`worker`](mod@worker)), and
//! the coordinator ([`fuzz()`]) that starts them, replaces killed victims
//! and sums up.

use casio_abi::{monotonic_ns, set_affinity_cpus, setattr, sleep_ns, SchedAttr, SCHED_FIFO};
use casio_testkit::rng::Rng;
use casio_testkit::shm::{Shared, Slot};
use casio_testkit::shm_record;

use super::ops::OPS;
use super::sys::{fork_with, getpid, make_deadline, reap_any};
use super::{stock_kernel, Config, COORD_DL};
use crate::{MS, SEC};

mod victim;
mod watch;
mod worker;

use victim::spawn_victim;
use watch::{DlWatch, StarveWatch};
use worker::{sentinel, unprivileged, worker};

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

/// The syscall fuzzer: the churn, then whether every call answered as
/// documented.
pub(super) fn fuzz(cfg: &Config) -> Result<String, String> {
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
        let mut dl_watch = DlWatch::new(&workers, unpriv, getpid());
        let mut starve_watch = StarveWatch::new();
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
                dl_watch.check(now);
                starve_watch.check();
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
        println!(
            "#   {:>8} windows where a DEADLINE task ran past its bandwidth",
            dl_watch.overruns
        );
        println!(
            "#   {:>8} runnable tasks that did not run for a 10 s window",
            starve_watch.starved
        );
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
