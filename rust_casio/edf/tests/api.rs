//! Integration tests through the public paths the kernel glue uses.

use casio_edf::edf::{
    job_deadline, should_preempt, CasioParams, EdfKey, EdfNode, EdfQueue, EdfTree, Job, JobStats,
    ParamError, CASIO_MAX_PERIOD_NS, CASIO_MIN_PERIOD_NS, CASIO_MIN_RUNTIME_NS,
};
use core::mem::{align_of, size_of};
use core::ptr::NonNull;

/// Fails to compile if a signature other engineers code against changes.
#[test]
fn signatures() {
    let _: fn() -> EdfNode = EdfNode::new;
    let _: fn(&EdfNode) -> bool = EdfNode::is_linked;
    let _: fn(&EdfNode) -> EdfKey = EdfNode::key;
    let _: fn() -> EdfTree = EdfTree::new;
    let _: fn(&EdfTree) -> usize = EdfTree::len;
    let _: fn(&EdfTree) -> bool = EdfTree::is_empty;
    let _: fn(&EdfTree) -> Option<NonNull<EdfNode>> = EdfTree::first;
    let _: unsafe fn(&mut EdfTree, NonNull<EdfNode>, EdfKey) = EdfTree::insert;
    let _: unsafe fn(&mut EdfTree, NonNull<EdfNode>) = EdfTree::remove;
    let _: unsafe fn(&EdfTree, NonNull<EdfNode>) -> Option<NonNull<EdfNode>> = EdfTree::next;
    let _: fn(&EdfTree) -> Result<(), &'static str> = EdfTree::check;
    let _: fn() -> EdfQueue = EdfQueue::new;
    let _: unsafe fn(&mut EdfQueue, NonNull<EdfNode>, u64) = EdfQueue::enqueue;
    let _: unsafe fn(&mut EdfQueue, NonNull<EdfNode>) = EdfQueue::dequeue;
    let _: fn(&EdfQueue) -> Option<NonNull<EdfNode>> = EdfQueue::earliest;
    let _: fn(&EdfQueue) -> usize = EdfQueue::len;
    let _: fn(u64, u64, u64) -> Result<CasioParams, ParamError> = CasioParams::from_attr;
    let _: fn(u64) -> Result<CasioParams, ParamError> = CasioParams::from_deadline;
    let _: fn(u64, &CasioParams) -> u64 = job_deadline;
    let _: fn(&Job) -> bool = Job::released;
    let _: fn(&Job) -> bool = Job::is_active;
    let _: fn(&mut Job, &mut JobStats, u64, u64, &CasioParams) = Job::release;
    let _: fn(&mut Job, &mut JobStats, u64, u64) -> bool = Job::end;
    let _: fn(&mut Job, &mut JobStats, u64) -> bool = Job::deadline_reached;
    let _: fn(&mut Job, &mut JobStats, u64, u64, &CasioParams) -> bool = Job::wake_up;
    let _: fn(&Job, u64, &CasioParams) -> u64 = Job::next_release;
    let _: fn(EdfKey, EdfKey) -> bool = should_preempt;
    let q = EdfQueue::new();
    let _: &EdfTree = &q.tree;
    let _: u64 = q.next_seq;
    let _: (u64, u64) = (EdfKey::default().deadline, EdfKey::default().seq);
    let _ = (
        CASIO_MIN_RUNTIME_NS,
        CASIO_MIN_PERIOD_NS,
        CASIO_MAX_PERIOD_NS,
    );
}

/// Const-constructible, so they can be statics / C-struct initialisers.
static _NODE_IS_CONST: () = {
    let _ = EdfNode::new();
    let _ = EdfTree::new();
    let _ = EdfQueue::new();
};

#[test]
fn c_layout() {
    let w = size_of::<usize>();
    assert_eq!(size_of::<EdfKey>(), 16);
    assert_eq!(size_of::<EdfNode>(), 3 * w + 8 + 16);
    assert_eq!(size_of::<EdfTree>(), 2 * w + 8);
    assert_eq!(size_of::<EdfQueue>(), 2 * w + 16);
    assert_eq!(size_of::<CasioParams>(), 24);
    // The CBS wake-up rule needs no per-job field beyond these.
    assert_eq!(size_of::<Job>(), 48);
    assert_eq!(size_of::<JobStats>(), 56);
    assert_eq!(align_of::<EdfNode>(), align_of::<u64>().max(w));
}

/// Key ordering: deadline first, then seq.
#[test]
fn key_order() {
    assert!(EdfKey::new(1, 9) < EdfKey::new(2, 0));
    assert!(EdfKey::new(2, 0) < EdfKey::new(2, 1));
    assert_eq!(
        EdfKey::new(3, 3),
        EdfKey {
            deadline: 3,
            seq: 3
        }
    );
}

