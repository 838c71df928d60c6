//! Tests of the wake-up rule (the constant bandwidth server's, as
//! SCHED_DEADLINE applies it): a woken task keeps its job only while the
//! runtime it has left fits its bandwidth until the deadline, otherwise
//! its wake-up releases a new job with deadline now + D.

use casio_abi::{burn_cpu, monotonic_ns, setattr, sleep_until_ns, SchedAttr};

use crate::common::checks::{rel_ms, sys, Fails};
use crate::common::proc::{join_all, spawn, Child};
use crate::common::shared::{shm_record, Shared, Slot};
use crate::common::stats::read_stat;
use crate::common::work::{pin_harness, pin_work, JOIN_NS};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    sleep_periodic_set: "U=0.9 set of clock_nanosleep loops on CPU 0 for 4 s: no miss beyond jitter (CBS)" => t_sleep_periodic_set,
    sync_start_order: "5 tasks set at creation, all woken at a common T0: finish in T0 + D order (CBS)" => t_sync_start_order,
}

/// The synchronous start: five tasks with D = 700, 300, 900,
/// 100, 500 ms (C = 40 ms, T = 2D) set SCHED_CASIO when they are created,
/// all sleep until a common T0 about 300 ms later and burn 30 ms. Their
/// first jobs' deadlines (set time + D) would put the D = 300 ms task
/// first; the CBS wake-up rule gives each a new job at T0, so they finish
/// in the order of T0 + D.
pub(crate) fn t_sync_start_order() -> TestResult {
    pin_harness();
    const DS: [u64; 5] = [700, 300, 900, 100, 500];
    shm_record! {
        struct SyncStart {
            t0: Slot,
            ready: Slot,
            finished: Slot,
            /// At position p: 1 + the task that finished p-th.
            order: [Slot; DS.len()],
            /// When task k finished.
            finish_at: [Slot; DS.len()],
        }
    }
    let shm = Shared::<SyncStart>::one()?;
    let run = shm.rec();
    let t0 = monotonic_ns() + 300 * MS;
    run.t0.set(t0);
    let mut kids: Vec<Child> = Vec::new();
    for (k, d) in DS.iter().enumerate() {
        let d = d * MS;
        kids.push(spawn(&format!("task D={}ms", d / MS), move || {
            pin_work()?;
            sys(
                "setattr CASIO 40/D/2D",
                setattr(0, &SchedAttr::casio(40 * MS, d, 2 * d), 0),
            )?;
            run.ready.add(1);
            sleep_until_ns(run.t0.get());
            let fin = burn_cpu(30 * MS);
            let pos = run.finished.add(1) as usize;
            if pos < DS.len() {
                run.order[pos].set(k as u64 + 1);
            }
            run.finish_at[k].set(fin);
            Ok(())
        })?);
    }
    join_all(&mut kids, JOIN_NS)?;
    if monotonic_ns() < t0 {
        return Err("the tasks ended before T0".into());
    }
    let finish: Vec<u64> = (0..DS.len())
        .map(|p| run.order[p].get().wrapping_sub(1))
        .map(|k| DS.get(k as usize).copied().unwrap_or(0))
        .collect();
    let times: Vec<String> = (0..DS.len())
        .map(|k| {
            format!(
                "D={}: T0+{:.1}ms",
                DS[k],
                rel_ms(run.finish_at[k].get(), t0)
            )
        })
        .collect();
    diag!("finished: {}", times.join(", "));
    let mut want = DS.to_vec();
    want.sort();
    if finish != want {
        return Err(format!(
            "finish order by D {finish:?}, want {want:?} (T0 + D order)"
        ));
    }
    Ok(())
}

/// How late past its period-grid deadline a job of a sleep-based task
/// may finish: the wake-up latency of a timer under TCG (tens of ms at
/// worst on a busy host).
const GRID_TOLERANCE: u64 = 30 * MS;

/// The commonest real-time program: a `clock_nanosleep(TIMER_ABSTIME)`
/// loop. Four such tasks on CPU 0, U = 0.9 reserved (each job does 90% of
/// C), released together and run for 4 s. EDF schedules them; the jobs
/// must finish by their grid deadline (release + T) within the timer
/// jitter, and the kernel must count (nearly) no miss: a woken task that
/// carried a stale deadline would run ahead of earlier deadlines.
pub(crate) fn t_sleep_periodic_set() -> TestResult {
    pin_harness();
    // (C, T) in ms, D = T; U = 0.2 + 0.2 + 0.3 + 0.2 = 0.9.
    const SET: [(u64, u64); 4] = [(10, 50), (20, 100), (45, 150), (60, 300)];
    const HORIZON: u64 = 4 * SEC;
    shm_record! {
        /// What a task of the set reports.
        struct SleepTask {
            jobs: Slot,
            /// Jobs late, and the worst lateness, past the grid deadline.
            late: Slot,
            worst: Slot,
            /// The kernel's misses and completed jobs.
            kernel_misses: Slot,
            kernel_completed: Slot,
        }
    }
    let tasks = Shared::<SleepTask>::new(SET.len())?;
    let t0 = monotonic_ns() + 500 * MS;
    let mut kids: Vec<Child> = Vec::new();
    for (i, &(c, t)) in SET.iter().enumerate() {
        let me = &tasks[i];
        let (c, t) = (c * MS, t * MS);
        kids.push(spawn(
            &format!("task {}/{} ms", c / MS, t / MS),
            move || {
                pin_work()?;
                sys(
                    "setattr CASIO C/T/T",
                    setattr(0, &SchedAttr::casio(c, t, t), 0),
                )?;
                let mut k = 0;
                while k * t < HORIZON {
                    let release = t0 + k * t;
                    sleep_until_ns(release);
                    let fin = burn_cpu(c * 9 / 10);
                    if fin > release + t {
                        me.late.add(1);
                        let late = fin - release - t;
                        if late > me.worst.get() {
                            me.worst.set(late);
                        }
                    }
                    k += 1;
                }
                me.jobs.set(k);
                let s = read_stat(0)?;
                me.kernel_misses.set(s.n("deadline_misses"));
                me.kernel_completed.set(s.n("jobs_completed"));
                Ok(())
            },
        )?);
    }
    join_all(&mut kids, HORIZON + JOIN_NS)?;
    let mut f = Fails::default();
    let (mut jobs, mut misses) = (0, 0);
    for (i, &(c, t)) in SET.iter().enumerate() {
        let (n, late, worst, kmiss) = (
            tasks[i].jobs.get(),
            tasks[i].late.get(),
            tasks[i].worst.get(),
            tasks[i].kernel_misses.get(),
        );
        diag!(
            "task {c}/{t} ms: {n} jobs, {late} past release + T (worst {:.1} ms), kernel: {} completed, {kmiss} missed",
            worst as f64 / 1e6,
            tasks[i].kernel_completed.get()
        );
        f.check(worst <= GRID_TOLERANCE, || {
            format!(
                "task {c}/{t} ms: a job finished {:.1} ms past release + T (tolerance {} ms)",
                worst as f64 / 1e6,
                GRID_TOLERANCE / MS
            )
        });
        jobs += n;
        misses += kmiss;
    }
    // Timer jitter may make a wake-up late enough that the next one comes
    // early relative to it, and a vCPU may stall: allow 2% of the jobs.
    f.check(misses * 50 <= jobs, || {
        format!("the kernel counted {misses} misses in {jobs} jobs (tolerated 2%)")
    });
    f.finish()
}
