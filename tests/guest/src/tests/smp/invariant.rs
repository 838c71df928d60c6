//! The M earliest deadlines run.

use std::collections::{BTreeSet, HashMap};

use casio_abi::{monotonic_ns, sleep_ns, sleep_until_ns};

use crate::common::checks::Fails;
use crate::common::cpus::{cpu_all, cpu_ns, cpus_mask, earliest, read_cpus_file, setup, CPUS_FILE};
use crate::common::spinners::{cap_off, job_deadlines, pct, start_spread, Board};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    smp_invariant_sampler: "2M+1 spinners: the M earliest deadlines run (sampled, and by CPU time)" => t_invariant_sampler,
}

// ---------------------------------------------------------------------------
// smp_invariant_sampler
// ---------------------------------------------------------------------------

const SAMPLE_NS: u64 = 3 * SEC;
/// Window of one CPU-clock sample of `smp_invariant_sampler`.
const CLOCK_SAMPLE_NS: u64 = 50 * MS;

fn t_invariant_sampler() -> TestResult {
    let cx = setup()?;
    let _cap = cap_off()?;
    let m = cx.m();
    let n = 2 * m + 1;
    let labels: Vec<String> = (0..n).map(|i| format!("spinner {i}")).collect();
    let b = Board::new(n)?;
    let (kids, t0) = start_spread(&b, &labels, cx.work[0], &cx.work, |i| {
        2 * SEC + i as u64 * 250 * MS
    })?;
    let pids: Vec<i32> = kids.iter().map(|k| k.pid()).collect();
    sleep_until_ns(t0 + 300 * MS);
    let dls = job_deadlines(&pids)?;
    let top = earliest(&dls, m);
    let top_pids: BTreeSet<i32> = top.iter().map(|&i| pids[i]).collect();
    let idx: HashMap<i32, usize> = pids.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let work_mask = cpus_mask(&cx.work);
    let mut f = Fails::default();
    let have_file = read_cpus_file()?.is_some();
    if !have_file {
        f.push(format!("no {CPUS_FILE}: sampled CPU clocks only"));
    }
    let (mut n_file, mut bad_file, mut bad_dl, mut outside) = (0u64, 0u64, 0u64, 0u64);
    let (mut n_clk, mut bad_clk) = (0u64, 0u64);
    let mut first_bad_file: Option<String> = None;
    let mut first_bad_clk: Option<String> = None;
    let mut prev: Option<(Vec<u64>, Vec<u64>)> = None;
    let c_start = cpu_all(&pids)?;
    let t_start = monotonic_ns();
    let end = t_start + SAMPLE_NS;
    while monotonic_ns() < end {
        if have_file {
            if let Some(rows) = read_cpus_file()? {
                n_file += 1;
                let mut running = BTreeSet::new();
                for r in &rows {
                    let Some(&i) = idx.get(&r.curr_pid) else {
                        continue;
                    };
                    running.insert(r.curr_pid);
                    if work_mask & (1u64 << r.cpu) == 0 {
                        outside += 1;
                    }
                    if r.curr_deadline != dls[i] {
                        bad_dl += 1;
                    }
                }
                if running != top_pids {
                    bad_file += 1;
                    if first_bad_file.is_none() {
                        first_bad_file =
                            Some(format!("running {running:?}, want {top_pids:?}: {rows:?}"));
                    }
                }
            }
        }
        // The same from the CPU clocks, every 50 ms: the tasks that ran
        // at least half of the time since the previous clock sample
        // (shorter windows see the kernel's accounting in steps).
        if prev
            .as_ref()
            .is_some_and(|(_, pt)| monotonic_ns() < pt[0] + CLOCK_SAMPLE_NS)
        {
            sleep_ns(3 * MS);
            continue;
        }
        let mut c = Vec::with_capacity(n);
        let mut t = Vec::with_capacity(n);
        for &p in &pids {
            c.push(cpu_ns(p)?);
            t.push(monotonic_ns());
        }
        if let Some((pc, pt)) = &prev {
            n_clk += 1;
            let running: BTreeSet<usize> = (0..n)
                .filter(|&i| (c[i] - pc[i]) * 2 >= t[i] - pt[i])
                .collect();
            if running != top {
                bad_clk += 1;
                if first_bad_clk.is_none() {
                    first_bad_clk = Some(format!("ran >= half: {running:?}, want {top:?}"));
                }
            }
        }
        prev = Some((c, t));
        sleep_ns(3 * MS);
    }
    let c_end = cpu_all(&pids)?;
    let window = monotonic_ns() - t_start;
    b.stop();
    drop(kids);
    let shares: Vec<f64> = (0..n).map(|i| pct(c_end[i] - c_start[i], window)).collect();
    diag!(
        "M = {m} CPUs, {n} spinners; deadlines (ms after the earliest) {:?}; the {m} earliest: {:?}",
        dls.iter().map(|&d| (d - dls.iter().min().unwrap_or(&d)) / MS).collect::<Vec<_>>(),
        top
    );
    diag!(
        "CPU shares over {:.1} s (%): {:?}",
        window as f64 / SEC as f64,
        shares.iter().map(|s| s.round() as i64).collect::<Vec<_>>()
    );
    if have_file {
        diag!(
            "invariant ({CPUS_FILE}): {bad_file} of {n_file} samples ({:.1}%) violate; {bad_dl} curr_deadline_ns mismatches, {outside} spinners seen outside their CPUs",
            pct(bad_file, n_file)
        );
        if let Some(s) = &first_bad_file {
            diag!("first violating sample: {s}");
        }
    }
    diag!(
        "invariant (CPU clocks): {bad_clk} of {n_clk} samples ({:.1}%) violate",
        pct(bad_clk, n_clk)
    );
    if let Some(s) = &first_bad_clk {
        diag!("first violating clock sample: {s}");
    }
    if have_file {
        f.check(n_file >= 50, || {
            format!("only {n_file} samples of {CPUS_FILE}")
        });
        f.check(bad_file * 10 <= n_file, || {
            format!(
                "{bad_file} of {n_file} samples of {CPUS_FILE} ({:.1}%, allowed 10%) did not show the {m} earliest deadlines running",
                pct(bad_file, n_file)
            )
        });
        f.eq(
            "curr_deadline_ns different from the task's job_deadline_ns",
            bad_dl,
            0,
        );
        f.eq("spinners seen running outside their affinity", outside, 0);
    }
    f.check(n_clk >= 40, || format!("only {n_clk} CPU-clock samples"));
    f.check(bad_clk * 10 <= n_clk, || {
        format!(
            "{bad_clk} of {n_clk} CPU-clock samples ({:.1}%, allowed 10%): the tasks that ran were not the {m} earliest deadlines",
            pct(bad_clk, n_clk)
        )
    });
    for (i, &share) in shares.iter().enumerate() {
        if top.contains(&i) {
            f.check(share >= 80.0, || {
                format!(
                    "spinner {i} (one of the {m} earliest) got {share:.0}% of the CPU, want >= 80%"
                )
            });
        } else {
            f.check(share <= 10.0, || {
                format!("spinner {i} (not among the {m} earliest) got {share:.0}% of the CPU, want <= 10%")
            });
        }
    }
    f.finish()
}
