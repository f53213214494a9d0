//! The event loop: one thread, one virtual clock, one queue of pending events.
//!
//! Events are ordered by (virtual time, insertion sequence), so two events due at the same
//! nanosecond always run in the order they were scheduled, on every run and every machine.
//! Nothing here reads the wall clock, spawns a thread or iterates a hash table: every
//! decision comes from the seed, so a run is a pure function of (scenario, seed, version).
//!
//! The loop pops the earliest event, hands it to the node it concerns through a
//! [`Context`], then applies what the handler asked for: sends go through the
//! [`PacketSimulator`], timers go into the queue, observations go to the checkers. The
//! buffers for those effects live as long as the simulation, so the hot path allocates
//! nothing per event (message values are moved, never boxed).

use std::collections::BTreeMap;
use std::io::Write;

use crate::checker::{Checker, ClusterView, Lifecycle, Metrics, Violation};
use crate::faults::{AppliedFault, Fault, FaultOrigin, TimedFault};
use crate::fingerprint::Fingerprint;
use crate::names::NodeNames;
use crate::nemesis::{ClusterState, Nemesis, NemesisOptions, StrikeKind};
use crate::network::{DropReason, LinkOptions, MessageStats, PacketSimulator, Route};
use crate::node::{Context, Effects, Node};
use crate::protocol::Protocol;
use crate::queue::EventQueue;
use crate::queue::{prefetch, prefetch_from_start};
use crate::random::{Random, Stream, StreamBuffer, StreamKey};
use crate::storage::Storage;
use crate::time::NodeClock;
use crate::timers::TimerId;
use crate::timers::TimerTable;
use crate::trace::TraceWriter;
use crate::NodeId;
use linearizability::Entry;

/// Everything about a run that is not the protocol: seed, limits, network, clocks, faults.
#[derive(Clone, Debug, PartialEq)]
pub struct SimOptions {
    pub seed: u64,
    /// The run stops when the next event is later than this.
    pub time_limit_ns: u64,
    /// The run stops after this many events.
    pub max_events: u64,
    /// The run stops when more events than this are pending: a workload that grows
    /// without bound (every message duplicated, say) ends cleanly instead of exhausting
    /// memory.
    pub pending_max: usize,
    /// Every link's behaviour, unless overridden in `links`.
    pub link: LinkOptions,
    /// Directed per-link overrides.
    pub links: Vec<(NodeId, NodeId, LinkOptions)>,
    /// Clocks that are not perfect: (node, offset ns, drift ppm).
    pub clocks: Vec<(NodeId, i64, i64)>,
    /// The scripted fault schedule.
    pub faults: Vec<TimedFault<NodeId>>,
    /// The random nemesis, its targets by id.
    pub nemesis: Option<NemesisOptions<NodeId>>,
    /// Which of the protocol's invariants to check (`None`: all of them).
    pub invariants: Option<Vec<String>>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 0,
            time_limit_ns: 60 * crate::time::NS_PER_S,
            max_events: u64::MAX,
            pending_max: PENDING_MAX_DEFAULT,
            link: LinkOptions::default(),
            links: Vec::new(),
            clocks: Vec::new(),
            faults: Vec::new(),
            nemesis: None,
            invariants: None,
        }
    }
}

/// Nodes in one cluster at most.
pub const NODES_MAX: usize = 1_000_000;

/// Pending events at most, unless a scenario's `limits.pending` says otherwise.
pub const PENDING_MAX_DEFAULT: usize = 4_000_000;

/// Events in a row at one virtual instant after which a run stops as stalled: virtual time
/// no longer advances (zero latency and zero-delay timers feeding each other, say).
pub const STALL_EVENTS_MAX: u64 = 10_000_000;

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// No event was left: every node is idle.
    Quiescent,
    /// The next event was later than the time limit.
    TimeLimit,
    /// The event limit was reached.
    EventLimit,
    /// An invariant was violated.
    Violation,
    /// More events were pending than `pending_max`.
    PendingLimit,
    /// Virtual time stopped advancing: `STALL_EVENTS_MAX` events in a row at one instant.
    Stalled,
}

/// What happened in a run.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub seed: u64,
    pub end_time_ns: u64,
    pub events: u64,
    pub stop: StopReason,
    pub messages: MessageStats,
    /// The invariants checked, in order.
    pub invariants: Vec<&'static str>,
    pub violation: Option<Violation>,
    pub fingerprint: u64,
    /// The clients' operations, in the order recorded (empty if no node records any).
    pub history: Vec<Entry>,
    pub metrics: std::collections::BTreeMap<String, serde_json::Value>,
    /// The concrete fault schedule: scripted and nemesis faults, in the order applied.
    pub faults: Vec<AppliedFault>,
    /// Set if writing the trace failed (the run itself is unaffected).
    pub trace_error: Option<String>,
}

