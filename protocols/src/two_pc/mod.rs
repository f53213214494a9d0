//! Atomic commitment: two-phase commit, its cooperative termination, the seed article's
//! naive "2PC", and three-phase commit for comparison.
//!
//! Clients submit transactions that write keys on two or more participants (`p0` …, one
//! key-value shard each); the coordinator (`coord`) commits them over the lossy network.
//!
//! - `TwoPc` — Gray's two-phase commit with presumed abort (Mohan, Lindsay and Obermarck,
//!   1986). A participant votes no on a lock conflict with another transaction in flight
//!   (or with `vote_no_probability`); to vote yes it force-logs PREPARED (synced) and locks
//!   its keys. The coordinator force-logs COMMIT before it sends the decision; an abort
//!   needs no forced record, because a coordinator that knows nothing of a transaction
//!   answers "abort". Participants log the outcome, apply it, unlock and acknowledge; the
//!   coordinator logs END once all have. Every message is retried until answered. After a
//!   crash the coordinator resends the decisions of logged COMMITs without END, and a
//!   prepared participant asks the coordinator for the outcome. Its weakness is the
//!   blocking window: a prepared participant cannot decide alone, so it waits (holding its
//!   locks) for as long as the coordinator is down.
//! - `Cooperative` — the same, but an uncertain participant also asks the other
//!   participants (Bernstein, Hadzilacos and Goodman, 1987, ch. 7): one that knows the
//!   outcome tells it, and one that has not voted yet aborts unilaterally and says so. It
//!   shortens blocking when the coordinator crashed before everyone voted; when all are
//!   prepared, they still wait.
//! - `Naive` — the seed article's "2PC": the coordinator sends the writes to every
//!   participant, which applies them on receipt; no vote, no log. A crash or a lost
//!   message leaves some participants with the transaction and others without it.
//! - `ThreePc` — three-phase commit (Skeen, 1981), chosen as the non-blocking comparison
//!   because it is the textbook answer to 2PC's blocking under crash failures and its known
//!   flaw is the one a simulator should show: between PREPARED and COMMIT it adds
//!   PRE-COMMIT, so that a participant that times out can decide by itself (commit if it
//!   or any peer it reaches is pre-committed, abort otherwise). It never blocks, and costs
//!   a round trip and a forced write more. Under a network partition the two sides decide
//!   differently: atomicity breaks. (Paxos Commit, Gray and Lamport 2006, is non-blocking
//!   without that flaw, at the price of 2F+1 acceptors; it is left for later.)

pub mod atomicity;
mod client;
mod coordinator;
pub mod durability;
mod metrics;
mod participant;
pub mod validity;

use std::rc::Rc;

use serde::Deserialize;

use crate::two_pc::atomicity::Atomicity;
use crate::two_pc::durability::Durability;
use crate::two_pc::validity::Validity;
use scenario::at_most;
use scenario::ProtocolOptions;
use scenario::{knob, Family};
use sim_core::Context;
use sim_core::Duration;
use sim_core::NodeId;
use sim_core::Probability;
use sim_core::Protocol;
use sim_core::{Checker, Metrics};

pub use client::Client;
pub use coordinator::Coordinator;
pub use participant::Participant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub enum Variant {
    Naive,
    TwoPc,
    Cooperative,
    ThreePc,
}

