//! The coordinator: collects votes, force-logs commits, and sees every decision through.
//!
//! Transaction ids are the coordinator's, not the clients': each life of the coordinator
//! draws a boot nonce, and a client's request is bound to a fresh id when it first
//! arrives. So when a restarted coordinator, having forgotten a transaction, answers a
//! participant's question with "abort" (presumed abort) and then receives the client's
//! resubmitted request, it runs a new transaction under a new id: the old one can only
//! ever abort. (Reusing the client's id here once let a second round commit a transaction
//! the first round had aborted at one participant: found by the seed sweep.) A committed
//! request is found again after a restart through its `req/…` record, written in the same
//! forced write as the COMMIT.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::{
    tx_key, CommitBug, CommitMessage, CommitObservation, CommitRecord, Ctx, Shared, TxId, Variant,
};
use sim_core::NodeId;

const TICK: u64 = 1;

enum Phase {
    Voting {
        yes: BTreeSet<NodeId>,
    },
    /// 3PC: everyone voted yes; waiting for pre-commit acknowledgements.
    PreCommitting {
        acked: BTreeSet<NodeId>,
    },
    Deciding {
        commit: bool,
        acked: BTreeSet<NodeId>,
    },
}

struct Tx {
    /// The client and its request id (none for decisions resent after a restart).
    client: Option<(NodeId, u64)>,
    writes: BTreeMap<NodeId, Vec<(u32, u64)>>,
    phase: Phase,
    started_ns: u64,
    /// When this phase's messages last went out: resend only after a full timeout.
    sent_ns: u64,
}

impl Tx {
    fn participants(&self) -> Vec<NodeId> {
        self.writes.keys().copied().collect()
    }
}

pub struct Coordinator {
    shared: Rc<Shared>,
    boot: u64,
    next: u64,
    txs: BTreeMap<TxId, Tx>,
    /// Client requests in flight → their transaction.
    requests: BTreeMap<u64, TxId>,
    /// Outcomes of finished transactions and requests, for late questions. Volatile:
    /// after a restart, presumed abort answers for the forgotten transactions, and the log
    /// for the committed ones.
    finished: BTreeMap<TxId, bool>,
    finished_requests: BTreeMap<u64, bool>,
    timer_armed: bool,
}

impl Coordinator {
    pub fn new(shared: Rc<Shared>) -> Self {
        Coordinator {
            shared,
            boot: 0,
            next: 0,
            txs: BTreeMap::new(),
            requests: BTreeMap::new(),
            finished: BTreeMap::new(),
            finished_requests: BTreeMap::new(),
            timer_armed: false,
        }
    }

    pub fn on_start(&mut self, ctx: Ctx) {
        self.boot = ctx.random().next_u64() & 0xFFFF_FFFF;
    }

    /// A new life: a new nonce, and the decision of every logged COMMIT without END resent.
    pub fn on_restart(&mut self, ctx: Ctx) {
        self.on_start(ctx);
        let committed: Vec<(TxId, Vec<NodeId>)> = ctx
            .storage()
            .entries()
            .filter_map(|(k, r)| match (k.strip_prefix("commit/"), r) {
                (Some(tx), CommitRecord::Committed { participants }) => {
                    Some((tx.parse().ok()?, participants.clone()))
                }
                _ => None,
            })
            .collect();
        let now = ctx.now();
        for (tx, participants) in committed {
            if ctx.storage().get(&tx_key("end", tx)).is_some() {
                self.finished.insert(tx, true);
                continue;
            }
            let writes = participants.iter().map(|&p| (p, Vec::new())).collect();
            let phase = Phase::Deciding {
                commit: true,
                acked: BTreeSet::new(),
            };
            self.txs.insert(
                tx,
                Tx {
                    client: None,
                    writes,
                    phase,
                    started_ns: now,
                    sent_ns: now,
                },
            );
            for p in participants {
                ctx.send(p, CommitMessage::Decision { tx, commit: true });
            }
        }
        self.arm(ctx);
    }

    fn arm(&mut self, ctx: Ctx) {
        if !self.timer_armed && !self.txs.is_empty() {
            self.timer_armed = true;
            ctx.set_timer(self.shared.options.request_timeout.0, TICK);
        }
    }

