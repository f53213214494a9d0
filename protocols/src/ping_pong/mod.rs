//! Ping-pong: the engine's own workout.
//!
//! N nodes pass tokens around: each delivered token is answered to a random peer, one hop
//! further. Tokens die to loss, partitions and crashes, so a node that has heard nothing
//! for `idle_timeout` (on its own clock) starts a new one. It exercises every part of the
//! engine (network, timers, node randomness, faults) with almost no protocol cost, which
//! makes it the benchmark workload, and its liveness invariant (`progress`: every live node
//! keeps hearing from its peers) shows what partitions and pauses do to a cluster.

pub mod progress;

use std::collections::BTreeMap;
use std::num::NonZeroU64;

use serde::Deserialize;

use crate::ping_pong::progress::Progress;
use scenario::at_most;
use scenario::ProtocolOptions;
use scenario::{knob, Family};
use sim_core::Duration;
use sim_core::NodeId;
use sim_core::Protocol;
use sim_core::NODES_MAX;
use sim_core::{Checker, ClusterView, Lifecycle, Metrics};
use sim_core::{Context, Node, TimerId};

/// The `PingPong(...)` section of a scenario.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, try_from = "PingPongSpec")]
pub struct PingPongOptions {
    /// Cluster size; nodes are named n0, n1, ...
    pub nodes: u32,
    /// Tokens each node starts with.
    pub tokens_per_node: u32,
    /// A node that has heard nothing for this long (local clock) starts a new token.
    pub idle_timeout: Duration,
    /// The `progress` invariant: a live node must hear from a peer at least this often.
    pub max_silence: Duration,
}

impl Default for PingPongOptions {
    fn default() -> Self {
        PingPongOptions {
            nodes: 4,
            tokens_per_node: 1,
            idle_timeout: Duration::from_ms(100),
            max_silence: Duration::from_secs(1),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PingPongSpec {
    nodes: u32,
    #[serde(default = "one")]
    tokens_per_node: u32,
    #[serde(default = "default_idle")]
    idle_timeout: Duration,
    #[serde(default = "default_silence")]
    max_silence: Duration,
}

fn one() -> u32 {
    1
}
fn default_idle() -> Duration {
    PingPongOptions::default().idle_timeout
}
fn default_silence() -> Duration {
    PingPongOptions::default().max_silence
}

impl TryFrom<PingPongSpec> for PingPongOptions {
    type Error = String;
    fn try_from(s: PingPongSpec) -> Result<Self, String> {
        if s.nodes < 2 {
            return Err(format!(
                "ping-pong needs a cluster of at least 2 nodes, got nodes: {}",
                s.nodes
            ));
        }
        at_most("nodes:", s.nodes.into(), NODES_MAX as u64)?;
        let tokens = u64::from(s.nodes) * u64::from(s.tokens_per_node);
        at_most("nodes × tokens_per_node =", tokens, 4_000_000)?;
        if s.idle_timeout.0 == 0 {
            return Err("idle_timeout must be longer than zero".into());
        }
        if s.max_silence <= s.idle_timeout {
            return Err(format!(
                "max_silence ({}) must be longer than idle_timeout ({}): a node only checks \
                 its silence when its idle timer fires",
                s.max_silence, s.idle_timeout
            ));
        }
        Ok(PingPongOptions {
            nodes: s.nodes,
            tokens_per_node: s.tokens_per_node,
            idle_timeout: s.idle_timeout,
            max_silence: s.max_silence,
        })
    }
}

impl ProtocolOptions for PingPongOptions {
    const NAME: &'static str = "PingPong";
    type Protocol = PingPong;

    fn build(&self) -> PingPong {
        PingPong::new(self.clone())
    }

    fn smaller(&self) -> Vec<Vec<(String, Self)>> {
        vec![
            knob(self, "nodes", self.nodes, 2, |o, v| o.nodes = v),
            knob(self, "tokens_per_node", self.tokens_per_node, 1, |o, v| {
                o.tokens_per_node = v
            }),
        ]
    }

    fn families(&self) -> Vec<Family<Self>> {
        vec![Family::of(self, "n", self.nodes, 2, |o, n| o.nodes = n)]
    }
}

/// The protocol.
#[derive(Clone, Debug)]
pub struct PingPong {
    options: PingPongOptions,
}

impl PingPong {
    pub fn new(options: PingPongOptions) -> Self {
        PingPong { options }
    }
}

/// A token, `hop` deliveries old, first sent by `origin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ping {
    pub origin: NodeId,
    pub hop: u32,
}

/// What a ping-pong node reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observation {
    /// A token arrived.
    Received { hop: u32 },
    /// The idle timer fired; `silent_ns` is how long (local clock) since anything arrived.
    Tick,
    /// The node started a new token because it had heard nothing.
    Injected,
}

pub struct PingPongNode {
    /// Of the options, only what a node reads (a million nodes each holding all of them
    /// would hold 16 MB more). Never zero, which lets a crashed node's `None` take no
    /// room of its own in the engine's slot: 24 bytes a node, not 32.
    idle_timeout_ns: NonZeroU64,
    tokens: u32,
    last_heard_local_ns: u64,
}

impl PingPongNode {
    fn pass_on(&self, ctx: &mut Context<'_, Self>, ping: Ping) {
        let peer = ctx.random_peer();
        ctx.send(peer, ping);
    }
}

impl Node for PingPongNode {
    type Message = Ping;
    type Observation = Observation;
    type Record = ();
    type Timer = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.last_heard_local_ns = ctx.now();
        for _ in 0..self.tokens {
            let ping = Ping {
                origin: ctx.id(),
                hop: 0,
            };
            self.pass_on(ctx, ping);
        }
        ctx.set_timer(self.idle_timeout_ns.get(), 0);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, msg: Ping) {
        self.last_heard_local_ns = ctx.now();
        ctx.observe(Observation::Received { hop: msg.hop });
        self.pass_on(
            ctx,
            Ping {
                origin: msg.origin,
                hop: msg.hop + 1,
            },
        );
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: TimerId, _tag: u64) {
        ctx.observe(Observation::Tick);
        let silent = ctx.now().saturating_sub(self.last_heard_local_ns);
        if silent >= self.idle_timeout_ns.get() {
            ctx.observe(Observation::Injected);
            self.last_heard_local_ns = ctx.now();
            let ping = Ping {
                origin: ctx.id(),
                hop: 0,
            };
            self.pass_on(ctx, ping);
        }
        ctx.set_timer(self.idle_timeout_ns.get(), 0);
    }
}

