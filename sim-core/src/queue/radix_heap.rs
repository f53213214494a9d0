//! Pending events, earliest first, ties by sequence number: the event queue's store for
//! what lies beyond its timing wheel, and for every event while the wheel is off.
//!
//! A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990). Virtual time never goes back:
//! every event is scheduled at or after the time the last refill started from. So events
//! can sit in buckets by the highest bit in which their time differs from that time:
//! bucket k holds those that agree with it above bit k, and every event of a lower bucket
//! is earlier than every event of a higher one. Scheduling appends to a bucket; when the
//! due run is empty, the lowest non-empty bucket is spread over the lower ones around its
//! earliest time, or, if it holds at most `SORT_MAX` events (`SORT_MAX_FEW` when few are
//! pending), sorted whole into the due run. Each event moves down a few buckets in its
//! life, by appends, where a binary or 4-ary heap of 10,000 events pays a dozen cache
//! misses per event sifting; and with few events pending (16 nodes, 32 events) a refill
//! is one small sort. The due run never holds more than `SORT_MAX` events at different
//! times: an event scheduled inside it is inserted, and its latest go back to the buckets.
//!
//! With many events pending (more than `HEX_ABOVE`) a level is a hexadecimal digit
//! instead of a bit: 16 buckets, one per value of the highest digit in which an event's
//! time differs from the refill's (each later than the one before). A spread then sends
//! an event down four bits at least, where a bit level sent it down two on average: at
//! 100,000 ping-pong nodes an event moved 6.2 times before it was sorted, and now 2.9. With
//! few events pending the bit levels stay: they keep a refill's sort to one bucket of a
//! dozen, where digits split the same events over buckets of one or two (and their
//! longer arithmetic cost 10% at 16 nodes). The heap switches between the two as its
//! length crosses `HEX_ABOVE` (and back below `BINARY_BELOW`), placing every event again.
//!
//! A bucket is a list of fixed-size chunks from a shared pool: a bucket that grows copies
//! nothing and leaves no doubled capacity behind (a million pending events took 147 MB of
//! vectors for 80 MB of events; they now take about the 80), and a bucket emptied gives its
//! chunks to the next.
//!
//! Ties: the due run holds the earliest events in (time, sequence) order, and every event
//! in a bucket is later than all of them; a refill sorts what it brings, and an event
//! scheduled inside the run's span is inserted after the events of its time (its sequence
//! number is the largest). So the order is exactly (time, sequence), as the 4-ary heap
//! this replaced gave it, and no fingerprint moved.

use super::due_run::{DueRun, Item};
use super::ring_buffer;

/// Events per chunk: a bucket is a list of chunks, taken from and given back to a pool, so
/// that a bucket growing copies nothing and holds at most one chunk it does not fill.
const CHUNK: usize = 512;

/// Free chunks kept for reuse, at most.
const POOL_MAX: usize = 256;

/// A bucket of at most this many events is sorted whole into the due run at a refill (and
/// the due run is kept this short).
const SORT_MAX: usize = 64;

/// With at most `FEW_PENDING` events pending, a bucket is sorted whole only if it holds at
/// most `SORT_MAX_FEW`: a bucket of 64 of them spans much of their flight, so events
/// scheduled while it is due land inside it and are inserted one by one. At 16 nodes (32
/// pending) this took the queue from 0.50 s to 0.43 s for 10 million events.
const FEW_PENDING: usize = 256;
const SORT_MAX_FEW: usize = 16;

/// Buckets: 64 levels of one bit, or 16 of a hexadecimal digit with 16 values.
const BUCKETS: usize = 256;
const WORDS: usize = BUCKETS / 64;

/// The heap's levels are hexadecimal digits while it holds more than `HEX_ABOVE` events,
/// and bits again once it holds fewer than `BINARY_BELOW` (apart, so that a length near
/// one of them does not switch back and forth).
const HEX_ABOVE: usize = 16_384;
const BINARY_BELOW: usize = 4_096;

/// The events of one bucket, in the order they came.
struct Bucket<T> {
    chunks: Vec<Vec<Item<T>>>,
    len: usize,
}