    fn prepare(ctx: Ctx, tx: TxId, t: &Tx, to: NodeId) {
        let msg = CommitMessage::Prepare {
            tx,
            writes: t.writes[&to].clone(),
            participants: t.participants(),
        };
        ctx.send(to, msg);
    }

    /// Decides. A commit is force-logged (with the request it answers) before anyone hears
    /// of it; an abort is not logged at all (presumed abort).
    fn decide(&mut self, ctx: Ctx, tx: TxId, commit: bool) {
        let Some(t) = self.txs.get_mut(&tx) else {
            return;
        };
        let participants = t.participants();
        if commit {
            ctx.storage().put(
                tx_key("commit", tx),
                CommitRecord::Committed {
                    participants: participants.clone(),
                },
            );
            if let Some((_, req)) = t.client {
                ctx.storage()
                    .put(tx_key("req", req), CommitRecord::Request(tx));
            }
            if !self.shared.options.bug(CommitBug::DecisionBeforeForce) {
                ctx.storage().sync();
            }
        }
        t.phase = Phase::Deciding {
            commit,
            acked: BTreeSet::new(),
        };
        t.sent_ns = ctx.now();
        ctx.observe(CommitObservation::Decided {
            tx,
            commit,
            participants: participants.clone(),
        });
        for p in participants {
            ctx.send(p, CommitMessage::Decision { tx, commit });
        }
        if let Some((client, req)) = t.client {
            self.requests.remove(&req);
            self.finished_requests.insert(req, commit);
            ctx.send(
                client,
                CommitMessage::Outcome {
                    req,
                    committed: commit,
                },
            );
        }
    }

    pub fn on_timer(&mut self, ctx: Ctx, tag: u64) {
        if tag != TICK {
            return;
        }
        self.timer_armed = false;
        let now = ctx.now();
        let (vote_timeout, resend_after) = (
            self.shared.options.vote_timeout.0,
            self.shared.options.request_timeout.0,
        );
        let mut give_up = Vec::new();
        let mut commit_anyway = Vec::new();
        for (&tx, t) in self.txs.iter_mut() {
            let late = now.saturating_sub(t.started_ns) > vote_timeout;
            let due = now.saturating_sub(t.sent_ns) >= resend_after;
            match &t.phase {
                Phase::Voting { .. } if late => give_up.push(tx),
                // Everyone voted yes and some pre-committed: commit; the silent ones learn
                // it when they come back.
                Phase::PreCommitting { .. } if late => commit_anyway.push(tx),
                _ if !due => {}
                Phase::Voting { yes } => {
                    for &p in t.writes.keys().filter(|p| !yes.contains(p)) {
                        Self::prepare(ctx, tx, t, p);
                    }
                }
                Phase::PreCommitting { acked } => {
                    for &p in t.writes.keys().filter(|p| !acked.contains(p)) {
                        ctx.send(p, CommitMessage::PreCommit { tx });
                    }
                }
                Phase::Deciding { commit, acked } => {
                    for &p in t.writes.keys().filter(|p| !acked.contains(p)) {
                        ctx.send(
                            p,
                            CommitMessage::Decision {
                                tx,
                                commit: *commit,
                            },
                        );
                    }
                }
            }
            if due {
                t.sent_ns = now;
            }
        }
        for tx in give_up {
            self.decide(ctx, tx, false);
        }
        for tx in commit_anyway {
            self.decide(ctx, tx, true);
        }
        self.arm(ctx);
    }

    /// What the coordinator can say of a transaction it is not working on: the log says
    /// commit, or it presumes abort.
    fn settled(&self, ctx: Ctx, tx: TxId) -> bool {
        self.finished.get(&tx).copied().unwrap_or(false)
            || ctx.storage().get(&tx_key("commit", tx)).is_some()
    }