/// A small EDF simulation driven by the queue and [`Job`]: a task set with
/// utilisation <= 1 and implicit deadlines never misses a deadline, and
/// `should_preempt` agrees with the queue's choice. As in the kernel, a task
/// that finishes its job blocks; its wake-up at the next release ends that
/// job and releases a new one, and the deadline timer finds no queued job
/// past its deadline.
#[test]
fn edf_simulation_meets_deadlines() {
    const Q: u64 = 1_000; // scheduling quantum, ns
    let specs = [
        (30_000u64, 100_000u64),
        (50_000, 200_000),
        (100_000, 400_000),
        (60_000, 300_000),
        (20_000, 400_000),
    ];
    // Utilisation: 0.3 + 0.25 + 0.25 + 0.2 + 0.05 = 1.05 > 1 -> drop the last.
    let specs = &specs[..4];
    let n = specs.len();
    let params: Vec<CasioParams> = specs
        .iter()
        .map(|&(r, p)| CasioParams::from_attr(r, p, 0).unwrap())
        .collect();
    assert!(params.iter().all(|p| p.deadline == p.period));
    let nodes: Vec<EdfNode> = specs.iter().map(|_| EdfNode::new()).collect();
    let node_of = |i: usize| NonNull::from(&nodes[i]);
    let task_of = |n: NonNull<EdfNode>| nodes.iter().position(|m| NonNull::from(m) == n).unwrap();
    let mut jobs = vec![Job::default(); n];
    let mut stats = vec![JobStats::default(); n];
    let mut exec = vec![0u64; n]; // CPU time used by each task
    let mut remaining = vec![0u64; n];
    let mut next_release = vec![0u64; n];
    let mut q = EdfQueue::new();
    let mut running: Option<usize> = None;
    let mut completed = 0;
    let mut preemptions = 0;
    let mut now = 0;
    while now < 12_000_000 {
        // The deadline timers: a queued job at its deadline is a miss.
        for i in 0..n {
            if nodes[i].is_linked() && jobs[i].deadline == now {
                assert!(
                    !jobs[i].deadline_reached(&mut stats[i], now),
                    "task {} missed its deadline",
                    i
                );
            }
        }
        for i in 0..n {
            if next_release[i] == now {
                assert_eq!(remaining[i], 0, "task {} missed its deadline", i);
                assert!(jobs[i].wake_up(&mut stats[i], now, exec[i], &params[i]));
                assert!(jobs[i].is_active());
                assert_eq!(jobs[i].release, now);
                assert_eq!(jobs[i].deadline, job_deadline(now, &params[i]));
                remaining[i] = params[i].runtime;
                next_release[i] = now + params[i].period;
                let curr_key = running.map(|r| nodes[r].key());
                // SAFETY: the node is unlinked; `nodes` outlives `q`'s use.
                unsafe { q.enqueue(node_of(i), jobs[i].deadline) };
                if let Some(ck) = curr_key {
                    let pre = should_preempt(ck, nodes[i].key());
                    let r = running.unwrap();
                    assert_eq!(pre, q.earliest() == Some(node_of(i)) && r != i);
                    if pre {
                        preemptions += 1;
                    }
                }
            }
        }
        assert!(q.tree.check().is_ok());
        running = q.earliest().map(task_of);
        if let Some(i) = running {
            remaining[i] -= Q;
            exec[i] += Q;
            if remaining[i] == 0 {
                assert!(now + Q <= jobs[i].deadline, "task {} finished late", i);
                // The task blocks until its next release.
                jobs[i].last_block = now + Q;
                // SAFETY: the node is queued in `q`.
                unsafe { q.dequeue(node_of(i)) };
                completed += 1;
                running = None;
            }
        }
        now += Q;
    }
    assert!(completed > 100, "{}", completed);
    assert!(preemptions > 0);
    for i in 0..n {
        let s = &stats[i];
        // Every wake-up but the first ended the job before it, on time and
        // with its whole runtime used.
        assert!(s.jobs_released > 1);
        assert_eq!(s.jobs_completed, s.jobs_released - 1, "task {}", i);
        assert_eq!(s.deadline_misses, 0, "task {}", i);
        assert_eq!(s.max_lateness_ns, 0, "task {}", i);
        assert_eq!(s.max_job_exec_ns, params[i].runtime, "task {}", i);
        assert_eq!(s.total_exec_ns, s.jobs_completed * params[i].runtime);
    }
    let ended: u64 = stats.iter().map(|s| s.jobs_completed).sum();
    assert!(ended <= completed && completed <= ended + n as u64);
    while let Some(n) = q.earliest() {
        // SAFETY: queued in `q`.
        unsafe { q.dequeue(n) };
    }
}

