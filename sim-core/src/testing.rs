//! A small protocol for the engine's own unit tests: the engine knows no real protocol.
//!
//! `Relay(nodes: N, hops: H)`: nodes `n0` … each start a token that goes round the ring
//! for `H` hops. The `progress` invariant: every node that is up at the end has received
//! at least one token.

use serde::{Deserialize, Serialize};

use crate::checker::{Checker, ClusterView};
use crate::protocol::Protocol;
use crate::scenario::registry::Registry;
use crate::scenario::section::{Family, ProtocolOptions};
use crate::{Context, Node, NodeId, TimerId};

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
        Relay(self.clone())
    }

    fn families(&self) -> Vec<Family<Self>> {
        vec![Family::of(self, "n", self.nodes, 2, |o, n| o.nodes = n)]
    }
}

/// A registry of the relay alone.
pub fn registry() -> Registry {
    Registry::new().with::<RelayOptions>()
}

pub struct Relay(RelayOptions);

pub struct RelayNode {
    hops: u32,
}

impl Node for RelayNode {
    type Message = u32;
    type Observation = ();
    type Record = ();
    type Timer = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let next = (ctx.id() + 1) % ctx.node_count();
        ctx.send(next, 0);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, hop: u32) {
        ctx.observe(());
        if hop + 1 < self.hops {
            let next = (ctx.id() + 1) % ctx.node_count();
            ctx.send(next, hop + 1);
        }
    }

    fn on_timer(&mut self, _: &mut Context<'_, Self>, _: TimerId, _: u64) {}
}

impl Protocol for Relay {
    type Node = RelayNode;

    fn name(&self) -> &'static str {
        "relay"
    }

    fn node_names(&self) -> Vec<String> {
        (0..self.0.nodes).map(|i| format!("n{i}")).collect()
    }

    fn make_node(&self, _id: NodeId) -> RelayNode {
        RelayNode { hops: self.0.hops }
    }

    fn invariant_names(&self) -> &'static [&'static str] {
        &["progress"]
    }

    fn checker(&self, name: &str) -> Option<Box<dyn Checker<RelayNode>>> {
        (name == "progress").then(|| {
            Box::new(Progress {
                received: vec![false; self.0.nodes as usize],
            }) as Box<dyn Checker<RelayNode>>
        })
    }
}

struct Progress {
    received: Vec<bool>,
}

impl Checker<RelayNode> for Progress {
    fn name(&self) -> &'static str {
        "progress"
    }

    fn on_observation(&mut self, _: u64, node: NodeId, _: &()) -> Result<(), String> {
        self.received[node as usize] = true;
        Ok(())
    }

    fn on_finish(&mut self, _: u64, cluster: &dyn ClusterView<RelayNode>) -> Result<(), String> {
        for (id, got) in self.received.iter().enumerate() {
            if !got && cluster.node(id as NodeId).is_some() {
                return Err(format!(
                    "{} never received a token",
                    cluster.name(id as NodeId)
                ));
            }
        }
        Ok(())
    }
}
