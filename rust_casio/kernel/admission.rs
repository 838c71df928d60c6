// SPDX-License-Identifier: GPL-2.0

//! Admission control: the CASIO bandwidth of every task against the cap.
//!
//! The cap, `sched_casio_runtime_us` per `sched_casio_period_us`, bounds
//! the sum of C/T over all CASIO tasks by that share of every online CPU,
//! and the shares of the tasks pinned to one CPU by that CPU's share; a
//! runtime of -1 turns it off (the sums are still kept). The arithmetic
//! is the EDF core's [`Ledger`]; this module keeps the sums under the
//! admission lock, `casio_bw_lock`, and records in each task the share it
//! holds. Tasks set with `sched_setscheduler()` declare no runtime and
//! reserve nothing. The kernel's own affinity changes (a CPU going
//! offline, cpusets) move a share unchecked. Lock order: `p->pi_lock`,
//! rq lock, `casio_bw_lock`.

use core::cell::UnsafeCell;
use core::ffi::c_int;
use core::ptr;
use kernel::bindings;

use crate::base;
use crate::edf::bw::ratio;
use crate::edf::{Cap, Ledger, Share};
use crate::task::entity;

const NR_CPUS: usize = bindings::NR_CPUS as usize;

/// The sums of [`Ledger`]: of all shares, and per possible CPU.
struct Sums {
    total: u64,
    pinned: [u64; NR_CPUS],
}

/// [`Sums`], accessed only with `casio_bw_lock` held.
struct Guarded(UnsafeCell<Sums>);

// SAFETY: every access goes through `Locked`, which holds the lock.
unsafe impl Sync for Guarded {}

static SUMS: Guarded = Guarded(UnsafeCell::new(Sums {
    total: 0,
    pinned: [0; NR_CPUS],
}));

/// The admission lock, held; released on drop.
///
/// # Invariants
///
/// `casio_bw_lock` is held, taken with interrupts saved in `flags`.
struct Locked {
    flags: base::IrqFlags,
}

impl Locked {
    fn lock() -> Self {
        // SAFETY: `casio_bw_lock` is a statically initialised raw
        // spinlock; the lock order is respected by every caller.
        let flags =
            unsafe { bindings::raw_spin_lock_irqsave(ptr::addr_of_mut!(bindings::casio_bw_lock)) };
        // INVARIANT: the lock was just taken.
        Locked { flags }
    }

    fn ledger(&mut self) -> Ledger<'_> {
        // SAFETY: the lock is held for as long as `self` is borrowed, so
        // this is the only reference to the sums.
        let sums = unsafe { &mut *SUMS.0.get() };
        Ledger::new(&mut sums.total, &mut sums.pinned[..nr_cpu_ids()])
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SAFETY: the type invariant says the lock is held with `flags`.
        unsafe {
            bindings::raw_spin_unlock_irqrestore(
                ptr::addr_of_mut!(bindings::casio_bw_lock),
                self.flags,
            )
        };
    }
}

fn nr_cpu_ids() -> usize {
    // SAFETY: set at boot, before any task is scheduled; never changes.
    core::cmp::min(unsafe { bindings::nr_cpu_ids } as usize, NR_CPUS)
}

/// The cap of each CPU, from the sysctls.
fn cap() -> Cap {
    let (mut runtime, mut period) = (0u64, 0u64);
    // SAFETY: plain reads of the sysctls into the locals.
    if unsafe { bindings::casio_cap(&mut runtime, &mut period) } {
        Cap::new(runtime as i64, period)
    } else {
        Cap::new(-1, 1)
    }
}

fn online_cpus() -> u32 {
    // SAFETY: a read of the online CPU count, which may change meanwhile:
    // hotplug checks the sums itself before a CPU goes away.
    unsafe { bindings::num_online_cpus() }
}

