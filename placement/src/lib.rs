//! Placement: which node owns a key, and how popular each key is ([`keys`]).
//!
//! Used by the key-value cluster protocol and by `dsim balance`, which compares the
//! schemes without a simulation.
//!
//! Six schemes behind one trait, each in its own file with its paper and its costs:
//!
//! | scheme | file | lookup | memory | keys moved when 1 of n changes |
//! |---|---|---|---|---|
//! | `mod` | [`modulo`] | O(1) | O(1) | almost all: 1 − 1/(n+1) on a join |
//! | `ring` | [`ring`] | O(log(n·v)) | O(n·v) | ≈ 1/(n+1), variance shrinking with vnodes v |
//! | `jump` | [`jump`] | O(log n) | O(1) | exactly 1/(n+1) on a join at the end |
//! | `rendezvous` | [`rendezvous`] | O(n) | O(n) | exactly the leaver's / joiner's share |
//! | `maglev` | [`maglev`] | O(1) | O(M) | ≈ 1/(n+1), a little more (table disruption) |
//! | `bounded` | [`bounded`] | O(log(n·v)) + probing | O(n·v + n) | ≈ 1/(n+1) plus re-spilled overflow |
//!
//! A pure scheme maps a key hash to a member by [`Placement::locate`]. Consistent hashing
//! with bounded loads is not a pure function of the key: where a key lands depends on how
//! full the nodes already are. [`assign`] therefore places a whole key set at once, for
//! every scheme alike, and that is what the balance report and the simulated cluster use.

pub mod balance;
pub mod bounded;
pub mod hash;
pub mod jump;
pub mod keys;
pub mod maglev;
pub mod modulo;
pub mod rendezvous;
pub mod ring;

use serde::Deserialize;

pub use hash::HashFunction;

/// A node taking part in placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// Relative capacity (1 for an ordinary node). Ring: weight × vnodes points; maglev:
    /// weight turns per round; rendezvous: weighted scores; bounded: weighted capacity.
    /// `mod` and `jump` cannot weight their buckets and ignore it.
    pub weight: u32,
}

impl Member {
    pub fn new(name: impl Into<String>) -> Self {
        Member {
            name: name.into(),
            weight: 1,
        }
    }
}

/// A pure placement: key hash to member index (into the slice it was built from).
pub trait Placement {
    fn locate(&self, key_hash: u64) -> usize;
    /// Bytes of lookup structures, for the cost table.
    fn memory_bytes(&self) -> usize;
}

/// A placement scheme and its parameters, as scenarios and `dsim balance` name them.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub enum Scheme {
    /// `hash mod n`, the seed article's formula.
    Mod,
    /// Consistent-hash ring with `vnodes` points per unit of weight.
    Ring { vnodes: u32 },
    /// Jump consistent hash.
    Jump,
    /// Highest random weight.
    Rendezvous,
    /// Maglev lookup table of `table_size` entries (a prime).
    Maglev { table_size: u32 },
    /// Ring with bounded loads: no node above ⌈(1+ε)·average⌉.
    Bounded { vnodes: u32, epsilon: f64 },
}

/// Virtual nodes per node at most.
pub const VNODES_MAX: u32 = 10_000;
/// The largest maglev table dsim builds (a prime).
pub const TABLE_SIZE_MAX: u32 = 10_000_019;

