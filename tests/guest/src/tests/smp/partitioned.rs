//! Partitioned EDF and many periodic tasks.

use casio_abi::monotonic_ns;

use crate::common::checks::{ms, Fails};
use crate::common::cpus::{mask_cpus, setup};
use crate::common::periodic_set::{push_errs, PSet, PTask, MAX_CPUS};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    smp_partitioned: "partitioned EDF: 3 periodic tasks pinned per CPU (U=0.8), no miss" => t_partitioned,
    smp_many_tasks: "64 periodic CASIO tasks on all CPUs: 20 jobs each, spread, (almost) no miss" => t_many_tasks,
}

// ---------------------------------------------------------------------------
// smp_partitioned
// ---------------------------------------------------------------------------

const PART_SET: [(u64, u64); 3] = [
    (20 * MS, 100 * MS),
    (45 * MS, 150 * MS),
    (90 * MS, 300 * MS),
];
const PART_H: u64 = 3 * SEC;

fn t_partitioned() -> TestResult {
    let cx = setup()?;
    let mut tasks = Vec::new();
    for &cpu in &cx.work {
        for &(c, t) in &PART_SET {
            tasks.push(PTask {
                cpus: vec![cpu],
                c,
                t,
                jobs: 0,
            });
        }
    }
    let mut set = PSet::start(&tasks, PART_H)?;
    let t0 = monotonic_ns() + 500 * MS;
    set.release(t0);
    let errs = set.join(PART_H + 8 * SEC);
    let mut f = Fails::default();
    push_errs(&mut f, "tasks", &errs);
    let (mut jobs, mut misses, mut cpu) = (0u64, 0u64, 0u64);
    for (i, p) in tasks.iter().enumerate() {
        let r = set.report(i);
        if r.done.get() == 0 {
            continue;
        }
        let done = r.end[1].get() - r.start[1].get();
        let miss = r.end[2].get() - r.start[2].get();
        jobs += done;
        misses += miss;
        cpu += r.cpu.get();
        let want = PART_H / p.t;
        if miss > 0 {
            diag!(
                "task {i} ({}/{}ms on CPU {:?}): {miss} misses, max lateness {:.1} ms",
                ms(p.c),
                ms(p.t),
                p.cpus,
                ms(r.end[3].get())
            );
        }
        f.check(r.jobs.get().abs_diff(want) <= 1, || {
            format!(
                "task {i} ({}/{}ms on CPU {:?}): {} jobs in {} s, want {want} +- 1",
                ms(p.c),
                ms(p.t),
                p.cpus,
                r.jobs.get(),
                PART_H / SEC
            )
        });
        f.eq(
            &format!("task {i}: jobs on another CPU than its own"),
            r.wrong.get(),
            0,
        );
        f.eq(
            &format!("task {i}: CPUs it ran on"),
            mask_cpus(r.mask.get()),
            p.cpus.clone(),
        );
    }
    let tol = jobs.div_ceil(20);
    diag!(
        "{} tasks on {} CPUs (U = 0.8 each): {jobs} jobs, {misses} misses (tolerated {tol}, 5%, for QEMU wake-up latency and a busy host); {:.2} CPUs busy on average",
        tasks.len(),
        cx.m(),
        cpu as f64 / PART_H as f64
    );
    f.check(misses <= tol, || {
        format!("{misses} deadline misses in {jobs} jobs (tolerated {tol}); each CPU has U = 0.8")
    });
    // 0.8 per CPU: the CPUs ran the tasks in parallel.
    f.check(cpu as f64 >= 0.6 * cx.m() as f64 * PART_H as f64, || {
        format!(
            "the tasks burned {:.2} CPU-seconds in {} s, want >= {:.1}",
            cpu as f64 / SEC as f64,
            PART_H / SEC,
            0.6 * cx.m() as f64 * (PART_H / SEC) as f64
        )
    });
    f.finish()
}

// ---------------------------------------------------------------------------
// smp_many_tasks
// ---------------------------------------------------------------------------

const MANY: usize = 64;
const MANY_JOBS: u64 = 15;
/// C and T of each task: U = 1.28 in all. T is long next to QEMU's timer
/// jitter and to what a DEBUG kernel spends per job under TCG (with
/// T = 100 ms a slow host made a quarter of the jobs late).
const MANY_C: u64 = 4 * MS;
const MANY_T: u64 = 200 * MS;

