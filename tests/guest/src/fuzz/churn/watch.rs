//! What the coordinator watches while the churn runs, only to explain an
//! RCU stall or a hung task in the console log: the run's own DEADLINE
//! tasks running past their bandwidth, and runnable tasks that got no CPU
//! time at all for a whole window.

use std::collections::HashMap;

use casio_abi::monotonic_ns;

use super::super::{CAP_SYSCTL, COORD_DL, UNPRIV_DL, WORKER_DL};
use crate::common::cpus::cpu_ns;
use crate::SEC;

/// The run's own SCHED_DEADLINE tasks, the workers, the unprivileged
/// worker and the coordinator, watched for running past their bandwidth:
/// the CBS lets a task run C of every T, so over a 10 s window a share
/// well above C/T means the deadline class failed to throttle it, and
/// fair tasks, the RCU kthreads among them, may starve on its CPU. Only
/// reported, for reading an RCU stall report of the run.
pub(super) struct DlWatch {
    /// pid, bandwidth, CPU time at the last check.
    tasks: Vec<(i32, f64, u64)>,
    last_ns: u64,
    pub(super) overruns: u64,
}

impl DlWatch {
    pub(super) fn new(workers: &[i32], unpriv: i32, coordinator: i32) -> Self {
        let share = |(c, t): (u64, u64)| c as f64 / t as f64;
        let mut tasks: Vec<(i32, f64, u64)> =
            workers.iter().map(|&w| (w, share(WORKER_DL), 0)).collect();
        tasks.push((unpriv, share(UNPRIV_DL), 0));
        tasks.push((coordinator, share(COORD_DL), 0));
        for t in tasks.iter_mut() {
            t.2 = cpu_ns(t.0).unwrap_or(0);
        }
        DlWatch {
            tasks,
            last_ns: monotonic_ns(),
            overruns: 0,
        }
    }

    pub(super) fn check(&mut self, now: u64) {
        let wall = now.saturating_sub(self.last_ns).max(1) as f64;
        self.last_ns = now;
        for (pid, share, last) in self.tasks.iter_mut() {
            let Ok(cpu) = cpu_ns(*pid) else { continue };
            let used = cpu.saturating_sub(*last) as f64 / wall;
            *last = cpu;
            if used > *share * 1.5 + 0.02 {
                self.overruns += 1;
                println!(
                    "# DEADLINE task {pid} ran {:.0}% of a CPU in {:.1} s; its bandwidth is {:.0}%",
                    used * 100.0,
                    wall / SEC as f64,
                    *share * 100.0
                );
            }
        }
    }
}

/// Runnable tasks that did not run in a whole window between two checks:
/// each is reported once, with its class and priority, the CPU it waits
/// on, the CASIO cap and the online CPUs, so that a stall report of the
/// same minute can be read against who starved it. The kernel keeps no
/// wait times without schedstats; a task that is runnable at both checks
/// and whose `se.sum_exec_runtime` did not move never ran in between.
pub(super) struct StarveWatch {
    /// Every task at the last check.
    last: HashMap<i32, Sample>,
    reported: Vec<i32>,
    pub(super) starved: u64,
}

/// What the watch reads of a task.
struct Sample {
    comm: String,
    state: char,
    /// The CPU it last ran on, or waits on.
    cpu: String,
    policy: String,
    prio: String,
    /// `se.sum_exec_runtime`, in ms.
    exec_ms: f64,
}

impl Sample {
    fn read(pid: i32) -> Option<Sample> {
        let (state, cpu) = stat_state(pid)?;
        let sched = std::fs::read_to_string(format!("/proc/{pid}/sched")).ok()?;
        let field = |k: &str| sched_field(&sched, k).unwrap_or("?").to_string();
        Some(Sample {
            comm: sched.split(" (").next().unwrap_or("?").to_string(),
            state,
            cpu,
            policy: field("policy"),
            prio: field("prio"),
            exec_ms: field("se.sum_exec_runtime").parse().ok()?,
        })
    }
}

impl StarveWatch {
    pub(super) fn new() -> Self {
        StarveWatch {
            last: HashMap::new(),
            reported: vec![],
            starved: 0,
        }
    }

    pub(super) fn check(&mut self) {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return;
        };
        let now: HashMap<i32, Sample> = dir
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(|pid| Some((pid, Sample::read(pid)?)))
            .collect();
        let ran = |pid: i32, s: &Sample| s.exec_ms - self.last.get(&pid).map_or(0.0, |l| l.exec_ms);
        for (&pid, s) in &now {
            let Some(l) = self.last.get(&pid) else {
                continue;
            };
            if s.state != 'R' || l.state != 'R' || s.exec_ms != l.exec_ms {
                continue;
            }
            if self.reported.contains(&pid) {
                continue;
            }
            self.reported.push(pid);
            self.starved += 1;
            // Who ran on its CPU instead.
            let mut top: Vec<(f64, i32, &Sample)> = (now.iter())
                .filter(|(_, o)| o.cpu == s.cpu)
                .map(|(&p, o)| (ran(p, o), p, o))
                .collect();
            top.sort_by(|a, b| b.0.total_cmp(&a.0));
            let top: Vec<String> = (top.iter().take(4))
                .map(|(ms, p, o)| format!("{} {p} policy {} {ms:.0} ms", o.comm, o.policy))
                .collect();
            let casio = std::fs::read_to_string(format!("/proc/{pid}/sched_casio"))
                .map(|t| t.trim().replace('\n', "; "))
                .unwrap_or_default();
            println!(
                "# starving: {} {pid} runnable on CPU {} without running for a window; policy \
                 {} prio {}; cap {}; online {}; ran there: {}; {casio}",
                s.comm,
                s.cpu,
                s.policy,
                s.prio,
                read_trim(CAP_SYSCTL),
                read_trim("/sys/devices/system/cpu/online"),
                top.join(", "),
            );
        }
        self.last = now;
    }
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("({e})"))
}

/// The state letter and the last CPU of `pid`, from `/proc/PID/stat`.
fn stat_state(pid: i32) -> Option<(char, String)> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_stat(stat: &str) -> Option<(char, String)> {
    // The command name may hold spaces and parentheses; the fields
    // after it do not. `processor` is field 39, the 37th after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split(' ');
    let state = f.next()?.chars().next()?;
    Some((state, f.nth(35)?.to_string()))
}

/// The value of `key` in a `/proc/PID/sched` text (`key : value` lines).
fn sched_field<'a>(sched: &'a str, key: &str) -> Option<&'a str> {
    sched.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let sched =
            "casio-fuzz (53, #threads: 1)\n-----\nse.sum_exec_runtime  :  12.5\npolicy  :  8\n";
        assert_eq!(sched_field(sched, "policy"), Some("8"));
        assert_eq!(sched_field(sched, "se.sum_exec_runtime"), Some("12.5"));
        assert_eq!(sched_field(sched, "prio"), None);
        let stat = "53 (a (b) c) R 1 53 53 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 9 10 11 \
                    12 13 14 15 16 17 18 19 20 21 22 23 24 25 3 8 0 0 0 0";
        assert_eq!(parse_stat(stat), Some(('R', "3".to_string())));
        assert_eq!(parse_stat("53 (x"), None);
    }
}
