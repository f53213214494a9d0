//! `durability`: what a participant acknowledged survives its crashes.
//!
//! At the end, from each participant's disk: every commit it acknowledged is logged (an
//! acknowledged abort may have left no record: under presumed abort, none means abort), and
//! each key it acknowledged a commit for holds the value of the last commit it applied to
//! that key (commits of one key at one participant are serialised by its locks, so the
//! order they are applied in is their order). Committed writes are readable after any
//! crash and restart.
//!
//! The last commit applied, not the last acknowledged: a participant may apply a later
//! commit of the key without acknowledging it to anyone yet (under 3PC and cooperative
//! termination it can learn the outcome from a peer while the coordinator is down), and it
//! may acknowledge an earlier one late (a resent decision). Judging by acknowledgements
//! alone blamed p2 of 2pc-3pc-crash at seed 6781 for holding a newer committed value.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::two_pc::{logged_outcome, CommitNode, CommitObservation, CommitRecord, Shared, TxId};
use sim_core::NodeId;
use sim_core::{Checker, ClusterView};

pub struct Durability {
    shared: Rc<Shared>,
    acked: BTreeMap<NodeId, BTreeMap<TxId, bool>>,
    /// Keys each participant acknowledged a commit for: these it must keep.
    promised: BTreeMap<NodeId, BTreeSet<u32>>,
    /// The last commit each participant applied to each key, and its value.
    last_applied: BTreeMap<NodeId, BTreeMap<u32, (TxId, u64)>>,
}

impl Durability {
    pub fn new(shared: Rc<Shared>) -> Self {
        Durability {
            shared,
            acked: BTreeMap::new(),
            promised: BTreeMap::new(),
            last_applied: BTreeMap::new(),
        }
    }
}

impl Checker<CommitNode> for Durability {
    fn name(&self) -> &'static str {
        "durability"
    }

    fn on_observation(
        &mut self,
        _now_ns: u64,
        node: NodeId,
        obs: &CommitObservation,
    ) -> Result<(), String> {
        match obs {
            CommitObservation::Acknowledged { tx, commit, writes } => {
                self.acked.entry(node).or_default().insert(*tx, *commit);
                if *commit {
                    let keys = self.promised.entry(node).or_default();
                    keys.extend(writes.iter().map(|&(k, _)| k));
                }
            }
            CommitObservation::Outcome { tx, applied, .. } => {
                let last = self.last_applied.entry(node).or_default();
                for &(k, v) in applied {
                    last.insert(k, (*tx, v));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn on_finish(
        &mut self,
        _now_ns: u64,
        cluster: &dyn ClusterView<CommitNode>,
    ) -> Result<(), String> {
        let names = &self.shared.names;
        for (&p, txs) in &self.acked {
            let s = cluster.storage(p);
            for (&tx, &commit) in txs {
                let logged = logged_outcome(s, tx);
                let kept = if commit {
                    logged == Some(true)
                } else {
                    logged != Some(true)
                };
                if !kept {
                    return Err(format!(
                        "{} acknowledged {} of transaction {}, but its log says {:?}",
                        names[p as usize],
                        if commit { "the commit" } else { "the abort" },
                        self.shared.tx_name(tx),
                        logged
                    ));
                }
            }
            for &key in self.promised.get(&p).into_iter().flatten() {
                let Some(&(tx, value)) = self.last_applied.get(&p).and_then(|l| l.get(&key)) else {
                    continue; // unreachable: an acknowledged commit was applied first
                };
                let held = match s.get(&format!("v/{key}")) {
                    Some(CommitRecord::Value(v)) => Some(*v),
                    _ => None,
                };
                if held != Some(value) {
                    return Err(format!(
                        "{}: key {key} should hold the value of transaction {} (the last \
                         commit applied to it, after one acknowledged), but holds {:?}",
                        names[p as usize],
                        self.shared.tx_name(tx),
                        held
                    ));
                }
            }
        }
        Ok(())
    }
}
