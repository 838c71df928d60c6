//! A one-CPU EDF simulation of yielding periodic tasks (pure, host-tested).

/// A periodic task for [`simulate_edf`]: runtime, relative deadline,
/// period (ns).
#[derive(Clone, Copy, Debug)]
pub struct SimTask {
    /// CPU time per job.
    pub c: u64,
    /// Relative deadline.
    pub d: u64,
    /// Period.
    pub t: u64,
}

/// What [`simulate_edf`] found, per task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimResult {
    /// Jobs that missed their deadline.
    pub misses: Vec<u64>,
    /// Jobs that ran (burned C and yielded).
    pub completed: Vec<u64>,
}

impl SimResult {
    /// Total misses.
    pub fn total_misses(&self) -> u64 {
        self.misses.iter().sum()
    }
}

/// Preemptive EDF on one CPU of tasks that all release their first job at
/// 0 and each loop "if now >= horizon: stop; burn C; sched_yield()", with
/// the kernel's yield semantics: the successor of a job released at r that
/// ends at e is released at max(r + T, e), with deadline release + D.  A
/// job misses if it ends after its deadline, or (the last, empty job a
/// task starts at or after the horizon) if it first runs after its
/// deadline.  Ties between equal deadlines go to the job queued first.
/// Runs until every task has stopped.
pub fn simulate_edf(tasks: &[SimTask], horizon: u64) -> SimResult {
    #[derive(Clone, Copy)]
    struct St {
        release: u64,
        deadline: u64,
        rem: u64,
        started: bool,
        ready: bool,
        next: u64,
        done: bool,
        seq: u64,
    }
    let n = tasks.len();
    let mut res = SimResult {
        misses: vec![0; n],
        completed: vec![0; n],
    };
    let mut st: Vec<St> = tasks
        .iter()
        .enumerate()
        .map(|(i, p)| St {
            release: 0,
            deadline: p.d,
            rem: p.c,
            started: false,
            ready: true,
            next: 0,
            done: false,
            seq: i as u64,
        })
        .collect();
    let mut seq = n as u64;
    let mut t = 0u64;
    loop {
        // Release every waiting task whose release time has come.
        for (i, s) in st.iter_mut().enumerate() {
            if !s.done && !s.ready && s.next <= t {
                s.ready = true;
                s.release = s.next;
                s.deadline = s.next + tasks[i].d;
                s.rem = tasks[i].c;
                s.started = false;
                s.seq = seq;
                seq += 1;
            }
        }
        if st.iter().all(|s| s.done) {
            return res;
        }
        let next_rel = st
            .iter()
            .filter(|s| !s.done && !s.ready)
            .map(|s| s.next)
            .min();
        let pick = (0..n)
            .filter(|&i| !st[i].done && st[i].ready)
            .min_by_key(|&i| (st[i].deadline, st[i].seq));
        let Some(i) = pick else {
            // Idle until the next release (there is one: not all done).
            t = next_rel.unwrap_or(t);
            continue;
        };
        let s = &mut st[i];
        if !s.started {
            s.started = true;
            if t >= horizon {
                // The task sees the horizon at the start of this job and
                // stops; the kernel's deadline timer has counted a miss if
                // the job was still waiting for the CPU at its deadline.
                s.done = true;
                if t > s.deadline {
                    res.misses[i] += 1;
                }
                continue;
            }
        }
        let until = (t + s.rem).min(next_rel.unwrap_or(u64::MAX));
        s.rem -= until - t;
        t = until;
        if s.rem == 0 {
            res.completed[i] += 1;
            if t > s.deadline {
                res.misses[i] += 1;
            }
            let nr = (s.release + tasks[i].t).max(t);
            s.ready = false;
            s.next = nr;
        }
    }
}
