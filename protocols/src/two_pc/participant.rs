//! A participant: one key-value shard that votes, logs, applies and, when uncertain, asks.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::{
    tx_key, CommitBug, CommitMessage, CommitObservation, CommitRecord, Ctx, Shared, TxId, Variant,
};
use sim_core::NodeId;

const TICK: u64 = 1;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Prepared,
    PreCommitted,
    Done(bool),
}

struct Tx {
    state: State,
    writes: Vec<(u32, u64)>,
    participants: Vec<NodeId>,
    /// When it voted yes (local clock), to know how long it has been uncertain.
    prepared_ns: u64,
    /// 3PC termination: when it asked its peers, and what they said (outcome, pre-committed).
    asked_ns: Option<u64>,
    peers: BTreeMap<NodeId, (Option<bool>, bool)>,
}

impl Tx {
    /// A transaction that ended here without (or before) a vote of ours.
    fn ended(commit: bool, writes: Vec<(u32, u64)>, participants: Vec<NodeId>, now: u64) -> Self {
        Tx {
            state: State::Done(commit),
            writes,
            participants,
            prepared_ns: now,
            asked_ns: None,
            peers: BTreeMap::new(),
        }
    }
}

pub struct Participant {
    me: NodeId,
    shared: Rc<Shared>,
    locks: BTreeMap<u32, TxId>,
    txs: BTreeMap<TxId, Tx>,
    /// The transactions of `txs` still in doubt (prepared or pre-committed), so that the
    /// periodic check costs what is in doubt, not every transaction ever seen (scanning
    /// them all made runs quadratic in their length).
    uncertain: BTreeSet<TxId>,
    timer_armed: bool,
}

fn value_key(key: u32) -> String {
    format!("v/{key}")
}

impl Participant {
    pub fn new(me: NodeId, shared: Rc<Shared>) -> Self {
        Participant {
            me,
            shared,
            locks: BTreeMap::new(),
            txs: BTreeMap::new(),
            uncertain: BTreeSet::new(),
            timer_armed: false,
        }
    }

    pub fn on_start(&mut self, _ctx: Ctx) {}

    /// Rebuilds from the log: outcomes are settled; PREPARED without an outcome means
    /// uncertain again (locks retaken), and the asking starts over.
    pub fn on_restart(&mut self, ctx: Ctx) {
        let now = ctx.now();
        let records: Vec<(String, CommitRecord)> = ctx
            .storage()
            .entries()
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
        for (key, record) in &records {
            let Some((kind, tx)) = key.split_once('/') else {
                continue;
            };
            let Ok(tx) = tx.parse::<TxId>() else { continue };
            match (kind, record) {
                (
                    "prepared",
                    CommitRecord::Prepared {
                        writes,
                        participants,
                    },
                ) => {
                    let t = self.txs.entry(tx).or_insert(Tx {
                        state: State::Prepared,
                        writes: writes.clone(),
                        participants: participants.clone(),
                        prepared_ns: now,
                        asked_ns: None,
                        peers: BTreeMap::new(),
                    });
                    t.writes = writes.clone();
                    t.participants = participants.clone();
                }
                ("outcome", r) => {
                    let commit = matches!(r, CommitRecord::Committed { .. });
                    let participants = match r {
                        CommitRecord::Committed { participants } => participants.clone(),
                        _ => Vec::new(),
                    };
                    let t = self.txs.entry(tx).or_insert(Tx::ended(
                        commit,
                        Vec::new(),
                        participants,
                        now,
                    ));
                    t.state = State::Done(commit);
                }
                _ => {}
            }
        }
        for (key, record) in &records {
            if let (Some(tx), CommitRecord::PreCommitted) =
                (key.strip_prefix("precommitted/"), record)
            {
                if let Some(t) = tx.parse().ok().and_then(|tx: TxId| self.txs.get_mut(&tx)) {
                    if t.state == State::Prepared {
                        t.state = State::PreCommitted;
                    }
                }
            }
        }
        for (&tx, t) in &self.txs {
            if !matches!(t.state, State::Done(_)) {
                self.uncertain.insert(tx);
                for &(key, _) in &t.writes {
                    self.locks.insert(key, tx);
                }
            }
        }
        self.arm(ctx);
    }

    fn arm(&mut self, ctx: Ctx) {
        if !self.uncertain.is_empty() && !self.timer_armed {
            self.timer_armed = true;
            ctx.set_timer(self.shared.options.request_timeout.0, TICK);
        }
    }

