//! Tests of the wake-up rule (the constant bandwidth server's, as
//! SCHED_DEADLINE applies it): a woken task keeps its job only while the
//! runtime it has left fits its bandwidth until the deadline, otherwise
//! its wake-up releases a new job with deadline now + D.

use casio_abi::*;

use crate::common::*;
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
    // Slots: 0 T0, 1 ready count, 2 finish counter, 10+pos task finishing
    // at position pos (index + 1), 20+k finish time of task k.
    let shm = Shm::new(32)?;
    let t0 = monotonic_ns() + 300 * MS;
    shm.set(0, t0);
    let mut kids: Vec<Child> = Vec::new();
    for (k, d) in DS.iter().enumerate() {
        let shm = &shm;
        let d = d * MS;
        kids.push(spawn(&format!("task D={}ms", d / MS), move || {
            pin_work()?;
            sys(
                "setattr CASIO 40/D/2D",
                setattr(0, &SchedAttr::casio(40 * MS, d, 2 * d), 0),
            )?;
            shm.fetch_add(1, 1);
            sleep_until_ns(shm.get(0));
            let fin = burn_cpu(30 * MS);
            let pos = shm.fetch_add(2, 1) as usize;
            if pos < DS.len() {
                shm.set(10 + pos, k as u64 + 1);
            }
            shm.set(20 + k, fin);
            Ok(())
        })?);
    }
    join_all(&mut kids, JOIN_NS)?;
    if monotonic_ns() < t0 {
        return Err("the tasks ended before T0".into());
    }
    let finish: Vec<u64> = (0..DS.len())
        .map(|p| shm.get(10 + p).wrapping_sub(1))
        .map(|k| DS.get(k as usize).copied().unwrap_or(0))
        .collect();
    let times: Vec<String> = (0..DS.len())
        .map(|k| format!("D={}: T0+{:.1}ms", DS[k], rel_ms(shm.get(20 + k), t0)))
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
    // Slots per task: 0 jobs, 1 late jobs, 2 worst lateness past the grid
    // deadline, 3 kernel misses, 4 kernel completed.
    let shm = Shm::new(2 + SET.len() * 5)?;
    let slot = |i: usize, k: usize| 2 + i * 5 + k;
    let t0 = monotonic_ns() + 500 * MS;
    let mut kids: Vec<Child> = Vec::new();
    for (i, &(c, t)) in SET.iter().enumerate() {
        let shm = &shm;
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
                        shm.fetch_add(slot(i, 1), 1);
                        let late = fin - release - t;
                        if late > shm.get(slot(i, 2)) {
                            shm.set(slot(i, 2), late);
                        }
                    }
                    k += 1;
                }
                shm.set(slot(i, 0), k);
                let s = read_stat(0)?;
                shm.set(slot(i, 3), s.n("deadline_misses"));
                shm.set(slot(i, 4), s.n("jobs_completed"));
                Ok(())
            },
        )?);
    }
    join_all(&mut kids, HORIZON + JOIN_NS)?;
    let mut f = Fails::default();
    let (mut jobs, mut misses) = (0, 0);
    for (i, &(c, t)) in SET.iter().enumerate() {
        let (n, late, worst, kmiss) = (
            shm.get(slot(i, 0)),
            shm.get(slot(i, 1)),
            shm.get(slot(i, 2)),
            shm.get(slot(i, 3)),
        );
        diag!(
            "task {c}/{t} ms: {n} jobs, {late} past release + T (worst {:.1} ms), kernel: {} completed, {kmiss} missed",
            worst as f64 / 1e6,
            shm.get(slot(i, 4))
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
