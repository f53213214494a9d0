//! Protocols: what runs on the nodes, and how a scenario file names and configures it.
//!
//! Two traits and a registry:
//!
//! - [`Protocol`] is what the [`Simulation`](crate::Simulation) runs: it names the nodes,
//!   builds them (at start and after every crash), and hands out its checkers and metrics.
//! - [`ProtocolOptions`] is a protocol's section of a scenario file, `Name(field: value,
//!   ...)`: the name files write, the fields (any `serde` type; its own checks run while the
//!   file is parsed, so a bad value is reported at its line and column), and how to build
//!   the [`Protocol`]. Optional hooks tell the shrinker how to make the cluster smaller.
//! - A [`Registry`] lists the protocols a program knows; the scenario parser dispatches on
//!   it, and every `dsim` command works on whatever it holds.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use sim_core::protocol::{Protocol, ProtocolOptions, Registry};
//! use sim_core::{Context, Node, NodeId, TimerId};
//!
//! /// `Echo(nodes: 3)`: node 0 says hello to everyone, who answer.
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct EchoOptions {
//!     nodes: u32,
//! }
//!
//! struct Echo(u32);
//! struct EchoNode;
//!
//! impl Node for EchoNode {
//!     type Message = u64;
//!     type Observation = ();
//!     type Record = ();
//!     type Timer = u64;
//!     fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
//!         if ctx.id() == 0 {
//!             for peer in 1..ctx.node_count() {
//!                 ctx.send(peer, 0);
//!             }
//!         }
//!     }
//!     fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: u64) {
//!         if msg == 0 {
//!             ctx.send(from, 1);
//!         }
//!     }
//!     fn on_timer(&mut self, _: &mut Context<'_, Self>, _: TimerId, _: u64) {}
//! }
//!
//! impl Protocol for Echo {
//!     type Node = EchoNode;
//!     fn name(&self) -> &'static str {
//!         "echo"
//!     }
//!     fn node_names(&self) -> Vec<String> {
//!         (0..self.0).map(|i| format!("e{i}")).collect()
//!     }
//!     fn make_node(&self, _id: NodeId) -> EchoNode {
//!         EchoNode
//!     }
//! }
//!
//! impl ProtocolOptions for EchoOptions {
//!     const NAME: &'static str = "Echo";
//!     type Protocol = Echo;
//!     fn build(&self) -> Echo {
//!         Echo(self.nodes)
//!     }
//! }
//!
//! let registry = Registry::new().with::<EchoOptions>();
//! let scenario = registry
//!     .parse("echo.ron", r#"(name: "echo", limits: (time: "1s"), protocol: Echo(nodes: 3))"#)
//!     .unwrap();
//! assert_eq!(scenario.names, ["e0", "e1", "e2"]);
//! assert_eq!(scenario.run(1, None).messages.delivered, 4);
//!
//! let typo = registry.parse("t.ron", r#"(name: "t", limits: (time: "1s"), protocol: Ecko(nodes: 3))"#);
//! assert!(typo.unwrap_err().to_string().contains("did you mean `Echo`?"));
//! ```

use std::any::Any;
use std::cell::RefCell;
use std::fmt::Debug;
use std::io::Write;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, EnumAccess, VariantAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::checker::{Checker, Metrics, NoMetrics};
use crate::node::Node;
use crate::scenario::{LoadedScenario, ScenarioError};
use crate::simulation::{RunOutcome, SimOptions, Simulation};
use crate::NodeId;

/// A protocol the simulation can run.
pub trait Protocol {
    type Node: Node;

    /// The protocol's name, for people (the trace, error messages).
    fn name(&self) -> &'static str;

    /// The cluster's node names; a node's id is its index here.
    fn node_names(&self) -> Vec<String>;

    /// A fresh node, with empty volatile state (at start, and after each crash).
    fn make_node(&self, id: NodeId) -> Self::Node;

    /// Every invariant this protocol can check, by name. None by default.
    fn invariant_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// The checker for one of [`invariant_names`](Self::invariant_names).
    fn checker(&self, _name: &str) -> Option<Box<dyn Checker<Self::Node>>> {
        None
    }

    /// The protocol's metrics collector. None by default.
    fn metrics(&self) -> Box<dyn Metrics<Self::Node>> {
        Box::new(NoMetrics)
    }
}

/// A protocol's section of a scenario file: `Name(field: value, ...)`.
///
/// Implement it for the options type of your protocol (a `serde` struct; put
/// `#[serde(deny_unknown_fields)]` on it so a misspelt field is refused with a suggestion,
/// and validate in `Deserialize` (for example with `#[serde(try_from = ...)]`) so a bad
/// value is reported at its line and column). Only [`NAME`](Self::NAME),
/// [`Protocol`](Self::Protocol) and [`build`](Self::build) are required.
pub trait ProtocolOptions:
    Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The name scenario files write: `protocol: Name(...)`.
    const NAME: &'static str;

    /// What runs.
    type Protocol: Protocol;

    /// The protocol these options describe.
    fn build(&self) -> Self::Protocol;

    /// The node names, indexed by id. By default those of the built protocol; override it
    /// when building is costly.
    fn node_names(&self) -> Vec<String> {
        self.build().node_names()
    }

    /// The invariants a scenario may name. By default those of the built protocol.
    fn invariant_names(&self) -> &'static [&'static str] {
        self.build().invariant_names()
    }

    /// For the shrinker: smaller versions of these options, one list per knob, each
    /// candidate with a description of the change ("clients 3 → 1"); in each list the
    /// biggest step first. The shrinker keeps the first candidate of a list that still
    /// fails; keep the number of lists the same as the options shrink. By default every whole-number field is tried at 1, at half and at one less
    /// ([`smaller_numbers`]); candidates that the options' own checks refuse are skipped.
    fn smaller(&self) -> Vec<Vec<(String, Self)>> {
        smaller_numbers(self)
    }

    /// For the shrinker: families of positionally named nodes (`c0`, `c1`, …) that may
    /// lose a member from the middle, with the options for one member fewer. None by
    /// default.
    fn families(&self) -> Vec<Family<Self>> {
        Vec::new()
    }
}

