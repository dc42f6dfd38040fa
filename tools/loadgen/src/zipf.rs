//! A Zipf distribution over ranks `0..n`: rank k is drawn with probability proportional to
//! 1 / (k + 1)^α. The cumulative table is built once per run and sampled by binary search.

/// A Zipf sampler over `0..n`.
#[derive(Debug, Clone)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// The distribution over `0..n` (at least one rank) with exponent `alpha`.
    pub fn new(n: u32, alpha: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (0..n.max(1))
            .map(|k| {
                total += 1.0 / f64::from(k + 1).powf(alpha);
                total
            })
            .collect::<Vec<_>>();
        Zipf {
            cumulative: cumulative.into_iter().map(|c| c / total).collect(),
        }
    }

    /// The rank for a uniform `u` in [0, 1).
    pub fn sample(&self, u: f64) -> u32 {
        let rank = self.cumulative.partition_point(|&c| c <= u);
        rank.min(self.cumulative.len() - 1) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_ranks_dominate() {
        let zipf = Zipf::new(1000, 1.5);
        let draws: Vec<u32> = (0..10_000)
            .map(|i| zipf.sample(f64::from(i) / 10_000.0))
            .collect();
        let first = draws.iter().filter(|&&r| r == 0).count();
        // P(rank 0) = 1 / ζ(1.5) ≈ 0.38 for a large n.
        assert!((3_500..4_100).contains(&first), "{first}");
        assert!(draws.iter().all(|&r| r < 1000));
        assert_eq!(Zipf::new(0, 1.5).sample(0.99), 0);
    }
}
