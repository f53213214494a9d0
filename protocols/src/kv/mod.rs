//! A sharded key-value cluster: placement, stale routing, and data migration.
//!
//! Storage nodes (`s0`, `s1`, …) hold the keys a placement scheme assigns them; clients
//! (`c0`, …) put and get keys drawn from a distribution; a directory (`dir`, standing in
//! for a configuration service such as ZooKeeper or etcd) owns the membership. Every part
//! talks over the lossy network, and every node can crash, pause or be cut off.
//!
//! **Membership epochs.** The directory numbers memberships: epoch 1 is the initial one,
//! each scheduled join or leave makes the next. It starts one change at a time and only
//! when the previous one has settled (every member reported its migration done), as
//! production systems serialise rebalances. It announces an epoch with the members before
//! and after, retransmitting until each node acknowledges.
//!
//! **Ownership.** Every node computes the owner of each key from the membership alone,
//! with [`placement::assign`], so all who know epoch e agree on its owners. Clients
//! route with the epoch they know, which may be stale: a storage node that does not own
//! the key in its own epoch answers `WrongOwner` with its epoch, and the client refreshes
//! from the directory and retries.
//!
//! **Migration.** On a new epoch, a node sends the keys it no longer owns to their new
//! owners in batches, retrying until acknowledged, then deletes them, and tells each node
//! that gains keys from it `TransferDone` once everything owed is acknowledged. A gaining
//! node answers `NotReady` for a gained key until its previous owner is done, so a read
//! never sees a value older than the latest acknowledged write, and a transfer never
//! overwrites a newer write (versions only grow). Values, the epoch and "done" marks are
//! written to durable storage and synced before anything is acknowledged, so a crash
//! loses nothing that was acknowledged; a restarted node resumes its migration.
//!
//! **Invariants.** `no_lost_write`: reads return at least the latest write acknowledged
//! before they were issued, and once migration has settled each key's owner holds its
//! latest acknowledged value. `single_owner`: no two nodes accept writes for one key in
//! one epoch, and after settling each key is stored on its owner only.

mod client;
mod directory;
mod metrics;
pub mod no_lost_write;
pub mod single_owner;
mod storage_node;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Deserialize;

use self::{no_lost_write::NoLostWrite, single_owner::SingleOwner};
use placement::keys::{KeyDistribution, KeySampler};
use placement::{assign, HashFunction, Member, Scheme};
use sim_core::{Checker, Metrics};

use scenario::at_most;
use scenario::NodeName;
use scenario::ProtocolOptions;
use scenario::{knob, Family};
use sim_core::Context;
use sim_core::Duration;
use sim_core::Linearizable;
use sim_core::NodeId;
use sim_core::Probability;
use sim_core::Protocol;

pub use client::Client;
pub use directory::Directory;
pub use storage_node::StorageNode;

/// A membership change.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub enum Change {
    /// A spare storage node joins.
    Join(NodeName),
    /// A member leaves, handing its keys over first.
    Leave(NodeName),
}

/// A membership change at a time (on the directory's clock).
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimedChange {
    pub at: Duration,
    pub change: Change,
}

/// The `Kv(...)` section of a scenario.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, try_from = "KvSpec")]
pub struct KvOptions {
    /// Storage nodes that are members from the start: `s0` … `s{nodes-1}`.
    pub nodes: u32,
    /// Storage nodes that start outside the cluster, ready to join: the next names.
    pub spares: u32,
    pub clients: u32,
    /// Keys `0 .. keys`.
    pub keys: u32,
    pub scheme: Scheme,
    pub hash: HashFunction,
    pub distribution: KeyDistribution,
    /// Fraction of operations that are puts.
    pub write_ratio: f64,
    /// A client's pause between one operation's answer and its next operation.
    pub think_time: Duration,
    /// Resend a request (or a transfer, or an announcement) after this long unanswered.
    pub request_timeout: Duration,
    /// Wait this long before retrying after `WrongOwner` or `NotReady`.
    pub retry_backoff: Duration,
    /// Keys per transfer message.
    pub transfer_batch: u32,
    /// Width of the intervals of the load-over-time metric.
    pub load_interval: Duration,
    pub changes: Vec<TimedChange>,
    /// When a node that gains a key in a new epoch starts serving it.
    #[serde(default, skip_serializing_if = "Handover::is_fenced")]
    pub handover: Handover,
    /// Mistakes the literature warns about, planted on purpose (none by default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bugs: Vec<KvBug>,
}

