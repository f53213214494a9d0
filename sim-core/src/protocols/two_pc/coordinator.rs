//! The coordinator: collects votes, force-logs commits, and sees every decision through.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::{tx_key, CommitMessage, CommitObservation, CommitRecord, Ctx, Shared, TxId, Variant};
use crate::NodeId;

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
    client: NodeId,
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
    txs: BTreeMap<TxId, Tx>,
    /// Outcomes of finished transactions, for late questions (volatile: presumed abort
    /// answers for the forgotten ones, the log for the committed ones).
    finished: BTreeMap<TxId, bool>,
    timer_armed: bool,
}

impl Coordinator {
    pub fn new(shared: Rc<Shared>) -> Self {
        Coordinator {
            shared,
            txs: BTreeMap::new(),
            finished: BTreeMap::new(),
            timer_armed: false,
        }
    }

    pub fn on_start(&mut self, _ctx: Ctx) {}

    /// Resends the decision of every logged COMMIT without END.
    pub fn on_restart(&mut self, ctx: Ctx) {
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
        for (tx, participants) in committed {
            if ctx.storage().get(&tx_key("end", tx)).is_some() {
                self.finished.insert(tx, true);
                continue;
            }
            let writes = participants.iter().map(|&p| (p, Vec::new())).collect();
            let now = ctx.now();
            let phase = Phase::Deciding {
                commit: true,
                acked: BTreeSet::new(),
            };
            self.txs.insert(
                tx,
                Tx {
                    client: 0,
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

    fn prepare(&self, ctx: Ctx, tx: TxId, t: &Tx, to: NodeId) {
        let msg = CommitMessage::Prepare {
            tx,
            writes: t.writes[&to].clone(),
            participants: t.participants(),
        };
        ctx.send(to, msg);
    }

    /// Decides. A commit is force-logged before anyone hears of it; an abort is not
    /// logged at all (presumed abort).
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
            ctx.storage().sync();
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
        if t.client != 0 {
            ctx.send(
                t.client,
                CommitMessage::Outcome {
                    tx,
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
        let vote_timeout = self.shared.options.vote_timeout.0;
        let mut give_up = Vec::new();
        let mut commit_anyway = Vec::new();
        let resend_after = self.shared.options.request_timeout.0;
        for (&tx, t) in self.txs.iter_mut() {
            let late = now.saturating_sub(t.started_ns) > vote_timeout;
            let due = now.saturating_sub(t.sent_ns) >= resend_after;
            if due {
                t.sent_ns = now;
            }
            match &t.phase {
                Phase::Voting { yes } => {
                    if late {
                        give_up.push(tx);
                    } else if due {
                        for &p in t.writes.keys().filter(|p| !yes.contains(p)) {
                            let msg = CommitMessage::Prepare {
                                tx,
                                writes: t.writes[&p].clone(),
                                participants: t.writes.keys().copied().collect(),
                            };
                            ctx.send(p, msg);
                        }
                    }
                }
                Phase::PreCommitting { acked } => {
                    // Everyone voted yes and some pre-committed: commit; the silent ones
                    // learn it when they come back.
                    if late {
                        commit_anyway.push(tx);
                    } else if due {
                        for &p in t.writes.keys().filter(|p| !acked.contains(p)) {
                            ctx.send(p, CommitMessage::PreCommit { tx });
                        }
                    }
                }
                Phase::Deciding { commit, acked } if due => {
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
                Phase::Deciding { .. } => {}
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

    pub fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: CommitMessage) {
        match msg {
            CommitMessage::Submit { tx, writes } => self.submit(ctx, from, tx, writes),
            CommitMessage::Vote { tx, yes } => {
                let three = self.shared.options.variant == Variant::ThreePc;
                let Some(t) = self.txs.get_mut(&tx) else {
                    // Forgotten or finished: tell what the log says (presumed abort).
                    let commit = self.finished.get(&tx).copied().unwrap_or(false);
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
                    None => Some(
                        self.finished.get(&tx).copied().unwrap_or(false)
                            || ctx.storage().get(&tx_key("commit", tx)).is_some(),
                    ),
                };
                if let Some(commit) = decided {
                    ctx.send(from, CommitMessage::Decision { tx, commit });
                }
            }
            _ => {}
        }
    }

    fn submit(&mut self, ctx: Ctx, client: NodeId, tx: TxId, writes: Vec<(NodeId, u32, u64)>) {
        if let Some(t) = self.txs.get_mut(&tx) {
            t.client = client;
            if let Phase::Deciding { commit, .. } = t.phase {
                ctx.send(
                    client,
                    CommitMessage::Outcome {
                        tx,
                        committed: commit,
                    },
                );
            }
            return;
        }
        if let Some(&commit) = self.finished.get(&tx) {
            ctx.send(
                client,
                CommitMessage::Outcome {
                    tx,
                    committed: commit,
                },
            );
            return;
        }
        if ctx.storage().get(&tx_key("commit", tx)).is_some() {
            ctx.send(
                client,
                CommitMessage::Outcome {
                    tx,
                    committed: true,
                },
            );
            return;
        }
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
            self.finished.insert(tx, true);
            ctx.send(
                client,
                CommitMessage::Outcome {
                    tx,
                    committed: true,
                },
            );
            return;
        }
        let now = ctx.now();
        let t = Tx {
            client,
            writes: by_participant,
            phase: Phase::Voting {
                yes: BTreeSet::new(),
            },
            started_ns: now,
            sent_ns: now,
        };
        for &p in t.writes.keys() {
            self.prepare(ctx, tx, &t, p);
        }
        self.txs.insert(tx, t);
        self.arm(ctx);
    }
}