enum Event<M> {
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: M,
    },
    /// What the timer carries waits in the timer table, which keeps this event (and so
    /// every queue entry) small.
    Timer {
        node: NodeId,
        incarnation: u32,
        timer: TimerId,
    },
    Fault {
        index: u32,
    },
    Resume {
        node: NodeId,
        pause: u32,
    },
    Strike(StrikeKind),
}

/// What the event loop touches for every event a node handles, kept together so one event
/// costs few cache lines: 80 bytes and the node's own state (104 for a ping-pong node).
/// What is rare lives in maps beside it: a disk is allocated on its first write, messages
/// deferred while a node is paused, clocks that are not perfect and pause counts are kept
/// by node id. A million nodes that never write, pause or drift cost 8 bytes each for
/// all of that.
struct NodeSlot<N: Node> {
    /// The process's volatile state; `None` while crashed.
    node: Option<N>,
    /// Where the node's random stream is (its seed is the run's, its number the node's).
    rng: StreamBuffer,
    /// Bumped at each crash, so timers set before it never fire after it.
    incarnation: u32,
    paused: bool,
    /// Its clock is not perfect: see `Simulation::clocks`. Otherwise local time is
    /// virtual time, the common case.
    skewed: bool,
}

/// How many events ahead the loop prefetches the node of (0: the next).
const PREFETCH_AHEAD: usize = 1;

/// The loop prefetches nodes only when their slots take more than this: below it they
/// stay in the processor's caches and looking ahead costs more than it saves.
const PREFETCH_ABOVE_BYTES: usize = 256 * 1024;

/// Above this the loop prefetches every line of a node's slot (see `prefetch_from_start`).
const PREFETCH_WHOLE_ABOVE_BYTES: usize = 4 << 20;

/// A node's disk: `None` until it first writes.
type Disk<R> = Option<Box<Storage<R>>>;

// Fingerprint codes for each kind of processed event.
const FP_DELIVER: u64 = 1;
const FP_DROP_CRASHED: u64 = 2;
const FP_DROP_PARTITION: u64 = 3;
const FP_TIMER: u64 = 4;
const FP_TIMER_STALE: u64 = 5;
const FP_DEFER: u64 = 6;
const FP_FAULT: u64 = 7;
const FP_RESUME: u64 = 8;
const FP_STRIKE: u64 = 9;

/// A simulated cluster running protocol `P`.
///
/// ```
/// use sim_core::{Context, Node, NodeId, Protocol, SimOptions, Simulation, TimerId};
///
/// /// Every node sends its successor a message every 10ms (on its own clock).
/// struct Ticker;
/// struct TickerNode;
///
/// impl Node for TickerNode {
///     type Message = ();
///     type Observation = ();
///     type Record = ();
///     type Timer = u64;
///     fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
///         ctx.set_timer(10_000_000, 0);
///     }
///     fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}
///     fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: TimerId, _: u64) {
///         let next = (ctx.id() + 1) % ctx.node_count();
///         ctx.send(next, ());
///         ctx.set_timer(10_000_000, 0);
///     }
/// }
///
/// impl Protocol for Ticker {
///     type Node = TickerNode;
///     fn name(&self) -> &'static str {
///         "ticker"
///     }
///     fn node_names(&self) -> Vec<String> {
///         vec!["a".into(), "b".into(), "c".into()]
///     }
///     fn make_node(&self, _: NodeId) -> TickerNode {
///         TickerNode
///     }
/// }
///
/// let mut sim = Simulation::new(Ticker, SimOptions {
///     seed: 7,
///     time_limit_ns: 2_000_000_000,
///     ..SimOptions::default()
/// });
/// sim.run_until(500_000_000);
/// sim.crash(1);
/// sim.run_until(1_000_000_000);
/// sim.restart(1);
/// let outcome = sim.run();
/// assert!(outcome.violation.is_none());
/// assert!(outcome.messages.dropped_crashed > 0);
/// ```
pub struct Simulation<P: Protocol> {
    protocol: P,
    names: NodeNames,
    nodes: Vec<NodeSlot<P::Node>>,
    disks: Vec<Disk<<P::Node as Node>::Record>>,
    /// What the disk of a node that never wrote looks like.
    empty_disk: Storage<<P::Node as Node>::Record>,
    /// Messages and timers that came due while a node was paused, in arrival order.
    deferred: BTreeMap<NodeId, Vec<Event<<P::Node as Node>::Message>>>,
    /// The clocks that are not perfect (their slots say `skewed`).
    clocks: BTreeMap<NodeId, NodeClock>,
    /// How many times each node was paused, so a stale resume does not end a later pause.
    pauses: BTreeMap<NodeId, u32>,
    queue: EventQueue<Event<<P::Node as Node>::Message>>,
    now_ns: u64,
    events: u64,
    seed: u64,
    /// The key of every random stream of the run (the seed's).
    key: StreamKey,
    time_limit_ns: u64,
    max_events: u64,
    pending_max: usize,
    /// Events in a row at the current virtual instant.
    same_instant: u64,
    network: PacketSimulator,
    effects: Effects<P::Node>,
    timers: TimerTable<<P::Node as Node>::Timer>,
    fault_table: Vec<(Fault<NodeId>, FaultOrigin)>,
    applied: Vec<AppliedFault>,
    nemesis: Option<Nemesis>,
    checkers: Vec<Box<dyn Checker<P::Node>>>,
    metrics: Box<dyn Metrics<P::Node>>,
    /// Whether anything looks at observations (a checker, the metrics, the trace): if
    /// not, contexts drop them.
    observed: bool,
    violation: Option<Violation>,
    /// The clients' operations, as recorded through their contexts.
    history: Vec<Entry>,
    fingerprint: Fingerprint,
    trace: Option<TraceWriter>,
    started: bool,
    /// Whether the loop prefetches the node of the event after next.
    prefetching: Prefetching,
}

