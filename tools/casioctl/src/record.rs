//! The JSON record written by `casioctl taskset --json` and read by
//! `casioctl plot`. All times are ns relative to T0, the synchronous
//! release of the set (CLOCK_MONOTONIC at T0 is `t0_monotonic_ns`).

use serde::{Deserialize, Serialize};

use crate::event::{Event, Kind};
use crate::svg::{Bar, Gantt, Row};

/// Value of the `format` field.
pub const FORMAT: &str = "casioctl-taskset";

/// A whole run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Always [`FORMAT`].
    pub format: String,
    /// Schema version (1).
    pub version: u32,
    /// `casio` or `fifo-rm`.
    pub policy: String,
    /// CPU the tasks were pinned to.
    pub cpu: usize,
    /// CLOCK_MONOTONIC at T0 (ns).
    pub t0_monotonic_ns: u64,
    /// Jobs are released in [T0, T0 + duration).
    pub duration_ns: u64,
    /// Sum of C/T.
    pub utilization: f64,
    /// Per task.
    pub tasks: Vec<TaskRecord>,
}

/// One task of the run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TaskRecord {
    /// Name from the file.
    pub name: String,
    /// casio_id.
    pub id: u32,
    /// Process id of the child that ran it.
    pub pid: i32,
    /// C.
    pub runtime_ns: u64,
    /// D.
    pub deadline_ns: u64,
    /// T.
    pub period_ns: u64,
    /// First release after T0.
    pub offset_ns: u64,
    /// SCHED_FIFO priority (fifo-rm only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fifo_priority: Option<i32>,
    /// Jobs in release order.
    pub jobs: Vec<JobRecord>,
    /// Execution slices in time order.
    pub slices: Vec<SliceRecord>,
    /// Jobs not recorded because the buffer was full.
    #[serde(default)]
    pub jobs_dropped: u64,
    /// Slices merged into their predecessor because the buffer was full.
    #[serde(default)]
    pub slices_dropped: u64,
    /// Set-up failure of the child, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One job.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct JobRecord {
    /// Release time.
    pub release_ns: i64,
    /// release + D.
    pub abs_deadline_ns: i64,
    /// First time the job ran (sampled).
    #[serde(default)]
    pub start_ns: Option<i64>,
    /// Completion; None if it never completed (run abandoned).
    #[serde(default)]
    pub finish_ns: Option<i64>,
    /// finish - release.
    #[serde(default)]
    pub response_ns: Option<i64>,
    /// finish - (release + D); positive = late.
    #[serde(default)]
    pub lateness_ns: Option<i64>,
    /// Missed its deadline (late, or never finished).
    pub miss: bool,
    /// CPU time burnt (CLOCK_THREAD_CPUTIME_ID).
    pub exec_ns: u64,
}

/// One contiguous stretch of execution.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SliceRecord {
    /// Index into `jobs`.
    pub job: u32,
    /// Start.
    pub start_ns: i64,
    /// End.
    pub end_ns: i64,
}

/// Per-task summary numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSummary {
    /// Jobs recorded.
    pub jobs: usize,
    /// Deadline misses.
    pub misses: usize,
    /// Response time min/avg/max (ns), over completed jobs.
    pub resp: Option<(i64, f64, i64)>,
    /// Largest lateness (ns).
    pub max_lateness: Option<i64>,
}

impl TaskRecord {
    /// Summary numbers.
    pub fn summary(&self) -> TaskSummary {
        let rs: Vec<i64> = self.jobs.iter().filter_map(|j| j.response_ns).collect();
        let resp = if rs.is_empty() {
            None
        } else {
            let min = *rs.iter().min().unwrap();
            let max = *rs.iter().max().unwrap();
            let avg = rs.iter().map(|&r| r as f64).sum::<f64>() / rs.len() as f64;
            Some((min, avg, max))
        };
        TaskSummary {
            jobs: self.jobs.len(),
            misses: self.jobs.iter().filter(|j| j.miss).count(),
            resp,
            max_lateness: self.jobs.iter().filter_map(|j| j.lateness_ns).max(),
        }
    }
}

impl Record {
    /// Total jobs and misses.
    pub fn totals(&self) -> (usize, usize) {
        let mut j = 0;
        let mut m = 0;
        for t in &self.tasks {
            let s = t.summary();
            j += s.jobs;
            m += s.misses;
        }
        (j, m)
    }

