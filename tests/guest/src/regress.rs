//! Regression tests of the failures `casio-fuzz` found: the smallest
//! sequence of operations that showed each one. See the README's
//! reliability section.

use casio_abi::{
    getattr, monotonic_ns, setattr, setscheduler, sleep_ns, Errno, SchedAttr, SCHED_CASIO,
    SCHED_FIFO, SCHED_FLAG_CASIO_BUDGET, SCHED_NORMAL,
};
use casio_testkit::sysctl::Restore;

use casio_testkit::shm::{Shared, Slot};
use casio_testkit::shm_record;

use crate::common::bw::{read_bw, read_pinned_bw};
use crate::common::checks::{ms, sys, Fails};
use crate::common::cpus::{
    cpu_ns, last_cpu, offline, online, set_aff, set_cpu_online, setup, OnlineGuard,
};
use crate::common::kernel::CASIO_RUNTIME_PATH;
use crate::common::proc::{flush_stdio, spawn};
use crate::common::work::{sleeper, spin_until};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

/// A task that spins until killed.
fn spin_forever() -> Result<(), String> {
    loop {
        spin_until(monotonic_ns() + SEC);
    }
}

/// SCHED_CASIO and SCHED_FIFO 99 have the same priority, 0. The core
/// keeps a task in place (DEQUEUE_SAVE without DEQUEUE_MOVE) when a
/// policy change leaves the effective priority as it was, which is only
/// right while the class stays: a queued task switched between the two
/// stayed on the RT priority list of the class it left, or was counted
/// by RT without being on its list, and the next RT push, pull or pick
/// crashed. Switches a queued, migratable task back and forth next to
/// RT tasks that make the CPU RT-overloaded.
pub(crate) fn t_same_prio_class_switch() -> TestResult {
    let cx = setup()?;
    let (x, y) = (cx.work[0], cx.work[1]);
    let mut f = Fails::default();
    // On x: a CASIO task with the earliest deadline, so that the others
    // stay queued; two FIFO tasks that may also run on y make x
    // RT-overloaded, so that RT pushes and pulls go on meanwhile.
    let blocker = spawn("CASIO blocker", spin_forever)?;
    set_aff(blocker.pid(), &[x], "blocker")?;
    sys(
        "blocker CASIO 5/10 ms",
        setattr(
            blocker.pid(),
            &SchedAttr::casio(5 * MS, 10 * MS, 10 * MS),
            0,
        ),
    )?;
    let mut rt = vec![];
    for prio in [40, 60] {
        let r = spawn("FIFO spinner", spin_forever)?;
        set_aff(r.pid(), &[x, y], "FIFO spinner")?;
        sys(
            "FIFO spinner",
            casio_abi::setscheduler(r.pid(), SCHED_FIFO, prio),
        )?;
        rt.push(r);
    }
    let v = spawn("switched task", spin_forever)?;
    set_aff(v.pid(), &[x, y], "switched task")?;
    let casio = SchedAttr::casio(MS, 100 * MS, 100 * MS);
    let fifo99 = SchedAttr::rt(SCHED_FIFO, 99);
    for i in 0..300 {
        let (what, a) = if i % 2 == 0 {
            ("SCHED_CASIO", &casio)
        } else {
            ("SCHED_FIFO 99", &fifo99)
        };
        if let Err(e) = setattr(v.pid(), a, 0) {
            f.push(format!("switch {i} to {what}: {e}"));
            break;
        }
        if i % 50 == 0 {
            sleep_ns(MS);
        }
    }
    f.eq(
        "policy after the switches",
        getattr(v.pid()).map(|a| a.sched_policy as i32),
        Ok(SCHED_FIFO),
    );
    // Every task still runs: the RT class still picks its tasks.
    let before: Vec<u64> = [&blocker, &v, &rt[0], &rt[1]]
        .iter()
        .map(|c| cpu_ns(c.pid()).unwrap_or(0))
        .collect();
    sys(
        "blocker SCHED_NORMAL",
        setattr(blocker.pid(), &SchedAttr::new(SCHED_NORMAL), 0),
    )?;
    sleep_ns(300 * MS);
    // The RT tasks, by priority: FIFO 99, 60 and 40.
    let tasks = [(1, 99, &v), (3, 60, &rt[1]), (2, 40, &rt[0])];
    let mut ran = [0u64; 4];
    let mut cpu_of = [usize::MAX; 4];
    for (i, c) in [&blocker, &v, &rt[0], &rt[1]].iter().enumerate() {
        ran[i] = cpu_ns(c.pid())?.saturating_sub(before[i]);
        cpu_of[i] = last_cpu(c.pid())?;
        diag!(
            "task {i}: policy {:?}, on CPU {} (x {x}, y {y}), ran {:.1} ms in the last 300 ms",
            getattr(c.pid()).map(|a| a.sched_policy),
            cpu_of[i],
            ms(ran[i])
        );
    }
    // The RT class still picks its tasks: on each CPU the highest RT task
    // there runs. Which of FIFO 60 and 40 ends up beside FIFO 99 depends
    // on the pushes before: the RT class does not pull when x's task turns fair.
    for cpu in [x, y] {
        if let Some(&(i, prio, _)) = tasks.iter().find(|t| cpu_of[t.0] == cpu) {
            f.check(ran[i] > 0, || {
                format!("task {i} (FIFO {prio}), the highest RT task on CPU {cpu}, did not run after the switches")
            });
        }
    }
    f.check(ran[1] > 0, || {
        "the FIFO 99 task did not run after the switches".to_string()
    });
    f.finish()
}

