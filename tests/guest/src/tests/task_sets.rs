//! Task sets released together: misses as an EDF simulation predicts.

use casio_abi::{burn_cpu, monotonic_ns, sched_yield, setattr, sleep_until_ns, SchedAttr};

use crate::common::checks::{dms, ms, sys, Fails};
use crate::common::edf_sim::{simulate_edf, SimTask};
use crate::common::kernel::ThrottleOff;
use crate::common::proc::{spawn, wait_for_all, Child};
use crate::common::shared::{shm_record, store, wait_t0, Release, Shared, Slot};
use crate::common::stats::read_stat;
use crate::common::work::{pin_harness, pin_work, JOIN_NS, WAKE_MARGIN};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    overload_misses: "U=1.3 set on CPU 0: kernel miss count matches an EDF simulation" => t_overload_misses,
    feasible_set_no_miss: "U=0.55 set on CPU 0 for 2 s: no miss but one host stall, jobs = duration / T" => t_feasible_set_no_miss,
}

// ---------------------------------------------------------------------------
// 2./3. task sets released together at T0
// ---------------------------------------------------------------------------

shm_record! {
    /// What a task-set child reports.
    struct SetSlots {
        ready: Slot,
        /// jobs_released / jobs_completed / misses right after waking at T0.
        start: [Slot; 3],
        /// The release of the job after waking at T0, and when the task
        /// first ran after T0.
        t0_release: Slot,
        t0_wake: Slot,
        /// jobs_released / jobs_completed / misses / max lateness at the end.
        end: [Slot; 4],
        /// Yields done in the run.
        yields: Slot,
        done: Slot,
    }
}

/// What a task-set child reported.
#[derive(Clone, Copy, Debug, Default)]
struct SetReport {
    start: [u64; 3],
    end: [u64; 4],
    yields: u64,
    t0_release: u64,
    t0_wake: u64,
}

/// Run `set` on CPU 0, all released at a common T0, each task looping
/// "if now >= T0 + horizon: stop; burn C; yield" and reading its own stats
/// at T0 and at the end.
fn run_set(set: &[SimTask], horizon: u64) -> Result<(u64, Vec<SetReport>), String> {
    pin_harness();
    let release = Shared::<Release>::one()?;
    let slots = Shared::<SetSlots>::new(set.len())?;
    let mut kids: Vec<Child> = Vec::new();
    for (i, p) in set.iter().enumerate() {
        let p = *p;
        let (me, t0) = (&slots[i], &release.rec().t0);
        kids.push(spawn(&format!("task {i}"), move || {
            pin_work()?;
            sys(
                &format!("setattr CASIO {}/{}/{}ms", ms(p.c), ms(p.d), ms(p.t)),
                setattr(0, &SchedAttr::casio(p.c, p.d, p.t), 0),
            )?;
            me.ready.set(1);
            let t0 = wait_t0(t0)?;
            sleep_until_ns(t0);
            let wake = monotonic_ns();
            let s = read_stat(0)?;
            store(&me.start, s.job_counts());
            me.t0_release.set(s.n("job_release_ns"));
            me.t0_wake.set(wake);
            let mut yields = 0;
            while monotonic_ns() < t0 + horizon {
                burn_cpu(p.c);
                sys("sched_yield", sched_yield())?;
                yields += 1;
            }
            let s = read_stat(0)?;
            store(&me.end, s.job_counts());
            me.yields.set(yields);
            me.done.set(1);
            Ok(())
        })?);
    }
    wait_for_all("task set ready", &mut kids, 10 * SEC, || {
        slots.iter().all(|s| s.ready.get() != 0)
    })?;
    // Every task's setup job (released when it set the policy) is more
    // than a period old at T0, so waking at T0 starts a fresh job.
    let tmax = set.iter().map(|p| p.t).max().unwrap_or(0);
    let t0 = monotonic_ns() + tmax + 200 * MS;
    release.rec().t0.set(t0);
    let mut first = Ok(());
    for k in kids.iter_mut() {
        let r = k.join(JOIN_NS);
        if first.is_ok() {
            first = r;
        }
    }
    first?;
    let reps = slots
        .iter()
        .map(|s| SetReport {
            start: s.start.each_ref().map(Slot::get),
            end: s.end.each_ref().map(Slot::get),
            yields: s.yields.get(),
            t0_release: s.t0_release.get(),
            t0_wake: s.t0_wake.get(),
        })
        .collect();
    Ok((t0, reps))
}

