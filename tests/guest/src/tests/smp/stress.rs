//! A stress run with churn and hotplug.

use casio_abi::{
    burn_cpu, getscheduler, monotonic_ns, sched_yield, set_affinity_all, set_affinity_cpus,
    setattr, setscheduler, sleep_ns, sleep_until_ns, Errno, SchedAttr, SCHED_CASIO, SCHED_FIFO,
    SCHED_NORMAL,
};
use casio_testkit::rng::Rng;

use crate::common::bw::read_bw;
use crate::common::checks::{ms, sys, Fails};
use crate::common::cpus::{bring_all_online, getcpu, set_cpu_online, setup, OnlineGuard};
use crate::common::periodic_set::push_errs;
use crate::common::proc::{spawn, wait_for_all};
use crate::common::shared::{publish, shm_record, wait_published, Shared, Slot};
use crate::common::splat::{check_no_new_splat, splat_lines};
use crate::common::stats::read_stat;
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    smp_stress: "200 periodic CASIO tasks, FIFO/CFS load, affinity/policy churn, hotplug loop" => t_stress,
}

// ---------------------------------------------------------------------------
// smp_stress
// ---------------------------------------------------------------------------

const ST_TASKS: usize = 200;
const ST_H: u64 = 16 * SEC;
/// Offline/online cycles the run must see while the tasks run: under TCG
/// on a busy host one offline write has taken over 10 s, so the tasks keep
/// going past their job count until the cycle is done, up to `ST_CAP` after
/// T0 (a task's safety alarm fires 25 s after its spawn, and the harness
/// kills a test after 30 s).
const ST_MIN_CYCLES: u64 = 1;
const ST_CAP: u64 = 15 * SEC;
shm_record! {
    /// The controller's and the hotplugger's side of the stress run.
    struct StressHead {
        t0: Slot,
        /// The load stops.
        stop: Slot,
        /// The hotplugger stops.
        hp_stop: Slot,
        /// Offline/online cycles done, and EBUSY refusals to go offline.
        hp_cycles: Slot,
        hp_busy: Slot,
        /// The longest offline and online write.
        hp_off_max: Slot,
        hp_on_max: Slot,
        /// Bumped at every change of the next two.
        seq: Slot,
        /// The offline CPU + 1, the CPU being brought online + 1 (0: none).
        offline: Slot,
        onlining: Slot,
    }
}

shm_record! {
    /// What a task of the stress run reports.
    struct StressTask {
        ready: Slot,
        jobs: Slot,
        done: Slot,
        /// Jobs that ran on an offline CPU.
        on_offline: Slot,
        /// Jobs that ran on a CPU whose online write was in progress.
        on_onlining: Slot,
    }
}

/// Where the caller runs, checked against the hotplug state announced in
/// `head` (only a reading between two equal sequence numbers counts):
/// bumps the task's count of jobs on an offline or an onlining CPU.
fn stress_check_cpu(head: &StressHead, me: &StressTask) {
    let q1 = head.seq.get();
    let (off, onl) = (head.offline.get(), head.onlining.get());
    let c = getcpu() as u64 + 1;
    if head.seq.get() != q1 {
        return;
    }
    if c == off {
        me.on_offline.add(1);
    }
    if c == onl {
        me.on_onlining.add(1);
    }
}

/// Announce a hotplug state change to [`stress_check_cpu`].
fn stress_hp_state(head: &StressHead, off: u64, onlining: u64) {
    head.offline.set(off);
    head.onlining.set(onlining);
    head.seq.add(1);
}

