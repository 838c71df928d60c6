//! The CASIO event log as casioctl shows it: CSV and text renderings of
//! the events [`casio_abi::event`] parses, and a check of the recorded
//! schedule against EDF.

pub use casio_abi::event::{parse, Event, Kind, ParseError, TaskRef, PROC_CASIO_EVENT};

/// One event as a CSV row: the event's fields flattened, empty where
/// the kind has none.
#[derive(serde::Serialize)]
struct CsvRow<'a> {
    action: u32,
    kind: &'static str,
    timestamp_ns: u64,
    cpu: Option<u32>,
    id: Option<i64>,
    pid: Option<i64>,
    abs_deadline_ns: Option<u64>,
    prev_id: Option<i64>,
    prev_pid: Option<i64>,
    next_id: Option<i64>,
    next_pid: Option<i64>,
    message: &'a str,
}

impl<'a> From<&'a Event> for CsvRow<'a> {
    fn from(e: &'a Event) -> Self {
        CsvRow {
            action: e.kind.action(),
            kind: e.kind.name(),
            timestamp_ns: e.ts_ns,
            cpu: e.cpu,
            id: e.task.map(|t| t.id),
            pid: e.task.map(|t| t.pid),
            abs_deadline_ns: e.abs_deadline_ns,
            prev_id: e.prev.map(|t| t.id),
            prev_pid: e.prev.map(|t| t.pid),
            next_id: e.next.map(|t| t.id),
            next_pid: e.next.map(|t| t.pid),
            message: &e.message,
        }
    }
}

/// Render as CSV (`action,kind,timestamp_ns,cpu,id,pid,abs_deadline_ns,prev_id,prev_pid,next_id,next_pid,message`).
pub fn to_csv(evs: &[Event]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for e in evs {
        // Writing plain fields into memory cannot fail.
        w.serialize(CsvRow::from(e)).expect("CSV row");
    }
    if evs.is_empty() {
        // The header comes with the first row; an empty trace has it too.
        w.write_record([
            "action",
            "kind",
            "timestamp_ns",
            "cpu",
            "id",
            "pid",
            "abs_deadline_ns",
            "prev_id",
            "prev_pid",
            "next_id",
            "next_pid",
            "message",
        ])
        .expect("CSV header");
    }
    let bytes = w.into_inner().expect("CSV flush");
    String::from_utf8(bytes).expect("CSV of UTF-8 fields")
}

/// What [`edf_check`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EdfCheck {
    /// Switches to a CASIO task whose queue was known.
    pub checked: usize,
    /// Switches to a task the trace never saw queued (before the trace).
    pub unknown: usize,
    /// Lost-event markers in the trace.
    pub lost: usize,
    /// One line per switch to a task that was not the earliest.
    pub violations: Vec<String>,
}

