//! The queue of pending events, earliest first, ties broken by insertion order.
//!
//! A timing wheel in front of a radix heap (`radix_heap.rs`). Virtual time never goes
//! back, and most events are scheduled a little ahead of now: a message's flight, a retry.
//! The wheel is a ring of slots, each a span of `2^shift` nanoseconds, covering the next
//! `2^slot_bits` spans. An event in that window is linked into its slot's list in one
//! step; events beyond it wait in the heap, which hands them over as the window reaches
//! them. When the due run is empty, the next occupied slots (found in a bitmap) are taken
//! into it and sorted: a slot holds one or two events, so each event is moved once and
//! sorted among a few, where the heap moves it down a few buckets and sorts it among up to
//! 64, and a binary heap of 10,000 events pays a dozen cache misses per event sifting.
//!
//! The wheel fits itself to the run. Every `len` pushes or so it looks at how far ahead
//! recent events were scheduled (the window covers twice as far as the nearest quarter)
//! and how fast events were taken (about one slot per event in the window), and is made
//! again if that changed. It is on only when it pays: with fewer than 512 events in its
//! window the heap alone is faster (all of it stays in the first-level cache), and with
//! more than 131,072 too (see `WHEEL_MAX`).
//!
//! Ties: the due run holds the earliest events in (time, sequence) order, and every event
//! in the wheel or the heap is later than all of them; slots are sorted when taken, and an
//! event scheduled inside the due run's span is inserted after the events of its time (its
//! sequence number is the largest). So the order is exactly (time, sequence), as the 4-ary
//! heap of the first version gave it, and no fingerprint moved.

use super::due_run::{DueRun, Item};
use super::prefetch::prefetch;
use super::radix_heap::RadixHeap;
use super::ring_buffer;

/// The due run never holds more than this many events at different times: an insertion
/// into it moves them, so its latest go back to the wheel.
const DUE_MAX: usize = 64;

/// A refill takes slots until the due run holds this many events (or the wheel is
/// empty): their events are read together, and the loop can look ahead at the next.
const TAKE_MIN: usize = 8;

/// The wheel has at least 64 slots (one word of the bitmap), and no more than the most
/// events it is on for.
const SLOT_BITS_MIN: u32 = 6;
const SLOT_BITS_MAX: u32 = WHEEL_MAX.trailing_zeros();

/// The wheel's size is looked at after at least this many pushes.
const RESIZE_EVERY_MIN: usize = 4096;

/// How many slots ahead of a refill the events are prefetched.
const PREFETCH_SLOTS: u64 = 32;

/// The wheel is on when from `WHEEL_MIN` to `WHEEL_MAX` events fall in its window. With
/// fewer, the heap alone is faster: everything is in the first-level cache, and a refill
/// sorts a handful at once. With more, the wheel's events outgrow the caches, and reading
/// them in time order, one at a random place after another, costs more than the heap's
/// few passes over its buckets in memory order (measured: peer-100000 1.28 s with the
/// wheel, 1.15 s without; peer-30000 0.71 against 0.76; peer-10000 0.54 against 0.65).
const WHEEL_MIN: u128 = 512;
const WHEEL_MAX: u128 = 1 << 17;

/// With fewer events pending the wheel stays off, and is not even looked at.
const LOOK_MIN: usize = WHEEL_MIN as usize / 2;

/// A refill prefetches the events of the next slots when those in the window take more
/// than this (the second-level cache's size): below it they are in cache already.
const PREFETCH_ABOVE_BYTES: u128 = 1 << 20;

/// No slot: the end of a slot's list.
const NIL: u32 = u32::MAX;

