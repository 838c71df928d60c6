//! casio-queue-bench: self-timed cost per operation of the pure EDF queue
//! (`casio_edf::edf::EdfQueue`, a red-black tree) against a linear-list
//! baseline, at n = 10, 100, 1,000 and 10,000 queued tasks.
//!
//! ```text
//! casio-queue-bench [--quick] [--sizes 10,100,1000,10000]
//! ```
//!
//! Output: `BENCH host ...`, then one `BENCH scaling impl=... op=... n=...
//! ns_per_op=...` line per measurement (median of the repetitions) and
//! `BENCH scaling_ratio ...` lines (cost at the largest n over the smallest).

use std::hint::black_box;
use std::time::Instant;

use casio_queue_bench::{median, ListQueue, ReadyQueue, Rng, TreeQueue};

/// Fill a queue with all `n` slots, random deadlines in [0, 100 ms).
fn filled<Q: ReadyQueue>(mut q: Q, n: usize, rng: &mut Rng) -> Q {
    for i in 0..n {
        q.enqueue(i, rng.below(100_000_000));
    }
    q
}

/// Time `op` (which performs `ops_per_call` operations per call) for about
/// `target_ns`, `reps` times; median ns per operation.
fn time_it<F: FnMut()>(mut op: F, ops_per_call: u64, target_ns: u64, reps: usize) -> f64 {
    // Calibrate the call count on one short run.
    let t = Instant::now();
    let mut calls = 0u64;
    while (t.elapsed().as_nanos() as u64) < target_ns / 10 || calls < 3 {
        op();
        calls += 1;
    }
    let per_call = t.elapsed().as_nanos() as f64 / calls as f64;
    let calls = ((target_ns as f64 / per_call) as u64).max(3);
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        for _ in 0..calls {
            op();
        }
        samples.push(t.elapsed().as_nanos() as f64 / (calls * ops_per_call) as f64);
    }
    median(&samples)
}

struct Measure {
    imp: &'static str,
    op: &'static str,
    n: usize,
    ns: f64,
}

fn measure_impl<Q: ReadyQueue, M: Fn(usize) -> Q>(
    imp: &'static str,
    make: M,
    n: usize,
    target: u64,
    reps: usize,
    out: &mut Vec<Measure>,
) {
    let mut rng = Rng::new(0x5EED ^ n as u64);
    let periods: Vec<u64> = (0..n).map(|_| 1_000_000 + rng.below(99_000_000)).collect();
    let mut push = |op: &'static str, ns: f64| {
        println!("BENCH scaling impl={imp} op={op} n={n} ns_per_op={ns:.2}");
        out.push(Measure { imp, op, n, ns });
    };

    // earliest: O(1) for the tree (cached leftmost), O(n) for the list.
    let q = filled(make(n), n, &mut rng);
    push(
        "earliest",
        time_it(
            || {
                // black_box(&q): the queue must be re-read every call.
                black_box(black_box(&q).earliest());
            },
            1,
            target,
            reps,
        ),
    );

    // cycle: what the scheduler does when a job ends: pick the earliest,
    // dequeue it, enqueue it with its next deadline (+ its period).
    let mut q = filled(make(n), n, &mut rng);
    push(
        "cycle",
        time_it(
            || {
                let e = q.earliest().expect("non-empty");
                let d = q.deadline(e);
                q.dequeue(e);
                q.enqueue(e, d + periods[e]);
            },
            1,
            target,
            reps,
        ),
    );

    // requeue: a random task blocks and wakes with a new deadline
    // (dequeue from anywhere + enqueue): one pair per op.
    let mut q = filled(make(n), n, &mut rng);
    let mut now = 100_000_000u64;
    let mut r2 = Rng::new(42);
    push(
        "dequeue+enqueue",
        time_it(
            || {
                let i = r2.below(n as u64) as usize;
                q.dequeue(i);
                now += 1_000;
                q.enqueue(i, now + r2.below(100_000_000));
            },
            1,
            target,
            reps,
        ),
    );

    // fill: n enqueues into an empty queue (mean cost per enqueue at sizes
    // 0..n), and drain: n times dequeue(earliest) (sizes n..1).  The queue
    // is rebuilt outside the timed region for drain, so time both phases
    // together and the fill alone, and subtract.
    let deadlines: Vec<u64> = (0..n).map(|_| rng.below(100_000_000)).collect();
    let fill_ns = time_it(
        || {
            let mut q = make(n);
            for (i, &d) in deadlines.iter().enumerate() {
                q.enqueue(i, d);
            }
            // Unlink everything cheaply is not possible for both queues in
            // O(n); dropping the queue is fine (no destructor walks it).
            black_box(&q);
        },
        n as u64,
        target,
        reps,
    );
    let both_ns = time_it(
        || {
            let mut q = make(n);
            for (i, &d) in deadlines.iter().enumerate() {
                q.enqueue(i, d);
            }
            while let Some(e) = q.earliest() {
                q.dequeue(e);
            }
            black_box(&q);
        },
        n as u64,
        target,
        reps,
    );
    push("enqueue(fill)", fill_ns);
    push("earliest+dequeue(drain)", (both_ns - fill_ns).max(0.0));
}

fn host_line() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().replace('"', "_"))
        })
        .unwrap_or_else(|| "unknown".into());
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    println!("BENCH host cpu=\"{cpu}\" nproc={nproc} kernel={kernel} profile=release");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut sizes = vec![10usize, 100, 1_000, 10_000];
    if let Some(p) = args.iter().position(|a| a == "--sizes") {
        if let Some(v) = args.get(p + 1) {
            sizes = v.split(',').filter_map(|x| x.parse().ok()).collect();
        }
    }
    if args.iter().any(|a| a == "-h" || a == "--help") || sizes.is_empty() {
        eprintln!("usage: casio-queue-bench [--quick] [--sizes 10,100,1000,10000]");
        std::process::exit(2);
    }
    let (target, reps) = if quick {
        (5_000_000, 3)
    } else {
        (40_000_000, 7)
    };
    host_line();
    println!(
        "BENCH scaling_config sizes={} reps={reps} target_ms={} stat=median",
        sizes
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(","),
        target / 1_000_000
    );
    let mut out = Vec::new();
    for &n in &sizes {
        measure_impl("rbtree", TreeQueue::new, n, target, reps, &mut out);
        measure_impl("list", ListQueue::new, n, target, reps, &mut out);
    }
    let (lo, hi) = (
        *sizes.iter().min().expect("sizes"),
        *sizes.iter().max().expect("sizes"),
    );
    for imp in ["rbtree", "list"] {
        for op in [
            "earliest",
            "cycle",
            "dequeue+enqueue",
            "enqueue(fill)",
            "earliest+dequeue(drain)",
        ] {
            let get = |n: usize| {
                out.iter()
                    .find(|m| m.imp == imp && m.op == op && m.n == n)
                    .map(|m| m.ns)
            };
            if let (Some(a), Some(b)) = (get(lo), get(hi)) {
                if a > 0.0 {
                    println!(
                        "BENCH scaling_ratio impl={imp} op={op} n_lo={lo} n_hi={hi} ratio={:.2}",
                        b / a
                    );
                }
            }
        }
    }
    println!("CASIO-QUEUE-BENCH-DONE");
}
