//! The engine's promises, checked through a small probe protocol: what a pause, a crash,
//! a partition, a drifting clock and the limits do to nodes.

use std::collections::BTreeMap;

use sim_core::Protocol;
use sim_core::NS_PER_MS;
use sim_core::{Checker, ClusterView, Metrics};
use sim_core::{
    Context, Fault, FaultOrigin, Node, NodeId, SimOptions, Simulation, StopReason, TimerId,
};

const SEND_TICK: u64 = 1;
const LONG_TIMER: u64 = 99;

/// Node 0 sends a numbered message to node 1 every millisecond; node 1 writes one synced
/// and one unsynced record at start and sets a long timer. Everything is reported.
struct Probe {
    nodes: u32,
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Got {
        from: NodeId,
        seq: u64,
        local_ns: u64,
    },
    Timer {
        tag: u64,
    },
    Restarted {
        keys: Vec<String>,
    },
}

struct ProbeNode {
    seq: u64,
}

impl Node for ProbeNode {
    type Message = u64;
    type Observation = Seen;
    type Record = String;
    type Timer = u64;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.id() == 0 {
            ctx.set_timer(NS_PER_MS, SEND_TICK);
        }
        if ctx.id() == 1 {
            ctx.storage().put("synced", "yes".to_string());
            ctx.storage().sync();
            ctx.storage().put("unsynced", "yes".to_string());
            ctx.set_timer(100 * NS_PER_MS, LONG_TIMER);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, seq: u64) {
        let local_ns = ctx.now();
        ctx.observe(Seen::Got {
            from,
            seq,
            local_ns,
        });
        if ctx.id() == 1 && ctx.node_count() > 2 {
            ctx.send(2, seq);
        }
        if ctx.id() == 2 {
            ctx.send(0, seq);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: TimerId, tag: u64) {
        ctx.observe(Seen::Timer { tag });
        if tag == SEND_TICK {
            self.seq += 1;
            ctx.send(1, self.seq);
            ctx.set_timer(NS_PER_MS, SEND_TICK);
        }
    }

    fn on_restart(&mut self, ctx: &mut Context<'_, Self>) {
        let keys = ctx.storage().entries().map(|(k, _)| k.clone()).collect();
        ctx.observe(Seen::Restarted { keys });
    }
}

/// Records every observation with its virtual time, in a shared log the test reads.
struct Log(std::rc::Rc<std::cell::RefCell<Vec<(u64, NodeId, Seen)>>>);

impl Checker<ProbeNode> for Log {
    fn name(&self) -> &'static str {
        "log"
    }
    fn on_observation(&mut self, now_ns: u64, node: NodeId, obs: &Seen) -> Result<(), String> {
        self.0.borrow_mut().push((now_ns, node, obs.clone()));
        Ok(())
    }
}

thread_local! {
    static IN_FLIGHT: std::cell::RefCell<Vec<(NodeId, NodeId, u64)>> = Default::default();
}

/// Records what the cluster view says is still in flight when the run ends.
struct InFlightAtEnd;

impl Checker<ProbeNode> for InFlightAtEnd {
    fn name(&self) -> &'static str {
        "in_flight"
    }
    fn on_finish(&mut self, _: u64, cluster: &dyn ClusterView<ProbeNode>) -> Result<(), String> {
        let mut seen: Vec<(NodeId, NodeId, u64)> = cluster
            .in_flight()
            .into_iter()
            .map(|(from, to, &seq)| (from, to, seq))
            .collect();
        seen.sort_unstable();
        IN_FLIGHT.with(|v| *v.borrow_mut() = seen);
        Ok(())
    }
}

struct NoMetrics;
impl Metrics<ProbeNode> for NoMetrics {
    fn report(
        &self,
        _: u64,
        _: &dyn ClusterView<ProbeNode>,
    ) -> BTreeMap<String, serde_json::Value> {
        BTreeMap::new()
    }
}

thread_local! {
    static LOG: std::rc::Rc<std::cell::RefCell<Vec<(u64, NodeId, Seen)>>> = Default::default();
}

impl Protocol for Probe {
    type Node = ProbeNode;
    fn name(&self) -> &'static str {
        "probe"
    }
    fn node_names(&self) -> Vec<String> {
        (0..self.nodes).map(|i| format!("p{i}")).collect()
    }
    fn make_node(&self, _id: NodeId) -> ProbeNode {
        ProbeNode { seq: 0 }
    }
    fn invariant_names(&self) -> &'static [&'static str] {
        &["log", "in_flight"]
    }
    fn checker(&self, name: &str) -> Option<Box<dyn Checker<ProbeNode>>> {
        match name {
            "in_flight" => Some(Box::new(InFlightAtEnd)),
            _ => Some(Box::new(Log(LOG.with(|l| l.clone())))),
        }
    }
    fn metrics(&self) -> Box<dyn Metrics<ProbeNode>> {
        Box::new(NoMetrics)
    }
}

