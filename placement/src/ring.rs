//! `ring`: the consistent-hash ring — David Karger et al., "Consistent Hashing and Random
//! Trees" (STOC 1997), with virtual nodes as in Dynamo (DeCandia et al., SOSP 2007).
//!
//! Each member puts `vnodes × weight` points on a ring of hash values, named "name#v" and
//! hashed like keys; a key belongs to the first point at or after its hash, wrapping
//! around. A join or leave moves only the keys on the arcs that change owner: about 1/(n+1)
//! of them, with a spread that shrinks as vnodes grow (max/mean ≈ 1 + O(√(log n / v))).
//!
//! Lookup is a binary search over the sorted points, O(log(n·v)); to keep it fast on large
//! rings (100,000 points at 1,000 nodes × 100 vnodes), a prefix index of 2^k buckets (k ≈
//! log2 of the point count) narrows the search to the few points sharing the key's top bits
//! first. Memory: 12 bytes a point plus 4 bytes an index bucket.

use super::{HashFunction, Member, Placement};

pub struct Ring {
    /// Point hashes, sorted.
    points: Vec<u64>,
    /// `owners[i]` is the member index of `points[i]`.
    owners: Vec<u32>,
    /// `index[b]`: the first point whose top bits are at least `b`.
    index: Vec<u32>,
    shift: u32,
}

impl Ring {
    pub fn new(members: &[Member], vnodes: u32, hash: HashFunction) -> Self {
        let mut pts: Vec<(u64, u32)> = Vec::new();
        for (i, m) in members.iter().enumerate() {
            for v in 0..vnodes * m.weight.max(1) {
                pts.push((hash.hash_str(&format!("{}#{v}", m.name)), i as u32));
            }
        }
        // Ties (equal hashes) break by member index: deterministic, whatever the sort.
        pts.sort_unstable();
        let bits = (usize::BITS - pts.len().max(1).leading_zeros()).clamp(1, 20);
        let shift = hash.bits() - bits;
        let buckets = 1usize << bits;
        let mut index = Vec::with_capacity(buckets + 1);
        let mut i = 0;
        for b in 0..=buckets {
            while i < pts.len() && ((pts[i].0 >> shift) as usize) < b {
                i += 1;
            }
            index.push(i as u32);
        }
        Ring {
            points: pts.iter().map(|p| p.0).collect(),
            owners: pts.iter().map(|p| p.1).collect(),
            index,
            shift,
        }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The position of the first point at or after `h`, wrapping to 0.
    #[inline]
    pub fn successor(&self, h: u64) -> usize {
        let b = (h >> self.shift) as usize;
        if b + 1 >= self.index.len() {
            return 0; // above every bucket (a wider hash than the ring's): wrap.
        }
        let (lo, hi) = (self.index[b] as usize, self.index[b + 1] as usize);
        let pos = lo + self.points[lo..hi].partition_point(|&p| p < h);
        if pos == self.points.len() {
            0
        } else {
            pos
        }
    }

    /// The member index owning the point at `pos`.
    #[inline]
    pub fn owner_at(&self, pos: usize) -> u32 {
        self.owners[pos]
    }
}

impl Placement for Ring {
    #[inline]
    fn locate(&self, key_hash: u64) -> usize {
        self.owners[self.successor(key_hash)] as usize
    }

    fn memory_bytes(&self) -> usize {
        self.points.len() * 12 + self.index.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::splitmix64;

    fn members(n: usize) -> Vec<Member> {
        (0..n).map(|i| Member::new(format!("node-{i}"))).collect()
    }

    #[test]
    fn successor_agrees_with_a_plain_search() {
        for hash in HashFunction::ALL {
            let ring = Ring::new(&members(7), 13, hash);
            let plain = |h: u64| {
                let p = ring.points.partition_point(|&x| x < h);
                if p == ring.points.len() {
                    0
                } else {
                    p
                }
            };
            for k in 0..20_000u64 {
                let h = if hash == HashFunction::Crc32 {
                    splitmix64(k) >> 32
                } else {
                    splitmix64(k)
                };
                assert_eq!(ring.successor(h), plain(h));
            }
            // Exactly on a point, and past the last point.
            let first = ring.points[0];
            assert_eq!(ring.successor(first), 0);
            assert_eq!(ring.successor(*ring.points.last().unwrap() + 1), 0);
        }
    }

    #[test]
    fn a_join_moves_keys_only_to_the_joiner() {
        let mut m = members(10);
        let a = Ring::new(&m, 100, HashFunction::Mixed);
        m.push(Member::new("node-10"));
        let b = Ring::new(&m, 100, HashFunction::Mixed);
        let mut moved = 0;
        for k in 0..50_000u64 {
            let h = splitmix64(k);
            let (x, y) = (a.locate(h), b.locate(h));
            if x != y {
                assert_eq!(y, 10);
                moved += 1;
            }
        }
        let f = moved as f64 / 50_000.0;
        assert!((f - 1.0 / 11.0).abs() < 0.03, "{f}");
    }

    #[test]
    fn weight_multiplies_points() {
        let mut m = members(2);
        m[1].weight = 3;
        assert_eq!(Ring::new(&m, 10, HashFunction::Mixed).len(), 40);
    }
}
