//! How evenly each scheme spreads keys and requests, and how much moves on a membership
//! change, without a simulation: what `dsim balance` reports and charts.
//!
//! For n members (`node-0` … `node-{n-1}`) and K keys (`key-0` … `key-{K-1}`):
//! - keys and requests per node, where a key's requests are its share under the chosen
//!   distribution; imbalance as max/mean and stddev/mean of load relative to each node's
//!   fair share (its weight over the total);
//! - the fraction of keys whose owner changes when `node-{n}` joins, and when the middle
//!   member `node-{n/2}` leaves (the last member takes its position: the cheapest
//!   renumbering for the position-based schemes, `mod` and `jump`);
//! - for the ring, max/mean against virtual nodes from 1 to 1,000, for each hash function.
//!
//! `bounded` balances whole keys under a uniform workload and request shares under Zipf, so
//! it bounds the load that matters for each.

use serde::Serialize;

use super::{assign, HashFunction, Member, Scheme};
use crate::keys::KeyDistribution;

/// What to compare.
#[derive(Clone, Debug)]
pub struct BalanceOptions {
    pub nodes: usize,
    pub keys: usize,
    pub vnodes: u32,
    pub table_size: u32,
    pub epsilon: f64,
    pub hash: HashFunction,
    pub distribution: KeyDistribution,
    /// One weight per node, or empty for all 1.
    pub weights: Vec<u32>,
}

impl Default for BalanceOptions {
    fn default() -> Self {
        BalanceOptions {
            nodes: 10,
            keys: 1_000_000,
            vnodes: 100,
            table_size: 65_537,
            epsilon: 0.25,
            hash: HashFunction::Mixed,
            distribution: KeyDistribution::Uniform,
            weights: Vec::new(),
        }
    }
}

impl BalanceOptions {
    pub fn validate(&self) -> Result<(), String> {
        if self.nodes < 2 {
            return Err(format!("--nodes must be at least 2, got {}", self.nodes));
        }
        if self.keys == 0 {
            return Err("--keys must be at least 1".into());
        }
        if self.keys > 100_000_000 {
            return Err(format!(
                "--keys {} is more than dsim balance supports (100000000)",
                self.keys
            ));
        }
        if self.nodes > 10_000 {
            return Err(format!(
                "--nodes {} is more than dsim balance supports (10000)",
                self.nodes
            ));
        }
        if !self.weights.is_empty() && self.weights.len() != self.nodes {
            return Err(format!(
                "--weights gives {} weights for {} nodes; give one per node",
                self.weights.len(),
                self.nodes
            ));
        }
        if self.weights.contains(&0) {
            return Err("weights must be at least 1".into());
        }
        if self.nodes as u64 >= self.table_size as u64 {
            return Err(format!(
                "the maglev table ({}) must be larger than the cluster ({} nodes)",
                self.table_size, self.nodes
            ));
        }
        self.distribution.validate()?;
        Scheme::all(self.vnodes, self.table_size, self.epsilon)
            .iter()
            .try_for_each(Scheme::validate)
    }

    pub fn members(&self) -> Vec<Member> {
        (0..self.nodes)
            .map(|i| Member {
                name: format!("node-{i}"),
                weight: self.weights.get(i).copied().unwrap_or(1),
            })
            .collect()
    }
}

/// One scheme's figures.
#[derive(Clone, Debug, Serialize)]
pub struct SchemeBalance {
    pub scheme: String,
    pub keys_per_node: Vec<u64>,
    /// Share of all requests per node (sums to 1).
    pub requests_per_node: Vec<f64>,
    pub max_over_mean: f64,
    pub stddev_over_mean: f64,
    pub requests_max_over_mean: f64,
    /// Fractions of all keys.
    pub moved_on_join: f64,
    pub moved_on_leave: f64,
    pub memory_bytes: usize,
}

