//! A window of a run, read back from the run's own trace: what `dsim diagram` draws and
//! `dsim view` shows.
//!
//! Runs are deterministic, so a window is filled by running the scenario again with its
//! trace streamed through a [`Collector`]. Each line is judged from its time and kind
//! before it is parsed; the collector keeps what falls in the window, and of the messages,
//! timers and observations at most `items_max` of each: the first ones ([`Keep::First`]) or
//! the last ones ([`Keep::Last`], for a window that ends at a violation). Memory stays
//! bounded by `items_max` however long or busy the run.
//!
//! Each message is followed to its fate: delivered on arrival, held while its receiver was
//! paused and delivered at the resume, dropped (by loss or a partition when sent, by a
//! partition or a crash when it arrived), or still in flight when the window ends.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Display;
use std::io::Write;
use std::rc::Rc;

use linearizability::{describe_parts, Kind};
use scenario::LoadedScenario;
use serde::Deserialize;

/// Which messages a window keeps when there are more than it may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    First,
    Last,
}

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Delivered when it arrived.
    Delivered,
    /// Arrived while its receiver was paused; delivered at this time, when it resumed.
    Held(u64),
    /// Lost when sent (loss, or a partition between sender and receiver).
    DroppedAtSend(&'static str),
    /// Lost when it arrived (a partition, or the receiver was down).
    DroppedOnArrival(&'static str),
    /// Not arrived by the end of the window (or of the run).
    InFlight,
}

/// A message: sent, and (unless dropped when sent) arriving.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub sent_ns: u64,
    pub from: u32,
    pub to: u32,
    /// When it arrives; its send time if it was dropped when sent.
    pub arrive_ns: u64,
    pub fate: Fate,
    /// The copy the network made of a message it duplicated.
    pub duplicate: bool,
    /// The message as the protocol prints it (its `Debug` form), cut at `TEXT_MAX` bytes.
    pub text: String,
}

impl Message {
    /// Its kind: the name its text starts with (`Prepare` of `Prepare { tx: 3 }`).
    pub fn kind(&self) -> &str {
        message_kind(&self.text)
    }
}

/// The name a message's `Debug` text starts with: an enum variant or a struct name
/// (`Prepare { tx: 3 }`, `Ack(7)`, `Ping`); "message" if it starts with none (a tuple, a number).
pub fn message_kind(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let name = &text[..end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        "message"
    } else {
        name
    }
}

/// A fault as the trace tells it, or a node's resume after a pause.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultMark {
    pub at_ns: u64,
    /// The node it strikes; `None` for the network's faults.
    pub node: Option<u32>,
    /// `crash`, `restart`, `pause`, `resume`, `partition`, `heal`, `clock_jump`, …
    pub fault: String,
    pub what: String,
    pub origin: String,
}

/// What a stretch of time looked like for a node, or for the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    Crashed,
    Paused,
    Partitioned,
}

/// A crash (until the restart), a pause (until the resume) or a partition (until the
/// heal), clipped to the window.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// `None` for a partition: it is the network's.
    pub node: Option<u32>,
    pub from_ns: u64,
    pub to_ns: u64,
    pub kind: SpanKind,
    pub what: String,
}

/// A timer firing, an observation, a start or a restart: the rest of a node's events.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub at_ns: u64,
    pub node: u32,
    /// `timer`, `observe`, `start`, `restart`.
    pub kind: &'static str,
    pub text: String,
}

/// A client's operation, from its invocation to its completion.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// The node that recorded it.
    pub node: u32,
    pub process: u64,
    /// Its invocation's time (the window's start if that came before the window).
    pub call_ns: u64,
    /// `None` if it had not completed when the window (or the run) ended.
    pub complete: Option<(u64, Kind)>,
    /// In the words of the `linearizable` invariant's messages.
    pub text: String,
}

