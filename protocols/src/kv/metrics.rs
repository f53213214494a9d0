//! What a key-value run reports: balance, movement, migrations, operations, load over time.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde_json::{json, Value};

use super::{final_membership, stored_values, KvNode, KvObservation, Shared};
use sim_core::NodeId;
use sim_core::{ClusterView, Metrics};

struct Migration {
    epoch: u64,
    members: u32,
    joined: bool,
    started_ns: u64,
    settled_ns: Option<u64>,
    keys_moved: u64,
    /// Distinct keys written before the change: what there was to move.
    keys_stored: u64,
}

pub struct KvMetrics {
    shared: Rc<Shared>,
    served: Vec<u64>,
    /// Requests served per interval, per storage node.
    timeline: Vec<Vec<u64>>,
    issued: BTreeMap<(NodeId, u64), u64>,
    latencies_ns: Vec<u64>,
    writes: u64,
    reads: u64,
    retries: u64,
    redirects: u64,
    not_ready: u64,
    written: BTreeSet<u32>,
    migrations: Vec<Migration>,
}

impl KvMetrics {
    pub fn new(shared: Rc<Shared>) -> Self {
        let n = shared.storage_nodes as usize;
        KvMetrics {
            shared,
            served: vec![0; n],
            timeline: Vec::new(),
            issued: BTreeMap::new(),
            latencies_ns: Vec::new(),
            writes: 0,
            reads: 0,
            retries: 0,
            redirects: 0,
            not_ready: 0,
            written: BTreeSet::new(),
            migrations: Vec::new(),
        }
    }

    fn acked(&mut self, now_ns: u64, node: NodeId, req: u64) {
        if let Some(t) = self.issued.remove(&(node, req)) {
            self.latencies_ns.push(now_ns - t);
        }
    }
}

/// max/mean and stddev/mean (coefficient of variation) of `loads`.
fn spread(loads: &[f64]) -> (f64, f64) {
    let n = loads.len().max(1) as f64;
    let mean = loads.iter().sum::<f64>() / n;
    if mean == 0.0 {
        return (0.0, 0.0);
    }
    let max = loads.iter().copied().fold(0.0, f64::max);
    let var = loads.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (max / mean, var.sqrt() / mean)
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    round(sorted[i] as f64 / 1e6, 3)
}

impl Metrics<KvNode> for KvMetrics {
    fn on_observation(&mut self, now_ns: u64, node: NodeId, obs: &KvObservation) {
        match *obs {
            KvObservation::Issued { req, .. } => {
                self.issued.insert((node, req), now_ns);
            }
            KvObservation::WriteAcked { req, .. } => {
                self.writes += 1;
                self.acked(now_ns, node, req);
            }
            KvObservation::ReadReturned { req, .. } => {
                self.reads += 1;
                self.acked(now_ns, node, req);
            }
            KvObservation::Retried {
                redirected,
                not_ready,
            } => {
                self.retries += 1;
                self.redirects += redirected as u64;
                self.not_ready += not_ready as u64;
            }
            KvObservation::Served { .. } => {
                self.served[node as usize] += 1;
                let slot = (now_ns / self.shared.options.load_interval.0) as usize;
                if self.timeline.len() <= slot {
                    self.timeline.resize(slot + 1, vec![0; self.served.len()]);
                }
                self.timeline[slot][node as usize] += 1;
            }
            KvObservation::WriteAccepted { key, .. } => {
                self.written.insert(key);
            }
            KvObservation::Moved { epoch, keys } => {
                if let Some(m) = self.migrations.iter_mut().find(|m| m.epoch == epoch) {
                    m.keys_moved += keys as u64;
                }
            }
            KvObservation::EpochStarted {
                epoch,
                members,
                joined,
            } => self.migrations.push(Migration {
                epoch,
                members,
                joined,
                started_ns: now_ns,
                settled_ns: None,
                keys_moved: 0,
                keys_stored: self.written.len() as u64,
            }),
            KvObservation::EpochSettled { epoch } => {
                if let Some(m) = self.migrations.iter_mut().find(|m| m.epoch == epoch) {
                    m.settled_ns = Some(now_ns);
                }
            }
        }
    }

