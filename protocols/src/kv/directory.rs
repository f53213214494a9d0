//! The directory: owns the membership and runs one rebalance at a time.

use std::collections::BTreeSet;
use std::rc::Rc;

use super::{Change, Ctx, KvBug, KvMessage, KvObservation, KvRecord, Shared};
use sim_core::NodeId;

/// The directory's record on disk.
pub const RECORD: &str = "directory";
const RETRANSMIT: u64 = u64::MAX;

pub struct Directory {
    shared: Rc<Shared>,
    epoch: u64,
    members: Vec<NodeId>,
    prev_members: Vec<NodeId>,
    /// Changes applied so far (an index into the sorted change list).
    applied: u32,
    /// Changes whose time has come.
    due: u32,
    settled: bool,
    acked: BTreeSet<NodeId>,
    done: BTreeSet<NodeId>,
    timer_armed: bool,
}

impl Directory {
    pub fn new(shared: Rc<Shared>) -> Self {
        let members = shared.initial_members();
        Directory {
            shared,
            epoch: 1,
            prev_members: members.clone(),
            members,
            applied: 0,
            due: 0,
            settled: true,
            acked: BTreeSet::new(),
            done: BTreeSet::new(),
            timer_armed: false,
        }
    }

    /// (epoch, members, settled)
    pub fn view(&self) -> (u64, Vec<NodeId>, bool) {
        (self.epoch, self.members.clone(), self.settled)
    }

    pub fn on_start(&mut self, ctx: Ctx) {
        self.persist(ctx);
        self.schedule_changes(ctx);
    }

    pub fn on_restart(&mut self, ctx: Ctx) {
        match ctx.storage().get(RECORD).cloned() {
            Some(KvRecord::Directory {
                epoch,
                members,
                prev_members,
                applied,
                settled,
            }) => {
                self.epoch = epoch;
                self.members = members;
                self.prev_members = prev_members;
                self.applied = applied;
                self.due = applied;
                self.settled = settled;
                self.schedule_changes(ctx);
                if !self.settled {
                    // Acks and done reports were volatile: ask everyone again.
                    self.announce(ctx);
                }
            }
            _ => self.on_start(ctx),
        }
    }

    /// Timers for the changes not yet due, on this node's clock.
    fn schedule_changes(&mut self, ctx: Ctx) {
        let now = ctx.now();
        for (i, c) in self
            .shared
            .options
            .changes
            .iter()
            .enumerate()
            .skip(self.due as usize)
        {
            ctx.set_timer(c.at.0.saturating_sub(now), i as u64);
        }
    }

    fn persist(&self, ctx: Ctx) {
        ctx.storage().put(
            RECORD,
            KvRecord::Directory {
                epoch: self.epoch,
                members: self.members.clone(),
                prev_members: self.prev_members.clone(),
                applied: self.applied,
                settled: self.settled,
            },
        );
        ctx.storage().sync();
    }

    /// Starts the next due change, if the last one has settled.
    fn start_next(&mut self, ctx: Ctx) {
        let wait = !self.settled && !self.shared.options.bug(KvBug::ChangeBeforeSettled);
        if wait || self.applied >= self.due {
            return;
        }
        let change = self.shared.options.changes[self.applied as usize]
            .change
            .clone();
        let id = |name: &str| {
            self.shared
                .names
                .iter()
                .position(|n| n == name)
                .expect("checked") as NodeId
        };
        let mut next = self.members.clone();
        let joined = match &change {
            Change::Join(n) => {
                next.push(id(&n.0));
                true
            }
            Change::Leave(n) => {
                let gone = id(&n.0);
                next.retain(|&m| m != gone);
                false
            }
        };
        self.prev_members = std::mem::replace(&mut self.members, next);
        self.epoch += 1;
        self.applied += 1;
        self.settled = false;
        self.acked.clear();
        self.done.clear();
        self.persist(ctx);
        ctx.observe(KvObservation::EpochStarted {
            epoch: self.epoch,
            members: self.members.len() as u32,
            joined,
        });
        self.announce(ctx);
    }

    fn new_epoch(&self) -> KvMessage {
        KvMessage::NewEpoch {
            epoch: self.epoch,
            members: self.members.clone(),
            prev_members: self.prev_members.clone(),
        }
    }

    /// Sends the epoch to every storage node and client that has not acknowledged it.
    fn announce(&mut self, ctx: Ctx) {
        let everyone = (0..self.shared.storage_nodes).chain(self.shared.client_ids());
        for n in everyone {
            if !self.acked.contains(&n) {
                ctx.send(n, self.new_epoch());
            }
        }
        if !self.timer_armed {
            self.timer_armed = true;
            ctx.set_timer(self.shared.options.request_timeout.0, RETRANSMIT);
        }
    }

    pub fn on_timer(&mut self, ctx: Ctx, tag: u64) {
        if tag == RETRANSMIT {
            self.timer_armed = false;
            let everyone = self.shared.storage_nodes + self.shared.options.clients;
            if !self.settled || (self.acked.len() as u32) < everyone {
                self.announce(ctx);
            }
            return;
        }
        self.due = self.due.max(tag as u32 + 1);
        self.start_next(ctx);
    }

    pub fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: KvMessage) {
        match msg {
            KvMessage::EpochAck { epoch } if epoch == self.epoch => {
                self.acked.insert(from);
            }
            KvMessage::GetEpoch => ctx.send(from, self.new_epoch()),
            KvMessage::MigrationDone { epoch } => {
                ctx.send(from, KvMessage::MigrationDoneAck { epoch });
                if epoch == self.epoch && !self.settled {
                    self.done.insert(from);
                    if self.members.iter().all(|m| self.done.contains(m)) {
                        self.settled = true;
                        self.persist(ctx);
                        ctx.observe(KvObservation::EpochSettled { epoch: self.epoch });
                        self.start_next(ctx);
                    }
                }
            }
            _ => {}
        }
    }
}
