//! Protocols: what runs on the simulated nodes.
//!
//! A protocol names its nodes, builds them (at start and again after every crash), and
//! says which invariants it can check and which metrics it reports. Each protocol lives in
//! its own module; the naive designs of the seed article stay in as named baselines.

pub mod kv;
pub mod lock;
pub mod ping_pong;
pub mod two_pc;

pub use crate::protocol::Protocol;

use crate::protocol::Registry;

/// The built-in protocols: `PingPong`, `Kv`, `Lock` and `Commit`.
pub fn builtin() -> Registry {
    Registry::new()
        .with::<ping_pong::PingPongOptions>()
        .with::<kv::KvOptions>()
        .with::<lock::LockOptions>()
        .with::<two_pc::CommitOptions>()
}
