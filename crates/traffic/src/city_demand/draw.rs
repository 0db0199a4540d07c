//! The random draws of the morning peak: a SplitMix64 stream and the samples taken from it.

/// SplitMix64 (Steele, Lea & Flood 2014).
pub(super) struct Rng(pub(super) u64);
impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Index of the first cumulative weight above `u · total` (`cum` non-decreasing, last > 0).
pub(super) fn pick(cum: &[f64], u: f64) -> usize {
    let x = u * cum[cum.len() - 1];
    cum.partition_point(|&c| c <= x).min(cum.len() - 1)
}

/// Sample of the triangular distribution on [a, b] with mode c (inverse CDF).
pub(super) fn triangular(u: f64, a: f64, b: f64, c: f64) -> f64 {
    if b <= a {
        return a;
    }
    let f = (c - a) / (b - a);
    if u < f {
        a + (u * (b - a) * (c - a)).sqrt()
    } else {
        b - ((1.0 - u) * (b - a) * (b - c)).sqrt()
    }
}

/// Departure on [a, b]: uniform with probability `w_uniform`, else triangular with mode `c`.
pub(super) fn depart_time(rng: &mut Rng, a: f64, b: f64, c: f64, w_uniform: f64) -> f64 {
    if rng.unit() < w_uniform {
        a + rng.unit() * (b - a)
    } else {
        triangular(rng.unit(), a, b, c)
    }
}