/// The `Commit(...)` section of a scenario.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, try_from = "CommitSpec")]
pub struct CommitOptions {
    pub variant: Variant,
    pub participants: u32,
    pub clients: u32,
    /// Keys per participant; a transaction writes one key on each participant it touches.
    pub keys: u32,
    /// Participants per transaction (at least 2).
    pub tx_size: u32,
    pub vote_no_probability: f64,
    pub think_time: Duration,
    /// Resend an unanswered message after this long.
    pub request_timeout: Duration,
    /// A prepared participant that has heard no decision for this long starts asking (or,
    /// under 3PC, decides by itself).
    pub decision_timeout: Duration,
    /// The coordinator gives up waiting for votes (and aborts) after this long.
    pub vote_timeout: Duration,
    /// Mistakes the literature warns about, planted on purpose (none by default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bugs: Vec<CommitBug>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommitSpec {
    variant: Variant,
    #[serde(default = "three")]
    participants: u32,
    #[serde(default = "two")]
    clients: u32,
    #[serde(default = "keys")]
    keys: u32,
    #[serde(default = "two")]
    tx_size: u32,
    #[serde(default)]
    vote_no_probability: Probability,
    #[serde(default = "think")]
    think_time: Duration,
    #[serde(default = "timeout", deserialize_with = "scenario::positive_duration")]
    request_timeout: Duration,
    #[serde(default = "decision", deserialize_with = "scenario::positive_duration")]
    decision_timeout: Duration,
    #[serde(default = "votes", deserialize_with = "scenario::positive_duration")]
    vote_timeout: Duration,
    #[serde(default)]
    bugs: Vec<CommitBug>,
}

fn two() -> u32 {
    2
}
fn three() -> u32 {
    3
}
fn keys() -> u32 {
    20
}
fn think() -> Duration {
    Duration::from_ms(10)
}
fn timeout() -> Duration {
    Duration::from_ms(50)
}
fn decision() -> Duration {
    Duration::from_ms(200)
}
fn votes() -> Duration {
    Duration::from_ms(300)
}

impl TryFrom<CommitSpec> for CommitOptions {
    type Error = String;
    fn try_from(s: CommitSpec) -> Result<Self, String> {
        if s.participants < 2 {
            return Err(format!(
                "atomic commit needs at least 2 participants, got participants: {}",
                s.participants
            ));
        }
        if s.tx_size < 2 || s.tx_size > s.participants {
            return Err(format!(
                "tx_size must be between 2 and the number of participants ({}), got {}",
                s.participants, s.tx_size
            ));
        }
        if s.clients == 0 || s.keys == 0 {
            return Err("clients and keys must each be at least 1".into());
        }
        at_most("participants:", s.participants.into(), 10_000)?;
        at_most("clients:", s.clients.into(), 100_000)?;
        at_most("keys:", s.keys.into(), 10_000_000)?;
        Ok(CommitOptions {
            variant: s.variant,
            participants: s.participants,
            clients: s.clients,
            keys: s.keys,
            tx_size: s.tx_size,
            vote_no_probability: s.vote_no_probability.0,
            think_time: s.think_time,
            request_timeout: s.request_timeout,
            decision_timeout: s.decision_timeout,
            vote_timeout: s.vote_timeout,
            bugs: s.bugs,
        })
    }
}

/// A named mistake to plant in atomic commitment, to watch a scenario meant to pass catch
/// it: `Commit(..., bugs: [UnforcedPrepared])`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub enum CommitBug {
    /// A participant writes PREPARED but does not force it to disk before voting yes: a
    /// crash forgets the promise, and it aborts a transaction the coordinator committed.
    UnforcedPrepared,
    /// The coordinator sends COMMIT before forcing its commit record: a crash forgets the
    /// decision, and presumed abort answers "abort" to those who ask.
    DecisionBeforeForce,
    /// A participant that voted yes gives up waiting for the decision and aborts on its
    /// own, though the coordinator may have committed.
    AbortAfterYes,
    /// Cooperative termination: a participant takes a peer's "uncertain too" for an
    /// abort, though both voted yes and the coordinator may have committed.
    UncertainPeerMeansAbort,
}

impl CommitOptions {
    /// Whether bug switch `bug` is on.
    pub fn bug(&self, bug: CommitBug) -> bool {
        self.bugs.contains(&bug)
    }
}

