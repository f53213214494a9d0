//! `mutual_exclusion`: judged at the resource, where it matters.
//!
//! Holdings are numbered in the order the lock service granted them (for Redlock, which
//! has no single grant order, in the order clients came to hold the lock). Read in the
//! order the resource accepted them, writes must come from holdings in that order:
//! once a write from a later holding has been accepted, a write from an earlier one means
//! a client that had lost the lock (its lease ran out while it was paused, cut off or
//! slow) still wrote over the new holder's state. That is the condition fencing tokens
//! enforce (Kleppmann, 2016). Likewise, once a later holding has read the counter, a write
//! from an earlier one means two holdings overlapped at the resource: the later one will
//! write back what it read, over the earlier one's write. (Watching writes alone missed
//! overlapping holdings whose writes happened to land in holding order; only the lost
//! increment showed them.) A violation names both accesses, their holdings and tokens,
//! and the pauses and faults that stood between the stale holder's grant and its write.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::lock::{LockNode, LockObservation, Shared};
use sim_core::format_ns;
use sim_core::Fault;
use sim_core::NodeId;
use sim_core::{Checker, Lifecycle};

struct Holding {
    seq: u64,
    acquired_ns: u64,
}

/// The latest holding to write (or read) a lock's counter at the resource.
struct LastAccess {
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
    /// Each client's holdings by token, to place the reads it makes: (client, token) → hold.
    by_token: BTreeMap<(NodeId, u64), u64>,
    last: BTreeMap<u32, LastAccess>,
    last_read: BTreeMap<u32, LastAccess>,
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
            by_token: BTreeMap::new(),
            last: BTreeMap::new(),
            last_read: BTreeMap::new(),
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
            "no pause, crash or fault touched it: its lease ran out, or a server freed its grant"
                .to_string()
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
                self.by_token.insert((node, token), hold);
            }
            LockObservation::ReadServed {
                lock,
                client,
                token,
            } => {
                let Some(h) = self
                    .by_token
                    .get(&(client, token))
                    .and_then(|hold| self.holdings.get(&(client, *hold)))
                else {
                    return Ok(());
                };
                if self.last_read.get(&lock).is_none_or(|r| r.seq < h.seq) {
                    let r = LastAccess {
                        seq: h.seq,
                        client,
                        token,
                        acquired_ns: h.acquired_ns,
                        at_ns: now_ns,
                    };
                    self.last_read.insert(lock, r);
                }
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
                if let Some(r) = self.last_read.get(&lock) {
                    if seq < r.seq && r.client != client {
                        return Err(format!(
                            "lock-{lock}: {} (granted at {}, token {token}) wrote at {}, after {} \
                             (granted at {}, token {}) had read at {}: both held the lock at \
                             once, and {} will write back what it read over this write. \
                             Between {}'s grant and its write: {}",
                            self.name(client),
                            format_ns(acquired_ns),
                            format_ns(now_ns),
                            self.name(r.client),
                            format_ns(r.acquired_ns),
                            r.token,
                            format_ns(r.at_ns),
                            self.name(r.client),
                            self.name(client),
                            self.account(client, acquired_ns, now_ns),
                        ));
                    }
                }
                let w = LastAccess {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::{Lock, LockOptions};
    use sim_core::Protocol;

    /// The checker for two clients of a quorum lock (servers lock0..lock2) or of a lease
    /// lock (server lock0), and the ids of c0, c1 and the store.
    fn checker(variant: &str) -> (Box<dyn Checker<LockNode>>, [NodeId; 3]) {
        let servers = if variant == "Quorum" { 3 } else { 1 };
        let text = format!(
            "(name: \"t\", limits: (time: \"1s\"), protocol: Lock(variant: {variant}, \
             servers: {servers}, clients: 2))"
        );
        let loaded = crate::builtin().parse("t.ron", &text).unwrap();
        let id = |n: &str| loaded.names.iter().position(|m| m == n).unwrap() as NodeId;
        let ids = [id("c0"), id("c1"), id("store")];
        let options = loaded
            .scenario
            .protocol
            .downcast_ref::<LockOptions>()
            .unwrap();
        let checker = Lock::new(options.clone())
            .checker("mutual_exclusion")
            .unwrap();
        (checker, ids)
    }

    fn write(client: NodeId, hold: u64, token: u64) -> LockObservation {
        LockObservation::WriteAccepted {
            lock: 0,
            client,
            hold,
            token,
            prev: 0,
            value: 1,
        }
    }

    #[test]
    fn overlapping_holdings_are_caught_even_when_their_writes_land_in_order() {
        // c0 holds; c1 comes to hold too and reads; c0's write lands; c1 would then write
        // back what it read. The writes land in holding order, so only the read shows it.
        let (mut c, [c0, c1, store]) = checker("Quorum");
        let acquired = |hold, token| LockObservation::Acquired {
            lock: 0,
            hold,
            token,
        };
        assert!(c.on_observation(1, c0, &acquired(1, 7)).is_ok());
        assert!(c.on_observation(2, c1, &acquired(1, 7)).is_ok());
        let read = LockObservation::ReadServed {
            lock: 0,
            client: c1,
            token: 7,
        };
        assert!(c.on_observation(3, store, &read).is_ok());
        let e = c.on_observation(4, store, &write(c0, 1, 7)).unwrap_err();
        assert!(
            e.contains("c0 (granted at 1ns, token 7) wrote at 4ns, after c1"),
            "{e}"
        );
        assert!(
            e.contains("had read at 3ns: both held the lock at once"),
            "{e}"
        );
    }

    #[test]
    fn holdings_one_after_the_other_pass() {
        let (mut c, [c0, c1, store]) = checker("Lease");
        let granted = |client, token| LockObservation::Granted {
            lock: 0,
            client,
            token,
        };
        let acquired = |hold, token| LockObservation::Acquired {
            lock: 0,
            hold,
            token,
        };
        let read = |client, token| LockObservation::ReadServed {
            lock: 0,
            client,
            token,
        };
        let steps = [
            (0, granted(c0, 1)),
            (c0, acquired(1, 1)),
            (store, read(c0, 1)),
            (store, write(c0, 1, 1)),
            (0, granted(c1, 2)),
            (c1, acquired(1, 2)),
            (store, read(c1, 2)),
            (store, write(c1, 1, 2)),
            // A late duplicate of c0's old read changes nothing.
            (store, read(c0, 1)),
        ];
        for (t, (node, obs)) in steps.iter().enumerate() {
            assert!(c.on_observation(t as u64, *node, obs).is_ok(), "step {t}");
        }
    }
}