/// When a storage node that gains a key in a new epoch starts serving it: a design choice
/// between availability during migrations and linearizability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum Handover {
    /// Only once the key's previous owner has handed over everything it owed (it answers
    /// `NotReady` until then): reads and writes stay linearizable through any migration.
    #[default]
    Fenced,
    /// At once, from what it has: no request waits for a migration, but a client that
    /// still routes to the previous owner reads a value the new owner has already
    /// overwritten, and a transfer that arrives late can replace a newer write. Not
    /// linearizable: `scenarios/kv-eager-handover.ron` shows it fail.
    Eager,
}

impl Handover {
    fn is_fenced(&self) -> bool {
        *self == Handover::Fenced
    }
}

/// A named mistake to plant in the key-value cluster, to watch a scenario meant to pass
/// catch it: `Kv(..., bugs: [AckBeforeSync])`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub enum KvBug {
    /// A node receiving migrated keys acknowledges the batch before syncing it: a crash
    /// right after loses keys their old owner has already deleted.
    AckBeforeSync,
    /// The directory starts the next membership change before the last one has settled.
    ChangeBeforeSettled,
}

impl KvOptions {
    /// Whether bug switch `bug` is on.
    pub fn bug(&self, bug: KvBug) -> bool {
        self.bugs.contains(&bug)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KvSpec {
    nodes: u32,
    #[serde(default)]
    spares: u32,
    #[serde(default = "default_clients")]
    clients: u32,
    keys: u32,
    scheme: Scheme,
    #[serde(default)]
    hash: HashFunction,
    #[serde(default)]
    distribution: KeyDistribution,
    #[serde(default = "default_write_ratio")]
    write_ratio: Probability,
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
    #[serde(default = "default_batch")]
    transfer_batch: u32,
    #[serde(
        default = "default_interval",
        deserialize_with = "scenario::positive_duration"
    )]
    load_interval: Duration,
    #[serde(default)]
    changes: Vec<TimedChange>,
    #[serde(default)]
    handover: Handover,
    #[serde(default)]
    bugs: Vec<KvBug>,
}

fn default_clients() -> u32 {
    4
}
fn default_write_ratio() -> Probability {
    Probability(0.5)
}
fn default_think() -> Duration {
    Duration::from_ms(1)
}
fn default_timeout() -> Duration {
    Duration::from_ms(50)
}
fn default_backoff() -> Duration {
    Duration::from_ms(10)
}
fn default_batch() -> u32 {
    64
}
fn default_interval() -> Duration {
    Duration::from_ms(500)
}