fn stress_task(
    head: &StressHead,
    me: &StressTask,
    c: u64,
    t: u64,
    k: u64,
    check: bool,
) -> Result<(), String> {
    sys("sched_setaffinity", set_affinity_all(0))?;
    sys(
        &format!("setattr CASIO {}/{}ms", ms(c), ms(t)),
        setattr(0, &SchedAttr::casio(c, t, t), 0),
    )?;
    me.ready.set(1);
    let t0 = wait_published(&head.t0, 25 * SEC).ok_or("T0 never published")?;
    sleep_until_ns(t0);
    let st0 = if check { Some(read_stat(0)?) } else { None };
    let mut n = 0;
    while n < k
        || (head.hp_cycles.get() < ST_MIN_CYCLES
            && head.hp_stop.get() == 0
            && monotonic_ns() < t0 + ST_CAP)
    {
        stress_check_cpu(head, me);
        burn_cpu(c);
        stress_check_cpu(head, me);
        sys("sched_yield", sched_yield())?;
        n += 1;
        me.jobs.set(n);
    }
    if let Some(st0) = st0 {
        let st = read_stat(0)?;
        let done = st.n("jobs_completed") - st0.n("jobs_completed");
        // The /proc reads may block after their snapshot; a late wake-up
        // renews the job (CBS), which ends one more: never fewer.
        if done < n || done > n + n / 4 + 2 || st.policy() != "casio" {
            return Err(format!(
                "ran {n} jobs, the kernel counted {done} completed ({})",
                st.brief()
            ));
        }
    }
    me.done.set(1);
    Ok(())
}

