//! The two EDF ready queues timed by `casio-queue-bench`:
//!
//! * [`TreeQueue`]: the real thing, `casio_edf::edf::EdfQueue` (intrusive
//!   red-black tree with a cached leftmost node) over a fixed node pool;
//! * [`ListQueue`]: a baseline, an intrusive doubly-linked list in
//!   insertion order whose `earliest` is a linear search, O(n).
//!
//! Both hold a fixed pool of task slots `0..cap` and offer the same
//! operations, keyed by slot index.

#![deny(missing_docs)]

use core::ptr::NonNull;

use casio_edf::edf::{EdfNode, EdfQueue};

/// The operations the benchmark times.
pub trait ReadyQueue {
    /// Queue slot `i` (not queued) with absolute deadline `deadline`.
    fn enqueue(&mut self, i: usize, deadline: u64);
    /// Remove slot `i` (queued).
    fn dequeue(&mut self, i: usize);
    /// The slot with the earliest deadline (FIFO among equal ones).
    fn earliest(&self) -> Option<usize>;
    /// Number of queued slots.
    fn len(&self) -> usize;
    /// True if nothing is queued.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Deadline of queued slot `i`.
    fn deadline(&self, i: usize) -> u64;
}

/// `EdfQueue` over a boxed pool of nodes (the pool never moves).
pub struct TreeQueue {
    nodes: Box<[EdfNode]>,
    q: EdfQueue,
}

impl TreeQueue {
    /// An empty queue with `cap` slots.
    pub fn new(cap: usize) -> Self {
        TreeQueue {
            nodes: (0..cap).map(|_| EdfNode::new()).collect(),
            q: EdfQueue::new(),
        }
    }

    fn index_of(&self, n: NonNull<EdfNode>) -> usize {
        (n.as_ptr() as usize - self.nodes.as_ptr() as usize) / core::mem::size_of::<EdfNode>()
    }
}

impl ReadyQueue for TreeQueue {
    fn enqueue(&mut self, i: usize, deadline: u64) {
        assert!(!self.nodes[i].is_linked());
        // SAFETY: the node is unlinked, lives in a boxed slice that is
        // never resized or moved while `self` lives, and every node is
        // linked only into `self.q` (Drop does not matter: the pool and the
        // queue are dropped together, and nothing reads the links then).
        unsafe { self.q.enqueue(NonNull::from(&self.nodes[i]), deadline) };
    }

    fn dequeue(&mut self, i: usize) {
        // SAFETY: the node is either queued in `self.q` or unlinked.
        unsafe { self.q.dequeue(NonNull::from(&self.nodes[i])) };
    }

    fn earliest(&self) -> Option<usize> {
        self.q.earliest().map(|n| self.index_of(n))
    }

    fn len(&self) -> usize {
        self.q.len()
    }

    fn deadline(&self, i: usize) -> u64 {
        self.nodes[i].key().deadline
    }
}

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct ListNode {
    prev: u32,
    next: u32,
    deadline: u64,
    seq: u64,
    linked: bool,
}

/// Doubly-linked list in enqueue order; `earliest` walks the whole list.
pub struct ListQueue {
    nodes: Vec<ListNode>,
    head: u32,
    tail: u32,
    len: usize,
    next_seq: u64,
}

impl ListQueue {
    /// An empty list with `cap` slots.
    pub fn new(cap: usize) -> Self {
        ListQueue {
            nodes: vec![
                ListNode {
                    prev: NIL,
                    next: NIL,
                    deadline: 0,
                    seq: 0,
                    linked: false,
                };
                cap
            ],
            head: NIL,
            tail: NIL,
            len: 0,
            next_seq: 0,
        }
    }
}

impl ReadyQueue for ListQueue {
    fn enqueue(&mut self, i: usize, deadline: u64) {
        assert!(!self.nodes[i].linked);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.nodes[i] = ListNode {
            prev: self.tail,
            next: NIL,
            deadline,
            seq,
            linked: true,
        };
        if self.tail == NIL {
            self.head = i as u32;
        } else {
            self.nodes[self.tail as usize].next = i as u32;
        }
        self.tail = i as u32;
        self.len += 1;
    }

    fn dequeue(&mut self, i: usize) {
        let n = self.nodes[i];
        if !n.linked {
            return;
        }
        if n.prev == NIL {
            self.head = n.next;
        } else {
            self.nodes[n.prev as usize].next = n.next;
        }
        if n.next == NIL {
            self.tail = n.prev;
        } else {
            self.nodes[n.next as usize].prev = n.prev;
        }
        self.nodes[i].linked = false;
        self.len -= 1;
    }

    fn earliest(&self) -> Option<usize> {
        let mut best = NIL;
        let mut cur = self.head;
        while cur != NIL {
            let n = &self.nodes[cur as usize];
            if best == NIL || {
                let b = &self.nodes[best as usize];
                (n.deadline, n.seq) < (b.deadline, b.seq)
            } {
                best = cur;
            }
            cur = n.next;
        }
        (best != NIL).then_some(best as usize)
    }

    fn len(&self) -> usize {
        self.len
    }

    fn deadline(&self, i: usize) -> u64 {
        self.nodes[i].deadline
    }
}

/// xorshift64* PRNG for deadlines and slot choice.
pub use casio_testkit::Rng;

/// Median of the samples (mean of the middle two for an even count).
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_behaviour(n: usize, steps: usize, seed: u64) {
        let mut t = TreeQueue::new(n);
        let mut l = ListQueue::new(n);
        let mut r = Rng::new(seed);
        let mut queued = vec![false; n];
        for _ in 0..steps {
            let i = r.below(n as u64) as usize;
            if queued[i] {
                t.dequeue(i);
                l.dequeue(i);
            } else {
                let d = r.below(50); // many equal deadlines: FIFO matters
                t.enqueue(i, d);
                l.enqueue(i, d);
            }
            queued[i] = !queued[i];
            assert_eq!(t.len(), l.len());
            assert_eq!(t.earliest(), l.earliest());
            if let Some(e) = t.earliest() {
                assert_eq!(t.deadline(e), l.deadline(e));
            }
        }
    }

    #[test]
    fn tree_and_list_agree() {
        same_behaviour(1, 100, 1);
        same_behaviour(7, 2_000, 2);
        same_behaviour(300, 20_000, 3);
    }

    #[test]
    fn empty_and_median() {
        let t = TreeQueue::new(3);
        let l = ListQueue::new(3);
        assert!(t.is_empty() && l.is_empty());
        assert_eq!(t.earliest(), None);
        assert_eq!(l.earliest(), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
