//! Parser for `/proc/casio_event`, the CASIO kernel's event log, and for
//! ftrace text of the `sched_casio_*` tracepoints.
//!
//! One event per line: `action,timestamp_ns,message` where action is
//! 1 enqueue, 2 dequeue, 5 release, 6 job end, 7 miss, 8 throttle (message
//! `CPU:ID:PID:ABSDL`), 3 switch (`CPU:prev->(ID:PID),next->(ID:PID)`, -1
//! for a non-CASIO task) or 4 free text.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// Where the kernel exports the event log.
pub const PROC_CASIO_EVENT: &str = "/proc/casio_event";

/// Event kinds (the numeric `action` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Kind {
    /// 1
    Enqueue,
    /// 2
    Dequeue,
    /// 3
    Switch,
    /// 4
    Message,
    /// 5
    Release,
    /// 6
    JobEnd,
    /// 7
    Miss,
    /// 8
    Throttle,
}

impl Kind {
    /// From the action number.
    pub fn from_action(a: u32) -> Option<Kind> {
        Some(match a {
            1 => Kind::Enqueue,
            2 => Kind::Dequeue,
            3 => Kind::Switch,
            4 => Kind::Message,
            5 => Kind::Release,
            6 => Kind::JobEnd,
            7 => Kind::Miss,
            8 => Kind::Throttle,
            _ => return None,
        })
    }

    /// The action number.
    pub fn action(self) -> u32 {
        match self {
            Kind::Enqueue => 1,
            Kind::Dequeue => 2,
            Kind::Switch => 3,
            Kind::Message => 4,
            Kind::Release => 5,
            Kind::JobEnd => 6,
            Kind::Miss => 7,
            Kind::Throttle => 8,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Enqueue => "enqueue",
            Kind::Dequeue => "dequeue",
            Kind::Switch => "switch",
            Kind::Message => "message",
            Kind::Release => "release",
            Kind::JobEnd => "jobend",
            Kind::Miss => "miss",
            Kind::Throttle => "throttle",
        }
    }
}

/// A task reference `(ID:PID)`; -1 marks a non-CASIO task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct TaskRef {
    /// casio_id (-1: not CASIO)
    pub id: i64,
    /// pid (-1: not CASIO / idle)
    pub pid: i64,
}

impl TaskRef {
    /// Whether this is a CASIO task.
    pub fn is_casio(&self) -> bool {
        self.id >= 0 && self.pid >= 0
    }
}

/// One parsed event.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Event {
    /// What happened.
    pub kind: Kind,
    /// Kernel timestamp (ns).
    pub ts_ns: u64,
    /// CPU (not for messages).
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "Option::is_none", default)
    )]
    pub cpu: Option<u32>,
    /// The task (enqueue, dequeue, release, job end, miss, throttle).
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "Option::is_none", default)
    )]
    pub task: Option<TaskRef>,
    /// Absolute deadline (ns) for task events.
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "Option::is_none", default)
    )]
    pub abs_deadline_ns: Option<u64>,
    /// Switch: previous task.
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "Option::is_none", default)
    )]
    pub prev: Option<TaskRef>,
    /// Switch: next task.
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "Option::is_none", default)
    )]
    pub next: Option<TaskRef>,
    /// Message text (and the raw message for every kind).
    pub message: String,
}

fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{what} '{}' is not a valid number", s.trim()))
}

fn parse_ref(s: &str) -> Result<TaskRef, String> {
    let s = s.trim();
    let inner = s
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| format!("task reference '{s}' is not of the form (ID:PID)"))?;
    let (id, pid) = inner
        .split_once(':')
        .ok_or_else(|| format!("task reference '{s}' is not of the form (ID:PID)"))?;
    Ok(TaskRef {
        id: num(id, "task id")?,
        pid: num(pid, "pid")?,
    })
}

/// Parse one line (without its number).
pub fn parse_line(line: &str) -> Result<Event, String> {
    let mut parts = line.splitn(3, ',');
    let action = parts.next().unwrap_or("").trim();
    let ts = parts
        .next()
        .ok_or("expected 'action,timestamp_ns,message'")?;
    let msg = parts
        .next()
        .ok_or("expected 'action,timestamp_ns,message' (no message field)")?;
    let a: u32 = num(action, "action")?;
    let kind = Kind::from_action(a).ok_or_else(|| format!("unknown action {a} (expected 1-8)"))?;
    let ts_ns: u64 = num(ts, "timestamp")?;
    let mut ev = Event {
        kind,
        ts_ns,
        cpu: None,
        task: None,
        abs_deadline_ns: None,
        prev: None,
        next: None,
        message: msg.trim().to_string(),
    };
    match kind {
        Kind::Message => {}
        Kind::Switch => {
            // CPU:prev->(ID:PID),next->(ID:PID)
            let m = msg.trim();
            let (cpu, rest) = m
                .split_once(':')
                .ok_or("switch message is not 'CPU:prev->(ID:PID),next->(ID:PID)'")?;
            let (p, n) = rest
                .split_once(',')
                .ok_or("switch message is not 'CPU:prev->(ID:PID),next->(ID:PID)'")?;
            let p = p
                .trim()
                .strip_prefix("prev->")
                .ok_or("switch message lacks 'prev->'")?;
            let n = n
                .trim()
                .strip_prefix("next->")
                .ok_or("switch message lacks 'next->'")?;
            ev.cpu = Some(num(cpu, "cpu")?);
            ev.prev = Some(parse_ref(p)?);
            ev.next = Some(parse_ref(n)?);
        }
        _ => {
            let f: Vec<&str> = msg.trim().split(':').collect();
            if f.len() != 4 {
                return Err(format!(
                    "{} message '{}' is not CPU:ID:PID:ABSDL",
                    kind.name(),
                    msg.trim()
                ));
            }
            ev.cpu = Some(num(f[0], "cpu")?);
            ev.task = Some(TaskRef {
                id: num(f[1], "task id")?,
                pid: num(f[2], "pid")?,
            });
            ev.abs_deadline_ns = Some(num(f[3], "absolute deadline")?);
        }
    }
    Ok(ev)
}

