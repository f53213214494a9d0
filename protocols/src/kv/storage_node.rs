//! A storage node: serves the keys it owns and migrates keys when membership changes.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::{
    value_key, Ctx, Handover, KvBug, KvMessage, KvObservation, KvRecord, Shared, KEY_PREFIX,
};
use sim_core::NodeId;

const EPOCH_RECORD: &str = "epoch";
const RETRANSMIT: u64 = 1;

fn done_key(epoch: u64, from: NodeId) -> String {
    format!("done/{epoch}/{from}")
}

pub struct StorageNode {
    me: NodeId,
    shared: Rc<Shared>,
    epoch: u64,
    members: Vec<NodeId>,
    owners: Rc<Vec<NodeId>>,
    prev_owners: Rc<Vec<NodeId>>,
    /// key → (version, value); mirrors what is on disk.
    data: BTreeMap<u32, (u64, u64)>,
    /// Keys sent to their new owner and not yet acknowledged, by destination.
    outgoing: BTreeMap<NodeId, BTreeSet<u32>>,
    /// Nodes that gain keys from me in this epoch (they wait for my `TransferDone`).
    gainers: BTreeSet<NodeId>,
    /// Gainers that acknowledged my `TransferDone`.
    done_acked: BTreeSet<NodeId>,
    /// Previous owners whose `TransferDone` I still wait for.
    waiting_for: BTreeSet<NodeId>,
    /// The directory acknowledged my `MigrationDone` for this epoch.
    reported: bool,
    /// The last final answer to each client, to answer a resent request the same way.
    last_reply: BTreeMap<NodeId, (u64, KvMessage)>,
    timer_armed: bool,
}

impl StorageNode {
    pub fn new(me: NodeId, shared: Rc<Shared>) -> Self {
        let members = shared.initial_members();
        let owners = shared.owners(&members);
        StorageNode {
            me,
            epoch: 1,
            members,
            prev_owners: owners.clone(),
            owners,
            shared,
            data: BTreeMap::new(),
            outgoing: BTreeMap::new(),
            gainers: BTreeSet::new(),
            done_acked: BTreeSet::new(),
            waiting_for: BTreeSet::new(),
            reported: true,
            last_reply: BTreeMap::new(),
            timer_armed: false,
        }
    }

    fn is_member(&self) -> bool {
        self.members.contains(&self.me)
    }

    pub fn on_start(&mut self, ctx: Ctx) {
        let (members, prev) = (self.members.clone(), self.members.clone());
        self.persist_epoch(ctx, &members, &prev);
    }

    /// Rebuilds from disk: the values, the epoch, and which previous owners were done.
    pub fn on_restart(&mut self, ctx: Ctx) {
        self.data = ctx
            .storage()
            .entries()
            .filter_map(|(k, r)| match (k.strip_prefix(KEY_PREFIX), r) {
                (Some(key), KvRecord::Value { version, value }) => {
                    Some((key.parse().ok()?, (*version, *value)))
                }
                _ => None,
            })
            .collect();
        match ctx.storage().get(EPOCH_RECORD).cloned() {
            Some(KvRecord::Epoch {
                epoch,
                members,
                prev_members,
            }) => self.adopt(ctx, epoch, members, prev_members, false),
            _ => self.on_start(ctx),
        }
        // The cluster may have moved on while this node was down.
        ctx.send(self.shared.directory, KvMessage::GetEpoch);
    }

    fn persist_epoch(&self, ctx: Ctx, members: &[NodeId], prev: &[NodeId]) {
        let record = KvRecord::Epoch {
            epoch: self.epoch,
            members: members.to_vec(),
            prev_members: prev.to_vec(),
        };
        ctx.storage().put(EPOCH_RECORD, record);
        ctx.storage().sync();
    }

