//! Periodic task-set files: TOML, JSON and the 2011 `casio_system` format.
//!
//! TOML (`.toml`):
//! ```toml
//! duration = "3s"          # optional, overridden by --duration
//! [[task]]
//! name = "a"               # optional (default t<N>)
//! id = 1                   # optional casio_id (default: 1-based index)
//! runtime = "20ms"         # C: CPU time burnt per job
//! deadline = "100ms"       # D: relative deadline
//! period = "100ms"         # T: optional, default D
//! offset = "0ms"           # optional first-release offset from T0
//! ```
//! JSON (`.json`): the same keys, `{"duration": "3s", "task": [{...}]}`
//! (`tasks` is accepted too). Any other extension is the casio_system
//! format: the first line is the run time in seconds, then one task per
//! line: id, min exec, max exec, min inter-arrival, max inter-arrival,
//! relative deadline, min offset, max offset (ms, whitespace separated).

use serde::Deserialize;

use crate::duration::{format_ns, parse_duration};

/// One periodic task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskSpec {
    /// Display name.
    pub name: String,
    /// casio_id.
    pub id: u32,
    /// C (ns).
    pub runtime: u64,
    /// D (ns).
    pub deadline: u64,
    /// T (ns).
    pub period: u64,
    /// First release, relative to T0 (ns).
    pub offset: u64,
}

impl TaskSpec {
    /// C / T.
    pub fn utilization(&self) -> f64 {
        self.runtime as f64 / self.period as f64
    }
}

/// A task set and its run time.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSet {
    /// Run time from the file, if it gives one (ns).
    pub duration: Option<u64>,
    /// The tasks.
    pub tasks: Vec<TaskSpec>,
}

impl TaskSet {
    /// Sum of C/T.
    pub fn utilization(&self) -> f64 {
        self.tasks.iter().map(|t| t.utilization()).sum()
    }
}

/// A duration as written in TOML/JSON: a string with unit, or 0.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum DurVal {
    Str(String),
    Int(i64),
    Float(f64),
}

