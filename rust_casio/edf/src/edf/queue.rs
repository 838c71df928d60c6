// SPDX-License-Identifier: GPL-2.0

//! EDF run queue: an [`EdfTree`] plus a FIFO sequence counter.

use core::ptr::NonNull;

use super::tree::{EdfKey, EdfNode, EdfTree};

/// EDF run queue: nodes ordered by absolute deadline, FIFO among equal
/// deadlines.
///
/// An all-zero `EdfQueue` is a valid empty queue (the same as
/// [`EdfQueue::new`]), so it may live in zero-initialised C memory. The C
/// layout is that of [`EdfTree`] followed by a `u64`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct EdfQueue {
    /// The ordered nodes.
    pub tree: EdfTree,
    /// Sequence number given to the next enqueued node. It wraps after
    /// 2^64 enqueues, at which point FIFO order among equal deadlines is not
    /// guaranteed for nodes enqueued across the wrap.
    pub next_seq: u64,
}

impl EdfQueue {
    /// Returns an empty queue (all fields zero).
    pub const fn new() -> Self {
        EdfQueue {
            tree: EdfTree::new(),
            next_seq: 0,
        }
    }

    /// Enqueues `node` with absolute deadline `deadline`, after every queued
    /// node with the same deadline. Its key becomes
    /// `EdfKey { deadline, seq: next_seq }` and `next_seq` is incremented
    /// (wrapping).
    ///
    /// # Safety
    ///
    /// Same as [`EdfTree::insert`]: `node` must point to a valid, unlinked
    /// [`EdfNode`] that stays at the same address and stays valid until it is
    /// dequeued from this queue.
    pub unsafe fn enqueue(&mut self, node: NonNull<EdfNode>, deadline: u64) {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        // SAFETY: forwarded from the caller's guarantee.
        unsafe { self.tree.insert(node, EdfKey::new(deadline, seq)) };
    }

    /// Dequeues `node`; afterwards it is unlinked. Dequeuing an unlinked node
    /// is a no-op.
    ///
    /// # Safety
    ///
    /// Same as [`EdfTree::remove`]: `node` must point to a valid
    /// [`EdfNode`] that is either queued in *this* queue or unlinked.
    pub unsafe fn dequeue(&mut self, node: NonNull<EdfNode>) {
        // SAFETY: forwarded from the caller's guarantee.
        unsafe { self.tree.remove(node) };
    }

    /// Returns the node with the earliest deadline (the first enqueued among
    /// equal deadlines), in `O(1)`.
    pub fn earliest(&self) -> Option<NonNull<EdfNode>> {
        self.tree.first()
    }

    /// Returns the node queued after `node`, in queue order, or `None` if
    /// `node` is the last one.
    ///
    /// # Safety
    ///
    /// `node` must point to a valid [`EdfNode`] queued in *this* queue.
    pub unsafe fn next(&self, node: NonNull<EdfNode>) -> Option<NonNull<EdfNode>> {
        // SAFETY: forwarded from the caller's guarantee.
        unsafe { self.tree.next(node) }
    }