    /// Enters `epoch`: works out what to send, to whom, and whom to wait for.
    fn adopt(
        &mut self,
        ctx: Ctx,
        epoch: u64,
        members: Vec<NodeId>,
        prev: Vec<NodeId>,
        persist: bool,
    ) {
        self.epoch = epoch;
        self.owners = self.shared.owners(&members);
        self.prev_owners = self.shared.owners(&prev);
        self.members = members;
        if persist {
            let members = self.members.clone();
            self.persist_epoch(ctx, &members, &prev);
        }
        let me = self.me;
        self.outgoing.clear();
        for &key in self.data.keys() {
            let owner = self.owners[key as usize];
            if owner != me {
                self.outgoing.entry(owner).or_default().insert(key);
            }
        }
        self.gainers.clear();
        self.waiting_for.clear();
        for (&now, &before) in self.owners.iter().zip(self.prev_owners.iter()) {
            if before == me && now != me {
                self.gainers.insert(now);
            }
            if now == me && before != me {
                self.waiting_for.insert(before);
            }
        }
        let done: Vec<NodeId> = self
            .waiting_for
            .iter()
            .copied()
            .filter(|&p| ctx.storage().get(&done_key(epoch, p)).is_some())
            .collect();
        done.iter().for_each(|p| {
            self.waiting_for.remove(p);
        });
        self.done_acked.clear();
        self.reported = false;
        self.send_pending(ctx);
    }

    /// Sends whatever is owed and unacknowledged; keeps a retransmit timer while anything is.
    fn send_pending(&mut self, ctx: Ctx) {
        let batch = self.shared.options.transfer_batch as usize;
        for (&dest, keys) in &self.outgoing {
            let entries: Vec<(u32, u64, u64)> = keys
                .iter()
                .map(|&k| (k, self.data[&k].0, self.data[&k].1))
                .collect();
            for chunk in entries.chunks(batch) {
                ctx.send(
                    dest,
                    KvMessage::Transfer {
                        epoch: self.epoch,
                        entries: chunk.to_vec(),
                    },
                );
            }
        }
        for &g in &self.gainers {
            if !self.done_acked.contains(&g) && self.outgoing.get(&g).is_none_or(|k| k.is_empty()) {
                ctx.send(g, KvMessage::TransferDone { epoch: self.epoch });
            }
        }
        let report = self.is_member() && self.waiting_for.is_empty() && !self.reported;
        if report {
            ctx.send(
                self.shared.directory,
                KvMessage::MigrationDone { epoch: self.epoch },
            );
        }
        let pending =
            !self.outgoing.is_empty() || self.gainers.len() > self.done_acked.len() || report;
        if pending && !self.timer_armed {
            self.timer_armed = true;
            ctx.set_timer(self.shared.options.request_timeout.0, RETRANSMIT);
        }
    }

    /// Whether `key` (owned here) has arrived from its previous owner.
    fn ready(&self, key: u32) -> bool {
        let before = self.prev_owners[key as usize];
        before == self.me || !self.waiting_for.contains(&before)
    }

    pub fn on_timer(&mut self, ctx: Ctx, tag: u64) {
        if tag == RETRANSMIT {
            self.timer_armed = false;
            self.send_pending(ctx);
        }
    }

