//! The generator's randomness: a ChaCha8 stream under a key spread from the seed, the same
//! words the engine's workload stream gives for that seed, so a generated history is the
//! same whichever program makes it.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// The ChaCha stream number of a workload.
const STREAM_WORKLOAD: u64 = 3;

/// A seeded stream of draws.
pub(crate) struct Draws(ChaCha8Rng);

impl Draws {
    pub(crate) fn new(seed: u64) -> Draws {
        let mut bytes = [0u8; 32];
        let mut state = seed;
        for chunk in bytes.chunks_exact_mut(8) {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            chunk.copy_from_slice(&splitmix64(state).to_le_bytes());
        }
        let mut core = ChaCha8Rng::from_seed(bytes);
        core.set_stream(STREAM_WORKLOAD);
        Draws(core)
    }

    /// Uniform in [0, n) (Lemire's multiply-shift); `n` must be non-zero.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "a draw below zero");
        ((self.0.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        let unit = (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        unit < p
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
