//! A per-link override: a scenario's latency, loss or duplication for one direction of one
//! link, by node name.

use serde::{Deserialize, Serialize};
use sim_core::{Latency, Probability};

use crate::types::NodeName;

/// A per-link override in a scenario: applies to messages from `from` to `to` only.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOverrideSpec {
    pub from: NodeName,
    pub to: NodeName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<Probability>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<Probability>,
}
