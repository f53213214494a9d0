//! `mod`: hash mod n — the seed article's formula (its section 4, `h(x) = (x mod p) + 1`).
//!
//! Lookup O(1), memory O(1). It balances well, and that is all it does: when n changes,
//! a key stays put only if `h mod n == h mod (n±1)`, so a join from n to n+1 moves about
//! n/(n+1) of all keys (10/11 at ten nodes). It is kept as the baseline the consistent
//! schemes are measured against. Members are buckets by position; weights are ignored.

use super::Placement;

pub struct ModN {
    n: u64,
}

impl ModN {
    pub fn new(n: usize) -> Self {
        assert!(n > 0);
        ModN { n: n as u64 }
    }
}

impl Placement for ModN {
    #[inline]
    fn locate(&self, key_hash: u64) -> usize {
        (key_hash % self.n) as usize
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_moves_almost_everything() {
        let (a, b) = (ModN::new(10), ModN::new(11));
        let moved = (0..110_000u64)
            .filter(|&h| a.locate(h) != b.locate(h))
            .count();
        // Exactly 10/11 of any full period of 110 consecutive hashes move.
        assert_eq!(moved, 100_000);
    }
}