/// The ring's imbalance against virtual nodes, for one hash function.
#[derive(Clone, Debug, Serialize)]
pub struct VnodeSweep {
    pub hash: String,
    /// (vnodes per node, max/mean of keys)
    pub points: Vec<(u32, f64)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BalanceReport {
    pub nodes: Vec<String>,
    pub keys: usize,
    pub vnodes: u32,
    pub table_size: u32,
    pub epsilon: f64,
    pub hash: String,
    pub distribution: String,
    pub joined: String,
    pub left: String,
    /// 1/(n+1) and 1/n: what a join and a leave must move at the least.
    pub ideal_join: f64,
    pub ideal_leave: f64,
    pub schemes: Vec<SchemeBalance>,
    pub ring_sweep: Vec<VnodeSweep>,
}

pub const SWEEP_VNODES: [u32; 10] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/// `key-0` … `key-{n-1}` hashed with `hash`.
pub fn key_hashes(keys: usize, hash: HashFunction) -> Vec<u64> {
    let mut name = String::with_capacity(16);
    (0..keys)
        .map(|i| {
            use std::fmt::Write;
            name.clear();
            let _ = write!(name, "key-{i}");
            hash.hash_str(&name)
        })
        .collect()
}

/// Load relative to each member's fair share: (max, stddev), both over the mean of 1.
fn imbalance(loads: &[f64], members: &[Member]) -> (f64, f64) {
    let total: f64 = loads.iter().sum();
    let weight_sum: f64 = members.iter().map(|m| m.weight as f64).sum();
    let rel: Vec<f64> = loads
        .iter()
        .zip(members)
        .map(|(l, m)| l / (total * m.weight as f64 / weight_sum))
        .collect();
    let max = rel.iter().copied().fold(0.0, f64::max);
    let var = rel.iter().map(|r| (r - 1.0) * (r - 1.0)).sum::<f64>() / rel.len() as f64;
    (max, var.sqrt())
}

/// The fraction of keys whose owner (by name) differs between two placements.
fn moved(before: &[u32], before_m: &[Member], after: &[u32], after_m: &[Member]) -> f64 {
    // Translate each new member to its old index once, instead of comparing names per key.
    let old_index: Vec<u32> = after_m
        .iter()
        .map(|m| {
            before_m
                .iter()
                .position(|b| b.name == m.name)
                .map_or(u32::MAX, |i| i as u32)
        })
        .collect();
    let changed = before
        .iter()
        .zip(after)
        .filter(|(&a, &b)| old_index[b as usize] != a)
        .count();
    changed as f64 / before.len() as f64
}

/// The membership after `name` joins (it goes last).
pub fn with_joined(members: &[Member], name: &str) -> Vec<Member> {
    let mut m = members.to_vec();
    m.push(Member::new(name));
    m
}

/// The membership after `name` leaves: the last member takes its position.
pub fn with_left(members: &[Member], name: &str) -> Vec<Member> {
    let mut m = members.to_vec();
    if let Some(i) = m.iter().position(|x| x.name == name) {
        m.swap_remove(i);
    }
    m
}

pub fn balance(options: &BalanceOptions) -> BalanceReport {
    let members = options.members();
    let n = members.len();
    let joined = format!("node-{n}");
    let left = members[n / 2].name.clone();
    let grown = with_joined(&members, &joined);
    let shrunk = with_left(&members, &left);
    let hashes = key_hashes(options.keys, options.hash);
    let shares = options.distribution.shares(options.keys);
    let bounded_weights = match options.distribution {
        KeyDistribution::Uniform => None,
        KeyDistribution::Zipf(_) => Some(shares.as_slice()),
    };
    let schemes = Scheme::all(options.vnodes, options.table_size, options.epsilon)
        .iter()
        .map(|scheme| {
            let place = |m: &[Member]| {
                let w = matches!(scheme, Scheme::Bounded { .. })
                    .then_some(())
                    .and(bounded_weights);
                assign(scheme, m, options.hash, &hashes, w)
            };
            let owners = place(&members);
            let mut keys_per_node = vec![0u64; n];
            let mut requests_per_node = vec![0.0f64; n];
            for (k, &o) in owners.iter().enumerate() {
                keys_per_node[o as usize] += 1;
                requests_per_node[o as usize] += shares[k];
            }
            let key_loads: Vec<f64> = keys_per_node.iter().map(|&k| k as f64).collect();
            let (max_over_mean, stddev_over_mean) = imbalance(&key_loads, &members);
            let (requests_max_over_mean, _) = imbalance(&requests_per_node, &members);
            SchemeBalance {
                scheme: scheme.name().to_string(),
                moved_on_join: moved(&owners, &members, &place(&grown), &grown),
                moved_on_leave: moved(&owners, &members, &place(&shrunk), &shrunk),
                memory_bytes: scheme.memory_bytes(&members, options.hash),
                keys_per_node,
                requests_per_node,
                max_over_mean,
                stddev_over_mean,
                requests_max_over_mean,
            }
        })
        .collect();
    let ring_sweep = HashFunction::ALL
        .iter()
        .map(|&hash| {
            let hashes = if hash == options.hash {
                hashes.clone()
            } else {
                key_hashes(options.keys, hash)
            };
            let points = SWEEP_VNODES
                .iter()
                .map(|&v| {
                    let ring = super::ring::Ring::new(&members, v, hash);
                    let mut count = vec![0.0f64; n];
                    for &h in &hashes {
                        count[super::Placement::locate(&ring, h)] += 1.0;
                    }
                    (v, imbalance(&count, &members).0)
                })
                .collect();
            VnodeSweep {
                hash: hash.name().to_string(),
                points,
            }
        })
        .collect();
    BalanceReport {
        nodes: members.iter().map(|m| m.name.clone()).collect(),
        keys: options.keys,
        vnodes: options.vnodes,
        table_size: options.table_size,
        epsilon: options.epsilon,
        hash: options.hash.name().to_string(),
        distribution: options.distribution.name(),
        joined,
        left,
        ideal_join: 1.0 / (n + 1) as f64,
        ideal_leave: 1.0 / n as f64,
        schemes,
        ring_sweep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(keys: usize) -> BalanceReport {
        balance(&BalanceOptions {
            keys,
            ..BalanceOptions::default()
        })
    }

    fn scheme<'a>(r: &'a BalanceReport, name: &str) -> &'a SchemeBalance {
        r.schemes.iter().find(|s| s.scheme == name).unwrap()
    }