impl<T> Default for Bucket<T> {
    fn default() -> Self {
        Bucket {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

/// Pending events keyed by virtual time and sequence number.
pub(crate) struct RadixHeap<T> {
    /// The earliest events, in (time, sequence) order: every event in a bucket is later
    /// than all of them.
    due: DueRun<T>,
    /// The buckets, earliest first (see `place`).
    buckets: Vec<Bucket<T>>,
    /// Empty chunks, for the next bucket that needs one.
    pool: Vec<Vec<Item<T>>>,
    /// The earliest time in each bucket (`u64::MAX` when empty), and which are not empty
    /// (a bit each), so that looking at the earliest event changes nothing.
    mins: [u64; BUCKETS],
    occupied: [u64; WORDS],
    /// The time of the last event taken (0 before any).
    last_ns: u64,
    len: usize,
    /// Whether a level is a hexadecimal digit (16 buckets) rather than a bit (one).
    hex: bool,
}

impl<T> Default for RadixHeap<T> {
    fn default() -> Self {
        RadixHeap {
            due: DueRun::default(),
            buckets: (0..BUCKETS).map(|_| Bucket::default()).collect(),
            pool: Vec::new(),
            mins: [u64::MAX; BUCKETS],
            occupied: [0; WORDS],
            last_ns: 0,
            len: 0,
            hex: false,
        }
    }
}

impl<T> RadixHeap<T> {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every pending event with its time, in no particular order (for end-of-run views).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.due
            .iter()
            .chain(self.buckets.iter().flat_map(|b| b.chunks.iter().flatten()))
            .map(|i| (i.time_ns, &i.value))
    }

    /// The time of the earliest event.
    #[inline]
    pub fn peek_time_ns(&self) -> Option<u64> {
        match self.due.front() {
            Some(i) => Some(i.time_ns),
            None => self.lowest().map(|b| self.mins[b]),
        }
    }

    /// Adds `item`. Its time is not before the last one taken (virtual time does not go
    /// back), and its sequence number is larger than any other pending at its time.
    #[inline(always)]
    pub fn push(&mut self, item: Item<T>) {
        debug_assert!(
            item.time_ns >= self.last_ns,
            "an event scheduled in the past"
        );
        self.len += 1;
        if !self.due.spans(item.time_ns) {
            self.place(item);
            return;
        }
        self.due.insert(item);
        if self.due.too_long(SORT_MAX) {
            self.shorten_due();
        }
    }

    #[inline(always)]
    fn place(&mut self, item: Item<T>) {
        let differ = item.time_ns ^ self.last_ns;
        if differ == 0 {
            self.due.push_latest(item);
            return;
        }
        // The highest bit in which the times differ: with bit levels, the bucket; with
        // digit levels, 16 buckets for the digit it is in, one for each value the event
        // has there. Either way a lower bucket holds only earlier events.
        let bit = 63 - differ.leading_zeros();
        let b = if self.hex {
            digits_are_rare();
            let low = bit & !3;
            ((low as usize) << 2) | ((item.time_ns >> low) as usize & 15)
        } else {
            bit as usize
        };
        self.mins[b] = self.mins[b].min(item.time_ns);
        self.occupied[b / 64] |= 1 << (b % 64);
        let bucket = &mut self.buckets[b];
        bucket.len += 1;
        match bucket.chunks.last_mut() {
            Some(chunk) if chunk.len() < chunk.capacity() => ring_buffer::push(chunk, item),
            _ => {
                let mut chunk = self.pool.pop().unwrap_or_else(|| Vec::with_capacity(CHUNK));
                ring_buffer::push(&mut chunk, item);
                bucket.chunks.push(chunk);
            }
        }
    }

    /// Moves the due run's latest events (all of those at its latest time, so that an
    /// event scheduled at that time later still comes after them) to the buckets: the run
    /// stays short, and an insertion into it cheap.
    #[cold]
    fn shorten_due(&mut self) {
        // The run is at more than one time, so its latest is after the buckets' own time
        // (`last_ns`, its earliest): those events go to buckets, not back into it.
        while let Some(item) = self.due.pop_latest() {
            self.place(item);
        }
    }

    /// Lets events from `floor_ns` on be pushed, by placing every event again around it if
    /// it is earlier than the last refill's time (the timing wheel in front of this heap
    /// hands events back to it when the wheel shrinks or stops).
    #[cold]
    pub fn rebase(&mut self, floor_ns: u64) {
        if floor_ns >= self.last_ns {
            return;
        }
        self.last_ns = floor_ns;
        self.place_all_again();
    }

    /// Places every event again, from `last_ns` and with the current kind of level.
    #[cold]
    fn place_all_again(&mut self) {
        self.mins = [u64::MAX; BUCKETS];
        self.occupied = [0; WORDS];
        let due = self.due.take_all();
        let buckets = std::mem::replace(
            &mut self.buckets,
            (0..BUCKETS).map(|_| Bucket::default()).collect(),
        );
        for item in due {
            self.place(item);
        }
        for bucket in buckets {
            for mut chunk in bucket.chunks {
                for item in chunk.drain(..) {
                    self.place(item);
                }
                self.recycle(chunk);
            }
        }
    }

    /// The `nth` earliest event, if it is in the due run already (where it costs nothing
    /// to look at).
    #[inline]
    pub fn peek_due(&self, nth: usize) -> Option<&T> {
        self.due.get(nth)
    }

    /// Removes and returns the earliest event.
    #[cfg(test)]
    pub fn pop(&mut self) -> Option<Item<T>> {
        self.peek_time_ns()?;
        Some(self.take())
    }

    /// Removes and returns the earliest event; the heap must not be empty.
    #[inline(always)]
    pub fn take(&mut self) -> Item<T> {
        if self.due.is_empty() {
            self.refill();
        }
        let item = self.due.take_front();
        self.len -= 1;
        item
    }

    /// Moves the earliest events into `due`: the lowest non-empty bucket is spread over
    /// the lower ones around its earliest time.
    #[cold]
    fn refill(&mut self) {
        let hex = if self.hex {
            self.len >= BINARY_BELOW
        } else {
            self.len > HEX_ABOVE
        };
        if hex != self.hex {
            self.regroup(hex);
        }
        let Some(k) = self.lowest() else {
            return;
        };
        self.last_ns = self.mins[k];
        let mut bucket = self.take_bucket(k);
        let sort_max = if self.len <= FEW_PENDING {
            SORT_MAX_FEW
        } else {
            SORT_MAX
        };
        if bucket.len <= sort_max {
            let mut chunks = bucket.chunks.drain(..);
            let mut items = chunks.next().unwrap_or_default();
            for mut more in chunks {
                items.append(&mut more);
            }
            // With digit levels, the next buckets too, while they fit: a bucket a digit
            // wide may hold a handful. They are all later than the first, so the first's
            // earliest time stays the one the others are placed from.
            while self.hex {
                let Some(next) = self.lowest() else {
                    break;
                };
                if items.len() + self.buckets[next].len > sort_max {
                    break;
                }
                let mut more = self.take_bucket(next);
                for mut chunk in more.chunks.drain(..) {
                    items.append(&mut chunk);
                    self.recycle(chunk);
                }
                self.buckets[next].chunks = more.chunks;
            }
            items.sort_unstable_by_key(|i| (i.time_ns, i.seq));
            // The chunk becomes the due run, and the empty run a chunk: nothing is copied.
            let spare = self.due.replace_with_sorted(items);
            self.recycle(spare);
            self.buckets[k].chunks = bucket.chunks;
            return;
        }
        for mut chunk in bucket.chunks.drain(..) {
            for item in chunk.drain(..) {
                self.place(item);
            }
            self.recycle(chunk);
        }
        self.buckets[k].chunks = bucket.chunks;
        // All at `last_ns`: in sequence order.
        self.due.sort();
    }
}

impl<T> RadixHeap<T> {
    /// Makes the levels digits (`hex`) or bits, placing every event again.
    #[cold]
    fn regroup(&mut self, hex: bool) {
        self.hex = hex;
        self.place_all_again();
    }

    /// The lowest bucket that holds events.
    #[inline]
    fn lowest(&self) -> Option<usize> {
        let w = self.occupied.iter().position(|&w| w != 0)?;
        Some(w * 64 + self.occupied[w].trailing_zeros() as usize)
    }

    /// Empties bucket `b`, giving its events (its list of chunks stays behind, empty, to
    /// be given back).
    fn take_bucket(&mut self, b: usize) -> Bucket<T> {
        self.mins[b] = u64::MAX;
        self.occupied[b / 64] &= !(1 << (b % 64));
        std::mem::take(&mut self.buckets[b])
    }

    /// Keeps an emptied chunk for reuse, if the pool has room and it is chunk-sized.
    #[inline]
    fn recycle(&mut self, mut chunk: Vec<Item<T>>) {
        if self.pool.len() < POOL_MAX && (CHUNK..=4 * CHUNK).contains(&chunk.capacity()) {
            chunk.clear();
            self.pool.push(chunk);
        }
    }
}

/// Marks the path with digit levels as the rarer one (only runs with many events pending
/// take it), so that the compiler lays the bit levels' path straight through. Inlined,
/// it leaves no call behind (`std::hint::cold_path` does this from Rust 1.95).
#[cold]
#[inline]
fn digits_are_rare() {}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::random::{Random, Stream};

    /// The heap with sequence numbers given in push order, as the event queue gives them.
    struct Numbered<T> {
        heap: RadixHeap<T>,
        seq: u64,
    }

    impl<T> Numbered<T> {
        fn new() -> Self {
            Numbered {
                heap: RadixHeap::new(),
                seq: 0,
            }
        }

        fn push(&mut self, time_ns: u64, value: T) {
            self.seq += 1;
            let seq = self.seq;
            self.heap.push(Item {
                time_ns,
                seq,
                value,
            });
        }

        fn pop(&mut self) -> Option<(u64, T)> {
            self.heap.pop().map(|i| (i.time_ns, i.value))
        }
    }

    /// What the order checks below need of a queue: this heap numbered as the event
    /// queue numbers it, and the event queue itself (its tests run the same checks).
    pub(crate) trait OrderedQueue {
        fn push(&mut self, time_ns: u64, value: u64);
        fn pop(&mut self) -> Option<(u64, u64)>;
        fn peek_time_ns(&mut self) -> Option<u64>;
        fn len(&self) -> usize;
        /// How many events a walk over every pending one finds.
        fn walked(&self) -> usize;
    }

    impl OrderedQueue for Numbered<u64> {
        fn push(&mut self, time_ns: u64, value: u64) {
            Numbered::push(self, time_ns, value)
        }
        fn pop(&mut self) -> Option<(u64, u64)> {
            Numbered::pop(self)
        }
        fn peek_time_ns(&mut self) -> Option<u64> {
            self.heap.peek_time_ns()
        }
        fn len(&self) -> usize {
            self.heap.len()
        }
        fn walked(&self) -> usize {
            self.heap.iter().count()
        }
    }

    /// Events at random times, many at the same one, all pushed and then all popped: in
    /// time order, ties in insertion order.
    pub(crate) fn check_time_then_insertion_order(q: &mut impl OrderedQueue) {
        let mut rng = Random::new(5, Stream::Workload);
        let mut expected = Vec::new();
        for i in 0..5_000u64 {
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
        assert_eq!(q.len(), 0);
    }

    /// Pushes and pops interleaved, against a binary heap of (time, sequence): the same
    /// order exactly, through events at the same instant, a little ahead, far ahead and
    /// at the end of time.
    pub(crate) fn check_against_a_binary_heap(q: &mut impl OrderedQueue) {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
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
            if round % 50_000 == 0 {
                assert_eq!(q.walked(), q.len(), "every event, wherever it is");
            }
        }
        while let Some(Reverse((t, _, v))) = reference.pop() {
            assert_eq!(q.pop(), Some((t, v)));
        }
        assert!(q.len() == 0 && q.pop().is_none());
    }

    /// Time never goes back through interleaved pushes and pops, and the earliest pending
    /// event is never before the last taken.
    pub(crate) fn check_time_never_goes_back(q: &mut impl OrderedQueue) {
        let mut rng = Random::new(6, Stream::Workload);
        let mut now = 0;
        for i in 0..20_000u64 {
            q.push(now + rng.below(50), i);
            if i % 3 == 0 {
                let (t, _) = q.pop().unwrap();
                assert!(t >= now, "time went backwards");
                now = t;
                assert!(q.peek_time_ns().is_none_or(|next| next >= t));
            }
        }
    }

    #[test]
    fn pops_in_time_order_and_ties_in_insertion_order() {
        check_time_then_insertion_order(&mut Numbered::new());
    }

    #[test]
    fn the_order_is_exactly_time_then_insertion_as_a_heap_gives_it() {
        check_against_a_binary_heap(&mut Numbered::new());
    }

    #[test]
    fn interleaved_pushes_and_pops_stay_ordered() {
        check_time_never_goes_back(&mut Numbered::new());
    }

    #[test]
    fn the_due_run_stays_short_when_events_keep_landing_inside_it() {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut q = Numbered::new();
        let mut reference = BinaryHeap::new();
        let mut seq = 0u64;
        let mut push = |q: &mut Numbered<u64>, reference: &mut BinaryHeap<_>, t: u64| {
            seq += 1;
            q.push(t, seq);
            reference.push(Reverse((t, seq)));
        };
        // A bucket of events over [1024, 2047] (one bucket from time 0), some at its last
        // instant, sorted into the due run by the first pop; then thousands scheduled
        // inside the run's span, as a cluster with fast local links would.
        let mut rng = Random::new(3, Stream::Workload);
        for i in 0..SORT_MAX as u64 {
            let t = if i % 8 == 0 {
                2047
            } else {
                1024 + rng.below(1024)
            };
            push(&mut q, &mut reference, t);
        }
        let mut now = 0;
        for round in 0..20_000u64 {
            if round % 3 == 0 {
                let Reverse((t, v)) = reference.pop().unwrap();
                assert_eq!(q.pop(), Some((t, v)), "round {round}");
                now = t;
            }
            let t = match round % 4 {
                0 => 2047,
                _ => now + rng.below(300),
            };
            push(&mut q, &mut reference, t.max(now));
            // Short, or all at one instant (where an event is appended, not inserted).
            let d = &q.heap.due;
            let one_instant = d.is_one_instant();
            assert!(
                d.len() <= SORT_MAX + 1 || one_instant,
                "the run grew to {}",
                d.len()
            );
        }
        while let Some(Reverse((t, v))) = reference.pop() {
            assert_eq!(q.pop(), Some((t, v)));
        }
        // All at one instant: the run holds them all, appended, never inserted.
        for _ in 0..1000 {
            push(&mut q, &mut reference, 5000);
        }
        for _ in 0..1000 {
            let Reverse((t, v)) = reference.pop().unwrap();
            assert_eq!(q.pop(), Some((t, v)));
        }
    }

    #[test]
    fn after_a_rebase_earlier_events_can_be_pushed_and_all_come_out_in_order() {
        let mut q = Numbered::new();
        let mut expected = Vec::new();
        for i in 0..3_000u64 {
            let t = 5_000 + (i * 7_919) % 4_000;
            q.push(t, i);
            expected.push((t, q.seq, i));
        }
        // Taking the first moves the heap's base up to its time.
        expected.sort();
        let (t, _, v) = expected.remove(0);
        assert_eq!(q.pop(), Some((t, v)));
        q.heap.rebase(1_000);
        for i in 3_000..3_500u64 {
            let t = 1_000 + (i * 31) % 6_000;
            q.push(t, i);
            expected.push((t, q.seq, i));
        }
        expected.sort();
        for (t, _, v) in expected {
            assert_eq!(q.pop(), Some((t, v)));
        }
        assert!(q.heap.is_empty());
    }

    #[test]
    fn the_levels_turn_hexadecimal_with_many_events_and_back_with_few_in_the_same_order() {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut q = Numbered::new();
        let mut reference = BinaryHeap::new();
        let mut rng = Random::new(11, Stream::Workload);
        let mut now = 0;
        let mut modes = vec![q.heap.hex];
        // Up past HEX_ABOVE pending and down below BINARY_BELOW, twice, with events a
        // little ahead (many in one digit), far ahead, and at the same instant.
        for (pushes_per_pop, rounds) in [(3, 10_000), (0, 20_000), (2, 20_000), (0, 30_000)] {
            for round in 0..rounds {
                for _ in 0..pushes_per_pop {
                    let ahead = match rng.below(8) {
                        0 => 0,
                        1..=5 => rng.below(1 << 20),
                        6 => rng.below(1 << 12),
                        _ => rng.below(1 << 40),
                    };
                    q.push(now + ahead, round);
                    reference.push(Reverse((now + ahead, q.seq, round)));
                }
                let Some(Reverse((t, _, v))) = reference.pop() else {
                    break;
                };
                assert_eq!(q.pop(), Some((t, v)));
                now = t;
                if modes.last() != Some(&q.heap.hex) {
                    modes.push(q.heap.hex);
                }
            }
        }
        assert!(q.heap.is_empty());
        assert_eq!(modes, [false, true, false, true, false]);
    }
}