/// Nanoseconds from ftrace's `SECONDS.FRACTION` timestamp.
fn parse_secs(s: &str) -> Result<u64, String> {
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 9 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("timestamp '{s}' is not SECONDS.FRACTION"));
    }
    let sec: u64 = num(sec, "timestamp")?;
    let frac: u64 = if frac.is_empty() {
        0
    } else {
        num::<u64>(frac, "timestamp")? * 10u64.pow(9 - frac.len() as u32)
    };
    Ok(sec * 1_000_000_000 + frac)
}

/// Parse one line of ftrace text (tracefs `trace`, `trace-cmd report`)
/// that holds a `sched_casio_*` event.
fn parse_ftrace_line(line: &str) -> Result<Event, String> {
    let at = line
        .find(" sched_casio_")
        .ok_or("no sched_casio_ event in the line")?;
    let (name, fields) = line[at + 1..]
        .split_once(':')
        .ok_or("expected 'sched_casio_NAME: fields'")?;
    let ts = line[..at]
        .split_whitespace()
        .last()
        .and_then(|t| t.strip_suffix(':'))
        .ok_or("no 'SECONDS.FRACTION:' timestamp before the event name")?;
    let kv: std::collections::HashMap<&str, &str> = fields
        .split_whitespace()
        .filter_map(|f| f.split_once('='))
        .collect();
    let field = |k: &str| -> Result<i64, String> {
        let v = kv
            .get(k)
            .ok_or_else(|| format!("{name} has no field {k}"))?;
        num(v, k)
    };
    let kind = match name {
        "sched_casio_enqueue" => Kind::Enqueue,
        "sched_casio_dequeue" => Kind::Dequeue,
        "sched_casio_switch" => Kind::Switch,
        "sched_casio_release" => Kind::Release,
        "sched_casio_job_end" => Kind::JobEnd,
        "sched_casio_miss" => Kind::Miss,
        "sched_casio_throttle" => Kind::Throttle,
        _ => return Err(format!("unknown event {name}")),
    };
    let mut ev = Event {
        kind,
        ts_ns: parse_secs(ts)?,
        cpu: Some(field("cpu")? as u32),
        task: None,
        abs_deadline_ns: None,
        prev: None,
        next: None,
        message: fields.trim().to_string(),
    };
    if kind == Kind::Switch {
        ev.prev = Some(TaskRef {
            id: field("prev_casio_id")?,
            pid: match field("prev_casio_id")? {
                id if id >= 0 => field("prev_pid")?,
                _ => -1,
            },
        });
        ev.next = Some(TaskRef {
            id: field("next_casio_id")?,
            pid: field("next_pid")?,
        });
    } else {
        ev.task = Some(TaskRef {
            id: field("casio_id")?,
            pid: field("pid")?,
        });
        ev.abs_deadline_ns = Some(field("deadline")? as u64);
    }
    Ok(ev)
}

/// A line of a dump that is no event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Its number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub msg: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for ParseError {}

/// Parse a whole dump: `/proc/casio_event` lines, or ftrace text with
/// `sched_casio_*` events (tracefs `trace` or `trace-cmd report`, recorded
/// with the `mono` trace clock so that times match the deadlines), whose
/// other lines are skipped. Blank lines are skipped; errors carry line
/// numbers.
pub fn parse(text: &str) -> Result<Vec<Event>, ParseError> {
    let mut out = Vec::new();
    if text.lines().any(|l| l.contains(": sched_casio_")) {
        for (i, l) in text.lines().enumerate() {
            if l.trim_start().starts_with('#') || !l.contains(": sched_casio_") {
                continue;
            }
            out.push(parse_ftrace_line(l).map_err(|msg| ParseError { line: i + 1, msg })?);
        }
        return Ok(out);
    }
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        out.push(parse_line(l).map_err(|msg| ParseError { line: i + 1, msg })?);
    }
    Ok(out)
}

