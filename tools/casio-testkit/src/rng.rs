//! A tiny deterministic PRNG (xorshift64*) and Fisher-Yates shuffle, so
//! "shuffled" orders and random workloads are the same on every run.

/// xorshift64* generator.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (seed 0 is replaced by a constant).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// Next 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform-ish integer in `lo..=hi` (`lo <= hi`).
    pub fn range_u64(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1): never exactly 0.
    pub fn next_open01(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }
}

/// The permutation of `0..n` given by a Fisher-Yates shuffle with `seed`.
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut r = Rng::new(seed);
    for i in (1..n).rev() {
        let j = r.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xorshift64star_reference_values() {
        let mut r = Rng::new(1);
        assert_eq!(r.next_u64(), 0x47E4_CE4B_896C_DD1D);
        let mut z = Rng::new(0);
        let mut c = Rng::new(0x9E37_79B9_7F4A_7C15);
        for _ in 0..100 {
            assert_eq!(z.next_u64(), c.next_u64(), "seed 0 is the constant");
        }
        for _ in 0..1000 {
            assert!(r.below(7) < 7);
        }
    }

    #[test]
    fn floats_and_ranges() {
        let mut r = Rng::new(7);
        for _ in 0..1000 {
            let x = r.next_f64();
            assert!((0.0..1.0).contains(&x));
            let y = r.next_open01();
            assert!(y > 0.0 && y < 1.0);
            let z = r.range_u64(5, 10);
            assert!((5..=10).contains(&z));
        }
        assert_eq!(r.range_u64(3, 3), 3);
    }

    #[test]
    fn deterministic_permutation() {
        let a = shuffled(5, 42);
        assert_eq!(a, shuffled(5, 42));
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, vec![0, 1, 2, 3, 4]);
        assert_ne!(a, vec![0, 1, 2, 3, 4], "seed 42 should not be identity");
        assert_ne!(shuffled(8, 1), shuffled(8, 2));
        assert!(shuffled(0, 3).is_empty());
        assert_eq!(shuffled(1, 3), vec![0]);
    }
}
