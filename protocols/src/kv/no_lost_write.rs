//! `no_lost_write`: an acknowledged write is never lost, during or after migration.
//!
//! Two checks. While the run goes: a read returns at least the latest write whose
//! acknowledgement reached its client before the read was issued (and that write's value,
//! if the versions are equal) — so reads during a migration still find the latest
//! acknowledged value. At the end, if the last membership change has settled: each key's
//! owner holds, on disk, a version at least as new as the latest acknowledged write, with
//! its value. (If the run ended mid-migration, only the first check applies; the summary's
//! `migration_settled` metric says so.)

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::kv::{final_membership, stored_values, KvNode, KvObservation, Shared};
use sim_core::format_ns;
use sim_core::NodeId;
use sim_core::{Checker, ClusterView};

pub struct NoLostWrite {
    shared: Rc<Shared>,
    /// Per key, acknowledged writes in increasing version: (ack time, version, value).
    acked: BTreeMap<u32, Vec<(u64, u64, u64)>>,
    /// Reads in flight: (client, request) → issue time.
    reads: BTreeMap<(NodeId, u64), u64>,
}

impl NoLostWrite {
    pub fn new(shared: Rc<Shared>) -> Self {
        NoLostWrite {
            shared,
            acked: BTreeMap::new(),
            reads: BTreeMap::new(),
        }
    }
}

impl Checker<KvNode> for NoLostWrite {
    fn name(&self) -> &'static str {
        "no_lost_write"
    }

    fn on_observation(
        &mut self,
        now_ns: u64,
        node: NodeId,
        obs: &KvObservation,
    ) -> Result<(), String> {
        match *obs {
            KvObservation::Issued {
                req, write: false, ..
            } => {
                self.reads.insert((node, req), now_ns);
            }
            KvObservation::WriteAcked {
                key,
                version,
                value,
                ..
            } => {
                let history = self.acked.entry(key).or_default();
                if history.last().is_none_or(|&(_, v, _)| version > v) {
                    history.push((now_ns, version, value));
                }
            }
            KvObservation::ReadReturned {
                req,
                key,
                version,
                value,
            } => {
                let Some(issued) = self.reads.remove(&(node, req)) else {
                    return Ok(());
                };
                let Some(history) = self.acked.get(&key) else {
                    return Ok(());
                };
                // The newest write acknowledged before the read was issued.
                let before = history.partition_point(|&(t, _, _)| t < issued);
                if before == 0 {
                    return Ok(());
                }
                let (acked_at, v, x) = history[before - 1];
                let client = &self.shared.names[node as usize];
                if version < v || (version == v && value != Some(x)) {
                    return Err(format!(
                        "{client} read key-{key} (issued at {}) and got version {version} ({value:?}), \
                         but version {v} (value {x}) had been acknowledged at {}",
                        format_ns(issued),
                        format_ns(acked_at)
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn on_finish(&mut self, _now_ns: u64, cluster: &dyn ClusterView<KvNode>) -> Result<(), String> {
        let Some((epoch, members, true)) = final_membership(cluster, &self.shared) else {
            return Ok(());
        };
        let owners = self.shared.owners(&members);
        let mut stored: BTreeMap<NodeId, BTreeMap<u32, (u64, u64)>> = BTreeMap::new();
        for (&key, history) in &self.acked {
            let &(acked_at, v, x) = history.last().expect("non-empty");
            let owner = owners[key as usize];
            let held = stored
                .entry(owner)
                .or_insert_with(|| stored_values(cluster, owner));
            let ok = held
                .get(&key)
                .is_some_and(|&(hv, hx)| hv > v || (hv == v && hx == x));
            if !ok {
                return Err(format!(
                    "key-{key}: version {v} (value {x}) was acknowledged at {}, but its owner in epoch \
                     {epoch}, {}, holds {:?}",
                    format_ns(acked_at),
                    self.shared.names[owner as usize],
                    held.get(&key)
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{Kv, KvOptions};
    use placement::Scheme;

    fn shared() -> Rc<Shared> {
        let options: KvOptions =
            crate::tests_support::kv_options("nodes: 2, clients: 1, keys: 10, scheme: Mod");
        assert_eq!(options.scheme, Scheme::Mod);
        Kv::new(options).shared().clone()
    }

    #[test]
    fn a_read_older_than_an_acknowledged_write_is_a_violation() {
        let mut c = NoLostWrite::new(shared());
        let client = 2;
        c.on_observation(
            10,
            client,
            &KvObservation::WriteAcked {
                req: 1,
                key: 4,
                version: 3,
                value: 77,
            },
        )
        .unwrap();
        c.on_observation(
            20,
            client,
            &KvObservation::Issued {
                req: 2,
                key: 4,
                write: false,
            },
        )
        .unwrap();
        let err = c
            .on_observation(
                30,
                client,
                &KvObservation::ReadReturned {
                    req: 2,
                    key: 4,
                    version: 2,
                    value: Some(5),
                },
            )
            .unwrap_err();
        assert!(err.contains("key-4") && err.contains("version 3"), "{err}");
        // A read issued before the acknowledgement may return the older value.
        c.on_observation(
            5,
            client,
            &KvObservation::Issued {
                req: 3,
                key: 4,
                write: false,
            },
        )
        .unwrap();
        c.on_observation(
            40,
            client,
            &KvObservation::ReadReturned {
                req: 3,
                key: 4,
                version: 2,
                value: Some(5),
            },
        )
        .unwrap();
        // Same version, other value: a different write wearing the same version.
        c.on_observation(
            50,
            client,
            &KvObservation::Issued {
                req: 4,
                key: 4,
                write: false,
            },
        )
        .unwrap();
        assert!(c
            .on_observation(
                60,
                client,
                &KvObservation::ReadReturned {
                    req: 4,
                    key: 4,
                    version: 3,
                    value: Some(8)
                }
            )
            .is_err());
    }
}
