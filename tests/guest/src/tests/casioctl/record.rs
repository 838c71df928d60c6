//! The task-set records of `casioctl taskset --json` and an EDF check of them.

use super::json::{parse_json, J};
use super::MS;

#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) release: f64,
    pub(crate) deadline: f64,
    pub(crate) finish: Option<f64>,
    pub(crate) miss: bool,
    pub(crate) exec: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) name: String,
    pub(crate) runtime: f64,
    pub(crate) period: f64,
    pub(crate) jobs: Vec<Job>,
    /// (job, start, end)
    pub(crate) slices: Vec<(usize, f64, f64)>,
}

pub(crate) fn load_record(path: &str) -> Result<(J, Vec<Task>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let j = parse_json(&text)?;
    if j.str("format") != Some("casioctl-taskset") {
        return Err(format!("{path}: not a casioctl-taskset record"));
    }
    let mut tasks = Vec::new();
    for t in j.arr("tasks") {
        let mut jobs = Vec::new();
        for jb in t.arr("jobs") {
            jobs.push(Job {
                release: jb.num("release_ns").ok_or("job without release_ns")?,
                deadline: jb
                    .num("abs_deadline_ns")
                    .ok_or("job without abs_deadline_ns")?,
                finish: jb.num("finish_ns"),
                miss: matches!(jb.get("miss"), Some(J::Bool(true))),
                exec: jb.num("exec_ns").unwrap_or(0.0),
            });
        }
        let mut slices = Vec::new();
        for s in t.arr("slices") {
            slices.push((
                s.num("job").ok_or("slice without job")? as usize,
                s.num("start_ns").ok_or("slice without start_ns")?,
                s.num("end_ns").ok_or("slice without end_ns")?,
            ));
        }
        tasks.push(Task {
            name: t.str("name").unwrap_or("?").to_string(),
            runtime: t.num("runtime_ns").ok_or("task without runtime_ns")?,
            period: t.num("period_ns").ok_or("task without period_ns")?,
            jobs,
            slices,
        });
    }
    Ok((j, tasks))
}

/// Ready tolerance after a release (wake-up latency) and before a finish
/// (sampling), and the largest tolerated overlap of a slice with a
/// competing ready job that has an earlier deadline.
pub(crate) const READY_TOL_NS: f64 = 5.0 * MS;
pub(crate) const FINISH_TOL_NS: f64 = 1.0 * MS;
pub(crate) const OVERLAP_TOL_NS: f64 = 3.0 * MS;
/// Kernel deadlines follow the actual wake-up times, so nominal deadlines
/// closer than this are not ordered.
pub(crate) const DEADLINE_TOL_NS: f64 = 5.0 * MS;

/// EDF consistency: whenever a task executed, no other task had a ready
/// job (released, not finished) with an earlier absolute deadline.
/// Returns a list of violations (empty = consistent).
pub(crate) fn edf_violations(tasks: &[Task]) -> Vec<String> {
    let mut v = Vec::new();
    for (ai, a) in tasks.iter().enumerate() {
        for &(jidx, s0, s1) in &a.slices {
            let Some(ja) = a.jobs.get(jidx) else {
                v.push(format!("{}: slice refers to missing job {jidx}", a.name));
                continue;
            };
            for (bi, b) in tasks.iter().enumerate() {
                if bi == ai {
                    continue;
                }
                for jb in &b.jobs {
                    if jb.deadline + DEADLINE_TOL_NS >= ja.deadline {
                        continue;
                    }
                    let r0 = jb.release + READY_TOL_NS;
                    let r1 = jb.finish.unwrap_or(f64::INFINITY) - FINISH_TOL_NS;
                    let ov = s1.min(r1) - s0.max(r0);
                    if ov > OVERLAP_TOL_NS {
                        v.push(format!(
                            "{} ran {:.1}-{:.1} ms (deadline {:.1}) while {} was ready from {:.1} (deadline {:.1}, finished {:.1}): overlap {:.1} ms",
                            a.name,
                            s0 / MS,
                            s1 / MS,
                            ja.deadline / MS,
                            b.name,
                            jb.release / MS,
                            jb.deadline / MS,
                            jb.finish.unwrap_or(f64::NAN) / MS,
                            ov / MS
                        ));
                    }
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str, jobs: Vec<(f64, f64, f64)>, slices: Vec<(usize, f64, f64)>) -> Task {
        Task {
            name: name.into(),
            runtime: 1.0,
            period: 1.0,
            jobs: jobs
                .into_iter()
                .map(|(r, d, f)| Job {
                    release: r * MS,
                    deadline: d * MS,
                    finish: Some(f * MS),
                    miss: false,
                    exec: 0.0,
                })
                .collect(),
            slices: slices
                .into_iter()
                .map(|(j, a, b)| (j, a * MS, b * MS))
                .collect(),
        }
    }

    #[test]
    fn edf_checker() {
        // a (deadline 100) runs 0-20; b (deadline 50) released at 0 runs 20-40:
        // a ran while b was ready with an earlier deadline -> violation.
        let a = task("a", vec![(0.0, 100.0, 20.0)], vec![(0, 0.0, 20.0)]);
        let b = task("b", vec![(0.0, 50.0, 40.0)], vec![(0, 20.0, 40.0)]);
        assert_eq!(edf_violations(&[a, b]).len(), 1);
        // Correct order: b first.
        let a = task("a", vec![(0.0, 100.0, 40.0)], vec![(0, 20.0, 40.0)]);
        let b = task("b", vec![(0.0, 50.0, 20.0)], vec![(0, 0.0, 20.0)]);
        assert!(edf_violations(&[a, b]).is_empty());
        // Within tolerance (2 ms of wake-up latency).
        let a = task(
            "a",
            vec![(0.0, 100.0, 42.0)],
            vec![(0, 0.0, 2.0), (0, 22.0, 42.0)],
        );
        let b = task("b", vec![(0.0, 50.0, 22.0)], vec![(0, 2.0, 22.0)]);
        assert!(edf_violations(&[a, b]).is_empty());
    }
}