/// Pending events keyed by virtual time.
pub struct EventQueue<T> {
    /// The earliest events, in (time, sequence) order: every event in the wheel or the
    /// heap is later than all of them.
    due: DueRun<T>,
    /// A slot spans `2^shift` nanoseconds.
    shift: u32,
    /// The wheel has `2^slot_bits` slots.
    slot_bits: u32,
    /// The first slot the wheel covers (a time shifted right by `shift`): every event in
    /// the wheel is in `[cursor, cursor + 2^slot_bits)`, and every event in `far` after it.
    cursor: u64,
    /// Each slot's first event (an index into `items`), or `NIL`.
    heads: Vec<u32>,
    /// Which slots have events, a bit each.
    occupied: Vec<u64>,
    /// The wheel's events, `None` where free.
    items: Vec<Option<Item<T>>>,
    /// The next event in the same slot (or the next free entry).
    links: Vec<u32>,
    /// The first free entry of `items`, or `NIL`.
    free: u32,
    /// Events in the wheel.
    near: usize,
    /// The slots before this one have had their first events prefetched.
    prefetched_to: u64,
    /// Events beyond the wheel's window, or all of them while the wheel is off.
    far: RadixHeap<T>,
    /// Whether the wheel is on (enough events are pending for it to pay).
    wheel: bool,
    /// Whether a refill prefetches the events of the slots after it.
    prefetching: bool,
    /// How far ahead of the last event taken recent events were scheduled: entry `k`
    /// counts those `2^(k-1)` to `2^k - 1` nanoseconds ahead (entry 0: at that time).
    ahead_log2: [u32; 65],
    /// The wheel's size is looked at again when the sequence number reaches this.
    resize_at_seq: u64,
    /// Events taken since the wheel's size was last looked at, and the time then (`None`
    /// until events are taken).
    pops: usize,
    rate_since_ns: Option<u64>,
    /// The time of the last event taken (0 before any).
    last_ns: u64,
    len: usize,
    seq: u64,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        Self::with_geometry(10, SLOT_BITS_MIN)
    }
}

impl<T> EventQueue<T> {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_geometry(shift: u32, slot_bits: u32) -> Self {
        let slots = 1usize << slot_bits;
        EventQueue {
            due: DueRun::default(),
            shift,
            slot_bits,
            cursor: 0,
            heads: vec![NIL; slots],
            occupied: vec![0; slots.div_ceil(64)],
            items: Vec::new(),
            links: Vec::new(),
            free: NIL,
            near: 0,
            prefetched_to: 0,
            far: RadixHeap::new(),
            wheel: false,
            prefetching: false,
            ahead_log2: [0; 65],
            resize_at_seq: RESIZE_EVERY_MIN as u64,
            pops: 0,
            rate_since_ns: None,
            last_ns: 0,
            len: 0,
            seq: 0,
        }
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
            .chain(self.items.iter().flatten())
            .map(|i| (i.time_ns, &i.value))
            .chain(self.far.iter())
    }

    /// The time of the earliest event.
    #[inline]
    pub fn peek_time_ns(&mut self) -> Option<u64> {
        if !self.wheel {
            return self.far.peek_time_ns();
        }
        if self.due.is_empty() {
            self.refill();
        }
        self.due.front().map(|i| i.time_ns)
    }

    /// Schedules `value` at `time_ns`, after everything already scheduled at that time.
    /// Times before the last event taken are taken as that time (the engine never
    /// schedules one: virtual time does not go back).
    #[inline(always)]
    pub fn push(&mut self, time_ns: u64, value: T) {
        debug_assert!(time_ns >= self.last_ns, "an event scheduled in the past");
        let time_ns = time_ns.max(self.last_ns);
        if self.len >= LOOK_MIN {
            self.ahead_log2[(64 - (time_ns - self.last_ns).leading_zeros()) as usize] += 1;
        }
        self.seq += 1;
        if self.seq >= self.resize_at_seq {
            self.resize();
        }
        self.len += 1;
        let item = Item {
            time_ns,
            seq: self.seq,
            value,
        };
        if self.wheel {
            self.push_near(item);
        } else {
            self.far.push(item);
        }
    }

