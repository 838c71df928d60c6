//! A stress run with churn and hotplug.

use casio_abi::*;
use casio_testkit::rng::Rng;

use crate::common::*;
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
/// Per-task slots: 0 ready, 1 jobs, 2 done, 3 jobs that ran on an
/// offline CPU, 4 jobs that ran on a CPU whose online write was in
/// progress.
const SS: usize = 5;
/// Global slots after the tasks: T0, stop, hotplug statistics (3), then a
/// sequence number bumped at every change of the next two: the offline CPU
/// + 1, the CPU being brought online + 1 (0: none).
const SG_SEQ: usize = 5;
const SG_OFF: usize = 6;
const SG_ONLINING: usize = 7;

/// Where the caller runs, checked against the hotplug state announced in
/// `s` (only a reading between two equal sequence numbers counts): bumps
/// the task's count of jobs on an offline or an onlining CPU.
fn stress_check_cpu(s: &Shm, g: usize, b: usize) {
    let q1 = s.get(g + SG_SEQ);
    let (off, onl) = (s.get(g + SG_OFF), s.get(g + SG_ONLINING));
    let c = getcpu() as u64 + 1;
    if s.get(g + SG_SEQ) != q1 {
        return;
    }
    if c == off {
        s.fetch_add(b + 3, 1);
    }
    if c == onl {
        s.fetch_add(b + 4, 1);
    }
}

/// Announce a hotplug state change to [`stress_check_cpu`].
fn stress_hp_state(s: &Shm, g: usize, off: u64, onlining: u64) {
    s.set(g + SG_OFF, off);
    s.set(g + SG_ONLINING, onlining);
    s.fetch_add(g + SG_SEQ, 1);
}

