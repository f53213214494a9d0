//! `validity`: the coordinator commits only if every participant voted yes.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::two_pc::{CommitNode, CommitObservation, Shared, TxId};
use sim_core::Checker;
use sim_core::NodeId;

pub struct Validity {
    shared: Rc<Shared>,
    votes: BTreeMap<TxId, BTreeMap<NodeId, bool>>,
}

impl Validity {
    pub fn new(shared: Rc<Shared>) -> Self {
        Validity {
            shared,
            votes: BTreeMap::new(),
        }
    }
}

impl Checker<CommitNode> for Validity {
    fn name(&self) -> &'static str {
        "validity"
    }

    fn on_observation(
        &mut self,
        _now_ns: u64,
        node: NodeId,
        obs: &CommitObservation,
    ) -> Result<(), String> {
        match obs {
            CommitObservation::Voted { tx, yes } => {
                self.votes.entry(*tx).or_default().insert(node, *yes);
            }
            CommitObservation::Decided {
                tx,
                commit: true,
                participants,
            } => {
                let votes = self.votes.get(tx);
                for p in participants {
                    match votes.and_then(|v| v.get(p)) {
                        Some(true) => {}
                        other => {
                            return Err(format!(
                                "transaction {} was committed, but {} {}",
                                self.shared.tx_name(*tx),
                                self.shared.names[*p as usize],
                                if other.is_some() {
                                    "voted no"
                                } else {
                                    "never voted"
                                }
                            ))
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