/// A zombie (exited, not yet reaped) gave its bandwidth back when it last
/// switched out; a SCHED_CASIO `sched_setattr()` on it before it is
/// reaped reserved bandwidth that nothing gave back.
pub(crate) fn t_zombie_reserves_nothing() -> TestResult {
    let mut f = Fails::default();
    let (total0, _, unit) = read_bw()?;
    let mut child = spawn("exits at once", || Ok(()))?;
    let pid = child.pid();
    // Wait for the zombie, without reaping it.
    let end = monotonic_ns() + 5 * SEC;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").map(|(_, r)| &r[..1]).unwrap_or("?");
        if state == "Z" {
            break;
        }
        if monotonic_ns() > end {
            return Err(format!(
                "child {pid} not a zombie after 5 s (state {state})"
            ));
        }
        sleep_ns(5 * MS);
    }
    let r = setattr(pid, &SchedAttr::casio(20 * MS, 100 * MS, 100 * MS), 0);
    f.check(r.is_ok() || r == Err(Errno::ESRCH), || {
        format!("setattr of a zombie: {r:?}, want success or ESRCH")
    });
    let after = read_bw()?.0;
    f.eq("total_bw with a CASIO zombie", after, total0);
    child.join(5 * SEC)?;
    let reaped = read_bw()?.0;
    f.eq("total_bw after the zombie is reaped", reaped, total0);
    if reaped != total0 {
        f.push(format!(
            "{} of a CPU leaked",
            (reaped as f64 - total0 as f64) / unit as f64
        ));
    }
    f.finish()
}

/// A budgeted CASIO task keeps running and being throttled while its CPU
/// goes offline and online: the timer that releases a throttled job moves
/// a task off an offline CPU only once it has switched out, never a task
/// that still runs there (which then ran on two CPUs at once).
pub(crate) fn t_budget_across_hotplug() -> TestResult {
    let cx = setup()?;
    let _guard = OnlineGuard;
    let x = cx.work[1];
    let mut f = Fails::default();
    let task = spawn("budgeted spinner", spin_forever)?;
    set_aff(task.pid(), &cx.work, "budgeted spinner")?;
    let mut a = SchedAttr::casio(300_000, MS, MS);
    a.sched_flags = SCHED_FLAG_CASIO_BUDGET;
    sys("CASIO 0.3/1 ms with a budget", setattr(task.pid(), &a, 0))?;
    for cycle in 0..3 {
        // Put the task on x, then take x away under it.
        set_aff(task.pid(), &[x], "budgeted spinner")?;
        sleep_ns(50 * MS);
        set_aff(task.pid(), &cx.work, "budgeted spinner")?;
        let t0 = cpu_ns(task.pid())?;
        match offline(x, 10 * SEC) {
            Ok(_) => {}
            Err(e) => {
                f.push(format!("cycle {cycle}: {e}"));
                break;
            }
        }
        sleep_ns(100 * MS);
        online(x)?;
        sleep_ns(100 * MS);
        let t1 = cpu_ns(task.pid())?;
        f.check(t1 > t0, || {
            format!("cycle {cycle}: the task did not run across the offline/online")
        });
    }
    f.eq(
        "policy at the end",
        getattr(task.pid()).map(|a| a.sched_policy as i32),
        Ok(SCHED_CASIO),
    );
    f.finish()
}