fn dur(v: &DurVal, what: &str) -> Result<u64, String> {
    match v {
        DurVal::Str(s) => parse_duration(s).map_err(|e| format!("{what}: {e}")),
        DurVal::Int(0) => Ok(0),
        DurVal::Int(n) => Err(format!(
            "{what}: {n} has no unit: write it as a string, e.g. \"{n}ms\""
        )),
        DurVal::Float(f) => Err(format!(
            "{what}: {f} has no unit: write it as a string, e.g. \"{f}ms\""
        )),
    }
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileTask {
    name: Option<String>,
    id: Option<u32>,
    runtime: DurVal,
    deadline: DurVal,
    period: Option<DurVal>,
    offset: Option<DurVal>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileSet {
    duration: Option<DurVal>,
    #[serde(alias = "tasks", default)]
    task: Vec<FileTask>,
}

fn from_fileset(f: FileSet) -> Result<TaskSet, String> {
    let duration = match &f.duration {
        Some(d) => Some(dur(d, "duration")?),
        None => None,
    };
    let mut tasks = Vec::new();
    for (i, t) in f.task.iter().enumerate() {
        let label = match &t.name {
            Some(n) => format!("task {} ('{n}')", i + 1),
            None => format!("task {}", i + 1),
        };
        let runtime = dur(&t.runtime, &format!("{label} runtime"))?;
        let deadline = dur(&t.deadline, &format!("{label} deadline"))?;
        let period = match &t.period {
            Some(p) => dur(p, &format!("{label} period"))?,
            None => deadline,
        };
        let offset = match &t.offset {
            Some(o) => dur(o, &format!("{label} offset"))?,
            None => 0,
        };
        let spec = TaskSpec {
            name: t.name.clone().unwrap_or_else(|| format!("t{}", i + 1)),
            id: t.id.unwrap_or(i as u32 + 1),
            runtime,
            deadline,
            period,
            offset,
        };
        check_task(&spec).map_err(|e| format!("{label}: {e}"))?;
        tasks.push(spec);
    }
    finish(TaskSet { duration, tasks })
}

fn finish(ts: TaskSet) -> Result<TaskSet, String> {
    if ts.tasks.is_empty() {
        return Err("the task set has no tasks".into());
    }
    if ts.tasks.len() > MAX_TASKS {
        return Err(format!(
            "the task set has {} tasks; at most {MAX_TASKS} are supported",
            ts.tasks.len()
        ));
    }
    Ok(ts)
}

/// Most tasks in one set.
pub const MAX_TASKS: usize = 64;

/// Basic sanity of one task (the kernel's own rule is checked separately
/// for the policy in use).
pub fn check_task(t: &TaskSpec) -> Result<(), String> {
    if t.runtime == 0 {
        return Err("runtime must be > 0".into());
    }
    if t.deadline == 0 {
        return Err("deadline must be > 0".into());
    }
    if t.runtime > t.deadline {
        return Err(format!(
            "runtime {} is larger than deadline {} (need C <= D)",
            format_ns(t.runtime),
            format_ns(t.deadline)
        ));
    }
    if t.deadline > t.period {
        return Err(format!(
            "deadline {} is larger than period {} (need D <= T)",
            format_ns(t.deadline),
            format_ns(t.period)
        ));
    }
    Ok(())
}

/// Parse TOML text.
pub fn parse_toml(text: &str) -> Result<TaskSet, String> {
    let f: FileSet = toml::from_str(text).map_err(|e| {
        let msg = e.message().to_string();
        match e.span() {
            Some(sp) => format!("line {}: {msg}", line_of(text, sp.start)),
            None => msg,
        }
    })?;
    from_fileset(f)
}

/// Parse JSON text.
pub fn parse_json(text: &str) -> Result<TaskSet, String> {
    let f: FileSet = serde_json::from_str(text)
        .map_err(|e| format!("line {}: {}", e.line(), strip_json_pos(&e.to_string())))?;
    from_fileset(f)
}

fn strip_json_pos(s: &str) -> String {
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

fn ms_to_ns(field: &str, v: &str, line: usize) -> Result<u64, String> {
    let f: f64 = v
        .parse()
        .map_err(|_| format!("line {line}: {field} '{v}' is not a number (milliseconds)"))?;
    if !f.is_finite() || f < 0.0 {
        return Err(format!(
            "line {line}: {field} '{v}' must be a non-negative number of milliseconds"
        ));
    }
    if f > 1e9 {
        return Err(format!("line {line}: {field} '{v}' is too large"));
    }
    Ok((f * 1e6).round() as u64)
}

/// Parse the 2011 casio_system format (see the module doc).
pub fn parse_casio_system(text: &str) -> Result<TaskSet, String> {
    let mut duration = None;
    let mut tasks = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.split('#').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        if duration.is_none() {
            if f.len() != 1 {
                return Err(format!(
                    "line {line}: the first line must hold only the run time in seconds, found {} fields",
                    f.len()
                ));
            }
            let s: f64 = f[0].parse().map_err(|_| {
                format!(
                    "line {line}: run time '{}' is not a number of seconds",
                    f[0]
                )
            })?;
            if !s.is_finite() || s <= 0.0 || s > 1e6 {
                return Err(format!(
                    "line {line}: run time '{}' must be a positive number of seconds",
                    f[0]
                ));
            }
            duration = Some((s * 1e9).round() as u64);
            continue;
        }
        if f.len() != 8 {
            return Err(format!(
                "line {line}: expected 8 fields (id, min exec, max exec, min inter-arrival, max inter-arrival, deadline, min offset, max offset), found {}",
                f.len()
            ));
        }
        let id: u32 = f[0].parse().map_err(|_| {
            format!(
                "line {line}: task id '{}' is not a non-negative integer",
                f[0]
            )
        })?;
        let min_exec = ms_to_ns("min exec", f[1], line)?;
        let max_exec = ms_to_ns("max exec", f[2], line)?;
        let min_ia = ms_to_ns("min inter-arrival", f[3], line)?;
        let max_ia = ms_to_ns("max inter-arrival", f[4], line)?;
        let deadline = ms_to_ns("deadline", f[5], line)?;
        let min_off = ms_to_ns("min offset", f[6], line)?;
        let max_off = ms_to_ns("max offset", f[7], line)?;
        if min_exec > max_exec {
            return Err(format!(
                "line {line}: min exec {} > max exec {}",
                f[1], f[2]
            ));
        }
        if min_ia > max_ia {
            return Err(format!(
                "line {line}: min inter-arrival {} > max inter-arrival {}",
                f[3], f[4]
            ));
        }
        if min_off > max_off {
            return Err(format!(
                "line {line}: min offset {} > max offset {}",
                f[6], f[7]
            ));
        }
        let spec = TaskSpec {
            name: format!("t{id}"),
            id,
            runtime: max_exec,
            deadline,
            period: min_ia,
            offset: min_off,
        };
        check_task(&spec).map_err(|e| format!("line {line}: task {id}: {e}"))?;
        tasks.push(spec);
    }
    if duration.is_none() {
        return Err("line 1: empty file: expected the run time in seconds".into());
    }
    finish(TaskSet { duration, tasks })
}

/// Which format a file name selects.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Format {
    /// `.toml`
    Toml,
    /// `.json`
    Json,
    /// anything else
    CasioSystem,
}

/// The format for a path, by extension.
pub fn format_for(path: &str) -> Format {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".toml") {
        Format::Toml
    } else if lower.ends_with(".json") {
        Format::Json
    } else {
        Format::CasioSystem
    }
}

