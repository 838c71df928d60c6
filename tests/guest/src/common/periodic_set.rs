//! Sets of periodic CASIO tasks that report through shared memory (SMP tests).

use casio_abi::*;

use crate::common::*;
use crate::{MS, SEC};

/// Per-task slots of a periodic set: 0 ready, 1 jobs done, 2 finished,
/// 3..6 stats at T0 (released, completed, misses), 6..10 at the end
/// (released, completed, misses, max lateness), 10 jobs on a wrong CPU,
/// 11 CPU mask, 12 CPU time.
pub const PS: usize = 16 + MAX_CPUS;
pub const P_READY: usize = 0;
pub const P_JOBS: usize = 1;
pub const P_DONE: usize = 2;
pub const P_START: usize = 3;
pub const P_END: usize = 6;
pub const P_WRONG: usize = 10;
pub const P_MASK: usize = 11;
pub const P_CPU: usize = 12;
/// Bit j: the task's miss count grew during its job j (read at the start
/// of job j + 1 and at the end; jobs 0..63).
pub const P_MISSED: usize = 13;
/// Jobs started on CPU c (c < MAX_CPUS) at slot P_PER_CPU + c.
pub const P_PER_CPU: usize = 16;
/// CPUs whose jobs a periodic task counts one by one.
pub const MAX_CPUS: usize = 8;
/// Global slots after the tasks: T0, stop.
pub const P_T0: usize = 0;
pub const P_STOP: usize = 1;

/// A periodic CASIO task: its CPUs, C and T (D = T), and when it stops.
#[derive(Clone, Debug)]
pub struct PTask {
    pub cpus: Vec<usize>,
    pub c: u64,
    pub t: u64,
    /// Stop after this many jobs (0: run until the stop slot or the
    /// horizon).
    pub jobs: u64,
}

/// The body of a periodic task `i`: pin, set the policy, wait for T0 and
/// run jobs of "burn C; yield" until `horizon` after T0, `p.jobs` jobs, or
/// the stop flag; report its own statistics and check that the kernel
/// counted exactly the jobs it ran.
pub fn periodic(s: &Shm, base: usize, g: usize, p: &PTask, horizon: u64) -> Result<(), String> {
    sys("sched_setaffinity", set_affinity_cpus(0, &p.cpus))?;
    sys(
        &format!("setattr CASIO {}/{}/{}ms", ms(p.c), ms(p.t), ms(p.t)),
        setattr(0, &SchedAttr::casio(p.c, p.t, p.t), 0),
    )?;
    s.set(base + P_READY, 1);
    let t0 = wait_published(s, g + P_T0, 20 * SEC).ok_or("T0 never published")?;
    sleep_until_ns(t0);
    let st = read_stat(0)?;
    s.set(base + P_START, st.n("jobs_released"));
    s.set(base + P_START + 1, st.n("jobs_completed"));
    s.set(base + P_START + 2, st.n("deadline_misses"));
    let cpu0 = thread_cpu_ns();
    let mut jobs = 0u64;
    let (mut mask, mut wrong) = (0u64, 0u64);
    let mut misses = st.n("deadline_misses");
    let mut missed = 0u64;
    loop {
        if s.get(g + P_STOP) != 0
            || (p.jobs > 0 && jobs >= p.jobs)
            || (p.jobs == 0 && monotonic_ns() >= t0 + horizon)
        {
            break;
        }
        let c = getcpu();
        mask |= 1u64 << c.min(63);
        if c < MAX_CPUS {
            s.fetch_add(base + P_PER_CPU + c, 1);
        }
        burn_cpu(p.c);
        let c2 = getcpu();
        mask |= 1u64 << c2.min(63);
        if !p.cpus.contains(&c) || !p.cpus.contains(&c2) {
            wrong += 1;
        }
        sys("sched_yield", sched_yield())?;
        let m = read_stat(0)?.n("deadline_misses");
        if m > misses {
            missed |= 1u64 << jobs.min(63);
            misses = m;
        }
        jobs += 1;
        s.set(base + P_JOBS, jobs);
    }
    s.set(base + P_MISSED, missed);
    let st = read_stat(0)?;
    s.set(base + P_END, st.n("jobs_released"));
    s.set(base + P_END + 1, st.n("jobs_completed"));
    s.set(base + P_END + 2, st.n("deadline_misses"));
    s.set(base + P_END + 3, st.n("max_lateness_ns"));
    s.set(base + P_WRONG, wrong);
    s.set(base + P_MASK, mask);
    s.set(base + P_CPU, thread_cpu_ns() - cpu0);
    s.set(base + P_DONE, 1);
    let done = st.n("jobs_completed") - s.get(base + P_START + 1);
    // Every yield ends a job. The /proc read after it may block; a task
    // that wakes late in its job with most of C left gets a new job (the
    // CBS rule), which ends the old one too: a few more, never fewer.
    if done < jobs || done > jobs + jobs / 4 + 2 {
        return Err(format!(
            "ran {jobs} jobs, the kernel counted {done} completed ({})",
            st.brief()
        ));
    }
    Ok(())
}