impl TryFrom<KvSpec> for KvOptions {
    type Error = String;
    fn try_from(s: KvSpec) -> Result<Self, String> {
        if s.nodes == 0 {
            return Err("a key-value cluster needs at least 1 storage node, got nodes: 0".into());
        }
        if s.clients == 0 {
            return Err("a key-value cluster needs at least 1 client, got clients: 0".into());
        }
        if s.keys == 0 {
            return Err("keys must be at least 1".into());
        }
        if s.transfer_batch == 0 {
            return Err("transfer_batch must be at least 1".into());
        }
        s.scheme.validate()?;
        s.distribution.validate()?;
        at_most(
            "nodes + spares:",
            u64::from(s.nodes) + u64::from(s.spares),
            10_000,
        )?;
        at_most("clients:", s.clients.into(), 100_000)?;
        at_most("keys:", s.keys.into(), 10_000_000)?;
        if let Scheme::Ring { vnodes } | Scheme::Bounded { vnodes, .. } = s.scheme {
            let points = (u64::from(s.nodes) + u64::from(s.spares)) * u64::from(vnodes);
            at_most("ring points (storage nodes × vnodes):", points, 10_000_000)?;
        }
        if s.load_interval.0 < sim_core::NS_PER_MS {
            return Err(format!(
                "load_interval ({}) must be at least 1ms: the load timeline keeps a sample \
                 per interval",
                s.load_interval
            ));
        }

        if let Scheme::Maglev { table_size } = s.scheme {
            if table_size <= s.nodes + s.spares {
                return Err(format!(
                    "the maglev table ({table_size}) must be larger than the storage nodes ({})",
                    s.nodes + s.spares
                ));
            }
        }
        // Play the changes through, so that a join of a member or a leave of a stranger
        // is reported here rather than ignored at run time.
        let mut members: Vec<String> = (0..s.nodes).map(|i| format!("s{i}")).collect();
        let storage: Vec<String> = (0..s.nodes + s.spares).map(|i| format!("s{i}")).collect();
        let mut changes = s.changes.clone();
        changes.sort_by_key(|c| c.at);
        for c in &changes {
            let (Change::Join(n) | Change::Leave(n)) = &c.change;
            if !storage.contains(&n.0) {
                return Err(format!(
                    "\"{}\" is not a storage node; only s0 … s{} can join or leave",
                    n.0,
                    storage.len() - 1
                ));
            }
            match &c.change {
                Change::Join(n) => {
                    if members.contains(&n.0) {
                        return Err(format!(
                            "join of \"{}\" at {}: it is already a member",
                            n.0, c.at
                        ));
                    }
                    members.push(n.0.clone());
                }
                Change::Leave(n) => {
                    if !members.contains(&n.0) {
                        return Err(format!(
                            "leave of \"{}\" at {}: it is not a member then",
                            n.0, c.at
                        ));
                    }
                    if members.len() == 1 {
                        return Err(format!(
                            "leave of \"{}\" at {}: the last member cannot leave",
                            n.0, c.at
                        ));
                    }
                    members.retain(|m| *m != n.0);
                }
            }
        }
        Ok(KvOptions {
            nodes: s.nodes,
            spares: s.spares,
            clients: s.clients,
            keys: s.keys,
            scheme: s.scheme,
            hash: s.hash,
            distribution: s.distribution,
            write_ratio: s.write_ratio.0,
            think_time: s.think_time,
            request_timeout: s.request_timeout,
            retry_backoff: s.retry_backoff,
            transfer_batch: s.transfer_batch,
            load_interval: s.load_interval,
            changes,
            handover: s.handover,
            bugs: s.bugs,
        })
    }
}

/// What nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvMessage {
    /// Directory to all: the membership of `epoch`, and of the epoch before it.
    NewEpoch {
        epoch: u64,
        members: Vec<NodeId>,
        prev_members: Vec<NodeId>,
    },
    EpochAck {
        epoch: u64,
    },
    /// Anyone to the directory: tell me the current epoch.
    GetEpoch,
    /// A member to the directory: everything I gain in `epoch` has arrived.
    MigrationDone {
        epoch: u64,
    },
    MigrationDoneAck {
        epoch: u64,
    },
    Put {
        req: u64,
        epoch: u64,
        key: u32,
        value: u64,
    },
    Get {
        req: u64,
        epoch: u64,
        key: u32,
    },
    PutOk {
        req: u64,
        version: u64,
    },
    GetOk {
        req: u64,
        version: u64,
        value: Option<u64>,
    },
    /// The key is not mine in my epoch (which is `epoch`).
    WrongOwner {
        req: u64,
        epoch: u64,
    },
    /// The key is mine but has not arrived from its previous owner yet.
    NotReady {
        req: u64,
    },
    /// Keys handed to their new owner: (key, version, value).
    Transfer {
        epoch: u64,
        entries: Vec<(u32, u64, u64)>,
    },
    TransferAck {
        epoch: u64,
        keys: Vec<u32>,
    },
    /// Everything I owe you for `epoch` has been acknowledged.
    TransferDone {
        epoch: u64,
    },
    TransferDoneAck {
        epoch: u64,
    },
}