fn t_many_tasks() -> TestResult {
    let cx = setup()?;
    let all: Vec<usize> = (0..cx.n).collect();
    let tasks: Vec<PTask> = (0..MANY)
        .map(|_| PTask {
            cpus: all.clone(),
            c: MANY_C,
            t: MANY_T,
            jobs: MANY_JOBS,
        })
        .collect();
    // The tasks are forked from the controller's CPU and allowed on every
    // CPU: a kernel that keeps a CASIO task where it woke leaves all 64
    // there (U = 1.28 on one CPU).
    let mut set = PSet::start(&tasks, 0)?;
    let t0 = monotonic_ns() + 300 * MS;
    set.release(t0);
    let errs = set.join(MANY_JOBS * MANY_T + 8 * SEC);
    let t_end = monotonic_ns();
    let mut f = Fails::default();
    push_errs(&mut f, "tasks", &errs);
    let (mut misses, mut jobs, mut union) = (0u64, 0u64, 0u64);
    let mut per_cpu = vec![0u32; 64];
    let mut jobs_on = [0u64; MAX_CPUS];
    let mut per_job = vec![0u32; MANY_JOBS as usize];
    let (mut late_tasks, mut max_late) = (0u32, 0u64);
    let mut short = Vec::new();
    for i in 0..MANY {
        let r = set.report(i);
        for (j, n) in per_job.iter_mut().enumerate() {
            if r.missed.get() & (1u64 << j) != 0 {
                *n += 1;
            }
        }
        if r.end[2].get() > r.start[2].get() {
            late_tasks += 1;
            max_late = max_late.max(r.end[3].get());
        }
        for (c, n) in jobs_on.iter_mut().enumerate() {
            *n += r.per_cpu[c].get();
        }
        jobs += r.jobs.get();
        if r.done.get() == 0 || r.jobs.get() != MANY_JOBS {
            short.push(format!("task {i}: {} jobs", r.jobs.get()));
            continue;
        }
        misses += r.end[2].get() - r.start[2].get();
        union |= r.mask.get();
        for c in mask_cpus(r.mask.get()) {
            per_cpu[c] += 1;
        }
        f.eq(
            &format!("task {i}: jobs_released - jobs_completed at the end"),
            r.end[0].get() - r.end[1].get(),
            1,
        );
    }
    let busiest = jobs_on.iter().copied().max().unwrap_or(0);
    diag!(
        "{MANY} tasks ({}/{} ms, U = 1.28): {jobs} jobs, done {:.2} s after T0; jobs started on each CPU: {:?}; tasks that ran on each CPU: {:?}",
        ms(MANY_C),
        ms(MANY_T),
        (t_end - t0) as f64 / SEC as f64,
        &jobs_on[..cx.n.min(MAX_CPUS)],
        &per_cpu[..cx.n]
    );
    diag!(
        "{misses} deadline misses in {late_tasks} tasks, max lateness {:.1} ms; tasks that missed job 0, 1, ...: {per_job:?}",
        ms(max_late)
    );
    // Global EDF meets every deadline of this set (U = 1.28 on 3 or more
    // CPUs, each task 2% of one). A 10% allowance covers QEMU's wake-up
    // latency on a quiet host (about 1% seen); tasks stacked on one CPU
    // miss most of theirs.
    f.check(misses * 10 <= jobs, || {
        format!("{misses} deadline misses in {jobs} jobs (tolerated 10%); U = 1.28")
    });
    f.check(short.is_empty(), || {
        format!(
            "{} tasks did not run their {MANY_JOBS} jobs: {}",
            short.len(),
            short.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        )
    });
    // Spread: no CPU started more than half of the jobs (a fair share is
    // 1/n; a kernel that leaves the tasks where they were forked starts
    // nearly all of them on one CPU).
    f.check(busiest * 2 <= jobs, || {
        format!(
            "one CPU started {busiest} of the {jobs} jobs: {:?} per CPU",
            &jobs_on[..cx.n.min(MAX_CPUS)]
        )
    });
    f.check(mask_cpus(union).len() >= 3, || {
        format!("the {MANY} tasks ran only on CPUs {:?}", mask_cpus(union))
    });
    f.finish()
}
