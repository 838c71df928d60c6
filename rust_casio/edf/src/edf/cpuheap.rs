// SPDX-License-Identifier: GPL-2.0

//! The CPUs that run CASIO tasks, by deadline, for global EDF.
//!
//! A task that becomes ready must run on a CPU with no CASIO work, or
//! else preempt the CPU whose earliest deadline is the latest of all, if
//! its own is earlier. [`CpuHeap`] keeps the CPUs with CASIO work in a
//! binary max-heap keyed by that earliest deadline, so the latest is found
//! in O(1) and a CPU's deadline changes in O(log M) for M CPUs, as the
//! deadline class's `cpudl` does. The caller keeps the CPUs without CASIO
//! work apart (a CPU mask in the kernel) and serialises access.

/// One entry of a [`CpuHeap`]'s storage, which has one entry per CPU.
///
/// Entry `i` plays two roles: `deadline` and `cpu` are the heap element
/// at position `i`, and `pos` is the position of CPU `i` in the heap.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuSlot {
    /// Deadline of the heap element at this position.
    pub deadline: u64,
    /// CPU of the heap element at this position.
    pub cpu: u32,
    /// Position of this entry's CPU in the heap, [`CPU_NOT_IN_HEAP`] if
    /// it is not in it.
    pub pos: u32,
}

/// [`CpuSlot::pos`] of a CPU that is not in the heap.
pub const CPU_NOT_IN_HEAP: u32 = u32::MAX;

/// A max-heap of CPUs by deadline over caller-provided storage.
///
/// # Invariants
///
/// `*len <= slots.len()`; the first `*len` elements form a max-heap by
/// deadline; CPU `c` is in the heap at position `p` exactly when
/// `slots[c].pos == p` and `slots[p].cpu == c`.
pub struct CpuHeap<'a> {
    slots: &'a mut [CpuSlot],
    len: &'a mut u32,
}

impl<'a> CpuHeap<'a> {
    /// Empties the heap kept in `slots` and `len`.
    pub fn init(slots: &'a mut [CpuSlot], len: &'a mut u32) -> Self {
        for slot in slots.iter_mut() {
            *slot = CpuSlot {
                deadline: 0,
                cpu: 0,
                pos: CPU_NOT_IN_HEAP,
            };
        }
        *len = 0;
        // INVARIANT: empty, and no CPU claims a position.
        CpuHeap { slots, len }
    }

    /// The heap kept in `slots` and `len`, set up by [`CpuHeap::init`]
    /// and changed only through this type since. Storage that does not
    /// satisfy the invariants gives wrong answers but no undefined
    /// behaviour: every index is checked.
    pub fn new(slots: &'a mut [CpuSlot], len: &'a mut u32) -> Self {
        CpuHeap { slots, len }
    }

    /// Number of CPUs in the heap.
    pub fn len(&self) -> usize {
        *self.len as usize
    }

    /// Whether no CPU is in the heap.
    pub fn is_empty(&self) -> bool {
        *self.len == 0
    }

    /// The CPU with the latest deadline, and that deadline.
    pub fn latest(&self) -> Option<(u32, u64)> {
        if self.is_empty() {
            return None;
        }
        self.slots.first().map(|s| (s.cpu, s.deadline))
    }

    /// The deadline `cpu` is in the heap with.
    pub fn deadline_of(&self, cpu: u32) -> Option<u64> {
        let pos = self.pos_of(cpu)?;
        Some(self.slots[pos].deadline)
    }

    fn pos_of(&self, cpu: u32) -> Option<usize> {
        let pos = self.slots.get(cpu as usize)?.pos;
        if pos == CPU_NOT_IN_HEAP || pos >= *self.len {
            return None;
        }
        Some(pos as usize)
    }

    /// Puts `cpu` in the heap with `deadline`, or moves it there.
    /// A CPU beyond the storage is ignored.
    pub fn set(&mut self, cpu: u32, deadline: u64) {
        if cpu as usize >= self.slots.len() {
            return;
        }
        let pos = match self.pos_of(cpu) {
            Some(pos) => pos,
            None => {
                let pos = *self.len as usize;
                if pos >= self.slots.len() {
                    return;
                }
                *self.len += 1;
                self.place(pos, cpu, 0);
                pos
            }
        };
        let old = self.slots[pos].deadline;
        self.slots[pos].deadline = deadline;
        if deadline > old {
            self.sift_up(pos);
        } else {
            self.sift_down(pos);
        }
    }

    /// Takes `cpu` out of the heap, if it is in it.
    pub fn remove(&mut self, cpu: u32) {
        let pos = match self.pos_of(cpu) {
            Some(pos) => pos,
            None => return,
        };
        let last = *self.len as usize - 1;
        *self.len -= 1;
        self.slots[cpu as usize].pos = CPU_NOT_IN_HEAP;
        if pos == last {
            return;
        }
        let moved = self.slots[last];
        self.place(pos, moved.cpu, moved.deadline);
        self.sift_up(pos);
        self.sift_down(pos);
    }