/// What nodes report to checkers and metrics.
#[derive(Clone, Debug, PartialEq)]
pub enum KvObservation {
    /// A client sent a new operation.
    Issued { req: u64, key: u32, write: bool },
    /// A client's put was acknowledged.
    WriteAcked {
        req: u64,
        key: u32,
        version: u64,
        value: u64,
    },
    /// A client's get returned.
    ReadReturned {
        req: u64,
        key: u32,
        version: u64,
        value: Option<u64>,
    },
    /// A client resent, or was redirected or told to wait.
    Retried { redirected: bool, not_ready: bool },
    /// A storage node served a request for `key`.
    Served { key: u32 },
    /// A storage node accepted a write.
    WriteAccepted {
        key: u32,
        epoch: u64,
        version: u64,
        value: u64,
    },
    /// A storage node's transfer of `keys` keys was acknowledged.
    Moved { epoch: u64, keys: u32 },
    /// The directory started an epoch.
    EpochStarted {
        epoch: u64,
        members: u32,
        joined: bool,
    },
    /// Every member of the epoch finished migrating.
    EpochSettled { epoch: u64 },
}

/// What nodes keep on disk.
#[derive(Clone, Debug, PartialEq)]
pub enum KvRecord {
    Value {
        version: u64,
        value: u64,
    },
    Epoch {
        epoch: u64,
        members: Vec<NodeId>,
        prev_members: Vec<NodeId>,
    },
    /// `TransferDone` received from a previous owner, for an epoch.
    Done,
    Directory {
        epoch: u64,
        members: Vec<NodeId>,
        prev_members: Vec<NodeId>,
        applied: u32,
        settled: bool,
    },
}

pub(crate) const KEY_PREFIX: &str = "k/";

pub(crate) fn value_key(key: u32) -> String {
    format!("{KEY_PREFIX}{key}")
}

/// What every node of one cluster shares: the configuration and memoised placements.
pub struct Shared {
    pub options: KvOptions,
    pub names: Vec<String>,
    pub storage_nodes: u32,
    pub directory: NodeId,
    key_hashes: Vec<u64>,
    shares: Vec<f64>,
    pub sampler: KeySampler,
    /// Owner tables by membership: a pure function, computed once per membership.
    owners: RefCell<BTreeMap<Vec<NodeId>, Rc<Vec<NodeId>>>>,
}

impl Shared {
    pub fn is_storage(&self, id: NodeId) -> bool {
        id < self.storage_nodes
    }

    pub fn client_ids(&self) -> std::ops::Range<NodeId> {
        self.storage_nodes..self.storage_nodes + self.options.clients
    }

    pub fn initial_members(&self) -> Vec<NodeId> {
        (0..self.options.nodes).collect()
    }

    /// Owner (node id) of every key under `members`.
    pub fn owners(&self, members: &[NodeId]) -> Rc<Vec<NodeId>> {
        if let Some(t) = self.owners.borrow().get(members) {
            return t.clone();
        }
        let ms: Vec<Member> = members
            .iter()
            .map(|&m| Member::new(self.names[m as usize].clone()))
            .collect();
        let weights = matches!(self.options.distribution, KeyDistribution::Zipf(_))
            .then_some(self.shares.as_slice());
        let weights = if matches!(self.options.scheme, Scheme::Bounded { .. }) {
            weights
        } else {
            None
        };
        let table: Vec<NodeId> = assign(
            &self.options.scheme,
            &ms,
            self.options.hash,
            &self.key_hashes,
            weights,
        )
        .into_iter()
        .map(|i| members[i as usize])
        .collect();
        let table = Rc::new(table);
        self.owners
            .borrow_mut()
            .insert(members.to_vec(), table.clone());
        table
    }
}

impl ProtocolOptions for KvOptions {
    const NAME: &'static str = "Kv";
    type Protocol = Kv;

    fn build(&self) -> Kv {
        Kv::new(self.clone())
    }

    fn node_names(&self) -> Vec<String> {
        Kv::node_names_of(self)
    }

    fn smaller(&self) -> Vec<Vec<(String, Self)>> {
        vec![
            knob(self, "clients", self.clients, 1, |o, v| o.clients = v),
            knob(self, "spares", self.spares, 0, |o, v| o.spares = v),
            knob(self, "nodes", self.nodes, 1, |o, v| o.nodes = v),
            knob(self, "keys", self.keys, 1, |o, v| o.keys = v),
        ]
    }

    /// Clients only: joins and leaves name the storage nodes.
    fn families(&self) -> Vec<Family<Self>> {
        vec![Family::of(self, "c", self.clients, 1, |o, n| o.clients = n)]
    }
}

