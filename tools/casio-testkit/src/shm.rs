//! Shared memory between a process and the children it forks.

use std::sync::atomic::{AtomicU64, Ordering};

use casio_abi::{monotonic_ns, sleep_ns};

/// An anonymous `MAP_SHARED` array of `AtomicU64`, visible to the process
/// and all children forked after its creation; zero-initialised. The
/// mapping is `MAP_NORESERVE`: a large one costs only the pages touched.
pub struct Shm {
    ptr: *mut AtomicU64,
    len: usize,
}

// SAFETY: the memory is only accessed through atomics.
unsafe impl Send for Shm {}
// SAFETY: the memory is only accessed through atomics.
unsafe impl Sync for Shm {}

impl Shm {
    /// `len` zeroed slots (at least one). The error says
    /// `mmap of N bytes of shared memory failed: ...`.
    pub fn new(len: usize) -> Result<Shm, String> {
        let len = len.max(1);
        let bytes = len * std::mem::size_of::<AtomicU64>();
        // SAFETY: anonymous mapping, no fd; result checked below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!(
                "mmap of {bytes} bytes of shared memory failed: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(Shm {
            ptr: p as *mut AtomicU64,
            len,
        })
    }

    /// Slot `i`; panics if out of range.
    pub fn at(&self, i: usize) -> &AtomicU64 {
        assert!(i < self.len, "shm index {i} out of range {}", self.len);
        // SAFETY: in bounds of a live, zero-initialised, page-aligned
        // mapping; AtomicU64 is valid for any bit pattern.
        unsafe { &*self.ptr.add(i) }
    }

    /// Load slot `i`.
    pub fn get(&self, i: usize) -> u64 {
        self.at(i).load(Ordering::SeqCst)
    }

    /// Store `v` into slot `i`.
    pub fn set(&self, i: usize, v: u64) {
        self.at(i).store(v, Ordering::SeqCst)
    }

    /// Atomically add `v` to slot `i`, returning the previous value.
    pub fn fetch_add(&self, i: usize, v: u64) -> u64 {
        self.at(i).fetch_add(v, Ordering::SeqCst)
    }

    /// The first slot, for callers that lay out their own `repr(C)`
    /// records of plain integers in the mapping (page-aligned, `len() * 8`
    /// bytes). Accesses through it must not race with the atomics.
    pub fn as_ptr(&self) -> *mut AtomicU64 {
        self.ptr
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true (at least one slot).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Sleep-poll (every `poll_ns`) until slot `i` is non-zero; returns its
    /// value, or `None` after `timeout_ns`.  Never spins.
    pub fn wait_nonzero(&self, i: usize, timeout_ns: u64, poll_ns: u64) -> Option<u64> {
        let deadline = monotonic_ns() + timeout_ns;
        loop {
            let v = self.get(i);
            if v != 0 {
                return Some(v);
            }
            if monotonic_ns() >= deadline {
                return None;
            }
            sleep_ns(poll_ns);
        }
    }

    /// Sleep-poll (every 2 ms) until slot `i` >= `target`; false after
    /// `timeout_ns`.
    pub fn wait_at_least(&self, i: usize, target: u64, timeout_ns: u64) -> bool {
        let deadline = monotonic_ns() + timeout_ns;
        while self.get(i) < target {
            if monotonic_ns() >= deadline {
                return false;
            }
            sleep_ns(2_000_000);
        }
        true
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        // SAFETY: unmapping the region we mapped, of exactly this size.
        unsafe {
            libc::munmap(
                self.ptr as *mut libc::c_void,
                self.len * std::mem::size_of::<AtomicU64>(),
            )
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casio_abi::Errno;

    /// Forks a child that runs `f` and `_exit`s; returns its exit status.
    fn in_child(f: impl FnOnce()) -> i32 {
        // SAFETY: the child only touches the shared mapping and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", Errno::last());
        if pid == 0 {
            f();
            // SAFETY: leaves the child without running the parent's
            // destructors or test harness.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: waiting for our own child, status is a live i32.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        status
    }

    #[test]
    fn zeroed_and_at_least_one_slot() {
        let shm = Shm::new(0).unwrap();
        assert_eq!(shm.len(), 1);
        assert!(!shm.is_empty());
        let shm = Shm::new(600).unwrap();
        assert_eq!(shm.len(), 600);
        assert!((0..600).all(|i| shm.get(i) == 0));
        shm.set(599, 7);
        assert_eq!(shm.fetch_add(599, 3), 7);
        assert_eq!(shm.get(599), 10);
        // SAFETY: slot 598 is in bounds; nothing else touches it now.
        unsafe { *shm.as_ptr().add(598).cast::<u64>() = 5 };
        assert_eq!(shm.get(598), 5);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn out_of_range_panics() {
        Shm::new(2).unwrap().get(2);
    }

    #[test]
    fn children_write_parent_reads() {
        let shm = Shm::new(4).unwrap();
        assert_eq!(
            in_child(|| {
                shm.set(1, 42);
                shm.fetch_add(3, 5);
            }),
            0
        );
        assert_eq!(
            in_child(|| {
                shm.fetch_add(3, 5);
            }),
            0
        );
        assert_eq!(shm.get(1), 42);
        assert_eq!(shm.get(3), 10);
        assert_eq!(shm.wait_nonzero(1, 0, 1_000_000), Some(42));
        assert_eq!(shm.wait_nonzero(0, 5_000_000, 1_000_000), None);
        assert!(shm.wait_at_least(3, 10, 0));
        assert!(!shm.wait_at_least(3, 11, 5_000_000));
    }
}
