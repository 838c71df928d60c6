// SPDX-License-Identifier: GPL-2.0

//! Criterion benchmark of the EDF core's queue against the linear list:
//! a requeue (a task leaves and comes back with a new deadline, as on a
//! block and wake-up) and a look-up of the earliest deadline, with 10 to
//! 10,000 tasks queued. `casio-queue-bench` (src/main.rs) gives the
//! report's table; this gives criterion's statistics for the same
//! operations: `cargo bench --manifest-path bench/host/Cargo.toml`.

use casio_queue_bench::{ListQueue, ReadyQueue, TreeQueue};
use casio_testkit::rng::Rng;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;

const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

/// A queue of `n` tasks under random deadlines.
fn filled<Q: ReadyQueue>(mut q: Q, n: usize, rng: &mut Rng) -> Q {
    for i in 0..n {
        q.enqueue(i, rng.next_u64() >> 1);
    }
    q
}

fn bench_queue<Q: ReadyQueue>(c: &mut Criterion, name: &str, new: fn(usize) -> Q) {
    let mut group = c.benchmark_group(name);
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    for n in SIZES {
        let mut rng = Rng::new(0x5eed ^ n as u64);
        let mut q = filled(new(n), n, &mut rng);
        let mut i = 0;
        group.bench_with_input(BenchmarkId::new("requeue", n), &n, |b, &n| {
            b.iter(|| {
                i = (i + 7919) % n;
                q.dequeue(i);
                q.enqueue(i, rng.next_u64() >> 1);
            })
        });
        group.bench_with_input(BenchmarkId::new("earliest", n), &n, |b, _| {
            b.iter(|| black_box(q.earliest()))
        });
    }
    group.finish();
}

fn queues(c: &mut Criterion) {
    bench_queue(c, "edf_queue", TreeQueue::new);
    bench_queue(c, "linear_list", ListQueue::new);
}

criterion_group!(benches, queues);
criterion_main!(benches);
