//! Error cases: EINVAL, EPERM, ESRCH, EFAULT.

use casio_abi::{
    casio_params_valid, get_priority_max, getattr, getparam, getscheduler, raw, rr_get_interval,
    set_casio, set_casio_param, setattr, setscheduler, Errno, SchedAttr, SchedCasioParam,
    CASIO_MAX_PERIOD, CASIO_MIN_PERIOD, CASIO_TOP_BIT, SCHED_ATTR_SIZE_VER1, SCHED_CASIO,
    SCHED_FIFO, SCHED_NORMAL, SCHED_RESET_ON_FORK,
};

use crate::common::checks::{sys, Fails};
use crate::common::kernel::has_sched_ext_policy;
use crate::common::proc::spawn;
use crate::common::work::{drop_privileges, JOIN_NS};
use crate::harness::TestResult;
use crate::{diag, MS};

crate::tests! {
    einval: "invalid CASIO params, priorities, policies, NULL, negative pid -> EINVAL" => t_einval,
    eperm: "uid 65534 with RLIMIT_RTPRIO < 99 -> EPERM; RLIMIT_RTPRIO 99 allowed" => t_eperm,
    esrch: "reaped pid -> ESRCH from every call" => t_esrch,
    efault: "bad user pointers -> EFAULT; 16-byte CASIO block read in full" => t_efault,
}

// ---------------------------------------------------------------------------
// b. error cases
// ---------------------------------------------------------------------------

const INVALID_POLICIES: [i32; 6] = [4, 7, 9, 99, 999, 1000];

