//! Seeded randomness: one ChaCha stream per purpose.
//!
//! Every random decision in a run draws from a [`Random`] derived from the scenario seed
//! and a [`Stream`] naming its purpose. Streams are independent ChaCha8 streams under one
//! key, so adding a client (a new node stream) does not shift the network's draws, and a
//! change to the nemesis does not change which peer a node picks.
//!
//! The words are ChaCha8's: `rand_chacha`'s for the few shared streams, and for node
//! streams this module's own block function, tested word for word against it.
//! Conversions to floats, ranges and distributions are written here rather than taken from
//! `rand`, and transcendental functions come from `libm`, so a seed means the same run on
//! every machine and with every version of the `rand` crates.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// What a stream of randomness is for. Each purpose gets its own ChaCha stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Loss, duplication and latency draws of the packet simulator.
    Network,
    /// The random nemesis: when and where faults strike.
    Faults,
    /// Workload generators (clients' keys and operations) that live outside nodes.
    Workload,
    /// Node `i`'s own draws, through its context.
    Node(u32),
}

impl Stream {
    /// The ChaCha stream number.
    #[inline]
    pub(crate) fn id(self) -> u64 {
        match self {
            Stream::Network => 1,
            Stream::Faults => 2,
            Stream::Workload => 3,
            Stream::Node(i) => (1 << 32) | i as u64,
        }
    }
}

/// A deterministic random stream: ChaCha8 (Bernstein's ChaCha with 8 rounds, a 64-bit
/// block counter and a 64-bit stream number), the same words `rand_chacha`'s `ChaCha8Rng`
/// gives for the same key and stream (a test pins it), generated a block at a time.
///
/// Compact on purpose: every node has its own stream, and a cluster of a million nodes
/// keeps a million of them. A node's slot keeps only a 72-byte [`StreamBuffer`], one block
/// made at a time: its key is the run's and its stream number its id.
///
/// A `Random` that draws all the time (the network's stream, the nemesis's, a workload's)
/// is `rand_chacha`'s `ChaCha8Rng` itself: few of them exist, and it makes four blocks at
/// a time with the processor's vector instructions, where one block made word by word
/// took 17% of the time at 16 nodes (half of it the network's draws). A node's stream,
/// while its context lends it as a `Random`, stays its one-block buffer: setting up four
/// blocks for a handler's one or two draws cost more than it saved.
#[derive(Clone, Debug)]
pub struct Random {
    source: Source,
}

#[derive(Clone, Debug)]
enum Source {
    Wide(Box<ChaCha8Rng>),
    Block {
        key: StreamKey,
        stream: u64,
        buffer: StreamBuffer,
    },
}

/// The 256-bit ChaCha key of every stream of a run: the 64-bit seed spread with
/// splitmix64, so nearby seeds (0, 1, 2, ... in a sweep) give unrelated keys. Made once per
/// run, not per block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamKey([u32; 8]);

impl StreamKey {
    pub fn of(seed: u64) -> Self {
        let mut key = [0u32; 8];
        let mut state = seed;
        for pair in key.chunks_exact_mut(2) {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let word = splitmix64(state);
            pair[0] = word as u32;
            pair[1] = (word >> 32) as u32;
        }
        StreamKey(key)
    }
}

/// Where a stream is: its current block of words and how many words it has given. Without
/// the key and the stream number, which whoever keeps many buffers of one run supplies.
#[derive(Clone, Debug, Default)]
pub struct StreamBuffer {
    /// The current block's words (block `(position - 1) / 16`).
    words: [u32; 16],
    /// How many words the stream has given: the next is word `position % 16` of block
    /// `position / 16`, which needs generating first when `position % 16 == 0`.
    position: u64,
}

const CHACHA_CONSTANTS: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