/// What a periodic task reported.
#[derive(Clone, Copy, Debug, Default)]
pub struct PReport {
    pub jobs: u64,
    pub done: bool,
    pub start: [u64; 3],
    pub end: [u64; 4],
    pub wrong: u64,
    pub mask: u64,
    pub cpu: u64,
    pub missed: u64,
}

pub struct PSet {
    pub shm: Shm,
    pub g: usize,
    pub kids: Vec<Child>,
}

impl PSet {
    /// Fork the tasks and wait until each has set its policy.
    pub fn start(tasks: &[PTask], horizon: u64) -> Result<PSet, String> {
        let g = PS * tasks.len();
        let shm = Shm::new(g + 4)?;
        let mut kids = Vec::new();
        for (i, p) in tasks.iter().enumerate() {
            let s = &shm;
            let p = p.clone();
            kids.push(spawn(
                &format!("task {i} ({}/{}ms on {:?})", ms(p.c), ms(p.t), p.cpus),
                move || periodic(s, PS * i, g, &p, horizon),
            )?);
        }
        let mut set = PSet { shm, g, kids };
        {
            let n = tasks.len();
            let PSet { shm, kids, .. } = &mut set;
            let mut refs: Vec<&mut Child> = kids.iter_mut().collect();
            wait_for("periodic tasks ready", &mut refs, 20 * SEC, || {
                (0..n).all(|i| shm.get(PS * i + P_READY) != 0)
            })?;
        }
        Ok(set)
    }

    pub fn release(&self, t0: u64) {
        publish(&self.shm, self.g + P_T0, t0);
    }

    pub fn report(&self, i: usize) -> PReport {
        let b = PS * i;
        let g = |k: usize| self.shm.get(b + k);
        PReport {
            jobs: g(P_JOBS),
            done: g(P_DONE) != 0,
            start: [g(P_START), g(P_START + 1), g(P_START + 2)],
            end: [g(P_END), g(P_END + 1), g(P_END + 2), g(P_END + 3)],
            wrong: g(P_WRONG),
            mask: g(P_MASK),
            cpu: g(P_CPU),
            missed: g(P_MISSED),
        }
    }

    /// Join every task; the errors (task label: reason).
    pub fn join(&mut self, timeout_ns: u64) -> Vec<String> {
        let end = monotonic_ns() + timeout_ns;
        let mut errs = Vec::new();
        for k in &mut self.kids {
            let left = end.saturating_sub(monotonic_ns()).max(MS);
            if let Err(e) = k.join(left) {
                errs.push(e);
            }
        }
        errs
    }
}

/// Report the first few errors of `errs` as one failure.
pub fn push_errs(f: &mut Fails, what: &str, errs: &[String]) {
    if !errs.is_empty() {
        f.push(format!(
            "{} {what} failed: {}",
            errs.len(),
            errs.iter().take(4).cloned().collect::<Vec<_>>().join("; ")
        ));
    }
}
