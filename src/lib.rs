//! # dsim: a deterministic simulator for distributed protocols
//!
//! dsim runs a protocol's nodes as sans-IO state machines inside one single-threaded event
//! loop, with a seeded virtual clock and a lossy virtual network, so that any partition,
//! crash, pause or message-loss schedule reproduces exactly from its seed. This crate is its
//! command line, as a library: every command works on any protocol you register.
//!
//! | crate | what it holds |
//! |---|---|
//! | `sim-core` | the engine: event loop, network, storage, clocks, faults, nemesis; the [`Protocol`](sim_core::Protocol) and [`ProtocolOptions`](scenario::ProtocolOptions) traits, checkers, scenarios, shrinking |
//! | `protocols` | the built-in protocols: ping-pong, key-value cluster, lock service, atomic commitment |
//! | `placement` | placement schemes and key popularity (the key-value cluster and `dsim balance`) |
//! | `reports` | charts and Markdown reports |
//! | `dsim` (this one) | the commands: [`Cli`], and [`sweep`], [`shrink`], [`summary`], [`diagram`] behind them |
//!
//! ## Your own protocol
//!
//! Write your nodes against `sim-core` (a [`Node`](sim_core::Node) reacts to a start, a
//! message, a timer or a restart through its context), a [`Protocol`](sim_core::Protocol)
//! that builds them and hands out your checkers, and a
//! [`ProtocolOptions`](scenario::ProtocolOptions) type for your scenario section. Then
//! your `main` is:
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     dsim::Cli::new()                   // the built-in protocols
//!         .protocol::<PbRegisterOptions>() // plus yours
//!         .run()                          // run, check, sweep, merge, shrink, diagram, view, ...
//! }
//! ```
//!
//! and `your-binary sweep my.ron --seeds 0..1000` works on `protocol: PbRegister(...)`
//! exactly as `dsim` does on the built-ins. The guide, `docs/own-protocol.md`, goes from an
//! empty crate to a shrunk, diagrammed failing seed; `examples/pb-register` is a complete
//! crate to copy.

pub mod cli;
pub mod diagram;
pub mod lincheck;
pub mod shrink;
pub mod summary;
pub mod sweep;
pub mod trace_window;
pub mod view;

pub use cli::Cli;

use std::sync::OnceLock;

static PROGRAM_NAME: OnceLock<String> = OnceLock::new();

/// The name this program was started as (`dsim`, or your binary's): replay commands in
/// reports use it.
pub fn program_name() -> &'static str {
    PROGRAM_NAME.get().map_or("dsim", String::as_str)
}

fn set_program_name(name: &str) {
    let _ = PROGRAM_NAME.set(name.to_string());
}
