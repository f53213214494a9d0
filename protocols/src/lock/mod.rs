//! A distributed lock service, five ways, and a resource that tells whether it worked.
//!
//! Clients take turns holding named locks; while holding one, a client increments the
//! lock's counter on a shared resource (`store`) `writes_per_hold` times, each by a read,
//! some work (`work_time`), and a write. The resource records every write it accepts with
//! the holder and token it came from, which is where mutual exclusion matters: a lock is
//! only as good as what it protects.
//!
//! Variants, and the model each assumes:
//! - `Naive` — the seed article's lock: one server (`lock0`), grant and release, no lease,
//!   state in memory. Safe while everyone lives; a holder that crashes keeps the lock
//!   forever (the `liveness` checker reports it).
//! - `Lease` — the server grants a lease of `ttl` on its own clock and frees the lock when
//!   it runs out. The client checks its lease (on its own clock) before each increment, but
//!   a client frozen between its read and its write (a GC pause, a stopped VM) wakes with a
//!   stale belief and writes anyway: mutual exclusion breaks at the resource. The resource
//!   accepts anything.
//! - `Fencing` — leases plus a token that grows with every grant (kept on disk, synced, so
//!   a restarted server never reuses one). Every read and write carries the token; the
//!   resource remembers the highest it has seen and rejects older ones (Kleppmann, "How to
//!   do distributed locking", 2016). Safe under pauses, delays, partitions, crashes and
//!   clock jumps, because safety no longer depends on time.
//! - `Quorum` — Redlock: `servers` independent lease servers; a client asks all of them
//!   and holds the lock if a majority granted within the validity time (ttl − time spent
//!   acquiring − `drift_allowance` × ttl). Its safety rests on clocks advancing at the same
//!   rate and on servers keeping their state across restarts (`persist`): a clock that jumps
//!   or runs fast on one server, or a server that restarts empty, lets a second client
//!   gather a majority while the first still holds the lock.
//! - `Optimistic` — the seed article's optimistic lock: no lock at all, a version number
//!   checked at the resource (compare-and-set). A conflicting write is rejected and the
//!   client re-reads and retries; no update is lost.

mod client;
pub mod liveness;
mod metrics;
pub mod mutual_exclusion;
pub mod no_lost_update;
mod resource;
mod server;

use std::rc::Rc;

use serde::Deserialize;

use crate::lock::liveness::Liveness;
use crate::lock::mutual_exclusion::MutualExclusion;
use crate::lock::no_lost_update::NoLostUpdate;
use linearizability::Kv;
use scenario::at_most;
use scenario::ProtocolOptions;
use scenario::{knob, Family};
use sim_core::Context;
use sim_core::Duration;
use sim_core::Linearizable;
use sim_core::NodeId;
use sim_core::Protocol;
use sim_core::{Checker, Metrics};

pub use client::Client;
pub use resource::Resource;
pub use server::LockServer;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub enum Variant {
    Naive,
    Lease,
    Fencing,
    Quorum,
    Optimistic,
}

impl LockOptions {
    /// Whether bug switch `bug` is on.
    pub fn bug(&self, bug: LockBug) -> bool {
        self.bugs.contains(&bug)
    }
}

impl Variant {
    pub fn leased(self) -> bool {
        matches!(self, Variant::Lease | Variant::Fencing | Variant::Quorum)
    }
}

/// The `Lock(...)` section of a scenario.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, try_from = "LockSpec")]
pub struct LockOptions {
    pub variant: Variant,
    /// Lock servers: 1, or several for `Quorum`.
    pub servers: u32,
    pub clients: u32,
    /// Named locks `lock-0` …; each holding picks one at random.
    pub locks: u32,
    /// Lease length, on the server's clock.
    pub ttl: Duration,
    /// Time between a read and the write that follows it (the client computes).
    pub work_time: Duration,
    /// Increments per holding.
    pub writes_per_hold: u32,
    /// Pause between releasing a lock and asking for the next.
    pub think_time: Duration,
    pub request_timeout: Duration,
    pub retry_backoff: Duration,
    /// `Quorum`: fraction of the ttl set aside for clock drift.
    pub drift_allowance: f64,
    /// Servers keep lock state and tokens on disk (synced) across restarts.
    pub persist: bool,
    /// `liveness`: longest a lock may stay held by a crashed client.
    pub max_unavailable: Duration,
    /// Mistakes the literature warns about, planted on purpose (none by default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bugs: Vec<LockBug>,
}

