//! CPU-slice recording and ASCII Gantt rendering for the demo.

/// A half-open time interval during which a task was seen running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    /// First reading of the slice (CLOCK_MONOTONIC ns).
    pub start: u64,
    /// Last reading of the slice.
    pub end: u64,
}

/// Builds slices from a stream of CLOCK_MONOTONIC readings taken in a busy
/// loop: a gap larger than `gap_ns` between consecutive readings means the
/// task was not running, so the current slice ends there.
#[derive(Debug)]
pub struct SliceRecorder {
    gap_ns: u64,
    cur: Option<Slice>,
    /// Completed slices.
    pub slices: Vec<Slice>,
}

impl SliceRecorder {
    /// New recorder with the given gap threshold.
    pub fn new(gap_ns: u64) -> Self {
        SliceRecorder {
            gap_ns,
            cur: None,
            slices: Vec::new(),
        }
    }

    /// Feed one reading.
    pub fn observe(&mut self, now: u64) {
        match &mut self.cur {
            Some(s) if now.saturating_sub(s.end) <= self.gap_ns => s.end = now,
            Some(s) => {
                self.slices.push(*s);
                self.cur = Some(Slice {
                    start: now,
                    end: now,
                });
            }
            None => {
                self.cur = Some(Slice {
                    start: now,
                    end: now,
                })
            }
        }
    }

    /// Close the current slice (the task is about to block).
    pub fn close(&mut self) {
        if let Some(s) = self.cur.take() {
            self.slices.push(s);
        }
    }
}

/// Total overlap (ns) of `slices` with [a, b).
pub fn overlap(slices: &[Slice], a: u64, b: u64) -> u64 {
    slices
        .iter()
        .map(|s| s.end.min(b).saturating_sub(s.start.max(a)))
        .sum()
}

/// One Gantt row: `nbuckets` characters, bucket `i` covering
/// [t0 + i*bucket, t0 + (i+1)*bucket): `#` if the task ran at least half
/// of the bucket, `+` if it ran some of it, `.` otherwise.
pub fn gantt_row(slices: &[Slice], t0: u64, bucket_ns: u64, nbuckets: usize) -> String {
    (0..nbuckets)
        .map(|i| {
            let a = t0 + i as u64 * bucket_ns;
            let o = overlap(slices, a, a + bucket_ns);
            if o * 2 >= bucket_ns {
                '#'
            } else if o > 0 {
                '+'
            } else {
                '.'
            }
        })
        .collect()
}

/// Time axis for a Gantt chart: a `|` every `mark_every` buckets with the
/// time in ms written after it, e.g. `|0        |100      |200`.
pub fn gantt_axis(bucket_ns: u64, nbuckets: usize, mark_every: usize) -> String {
    let mut line = vec![b' '; nbuckets];
    let mut i = 0;
    while i < nbuckets {
        line[i] = b'|';
        let label = format!("{}", i as u64 * bucket_ns / 1_000_000);
        for (k, ch) in label.bytes().enumerate() {
            if i + 1 + k < nbuckets && (k + 1) < mark_every {
                line[i + 1 + k] = ch;
            }
        }
        i += mark_every;
    }
    String::from_utf8(line).unwrap()
}

/// The demo's verdict line.  `tasks` are (label, relative deadline in ms,
/// finish time of the first job); returns the line and whether the finish
/// order equals the deadline order.
pub fn finish_order_line(tasks: &[(&str, u64, u64)]) -> (String, bool) {
    let mut by_finish: Vec<usize> = (0..tasks.len()).collect();
    by_finish.sort_by_key(|&i| (tasks[i].2, i));
    let mut by_deadline: Vec<usize> = (0..tasks.len()).collect();
    by_deadline.sort_by_key(|&i| (tasks[i].1, i));
    let ok = by_finish == by_deadline;
    let names: Vec<String> = by_finish
        .iter()
        .map(|&i| format!("{}({}ms)", tasks[i].0, tasks[i].1))
        .collect();
    (
        format!(
            "demo: finish order {} = EDF order: {}",
            names.join(" "),
            if ok { "yes" } else { "no" }
        ),
        ok,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_splits_on_gaps() {
        let mut r = SliceRecorder::new(1_000);
        for t in [100, 200, 300, 5_000, 5_100, 9_000] {
            r.observe(t);
        }
        r.close();
        assert_eq!(
            r.slices,
            vec![
                Slice {
                    start: 100,
                    end: 300
                },
                Slice {
                    start: 5_000,
                    end: 5_100
                },
                Slice {
                    start: 9_000,
                    end: 9_000
                },
            ]
        );
        r.close();
        assert_eq!(r.slices.len(), 3);
    }

    #[test]
    fn rows_and_overlap() {
        let s = [Slice { start: 0, end: 25 }, Slice { start: 42, end: 44 }];
        assert_eq!(overlap(&s, 0, 10), 10);
        assert_eq!(overlap(&s, 20, 50), 7);
        assert_eq!(gantt_row(&s, 0, 10, 6), "###.+.");
        assert_eq!(gantt_axis(10_000_000, 25, 10), "|0        |100      |200 ");
    }

    #[test]
    fn verdict() {
        let (l, ok) = finish_order_line(&[("A", 300, 10), ("B", 600, 20), ("C", 900, 30)]);
        assert!(ok);
        assert_eq!(
            l,
            "demo: finish order A(300ms) B(600ms) C(900ms) = EDF order: yes"
        );
        let (l, ok) = finish_order_line(&[("A", 300, 40), ("B", 600, 20), ("C", 900, 30)]);
        assert!(!ok);
        assert_eq!(
            l,
            "demo: finish order B(600ms) C(900ms) A(300ms) = EDF order: no"
        );
    }
}
