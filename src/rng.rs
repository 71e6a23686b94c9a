//! Small deterministic PRNG: SplitMix64 seeding xoshiro256**.
//!
//! Hand-written (rather than pulling in `rand`) so that generated data sets are
//! byte-identical across platforms, dependency upgrades and releases: the
//! stream for a seed is part of the project's reproducibility contract.

/// SplitMix64 step; used for seeding and for deriving independent streams.
#[inline]
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** generator.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// Seeds the 256-bit state from SplitMix64 so that similar seeds (0, 1, 2…)
    /// still yield unrelated streams and the all-zero state is unreachable in practice.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Rng { s }
    }

    /// An independent stream per (seed, stream id). Generators use one stream per
    /// user so that a user's data does not depend on how many draws earlier users made.
    pub fn for_stream(seed: u64, stream: u64) -> Self {
        let mut sm = seed;
        let a = splitmix64(&mut sm);
        let mut sm2 = a ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        Rng::new(splitmix64(&mut sm2))
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    #[inline]
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n) without modulo bias (Lemire's method). `n` must be > 0.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0)");
        let mut m = (self.next_u64() as u128) * (n as u128);
        let mut lo = m as u64;
        if lo < n {
            let threshold = n.wrapping_neg() % n;
            while lo < threshold {
                m = (self.next_u64() as u128) * (n as u128);
                lo = m as u64;
            }
        }
        (m >> 64) as u64
    }

    /// Uniform integer in [lo, hi] (inclusive).
    #[inline]
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        lo + self.below(hi - lo + 1)
    }

    /// Standard normal via Box-Muller (one value per pair; simplicity over speed).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64(); // (0, 1], keeps ln finite
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Poisson draw. Knuth's product method for small lambda; rounded normal
    /// approximation above 30 where Knuth gets slow and the approximation is good.
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            let x = lambda + lambda.sqrt() * self.normal();
            return x.round().max(0.0) as u64;
        }
        let limit = (-lambda).exp();
        let mut k = 0u64;
        let mut p = self.f64();
        while p > limit {
            k += 1;
            p *= self.f64();
        }
        k
    }

    #[inline]
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Index drawn proportionally to `weights` (non-negative, not all zero).
    pub fn choose_weighted(&mut self, weights: &[f64]) -> usize {
        debug_assert!(!weights.is_empty());
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        // Floating-point leftovers: fall back to the last index with weight.
        weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
    }

    /// Exponential with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f64()).ln()
    }
}

/// A seeded 64-bit key of a user (or unit) id: FNV-1a of the bytes, then
/// splitmix64 with the seed, so different seeds give unrelated orders. Used
/// wherever users are chosen (hold-out, folds, samples), so a choice follows
/// the user, not the row order of the export.
pub fn user_key(id: &str, seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in id.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = h ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut c = Rng::new(43);
        let mut a = Rng::new(42);
        assert!((0..10).any(|_| a.next_u64() != c.next_u64()));
    }

    #[test]
    fn streams_are_independent_and_stable() {
        let mut a = Rng::for_stream(7, 1);
        let mut b = Rng::for_stream(7, 2);
        assert_ne!(a.next_u64(), b.next_u64());
        let mut a2 = Rng::for_stream(7, 1);
        let mut a = Rng::for_stream(7, 1);
        assert_eq!(a.next_u64(), a2.next_u64());
    }

    #[test]
    fn f64_in_unit_interval() {
        let mut r = Rng::new(1);
        for _ in 0..100_000 {
            let x = r.f64();
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn normal_mean_and_variance() {
        let mut r = Rng::new(3);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "var {var}");
    }

    #[test]
    fn below_and_range_bounds() {
        let mut r = Rng::new(5);
        let mut seen = [false; 7];
        for _ in 0..10_000 {
            let x = r.below(7) as usize;
            seen[x] = true;
            let y = r.range(3, 5);
            assert!((3..=5).contains(&y));
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn poisson_exp_weighted_means() {
        let mut r = Rng::new(9);
        let n = 50_000;
        let pm = (0..n).map(|_| r.poisson(3.5) as f64).sum::<f64>() / n as f64;
        assert!((pm - 3.5).abs() < 0.05, "poisson mean {pm}");
        let big = (0..n).map(|_| r.poisson(50.0) as f64).sum::<f64>() / n as f64;
        assert!((big - 50.0).abs() < 0.3, "poisson(50) mean {big}");
        let em = (0..n).map(|_| r.exp(2.0)).sum::<f64>() / n as f64;
        assert!((em - 2.0).abs() < 0.05, "exp mean {em}");
        let mut counts = [0usize; 3];
        for _ in 0..n {
            counts[r.choose_weighted(&[0.2, 0.0, 0.8])] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = counts[2] as f64 / n as f64;
        assert!((share - 0.8).abs() < 0.01, "weighted share {share}");
        let hits = (0..n).filter(|_| r.bernoulli(0.3)).count() as f64 / n as f64;
        assert!((hits - 0.3).abs() < 0.01);
    }
}
