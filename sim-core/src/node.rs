//! The actor model: nodes are sans-IO state machines.
//!
//! A node never touches a socket, a clock or a disk. It reacts to four things (a start, a
//! message, a timer, a restart after a crash) and acts only through its [`Context`]: it
//! sends messages, sets and cancels timers, reads its own (possibly wrong) clock, draws from
//! its own random stream, writes durable storage and reports observations for the checkers.
//! Because of that the same node code runs unchanged under any fault schedule.
//!
//! A crash drops the node value itself: its fields are volatile state. On restart the
//! simulation builds a fresh node and calls [`Node::on_restart`], which must rebuild what it
//! needs from [`Context::storage`], where only synced writes survived.

use std::fmt::Debug;
use std::hash::Hash;

use crate::random::{Random, Stream, StreamBuffer, StreamKey};
use crate::storage::Storage;
use crate::time::NodeClock;
use crate::timers::TimerTable;

/// A node's index in the cluster, 0-based, in the order the protocol lists its nodes.
pub type NodeId = u32;

use crate::timers::TimerId;

/// A simulated process.
pub trait Node: Sized {
    /// What nodes send each other. `Hash` feeds the run fingerprint; `Debug` the trace.
    type Message: Clone + Hash + Debug;
    /// What the node reports to checkers and metrics (e.g. "write accepted with token 7").
    type Observation: Debug;
    /// What the node keeps in durable storage.
    type Record: Clone + Debug;
    /// What a timer carries back when it fires: why it was set (an enum of your own, say
    /// `ElectionTimeout` or `Retry { request }`; `u64` does for a bare tag). `Hash` feeds
    /// the run fingerprint; `Debug` the trace.
    type Timer: Clone + Debug + Hash;

    /// Called once for every node at virtual time zero.
    fn on_start(&mut self, ctx: &mut Context<'_, Self>);

    /// A message from `from` arrived.
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Message);

    /// A timer set with [`Context::set_timer`] fired; `what` is what was passed there.
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: TimerId, what: Self::Timer);

    /// Called on a freshly built node after a crash, instead of `on_start`. Durable
    /// storage holds what was synced before the crash. By default, starts afresh.
    fn on_restart(&mut self, ctx: &mut Context<'_, Self>) {
        self.on_start(ctx);
    }
}

/// What handlers asked for during one event, applied by the simulation afterwards.
/// Kept between events so the buffers are allocated once, not per event.
pub struct Effects<N: Node> {
    pub(crate) sends: Vec<(NodeId, N::Message)>,
    /// (timer, delay in virtual ns): what it carries is in the timer table already.
    pub(crate) timers: Vec<(TimerId, u64)>,
    pub(crate) observations: Vec<N::Observation>,
    pub(crate) history: Vec<linearizability::Event>,
}

impl<N: Node> Default for Effects<N> {
    fn default() -> Self {
        Effects {
            sends: Vec::new(),
            timers: Vec::new(),
            observations: Vec::new(),
            history: Vec::new(),
        }
    }
}

/// A node's window on the world during one handler call.
pub struct Context<'a, N: Node> {
    pub(crate) id: NodeId,
    pub(crate) node_count: u32,
    pub(crate) now_ns: u64,
    /// `None`: a perfect clock, whose local time is virtual time.
    pub(crate) clock: Option<&'a NodeClock>,
    /// The run's key, and where this node's stream is.
    pub(crate) key: &'a StreamKey,
    pub(crate) rng: &'a mut StreamBuffer,
    /// The node's stream as a [`Random`], once a handler asked for it; handed back to
    /// `rng` when the handler returns ([`Context::return_random`]).
    pub(crate) loaned: Option<Random>,
    pub(crate) timers: &'a mut TimerTable<N::Timer>,
    /// Whether anything looks at observations: a checker, the metrics or the trace.
    pub(crate) observed: bool,
    /// The node's disk, allocated on first use.
    pub(crate) storage: &'a mut Option<Box<Storage<N::Record>>>,
    pub(crate) effects: &'a mut Effects<N>,
}