/// A named mistake to plant in the lock service, to watch a scenario meant to pass catch
/// it: `Lock(..., bugs: [WrongMajority])`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub enum LockBug {
    /// A quorum client counts half the servers as a majority (`n/2` grants, not `n/2+1`),
    /// so two clients can each gather "a majority".
    WrongMajority,
    /// A lock server lets a lease run out at half its ttl, while its holder still counts
    /// on all of it.
    EarlyLeaseExpiry,
    /// The fencing check is off by one: the store accepts a token one below the highest it
    /// has seen, so the holder just before the current one can still write.
    FencingOffByOne,
    /// A lock server keeps its holders on disk but not its token counter: after a restart
    /// it hands out tokens it has handed out before.
    TokenNotPersisted,
    /// A quorum client's validity time forgets the time spent acquiring: it counts the
    /// whole ttl from when the majority answered, not from when it asked.
    ValidityIgnoresAcquisition,
    /// The store keeps one idempotency key per counter (the last write applied, of any
    /// client) rather than one per client: a resent write that another client's write has
    /// overtaken is answered `WriteRejected` though it took effect, and its client does
    /// its increment again.
    SharedIdempotencyKey,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockSpec {
    variant: Variant,
    #[serde(default)]
    servers: Option<u32>,
    #[serde(default = "two")]
    clients: u32,
    #[serde(default = "one")]
    locks: u32,
    #[serde(
        default = "default_ttl",
        deserialize_with = "scenario::positive_duration"
    )]
    ttl: Duration,
    #[serde(default = "default_work")]
    work_time: Duration,
    #[serde(default = "three")]
    writes_per_hold: u32,
    #[serde(default = "default_think")]
    think_time: Duration,
    #[serde(
        default = "default_timeout",
        deserialize_with = "scenario::positive_duration"
    )]
    request_timeout: Duration,
    #[serde(
        default = "default_backoff",
        deserialize_with = "scenario::positive_duration"
    )]
    retry_backoff: Duration,
    #[serde(default = "default_drift")]
    drift_allowance: sim_core::Probability,
    #[serde(default)]
    persist: Option<bool>,
    #[serde(
        default = "default_unavailable",
        deserialize_with = "scenario::positive_duration"
    )]
    max_unavailable: Duration,
    #[serde(default)]
    bugs: Vec<LockBug>,
}

fn one() -> u32 {
    1
}
fn two() -> u32 {
    2
}
fn three() -> u32 {
    3
}
fn default_ttl() -> Duration {
    Duration::from_secs(1)
}
fn default_work() -> Duration {
    Duration::from_ms(50)
}
fn default_think() -> Duration {
    Duration::from_ms(20)
}
fn default_timeout() -> Duration {
    Duration::from_ms(50)
}
fn default_backoff() -> Duration {
    Duration::from_ms(20)
}
fn default_drift() -> sim_core::Probability {
    sim_core::Probability(0.01)
}
fn default_unavailable() -> Duration {
    Duration::from_secs(5)
}

