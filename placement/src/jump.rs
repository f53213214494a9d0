//! `jump`: jump consistent hash — John Lamping and Eric Veach, "A Fast, Minimal Memory,
//! Consistent Hash Algorithm" (Google, 2014).
//!
//! A key jumps forward through bucket numbers with a 64-bit LCG seeded by the key; the last
//! bucket below n is its owner. Lookup O(log n) (about ln n + 1 jumps), memory O(1), and a
//! join at the end moves exactly the keys the new bucket takes: 1/(n+1) in expectation.
//! Its catch: buckets are numbered 0..n-1, so only the last bucket can leave cheaply. When a
//! member in the middle leaves, the last member takes its number, and the keys of both move
//! (about 2/n) — which `dsim balance` shows. Weights are not supported.

use super::Placement;

pub struct Jump {
    buckets: i64,
}

impl Jump {
    pub fn new(n: usize) -> Self {
        assert!(n > 0);
        Jump { buckets: n as i64 }
    }
}

/// The algorithm exactly as the paper gives it.
#[inline]
pub fn jump_consistent_hash(mut key: u64, buckets: i64) -> i64 {
    let (mut b, mut j) = (-1i64, 0i64);
    while j < buckets {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b
}

impl Placement for Jump {
    #[inline]
    fn locate(&self, key_hash: u64) -> usize {
        jump_consistent_hash(key_hash, self.buckets) as usize
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::splitmix64;

    #[test]
    fn matches_the_cross_language_golden_values() {
        // The golden values Guava and the Go and C ports check, so that every
        // implementation of the paper's function agrees.
        let golden100 = [
            0, 55, 62, 8, 45, 59, 86, 97, 82, 59, 73, 37, 17, 56, 86, 21, 90, 37, 38, 83,
        ];
        for (key, want) in golden100.iter().enumerate() {
            assert_eq!(jump_consistent_hash(key as u64, 100), *want, "key {key}");
        }
        assert_eq!(jump_consistent_hash(10_863_919_174_838_991, 11), 6);
        assert_eq!(jump_consistent_hash(2_016_238_256_797_177_309, 11), 3);
        assert_eq!(jump_consistent_hash(1_673_758_223_894_951_030, 11), 5);
        assert_eq!(jump_consistent_hash(2, 100_001), 80_343);
        assert_eq!(jump_consistent_hash(2201, 100_001), 22_152);
        assert_eq!(jump_consistent_hash(2202, 100_001), 15_018);
    }

    #[test]
    fn growing_by_one_moves_keys_only_to_the_new_bucket() {
        let (a, b) = (Jump::new(10), Jump::new(11));
        let mut moved = 0;
        for key in 0..100_000u64 {
            let h = splitmix64(key);
            let (x, y) = (a.locate(h), b.locate(h));
            if x != y {
                assert_eq!(y, 10, "a key may only move to the new bucket");
                moved += 1;
            }
        }
        let f = moved as f64 / 100_000.0;
        assert!((f - 1.0 / 11.0).abs() < 0.01, "{f}");
    }
}
