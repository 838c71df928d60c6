//! Random implicit-deadline periodic task sets: UUniFast (E. Bini and
//! G. C. Buttazzo, "Measuring the performance of schedulability tests",
//! Real-Time Systems 30(1-2), 2005) driven by the seeded PRNG of
//! casio-testkit.

pub use casio_testkit::Rng;

/// UUniFast: `n` utilizations, uniformly distributed on the simplex
/// `sum = total`.  Every value is in `(0, total]` when `0 < total`.
pub fn uunifast(rng: &mut Rng, n: usize, total: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let mut sum = total;
    for i in 1..n {
        let next = sum * rng.next_open01().powf(1.0 / (n - i) as f64);
        out.push(sum - next);
        sum = next;
    }
    out.push(sum);
    out
}

/// One periodic task with implicit deadline (D = T), times in ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    /// Worst-case (here: exact) CPU time per job.
    pub c: u64,
    /// Period = relative deadline.
    pub t: u64,
}

impl Task {
    /// Utilization C/T.
    pub fn u(&self) -> f64 {
        self.c as f64 / self.t as f64
    }
}

/// Parameters of the generator.
#[derive(Clone, Copy, Debug)]
pub struct GenParams {
    /// Smallest task count.
    pub n_min: usize,
    /// Largest task count.
    pub n_max: usize,
    /// Shortest period, ns.
    pub t_min: u64,
    /// Longest period, ns.
    pub t_max: u64,
    /// Periods are rounded to a multiple of this, ns.
    pub t_gran: u64,
    /// Smallest job CPU time, ns: sets with a smaller one are discarded and
    /// redrawn (UUniFast-Discard style), so the total stays exact.
    pub c_min: u64,
    /// Job CPU times are rounded to a multiple of this, ns.
    pub c_gran: u64,
}

impl Default for GenParams {
    /// n = 5..10, periods log-uniform in [100 ms, 1000 ms] rounded to 1 ms,
    /// C >= 200 us rounded to 1 us.
    fn default() -> Self {
        GenParams {
            n_min: 5,
            n_max: 10,
            t_min: 100_000_000,
            t_max: 1_000_000_000,
            t_gran: 1_000_000,
            c_min: 200_000,
            c_gran: 1_000,
        }
    }
}

/// The seed of set number `k` (0-based) at utilization `u`: `1000 *
/// round(100 u) + k`, e.g. 85003 for the fourth set at U = 0.85.
pub fn seed_for(u: f64, k: u32) -> u64 {
    (u * 100.0).round() as u64 * 1000 + k as u64
}

/// A random task set with total utilization `u` (up to rounding of C to
/// `c_gran`), deterministic in `seed`.  Tasks are in generation order.
pub fn generate(seed: u64, u: f64, p: &GenParams) -> Vec<Task> {
    let mut rng = Rng::new(seed);
    let n = rng.range_u64(p.n_min as u64, p.n_max as u64) as usize;
    let (lo, hi) = ((p.t_min as f64).ln(), (p.t_max as f64).ln());
    for _attempt in 0..10_000 {
        let us = uunifast(&mut rng, n, u);
        let set: Vec<Task> = us
            .iter()
            .map(|&ui| {
                let t = (lo + (hi - lo) * rng.next_f64()).exp();
                let t = ((t / p.t_gran as f64).round() as u64 * p.t_gran).clamp(p.t_min, p.t_max);
                let c = ((ui * t as f64) / p.c_gran as f64).round() as u64 * p.c_gran;
                Task { c, t }
            })
            .collect();
        if set.iter().all(|k| k.c >= p.c_min && k.c <= k.t) {
            return set;
        }
    }
    // Practically unreachable for sane parameters: fall back to clamping.
    uunifast(&mut rng, n, u)
        .iter()
        .map(|&ui| Task {
            c: ((ui * p.t_max as f64) as u64).clamp(p.c_min, p.t_max),
            t: p.t_max,
        })
        .collect()
}

/// Total utilization of a set.
pub fn total_u(set: &[Task]) -> f64 {
    set.iter().map(Task::u).sum()
}

/// Rate-monotonic SCHED_FIFO priorities ([`casio_abi::rm_priorities`]):
/// shorter period = higher priority, ties broken by index (earlier =
/// higher).  Priorities are `base .. base + n - 1`; returns one per task,
/// in task order.
pub fn rm_priorities(set: &[Task], base: u32) -> Vec<u32> {
    let periods: Vec<u64> = set.iter().map(|k| k.t).collect();
    let top = base + set.len().saturating_sub(1) as u32;
    casio_abi::rm_priorities(&periods, top, casio_abi::RmTies::ByIndex)
}

/// Exact fixed-priority response-time analysis (Joseph and Pandya 1986;
/// Audsley et al. 1993) for implicit deadlines: the worst-case response
/// time of every task under the given priorities (higher number = higher
/// priority, as SCHED_FIFO), or `None` for a task whose response time
/// exceeds its deadline T.
pub fn response_times(set: &[Task], prio: &[u32]) -> Vec<Option<u64>> {
    (0..set.len())
        .map(|i| {
            let hp: Vec<&Task> = (0..set.len())
                .filter(|&j| j != i && (prio[j] > prio[i] || (prio[j] == prio[i] && j < i)))
                .map(|j| &set[j])
                .collect();
            let mut r = set[i].c;
            loop {
                let next = set[i].c + hp.iter().map(|h| r.div_ceil(h.t) * h.c).sum::<u64>();
                if next > set[i].t {
                    return None;
                }
                if next == r {
                    return Some(r);
                }
                r = next;
            }
        })
        .collect()
}

