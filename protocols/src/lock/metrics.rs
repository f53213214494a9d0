//! What a lock run reports: acquisitions, latency, throughput, hold times, unavailability.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::{json, Value};

use super::{LockNode, LockObservation, Shared};
use crate::lock::liveness::Unavailability;
use sim_core::NodeId;
use sim_core::{ClusterView, Lifecycle, Metrics};

pub struct LockMetrics {
    shared: Rc<Shared>,
    asking: BTreeMap<(NodeId, u64), u64>,
    holding: BTreeMap<(NodeId, u64), u64>,
    acquire_ns: Vec<u64>,
    hold_ns: Vec<u64>,
    acquisitions: u64,
    lease_lost: u64,
    increments: u64,
    accepted: u64,
    rejected_stale: u64,
    conflicts: u64,
    counters: BTreeMap<u32, u64>,
    unavailable: Unavailability,
    end_ns: u64,
}

impl LockMetrics {
    pub fn new(shared: Rc<Shared>) -> Self {
        LockMetrics {
            shared,
            asking: BTreeMap::new(),
            holding: BTreeMap::new(),
            acquire_ns: Vec::new(),
            hold_ns: Vec::new(),
            acquisitions: 0,
            lease_lost: 0,
            increments: 0,
            accepted: 0,
            rejected_stale: 0,
            conflicts: 0,
            counters: BTreeMap::new(),
            unavailable: Unavailability::default(),
            end_ns: 0,
        }
    }
}

fn ms(ns: u64) -> f64 {
    (ns as f64 / 1e3).round() / 1e3
}

fn summary(mut v: Vec<u64>) -> Value {
    if v.is_empty() {
        return json!(null);
    }
    v.sort_unstable();
    let at = |p: f64| ms(v[((v.len() - 1) as f64 * p).round() as usize]);
    json!({ "p50": at(0.5), "p99": at(0.99), "max": at(1.0), "mean": ms(v.iter().sum::<u64>() / v.len() as u64) })
}

impl Metrics<LockNode> for LockMetrics {
    fn on_observation(&mut self, now_ns: u64, node: NodeId, obs: &LockObservation) {
        self.end_ns = now_ns;
        self.unavailable.observe(now_ns, node, obs);
        match *obs {
            LockObservation::Asking { hold, .. } => {
                self.asking.insert((node, hold), now_ns);
            }
            LockObservation::Acquired { hold, .. } => {
                self.acquisitions += 1;
                if let Some(t) = self.asking.remove(&(node, hold)) {
                    self.acquire_ns.push(now_ns - t);
                }
                self.holding.insert((node, hold), now_ns);
            }
            LockObservation::Let { hold, expired, .. } => {
                self.lease_lost += expired as u64;
                if let Some(t) = self.holding.remove(&(node, hold)) {
                    self.hold_ns.push(now_ns - t);
                }
            }
            LockObservation::WriteAccepted { lock, value, .. } => {
                self.accepted += 1;
                self.counters.insert(lock, value);
            }
            LockObservation::WriteRejected { stale_token, .. } => {
                if stale_token {
                    self.rejected_stale += 1;
                } else {
                    self.conflicts += 1;
                }
            }
            LockObservation::Incremented { .. } => self.increments += 1,
            LockObservation::Granted { .. }
            | LockObservation::Freed { .. }
            | LockObservation::ReadServed { .. } => {}
        }
    }

    fn on_lifecycle(&mut self, now_ns: u64, node: NodeId, event: Lifecycle) {
        let shared = self.shared.clone();
        self.unavailable.lifecycle(now_ns, node, event, &shared);
    }

    fn report(&self, end_ns: u64, _cluster: &dyn ClusterView<LockNode>) -> BTreeMap<String, Value> {
        let longest = self
            .unavailable
            .open(end_ns)
            .iter()
            .map(|u| u.3)
            .fold(self.unavailable.longest_ns, u64::max);
        let secs = end_ns.max(1) as f64 / 1e9;
        let mut m = BTreeMap::new();
        m.insert(
            "variant".into(),
            json!(format!("{:?}", self.shared.options.variant).to_lowercase()),
        );
        m.insert("acquisitions".into(), json!(self.acquisitions));
        m.insert(
            "acquire_latency_ms".into(),
            summary(self.acquire_ns.clone()),
        );
        m.insert("hold_ms".into(), summary(self.hold_ns.clone()));
        m.insert("leases_lost".into(), json!(self.lease_lost));
        m.insert("increments_acked".into(), json!(self.increments));
        m.insert(
            "increments_per_s".into(),
            json!((self.increments as f64 / secs * 10.0).round() / 10.0),
        );
        m.insert("writes_accepted".into(), json!(self.accepted));
        m.insert(
            "writes_rejected_stale_token".into(),
            json!(self.rejected_stale),
        );
        m.insert("write_conflicts".into(), json!(self.conflicts));
        m.insert(
            "counters".into(),
            json!(self.counters.values().collect::<Vec<_>>()),
        );
        m.insert("unavailable_max_ms".into(), json!(ms(longest)));
        m
    }
}