/// CASIO shares the RT bandwidth, as DEADLINE time counts in it, so that
/// CASIO and RT hogs together leave the fair class its 5%; before, each
/// had its own 95% and SCHED_NORMAL tasks (among them the RCU and hotplug
/// kthreads) got nothing.
pub(crate) fn t_fair_share_under_casio_and_rt() -> TestResult {
    let cx = setup()?;
    let x = cx.work[0];
    let casio = spawn("CASIO hog", spin_forever)?;
    let fifo = spawn("FIFO hog", spin_forever)?;
    let fair = spawn("SCHED_NORMAL hog", spin_forever)?;
    for (c, who) in [
        (&casio, "CASIO hog"),
        (&fifo, "FIFO hog"),
        (&fair, "fair hog"),
    ] {
        set_aff(c.pid(), &[x], who)?;
    }
    sys(
        "FIFO 50",
        casio_abi::setscheduler(fifo.pid(), SCHED_FIFO, 50),
    )?;
    sys(
        "CASIO 900/1000 ms",
        setattr(casio.pid(), &SchedAttr::casio(900 * MS, SEC, SEC), 0),
    )?;
    let t0 = monotonic_ns();
    let c0 = [
        cpu_ns(casio.pid())?,
        cpu_ns(fifo.pid())?,
        cpu_ns(fair.pid())?,
    ];
    sleep_ns(3 * SEC);
    let wall = monotonic_ns() - t0;
    let c1 = [
        cpu_ns(casio.pid())?,
        cpu_ns(fifo.pid())?,
        cpu_ns(fair.pid())?,
    ];
    let share = |i: usize| (c1[i] - c0[i]) as f64 / wall as f64;
    crate::diag!(
        "over {} ms: CASIO {:.3}, FIFO {:.3}, SCHED_NORMAL {:.3} of CPU {x}",
        wall / MS,
        share(0),
        share(1),
        share(2)
    );
    let mut f = Fails::default();
    f.check(share(2) >= 0.02, || {
        format!(
            "SCHED_NORMAL got {:.3} of the CPU under CASIO {:.3} and FIFO {:.3}, want at least 0.02",
            share(2),
            share(0),
            share(1)
        )
    });
    f.finish()
}

/// A CPU whose offlining is refused must stay as it was. Linux 6.1's
/// sched_cpu_deactivate() takes the runqueue offline before the CASIO or
/// DEADLINE admission may refuse with EBUSY, and its error path left it
/// offline: no RT throttling there (the RT runtime stays unlimited) and
/// the CPU no DEADLINE, RT or CASIO push target until the next hotplug.
/// The long fuzz runs starved the RCU grace-period kthread so. CASIO
/// tasks that fit all CPUs but one make taking CPU `x` offline fail;
/// then a FIFO hog pinned to `x` must still leave a SCHED_NORMAL hog
/// beside it its 5%.
pub(crate) fn t_refused_offline_keeps_rt_bandwidth() -> TestResult {
    let cx = setup()?;
    let _guard = OnlineGuard;
    let _cap = Restore::set(CASIO_RUNTIME_PATH, "950000")?;
    let _per = Restore::set("/proc/sys/kernel/sched_casio_period_us", "1000000")?;
    let x = *cx.work.last().ok_or("no workload CPU")?;
    let (_, cap_n, unit) = read_bw()?;
    if cap_n <= 0 {
        return Err(format!("cap_bw {cap_n} with the cap at 95%"));
    }
    let half = unit / 2;
    let cap_less = cap_n as u64 / cx.n as u64 * (cx.n as u64 - 1);
    // As many 50/100 tasks as fit on n CPUs: more than fits on n - 1.
    let k = (cap_n as u64 / half) as usize;
    if k as u64 * half <= cap_less {
        return Err(format!(
            "set-up: {k} tasks of U = 0.5 fit on {} CPUs",
            cx.n - 1
        ));
    }
    let all: Vec<usize> = (0..cx.n).collect();
    let mut kids = Vec::new();
    for i in 0..k {
        let kd = sleeper(&format!("sleeper {i}"))?;
        // Not pinned like the controller: global admission.
        set_aff(kd.pid(), &all, "sleeper")?;
        kids.push(kd);
    }
    let attr = SchedAttr::casio(50 * MS, 100 * MS, 100 * MS);
    for kd in &kids {
        sys("setattr CASIO 50/100ms", setattr(kd.pid(), &attr, 0))?;
    }
    let mut f = Fails::default();
    f.eq(
        &format!("taking CPU {x} offline with {k} x 0.5 admitted"),
        set_cpu_online(x, false).map_err(Errno),
        Err(Errno::EBUSY),
    );
    let fifo = spawn("FIFO hog", spin_forever)?;
    let fair = spawn("SCHED_NORMAL hog", spin_forever)?;
    set_aff(fifo.pid(), &[x], "FIFO hog")?;
    set_aff(fair.pid(), &[x], "fair hog")?;
    sys("FIFO 50", setscheduler(fifo.pid(), SCHED_FIFO, 50))?;
    let t0 = monotonic_ns();
    let c0 = [cpu_ns(fifo.pid())?, cpu_ns(fair.pid())?];
    sleep_ns(3 * SEC);
    let wall = monotonic_ns() - t0;
    let c1 = [cpu_ns(fifo.pid())?, cpu_ns(fair.pid())?];
    let share = |i: usize| (c1[i] - c0[i]) as f64 / wall as f64;
    diag!(
        "after the refused offline, over {} ms: FIFO {:.3}, SCHED_NORMAL {:.3} of CPU {x}",
        wall / MS,
        share(0),
        share(1)
    );
    f.check(share(1) >= 0.02, || {
        format!(
            "SCHED_NORMAL got {:.3} of CPU {x} beside a FIFO hog after a refused offline, want at least 0.02",
            share(1)
        )
    });
    drop(fifo);
    drop(fair);
    for kd in &kids {
        let _ = setscheduler(kd.pid(), SCHED_NORMAL, 0);
    }
    drop(kids);
    f.finish()
}

