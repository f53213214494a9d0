//! The queue of pending events, earliest first, ties broken by insertion order.
//!
//! A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990). Virtual time never goes back:
//! every event is scheduled at or after the last one taken. So events can sit in 65
//! buckets by the highest bit in which their time differs from the last time taken:
//! bucket 0 holds the events due at that very time, bucket k those that agree with it
//! above bit k-1. Scheduling appends to a bucket; taking from an empty bucket 0 empties
//! the lowest non-empty bucket into lower ones around its earliest time. Each event moves
//! down a few buckets in its life, by appends to vectors, where a binary or 4-ary heap of
//! 10,000 events pays a dozen cache misses per event sifting.
//!
//! Ties: the events in bucket 0 share one time and come out in the order they were
//! scheduled (each refill sorts the few it brings by sequence number; later ones are
//! appended), so the order is exactly (time, sequence), as the 4-ary heap this replaces
//! gave it, and no fingerprint moved.

use std::collections::VecDeque;

/// A bucket emptied keeps its allocation up to this many events.
const KEEP_CAPACITY_MAX: usize = 4096;

struct Item<T> {
    time_ns: u64,
    seq: u64,
    value: T,
}

/// Pending events keyed by virtual time.
pub struct EventQueue<T> {
    /// The events due at `last_ns`, in order.
    due: VecDeque<Item<T>>,
    /// `buckets[k - 1]`: events whose time first differs from `last_ns` at bit `k - 1`.
    buckets: Vec<Vec<Item<T>>>,
    /// The earliest time in each bucket (`u64::MAX` when empty), and which are not empty
    /// (bit `k - 1`), so that looking at the earliest event changes nothing.
    mins: [u64; 64],
    occupied: u64,
    /// The time of the last event taken (0 before any).
    last_ns: u64,
    len: usize,
    seq: u64,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue {
            due: VecDeque::new(),
            buckets: (0..64).map(|_| Vec::new()).collect(),
            mins: [u64::MAX; 64],
            occupied: 0,
            last_ns: 0,
            len: 0,
            seq: 0,
        }
    }
}

impl<T> EventQueue<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every pending event with its time, in no particular order (for end-of-run views).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.due
            .iter()
            .chain(self.buckets.iter().flatten())
            .map(|i| (i.time_ns, &i.value))
    }

    /// The time of the earliest event.
    #[inline]
    pub fn peek_time_ns(&self) -> Option<u64> {
        match self.due.front() {
            Some(i) => Some(i.time_ns),
            None if self.occupied == 0 => None,
            None => Some(self.mins[self.occupied.trailing_zeros() as usize]),
        }
    }

    /// Schedules `value` at `time_ns`, after everything already scheduled at that time.
    /// Times before the last event taken are taken as that time (the engine never
    /// schedules one: virtual time does not go back).
    #[inline]
    pub fn push(&mut self, time_ns: u64, value: T) {
        debug_assert!(time_ns >= self.last_ns, "an event scheduled in the past");
        let time_ns = time_ns.max(self.last_ns);
        self.seq += 1;
        self.len += 1;
        let item = Item {
            time_ns,
            seq: self.seq,
            value,
        };
        self.place(item);
    }

    #[inline(always)]
    fn place(&mut self, item: Item<T>) {
        match bucket(item.time_ns, self.last_ns) {
            0 => self.due.push_back(item),
            k => {
                let b = k - 1;
                self.mins[b] = self.mins[b].min(item.time_ns);
                self.occupied |= 1 << b;
                self.buckets[b].push(item);
            }
        }
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(u64, T)> {
        if self.due.is_empty() {
            self.refill();
        }
        let item = self.due.pop_front()?;
        self.len -= 1;
        Some((item.time_ns, item.value))
    }

    /// Moves the earliest events into `due`: the lowest non-empty bucket is spread over
    /// the lower ones around its earliest time.
    #[cold]
    fn refill(&mut self) {
        if self.occupied == 0 {
            return;
        }
        let k = self.occupied.trailing_zeros() as usize;
        let mut items = std::mem::take(&mut self.buckets[k]);
        self.last_ns = self.mins[k];
        self.mins[k] = u64::MAX;
        self.occupied &= !(1 << k);
        for item in items.drain(..) {
            self.place(item);
        }
        // Keep a small allocation for the next time this bucket fills; give a large one
        // back (with a million nodes, 64 buckets each keeping the most it ever held would
        // hold several times the events there are).
        if items.capacity() <= KEEP_CAPACITY_MAX {
            self.buckets[k] = items;
        }
        if self.due.len() > 1 {
            self.due.make_contiguous().sort_unstable_by_key(|i| i.seq);
        }
    }
}

/// 0 for `time_ns == last_ns`, else one more than the highest bit in which they differ.
#[inline(always)]
fn bucket(time_ns: u64, last_ns: u64) -> usize {
    (64 - (time_ns ^ last_ns).leading_zeros()) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{Random, Stream};

    #[test]
    fn pops_in_time_order_and_ties_in_insertion_order() {
        let mut q = EventQueue::new();
        let mut rng = Random::new(5, Stream::Workload);
        let mut expected = Vec::new();
        for i in 0..5_000u32 {
            let t = rng.below(200);
            q.push(t, i);
            expected.push((t, i));
        }
        // Sorting by (time, insertion index) is exactly the promised order.
        expected.sort();
        let mut got = Vec::new();
        while let Some(e) = q.pop() {
            got.push(e);
        }
        assert_eq!(got, expected);
        assert!(q.is_empty());
    }

    #[test]
    fn the_order_is_exactly_time_then_insertion_as_a_heap_gives_it() {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut rng = Random::new(9, Stream::Workload);
        let mut seq = 0u64;
        let mut now = 0;
        for round in 0..200_000u64 {
            // Mostly a few events ahead, some far ahead, many at the same instant.
            let ahead = match rng.below(10) {
                0..=2 => 0,
                3..=7 => rng.below(1_000),
                8 => rng.below(1 << 40),
                _ => u64::MAX - now,
            };
            let t = now.saturating_add(ahead);
            seq += 1;
            q.push(t, round);
            reference.push(Reverse((t, seq, round)));
            if rng.below(5) < 2 {
                let Reverse((t, _, v)) = reference.pop().unwrap();
                assert_eq!(q.peek_time_ns(), Some(t));
                assert_eq!(q.pop(), Some((t, v)), "round {round}");
                now = t;
            }
            assert_eq!(q.len(), reference.len());
        }
        while let Some(Reverse((t, _, v))) = reference.pop() {
            assert_eq!(q.pop(), Some((t, v)));
        }
        assert!(q.is_empty() && q.pop().is_none());
    }

    #[test]
    fn interleaved_pushes_and_pops_stay_ordered() {
        let mut q = EventQueue::new();
        let mut rng = Random::new(6, Stream::Workload);
        let mut now = 0;
        for i in 0..20_000u32 {
            q.push(now + rng.below(50), i);
            if i % 3 == 0 {
                let (t, _) = q.pop().unwrap();
                assert!(t >= now, "time went backwards");
                now = t;
                assert!(q.peek_time_ns().is_none_or(|next| next >= t));
            }
        }
    }
}