    /// The human-readable report (per task, then the summary line).
    pub fn report(&self) -> String {
        let mut s = format!(
            "{:<12} {:>4} {:>8} {:>8} {:>8} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9}\n",
            "task",
            "id",
            "C(ms)",
            "D(ms)",
            "T(ms)",
            "jobs",
            "misses",
            "resp_min",
            "resp_avg",
            "resp_max",
            "max_late"
        );
        let f = |v: f64| format!("{:.3}", v / 1e6);
        for t in &self.tasks {
            let su = t.summary();
            let (a, b, c) = match su.resp {
                Some((mn, av, mx)) => (f(mn as f64), f(av), f(mx as f64)),
                None => ("-".into(), "-".into(), "-".into()),
            };
            s.push_str(&format!(
                "{:<12} {:>4} {:>8} {:>8} {:>8} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9}\n",
                t.name,
                t.id,
                f(t.runtime_ns as f64),
                f(t.deadline_ns as f64),
                f(t.period_ns as f64),
                su.jobs,
                su.misses,
                a,
                b,
                c,
                su.max_lateness.map(|l| f(l as f64)).unwrap_or("-".into())
            ));
            if let Some(e) = &t.error {
                s.push_str(&format!("  {}: error: {e}\n", t.name));
            }
            if t.jobs_dropped > 0 || t.slices_dropped > 0 {
                s.push_str(&format!(
                    "  {}: buffer full: {} jobs and {} slices not recorded\n",
                    t.name, t.jobs_dropped, t.slices_dropped
                ));
            }
        }
        let (j, m) = self.totals();
        s.push_str(&format!(
            "taskset: {} tasks, U={:.2}, jobs {j}, misses {m} (policy {}, cpu {}, {} ms)\n",
            self.tasks.len(),
            self.utilization,
            self.policy,
            self.cpu,
            self.duration_ns / 1_000_000
        ));
        s
    }

    /// The Gantt chart model.
    pub fn to_gantt(&self) -> Gantt {
        let mut end = self.duration_ns as i64;
        let mut rows = Vec::new();
        for t in &self.tasks {
            let mut row = Row {
                label: format!("{} (id {})", t.name, t.id),
                ..Default::default()
            };
            for j in &t.jobs {
                row.releases.push(j.release_ns);
                row.deadlines.push((j.abs_deadline_ns, j.miss));
                if let Some(f) = j.finish_ns {
                    end = end.max(f);
                }
            }
            for s in &t.slices {
                let miss = t.jobs.get(s.job as usize).map(|j| j.miss).unwrap_or(false);
                row.bars.push(Bar {
                    start: s.start_ns,
                    end: s.end_ns,
                    miss,
                });
                end = end.max(s.end_ns);
            }
            rows.push(row);
        }
        Gantt {
            title: format!(
                "casioctl taskset: {} tasks, U={:.2}, policy {}, CPU {}",
                self.tasks.len(),
                self.utilization,
                self.policy,
                self.cpu
            ),
            rows,
            t_start: 0,
            t_end: end,
        }
    }
}

