//! The engine's test relay (`sim_core::testing::Relay`) as a scenario section,
//! `Relay(nodes: N, hops: H)`, for this crate's tests.

use serde::{Deserialize, Serialize};
use sim_core::testing::Relay;

use crate::{Family, ProtocolOptions, Registry};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RelaySpec")]
pub struct RelayOptions {
    pub nodes: u32,
    pub hops: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RelaySpec {
    nodes: u32,
    #[serde(default = "default_hops")]
    hops: u32,
}

fn default_hops() -> u32 {
    10
}

impl TryFrom<RelaySpec> for RelayOptions {
    type Error = String;
    fn try_from(s: RelaySpec) -> Result<Self, String> {
        if s.nodes < 2 {
            return Err(format!("a relay needs at least 2 nodes, got {}", s.nodes));
        }
        Ok(RelayOptions {
            nodes: s.nodes,
            hops: s.hops,
        })
    }
}

impl ProtocolOptions for RelayOptions {
    const NAME: &'static str = "Relay";
    type Protocol = Relay;

    fn build(&self) -> Relay {
        Relay {
            nodes: self.nodes,
            hops: self.hops,
        }
    }

    fn families(&self) -> Vec<Family<Self>> {
        vec![Family::of(self, "n", self.nodes, 2, |o, n| o.nodes = n)]
    }
}

/// A registry of the relay alone.
pub fn registry() -> Registry {
    Registry::new().with::<RelayOptions>()
}