/// Parse text in the given format.
pub fn parse(text: &str, fmt: Format) -> Result<TaskSet, String> {
    match fmt {
        Format::Toml => parse_toml(text),
        Format::Json => parse_json(text),
        Format::CasioSystem => parse_casio_system(text),
    }
}

/// Why a task-set file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid task set (the message names the line).
    #[error("{path}: {msg}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, and where.
        msg: String,
    },
}

/// Read and parse a task-set file; errors name the file.
pub fn load(path: &str) -> Result<TaskSet, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.into(),
        source,
    })?;
    parse(&text, format_for(path)).map_err(|msg| LoadError::Parse {
        path: path.into(),
        msg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn toml_ok() {
        let ts = parse_toml(
            r#"
duration = "3s"
[[task]]
name = "a"
runtime = "20ms"
deadline = "100ms"
period = "100ms"
[[task]]
runtime = "1.5ms"
deadline = "10ms"
id = 42
offset = "5ms"
"#,
        )
        .unwrap();
        assert_eq!(ts.duration, Some(3000 * MS));
        assert_eq!(ts.tasks.len(), 2);
        assert_eq!(
            ts.tasks[0],
            TaskSpec {
                name: "a".into(),
                id: 1,
                runtime: 20 * MS,
                deadline: 100 * MS,
                period: 100 * MS,
                offset: 0
            }
        );
        assert_eq!(ts.tasks[1].name, "t2");
        assert_eq!(ts.tasks[1].id, 42);
        assert_eq!(ts.tasks[1].period, 10 * MS);
        assert_eq!(ts.tasks[1].offset, 5 * MS);
        assert!((ts.utilization() - 0.35).abs() < 1e-9);
    }

    #[test]
    fn toml_errors() {
        let e = parse_toml("duration = \"3s\"\n[[task]]\nruntime = \"20ms\"\n").unwrap_err();
        assert!(e.contains("deadline"), "{e}");
        let e = parse_toml("[[task]]\nruntime = 20\ndeadline = \"100ms\"\n").unwrap_err();
        assert!(e.contains("no unit"), "{e}");
        let e = parse_toml("[[task]]\nruntime = \"200ms\"\ndeadline = \"100ms\"\n").unwrap_err();
        assert!(e.contains("C <= D") && e.contains("task 1"), "{e}");
        let e = parse_toml("\n\n[[task]]\nruntime = \"2ms\"\ndeadline = \"10ms\"\nbogus = 1\n")
            .unwrap_err();
        assert!(e.contains("line 6") && e.contains("bogus"), "{e}");
        let e = parse_toml("duration = \"3s\"\n").unwrap_err();
        assert!(e.contains("no tasks"), "{e}");
        let e = parse_toml("[[task]\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn json_ok_and_errors() {
        let ts = parse_json(
            r#"{"duration": "2s", "tasks": [
                {"name": "x", "runtime": "1ms", "deadline": "5ms", "period": "10ms"}]}"#,
        )
        .unwrap();
        assert_eq!(ts.duration, Some(2000 * MS));
        assert_eq!(ts.tasks[0].period, 10 * MS);
        assert_eq!(ts.tasks[0].deadline, 5 * MS);
        let e = parse_json("{\n\"task\": [\n{\"runtime\": \"1ms\", \"deadline\": \"5ms\",}\n]}")
            .unwrap_err();
        assert!(e.starts_with("line 3"), "{e}");
        let e = parse_json(r#"{"task": [{"runtime": "1ms", "deadline": "5ms", "period": "1ms"}]}"#)
            .unwrap_err();
        assert!(e.contains("D <= T"), "{e}");
    }

    #[test]
    fn casio_system_ok() {
        let text = "10\n\
            1\t20\t30\t100\t100\t100\t0\t0\n\
            # comment\n\
            \n\
            2 5 5 50 60 40 10 20\n";
        let ts = parse_casio_system(text).unwrap();
        assert_eq!(ts.duration, Some(10_000 * MS));
        assert_eq!(ts.tasks.len(), 2);
        assert_eq!(
            ts.tasks[0],
            TaskSpec {
                name: "t1".into(),
                id: 1,
                runtime: 30 * MS,
                deadline: 100 * MS,
                period: 100 * MS,
                offset: 0
            }
        );
        assert_eq!(ts.tasks[1].runtime, 5 * MS);
        assert_eq!(ts.tasks[1].period, 50 * MS);
        assert_eq!(ts.tasks[1].deadline, 40 * MS);
        assert_eq!(ts.tasks[1].offset, 10 * MS);
        let ts = parse_casio_system("1.5\n7 0.5 1.25 10 10 10 0 0\n").unwrap();
        assert_eq!(ts.duration, Some(1500 * MS));
        assert_eq!(ts.tasks[0].runtime, 1_250_000);
    }

    #[test]
    fn casio_system_errors() {
        let e = parse_casio_system("10\n1 20 30 100 100 100 0 0\n2 5 5 50\n").unwrap_err();
        assert!(
            e.starts_with("line 3:") && e.contains("expected 8 fields"),
            "{e}"
        );
        let e = parse_casio_system("10\n1 20 x 100 100 100 0 0\n").unwrap_err();
        assert!(e.starts_with("line 2:") && e.contains("max exec"), "{e}");
        let e = parse_casio_system("ten\n").unwrap_err();
        assert!(e.starts_with("line 1:"), "{e}");
        let e = parse_casio_system("# hdr\n\n10\n1 20 30 100 100 200 0 0\n").unwrap_err();
        assert!(e.starts_with("line 4:") && e.contains("D <= T"), "{e}");
        let e = parse_casio_system("10 20\n").unwrap_err();
        assert!(e.starts_with("line 1:"), "{e}");
        let e = parse_casio_system("").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = parse_casio_system("10\n").unwrap_err();
        assert!(e.contains("no tasks"), "{e}");
        let e = parse_casio_system("10\n-1 20 30 100 100 100 0 0\n").unwrap_err();
        assert!(e.starts_with("line 2:") && e.contains("id"), "{e}");
        let e = parse_casio_system("10\n1 40 30 100 100 100 0 0\n").unwrap_err();
        assert!(e.starts_with("line 2:") && e.contains("min exec"), "{e}");
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(format_for("a/b.toml"), Format::Toml);
        assert_eq!(format_for("X.JSON"), Format::Json);
        assert_eq!(format_for("tasks.txt"), Format::CasioSystem);
        assert_eq!(format_for("casio_system"), Format::CasioSystem);
    }
}