    /// Schedules an event while the wheel is on.
    #[inline(always)]
    fn push_near(&mut self, item: Item<T>) {
        if !self.due.spans(item.time_ns) {
            self.place(item);
            return;
        }
        self.due.insert(item);
        if self.due.too_long(DUE_MAX) {
            self.shorten_due();
        }
    }

    /// Puts an event later than the due run into its slot, or beyond the wheel.
    #[inline(always)]
    fn place(&mut self, item: Item<T>) {
        let slot = item.time_ns >> self.shift;
        debug_assert!(slot >= self.cursor, "an event before the wheel");
        if slot - self.cursor < 1 << self.slot_bits {
            self.link(slot, item);
        } else {
            self.far.push(item);
        }
    }

    /// Stores `item` in a free entry and links it into `slot`.
    #[inline(always)]
    fn link(&mut self, slot: u64, item: Item<T>) {
        let at = match self.free {
            NIL => {
                ring_buffer::push(&mut self.items, Some(item));
                self.links.push(NIL);
                (self.items.len() - 1) as u32
            }
            at => {
                self.free = self.links[at as usize];
                self.items[at as usize] = Some(item);
                at
            }
        };
        self.link_entry(slot, at);
    }

    /// Links the stored entry `at` into `slot`'s list, at its head.
    #[inline(always)]
    fn link_entry(&mut self, slot: u64, at: u32) {
        let s = (slot & ((1 << self.slot_bits) - 1)) as usize;
        self.links[at as usize] = self.heads[s];
        self.heads[s] = at;
        self.occupied[s / 64] |= 1 << (s % 64);
        self.near += 1;
    }

    /// Gives entry `at` (already emptied) back to the free list.
    #[inline(always)]
    fn release(&mut self, at: u32) {
        self.links[at as usize] = self.free;
        self.free = at;
    }

    /// Fits the wheel to recent events, every `len` pushes or so (at least
    /// `RESIZE_EVERY_MIN`): wide enough that nearly all of them land in it, with about as
    /// many slots as events, so that a slot holds one or two.
    #[cold]
    fn resize(&mut self) {
        self.resize_at_seq = self.seq + self.len.max(RESIZE_EVERY_MIN) as u64;
        let total: u64 = self.ahead_log2.iter().map(|&n| n as u64).sum();
        // The window: twice as far as the nearest quarter of recent events went. Events
        // further ahead (timeouts, mostly) wait in the heap; a window stretched over them
        // would need slots too coarse or too many for the dense part.
        let mut within = 0;
        let mut horizon_bits = 64;
        for (k, &n) in self.ahead_log2.iter().enumerate() {
            within += n as u64;
            if within * 4 >= total {
                horizon_bits = (k as u32 + 1).min(64);
                break;
            }
        }
        for n in &mut self.ahead_log2 {
            *n /= 2;
        }
        // About one slot per event in the window, from how fast time went per event taken
        // since the last look. Until enough were taken (while a run starts, say), nothing
        // changes.
        let Some(since_ns) = self.rate_since_ns else {
            // The first events taken start the measure (not time 0: a run can wait long
            // for its first event).
            if self.pops > 0 {
                self.rate_since_ns = Some(self.last_ns);
                self.pops = 0;
            }
            return;
        };
        let elapsed_ns = self.last_ns - since_ns;
        if self.pops < RESIZE_EVERY_MIN || elapsed_ns == 0 {
            return;
        }
        let near = ((self.pops as u128) << horizon_bits) / elapsed_ns as u128;
        self.pops = 0;
        self.rate_since_ns = Some(self.last_ns);
        let slot_bits = (u128::BITS - near.saturating_sub(1).leading_zeros())
            .clamp(SLOT_BITS_MIN, SLOT_BITS_MAX);
        let shift = horizon_bits.saturating_sub(slot_bits).min(63);
        let wheel = (WHEEL_MIN..=WHEEL_MAX).contains(&near);
        self.prefetching =
            near * std::mem::size_of::<Option<Item<T>>>() as u128 > PREFETCH_ABOVE_BYTES;
        if wheel == self.wheel && (!wheel || (shift, slot_bits) == (self.shift, self.slot_bits)) {
            return;
        }
        if !wheel {
            self.wheel_to_far();
            return;
        }
        self.wheel = true;
        self.shift = shift;
        self.slot_bits = slot_bits;
        let slots = 1usize << slot_bits;
        self.heads.clear();
        self.heads.resize(slots, NIL);
        self.occupied.clear();
        self.occupied.resize(slots.div_ceil(64), 0);
        self.cursor = self.last_ns >> shift;
        self.prefetched_to = 0;
        // Every event stays where it is in `items`: only the lists are made again, and
        // what is now beyond the window goes to the heap.
        self.far.rebase(self.last_ns);
        self.near = 0;
        self.free = NIL;
        for at in (0..self.items.len() as u32).rev() {
            let Some(item) = self.items[at as usize].take() else {
                self.release(at);
                continue;
            };
            let slot = item.time_ns >> shift;
            if slot - self.cursor < 1 << slot_bits {
                self.items[at as usize] = Some(item);
                self.link_entry(slot, at);
            } else {
                self.far.push(item);
                self.release(at);
            }
        }
        self.take_in_far();
    }