#[inline(always)]
fn quarter_round(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

impl StreamBuffer {
    /// Generates the block the next word is in.
    #[inline(never)]
    fn refill(&mut self, key: &StreamKey, stream: u64) {
        let block = self.position / 16;
        let mut input = [0u32; 16];
        input[..4].copy_from_slice(&CHACHA_CONSTANTS);
        input[4..12].copy_from_slice(&key.0);
        input[12] = block as u32;
        input[13] = (block >> 32) as u32;
        input[14] = stream as u32;
        input[15] = (stream >> 32) as u32;
        let mut x = input;
        for _ in 0..4 {
            quarter_round(&mut x, 0, 4, 8, 12);
            quarter_round(&mut x, 1, 5, 9, 13);
            quarter_round(&mut x, 2, 6, 10, 14);
            quarter_round(&mut x, 3, 7, 11, 15);
            quarter_round(&mut x, 0, 5, 10, 15);
            quarter_round(&mut x, 1, 6, 11, 12);
            quarter_round(&mut x, 2, 7, 8, 13);
            quarter_round(&mut x, 3, 4, 9, 14);
        }
        for (w, i) in x.iter_mut().zip(input) {
            *w = w.wrapping_add(i);
        }
        self.words = x;
    }

    #[inline]
    fn next_u32(&mut self, key: &StreamKey, stream: u64) -> u32 {
        let i = (self.position % 16) as usize;
        if i == 0 {
            self.refill(key, stream);
        }
        self.position += 1;
        self.words[i]
    }

    /// The stream's next two words, the first as the low half (as `rand_core`'s block RNGs
    /// do), for a stream under `key` numbered `stream`.
    #[inline]
    pub fn next_u64(&mut self, key: &StreamKey, stream: u64) -> u64 {
        let i = (self.position % 16) as usize;
        if (1..15).contains(&i) {
            self.position += 2;
            return u64::from(self.words[i]) | (u64::from(self.words[i + 1]) << 32);
        }
        let lo = self.next_u32(key, stream);
        let hi = self.next_u32(key, stream);
        u64::from(lo) | (u64::from(hi) << 32)
    }
}

impl Random {
    /// The stream for `purpose` under scenario seed `seed`.
    pub fn new(seed: u64, purpose: Stream) -> Self {
        let mut bytes = [0u8; 32];
        for (chunk, word) in bytes.chunks_exact_mut(4).zip(StreamKey::of(seed).0) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        let mut core = ChaCha8Rng::from_seed(bytes);
        core.set_stream(purpose.id());
        Random {
            source: Source::Wide(Box::new(core)),
        }
    }

    /// The stream for `purpose` under `key`, where `buffer` left it, made a block at a
    /// time: a node's stream while its context lends it.
    pub fn resume(key: StreamKey, purpose: Stream, buffer: StreamBuffer) -> Self {
        Random {
            source: Source::Block {
                key,
                stream: purpose.id(),
                buffer,
            },
        }
    }

    /// Where a stream made by [`resume`](Self::resume) is, to resume it later. `None` for
    /// one made by [`new`](Self::new).
    pub fn into_buffer(self) -> Option<StreamBuffer> {
        match self.source {
            Source::Block { buffer, .. } => Some(buffer),
            Source::Wide(_) => None,
        }
    }

    #[cfg(test)]
    fn next_u32(&mut self) -> u32 {
        match &mut self.source {
            Source::Wide(core) => core.next_u32(),
            Source::Block {
                key,
                stream,
                buffer,
            } => buffer.next_u32(key, *stream),
        }
    }

    /// The next two words, the first as the low half (as `rand_core`'s block RNGs do).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        match &mut self.source {
            Source::Wide(core) => core.next_u64(),
            Source::Block {
                key,
                stream,
                buffer,
            } => buffer.next_u64(key, *stream),
        }
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n). Lemire's multiply-shift; the bias (< n / 2^64) is far below
    /// anything a simulation can observe. `n` must be non-zero.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        below(self.next_u64(), n)
    }

    /// Uniform in [lo, hi] (inclusive).
    #[inline]
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `p`. Always draws, so the stream's position does not depend
    /// on `p` being zero or one.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponentially distributed with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        // 1 - unit() is in (0, 1], so the logarithm is finite.
        -mean * libm::log(1.0 - self.unit())
    }

    /// Normally distributed (Box–Muller, one of the pair).
    pub fn normal(&mut self, mean: f64, stddev: f64) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        let r = libm::sqrt(-2.0 * libm::log(u1));
        mean + stddev * r * libm::cos(2.0 * std::f64::consts::PI * u2)
    }
}

