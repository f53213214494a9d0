//! Which keys a workload touches: uniform, or Zipf for hot keys.
//!
//! Keys are `key-0`, `key-1`, …; under Zipf(s) key i has rank i + 1 and probability
//! proportional to 1/(i+1)^s, so `key-0` is the hottest. Sampling inverts a precomputed CDF
//! with a binary search over one uniform draw: exact, deterministic, O(log K) per key.

use serde::{Deserialize, Serialize};

/// A key popularity distribution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum KeyDistribution {
    /// Every key equally likely.
    #[default]
    Uniform,
    /// Zipf with exponent s (> 0): a few hot keys take most requests (s ≈ 1 is typical).
    Zipf(f64),
}

impl std::str::FromStr for KeyDistribution {
    type Err = String;
    /// "uniform" or "zipf:1.1" (or "zipf", meaning s = 1).
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "unknown key distribution `{text}`; expected `uniform` or `zipf:S` (e.g. zipf:1.1)"
            )
        };
        match text.split_once(':') {
            None if text == "uniform" => Ok(KeyDistribution::Uniform),
            None if text == "zipf" => Ok(KeyDistribution::Zipf(1.0)),
            Some(("zipf", s)) => {
                let s: f64 = s.parse().map_err(|_| bad())?;
                KeyDistribution::Zipf(s).validate()?;
                Ok(KeyDistribution::Zipf(s))
            }
            _ => Err(bad()),
        }
    }
}

impl KeyDistribution {
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            KeyDistribution::Zipf(s) if !(s > 0.0 && s.is_finite()) => {
                Err(format!("the Zipf exponent must be greater than 0, got {s}"))
            }
            _ => Ok(()),
        }
    }

    pub fn name(&self) -> String {
        match self {
            KeyDistribution::Uniform => "uniform".into(),
            KeyDistribution::Zipf(s) => format!("zipf:{s}"),
        }
    }

    /// Each key's share of requests (sums to 1).
    pub fn shares(&self, keys: usize) -> Vec<f64> {
        match *self {
            KeyDistribution::Uniform => vec![1.0 / keys as f64; keys],
            KeyDistribution::Zipf(s) => {
                let raw: Vec<f64> = (1..=keys).map(|r| libm::pow(r as f64, -s)).collect();
                let total: f64 = raw.iter().sum();
                raw.into_iter().map(|x| x / total).collect()
            }
        }
    }
}

/// Draws key indices from a distribution.
#[derive(Clone, Debug)]
pub struct KeySampler {
    keys: u64,
    /// Cumulative shares for Zipf; empty for uniform.
    cdf: Vec<f64>,
}

impl KeySampler {
    pub fn new(distribution: KeyDistribution, keys: usize) -> Self {
        assert!(keys > 0);
        let cdf = match distribution {
            KeyDistribution::Uniform => Vec::new(),
            KeyDistribution::Zipf(_) => {
                let mut acc = 0.0;
                distribution
                    .shares(keys)
                    .into_iter()
                    .map(|p| {
                        acc += p;
                        acc
                    })
                    .collect()
            }
        };
        KeySampler {
            keys: keys as u64,
            cdf,
        }
    }

    pub fn sample(&self, rng: &mut sim_core::Random) -> u64 {
        if self.cdf.is_empty() {
            return rng.below(self.keys);
        }
        let u = rng.unit();
        (self.cdf.partition_point(|&c| c <= u) as u64).min(self.keys - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{Random, Stream};

    #[test]
    fn zipf_samples_follow_the_shares() {
        let d = KeyDistribution::Zipf(1.0);
        let shares = d.shares(100);
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!((shares[0] / shares[1] - 2.0).abs() < 1e-9);
        let s = KeySampler::new(d, 100);
        let mut rng = Random::new(4, Stream::Workload);
        let mut hits = [0u32; 100];
        for _ in 0..200_000 {
            hits[s.sample(&mut rng) as usize] += 1;
        }
        let observed = hits[0] as f64 / 200_000.0;
        assert!(
            (observed - shares[0]).abs() < 0.005,
            "{observed} vs {}",
            shares[0]
        );
    }

    #[test]
    fn parses_names() {
        assert_eq!("uniform".parse(), Ok(KeyDistribution::Uniform));
        assert_eq!("zipf:1.1".parse(), Ok(KeyDistribution::Zipf(1.1)));
        assert!("zipf:-1".parse::<KeyDistribution>().is_err());
        assert!("pareto".parse::<KeyDistribution>().is_err());
    }
}
