//! CPU hotplug under periodic tasks and admitted bandwidth.

use casio_abi::{
    burn_cpu, monotonic_ns, sched_yield, set_affinity_cpus, setattr, setscheduler, sleep_ns,
    sleep_until_ns, Errno, SchedAttr, SCHED_NORMAL,
};
use casio_testkit::sysctl::Restore;

use crate::common::bw::read_bw;
use crate::common::checks::{ms, sys, Fails};
use crate::common::cpus::{
    cpu_online, cpus_mask, getcpu, mask_cpus, offline, online, read_cpus_file, set_aff,
    set_cpu_online, setup, OnlineGuard, CPUS_FILE,
};
use crate::common::kernel::CASIO_RUNTIME_PATH;
use crate::common::periodic_set::push_errs;
use crate::common::proc::{spawn, wait_for_all};
use crate::common::shared::{publish, shm_record, wait_published, Shared, Slot};
use crate::common::spinners::NPH;
use crate::common::splat::{check_no_new_splat, splat_lines};
use crate::common::stats::read_stat;
use crate::common::work::sleeper;
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    smp_hotplug: "CPUs 2, 1, 2 offline/online under 11 periodic tasks: nothing lost or misplaced" => t_hotplug,
    smp_hotplug_bw: "offlining a CPU the admitted CASIO bandwidth needs fails with EBUSY" => t_hotplug_bw,
}

// ---------------------------------------------------------------------------
// smp_hotplug
// ---------------------------------------------------------------------------

shm_record! {
    /// What the controller of the hotplug test tells its tasks.
    struct HotplugHead {
        t0: Slot,
        stop: Slot,
        phase: Slot,
        /// The CPU offline in each phase, + 1 (0: none).
        offline: [Slot; NPH],
    }
}

shm_record! {
    /// What a task of the hotplug test reports.
    struct HotplugTask {
        ready: Slot,
        jobs: Slot,
        done: Slot,
        /// Jobs it ran on an offline CPU.
        on_offline: Slot,
        /// The CPUs it ran on in each phase.
        mask: [Slot; NPH],
    }
}

fn hotplug_task(
    me: &HotplugTask,
    head: &HotplugHead,
    cpus: &[usize],
    c: u64,
    t: u64,
) -> Result<(), String> {
    sys("sched_setaffinity", set_affinity_cpus(0, cpus))?;
    sys("setattr CASIO", setattr(0, &SchedAttr::casio(c, t, t), 0))?;
    me.ready.set(1);
    let t0 = wait_published(&head.t0, 20 * SEC).ok_or("T0 never published")?;
    sleep_until_ns(t0);
    let st0 = read_stat(0)?;
    let mut jobs = 0u64;
    let record = || {
        let p1 = head.phase.get() as usize;
        let cpu = getcpu();
        let p2 = head.phase.get() as usize;
        if p1 == p2 && p1 < NPH && cpu < 64 {
            me.mask[p1].or(1u64 << cpu);
            if head.offline[p1].get() == cpu as u64 + 1 {
                me.on_offline.add(1);
            }
        }
    };
    while head.stop.get() == 0 {
        record();
        burn_cpu(c);
        record();
        sys("sched_yield", sched_yield())?;
        jobs += 1;
        me.jobs.set(jobs);
    }
    let st = read_stat(0)?;
    me.done.set(1);
    let done = st.n("jobs_completed") - st0.n("jobs_completed");
    // As in stress_task: a blocking /proc read may renew a job (CBS).
    if done < jobs || done > jobs + jobs / 4 + 2 {
        return Err(format!(
            "ran {jobs} jobs, the kernel counted {done} completed ({})",
            st.brief()
        ));
    }
    if st.policy() != "casio" {
        return Err(format!("policy {} at the end", st.policy()));
    }
    Ok(())
}

const HP_HOLD: u64 = 800 * MS;