/// Build a Gantt chart from `/proc/casio_event` events: one row per CASIO
/// pid, labelled with the task's latest casio_id; a slice runs from a
/// switch to the task until the next switch away from it, or until it
/// leaves the queue or is throttled; releases and deadlines come from
/// release events; slices of a job with a miss event are marked as
/// misses.
pub fn events_to_gantt(evs: &[Event]) -> Gantt {
    use std::collections::BTreeMap;
    struct Acc {
        label: String,
        row: Row,
        running_since: Option<i64>,
        job_missed: bool,
        job_first_bar: usize,
    }
    let t0 = evs.iter().map(|e| e.ts_ns).min().unwrap_or(0);
    let rel = |t: u64| t as i64 - t0 as i64;
    let rel_abs = |t: u64| t as i64 - t0 as i64;
    let mut tasks: BTreeMap<i64, Acc> = BTreeMap::new();
    let mut end = 0i64;
    fn acc(tasks: &mut BTreeMap<i64, Acc>, id: i64, pid: i64) -> &mut Acc {
        let a = tasks.entry(pid).or_insert_with(|| Acc {
            label: String::new(),
            row: Row::default(),
            running_since: None,
            job_missed: false,
            job_first_bar: 0,
        });
        // The tag may be set after the first events (sched_setscheduler
        // sets it once the policy is in place).
        if id >= 0 || a.label.is_empty() {
            a.label = format!("id {id} pid {pid}");
        }
        a
    }
    /// Ends the task's current bar, if it runs, at `t`.
    fn stop_running(a: &mut Acc, t: i64) {
        if let Some(s) = a.running_since.take() {
            a.row.bars.push(Bar {
                start: s,
                end: t,
                miss: a.job_missed,
            });
        }
    }
    for e in evs {
        let t = rel(e.ts_ns);
        end = end.max(t);
        match e.kind {
            Kind::Switch => {
                if let Some(p) = e.prev.filter(|p| p.is_casio()) {
                    stop_running(acc(&mut tasks, p.id, p.pid), t);
                }
                if let Some(n) = e.next.filter(|n| n.is_casio()) {
                    acc(&mut tasks, n.id, n.pid).running_since = Some(t);
                }
            }
            Kind::Dequeue | Kind::Throttle => {
                // The task stopped running, if it ran: it blocked, yielded,
                // left the class or was throttled.
                if let Some(tr) = e.task.filter(|x| x.pid >= 0) {
                    if let Some(a) = tasks.get_mut(&tr.pid) {
                        stop_running(a, t);
                    }
                }
            }
            Kind::Release => {
                if let Some(tr) = e.task.filter(|x| x.pid >= 0) {
                    let a = acc(&mut tasks, tr.id, tr.pid);
                    a.row.releases.push(t);
                    if let Some(d) = e.abs_deadline_ns {
                        a.row.deadlines.push((rel_abs(d), false));
                        end = end.max(rel_abs(d));
                    }
                    a.job_missed = false;
                    a.job_first_bar = a.row.bars.len();
                }
            }
            Kind::Miss => {
                if let Some(tr) = e.task.filter(|x| x.pid >= 0) {
                    let a = acc(&mut tasks, tr.id, tr.pid);
                    a.job_missed = true;
                    let first = a.job_first_bar.min(a.row.bars.len());
                    for b in &mut a.row.bars[first..] {
                        b.miss = true;
                    }
                    let d = e.abs_deadline_ns.map(rel_abs);
                    match a.row.deadlines.iter_mut().rev().find(|x| Some(x.0) == d) {
                        Some(x) => x.1 = true,
                        None => a.row.deadlines.push((d.unwrap_or(t), true)),
                    }
                }
            }
            _ => {}
        }
    }
    let mut rows = Vec::new();
    for (_, mut a) in tasks {
        stop_running(&mut a, end);
        a.row.label = a.label;
        rows.push(a.row);
    }
    Gantt {
        title: format!(
            "/proc/casio_event: {} events, {} CASIO tasks",
            evs.len(),
            rows.len()
        ),
        rows,
        t_start: 0,
        t_end: end.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> Record {
        let ms = 1_000_000i64;
        let job = |r: i64, d: i64, f: i64| JobRecord {
            release_ns: r,
            abs_deadline_ns: r + d,
            start_ns: Some(r),
            finish_ns: Some(f),
            response_ns: Some(f - r),
            lateness_ns: Some(f - (r + d)),
            miss: f > r + d,
            exec_ns: 1,
        };
        Record {
            format: FORMAT.into(),
            version: 1,
            policy: "casio".into(),
            cpu: 0,
            t0_monotonic_ns: 123,
            duration_ns: 200 * ms as u64,
            utilization: 0.7,
            tasks: vec![
                TaskRecord {
                    name: "a".into(),
                    id: 1,
                    pid: 10,
                    runtime_ns: 20 * ms as u64,
                    deadline_ns: 100 * ms as u64,
                    period_ns: 100 * ms as u64,
                    offset_ns: 0,
                    fifo_priority: None,
                    jobs: vec![job(0, 100 * ms, 20 * ms), job(100 * ms, 100 * ms, 130 * ms)],
                    slices: vec![
                        SliceRecord {
                            job: 0,
                            start_ns: 0,
                            end_ns: 20 * ms,
                        },
                        SliceRecord {
                            job: 1,
                            start_ns: 100 * ms,
                            end_ns: 110 * ms,
                        },
                        SliceRecord {
                            job: 1,
                            start_ns: 120 * ms,
                            end_ns: 130 * ms,
                        },
                    ],
                    jobs_dropped: 0,
                    slices_dropped: 0,
                    error: None,
                },
                TaskRecord {
                    name: "b".into(),
                    id: 2,
                    pid: 11,
                    runtime_ns: 50 * ms as u64,
                    deadline_ns: 40 * ms as u64,
                    period_ns: 100 * ms as u64,
                    offset_ns: 0,
                    fifo_priority: None,
                    jobs: vec![job(0, 40 * ms, 70 * ms), job(100 * ms, 40 * ms, 120 * ms)],
                    slices: vec![
                        SliceRecord {
                            job: 0,
                            start_ns: 20 * ms,
                            end_ns: 70 * ms,
                        },
                        SliceRecord {
                            job: 1,
                            start_ns: 110 * ms,
                            end_ns: 120 * ms,
                        },
                    ],
                    jobs_dropped: 0,
                    slices_dropped: 0,
                    error: None,
                },
            ],
        }
    }

    #[test]
    fn summary_and_report() {
        let r = sample();
        let s = r.tasks[0].summary();
        assert_eq!((s.jobs, s.misses), (2, 0));
        assert_eq!(s.resp, Some((20_000_000, 25_000_000.0, 30_000_000)));
        let s = r.tasks[1].summary();
        assert_eq!(s.misses, 1);
        assert_eq!(s.max_lateness, Some(30_000_000));
        assert_eq!(r.totals(), (4, 1));
        let rep = r.report();
        assert!(
            rep.contains("taskset: 2 tasks, U=0.70, jobs 4, misses 1"),
            "{rep}"
        );
    }

    #[test]
    fn json_roundtrip() {
        let r = sample();
        let j = serde_json::to_string_pretty(&r).unwrap();
        let back: Record = serde_json::from_str(&j).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn gantt_from_record() {
        let g = sample().to_gantt();
        assert_eq!(g.rows.len(), 2);
        assert_eq!(g.rows[0].bars.len(), 3);
        assert!(g.rows[1].bars[0].miss && !g.rows[1].bars[1].miss);
        assert_eq!(g.rows[1].deadlines[0], (40_000_000, true));
        assert_eq!(g.t_end, 200_000_000);
    }

    #[test]
    fn gantt_bar_ends_when_the_task_leaves_the_queue() {
        // Pid 100 runs from 1000 and yields at 3000 (dequeue); the CPU then
        // runs other classes, which the log does not show. Its tag is set
        // after its first events.
        let evs = crate::event::parse(
            "5,1000,0:0:100:11000\n1,1000,0:0:100:11000\n3,1000,0:prev->(-1:-1),next->(7:100)\n\
             6,3000,0:7:100:11000\n2,3000,0:7:100:11000\n5,9000,0:7:100:19000\n",
        )
        .unwrap();
        let g = events_to_gantt(&evs);
        assert_eq!(g.rows.len(), 1);
        assert_eq!(g.rows[0].label, "id 7 pid 100");
        assert_eq!(
            g.rows[0].bars,
            vec![Bar {
                start: 0,
                end: 2000,
                miss: false
            }]
        );
    }

    #[test]
    fn gantt_from_events() {
        let evs = crate::event::parse(
            "5,1000,0:1:100:11000\n3,1000,0:prev->(-1:-1),next->(1:100)\n\
             5,2000,0:2:101:5000\n3,2000,0:prev->(1:100),next->(2:101)\n\
             7,5000,0:2:101:5000\n6,6000,0:2:101:5000\n3,6000,0:prev->(2:101),next->(1:100)\n\
             6,9000,0:1:100:11000\n3,9000,0:prev->(1:100),next->(-1:-1)\n",
        )
        .unwrap();
        let g = events_to_gantt(&evs);
        assert_eq!(g.rows.len(), 2);
        let a = &g.rows[0];
        assert_eq!(a.label, "id 1 pid 100");
        assert_eq!(
            a.bars,
            vec![
                Bar {
                    start: 0,
                    end: 1000,
                    miss: false
                },
                Bar {
                    start: 5000,
                    end: 8000,
                    miss: false
                }
            ]
        );
        assert_eq!(a.releases, vec![0]);
        assert_eq!(a.deadlines, vec![(10000, false)]);
        let b = &g.rows[1];
        assert_eq!(
            b.bars,
            vec![Bar {
                start: 1000,
                end: 5000,
                miss: true
            }]
        );
        assert_eq!(b.deadlines, vec![(4000, true)]);
    }
}
