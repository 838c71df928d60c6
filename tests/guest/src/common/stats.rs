//! `/proc/PID/sched_casio` and `/proc/sched_casio`: parsers (host-tested) and readers.

use std::collections::HashMap;

use crate::common::checks::{ms, Fails};
use crate::common::cpus::possible_cpus;

/// The keys `/proc/PID/sched_casio` must have, in order.
pub const TASK_KEYS: [&str; 18] = [
    "policy",
    "casio_id",
    "runtime_ns",
    "deadline_ns",
    "period_ns",
    "job_release_ns",
    "job_deadline_ns",
    "waiting_release",
    "budget",
    "overrun_signal",
    "reserved",
    "jobs_released",
    "jobs_completed",
    "deadline_misses",
    "max_lateness_ns",
    "total_exec_ns",
    "max_job_exec_ns",
    "runtime_overruns",
];

/// One parsed `/proc/PID/sched_casio`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskStat {
    pub map: HashMap<String, String>,
}

impl TaskStat {
    /// Parse the `key: value` lines; every key of [`TASK_KEYS`] must be
    /// present, in that order, and every value but `policy` a number.
    pub fn parse(text: &str) -> Result<TaskStat, String> {
        let mut map = HashMap::new();
        let mut keys = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (k, v) = line
                .split_once(": ")
                .ok_or_else(|| format!("line {line:?} is not `key: value`"))?;
            if map.insert(k.to_string(), v.trim().to_string()).is_some() {
                return Err(format!("key {k} twice"));
            }
            keys.push(k.to_string());
        }
        if keys != TASK_KEYS {
            return Err(format!("keys {keys:?}, want {TASK_KEYS:?}"));
        }
        let s = TaskStat { map };
        for k in &TASK_KEYS[1..] {
            s.get(k)?;
        }
        match s.policy() {
            "casio" | "other" => Ok(s),
            p => Err(format!("policy {p:?} is neither casio nor other")),
        }
    }

    /// `policy` (`casio` or `other`).
    pub fn policy(&self) -> &str {
        self.map.get("policy").map(String::as_str).unwrap_or("")
    }

    /// A numeric field.
    pub fn get(&self, key: &str) -> Result<u64, String> {
        let v = self.map.get(key).ok_or_else(|| format!("no {key}"))?;
        v.parse()
            .map_err(|e| format!("{key}: {v:?} is not a number: {e}"))
    }

    /// A numeric field (0 if absent; parse() guarantees presence).
    pub fn n(&self, key: &str) -> u64 {
        self.get(key).unwrap_or(0)
    }

    /// jobs_released, jobs_completed, deadline_misses, max_lateness_ns.
    pub fn job_counts(&self) -> [u64; 4] {
        [
            self.n("jobs_released"),
            self.n("jobs_completed"),
            self.n("deadline_misses"),
            self.n("max_lateness_ns"),
        ]
    }

    /// Short one-line rendering for diagnostics.
    pub fn brief(&self) -> String {
        format!(
            "policy={} C/D/T={}/{}/{}ms rel={} dl={} waiting={} released={} completed={} misses={} max_late={:.2}ms total_exec={:.1}ms max_exec={:.2}ms",
            self.policy(),
            ms(self.n("runtime_ns")),
            ms(self.n("deadline_ns")),
            ms(self.n("period_ns")),
            self.n("job_release_ns"),
            self.n("job_deadline_ns"),
            self.n("waiting_release"),
            self.n("jobs_released"),
            self.n("jobs_completed"),
            self.n("deadline_misses"),
            ms(self.n("max_lateness_ns")),
            ms(self.n("total_exec_ns")),
            ms(self.n("max_job_exec_ns")),
        )
    }
}

/// The header of `/proc/sched_casio`.
pub const GLOBAL_HEADER: &str =
    "cpu jobs_released jobs_completed deadline_misses max_lateness_ns total_exec_ns max_job_exec_ns runtime_overruns cap_throttles";
/// Number of numeric columns of a `/proc/sched_casio` row.
pub const G_COLS: usize = 8;