/// Uniform in [0, n) from a uniform 64-bit word: Lemire's multiply-shift.
#[inline]
pub(crate) fn below(word: u64, n: u64) -> u64 {
    debug_assert!(n > 0);
    ((word as u128 * n as u128) >> 64) as u64
}

/// The splitmix64 finalizer: a fixed, well-mixed 64-bit permutation.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_are_rand_chachas() {
        for seed in [0u64, 1, 42, u64::MAX] {
            let key = StreamKey::of(seed);
            for purpose in [
                Stream::Network,
                Stream::Faults,
                Stream::Node(0),
                Stream::Node(999_999),
            ] {
                // A node's buffer, made a block at a time here, against rand_chacha.
                let mut ours = StreamBuffer::default();
                let stream = purpose.id();
                let mut theirs = Random::new(seed, purpose);
                // Across many block boundaries, in both alignments of a u64.
                for i in 0..1000 {
                    if i % 7 == 3 {
                        let (a, b) = (ours.next_u32(&key, stream), theirs.next_u32());
                        assert_eq!(a, b, "seed {seed}, draw {i}");
                    } else {
                        let (a, b) = (ours.next_u64(&key, stream), theirs.next_u64());
                        assert_eq!(a, b, "seed {seed}, draw {i}");
                    }
                }
            }
        }
        assert_eq!(std::mem::size_of::<StreamBuffer>(), 72);
    }

    #[test]
    fn a_stream_lent_and_given_back_goes_on_where_it_was() {
        let key = StreamKey::of(9);
        let mut reference = Random::new(9, Stream::Node(5));
        let stream = Stream::Node(5).id();
        let mut buffer = StreamBuffer::default();
        for handler in 0..200u64 {
            // Lent as a `Random` for a few draws, then kept as a buffer for a few.
            let mut random = Random::resume(key, Stream::Node(5), buffer);
            for _ in 0..handler % 5 {
                assert_eq!(random.next_u64(), reference.next_u64());
            }
            if handler % 3 == 0 {
                assert_eq!(random.next_u32(), reference.next_u32());
            }
            buffer = random.into_buffer().expect("a lent stream");
            for _ in 0..handler % 4 {
                assert_eq!(buffer.next_u64(&key, stream), reference.next_u64());
            }
        }
        assert!(Random::new(9, Stream::Network).into_buffer().is_none());
    }

    #[test]
    fn same_seed_and_stream_same_draws() {
        let mut a = Random::new(7, Stream::Network);
        let mut b = Random::new(7, Stream::Network);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn streams_and_seeds_are_independent() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Random::new(7, Stream::Network);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Random::new(7, Stream::Node(0));
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = Random::new(8, Stream::Network);
                move |_| r.next_u64()
            })
            .collect();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn the_stream_is_pinned() {
        // If these change, every fingerprint users have recorded changes: a breaking change.
        let mut r = Random::new(0, Stream::Network);
        assert_eq!(r.next_u64(), 0x040f_9883_ab9f_594a);
        assert_eq!(r.next_u64(), 0xa036_7242_560a_4383);
    }

    #[test]
    fn distributions_have_the_right_moments() {
        let mut r = Random::new(1, Stream::Workload);
        let n = 200_000;
        let (mut sum_u, mut sum_e, mut sum_n, mut sum_n2) = (0.0, 0.0, 0.0, 0.0);
        let mut hits = 0;
        for _ in 0..n {
            sum_u += r.unit();
            sum_e += r.exponential(3.0);
            let x = r.normal(10.0, 2.0);
            sum_n += x;
            sum_n2 += x * x;
            hits += r.chance(0.25) as u32;
            let b = r.between(5, 9);
            assert!((5..=9).contains(&b));
        }
        let n = n as f64;
        assert!((sum_u / n - 0.5).abs() < 0.01);
        assert!((sum_e / n - 3.0).abs() < 0.05);
        let mean = sum_n / n;
        assert!((mean - 10.0).abs() < 0.05);
        assert!(((sum_n2 / n - mean * mean).sqrt() - 2.0).abs() < 0.05);
        assert!((hits as f64 / n - 0.25).abs() < 0.01);
    }
}