    /// Returns the number of queued nodes.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// Returns true if no node is queued.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn nn(n: &EdfNode) -> NonNull<EdfNode> {
        NonNull::from(n)
    }

    fn drain(q: &mut EdfQueue) -> Vec<*mut EdfNode> {
        let mut v = Vec::new();
        while let Some(n) = q.earliest() {
            // SAFETY: `n` is queued in `q`.
            unsafe { q.dequeue(n) };
            assert!(q.tree.check().is_ok());
            v.push(n.as_ptr());
        }
        v
    }

    #[test]
    fn fifo_among_equal_deadlines() {
        let nodes: Vec<EdfNode> = (0..10).map(|_| EdfNode::new()).collect();
        let mut q = EdfQueue::new();
        // Deadlines 30, 10, 20, 30, 10, 20, ...
        let dl = |i: usize| [30u64, 10, 20][i % 3];
        for (i, n) in nodes.iter().enumerate() {
            // SAFETY: unlinked nodes from a live pool.
            unsafe { q.enqueue(nn(n), dl(i)) };
            assert_eq!(n.key(), EdfKey::new(dl(i), i as u64));
        }
        assert_eq!(q.len(), 10);
        assert_eq!(q.next_seq, 10);
        let mut want: Vec<usize> = (0..10).collect();
        want.sort_by_key(|&i| dl(i)); // stable: FIFO among equal deadlines
        let want: Vec<*mut EdfNode> = want.iter().map(|&i| nn(&nodes[i]).as_ptr()).collect();
        assert_eq!(drain(&mut q), want);
        assert!(q.is_empty());
    }

    #[test]
    fn requeue_goes_behind_equal_deadlines() {
        let nodes: Vec<EdfNode> = (0..3).map(|_| EdfNode::new()).collect();
        let mut q = EdfQueue::new();
        // SAFETY: unlinked nodes from a live pool, dequeued before the end.
        unsafe {
            for n in &nodes {
                q.enqueue(nn(n), 100);
            }
            assert_eq!(q.earliest(), Some(nn(&nodes[0])));
            q.dequeue(nn(&nodes[0]));
            assert!(!nodes[0].is_linked());
            q.dequeue(nn(&nodes[0])); // no-op
            assert_eq!(q.len(), 2);
            q.enqueue(nn(&nodes[0]), 100);
            assert_eq!(q.earliest(), Some(nn(&nodes[1])));
        }
        let want: Vec<*mut EdfNode> = [1, 2, 0].iter().map(|&i| nn(&nodes[i]).as_ptr()).collect();
        assert_eq!(drain(&mut q), want);
    }

    #[test]
    fn next_walks_in_queue_order() {
        let nodes: Vec<EdfNode> = (0..6).map(|_| EdfNode::new()).collect();
        let mut q = EdfQueue::new();
        let dl = [50u64, 10, 50, 30, 10, 70];
        // SAFETY: unlinked nodes from a live pool, dequeued before the end;
        // `next()` is given nodes queued in `q`.
        let walked = unsafe {
            for (n, &d) in nodes.iter().zip(&dl) {
                q.enqueue(nn(n), d);
            }
            let mut walked = Vec::new();
            let mut at = q.earliest();
            while let Some(n) = at {
                walked.push(n.as_ptr());
                at = q.next(n);
            }
            walked
        };
        let want: Vec<*mut EdfNode> = [1, 4, 3, 0, 2, 5]
            .iter()
            .map(|&i| nn(&nodes[i]).as_ptr())
            .collect();
        assert_eq!(walked, want);
        assert_eq!(drain(&mut q), want);
    }

    #[test]
    fn seq_wraps_without_panic() {
        let nodes: Vec<EdfNode> = (0..2).map(|_| EdfNode::new()).collect();
        let mut q = EdfQueue::new();
        q.next_seq = u64::MAX;
        // SAFETY: unlinked nodes from a live pool, dequeued before the end.
        unsafe {
            q.enqueue(nn(&nodes[0]), 5);
            q.enqueue(nn(&nodes[1]), 6);
        }
        assert_eq!(nodes[0].key(), EdfKey::new(5, u64::MAX));
        assert_eq!(nodes[1].key(), EdfKey::new(6, 0));
        assert_eq!(q.next_seq, 1);
        assert_eq!(drain(&mut q).len(), 2);
    }

    #[test]
    fn zeroed_queue_is_empty_and_usable() {
        // SAFETY: all-zero bytes are valid for every field (raw pointers and
        // integers); the test checks that this is an empty queue.
        let mut q: EdfQueue = unsafe { core::mem::zeroed() };
        assert!(q.is_empty() && q.earliest().is_none());
        assert_eq!(q.len(), 0);
        assert!(q.tree.check().is_ok());
        let n = EdfNode::new();
        // SAFETY: unlinked node, dequeued below.
        unsafe { q.enqueue(nn(&n), 1) };
        assert_eq!(q.earliest(), Some(nn(&n)));
        assert_eq!(n.key(), EdfKey::new(1, 0));
        // SAFETY: `n` is queued in `q`.
        unsafe { q.dequeue(nn(&n)) };
        assert!(q.is_empty());
        let d = EdfQueue::default();
        assert!(d.is_empty() && d.next_seq == 0);
    }
}