/// A CASIO task that waits for its release on a CPU taken offline stayed
/// queued there until its release timer moved it. Switched to another
/// class in between, it lost that timer and stayed queued on the dead
/// CPU: it did not run until the CPU came back, and the new class was
/// enqueued on an offline runqueue (6.12 warns in dl_server_start(),
/// 7.3 in native_smp_send_reschedule(); the long fuzz runs hit both).
/// A budgeted task is throttled on CPU `x` until a release 4.19 s away
/// and `x` goes offline: the task must move off `x` at once without
/// being released early, and, switched to SCHED_NORMAL, run.
pub(crate) fn t_class_change_while_stranded() -> TestResult {
    let cx = setup()?;
    let _guard = OnlineGuard;
    let x = *cx.work.last().ok_or("no workload CPU")?;
    let mut f = Fails::default();
    let task = spawn("budgeted spinner", spin_forever)?;
    set_aff(task.pid(), &[x], "budgeted spinner")?;
    sleep_ns(50 * MS);
    let period = casio_abi::CASIO_MAX_PERIOD;
    let mut a = SchedAttr::casio(10 * MS, period, period);
    a.sched_flags = SCHED_FLAG_CASIO_BUDGET;
    let t_set = monotonic_ns();
    sys(
        "CASIO 10 ms / 4.19 s with a budget",
        setattr(task.pid(), &a, 0),
    )?;
    // It runs its 10 ms and waits on x for the next release.
    sleep_ns(200 * MS);
    set_aff(task.pid(), &cx.work, "budgeted spinner")?;
    let c0 = cpu_ns(task.pid())?;
    offline(x, 2 * SEC)?;
    let mut on = last_cpu(task.pid())?;
    let moved_by = monotonic_ns() + SEC;
    while on == x && monotonic_ns() < moved_by {
        sleep_ns(20 * MS);
        on = last_cpu(task.pid())?;
    }
    let c1 = cpu_ns(task.pid())?;
    if monotonic_ns() - t_set > period - 500 * MS {
        return Err(format!(
            "set-up: CPU {x} went offline {} ms after the release, too close to the next one",
            (monotonic_ns() - t_set) / MS
        ));
    }
    diag!(
        "waiting on CPU {x} when it went offline: now on CPU {on}, ran {} ms since",
        (c1 - c0) / MS
    );
    f.check(on != x, || {
        format!(
            "the task waiting for its release on CPU {x} stayed there 1 s after it went offline"
        )
    });
    f.check(c1 - c0 < 5 * MS, || {
        format!(
            "the task waiting for its release 4.19 s away ran {} ms as its CPU {x} went offline: \
             released early",
            (c1 - c0) / MS
        )
    });
    sys(
        "back to SCHED_NORMAL",
        setscheduler(task.pid(), SCHED_NORMAL, 0),
    )?;
    sleep_ns(500 * MS);
    let c2 = cpu_ns(task.pid())?;
    diag!(
        "switched to SCHED_NORMAL after CPU {x} went offline: ran {} ms in 500 ms, last on CPU {}",
        (c2 - c1) / MS,
        last_cpu(task.pid())?
    );
    f.check(c2 - c1 >= 50 * MS, || {
        format!(
            "the task switched to SCHED_NORMAL after it waited on offline CPU {x} ran {} ms in 500 ms",
            (c2 - c1) / MS
        )
    });
    online(x)?;
    f.finish()
}

