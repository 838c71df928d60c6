//! `casioctl taskset` and `casioctl plot`.

use casio_testkit::sysctl::Restore;

use super::record::{edf_violations, load_record};
use super::{ctl, diag, expect_code, expect_contains, tmp, EDF_SET};
use crate::harness::TestResult;

crate::tests! {
    taskset_edf: "a U=0.6 task set runs without a miss in EDF order; plot draws it" => t_taskset_edf,
    taskset_overload: "U=1.3: refused under the cap; with it off, misses match the record" => t_taskset_overload,
    taskset_formats: "JSON and casio_system task sets; malformed files name the line" => t_taskset_formats,
}

fn t_taskset_edf() -> TestResult {
    let f = tmp("edf.toml");
    let json = tmp("edf.json");
    let svg = tmp("edf.svg");
    std::fs::write(&f, EDF_SET).map_err(|e| format!("write {f}: {e}"))?;
    let o = ctl(
        &[
            "taskset",
            &f,
            "--json",
            &json,
            "--svg",
            &svg,
            "--fail-on-miss",
        ],
        60,
    )?;
    diag(o.stdout.trim_end());
    expect_code(&o, 0, "taskset U=0.6")?;
    expect_contains(&o.stdout, "taskset: 3 tasks, U=0.60,", "summary")?;
    expect_contains(&o.stdout, "misses 0", "summary")?;
    let (j, tasks) = load_record(&json)?;
    if j.str("policy") != Some("casio") || tasks.len() != 3 {
        return Err("record: wrong policy or task count".into());
    }
    for t in &tasks {
        let want = (2e9 / t.period).ceil() as usize;
        if t.jobs.len() != want {
            return Err(format!(
                "{}: {} jobs, expected {want}",
                t.name,
                t.jobs.len()
            ));
        }
        for (k, jb) in t.jobs.iter().enumerate() {
            if jb.miss || jb.finish.is_none() {
                return Err(format!("{}: job {k} missed: {jb:?}", t.name));
            }
            if jb.exec < t.runtime {
                return Err(format!("{}: job {k} burnt only {} ns", t.name, jb.exec));
            }
            let want_rel = k as f64 * t.period;
            if (jb.release - want_rel).abs() > 1.0 {
                return Err(format!("{}: job {k} released at {}", t.name, jb.release));
            }
        }
        if t.slices.is_empty() {
            return Err(format!("{}: no execution slices", t.name));
        }
        let mut last = f64::MIN;
        for &(jx, s0, s1) in &t.slices {
            if s1 < s0 || s0 < last || jx >= t.jobs.len() {
                return Err(format!("{}: slices out of order at {s0}", t.name));
            }
            last = s1;
        }
    }
    let v = edf_violations(&tasks);
    if !v.is_empty() {
        for x in v.iter().take(10) {
            diag(x);
        }
        return Err(format!("{} EDF violations, first: {}", v.len(), v[0]));
    }
    // The chart: 3 rows, one bar per slice.
    let s = std::fs::read_to_string(&svg).map_err(|e| format!("read {svg}: {e}"))?;
    let nslices: usize = tasks.iter().map(|t| t.slices.len()).sum();
    if s.matches("<g class=\"row\"").count() != 3
        || s.matches("<rect class=\"slice").count() != nslices
        || !s.trim_end().ends_with("</svg>")
    {
        return Err("SVG from taskset --svg has the wrong structure".into());
    }
    // plot from the record gives the same chart structure.
    let svg2 = tmp("plot.svg");
    let o = ctl(&["plot", &json, "-o", &svg2], 20)?;
    expect_code(&o, 0, "plot")?;
    let s2 = std::fs::read_to_string(&svg2).map_err(|e| format!("read {svg2}: {e}"))?;
    if s2.matches("<rect class=\"slice").count() != nslices {
        return Err("plot: wrong number of bars".into());
    }
    for p in [&f, &json, &svg, &svg2] {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}

const OVERLOAD_SET: &str = "2\n\
    1 60 60 100 100 100 0 0\n\
    2 70 70 200 200 200 0 0\n\
    3 105 105 300 300 300 0 0\n";

fn t_taskset_overload() -> TestResult {
    // casio_system format (times in ms), U = 0.6 + 0.35 + 0.35 = 1.3.
    let f = tmp("overload.txt");
    let json = tmp("overload.json");
    std::fs::write(&f, OVERLOAD_SET).map_err(|e| format!("write {f}: {e}"))?;
    // Under the default cap admission control refuses U = 1.3 pinned to
    // one CPU: some task's sched_setattr() fails and the run says so.
    let o = ctl(&["taskset", &f, "--duration", "300ms"], 60)?;
    expect_code(&o, 1, "overloaded taskset under the CASIO cap")?;
    expect_contains(
        &o.stderr,
        "EBUSY: admission control",
        "overloaded taskset under the CASIO cap",
    )?;
    // With the cap off it runs, and misses.
    let _cap = Restore::set("/proc/sys/kernel/sched_casio_runtime_us", "-1")?;
    let o = ctl(&["taskset", &f, "--json", &json, "--fail-on-miss"], 60)?;
    diag(o.stdout.trim_end());
    expect_code(&o, 1, "overloaded taskset with --fail-on-miss")?;
    expect_contains(&o.stdout, "taskset: 3 tasks, U=1.30,", "summary")?;
    let misses: usize = o
        .stdout
        .lines()
        .find(|l| l.starts_with("taskset:"))
        .and_then(|l| l.split("misses ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no miss count in: {}", o.stdout))?;
    if misses == 0 {
        return Err("an overloaded set (U=1.3) reported no misses".into());
    }
    let (_, tasks) = load_record(&json)?;
    let rec_misses: usize = tasks
        .iter()
        .map(|t| t.jobs.iter().filter(|j| j.miss).count())
        .sum();
    if rec_misses != misses {
        return Err(format!("record has {rec_misses} misses, report {misses}"));
    }
    // Without --fail-on-miss the same run succeeds.
    let o = ctl(&["taskset", &f, "--duration", "500ms"], 60)?;
    expect_code(&o, 0, "overloaded taskset without --fail-on-miss")?;
    let _ = std::fs::remove_file(&f);
    let _ = std::fs::remove_file(&json);
    Ok(())
}

fn t_taskset_formats() -> TestResult {
    // JSON task-set file, fifo-rm policy, short run.
    let f = tmp("set.json");
    std::fs::write(
        &f,
        r#"{"duration": "600ms", "task": [
            {"name": "x", "runtime": "5ms", "deadline": "50ms"},
            {"name": "y", "runtime": "10ms", "deadline": "100ms", "period": "100ms"}]}"#,
    )
    .map_err(|e| format!("write: {e}"))?;
    let o = ctl(&["taskset", &f, "--policy", "fifo-rm"], 30)?;
    expect_code(&o, 0, "json set under fifo-rm")?;
    expect_contains(
        &o.stdout,
        "taskset: 2 tasks, U=0.20, jobs 18, misses 0",
        "fifo-rm",
    )?;
    // Malformed files name the line.
    let bad = tmp("bad.txt");
    std::fs::write(&bad, "2\n1 10 10 100 100 100 0 0\n2 10 10 100\n").map_err(|e| e.to_string())?;
    let o = ctl(&["taskset", &bad], 10)?;
    expect_code(&o, 2, "malformed casio_system file")?;
    expect_contains(&o.stderr, "line 3", "malformed casio_system file")?;
    let badt = tmp("bad.toml");
    std::fs::write(&badt, "[[task]]\nruntime = \"2ms\"\ndeadline = 5\n")
        .map_err(|e| e.to_string())?;
    let o = ctl(&["taskset", &badt], 10)?;
    expect_code(&o, 2, "malformed toml file")?;
    expect_contains(&o.stderr, "no unit", "malformed toml file")?;
    for p in [&f, &bad, &badt] {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}