/// The violation, as the trace tells it.
#[derive(Clone, Debug, PartialEq)]
pub struct ViolationMark {
    pub at_ns: u64,
    pub node: Option<u32>,
    pub invariant: String,
    pub message: String,
}

/// A window of a run.
#[derive(Clone, Debug, Default)]
pub struct TraceWindow {
    pub from_ns: u64,
    pub to_ns: u64,
    /// In the order sent.
    pub messages: Vec<Message>,
    /// Messages sent (or dropped when sent) in the window, kept or not.
    pub messages_total: u64,
    /// Every fault and resume in the window, in order.
    pub faults: Vec<FaultMark>,
    pub spans: Vec<Span>,
    pub notes: Vec<Note>,
    pub operations: Vec<Operation>,
    pub violation: Option<ViolationMark>,
}

/// The longest message text kept; a longer one is cut and ends in `…`.
pub const TEXT_MAX: usize = 400;

/// The fields of a trace line that a window reads (see `sim_core::trace`).
#[derive(Deserialize)]
struct Line<'a> {
    t_ns: u64,
    #[serde(borrow)]
    node: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    to: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    from: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    msg: Option<Cow<'a, str>>,
    #[serde(default)]
    deliver_at_ns: Option<u64>,
    #[serde(default)]
    duplicate_at_ns: Option<u64>,
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    fault: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    what: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    origin: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timer: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    invariant: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(default)]
    process: Option<u64>,
    #[serde(borrow, default, rename = "type")]
    op_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    f: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    key: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    value: Option<Cow<'a, str>>,
}

fn reason(text: Option<&str>) -> &'static str {
    match text {
        Some("loss") => "loss",
        Some("partition") => "partition",
        Some("crashed") => "crashed",
        _ => "unknown",
    }
}