/// A transaction id, chosen by the coordinator: (boot nonce, counter), so that no two
/// coordinator lives ever use one id for two transactions.
pub type TxId = u64;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CommitMessage {
    /// Client → coordinator: its request id, and writes as (participant, key, value).
    Submit {
        req: u64,
        writes: Vec<(NodeId, u32, u64)>,
    },
    /// Coordinator → client: what became of request `req`.
    Outcome {
        req: u64,
        committed: bool,
    },
    /// Coordinator → participant: your writes, and who else takes part.
    Prepare {
        tx: TxId,
        writes: Vec<(u32, u64)>,
        participants: Vec<NodeId>,
    },
    Vote {
        tx: TxId,
        yes: bool,
    },
    /// 3PC only.
    PreCommit {
        tx: TxId,
    },
    PreCommitAck {
        tx: TxId,
    },
    Decision {
        tx: TxId,
        commit: bool,
    },
    DecisionAck {
        tx: TxId,
    },
    /// Participant → coordinator (or a peer, cooperatively): what became of `tx`?
    Query {
        tx: TxId,
    },
    /// A peer's answer: `Some(commit)` if it knows, `None` if it is uncertain too.
    /// `precommitted` is 3PC's state for its termination rule.
    PeerState {
        tx: TxId,
        outcome: Option<bool>,
        precommitted: bool,
    },
    /// Naive: apply these writes now (`participants` only for the record).
    Execute {
        tx: TxId,
        writes: Vec<(u32, u64)>,
        participants: Vec<NodeId>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum CommitObservation {
    /// A client sent a new request.
    Submitted {
        req: u64,
    },
    /// The client learned the outcome of its request.
    Finished {
        req: u64,
        committed: bool,
    },
    /// The coordinator decided.
    Decided {
        tx: TxId,
        commit: bool,
        participants: Vec<NodeId>,
    },
    Voted {
        tx: TxId,
        yes: bool,
    },
    /// A participant learned and applied (or discarded) the outcome; `applied` are the
    /// writes it applied, as (key, value): none for an abort.
    Outcome {
        tx: TxId,
        commit: bool,
        participants: Vec<NodeId>,
        applied: Vec<(u32, u64)>,
    },
    /// A participant acknowledged an outcome: it must survive crashes from now on.
    Acknowledged {
        tx: TxId,
        commit: bool,
        writes: Vec<(u32, u64)>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum CommitRecord {
    /// Participant: voted yes; writes and fellow participants.
    Prepared {
        writes: Vec<(u32, u64)>,
        participants: Vec<NodeId>,
    },
    /// 3PC participant.
    PreCommitted,
    /// Participant or coordinator: the outcome.
    Committed {
        participants: Vec<NodeId>,
    },
    Aborted,
    /// Coordinator: every participant acknowledged.
    End,
    /// Participant: a key's value.
    Value(u64),
    /// Coordinator: the transaction that committed a client's request.
    Request(TxId),
}

pub(crate) fn tx_key(kind: &str, tx: TxId) -> String {
    format!("{kind}/{tx}")
}

/// What a participant's disk says of `tx`: `Some(true)` committed, `Some(false)` aborted,
/// `None` no outcome logged (never heard of it, or prepared and still uncertain).
pub fn logged_outcome(storage: &sim_core::Storage<CommitRecord>, tx: TxId) -> Option<bool> {
    match storage.get(&tx_key("outcome", tx)) {
        Some(CommitRecord::Committed { .. }) => Some(true),
        Some(CommitRecord::Aborted) => Some(false),
        _ => None,
    }
}

/// Whether a participant's disk holds `tx` prepared with no outcome: in doubt.
pub fn in_doubt(storage: &sim_core::Storage<CommitRecord>, tx: TxId) -> bool {
    storage.get(&tx_key("prepared", tx)).is_some() && logged_outcome(storage, tx).is_none()
}

pub struct Shared {
    pub options: CommitOptions,
    pub names: Vec<String>,
}

impl Shared {
    pub const COORDINATOR: NodeId = 0;

    pub fn participants(&self) -> std::ops::Range<NodeId> {
        1..1 + self.options.participants
    }

    pub fn is_participant(&self, id: NodeId) -> bool {
        self.participants().contains(&id)
    }

    pub fn tx_name(&self, tx: TxId) -> String {
        format!("t{:x}.{}", tx >> 32, tx & 0xFFFF_FFFF)
    }
}

pub struct Commit {
    shared: Rc<Shared>,
}

impl Commit {
    pub fn node_names_of(o: &CommitOptions) -> Vec<String> {
        let mut names = vec!["coord".to_string()];
        names.extend((0..o.participants).map(|i| format!("p{i}")));
        names.extend((0..o.clients).map(|i| format!("c{i}")));
        names
    }

    pub fn new(options: CommitOptions) -> Self {
        let names = Self::node_names_of(&options);
        Commit {
            shared: Rc::new(Shared { options, names }),
        }
    }

    pub fn shared(&self) -> &Rc<Shared> {
        &self.shared
    }
}

sim_core::roles! {
    /// A node of the commit protocol: one of three roles.
    pub enum CommitNode {
        message: CommitMessage, observation: CommitObservation, record: CommitRecord, timer: u64,
        Coordinator(Coordinator), Participant(Participant), Client(Client),
    }
}

type Ctx<'a, 'b> = &'a mut Context<'b, CommitNode>;

pub const INVARIANTS: &[&str] = &["atomicity", "validity", "durability"];

impl ProtocolOptions for CommitOptions {
    const NAME: &'static str = "Commit";
    type Protocol = Commit;

    fn build(&self) -> Commit {
        Commit::new(self.clone())
    }

    fn node_names(&self) -> Vec<String> {
        Commit::node_names_of(self)
    }

    /// Fewer participants than a transaction spans is refused: shrinking participants
    /// shrinks transactions with them.
    fn smaller(&self) -> Vec<Vec<(String, Self)>> {
        vec![
            knob(self, "clients", self.clients, 1, |o, v| o.clients = v),
            knob(self, "participants", self.participants, 2, |o, v| {
                o.participants = v;
                o.tx_size = o.tx_size.min(v);
            }),
            knob(self, "tx_size", self.tx_size, 2, |o, v| o.tx_size = v),
            knob(self, "keys", self.keys, 1, |o, v| o.keys = v),
        ]
    }

    fn families(&self) -> Vec<Family<Self>> {
        vec![
            Family::of(self, "c", self.clients, 1, |o, n| o.clients = n),
            Family::of(self, "p", self.participants, 2, |o, n| {
                o.participants = n;
                o.tx_size = o.tx_size.min(n);
            }),
        ]
    }
}

impl Protocol for Commit {
    type Node = CommitNode;

    fn name(&self) -> &'static str {
        "commit"
    }

    fn node_names(&self) -> Vec<String> {
        self.shared.names.clone()
    }

    fn make_node(&self, id: NodeId) -> CommitNode {
        let shared = self.shared.clone();
        if id == Shared::COORDINATOR {
            CommitNode::Coordinator(Coordinator::new(shared))
        } else if shared.is_participant(id) {
            CommitNode::Participant(Participant::new(id, shared))
        } else {
            CommitNode::Client(Client::new(id, shared))
        }
    }

    fn invariant_names(&self) -> &'static [&'static str] {
        INVARIANTS
    }

    fn checker(&self, name: &str) -> Option<Box<dyn Checker<CommitNode>>> {
        let s = self.shared.clone();
        match name {
            "atomicity" => Some(Box::new(Atomicity::new(s))),
            "validity" => Some(Box::new(Validity::new(s))),
            "durability" => Some(Box::new(Durability::new(s))),
            _ => None,
        }
    }

    fn metrics(&self) -> Box<dyn Metrics<CommitNode>> {
        Box::new(metrics::CommitMetrics::new(self.shared.clone()))
    }
}
