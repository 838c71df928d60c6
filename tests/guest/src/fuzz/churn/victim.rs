//! The victims of the churn, and the PI futexes they take.

use casio_abi::{
    monotonic_ns, sched_yield, setattr, sleep_ns, Errno, SchedAttr, SCHED_FIFO, SCHED_NORMAL,
};
use casio_testkit::rng::Rng;

use super::{Churn, ChurnShm, NFUTEX};
use crate::common::work::spin_until;
use crate::fuzz::sys::fork_with;
use crate::fuzz::{stock_kernel, Config};
use crate::{MS, SEC};

// ---------------------------------------------------------------------
// PI futexes, shared by the victims

fn futex_word(shm: &ChurnShm, i: usize) -> *mut u32 {
    // The low half of a 64-bit slot (little-endian x86_64).
    shm.c().futex[i].atomic() as *const _ as *mut u32
}

fn futex_pi(word: *mut u32, op: i32, timeout: Option<&libc::timespec>) -> Result<(), Errno> {
    let ts = timeout.map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` points into the live shared mapping; `ts` is null or
    // a live timespec.
    let r = unsafe { libc::syscall(libc::SYS_futex, word, op, 0, ts, 0usize, 0u32) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// A robust-futex list (`set_robust_list(2)`): the kernel releases the
/// PI futexes a victim holds when it is killed, marking them
/// FUTEX_OWNER_DIED, so that the others can take them again.
#[repr(C)]
struct RobustListHead {
    next: usize,
    futex_offset: libc::c_long,
    list_op_pending: usize,
}

/// The robust list node of PI futex `i` (only its owner links it).
fn robust_node(shm: &ChurnShm, i: usize) -> usize {
    shm.c().node[i].atomic() as *const _ as usize
}

/// Registers the calling victim's robust list, empty.
fn robust_init() -> &'static mut RobustListHead {
    let head = Box::leak(Box::new(RobustListHead {
        next: 0,
        futex_offset: std::mem::offset_of!(Churn, futex) as libc::c_long
            - std::mem::offset_of!(Churn, node) as libc::c_long,
        list_op_pending: 0,
    }));
    head.next = head as *mut _ as usize;
    // SAFETY: the head lives for the rest of the process.
    unsafe {
        libc::syscall(
            libc::SYS_set_robust_list,
            head as *mut RobustListHead,
            std::mem::size_of::<RobustListHead>(),
        )
    };
    head
}

/// Takes PI futex `i` for at most 20 ms of waiting, holds it while
/// spinning up to 2 ms, and releases it; the robust list covers a kill
/// at any point.
fn pi_critical_section(shm: &ChurnShm, head: &mut RobustListHead, r: &mut Rng, i: usize) {
    let word = futex_word(shm, i);
    let node = robust_node(shm, i);
    let head_addr = head as *mut RobustListHead as usize;
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let ns = now.tv_nsec as u64 + 20 * MS;
    let deadline = libc::timespec {
        tv_sec: now.tv_sec + (ns / SEC) as libc::time_t,
        tv_nsec: (ns % SEC) as libc::c_long,
    };
    // Bit 0 of an entry marks a PI futex.
    head.list_op_pending = node | 1;
    if futex_pi(word, libc::FUTEX_LOCK_PI, Some(&deadline)).is_ok() {
        shm.c().node[i].set(head_addr as u64);
        head.next = node | 1;
        head.list_op_pending = 0;
        spin_until(monotonic_ns() + r.below(2 * MS));
        head.list_op_pending = node | 1;
        head.next = head_addr;
        let _ = futex_pi(word, libc::FUTEX_UNLOCK_PI, None);
    }
    head.list_op_pending = 0;
}

// ---------------------------------------------------------------------
// Victims

/// A victim: loops until killed.
fn victim(shm: &ChurnShm, seed: u64, simple: bool) -> i32 {
    let mut r = Rng::new(seed);
    let head = robust_init();
    loop {
        match r.below(if simple { 6 } else { 9 }) {
            0 | 1 => spin_until(monotonic_ns() + r.below(20 * MS)),
            2 => {
                let _ = sched_yield();
            }
            3 => {
                // SAFETY: plain sleep.
                unsafe { libc::usleep(r.below(5000) as u32) };
            }
            4 => {
                let spin = r.below(2 * MS);
                let yield_too = r.below(2) == 0;
                if let Ok(pid) = fork_with(|| {
                    spin_until(monotonic_ns() + spin);
                    if yield_too {
                        let _ = sched_yield();
                    }
                    0
                }) {
                    let mut st = 0;
                    // SAFETY: waits for our own child.
                    while unsafe { libc::waitpid(pid, &mut st, 0) } < 0
                        && Errno::last() == Errno::EINTR
                    {}
                }
            }
            5 => sleep_ns(r.below(10 * MS)),
            6 | 7 => {
                let i = r.below(NFUTEX as u64) as usize;
                pi_critical_section(shm, head, &mut r, i)
            }
            _ => {
                // The victim changes its own policy.
                let a = if r.below(2) == 0 {
                    let t = (2 + r.below(50)) * MS;
                    if stock_kernel() {
                        let mut a = SchedAttr::new(SCHED_FIFO);
                        a.sched_priority = 99;
                        a
                    } else {
                        SchedAttr::casio(t / 10, t, t)
                    }
                } else {
                    SchedAttr::new(SCHED_NORMAL)
                };
                let _ = setattr(0, &a, 0);
            }
        }
    }
}

pub(super) fn spawn_victim(
    shm: &ChurnShm,
    cfg: &Config,
    slot: usize,
    seed: u64,
) -> Result<i32, String> {
    let pid = fork_with(|| victim(shm, seed, cfg.simple_victims))?;
    shm.victims[slot].set(pid as u64);
    Ok(pid)
}
