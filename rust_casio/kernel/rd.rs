// SPDX-License-Identifier: GPL-2.0

//! Global EDF's view of a root domain (`rd->casio`), as `cpudeadline.c`
//! is the deadline class's: the CPUs with CASIO tasks in a heap by their
//! earliest deadline, the online others in `free`, and those with tasks
//! to push in `overload`. `casio_cpus_init()` allocates the storage; this
//! module alone reads and changes it. The lock of the sets nests inside
//! the rq lock.

use core::ffi::c_int;
use core::ptr;
use core::sync::atomic::{fence, AtomicI32, Ordering};
use kernel::bindings;

use crate::base;
use crate::edf::{CpuHeap, CpuSlot};

/// Whether `cpu` is active: CPUs going offline leave the active mask
/// first, and must get no more tasks.
fn cpu_active(cpu: c_int) -> bool {
    // SAFETY: `__cpu_active_mask` is a static mask; bit operations on it
    // are atomic.
    unsafe { base::cpumask_test_cpu(cpu, ptr::addr_of!(bindings::__cpu_active_mask)) }
}

/// The first CPU after `prev` in both masks, if any.
///
/// # Safety
///
/// Both masks are valid.
unsafe fn next_and(
    prev: c_int,
    a: *const bindings::cpumask,
    b: *const bindings::cpumask,
) -> Option<c_int> {
    // SAFETY: forwarded from the caller; -1 starts the search.
    let cpu = unsafe { bindings::cpumask_next_and(prev, a, b) };
    // SAFETY: `nr_cpu_ids` is set at boot and never changes after.
    (cpu < unsafe { bindings::nr_cpu_ids }).then_some(cpu as c_int)
}

/// The CASIO sets of the root domain of a runqueue.
///
/// # Safety
///
/// `rq` is valid and online, so that it has a root domain, and its lock
/// is held or the root domain is otherwise kept alive (`p->pi_lock` of a
/// task of `rq`, as for the deadline class's placement).
unsafe fn sets_of(rq: *mut bindings::rq) -> *mut bindings::casio_cpus {
    // SAFETY: forwarded from the caller.
    unsafe { ptr::addr_of_mut!((*(*rq).rd).casio) }
}

/// The heap storage of `cc`.
///
/// # Safety
///
/// `cc` was set up by `casio_cpus_init()` and the caller has exclusive
/// access to it for `'a`: its lock is held, or nobody else uses it yet.
unsafe fn heap_of<'a>(cc: *mut bindings::casio_cpus) -> (&'a mut [CpuSlot], &'a mut u32) {
    // SAFETY: `slots` holds `nr_cpu_ids` entries of the type the C
    // declaration was generated from.
    unsafe {
        (
            core::slice::from_raw_parts_mut(
                (*cc).slots.cast::<CpuSlot>(),
                bindings::nr_cpu_ids as usize,
            ),
            &mut (*cc).len,
        )
    }
}

/// The sets of a root domain, locked; the lock is released on drop.
///
/// # Invariants
///
/// `cc` was set up by `casio_cpus_init()`, and its lock is held, taken
/// with interrupts saved in `flags`.
struct Locked {
    cc: *mut bindings::casio_cpus,
    flags: base::IrqFlags,
}

impl Locked {
    /// # Safety
    ///
    /// `cc` was set up by `casio_cpus_init()` and stays valid while the
    /// returned guard lives.
    unsafe fn lock(cc: *mut bindings::casio_cpus) -> Self {
        // SAFETY: the lock was initialised with the sets.
        let flags = unsafe { bindings::raw_spin_lock_irqsave(ptr::addr_of_mut!((*cc).lock)) };
        // INVARIANT: the lock was just taken.
        Locked { cc, flags }
    }

    fn heap(&mut self) -> CpuHeap<'_> {
        // SAFETY: the lock gives exclusive access, for as long as `self`
        // is borrowed.
        let (slots, len) = unsafe { heap_of(self.cc) };
        CpuHeap::new(slots, len)
    }

    fn free(&self) -> *mut bindings::cpumask {
        // SAFETY: `cc` is valid; the pointer is set once at allocation.
        unsafe { (*self.cc).free }
    }

    fn set_free(&mut self, cpu: c_int, free: bool) {
        // SAFETY: the mask is valid and its changes are serialised by the
        // lock held.
        unsafe {
            if free {
                bindings::cpumask_set_cpu(cpu as u32, self.free());
            } else {
                bindings::cpumask_clear_cpu(cpu, self.free());
            }
        }
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SAFETY: the type invariant says the lock is held with `flags`.
        unsafe {
            bindings::raw_spin_unlock_irqrestore(ptr::addr_of_mut!((*self.cc).lock), self.flags)
        };
    }
}