/// Checks common to both task-set tests: the wake at T0 started a fresh
/// job (setup job completed, no miss), released at the wake-up.
fn check_set_start(f: &mut Fails, i: usize, r: &SetReport, t0: u64) {
    // Setting the policy released the first job; each wake-up of the 1 ms
    // polls for T0, with all of C left, renewed it (the CBS rule), and the
    // wake-up at T0 released the current one.
    let [rel, done, missed] = r.start;
    f.check(rel >= 2 && done + 1 == rel && missed == 0, || {
        format!(
            "task {i} at T0: (jobs_released, jobs_completed, misses) = {:?}, want (n >= 2, n - 1, 0)",
            r.start
        )
    });
    // Released when the sleep ended (40 ms wake-up margin), before the
    // task ran (it may wait behind earlier deadlines).
    f.check(
        r.t0_release >= t0 && r.t0_release <= t0 + WAKE_MARGIN && r.t0_release <= r.t0_wake,
        || {
            format!(
                "task {i}: job after T0 released at T0{:+.2}ms, first ran at T0{:+.2}ms",
                dms(r.t0_release, t0),
                dms(r.t0_wake, t0)
            )
        },
    );
}

const OVERLOAD_SET: [SimTask; 3] = [
    SimTask {
        c: 60 * MS,
        d: 100 * MS,
        t: 100 * MS,
    },
    SimTask {
        c: 70 * MS,
        d: 200 * MS,
        t: 200 * MS,
    },
    SimTask {
        c: 105 * MS,
        d: 300 * MS,
        t: 300 * MS,
    },
];
const SET_HORIZON: u64 = 2 * SEC;

fn t_overload_misses() -> TestResult {
    // The simulation knows no cap: a set of U = 1.3 needs it off, as the
    // issue's "admission disabled" says.
    let _off = ThrottleOff::new()?;
    let sim = simulate_edf(&OVERLOAD_SET, SET_HORIZON);
    let (t0, reps) = run_set(&OVERLOAD_SET, SET_HORIZON)?;
    let mut f = Fails::default();
    let mut kernel_misses = 0;
    for (i, r) in reps.iter().enumerate() {
        check_set_start(&mut f, i, r, t0);
        let misses = r.end[2] - r.start[2];
        kernel_misses += misses;
        diag!(
            "task {i} ({}/{}ms): kernel {} jobs completed, {} misses, max lateness {:.1}ms; simulation {} jobs, {} misses",
            ms(OVERLOAD_SET[i].c),
            ms(OVERLOAD_SET[i].t),
            r.end[1] - r.start[1],
            misses,
            ms(r.end[3]),
            sim.completed[i],
            sim.misses[i]
        );
        f.eq(
            &format!("task {i}: jobs completed in the run = yields"),
            r.end[1] - r.start[1],
            r.yields,
        );
        f.check(misses == 0 || r.end[3] > 0, || {
            format!("task {i}: {misses} misses but max_lateness_ns 0")
        });
    }
    let simm = sim.total_misses();
    diag!("deadline misses: kernel {kernel_misses}, simulation {simm} (U = 1.3, 2 s)");
    // +-30% or +-3, whichever is larger: the kernel's schedule drifts from
    // the ideal one by wake-up latencies and per-job overhead.
    let tol = (simm as f64 * 0.3).max(3.0);
    f.check(kernel_misses > 0, || {
        "no deadline miss counted at U = 1.3".to_string()
    });
    f.check((kernel_misses as f64 - simm as f64).abs() <= tol, || {
        format!("kernel counted {kernel_misses} misses, simulation {simm} (tolerance +-{tol:.0})")
    });
    f.finish()
}

