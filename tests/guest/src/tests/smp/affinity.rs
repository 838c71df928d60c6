//! Affinity changes of running CASIO tasks.

use casio_abi::{monotonic_ns, sleep_ns, sleep_until_ns};

use crate::common::checks::Fails;
use crate::common::cpus::{
    cpu_all, cpus_mask, last_cpu, mask_cpus, read_cpus_file, set_aff, setup, CPUS_FILE,
};
use crate::common::spinners::{cap_off, job_deadlines, pct, start_spread, Board};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    smp_affinity_change: "affinity changes of running CASIO tasks: they move, stay inside, EDF holds" => t_affinity_change,
}

// ---------------------------------------------------------------------------
// smp_affinity_change
// ---------------------------------------------------------------------------

fn t_affinity_change() -> TestResult {
    let cx = setup()?;
    let _cap = cap_off()?;
    let m = cx.m();
    let n = m + 1;
    let (first, last) = (cx.work[0], cx.work[m - 1]);
    let labels: Vec<String> = (0..n).map(|i| format!("X{i}")).collect();
    let b = Board::new(n)?;
    let (kids, t0) = start_spread(&b, &labels, first, &cx.work, |i| {
        2 * SEC + i as u64 * 300 * MS
    })?;
    let pids: Vec<i32> = kids.iter().map(|k| k.pid()).collect();
    sleep_until_ns(t0 + 300 * MS);
    let dls = job_deadlines(&pids)?;
    let mut f = Fails::default();
    f.check((1..n).all(|i| dls[i - 1] < dls[i]), || {
        format!("set-up: deadlines not in the order X0 < X1 < ...: {dls:?}")
    });
    let have_file = read_cpus_file()?.is_some();
    let mut aff: Vec<Vec<usize>> = vec![cx.work.clone(); n];
    // (description, affinity changes (task, CPUs), tasks that must run,
    // tasks that must wait)
    type Change = (usize, Vec<usize>);
    type Phase = (&'static str, Vec<Change>, Vec<usize>, Vec<usize>);
    let mid: Vec<usize> = (1..m).collect();
    let phases: Vec<Phase> = vec![
        (
            "all on the workload CPUs",
            vec![],
            (0..m).collect(),
            vec![m],
        ),
        (
            "X0 pinned to the last workload CPU",
            vec![(0, vec![last])],
            (0..m).collect(),
            vec![m],
        ),
        (
            "X1.. pinned to the first workload CPU",
            mid.iter().map(|&i| (i, vec![first])).collect(),
            vec![0, 1, m],
            (2..m).collect(),
        ),
        (
            "all back on every workload CPU",
            (0..m).map(|i| (i, cx.work.clone())).collect(),
            (0..m).collect(),
            vec![m],
        ),
    ];
    for (ph, (what, changes, run, wait)) in phases.iter().enumerate() {
        let ph = ph + 1;
        for (i, cpus) in changes {
            set_aff(pids[*i], cpus, &labels[*i])?;
            aff[*i] = cpus.clone();
        }
        b.set_phase(ph);
        // Where each task last ran, right after the change.
        for (i, cpus) in changes {
            let c = last_cpu(pids[*i])?;
            f.check(cpus.contains(&c), || {
                format!("phase {ph} ({what}): {} is on CPU {c} after sched_setaffinity({cpus:?}) returned", labels[*i])
            });
        }
        sleep_ns(250 * MS);
        let c0 = cpu_all(&pids)?;
        let w0 = monotonic_ns();
        let mut outside = Vec::new();
        let mut samples = 0;
        while monotonic_ns() < w0 + 800 * MS {
            if have_file {
                if let Some(rows) = read_cpus_file()? {
                    samples += 1;
                    for r in rows {
                        if let Some(i) = pids.iter().position(|&p| p == r.curr_pid) {
                            if !aff[i].contains(&r.cpu) {
                                outside.push(format!("{} on CPU {}", labels[i], r.cpu));
                            }
                        }
                    }
                }
            }
            sleep_ns(10 * MS);
        }
        let c1 = cpu_all(&pids)?;
        let win = monotonic_ns() - w0;
        let shares: Vec<f64> = (0..n).map(|i| pct(c1[i] - c0[i], win)).collect();
        diag!(
            "phase {ph} ({what}): CPU shares (%) {:?}; CPUs {:?}; {samples} samples of {CPUS_FILE}",
            shares.iter().map(|s| s.round() as i64).collect::<Vec<_>>(),
            (0..n).map(|i| mask_cpus(b.mask(i, ph))).collect::<Vec<_>>()
        );
        for i in 0..n {
            let mask = b.mask(i, ph);
            f.check(mask & !cpus_mask(&aff[i]) == 0, || {
                format!(
                    "phase {ph} ({what}): {} ran on CPUs {:?}, allowed {:?}",
                    labels[i],
                    mask_cpus(mask),
                    aff[i]
                )
            });
        }
        f.check(outside.is_empty(), || {
            format!(
                "phase {ph} ({what}): {CPUS_FILE} showed tasks outside their affinity: {}",
                outside
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        let starved: Vec<String> = run
            .iter()
            .filter(|&&i| shares[i] < 60.0)
            .map(|&i| format!("{} {:.0}%", labels[i], shares[i]))
            .collect();
        f.check(starved.is_empty(), || {
            format!(
                "phase {ph} ({what}): tasks with one of the earliest deadlines that can run got < 60% of a CPU: {}",
                starved.join(", ")
            )
        });
        let ran: Vec<String> = wait
            .iter()
            .filter(|&&i| shares[i] > 15.0)
            .map(|&i| format!("{} {:.0}%", labels[i], shares[i]))
            .collect();
        f.check(ran.is_empty(), || {
            format!(
                "phase {ph} ({what}): tasks whose CPUs all run earlier deadlines got > 15% of a CPU: {}",
                ran.join(", ")
            )
        });
    }
    b.stop();
    drop(kids);
    f.finish()
}
