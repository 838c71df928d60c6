//! Waking before or after the next release (CBS wake-up rule).

use casio_abi::{
    burn_cpu, monotonic_ns, sched_yield, setattr, sleep_ns, sleep_until_ns, thread_cpu_ns,
    SchedAttr,
};

use crate::common::checks::{dms, sys, Fails};
use crate::common::proc::spawn;
use crate::common::stats::{read_stat, stat_invariants};
use crate::common::work::{pin_harness, pin_work, JOIN_NS, WAKE_MARGIN};
use crate::harness::TestResult;
use crate::{diag, MS};

crate::tests! {
    wake_before_release_keeps_job: "sleep < r+T keeps the job; sleep past r+T starts one at wake-up" => t_wake_before_release_keeps_job,
}

// ---------------------------------------------------------------------------
// 5. wake_before_release_keeps_job
// ---------------------------------------------------------------------------

fn t_wake_before_release_keeps_job() -> TestResult {
    pin_harness();
    const T: u64 = 200 * MS;
    let mut c = spawn("casio task", || {
        pin_work()?;
        let mut f = Fails::default();
        // C = 40 ms: the job keeps runtime left even when TCG makes its
        // few ms of work (a /proc read, a burn of 1 ms) cost 8 ms of CPU,
        // as seen with C = 5 ms.
        sys(
            "setattr CASIO 40/200/200ms",
            setattr(0, &SchedAttr::casio(40 * MS, T, T), 0),
        )?;
        // A job that blocks right after its release with most of C left
        // does not fit its bandwidth on waking (the CBS rule): new job.
        // The count is read before the yield: a /proc read costs up to
        // 16 ms of CPU under TCG, which the new job could then keep.
        burn_cpu(MS);
        let n0 = read_stat(0)?.n("jobs_released");
        sys("sched_yield", sched_yield())?;
        sleep_ns(60 * MS);
        let woke0 = monotonic_ns();
        let s1 = read_stat(0)?;
        diag!("yielded, slept 60 ms: {}", s1.brief());
        f.eq(
            "after the yield's release and blocking 60 ms with most of 40 ms left: jobs_released",
            s1.n("jobs_released"),
            n0 + 2,
        );
        let rel = s1.n("job_release_ns");
        f.check(rel <= woke0 && woke0 <= rel + WAKE_MARGIN, || {
            format!(
                "renewed job released {:.1} ms before the wake-up seen at {woke0}",
                woke0 as f64 / 1e6 - rel as f64 / 1e6
            )
        });
        // A fresh job that runs 30 ms and blocks 20 ms keeps its job: with
        // used >= 30 ms, (C - used) * D <= (d - now) * C holds until
        // r + D - (C - used) * D / C = r + 150 ms.
        sys("sched_yield", sched_yield())?;
        let t0 = thread_cpu_ns();
        let s1 = read_stat(0)?;
        let (r, d, n) = (
            s1.n("job_release_ns"),
            s1.n("job_deadline_ns"),
            s1.n("jobs_released"),
        );
        stat_invariants(&mut f, "job start", &s1, T);
        burn_cpu(30 * MS);
        let used = thread_cpu_ns() - t0;
        sleep_ns(20 * MS);
        let woke = monotonic_ns();
        let s2 = read_stat(0)?;
        let c = 40 * MS;
        let limit = r + T - (c - used.min(c)) * (T / MS) / (c / MS);
        diag!(
            "used {:.1} ms, slept 20 ms, woke at r{:+.1}ms (keeps the job until r{:+.1}ms): {}",
            used as f64 / 1e6,
            dms(woke, r),
            dms(limit, r),
            s2.brief()
        );
        if woke + 5 * MS < limit {
            f.eq(
                "after running 30 ms and a 20 ms sleep: (job_release, job_deadline, jobs_released, jobs_completed)",
                (
                    s2.n("job_release_ns"),
                    s2.n("job_deadline_ns"),
                    s2.n("jobs_released"),
                    s2.n("jobs_completed"),
                ),
                (r, d, n, n - 1),
            );
        } else {
            f.push(format!(
                "20 ms sleep woke only at r{:+.1}ms, past r{:+.1}ms (host too slow to test)",
                dms(woke, r),
                dms(limit, r)
            ));
        }
        // Finish the kept job: the next release is r + T, not wake + T.
        burn_cpu(5 * MS);
        sys("sched_yield", sched_yield())?;
        let back = monotonic_ns();
        let s3 = read_stat(0)?;
        f.check(back + MS >= r + T && back <= r + T + WAKE_MARGIN, || {
            format!(
                "yield after the kept job returned at r{:+.1}ms, want r+T = r+200ms (-1/+40ms)",
                dms(back, r)
            )
        });
        f.eq(
            "release after the kept job (r + T), jobs_released",
            (s3.n("job_release_ns"), s3.n("jobs_released")),
            (r + T, n + 1),
        );
        // Block past r2 + T: a new job released at the wake-up.
        let r2 = s3.n("job_release_ns");
        let target = r2 + T + 50 * MS;
        sleep_until_ns(target);
        let woke = monotonic_ns();
        let s4 = read_stat(0)?;
        diag!(
            "slept until r2+T+50ms, woke at r2{:+.1}ms: {}",
            dms(woke, r2),
            s4.brief()
        );
        stat_invariants(&mut f, "after sleeping past r+T", &s4, T);
        f.eq(
            "after sleeping past r+T: (jobs_released, jobs_completed, misses)",
            (
                s4.n("jobs_released"),
                s4.n("jobs_completed"),
                s4.n("deadline_misses"),
            ),
            (n + 2, n + 1, 0),
        );
        let rel = s4.n("job_release_ns");
        // Released at the wake-up: not before the timer, not after we ran,
        // and within 40 ms of the time we saw on waking.
        f.check(
            rel >= target && rel <= woke && woke <= rel + WAKE_MARGIN,
            || {
                format!(
                    "new job released at r2{:+.1}ms, sleep target r2+250ms, woke r2{:+.1}ms",
                    dms(rel, r2),
                    dms(woke, r2)
                )
            },
        );
        f.eq(
            "new job deadline - release",
            s4.n("job_deadline_ns").wrapping_sub(rel),
            T,
        );
        f.finish()
    })?;
    c.join(JOIN_NS)
}
