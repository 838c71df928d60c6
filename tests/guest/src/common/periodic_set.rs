//! Sets of periodic CASIO tasks that report through shared memory (SMP tests).

use casio_abi::{
    burn_cpu, monotonic_ns, sched_yield, set_affinity_cpus, setattr, sleep_until_ns, thread_cpu_ns,
    SchedAttr,
};

use crate::common::checks::{ms, sys, Fails};
use crate::common::cpus::getcpu;
use crate::common::proc::{spawn, wait_for_all, Child};
use crate::common::shared::{publish, shm_record, store, wait_published, Shared, Slot};
use crate::common::stats::read_stat;
use crate::{MS, SEC};

/// CPUs whose jobs a periodic task counts one by one.
pub const MAX_CPUS: usize = 8;

shm_record! {
    /// What a periodic task of a [`PSet`] reports.
    pub struct PeriodicSlots {
        pub ready: Slot,
        /// Jobs done so far.
        pub jobs: Slot,
        /// Finished.
        pub done: Slot,
        /// Stats at T0: released, completed, misses.
        pub start: [Slot; 3],
        /// Stats at the end: released, completed, misses, max lateness.
        pub end: [Slot; 4],
        /// Jobs that ran on a CPU outside the task's set.
        pub wrong: Slot,
        /// The CPUs it ran on.
        pub mask: Slot,
        /// Its CPU time.
        pub cpu: Slot,
        /// Bit j: the task's miss count grew during its job j (read at the
        /// start of job j + 1 and at the end; jobs 0..63).
        pub missed: Slot,
        /// Jobs started on CPU c (c < [`MAX_CPUS`]).
        pub per_cpu: [Slot; MAX_CPUS],
    }
}

shm_record! {
    /// What the controller tells every task of a [`PSet`].
    pub struct PeriodicHead {
        pub t0: Slot,
        pub stop: Slot,
    }
}

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
pub fn periodic(
    me: &PeriodicSlots,
    head: &PeriodicHead,
    p: &PTask,
    horizon: u64,
) -> Result<(), String> {
    sys("sched_setaffinity", set_affinity_cpus(0, &p.cpus))?;
    sys(
        &format!("setattr CASIO {}/{}/{}ms", ms(p.c), ms(p.t), ms(p.t)),
        setattr(0, &SchedAttr::casio(p.c, p.t, p.t), 0),
    )?;
    me.ready.set(1);
    let t0 = wait_published(&head.t0, 20 * SEC).ok_or("T0 never published")?;
    sleep_until_ns(t0);
    let st = read_stat(0)?;
    store(&me.start, st.job_counts());
    let cpu0 = thread_cpu_ns();
    let mut jobs = 0u64;
    let (mut mask, mut wrong) = (0u64, 0u64);
    let mut misses = st.n("deadline_misses");
    let mut missed = 0u64;
    loop {
        if head.stop.get() != 0
            || (p.jobs > 0 && jobs >= p.jobs)
            || (p.jobs == 0 && monotonic_ns() >= t0 + horizon)
        {
            break;
        }
        let c = getcpu();
        mask |= 1u64 << c.min(63);
        if c < MAX_CPUS {
            me.per_cpu[c].add(1);
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
        me.jobs.set(jobs);
    }
    me.missed.set(missed);
    let st = read_stat(0)?;
    store(&me.end, st.job_counts());
    me.wrong.set(wrong);
    me.mask.set(mask);
    me.cpu.set(thread_cpu_ns() - cpu0);
    me.done.set(1);
    let done = st.n("jobs_completed") - me.start[1].get();
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

pub struct PSet {
    pub head: Shared<PeriodicHead>,
    pub tasks: Shared<PeriodicSlots>,
    pub kids: Vec<Child>,
}

impl PSet {
    /// Fork the tasks and wait until each has set its policy.
    pub fn start(tasks: &[PTask], horizon: u64) -> Result<PSet, String> {
        let head = Shared::<PeriodicHead>::one()?;
        let slots = Shared::<PeriodicSlots>::new(tasks.len())?;
        let mut kids = Vec::new();
        for (i, p) in tasks.iter().enumerate() {
            let (me, h) = (&slots[i], head.rec());
            let p = p.clone();
            kids.push(spawn(
                &format!("task {i} ({}/{}ms on {:?})", ms(p.c), ms(p.t), p.cpus),
                move || periodic(me, h, &p, horizon),
            )?);
        }
        let mut set = PSet {
            head,
            tasks: slots,
            kids,
        };
        let PSet { tasks, kids, .. } = &mut set;
        wait_for_all("periodic tasks ready", kids, 20 * SEC, || {
            tasks.iter().all(|t| t.ready.get() != 0)
        })?;
        Ok(set)
    }

    pub fn release(&self, t0: u64) {
        publish(&self.head.rec().t0, t0);
    }

    /// What task `i` reported.
    pub fn report(&self, i: usize) -> &PeriodicSlots {
        &self.tasks[i]
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
