//! Invariant checkers, one file each.

pub mod no_lost_write;
pub mod progress;
pub mod single_owner;