/// The only CPU of `mask`, if it has exactly one.
///
/// # Safety
///
/// `mask` is a valid CPU mask.
unsafe fn pinned_cpu(mask: *const bindings::cpumask) -> Option<u32> {
    // SAFETY: forwarded from the caller.
    let (first, second) = unsafe {
        let first = bindings::cpumask_next(-1, mask);
        (first, bindings::cpumask_next(first as c_int, mask))
    };
    // SAFETY: set at boot; never changes.
    let n = unsafe { bindings::nr_cpu_ids };
    (first < n && second >= n).then_some(first)
}

/// The share `p` holds.
///
/// # Safety
///
/// `p` is valid and the admission lock is held.
unsafe fn held(p: *mut bindings::task_struct) -> Share {
    // SAFETY: forwarded from the caller: the lock protects both fields.
    let se = unsafe { &*entity(p) };
    Share::new(se.bw, u32::try_from(se.bw_cpu).ok())
}

/// Records that `p` holds `share`.
///
/// # Safety
///
/// `p` is valid and the admission lock is held.
unsafe fn hold(p: *mut bindings::task_struct, share: Share) {
    // SAFETY: forwarded from the caller.
    let se = unsafe { &mut *entity(p) };
    // `casio_bw_set_cpus()` peeks at it without the lock.
    // SAFETY: a single aligned word.
    unsafe { ptr::write_volatile(&mut se.bw, share.bw) };
    se.bw_cpu = share.cpu.map_or(-1, |c| c as i32);
}

/// Gives `p` the share `new` if it fits, or whatever it costs with
/// `!check`.
///
/// # Safety
///
/// `p` is valid and `p->pi_lock` held.
unsafe fn move_share(p: *mut bindings::task_struct, new: Share, check: bool) -> c_int {
    let mut sums = Locked::lock();
    // SAFETY: `p` is valid and the lock is held.
    let old = unsafe { held(p) };
    let mut ledger = sums.ledger();
    if check && !ledger.fits(old, new, cap(), online_cpus()) {
        return -(bindings::EBUSY as c_int);
    }
    ledger.apply(old, new);
    // SAFETY: as above.
    unsafe { hold(p, new) };
    0
}

/// The share `attr` asks for: C/T, none for a task that declares only a
/// deadline.
fn attr_share(attr: &bindings::sched_attr) -> u64 {
    if attr.sched_flags & u64::from(bindings::SCHED_FLAG_CASIO_UNRESERVED) != 0 {
        return 0;
    }
    let period = match attr.sched_period {
        0 => attr.sched_deadline,
        period => period,
    };
    ratio(period, attr.sched_runtime)
}

/// Moves the share of `p`, whose policy or CASIO parameters are about to
/// change to `policy` and `attr`; -EBUSY if the new share does not fit.
///
/// # Safety
///
/// `p` and `attr` are valid; `p->pi_lock` and its rq lock are held.
#[no_mangle]
pub unsafe extern "C" fn casio_bw_change(
    p: *mut bindings::task_struct,
    policy: c_int,
    attr: *const bindings::sched_attr,
) -> c_int {
    let mut bw = match policy == bindings::SCHED_CASIO as c_int {
        // SAFETY: the caller passes a valid attr.
        true => attr_share(unsafe { &*attr }),
        false => 0,
    };
    // A dead task (a zombie not yet reaped) gave its share back when it
    // last switched out, in `casio_task_dead()`, and nothing would give
    // back a new one: it reserves nothing. `p->pi_lock` orders this
    // against `do_task_dead()` setting the state.
    // SAFETY: `p` is valid.
    if unsafe { ptr::read_volatile(ptr::addr_of!((*p).__state)) } == bindings::TASK_DEAD {
        bw = 0;
    }
    // SAFETY: `p` is valid; its affinity is stable under `p->pi_lock`.
    let cpu = unsafe { pinned_cpu(ptr::addr_of!((*p).cpus_mask)) };
    // SAFETY: forwarded from the caller.
    unsafe { move_share(p, Share::new(bw, cpu), true) }
}

