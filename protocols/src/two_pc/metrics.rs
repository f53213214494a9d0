//! What a commit run reports: outcomes, latency, cost per transaction, blocking.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::{json, Value};

use super::{CommitNode, CommitObservation, Shared, TxId};
use sim_core::NodeId;
use sim_core::{ClusterView, Metrics};

pub struct CommitMetrics {
    shared: Rc<Shared>,
    submitted: BTreeMap<TxId, u64>,
    commit_latency_ns: Vec<u64>,
    committed: u64,
    aborted: u64,
    /// (tx, participant) → when it voted yes, until it learned the outcome.
    prepared: BTreeMap<(TxId, NodeId), u64>,
    blocked_ns: Vec<u64>,
}

impl CommitMetrics {
    pub fn new(shared: Rc<Shared>) -> Self {
        CommitMetrics {
            shared,
            submitted: BTreeMap::new(),
            commit_latency_ns: Vec::new(),
            committed: 0,
            aborted: 0,
            prepared: BTreeMap::new(),
            blocked_ns: Vec::new(),
        }
    }
}

fn ms(ns: u64) -> f64 {
    (ns as f64 / 1e3).round() / 1e3
}

/// Latency buckets for the histogram: upper bounds in milliseconds.
pub const LATENCY_BUCKETS_MS: [f64; 12] = [
    2.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
    200.0,
    500.0,
    1000.0,
    2000.0,
    5000.0,
    f64::INFINITY,
];

impl Metrics<CommitNode> for CommitMetrics {
    fn on_observation(&mut self, now_ns: u64, node: NodeId, obs: &CommitObservation) {
        match *obs {
            CommitObservation::Submitted { req: tx } => {
                self.submitted.entry(tx).or_insert(now_ns);
            }
            CommitObservation::Finished { req: tx, committed } => {
                if committed {
                    self.committed += 1;
                    if let Some(t) = self.submitted.remove(&tx) {
                        self.commit_latency_ns.push(now_ns - t);
                    }
                } else {
                    self.aborted += 1;
                    self.submitted.remove(&tx);
                }
            }
            CommitObservation::Voted { tx, yes: true } => {
                self.prepared.insert((tx, node), now_ns);
            }
            CommitObservation::Outcome { tx, .. } => {
                if let Some(t) = self.prepared.remove(&(tx, node)) {
                    self.blocked_ns.push(now_ns - t);
                }
            }
            _ => {}
        }
    }

    fn report(
        &self,
        end_ns: u64,
        cluster: &dyn ClusterView<CommitNode>,
    ) -> BTreeMap<String, Value> {
        let finished = (self.committed + self.aborted).max(1) as f64;
        let syncs: u64 = std::iter::once(Shared::COORDINATOR)
            .chain(self.shared.participants())
            .map(|n| cluster.storage(n).syncs())
            .sum();
        // Prepared at the end with no outcome on disk: in doubt, still blocked.
        let mut in_doubt = 0u64;
        let mut blocked: Vec<u64> = self.blocked_ns.clone();
        for (&(_, _), &since) in &self.prepared {
            blocked.push(end_ns - since);
        }
        for p in self.shared.participants() {
            let s = cluster.storage(p);
            in_doubt += s
                .entries()
                .filter_map(|(k, _)| k.strip_prefix("prepared/")?.parse::<TxId>().ok())
                .filter(|&tx| super::in_doubt(s, tx))
                .count() as u64;
        }
        let mut lat = self.commit_latency_ns.clone();
        lat.sort_unstable();
        let pct = |v: &[u64], p: f64| {
            if v.is_empty() {
                0.0
            } else {
                ms(v[((v.len() - 1) as f64 * p).round() as usize])
            }
        };
        let mut histogram = vec![0u64; LATENCY_BUCKETS_MS.len()];
        for &l in &lat {
            let x = l as f64 / 1e6;
            let i = LATENCY_BUCKETS_MS
                .iter()
                .position(|&b| x <= b)
                .unwrap_or(LATENCY_BUCKETS_MS.len() - 1);
            histogram[i] += 1;
        }
        blocked.sort_unstable();
        let mut m = BTreeMap::new();
        m.insert(
            "variant".into(),
            json!(format!("{:?}", self.shared.options.variant).to_lowercase()),
        );
        m.insert("committed".into(), json!(self.committed));
        m.insert("aborted".into(), json!(self.aborted));
        m.insert("in_doubt".into(), json!(in_doubt));
        m.insert(
            "commit_latency_ms".into(),
            json!({ "p50": pct(&lat, 0.5), "p99": pct(&lat, 0.99), "max": pct(&lat, 1.0) }),
        );
        m.insert(
            "commit_latency_histogram".into(),
            json!({ "upper_ms": LATENCY_BUCKETS_MS.iter().map(|b| if b.is_finite() { json!(b) } else { json!(null) }).collect::<Vec<_>>(), "counts": histogram }),
        );
        m.insert(
            "messages_per_tx".into(),
            json!((cluster.messages().sent as f64 / finished * 100.0).round() / 100.0),
        );
        m.insert(
            "log_syncs_per_tx".into(),
            json!((syncs as f64 / finished * 100.0).round() / 100.0),
        );
        m.insert(
            "blocked_ms_max".into(),
            json!(ms(blocked.last().copied().unwrap_or(0))),
        );
        m.insert("blocked_ms_total".into(), json!(ms(blocked.iter().sum())));
        m.insert("blocked_ms_p99".into(), json!(pct(&blocked, 0.99)));
        m
    }
}