impl Scheme {
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Mod => "mod",
            Scheme::Ring { .. } => "ring",
            Scheme::Jump => "jump",
            Scheme::Rendezvous => "rendezvous",
            Scheme::Maglev { .. } => "maglev",
            Scheme::Bounded { .. } => "bounded",
        }
    }

    /// Every scheme with the given parameters, in a fixed order.
    pub fn all(vnodes: u32, table_size: u32, epsilon: f64) -> Vec<Scheme> {
        vec![
            Scheme::Mod,
            Scheme::Ring { vnodes },
            Scheme::Jump,
            Scheme::Rendezvous,
            Scheme::Maglev { table_size },
            Scheme::Bounded { vnodes, epsilon },
        ]
    }

    /// Checks the parameters; the message says what was expected.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Scheme::Ring { vnodes } | Scheme::Bounded { vnodes, .. } if vnodes == 0 => {
                Err("vnodes must be at least 1".into())
            }
            Scheme::Bounded { epsilon, .. } if !(epsilon > 0.0 && epsilon.is_finite()) => Err(
                format!("epsilon must be greater than 0 (e.g. 0.25), got {epsilon}"),
            ),
            Scheme::Ring { vnodes } | Scheme::Bounded { vnodes, .. } if vnodes > VNODES_MAX => Err(
                format!("vnodes {vnodes} is more than dsim supports ({VNODES_MAX})"),
            ),
            Scheme::Maglev { table_size } if table_size > TABLE_SIZE_MAX => Err(format!(
                "the maglev table size {table_size} is more than dsim supports \
                 ({TABLE_SIZE_MAX}, a prime)"
            )),
            Scheme::Maglev { table_size } if !maglev::is_prime(table_size as u64) => Err(format!(
                "the maglev table size must be a prime (e.g. 65537 or 5003), got {table_size}"
            )),
            _ => Ok(()),
        }
    }

    /// Builds the pure placement for `members`, or `None` for `bounded`.
    pub fn build(&self, members: &[Member], hash: HashFunction) -> Option<Box<dyn Placement>> {
        let n = members.len();
        Some(match *self {
            Scheme::Mod => Box::new(modulo::ModN::new(n)),
            Scheme::Ring { vnodes } => Box::new(ring::Ring::new(members, vnodes, hash)),
            Scheme::Jump => Box::new(jump::Jump::new(n)),
            Scheme::Rendezvous => Box::new(rendezvous::Rendezvous::new(members, hash)),
            Scheme::Maglev { table_size } => {
                Box::new(maglev::Maglev::new(members, table_size as usize, hash))
            }
            Scheme::Bounded { .. } => return None,
        })
    }

    /// Bytes of lookup structures for `members` (bounded: its ring plus a load per node).
    pub fn memory_bytes(&self, members: &[Member], hash: HashFunction) -> usize {
        match *self {
            Scheme::Bounded { vnodes, .. } => {
                ring::Ring::new(members, vnodes, hash).memory_bytes() + 8 * members.len()
            }
            _ => self.build(members, hash).map_or(0, |p| p.memory_bytes()),
        }
    }
}

/// Places every key: `owners[i]` is the member index owning `key_hashes[i]`. Keys are placed
/// in the order given; only `bounded` depends on that order. `weights` (one per key, e.g.
/// its share of requests) are what `bounded` balances; `None` means one per key.
pub fn assign(
    scheme: &Scheme,
    members: &[Member],
    hash: HashFunction,
    key_hashes: &[u64],
    weights: Option<&[f64]>,
) -> Vec<u32> {
    assert!(!members.is_empty(), "placement needs at least one member");
    match *scheme {
        Scheme::Bounded { vnodes, epsilon } => {
            let ring = ring::Ring::new(members, vnodes, hash);
            bounded::assign(&ring, members, epsilon, key_hashes, weights)
        }
        _ => {
            let p = scheme.build(members, hash).expect("pure scheme");
            key_hashes.iter().map(|&h| p.locate(h) as u32).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(n: usize) -> Vec<Member> {
        (0..n).map(|i| Member::new(format!("node-{i}"))).collect()
    }

    #[test]
    fn every_scheme_places_every_key_on_a_member_and_is_deterministic() {
        let keys: Vec<u64> = (0..5000)
            .map(|i| HashFunction::Mixed.hash_str(&format!("key-{i}")))
            .collect();
        for scheme in Scheme::all(50, 5003, 0.25) {
            let a = assign(&scheme, &members(7), HashFunction::Mixed, &keys, None);
            let b = assign(&scheme, &members(7), HashFunction::Mixed, &keys, None);
            assert_eq!(a, b, "{}", scheme.name());
            assert!(a.iter().all(|&o| o < 7));
            let mut used = [false; 7];
            a.iter().for_each(|&o| used[o as usize] = true);
            assert!(
                used.iter().all(|&u| u),
                "{} leaves a node empty",
                scheme.name()
            );
        }
    }

    #[test]
    fn parameters_are_checked() {
        assert!(Scheme::Maglev { table_size: 65536 }.validate().is_err());
        assert!(Scheme::Maglev { table_size: 65537 }.validate().is_ok());
        assert!(Scheme::Ring { vnodes: 0 }.validate().is_err());
        assert!(Scheme::Bounded {
            vnodes: 10,
            epsilon: 0.0
        }
        .validate()
        .is_err());
    }
}
