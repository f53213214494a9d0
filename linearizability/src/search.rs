//! Wing and Gong's search with Lowe's memoization, over one part of a history.
//!
//! The calls and returns of the part's operations form a doubly linked list in time order
//! (at equal times calls come first, so operations that meet are concurrent). The search
//! walks it: at a call it tries to take the operation effect now; if the model accepts and
//! the pair (operations taken, state) is new, it lifts the operation out of the list and
//! starts again from the front; at a return whose operation has not been taken, nothing
//! taken so far can be right, so it undoes the last choice and tries the next call after
//! it. A list with no operation that returned left in it means every operation was placed (an
//! indeterminate one left over takes effect last, or never). Pairs already seen are never
//! tried again, which is what makes most histories fast (Lowe, 2017).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use crate::check::{Budget, Model, Operation};

/// What the search found for one part.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// An order that explains every result, by operation index into the history.
    Linearizable(Vec<usize>),
    /// No order works: the longest prefix placed, and the operation that could not follow.
    Stuck {
        longest: Vec<usize>,
        culprit: usize,
    },
    Unknown,
}

const NONE: usize = usize::MAX;

struct Entry {
    /// Index into the part.
    op: usize,
    call: bool,
    /// For a call: its return entry (`NONE` for an operation that never returns... all do
    /// here: indeterminate ones return at the end of time).
    partner: usize,
    prev: usize,
    next: usize,
}

/// A set of operations, kept as the sum of a 128-bit key per member (Zobrist hashing), so
/// adding or removing one is O(1) and remembering the set costs 16 bytes, where a bitset
/// costs n/8 bytes to copy and to hash at every step. Two different configurations share
/// a key with probability 2^-128 per pair (a shared key would make the search skip one
/// as already explored): a search of 10^12 configurations is wrong with probability
/// below 10^-14. The keys are fixed (SplitMix64 of the operation's place), so
/// verdicts reproduce.
///
/// Indeterminate operations with the same input share one key, so the sum counts how many
/// of each kind were taken, not which: two configurations that differ only in which of two
/// identical indeterminate operations was taken have the same future (each one taken
/// proves every return before its call was passed, so the one left is as free to take as
/// the other), and the search explores only one of them. Histories with many timeouts
/// (Jepsen's `:info`) would otherwise try every subset of them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Set(u128);

/// A configuration (operations taken, model state) as one 128-bit key: the set's key
/// combined with a 128-bit hash of the state. The memo keeps only these 16 bytes.
fn configuration<S: Hash>(taken: Set, state: &S) -> u128 {
    let mut h = StateHash {
        a: 0x243F_6A88_85A3_08D3,
        b: 0x1319_8A2E_0370_7344,
    };
    state.hash(&mut h);
    let (a, b) = (finish(h.a), finish(h.b ^ h.a.rotate_left(17)));
    taken.0 ^ ((u128::from(a) << 64) | u128::from(b))
}

fn finish(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fixed two-lane hash of a model state (the same in every run and every build: the
/// standard library's hashers promise neither).
struct StateHash {
    a: u64,
    b: u64,
}

impl Hasher for StateHash {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            let x = u64::from_le_bytes(word) ^ (chunk.len() as u64) << 59;
            self.a = (self.a ^ x)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(29);
            self.b = (self.b ^ x)
                .wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
                .rotate_left(31);
        }
    }
    fn finish(&self) -> u64 {
        self.a
    }
}

/// The memo's keys are already uniformly random: their low bits place them.
#[derive(Default)]
struct LowBits(u64);

