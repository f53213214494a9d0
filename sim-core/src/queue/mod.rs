//! The scheduler: pending events, earliest first, ties in the order they were scheduled.
//!
//! | file | what |
//! |---|---|
//! | `event_queue` | the queue itself: a timing wheel for the near events, fitted to the run, in front of the radix heap |
//! | `radix_heap` | the store for events beyond the wheel, or for all of them when the wheel does not pay |
//! | `due_run` | the earliest events, in (time, sequence) order, which the wheel and the heap fill |
//! | `ring_buffer` | the due run's ring and the buckets' appends, with every write inlined |
//! | `prefetch` | the hint that brings the next events' nodes and the wheel's next events into cache |

mod due_run;
mod event_queue;
mod prefetch;
mod radix_heap;
mod ring_buffer;

pub use event_queue::EventQueue;
pub(crate) use prefetch::{prefetch, prefetch_from_start};
