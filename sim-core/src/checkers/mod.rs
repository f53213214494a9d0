//! Invariant checkers, one file each.

pub mod atomicity;
pub mod durability;
pub mod liveness;
pub mod mutual_exclusion;
pub mod no_lost_update;
pub mod no_lost_write;
pub mod progress;
pub mod single_owner;
pub mod validity;
