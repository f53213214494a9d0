//! The run fingerprint: a 64-bit hash of the complete event sequence.
//!
//! Two runs with the same fingerprint processed the same events at the same virtual times
//! with the same messages, so a user can tell at a glance that a replay is exact. The
//! algorithm is fixed here (not `DefaultHasher`, whose algorithm the standard library may
//! change), and it is cheap: one multiply per word, with a splitmix64 finish.

use std::hash::{Hash, Hasher};

use crate::random::splitmix64;

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// A [`Hasher`] with a fixed algorithm, used for the fingerprint and for hashing messages.
#[derive(Clone, Debug)]
pub struct Fingerprint {
    state: u64,
}

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint {
            state: 0x6473_696d_5f66_7031, // "dsim_fp1"
        }
    }
}

impl Fingerprint {
    #[inline]
    pub fn add(&mut self, word: u64) {
        // Each step is a bijection of the state for a fixed word and of the word for a
        // fixed state, so two sequences that differ in one word always differ after it.
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(K);
    }

    /// Adds the hash of any value, through its `Hash` impl.
    #[inline]
    pub fn add_hash<T: Hash + ?Sized>(&mut self, value: &T) {
        value.hash(self);
    }

    pub fn value(&self) -> u64 {
        splitmix64(self.state)
    }
}

impl Hasher for Fingerprint {
    fn finish(&self) -> u64 {
        self.value()
    }

    fn write(&mut self, bytes: &[u8]) {
        words(bytes, |w| self.add(w));
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        // Fixed width, so 32- and 64-bit machines agree.
        self.add(i as u64);
    }
}

/// `bytes` as little-endian 64-bit words, the last one padded and marked with its length.
fn words(bytes: &[u8], mut add: impl FnMut(u64)) {
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        add(u64::from_le_bytes(c.try_into().expect("8-byte chunk")));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        add(u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 59));
    }
}

/// One word for a value: the integer itself if the value hashes as one integer (a `u64`
/// timer tag, a fieldless enum), otherwise [`hash_of`] it. What a timer carries enters the
/// fingerprint this way, so a bare tag counts as itself.
pub fn of_value<T: Hash + ?Sized>(value: &T) -> u64 {
    #[derive(Default)]
    struct ValueWord {
        first: u64,
        count: u32,
        all: Fingerprint,
    }
    impl ValueWord {
        fn add(&mut self, w: u64) {
            if self.count == 0 {
                self.first = w;
            }
            self.count += 1;
            self.all.add(w);
        }
    }
    impl Hasher for ValueWord {
        fn finish(&self) -> u64 {
            if self.count == 1 {
                self.first
            } else {
                self.all.value()
            }
        }
        fn write(&mut self, bytes: &[u8]) {
            words(bytes, |w| self.add(w));
        }
        fn write_u8(&mut self, i: u8) {
            self.add(i as u64);
        }
        fn write_u16(&mut self, i: u16) {
            self.add(i as u64);
        }
        fn write_u32(&mut self, i: u32) {
            self.add(i as u64);
        }
        fn write_u64(&mut self, i: u64) {
            self.add(i);
        }
        fn write_usize(&mut self, i: usize) {
            self.add(i as u64);
        }
    }
    let mut h = ValueWord::default();
    value.hash(&mut h);
    h.finish()
}

/// Hashes one value with the fixed algorithm (for message digests in traces and tests).
pub fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut f = Fingerprint::default();
    value.hash(&mut f);
    f.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_content_matter() {
        let mut a = Fingerprint::default();
        a.add(1);
        a.add(2);
        let mut b = Fingerprint::default();
        b.add(2);
        b.add(1);
        assert_ne!(a.value(), b.value());
        assert_ne!(hash_of("abc"), hash_of("abd"));
        assert_eq!(hash_of(&(1u32, "x")), hash_of(&(1u32, "x")));
    }

    #[test]
    fn algorithm_is_pinned() {
        // A change here changes every fingerprint users have recorded: a breaking change.
        let mut f = Fingerprint::default();
        f.add(42);
        assert_eq!(f.value(), 0xeaf3_bd74_7a74_7fe1);
        assert_eq!(hash_of("dsim"), 0x1639_a3ca_38ea_91fe);
        assert_eq!(
            hash_of(&0u64),
            hash_of(&0u32),
            "integers hash by value, not width"
        );
    }

    #[test]
    fn a_value_that_hashes_as_one_integer_is_that_integer() {
        assert_eq!(of_value(&7u64), 7);
        assert_eq!(of_value(&7u32), 7);
        #[derive(Hash)]
        enum Timer {
            Tick,
            Retry { request: u64 },
        }
        assert_ne!(
            of_value(&Timer::Tick),
            of_value(&Timer::Retry { request: 0 })
        );
        assert_ne!(
            of_value(&Timer::Retry { request: 1 }),
            of_value(&Timer::Retry { request: 2 })
        );
        assert_eq!(of_value("ab"), hash_of("ab"), "more than one word: hashed");
    }
}
