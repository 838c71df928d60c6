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
        Ok(Shm {
            ptr: map_shared(len * std::mem::size_of::<AtomicU64>())?.cast(),
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

    /// Slot `i` as a [`Slot`]; panics if out of range.
    pub fn slot(&self, i: usize) -> &Slot {
        // SAFETY: `Slot` is a transparent `AtomicU64`.
        unsafe { &*(self.at(i) as *const AtomicU64).cast::<Slot>() }
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
        self.slot(i).wait_nonzero(timeout_ns, poll_ns)
    }

    /// Sleep-poll (every 2 ms) until slot `i` >= `target`; false after
    /// `timeout_ns`.
    pub fn wait_at_least(&self, i: usize, target: u64, timeout_ns: u64) -> bool {
        self.slot(i).wait_at_least(target, timeout_ns)
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        // SAFETY: the mapping of exactly this size that `new` made.
        unsafe { unmap_shared(self.ptr.cast(), self.len * std::mem::size_of::<AtomicU64>()) };
    }
}

/// `bytes` of zeroed, anonymous `MAP_SHARED | MAP_NORESERVE` memory. The
/// error says `mmap of N bytes of shared memory failed: ...`.
fn map_shared(bytes: usize) -> Result<*mut u8, String> {
    // SAFETY: anonymous mapping, no fd; result checked below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes.max(1),
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
    Ok(p.cast())
}

/// Unmap what [`map_shared`] returned for `bytes`.
///
/// # Safety
/// `p` and `bytes` are those of a live mapping of [`map_shared`]; nothing
/// refers to it any more.
unsafe fn unmap_shared(p: *mut u8, bytes: usize) {
    // SAFETY: as the caller promises.
    unsafe { libc::munmap(p.cast(), bytes.max(1)) };
}

// ---------------------------------------------------------------------------
// Typed records
// ---------------------------------------------------------------------------

/// One `u64` in shared memory, read and written with `SeqCst` atomics:
/// the field type of the records a test shares with its children.
#[repr(transparent)]
#[derive(Debug, Default)]
pub struct Slot(AtomicU64);

impl Slot {
    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Store `v`.
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::SeqCst)
    }

    /// Add `v`, returning the previous value.
    pub fn add(&self, v: u64) -> u64 {
        self.0.fetch_add(v, Ordering::SeqCst)
    }

    /// Set the bits of `v`, returning the previous value.
    pub fn or(&self, v: u64) -> u64 {
        self.0.fetch_or(v, Ordering::SeqCst)
    }

    /// The atomic itself (e.g. for a futex on its low half).
    pub fn atomic(&self) -> &AtomicU64 {
        &self.0
    }

    /// Sleep-poll (every `poll_ns`) until the value is non-zero; returns
    /// it, or `None` after `timeout_ns`. Never spins.
    pub fn wait_nonzero(&self, timeout_ns: u64, poll_ns: u64) -> Option<u64> {
        let deadline = monotonic_ns() + timeout_ns;
        loop {
            let v = self.get();
            if v != 0 {
                return Some(v);
            }
            if monotonic_ns() >= deadline {
                return None;
            }
            sleep_ns(poll_ns);
        }
    }

    /// Sleep-poll (every 2 ms) until the value is at least `target`; false
    /// after `timeout_ns`.
    pub fn wait_at_least(&self, target: u64, timeout_ns: u64) -> bool {
        let deadline = monotonic_ns() + timeout_ns;
        while self.get() < target {
            if monotonic_ns() >= deadline {
                return false;
            }
            sleep_ns(2_000_000);
        }
        true
    }
}

/// A type that can live in shared memory between forked processes: all
/// zero bytes are a valid value and every access goes through atomics.
/// Implement it for a struct with [`shm_record!`](crate::shm_record),
/// which checks that every field is a `Record`.
///
/// # Safety
/// The all-zero bit pattern must be a valid value, and the type must have
/// no destructor and no interior pointers.
pub unsafe trait Record: Sync {}