/// Column indexes of a `/proc/sched_casio` row.
pub const G_RELEASED: usize = 0;
/// See [`G_RELEASED`].
pub const G_COMPLETED: usize = 1;
/// See [`G_RELEASED`].
pub const G_MISSES: usize = 2;
/// See [`G_RELEASED`].
pub const G_MAX_LATENESS: usize = 3;
/// See [`G_RELEASED`].
pub const G_TOTAL_EXEC: usize = 4;
/// See [`G_RELEASED`].
pub const G_MAX_EXEC: usize = 5;
/// See [`G_RELEASED`].
pub const G_OVERRUNS: usize = 6;
/// See [`G_RELEASED`].
pub const G_CAP_THROTTLES: usize = 7;

/// One parsed `/proc/sched_casio`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalStat {
    /// One row per CPU, in CPU order.
    pub cpus: Vec<[u64; G_COLS]>,
    /// The `all` row.
    pub all: [u64; G_COLS],
}

pub fn parse_row(line: &str, label: &str) -> Result<[u64; G_COLS], String> {
    let mut it = line.split_whitespace();
    if it.next() != Some(label) {
        return Err(format!("line {line:?}: want label {label}"));
    }
    let mut row = [0u64; G_COLS];
    for (i, slot) in row.iter_mut().enumerate() {
        let f = it
            .next()
            .ok_or_else(|| format!("line {line:?}: only {i} numbers"))?;
        *slot = f
            .parse()
            .map_err(|e| format!("line {line:?}: {f:?}: {e}"))?;
    }
    if it.next().is_some() {
        return Err(format!("line {line:?}: more than {G_COLS} numbers"));
    }
    Ok(row)
}

impl GlobalStat {
    /// Parse: header, `cpu0`..`cpu{ncpu-1}`, `all`, nothing else.  The
    /// `all` row must be the sum of the CPU rows (max for the max_ columns).
    pub fn parse(text: &str, ncpu: usize) -> Result<GlobalStat, String> {
        let lines: Vec<&str> = text.lines().collect();
        if lines.first() != Some(&GLOBAL_HEADER) {
            return Err(format!(
                "header {:?}, want {GLOBAL_HEADER:?}",
                lines.first()
            ));
        }
        if lines.len() != ncpu + 2 {
            return Err(format!(
                "{} lines, want header + {ncpu} CPUs + all",
                lines.len()
            ));
        }
        let mut cpus = Vec::new();
        for (i, l) in lines[1..=ncpu].iter().enumerate() {
            cpus.push(parse_row(l, &format!("cpu{i}"))?);
        }
        let all = parse_row(lines[ncpu + 1], "all")?;
        let mut want = [0u64; G_COLS];
        for r in &cpus {
            for c in 0..G_COLS {
                want[c] = if c == G_MAX_LATENESS || c == G_MAX_EXEC {
                    want[c].max(r[c])
                } else {
                    want[c].wrapping_add(r[c])
                };
            }
        }
        if want != all {
            return Err(format!(
                "all row {all:?} is not the sum/max of the CPU rows {want:?}"
            ));
        }
        Ok(GlobalStat { cpus, all })
    }

    /// Every counter of `self` (each CPU row and `all`) is >= the same
    /// counter of `earlier`; otherwise the first one that went down.
    pub fn not_below(&self, earlier: &GlobalStat) -> Result<(), String> {
        let rows = self
            .cpus
            .iter()
            .zip(&earlier.cpus)
            .enumerate()
            .map(|(i, (a, b))| (format!("cpu{i}"), a, b))
            .chain(std::iter::once((
                "all".to_string(),
                &self.all,
                &earlier.all,
            )));
        for (name, now, before) in rows {
            for c in 0..G_COLS {
                if now[c] < before[c] {
                    let col = GLOBAL_HEADER.split(' ').nth(c + 1).unwrap_or("?");
                    return Err(format!(
                        "/proc/sched_casio {name} {col} went down: {} -> {}",
                        before[c], now[c]
                    ));
                }
            }
        }
        Ok(())
    }
}

pub fn stat_path(pid: i32) -> String {
    if pid == 0 {
        "/proc/self/sched_casio".to_string()
    } else {
        format!("/proc/{pid}/sched_casio")
    }
}

pub fn read_stat_path(path: &str) -> Result<TaskStat, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read {path}: {e}"))?;
    TaskStat::parse(&text).map_err(|e| format!("{path}: {e}"))
}

/// `/proc/PID/sched_casio` (0: self).
pub fn read_stat(pid: i32) -> Result<TaskStat, String> {
    read_stat_path(&stat_path(pid))
}

