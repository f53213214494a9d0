//! dsim's built-in protocols, one folder each with its nodes, checkers and metrics.
//!
//! | protocol | scenario section | folder | invariants |
//! |---|---|---|---|
//! | ping-pong, the engine's workout | `PingPong(...)` | [`ping_pong`] | `progress` |
//! | sharded key-value cluster | `Kv(...)` | [`kv`] | `no_lost_write`, `single_owner` |
//! | lock service, five variants | `Lock(...)` | [`lock`] | `mutual_exclusion`, `no_lost_update`, `liveness` |
//! | atomic commitment: 2PC, cooperative, 3PC, naive | `Commit(...)` | [`two_pc`] | `atomicity`, `validity`, `durability` |
//!
//! Each is written against `sim-core`'s public API only, exactly as a protocol of your
//! own would be (see `docs/own-protocol.md`); the naive designs of the seed article stay
//! in as named baselines. [`builtin`] is the registry of all four.

pub mod kv;
pub mod lock;
pub mod ping_pong;
pub mod two_pc;

use scenario::Registry;

/// The built-in protocols: `PingPong`, `Kv`, `Lock` and `Commit`.
pub fn builtin() -> Registry {
    Registry::new()
        .with::<ping_pong::PingPongOptions>()
        .with::<kv::KvOptions>()
        .with::<lock::LockOptions>()
        .with::<two_pc::CommitOptions>()
}

/// Builds protocol options from scenario text, for tests of protocol code.
#[cfg(test)]
pub(crate) mod tests_support {
    /// `fields` as written inside `Kv(...)`.
    pub fn kv_options(fields: &str) -> crate::kv::KvOptions {
        let text = format!("(name: \"t\", limits: (time: \"1s\"), protocol: Kv({fields}))");
        let loaded = super::builtin().parse("t.ron", &text).expect("valid");
        loaded
            .scenario
            .protocol
            .downcast_ref::<crate::kv::KvOptions>()
            .expect("a Kv section")
            .clone()
    }
}