    /// Turns the wheel off: every event goes to the heap, which alone is faster with few
    /// pending (they stay in cache, and a refill of the heap sorts a handful at once).
    fn wheel_to_far(&mut self) {
        self.wheel = false;
        self.far.rebase(self.last_ns);
        for item in self.due.take_all() {
            self.far.push(item);
        }
        for item in std::mem::take(&mut self.items).into_iter().flatten() {
            self.far.push(item);
        }
        self.links = Vec::new();
        self.free = NIL;
        self.near = 0;
        self.heads.fill(NIL);
        self.occupied.fill(0);
    }

    /// Moves the due run's latest events (all of those at its latest time, so that an
    /// event scheduled at that time later still comes after them) back to the wheel: the
    /// run stays short, and an insertion into it cheap.
    #[cold]
    fn shorten_due(&mut self) {
        while let Some(item) = self.due.pop_latest() {
            self.place(item);
        }
    }

    /// The `nth` earliest event, if it is in the due run already (where it costs nothing
    /// to look at): what the event loop prefetches for while it handles earlier ones.
    #[inline]
    pub fn peek_due(&self, nth: usize) -> Option<&T> {
        if !self.wheel {
            return self.far.peek_due(nth);
        }
        self.due.get(nth)
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(u64, T)> {
        self.peek_time_ns()?;
        Some(self.take())
    }

    /// Removes and returns the earliest event; the queue must not be empty (the event
    /// loop takes one after `peek_time_ns` found it). Unlike `pop`, nothing on the way
    /// is an `Option`: the compiler moved an `Option` of an event through two
    /// overlapping stack stores that the processor cannot forward to the loads after
    /// them, which cost a tenth of the time at 16 nodes.
    #[inline(always)]
    pub fn take(&mut self) -> (u64, T) {
        let item = if self.wheel {
            if self.due.is_empty() {
                self.refill();
            }
            self.due.take_front()
        } else {
            self.far.take()
        };
        self.len -= 1;
        self.pops += 1;
        self.last_ns = item.time_ns;
        (item.time_ns, item.value)
    }

    /// Moves the earliest events into `due`: the wheel's next occupied slots, after the
    /// window has moved up to them and taken in what the heap holds that it now covers.
    #[cold]
    fn refill(&mut self) {
        loop {
            if self.near > 0 {
                // The window starts at the first slot taken: an event scheduled later than
                // the due run but in a slot already taken goes back into it, and is found
                // first at the next refill.
                self.cursor = self.next_occupied();
                let mut last = self.cursor;
                while self.near > 0 && self.due.len() < TAKE_MIN {
                    last = self.next_occupied();
                    self.take_slot(last);
                }
                if self.prefetching {
                    self.prefetch_after(last);
                }
                self.due.sort();
                self.take_in_far();
                return;
            }
            match self.far.peek_time_ns() {
                None => return,
                Some(t) => {
                    self.cursor = t >> self.shift;
                    self.take_in_far();
                }
            }
        }
    }

    /// Asks for the first event of each of the next `PREFETCH_SLOTS` slots after `last`
    /// that was not asked for yet: the next refill reads them, and with many events
    /// pending they are rarely in cache.
    #[inline]
    fn prefetch_after(&mut self, last: u64) {
        let mask = (1u64 << self.slot_bits) - 1;
        let end = last.saturating_add(PREFETCH_SLOTS);
        for slot in self.prefetched_to.max(last.saturating_add(1))..end {
            let at = self.heads[(slot & mask) as usize];
            if at != NIL {
                prefetch(&self.items[at as usize]);
            }
        }
        self.prefetched_to = end;
    }

    /// Moves the heap's events inside the wheel's window into their slots.
    fn take_in_far(&mut self) {
        let end = self.cursor.saturating_add(1 << self.slot_bits);
        while self
            .far
            .peek_time_ns()
            .is_some_and(|t| t >> self.shift < end)
        {
            let item = self.far.take();
            self.link(item.time_ns >> self.shift, item);
        }
    }

    /// The first occupied slot at or after the cursor (the wheel is not empty).
    #[inline]
    fn next_occupied(&self) -> u64 {
        let mask = (1u64 << self.slot_bits) - 1;
        let start = (self.cursor & mask) as usize;
        let words = self.occupied.len();
        let mut w = start / 64;
        let mut bits = self.occupied[w] & (u64::MAX << (start % 64));
        // Once round, and the start word again for the slots before the start.
        for _ in 0..=words {
            if bits != 0 {
                let at = (w * 64) as u64 + bits.trailing_zeros() as u64;
                return self.cursor + (at.wrapping_sub(start as u64) & mask);
            }
            w = (w + 1) % words;
            bits = self.occupied[w];
        }
        unreachable!("the wheel holds {} events and no slot is marked", self.near)
    }

    /// Moves a slot's events to the end of the due run (which holds only earlier slots').
    #[inline]
    fn take_slot(&mut self, slot: u64) {
        let s = (slot & ((1 << self.slot_bits) - 1)) as usize;
        let mut at = std::mem::replace(&mut self.heads[s], NIL);
        self.occupied[s / 64] &= !(1 << (s % 64));
        while at != NIL {
            let item = self.items[at as usize].take().expect("a linked event");
            let next = self.links[at as usize];
            self.release(at);
            self.near -= 1;
            self.due.push_unsorted(item);
            at = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::radix_heap::tests::{
        check_against_a_binary_heap, check_time_never_goes_back, check_time_then_insertion_order,
        OrderedQueue,
    };
    use crate::random::{Random, Stream};

    impl OrderedQueue for EventQueue<u64> {
        fn push(&mut self, time_ns: u64, value: u64) {
            EventQueue::push(self, time_ns, value)
        }
        fn pop(&mut self) -> Option<(u64, u64)> {
            EventQueue::pop(self)
        }
        fn peek_time_ns(&mut self) -> Option<u64> {
            EventQueue::peek_time_ns(self)
        }
        fn len(&self) -> usize {
            EventQueue::len(self)
        }
        fn walked(&self) -> usize {
            self.iter().count()
        }
    }

    #[test]
    fn pops_in_time_order_and_ties_in_insertion_order() {
        check_time_then_insertion_order(&mut EventQueue::new());
    }

    #[test]
    fn the_order_is_exactly_time_then_insertion_as_a_heap_gives_it() {
        check_against_a_binary_heap(&mut EventQueue::new());
    }

    #[test]
    fn interleaved_pushes_and_pops_stay_ordered() {
        check_time_never_goes_back(&mut EventQueue::new());
    }

    /// A cluster of `tokens` messages in flight (each delivery sends the next 1 to 1.1 ms
    /// ahead), with a timeout far ahead now and then, a reply at the same instant now and
    /// then, and a retry a few ms ahead (beyond the wheel's window) more often, checked against a binary heap for `events` deliveries.
    fn run_tokens(
        q: &mut EventQueue<u64>,
        reference: &mut std::collections::BinaryHeap<std::cmp::Reverse<(u64, u64)>>,
        seq: &mut u64,
        tokens: usize,
        events: usize,
        rng: &mut Random,
    ) {
        use std::cmp::Reverse;
        let mut push =
            |q: &mut EventQueue<u64>, reference: &mut std::collections::BinaryHeap<_>, t| {
                *seq += 1;
                q.push(t, *seq);
                reference.push(Reverse((t, *seq)));
            };
        let now = q.last_ns;
        while reference.len() < tokens {
            push(q, reference, now + 1_000_000 + rng.below(100_000));
        }
        for _ in 0..events {
            let Reverse((t, v)) = reference.pop().expect("tokens in flight");
            assert_eq!(q.peek_time_ns(), Some(t));
            assert_eq!(q.pop(), Some((t, v)));
            // Keep `tokens` in flight: fewer after a shrink, more after a growth.
            if reference.len() < tokens {
                push(q, reference, t + 1_000_000 + rng.below(100_000));
            }
            match rng.below(100) {
                0 => push(q, reference, t + 10_000_000_000 + rng.below(1000)),
                1 => push(q, reference, t),
                2 => push(q, reference, t + rng.below(30)),
                // Beyond the wheel's window, until it moves up to them.
                3..=9 => push(q, reference, t + 3_000_000 + rng.below(2_000_000)),
                _ => {}
            }
        }
        assert_eq!(q.len(), reference.len());
    }

    #[test]
    fn the_wheel_turns_on_resizes_and_turns_off_with_the_order_unchanged() {
        use std::collections::BinaryHeap;
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut seq = 0;
        let mut rng = Random::new(11, Stream::Workload);
        // A few in flight: the heap alone.
        run_tokens(&mut q, &mut reference, &mut seq, 50, 20_000, &mut rng);
        assert!(!q.wheel);
        // Thousands: the wheel, with about a slot per event.
        run_tokens(&mut q, &mut reference, &mut seq, 4_000, 60_000, &mut rng);
        assert!(q.wheel);
        let small = (q.shift, q.slot_bits);
        // More: the same wheel, finer and with more slots.
        run_tokens(&mut q, &mut reference, &mut seq, 60_000, 400_000, &mut rng);
        assert!(q.wheel);
        assert!(q.slot_bits > small.1 && q.shift < small.0, "{small:?}");
        // Too many for the caches: the heap alone again.
        run_tokens(&mut q, &mut reference, &mut seq, 150_000, 700_000, &mut rng);
        assert!(!q.wheel);
        // And back.
        while reference.len() > 3_000 {
            let std::cmp::Reverse((t, v)) = reference.pop().unwrap();
            assert_eq!(q.pop(), Some((t, v)));
        }
        // (The wheel is looked at again after as many events as were pending at the last
        // look: here 150,000.)
        run_tokens(&mut q, &mut reference, &mut seq, 3_000, 200_000, &mut rng);
        assert!(q.wheel);
        assert_eq!(q.iter().count(), q.len(), "every event, wherever it is");
        while let Some(std::cmp::Reverse((t, v))) = reference.pop() {
            assert_eq!(q.pop(), Some((t, v)));
        }
        assert!(q.is_empty() && q.pop().is_none());
    }
}