/// How the loop prefetches the node of the event after next, by the size of the slots.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prefetching {
    /// They stay in the processor's caches: looking ahead costs more than it saves.
    Off,
    /// About the second-level cache's size: a line per 64 bytes from the slot's start.
    FromStart,
    /// Larger: every line the slot lies in.
    Whole,
}

impl<P: Protocol> Simulation<P> {
    /// Builds the cluster. Nothing runs until [`run`](Self::run) or
    /// [`run_until`](Self::run_until).
    pub fn new(protocol: P, options: SimOptions) -> Self {
        let names = NodeNames::new(protocol.node_names());
        Self::with_names(protocol, options, names)
    }

    /// [`new`](Self::new), with the protocol's node names made already (the scenario
    /// parser makes them once, to check the names a file refers to).
    pub fn with_names(protocol: P, options: SimOptions, names: NodeNames) -> Self {
        debug_assert!(
            names == protocol.node_names()[..],
            "the protocol's own names"
        );
        let n = names.len();
        let seed = options.seed;
        let mut network = PacketSimulator::new(n, options.link, Random::new(seed, Stream::Network));
        for (from, to, link) in options.links {
            network.set_link(from, to, link);
        }
        let mut nodes: Vec<NodeSlot<P::Node>> = (0..n as NodeId)
            .map(|id| NodeSlot {
                node: Some(protocol.make_node(id)),
                rng: StreamBuffer::default(),
                incarnation: 0,
                paused: false,
                skewed: false,
            })
            .collect();
        let disks = (0..n).map(|_| None).collect();
        let mut clocks = BTreeMap::new();
        for (id, offset_ns, drift_ppm) in options.clocks {
            nodes[id as usize].skewed = true;
            clocks.insert(id, NodeClock::new(offset_ns, drift_ppm));
        }
        let checkers: Vec<Box<dyn Checker<P::Node>>> = protocol
            .invariant_names()
            .iter()
            .filter(|name| {
                options
                    .invariants
                    .as_ref()
                    .is_none_or(|wanted| wanted.iter().any(|w| w == *name))
            })
            .filter_map(|name| protocol.checker(name))
            .collect();
        let nemesis = options.nemesis.map(|opts| {
            Nemesis::new(
                &opts,
                n as u32,
                options.time_limit_ns,
                Random::new(seed, Stream::Faults),
            )
        });
        let metrics = protocol.metrics();
        let observed =
            metrics.wants_observations() || checkers.iter().any(|c| c.wants_observations());
        let mut sim = Simulation {
            protocol,
            names,
            nodes,
            disks,
            empty_disk: Storage::default(),
            deferred: BTreeMap::new(),
            clocks,
            pauses: BTreeMap::new(),
            queue: EventQueue::new(),
            now_ns: 0,
            events: 0,
            seed,
            key: StreamKey::of(seed),
            time_limit_ns: options.time_limit_ns,
            max_events: options.max_events,
            pending_max: options.pending_max,
            same_instant: 0,
            network,
            effects: Effects::default(),
            timers: TimerTable::default(),
            fault_table: Vec::new(),
            applied: Vec::new(),
            nemesis,
            checkers,
            metrics,
            observed,
            violation: None,
            history: Vec::new(),
            fingerprint: Fingerprint::default(),
            trace: None,
            started: false,
            prefetching: match n * std::mem::size_of::<NodeSlot<P::Node>>() {
                bytes if bytes > PREFETCH_WHOLE_ABOVE_BYTES => Prefetching::Whole,
                bytes if bytes > PREFETCH_ABOVE_BYTES => Prefetching::FromStart,
                _ => Prefetching::Off,
            },
        };
        for tf in options.faults {
            sim.schedule_fault(tf.at.0, tf.fault, FaultOrigin::Scheduled);
        }
        sim
    }

    /// Streams the trace (JSON Lines) to `out`.
    pub fn set_trace(&mut self, out: Box<dyn Write>) {
        self.trace = Some(TraceWriter::new(out));
        // The trace shows every observation.
        self.observed = true;
    }

    /// Node `id`'s name.
    pub fn name(&self, id: NodeId) -> &str {
        &self.names[id as usize]
    }

