//! The protocols a program knows, and parsing a scenario file with them.
//!
//! A file is read in up to three passes. The first stops at the protocol section's name and
//! finds it in the [`Registry`] (an unknown name is reported where it is written, with the
//! registered ones and a suggestion). The protocol's own parser then reads the whole file
//! with the section typed, which checks syntax, field names and every value that can be
//! judged on its own, and learns the node and invariant names; the last pass checks every
//! node and invariant name against those, so an unknown node in the fault schedule is
//! reported at its own line and column like any other mistake.

use std::cell::RefCell;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, EnumAccess, VariantAccess, Visitor};
use serde::Deserialize;

use sim_core::{NodeNames, NODES_MAX};

use crate::error::ScenarioError;
use crate::file::{LoadedScenario, Scenario};
use crate::section::{ProtocolOptions, ProtocolSection};
use crate::syntax::ron_options;
use crate::types::{suggest, KnownNamesGuard};

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
            parse: parse_as::<O>,
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
        let source = read_source(path)?;
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

/// The text of a scenario file.
fn read_source(path: &str) -> Result<String, ScenarioError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ScenarioError::whole_file(path, format!("cannot read the file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        // Where the first byte that is not UTF-8 is, by line and column (in characters).
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let good = std::str::from_utf8(good).expect("valid up to here");
        let line = good.matches('\n').count() + 1;
        let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ScenarioError {
            file: path.to_string(),
            line,
            column,
            message: format!(
                "byte 0x{:02x} is not UTF-8: scenario files are UTF-8 text",
                e.as_bytes()[good.len()]
            ),
        }
    })
}

/// One parsing pass over `source`, with protocol section type `P`.
fn parse_text<P: for<'de> Deserialize<'de>>(
    file: &str,
    source: &str,
) -> Result<Scenario<P>, ScenarioError> {
    ron_options()
        .from_str(source)
        .map_err(|e| ScenarioError::from_ron(file, &e))
}

/// Checks scenario text whose protocol is `O`: the first pass reads the protocol section
/// and learns its node and invariant names, the second checks every name against them.
fn parse_as<O: ProtocolOptions>(file: &str, source: &str) -> Result<LoadedScenario, ScenarioError> {
    let first: Scenario<Typed<O>> = parse_text(file, source)?;
    let names = NodeNames::new(first.protocol.0.node_names());
    let max = NODES_MAX;
    if names.len() > max {
        return Err(ScenarioError::whole_file(
            file,
            format!(
                "the protocol section makes {} nodes; dsim runs clusters of at most {max}",
                names.len()
            ),
        ));
    }
    let invariants = first.protocol.0.invariant_names().to_vec();
    let scenario: Scenario<Typed<O>> = {
        let _guard = KnownNamesGuard::set(names.clone(), invariants);
        parse_text(file, source)?
    };
    // The same text read twice gives the same options, so the names are the section's.
    let protocol = ProtocolSection::with_names(scenario.protocol.0.clone(), names.clone());
    Ok(LoadedScenario {
        file: file.to_string(),
        scenario: scenario.with_protocol(protocol),
        names,
        reparse: parse_as::<O>,
    })
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
    let result = parse_text::<NameProbe>(file, source);
    let found = PROBE.with(|p| p.borrow_mut().take().and_then(|(_, found)| found));
    match (found, result) {
        (Some(name), _) => Ok(name),
        (None, Err(e)) => Err(e),
        (None, Ok(_)) => unreachable!("the probe never finishes a parse"),
    }
}

/// Deserializes only the protocol's name, checks it against the registry, and stops.
struct NameProbe;

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
    let hint = suggest(name, registered.iter().copied())
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    format!(
        "unknown protocol `{name}`; expected one of {}{hint}",
        listed.join(", ")
    )
}

/// The protocol section of protocol `O`, as the typed parse reads it.
struct Typed<O>(O);

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
