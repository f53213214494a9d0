//! The hash behind ring points and keys: a choice of its own.
//!
//! `Crc32` is what the seed article uses: fast, but linear. Sequential names such as
//! "node-3#17" differ in a few bits, and so do their CRCs: the points clump together on the
//! ring, and the ring stays skewed however many virtual nodes it has. `Mixed` runs the same
//! CRC through splitmix64's finalizer, which spreads every input bit over all 64 output
//! bits; the clumps disappear. `dsim balance` shows both, side by side.

use serde::{Deserialize, Serialize};

use sim_core::splitmix64;

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum HashFunction {
    /// Plain CRC-32 (IEEE), as `crc32.ChecksumIEEE` in the seed article: 32-bit values.
    Crc32,
    /// CRC-32 followed by the splitmix64 finalizer: well-mixed 64-bit values.
    #[default]
    Mixed,
}

impl HashFunction {
    pub const ALL: [HashFunction; 2] = [HashFunction::Crc32, HashFunction::Mixed];

    pub fn hash(self, bytes: &[u8]) -> u64 {
        let crc = crc32fast::hash(bytes) as u64;
        match self {
            HashFunction::Crc32 => crc,
            HashFunction::Mixed => splitmix64(crc),
        }
    }

    pub fn hash_str(self, s: &str) -> u64 {
        self.hash(s.as_bytes())
    }

    /// How many bits its values use: hashes are spread over `0 .. 2^bits`.
    pub fn bits(self) -> u32 {
        match self {
            HashFunction::Crc32 => 32,
            HashFunction::Mixed => 64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HashFunction::Crc32 => "crc32",
            HashFunction::Mixed => "mixed",
        }
    }
}

impl std::str::FromStr for HashFunction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "crc32" => Ok(HashFunction::Crc32),
            "mixed" => Ok(HashFunction::Mixed),
            _ => Err(format!(
                "unknown hash function `{s}`; expected crc32 or mixed"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // CRC-32/IEEE of "123456789" is 0xCBF43926: the same function as Go's ChecksumIEEE.
        assert_eq!(HashFunction::Crc32.hash(b"123456789"), 0xCBF4_3926);
        assert!(HashFunction::Crc32.hash(b"node-3#17") < 1 << 32);
        assert_eq!(
            HashFunction::Mixed.hash(b"x"),
            splitmix64(crc32fast::hash(b"x") as u64)
        );
    }

    #[test]
    fn mixing_spreads_sequential_names_over_the_whole_range() {
        // Top 4 bits of 1,000 sequential names: crc32 (as a 32-bit value) clumps into few
        // of the 16 buckets less evenly than the mixed hash does.
        let spread = |h: HashFunction| {
            let mut buckets = [0u32; 16];
            for i in 0..1000 {
                let v = h.hash_str(&format!("node-0#{i}"));
                buckets[(v >> (h.bits() - 4)) as usize] += 1;
            }
            *buckets.iter().max().unwrap()
        };
        assert!(
            spread(HashFunction::Mixed) < 100,
            "{}",
            spread(HashFunction::Mixed)
        );
    }
}
