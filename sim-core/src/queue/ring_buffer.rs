//! Stores the event queue writes into with every write inlined: a ring buffer (the due
//! run's) and an append to a vector (the buckets' chunks, the wheel's arena).
//!
//! Why not `VecDeque::push_back`, `VecDeque::insert` and `Vec::push`: the compiler keeps
//! some of those out of line, and a call that takes the event by reference makes it build
//! the event in a stack slot, field by field, on every push, also where the path taken
//! inlines its write. The write then copies the slot 16 bytes at a time, a load that spans
//! several of the narrow stores just made, which the processor cannot forward: it waits for
//! them to reach the cache. At 16 nodes that wait was 40% of scheduling a message. Here the
//! only calls are to grow, which never see the value, so the event goes from registers to
//! its place.

use std::ptr;

/// A double-ended queue of `T` in a ring: `push_back`, `insert` and `take_front` are
/// inlined, and only growing is a call.
pub(crate) struct Ring<T> {
    /// The storage: its length is always 0, its capacity is the ring's, and slots
    /// `head..head + len` (wrapping at the capacity) hold the values.
    buf: Vec<T>,
    head: usize,
    len: usize,
}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Ring {
            buf: Vec::new(),
            head: 0,
            len: 0,
        }
    }
}

impl<T> Ring<T> {
    /// The values of `items`, first to last, in its buffer (nothing is copied).
    pub fn from_vec(mut items: Vec<T>) -> Self {
        let len = items.len();
        // SAFETY: the ring owns the values from here on (length 0 forgets them).
        unsafe { items.set_len(0) };
        Ring {
            buf: items,
            head: 0,
            len,
        }
    }

    /// The values, first to last, in the ring's buffer; the ring is left empty.
    pub fn take_vec(&mut self) -> Vec<T> {
        self.make_contiguous();
        let (head, len) = (self.head, self.len);
        let mut buf = std::mem::take(&mut self.buf);
        self.head = 0;
        self.len = 0;
        // SAFETY: slots head..head + len are initialised and not wrapped; moving them to
        // the start (ranges may overlap) and setting the length hands them to the vector.
        unsafe {
            ptr::copy(buf.as_ptr().add(head), buf.as_mut_ptr(), len);
            buf.set_len(len);
        }
        buf
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The buffer slot of the `i`th value (`i <= len`).
    #[inline(always)]
    fn slot(&self, i: usize) -> usize {
        let at = self.head + i;
        if at >= self.capacity() {
            at - self.capacity()
        } else {
            at
        }
    }

    #[inline(always)]
    fn at(&self, i: usize) -> *const T {
        // SAFETY: `slot` is below the capacity (callers pass i <= len < capacity, or
        // i < len).
        unsafe { self.buf.as_ptr().add(self.slot(i)) }
    }

    #[inline(always)]
    fn at_mut(&mut self, i: usize) -> *mut T {
        let slot = self.slot(i);
        // SAFETY: as in `at`.
        unsafe { self.buf.as_mut_ptr().add(slot) }
    }

    /// The `i`th value from the front.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        // SAFETY: values 0..len are initialised.
        (i < self.len).then(|| unsafe { &*self.at(i) })
    }

    #[inline]
    pub fn front(&self) -> Option<&T> {
        self.get(0)
    }

    #[inline]
    pub fn back(&self) -> Option<&T> {
        self.get(self.len.wrapping_sub(1))
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        (0..self.len).map(|i| {
            // SAFETY: values 0..len are initialised.
            unsafe { &*self.at(i) }
        })
    }

    #[inline(always)]
    pub fn push_back(&mut self, value: T) {
        if self.len == self.capacity() {
            self.grow();
        }
        let to = self.at_mut(self.len);
        // SAFETY: len < capacity, so slot `to` is free.
        unsafe { to.write(value) };
        self.len += 1;
    }

    /// Inserts `value` before the `at`th value (`at <= len`), moving the later ones back.
    #[inline(always)]
    pub fn insert(&mut self, at: usize, value: T) {
        assert!(at <= self.len, "insert past the end of the ring");
        if self.len == self.capacity() {
            self.grow();
        }
        let mut i = self.len;
        while i > at {
            let (from, to) = (self.at(i - 1), self.at_mut(i));
            // SAFETY: value i - 1 moves to the free slot after it; its own slot is then
            // free for the next move, and finally for `value`.
            unsafe { ptr::copy_nonoverlapping(from, to, 1) };
            i -= 1;
        }
        let to = self.at_mut(at);
        // SAFETY: the slot of value `at` was moved out above (or is the free slot at len).
        unsafe { to.write(value) };
        self.len += 1;
    }

    #[inline]
    pub fn pop_front(&mut self) -> Option<T> {
        (self.len > 0).then(|| self.take_front())
    }

    /// Removes and returns the first value; the ring must not be empty.
    #[inline(always)]
    pub fn take_front(&mut self) -> T {
        assert!(self.len > 0, "take_front on an empty ring");
        // SAFETY: value 0 is initialised; the ring forgets it below.
        let value = unsafe { self.at(0).read() };
        self.len -= 1;
        // An emptied ring starts again at slot 0, so that a run filled from empty (and
        // then sorted) never wraps.
        self.head = if self.len == 0 { 0 } else { self.slot(1) };
        value
    }

    #[inline]
    pub fn pop_back(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: value len (the old last one) is initialised; the ring forgot it above.
        let value = unsafe { self.at(self.len).read() };
        if self.len == 0 {
            self.head = 0;
        }
        Some(value)
    }