fn t_einval() -> TestResult {
    let mut f = Fails::default();
    let top = CASIO_TOP_BIT;
    let max = CASIO_MAX_PERIOD;

    // sched_setscheduler with the CASIO block.
    let blocks: [(&str, i32, u64); 9] = [
        ("D = 0", 0, 0),
        ("D = 99999ns (T < 100us)", 0, 99_999),
        ("D = 1024ns", 0, 1024),
        ("D = max + 1", 0, max + 1),
        ("D top bit", 0, top | (10 * MS)),
        ("D = u64::MAX", 0, u64::MAX),
        ("sched_priority 1", 1, 10 * MS),
        ("sched_priority -1", -1, 10 * MS),
        ("sched_priority 99", 99, 10 * MS),
    ];
    for (name, prio, d) in blocks {
        let p = SchedCasioParam {
            sched_priority: prio,
            casio_id: 1,
            deadline: d,
        };
        f.err_is(
            &format!("setscheduler CASIO {name}"),
            set_casio_param(0, SCHED_CASIO, &p),
            Errno::EINVAL,
        );
    }

    // sched_setattr.
    let attrs: [(&str, u64, u64, u64); 14] = [
        ("C > D", 20 * MS, 10 * MS, 30 * MS),
        ("C > D, T = 0", 20 * MS, 10 * MS, 0),
        ("D > T", MS, 30 * MS, 20 * MS),
        ("C < 1024", 1023, 10 * MS, 10 * MS),
        ("C = 0", 0, 10 * MS, 10 * MS),
        ("T < 100us", 1024, 50_000, 99_999),
        ("D = T = 99999ns", 1024, 99_999, 0),
        ("T > max", MS, 10 * MS, max + 1),
        ("D > max, T = 0", MS, max + 1, 0),
        ("D = 0", 1024, 0, 10 * MS),
        ("D = 0, T = 0", 0, 0, 0),
        ("top bit of D", MS, top | (10 * MS), 0),
        ("top bit of T", MS, 10 * MS, top | (10 * MS)),
        ("top bit of D and T", MS, top | (10 * MS), top | (20 * MS)),
    ];
    for (name, c, d, t) in attrs {
        debug_assert!(!casio_params_valid(c, d, t), "{name}");
        f.err_is(
            &format!("setattr CASIO {name}"),
            setattr(0, &SchedAttr::casio(c, d, t), 0),
            Errno::EINVAL,
        );
    }
    let mut a = SchedAttr::casio(MS, 10 * MS, 10 * MS);
    a.sched_priority = 1;
    f.err_is(
        "setattr CASIO sched_priority 1",
        setattr(0, &a, 0),
        Errno::EINVAL,
    );

    // Unknown policies, through both calls.
    let valid_block = SchedCasioParam::new(1, 10 * MS);
    for pol in INVALID_POLICIES {
        f.err_is(
            &format!("setscheduler policy {pol}"),
            set_casio_param(0, pol, &valid_block),
            Errno::EINVAL,
        );
        let mut a = SchedAttr::casio(MS, 10 * MS, 10 * MS);
        a.sched_policy = pol as u32;
        f.err_is(
            &format!("setattr policy {pol}"),
            setattr(0, &a, 0),
            Errno::EINVAL,
        );
        // 7 is SCHED_EXT, whose priority range 6.12 reports even
        // without sched_ext built in.
        if pol == 7 && has_sched_ext_policy() {
            f.eq("get_priority_max(7)", get_priority_max(pol), Ok(0));
        } else {
            f.err_is(
                &format!("get_priority_max({pol})"),
                get_priority_max(pol),
                Errno::EINVAL,
            );
        }
    }

    // NULL parameter pointers.
    // SAFETY: NULL is never dereferenced by us; the kernel must reject it.
    let r = unsafe { raw::sched_setscheduler(0, SCHED_CASIO, std::ptr::null()) };
    f.err_is("setscheduler CASIO NULL param", r, Errno::EINVAL);
    // SAFETY: as above.
    let r = unsafe { raw::sched_setattr(0, std::ptr::null_mut(), 0) };
    f.err_is("setattr NULL attr", r, Errno::EINVAL);
    // SAFETY: as above.
    let r = unsafe { raw::sched_getattr(0, std::ptr::null_mut(), SCHED_ATTR_SIZE_VER1, 0) };
    f.err_is("getattr NULL attr", r, Errno::EINVAL);

    // Negative pid.
    f.err_is(
        "setscheduler CASIO pid -1",
        set_casio(-1, 1, 10 * MS),
        Errno::EINVAL,
    );
    f.err_is(
        "setattr CASIO pid -1",
        setattr(-1, &SchedAttr::casio(MS, 10 * MS, 0), 0),
        Errno::EINVAL,
    );
    f.err_is("getscheduler pid -1", getscheduler(-1), Errno::EINVAL);
    f.err_is("getparam pid -1", getparam(-1), Errno::EINVAL);
    f.err_is("getattr pid -1", getattr(-1), Errno::EINVAL);
    f.err_is("rr_get_interval pid -1", rr_get_interval(-1), Errno::EINVAL);

    // None of that may have changed our policy.
    f.eq(
        "getscheduler after rejected calls",
        getscheduler(0),
        Ok(SCHED_NORMAL),
    );

    // Controls: the valid neighbours of the rejected values are accepted.
    let controls: [(&str, SchedAttr); 4] = [
        ("setattr C=D=T=100us", SchedAttr::casio(100_000, 100_000, 0)),
        ("setattr C=D=T=max", SchedAttr::casio(max, max, max)),
        (
            "setattr C=D=10ms, T=0",
            SchedAttr::casio(10 * MS, 10 * MS, 0),
        ),
        (
            "setattr C=10ms, D=T=20ms",
            SchedAttr::casio(10 * MS, 20 * MS, 20 * MS),
        ),
    ];
    for (name, a) in controls {
        f.ok(name, setattr(0, &a, 0));
        f.ok("back to NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    }
    f.ok(
        "setscheduler CASIO D=100us",
        set_casio(0, 1, CASIO_MIN_PERIOD),
    );
    f.ok(
        "setscheduler CASIO D=max",
        set_casio(0, 1, CASIO_MAX_PERIOD),
    );
    f.ok("back to NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    f.finish()
}

fn t_eperm() -> TestResult {
    // SAFETY: getpid has no preconditions.
    let root_pid = unsafe { libc::getpid() };
    let mut f = Fails::default();
    for rtprio in [0u64, 98] {
        let mut c = spawn(&format!("uid 65534, RLIMIT_RTPRIO {rtprio}"), move || {
            // Control: still root here, so this must work.
            sys("root: set_casio", set_casio(0, 1, 10 * MS))?;
            sys("root: back to NORMAL", setscheduler(0, SCHED_NORMAL, 0))?;
            drop_privileges(rtprio)?;
            let mut f = Fails::default();
            f.err_is("setscheduler CASIO", set_casio(0, 1, 10 * MS), Errno::EPERM);
            f.err_is(
                "setscheduler CASIO|RESET_ON_FORK",
                set_casio_param(
                    0,
                    SCHED_CASIO | SCHED_RESET_ON_FORK,
                    &SchedCasioParam::new(1, 10 * MS),
                ),
                Errno::EPERM,
            );
            f.err_is(
                "setattr CASIO",
                setattr(0, &SchedAttr::casio(MS, 10 * MS, 0), 0),
                Errno::EPERM,
            );
            f.err_is(
                "setscheduler CASIO on a root-owned pid",
                set_casio(root_pid, 1, 10 * MS),
                Errno::EPERM,
            );
            f.eq("getscheduler afterwards", getscheduler(0), Ok(SCHED_NORMAL));
            f.finish()
        })?;
        if let Err(e) = c.join(JOIN_NS) {
            f.push(e);
        }
    }
    // RLIMIT_RTPRIO 99 lets an unprivileged task in.
    let mut c = spawn("uid 65534, RLIMIT_RTPRIO 99", || {
        drop_privileges(99)?;
        sys("setscheduler CASIO", set_casio(0, 1, 10 * MS))?;
        let mut f = Fails::default();
        f.eq("getscheduler", getscheduler(0), Ok(SCHED_CASIO));
        f.finish()
    })?;
    if let Err(e) = c.join(JOIN_NS) {
        f.push(e);
    }
    f.eq(
        "our own policy (untouched)",
        getscheduler(0),
        Ok(SCHED_NORMAL),
    );
    f.finish()
}

fn t_esrch() -> TestResult {
    let mut c = spawn("short-lived", || Ok(()))?;
    c.join(JOIN_NS)?;
    let pid = c.pid();
    drop(c);
    let mut f = Fails::default();
    f.err_is(
        "setscheduler CASIO",
        set_casio(pid, 1, 10 * MS),
        Errno::ESRCH,
    );
    f.err_is(
        "setattr CASIO",
        setattr(pid, &SchedAttr::casio(MS, 10 * MS, 0), 0),
        Errno::ESRCH,
    );
    f.err_is("getscheduler", getscheduler(pid), Errno::ESRCH);
    f.err_is("getparam", getparam(pid), Errno::ESRCH);
    f.err_is("getattr", getattr(pid), Errno::ESRCH);
    f.err_is("rr_get_interval", rr_get_interval(pid), Errno::ESRCH);
    if !f.0.is_empty() {
        diag!("pid used: {pid} (reaped)");
    }
    f.finish()
}

/// A page whose successor is unmapped: returns (page start, page size).
fn page_before_hole() -> Result<(*mut u8, usize), String> {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    // SAFETY: fresh anonymous mapping of two pages; the second is unmapped
    // again so the first ends at a hole.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            2 * page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return Err(format!("mmap: {}", Errno::last()));
        }
        let p = p as *mut u8;
        if libc::munmap(p.add(page) as *mut libc::c_void, page) != 0 {
            return Err(format!("munmap: {}", Errno::last()));
        }
        Ok((p, page))
    }
}

fn t_efault() -> TestResult {
    let mut f = Fails::default();
    let bad: *mut libc::c_void = std::ptr::without_provenance_mut(1);
    // SAFETY: address 1 is never mapped; the kernel must fault cleanly.
    unsafe {
        f.err_is(
            "setscheduler CASIO param=1",
            raw::sched_setscheduler(0, SCHED_CASIO, bad),
            Errno::EFAULT,
        );
        f.err_is(
            "setattr attr=1",
            raw::sched_setattr(0, bad, 0),
            Errno::EFAULT,
        );
        f.err_is(
            "getattr attr=1",
            raw::sched_getattr(0, bad, SCHED_ATTR_SIZE_VER1, 0),
            Errno::EFAULT,
        );
        f.err_is(
            "getparam param=1",
            raw::sched_getparam(0, bad),
            Errno::EFAULT,
        );
        f.err_is(
            "rr_get_interval ts=1",
            raw::sched_rr_get_interval(0, bad),
            Errno::EFAULT,
        );
    }
    // A CASIO block whose deadline field lies in an unmapped page: the
    // kernel must read all 16 bytes, so this faults.
    let (page, size) = page_before_hole()?;
    // SAFETY: the last 8 bytes of the mapped page hold priority and id;
    // the deadline would be in the hole.  Writes stay inside the page.
    unsafe {
        let p = page.add(size - 8);
        std::ptr::write_bytes(p, 0, 8);
        (p.add(4) as *mut u32).write_unaligned(1);
        f.err_is(
            "setscheduler CASIO block straddling an unmapped page",
            raw::sched_setscheduler(0, SCHED_CASIO, p as *const libc::c_void),
            Errno::EFAULT,
        );
        // The classic 4-byte struct sched_param at the very end of the page
        // is still fine for the old policies (ABI unchanged).
        let q = page.add(size - 4);
        (q as *mut i32).write_unaligned(0);
        f.ok(
            "setscheduler NORMAL with 4-byte param at end of page",
            raw::sched_setscheduler(0, SCHED_NORMAL, q as *const libc::c_void),
        );
        (q as *mut i32).write_unaligned(10);
        f.ok(
            "setscheduler FIFO 10 with 4-byte param at end of page",
            raw::sched_setscheduler(0, SCHED_FIFO, q as *const libc::c_void),
        );
        f.eq("getparam after FIFO 10", getparam(0), Ok(10));
        libc::munmap(page as *mut libc::c_void, size);
    }
    f.ok("back to NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    f.eq("getscheduler at end", getscheduler(0), Ok(SCHED_NORMAL));
    f.finish()
}