fn options() -> SimOptions {
    SimOptions {
        seed: 11,
        time_limit_ns: 200 * NS_PER_MS,
        link: sim_core::LinkOptions {
            latency: sim_core::Latency::Constant(sim_core::Duration(NS_PER_MS / 2)),
            loss: 0.0,
            duplicate: 0.0,
        },
        ..SimOptions::default()
    }
}

fn take_log() -> Vec<(u64, NodeId, Seen)> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

fn received_by(log: &[(u64, NodeId, Seen)], node: NodeId) -> Vec<(u64, u64)> {
    log.iter()
        .filter_map(|(t, n, s)| match s {
            Seen::Got { seq, .. } if *n == node => Some((*t, *seq)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_paused_node_handles_nothing_until_it_resumes_then_everything_in_order() {
    take_log();
    let mut sim = Simulation::new(Probe { nodes: 2 }, options());
    sim.run_until(10 * NS_PER_MS);
    sim.pause(1, 50 * NS_PER_MS);
    let outcome = sim.run();
    let got = received_by(&take_log(), 1);
    let (pause_start, resume) = (10 * NS_PER_MS, 60 * NS_PER_MS);
    assert!(
        got.iter().all(|(t, _)| *t <= pause_start || *t >= resume),
        "handled a message while paused"
    );
    let at_resume: Vec<u64> = got
        .iter()
        .filter(|(t, _)| *t == resume)
        .map(|(_, s)| *s)
        .collect();
    assert!(
        at_resume.len() >= 45,
        "messages that arrived while paused wait: {}",
        at_resume.len()
    );
    assert!(
        at_resume.windows(2).all(|w| w[0] < w[1]),
        "and are handled in arrival order"
    );
    let seqs: Vec<u64> = got.iter().map(|(_, s)| *s).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "nothing lost without loss"
    );
    assert_eq!(outcome.messages.dropped, 0);
}

#[test]
fn a_crash_loses_volatile_state_unsynced_writes_timers_and_arriving_messages() {
    take_log();
    let mut sim = Simulation::new(Probe { nodes: 2 }, options());
    sim.run_until(20 * NS_PER_MS);
    assert_eq!(
        sim.storage(1).get("unsynced").map(String::as_str),
        Some("yes")
    );
    sim.crash(1);
    assert!(sim.node(1).is_none());
    sim.run_until(40 * NS_PER_MS);
    sim.restart(1);
    let outcome = sim.run();
    let log = take_log();
    let restarted: Vec<&Seen> = log
        .iter()
        .filter(|(_, n, s)| *n == 1 && matches!(s, Seen::Restarted { .. }))
        .map(|(_, _, s)| s)
        .collect();
    assert_eq!(
        restarted,
        [&Seen::Restarted {
            keys: vec!["synced".into()]
        }]
    );
    assert!(
        !log.iter()
            .any(|(_, _, s)| *s == Seen::Timer { tag: LONG_TIMER }),
        "a timer set before the crash never fires"
    );
    let got = received_by(&log, 1);
    assert!(got
        .iter()
        .all(|(t, _)| *t <= 20 * NS_PER_MS || *t >= 40 * NS_PER_MS));
    assert!(
        (18..=21).contains(&outcome.messages.dropped_crashed),
        "{:?}",
        outcome.messages
    );
    let kinds: Vec<(&str, FaultOrigin)> = outcome
        .faults
        .iter()
        .map(|f| (f.fault.kind(), f.origin))
        .collect();
    assert_eq!(
        kinds,
        [
            ("crash", FaultOrigin::Scheduled),
            ("restart", FaultOrigin::Scheduled)
        ]
    );
}

#[test]
fn a_one_way_partition_blocks_one_direction_only() {
    take_log();
    let mut sim = Simulation::new(Probe { nodes: 3 }, options());
    // 0 -> 1 -> 2 -> 0: cut 2 -> 0 only.
    sim.inject(Fault::PartitionOneWay {
        from: vec![2],
        to: vec![0],
    });
    let outcome = sim.run();
    let log = take_log();
    assert!(!received_by(&log, 1).is_empty() && !received_by(&log, 2).is_empty());
    assert!(received_by(&log, 0).is_empty(), "2 -> 0 is cut");
    assert!(outcome.messages.dropped_partition > 100);
}

#[test]
fn a_partition_cut_while_messages_fly_drops_them_on_arrival() {
    take_log();
    let mut sim = Simulation::new(Probe { nodes: 2 }, options());
    // A message sent at 10ms arrives at 10.5ms; cutting at 10.25ms loses it in flight.
    sim.run_until(10 * NS_PER_MS + NS_PER_MS / 4);
    sim.partition(vec![vec![0], vec![1]]);
    sim.run_until(20 * NS_PER_MS);
    sim.heal();
    let outcome = sim.run();
    let got: Vec<u64> = received_by(&take_log(), 1)
        .iter()
        .map(|(_, s)| *s)
        .collect();
    assert!(!got.contains(&10), "in flight when the link was cut");
    assert!(got.contains(&9) && got.contains(&21));
    assert!(outcome.messages.dropped_partition >= 10);
}

#[test]
fn clocks_drift_and_timers_follow_the_local_clock() {
    take_log();
    let mut opts = options();
    // Node 0's clock runs 25% fast: its 1ms send timer fires every 0.8ms of virtual time.
    opts.clocks = vec![(0, 0, 250_000), (1, 5 * NS_PER_MS as i64, 0)];
    opts.time_limit_ns = 80 * NS_PER_MS;
    let outcome = Simulation::new(Probe { nodes: 2 }, opts).run();
    let log = take_log();
    let sent = received_by(&log, 1).len();
    assert!(
        (98..=100).contains(&sent),
        "{sent} sends in 80ms at one per 0.8ms"
    );
    // Node 1 reads its own clock: 5ms ahead of virtual time.
    let (t, local) = log
        .iter()
        .find_map(|(t, n, s)| match s {
            Seen::Got { local_ns, .. } if *n == 1 => Some((*t, *local_ns)),
            _ => None,
        })
        .unwrap();
    assert_eq!(local, t + 5 * NS_PER_MS);
    assert_eq!(outcome.stop, StopReason::TimeLimit);
}

#[test]
fn limits_end_every_run() {
    take_log();
    let mut opts = options();
    opts.max_events = 25;
    let outcome = Simulation::new(Probe { nodes: 2 }, opts).run();
    assert_eq!((outcome.stop, outcome.events), (StopReason::EventLimit, 25));
    let outcome = Simulation::new(Probe { nodes: 2 }, options()).run();
    assert_eq!(
        (outcome.stop, outcome.end_time_ns),
        (StopReason::TimeLimit, 200 * NS_PER_MS)
    );
    take_log();
}

#[test]
fn same_seed_same_fingerprint_different_seed_different_fingerprint() {
    let run = |seed: u64, trace: bool| {
        let mut opts = options();
        opts.seed = seed;
        opts.link.latency = sim_core::Latency::Uniform {
            min: sim_core::Duration(100_000),
            max: sim_core::Duration(900_000),
        };
        opts.link.loss = 0.05;
        let mut sim = Simulation::new(Probe { nodes: 3 }, opts);
        if trace {
            sim.set_trace(Box::new(std::io::sink()));
        }
        let o = sim.run();
        take_log();
        o.fingerprint
    };
    assert_eq!(run(1, false), run(1, false));
    assert_eq!(
        run(1, false),
        run(1, true),
        "tracing does not change the run"
    );
    assert_ne!(run(1, false), run(2, false));
}

/// p0 sends seq k at k ms; each takes 0.5 ms. p1 freezes at 5 ms (and crashes at
/// `crash_ms`, if given); the run ends at 10.25 ms. What the end-of-run view had in flight.
fn in_flight_at_end(crash_ms: Option<u64>) -> Vec<(NodeId, NodeId, u64)> {
    take_log();
    let options = SimOptions {
        time_limit_ns: 10 * NS_PER_MS + NS_PER_MS / 4,
        ..options()
    };
    let mut sim = Simulation::new(Probe { nodes: 2 }, options);
    sim.run_until(5 * NS_PER_MS);
    sim.pause(1, 100 * NS_PER_MS);
    if let Some(ms) = crash_ms {
        sim.run_until(ms * NS_PER_MS);
        sim.crash(1);
    }
    sim.run();
    IN_FLIGHT.with(|v| v.borrow().clone())
}

#[test]
fn the_view_at_the_end_shows_messages_on_the_wire_and_in_a_paused_socket() {
    // Seqs 5..=9 wait in p1's socket buffer; seq 10 is still on the wire.
    let expected: Vec<(NodeId, NodeId, u64)> = (5..=10).map(|seq| (0, 1, seq)).collect();
    assert_eq!(in_flight_at_end(None), expected);
    // A crash empties the socket buffer: only the message on the wire is left.
    assert_eq!(in_flight_at_end(Some(8)), vec![(0, 1, 10)]);
}
