// SPDX-License-Identifier: GPL-2.0

//! The queue self-benchmark behind `CONFIG_SCHED_CASIO_QUEUE_BENCH`.

use core::ptr::{self, NonNull};

use crate::edf::{EdfNode, EdfQueue};
use crate::jobs::job_clock;

/// Operations per timed phase of the queue self-benchmark: enough that
/// the two clock reads around a phase do not count.
pub(crate) const BENCH_OPS: usize = 100_000;

/// Times the EDF queue for the queue self-benchmark (`queue_bench.c`).
/// With `n` nodes queued under pseudo-random deadlines, it times
/// [`BENCH_OPS`] requeues (a node leaves and comes back with a new
/// deadline, as a task that sleeps and wakes) and as many look-ups of the
/// earliest deadline. `ns[0..2]` get the total time of each phase.
///
/// # Safety
///
/// `nodes` points to `n` (at least one) zeroed nodes that nobody else
/// uses, and `ns` to two `u64`. Process context.
#[no_mangle]
pub unsafe extern "C" fn casio_queue_bench(nodes: *mut EdfNode, n: usize, seed: u64, ns: *mut u64) {
    let mut queue = EdfQueue::new();
    let mut x = seed | 1;
    let mut next_key = || {
        // xorshift64; deadlines stay clear of the top bit.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x >> 1
    };
    // SAFETY: `i < n`, and the caller passes `n` valid nodes.
    let node = |i: usize| unsafe { NonNull::new_unchecked(nodes.add(i)) };
    for i in 0..n {
        // SAFETY: each node is unlinked until it is enqueued here, and the
        // nodes outlive the queue.
        unsafe { queue.enqueue(node(i), next_key()) };
    }
    // Visit the nodes in strides of a step coprime with `n`.
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let mut step = (n / 2) | 1;
    while n > 1 && gcd(step, n) != 1 {
        step += 2;
    }
    let t0 = job_clock();
    let mut i = 0;
    for _ in 0..BENCH_OPS {
        i = (i + step) % n;
        // SAFETY: every node is linked in `queue` but while requeued here.
        unsafe {
            queue.dequeue(node(i));
            queue.enqueue(node(i), next_key());
        }
    }
    let t1 = job_clock();
    let (mut seen, q): (usize, *const EdfQueue) = (0, &queue);
    for _ in 0..BENCH_OPS {
        // SAFETY: `q` points to the live queue; reading the pointer
        // afresh keeps each look-up from being merged with the others.
        let queue = unsafe { &*ptr::read_volatile(&q) };
        if let Some(e) = queue.earliest() {
            seen = seen.wrapping_add(e.as_ptr() as usize);
        }
    }
    // SAFETY: a read of a local keeps the look-ups from being optimised out.
    unsafe { ptr::read_volatile(&seen) };
    let t2 = job_clock();
    for i in 0..n {
        // SAFETY: every node is linked; it leaves the queue unlinked.
        unsafe { queue.dequeue(node(i)) };
    }
    // SAFETY: the caller passes room for two values.
    unsafe { ptr::copy_nonoverlapping([t1 - t0, t2 - t1].as_ptr(), ns, 2) };
}