    /// Puts `cpu` with `deadline` at position `pos`.
    fn place(&mut self, pos: usize, cpu: u32, deadline: u64) {
        self.slots[pos].cpu = cpu;
        self.slots[pos].deadline = deadline;
        self.slots[cpu as usize].pos = pos as u32;
    }

    fn swap(&mut self, a: usize, b: usize) {
        let (ea, eb) = (self.slots[a], self.slots[b]);
        self.place(a, eb.cpu, eb.deadline);
        self.place(b, ea.cpu, ea.deadline);
    }

    fn sift_up(&mut self, mut pos: usize) {
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if self.slots[parent].deadline >= self.slots[pos].deadline {
                break;
            }
            self.swap(parent, pos);
            pos = parent;
        }
    }

    fn sift_down(&mut self, mut pos: usize) {
        let len = *self.len as usize;
        loop {
            let (l, r) = (2 * pos + 1, 2 * pos + 2);
            let mut largest = pos;
            if l < len && self.slots[l].deadline > self.slots[largest].deadline {
                largest = l;
            }
            if r < len && self.slots[r].deadline > self.slots[largest].deadline {
                largest = r;
            }
            if largest == pos {
                break;
            }
            self.swap(pos, largest);
            pos = largest;
        }
    }

    /// Checks the invariants, for tests.
    pub fn check(&self) -> Result<(), &'static str> {
        let len = *self.len as usize;
        if len > self.slots.len() {
            return Err("length beyond the storage");
        }
        for pos in 0..len {
            let cpu = self.slots[pos].cpu as usize;
            if self.slots.get(cpu).map(|s| s.pos) != Some(pos as u32) {
                return Err("element and position disagree");
            }
            if pos > 0 && self.slots[(pos - 1) / 2].deadline < self.slots[pos].deadline {
                return Err("heap order broken");
            }
        }
        let claimed = self
            .slots
            .iter()
            .filter(|s| s.pos != CPU_NOT_IN_HEAP)
            .count();
        if claimed != len {
            return Err("a CPU outside the heap claims a position");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Deterministic xorshift, for the random operation sequences.
    fn xorshift(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    #[test]
    fn latest_is_the_maximum() {
        let mut slots = [CpuSlot::default(); 4];
        let mut len = 0;
        let mut heap = CpuHeap::init(&mut slots, &mut len);
        assert_eq!(heap.latest(), None);
        heap.set(2, 50);
        heap.set(0, 70);
        heap.set(3, 10);
        assert_eq!(heap.latest(), Some((0, 70)));
        heap.set(0, 5);
        assert_eq!(heap.latest(), Some((2, 50)));
        heap.remove(2);
        assert_eq!(heap.latest(), Some((3, 10)));
        assert_eq!(heap.deadline_of(2), None);
        assert_eq!(heap.deadline_of(0), Some(5));
        heap.check().unwrap();
    }

    #[test]
    fn out_of_range_cpus_are_ignored() {
        let mut slots = [CpuSlot::default(); 2];
        let mut len = 0;
        let mut heap = CpuHeap::init(&mut slots, &mut len);
        heap.set(2, 1);
        heap.remove(7);
        assert!(heap.is_empty());
        heap.check().unwrap();
    }

    #[test]
    fn matches_a_model_under_random_operations() {
        const M: usize = 16;
        let mut slots = [CpuSlot::default(); M];
        let mut len = 0;
        let mut heap = CpuHeap::init(&mut slots, &mut len);
        let mut model: [Option<u64>; M] = [None; M];
        let mut x = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let cpu = (xorshift(&mut x) % M as u64) as u32;
            if xorshift(&mut x) % 3 == 0 {
                heap.remove(cpu);
                model[cpu as usize] = None;
            } else {
                // Few distinct deadlines, so that ties happen.
                let deadline = xorshift(&mut x) % 64;
                heap.set(cpu, deadline);
                model[cpu as usize] = Some(deadline);
            }
            heap.check().unwrap();
            let max = model.iter().filter_map(|d| *d).max();
            assert_eq!(heap.latest().map(|(_, d)| d), max);
            if let Some((cpu, d)) = heap.latest() {
                assert_eq!(model[cpu as usize], Some(d));
            }
            let members: Vec<_> = (0..M as u32)
                .filter(|&c| heap.deadline_of(c).is_some())
                .collect();
            let expected: Vec<_> = (0..M as u32)
                .filter(|&c| model[c as usize].is_some())
                .collect();
            assert_eq!(members, expected);
        }
    }
}