    fn report(&self, _end_ns: u64, cluster: &dyn ClusterView<KvNode>) -> BTreeMap<String, Value> {
        let s = &self.shared;
        let (epoch, members, settled) =
            final_membership(cluster, s).unwrap_or((0, Vec::new(), false));
        let keys_per_node: Vec<u64> = (0..s.storage_nodes)
            .map(|n| stored_values(cluster, n).len() as u64)
            .collect();
        let member_keys: Vec<f64> = members
            .iter()
            .map(|&m| keys_per_node[m as usize] as f64)
            .collect();
        let member_served: Vec<f64> = members
            .iter()
            .map(|&m| self.served[m as usize] as f64)
            .collect();
        let (keys_max, keys_cv) = spread(&member_keys);
        let (req_max, req_cv) = spread(&member_served);
        let mut lat = self.latencies_ns.clone();
        lat.sort_unstable();
        let migrations: Vec<Value> = self
            .migrations
            .iter()
            .map(|m| {
                // A join moves at least 1/(n after); a leave at least 1/(n before) = 1/(n after + 1).
                let ideal = if m.joined {
                    1.0 / m.members as f64
                } else {
                    1.0 / (m.members + 1) as f64
                };
                let fraction = if m.keys_stored > 0 {
                    m.keys_moved as f64 / m.keys_stored as f64
                } else {
                    0.0
                };
                json!({
                    "epoch": m.epoch,
                    "change": if m.joined { "join" } else { "leave" },
                    "members_after": m.members,
                    "keys_moved": m.keys_moved,
                    "keys_stored": m.keys_stored,
                    "fraction_moved": round(fraction, 4),
                    "ideal_fraction": round(ideal, 4),
                    "started_ns": m.started_ns,
                    "duration_ms": m.settled_ns.map(|t| round((t - m.started_ns) as f64 / 1e6, 3)),
                })
            })
            .collect();
        let names: Vec<&str> = (0..s.storage_nodes)
            .map(|n| s.names[n as usize].as_str())
            .collect();
        let mut out = BTreeMap::new();
        out.insert("epoch".into(), json!(epoch));
        out.insert("migration_settled".into(), json!(settled));
        out.insert(
            "members".into(),
            json!(members
                .iter()
                .map(|&m| names[m as usize])
                .collect::<Vec<_>>()),
        );
        out.insert("writes_acked".into(), json!(self.writes));
        out.insert("reads_acked".into(), json!(self.reads));
        out.insert("retries".into(), json!(self.retries));
        out.insert("redirects".into(), json!(self.redirects));
        out.insert("not_ready".into(), json!(self.not_ready));
        out.insert("latency_ms_p50".into(), json!(percentile_ms(&lat, 0.5)));
        out.insert("latency_ms_p99".into(), json!(percentile_ms(&lat, 0.99)));
        out.insert("latency_ms_max".into(), json!(percentile_ms(&lat, 1.0)));
        out.insert("keys_max_over_mean".into(), json!(round(keys_max, 4)));
        out.insert("keys_cv".into(), json!(round(keys_cv, 4)));
        out.insert("requests_max_over_mean".into(), json!(round(req_max, 4)));
        out.insert("requests_cv".into(), json!(round(req_cv, 4)));
        out.insert("keys_per_node".into(), json!(keys_per_node));
        out.insert("requests_per_node".into(), json!(self.served));
        out.insert("migrations".into(), json!(migrations));
        out.insert(
            "load_timeline".into(),
            json!({
                "interval_ns": s.options.load_interval.0,
                "nodes": names,
                "served": self.timeline,
                "changes": self.migrations.iter().map(|m| json!({
                    "epoch": m.epoch,
                    "started_ns": m.started_ns,
                    "settled_ns": m.settled_ns,
                    "change": if m.joined { "join" } else { "leave" },
                })).collect::<Vec<_>>(),
            }),
        );
        out
    }
}
