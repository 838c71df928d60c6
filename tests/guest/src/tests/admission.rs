//! Admission control under the CASIO cap.

use casio_abi::{
    getscheduler, online_cpus, set_affinity_cpus, set_casio, setattr, sleep_ns, Errno, SchedAttr,
    SCHED_CASIO, SCHED_NORMAL,
};

use crate::common::bw::{bw_settles, read_bw, share, CASIO_RUNTIME_SYSCTL};
use crate::common::checks::{sys, Fails};
use crate::common::proc::{spawn, Child};
use crate::common::shared::{shm_record, Shared, Slot};
use crate::common::stats::read_stat;
use crate::common::work::{pin_harness, sleeper, write_errno, JOIN_NS};
use crate::harness::TestResult;
use crate::{MS, SEC};

crate::tests! {
    admission_control: "cap on: EBUSY past it, share freed on leave/exit, fork demoted when full" => t_admission_control,
}

// ---------------------------------------------------------------------------
// 7. admission_control
// ---------------------------------------------------------------------------

shm_record! {
    /// What the forker of `admission_control` saw.
    struct ForkReport {
        /// The policies of its two children.
        child_policy: [Slot; 2],
        /// total_bw with it and its CASIO child.
        total_bw: Slot,
    }
}

fn t_admission_control() -> TestResult {
    pin_harness();
    let mut f = Fails::default();
    let _restore = casio_testkit::sysctl::Restore::save(CASIO_RUNTIME_SYSCTL)?;
    let (total0, cap0, unit) = read_bw()?;
    let ncpu = online_cpus() as u64;
    // The default cap: 950000 of 1000000 us on every online CPU, as the
    // kernel's to_ratio() rounds it.
    f.eq(
        "cap_bw by default (95% of each CPU)",
        cap0,
        ((950_000 * unit / 1_000_000) * ncpu) as i64,
    );
    f.eq("total_bw with no CASIO task", total0, 0);

    // A cap of one whole CPU in all: runtime = period / ncpus.
    let runtime_us = 1_000_000 / ncpu;
    match write_errno(CASIO_RUNTIME_SYSCTL, &runtime_us.to_string()) {
        0 => {}
        e => return Err(format!("enable admission control: errno {e}")),
    }
    let (_, cap, _) = read_bw()?;
    f.check(
        cap > 0 && (cap as u64) <= unit && (cap as u64) > unit * 99 / 100,
        || format!("cap_bw {cap} should be one CPU ({unit})"),
    );

    // The tasks may run on every CPU, unlike the pinned harness, so that
    // only the sum over all CPUs counts (smp_pinned_admission tests the
    // share of a CPU).
    let all: Vec<usize> = (0..online_cpus()).collect();
    let mut kids = Vec::new();
    for l in ["a", "b", "c", "forker"] {
        let k = sleeper(l)?;
        sys("unpin", set_affinity_cpus(k.pid(), &all))?;
        kids.push(k);
    }
    let pid = |i: usize, kids: &Vec<Child>| kids[i].pid();
    let attr = |c: u64| SchedAttr::casio(c * MS, 100 * MS, 100 * MS);

    f.eq("a 60/100", setattr(pid(0, &kids), &attr(60), 0), Ok(()));
    f.eq(
        "b 50/100 past the cap",
        setattr(pid(1, &kids), &attr(50), 0),
        Err(Errno::EBUSY),
    );
    f.eq(
        "b stays SCHED_NORMAL",
        getscheduler(pid(1, &kids)),
        Ok(SCHED_NORMAL),
    );
    f.eq(
        "b 20/100 fits",
        setattr(pid(1, &kids), &attr(20), 0),
        Ok(()),
    );
    f.eq(
        "total_bw a + b",
        read_bw()?.0,
        share(60, unit) + share(20, unit),
    );
    f.eq(
        "cap below the admitted total",
        write_errno(CASIO_RUNTIME_SYSCTL, "100000"),
        libc::EBUSY,
    );
    f.eq(
        "c 40/100 past the cap",
        setattr(pid(2, &kids), &attr(40), 0),
        Err(Errno::EBUSY),
    );
    // The sched_setscheduler() interface declares only a deadline, so the
    // task reserves nothing and is admitted even now.
    let total_full = read_bw()?.0;
    f.eq(
        "legacy sched_setscheduler(CASIO, 100ms) with the cap full",
        set_casio(pid(3, &kids), 7, 100 * MS),
        Ok(()),
    );
    f.eq("total_bw after the legacy task", read_bw()?.0, total_full);
    match read_stat(pid(3, &kids)) {
        Ok(s) => f.eq("legacy task reserved", s.n("reserved"), 0),
        Err(e) => f.push(format!("legacy task's stats: {e}")),
    }
    // a leaves the class: its share is free again.
    f.eq(
        "a to SCHED_NORMAL",
        setattr(pid(0, &kids), &SchedAttr::new(SCHED_NORMAL), 0),
        Ok(()),
    );
    f.eq(
        "c 40/100 after a left",
        setattr(pid(2, &kids), &attr(40), 0),
        Ok(()),
    );
    f.eq(
        "total_bw b + c",
        read_bw()?.0,
        share(20, unit) + share(40, unit),
    );
    drop(kids.remove(3));

    // A CASIO task of 15/100 forks twice: the first child fits (0.9), the
    // second (1.05) does not and starts as SCHED_NORMAL.
    let shm = Shared::<ForkReport>::one()?;
    let rep = shm.rec();
    let forker = spawn("forker", || {
        sys("unpin the forker", set_affinity_cpus(0, &all))?;
        sys("forker 15/100", setattr(0, &attr(15), 0))?;
        let mut grandkids = Vec::new();
        for i in 0..2 {
            let child = spawn("forked", || loop {
                sleep_ns(SEC);
            })?;
            rep.child_policy[i].set(getscheduler(child.pid()).unwrap_or(-1) as u64);
            grandkids.push(child);
        }
        rep.total_bw.set(read_bw()?.0);
        for mut g in grandkids {
            g.kill();
        }
        Ok(())
    })?;
    let mut forker = forker;
    forker.join(JOIN_NS)?;
    f.eq(
        "first forked child (fits)",
        rep.child_policy[0].get() as i32,
        SCHED_CASIO,
    );
    f.eq(
        "second forked child (does not fit)",
        rep.child_policy[1].get() as i32,
        SCHED_NORMAL,
    );
    f.eq(
        "total_bw with the forker and its CASIO child",
        rep.total_bw.get(),
        share(20, unit) + share(40, unit) + 2 * share(15, unit),
    );
    f.eq(
        "total_bw after the forker's exit",
        bw_settles(share(20, unit) + share(40, unit))?,
        share(20, unit) + share(40, unit),
    );

    for mut k in kids {
        k.kill();
    }
    f.eq("total_bw after every CASIO task exited", bw_settles(0)?, 0);
    f.finish()
}