/// A family of nodes named `{prefix}0`, `{prefix}1`, … whose size the shrinker may change.
#[derive(Clone, Debug)]
pub struct Family<O> {
    /// The name prefix: `c` for `c0`, `c1`, ….
    pub prefix: &'static str,
    /// Members now.
    pub members: u32,
    /// The fewest members the protocol accepts.
    pub members_min: u32,
    /// The options with one member fewer (the last name gone).
    pub one_fewer: O,
}

/// Values to try for a count now at `value` that may go down to `min`: the least first,
/// then half, then one less, so that the shrinker takes big steps when it can.
pub fn fewer(value: u64, min: u64) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    for v in [min, value / 2, value.saturating_sub(1)] {
        if v >= min && v < value && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// One shrink knob: `options` with the count `field` (now `now`) set to each of
/// [`fewer`]`(now, min)` by `set`, each described as "field now → value".
pub fn knob<O: Clone>(
    options: &O,
    field: &str,
    now: u32,
    min: u32,
    set: impl Fn(&mut O, u32),
) -> Vec<(String, O)> {
    fewer(now.into(), min.into())
        .into_iter()
        .map(|v| {
            let v = v as u32; // below `now`, so it fits
            let mut o = options.clone();
            set(&mut o, v);
            (format!("{field} {now} → {v}"), o)
        })
        .collect()
}

/// The generic shrink knobs: every whole-number field of the options (at the top level of
/// its struct) tried at 1, at half and at one less. Candidates that no longer deserialize
/// (the options refuse them) are left out.
pub fn smaller_numbers<O: ProtocolOptions>(options: &O) -> Vec<Vec<(String, O)>> {
    // Through JSON, which keeps field and variant names: the fields in name order.
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(options) else {
        return Vec::new();
    };
    let mut knobs = Vec::new();
    for (field, value) in &fields {
        let Some(now) = value.as_u64() else {
            continue;
        };
        let candidates: Vec<(String, O)> = fewer(now, 1)
            .into_iter()
            .filter_map(|v| {
                let mut changed = fields.clone();
                changed.insert(field.clone(), v.into());
                let o = O::deserialize(serde_json::Value::Object(changed)).ok()?;
                Some((format!("{field} {now} → {v}"), o))
            })
            .collect();
        // One list per field, even an empty one, so a knob keeps its place.
        knobs.push(candidates);
    }
    knobs
}

/// The type-erased face of [`ProtocolOptions`], for code that handles any protocol.
trait AnyOptions: Send + Sync + Debug {
    fn name(&self) -> &'static str;
    fn node_names(&self) -> Vec<String>;
    fn invariant_names(&self) -> &'static [&'static str];
    fn to_ron(&self) -> String;
    fn run(&self, options: SimOptions, trace: Option<Box<dyn Write>>) -> RunOutcome;
    fn smaller(&self) -> Vec<Vec<(String, ProtocolSection)>>;
    fn families(&self) -> Vec<Family<ProtocolSection>>;
    fn parse_as_same(&self, file: &str, source: &str) -> Result<LoadedScenario, ScenarioError>;
    fn clone_box(&self) -> Box<dyn AnyOptions>;
    fn as_any(&self) -> &dyn Any;
}