pub const INVARIANTS: &[&str] = &["progress"];

impl Protocol for PingPong {
    type Node = PingPongNode;

    fn name(&self) -> &'static str {
        "ping_pong"
    }

    fn node_names(&self) -> Vec<String> {
        (0..self.options.nodes).map(|i| format!("n{i}")).collect()
    }

    fn make_node(&self, _id: NodeId) -> PingPongNode {
        PingPongNode {
            // Scenarios refuse a zero idle_timeout; options built in code get 1 ns.
            idle_timeout_ns: NonZeroU64::new(self.options.idle_timeout.0)
                .unwrap_or(NonZeroU64::MIN),
            tokens: self.options.tokens_per_node,
            last_heard_local_ns: 0,
        }
    }

    fn invariant_names(&self) -> &'static [&'static str] {
        INVARIANTS
    }

    fn checker(&self, name: &str) -> Option<Box<dyn Checker<PingPongNode>>> {
        match name {
            "progress" => Some(Box::new(Progress::new(
                self.options.nodes as usize,
                self.options.max_silence.0,
            ))),
            _ => None,
        }
    }

    fn metrics(&self) -> Box<dyn Metrics<PingPongNode>> {
        Box::new(PingPongMetrics {
            received: vec![0; self.options.nodes as usize],
            ..PingPongMetrics::default()
        })
    }
}

#[derive(Default)]
struct PingPongMetrics {
    received: Vec<u64>,
    hop_max: u32,
    injected: u64,
    crashes: u64,
}

impl Metrics<PingPongNode> for PingPongMetrics {
    fn on_observation(&mut self, _now_ns: u64, node: NodeId, obs: &Observation) {
        match *obs {
            Observation::Received { hop } => {
                self.received[node as usize] += 1;
                self.hop_max = self.hop_max.max(hop);
            }
            Observation::Injected => self.injected += 1,
            Observation::Tick => {}
        }
    }

    fn on_lifecycle(&mut self, _now_ns: u64, _node: NodeId, event: Lifecycle) {
        if event == Lifecycle::Crashed {
            self.crashes += 1;
        }
    }

    fn report(
        &self,
        _end_ns: u64,
        _cluster: &dyn ClusterView<PingPongNode>,
    ) -> BTreeMap<String, serde_json::Value> {
        let total: u64 = self.received.iter().sum();
        let max = self.received.iter().copied().max().unwrap_or(0);
        let mean = total as f64 / self.received.len().max(1) as f64;
        let mut m = BTreeMap::new();
        m.insert("tokens_received".into(), total.into());
        m.insert("tokens_injected".into(), self.injected.into());
        m.insert("hop_max".into(), self.hop_max.into());
        m.insert("crashes".into(), self.crashes.into());
        let ratio = if mean > 0.0 { max as f64 / mean } else { 0.0 };
        m.insert(
            "received_max_over_mean".into(),
            serde_json::json!((ratio * 1000.0).round() / 1000.0),
        );
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_24_bytes_up_or_down() {
        // What a million of them cost (README, "Performance"); a crashed one is `None`.
        assert_eq!(std::mem::size_of::<Option<PingPongNode>>(), 24);
    }
}
