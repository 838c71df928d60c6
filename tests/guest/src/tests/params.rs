//! Setting and reading CASIO parameters on oneself and on another task.

use casio_abi::{
    get_priority_max, get_priority_min, getattr, getparam, getscheduler, monotonic_ns, raw,
    rr_get_interval, set_casio, setattr, setscheduler, sleep_ns, SchedAttr, CASIO_MAX_PERIOD,
    SCHED_CASIO, SCHED_NORMAL,
};

use crate::common::checks::{sys, Fails};
use crate::common::proc::spawn;
use crate::common::shared::{shm_record, Shared, Slot};
use crate::common::work::JOIN_NS;
use crate::harness::TestResult;
use crate::{MS, SEC};

crate::tests! {
    roundtrip_self: "set CASIO on self via setscheduler/setattr; every getter reports it" => t_roundtrip_self,
    roundtrip_other: "same on another (sleeping) pid, incl. boundary values" => t_roundtrip_other,
}

/// `getparam` into a 16-byte buffer: the kernel must write exactly the
/// 4-byte `struct sched_param` (priority 0) and nothing beyond it.
fn getparam_writes_4_bytes(f: &mut Fails, pid: i32) {
    let mut buf = [0xAAu8; 16];
    // SAFETY: `buf` is 16 writable bytes; the kernel writes at most a
    // struct sched_param (4 bytes).
    let r = unsafe { raw::sched_getparam(pid, buf.as_mut_ptr() as *mut libc::c_void) };
    if f.ok("sched_getparam(16-byte buffer)", r).is_some() {
        f.eq(
            "sched_getparam priority bytes",
            &buf[..4],
            &[0u8, 0, 0, 0][..],
        );
        f.check(buf[4..].iter().all(|&b| b == 0xAA), || {
            format!(
                "sched_getparam wrote past the 4-byte struct sched_param: {:02x?}",
                &buf[4..]
            )
        });
    }
}

// ---------------------------------------------------------------------------
// a. round trips
// ---------------------------------------------------------------------------

fn t_roundtrip_self() -> TestResult {
    let mut f = Fails::default();
    sys(
        "sched_setscheduler(self, CASIO, D=50ms)",
        set_casio(0, 42, 50 * MS),
    )?;
    f.eq("getscheduler(self)", getscheduler(0), Ok(SCHED_CASIO));
    f.eq("getparam(self)", getparam(0), Ok(0));
    getparam_writes_4_bytes(&mut f, 0);
    f.attr(
        "getattr after setscheduler",
        getattr(0),
        SCHED_CASIO,
        0,
        50 * MS,
        50 * MS,
        50 * MS,
        0,
    );
    f.eq("rr_get_interval(self)", rr_get_interval(0), Ok((0, 0)));
    f.eq(
        "sched_get_priority_min(8)",
        get_priority_min(SCHED_CASIO),
        Ok(0),
    );
    f.eq(
        "sched_get_priority_max(8)",
        get_priority_max(SCHED_CASIO),
        Ok(0),
    );

    // New parameters while already CASIO, via the setscheduler block.
    if f.ok("setscheduler CASIO D=20ms", set_casio(0, 43, 20 * MS))
        .is_some()
    {
        f.attr(
            "getattr after 2nd setscheduler",
            getattr(0),
            SCHED_CASIO,
            0,
            20 * MS,
            20 * MS,
            20 * MS,
            0,
        );
    }
    // Explicit C < D < T via setattr.
    if f.ok(
        "setattr CASIO 5/20/40ms",
        setattr(0, &SchedAttr::casio(5 * MS, 20 * MS, 40 * MS), 0),
    )
    .is_some()
    {
        f.eq(
            "getscheduler after setattr",
            getscheduler(0),
            Ok(SCHED_CASIO),
        );
        f.attr(
            "getattr after setattr 5/20/40",
            getattr(0),
            SCHED_CASIO,
            0,
            5 * MS,
            20 * MS,
            40 * MS,
            0,
        );
        f.eq("getparam after setattr", getparam(0), Ok(0));
    }
    // Period 0 resolves to the deadline.
    if f.ok(
        "setattr CASIO 2/30/0ms",
        setattr(0, &SchedAttr::casio(2 * MS, 30 * MS, 0), 0),
    )
    .is_some()
    {
        f.attr(
            "getattr after setattr period 0",
            getattr(0),
            SCHED_CASIO,
            0,
            2 * MS,
            30 * MS,
            30 * MS,
            0,
        );
    }
    // Back to SCHED_NORMAL and in again with setattr.
    sys(
        "setscheduler(self, NORMAL)",
        setscheduler(0, SCHED_NORMAL, 0),
    )?;
    f.eq(
        "getscheduler after NORMAL",
        getscheduler(0),
        Ok(SCHED_NORMAL),
    );
    f.attr(
        "getattr after NORMAL",
        getattr(0),
        SCHED_NORMAL,
        0,
        0,
        0,
        0,
        0,
    );
    if f.ok(
        "setattr NORMAL -> CASIO 10/10/100ms",
        setattr(0, &SchedAttr::casio(10 * MS, 10 * MS, 100 * MS), 0),
    )
    .is_some()
    {
        f.eq(
            "getscheduler after setattr from NORMAL",
            getscheduler(0),
            Ok(SCHED_CASIO),
        );
        f.attr(
            "getattr after setattr from NORMAL",
            getattr(0),
            SCHED_CASIO,
            0,
            10 * MS,
            10 * MS,
            100 * MS,
            0,
        );
        f.eq(
            "rr_get_interval after setattr",
            rr_get_interval(0),
            Ok((0, 0)),
        );
    }
    sys(
        "setscheduler(self, NORMAL)",
        setscheduler(0, SCHED_NORMAL, 0),
    )?;
    f.finish()
}