    /// How many nodes the cluster has.
    pub fn node_count(&self) -> usize {
        self.names.len()
    }

    /// The current virtual time.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// The protocol this cluster runs.
    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    /// Message counters so far.
    pub fn message_stats(&self) -> MessageStats {
        self.network.stats
    }

    /// The node's state, or `None` while it is down.
    pub fn node(&self, id: NodeId) -> Option<&P::Node> {
        self.nodes[id as usize].node.as_ref()
    }

    /// The node's durable storage.
    pub fn storage(&self, id: NodeId) -> &Storage<<P::Node as Node>::Record> {
        self.disks[id as usize]
            .as_deref()
            .unwrap_or(&self.empty_disk)
    }

    // ---- Verbs: faults applied now, as if the scenario had scheduled them. ----

    pub fn crash(&mut self, node: NodeId) {
        self.start();
        self.apply_fault(Fault::Crash(node), FaultOrigin::Scheduled);
    }

    pub fn restart(&mut self, node: NodeId) {
        self.start();
        self.apply_fault(Fault::Restart(node), FaultOrigin::Scheduled);
    }

    pub fn pause(&mut self, node: NodeId, duration_ns: u64) {
        self.start();
        let duration = crate::time::Duration(duration_ns);
        self.apply_fault(Fault::Pause { node, duration }, FaultOrigin::Scheduled);
    }

    pub fn partition(&mut self, groups: Vec<Vec<NodeId>>) {
        self.start();
        self.apply_fault(Fault::Partition(groups), FaultOrigin::Scheduled);
    }

    pub fn heal(&mut self) {
        self.start();
        self.apply_fault(Fault::Heal, FaultOrigin::Scheduled);
    }

    /// Applies any fault now.
    pub fn inject(&mut self, fault: Fault<NodeId>) {
        self.start();
        self.apply_fault(fault, FaultOrigin::Scheduled);
    }

    // ---- Running. ----

    /// Runs every event due at or before `t_ns` (or until a limit or violation), then
    /// sets the clock to `t_ns`. Returns why it stopped early, if it did.
    pub fn run_until(&mut self, t_ns: u64) -> Option<StopReason> {
        self.start();
        let target = t_ns.min(self.time_limit_ns);
        loop {
            if let Some(stop) = self.step(target) {
                return Some(stop);
            }
            if self.queue.peek_time_ns().is_none_or(|t| t > target) {
                self.now_ns = self.now_ns.max(target);
                return (t_ns > self.time_limit_ns).then_some(StopReason::TimeLimit);
            }
        }
    }

