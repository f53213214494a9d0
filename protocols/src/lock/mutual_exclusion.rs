//! `mutual_exclusion`: judged at the resource, where it matters.
//!
//! Holdings are numbered in the order the lock service granted them (for Redlock, which
//! has no single grant order, in the order clients came to hold the lock). Read in the
//! order the resource accepted them, writes must come from holdings in that order:
//! once a write from a later holding has been accepted, a write from an earlier one means
//! a client that had lost the lock (its lease ran out while it was paused, cut off or
//! slow) still wrote over the new holder's state. That is the condition fencing tokens
//! enforce (Kleppmann, 2016). A violation names both writes, their holdings and tokens,
//! and the pauses and faults that stood between the stale holder's grant and its write.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::lock::{LockNode, LockObservation, Shared};
use sim_core::checker::{Checker, Lifecycle};
use sim_core::faults::Fault;
use sim_core::time::format_ns;
use sim_core::NodeId;

struct Holding {
    seq: u64,
    acquired_ns: u64,
}

struct LastWrite {
    seq: u64,
    client: NodeId,
    token: u64,
    acquired_ns: u64,
    at_ns: u64,
}

pub struct MutualExclusion {
    shared: Rc<Shared>,
    holdings: BTreeMap<(NodeId, u64), Holding>,
    /// Grants seen at the servers: (lock, client, token) → (grant number, grant time).
    grants: BTreeMap<(u32, NodeId, u64), (u64, u64)>,
    next_seq: u64,
    last: BTreeMap<u32, LastWrite>,
    /// What happened to whom, for the account of a violation: (time, node, what).
    events: Vec<(u64, Option<NodeId>, String)>,
}

impl MutualExclusion {
    pub fn new(shared: Rc<Shared>) -> Self {
        MutualExclusion {
            shared,
            holdings: BTreeMap::new(),
            grants: BTreeMap::new(),
            next_seq: 0,
            last: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    fn name(&self, n: NodeId) -> &str {
        &self.shared.names[n as usize]
    }

    /// Pauses, crashes and faults between `from` and `to` that touched `node` or the network.
    fn account(&self, node: NodeId, from_ns: u64, to_ns: u64) -> String {
        let lines: Vec<String> = self
            .events
            .iter()
            .filter(|(t, n, _)| *t >= from_ns && *t <= to_ns && n.is_none_or(|n| n == node))
            .map(|(t, _, what)| format!("{} {what}", format_ns(*t)))
            .collect();
        if lines.is_empty() {
            "no fault between them: the lease simply ran out first".to_string()
        } else {
            lines.join("; ")
        }
    }
}

impl Checker<LockNode> for MutualExclusion {
    fn name(&self) -> &'static str {
        "mutual_exclusion"
    }

    fn on_observation(
        &mut self,
        now_ns: u64,
        node: NodeId,
        obs: &LockObservation,
    ) -> Result<(), String> {
        match *obs {
            LockObservation::Granted {
                lock,
                client,
                token,
            } => {
                self.grants
                    .insert((lock, client, token), (self.next_seq, now_ns));
                self.next_seq += 1;
            }
            LockObservation::Acquired { lock, hold, token } => {
                // A client may learn of its grant late (it was paused or cut off): what
                // counts is when the lock service granted it.
                let single = self.shared.options.variant != crate::lock::Variant::Quorum;
                let (seq, acquired_ns) = match self.grants.get(&(lock, node, token)) {
                    Some(&granted) if single => granted,
                    _ => {
                        self.next_seq += 1;
                        (self.next_seq - 1, now_ns)
                    }
                };
                self.holdings
                    .insert((node, hold), Holding { seq, acquired_ns });
            }
            LockObservation::WriteAccepted {
                lock,
                client,
                hold,
                token,
                ..
            } => {
                // Writes made without a lock (the optimistic variant) are not judged here.
                let Some(h) = self.holdings.get(&(client, hold)) else {
                    return Ok(());
                };
                let (seq, acquired_ns) = (h.seq, h.acquired_ns);
                if let Some(last) = self.last.get(&lock) {
                    if seq < last.seq {
                        return Err(format!(
                            "lock-{lock}: {} (granted at {}, token {token}) wrote at {}, after {} \
                             (granted at {}, token {}) had written at {}; {} no longer held the \
                             lock but still believed it did. Between its grant and its write: {}",
                            self.name(client),
                            format_ns(acquired_ns),
                            format_ns(now_ns),
                            self.name(last.client),
                            format_ns(last.acquired_ns),
                            last.token,
                            format_ns(last.at_ns),
                            self.name(client),
                            self.account(client, acquired_ns, now_ns),
                        ));
                    }
                }
                let w = LastWrite {
                    seq,
                    client,
                    token,
                    acquired_ns,
                    at_ns: now_ns,
                };
                self.last.insert(lock, w);
            }
            _ => {}
        }
        Ok(())
    }

    fn on_lifecycle(&mut self, now_ns: u64, node: NodeId, event: Lifecycle) {
        let what = format!(
            "{} {}",
            self.name(node),
            format!("{event:?}").to_lowercase()
        );
        self.events.push((now_ns, Some(node), what));
    }

    fn on_fault(&mut self, now_ns: u64, fault: &Fault<NodeId>) {
        let subject = match fault {
            Fault::ClockJump { node, .. } | Fault::ClockDrift { node, .. } => Some(*node),
            Fault::Partition(_) | Fault::PartitionOneWay { .. } | Fault::Heal => None,
            // Pauses and crashes arrive as lifecycle events, with their ends.
            _ => return,
        };
        self.events
            .push((now_ns, subject, fault.describe(&self.shared.names)));
    }
}
