//! Wing and Gong's search with Lowe's memoization, over one part of a history.
//!
//! The calls and returns of the part's operations form a doubly linked list in time order
//! (at equal times calls come first, so operations that meet are concurrent). The search
//! walks it: at a call it tries to take the operation effect now; if the model accepts and
//! the pair (operations taken, state) is new, it lifts the operation out of the list and
//! starts again from the front; at a return whose operation has not been taken, nothing
//! taken so far can be right, so it undoes the last choice and tries the next call after
//! it. An empty list means every operation was placed. Pairs already seen are never tried
//! again, which is what makes most histories fast (Lowe, 2017).

use std::collections::HashSet;

use super::{Budget, Model, Operation};

/// What the search found for one part.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Linearizable,
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

/// A set of operations, one bit each.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

pub fn check_part<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    budget: &Budget,
) -> Outcome {
    let n = part.len();
    if n == 0 {
        return Outcome::Linearizable;
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

    let mut state = model.init();
    let mut taken = Bits::new(n);
    let mut seen: HashSet<(Bits, M::State)> = HashSet::new();
    // (call entry, state before it)
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut longest: Vec<usize> = Vec::new();
    let mut culprit = 0;
    let mut steps = 0u64;
    let mut entry = list[head].next;
    while list[head].next != NONE {
        steps += 1;
        if steps > budget.steps || (steps % 4096 == 0 && budget.stop.is_some_and(|stop| stop())) {
            return Outcome::Unknown;
        }
        let e = &list[entry];
        if e.call {
            let op = &ops[part[e.op]];
            let output = op.ret.as_ref().map(|r| &r.1);
            if let Some(next_state) = model.step(&state, &op.input, output) {
                let mut next_taken = taken.clone();
                next_taken.set(e.op);
                if seen.insert((next_taken.clone(), next_state.clone())) {
                    let ret = e.partner;
                    stack.push((entry, std::mem::replace(&mut state, next_state)));
                    taken = next_taken;
                    unlink(&mut list, entry);
                    unlink(&mut list, ret);
                    entry = list[head].next;
                    continue;
                }
            }
            entry = list[entry].next;
        } else {
            // A return reached with its operation not placed: undo the last choice.
            if stack.len() >= longest.len() {
                longest = stack.iter().map(|&(c, _)| part[list[c].op]).collect();
                culprit = part[e.op];
            }
            let Some((call, before)) = stack.pop() else {
                return Outcome::Stuck { longest, culprit };
            };
            state = before;
            taken.clear(list[call].op);
            let ret = list[call].partner;
            relink(&mut list, ret);
            relink(&mut list, call);
            entry = list[call].next;
        }
    }
    Outcome::Linearizable
}
