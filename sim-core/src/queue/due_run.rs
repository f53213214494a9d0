//! The run of due events: the earliest pending events, in (time, sequence) order, that
//! the event queue hands out one by one. Both of its stores, the timing wheel and the
//! radix heap, fill it when it runs dry, and keep every event they hold later than all of
//! it; an event scheduled inside its span is inserted here, after the events of its time.

use super::ring_buffer::Ring;

/// A pending event: its time, its sequence number (the order among events at one time)
/// and what it is.
pub(crate) struct Item<T> {
    pub(crate) time_ns: u64,
    pub(crate) seq: u64,
    pub(crate) value: T,
}

/// The earliest pending events, in (time, sequence) order.
pub(crate) struct DueRun<T> {
    items: Ring<Item<T>>,
    /// The latest time in the run (when it is not empty).
    max_ns: u64,
}

impl<T> Default for DueRun<T> {
    fn default() -> Self {
        DueRun {
            items: Ring::default(),
            max_ns: 0,
        }
    }
}

impl<T> DueRun<T> {
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[inline]
    pub fn front(&self) -> Option<&Item<T>> {
        self.items.front()
    }

    /// The `nth` earliest event's value.
    #[inline]
    pub fn get(&self, nth: usize) -> Option<&T> {
        self.items.get(nth).map(|i| &i.value)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Item<T>> {
        self.items.iter()
    }

    /// Removes the earliest event; the run must not be empty.
    #[inline(always)]
    pub fn take_front(&mut self) -> Item<T> {
        self.items.take_front()
    }

    /// Whether an event at `time_ns` falls inside the run's span (at or before its latest
    /// time), where it must be inserted rather than stored beyond the run.
    #[inline]
    pub fn spans(&self, time_ns: u64) -> bool {
        !self.items.is_empty() && time_ns <= self.max_ns
    }

    /// Inserts `item`, whose time the run spans, after every event at or before its time
    /// (its sequence number is the largest).
    #[inline(always)]
    pub fn insert(&mut self, item: Item<T>) {
        debug_assert!(self.spans(item.time_ns));
        if item.time_ns == self.max_ns {
            self.items.push_back(item);
        } else {
            // The closure takes the time, not the event: a reference to the event would
            // make the compiler build it on the stack (see `ring_buffer`).
            let time_ns = item.time_ns;
            let at = self.items.partition_point(move |i| i.time_ns <= time_ns);
            self.items.insert(at, item);
        }
    }

    /// Appends an event later than every one in the run.
    #[inline(always)]
    pub fn push_latest(&mut self, item: Item<T>) {
        debug_assert!(self.items.back().is_none_or(|i| i.time_ns <= item.time_ns));
        self.max_ns = item.time_ns;
        self.items.push_back(item);
    }

    /// Appends an event in no particular order: `sort` puts the run in order after.
    #[inline(always)]
    pub fn push_unsorted(&mut self, item: Item<T>) {
        self.items.push_back(item);
    }

    /// Puts the run in (time, sequence) order.
    #[inline]
    pub fn sort(&mut self) {
        if self.items.len() > 1 {
            self.items
                .make_contiguous()
                .sort_unstable_by_key(|i| (i.time_ns, i.seq));
        }
        self.max_ns = self.items.back().map_or(0, |i| i.time_ns);
    }

    /// Whether the run holds more than `max` events, at more than one time: an insertion
    /// moves them, so its latest should go back to the store it came from.
    #[inline]
    pub fn too_long(&self, max: usize) -> bool {
        self.items.len() > max && self.items.front().is_some_and(|i| i.time_ns != self.max_ns)
    }

    /// Takes the run's last event if it is at the run's latest time: called until it
    /// gives `None`, it takes all of that time's events (so that one scheduled at that
    /// time later still comes after them), and the run's latest time becomes its new
    /// last event's.
    #[inline]
    pub fn pop_latest(&mut self) -> Option<Item<T>> {
        match self.items.back() {
            Some(i) if i.time_ns == self.max_ns => self.items.pop_back(),
            Some(i) => {
                self.max_ns = i.time_ns;
                None
            }
            None => None,
        }
    }

    /// Makes `items`, sorted, the run, and gives back the run's emptied buffer.
    pub fn replace_with_sorted(&mut self, items: Vec<Item<T>>) -> Vec<Item<T>> {
        debug_assert!(self.items.is_empty());
        self.max_ns = items.last().map_or(0, |i| i.time_ns);
        std::mem::replace(&mut self.items, Ring::from_vec(items)).take_vec()
    }

    /// Empties the run, giving its events in order.
    pub fn take_all(&mut self) -> Vec<Item<T>> {
        self.items.take_vec()
    }

    /// Whether every event in the run is at one time.
    #[cfg(test)]
    pub fn is_one_instant(&self) -> bool {
        self.items.front().map(|i| i.time_ns) == self.items.back().map(|i| i.time_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(time_ns: u64, seq: u64) -> Item<u64> {
        Item {
            time_ns,
            seq,
            value: seq,
        }
    }

    fn seqs(run: &DueRun<u64>) -> Vec<u64> {
        run.iter().map(|i| i.seq).collect()
    }

    #[test]
    fn an_event_inside_the_span_goes_after_those_of_its_time() {
        let mut run = DueRun::default();
        for (t, s) in [(10, 1), (10, 2), (20, 3), (30, 4)] {
            run.push_latest(item(t, s));
        }
        for (t, s) in [(10, 5), (30, 6), (25, 7)] {
            assert!(run.spans(t));
            run.insert(item(t, s));
        }
        assert_eq!(seqs(&run), [1, 2, 5, 3, 7, 4, 6]);
        assert!(!run.spans(31));
    }

    #[test]
    fn the_latest_time_goes_back_whole_and_one_instant_never_does() {
        let mut run = DueRun::default();
        for (t, s) in [(10, 1), (20, 2), (30, 3), (30, 4)] {
            run.push_unsorted(item(t, s));
        }
        run.sort();
        assert!(run.too_long(3) && !run.too_long(4));
        let mut taken = Vec::new();
        while let Some(i) = run.pop_latest() {
            taken.push(i.seq);
        }
        assert_eq!(taken, [4, 3]);
        assert_eq!(seqs(&run), [1, 2]);
        // The run's latest time is now 20: an event at 25 is after it.
        assert!(run.spans(20) && !run.spans(25));
        let mut same = DueRun::default();
        for s in 0..10 {
            same.push_latest(item(7, s));
        }
        assert!(!same.too_long(3) && same.is_one_instant());
    }
}