shm_record! {
    /// What the sleeping child of `roundtrip_other` sees of itself.
    struct OwnView {
        stop: Slot,
        /// The parent asks for the report.
        report_now: Slot,
        /// Its own getscheduler() + 1, and getattr() deadline.
        policy_plus_1: Slot,
        deadline: Slot,
        reported: Slot,
    }
}

fn t_roundtrip_other() -> TestResult {
    let shm = Shared::<OwnView>::one()?;
    let own = shm.rec();
    let mut child = spawn("sleeper", || {
        let deadline = monotonic_ns() + 20 * SEC;
        let mut reported = false;
        while own.stop.get() == 0 && monotonic_ns() < deadline {
            if !reported && own.report_now.get() != 0 {
                own.policy_plus_1
                    .set((getscheduler(0).unwrap_or(-1) + 1) as u64);
                own.deadline
                    .set(getattr(0).map(|a| a.sched_deadline).unwrap_or(0));
                own.reported.set(1);
                reported = true;
            }
            sleep_ns(10 * MS);
        }
        Ok(())
    })?;
    let pid = child.pid();
    let mut f = Fails::default();

    sys(
        "sched_setscheduler(child, CASIO, D=80ms)",
        set_casio(pid, 7, 80 * MS),
    )?;
    f.eq("getscheduler(child)", getscheduler(pid), Ok(SCHED_CASIO));
    f.eq("getparam(child)", getparam(pid), Ok(0));
    getparam_writes_4_bytes(&mut f, pid);
    f.attr(
        "getattr(child)",
        getattr(pid),
        SCHED_CASIO,
        0,
        80 * MS,
        80 * MS,
        80 * MS,
        0,
    );
    f.eq("rr_get_interval(child)", rr_get_interval(pid), Ok((0, 0)));

    own.report_now.set(1);
    if own.reported.wait_nonzero(5 * SEC, 2 * MS).is_some() {
        f.eq(
            "child's own getscheduler",
            own.policy_plus_1.get() as i64 - 1,
            SCHED_CASIO as i64,
        );
        f.eq("child's own getattr deadline", own.deadline.get(), 80 * MS);
    } else {
        f.push("child did not report its own policy".into());
    }

    let cases = [
        ("3/60/120ms", 3 * MS, 60 * MS, 120 * MS, 120 * MS),
        ("min C=1024, D=T=100us", 1024, 100_000, 100_000, 100_000),
        ("C=D=1024, T=100us", 1024, 1024, 100_000, 100_000),
        (
            "max T",
            10 * MS,
            100 * MS,
            CASIO_MAX_PERIOD,
            CASIO_MAX_PERIOD,
        ),
        (
            "D=T=max, T=0",
            10 * MS,
            CASIO_MAX_PERIOD,
            0,
            CASIO_MAX_PERIOD,
        ),
        ("C=D=T=40ms", 40 * MS, 40 * MS, 40 * MS, 40 * MS),
    ];
    for (name, c, d, t, t_resolved) in cases {
        let what = format!("setattr(child, {name})");
        if f.ok(&what, setattr(pid, &SchedAttr::casio(c, d, t), 0))
            .is_some()
        {
            f.attr(
                &format!("getattr(child) after {name}"),
                getattr(pid),
                SCHED_CASIO,
                0,
                c,
                d,
                t_resolved,
                0,
            );
        }
    }
    if f.ok(
        "setscheduler(child, CASIO, D=max)",
        set_casio(pid, 8, CASIO_MAX_PERIOD),
    )
    .is_some()
    {
        f.attr(
            "getattr(child) after setscheduler D=max",
            getattr(pid),
            SCHED_CASIO,
            0,
            CASIO_MAX_PERIOD,
            CASIO_MAX_PERIOD,
            CASIO_MAX_PERIOD,
            0,
        );
    }
    if f.ok(
        "setscheduler(child, NORMAL)",
        setscheduler(pid, SCHED_NORMAL, 0),
    )
    .is_some()
    {
        f.eq(
            "getscheduler(child) after NORMAL",
            getscheduler(pid),
            Ok(SCHED_NORMAL),
        );
    }
    own.stop.set(1);
    if let Err(e) = child.join(JOIN_NS) {
        f.push(e);
    }
    f.finish()
}
