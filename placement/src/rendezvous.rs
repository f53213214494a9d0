//! `rendezvous`: highest random weight hashing — David Thaler and Chinya Ravishankar, "Using
//! Name-Based Mappings to Increase Hit Rates" (IEEE/ACM Transactions on Networking, 1998).
//!
//! Every member scores every key with a hash of the pair; the highest score owns the key.
//! Lookup O(n) (n hashes), memory O(n), and moves are minimal: a key changes owner only if
//! the joiner outscores the old owner, or the old owner left. Weighted members use the
//! logarithmic method (Schindelhauer and Schomaker, 2005): score = −weight / ln(u), with u
//! the pair's hash scaled into (0, 1), so a member's share is proportional to its weight.
//! The pair is always mixed with splitmix64, whatever the key hash: with a linear pair hash
//! the same member would win almost every key.

use super::{HashFunction, Member, Placement};
use sim_core::splitmix64;

pub struct Rendezvous {
    seeds: Vec<u64>,
    weights: Vec<f64>,
    weighted: bool,
}

impl Rendezvous {
    pub fn new(members: &[Member], hash: HashFunction) -> Self {
        Rendezvous {
            seeds: members.iter().map(|m| hash.hash_str(&m.name)).collect(),
            weights: members.iter().map(|m| m.weight as f64).collect(),
            weighted: members.iter().any(|m| m.weight != 1),
        }
    }
}

impl Placement for Rendezvous {
    #[inline]
    fn locate(&self, key_hash: u64) -> usize {
        let mut best = 0;
        if !self.weighted {
            let mut top = 0u64;
            for (i, &seed) in self.seeds.iter().enumerate() {
                let score = splitmix64(key_hash ^ seed);
                if score > top || i == 0 {
                    (best, top) = (i, score);
                }
            }
        } else {
            let mut top = f64::NEG_INFINITY;
            for (i, (&seed, &w)) in self.seeds.iter().zip(&self.weights).enumerate() {
                let u = ((splitmix64(key_hash ^ seed) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
                let score = -w / libm::log(u);
                if score > top {
                    (best, top) = (i, score);
                }
            }
        }
        best
    }

    fn memory_bytes(&self) -> usize {
        self.seeds.len() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(n: usize) -> Vec<Member> {
        (0..n).map(|i| Member::new(format!("node-{i}"))).collect()
    }

    #[test]
    fn a_leave_moves_only_the_leavers_keys() {
        let all = members(10);
        let mut fewer = all.clone();
        fewer.remove(4);
        let (a, b) = (
            Rendezvous::new(&all, HashFunction::Mixed),
            Rendezvous::new(&fewer, HashFunction::Mixed),
        );
        for key in 0..20_000u64 {
            let h = splitmix64(key);
            let before = &all[a.locate(h)].name;
            let after = &fewer[b.locate(h)].name;
            if before != "node-4" {
                assert_eq!(before, after);
            }
        }
    }

    #[test]
    fn weights_scale_shares() {
        let mut m = members(3);
        m[2].weight = 2;
        let r = Rendezvous::new(&m, HashFunction::Mixed);
        let mut count = [0u32; 3];
        for key in 0..40_000u64 {
            count[r.locate(splitmix64(key))] += 1;
        }
        let share = count[2] as f64 / 40_000.0;
        assert!((share - 0.5).abs() < 0.02, "{count:?}");
    }
}