    /// Runs to the end and reports what happened.
    pub fn run(mut self) -> RunOutcome {
        self.start();
        let stop = loop {
            if let Some(stop) = self.step(self.time_limit_ns) {
                break stop;
            }
            match self.queue.peek_time_ns() {
                None => break StopReason::Quiescent,
                Some(t) if t > self.time_limit_ns => {
                    self.now_ns = self.time_limit_ns;
                    break StopReason::TimeLimit;
                }
                Some(_) => {}
            }
        };
        self.finish(stop)
    }

    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        if let Some(nemesis) = self.nemesis.as_mut() {
            for kind in StrikeKind::ALL {
                if let Some(at) = nemesis.next_strike_ns(kind, 0) {
                    self.queue.push(at, Event::Strike(kind));
                }
            }
        }
        for id in 0..self.names.len() as NodeId {
            if let Some(t) = self.trace.as_mut() {
                t.begin(0, &self.names[id as usize], "start").end();
            }
            self.call(id, |node, ctx| node.on_start(ctx));
        }
    }

    /// Processes one event if one is due at or before `until_ns`; `Some` means stop.
    #[inline]
    fn step(&mut self, until_ns: u64) -> Option<StopReason> {
        if self.violation.is_some() {
            return Some(StopReason::Violation);
        }
        if self.events >= self.max_events {
            return Some(StopReason::EventLimit);
        }
        if self.queue.len() > self.pending_max {
            return Some(StopReason::PendingLimit);
        }
        if self.same_instant >= STALL_EVENTS_MAX {
            return Some(StopReason::Stalled);
        }
        if self.queue.peek_time_ns().is_none_or(|t| t > until_ns) {
            return None;
        }
        let (time_ns, event) = self.queue.take();
        if time_ns == self.now_ns {
            self.same_instant += 1;
        } else {
            self.same_instant = 0;
        }
        self.now_ns = time_ns;
        self.events += 1;
        self.fingerprint.add(time_ns);
        // With 100,000 nodes and more, the node of an event soon to come is rarely in
        // cache: ask for it now, while this one is handled.
        if self.prefetching != Prefetching::Off {
            if let Some(Event::Deliver { to: n, .. } | Event::Timer { node: n, .. }) =
                self.queue.peek_due(PREFETCH_AHEAD)
            {
                if let Some(slot) = self.nodes.get(*n as usize) {
                    match self.prefetching {
                        Prefetching::Whole => prefetch(slot),
                        _ => prefetch_from_start(slot),
                    }
                }
            }
        }
        self.dispatch(event);
        self.violation.is_some().then_some(StopReason::Violation)
    }

    #[inline]
    fn push(&mut self, time_ns: u64, event: Event<<P::Node as Node>::Message>) {
        self.queue.push(time_ns, event);
    }

    fn schedule_fault(&mut self, at_ns: u64, fault: Fault<NodeId>, origin: FaultOrigin) {
        let index = self.fault_table.len() as u32;
        self.fault_table.push((fault, origin));
        self.push(at_ns, Event::Fault { index });
    }

    fn dispatch(&mut self, event: Event<<P::Node as Node>::Message>) {
        match event {
            Event::Deliver { from, to, msg } => {
                let slot = &mut self.nodes[to as usize];
                if slot.node.is_none() {
                    self.drop_on_arrival(from, to, &msg, DropReason::Crashed);
                } else if !self.network.reachable(from, to) {
                    self.drop_on_arrival(from, to, &msg, DropReason::Partition);
                } else if slot.paused {
                    self.fingerprint.add(FP_DEFER);
                    self.deferred
                        .entry(to)
                        .or_default()
                        .push(Event::Deliver { from, to, msg });
                } else {
                    self.network.stats.delivered += 1;
                    self.fingerprint.add(FP_DELIVER);
                    self.fingerprint.add(((from as u64) << 32) | to as u64);
                    self.fingerprint.add_hash(&msg);
                    if let Some(t) = self.trace.as_mut() {
                        t.begin(self.now_ns, &self.names[to as usize], "deliver")
                            .str("from", &self.names[from as usize])
                            .debug("msg", &msg)
                            .end();
                    }
                    self.call(to, |node, ctx| node.on_message(ctx, from, msg));
                }
            }
            Event::Timer {
                node,
                incarnation,
                timer,
            } => {
                let slot = &mut self.nodes[node as usize];
                if slot.incarnation != incarnation || slot.node.is_none() {
                    // Set by an earlier life of the node: it died with it.
                    self.timers.take(timer);
                    self.fingerprint.add(FP_TIMER_STALE);
                } else if slot.paused {
                    self.fingerprint.add(FP_DEFER);
                    self.deferred.entry(node).or_default().push(Event::Timer {
                        node,
                        incarnation,
                        timer,
                    });
                } else if let Some(what) = self.timers.take(timer) {
                    self.fingerprint.add(FP_TIMER);
                    self.fingerprint
                        .add(((node as u64) << 32) ^ crate::fingerprint::of_value(&what));
                    if let Some(t) = self.trace.as_mut() {
                        t.begin(self.now_ns, &self.names[node as usize], "timer")
                            .debug("timer", &what)
                            .end();
                    }
                    self.call(node, |n, ctx| n.on_timer(ctx, timer, what));
                } else {
                    // Cancelled.
                    self.fingerprint.add(FP_TIMER_STALE);
                }
            }
            Event::Fault { index } => {
                let (fault, origin) = self.fault_table[index as usize].clone();
                self.apply_fault(fault, origin);
            }
            Event::Resume { node, pause } => {
                let slot = &mut self.nodes[node as usize];
                if slot.paused && self.pauses.get(&node) == Some(&pause) {
                    slot.paused = false;
                    let deferred = self.deferred.remove(&node).unwrap_or_default();
                    self.fingerprint.add(FP_RESUME);
                    self.fingerprint.add(node as u64);
                    if let Some(t) = self.trace.as_mut() {
                        t.begin(self.now_ns, &self.names[node as usize], "resume")
                            .num("deferred", deferred.len() as u64)
                            .end();
                    }
                    self.notify(node, Lifecycle::Resumed);
                    // What waited in the socket buffer is handled now, in arrival order.
                    for e in deferred {
                        self.push(self.now_ns, e);
                    }
                }
            }
            Event::Strike(kind) => {
                self.fingerprint.add(FP_STRIKE);
                let Some(mut nemesis) = self.nemesis.take() else {
                    return;
                };
                let strike = nemesis.strike(kind, &*self);
                let next = nemesis.next_strike_ns(kind, self.now_ns);
                self.nemesis = Some(nemesis);
                if let Some(strike) = strike {
                    if let Some((after_ns, undo)) = strike.undo {
                        self.schedule_fault(self.now_ns + after_ns, undo, FaultOrigin::Nemesis);
                    }
                    self.apply_fault(strike.fault, FaultOrigin::Nemesis);
                }
                if let Some(at) = next {
                    self.push(at, Event::Strike(kind));
                }
            }
        }
    }

    fn drop_on_arrival(
        &mut self,
        from: NodeId,
        to: NodeId,
        msg: &<P::Node as Node>::Message,
        reason: DropReason,
    ) {
        self.network.stats.count_drop(reason);
        self.fingerprint.add(match reason {
            DropReason::Crashed => FP_DROP_CRASHED,
            _ => FP_DROP_PARTITION,
        });
        self.fingerprint.add(((from as u64) << 32) | to as u64);
        if let Some(t) = self.trace.as_mut() {
            t.begin(self.now_ns, &self.names[to as usize], "drop")
                .str("from", &self.names[from as usize])
                .str("to", &self.names[to as usize])
                .str("reason", reason.as_str())
                .debug("msg", msg)
                .end();
        }
    }

    /// Runs a handler of node `id` (if it is up) and applies its effects.
    #[inline]
    fn call(&mut self, id: NodeId, f: impl FnOnce(&mut P::Node, &mut Context<'_, P::Node>)) {
        let slot = &mut self.nodes[id as usize];
        let Some(node) = slot.node.as_mut() else {
            return;
        };
        let mut ctx = Context {
            id,
            node_count: self.names.len() as u32,
            now_ns: self.now_ns,
            clock: if slot.skewed {
                self.clocks.get(&id)
            } else {
                None
            },
            key: &self.key,
            rng: &mut slot.rng,
            loaned: None,
            timers: &mut self.timers,
            observed: self.observed,
            storage: &mut self.disks[id as usize],
            effects: &mut self.effects,
        };
        f(node, &mut ctx);
        ctx.return_random();
        self.apply_effects(id);
    }

    fn apply_effects(&mut self, id: NodeId) {
        // One send is the common case (a reply, a forward): taken off the end, without
        // moving the list out and back.
        if self.effects.sends.len() == 1 {
            let (to, msg) = self.effects.sends.pop().expect("one send");
            self.send(id, to, msg);
        } else if !self.effects.sends.is_empty() {
            let mut sends = std::mem::take(&mut self.effects.sends);
            for (to, msg) in sends.drain(..) {
                self.send(id, to, msg);
            }
            self.effects.sends = sends;
        }

        if !self.effects.timers.is_empty() {
            self.apply_timers(id);
        }
        if !self.effects.observations.is_empty() {
            self.apply_observations(id);
        }
        if !self.effects.history.is_empty() {
            let now_ns = self.now_ns;
            if let Some(t) = self.trace.as_mut() {
                for event in &self.effects.history {
                    t.begin(now_ns, &self.names[id as usize], "record")
                        .num("process", event.process)
                        .str("type", event.kind.keyword())
                        .str("f", &event.f);
                    if let Some(key) = &event.key {
                        t.str("key", &key.to_string());
                    }
                    t.str("value", &event.value.to_string()).end();
                }
            }
            let recorded = self.effects.history.drain(..).map(|event| Entry {
                time_ns: now_ns,
                event,
            });
            self.history.extend(recorded);
        }
    }

    fn apply_timers(&mut self, id: NodeId) {
        let incarnation = self.nodes[id as usize].incarnation;
        let mut timers = std::mem::take(&mut self.effects.timers);
        for (timer, delay_ns) in timers.drain(..) {
            let at = self.now_ns.saturating_add(delay_ns);
            self.push(
                at,
                Event::Timer {
                    node: id,
                    incarnation,
                    timer,
                },
            );
        }
        self.effects.timers = timers;
    }

    fn apply_observations(&mut self, id: NodeId) {
        let mut observations = std::mem::take(&mut self.effects.observations);
        for obs in observations.drain(..) {
            if let Some(t) = self.trace.as_mut() {
                t.begin(self.now_ns, &self.names[id as usize], "observe")
                    .debug("what", &obs)
                    .end();
            }
            // Those that do not look at observations ignore them.
            self.metrics.on_observation(self.now_ns, id, &obs);
            for c in self.checkers.iter_mut() {
                if let Err(message) = c.on_observation(self.now_ns, id, &obs) {
                    if self.violation.is_none() {
                        self.violation = Some(Violation {
                            invariant: c.name().to_string(),
                            time_ns: self.now_ns,
                            node: Some(self.names[id as usize].to_string()),
                            message,
                        });
                    }
                }
            }
        }
        self.effects.observations = observations;
    }

    /// Inlined into `apply_effects`: 28 fewer instructions an event at 16 nodes (a call's
    /// frame and the message passed in memory), 0.38 to 0.37 s. It was slower while the
    /// queue still built events in a stack slot (see `ring_buffer`).
    #[inline(always)]
    fn send(&mut self, from: NodeId, to: NodeId, msg: <P::Node as Node>::Message) {
        debug_assert!(
            (to as usize) < self.names.len(),
            "send to unknown node {to}"
        );
        match self.network.route(from, to) {
            Route::Dropped(reason) => {
                if let Some(t) = self.trace.as_mut() {
                    t.begin(self.now_ns, &self.names[from as usize], "drop")
                        .str("from", &self.names[from as usize])
                        .str("to", &self.names[to as usize])
                        .str("reason", reason.as_str())
                        .debug("msg", &msg)
                        .end();
                }
            }
            Route::Delivered {
                latency_ns,
                duplicate_ns,
            } => {
                let at = self.now_ns + latency_ns;
                if let Some(t) = self.trace.as_mut() {
                    t.begin(self.now_ns, &self.names[from as usize], "send")
                        .str("to", &self.names[to as usize])
                        .debug("msg", &msg)
                        .num("deliver_at_ns", at);
                    if let Some(d) = duplicate_ns {
                        t.num("duplicate_at_ns", self.now_ns + d);
                    }
                    t.end();
                }
                match duplicate_ns {
                    None => self.push(at, Event::Deliver { from, to, msg }),
                    Some(d) => {
                        let copy = msg.clone();
                        self.push(at, Event::Deliver { from, to, msg });
                        let dup = Event::Deliver {
                            from,
                            to,
                            msg: copy,
                        };
                        self.push(self.now_ns + d, dup);
                    }
                }
            }
        }
    }

    fn notify(&mut self, node: NodeId, event: Lifecycle) {
        self.metrics.on_lifecycle(self.now_ns, node, event);
        for c in self.checkers.iter_mut() {
            c.on_lifecycle(self.now_ns, node, event);
        }
    }

    fn apply_fault(&mut self, fault: Fault<NodeId>, origin: FaultOrigin) {
        let description = fault.describe_by(|n| self.names[*n as usize].to_string());
        self.fingerprint.add(FP_FAULT);
        self.fingerprint.add_hash(description.as_str());
        if let Some(t) = self.trace.as_mut() {
            let subject = match &fault {
                Fault::Crash(n)
                | Fault::Restart(n)
                | Fault::Pause { node: n, .. }
                | Fault::ClockJump { node: n, .. }
                | Fault::ClockDrift { node: n, .. } => &self.names[*n as usize],
                _ => "network",
            };
            t.begin(self.now_ns, subject, "fault")
                .str("fault", fault.kind())
                .str("what", &description)
                .str(
                    "origin",
                    match origin {
                        FaultOrigin::Scheduled => "scheduled",
                        FaultOrigin::Nemesis => "nemesis",
                    },
                )
                .end();
        }
        for c in self.checkers.iter_mut() {
            c.on_fault(self.now_ns, &fault);
        }
        self.applied.push(AppliedFault {
            at_ns: self.now_ns,
            fault: fault.clone(),
            origin,
        });
        match fault {
            Fault::Crash(n) => {
                let slot = &mut self.nodes[n as usize];
                if slot.node.take().is_some() {
                    slot.incarnation += 1;
                    slot.paused = false;
                    if let Some(disk) = self.disks[n as usize].as_mut() {
                        disk.crash();
                    }
                    for e in self.deferred.remove(&n).unwrap_or_default() {
                        if let Event::Deliver { .. } = e {
                            self.network.stats.count_drop(DropReason::Crashed);
                        }
                    }
                    self.notify(n, Lifecycle::Crashed);
                }
            }
            Fault::Restart(n) => {
                if self.nodes[n as usize].node.is_none() {
                    self.nodes[n as usize].node = Some(self.protocol.make_node(n));
                    self.notify(n, Lifecycle::Restarted);
                    self.call(n, |node, ctx| node.on_restart(ctx));
                }
            }
            Fault::Pause { node, duration } => {
                let slot = &mut self.nodes[node as usize];
                if slot.node.is_some() && !slot.paused {
                    slot.paused = true;
                    let pause = self.pauses.entry(node).or_default();
                    *pause += 1;
                    let pause = *pause;
                    self.push(self.now_ns + duration.0, Event::Resume { node, pause });
                    self.notify(node, Lifecycle::Paused);
                }
            }
            Fault::Partition(groups) => self.network.partition(&groups),
            Fault::PartitionOneWay { from, to } => self.network.partition_one_way(&from, &to),
            Fault::Heal => {
                self.network.heal();
                if let Some(n) = self.nemesis.as_mut() {
                    n.healed();
                }
            }
            Fault::SetLoss(p) => self.network.set_loss(p.0),
            Fault::SetDuplicate(p) => self.network.set_duplicate(p.0),
            Fault::SetLatency(l) => self.network.set_latency(l),
            Fault::ClockJump { node, by } => {
                let now_ns = self.now_ns;
                self.skew(node).jump(now_ns, by.0)
            }
            Fault::ClockDrift { node, ppm } => {
                let now_ns = self.now_ns;
                self.skew(node).set_drift(now_ns, ppm.0)
            }
        }
    }

    /// Node `node`'s clock, to be changed: perfect until now if it was.
    fn skew(&mut self, node: NodeId) -> &mut NodeClock {
        self.nodes[node as usize].skewed = true;
        self.clocks.entry(node).or_default()
    }

    fn finish(mut self, stop: StopReason) -> RunOutcome {
        if self.violation.is_none() {
            let view = SlotsView {
                names: &self.names,
                slots: &self.nodes,
                disks: &self.disks,
                empty_disk: &self.empty_disk,
                deferred: &self.deferred,
                messages: self.network.stats,
                queue: &self.queue,
                history: &self.history,
            };
            for c in self.checkers.iter_mut() {
                if let Err(message) = c.on_finish(self.now_ns, &view) {
                    self.violation = Some(Violation {
                        invariant: c.name().to_string(),
                        time_ns: self.now_ns,
                        node: None,
                        message,
                    });
                    break;
                }
            }
        }
        let stop = if self.violation.is_some() {
            StopReason::Violation
        } else {
            stop
        };
        if let (Some(v), Some(t)) = (&self.violation, self.trace.as_mut()) {
            t.begin(
                v.time_ns,
                v.node.as_deref().unwrap_or("cluster"),
                "violation",
            )
            .str("invariant", &v.invariant)
            .str("message", &v.message)
            .end();
        }
        let view = SlotsView {
            names: &self.names,
            slots: &self.nodes,
            disks: &self.disks,
            empty_disk: &self.empty_disk,
            deferred: &self.deferred,
            messages: self.network.stats,
            queue: &self.queue,
            history: &self.history,
        };
        let metrics = self.metrics.report(self.now_ns, &view);
        let trace_error = self.trace.as_mut().and_then(|t| t.finish().err());
        RunOutcome {
            seed: self.seed,
            end_time_ns: self.now_ns,
            events: self.events,
            stop,
            messages: self.network.stats,
            invariants: self.checkers.iter().map(|c| c.name()).collect(),
            violation: self.violation,
            fingerprint: self.fingerprint.value(),
            metrics,
            faults: self.applied,
            trace_error,
            history: self.history,
        }
    }
}

