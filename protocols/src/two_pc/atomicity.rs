//! `atomicity`: no transaction commits at one participant and aborts at another.
//!
//! While the run goes: the first participant to commit and the first to abort the same
//! transaction are a violation at once. At the end, from the participants' disks: every
//! transaction committed anywhere is committed, or still prepared (uncertain, so it will
//! commit when it learns), at every participant it names. A participant with no record at
//! all lost its part (the seed article's naive "2PC", which has no log, does this), unless
//! the writes are still on their way to it: a run cut off by its time limit while a
//! transaction's messages fly has not broken atomicity yet, and `dsim shrink`, which cuts
//! time limits, must not be able to turn that into a failure.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::two_pc::{
    in_doubt, logged_outcome, CommitMessage, CommitNode, CommitObservation, CommitRecord, Shared,
    TxId,
};
use sim_core::format_ns;
use sim_core::NodeId;
use sim_core::{Checker, ClusterView};

pub struct Atomicity {
    shared: Rc<Shared>,
    outcomes: BTreeMap<TxId, BTreeMap<NodeId, (bool, u64)>>,
}

impl Atomicity {
    pub fn new(shared: Rc<Shared>) -> Self {
        Atomicity {
            shared,
            outcomes: BTreeMap::new(),
        }
    }
}

impl Checker<CommitNode> for Atomicity {
    fn name(&self) -> &'static str {
        "atomicity"
    }

    fn on_observation(
        &mut self,
        now_ns: u64,
        node: NodeId,
        obs: &CommitObservation,
    ) -> Result<(), String> {
        if let CommitObservation::Outcome { tx, commit, .. } = *obs {
            let seen = self.outcomes.entry(tx).or_default();
            if let Some((&other, &(_, at))) = seen.iter().find(|(_, &(c, _))| c != commit) {
                let names = &self.shared.names;
                let (yes, no, yes_at, no_at) = if commit {
                    (node, other, now_ns, at)
                } else {
                    (other, node, at, now_ns)
                };
                return Err(format!(
                    "transaction {}: committed at {} ({}) but aborted at {} ({})",
                    self.shared.tx_name(tx),
                    names[yes as usize],
                    format_ns(yes_at),
                    names[no as usize],
                    format_ns(no_at)
                ));
            }
            seen.insert(node, (commit, now_ns));
        }
        Ok(())
    }

    fn on_finish(
        &mut self,
        _now_ns: u64,
        cluster: &dyn ClusterView<CommitNode>,
    ) -> Result<(), String> {
        let names = &self.shared.names;
        let in_flight = cluster.in_flight();
        // The writes of `tx` are on their way to `q`. Even if `q` is down now, it may be up
        // again when they arrive: only a run that goes on can tell.
        let on_its_way = |q: NodeId, tx: TxId| {
            in_flight.iter().any(|&(_, to, m)| {
                to == q && matches!(m, CommitMessage::Execute { tx: t, .. } if *t == tx)
            })
        };
        for p in self.shared.participants() {
            let committed: Vec<(TxId, Vec<NodeId>)> = cluster
                .storage(p)
                .entries()
                .filter_map(|(k, r)| match (k.strip_prefix("outcome/"), r) {
                    (Some(tx), CommitRecord::Committed { participants }) => {
                        Some((tx.parse().ok()?, participants.clone()))
                    }
                    _ => None,
                })
                .collect();
            for (tx, participants) in committed {
                for &q in &participants {
                    let s = cluster.storage(q);
                    let outcome = logged_outcome(s, tx);
                    if outcome != Some(true) && !in_doubt(s, tx) && !on_its_way(q, tx) {
                        let has: Vec<&str> = participants
                            .iter()
                            .filter(|&&r| logged_outcome(cluster.storage(r), tx) == Some(true))
                            .map(|&r| names[r as usize].as_str())
                            .collect();
                        let what = if outcome == Some(false) {
                            "aborted it"
                        } else {
                            "has no record of it"
                        };
                        return Err(format!(
                            "transaction {}: committed at {} but {} {what}; the participants diverge",
                            self.shared.tx_name(tx),
                            has.join(", "),
                            names[q as usize]
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
