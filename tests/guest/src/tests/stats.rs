//! Statistics files and their reset.

use casio_abi::{burn_cpu, sched_yield, setattr, setscheduler, Errno, SchedAttr, SCHED_NORMAL};

use crate::common::checks::{sys, Fails};
use crate::common::proc::{spawn, wait_for};
use crate::common::shared::{shm_record, Shared, Slot};
use crate::common::stats::{
    read_global, read_stat, read_stat_path, stat_invariants, G_COMPLETED, G_MAX_EXEC,
    G_MAX_LATENESS, G_MISSES, G_RELEASED, G_TOTAL_EXEC,
};
use crate::common::work::{pin_harness, pin_work, JOIN_NS, WORK_CPU};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    stats_reset_and_nonCASIO: "setattr resets stats; non-CASIO shows policy other; /proc/sched_casio sums" => t_stats_reset_and_noncasio,
}

// ---------------------------------------------------------------------------
// 4. stats_reset_and_nonCASIO
// ---------------------------------------------------------------------------

shm_record! {
    /// The two phases of the CASIO child of `stats_reset_and_nonCASIO`.
    struct StatsPhases {
        phase1_done: Slot,
        /// The parent read the files: go on.
        go_on: Slot,
        finished: Slot,
        /// The parent is done: exit.
        exit: Slot,
        /// The [`PHASE_KEYS`] at the end of each phase.
        phase1: [Slot; 4],
        phase2: [Slot; 4],
    }
}

/// What the CASIO child reports of each phase.
const PHASE_KEYS: [&str; 4] = [
    "jobs_released",
    "jobs_completed",
    "deadline_misses",
    "total_exec_ns",
];

