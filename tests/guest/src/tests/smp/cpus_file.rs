//! `/proc/sched_casio_cpus`.

use std::os::unix::fs::PermissionsExt;

use casio_abi::{monotonic_ns, sleep_ns};

use crate::common::checks::Fails;
use crate::common::cpus::{
    cpu_online, possible_cpus, read_cpus_file, set_aff, setup, CpuRow, CPUS_FILE,
};
use crate::common::spinners::{
    job_deadline, set_legacy, spawn_spinners, wait_ready, wait_state, Board, Start, ST_SPINNING,
};
use crate::harness::TestResult;
use crate::{MS, SEC};

crate::tests! {
    smp_cpus_file: "/proc/sched_casio_cpus: format, idle rows, a CPU with 2 queued spinners" => t_cpus_file,
}

// ---------------------------------------------------------------------------
// smp_cpus_file
// ---------------------------------------------------------------------------

fn t_cpus_file() -> TestResult {
    let cx = setup()?;
    let mut f = Fails::default();
    let meta = std::fs::metadata(CPUS_FILE).map_err(|e| format!("{CPUS_FILE}: {e}"))?;
    f.eq(
        "mode of /proc/sched_casio_cpus",
        meta.permissions().mode() & 0o7777,
        0o444,
    );
    let possible = possible_cpus()?;
    let rows = read_cpus_file()?.ok_or("no /proc/sched_casio_cpus")?;
    f.eq(
        "rows of /proc/sched_casio_cpus (one per possible CPU)",
        rows.iter().map(|r| r.cpu).collect::<Vec<_>>(),
        possible.clone(),
    );
    for r in &rows {
        f.eq(
            &format!(
                "cpu{} with no CASIO task: (online, queued, curr_pid, curr_deadline_ns)",
                r.cpu
            ),
            (r.online, r.queued, r.curr_pid, r.curr_deadline),
            (cpu_online(r.cpu), 0, 0, 0),
        );
    }

    // Two spinners pinned to one CPU: both queued there, the earlier one
    // running, with the deadline its own file shows.
    let cpu = cx.work[1];
    let b = Board::new(2)?;
    let labels: Vec<String> = ["early", "late"]
        .iter()
        .map(|s| format!("{s} spinner"))
        .collect();
    let mut kids = spawn_spinners(&b, &labels, Start::Go)?;
    wait_ready(&b, &mut kids, "spinners ready")?;
    for (i, k) in kids.iter().enumerate() {
        set_aff(k.pid(), &[cpu], &labels[i])?;
        set_legacy(k.pid(), 1 + i as u32, (1 + i as u64) * SEC, &labels[i])?;
    }
    b.go();
    wait_state(
        &b,
        &mut kids,
        &[0],
        ST_SPINNING,
        "early spinner spinning",
        5 * SEC,
    )?;
    let (p0, p1) = (kids[0].pid(), kids[1].pid());
    let d0 = job_deadline(p0)?;
    let want = CpuRow {
        cpu,
        online: true,
        queued: 2,
        curr_pid: p0,
        curr_deadline: d0,
    };
    let end = monotonic_ns() + 2 * SEC;
    let mut last = String::new();
    let mut matched = false;
    while monotonic_ns() < end {
        let rows = read_cpus_file()?.ok_or("no /proc/sched_casio_cpus")?;
        let others_idle = rows
            .iter()
            .filter(|r| r.cpu != cpu)
            .all(|r| r.queued == 0 && r.curr_pid == 0 && r.curr_deadline == 0);
        let row = rows.iter().find(|r| r.cpu == cpu).copied();
        if row == Some(want) && others_idle {
            matched = true;
            break;
        }
        last = format!("{rows:?}");
        sleep_ns(20 * MS);
    }
    f.check(matched, || {
        format!(
            "with spinners {p0} (deadline {d0}) and {p1} (later) on CPU {cpu}, never saw {want:?} and every other CPU idle in 2 s; last: {last}"
        )
    });
    b.stop();
    drop(kids);
    f.finish()
}