impl TryFrom<LockSpec> for LockOptions {
    type Error = String;
    fn try_from(s: LockSpec) -> Result<Self, String> {
        let servers = s
            .servers
            .unwrap_or(if s.variant == Variant::Quorum { 5 } else { 1 });
        at_most("servers:", servers.into(), 1_000)?;
        at_most("clients:", s.clients.into(), 100_000)?;
        at_most("locks:", s.locks.into(), 1_000_000)?;
        match s.variant {
            Variant::Quorum if servers < 3 => {
                return Err(format!(
                    "a quorum lock needs at least 3 servers, got servers: {servers}"
                ))
            }
            Variant::Quorum => {}
            _ if servers != 1 => {
                return Err(format!(
                "the {:?} lock has one server; only Quorum uses several (got servers: {servers})",
                s.variant
            ))
            }
            _ => {}
        }
        if s.clients == 0 || s.locks == 0 || s.writes_per_hold == 0 {
            return Err("clients, locks and writes_per_hold must each be at least 1".into());
        }
        Ok(LockOptions {
            variant: s.variant,
            servers,
            clients: s.clients,
            locks: s.locks,
            ttl: s.ttl,
            work_time: s.work_time,
            writes_per_hold: s.writes_per_hold,
            think_time: s.think_time,
            request_timeout: s.request_timeout,
            retry_backoff: s.retry_backoff,
            drift_allowance: s.drift_allowance.0,
            // Fencing tokens must never repeat, so fencing servers keep them on disk.
            persist: s.persist.unwrap_or(s.variant == Variant::Fencing),
            max_unavailable: s.max_unavailable,
            bugs: s.bugs,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LockMessage {
    Acquire {
        lock: u32,
        req: u64,
    },
    Granted {
        lock: u32,
        req: u64,
        token: u64,
    },
    Busy {
        lock: u32,
        req: u64,
    },
    Release {
        lock: u32,
        token: u64,
    },
    ReleaseAck {
        lock: u32,
        token: u64,
    },
    /// Read a lock's counter; `token` is the fencing token (0 when there is none).
    Read {
        lock: u32,
        req: u64,
        token: u64,
    },
    ReadOk {
        req: u64,
        value: u64,
        version: u64,
    },
    /// Write a counter. `hold` names the client's holding (for the checkers only);
    /// `expected_version` is the optimistic variant's compare-and-set.
    Write {
        lock: u32,
        req: u64,
        token: u64,
        hold: u64,
        value: u64,
        expected_version: Option<u64>,
    },
    WriteOk {
        req: u64,
    },
    WriteRejected {
        req: u64,
        stale_token: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum LockObservation {
    /// A client began asking for a lock.
    Asking { lock: u32, hold: u64 },
    /// A client believes it holds `lock` (its `hold`-th holding) under `token`.
    Acquired { lock: u32, hold: u64, token: u64 },
    /// A client released, or saw its lease run out before it was done.
    Let { lock: u32, hold: u64, expired: bool },
    /// A server granted a lock.
    Granted {
        lock: u32,
        client: NodeId,
        token: u64,
    },
    /// A server freed a lock (release or expiry).
    Freed {
        lock: u32,
        client: NodeId,
        expired: bool,
    },
    /// The resource accepted a write: the counter went from `prev` to `value`.
    WriteAccepted {
        lock: u32,
        client: NodeId,
        hold: u64,
        token: u64,
        prev: u64,
        value: u64,
    },
    WriteRejected {
        lock: u32,
        client: NodeId,
        stale_token: bool,
    },
    /// The resource served a read of `lock`'s counter to `client`, holding under `token`.
    ReadServed {
        lock: u32,
        client: NodeId,
        token: u64,
    },
    /// A client's increment was acknowledged.
    Incremented { lock: u32 },
}

#[derive(Clone, Debug, PartialEq)]
pub enum LockRecord {
    /// A server's next token.
    NextToken(u64),
    /// A server's holder of a lock: (client, token, lease end on its clock).
    Holder {
        client: NodeId,
        token: u64,
        until_ns: Option<u64>,
    },
    /// The resource's counter of a lock, with each client's last write applied (its request).
    Counter {
        value: u64,
        version: u64,
        max_token: u64,
        last_write: std::collections::BTreeMap<NodeId, u64>,
    },
}

/// What the nodes of one cluster share.
pub struct Shared {
    pub options: LockOptions,
    pub names: Vec<String>,
    pub resource: NodeId,
}

impl Shared {
    pub fn servers(&self) -> std::ops::Range<NodeId> {
        0..self.options.servers
    }
    pub fn is_client(&self, id: NodeId) -> bool {
        id >= self.options.servers && id < self.resource
    }
}

pub struct Lock {
    shared: Rc<Shared>,
}

impl Lock {
    pub fn node_names_of(o: &LockOptions) -> Vec<String> {
        let mut names: Vec<String> = (0..o.servers).map(|i| format!("lock{i}")).collect();
        names.extend((0..o.clients).map(|i| format!("c{i}")));
        names.push("store".into());
        names
    }

    pub fn new(options: LockOptions) -> Self {
        let names = Self::node_names_of(&options);
        let resource = names.len() as NodeId - 1;
        Lock {
            shared: Rc::new(Shared {
                options,
                names,
                resource,
            }),
        }
    }

    pub fn shared(&self) -> &Rc<Shared> {
        &self.shared
    }
}

sim_core::roles! {
    /// A node of the lock service: one of three roles.
    pub enum LockNode {
        message: LockMessage, observation: LockObservation, record: LockRecord, timer: u64,
        Server(LockServer), Client(Client), Resource(Resource),
    }
}

type Ctx<'a, 'b> = &'a mut Context<'b, LockNode>;

pub const INVARIANTS: &[&str] = &[
    "mutual_exclusion",
    "no_lost_update",
    "liveness",
    "linearizable",
];

impl ProtocolOptions for LockOptions {
    const NAME: &'static str = "Lock";
    type Protocol = Lock;

    fn build(&self) -> Lock {
        Lock::new(self.clone())
    }

    fn node_names(&self) -> Vec<String> {
        Lock::node_names_of(self)
    }

    fn smaller(&self) -> Vec<Vec<(String, Self)>> {
        let min_servers = if self.variant == Variant::Quorum {
            3
        } else {
            1
        };
        vec![
            knob(self, "clients", self.clients, 1, |o, v| o.clients = v),
            knob(self, "servers", self.servers, min_servers, |o, v| {
                o.servers = v
            }),
            knob(self, "locks", self.locks, 1, |o, v| o.locks = v),
            knob(self, "writes_per_hold", self.writes_per_hold, 1, |o, v| {
                o.writes_per_hold = v
            }),
        ]
    }

    /// Clients, and the servers of a quorum lock.
    fn families(&self) -> Vec<Family<Self>> {
        let clients = Family::of(self, "c", self.clients, 1, |o, n| o.clients = n);
        if self.variant != Variant::Quorum {
            return vec![clients];
        }
        let servers = Family::of(self, "lock", self.servers, 3, |o, n| o.servers = n);
        vec![clients, servers]
    }
}

impl Protocol for Lock {
    type Node = LockNode;

    fn name(&self) -> &'static str {
        "lock"
    }

    fn node_names(&self) -> Vec<String> {
        self.shared.names.clone()
    }

    fn make_node(&self, id: NodeId) -> LockNode {
        let shared = self.shared.clone();
        if id == shared.resource {
            LockNode::Resource(Resource::new(shared))
        } else if shared.is_client(id) {
            LockNode::Client(Client::new(shared))
        } else {
            LockNode::Server(LockServer::new(shared))
        }
    }

    fn invariant_names(&self) -> &'static [&'static str] {
        INVARIANTS
    }

    fn checker(&self, name: &str) -> Option<Box<dyn Checker<LockNode>>> {
        let s = self.shared.clone();
        match name {
            "mutual_exclusion" => Some(Box::new(MutualExclusion::new(s))),
            "no_lost_update" => Some(Box::new(NoLostUpdate::new(s))),
            "liveness" => Some(Box::new(Liveness::new(s))),
            // The store's counters as the clients saw them, lock by lock: a key-value store.
            "linearizable" => Some(Box::new(Linearizable::new(Kv))),
            _ => None,
        }
    }

    fn metrics(&self) -> Box<dyn Metrics<LockNode>> {
        Box::new(metrics::LockMetrics::new(self.shared.clone()))
    }
}