    pub fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: KvMessage) {
        match msg {
            KvMessage::NewEpoch {
                epoch,
                members,
                prev_members,
            } => {
                ctx.send(from, KvMessage::EpochAck { epoch });
                if epoch > self.epoch {
                    self.adopt(ctx, epoch, members, prev_members, true);
                } else if epoch == self.epoch && self.is_member() && self.waiting_for.is_empty() {
                    // The directory asks again (it restarted): report again.
                    self.reported = false;
                    self.send_pending(ctx);
                }
            }
            KvMessage::MigrationDoneAck { epoch } if epoch == self.epoch => self.reported = true,
            KvMessage::Put {
                req, epoch, key, ..
            }
            | KvMessage::Get { req, epoch, key } => {
                if let Some((r, reply)) = self.last_reply.get(&from) {
                    if *r == req {
                        ctx.send(from, reply.clone());
                        return;
                    }
                }
                let reply = if epoch > self.epoch {
                    ctx.send(self.shared.directory, KvMessage::GetEpoch);
                    KvMessage::WrongOwner {
                        req,
                        epoch: self.epoch,
                    }
                } else if self.owners[key as usize] != self.me {
                    KvMessage::WrongOwner {
                        req,
                        epoch: self.epoch,
                    }
                } else if !self.ready(key) && self.shared.options.handover == Handover::Fenced {
                    KvMessage::NotReady { req }
                } else {
                    let reply = self.serve(ctx, msg);
                    self.last_reply.insert(from, (req, reply.clone()));
                    reply
                };
                ctx.send(from, reply);
            }
            KvMessage::Transfer { epoch, entries } => {
                if epoch > self.epoch {
                    ctx.send(self.shared.directory, KvMessage::GetEpoch);
                    return;
                }
                let mut keys = Vec::with_capacity(entries.len());
                for (key, version, value) in entries {
                    keys.push(key);
                    // A late duplicate from an epoch already finished is acknowledged, not
                    // applied: this node received it then, and may have handed it on since.
                    let mine = self.owners[key as usize] == self.me;
                    let newer = self.data.get(&key).is_none_or(|(v, _)| version > *v);
                    if epoch == self.epoch && mine && newer {
                        self.data.insert(key, (version, value));
                        ctx.storage()
                            .put(value_key(key), KvRecord::Value { version, value });
                    }
                }
                if !self.shared.options.bug(KvBug::AckBeforeSync) {
                    ctx.storage().sync();
                }
                ctx.send(from, KvMessage::TransferAck { epoch, keys });
            }
            KvMessage::TransferAck { epoch, keys } if epoch == self.epoch => {
                let Some(pending) = self.outgoing.get_mut(&from) else {
                    return;
                };
                let mut moved = 0;
                for key in keys {
                    if pending.remove(&key) {
                        self.data.remove(&key);
                        ctx.storage().remove(&value_key(key));
                        moved += 1;
                    }
                }
                if moved > 0 {
                    // Make the hand-off durable, so a restart does not bring back a copy.
                    ctx.storage().sync();
                    ctx.observe(KvObservation::Moved { epoch, keys: moved });
                }
                if pending.is_empty() {
                    self.outgoing.remove(&from);
                    if self.gainers.contains(&from) {
                        ctx.send(from, KvMessage::TransferDone { epoch });
                    }
                }
            }
            KvMessage::TransferDone { epoch } => {
                if epoch > self.epoch {
                    ctx.send(self.shared.directory, KvMessage::GetEpoch);
                    return;
                }
                ctx.send(from, KvMessage::TransferDoneAck { epoch });
                if epoch == self.epoch && self.waiting_for.remove(&from) {
                    ctx.storage().put(done_key(epoch, from), KvRecord::Done);
                    ctx.storage().sync();
                    if self.waiting_for.is_empty() {
                        self.send_pending(ctx);
                    }
                }
            }
            KvMessage::TransferDoneAck { epoch } if epoch == self.epoch => {
                self.done_acked.insert(from);
            }
            _ => {}
        }
    }

    /// Applies a put or answers a get for an owned, ready key.
    fn serve(&mut self, ctx: Ctx, msg: KvMessage) -> KvMessage {
        match msg {
            KvMessage::Put {
                req, key, value, ..
            } => {
                ctx.observe(KvObservation::Served { key });
                let version = self.data.get(&key).map_or(0, |(v, _)| *v) + 1;
                self.data.insert(key, (version, value));
                ctx.storage()
                    .put(value_key(key), KvRecord::Value { version, value });
                // Durable before acknowledged.
                ctx.storage().sync();
                ctx.observe(KvObservation::WriteAccepted {
                    key,
                    epoch: self.epoch,
                    version,
                    value,
                });
                KvMessage::PutOk { req, version }
            }
            KvMessage::Get { req, key, .. } => {
                ctx.observe(KvObservation::Served { key });
                let (version, value) = match self.data.get(&key) {
                    Some(&(v, x)) => (v, Some(x)),
                    None => (0, None),
                };
                KvMessage::GetOk {
                    req,
                    version,
                    value,
                }
            }
            other => unreachable!("serve is only called with requests, not {other:?}"),
        }
    }
}