    pub fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: CommitMessage) {
        match msg {
            CommitMessage::Submit { req, writes } => self.submit(ctx, from, req, writes),
            CommitMessage::Vote { tx, yes } => {
                let three = self.shared.options.variant == Variant::ThreePc;
                let Some(t) = self.txs.get_mut(&tx) else {
                    let commit = self.settled(ctx, tx);
                    ctx.send(from, CommitMessage::Decision { tx, commit });
                    return;
                };
                match &mut t.phase {
                    Phase::Voting { yes: votes } => {
                        if !yes {
                            self.decide(ctx, tx, false);
                            return;
                        }
                        votes.insert(from);
                        if votes.len() == t.writes.len() {
                            if three {
                                t.phase = Phase::PreCommitting {
                                    acked: BTreeSet::new(),
                                };
                                t.sent_ns = ctx.now();
                                for &p in t.writes.keys() {
                                    ctx.send(p, CommitMessage::PreCommit { tx });
                                }
                            } else {
                                self.decide(ctx, tx, true);
                            }
                        }
                    }
                    Phase::Deciding { commit, .. } => ctx.send(
                        from,
                        CommitMessage::Decision {
                            tx,
                            commit: *commit,
                        },
                    ),
                    Phase::PreCommitting { .. } => ctx.send(from, CommitMessage::PreCommit { tx }),
                }
            }
            CommitMessage::PreCommitAck { tx } => {
                if let Some(t) = self.txs.get_mut(&tx) {
                    if let Phase::PreCommitting { acked } = &mut t.phase {
                        acked.insert(from);
                        if acked.len() == t.writes.len() {
                            self.decide(ctx, tx, true);
                        }
                    }
                }
            }
            CommitMessage::DecisionAck { tx } => {
                let Some(t) = self.txs.get_mut(&tx) else {
                    return;
                };
                let Phase::Deciding { commit, acked } = &mut t.phase else {
                    return;
                };
                acked.insert(from);
                if acked.len() == t.writes.len() {
                    let commit = *commit;
                    if commit {
                        // Not forced: a lost END only means the decision is resent once more.
                        ctx.storage().put(tx_key("end", tx), CommitRecord::End);
                    }
                    self.txs.remove(&tx);
                    self.finished.insert(tx, commit);
                }
            }
            CommitMessage::Query { tx } => {
                let decided = match self.txs.get(&tx).map(|t| &t.phase) {
                    Some(Phase::Deciding { commit, .. }) => Some(*commit),
                    Some(_) => None, // still deciding: the participant asks again
                    None => Some(self.settled(ctx, tx)),
                };
                if let Some(commit) = decided {
                    ctx.send(from, CommitMessage::Decision { tx, commit });
                }
            }
            _ => {}
        }
    }

    fn submit(&mut self, ctx: Ctx, client: NodeId, req: u64, writes: Vec<(NodeId, u32, u64)>) {
        if let Some(&tx) = self.requests.get(&req) {
            if let Some(Phase::Deciding { commit, .. }) = self.txs.get(&tx).map(|t| &t.phase) {
                ctx.send(
                    client,
                    CommitMessage::Outcome {
                        req,
                        committed: *commit,
                    },
                );
            }
            return;
        }
        let known = self.finished_requests.get(&req).copied().or_else(|| {
            match ctx.storage().get(&tx_key("req", req)) {
                Some(CommitRecord::Request(_)) => Some(true),
                _ => None,
            }
        });
        if let Some(committed) = known {
            ctx.send(client, CommitMessage::Outcome { req, committed });
            return;
        }
        let tx = (self.boot << 32) | self.next;
        self.next += 1;
        let mut by_participant: BTreeMap<NodeId, Vec<(u32, u64)>> = BTreeMap::new();
        for (p, key, value) in writes {
            by_participant.entry(p).or_default().push((key, value));
        }
        if self.shared.options.variant == Variant::Naive {
            // The seed article's "2PC": tell everyone to apply, and report success.
            let participants: Vec<NodeId> = by_participant.keys().copied().collect();
            for (&p, w) in &by_participant {
                let msg = CommitMessage::Execute {
                    tx,
                    writes: w.clone(),
                    participants: participants.clone(),
                };
                ctx.send(p, msg);
            }
            self.finished_requests.insert(req, true);
            ctx.send(
                client,
                CommitMessage::Outcome {
                    req,
                    committed: true,
                },
            );
            return;
        }
        let now = ctx.now();
        let phase = Phase::Voting {
            yes: BTreeSet::new(),
        };
        let t = Tx {
            client: Some((client, req)),
            writes: by_participant,
            phase,
            started_ns: now,
            sent_ns: now,
        };
        for &p in t.writes.keys() {
            Self::prepare(ctx, tx, &t, p);
        }
        self.txs.insert(tx, t);
        self.requests.insert(req, tx);
        self.arm(ctx);
    }
}
