//! An election node: follower, candidate or leader, with its term and vote on disk.

use std::collections::BTreeSet;

use sim_core::{Context, Node, NodeId, TimerId};

use crate::ElectionOptions;

/// What nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// A candidate asks for a vote in `term`.
    RequestVote { term: u64 },
    /// The answer to a request for `term` (the voter's term, if higher).
    Vote { term: u64, granted: bool },
    /// The leader of `term` is alive.
    Heartbeat { term: u64 },
}

/// What a node reports to the checker and the metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// The node started an election for `term`.
    Campaign { term: u64 },
    /// The node won `term`.
    Leader { term: u64 },
}

/// What a node keeps on disk: its term and whom it voted for in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HardState {
    pub term: u64,
    pub voted_for: Option<NodeId>,
}

/// Why a timer was set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// No heartbeat for a while: time to campaign.
    Election,
    /// A leader's heartbeat, or a candidate asking again.
    Heartbeat,
}

const HARD_STATE: &str = "hard_state";

#[derive(Debug)]
enum Role {
    Follower,
    Candidate { votes: BTreeSet<NodeId> },
    Leader,
}

pub struct ElectionNode {
    options: ElectionOptions,
    term: u64,
    voted_for: Option<NodeId>,
    role: Role,
    election_timer: Option<TimerId>,
    heartbeat_timer: Option<TimerId>,
}

impl ElectionNode {
    pub fn new(options: ElectionOptions) -> Self {
        ElectionNode {
            options,
            term: 0,
            voted_for: None,
            role: Role::Follower,
            election_timer: None,
            heartbeat_timer: None,
        }
    }

    fn majority(&self, ctx: &Context<'_, Self>) -> usize {
        ctx.node_count() as usize / 2 + 1
    }

    /// Writes the term and the vote, and syncs them, unless the flaw is on.
    fn persist(&self, ctx: &mut Context<'_, Self>) {
        if self.options.persist_vote {
            let state = HardState {
                term: self.term,
                voted_for: self.voted_for,
            };
            ctx.storage().put(HARD_STATE, state);
            ctx.storage().sync();
        }
    }

    fn reset_election_timer(&mut self, ctx: &mut Context<'_, Self>) {
        if let Some(t) = self.election_timer.take() {
            ctx.cancel_timer(t);
        }
        let o = &self.options;
        let after = ctx
            .random()
            .between(o.election_timeout_min.0, o.election_timeout_max.0);
        self.election_timer = Some(ctx.set_timer(after, Timer::Election));
    }

    /// One heartbeat timer at a time: a leader sends, a candidate asks again, when it fires.
    fn reset_heartbeat_timer(&mut self, ctx: &mut Context<'_, Self>) {
        if let Some(t) = self.heartbeat_timer.take() {
            ctx.cancel_timer(t);
        }
        let after = self.options.heartbeat_interval.0;
        self.heartbeat_timer = Some(ctx.set_timer(after, Timer::Heartbeat));
    }

    /// A higher term: adopt it, with no vote yet, as a follower.
    fn adopt(&mut self, ctx: &mut Context<'_, Self>, term: u64) {
        self.term = term;
        self.voted_for = None;
        self.role = Role::Follower;
        self.persist(ctx);
    }

    fn campaign(&mut self, ctx: &mut Context<'_, Self>) {
        self.term += 1;
        self.voted_for = Some(ctx.id());
        self.persist(ctx);
        ctx.observe(Observation::Campaign { term: self.term });
        self.role = Role::Candidate {
            votes: BTreeSet::from([ctx.id()]),
        };
        self.check_won(ctx);
        self.ask_for_votes(ctx);
        self.reset_election_timer(ctx);
    }

    fn ask_for_votes(&mut self, ctx: &mut Context<'_, Self>) {
        let Role::Candidate { votes } = &self.role else {
            return;
        };
        let missing: Vec<NodeId> = (0..ctx.node_count())
            .filter(|n| !votes.contains(n))
            .collect();
        for peer in missing {
            ctx.send(peer, Message::RequestVote { term: self.term });
        }
        self.reset_heartbeat_timer(ctx);
    }

    fn check_won(&mut self, ctx: &mut Context<'_, Self>) {
        let Role::Candidate { votes } = &self.role else {
            return;
        };
        if votes.len() >= self.majority(ctx) {
            self.role = Role::Leader;
            ctx.observe(Observation::Leader { term: self.term });
            self.heartbeat(ctx);
        }
    }

    fn heartbeat(&mut self, ctx: &mut Context<'_, Self>) {
        let me = ctx.id();
        for peer in (0..ctx.node_count()).filter(|&p| p != me) {
            ctx.send(peer, Message::Heartbeat { term: self.term });
        }
        self.reset_heartbeat_timer(ctx);
    }
}

impl Node for ElectionNode {
    type Message = Message;
    type Observation = Observation;
    type Record = HardState;
    type Timer = Timer;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.reset_election_timer(ctx);
    }

    /// Only what was synced survived the crash: with `persist_vote: false`, nothing.
    fn on_restart(&mut self, ctx: &mut Context<'_, Self>) {
        if let Some(state) = ctx.storage().get(HARD_STATE).cloned() {
            self.term = state.term;
            self.voted_for = state.voted_for;
        }
        self.reset_election_timer(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Message) {
        match msg {
            Message::RequestVote { term } => {
                if term > self.term {
                    self.adopt(ctx, term);
                }
                let granted = term == self.term && self.voted_for.is_none_or(|v| v == from);
                if granted && self.voted_for.is_none() {
                    self.voted_for = Some(from);
                    // On disk before the vote leaves: a crash must not forget it.
                    self.persist(ctx);
                    self.reset_election_timer(ctx);
                }
                let term = self.term;
                ctx.send(from, Message::Vote { term, granted });
            }
            Message::Vote { term, granted } => {
                if term > self.term {
                    self.adopt(ctx, term);
                    self.reset_election_timer(ctx);
                } else if term == self.term && granted {
                    if let Role::Candidate { votes } = &mut self.role {
                        votes.insert(from);
                    }
                    self.check_won(ctx);
                }
            }
            Message::Heartbeat { term } => {
                if term > self.term {
                    self.adopt(ctx, term);
                }
                if term == self.term {
                    self.role = Role::Follower;
                    self.reset_election_timer(ctx);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: TimerId, what: Timer) {
        match what {
            Timer::Election if self.election_timer == Some(timer) => {
                self.election_timer = None;
                if !matches!(self.role, Role::Leader) {
                    self.campaign(ctx);
                }
            }
            Timer::Heartbeat if self.heartbeat_timer == Some(timer) => match self.role {
                Role::Leader => self.heartbeat(ctx),
                Role::Candidate { .. } => self.ask_for_votes(ctx),
                Role::Follower => {}
            },
            _ => {}
        }
    }
}