fn cut(text: &str) -> String {
    if text.len() <= TEXT_MAX {
        return text.to_string();
    }
    let mut end = TEXT_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A bounded list: keeps the first `max` items pushed, or the last `max`.
struct Bounded<T> {
    items: VecDeque<T>,
    max: usize,
    keep: Keep,
    /// Items pushed out of the front (Keep::Last).
    popped: u64,
}

impl<T> Bounded<T> {
    /// Keeps nothing at `max` 0.
    fn new(max: usize, keep: Keep) -> Self {
        Bounded {
            items: VecDeque::new(),
            max,
            keep,
            popped: 0,
        }
    }

    fn full(&self) -> bool {
        self.items.len() >= self.max
    }

    /// Pushes an item; returns the one pushed out of the front, if any. Keep::First
    /// ignores the item when full.
    fn push(&mut self, item: T) -> Option<T> {
        if self.max == 0 {
            return None;
        }
        if !self.full() {
            self.items.push_back(item);
            return None;
        }
        match self.keep {
            Keep::First => None,
            Keep::Last => {
                self.items.push_back(item);
                self.popped += 1;
                self.items.pop_front()
            }
        }
    }
}

/// Which part of a run to read, and how much of it.
#[derive(Clone, Copy, Debug)]
pub struct WindowOptions {
    pub from_ns: u64,
    pub to_ns: u64,
    /// The most messages kept.
    pub messages_max: usize,
    /// The most timers, observations, starts and restarts kept, and as many client
    /// history records; none are read at 0.
    pub notes_max: usize,
    /// The first ones or the last ones, where there are more.
    pub keep: Keep,
}

/// Reads a run's trace into a [`TraceWindow`].
pub struct Collector {
    line: Vec<u8>,
    names: HashMap<String, u32>,
    from_ns: u64,
    to_ns: u64,
    messages: Bounded<Message>,
    messages_total: u64,
    /// Messages on their way, by (sender, receiver, arrival): their sequence numbers.
    arriving: BTreeMap<(u32, u32, u64), Vec<u64>>,
    faults: Vec<FaultMark>,
    notes: Bounded<Note>,
    records: Bounded<RecordLine>,
    violation: Option<ViolationMark>,
    /// Keeping the first messages, once the budget is full: nothing after this time can
    /// be shown, and lines after it are only counted.
    closed_at_ns: Option<u64>,
}

/// The number after `"key":` in a trace line, without parsing the line.
fn number_field(line: &[u8], key: &[u8]) -> Option<u64> {
    let at = line.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&line[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// The string after `"kind":"` in a trace line.
fn kind_field(line: &[u8]) -> &[u8] {
    let key = b"\"kind\":\"";
    let Some(at) = line.windows(key.len()).position(|w| w == key) else {
        return b"";
    };
    let rest = &line[at + key.len()..];
    &rest[..rest.iter().position(|&b| b == b'"').unwrap_or(rest.len())]
}

impl Collector {
    pub fn new(names: impl IntoIterator<Item = impl AsRef<str>>, options: WindowOptions) -> Self {
        let WindowOptions {
            from_ns,
            to_ns,
            messages_max,
            notes_max,
            keep,
        } = options;
        Collector {
            line: Vec::new(),
            names: names
                .into_iter()
                .enumerate()
                .map(|(i, n)| (n.as_ref().to_string(), i as u32))
                .collect(),
            from_ns,
            to_ns,
            messages: Bounded::new(messages_max, keep),
            messages_total: 0,
            arriving: BTreeMap::new(),
            faults: Vec::new(),
            notes: Bounded::new(notes_max, keep),
            records: Bounded::new(notes_max, keep),
            violation: None,
            closed_at_ns: None,
        }
    }

    fn lane(&self, name: Option<&str>) -> Option<u32> {
        self.names.get(name?).copied()
    }

    /// Whether a line can matter, judged from its time and kind alone: a fault before the
    /// window still shapes it (a crash at 1s shades the lane until the restart), a message
    /// sent before it may arrive in it.
    fn wanted(&mut self, line: &[u8]) -> bool {
        let t = number_field(line, b"\"t_ns\":").unwrap_or(0);
        if t > self.to_ns {
            return false;
        }
        let kind = kind_field(line);
        if self.closed_at_ns.is_some_and(|c| t > c) {
            // Sends are only counted; deliveries and drops are read while a message kept
            // has yet to meet its fate (and a drop may be one at sending, to count).
            return match kind {
                b"send" => {
                    self.messages_total += 1;
                    false
                }
                b"deliver" => !self.arriving.is_empty(),
                b"drop" | b"violation" => true,
                _ => false,
            };
        }
        match kind {
            b"fault" | b"resume" | b"violation" => true,
            b"send" => {
                let last = number_field(line, b"\"duplicate_at_ns\":")
                    .unwrap_or(0)
                    .max(number_field(line, b"\"deliver_at_ns\":").unwrap_or(t));
                last >= self.from_ns
            }
            _ => t >= self.from_ns,
        }
    }

    fn push_message(&mut self, message: Message) {
        self.messages_total += 1;
        if self.messages.keep == Keep::First && self.messages.full() {
            return;
        }
        if self.messages.keep == Keep::First && self.messages.items.len() + 1 == self.messages.max {
            self.close_at(message.sent_ns);
        }
        let seq = self.messages.popped + self.messages.items.len() as u64;
        if message.fate == Fate::InFlight {
            self.arriving
                .entry((message.from, message.to, message.arrive_ns))
                .or_default()
                .push(seq);
        }
        if let Some(gone) = self.messages.push(message) {
            self.forget(
                (gone.from, gone.to, gone.arrive_ns),
                self.messages.popped - 1,
            );
        }
    }

    fn close_at(&mut self, t: u64) {
        self.closed_at_ns = Some(self.closed_at_ns.map_or(t, |c| c.min(t)));
    }

    /// No longer waits for message `seq`, which arrives as `key` (sender, receiver, time).
    fn forget(&mut self, key: (u32, u32, u64), seq: u64) {
        if let Some(seqs) = self.arriving.get_mut(&key) {
            seqs.retain(|&s| s != seq);
            if seqs.is_empty() {
                self.arriving.remove(&key);
            }
        }
    }

    /// A message from `from` to `to` was delivered or dropped at `t`: the one that arrived
    /// at `t`, or else (delivered at a resume) the earliest of the same text that arrived
    /// before.
    fn settle(&mut self, from: u32, to: u32, t: u64, text: &str, fate: Fate) {
        let exact = self.arriving.get(&(from, to, t)).and_then(|s| s.first());
        let seq = match exact {
            Some(&seq) => Some(seq),
            None => self
                .arriving
                .range((from, to, 0)..(from, to, t))
                .flat_map(|(_, seqs)| seqs.iter().copied())
                .find(|&seq| self.message(seq).is_some_and(|m| m.text == text)),
        };
        let Some(seq) = seq else { return };
        let Some(m) = self.message(seq) else { return };
        let arrive_ns = m.arrive_ns;
        let fate = match fate {
            Fate::Delivered if arrive_ns < t => Fate::Held(t),
            other => other,
        };
        let index = (seq - self.messages.popped) as usize;
        self.messages.items[index].fate = fate;
        self.forget((from, to, arrive_ns), seq);
    }

    fn message(&self, seq: u64) -> Option<&Message> {
        let index = seq.checked_sub(self.messages.popped)?;
        self.messages.items.get(index as usize)
    }

    fn read(&mut self, line: &Line) {
        let t = line.t_ns;
        let node = self.lane(Some(&line.node));
        let text = |s: &Option<Cow<str>>| s.as_deref().unwrap_or("").to_string();
        match &*line.kind {
            "send" => {
                let (Some(from), Some(to)) = (node, self.lane(line.to.as_deref())) else {
                    return;
                };
                let msg = cut(line.msg.as_deref().unwrap_or(""));
                let arrivals = [Some(line.deliver_at_ns.unwrap_or(t)), line.duplicate_at_ns];
                for (copy, arrive_ns) in arrivals.into_iter().enumerate() {
                    let Some(arrive_ns) = arrive_ns else { continue };
                    self.push_message(Message {
                        sent_ns: t,
                        from,
                        to,
                        arrive_ns,
                        fate: Fate::InFlight,
                        duplicate: copy == 1,
                        text: msg.clone(),
                    });
                }
            }
            "deliver" => {
                if let (Some(from), Some(to)) = (self.lane(line.from.as_deref()), node) {
                    let msg = cut(line.msg.as_deref().unwrap_or(""));
                    self.settle(from, to, t, &msg, Fate::Delivered);
                }
            }
            "drop" => {
                let (Some(from), Some(to)) = (
                    self.lane(line.from.as_deref()),
                    self.lane(line.to.as_deref()),
                ) else {
                    return;
                };
                let why = reason(line.reason.as_deref());
                let msg = cut(line.msg.as_deref().unwrap_or(""));
                if node == Some(from) && from != to {
                    // Written by the sender: dropped when sent, never on its way.
                    self.push_message(Message {
                        sent_ns: t,
                        from,
                        to,
                        arrive_ns: t,
                        fate: Fate::DroppedAtSend(why),
                        duplicate: false,
                        text: msg,
                    });
                } else {
                    self.settle(from, to, t, &msg, Fate::DroppedOnArrival(why));
                }
            }
            "fault" | "resume" => self.faults.push(FaultMark {
                at_ns: t,
                node,
                fault: if line.kind == "resume" {
                    "resume".to_string()
                } else {
                    text(&line.fault)
                },
                what: if line.kind == "resume" {
                    format!("{} resumed", line.node)
                } else {
                    text(&line.what)
                },
                origin: text(&line.origin),
            }),
            "violation" => {
                self.violation = Some(ViolationMark {
                    at_ns: t,
                    node,
                    invariant: text(&line.invariant),
                    message: text(&line.message),
                })
            }
            "timer" | "observe" | "start" | "restart" => {
                let Some(node) = node else { return };
                let kind = match &*line.kind {
                    "timer" => "timer",
                    "observe" => "observe",
                    "start" => "start",
                    _ => "restart",
                };
                let body = if kind == "timer" {
                    text(&line.timer)
                } else {
                    text(&line.what)
                };
                self.notes.push(Note {
                    at_ns: t,
                    node,
                    kind,
                    text: cut(&body),
                });
                if self.notes.keep == Keep::First && self.notes.max > 0 && self.notes.full() {
                    self.close_at(t);
                }
            }
            "record" => {
                let (Some(node), Some(process), Some(kind)) = (
                    node,
                    line.process,
                    line.op_type.as_deref().and_then(Kind::from_keyword),
                ) else {
                    return;
                };
                self.records.push(RecordLine {
                    node,
                    process,
                    at_ns: t,
                    kind,
                    f: text(&line.f),
                    key: line.key.as_ref().map(|k| k.to_string()),
                    value: text(&line.value),
                });
            }
            _ => {}
        }
    }

    /// The window, once the run is over: cut to the messages kept, with the spans of
    /// crashes, pauses and partitions and the clients' operations.
    pub fn finish(self) -> TraceWindow {
        let mut from_ns = self.from_ns;
        let mut to_ns = self.to_ns;
        let messages: Vec<Message> = self.messages.items.into_iter().collect();
        let cut = messages.len() as u64 != self.messages_total;
        if cut {
            match self.messages.keep {
                Keep::First => to_ns = messages.last().map_or(to_ns, |m| m.sent_ns),
                Keep::Last => from_ns = messages.first().map_or(from_ns, |m| m.sent_ns),
            }
        }
        let inside = |t: u64| t >= from_ns && t <= to_ns;
        // Timers and observations are cut to the same stretch of time; so are operations.
        let notes_cut = self.notes.popped > 0 || (self.notes.max > 0 && self.notes.full());
        let mut notes: Vec<Note> = self.notes.items.into_iter().collect();
        notes.retain(|n| inside(n.at_ns));
        if notes_cut {
            match self.notes.keep {
                Keep::First => to_ns = to_ns.min(notes.last().map_or(to_ns, |n| n.at_ns)),
                Keep::Last => from_ns = from_ns.max(notes.first().map_or(from_ns, |n| n.at_ns)),
            }
            notes.retain(|n| n.at_ns >= from_ns && n.at_ns <= to_ns);
        }
        let inside = |t: u64| t >= from_ns && t <= to_ns;
        let messages: Vec<Message> = messages
            .into_iter()
            .filter(|m| m.sent_ns <= to_ns && m.arrive_ns.max(m.sent_ns) >= from_ns)
            .collect();
        let spans = spans(&self.faults, from_ns, to_ns);
        let faults = self
            .faults
            .into_iter()
            .filter(|f| inside(f.at_ns))
            .collect();
        let operations = operations(self.records.items.into_iter(), from_ns, to_ns);
        TraceWindow {
            from_ns,
            to_ns,
            messages_total: self.messages_total,
            messages,
            faults,
            spans,
            notes,
            operations,
            violation: self.violation,
        }
    }
}

/// Crashes, pauses and partitions as spans, clipped to [from, to]; what is still broken
/// at the window's end runs to its edge.
fn spans(faults: &[FaultMark], from_ns: u64, to_ns: u64) -> Vec<Span> {
    let mut out = Vec::new();
    let mut down: BTreeMap<u32, (u64, SpanKind, String)> = BTreeMap::new();
    // A partition into groups replaces the one before; one-way cuts add up; a heal ends all.
    let mut partition: Option<(u64, String)> = None;
    let mut one_way: Vec<(u64, String)> = Vec::new();
    let mut close = |node: Option<u32>, (start, kind, what): (u64, SpanKind, String), end: u64| {
        let (a, b) = (start.max(from_ns), end.min(to_ns));
        if b > a || (b == a && start == end) {
            out.push(Span {
                node,
                from_ns: a,
                to_ns: b,
                kind,
                what,
            });
        }
    };
    for f in faults.iter().filter(|f| f.at_ns <= to_ns) {
        match (f.fault.as_str(), f.node) {
            ("crash", Some(n)) => {
                down.insert(n, (f.at_ns, SpanKind::Crashed, f.what.clone()));
            }
            ("pause", Some(n)) => {
                down.entry(n)
                    .or_insert((f.at_ns, SpanKind::Paused, f.what.clone()));
            }
            ("restart" | "resume", Some(n)) => {
                let ends = match down.get(&n) {
                    Some((_, SpanKind::Crashed, _)) => f.fault == "restart",
                    Some(_) => f.fault == "resume",
                    None => false,
                };
                if ends {
                    if let Some(span) = down.remove(&n) {
                        close(Some(n), span, f.at_ns);
                    }
                }
            }
            ("partition", None) => {
                if let Some((start, what)) = partition.take() {
                    close(None, (start, SpanKind::Partitioned, what), f.at_ns);
                }
                partition = Some((f.at_ns, f.what.clone()));
            }
            ("partition_one_way", None) => one_way.push((f.at_ns, f.what.clone())),
            ("heal", None) => {
                for (start, what) in partition.take().into_iter().chain(one_way.drain(..)) {
                    close(None, (start, SpanKind::Partitioned, what), f.at_ns);
                }
            }
            _ => {}
        }
    }
    for (n, span) in down {
        close(Some(n), span, to_ns);
    }
    for (start, what) in partition.into_iter().chain(one_way) {
        close(None, (start, SpanKind::Partitioned, what), to_ns);
    }
    out.retain(|s| s.to_ns > s.from_ns);
    out.sort_by_key(|s| (s.from_ns, s.node));
    out
}

/// A `record` line: one entry of a client's history, by the node that recorded it.
struct RecordLine {
    node: u32,
    process: u64,
    at_ns: u64,
    kind: Kind,
    f: String,
    key: Option<String>,
    value: String,
}

/// Pairs each invocation with its process's next completion. A completion whose invocation
/// came before the window starts at the window's start; an operation still open at the
/// end has no completion.
fn operations(
    records: impl Iterator<Item = RecordLine>,
    from_ns: u64,
    to_ns: u64,
) -> Vec<Operation> {
    let mut out: Vec<Operation> = Vec::new();
    let mut open: BTreeMap<u64, (usize, String, Option<String>, String)> = BTreeMap::new();
    for RecordLine {
        node,
        process,
        at_ns: t,
        kind,
        f,
        key,
        value,
    } in records
    {
        if t < from_ns || t > to_ns {
            continue;
        }
        let text = |key: &Option<String>, f: &str, value: &str, done: Option<(Kind, &str)>| {
            describe_parts(
                process,
                f,
                key.as_ref().map(|k| k as &dyn Display),
                &value,
                done.as_ref().map(|(k, v)| (*k, v as &dyn Display)),
            )
        };
        if kind == Kind::Invoke {
            open.insert(process, (out.len(), f.clone(), key.clone(), value.clone()));
            out.push(Operation {
                node,
                process,
                call_ns: t,
                complete: None,
                text: text(&key, &f, &value, None),
            });
            continue;
        }
        match open.remove(&process) {
            Some((i, f, key, invoked)) => {
                out[i].complete = Some((t, kind));
                out[i].text = text(&key, &f, &invoked, Some((kind, &value)));
            }
            None => out.push(Operation {
                node,
                process,
                call_ns: from_ns,
                complete: Some((t, kind)),
                text: text(&key, &f, "?", Some((kind, &value))),
            }),
        }
    }
    out
}

impl Write for Collector {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                continue;
            }
            let line = std::mem::take(&mut self.line);
            if self.wanted(&line) {
                if let Ok(parsed) = serde_json::from_slice::<Line>(&line) {
                    self.read(&parsed);
                }
            }
            self.line = line;
            self.line.clear();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A [`Collector`] the run can own while the caller keeps a way to take it back.
#[derive(Clone)]
pub struct Shared(pub Rc<RefCell<Option<Collector>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self.0.borrow_mut().as_mut() {
            Some(c) => c.write(bytes),
            None => Ok(bytes.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `loaded` at `seed` as far as the window's end and reads the window from its trace.
pub fn collect(loaded: &LoadedScenario, seed: u64, options: WindowOptions) -> TraceWindow {
    let collector = Collector::new(loaded.names.iter(), options);
    let shared = Shared(Rc::new(RefCell::new(Some(collector))));
    let mut upto = loaded.clone();
    upto.scenario.limits.time.0 = upto.scenario.limits.time.0.min(options.to_ns.max(1));
    upto.run(seed, Some(Box::new(shared.clone())));
    let collector = shared.0.borrow_mut().take();
    collector.map(Collector::finish).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
    }

    fn read(lines: &[&str], options: WindowOptions) -> TraceWindow {
        let mut c = Collector::new(names(), options);
        for line in lines {
            c.write_all(line.as_bytes()).unwrap();
            c.write_all(b"\n").unwrap();
        }
        c.finish()
    }

    fn all(messages_max: usize, keep: Keep) -> WindowOptions {
        WindowOptions {
            from_ns: 0,
            to_ns: u64::MAX,
            messages_max,
            notes_max: 100,
            keep,
        }
    }

    fn send(t: u64, from: &str, to: &str, msg: &str, arrive: u64) -> String {
        format!(
            r#"{{"t_ns":{t},"node":"{from}","kind":"send","to":"{to}","msg":"{msg}","deliver_at_ns":{arrive}}}"#
        )
    }

    fn deliver(t: u64, from: &str, to: &str, msg: &str) -> String {
        format!(r#"{{"t_ns":{t},"node":"{to}","kind":"deliver","from":"{from}","msg":"{msg}"}}"#)
    }

    #[test]
    fn a_message_kind_is_the_name_its_text_starts_with() {
        assert_eq!(message_kind("Prepare { tx: 3 }"), "Prepare");
        assert_eq!(message_kind("Ack(7)"), "Ack");
        assert_eq!(message_kind("Ping"), "Ping");
        assert_eq!(message_kind("(1, 2)"), "message");
        assert_eq!(message_kind("42"), "message");
        assert_eq!(message_kind(""), "message");
    }

    #[test]
    fn each_message_is_followed_to_its_fate() {
        let lines = [
            send(10, "a", "b", "Ping", 20),
            send(11, "a", "c", "Ping", 25),
            send(12, "b", "c", "Pong", 30),
            r#"{"t_ns":13,"node":"a","kind":"drop","from":"a","to":"b","reason":"loss","msg":"Lost"}"#.into(),
            deliver(20, "a", "b", "Ping"),
            // c is paused at 25: the Ping waits until 40.
            r#"{"t_ns":22,"node":"c","kind":"fault","fault":"pause","what":"pause c","origin":"scheduled"}"#.into(),
            r#"{"t_ns":30,"node":"c","kind":"drop","from":"b","to":"c","reason":"crashed","msg":"Pong"}"#.into(),
            r#"{"t_ns":40,"node":"c","kind":"resume"}"#.into(),
            deliver(40, "a", "c", "Ping"),
            send(50, "b", "a", "Late", 90),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let w = read(&lines, all(100, Keep::First));
        let fates: Vec<(&str, Fate)> = w
            .messages
            .iter()
            .map(|m| (m.text.as_str(), m.fate))
            .collect();
        assert_eq!(
            fates,
            [
                ("Ping", Fate::Delivered),
                ("Ping", Fate::Held(40)),
                ("Pong", Fate::DroppedOnArrival("crashed")),
                ("Lost", Fate::DroppedAtSend("loss")),
                ("Late", Fate::InFlight),
            ]
        );
        assert_eq!(w.messages_total, 5);
        assert_eq!(
            w.spans,
            [Span {
                node: Some(2),
                from_ns: 22,
                to_ns: 40,
                kind: SpanKind::Paused,
                what: "pause c".into()
            }]
        );
    }

    #[test]
    fn a_budget_keeps_the_first_or_the_last_messages_and_cuts_the_window_to_them() {
        let lines: Vec<String> = (0..10)
            .flat_map(|i| {
                [
                    send(i * 10, "a", "b", &format!("M{i}"), i * 10 + 5),
                    deliver(i * 10 + 5, "a", "b", &format!("M{i}")),
                ]
            })
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let first = read(&lines, all(3, Keep::First));
        let texts = |w: &TraceWindow| {
            w.messages
                .iter()
                .map(|m| m.text.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&first), ["M0", "M1", "M2"]);
        assert_eq!((first.from_ns, first.to_ns), (0, 20));
        assert_eq!(first.messages_total, 10, "the rest are counted");
        assert!(first.messages.iter().all(|m| m.fate == Fate::Delivered));
        let last = read(&lines, all(3, Keep::Last));
        assert_eq!(texts(&last), ["M7", "M8", "M9"]);
        assert_eq!(last.from_ns, 70);
        assert!(
            last.messages.iter().all(|m| m.fate == Fate::Delivered),
            "fates follow the messages kept, not their positions"
        );
    }

    #[test]
    fn crashes_pauses_and_partitions_become_spans_clipped_to_the_window() {
        let f = |at_ns, node, fault: &str| FaultMark {
            at_ns,
            node,
            fault: fault.into(),
            what: fault.into(),
            origin: String::new(),
        };
        let faults = [
            f(5, Some(0), "crash"),
            f(15, None, "partition"),
            f(20, Some(0), "restart"),
            f(25, None, "partition"),
            f(27, None, "partition_one_way"),
            f(28, None, "partition_one_way"),
            f(30, Some(1), "pause"),
            f(31, None, "heal"),
        ];
        let spans = spans(&faults, 10, 32);
        let got: Vec<(Option<u32>, u64, u64, SpanKind)> = spans
            .iter()
            .map(|s| (s.node, s.from_ns, s.to_ns, s.kind))
            .collect();
        assert_eq!(
            got,
            [
                (Some(0), 10, 20, SpanKind::Crashed),
                (None, 15, 25, SpanKind::Partitioned),
                (None, 25, 31, SpanKind::Partitioned),
                (None, 27, 31, SpanKind::Partitioned),
                (None, 28, 31, SpanKind::Partitioned),
                (Some(1), 30, 32, SpanKind::Paused),
            ]
        );
    }

    #[test]
    fn client_records_pair_into_operations_in_the_checkers_words() {
        let lines = [
            r#"{"t_ns":5,"node":"a","kind":"record","process":7,"type":"invoke","f":"write","key":"1","value":"3"}"#,
            r#"{"t_ns":9,"node":"a","kind":"record","process":7,"type":"ok","f":"write","key":"1","value":"3"}"#,
            r#"{"t_ns":6,"node":"b","kind":"record","process":8,"type":"invoke","f":"read","key":"1","value":"nil"}"#,
        ];
        let w = read(&lines, all(10, Keep::First));
        assert_eq!(w.operations.len(), 2);
        assert_eq!(w.operations[0].text, "process 7 :write key 1 3 → 3");
        assert_eq!(w.operations[0].complete, Some((9, Kind::Ok)));
        assert_eq!(w.operations[1].node, 1);
        assert_eq!(w.operations[1].complete, None, "still open");
    }
}