/// Empties the sets of a new root domain; called by `casio_cpus_init()`
/// once the storage is allocated.
///
/// # Safety
///
/// `cc` has its storage allocated and nobody uses it yet.
#[no_mangle]
pub unsafe extern "C" fn casio_cpuheap_init(cc: *mut bindings::casio_cpus) {
    // SAFETY: the caller gives exclusive access.
    let (slots, len) = unsafe { heap_of(cc) };
    CpuHeap::init(slots, len);
}

/// Puts the CPU of `rq` in the heap by `deadline`, or among the free CPUs
/// if it is 0.
///
/// # Safety
///
/// `rq` is locked and online.
pub(crate) unsafe fn set(rq: *mut bindings::rq, deadline: u64) {
    // SAFETY: forwarded from the caller.
    let (cpu, mut sets) = unsafe { ((*rq).cpu, Locked::lock(sets_of(rq))) };
    if deadline != 0 {
        sets.set_free(cpu, false);
        sets.heap().set(cpu as u32, deadline);
    } else {
        sets.heap().remove(cpu as u32);
        sets.set_free(cpu, true);
    }
}

/// Takes the CPU of `rq`, going offline, out of both the heap and the
/// free CPUs.
///
/// # Safety
///
/// `rq` is locked and still online.
pub(crate) unsafe fn clear(rq: *mut bindings::rq) {
    // SAFETY: forwarded from the caller.
    let (cpu, mut sets) = unsafe { ((*rq).cpu, Locked::lock(sets_of(rq))) };
    sets.heap().remove(cpu as u32);
    sets.set_free(cpu, false);
}

/// Whether a task allowed on `mask` may be sent to `cpu`: a CPU going
/// offline leaves the active mask first, and stays in the CASIO sets
/// until it is offline; a task sent there in between is pushed away
/// again by the core (balance_push), and the churn delayed hotplug by
/// seconds.
///
/// # Safety
///
/// `mask` is a valid CPU mask.
unsafe fn usable(cpu: c_int, mask: *const bindings::cpumask) -> bool {
    // SAFETY: forwarded from the caller.
    let allowed = unsafe { base::cpumask_test_cpu(cpu, mask) };
    allowed && cpu_active(cpu)
}

/// A CPU where `p`, by `deadline`, should run: its own CPU or another
/// allowed one without CASIO tasks, else the allowed CPU whose earliest
/// deadline is the latest, if later than `deadline`. Only the latest CPU
/// of the heap is considered, as `cpudl_find()` does.
///
/// # Safety
///
/// `p` is valid and its `pi_lock` or rq lock is held.
pub(crate) unsafe fn find_cpu(p: *mut bindings::task_struct, deadline: u64) -> Option<c_int> {
    // SAFETY: `p` is valid and its CPU and affinity are stable under the
    // caller's lock.
    let (cpu, allowed) = unsafe { (bindings::task_cpu(p) as c_int, (*p).cpus_ptr) };
    // SAFETY: the lock of `p` keeps its runqueue's root domain alive.
    let mut sets = unsafe { Locked::lock(sets_of(bindings::cpu_rq(cpu))) };
    // SAFETY: the free mask and `allowed` are valid masks.
    unsafe {
        if base::cpumask_test_cpu(cpu, sets.free()) && usable(cpu, allowed) {
            return Some(cpu);
        }
        let mut free = next_and(-1, sets.free(), allowed);
        while let Some(cpu) = free {
            if cpu_active(cpu) {
                return Some(cpu);
            }
            free = next_and(cpu, sets.free(), allowed);
        }
    }
    let (cpu, latest) = sets.heap().latest()?;
    // SAFETY: `allowed` is valid.
    (latest > deadline && unsafe { usable(cpu as c_int, allowed) }).then_some(cpu as c_int)
}

