//! `durability`: what a participant acknowledged survives its crashes.
//!
//! At the end, from each participant's disk: every commit it acknowledged is logged (an
//! acknowledged abort may have left no record: under presumed abort, none means abort), and
//! each key it acknowledged a commit for holds the value of the last such commit (commits
//! of one key at one participant are serialised by its locks, so their order is the order
//! of acknowledgement). Committed writes are readable after any crash and restart.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::two_pc::{logged_outcome, CommitNode, CommitObservation, CommitRecord, Shared, TxId};
use sim_core::checker::{Checker, ClusterView};
use sim_core::NodeId;

pub struct Durability {
    shared: Rc<Shared>,
    acked: BTreeMap<NodeId, BTreeMap<TxId, bool>>,
    last_value: BTreeMap<NodeId, BTreeMap<u32, (TxId, u64)>>,
}

impl Durability {
    pub fn new(shared: Rc<Shared>) -> Self {
        Durability {
            shared,
            acked: BTreeMap::new(),
            last_value: BTreeMap::new(),
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
        if let CommitObservation::Acknowledged { tx, commit, writes } = obs {
            if self
                .acked
                .entry(node)
                .or_default()
                .insert(*tx, *commit)
                .is_none()
                && *commit
            {
                for &(k, v) in writes {
                    self.last_value.entry(node).or_default().insert(k, (*tx, v));
                }
            }
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
            for (&key, &(tx, value)) in self.last_value.get(&p).into_iter().flatten() {
                let held = match s.get(&format!("v/{key}")) {
                    Some(CommitRecord::Value(v)) => Some(*v),
                    _ => None,
                };
                if held != Some(value) {
                    return Err(format!(
                        "{}: key {key} should hold the value of transaction {} (acknowledged), but holds {:?}",
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