// SAFETY: a zeroed atomic is a valid 0; no destructor, no pointer.
unsafe impl Record for Slot {}
// SAFETY: as for `Slot`.
unsafe impl Record for AtomicU64 {}
// SAFETY: as for `Slot`.
unsafe impl Record for std::sync::atomic::AtomicU32 {}
// SAFETY: as for `Slot`.
unsafe impl Record for std::sync::atomic::AtomicI32 {}
// SAFETY: as for `Slot`.
unsafe impl Record for std::sync::atomic::AtomicBool {}
// SAFETY: an array of records is zero-valid element by element.
unsafe impl<T: Record, const N: usize> Record for [T; N] {}

/// Declares a `#[repr(C)]` struct of shared fields and makes it a
/// [`Record`]; a field whose type is not a `Record` does not compile.
///
/// ```
/// casio_testkit::shm_record! {
///     /// What a child reports.
///     pub struct Report {
///         pub ready: casio_testkit::shm::Slot,
///         pub times: [casio_testkit::shm::Slot; 4],
///     }
/// }
/// let r = casio_testkit::shm::Shared::<Report>::new(3).unwrap();
/// r[2].times[1].set(7);
/// assert_eq!(r[2].times[1].get(), 7);
/// ```
#[macro_export]
macro_rules! shm_record {
    ($(#[$m:meta])* $vis:vis struct $name:ident {
        $($(#[$fm:meta])* $fvis:vis $field:ident: $ty:ty),* $(,)?
    }) => {
        $(#[$m])*
        #[repr(C)]
        $vis struct $name {
            $($(#[$fm])* $fvis $field: $ty),*
        }
        // SAFETY: repr(C) of fields that are all `Record`s (the where
        // clause does not hold otherwise): zero-valid, atomics only.
        unsafe impl $crate::shm::Record for $name where $($ty: $crate::shm::Record),* {}
    };
}

/// `len` zeroed records of `T` in one anonymous `MAP_SHARED` mapping,
/// visible to the process and every child forked after its creation.
/// Dereferences to `[T]`; [`Shared::one`] makes a single record, which
/// [`Shared::rec`] returns.
pub struct Shared<T: Record> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: the records are only accessed through atomics (`Record`).
unsafe impl<T: Record> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Record> Sync for Shared<T> {}

impl<T: Record> Shared<T> {
    /// `len` zeroed records.
    pub fn new(len: usize) -> Result<Shared<T>, String> {
        Ok(Shared {
            ptr: map_shared(len * std::mem::size_of::<T>())?.cast(),
            len,
        })
    }

    /// One zeroed record.
    pub fn one() -> Result<Shared<T>, String> {
        Shared::new(1)
    }

    /// The first (or only) record.
    pub fn rec(&self) -> &T {
        &self[0]
    }
}

impl<T: Record> std::ops::Deref for Shared<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `len` records of a live, page-aligned mapping; zeroed
        // memory is a valid `T` (`Record`), and it is only shared
        // through atomics.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T: Record> Drop for Shared<T> {
    fn drop(&mut self) {
        // SAFETY: the mapping of exactly this size that `new` made.
        unsafe { unmap_shared(self.ptr.cast(), self.len * std::mem::size_of::<T>()) };
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

    crate::shm_record! {
        struct Rec {
            a: Slot,
            b: [Slot; 3],
        }
    }

    #[test]
    fn typed_records_are_shared() {
        let r = Shared::<Rec>::new(3).unwrap();
        assert_eq!(r.len(), 3);
        assert!(r
            .iter()
            .all(|x| x.a.get() == 0 && x.b.iter().all(|s| s.get() == 0)));
        assert_eq!(
            in_child(|| {
                r[2].a.set(42);
                r[1].b[2].add(5);
                r[1].b[2].or(8);
            }),
            0
        );
        assert_eq!(r[2].a.get(), 42);
        assert_eq!(r[1].b[2].get(), 13);
        assert_eq!(r[2].a.wait_nonzero(0, 1_000_000), Some(42));
        assert_eq!(r[0].a.wait_nonzero(5_000_000, 1_000_000), None);
        assert!(r[1].b[2].wait_at_least(13, 0));
        assert!(Shared::<Rec>::new(0).unwrap().is_empty());
        let one = Shared::<Rec>::one().unwrap();
        one.rec().a.set(1);
        assert_eq!(one.len(), 1);
        let shm = Shm::new(2).unwrap();
        shm.slot(1).set(9);
        assert_eq!(shm.get(1), 9);
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