fn t_hotplug() -> TestResult {
    let cx = setup()?;
    let _guard = OnlineGuard;
    let splats0 = splat_lines().len();
    let (c1, c2) = (cx.work[1], cx.work[2]);
    // 9 tasks on every workload CPU and 2 on {c1, c2}, 15/100 ms each
    // (U = 1.65 on 3 CPUs, 0.825 per CPU when one is offline).
    let mut affs: Vec<Vec<usize>> = vec![cx.work.clone(); 9];
    affs.push(vec![c1, c2]);
    affs.push(vec![c1, c2]);
    let n = affs.len();
    let head = Shared::<HotplugHead>::one()?;
    let head = head.rec();
    let tasks = Shared::<HotplugTask>::new(n)?;
    let mut kids = Vec::new();
    for (i, a) in affs.iter().enumerate() {
        let me = &tasks[i];
        let a = a.clone();
        kids.push(spawn(&format!("task {i} on {a:?}"), move || {
            hotplug_task(me, head, &a, 15 * MS, 100 * MS)
        })?);
    }
    wait_for_all("tasks ready", &mut kids, 15 * SEC, || {
        tasks.iter().all(|t| t.ready.get() != 0)
    })?;
    let t0 = monotonic_ns() + 300 * MS;
    publish(&head.t0, t0);
    sleep_until_ns(t0 + 500 * MS);
    let jobs = || -> Vec<u64> { tasks.iter().map(|t| t.jobs.get()).collect() };
    let mut f = Fails::default();
    let mut phase = 0usize;
    let mut file_bad: Vec<String> = Vec::new();
    for &x in &[c2, c1, c2] {
        // Offline.
        let before = jobs();
        let t_off = monotonic_ns();
        let busy = offline(x, 3 * SEC)?;
        let t_off_done = monotonic_ns();
        if cpu_online(x) {
            return Err(format!("CPU {x} still online after writing 0"));
        }
        phase += 1;
        head.offline[phase].set(x as u64 + 1);
        head.phase.set(phase as u64);
        let end = monotonic_ns() + HP_HOLD;
        while monotonic_ns() < end {
            if let Some(rows) = read_cpus_file()? {
                if let Some(r) = rows.iter().find(|r| r.cpu == x) {
                    if r.online || r.queued != 0 || r.curr_pid != 0 {
                        file_bad.push(format!("offline CPU {x}: {r:?}"));
                    }
                }
            }
            sleep_ns(20 * MS);
        }
        let mid = jobs();
        diag!(
            "CPU {x} offline in {:.0} ms ({busy} EBUSY); jobs in {:.1} s offline: {:?}",
            ms(t_off_done - t_off),
            HP_HOLD as f64 / SEC as f64,
            (0..n).map(|i| mid[i] - before[i]).collect::<Vec<_>>()
        );
        for i in 0..n {
            f.check(mid[i] >= before[i] + 2, || {
                format!(
                    "task {i} ({:?}) ran {} jobs in {} ms with CPU {x} offline",
                    affs[i],
                    mid[i] - before[i],
                    HP_HOLD / MS
                )
            });
        }
        // Online: announce the phase first, so that no reading of the CPU
        // inside the offline phase can come from after this point.
        // A phase while the online write is in progress, then one after.
        phase += 1;
        let onlining = phase;
        head.offline[phase].set(0);
        head.phase.set(phase as u64);
        let t_on = monotonic_ns();
        online(x)?;
        let t_on_done = monotonic_ns();
        phase += 1;
        head.offline[phase].set(0);
        head.phase.set(phase as u64);
        let early: Vec<usize> = (0..n)
            .filter(|&i| tasks[i].mask[onlining].get() & (1u64 << x) != 0)
            .collect();
        let end = monotonic_ns() + HP_HOLD;
        let mut seen_curr = false;
        while monotonic_ns() < end {
            if let Some(rows) = read_cpus_file()? {
                if rows.iter().any(|r| r.cpu == x && r.curr_pid != 0) {
                    seen_curr = true;
                }
            }
            sleep_ns(10 * MS);
        }
        let after = jobs();
        let on_x: Vec<usize> = (0..n)
            .filter(|&i| tasks[i].mask[phase].get() & (1u64 << x) != 0)
            .collect();
        diag!(
            "CPU {x} online in {:.0} ms (tasks that ran on it before the write returned: {early:?}); tasks that ran on it in the next {} ms: {on_x:?}{}",
            ms(t_on_done - t_on),
            HP_HOLD / MS,
            if seen_curr {
                format!(", seen running CASIO in {CPUS_FILE}")
            } else {
                String::new()
            }
        );
        f.check(!on_x.is_empty(), || {
            format!(
                "no CASIO task ran on CPU {x} in the {} ms after it came back online",
                HP_HOLD / MS
            )
        });
        for i in 0..n {
            f.check(after[i] >= mid[i] + 2, || {
                format!(
                    "task {i} ran {} jobs in the {} ms after CPU {x} came back",
                    after[i] - mid[i],
                    HP_HOLD / MS
                )
            });
        }
    }
    head.stop.set(1);
    let end = monotonic_ns() + 5 * SEC;
    let mut errs = Vec::new();
    for k in &mut kids {
        if let Err(e) = k.join(end.saturating_sub(monotonic_ns()).max(MS)) {
            errs.push(e);
        }
    }
    push_errs(&mut f, "tasks", &errs);
    for (i, aff) in affs.iter().enumerate() {
        f.eq(
            &format!("task {i}: jobs run on an offline CPU"),
            tasks[i].on_offline.get(),
            0,
        );
        for p in 0..=phase {
            let mask = tasks[i].mask[p].get();
            f.check(mask & !cpus_mask(aff) == 0, || {
                format!(
                    "task {i} ran on CPUs {:?} in phase {p}, allowed {aff:?}",
                    mask_cpus(mask)
                )
            });
        }
        f.check(tasks[i].done.get() != 0, || {
            format!("task {i} did not finish")
        });
    }
    f.check(file_bad.is_empty(), || {
        format!(
            "{CPUS_FILE} rows of an offline CPU: {}",
            file_bad
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        )
    });
    let total: u64 = tasks.iter().map(|t| t.jobs.get()).sum();
    diag!("{n} tasks ran {total} jobs across 3 offline/online cycles");
    drop(_guard);
    check_no_new_splat(&mut f, splats0);
    f.finish()
}