    fn vote(&mut self, ctx: Ctx, tx: TxId, writes: Vec<(u32, u64)>, participants: Vec<NodeId>) {
        let conflict = writes
            .iter()
            .any(|(k, _)| self.locks.get(k).is_some_and(|&other| other != tx));
        let no = conflict || ctx.random().chance(self.shared.options.vote_no_probability);
        let now = ctx.now();
        if no {
            // A no vote aborts here and now, and the abort is forced: presumed abort spares
            // the coordinator's abort records, but a participant that forgot its no vote in
            // a crash could vote yes on a resent prepare and reverse a decision it had made
            // (found by the seed sweep).
            ctx.storage()
                .put(tx_key("outcome", tx), CommitRecord::Aborted);
            ctx.storage().sync();
            let t = Tx::ended(false, writes, participants.clone(), now);
            self.txs.insert(tx, t);
            ctx.observe(CommitObservation::Voted { tx, yes: false });
            ctx.observe(CommitObservation::Outcome {
                tx,
                commit: false,
                participants,
                applied: Vec::new(),
            });
            ctx.send(Shared::COORDINATOR, CommitMessage::Vote { tx, yes: false });
            return;
        }
        for &(k, _) in &writes {
            self.locks.insert(k, tx);
        }
        // Force-logged before the vote leaves: a yes is a promise that survives a crash.
        ctx.storage().put(
            tx_key("prepared", tx),
            CommitRecord::Prepared {
                writes: writes.clone(),
                participants: participants.clone(),
            },
        );
        if !self.shared.options.bug(CommitBug::UnforcedPrepared) {
            ctx.storage().sync();
        }
        self.uncertain.insert(tx);
        self.txs.insert(
            tx,
            Tx {
                state: State::Prepared,
                writes,
                participants,
                prepared_ns: now,
                asked_ns: None,
                peers: BTreeMap::new(),
            },
        );
        ctx.observe(CommitObservation::Voted { tx, yes: true });
        ctx.send(Shared::COORDINATOR, CommitMessage::Vote { tx, yes: true });
        self.arm(ctx);
    }

    /// Learns the outcome: logs it (synced), applies it, unlocks.
    fn conclude(&mut self, ctx: Ctx, tx: TxId, commit: bool) -> bool {
        let Some(t) = self.txs.get_mut(&tx) else {
            return false;
        };
        if let State::Done(_) = t.state {
            return false;
        }
        if commit {
            for &(k, v) in &t.writes {
                ctx.storage().put(value_key(k), CommitRecord::Value(v));
            }
            ctx.storage().put(
                tx_key("outcome", tx),
                CommitRecord::Committed {
                    participants: t.participants.clone(),
                },
            );
        } else {
            ctx.storage()
                .put(tx_key("outcome", tx), CommitRecord::Aborted);
        }
        ctx.storage().sync();
        t.state = State::Done(commit);
        self.uncertain.remove(&tx);
        for &(k, _) in &t.writes {
            if self.locks.get(&k) == Some(&tx) {
                self.locks.remove(&k);
            }
        }
        let applied = if commit { t.writes.clone() } else { Vec::new() };
        ctx.observe(CommitObservation::Outcome {
            tx,
            commit,
            participants: t.participants.clone(),
            applied,
        });
        true
    }

    fn outcome_of(&self, tx: TxId) -> Option<bool> {
        match self.txs.get(&tx).map(|t| t.state) {
            Some(State::Done(c)) => Some(c),
            _ => None,
        }
    }

    pub fn on_timer(&mut self, ctx: Ctx, tag: u64) {
        if tag != TICK {
            return;
        }
        self.timer_armed = false;
        let now = ctx.now();
        let o = &self.shared.options;
        let (variant, wait) = (o.variant, o.decision_timeout.0);
        let mut decide = Vec::new();
        for &tx in &self.uncertain {
            let t = self
                .txs
                .get_mut(&tx)
                .expect("an uncertain transaction is known");
            if now.saturating_sub(t.prepared_ns) < wait {
                continue;
            }
            let peers: Vec<NodeId> = t
                .participants
                .iter()
                .copied()
                .filter(|&p| p != self.me)
                .collect();
            if self.shared.options.bug(CommitBug::AbortAfterYes) {
                decide.push((tx, false));
                continue;
            }
            match variant {
                Variant::TwoPc => ctx.send(Shared::COORDINATOR, CommitMessage::Query { tx }),
                Variant::Cooperative => {
                    ctx.send(Shared::COORDINATOR, CommitMessage::Query { tx });
                    for p in peers {
                        ctx.send(p, CommitMessage::Query { tx });
                    }
                }
                Variant::ThreePc => match t.asked_ns {
                    None => {
                        t.asked_ns = Some(now);
                        for p in peers {
                            ctx.send(p, CommitMessage::Query { tx });
                        }
                    }
                    // One round of answers is in: decide alone, by 3PC's termination rule.
                    Some(_) => {
                        let precommitted = t.state == State::PreCommitted;
                        let commit = precommitted
                            || t.peers
                                .values()
                                .any(|&(outcome, pre)| outcome == Some(true) || pre);
                        let aborted = t.peers.values().any(|&(outcome, _)| outcome == Some(false));
                        decide.push((tx, commit && !aborted));
                    }
                },
                Variant::Naive => {}
            }
        }
        for (tx, commit) in decide {
            self.conclude(ctx, tx, commit);
        }
        self.arm(ctx);
    }