impl Hasher for LowBits {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u128(&mut self, key: u128) {
        self.0 = key as u64;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

fn member_key(i: u64) -> u128 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let a = mix(i.wrapping_mul(2));
    let b = mix(i.wrapping_mul(2).wrapping_add(1));
    (u128::from(a) << 64) | u128::from(b)
}

pub fn check_part<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    budget: &Budget,
) -> Outcome {
    let n = part.len();
    if n == 0 {
        return Outcome::Linearizable(Vec::new());
    }
    // Entries: a call and a return per operation; the head sentinel is the last index.
    let mut times: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
    for (k, &i) in part.iter().enumerate() {
        let op = &ops[i];
        times.push((op.call_ns, true, k));
        let ret = op.ret.as_ref().map_or(u64::MAX, |r| r.0.max(op.call_ns));
        times.push((ret, false, k));
    }
    // Calls before returns at equal times; then by operation, for a fixed order.
    times.sort_by_key(|&(t, call, k)| (t, !call, k));
    let head = times.len();
    let mut list: Vec<Entry> = Vec::with_capacity(times.len() + 1);
    let mut call_at = vec![NONE; n];
    let mut ret_at = vec![NONE; n];
    for (pos, &(_, call, k)) in times.iter().enumerate() {
        if call {
            call_at[k] = pos;
        } else {
            ret_at[k] = pos;
        }
        list.push(Entry {
            op: k,
            call,
            partner: NONE,
            prev: if pos == 0 { head } else { pos - 1 },
            next: if pos + 1 == times.len() {
                NONE
            } else {
                pos + 1
            },
        });
    }
    list.push(Entry {
        op: NONE,
        call: false,
        partner: NONE,
        prev: NONE,
        next: 0,
    });
    for k in 0..n {
        list[call_at[k]].partner = ret_at[k];
    }

    // Lifting an operation out takes its call and its return; unlifting puts them back
    // (in the reverse order, so the links are restored exactly).
    fn unlink(list: &mut [Entry], e: usize) {
        let (p, x) = (list[e].prev, list[e].next);
        list[p].next = x;
        if x != NONE {
            list[x].prev = p;
        }
    }
    fn relink(list: &mut [Entry], e: usize) {
        let (p, x) = (list[e].prev, list[e].next);
        list[p].next = e;
        if x != NONE {
            list[x].prev = e;
        }
    }

    let keys: Vec<u128> = part
        .iter()
        .enumerate()
        .map(|(k, &i)| match ops[i].ret {
            Some(_) => member_key(k as u64),
            // One key per input (FNV-1a of its description), far from the places' keys.
            None => {
                let text = format!("{:?}", ops[i].input);
                let fnv = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                });
                member_key(fnv | (1 << 63))
            }
        })
        .collect();
    // Operations that returned: the search is done once they are all placed (an
    // indeterminate one left over may take effect last, where it changes nothing anyone saw).
    let mut determinate_left = part.iter().filter(|&&i| ops[i].ret.is_some()).count();
    let mut state = model.init();
    let mut taken = Set(0);
    // Configurations already explored (and so, failed), as keys: 16 bytes each.
    let mut seen: HashSet<u128, BuildHasherDefault<LowBits>> = HashSet::default();
    // (call entry, state before it, forced): an operation that never changes the state (a
    // read, as [`Model::read_only`] says) is taken as soon as it can be, and that choice is
    // forced: if nothing works after taking it, nothing works without it either (it could
    // be moved to the front of any order that works: it sees the same state there, and
    // every operation that must precede it is already taken), so undoing it undoes the
    // choice before it too. (A write of the value already there is not forced: later in an
    // order it may change the state back.)
    let mut stack: Vec<(usize, M::State, bool)> = Vec::new();
    let mut longest: Vec<usize> = Vec::new();
    let mut culprit = 0;
    let mut steps = 0u64;
    let mut entry = list[head].next;
    while list[head].next != NONE && determinate_left > 0 {
        steps += 1;
        if steps > budget.steps || (steps % 4096 == 0 && budget.stop.is_some_and(|stop| stop())) {
            return Outcome::Unknown;
        }
        let e = &list[entry];
        let mut undo = !e.call;
        if e.call {
            let op = &ops[part[e.op]];
            let output = op.ret.as_ref().map(|r| &r.1);
            if let Some(next_state) = model.step(&state, &op.input, output) {
                let forced = model.read_only(&op.input);
                let next_taken = Set(taken.0.wrapping_add(keys[e.op]));
                if seen.insert(configuration(next_taken, &next_state)) {
                    let ret = e.partner;
                    stack.push((entry, std::mem::replace(&mut state, next_state), forced));
                    taken = next_taken;
                    if op.ret.is_some() {
                        determinate_left -= 1;
                    }
                    unlink(&mut list, entry);
                    unlink(&mut list, ret);
                    entry = list[head].next;
                    continue;
                }
                // Seen, and it failed: so does this configuration, if the step was forced.
                undo = forced;
            }
            if !undo {
                entry = list[entry].next;
                continue;
            }
        } else if stack.len() >= longest.len() {
            // A return reached with its operation not placed: undo the last choice.
            longest = stack.iter().map(|&(c, _, _)| part[list[c].op]).collect();
            culprit = part[e.op];
        }
        loop {
            let Some((call, before, forced)) = stack.pop() else {
                return Outcome::Stuck { longest, culprit };
            };
            state = before;
            taken = Set(taken.0.wrapping_sub(keys[list[call].op]));
            if ops[part[list[call].op]].ret.is_some() {
                determinate_left += 1;
            }
            let ret = list[call].partner;
            relink(&mut list, ret);
            relink(&mut list, call);
            entry = list[call].next;
            if !forced {
                break;
            }
        }
    }
    Outcome::Linearizable(stack.iter().map(|&(c, _, _)| part[list[c].op]).collect())
}