/// Moves the share of `p` to the CPU it is pinned to by `new_mask`, if
/// any, before its affinity changes. With `check` (`sched_setaffinity()`)
/// returns -EBUSY instead if that CPU's pinned share would not fit.
///
/// # Safety
///
/// `p` and `new_mask` are valid; `p->pi_lock` and its rq lock are held.
#[no_mangle]
pub unsafe extern "C" fn casio_bw_set_cpus(
    p: *mut bindings::task_struct,
    new_mask: *const bindings::cpumask,
    check: bool,
) -> c_int {
    // Only setscheduler and fork, under `p->pi_lock`, make it non-zero.
    // SAFETY: `p` is valid; a single aligned word.
    let bw = unsafe { ptr::read_volatile(ptr::addr_of!((*entity(p)).bw)) };
    if bw == 0 {
        return 0;
    }
    // SAFETY: forwarded from the caller.
    let new = Share::new(bw, unsafe { pinned_cpu(new_mask) });
    // SAFETY: forwarded from the caller.
    unsafe { move_share(p, new, check) }
}

/// Admits the forked child `p` of a CASIO task when it becomes visible;
/// -EBUSY if its share does not fit, and the caller makes it a
/// SCHED_NORMAL task.
///
/// # Safety
///
/// `p` is valid and `p->pi_lock` held.
#[no_mangle]
pub unsafe extern "C" fn casio_bw_fork(p: *mut bindings::task_struct) -> c_int {
    // SAFETY: `p` is valid; its parameters were copied from the parent and
    // change only under `p->pi_lock`, held.
    let (policy, se) = unsafe { ((*p).policy, &*entity(p)) };
    if policy != bindings::SCHED_CASIO || se.bw != 0 {
        return 0;
    }
    let attr = bindings::sched_attr {
        sched_runtime: se.params.runtime,
        sched_deadline: se.params.deadline,
        sched_period: se.params.period,
        sched_flags: u64::from(se.flags),
        ..Default::default()
    };
    // SAFETY: forwarded from the caller; `attr` is valid.
    unsafe { casio_bw_change(p, policy as c_int, &attr) }
}

/// Gives back the share of the dead task `p`.
///
/// # Safety
///
/// `p` is dead and referenced by the caller.
pub(crate) unsafe fn release(p: *mut bindings::task_struct) {
    // SAFETY: forwarded from the caller.
    unsafe { move_share(p, Share::default(), false) };
}

/// Whether what is admitted fits the cap the sysctls now hold; the
/// sysctl handler refuses a cap that does not.
#[no_mangle]
pub extern "C" fn casio_bw_fits_cap() -> bool {
    Locked::lock().ledger().within(cap(), online_cpus())
}

/// 0 if the admitted bandwidth fits the CPUs left after one goes offline,
/// else -EBUSY, as for SCHED_DEADLINE.
#[no_mangle]
pub extern "C" fn casio_bw_check_offline() -> c_int {
    let cpus = online_cpus().saturating_sub(1);
    match Locked::lock().ledger().within(cap(), cpus) {
        true => 0,
        false => -(bindings::EBUSY as c_int),
    }
}

/// The admitted bandwidth and its cap over the online CPUs, in units of
/// `BW_UNIT`; the cap is `u64::MAX` if there is none.
///
/// # Safety
///
/// `total` and `cap` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn casio_bw_read(total: *mut u64, cap_bw: *mut u64) {
    let t = Locked::lock().ledger().total();
    // SAFETY: the caller passes valid pointers.
    unsafe {
        *total = t;
        *cap_bw = cap().total(online_cpus()).unwrap_or(u64::MAX);
    }
}

/// The share of the tasks pinned to `cpu`, in units of `BW_UNIT`.
#[no_mangle]
pub extern "C" fn casio_bw_pinned(cpu: c_int) -> u64 {
    u32::try_from(cpu).map_or(0, |cpu| Locked::lock().ledger().pinned(cpu))
}