// ---------------------------------------------------------------------------
// smp_hotplug_bw
// ---------------------------------------------------------------------------

fn t_hotplug_bw() -> TestResult {
    let cx = setup()?;
    let _guard = OnlineGuard;
    let _cap = Restore::set(CASIO_RUNTIME_PATH, "950000")?;
    let _per = Restore::set("/proc/sys/kernel/sched_casio_period_us", "1000000")?;
    let x = cx.work[2];
    let (total0, cap_n, unit) = read_bw()?;
    let mut f = Fails::default();
    f.eq("total_bw with no CASIO task", total0, 0);
    if cap_n <= 0 {
        return Err(format!("cap_bw {cap_n} with the cap at 95%"));
    }
    let cap_n = cap_n as u64;
    let half = unit / 2;
    let per_cpu = cap_n / cx.n as u64;
    let cap_less = per_cpu * (cx.n as u64 - 1);
    // As many 50/100 tasks as fit on n CPUs: more than fits on n - 1.
    let k = (cap_n / half) as usize;
    if (k as u64) * half <= cap_less {
        return Err(format!(
            "set-up: {k} tasks of U = 0.5 fit on {} CPUs",
            cx.n - 1
        ));
    }
    let all: Vec<usize> = (0..cx.n).collect();
    let mut kids = Vec::new();
    for i in 0..k + 1 {
        let kd = sleeper(&format!("sleeper {i}"))?;
        // Not pinned like the controller: global admission is tested.
        set_aff(kd.pid(), &all, "sleeper")?;
        kids.push(kd);
    }
    let attr = SchedAttr::casio(50 * MS, 100 * MS, 100 * MS);
    for kd in kids.iter().take(k) {
        sys("setattr CASIO 50/100ms", setattr(kd.pid(), &attr, 0))?;
    }
    let total = read_bw()?.0;
    diag!(
        "{k} tasks of U = 0.5 admitted: total_bw {total}, cap_bw {cap_n} ({} CPUs; {cap_less} on {})",
        cx.n,
        cx.n - 1
    );
    f.eq(
        &format!(
            "taking CPU {x} offline with {k} x 0.5 admitted (fits only on {} CPUs)",
            cx.n
        ),
        set_cpu_online(x, false).map_err(Errno),
        Err(Errno::EBUSY),
    );
    f.check(cpu_online(x), || {
        format!("CPU {x} went offline though the admitted bandwidth needs it")
    });
    // Free enough bandwidth for n - 1 CPUs.
    let mut admitted = k;
    while admitted as u64 * half > cap_less {
        admitted -= 1;
        sys(
            "back to SCHED_NORMAL",
            setscheduler(kids[admitted].pid(), SCHED_NORMAL, 0),
        )?;
    }
    match offline(x, 2 * SEC) {
        Ok(_) => {
            let (total, cap, _) = read_bw()?;
            diag!("CPU {x} offline with {admitted} x 0.5 admitted: total_bw {total}, cap_bw {cap}");
            if (admitted as u64 + 1) * half > cap_less {
                f.eq(
                    &format!("one more 50/100 task with CPU {x} offline"),
                    setattr(kids[k].pid(), &attr, 0),
                    Err(Errno::EBUSY),
                );
            }
            online(x)?;
            f.eq(
                &format!("one more 50/100 task with CPU {x} back online"),
                setattr(kids[k].pid(), &attr, 0),
                Ok(()),
            );
        }
        Err(e) => f.push(format!(
            "{e} with {admitted} x 0.5 admitted, which fits {} CPUs",
            cx.n - 1
        )),
    }
    for kd in &kids {
        let _ = setscheduler(kd.pid(), SCHED_NORMAL, 0);
    }
    drop(kids);
    drop(_guard);
    f.finish()
}
