//! A scenario's protocol section: the [`ProtocolOptions`] trait a protocol's options type
//! implements, the shrink hooks and their helpers, and [`ProtocolSection`], the section of a
//! parsed scenario whichever protocol it names.

use std::any::Any;
use std::fmt::Debug;
use std::io::Write;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::Serialize;

use sim_core::{NodeNames, Protocol, RunOutcome, SimOptions, Simulation};

use crate::syntax::inline;

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

impl<O: Clone> Family<O> {
    /// The family `{prefix}0` … of `members` nodes, whose count `set` writes into the
    /// options: `Family::of(self, "c", self.clients, 1, |o, n| o.clients = n)`.
    pub fn of(
        options: &O,
        prefix: &'static str,
        members: u32,
        members_min: u32,
        set: impl FnOnce(&mut O, u32),
    ) -> Self {
        let mut one_fewer = options.clone();
        set(&mut one_fewer, members.saturating_sub(1));
        Family {
            prefix,
            members,
            members_min,
            one_fewer,
        }
    }
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
    fn run(
        &self,
        options: SimOptions,
        names: NodeNames,
        trace: Option<Box<dyn Write>>,
    ) -> RunOutcome;
    fn smaller(&self) -> Vec<Vec<(String, ProtocolSection)>>;
    fn families(&self) -> Vec<Family<ProtocolSection>>;
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
        inline(&Named(O::NAME, self))
    }
    fn run(
        &self,
        options: SimOptions,
        names: NodeNames,
        trace: Option<Box<dyn Write>>,
    ) -> RunOutcome {
        let mut sim = Simulation::with_names(self.build(), options, names);
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
pub struct ProtocolSection {
    options: Box<dyn AnyOptions>,
    /// The node names, made once and shared with the scenario and its runs.
    names: OnceLock<NodeNames>,
}

impl ProtocolSection {
    pub fn new<O: ProtocolOptions>(options: O) -> Self {
        ProtocolSection {
            options: Box::new(options),
            names: OnceLock::new(),
        }
    }

    /// A section whose node names are known already (made from the same options).
    pub(crate) fn with_names<O: ProtocolOptions>(options: O, names: NodeNames) -> Self {
        ProtocolSection {
            options: Box::new(options),
            names: OnceLock::from(names),
        }
    }

    /// The name the scenario file writes.
    pub fn name(&self) -> &'static str {
        self.options.name()
    }

    pub fn node_names(&self) -> Vec<String> {
        self.names().to_vec()
    }

    /// The node names, indexed by id: made on first use, then shared.
    pub fn names(&self) -> &NodeNames {
        self.names
            .get_or_init(|| NodeNames::new(self.options.node_names()))
    }

    pub fn invariant_names(&self) -> &'static [&'static str] {
        self.options.invariant_names()
    }

    /// The options, if they are of protocol `O`.
    pub fn downcast_ref<O: ProtocolOptions>(&self) -> Option<&O> {
        self.options.as_any().downcast_ref()
    }

    /// The section as one line of RON: `PingPong(nodes: 3, ...)`, every field spelt out.
    pub fn to_ron(&self) -> String {
        self.options.to_ron()
    }

    /// Builds the protocol and runs it.
    pub fn run(&self, options: SimOptions, trace: Option<Box<dyn Write>>) -> RunOutcome {
        self.options.run(options, self.names().clone(), trace)
    }

    /// [`ProtocolOptions::smaller`], type-erased.
    pub fn smaller(&self) -> Vec<Vec<(String, ProtocolSection)>> {
        self.options.smaller()
    }

    /// [`ProtocolOptions::families`], type-erased.
    pub fn families(&self) -> Vec<Family<ProtocolSection>> {
        self.options.families()
    }
}

impl Clone for ProtocolSection {
    fn clone(&self) -> Self {
        ProtocolSection {
            options: self.options.clone_box(),
            names: self.names.clone(),
        }
    }
}

impl Debug for ProtocolSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.options.fmt(f)
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
