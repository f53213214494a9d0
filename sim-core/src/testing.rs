//! A small protocol for tests of the engine and of what is built on it (the engine knows
//! no real protocol); with the `testing` feature, other crates' tests use it too.
//!
//! [`Relay`]: nodes `n0` … each start a token that goes round the ring for `hops` hops.
//! The `progress` invariant: every node that is up at the end has received at least one
//! token.

use crate::{Checker, ClusterView, Context, Node, NodeId, Protocol, TimerId};

/// The relay: `nodes` nodes, each token going `hops` hops.
#[derive(Clone, Debug, PartialEq)]
pub struct Relay {
    pub nodes: u32,
    pub hops: u32,
}

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
        (0..self.nodes).map(|i| format!("n{i}")).collect()
    }

    fn make_node(&self, _id: NodeId) -> RelayNode {
        RelayNode { hops: self.hops }
    }

    fn invariant_names(&self) -> &'static [&'static str] {
        &["progress"]
    }

    fn checker(&self, name: &str) -> Option<Box<dyn Checker<RelayNode>>> {
        (name == "progress").then(|| {
            Box::new(Progress {
                received: vec![false; self.nodes as usize],
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