const FEASIBLE_SET: [SimTask; 3] = [
    SimTask {
        c: 10 * MS,
        d: 50 * MS,
        t: 50 * MS,
    },
    SimTask {
        c: 20 * MS,
        d: 100 * MS,
        t: 100 * MS,
    },
    SimTask {
        c: 30 * MS,
        d: 200 * MS,
        t: 200 * MS,
    },
];

/// Deadline misses tolerated per task of the feasible set: one host stall
/// of the QEMU vCPU thread (one of 60 ms was seen on 7.3, with nothing in
/// the kernel log) makes each task miss once. A kernel that orders or
/// releases jobs wrongly misses many times in 2 s at U = 0.55.
const FS_STALLS: u64 = 1;
/// The lateness such a stall may cause.
const FS_STALL_MAX: u64 = 150 * MS;

fn t_feasible_set_no_miss() -> TestResult {
    let (t0, reps) = run_set(&FEASIBLE_SET, SET_HORIZON)?;
    let mut f = Fails::default();
    for (i, r) in reps.iter().enumerate() {
        check_set_start(&mut f, i, r, t0);
        let p = FEASIBLE_SET[i];
        let done = r.end[1] - r.start[1];
        let want = SET_HORIZON / p.t;
        diag!(
            "task {i} ({}/{}ms): {done} jobs completed in {} s (expected {want}), {} misses, max lateness {:.2}ms",
            ms(p.c),
            ms(p.t),
            SET_HORIZON / SEC,
            r.end[2],
            ms(r.end[3])
        );
        f.check(r.end[2] <= FS_STALLS, || {
            format!(
                "task {i}: deadline_misses {}, want at most {FS_STALLS}",
                r.end[2]
            )
        });
        f.check(r.end[3] <= FS_STALL_MAX, || {
            format!("task {i}: max_lateness {:.2}ms", ms(r.end[3]))
        });
        f.check(done.abs_diff(want) <= 1, || {
            format!("task {i}: {done} jobs completed in the run, want {want} +- 1")
        });
        f.eq(
            &format!("task {i}: jobs_released - jobs_completed at the end"),
            r.end[0] - r.end[1],
            1,
        );
    }
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_feasible_has_no_miss() {
        let r = simulate_edf(&FEASIBLE_SET, SET_HORIZON);
        assert_eq!(r.total_misses(), 0);
        assert_eq!(r.completed, vec![40, 20, 10]);
    }

    #[test]
    fn sim_single_task_overrun() {
        // C = 60 > D = T = 50: every job misses, each successor is released
        // when its predecessor ends (max(r + T, end) = end).
        let t = [SimTask {
            c: 60,
            d: 50,
            t: 50,
        }];
        let r = simulate_edf(&t, 300);
        // Jobs end at 60, 120, ..., 300; the 6th run starts at 300 >= the
        // horizon and is empty, after its deadline? No: released at 300,
        // deadline 350, first runs at 300: no miss.
        assert_eq!(r.completed, vec![5]);
        assert_eq!(r.misses, vec![5]);
    }

    #[test]
    fn sim_preemption_and_ties() {
        // A (1/4/4) preempts B (4/10/10) at its release at 4; B ends at 6.
        let t = [SimTask { c: 1, d: 4, t: 4 }, SimTask { c: 4, d: 10, t: 10 }];
        let r = simulate_edf(&t, 10);
        assert_eq!(r.total_misses(), 0);
        assert_eq!(r.completed, vec![3, 1]);
        // Two tasks of U = 0.6 each: overload, some misses.
        let t = [
            SimTask { c: 6, d: 10, t: 10 },
            SimTask { c: 6, d: 10, t: 10 },
        ];
        let r = simulate_edf(&t, 100);
        assert!(r.total_misses() > 0);
    }

    #[test]
    fn sim_overload_set() {
        let r = simulate_edf(&OVERLOAD_SET, SET_HORIZON);
        eprintln!("overload set: {r:?}");
        assert!(r.total_misses() >= 5, "{r:?}");
    }
}
