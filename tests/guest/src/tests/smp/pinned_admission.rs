//! Admission control per CPU for pinned tasks.

use casio_abi::{
    get_affinity, getscheduler, monotonic_ns, set_affinity_cpus, setattr, sleep_ns, Errno,
    SchedAttr, SCHED_CASIO, SCHED_NORMAL,
};
use casio_testkit::sysctl::Restore;

use crate::common::bw::{read_bw, read_pinned_bw};
use crate::common::checks::{sys, Fails};
use crate::common::cpus::{offline, online, set_aff, setup, OnlineGuard};
use crate::common::kernel::CASIO_RUNTIME_PATH;
use crate::common::proc::spawn;
use crate::common::shared::{Shared, Slot};
use crate::common::stats::read_stat;
use crate::common::work::{sleeper, write_errno};
use crate::harness::TestResult;
use crate::{MS, SEC};

crate::tests! {
    smp_pinned_admission: "admission per CPU for pinned CASIO tasks: setattr, setaffinity, fork, cap, hotplug" => t_pinned_admission,
}

// ---------------------------------------------------------------------------
// smp_pinned_admission
// ---------------------------------------------------------------------------

fn t_pinned_admission() -> TestResult {
    let cx = setup()?;
    let _guard = OnlineGuard;
    let _cap = Restore::set(CASIO_RUNTIME_PATH, "950000")?;
    let _per = Restore::set("/proc/sys/kernel/sched_casio_period_us", "1000000")?;
    let (total0, _, unit) = read_bw()?;
    let mut f = Fails::default();
    f.eq("total_bw with no CASIO task", total0, 0);
    let pinned0 = read_pinned_bw()?;
    f.eq(
        "pinned_bw with no CASIO task",
        pinned0.clone(),
        vec![0; pinned0.len()],
    );
    let (a, b) = (cx.work[0], cx.work[1]);
    let all: Vec<usize> = (0..cx.n).collect();
    // C/T of c ms per 100 ms, as the kernel's to_ratio() computes it.
    let share = |c: u64| (c * MS * unit) / (100 * MS);
    let attr = |c: u64| SchedAttr::casio(c * MS, 100 * MS, 100 * MS);
    let pinned = |cpu: usize| -> Result<u64, String> {
        read_pinned_bw()?
            .get(cpu)
            .copied()
            .ok_or_else(|| format!("no pinned_bw for CPU {cpu}"))
    };
    let mut kids = Vec::new();
    for l in ["s0", "s1", "s2"] {
        kids.push(sleeper(l)?);
    }
    let (s0, s1, s2) = (kids[0].pid(), kids[1].pid(), kids[2].pid());

    // Two tasks pinned to one CPU: 60% + 50% exceed its 95%, though the
    // sum fits all CPUs.
    set_aff(s0, &[a], "s0")?;
    set_aff(s1, &[a], "s1")?;
    f.eq(
        "s0 60/100 pinned to CPU a",
        setattr(s0, &attr(60), 0),
        Ok(()),
    );
    f.eq("pinned_bw of CPU a", pinned(a)?, share(60));
    f.eq(
        "s1 50/100 pinned to the same CPU",
        setattr(s1, &attr(50), 0),
        Err(Errno::EBUSY),
    );
    f.eq("s1 stays SCHED_NORMAL", getscheduler(s1), Ok(SCHED_NORMAL));
    // Allowed on every CPU, it counts in the pool only.
    set_aff(s1, &all, "s1")?;
    f.eq("s1 50/100 on all CPUs", setattr(s1, &attr(50), 0), Ok(()));
    f.eq("pinned_bw of CPU a after s1", pinned(a)?, share(60));
    f.eq("total_bw s0 + s1", read_bw()?.0, share(60) + share(50));

    // sched_setaffinity() may not overfill a CPU, and then changes nothing.
    f.eq(
        "sched_setaffinity(s1, CPU a) with 60% pinned there",
        set_affinity_cpus(s1, &[a]),
        Err(Errno::EBUSY),
    );
    f.eq(
        "s1's affinity after the EBUSY",
        get_affinity(s1),
        Ok(all.clone()),
    );
    f.eq(
        "sched_setaffinity(s1, CPU b)",
        set_affinity_cpus(s1, &[b]),
        Ok(()),
    );
    f.eq("pinned_bw of CPU b", pinned(b)?, share(50));

    // A pinned task's own share is replaced, not added to.
    f.eq("s1 90/100 on CPU b", setattr(s1, &attr(90), 0), Ok(()));
    f.eq("pinned_bw of CPU b after 90/100", pinned(b)?, share(90));
    f.eq(
        "s1 96/100 on CPU b",
        setattr(s1, &attr(96), 0),
        Err(Errno::EBUSY),
    );
    f.eq(
        "s1 keeps 90/100",
        read_stat(s1)?.get("runtime_ns"),
        Ok(90 * MS),
    );

    // The cap may not fall below what one CPU holds.
    f.eq(
        "cap 80% with 90% pinned to CPU b",
        write_errno(CASIO_RUNTIME_PATH, "800000"),
        libc::EBUSY,
    );

    // A forked child is pinned like its parent and demoted if it does not
    // fit there.
    // The child's policy and CPU a's pinned_bw, seen by the forker.
    let seen = Shared::<Slot>::new(2)?;
    let mut forker = spawn("forker", || {
        sys("pin the forker", set_affinity_cpus(0, &[a]))?;
        sys("forker 20/100", setattr(0, &attr(20), 0))?;
        let child = spawn("forked", || loop {
            sleep_ns(SEC);
        })?;
        seen[0].set(getscheduler(child.pid()).unwrap_or(-1) as u64);
        seen[1].set(pinned(a)?);
        drop(child);
        Ok(())
    })?;
    forker.join(20 * SEC)?;
    f.eq(
        "child of a 20/100 task pinned with 60% (does not fit)",
        seen[0].get() as i32,
        SCHED_NORMAL,
    );
    f.eq(
        "pinned_bw of CPU a with the forker",
        seen[1].get(),
        share(80),
    );
    // A dead task gives its share back when it last switches out, which
    // may come just after its parent reaped it.
    let end = monotonic_ns() + SEC;
    while pinned(a)? != share(60) && monotonic_ns() < end {
        sleep_ns(10 * MS);
    }
    f.eq("pinned_bw of CPU a after the forker", pinned(a)?, share(60));

    // Unpinning frees the CPU's share.
    set_aff(s0, &all, "s0")?;
    f.eq("pinned_bw of CPU a with s0 unpinned", pinned(a)?, 0);
    f.eq(
        "total_bw with s0 unpinned",
        read_bw()?.0,
        share(60) + share(90),
    );
    set_aff(s0, &[a], "s0")?;
    f.eq(
        "pinned_bw of CPU a with s0 pinned again",
        pinned(a)?,
        share(60),
    );

    // A CPU going offline breaks the affinity of the tasks pinned to it
    // (at their next wake-up); their share goes to the pool.
    set_aff(s2, &[b], "s2")?;
    f.eq("s2 5/100 on CPU b", setattr(s2, &attr(5), 0), Ok(()));
    match offline(b, 3 * SEC) {
        Ok(_) => {
            let end = monotonic_ns() + 3 * SEC;
            while pinned(b)? != 0 && monotonic_ns() < end {
                sleep_ns(50 * MS);
            }
            f.eq("pinned_bw of CPU b offline", pinned(b)?, 0);
            f.eq(
                "total_bw with CPU b offline",
                read_bw()?.0,
                share(60) + share(90) + share(5),
            );
            for (pid, who) in [(s1, "s1"), (s2, "s2")] {
                f.eq(
                    &format!("{who} still CASIO"),
                    getscheduler(pid),
                    Ok(SCHED_CASIO),
                );
                match get_affinity(pid) {
                    Ok(m) => f.check(m.len() > 1, || {
                        format!("{who}'s affinity {m:?} after its CPU went offline")
                    }),
                    Err(e) => f.push(format!("{who}'s affinity: {e}")),
                }
            }
            online(b)?;
        }
        Err(e) => f.push(e),
    }

    drop(kids);
    let end = monotonic_ns() + 2 * SEC;
    while read_bw()?.0 != 0 && monotonic_ns() < end {
        sleep_ns(20 * MS);
    }
    f.eq("total_bw after every task exited", read_bw()?.0, 0);
    let p = read_pinned_bw()?;
    f.eq(
        "pinned_bw after every task exited",
        p.clone(),
        vec![0; p.len()],
    );
    f.finish()
}