/// The protocol.
pub struct Kv {
    shared: Rc<Shared>,
}

impl Kv {
    /// The cluster's names without building it: storage, clients, then the directory.
    pub fn node_names_of(options: &KvOptions) -> Vec<String> {
        let mut names: Vec<String> = (0..options.nodes + options.spares)
            .map(|i| format!("s{i}"))
            .collect();
        names.extend((0..options.clients).map(|i| format!("c{i}")));
        names.push("dir".to_string());
        names
    }

    pub fn new(options: KvOptions) -> Self {
        let storage_nodes = options.nodes + options.spares;
        let names = Self::node_names_of(&options);
        let directory = names.len() as NodeId - 1;
        let key_hashes = (0..options.keys)
            .map(|k| options.hash.hash_str(&format!("key-{k}")))
            .collect();
        let shares = options.distribution.shares(options.keys as usize);
        let sampler = KeySampler::new(options.distribution, options.keys as usize);
        Kv {
            shared: Rc::new(Shared {
                options,
                names,
                storage_nodes,
                directory,
                key_hashes,
                shares,
                sampler,
                owners: RefCell::new(BTreeMap::new()),
            }),
        }
    }

    pub fn shared(&self) -> &Rc<Shared> {
        &self.shared
    }
}

sim_core::roles! {
    /// A node of the cluster: one of three roles.
    pub enum KvNode {
        message: KvMessage, observation: KvObservation, record: KvRecord, timer: u64,
        Storage(StorageNode), Client(Client), Directory(Directory),
    }
}

type Ctx<'a, 'b> = &'a mut Context<'b, KvNode>;

pub const INVARIANTS: &[&str] = &["no_lost_write", "single_owner", "linearizable"];

impl Protocol for Kv {
    type Node = KvNode;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn node_names(&self) -> Vec<String> {
        self.shared.names.clone()
    }

    fn make_node(&self, id: NodeId) -> KvNode {
        let shared = self.shared.clone();
        if shared.is_storage(id) {
            KvNode::Storage(StorageNode::new(id, shared))
        } else if id == shared.directory {
            KvNode::Directory(Directory::new(shared))
        } else {
            KvNode::Client(Client::new(id, shared))
        }
    }

    fn invariant_names(&self) -> &'static [&'static str] {
        INVARIANTS
    }

    fn checker(&self, name: &str) -> Option<Box<dyn Checker<KvNode>>> {
        match name {
            "no_lost_write" => Some(Box::new(NoLostWrite::new(self.shared.clone()))),
            "single_owner" => Some(Box::new(SingleOwner::new(self.shared.clone()))),
            // The clients' reads and writes, key by key, against a key-value store.
            "linearizable" => Some(Box::new(Linearizable::new(linearizability::Kv))),
            _ => None,
        }
    }

    fn metrics(&self) -> Box<dyn Metrics<KvNode>> {
        Box::new(metrics::KvMetrics::new(self.shared.clone()))
    }
}

/// The directory's view at the end of a run, for checkers: (epoch, members, settled).
pub fn final_membership(
    cluster: &dyn sim_core::ClusterView<KvNode>,
    shared: &Shared,
) -> Option<(u64, Vec<NodeId>, bool)> {
    // Read from the directory's disk, so a directory that is down still answers.
    match cluster.storage(shared.directory).get(directory::RECORD) {
        Some(KvRecord::Directory {
            epoch,
            members,
            settled,
            ..
        }) => Some((*epoch, members.clone(), *settled)),
        _ => match cluster.node(shared.directory) {
            Some(KvNode::Directory(d)) => Some(d.view()),
            _ => None,
        },
    }
}

/// The values a storage node holds on disk: key → (version, value).
pub fn stored_values(
    cluster: &dyn sim_core::ClusterView<KvNode>,
    node: NodeId,
) -> BTreeMap<u32, (u64, u64)> {
    cluster
        .storage(node)
        .entries()
        .filter_map(|(k, r)| match (k.strip_prefix(KEY_PREFIX), r) {
            (Some(key), KvRecord::Value { version, value }) => {
                Some((key.parse().ok()?, (*version, *value)))
            }
            _ => None,
        })
        .collect()
}
