//! Invariant checkers, one file each.

pub mod progress;