fn t_stress() -> TestResult {
    let t_start = monotonic_ns();
    let cx = setup()?;
    let _guard = OnlineGuard;
    let splats0 = splat_lines().len();
    let mut rng = Rng::new(0x5eed_ca51);
    let ctl = cx.ctl;
    let hp_cpus = [cx.work[2], cx.work[1]];
    // Tasks: C 0.5-1.5 ms, T 100/200/300/400 ms, 0.6 H / T jobs; every
    // 5th is a "hopper" whose policy the controller changes.
    let specs: Vec<(u64, u64, u64, bool)> = (0..ST_TASKS)
        .map(|i| {
            let t = (1 + rng.below(4)) * 100 * MS;
            let c = 500_000 + rng.below(1_000_000);
            (c, t, (ST_H * 6 / 10) / t, i % 5 == 0)
        })
        .collect();
    let head = Shared::<StressHead>::one()?;
    let head = head.rec();
    let tasks = Shared::<StressTask>::new(ST_TASKS)?;
    let mut kids = Vec::new();
    for (i, &(c, t, k, hop)) in specs.iter().enumerate() {
        let me = &tasks[i];
        kids.push(spawn(&format!("task {i}"), move || {
            stress_task(head, me, c, t, k, !hop)
        })?);
    }
    wait_for_all("stress tasks ready", &mut kids, 20 * SEC, || {
        tasks.iter().all(|t| t.ready.get() != 0)
    })?;
    let setup_done = monotonic_ns();
    // Load: 2 SCHED_FIFO 10 tasks at 50% duty, 3 CFS spinners, and a
    // hotplugger (SCHED_FIFO 50 on the controller's CPU) that takes CPUs 2
    // and 1 offline and online in turn.
    let mut load = Vec::new();
    for j in 0..2 {
        load.push(spawn(&format!("FIFO load {j}"), move || {
            sys("FIFO 10", setscheduler(0, SCHED_FIFO, 10))?;
            sys("affinity", set_affinity_all(0))?;
            while head.stop.get() == 0 {
                burn_cpu(5 * MS);
                sleep_ns(5 * MS);
            }
            Ok(())
        })?);
    }
    for j in 0..3 {
        load.push(spawn(&format!("CFS load {j}"), move || {
            sys("affinity", set_affinity_all(0))?;
            while head.stop.get() == 0 {
                burn_cpu(MS);
            }
            Ok(())
        })?);
    }
    let mut hotplugger = {
        spawn("hotplugger", move || {
            sys("FIFO 50", setscheduler(0, SCHED_FIFO, 50))?;
            let mut cycles = 0u64;
            let mut busy = 0u64;
            let mut k = 0;
            while head.stop.get() == 0 && head.hp_stop.get() == 0 {
                let x = hp_cpus[k % 2];
                k += 1;
                let t = monotonic_ns();
                let r = set_cpu_online(x, false);
                let d = monotonic_ns() - t;
                if d > head.hp_off_max.get() {
                    head.hp_off_max.set(d);
                }
                match r {
                    Ok(()) => stress_hp_state(head, x as u64 + 1, 0),
                    Err(e) if e == libc::EBUSY => {
                        busy += 1;
                        sleep_ns(100 * MS);
                        continue;
                    }
                    Err(e) => return Err(format!("taking CPU {x} offline: {}", Errno(e))),
                }
                sleep_ns(600 * MS);
                stress_hp_state(head, 0, x as u64 + 1);
                let mut r = Err(0);
                for _ in 0..5 {
                    let t = monotonic_ns();
                    r = set_cpu_online(x, true);
                    let d = monotonic_ns() - t;
                    if d > head.hp_on_max.get() {
                        head.hp_on_max.set(d);
                    }
                    if r.is_ok() {
                        break;
                    }
                    sleep_ns(100 * MS);
                }
                r.map_err(|e| format!("bringing CPU {x} online: {}", Errno(e)))?;
                stress_hp_state(head, 0, 0);
                cycles += 1;
                head.hp_cycles.set(cycles);
                head.hp_busy.set(busy);
                sleep_ns(600 * MS);
            }
            Ok(())
        })?
    };
    // The controller itself: SCHED_FIFO 50 on its CPU.
    sys("controller FIFO 50", setscheduler(0, SCHED_FIFO, 50))?;
    let t0 = monotonic_ns() + 300 * MS;
    publish(&head.t0, t0);
    sleep_until_ns(t0);
    let pids: Vec<i32> = kids.iter().map(|k| k.pid()).collect();
    let hoppers: Vec<usize> = (0..ST_TASKS).filter(|&i| specs[i].3).collect();
    let (mut n_aff, mut n_hop, mut hop_busy, mut aff_err) = (0u64, 0u64, 0u64, 0u64);
    // The longest sched_setaffinity, policy change, and 10 ms sleep.
    let (mut max_aff, mut max_hop, mut max_sleep) = (0u64, 0u64, 0u64);
    let mut it = 0u64;
    let end = t0 + ST_H;
    while monotonic_ns() < end
        || (head.hp_cycles.get() < ST_MIN_CYCLES && monotonic_ns() < t0 + ST_CAP)
    {
        if tasks.iter().all(|t| t.done.get() != 0) {
            break;
        }
        // A random affinity that always holds CPU 0 or the controller's.
        let i = rng.below(ST_TASKS as u64) as usize;
        if tasks[i].done.get() == 0 {
            let mut cpus: Vec<usize> = (0..cx.n).filter(|_| rng.below(2) == 1).collect();
            if !cpus.contains(&0) && !cpus.contains(&ctl) {
                cpus.push(if rng.below(2) == 0 { 0 } else { ctl });
            }
            let ta = monotonic_ns();
            let r = set_affinity_cpus(pids[i], &cpus);
            max_aff = max_aff.max(monotonic_ns() - ta);
            match r {
                Ok(()) => n_aff += 1,
                // EBUSY: the one CPU of `cpus` has no room for the
                // task's share (admission per CPU of pinned tasks).
                Err(e) if e == Errno::ESRCH || e == Errno::EINVAL || e == Errno::EBUSY => {
                    aff_err += 1
                }
                Err(e) => return Err(format!("sched_setaffinity(task {i}, {cpus:?}): {e}")),
            }
        }
        if it.is_multiple_of(5) {
            let h = hoppers[rng.below(hoppers.len() as u64) as usize];
            if tasks[h].done.get() == 0 {
                let (c, t, _, _) = specs[h];
                let th = monotonic_ns();
                let r = match getscheduler(pids[h]) {
                    Ok(SCHED_CASIO) => {
                        if rng.below(2) == 0 {
                            setscheduler(pids[h], SCHED_NORMAL, 0)
                        } else {
                            setscheduler(pids[h], SCHED_FIFO, 5)
                        }
                    }
                    Ok(_) => setattr(pids[h], &SchedAttr::casio(c, t, t), 0),
                    Err(e) => Err(e),
                };
                max_hop = max_hop.max(monotonic_ns() - th);
                match r {
                    Ok(()) => n_hop += 1,
                    Err(Errno::EBUSY) => hop_busy += 1,
                    Err(Errno::ESRCH) => {}
                    Err(e) => return Err(format!("policy change of task {h}: {e}")),
                }
            }
        }
        it += 1;
        let ts = monotonic_ns();
        sleep_ns(10 * MS);
        max_sleep = max_sleep.max(monotonic_ns() - ts);
    }
    let t_churn = monotonic_ns();
    let mut f = Fails::default();
    let mut errs = Vec::new();
    // The hotplugger ends its cycle. Under TCG a hotplug write has taken
    // up to 20 s (stop_machine with more vCPUs than host cores), during
    // which the tasks fall behind; they get 4 s after it to catch up.
    head.hp_stop.set(1);
    if let Err(e) = hotplugger.join(40 * SEC) {
        errs.push(e);
    }
    // Every task finishes its jobs (those left as SCHED_FIFO/NORMAL too).
    let join_end = (t0 + ST_H + 2 * SEC).max(monotonic_ns() + 4 * SEC);
    for k in &mut kids {
        if let Err(e) = k.join(join_end.saturating_sub(monotonic_ns()).max(MS)) {
            errs.push(e);
        }
    }
    let t_done = monotonic_ns();
    head.stop.set(1);
    // The load stops at once, the hotplugger after its current step.
    let load_end = monotonic_ns() + 3 * SEC;
    for l in &mut load {
        if let Err(e) = l.join(load_end.saturating_sub(monotonic_ns()).max(MS)) {
            errs.push(e);
        }
    }
    let _ = setscheduler(0, SCHED_NORMAL, 0);
    push_errs(&mut f, "processes", &errs);
    let mut short = Vec::new();
    let (mut jobs, mut on_off, mut on_onl) = (0, 0, 0);
    for (i, &(_, _, k, _)) in specs.iter().enumerate() {
        let j = tasks[i].jobs.get();
        jobs += j;
        on_off += tasks[i].on_offline.get();
        on_onl += tasks[i].on_onlining.get();
        if j < k || tasks[i].done.get() == 0 {
            short.push(format!("task {i}: {j} of {k} jobs"));
        }
    }
    f.eq("job starts/ends seen on an offline CPU", on_off, 0);
    f.check(short.is_empty(), || {
        format!(
            "{} tasks did not finish their jobs: {}",
            short.len(),
            short.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        )
    });
    for m in bring_all_online() {
        diag!("{m}");
    }
    let (cycles, busy) = (head.hp_cycles.get(), head.hp_busy.get());
    diag!(
        "set-up {:.1} s; {ST_TASKS} tasks ran {jobs} jobs ({on_onl} job starts/ends on a CPU whose online write had not returned), joined {:.1} s after T0 (churn stopped at {:.1} s); {n_aff} affinity changes ({aff_err} refused), {n_hop} policy changes ({hop_busy} EBUSY), {} offline/online cycles ({} EBUSY)",
        (setup_done - t_start) as f64 / SEC as f64,
        (t_done - t0) as f64 / SEC as f64,
        (t_churn - t0) as f64 / SEC as f64,
        cycles,
        busy
    );
    diag!(
        "longest: sched_setaffinity {:.0} ms, policy change {:.0} ms, 10 ms sleep of the controller {:.0} ms, offline write {:.0} ms, online write {:.0} ms",
        ms(max_aff),
        ms(max_hop),
        ms(max_sleep),
        ms(head.hp_off_max.get()),
        ms(head.hp_on_max.get())
    );
    f.check(cycles >= ST_MIN_CYCLES, || {
        format!("{cycles} offline/online cycles while the tasks ran, {ST_MIN_CYCLES} needed")
    });
    // Nothing admitted is left behind.
    sleep_ns(100 * MS);
    let (total, _, _) = read_bw()?;
    f.eq("total_bw after every CASIO task exited", total, 0);
    drop(_guard);
    check_no_new_splat(&mut f, splats0);
    f.finish()
}