fn stress_task(
    s: &Shm,
    i: usize,
    g: usize,
    c: u64,
    t: u64,
    k: u64,
    check: bool,
) -> Result<(), String> {
    let b = SS * i;
    sys("sched_setaffinity", set_affinity_all(0))?;
    sys(
        &format!("setattr CASIO {}/{}ms", ms(c), ms(t)),
        setattr(0, &SchedAttr::casio(c, t, t), 0),
    )?;
    s.set(b, 1);
    let t0 = wait_published(s, g, 25 * SEC).ok_or("T0 never published")?;
    sleep_until_ns(t0);
    let st0 = if check { Some(read_stat(0)?) } else { None };
    for j in 0..k {
        stress_check_cpu(s, g, b);
        burn_cpu(c);
        stress_check_cpu(s, g, b);
        sys("sched_yield", sched_yield())?;
        s.set(b + 1, j + 1);
    }
    if let Some(st0) = st0 {
        let st = read_stat(0)?;
        let done = st.n("jobs_completed") - st0.n("jobs_completed");
        // The /proc reads may block after their snapshot; a late wake-up
        // renews the job (CBS), which ends one more: never fewer.
        if done < k || done > k + k / 4 + 2 || st.policy() != "casio" {
            return Err(format!(
                "ran {k} jobs, the kernel counted {done} completed ({})",
                st.brief()
            ));
        }
    }
    s.set(b + 2, 1);
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
    let g = SS * ST_TASKS;
    let s = Shm::new(g + 10)?;
    let mut kids = Vec::new();
    for (i, &(c, t, k, hop)) in specs.iter().enumerate() {
        let sh = &s;
        kids.push(spawn(&format!("task {i}"), move || {
            stress_task(sh, i, g, c, t, k, !hop)
        })?);
    }
    {
        let mut refs: Vec<&mut Child> = kids.iter_mut().collect();
        wait_for("stress tasks ready", &mut refs, 20 * SEC, || {
            (0..ST_TASKS).all(|i| s.get(SS * i) != 0)
        })?;
    }
    let setup_done = monotonic_ns();
    // Load: 2 SCHED_FIFO 10 tasks at 50% duty, 3 CFS spinners, and a
    // hotplugger (SCHED_FIFO 50 on the controller's CPU) that takes CPUs 2
    // and 1 offline and online in turn.
    let stop = g + 1;
    let mut load = Vec::new();
    for j in 0..2 {
        let sh = &s;
        load.push(spawn(&format!("FIFO load {j}"), move || {
            sys("FIFO 10", setscheduler(0, SCHED_FIFO, 10))?;
            sys("affinity", set_affinity_all(0))?;
            while sh.get(stop) == 0 {
                burn_cpu(5 * MS);
                sleep_ns(5 * MS);
            }
            Ok(())
        })?);
    }
    for j in 0..3 {
        let sh = &s;
        load.push(spawn(&format!("CFS load {j}"), move || {
            sys("affinity", set_affinity_all(0))?;
            while sh.get(stop) == 0 {
                burn_cpu(MS);
            }
            Ok(())
        })?);
    }
    // Slots: cycles | EBUSY << 32, the longest offline and online write;
    // set when the churn ends, so that the hotplugger stops.
    let (hp_stats, hp_off_max, hp_on_max, hp_stop) = (g + 2, g + 3, g + 4, g + 8);
    let mut hotplugger = {
        let sh = &s;
        spawn("hotplugger", move || {
            sys("FIFO 50", setscheduler(0, SCHED_FIFO, 50))?;
            let mut cycles = 0u64;
            let mut busy = 0u64;
            let mut k = 0;
            while sh.get(stop) == 0 && sh.get(hp_stop) == 0 {
                let x = hp_cpus[k % 2];
                k += 1;
                let t = monotonic_ns();
                let r = set_cpu_online(x, false);
                let d = monotonic_ns() - t;
                if d > sh.get(hp_off_max) {
                    sh.set(hp_off_max, d);
                }
                match r {
                    Ok(()) => stress_hp_state(sh, g, x as u64 + 1, 0),
                    Err(e) if e == libc::EBUSY => {
                        busy += 1;
                        sleep_ns(100 * MS);
                        continue;
                    }
                    Err(e) => return Err(format!("taking CPU {x} offline: {}", Errno(e))),
                }
                sleep_ns(600 * MS);
                stress_hp_state(sh, g, 0, x as u64 + 1);
                let mut r = Err(0);
                for _ in 0..5 {
                    let t = monotonic_ns();
                    r = set_cpu_online(x, true);
                    let d = monotonic_ns() - t;
                    if d > sh.get(hp_on_max) {
                        sh.set(hp_on_max, d);
                    }
                    if r.is_ok() {
                        break;
                    }
                    sleep_ns(100 * MS);
                }
                r.map_err(|e| format!("bringing CPU {x} online: {}", Errno(e)))?;
                stress_hp_state(sh, g, 0, 0);
                cycles += 1;
                sh.set(hp_stats, cycles | (busy << 32));
                sleep_ns(600 * MS);
            }
            Ok(())
        })?
    };
    // The controller itself: SCHED_FIFO 50 on its CPU.
    sys("controller FIFO 50", setscheduler(0, SCHED_FIFO, 50))?;
    let t0 = monotonic_ns() + 300 * MS;
    publish(&s, g, t0);
    sleep_until_ns(t0);
    let pids: Vec<i32> = kids.iter().map(|k| k.pid()).collect();
    let hoppers: Vec<usize> = (0..ST_TASKS).filter(|&i| specs[i].3).collect();
    let (mut n_aff, mut n_hop, mut hop_busy, mut aff_err) = (0u64, 0u64, 0u64, 0u64);
    // The longest sched_setaffinity, policy change, and 10 ms sleep.
    let (mut max_aff, mut max_hop, mut max_sleep) = (0u64, 0u64, 0u64);
    let mut it = 0u64;
    let end = t0 + ST_H;
    while monotonic_ns() < end {
        if (0..ST_TASKS).all(|i| s.get(SS * i + 2) != 0) {
            break;
        }
        // A random affinity that always holds CPU 0 or the controller's.
        let i = rng.below(ST_TASKS as u64) as usize;
        if s.get(SS * i + 2) == 0 {
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
            if s.get(SS * h + 2) == 0 {
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
    s.set(hp_stop, 1);
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
    s.set(stop, 1);
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
        let j = s.get(SS * i + 1);
        jobs += j;
        on_off += s.get(SS * i + 3);
        on_onl += s.get(SS * i + 4);
        if j != k || s.get(SS * i + 2) == 0 {
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
    let hp = s.get(hp_stats);
    diag!(
        "set-up {:.1} s; {ST_TASKS} tasks ran {jobs} jobs ({on_onl} job starts/ends on a CPU whose online write had not returned), joined {:.1} s after T0 (churn stopped at {:.1} s); {n_aff} affinity changes ({aff_err} refused), {n_hop} policy changes ({hop_busy} EBUSY), {} offline/online cycles ({} EBUSY)",
        (setup_done - t_start) as f64 / SEC as f64,
        (t_done - t0) as f64 / SEC as f64,
        (t_churn - t0) as f64 / SEC as f64,
        hp & 0xffff_ffff,
        hp >> 32
    );
    diag!(
        "longest: sched_setaffinity {:.0} ms, policy change {:.0} ms, 10 ms sleep of the controller {:.0} ms, offline write {:.0} ms, online write {:.0} ms",
        ms(max_aff),
        ms(max_hop),
        ms(max_sleep),
        ms(s.get(hp_off_max)),
        ms(s.get(hp_on_max))
    );
    f.check(hp & 0xffff_ffff >= 2, || {
        format!(
            "only {} offline/online cycles during the run",
            hp & 0xffff_ffff
        )
    });
    // Nothing admitted is left behind.
    sleep_ns(100 * MS);
    let (total, _, _) = read_bw()?;
    f.eq("total_bw after every CASIO task exited", total, 0);
    drop(_guard);
    check_no_new_splat(&mut f, splats0);
    f.finish()
}