impl<N: Node> Context<'_, N> {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// How many nodes the cluster has (ids are `0..node_count`).
    pub fn node_count(&self) -> u32 {
        self.node_count
    }

    /// This node's local clock in nanoseconds: virtual time with the node's drift and
    /// offset applied. It can jump backwards if the scenario says so.
    pub fn now(&self) -> u64 {
        match self.clock {
            None => self.now_ns,
            Some(clock) => clock.local_ns(self.now_ns),
        }
    }

    /// Sends `msg` to `to` through the virtual network.
    pub fn send(&mut self, to: NodeId, msg: N::Message) {
        self.effects.sends.push((to, msg));
    }

    /// Sets a timer that fires after `after_ns` of this node's local clock and hands
    /// `what` to [`Node::on_timer`]. Returns its id for
    /// [`cancel_timer`](Self::cancel_timer). Timers do not survive a crash.
    pub fn set_timer(&mut self, after_ns: u64, what: N::Timer) -> TimerId {
        let id = self.timers.arm(what);
        let delay = match self.clock {
            None => after_ns,
            Some(clock) => clock.virtual_delay_ns(after_ns),
        };
        self.effects.timers.push((id, delay));
        id
    }

    /// Cancels a timer; cancelling one that already fired is harmless.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.timers.take(timer);
    }

    /// This node's random stream.
    pub fn random(&mut self) -> &mut Random {
        let (key, id, rng) = (*self.key, self.id, &mut *self.rng);
        self.loaned
            .get_or_insert_with(|| Random::resume(key, Stream::Node(id), std::mem::take(rng)))
    }

    /// Puts the stream lent by [`random`](Self::random) back in the node's slot.
    #[inline]
    pub(crate) fn return_random(&mut self) {
        if let Some(buffer) = self.loaned.take().and_then(Random::into_buffer) {
            *self.rng = buffer;
        }
    }

    /// The next 64 bits of this node's stream.
    #[inline]
    fn next_u64(&mut self) -> u64 {
        match self.loaned.as_mut() {
            Some(random) => random.next_u64(),
            None => self.rng.next_u64(self.key, Stream::Node(self.id).id()),
        }
    }

    /// This node's durable storage.
    pub fn storage(&mut self) -> &mut Storage<N::Record> {
        self.storage.get_or_insert_with(Default::default)
    }

    /// Reports something the checkers and metrics should know about. Dropped at once when
    /// none of them (and no trace) looks at observations.
    #[inline]
    pub fn observe(&mut self, observation: N::Observation) {
        if self.observed {
            self.effects.observations.push(observation);
        }
    }

    /// Whether anything looks at this run's observations: a node can skip building one
    /// that costs something to build when nothing does.
    pub fn observing(&self) -> bool {
        self.observed
    }

    /// Records a client operation's invocation or completion in the run's history, at the
    /// current virtual time: what `dsim run --history FILE` writes and linearizability is
    /// judged on.
    pub fn append_history(&mut self, event: linearizability::Event) {
        self.effects.history.push(event);
    }

    /// Picks a uniformly random node other than this one.
    pub fn random_peer(&mut self) -> NodeId {
        debug_assert!(self.node_count > 1);
        let r = crate::random::below(self.next_u64(), self.node_count as u64 - 1) as NodeId;
        if r >= self.id {
            r + 1
        } else {
            r
        }
    }
}

/// Builds a node type out of roles: an enum with one variant per role, whose [`Node`]
/// implementation hands every event to the role. Each role type has the methods
/// `on_start`, `on_message`, `on_timer(ctx, what)` and `on_restart`, taking a
/// `&mut Context<'_, Enum>`.
///
/// ```text
/// sim_core::roles! {
///     /// A node of the cluster.
///     pub enum KvNode {
///         message: KvMessage, observation: KvObservation, record: KvRecord, timer: u64,
///         Storage(StorageNode), Client(Client), Directory(Directory),
///     }
/// }
/// ```
#[macro_export]
macro_rules! roles {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            message: $message:ty, observation: $observation:ty, record: $record:ty, timer: $timer:ty,
            $($variant:ident($role:ty)),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $($variant($role)),+
        }

        impl $crate::Node for $name {
            type Message = $message;
            type Observation = $observation;
            type Record = $record;
            type Timer = $timer;

            fn on_start(&mut self, ctx: &mut $crate::Context<'_, Self>) {
                match self {
                    $($name::$variant(n) => n.on_start(ctx)),+
                }
            }

            fn on_message(&mut self, ctx: &mut $crate::Context<'_, Self>, from: $crate::NodeId, msg: $message) {
                match self {
                    $($name::$variant(n) => n.on_message(ctx, from, msg)),+
                }
            }

            fn on_timer(&mut self, ctx: &mut $crate::Context<'_, Self>, _timer: $crate::TimerId, what: $timer) {
                match self {
                    $($name::$variant(n) => n.on_timer(ctx, what)),+
                }
            }

            fn on_restart(&mut self, ctx: &mut $crate::Context<'_, Self>) {
                match self {
                    $($name::$variant(n) => n.on_restart(ctx)),+
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RelayNode;

    #[test]
    fn an_observation_nothing_looks_at_is_dropped_at_once() {
        let mut buffer = StreamBuffer::default();
        let mut timers = TimerTable::default();
        let mut storage = None;
        let mut effects = Effects::<RelayNode>::default();
        for observed in [false, true] {
            let mut ctx = Context {
                id: 0,
                node_count: 2,
                now_ns: 0,
                clock: None,
                key: &StreamKey::of(1),
                rng: &mut buffer,
                loaned: None,
                timers: &mut timers,
                observed,
                storage: &mut storage,
                effects: &mut effects,
            };
            assert_eq!(ctx.observing(), observed);
            ctx.observe(());
            ctx.observe(());
            assert_eq!(effects.observations.len(), if observed { 2 } else { 0 });
        }
    }

    #[test]
    fn a_node_draws_from_its_own_stream_whether_its_context_lends_it_or_not() {
        let (seed, id, count) = (42, 3, 1000);
        let key = StreamKey::of(seed);
        let mut reference = Random::new(seed, Stream::Node(id));
        let mut buffer = StreamBuffer::default();
        let mut timers = TimerTable::default();
        let mut storage = None;
        let mut effects = Effects::<RelayNode>::default();
        // Handlers that pick peers, borrow the stream, or both, in many orders, across
        // many block boundaries: the draws are the stream's, in order.
        for handler in 0..400u32 {
            let mut ctx = Context {
                id,
                node_count: count,
                now_ns: 0,
                clock: None,
                key: &key,
                rng: &mut buffer,
                loaned: None,
                timers: &mut timers,
                observed: true,
                storage: &mut storage,
                effects: &mut effects,
            };
            for draw in 0..(handler % 5) {
                if (handler + draw) % 3 == 0 {
                    assert_eq!(ctx.random().next_u64(), reference.next_u64());
                } else {
                    let r = crate::random::below(reference.next_u64(), u64::from(count - 1));
                    let expected = if r >= u64::from(id) { r + 1 } else { r };
                    assert_eq!(u64::from(ctx.random_peer()), expected, "handler {handler}");
                }
            }
            ctx.return_random();
        }
    }
}