shm_record! {
    /// What the forker and the policy flipper count.
    struct ForkCounts {
        forks: Slot,
        /// CASIO children with another class's priority.
        bad: Slot,
        flips: Slot,
    }
}

/// The priority field of `/proc/self/stat`: `prio - 100`, so -100 for
/// a CASIO task and `-1 - rt_priority` for an RT one.
fn own_stat_prio() -> Option<i64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_whitespace().nth(15)?.parse().ok()
}

/// A child takes its policy from the parent when the parent is copied,
/// and its priority a little later, in sched_fork(). A parent switched
/// from SCHED_CASIO to SCHED_FIFO in between gave a CASIO child the FIFO
/// priority: the child ran in the RT class, and died there without giving
/// back the bandwidth it had been admitted with. Forks in a loop while
/// another CPU flips the forker between the two policies: every CASIO
/// child must have the CASIO priority, and all bandwidth must come back.
pub(crate) fn t_fork_during_policy_change() -> TestResult {
    let cx = setup()?;
    let (x, y) = (cx.work[0], cx.work[1]);
    let mut f = Fails::default();
    let total0 = read_bw()?.0;
    let pinned0 = read_pinned_bw()?;
    let shm = Shared::<ForkCounts>::one()?;
    let n = shm.rec();
    let casio = SchedAttr::casio(MS, 100 * MS, 100 * MS);
    let fifo = SchedAttr::rt(SCHED_FIFO, 83);
    let mut forker = spawn("forker", || loop {
        flush_stdio();
        // SAFETY: the child only reads its own state and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let bad =
                casio_abi::getscheduler(0) == Ok(SCHED_CASIO) && own_stat_prio() != Some(-100);
            // SAFETY: leaves the child without running the parent's atexit.
            unsafe { libc::_exit(if bad { 3 } else { 0 }) };
        }
        if pid < 0 {
            return Err(format!("fork: {}", Errno::last()));
        }
        let mut st = 0;
        // SAFETY: waits for our own child.
        while unsafe { libc::waitpid(pid, &mut st, 0) } < 0 && Errno::last() == Errno::EINTR {}
        if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 3 {
            n.bad.add(1);
        }
        n.forks.add(1);
    })?;
    set_aff(forker.pid(), &[x], "forker")?;
    sys("forker CASIO 1/100 ms", setattr(forker.pid(), &casio, 0))?;
    let target = forker.pid();
    let mut flipper = spawn("policy flipper", || loop {
        for a in [&fifo, &casio] {
            match setattr(target, a, 0) {
                Ok(()) | Err(Errno::EBUSY) => {}
                Err(e) => return Err(format!("flip the forker's policy: {e}")),
            }
        }
        n.flips.add(1);
    })?;
    set_aff(flipper.pid(), &[y], "policy flipper")?;
    sleep_ns(3 * SEC);
    flipper.kill();
    forker.kill();
    let _ = flipper.join(5 * SEC);
    let _ = forker.join(5 * SEC);
    let (forks, bad, flips) = (n.forks.get(), n.bad.get(), n.flips.get());
    f.check(forks >= 50 && flips >= 50, || {
        format!("only {forks} forks and {flips} policy flips in 3 s")
    });
    f.check(bad == 0, || {
        format!("{bad} of {forks} CASIO children had another class's priority")
    });
    let end = monotonic_ns() + SEC;
    let (total, pinned) = loop {
        let (t, p) = (read_bw()?.0, read_pinned_bw()?);
        if (t == total0 && p == pinned0) || monotonic_ns() > end {
            break (t, p);
        }
        sleep_ns(10 * MS);
    };
    f.eq("total_bw after forker and children died", total, total0);
    f.eq("pinned_bw after forker and children died", pinned, pinned0);
    f.finish()
}