impl<O: ProtocolOptions> AnyOptions for O {
    fn name(&self) -> &'static str {
        O::NAME
    }
    fn node_names(&self) -> Vec<String> {
        ProtocolOptions::node_names(self)
    }
    fn invariant_names(&self) -> &'static [&'static str] {
        ProtocolOptions::invariant_names(self)
    }
    fn to_ron(&self) -> String {
        crate::scenario::write::inline(&Named(O::NAME, self))
    }
    fn run(&self, options: SimOptions, trace: Option<Box<dyn Write>>) -> RunOutcome {
        let mut sim = Simulation::new(self.build(), options);
        if let Some(out) = trace {
            sim.set_trace(out);
        }
        sim.run()
    }
    fn smaller(&self) -> Vec<Vec<(String, ProtocolSection)>> {
        ProtocolOptions::smaller(self)
            .into_iter()
            .map(|knob| {
                knob.into_iter()
                    .map(|(what, o)| (what, ProtocolSection::new(o)))
                    .collect()
            })
            .collect()
    }
    fn families(&self) -> Vec<Family<ProtocolSection>> {
        ProtocolOptions::families(self)
            .into_iter()
            .map(|f| Family {
                prefix: f.prefix,
                members: f.members,
                members_min: f.members_min,
                one_fewer: ProtocolSection::new(f.one_fewer),
            })
            .collect()
    }
    fn parse_as_same(&self, file: &str, source: &str) -> Result<LoadedScenario, ScenarioError> {
        crate::scenario::parse_as::<O>(file, source)
    }
    fn clone_box(&self) -> Box<dyn AnyOptions> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `Name(fields)`: a newtype variant, as scenario files write a protocol section.
struct Named<'a, O>(&'static str, &'a O);

impl<O: Serialize> Serialize for Named<'_, O> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_variant("Protocol", 0, self.0, self.1)
    }
}

/// The protocol section of a parsed scenario, whichever protocol it names.
pub struct ProtocolSection(Box<dyn AnyOptions>);

impl ProtocolSection {
    pub fn new<O: ProtocolOptions>(options: O) -> Self {
        ProtocolSection(Box::new(options))
    }

    /// The name the scenario file writes.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    pub fn node_names(&self) -> Vec<String> {
        self.0.node_names()
    }

    pub fn invariant_names(&self) -> &'static [&'static str] {
        self.0.invariant_names()
    }

    /// The options, if they are of protocol `O`.
    pub fn downcast_ref<O: ProtocolOptions>(&self) -> Option<&O> {
        self.0.as_any().downcast_ref()
    }

    /// The section as one line of RON: `PingPong(nodes: 3, ...)`, every field spelt out.
    pub fn to_ron(&self) -> String {
        self.0.to_ron()
    }

    /// Builds the protocol and runs it.
    pub fn run(&self, options: SimOptions, trace: Option<Box<dyn Write>>) -> RunOutcome {
        self.0.run(options, trace)
    }

    /// [`ProtocolOptions::smaller`], type-erased.
    pub fn smaller(&self) -> Vec<Vec<(String, ProtocolSection)>> {
        self.0.smaller()
    }

    /// [`ProtocolOptions::families`], type-erased.
    pub fn families(&self) -> Vec<Family<ProtocolSection>> {
        self.0.families()
    }

    /// Parses scenario text whose protocol is this one's (no registry needed): how the
    /// shrinker reads back the candidates it writes.
    pub fn parse_as_same(&self, file: &str, source: &str) -> Result<LoadedScenario, ScenarioError> {
        self.0.parse_as_same(file, source)
    }
}

impl Clone for ProtocolSection {
    fn clone(&self) -> Self {
        ProtocolSection(self.0.clone_box())
    }
}

impl Debug for ProtocolSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The protocols a program knows, by the names scenario files write.
///
/// Registering a second protocol under a name already taken replaces the first.
#[derive(Clone, Default)]
pub struct Registry {
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    name: &'static str,
    parse: fn(&str, &str) -> Result<LoadedScenario, ScenarioError>,
}

impl Registry {
    /// A registry that knows no protocol.
    pub fn new() -> Self {
        Registry::default()
    }

    /// This registry and protocol `O`.
    pub fn with<O: ProtocolOptions>(mut self) -> Self {
        self.register::<O>();
        self
    }

