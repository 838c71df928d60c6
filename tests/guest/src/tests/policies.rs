//! The other policies, fork and `nr_running` next to CASIO.

use casio_abi::{
    get_priority_max, get_priority_min, getattr, getparam, getscheduler, monotonic_ns, policy_name,
    rr_get_interval, set_casio, set_casio_param, setattr, setscheduler, sleep_ns, sleep_until_ns,
    Errno, SchedAttr, SchedCasioParam, SCHED_BATCH, SCHED_CASIO, SCHED_DEADLINE, SCHED_FIFO,
    SCHED_FLAG_RESET_ON_FORK, SCHED_IDLE, SCHED_NORMAL, SCHED_RESET_ON_FORK, SCHED_RR,
};

use crate::common::checks::{sys, Fails};
use crate::common::kernel;
use crate::common::kernel::has_sched_ext_policy;
use crate::common::proc::{join_all, spawn, wait_for, wait_for_all};
use crate::common::shared::{wait_t0, Release, Shared};
use crate::common::work::{pin_harness, pin_work, JOIN_NS};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    legacy_policies: "NORMAL/FIFO/RR/BATCH/IDLE/DEADLINE behave as before" => t_legacy_policies,
    fork_inherit: "child of a CASIO task is CASIO with the same params" => t_fork_inherit,
    reset_on_fork: "RESET_ON_FORK (flag or policy bit) makes the child SCHED_NORMAL" => t_reset_on_fork,
    nr_running: "procs_running counts runnable CASIO tasks and drops back" => t_nr_running,
}

// ---------------------------------------------------------------------------
// g. existing policies
// ---------------------------------------------------------------------------

