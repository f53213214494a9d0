//! # linearizability: client histories, and whether they are linearizable
//!
//! Linearizability: could the operations of a history have taken effect one at a time, each
//! somewhere between its call and its return, in an order a sequential model accepts?
//! (Herlihy and Wing, 1990.)
//!
//! The search is Wing and Gong's, with Lowe's memoization of (operations linearized, model
//! state) over bitsets ("Testing for linearizability", 2017), in [`search`]. A model that
//! splits a history into independent parts (a key-value store, by key) has each part
//! checked alone (P-compositionality, Horn and Kroening 2015). An indeterminate operation
//! (a timeout: it may or may not have taken effect) is given a return at the end of time
//! with an unknown output, so it may be placed anywhere after its call, or last, where it
//! changes nothing anyone saw.
//!
//! The problem is NP-complete, so the search runs on a budget of steps (deterministic, so
//! a verdict reproduces exactly) and answers [`Verdict::Unknown`] when it runs out, never a
//! guess. Models for a register, a compare-and-set register and a key-value store are in
//! [`models`]; a protocol brings its own by implementing [`Model`].

//!
//! This crate stands alone: it knows no simulation. dsim's engine checks the histories its
//! clients record with it (the `linearizable` invariant), `dsim lincheck` checks Jepsen
//! files with it, and any program can.
//!
//! ## The parts, by file
//!
//! | file | what |
//! |---|---|
//! | `history` | what a history holds: [`Event`], [`Entry`] (an event at its time), [`Value`], [`Kind`]; pairing invocations with completions |
//! | `edn` | histories as Jepsen's EDN, written ([`to_edn`]) and read ([`read_history`]) |
//! | `check` | the [`Model`] trait, [`Operation`]s, the [`Verdict`] and the [`Budget`] |
//! | `search` | the search itself, over bitsets, memoized |
//! | `models` | [`Register`] and [`Kv`] |
//! | `generate` | histories linearizable by construction, for tests and benchmarks |
//!
//! ```
//! use linearizability::{check, Operation, Register, RegisterInput, RegisterOutput, Verdict};
//!
//! // Process 0 writes 1; process 1 reads 1 while the write is under way.
//! let write = |call_ns, ret_ns, v| Operation {
//!     process: 0,
//!     input: RegisterInput::Write(v),
//!     call_ns,
//!     ret: Some((ret_ns, RegisterOutput::Ok)),
//! };
//! let read = |call_ns, ret_ns, seen| Operation {
//!     process: 1,
//!     input: RegisterInput::Read,
//!     call_ns,
//!     ret: Some((ret_ns, RegisterOutput::Read(seen))),
//! };
//! let register = Register::new(false);
//! // A read under way while 1 is written may see 1.
//! assert_eq!(check(&register, &[write(0, 10, 1), read(5, 8, Some(1))], 1_000), Verdict::Linearizable);
//! // A read that starts after the write returned must.
//! let stale = [write(0, 10, 1), read(12, 14, None)];
//! assert!(matches!(check(&register, &stale, 1_000), Verdict::NotLinearizable(_)));
//! ```

mod check;
mod draws;
mod edn;
mod generate;
mod history;
mod models;
mod search;

pub use check::{
    check, check_part, check_within, combine, operations, Budget, Failure, FromHistory, Model,
    Operation, PartResult, Verdict,
};
pub use edn::{read_history, read_history_from, to_edn, BadInput};
pub use generate::{linearizable_history, with_impossible_read, HistoryOptions};
pub use history::{describe, describe_parts, pair, Entry, Event, Kind, Paired, Value};
pub use models::{Kv, KvInput, KvOutput, Register, RegisterInput, RegisterOutput};