/// An active CPU `p` may run on, for a task whose CPU went offline; any
/// active CPU if it is allowed on none.
///
/// # Safety
///
/// `p` is valid and its `pi_lock` is held.
pub(crate) unsafe fn fallback_cpu(p: *mut bindings::task_struct) -> c_int {
    // SAFETY: only the address of the mask is taken (older compilers do
    // not ask for `unsafe` here).
    #[allow(unused_unsafe)]
    let active = unsafe { ptr::addr_of!(bindings::__cpu_active_mask) };
    // SAFETY: both masks are valid; `p->pi_lock` keeps the affinity.
    unsafe {
        next_and(-1, active, (*p).cpus_ptr)
            .unwrap_or_else(|| next_and(-1, active, active).unwrap_or(0))
    }
}

/// The number of overloaded CPUs of `cc`, as the atomic it is.
///
/// # Safety
///
/// `cc` was set up by `casio_cpus_init()`.
unsafe fn nr_overloaded<'a>(cc: *mut bindings::casio_cpus) -> &'a AtomicI32 {
    // SAFETY: `atomic_t` is an `int` that is only accessed atomically,
    // which is what `AtomicI32` is.
    unsafe { &*(ptr::addr_of_mut!((*cc).nr_overloaded) as *const AtomicI32) }
}

/// Marks the CPU of `rq` as having tasks to push, or no more.
///
/// # Safety
///
/// `rq` is locked and online.
pub(crate) unsafe fn set_overload(rq: *mut bindings::rq, overloaded: bool) {
    // SAFETY: forwarded from the caller; the mask bits are atomic and only
    // the CPU's own rq lock holder changes its bit.
    unsafe {
        let (cpu, cc) = ((*rq).cpu, sets_of(rq));
        if overloaded {
            bindings::cpumask_set_cpu(cpu as u32, (*cc).overload);
            // Pairs with the fence in next_overloaded(): a CPU that sees
            // the count sees the bit.
            fence(Ordering::Release);
            nr_overloaded(cc).fetch_add(1, Ordering::Relaxed);
        } else {
            nr_overloaded(cc).fetch_sub(1, Ordering::Relaxed);
            bindings::cpumask_clear_cpu(cpu, (*cc).overload);
        }
    }
}

/// The next CPU after `prev` (-1 to start) with CASIO tasks to push;
/// none for a CPU going offline, which must not pull what it would push
/// away again.
///
/// # Safety
///
/// `rq` is locked and online.
pub(crate) unsafe fn next_overloaded(rq: *mut bindings::rq, prev: c_int) -> Option<c_int> {
    // SAFETY: forwarded from the caller.
    let (cpu, cc) = unsafe { ((*rq).cpu, sets_of(rq)) };
    if !cpu_active(cpu) {
        return None;
    }
    if prev < 0 {
        // SAFETY: `cc` is set up.
        if unsafe { nr_overloaded(cc) }.load(Ordering::Relaxed) == 0 {
            return None;
        }
        // Pairs with the fence in set_overload().
        fence(Ordering::Acquire);
    }
    // SAFETY: the mask is valid; its bits are read atomically.
    let next = unsafe { bindings::cpumask_next(prev, (*cc).overload) };
    // SAFETY: `nr_cpu_ids` never changes after boot.
    (next < unsafe { bindings::nr_cpu_ids }).then_some(next as c_int)
}

/// Checks what the sets hold of the CPU of `rq` against the earliest
/// deadlines of its queues (0 for none): in the heap by `earliest` or
/// free, and overloaded if it has tasks to push. For KUnit suites.
///
/// # Safety
///
/// `rq` is locked and online.
#[allow(dead_code)] // Called only by the bases that have a KUnit suite.
pub(crate) unsafe fn check(
    rq: *mut bindings::rq,
    earliest: u64,
    pushable: u64,
) -> Result<(), &'static str> {
    // SAFETY: forwarded from the caller.
    let (cpu, mut sets) = unsafe { ((*rq).cpu, Locked::lock(sets_of(rq))) };
    let in_heap = {
        let heap = sets.heap();
        heap.check()?;
        heap.deadline_of(cpu as u32)
    };
    if in_heap != (earliest != 0).then_some(earliest) {
        return Err("the CPU heap holds another deadline for the CPU");
    }
    // SAFETY: both masks are valid; their bits are read atomically.
    let (free, overloaded) = unsafe {
        (
            base::cpumask_test_cpu(cpu, sets.free()),
            base::cpumask_test_cpu(cpu, (*sets.cc).overload),
        )
    };
    if free != (earliest == 0) {
        return Err("the free CPU mask disagrees with the queue");
    }
    if overloaded != (pushable != 0) {
        return Err("the overload mask disagrees with the pushable tasks");
    }
    Ok(())
}
