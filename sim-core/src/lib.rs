//! # sim-core: the engine of dsim
//!
//! dsim runs distributed protocols as simulated nodes inside one single-threaded event
//! loop, with a seeded virtual clock and a lossy virtual network, so that any partition,
//! crash, pause or message-loss schedule reproduces exactly from its seed.
//!
//! ## The parts, by file
//!
//! | file | stands in for |
//! |---|---|
//! | `simulation` | the world: the event loop, virtual time, the verbs `crash`, `partition`, … ([`Simulation`]) |
//! | `queue/` | the scheduler: pending events, earliest first, ties in order ([`EventQueue`]) |
//! | `node` | a process: the sans-IO [`Node`] trait and its [`Context`] |
//! | `timers` | the kernel's timer list: what each armed timer carries, by [`TimerId`] |
//! | `network` | the network: latency, loss, duplication, partitions ([`PacketSimulator`]) |
//! | `storage` | a disk: durable writes that survive a crash only once synced ([`Storage`]) |
//! | `time` | clocks: durations, and each node's drifting, jumping local clock ([`NodeClock`]) |
//! | `faults` | the fault model: crash, restart, pause, partition, heal, clock faults ([`Fault`]) |
//! | `nemesis` | the random nemesis: faults drawn from the seed ([`NemesisOptions`]) |
//! | `random` | randomness: one ChaCha stream per purpose ([`Random`]) |
//! | `probability` | a [`Probability`], checked when read |
//! | `fingerprint` | the run fingerprint: a fixed hash of the event sequence ([`Fingerprint`]) |
//! | `trace` | the JSON Lines trace: one typed [`TraceEvent`], written and read by the same code |
//! | `names` | node names, packed ([`NodeNames`]) |
//! | `checker` | invariants and metrics: what watches a run ([`Checker`], [`Metrics`]) |
//! | `linearizable` | the invariant any protocol whose clients record a history can return ([`Linearizable`]) |
//! | `protocol` | what runs on the nodes: the [`Protocol`] trait |
//!
//! Scenario files, the registry of protocols and the shrinker are one layer up, in the
//! `scenario` crate; histories and the linearizability search are the `linearizability`
//! crate, which knows no simulation.
//!
//! ## Writing a node
//!
//! A node reacts to a start, a message, a timer or a restart, and acts only through its
//! context. Here is a node that echoes every message back:
//!
//! ```
//! use sim_core::{Context, Node, NodeId, TimerId};
//!
//! struct Echo;
//!
//! impl Node for Echo {
//!     type Message = u64;
//!     type Observation = ();
//!     type Record = ();
//!     type Timer = u64;
//!
//!     fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
//!         if ctx.id() == 0 {
//!             ctx.send(1, 0);
//!         }
//!     }
//!     fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: u64) {
//!         ctx.send(from, msg + 1);
//!     }
//!     fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: TimerId, _tag: u64) {}
//! }
//! ```
//!
//! A [`Protocol`] names the nodes, builds them, and lists its invariants; [`Simulation`]
//! runs it. The `scenario` crate's `ProtocolOptions` make it a section of scenario files,
//! and every `dsim` command works on a registry of those; `docs/own-protocol.md` walks
//! from an empty crate to a shrunk, diagrammed failing seed.
//!
//! The engine knows no protocol. dsim's own (ping-pong, the key-value cluster, the lock
//! service, atomic commitment) live in the `protocols` crate and use only this crate's
//! public API.
//!
//! ## Determinism
//!
//! Nothing that reaches the simulation reads the wall clock, spawns a thread, draws
//! unseeded randomness or iterates a hash table. Events due at the same nanosecond run in
//! the order they were scheduled. The same scenario, seed and dsim version give the same
//! fingerprint on every run and every machine.

mod checker;
mod faults;
mod fingerprint;
mod linearizable;
mod names;
mod nemesis;
mod network;
mod node;
mod probability;
mod protocol;
mod queue;
mod random;
mod simulation;
mod storage;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod time;
mod timers;
mod trace;

pub use checker::{Checker, ClusterView, Lifecycle, Metrics, NoMetrics, Violation};
pub use faults::{AppliedFault, Fault, FaultOrigin, TimedFault};
pub use fingerprint::{hash_of, of_value, Fingerprint};
pub use linearizable::{Linearizable, STEPS_MAX_DEFAULT};
pub use names::NodeNames;
pub use nemesis::{
    ClockJumpRate, ClusterState, FaultRate, Nemesis, NemesisOptions, Strike, StrikeKind,
};
pub use network::{DropReason, Latency, LinkOptions, MessageStats, PacketSimulator, Route};
pub use node::{Context, Effects, Node, NodeId};
pub use probability::Probability;
pub use protocol::Protocol;
pub use queue::EventQueue;
pub use random::{splitmix64, Random, Stream, StreamBuffer, StreamKey};
pub use simulation::{
    RunOutcome, SimOptions, Simulation, StopReason, NODES_MAX, PENDING_MAX_DEFAULT,
    STALL_EVENTS_MAX,
};
pub use storage::Storage;
pub use time::{
    exact_text, format_ns, parse_duration_ns, Duration, NodeClock, Ppm, SignedDuration,
    DRIFT_PPM_MAX, NS_PER_MS, NS_PER_S, NS_PER_US,
};
pub use timers::TimerId;
pub use trace::{push_json_str, TraceWriter};
