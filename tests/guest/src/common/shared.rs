//! Memory shared with forked children: typed records ([`Shared`] of
//! structs declared with `shm_record!`, fields [`Slot`]), the T0 a test
//! releases its tasks at, and publishing a value to many waiting
//! processes through a futex.

use std::sync::atomic::AtomicU32;

pub use casio_testkit::shm::{Shared, Slot};
pub use casio_testkit::shm_record;

use casio_abi::monotonic_ns;

use crate::{MS, SEC};

shm_record! {
    /// The common start of a test's tasks: each counts itself `ready`,
    /// the controller publishes `t0` (when they start) and later `stop`.
    pub struct Release {
        pub t0: Slot,
        pub ready: Slot,
        pub stop: Slot,
    }
}

/// Store `values` in `slots`, as many as both have.
pub fn store(slots: &[Slot], values: impl IntoIterator<Item = u64>) {
    slots.iter().zip(values).for_each(|(s, v)| s.set(v));
}

/// Sleep-poll (1 ms) for the release time T0 published in `t0`.
pub fn wait_t0(t0: &Slot) -> Result<u64, String> {
    t0.wait_nonzero(10 * SEC, MS)
        .ok_or_else(|| "release time T0 never published".to_string())
}

/// The futex word of `s`: its low half.
fn futex_word(s: &Slot) -> &AtomicU32 {
    // SAFETY: the slot is an aligned, shared AtomicU64 that lives as long
    // as `s`; its first four bytes (x86-64 is little endian) are a valid
    // AtomicU32.
    unsafe { &*(s.atomic().as_ptr() as *const AtomicU32) }
}

/// Block until `s` is non-zero and return it (None after `timeout_ns`):
/// FUTEX_WAIT on the slot's low half, rechecked every 200 ms.  Hundreds
/// of tasks polling with short sleeps would flood a TCG guest with
/// wake-ups.
pub fn wait_published(s: &Slot, timeout_ns: u64) -> Option<u64> {
    let end = monotonic_ns() + timeout_ns;
    let word = futex_word(s);
    loop {
        let v = s.get();
        if v != 0 {
            return Some(v);
        }
        if monotonic_ns() >= end {
            return None;
        }
        let ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 200_000_000,
        };
        // SAFETY: a live futex word in shared memory, a valid timeout; a
        // plain (shared) futex, as the word is shared between processes.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT,
                0u32,
                &ts as *const libc::timespec,
            )
        };
    }
}

/// Store `v` (non-zero) in `s` and wake every [`wait_published`]er.
pub fn publish(s: &Slot, v: u64) {
    s.set(v);
    // SAFETY: waking the waiters of a live futex word.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            futex_word(s).as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::proc::spawn;

    shm_record! {
        struct Waiter {
            value: Slot,
            woke: Slot,
            published: Slot,
        }
    }

    #[test]
    fn futex_publish() {
        // A value with a non-zero low half wakes the waiter at once; one
        // whose low half is 0 is seen at the 200 ms recheck.
        for (v, within) in [(12345u64, 150 * MS), (1u64 << 32, 2 * SEC)] {
            let s = Shared::<Waiter>::one().unwrap();
            let w = s.rec();
            let mut c = spawn("waiter", move || {
                let v = wait_published(&w.published, 10 * SEC).ok_or("timed out")?;
                w.woke.set(monotonic_ns());
                w.value.set(v);
                Ok(())
            })
            .unwrap();
            casio_abi::sleep_ns(50 * MS);
            let t = monotonic_ns();
            publish(&w.published, v);
            c.join(5 * SEC).unwrap();
            assert_eq!(w.value.get(), v);
            assert!(
                w.woke.get() - t < within,
                "woke {} ms late",
                (w.woke.get() - t) / MS
            );
        }
        let s = Shared::<Waiter>::one().unwrap();
        assert_eq!(wait_published(&s.rec().published, 10 * MS), None);
    }
}