    /// The values, first to last, as one slice (moving them if they wrap).
    pub fn make_contiguous(&mut self) -> &mut [T] {
        if self.head + self.len > self.capacity() {
            self.relocate(self.capacity());
        }
        // SAFETY: values 0..len are initialised and, from here, do not wrap.
        unsafe { std::slice::from_raw_parts_mut(self.buf.as_mut_ptr().add(self.head), self.len) }
    }

    /// The number of values from the front for which `pred` holds, if it holds for all
    /// those before the first for which it does not (as `slice::partition_point`).
    #[inline]
    pub fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> usize {
        let (mut low, mut high) = (0, self.len);
        while low < high {
            let mid = low + (high - low) / 2;
            // SAFETY: mid < len.
            if pred(unsafe { &*self.at(mid) }) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        self.relocate((self.capacity() * 2).max(4));
    }

    /// Moves the values to the start of a new buffer of at least `capacity` slots.
    fn relocate(&mut self, capacity: usize) {
        assert!(std::mem::size_of::<T>() > 0, "a ring of zero-sized values");
        let mut buf: Vec<T> = Vec::with_capacity(capacity);
        for i in 0..self.len {
            // SAFETY: value i moves from the old buffer, which is dropped below with
            // length 0 (freeing memory only), to slot i of the new one.
            unsafe { buf.as_mut_ptr().add(i).write(self.at(i).read()) };
        }
        self.buf = buf;
        self.head = 0;
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        while self.pop_front().is_some() {}
    }
}

/// Appends `value` to `items`, inlined (see the module's header); only growing is a call.
#[inline(always)]
pub(crate) fn push<T>(items: &mut Vec<T>, value: T) {
    if items.len() == items.capacity() {
        grow(items);
    }
    let len = items.len();
    // SAFETY: len < capacity: the slot is free, and the new length covers it.
    unsafe {
        items.as_mut_ptr().add(len).write(value);
        items.set_len(len + 1);
    }
}

#[cold]
#[inline(never)]
fn grow<T>(items: &mut Vec<T>) {
    items.reserve(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{Random, Stream};
    use std::cell::Cell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    /// A value that counts its drops, to catch a value dropped twice or never.
    struct Counted {
        n: u64,
        drops: Rc<Cell<u64>>,
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.drops.set(self.drops.get() + 1);
        }
    }

    fn values(ring: &Ring<Counted>) -> Vec<u64> {
        ring.iter().map(|c| c.n).collect()
    }

    #[test]
    fn the_ring_does_what_a_vecdeque_does_and_drops_each_value_once() {
        let drops = Rc::new(Cell::new(0));
        let mut rng = Random::new(7, Stream::Workload);
        let mut ring = Ring::default();
        let mut model = VecDeque::new();
        let mut made = 0;
        for step in 0..20_000 {
            let new = |n| Counted {
                n,
                drops: drops.clone(),
            };
            match rng.below(8) {
                0..=2 => {
                    ring.push_back(new(step));
                    model.push_back(step);
                    made += 1;
                }
                3 => {
                    let at = rng.below(model.len() as u64 + 1) as usize;
                    ring.insert(at, new(step));
                    model.insert(at, step);
                    made += 1;
                }
                4 | 5 => assert_eq!(ring.pop_front().map(|c| c.n), model.pop_front()),
                6 => assert_eq!(ring.pop_back().map(|c| c.n), model.pop_back()),
                _ => {
                    // Sorting the contiguous values (as the due run does), wrapped or not.
                    ring.make_contiguous()
                        .sort_by_key(|c| std::cmp::Reverse(c.n));
                    model
                        .make_contiguous()
                        .sort_by_key(|&n| std::cmp::Reverse(n));
                }
            }
            assert_eq!(ring.len(), model.len());
            assert_eq!(ring.front().map(|c| c.n), model.front().copied());
            assert_eq!(ring.back().map(|c| c.n), model.back().copied());
            if step % 97 == 0 {
                assert_eq!(values(&ring), Vec::from(model.clone()));
                let nth = rng.below(model.len() as u64 + 1) as usize;
                assert_eq!(ring.get(nth).map(|c| c.n), model.get(nth).copied());
            }
        }
        assert_eq!(drops.get() + ring.len() as u64, made);
        let taken = ring.take_vec();
        assert!(ring.is_empty());
        assert_eq!(
            taken.iter().map(|c| c.n).collect::<Vec<_>>(),
            Vec::from(model.clone())
        );
        let mut again = Ring::from_vec(taken);
        again.push_back(new_counted(&drops));
        drop(again);
        assert_eq!(drops.get(), made + 1);
    }

    fn new_counted(drops: &Rc<Cell<u64>>) -> Counted {
        Counted {
            n: 0,
            drops: drops.clone(),
        }
    }

    #[test]
    fn partition_point_finds_the_first_value_the_predicate_rejects() {
        let mut ring = Ring::default();
        // Wrapped: four pushes, three pops, then pushes past the end of the buffer.
        for n in [0, 0, 0, 1] {
            ring.push_back(n);
        }
        for _ in 0..3 {
            ring.pop_front();
        }
        for n in [3, 3, 5, 8] {
            ring.push_back(n);
        }
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), [1, 3, 3, 5, 8]);
        assert_eq!(ring.partition_point(|&n| n <= 3), 3);
        assert_eq!(ring.partition_point(|&n| n < 1), 0);
        assert_eq!(ring.partition_point(|&n| n < 100), 5);
    }

    #[test]
    fn push_appends_as_vec_push_does() {
        let mut items = Vec::new();
        for n in 0..1000 {
            push(&mut items, n);
        }
        assert_eq!(items, (0..1000).collect::<Vec<_>>());
    }
}
