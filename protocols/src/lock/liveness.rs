//! `liveness`: a lock held by a crashed client must come free.
//!
//! A lock is unavailable from the moment its holder crashes until a server grants it again
//! (a lease running out, a restart that forgets it). The naive lock has no lease, so a
//! crashed holder keeps it for ever. The checker fails when a lock stays unavailable
//! longer than `max_unavailable`, or is still unavailable that long at the end of the
//! run; the metrics report the longest unavailability either way.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::lock::{LockNode, LockObservation, Shared};
use sim_core::format_ns;
use sim_core::NodeId;
use sim_core::{Checker, ClusterView, Lifecycle};

/// Tracks, per (server, lock), who holds it and since when it is held by the dead.
#[derive(Default)]
pub struct Unavailability {
    holders: BTreeMap<(NodeId, u32), NodeId>,
    /// (server, lock) → (since, crashed holder)
    since: BTreeMap<(NodeId, u32), (u64, NodeId)>,
    pub longest_ns: u64,
}

impl Unavailability {
    /// Updates from an observation; returns a finished unavailability (lock, holder, since, length).
    pub fn observe(
        &mut self,
        now_ns: u64,
        node: NodeId,
        obs: &LockObservation,
    ) -> Option<(u32, NodeId, u64, u64)> {
        let lock = match *obs {
            LockObservation::Granted { lock, client, .. } => {
                self.holders.insert((node, lock), client);
                lock
            }
            LockObservation::Freed { lock, .. } => {
                self.holders.remove(&(node, lock));
                lock
            }
            _ => return None,
        };
        let (since, client) = self.since.remove(&(node, lock))?;
        let length = now_ns - since;
        self.longest_ns = self.longest_ns.max(length);
        Some((lock, client, since, length))
    }

    pub fn lifecycle(&mut self, now_ns: u64, node: NodeId, event: Lifecycle, shared: &Shared) {
        match event {
            Lifecycle::Crashed if shared.is_client(node) => {
                for (&key, &holder) in &self.holders {
                    if holder == node {
                        self.since.entry(key).or_insert((now_ns, node));
                    }
                }
            }
            // A server that restarts without its state no longer holds anything for anyone.
            Lifecycle::Restarted if !shared.is_client(node) && !shared.options.persist => {
                self.holders.retain(|(s, _), _| *s != node);
                let ended: Vec<(NodeId, u32)> = self
                    .since
                    .keys()
                    .copied()
                    .filter(|(s, _)| *s == node)
                    .collect();
                for key in ended {
                    let (since, _) = self.since.remove(&key).expect("present");
                    self.longest_ns = self.longest_ns.max(now_ns - since);
                }
            }
            _ => {}
        }
    }

    /// Unavailabilities still open at `now_ns`: (lock, holder, since, length so far).
    pub fn open(&self, now_ns: u64) -> Vec<(u32, NodeId, u64, u64)> {
        self.since
            .iter()
            .map(|(&(_, lock), &(since, client))| (lock, client, since, now_ns - since))
            .collect()
    }
}

pub struct Liveness {
    shared: Rc<Shared>,
    state: Unavailability,
}

impl Liveness {
    pub fn new(shared: Rc<Shared>) -> Self {
        Liveness {
            shared,
            state: Unavailability::default(),
        }
    }

    fn judge(
        &self,
        (lock, client, since, length): (u32, NodeId, u64, u64),
        still: bool,
    ) -> Result<(), String> {
        let max = self.shared.options.max_unavailable.0;
        if length <= max {
            return Ok(());
        }
        Err(format!(
            "lock-{lock} was held by {}, which crashed at {}, and {} unavailable for {} \
             (max_unavailable {}){}",
            self.shared.names[client as usize],
            format_ns(since),
            if still { "has been" } else { "stayed" },
            format_ns(length),
            format_ns(max),
            if still { ": nothing will free it" } else { "" }
        ))
    }
}

impl Checker<LockNode> for Liveness {
    fn name(&self) -> &'static str {
        "liveness"
    }

    fn on_observation(
        &mut self,
        now_ns: u64,
        node: NodeId,
        obs: &LockObservation,
    ) -> Result<(), String> {
        match self.state.observe(now_ns, node, obs) {
            Some(done) => self.judge(done, false),
            None => Ok(()),
        }
    }

    fn on_lifecycle(&mut self, now_ns: u64, node: NodeId, event: Lifecycle) {
        let shared = self.shared.clone();
        self.state.lifecycle(now_ns, node, event, &shared);
    }

    fn on_finish(
        &mut self,
        now_ns: u64,
        _cluster: &dyn ClusterView<LockNode>,
    ) -> Result<(), String> {
        self.state
            .open(now_ns)
            .into_iter()
            .try_for_each(|u| self.judge(u, true))
    }
}
