//! The queue of pending events, earliest first, ties broken by insertion order.
//!
//! A 4-ary min-heap on (time, sequence). With many pending events the queue is where a
//! simulator spends its time, mostly in cache misses while sifting; a 4-ary heap has half
//! the levels of a binary heap and keeps siblings close. Measured on the 10,000-node
//! ping-pong benchmark (40-byte entries): arity 2 ran at 3.33 M events/s, 4 at 3.79, 8 at
//! 3.27. The sequence number makes the order total, so a run never depends on how the heap
//! happens to break ties.

const ARITY: usize = 4;

struct Item<T> {
    time_ns: u64,
    seq: u64,
    value: T,
}

impl<T> Item<T> {
    #[inline(always)]
    fn before(&self, other: &Self) -> bool {
        (self.time_ns, self.seq) < (other.time_ns, other.seq)
    }
}

/// Pending events keyed by virtual time.
pub struct EventQueue<T> {
    items: Vec<Item<T>>,
    seq: u64,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue {
            items: Vec::new(),
            seq: 0,
        }
    }
}

impl<T> EventQueue<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every pending event with its time, in no particular order (for end-of-run views).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.items.iter().map(|i| (i.time_ns, &i.value))
    }

    /// The time of the earliest event.
    #[inline]
    pub fn peek_time_ns(&self) -> Option<u64> {
        self.items.first().map(|i| i.time_ns)
    }

    /// Schedules `value` at `time_ns`, after everything already scheduled at that time.
    #[inline]
    pub fn push(&mut self, time_ns: u64, value: T) {
        self.seq += 1;
        self.items.push(Item {
            time_ns,
            seq: self.seq,
            value,
        });
        self.sift_up(self.items.len() - 1);
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(u64, T)> {
        let last = self.items.pop()?;
        if self.items.is_empty() {
            return Some((last.time_ns, last.value));
        }
        let root = std::mem::replace(&mut self.items[0], last);
        self.sift_down(0);
        Some((root.time_ns, root.value))
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.items[i].before(&self.items[parent]) {
                self.items.swap(i, parent);
                i = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.items.len();
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                return;
            }
            let end = (first + ARITY).min(n);
            let mut best = first;
            for c in first + 1..end {
                if self.items[c].before(&self.items[best]) {
                    best = c;
                }
            }
            if self.items[best].before(&self.items[i]) {
                self.items.swap(i, best);
                i = best;
            } else {
                return;
            }
        }
    }
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