/// Checks that every switch to a CASIO task picked the earliest deadline
/// among the CASIO tasks queued on that CPU, rebuilding each CPU's queue
/// from the enqueue and dequeue events (whose deadline is the queue key).
/// Ties are allowed. Switches to a task not seen queued are counted as
/// unknown; a lost-events marker makes the queues unknown again.
pub fn edf_check(evs: &[Event]) -> EdfCheck {
    use std::collections::{BTreeMap, HashMap};
    let mut r = EdfCheck::default();
    let mut queues: BTreeMap<u32, HashMap<i64, u64>> = BTreeMap::new();
    for e in evs {
        match e.kind {
            Kind::Message if e.message.contains(" lost ") => {
                r.lost += 1;
                queues.clear();
            }
            Kind::Enqueue | Kind::Dequeue => {
                let (Some(cpu), Some(t), Some(dl)) = (e.cpu, e.task, e.abs_deadline_ns) else {
                    continue;
                };
                let q = queues.entry(cpu).or_default();
                if e.kind == Kind::Enqueue {
                    q.insert(t.pid, dl);
                } else {
                    q.remove(&t.pid);
                }
            }
            Kind::Switch => {
                let (Some(cpu), Some(next)) = (e.cpu, e.next) else {
                    continue;
                };
                if next.pid < 0 {
                    continue;
                }
                let q = queues.entry(cpu).or_default();
                let Some(&key) = q.get(&next.pid) else {
                    r.unknown += 1;
                    continue;
                };
                r.checked += 1;
                if let Some((&pid, &min)) = q.iter().min_by_key(|(_, &d)| d) {
                    if key > min {
                        r.violations.push(format!(
                            "at {} ns on CPU {cpu}: switched to pid {} (deadline {key}) while pid {pid} (deadline {min}) was queued",
                            e.ts_ns, next.pid
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    r
}

/// Human-readable one line per event.
pub fn to_text(evs: &[Event]) -> String {
    let mut s = String::new();
    for e in evs {
        let t = e.ts_ns as f64 / 1e9;
        let body = match e.kind {
            Kind::Message => e.message.clone(),
            Kind::Switch => {
                let r = |x: Option<TaskRef>| match x {
                    Some(t) if t.is_casio() => format!("casio {}:{}", t.id, t.pid),
                    Some(t) => format!("non-casio (pid {})", t.pid),
                    None => "?".into(),
                };
                format!(
                    "cpu {} switch {} -> {}",
                    e.cpu.unwrap_or(0),
                    r(e.prev),
                    r(e.next)
                )
            }
            _ => {
                let t = e.task.unwrap_or(TaskRef { id: -1, pid: -1 });
                format!(
                    "cpu {} {} task {}:{} abs deadline {}",
                    e.cpu.unwrap_or(0),
                    e.kind.name(),
                    t.id,
                    t.pid,
                    e.abs_deadline_ns.unwrap_or(0)
                )
            }
        };
        s.push_str(&format!("{t:>16.9} {body}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use casio_abi::event::samples;

    use super::*;

    #[test]
    fn edf_check_of_ftrace_text() {
        let ev = parse(samples::FTRACE).unwrap();
        let r = edf_check(&ev);
        assert_eq!((r.checked, r.violations.len()), (1, 0));
    }

    #[test]
    fn edf_check_finds_inversions() {
        let ok = parse(samples::PROC).unwrap();
        let r = edf_check(&ok);
        assert_eq!((r.checked, r.unknown, r.lost), (3, 0, 0), "{r:?}");
        assert!(r.violations.is_empty(), "{r:?}");
        // Pid 100 (deadline 11 ms) runs while pid 101 (7 ms) is queued.
        let bad =
            parse("1,1,0:1:100:11000000\n1,2,0:2:101:7000000\n3,3,0:prev->(-1:-1),next->(1:100)\n")
                .unwrap();
        let r = edf_check(&bad);
        assert_eq!(r.checked, 1);
        assert_eq!(r.violations.len(), 1);
        assert!(r.violations[0].contains("pid 101"), "{r:?}");
        // Equal deadlines are no inversion; other CPUs do not count; a
        // dequeued task does not count; a lost marker forgets the queues.
        let fine = parse(
            "1,1,0:1:100:7000000\n1,2,0:2:101:7000000\n1,3,1:3:102:1\n3,4,0:prev->(-1:-1),next->(1:100)\n2,5,0:1:100:7000000\n1,6,0:4:103:1\n2,7,0:4:103:1\n3,8,0:prev->(1:100),next->(2:101)\n4,9,cpu0 lost 5 events\n3,10,0:prev->(2:101),next->(1:100)\n",
        )
        .unwrap();
        let r = edf_check(&fine);
        assert_eq!((r.checked, r.unknown, r.lost), (2, 1, 1), "{r:?}");
        assert!(r.violations.is_empty(), "{r:?}");
    }

    #[test]
    fn csv_and_json_roundtrip() {
        let ev = parse(samples::PROC).unwrap();
        let csv = to_csv(&ev);
        assert_eq!(csv.lines().count(), ev.len() + 1);
        assert!(csv.contains("4,message,2500000,,,,,,,,,\"hello, world\""));
        assert!(csv.contains("3,switch,1000200,0,,,,-1,-1,1,100,"));
        let j = serde_json::to_string(&ev).unwrap();
        let back: Vec<Event> = serde_json::from_str(&j).unwrap();
        assert_eq!(back, ev);
        let txt = to_text(&ev);
        assert_eq!(txt.lines().count(), ev.len());
        assert_eq!(
            to_csv(&[]),
            "action,kind,timestamp_ns,cpu,id,pid,abs_deadline_ns,prev_id,prev_pid,next_id,next_pid,message\n"
        );
        assert!(csv.starts_with(&to_csv(&[])));
    }
}
