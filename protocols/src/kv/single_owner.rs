//! `single_owner`: no key has two owners.
//!
//! While the run goes: in any one epoch, writes to a key are accepted by one node only (two
//! nodes accepting writes for the same key in the same epoch is split brain). At the end, if
//! the last membership change has settled: each key is stored on its owner and nowhere else
//! (a copy left behind on a node that handed the key over is a stale second owner).

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::kv::{final_membership, stored_values, KvNode, KvObservation, Shared};
use sim_core::NodeId;
use sim_core::{Checker, ClusterView};

pub struct SingleOwner {
    shared: Rc<Shared>,
    writers: BTreeMap<(u32, u64), NodeId>,
}

impl SingleOwner {
    pub fn new(shared: Rc<Shared>) -> Self {
        SingleOwner {
            shared,
            writers: BTreeMap::new(),
        }
    }
}

impl Checker<KvNode> for SingleOwner {
    fn name(&self) -> &'static str {
        "single_owner"
    }

    fn on_observation(
        &mut self,
        _now_ns: u64,
        node: NodeId,
        obs: &KvObservation,
    ) -> Result<(), String> {
        if let KvObservation::WriteAccepted { key, epoch, .. } = *obs {
            let first = *self.writers.entry((key, epoch)).or_insert(node);
            if first != node {
                let names = &self.shared.names;
                return Err(format!(
                    "key-{key}: both {} and {} accepted writes in epoch {epoch}",
                    names[first as usize], names[node as usize]
                ));
            }
        }
        Ok(())
    }

    fn on_finish(&mut self, _now_ns: u64, cluster: &dyn ClusterView<KvNode>) -> Result<(), String> {
        let Some((epoch, members, true)) = final_membership(cluster, &self.shared) else {
            return Ok(());
        };
        let owners = self.shared.owners(&members);
        for node in 0..self.shared.storage_nodes {
            for key in stored_values(cluster, node).keys() {
                let owner = owners[*key as usize];
                if owner != node {
                    let names = &self.shared.names;
                    return Err(format!(
                        "key-{key} is stored on {}, but its owner in epoch {epoch} is {}: a stale second copy",
                        names[node as usize], names[owner as usize]
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::Kv;

    #[test]
    fn two_nodes_accepting_writes_for_one_key_in_one_epoch_is_a_violation() {
        let options =
            crate::tests_support::kv_options("nodes: 2, clients: 1, keys: 10, scheme: Mod");
        let mut c = SingleOwner::new(Kv::new(options).shared().clone());
        let w = |epoch| KvObservation::WriteAccepted {
            key: 1,
            epoch,
            version: 1,
            value: 1,
        };
        c.on_observation(1, 0, &w(1)).unwrap();
        c.on_observation(2, 0, &w(1)).unwrap();
        c.on_observation(3, 1, &w(2)).unwrap(); // a new epoch, a new owner: fine
        let err = c.on_observation(4, 1, &w(1)).unwrap_err();
        assert!(err.contains("both s0 and s1"), "{err}");
    }
}