/// Sample dumps for the tests of this parser and of its users.
#[doc(hidden)]
pub mod samples {
    /// A `/proc/casio_event` dump with every kind of event, two tasks on
    /// CPU 0, a miss and a throttle on CPU 1.
    pub const PROC: &str = "\
5,1000000,0:1:100:11000000
1,1000100,0:1:100:11000000
3,1000200,0:prev->(-1:-1),next->(1:100)
5,2000000,0:2:101:7000000
1,2000050,0:2:101:7000000
3,2000100,0:prev->(1:100),next->(2:101)
4,2500000,hello, world
6,4000000,0:2:101:7000000
2,4000001,0:2:101:7000000
3,4000100,0:prev->(2:101),next->(1:100)
7,11000000,0:1:100:11000000
6,12000000,0:1:100:11000000
3,12000100,0:prev->(1:100),next->(-1:-1)
8,12500000,1:3:102:13000000
";

    /// tracefs `trace` text: a header, three `sched_casio_*` events and an
    /// event of another subsystem.
    pub const FTRACE: &str = "\
# tracer: nop
#
  casio-tests-52  [000] d..2.   12.345678: sched_casio_release: cpu=0 pid=52 casio_id=3 deadline=12395678000
  casio-tests-52  [000] d..2.   12.345679: sched_casio_enqueue: cpu=0 pid=52 casio_id=3 deadline=12395678000
          <idle>-0 [000] d..2.   12.3457: sched_casio_switch: cpu=0 prev_pid=0 prev_casio_id=-1 next_pid=52 next_casio_id=3 next_deadline=12395678000
  casio-tests-52  [000] d..2.   12.400000: sched_switch: prev_comm=x prev_pid=52
";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sample() {
        let ev = parse(samples::PROC).unwrap();
        assert_eq!(ev.len(), 14);
        assert_eq!(ev[0].kind, Kind::Release);
        assert_eq!(ev[0].ts_ns, 1_000_000);
        assert_eq!(ev[0].cpu, Some(0));
        assert_eq!(ev[0].task, Some(TaskRef { id: 1, pid: 100 }));
        assert_eq!(ev[0].abs_deadline_ns, Some(11_000_000));
        assert_eq!(ev[2].kind, Kind::Switch);
        assert_eq!(ev[2].prev, Some(TaskRef { id: -1, pid: -1 }));
        assert!(!ev[2].prev.unwrap().is_casio());
        assert_eq!(ev[2].next, Some(TaskRef { id: 1, pid: 100 }));
        assert_eq!(ev[6].kind, Kind::Message);
        assert_eq!(ev[6].message, "hello, world");
        assert_eq!(ev[10].kind, Kind::Miss);
        assert_eq!(ev[13].kind, Kind::Throttle);
        assert_eq!(ev[13].cpu, Some(1));
        for (k, a) in ev.iter().map(|e| (e.kind, e.kind.action())) {
            assert_eq!(Kind::from_action(a), Some(k));
        }
    }

    #[test]
    fn parses_ftrace_text() {
        let ev = parse(samples::FTRACE).unwrap();
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0].kind, Kind::Release);
        assert_eq!(ev[0].ts_ns, 12_345_678_000);
        assert_eq!(ev[0].task, Some(TaskRef { id: 3, pid: 52 }));
        assert_eq!(ev[0].abs_deadline_ns, Some(12_395_678_000));
        assert_eq!(ev[2].kind, Kind::Switch);
        assert_eq!(ev[2].ts_ns, 12_345_700_000);
        assert_eq!(ev[2].prev, Some(TaskRef { id: -1, pid: -1 }));
        assert_eq!(ev[2].next, Some(TaskRef { id: 3, pid: 52 }));
        let e = parse("x  1.5: sched_casio_miss: cpu=0 pid=1\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 1:") && e.contains("casio_id"), "{e}");
    }

    #[test]
    fn errors_have_line_numbers() {
        let e = parse("5,1,0:1:2:3\n\n9,1,x\n").unwrap_err().to_string();
        assert!(
            e.starts_with("line 3:") && e.contains("unknown action 9"),
            "{e}"
        );
        let e = parse("1,abc,0:1:2:3\n").unwrap_err().to_string();
        assert!(e.starts_with("line 1:") && e.contains("timestamp"), "{e}");
        let e = parse("1,5,0:1:2\n").unwrap_err().to_string();
        assert!(e.contains("CPU:ID:PID:ABSDL"), "{e}");
        let e = parse("5,1,0:1:2:3\n3,5,0:prev->(1:2)\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 2:"), "{e}");
        let e = parse("3,5,0:prev->1:2,next->(1:2)\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("(ID:PID)"), "{e}");
        let e = parse("1\n").unwrap_err().to_string();
        assert!(e.starts_with("line 1:"), "{e}");
        let e = parse("4,1,a\n\n1\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.msg.starts_with("expected"), "{e:?}");
    }
}