    #[test]
    fn mod_moves_almost_everything_and_the_consistent_schemes_about_one_in_n() {
        let r = report(100_000);
        assert!((scheme(&r, "mod").moved_on_join - 10.0 / 11.0).abs() < 0.01);
        for name in ["ring", "jump", "rendezvous", "maglev"] {
            let f = scheme(&r, name).moved_on_join;
            assert!((f - 1.0 / 11.0).abs() < 0.03, "{name} moved {f} on a join");
        }
        assert!(scheme(&r, "bounded").moved_on_join < 0.25);
        let jump_leave = scheme(&r, "jump").moved_on_leave;
        assert!(
            (jump_leave - 0.2).abs() < 0.03,
            "jump renumbers on a middle leave: {jump_leave}"
        );
        let rdv = scheme(&r, "rendezvous").moved_on_leave;
        assert!((rdv - 0.1).abs() < 0.01, "{rdv}");
    }

    #[test]
    fn bounded_keeps_its_bound_and_keys_add_up() {
        let r = report(100_000);
        for s in &r.schemes {
            assert_eq!(s.keys_per_node.iter().sum::<u64>(), 100_000, "{}", s.scheme);
            assert!((s.requests_per_node.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
        assert!(scheme(&r, "bounded").max_over_mean <= 1.25 + 1e-4);
    }

    #[test]
    fn mixing_fixes_the_crc32_ring() {
        let r = report(200_000);
        let at = |hash: &str, v: u32| {
            r.ring_sweep
                .iter()
                .find(|s| s.hash == hash)
                .unwrap()
                .points
                .iter()
                .find(|p| p.0 == v)
                .unwrap()
                .1
        };
        // A random ring of v vnodes per node has a relative spread of about 1/sqrt(v) per
        // node: about 1.05 expected at 1,000 vnodes over 10 nodes. Plain crc32 stays far off.
        assert!(
            at("mixed", 1000) < 1.10,
            "mixed at 1000 vnodes: {}",
            at("mixed", 1000)
        );
        assert!(at("crc32", 1) > 5.0, "crc32 at 1 vnode: {}", at("crc32", 1));
        assert!(
            at("crc32", 1000) > at("mixed", 1000) + 0.1,
            "crc32 stays skewed: {}",
            at("crc32", 1000)
        );
    }

    #[test]
    fn zipf_makes_requests_skewed_and_bounded_spreads_them() {
        let r = balance(&BalanceOptions {
            keys: 50_000,
            distribution: KeyDistribution::Zipf(1.1),
            ..BalanceOptions::default()
        });
        let ring = scheme(&r, "ring").requests_max_over_mean;
        let bounded = scheme(&r, "bounded").requests_max_over_mean;
        assert!(ring > 1.5, "the hottest key makes its node hot: {ring}");
        // No placement can split one key: the bound is 1+ε or the hottest key alone.
        let top = KeyDistribution::Zipf(1.1).shares(50_000)[0] * 10.0;
        assert!(
            bounded <= (1.25f64).max(top) + 1e-6,
            "bounded caps request load: {bounded}"
        );
        assert!(bounded < ring - 0.3, "bounded {bounded} vs ring {ring}");
    }
}