fn t_stats_reset_and_noncasio() -> TestResult {
    pin_harness();
    let mut f = Fails::default();
    let g0 = read_global()?;

    // Our own (SCHED_NORMAL) file.
    match read_stat(0) {
        Ok(s) => f.eq("own file of a CFS task: policy", s.policy(), "other"),
        Err(e) => f.push(format!("CFS task's own file: {e}")),
    }

    let shm = Shared::<StatsPhases>::one()?;
    let ph = shm.rec();
    let mut child = spawn("casio task", || {
        pin_work()?;
        let mut f = Fails::default();
        sys(
            "setattr CASIO 5/50/50ms",
            setattr(0, &SchedAttr::casio(5 * MS, 50 * MS, 50 * MS), 0),
        )?;
        let s = read_stat(0)?;
        f.eq(
            "right after the first setattr: (released, completed, misses, waiting)",
            (
                s.n("jobs_released"),
                s.n("jobs_completed"),
                s.n("deadline_misses"),
                s.n("waiting_release"),
            ),
            (1, 0, 0, 0),
        );
        // 4 jobs on time, then one that burns 60 ms > D = 50 ms: a miss.
        for _ in 0..4 {
            burn_cpu(5 * MS);
            sys("sched_yield", sched_yield())?;
        }
        burn_cpu(60 * MS);
        sys("sched_yield", sched_yield())?;
        let s1 = read_stat(0)?;
        stat_invariants(&mut f, "phase 1", &s1, 50 * MS);
        f.eq("phase 1 jobs_completed", s1.n("jobs_completed"), 5);
        f.eq("phase 1 jobs_released", s1.n("jobs_released"), 6);
        f.eq("phase 1 deadline_misses", s1.n("deadline_misses"), 1);
        f.check(s1.n("max_lateness_ns") >= 5 * MS, || {
            format!(
                "phase 1: the 60 ms job ended >= 10 ms late, max_lateness_ns {}",
                s1.n("max_lateness_ns")
            )
        });
        f.check(s1.n("max_job_exec_ns") >= 60 * MS, || {
            format!("phase 1 max_job_exec_ns {}", s1.n("max_job_exec_ns"))
        });
        for (k, key) in PHASE_KEYS.iter().enumerate() {
            ph.phase1[k].set(s1.n(key));
        }
        diag!("phase 1: {}", s1.brief());
        ph.phase1_done.set(1);
        if ph.go_on.wait_nonzero(10 * SEC, MS).is_none() {
            return Err("parent never said go on".into());
        }
        // New parameters: statistics restart with the first job.
        sys(
            "setattr CASIO 10/80/80ms",
            setattr(0, &SchedAttr::casio(10 * MS, 80 * MS, 80 * MS), 0),
        )?;
        let s2 = read_stat(0)?;
        diag!("right after the new setattr: {}", s2.brief());
        stat_invariants(&mut f, "after reset", &s2, 80 * MS);
        f.eq(
            "after reset: (released, completed, misses, max_lateness, total_exec, max_exec)",
            (
                s2.n("jobs_released"),
                s2.n("jobs_completed"),
                s2.n("deadline_misses"),
                s2.n("max_lateness_ns"),
                s2.n("total_exec_ns"),
                s2.n("max_job_exec_ns"),
            ),
            (1, 0, 0, 0, 0, 0),
        );
        f.eq(
            "after reset: runtime/deadline/period",
            (s2.n("runtime_ns"), s2.n("deadline_ns"), s2.n("period_ns")),
            (10 * MS, 80 * MS, 80 * MS),
        );
        for _ in 0..3 {
            burn_cpu(10 * MS);
            sys("sched_yield", sched_yield())?;
        }
        let s3 = read_stat(0)?;
        f.eq(
            "phase 2 (released, completed, misses)",
            (
                s3.n("jobs_released"),
                s3.n("jobs_completed"),
                s3.n("deadline_misses"),
            ),
            (4, 3, 0),
        );
        for (k, key) in PHASE_KEYS.iter().enumerate() {
            ph.phase2[k].set(s3.n(key));
        }
        // Back to SCHED_NORMAL: the file says so.
        sys("setscheduler NORMAL", setscheduler(0, SCHED_NORMAL, 0))?;
        match read_stat(0) {
            Ok(s) => f.eq("after leaving CASIO: policy", s.policy(), "other"),
            Err(e) => f.push(e),
        }
        ph.finished.set(1);
        // Stay alive (sleeping) for the parent's reads.
        let _ = ph.exit.wait_nonzero(10 * SEC, 2 * MS);
        f.finish()
    })?;
    let pid = child.pid();
    wait_for("phase 1", &mut [&mut child], 10 * SEC, || {
        ph.phase1_done.get() != 0
    })?;
    let g1 = read_global()?;
    // The child waits for us, polling every ms; a late wake-up may end
    // its job (CBS), so /proc/PID/task/TID, read between two reads of
    // /proc/PID, has the same parameters and a job count between theirs.
    let a = read_stat(pid);
    let b = read_stat_path(&format!("/proc/{pid}/task/{pid}/sched_casio"));
    let a2 = read_stat(pid);
    match (a, b, a2) {
        (Ok(a), Ok(b), Ok(a2)) => {
            f.eq("policy in /proc/PID (CASIO child)", a.policy(), "casio");
            f.eq(
                "/proc/PID/task/TID params vs /proc/PID",
                (b.policy().to_string(), b.n("deadline_ns")),
                (a.policy().to_string(), a.n("deadline_ns")),
            );
            let (j, jb, j2) = (
                a.n("jobs_completed"),
                b.n("jobs_completed"),
                a2.n("jobs_completed"),
            );
            f.check(j <= jb && jb <= j2, || {
                format!(
                    "jobs_completed: /proc/PID/task/TID {jb}, /proc/PID {j} before and {j2} after"
                )
            });
        }
        (a, b, a2) => {
            for e in [a.err(), b.err(), a2.err()].into_iter().flatten() {
                f.push(e);
            }
        }
    }
    // Readable by anyone: uid 65534 reads the root-owned task's file and
    // /proc/sched_casio.
    let mut nobody = spawn("uid 65534 reader", move || {
        // SAFETY: dropping privileges in the child.
        let r = unsafe { (libc::setgid(65534), libc::setuid(65534)) };
        if r != (0, 0) {
            return Err(format!("setgid/setuid 65534: {}", Errno::last()));
        }
        let s = read_stat(pid)?;
        if s.policy() != "casio" {
            return Err(format!("uid 65534 sees policy {}", s.policy()));
        }
        read_global()?;
        Ok(())
    })?;
    if let Err(e) = nobody.join(JOIN_NS) {
        f.push(format!("unprivileged reader: {e}"));
    }
    ph.go_on.set(1);
    wait_for("phase 2", &mut [&mut child], 10 * SEC, || {
        ph.finished.get() != 0
    })?;
    let g2 = read_global()?;
    match read_stat(pid) {
        Ok(s) => f.eq("CASIO child back to NORMAL: policy", s.policy(), "other"),
        Err(e) => f.push(e),
    }
    ph.exit.set(1);
    if let Err(e) = child.join(JOIN_NS) {
        f.push(e);
    }
    let g3 = read_global()?;
    for (name, later, earlier) in [("2nd", &g1, &g0), ("3rd", &g2, &g1), ("4th", &g3, &g2)] {
        if let Err(e) = later.not_below(earlier) {
            f.push(format!("{name} read: {e}"));
        }
    }
    // What the child caused in both phases (its stats were reset between).
    let caused = [
        ph.phase1[0].get() + ph.phase2[0].get(),
        ph.phase1[1].get() + ph.phase2[1].get(),
        ph.phase1[2].get() + ph.phase2[2].get(),
        ph.phase1[3].get() + ph.phase2[3].get(),
    ];
    let gained = [
        g3.all[G_RELEASED] - g0.all[G_RELEASED],
        g3.all[G_COMPLETED] - g0.all[G_COMPLETED],
        g3.all[G_MISSES] - g0.all[G_MISSES],
        g3.all[G_TOTAL_EXEC] - g0.all[G_TOTAL_EXEC],
    ];
    diag!(
        "/proc/sched_casio all: released/completed/misses/total_exec gained {gained:?}, child caused {caused:?}"
    );
    for (i, col) in [
        "jobs_released",
        "jobs_completed",
        "deadline_misses",
        "total_exec_ns",
    ]
    .iter()
    .enumerate()
    {
        f.check(gained[i] >= caused[i], || {
            format!(
                "/proc/sched_casio all {col} grew by {}, less than the {} the child caused",
                gained[i], caused[i]
            )
        });
    }
    f.check(g3.all[G_MAX_LATENESS] >= 5 * MS, || {
        format!(
            "/proc/sched_casio all max_lateness_ns {} < the child's late job",
            g3.all[G_MAX_LATENESS]
        )
    });
    f.check(g3.all[G_MAX_EXEC] >= 60 * MS, || {
        format!(
            "/proc/sched_casio all max_job_exec_ns {} < the child's 60 ms job",
            g3.all[G_MAX_EXEC]
        )
    });
    // The child ran on CPU 0 only: its jobs are in cpu0's row.
    f.check(
        g3.cpus[WORK_CPU][G_COMPLETED] - g0.cpus[WORK_CPU][G_COMPLETED] >= caused[1],
        || "cpu0 row did not count the child's completed jobs".to_string(),
    );
    f.finish()
}
