//! Publishing a value to many waiting processes through a futex.

use std::sync::atomic::{AtomicU32, AtomicU64};

use casio_abi::*;

use crate::common::*;

/// Block until slot `i` of `s` is non-zero and return it (None after
/// `timeout_ns`): FUTEX_WAIT on the slot's low half, rechecked every
/// 200 ms.  Hundreds of tasks polling with short sleeps would flood a TCG
/// guest with wake-ups.
pub fn wait_published(s: &Shm, i: usize, timeout_ns: u64) -> Option<u64> {
    let end = monotonic_ns() + timeout_ns;
    // SAFETY: the slot is an aligned, shared AtomicU64 that lives as long
    // as `s`; its first four bytes (x86-64 is little endian) are a valid
    // AtomicU32.
    let word = unsafe { &*(s.at(i) as *const AtomicU64 as *const AtomicU32) };
    loop {
        let v = s.get(i);
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

/// Store `v` (non-zero) in slot `i` and wake every [`wait_published`]er.
pub fn publish(s: &Shm, i: usize, v: u64) {
    s.set(i, v);
    // SAFETY: as in wait_published.
    let word = unsafe { &*(s.at(i) as *const AtomicU64 as *const AtomicU32) };
    // SAFETY: waking the waiters of a live futex word.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MS, SEC};

    #[test]
    fn futex_publish() {
        // A value with a non-zero low half wakes the waiter at once; one
        // whose low half is 0 is seen at the 200 ms recheck.
        for (v, within) in [(12345u64, 150 * MS), (1u64 << 32, 2 * SEC)] {
            let s = Shm::new(4).unwrap();
            let sh = &s;
            let mut c = spawn("waiter", move || {
                let v = wait_published(sh, 2, 10 * SEC).ok_or("timed out")?;
                sh.set(3, monotonic_ns());
                sh.set(1, v);
                Ok(())
            })
            .unwrap();
            casio_abi::sleep_ns(50 * MS);
            let t = monotonic_ns();
            publish(&s, 2, v);
            c.join(5 * SEC).unwrap();
            assert_eq!(s.get(1), v);
            assert!(
                s.get(3) - t < within,
                "woke {} ms late",
                (s.get(3) - t) / MS
            );
        }
        let s = Shm::new(2).unwrap();
        assert_eq!(wait_published(&s, 1, 10 * MS), None);
    }
}