impl<P: Protocol> ClusterState for Simulation<P> {
    fn is_up(&self, node: NodeId) -> bool {
        self.nodes[node as usize].node.is_some()
    }
    fn is_paused(&self, node: NodeId) -> bool {
        self.nodes[node as usize].paused
    }
}

struct SlotsView<'a, N: Node> {
    names: &'a NodeNames,
    slots: &'a [NodeSlot<N>],
    disks: &'a [Disk<N::Record>],
    empty_disk: &'a Storage<N::Record>,
    deferred: &'a BTreeMap<NodeId, Vec<Event<N::Message>>>,
    messages: MessageStats,
    queue: &'a EventQueue<Event<N::Message>>,
    history: &'a [Entry],
}

impl<N: Node> ClusterView<N> for SlotsView<'_, N> {
    fn len(&self) -> usize {
        self.slots.len()
    }
    fn name(&self, node: NodeId) -> &str {
        &self.names[node as usize]
    }
    fn node(&self, node: NodeId) -> Option<&N> {
        self.slots[node as usize].node.as_ref()
    }
    fn storage(&self, node: NodeId) -> &Storage<N::Record> {
        self.disks[node as usize]
            .as_deref()
            .unwrap_or(self.empty_disk)
    }
    fn messages(&self) -> MessageStats {
        self.messages
    }
    fn in_flight(&self) -> Vec<(NodeId, NodeId, &N::Message)> {
        let deferred = self.deferred.values().flatten();
        let queued = self.queue.iter().map(|(_, e)| e);
        queued
            .chain(deferred)
            .filter_map(|e| match e {
                Event::Deliver { from, to, msg } => Some((*from, *to, msg)),
                _ => None,
            })
            .collect()
    }
    fn history(&self) -> &[Entry] {
        self.history
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RelayNode;

    #[test]
    fn observations_nothing_looks_at_are_dropped_by_the_context() {
        use crate::testing::Relay;
        let relay = || Relay { nodes: 4, hops: 50 };
        let run = |invariants: Option<Vec<String>>, trace: bool| {
            let options = SimOptions {
                invariants,
                ..SimOptions::default()
            };
            let mut sim = Simulation::new(relay(), options);
            if trace {
                sim.set_trace(Box::new(std::io::sink()));
            }
            // What the nodes' contexts are told (they drop observations when false; see
            // the test in `node`).
            let kept = sim.observed;
            let outcome = sim.run();
            (
                kept,
                outcome.fingerprint,
                outcome.events,
                outcome.invariants,
            )
        };
        // The relay's `progress` looks at observations; its metrics do not.
        let (kept, fingerprint, events, invariants) = run(None, false);
        assert!(kept && invariants == ["progress"]);
        // Without it nothing looks, and nodes' observations cost nothing: the same run.
        let none = run(Some(Vec::new()), false);
        assert_eq!(none, (false, fingerprint, events, vec![]));
        // A trace shows them, so they are kept for it.
        assert!(run(Some(Vec::new()), true).0);
    }

    #[test]
    fn a_node_costs_the_event_loop_80_bytes_beside_its_own_state() {
        // 72 for the random stream, 4 for the incarnation, 2 flags, and padding.
        assert_eq!(std::mem::size_of::<Option<RelayNode>>(), 8);
        assert_eq!(std::mem::size_of::<NodeSlot<RelayNode>>(), 8 + 80);
    }
}
