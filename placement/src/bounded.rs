//! `bounded`: consistent hashing with bounded loads — Vahab Mirrokni, Mikkel Thorup and
//! Morteza Zadimoghaddam, "Consistent Hashing with Bounded Loads" (SODA 2018).
//!
//! The ring, with a capacity: no member may hold more than ⌈(1+ε)·average⌉. A key goes to
//! its ring successor if that member has room, else on clockwise to the first member that
//! has. With weighted keys (a key's share of requests, for hot keys), loads are weights
//! and the bound is on request load. Lookup: a ring search plus probing past full members
//! (expected O(1/ε²) probes); memory: the ring plus one load per member. A membership change
//! moves about 1/(n+1) of the keys, plus those that spill differently because capacities
//! changed. Because where a key lands depends on the keys placed before it, placement is a
//! pass over the key set ([`assign`]), not a function of one key.

use super::ring::Ring;
use super::Member;

/// Places `key_hashes` in order on `ring` with capacity (1+ε)·share per member (rounded up
/// for whole keys), where a member's share of the total key weight follows its weight.
pub fn assign(
    ring: &Ring,
    members: &[Member],
    epsilon: f64,
    key_hashes: &[u64],
    weights: Option<&[f64]>,
) -> Vec<u32> {
    let total: f64 = match weights {
        Some(w) => w.iter().sum(),
        None => key_hashes.len() as f64,
    };
    let weight_sum: f64 = members.iter().map(|m| m.weight.max(1) as f64).sum();
    // Whole keys: the paper's ⌈(1+ε)·average⌉. Weighted keys: the exact (1+ε)·share, since a
    // ceiling on a fractional load would loosen the bound by up to one whole unit.
    let capacity: Vec<f64> = members
        .iter()
        .map(|m| {
            let c = (1.0 + epsilon) * total * m.weight.max(1) as f64 / weight_sum;
            if weights.is_none() {
                c.ceil()
            } else {
                c
            }
        })
        .collect();
    let mut load = vec![0.0f64; members.len()];
    let mut owners = Vec::with_capacity(key_hashes.len());
    for (k, &h) in key_hashes.iter().enumerate() {
        let w = weights.map_or(1.0, |ws| ws[k]);
        let start = ring.successor(h);
        let mut chosen = None;
        for step in 0..ring.len() {
            let o = ring.owner_at((start + step) % ring.len()) as usize;
            if load[o] + w <= capacity[o] + 1e-9 {
                chosen = Some(o);
                break;
            }
        }
        // A key heavier than any room left (one very hot key) goes to the least loaded.
        let o = chosen.unwrap_or_else(|| {
            (0..members.len())
                .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
                .expect("members")
        });
        load[o] += w;
        owners.push(o as u32);
    }
    owners
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HashFunction;
    use sim_core::splitmix64;

    #[test]
    fn no_member_exceeds_the_bound() {
        let members: Vec<Member> = (0..10).map(|i| Member::new(format!("node-{i}"))).collect();
        // One vnode each: the plain ring would be badly skewed.
        let ring = Ring::new(&members, 1, HashFunction::Mixed);
        let keys: Vec<u64> = (0..100_000u64).map(splitmix64).collect();
        for eps in [0.05, 0.25, 1.0] {
            let owners = assign(&ring, &members, eps, &keys, None);
            let mut count = [0u32; 10];
            owners.iter().for_each(|&o| count[o as usize] += 1);
            let bound = ((1.0 + eps) * 10_000.0f64).ceil() as u32;
            assert!(count.iter().all(|&c| c <= bound), "eps {eps}: {count:?}");
        }
    }

    #[test]
    fn weighted_keys_bound_the_request_load() {
        let members: Vec<Member> = (0..4).map(|i| Member::new(format!("node-{i}"))).collect();
        let ring = Ring::new(&members, 50, HashFunction::Mixed);
        let keys: Vec<u64> = (0..1000u64).map(splitmix64).collect();
        let weights: Vec<f64> = (1..=1000).map(|r| 1.0 / r as f64).collect();
        let owners = assign(&ring, &members, 0.2, &keys, Some(&weights));
        let mut load = [0.0; 4];
        owners
            .iter()
            .zip(&weights)
            .for_each(|(&o, w)| load[o as usize] += w);
        let total: f64 = weights.iter().sum();
        let cap = 1.2 * total / 4.0;
        assert!(load.iter().all(|&l| l <= cap + 1e-9), "{load:?} cap {cap}");
    }
}
