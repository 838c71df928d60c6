//! The stress run (`--stress N`): many periodic tasks while CPUs go
//! offline and online, then whether every task stopped and every job was
//! counted alike by the task and the kernel.

use casio_abi::{
    monotonic_ns, sched_yield, setattr, sleep_ns, thread_cpu_ns, Errno, SchedAttr, SCHED_FIFO,
};
use casio_testkit::shm::{Shared, Slot};
use casio_testkit::shm_record;

use super::sys::{fork_with, kill, make_deadline, reap_any};
use super::{Config, COORD_DL, REAP_BOUND_NS};
use crate::common::cpus::{bring_all_online, possible_cpus, set_cpu_online};
use crate::common::stats::read_stat;
use crate::{MS, SEC};

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
pub(super) fn stress(cfg: &Config) -> Result<String, String> {
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