/// Whether the set is schedulable under rate-monotonic priorities
/// ([`rm_priorities`]) by exact response-time analysis.
pub fn rm_schedulable(set: &[Task]) -> bool {
    response_times(set, &rm_priorities(set, 1))
        .iter()
        .all(Option::is_some)
}

/// The Liu and Layland (1973) utilization bound n (2^(1/n) - 1) for RM.
pub fn liu_layland_bound(n: usize) -> f64 {
    if n == 0 {
        return 1.0;
    }
    n as f64 * (2f64.powf(1.0 / n as f64) - 1.0)
}

/// `C/T,C/T,...` in microseconds (for the BENCH lines).
pub fn describe(set: &[Task]) -> String {
    set.iter()
        .map(|k| format!("{}/{}", k.c / 1_000, k.t / 1_000))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uunifast_sums_and_bounds() {
        for seed in 0..200u64 {
            let mut r = Rng::new(seed);
            for &n in &[1usize, 2, 5, 10, 30] {
                for &u in &[0.5, 0.85, 0.95, 1.0] {
                    let v = uunifast(&mut r, n, u);
                    assert_eq!(v.len(), n);
                    let s: f64 = v.iter().sum();
                    assert!((s - u).abs() < 1e-9, "sum {s} != {u}");
                    for &x in &v {
                        assert!(x > 0.0 && x < 1.0 || (n == 1 && x == u), "{x}");
                        assert!(x <= u + 1e-12);
                    }
                }
            }
        }
        assert!(uunifast(&mut Rng::new(1), 0, 0.5).is_empty());
    }

    #[test]
    fn uunifast_is_deterministic() {
        let a = uunifast(&mut Rng::new(42), 8, 0.9);
        let b = uunifast(&mut Rng::new(42), 8, 0.9);
        let c = uunifast(&mut Rng::new(43), 8, 0.9);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn uunifast_is_roughly_uniform() {
        // Each coordinate of a uniform point on the n-simplex has mean u/n.
        let mut r = Rng::new(99);
        let (n, u, trials) = (5usize, 0.8, 20_000);
        let mut mean = [0.0f64; 5];
        for _ in 0..trials {
            for (m, x) in mean.iter_mut().zip(uunifast(&mut r, n, u)) {
                *m += x / trials as f64;
            }
        }
        for m in mean {
            assert!((m - u / n as f64).abs() < 0.01, "mean {m}");
        }
    }

    #[test]
    fn generated_sets() {
        let p = GenParams::default();
        for &u in &[0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95] {
            for k in 0..20 {
                let seed = seed_for(u, k);
                let set = generate(seed, u, &p);
                assert_eq!(set, generate(seed, u, &p), "deterministic");
                assert!((5..=10).contains(&set.len()));
                for t in &set {
                    assert!(t.t >= p.t_min && t.t <= p.t_max && t.t % p.t_gran == 0);
                    assert!(t.c >= p.c_min && t.c <= t.t && t.c % p.c_gran == 0);
                }
                // C rounded to 1 us: error at most n * 0.5 us / 100 ms.
                assert!((total_u(&set) - u).abs() < 1e-4, "{}", total_u(&set));
            }
        }
        assert_eq!(seed_for(0.85, 3), 85003);
        assert_eq!(seed_for(0.5, 0), 50000);
    }

    #[test]
    fn rate_monotonic() {
        let set = [
            Task { c: 1, t: 300 },
            Task { c: 1, t: 100 },
            Task { c: 1, t: 200 },
            Task { c: 1, t: 100 },
        ];
        // t=100 (idx 1) highest, then t=100 (idx 3), t=200, t=300 lowest.
        assert_eq!(rm_priorities(&set, 10), vec![10, 13, 11, 12]);
        assert_eq!(describe(&set[..2]), "0/0,0/0");
        let set = [Task {
            c: 2_000_000,
            t: 100_000_000,
        }];
        assert_eq!(describe(&set), "2000/100000");
    }

    #[test]
    fn response_time_analysis() {
        // Classic example: (C, T) = (1, 4), (2, 6), (3, 12): U = 0.833,
        // RM response times 1, 3, 10.
        let set = [
            Task { c: 1, t: 4 },
            Task { c: 2, t: 6 },
            Task { c: 3, t: 12 },
        ];
        let p = rm_priorities(&set, 1);
        assert_eq!(response_times(&set, &p), vec![Some(1), Some(3), Some(10)]);
        assert!(rm_schedulable(&set));
        // (2, 5), (4, 7): U = 0.971 <= 1 (EDF-feasible) but not RM.
        let set = [Task { c: 2, t: 5 }, Task { c: 4, t: 7 }];
        assert_eq!(
            response_times(&set, &rm_priorities(&set, 1)),
            vec![Some(2), None]
        );
        assert!(!rm_schedulable(&set));
        // Harmonic periods are RM-schedulable up to U = 1.
        let set = [Task { c: 1, t: 2 }, Task { c: 2, t: 4 }];
        assert!(rm_schedulable(&set));
        assert!((liu_layland_bound(1) - 1.0).abs() < 1e-12);
        assert!((liu_layland_bound(2) - 0.828_427).abs() < 1e-6);
        assert!((liu_layland_bound(10) - 0.717_735).abs() < 1e-6);
        // Below the Liu-Layland bound every generated set passes RTA.
        let p = GenParams::default();
        for k in 0..50 {
            let set = generate(seed_for(0.6, k), 0.6, &p);
            assert!(rm_schedulable(&set));
        }
    }
}