    pub fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: CommitMessage) {
        match msg {
            CommitMessage::Prepare {
                tx,
                writes,
                participants,
            } => match self.txs.get(&tx).map(|t| t.state) {
                // Asked again: the same vote.
                Some(State::Done(false)) => ctx.send(from, CommitMessage::Vote { tx, yes: false }),
                Some(_) => ctx.send(from, CommitMessage::Vote { tx, yes: true }),
                None => self.vote(ctx, tx, writes, participants),
            },
            CommitMessage::PreCommit { tx } => {
                if let Some(t) = self.txs.get_mut(&tx) {
                    if t.state == State::Prepared {
                        ctx.storage()
                            .put(tx_key("precommitted", tx), CommitRecord::PreCommitted);
                        ctx.storage().sync();
                        t.state = State::PreCommitted;
                    }
                    if t.state != State::Done(false) {
                        ctx.send(from, CommitMessage::PreCommitAck { tx });
                    }
                }
            }
            CommitMessage::Decision { tx, commit } => {
                let now = ctx.now();
                if let std::collections::btree_map::Entry::Vacant(e) = self.txs.entry(tx) {
                    // Never voted on it (the prepare was lost): only an abort can reach us.
                    ctx.storage()
                        .put(tx_key("outcome", tx), CommitRecord::Aborted);
                    e.insert(Tx::ended(false, Vec::new(), Vec::new(), now));
                }
                self.conclude(ctx, tx, commit);
                if let Some(c) = self.outcome_of(tx) {
                    let writes = self.txs[&tx].writes.clone();
                    ctx.observe(CommitObservation::Acknowledged {
                        tx,
                        commit: c,
                        writes,
                    });
                    ctx.send(from, CommitMessage::DecisionAck { tx });
                }
            }
            CommitMessage::Query { tx } => {
                let answer = match self.txs.get(&tx).map(|t| t.state) {
                    Some(State::Done(c)) => (Some(c), false),
                    Some(State::Prepared) => (None, false),
                    Some(State::PreCommitted) => (None, true),
                    None => {
                        // Not voted yet: abort unilaterally, so the asker may abort too.
                        ctx.storage()
                            .put(tx_key("outcome", tx), CommitRecord::Aborted);
                        ctx.storage().sync();
                        let now = ctx.now();
                        self.txs
                            .insert(tx, Tx::ended(false, Vec::new(), Vec::new(), now));
                        ctx.observe(CommitObservation::Outcome {
                            tx,
                            commit: false,
                            participants: Vec::new(),
                            applied: Vec::new(),
                        });
                        (Some(false), false)
                    }
                };
                ctx.send(
                    from,
                    CommitMessage::PeerState {
                        tx,
                        outcome: answer.0,
                        precommitted: answer.1,
                    },
                );
            }
            CommitMessage::PeerState {
                tx,
                outcome,
                precommitted,
            } => {
                if let Some(t) = self.txs.get_mut(&tx) {
                    t.peers.insert(from, (outcome, precommitted));
                }
                // A peer that knows settles it (2PC cooperative; 3PC too).
                if let Some(commit) = outcome {
                    if self.shared.options.variant != Variant::TwoPc {
                        self.conclude(ctx, tx, commit);
                    }
                } else if self.shared.options.variant == Variant::Cooperative
                    && self.shared.options.bug(CommitBug::UncertainPeerMeansAbort)
                {
                    self.conclude(ctx, tx, false);
                }
            }
            CommitMessage::Execute {
                tx,
                writes,
                participants,
            } => {
                // Naive: apply at once, no vote, no forced write.
                if self.txs.contains_key(&tx) {
                    return;
                }
                for &(k, v) in &writes {
                    ctx.storage().put(value_key(k), CommitRecord::Value(v));
                }
                ctx.storage().put(
                    tx_key("outcome", tx),
                    CommitRecord::Committed {
                        participants: participants.clone(),
                    },
                );
                let now = ctx.now();
                self.txs.insert(
                    tx,
                    Tx::ended(true, writes.clone(), participants.clone(), now),
                );
                ctx.observe(CommitObservation::Outcome {
                    tx,
                    commit: true,
                    participants,
                    applied: writes,
                });
            }
            _ => {}
        }
    }
}
