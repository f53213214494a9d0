//! What a run of elections reports: campaigns, terms won, and how long the cluster had no
//! leader before its first one.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sim_core::NodeId;
use sim_core::{ClusterView, Metrics};

use crate::node::{ElectionNode, Observation};

#[derive(Default)]
pub struct ElectionMetrics {
    campaigns: u64,
    terms_won: u64,
    highest_term: u64,
    first_leader_ns: Option<u64>,
}

impl Metrics<ElectionNode> for ElectionMetrics {
    fn on_observation(&mut self, now_ns: u64, _node: NodeId, observation: &Observation) {
        match *observation {
            Observation::Campaign { term } => {
                self.campaigns += 1;
                self.highest_term = self.highest_term.max(term);
            }
            Observation::Leader { .. } => {
                self.terms_won += 1;
                self.first_leader_ns.get_or_insert(now_ns);
            }
        }
    }

    fn report(&self, _end_ns: u64, _: &dyn ClusterView<ElectionNode>) -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("campaigns".to_string(), json!(self.campaigns)),
            ("terms_won".to_string(), json!(self.terms_won)),
            ("highest_term".to_string(), json!(self.highest_term)),
            (
                "first_leader_ms".to_string(),
                json!(self.first_leader_ns.map(|ns| ns as f64 / 1e6)),
            ),
        ])
    }
}