pub fn read_global() -> Result<GlobalStat, String> {
    let text = std::fs::read_to_string("/proc/sched_casio")
        .map_err(|e| format!("read /proc/sched_casio: {e}"))?;
    GlobalStat::parse(&text, possible_cpus()?.len()).map_err(|e| format!("/proc/sched_casio: {e}"))
}

/// Check the invariants every snapshot of a CASIO task must satisfy.
pub fn stat_invariants(f: &mut Fails, what: &str, s: &TaskStat, d: u64) {
    f.eq(&format!("{what}: policy"), s.policy(), "casio");
    f.eq(
        &format!("{what}: job_deadline_ns - job_release_ns"),
        s.n("job_deadline_ns").wrapping_sub(s.n("job_release_ns")),
        d,
    );
    let (rel, comp, w) = (
        s.n("jobs_released"),
        s.n("jobs_completed"),
        s.n("waiting_release"),
    );
    let want = if w == 1 { rel } else { rel.wrapping_sub(1) };
    f.check(w <= 1 && comp == want, || {
        format!(
            "{what}: waiting_release {w} with jobs_released {rel}, jobs_completed {comp} (want completed = released{})",
            if w == 1 { "" } else { " - 1" }
        )
    });
    f.check(s.n("deadline_misses") <= rel, || {
        format!("{what}: more misses than jobs: {}", s.brief())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MS;

    const SAMPLE: &str = "policy: casio\ncasio_id: 0\nruntime_ns: 20000000\ndeadline_ns: 100000000\nperiod_ns: 100000000\njob_release_ns: 5000\njob_deadline_ns: 100005000\nwaiting_release: 1\nbudget: 0\noverrun_signal: 0\nreserved: 1\njobs_released: 3\njobs_completed: 3\ndeadline_misses: 0\nmax_lateness_ns: 0\ntotal_exec_ns: 60000000\nmax_job_exec_ns: 20000000\nruntime_overruns: 0\n";

    #[test]
    fn task_stat_parse() {
        let s = TaskStat::parse(SAMPLE).unwrap();
        assert_eq!(s.policy(), "casio");
        assert_eq!(s.get("job_deadline_ns"), Ok(100_005_000));
        assert_eq!(s.n("waiting_release"), 1);
        let mut f = Fails::default();
        stat_invariants(&mut f, "x", &s, 100 * MS);
        assert!(f.0.is_empty(), "{:?}", f.0);
        stat_invariants(&mut f, "x", &s, 50 * MS);
        assert_eq!(f.0.len(), 1);
        assert!(TaskStat::parse(&SAMPLE.replace("casio\n", "fifo\n")).is_err());
        assert!(TaskStat::parse(&SAMPLE.replace("jobs_released: 3", "jobs_released: x")).is_err());
        assert!(TaskStat::parse(&SAMPLE.replace("casio_id: 0\n", "")).is_err());
        assert!(TaskStat::parse("policy casio\n").is_err());
        let other = SAMPLE.replace("casio\n", "other\n");
        assert_eq!(TaskStat::parse(&other).unwrap().policy(), "other");
    }

    #[test]
    fn global_parse() {
        let t = format!(
            "{GLOBAL_HEADER}\ncpu0 5 4 1 7 100 60 1 2\ncpu1 2 2 0 9 50 70 0 3\nall 7 6 1 9 150 70 1 5\n"
        );
        let g = GlobalStat::parse(&t, 2).unwrap();
        assert_eq!(g.all, [7, 6, 1, 9, 150, 70, 1, 5]);
        assert_eq!(g.cpus[1][G_CAP_THROTTLES], 3);
        assert_eq!(g.cpus[1][G_MAX_EXEC], 70);
        assert!(GlobalStat::parse(&t, 3).is_err());
        assert!(GlobalStat::parse(&t.replace("all 7", "all 8"), 2).is_err());
        assert!(GlobalStat::parse(&t.replace("cpu1", "cpu2"), 2).is_err());
        assert!(GlobalStat::parse(&t.replace("cpu jobs", "cpu job"), 2).is_err());
        let t2 = t
            .replace("cpu1 2 2 0 9 50 70", "cpu1 3 2 0 9 50 70")
            .replace("all 7 6", "all 8 6");
        let g2 = GlobalStat::parse(&t2, 2).unwrap();
        assert!(g2.not_below(&g).is_ok());
        let e = g.not_below(&g2).unwrap_err();
        assert!(e.contains("cpu1 jobs_released"), "{e}");
    }
}