/// Yield-driven periodic task: every job ends with sched_yield and the next
/// deadline lands one period later; a job that yields after its next release
/// is due gets the next job at once.
#[test]
fn yield_sequence() {
    let p = CasioParams::from_attr(10_000, 500_000, 1_000_000).unwrap();
    let (mut job, mut stats) = (Job::default(), JobStats::default());
    let mut exec = 0;
    assert!(job.wake_up(&mut stats, 0, exec, &p));
    assert_eq!(job.deadline, 500_000);
    for k in 1..100u64 {
        let now = job.deadline - 400_000; // finished early in each job
        exec += p.runtime;
        assert!(!job.end(&mut stats, now, exec), "job {} on time", k);
        let next = job.next_release(now, &p);
        assert_eq!(next, k * 1_000_000);
        // The task waits off the queue; the release timer fires at `next`.
        job.release(&mut stats, next, exec, &p);
        assert_eq!(job.deadline, k * 1_000_000 + 500_000);
    }
    assert_eq!(stats.jobs_released, 100);
    assert_eq!(stats.jobs_completed, 99);
    assert_eq!(stats.deadline_misses, 0);
    assert_eq!(stats.total_exec_ns, 99 * p.runtime);
    // Late: yields 300us after the next release was due (and past its
    // deadline), so the next job is released now.
    let now = job.release + p.period + 300_000;
    exec += p.runtime;
    assert!(job.end(&mut stats, now, exec), "late yield is a miss");
    assert_eq!(job.next_release(now, &p), now);
    job.release(&mut stats, now, exec, &p);
    assert_eq!(job.deadline, now + 500_000);
    assert_eq!(stats.deadline_misses, 1);
    assert_eq!(stats.max_lateness_ns, p.period + 300_000 - p.deadline);
}

/// The synchronous start of issue 16, at the core level: five tasks with
/// D = 700, 300, 900, 100, 500 ms (C = 40 ms, T = 2D) get their first job
/// when they set the policy at s, block at once and all wake at
/// t0 = s + 300 ms. Whoever still has a deadline ahead has all of its
/// runtime left, more than C/D of the time until that deadline, so by the
/// CBS wake-up rule every task gets a new job at t0 and EDF runs them in
/// the order of t0 + D. (Keeping the old deadlines would have run the
/// D = 500 ms task, due at s + 500 ms, before the D = 300 ms one, due at
/// t0 + 300 ms = s + 600 ms.)
#[test]
fn synchronous_start_releases_every_job_at_the_wake_up() {
    const MS: u64 = 1_000_000;
    const US: u64 = 1_000;
    let ds = [700 * MS, 300 * MS, 900 * MS, 100 * MS, 500 * MS];
    let params: Vec<CasioParams> = ds
        .iter()
        .map(|&d| CasioParams::from_attr(40 * MS, d, 2 * d).unwrap())
        .collect();
    let n = ds.len();
    let s = 10_000 * MS;
    let t0 = s + 300 * MS;
    let mut jobs = vec![Job::default(); n];
    let mut stats = vec![JobStats::default(); n];
    let mut exec = vec![0u64; n];
    for i in 0..n {
        // Setting the policy at s releases the first job; the tasks then
        // run 50 us of set-up each, in turn, and sleep until t0.
        assert!(jobs[i].wake_up(&mut stats[i], s, exec[i], &params[i]));
        assert_eq!(jobs[i].deadline, s + ds[i]);
        exec[i] += 50 * US;
        jobs[i].last_block = s + (i as u64 + 1) * 50 * US;
    }
    let nodes: Vec<EdfNode> = (0..n).map(|_| EdfNode::new()).collect();
    let mut q = EdfQueue::new();
    for i in 0..n {
        assert!(
            jobs[i].wake_up(&mut stats[i], t0, exec[i], &params[i]),
            "task D = {} ms keeps its first job",
            ds[i] / MS
        );
        assert_eq!((jobs[i].release, jobs[i].deadline), (t0, t0 + ds[i]));
        // SAFETY: the node is unlinked and outlives its use in `q`.
        unsafe { q.enqueue(NonNull::from(&nodes[i]), jobs[i].deadline) };
    }
    let mut order = Vec::new();
    while let Some(e) = q.earliest() {
        let i = nodes.iter().position(|m| NonNull::from(m) == e).unwrap();
        order.push(ds[i] / MS);
        // SAFETY: `e` is queued in `q`.
        unsafe { q.dequeue(e) };
    }
    assert_eq!(order, [100, 300, 500, 700, 900]);
    for (i, st) in stats.iter().enumerate() {
        // The first job ended, on time, when the task went to sleep.
        assert_eq!(
            (st.jobs_released, st.jobs_completed, st.deadline_misses),
            (2, 1, 0),
            "task D = {} ms",
            ds[i] / MS
        );
        assert_eq!((st.total_exec_ns, st.max_lateness_ns), (50 * US, 0));
    }
}