    /// Adds protocol `O`.
    pub fn register<O: ProtocolOptions>(&mut self) {
        let entry = Entry {
            name: O::NAME,
            parse: crate::scenario::parse_as::<O>,
        };
        match self.entries.iter_mut().find(|e| e.name == O::NAME) {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }

    /// The names of the registered protocols, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.name).collect()
    }

    /// Reads and checks a scenario file.
    pub fn load(&self, path: &str) -> Result<LoadedScenario, ScenarioError> {
        let source = crate::scenario::read_source(path)?;
        self.parse(path, &source)
    }

    /// Checks scenario text; `file` is only used in error messages.
    pub fn parse(&self, file: &str, source: &str) -> Result<LoadedScenario, ScenarioError> {
        let name = probe_protocol_name(file, source, &self.names())?;
        let entry = self
            .entries
            .iter()
            .find(|e| e.name == name)
            .expect("the probe only finds registered names");
        (entry.parse)(file, source)
    }
}

thread_local! {
    /// While a file is probed: the registered names, and the name found.
    static PROBE: RefCell<Option<(Vec<&'static str>, Option<String>)>> = const { RefCell::new(None) };
}

/// What the probe's deserializer returns once it has the name: parsing stops there.
const PROBE_DONE: &str = "dsim: protocol name found";

/// Finds which protocol a scenario names, checking the file up to its protocol section
/// (an error before it, or an unknown name, is reported at its line and column).
fn probe_protocol_name(
    file: &str,
    source: &str,
    registered: &[&'static str],
) -> Result<String, ScenarioError> {
    PROBE.with(|p| *p.borrow_mut() = Some((registered.to_vec(), None)));
    let result = crate::scenario::parse_text::<NameProbe>(file, source);
    let found = PROBE.with(|p| p.borrow_mut().take().and_then(|(_, found)| found));
    match (found, result) {
        (Some(name), _) => Ok(name),
        (None, Err(e)) => Err(e),
        (None, Ok(_)) => unreachable!("the probe never finishes a parse"),
    }
}

/// Deserializes only the protocol's name, checks it against the registry, and stops.
pub(crate) struct NameProbe;

impl<'de> Deserialize<'de> for NameProbe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NameProbe;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a protocol section such as `PingPong(nodes: 3)`")
            }
            fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<NameProbe, A::Error> {
                let (VariantName(name), _rest) = data.variant()?;
                let problem = PROBE.with(|p| {
                    let mut p = p.borrow_mut();
                    let (registered, found) = p.as_mut()?;
                    if registered.contains(&name.as_str()) {
                        *found = Some(name.clone());
                        return None;
                    }
                    Some(unknown_protocol(&name, registered))
                });
                Err(de::Error::custom(
                    problem.unwrap_or_else(|| PROBE_DONE.into()),
                ))
            }
        }
        d.deserialize_enum("Protocol", &[], V)
    }
}

/// A variant's name, read as an identifier (`PingPong`, not `"PingPong"`).
struct VariantName(String);

impl<'de> Deserialize<'de> for VariantName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = VariantName;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a protocol name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<VariantName, E> {
                Ok(VariantName(v.to_string()))
            }
        }
        d.deserialize_identifier(V)
    }
}

fn unknown_protocol(name: &str, registered: &[&'static str]) -> String {
    if registered.is_empty() {
        return format!("unknown protocol `{name}`: no protocol is registered");
    }
    let listed: Vec<String> = registered.iter().map(|n| format!("`{n}`")).collect();
    let hint = crate::scenario::types::suggest(name, registered.iter().copied())
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    format!(
        "unknown protocol `{name}`; expected one of {}{hint}",
        listed.join(", ")
    )
}

/// The protocol section of protocol `O`, as the typed parse reads it.
pub(crate) struct Typed<O>(pub O);

impl<'de, O: ProtocolOptions> Deserialize<'de> for Typed<O> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<O>(PhantomData<O>);
        impl<'de, O: ProtocolOptions> Visitor<'de> for V<O> {
            type Value = Typed<O>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a protocol section `{}(...)`", O::NAME)
            }
            fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Typed<O>, A::Error> {
                let (VariantName(name), rest) = data.variant()?;
                if name != O::NAME {
                    return Err(de::Error::custom(format!(
                        "expected protocol `{}`, found `{name}`",
                        O::NAME
                    )));
                }
                rest.newtype_variant::<O>().map(Typed)
            }
        }
        d.deserialize_enum("Protocol", &[O::NAME], V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fewer_tries_big_steps_first() {
        assert_eq!(fewer(10, 1), vec![1, 5, 9]);
        assert_eq!(fewer(2, 1), vec![1]);
        assert_eq!(fewer(3, 2), vec![2]);
        assert!(fewer(1, 1).is_empty());
    }
}