fn t_legacy_policies() -> TestResult {
    let mut f = Fails::default();
    let table = [
        (SCHED_NORMAL, 0, 0),
        (SCHED_FIFO, 1, 99),
        (SCHED_RR, 1, 99),
        (SCHED_BATCH, 0, 0),
        (SCHED_IDLE, 0, 0),
        (SCHED_DEADLINE, 0, 0),
        (SCHED_CASIO, 0, 0),
    ];
    for (pol, min, max) in table {
        f.eq(
            &format!("sched_get_priority_min({pol})"),
            get_priority_min(pol),
            Ok(min),
        );
        f.eq(
            &format!("sched_get_priority_max({pol})"),
            get_priority_max(pol),
            Ok(max),
        );
    }
    for pol in [4, 7, 9] {
        if pol == 7 && has_sched_ext_policy() {
            f.eq("sched_get_priority_min(7)", get_priority_min(pol), Ok(0));
            continue;
        }
        f.err_is(
            &format!("sched_get_priority_min({pol})"),
            get_priority_min(pol),
            Errno::EINVAL,
        );
    }

    // FIFO.
    if f.ok("setscheduler FIFO 10", setscheduler(0, SCHED_FIFO, 10))
        .is_some()
    {
        f.eq("getscheduler FIFO", getscheduler(0), Ok(SCHED_FIFO));
        f.eq("getparam FIFO", getparam(0), Ok(10));
        f.attr("getattr FIFO 10", getattr(0), SCHED_FIFO, 10, 0, 0, 0, 0);
        f.eq("rr_get_interval FIFO", rr_get_interval(0), Ok((0, 0)));
    }
    if f.ok(
        "setattr FIFO 50",
        setattr(0, &SchedAttr::rt(SCHED_FIFO, 50), 0),
    )
    .is_some()
    {
        f.eq("getparam FIFO 50", getparam(0), Ok(50));
    }
    // RR.
    if f.ok("setscheduler RR 20", setscheduler(0, SCHED_RR, 20))
        .is_some()
    {
        f.eq("getscheduler RR", getscheduler(0), Ok(SCHED_RR));
        f.eq("getparam RR", getparam(0), Ok(20));
        f.attr("getattr RR 20", getattr(0), SCHED_RR, 20, 0, 0, 0, 0);
        match rr_get_interval(0) {
            Ok((s, ns)) => f.check(s > 0 || ns > 0, || "rr_get_interval RR returned 0".into()),
            Err(e) => f.push(format!("rr_get_interval RR: {e}")),
        }
    }
    // NORMAL with nice, BATCH, IDLE.
    for (pol, nice) in [(SCHED_NORMAL, -3), (SCHED_BATCH, 5), (SCHED_NORMAL, 0)] {
        let a = SchedAttr {
            sched_nice: nice,
            ..SchedAttr::new(pol)
        };
        let what = format!("setattr {} nice {nice}", policy_name(pol));
        if f.ok(&what, setattr(0, &a, 0)).is_some() {
            f.eq(
                &format!("getscheduler after {what}"),
                getscheduler(0),
                Ok(pol),
            );
            if let Some(g) = f.ok(&format!("getattr after {what}"), getattr(0)) {
                f.eq(
                    &format!("getattr (policy, nice) after {what}"),
                    (g.sched_policy, g.sched_nice),
                    (pol as u32, nice),
                );
            }
        }
    }
    for pol in [SCHED_BATCH, SCHED_IDLE, SCHED_NORMAL] {
        let name = policy_name(pol);
        if f.ok(&format!("setscheduler {name}"), setscheduler(0, pol, 0))
            .is_some()
        {
            f.eq(&format!("getscheduler {name}"), getscheduler(0), Ok(pol));
            f.eq(&format!("getparam {name}"), getparam(0), Ok(0));
        }
    }
    // DEADLINE (needs our affinity to span the root domain: the harness
    // reset it to all CPUs).
    if f.ok(
        "setattr DEADLINE 10/30/100ms",
        setattr(0, &SchedAttr::deadline(10 * MS, 30 * MS, 100 * MS), 0),
    )
    .is_some()
    {
        f.eq("getscheduler DEADLINE", getscheduler(0), Ok(SCHED_DEADLINE));
        f.eq("getparam DEADLINE", getparam(0), Ok(0));
        f.attr(
            "getattr DEADLINE",
            getattr(0),
            SCHED_DEADLINE,
            0,
            10 * MS,
            30 * MS,
            100 * MS,
            0,
        );
        f.ok("DEADLINE -> NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    }
    // Classic errors.
    f.err_is("FIFO prio 0", setscheduler(0, SCHED_FIFO, 0), Errno::EINVAL);
    f.err_is(
        "FIFO prio 100",
        setscheduler(0, SCHED_FIFO, 100),
        Errno::EINVAL,
    );
    f.err_is(
        "NORMAL prio 1",
        setscheduler(0, SCHED_NORMAL, 1),
        Errno::EINVAL,
    );
    f.err_is(
        "DEADLINE runtime > deadline",
        setattr(0, &SchedAttr::deadline(50 * MS, 30 * MS, 100 * MS), 0),
        Errno::EINVAL,
    );
    f.eq("getscheduler at end", getscheduler(0), Ok(SCHED_NORMAL));
    f.finish()
}

// ---------------------------------------------------------------------------
// h. fork
// ---------------------------------------------------------------------------

/// Fork a child that checks its own policy with `check` and then waits
/// (sleeping) for the stop slot, so the parent can inspect it too.
fn fork_and_check<F>(
    label: &str,
    check: F,
    parent_check: impl FnOnce(i32) -> TestResult,
) -> TestResult
where
    F: FnOnce() -> TestResult,
{
    // `ready`: the child checked itself; `stop`: it may exit.
    let shm = Shared::<Release>::one()?;
    let rel = shm.rec();
    let mut c = spawn(label, || {
        let r = check();
        rel.ready.set(1);
        r?;
        rel.stop.wait_nonzero(10 * SEC, 5 * MS);
        Ok(())
    })?;
    wait_for(label, &mut [&mut c], 10 * SEC, || rel.ready.get() != 0)?;
    let r = parent_check(c.pid());
    rel.stop.set(1);
    let j = c.join(JOIN_NS);
    j.and(r)
}

fn t_fork_inherit() -> TestResult {
    let mut f = Fails::default();
    let (c, d, t) = (20 * MS, 50 * MS, 200 * MS);
    sys(
        "setattr CASIO 20/50/200ms",
        setattr(0, &SchedAttr::casio(c, d, t), 0),
    )?;
    let r = fork_and_check(
        "child of setattr CASIO task",
        || {
            let mut f = Fails::default();
            f.eq("child getscheduler", getscheduler(0), Ok(SCHED_CASIO));
            f.eq("child getparam", getparam(0), Ok(0));
            f.attr("child getattr", getattr(0), SCHED_CASIO, 0, c, d, t, 0);
            f.finish()
        },
        |pid| {
            let mut f = Fails::default();
            f.eq("getscheduler(child)", getscheduler(pid), Ok(SCHED_CASIO));
            f.attr("getattr(child)", getattr(pid), SCHED_CASIO, 0, c, d, t, 0);
            f.finish()
        },
    );
    if let Err(e) = r {
        f.push(e);
    }
    sys("setscheduler CASIO D=70ms", set_casio(0, 5, 70 * MS))?;
    let r = fork_and_check(
        "child of setscheduler CASIO task",
        || {
            let mut f = Fails::default();
            f.eq("child getscheduler", getscheduler(0), Ok(SCHED_CASIO));
            f.attr(
                "child getattr",
                getattr(0),
                SCHED_CASIO,
                0,
                70 * MS,
                70 * MS,
                70 * MS,
                0,
            );
            f.finish()
        },
        |_| Ok(()),
    );
    if let Err(e) = r {
        f.push(e);
    }
    f.ok("back to NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    f.finish()
}

fn child_is_normal() -> TestResult {
    let mut f = Fails::default();
    f.eq("child getscheduler", getscheduler(0), Ok(SCHED_NORMAL));
    f.eq("child getparam", getparam(0), Ok(0));
    f.attr("child getattr", getattr(0), SCHED_NORMAL, 0, 0, 0, 0, 0);
    f.finish()
}

fn parent_sees_normal(pid: i32) -> TestResult {
    let mut f = Fails::default();
    f.eq("getscheduler(child)", getscheduler(pid), Ok(SCHED_NORMAL));
    f.finish()
}

fn t_reset_on_fork() -> TestResult {
    let mut f = Fails::default();
    let rof = SCHED_RESET_ON_FORK;

    // 1. sched_setattr with SCHED_FLAG_RESET_ON_FORK.
    let a = SchedAttr {
        sched_flags: SCHED_FLAG_RESET_ON_FORK,
        ..SchedAttr::casio(20 * MS, 50 * MS, 100 * MS)
    };
    sys(
        "setattr CASIO + SCHED_FLAG_RESET_ON_FORK",
        setattr(0, &a, 0),
    )?;
    f.eq(
        "getscheduler (flag)",
        getscheduler(0),
        Ok(SCHED_CASIO | rof),
    );
    f.attr(
        "getattr (flag)",
        getattr(0),
        SCHED_CASIO,
        0,
        20 * MS,
        50 * MS,
        100 * MS,
        SCHED_FLAG_RESET_ON_FORK,
    );
    if let Err(e) = fork_and_check("child (setattr flag)", child_is_normal, parent_sees_normal) {
        f.push(format!("setattr flag: {e}"));
    }

    // 2. sched_setscheduler with policy | SCHED_RESET_ON_FORK.
    sys(
        "setscheduler CASIO|RESET_ON_FORK D=40ms",
        set_casio_param(0, SCHED_CASIO | rof, &SchedCasioParam::new(3, 40 * MS)),
    )?;
    f.eq(
        "getscheduler (policy bit)",
        getscheduler(0),
        Ok(SCHED_CASIO | rof),
    );
    f.attr(
        "getattr (policy bit)",
        getattr(0),
        SCHED_CASIO,
        0,
        40 * MS,
        40 * MS,
        40 * MS,
        SCHED_FLAG_RESET_ON_FORK,
    );
    if let Err(e) = fork_and_check("child (policy bit)", child_is_normal, parent_sees_normal) {
        f.push(format!("policy bit: {e}"));
    }

    // 3. Setting the policy again without the bit clears it.
    sys("setscheduler CASIO D=40ms", set_casio(0, 3, 40 * MS))?;
    f.eq(
        "getscheduler (bit cleared)",
        getscheduler(0),
        Ok(SCHED_CASIO),
    );
    if let Err(e) = fork_and_check(
        "child (bit cleared)",
        || {
            let mut f = Fails::default();
            f.eq("child getscheduler", getscheduler(0), Ok(SCHED_CASIO));
            f.finish()
        },
        |_| Ok(()),
    ) {
        f.push(format!("bit cleared: {e}"));
    }
    f.ok("back to NORMAL", setscheduler(0, SCHED_NORMAL, 0));
    f.finish()
}

// ---------------------------------------------------------------------------
// i. nr_running
// ---------------------------------------------------------------------------

fn median(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v[v.len() / 2]
}

fn t_nr_running() -> TestResult {
    const K: usize = 3;
    pin_harness();
    let shm = Shared::<Release>::one()?;
    let rel = shm.rec();
    let mut before = Vec::new();
    for _ in 0..5 {
        before.push(kernel::procs_running()?);
        sleep_ns(20 * MS);
    }
    let before = median(&before);
    let mut kids = Vec::new();
    for k in 0..K {
        kids.push(spawn(&format!("casio spinner {k}"), move || {
            pin_work()?;
            sys("set_casio D=4s", set_casio(0, k as u32, 4 * SEC))?;
            rel.ready.add(1);
            let t0 = wait_t0(&rel.t0)?;
            sleep_until_ns(t0);
            let end = t0 + 8 * SEC;
            while rel.stop.get() == 0 && monotonic_ns() < end {
                std::hint::spin_loop();
            }
            Ok(())
        })?);
    }
    wait_for_all("casio spinners ready", &mut kids, 10 * SEC, || {
        rel.ready.get() >= K as u64
    })?;
    let t0 = monotonic_ns() + 200 * MS;
    rel.t0.set(t0);
    sleep_until_ns(t0 + 300 * MS);
    let mut during = Vec::new();
    let mut during_la = Vec::new();
    for _ in 0..10 {
        during.push(kernel::procs_running()?);
        during_la.push(kernel::loadavg_running().unwrap_or(0));
        sleep_ns(50 * MS);
    }
    rel.stop.set(1);
    join_all(&mut kids, JOIN_NS)?;
    sleep_ns(300 * MS);
    let mut after = Vec::new();
    for _ in 0..5 {
        after.push(kernel::procs_running()?);
        sleep_ns(50 * MS);
    }
    diag!(
        "procs_running before {before}, during {during:?} (loadavg {during_la:?}), after {after:?}"
    );
    let dmin = *during.iter().min().unwrap();
    let dmax = *during.iter().max().unwrap();
    let dmed = median(&during);
    let amed = median(&after);
    let k = K as u64;
    let mut f = Fails::default();
    f.check(dmin >= k, || {
        format!("procs_running {dmin} < {K} while {K} CASIO tasks were runnable")
    });
    f.check(dmed + 1 >= amed + k, || {
        format!(
            "procs_running rose only from {amed} (after) to {dmed} (during, medians) with {K} runnable CASIO tasks"
        )
    });
    f.check(dmax <= before + k + 16, || {
        format!("procs_running {dmax} implausibly high while {K} CASIO tasks ran")
    });
    f.check(amed <= before + 1, || {
        format!("procs_running did not drop back after the CASIO tasks exited: {amed} (before: {before})")
    });
    f.finish()
}
