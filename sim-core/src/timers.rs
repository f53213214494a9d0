//! The armed timers: what each one carries, from when a node sets it until it fires or is
//! cancelled. The part of a kernel that keeps a process's timers.
//!
//! A timer's event in the queue names only its slot here, so every queue entry stays small
//! whatever a protocol's timers carry. Slots are reused as timers end, each reuse under a
//! new generation, so a [`TimerId`] kept past its timer's end (cancelled after it fired, or
//! compared with `self.election_timer == Some(timer)`) never matches a later timer.
//!
//! Memory: one slot per timer armed at once, 20 bytes for a `u64` payload (and its share of
//! the vectors' spare capacity). The hash map this replaced took 36 bytes per timer for a
//! million of them, 53 while it grew, and hashed twice per timer.

/// Names a timer so that it can be cancelled. Unique while the timer is armed, and never
/// equal to a later timer's id (its number is the engine's business: the timer's slot here
/// and the slot's generation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub u64);

/// Armed timers and what they carry, by slot.
pub(crate) struct TimerTable<T> {
    /// What each slot's timer carries; `None` when the slot is free.
    whats: Vec<Option<T>>,
    /// Each slot's generation: bumped when its timer ends, so old ids stop matching.
    generations: Vec<u32>,
    /// Free slots; the last freed is reused first.
    free: Vec<u32>,
}

impl<T> Default for TimerTable<T> {
    fn default() -> Self {
        TimerTable {
            whats: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> TimerTable<T> {
    /// Arms a timer carrying `what`; the id names it until it fires or is cancelled.
    pub fn arm(&mut self, what: T) -> TimerId {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.whats[slot as usize] = Some(what);
                slot
            }
            None => {
                let slot = u32::try_from(self.whats.len()).expect("under 2^32 timers armed");
                self.whats.push(Some(what));
                self.generations.push(0);
                slot
            }
        };
        TimerId(u64::from(self.generations[slot as usize]) << 32 | u64::from(slot))
    }

    /// Ends timer `id` and returns what it carried, if it was still armed: when it fires,
    /// when it is cancelled, and when it dies with its node. An id that ended before is
    /// left alone.
    pub fn take(&mut self, id: TimerId) -> Option<T> {
        let slot = id.0 as u32;
        let generation = (id.0 >> 32) as u32;
        let i = slot as usize;
        if self.generations.get(i) != Some(&generation) {
            return None;
        }
        let what = self.whats[i].take()?;
        self.generations[i] = generation.wrapping_add(1);
        self.free.push(slot);
        Some(what)
    }

    /// How many timers are armed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.whats.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_ends_once_and_its_id_never_names_a_later_one() {
        let mut table = TimerTable::default();
        let a = table.arm("a");
        let b = table.arm("b");
        assert_ne!(a, b);
        assert_eq!(table.len(), 2);
        assert_eq!(table.take(a), Some("a"));
        // Cancelling a timer that fired is harmless.
        assert_eq!(table.take(a), None);
        // Its slot is reused under another generation.
        let c = table.arm("c");
        assert_ne!(c, a);
        assert_eq!(c.0 as u32, a.0 as u32, "the freed slot is reused");
        assert_eq!(table.take(a), None, "an old id does not end the new timer");
        assert_eq!(table.len(), 2);
        assert_eq!(table.take(c), Some("c"));
        assert_eq!(table.take(b), Some("b"));
        assert_eq!(table.len(), 0);
        assert_eq!(table.take(TimerId(u64::MAX)), None, "an id never given");
    }

    #[test]
    fn slots_are_reused_so_the_table_is_as_big_as_the_most_armed_at_once() {
        let mut table = TimerTable::default();
        let mut armed: Vec<TimerId> = (0..100).map(|i| table.arm(i)).collect();
        for round in 0..10_000u32 {
            let i = (round as usize * 7) % armed.len();
            assert!(table.take(armed[i]).is_some());
            armed[i] = table.arm(round);
        }
        assert_eq!(table.len(), 100);
        assert_eq!(
            table.whats.len(),
            100,
            "no slot beyond the 100 armed at once"
        );
    }
}
