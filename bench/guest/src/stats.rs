//! Order statistics used by the benchmarks.

/// Nearest-rank percentile of an ascending-sorted slice: the smallest value
/// such that at least `p` percent of the samples are <= it (`p` in 0..=100;
/// `p = 0` gives the minimum).  `None` for an empty slice.
pub fn percentile_sorted<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

/// Nearest-rank percentile of unsorted samples (sorts a copy).
pub fn percentile(samples: &[i64], p: f64) -> Option<i64> {
    let mut v = samples.to_vec();
    v.sort_unstable();
    percentile_sorted(&v, p)
}

/// Median (mean of the two middle values for an even count).
pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// `(min, max)` of the samples.
pub fn min_max(samples: &[f64]) -> Option<(f64, f64)> {
    let mut it = samples.iter().copied();
    let first = it.next()?;
    Some(it.fold((first, first), |(lo, hi), x| (lo.min(x), hi.max(x))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile_sorted(&v, 50.0), Some(50));
        assert_eq!(percentile_sorted(&v, 99.0), Some(99));
        assert_eq!(percentile_sorted(&v, 100.0), Some(100));
        assert_eq!(percentile_sorted(&v, 0.0), Some(1));
        assert_eq!(percentile_sorted(&v, 0.5), Some(1));
        assert_eq!(percentile_sorted(&v, 99.5), Some(100));
        // Textbook example: 15, 20, 35, 40, 50.
        let w = [15i64, 20, 35, 40, 50];
        assert_eq!(percentile_sorted(&w, 5.0), Some(15));
        assert_eq!(percentile_sorted(&w, 30.0), Some(20));
        assert_eq!(percentile_sorted(&w, 40.0), Some(20));
        assert_eq!(percentile_sorted(&w, 50.0), Some(35));
        assert_eq!(percentile_sorted(&w, 100.0), Some(50));
        assert_eq!(percentile_sorted::<i64>(&[], 50.0), None);
        assert_eq!(percentile_sorted(&[7i64], 99.0), Some(7));
        // Out-of-range p is clamped.
        assert_eq!(percentile_sorted(&w, 150.0), Some(50));
        assert_eq!(percentile_sorted(&w, -3.0), Some(15));
    }

    #[test]
    fn unsorted_percentile() {
        let v = [9i64, -3, 5, 1, 7, 3, 100, 2, 8, 4];
        assert_eq!(percentile(&v, 50.0), Some(4));
        assert_eq!(percentile(&v, 99.0), Some(100));
        assert_eq!(percentile(&v, 90.0), Some(9));
        assert_eq!(percentile(&v, 0.0), Some(-3));
    }

    #[test]
    fn median_and_range() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(min_max(&[3.0, -1.0, 2.0]), Some((-1.0, 3.0)));
        assert_eq!(min_max(&[]), None);
    }
}
