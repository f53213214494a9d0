//! Value types of scenario files that check themselves while they are parsed, so that a
//! bad value is reported at its own line and column.

use std::cell::RefCell;

use serde::de::{self, Deserialize, Deserializer};

/// A duration that must be longer than zero (rates, timeouts).
pub fn positive_duration<'de, D: Deserializer<'de>>(d: D) -> Result<sim_core::Duration, D::Error> {
    let v = sim_core::Duration::deserialize(d)?;
    if v.0 == 0 {
        return Err(de::Error::custom("expected a duration longer than zero"));
    }
    Ok(v)
}

/// `what` (now `value`) within what dsim supports, `max`: sizes beyond it would exhaust
/// memory or time before a run could say anything, so they are refused where they are
/// written.
pub fn at_most(what: &str, value: u64, max: u64) -> Result<(), String> {
    if value > max {
        return Err(format!(
            "{what} {value} is more than dsim supports ({max}); see \"Limits\" in \
             docs/scenario-format.md"
        ));
    }
    Ok(())
}

/// An optional count that, when given, is at least 1.
pub fn some_positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<u64>::deserialize(d)?;
    if v == Some(0) {
        return Err(de::Error::custom("expected at least 1"));
    }
    Ok(v)
}

thread_local! {
    /// The names a scenario may refer to, set during the second parsing pass.
    static KNOWN: RefCell<Option<Known>> = const { RefCell::new(None) };
}

struct Known {
    nodes: sim_core::NodeNames,
    invariants: Vec<&'static str>,
}

/// While alive, node and invariant names parsed on this thread are checked against these.
pub(crate) struct KnownNamesGuard;

impl KnownNamesGuard {
    pub(crate) fn set(nodes: sim_core::NodeNames, invariants: Vec<&'static str>) -> Self {
        KNOWN.with(|k| *k.borrow_mut() = Some(Known { nodes, invariants }));
        KnownNamesGuard
    }
}

impl Drop for KnownNamesGuard {
    fn drop(&mut self) {
        KNOWN.with(|k| *k.borrow_mut() = None);
    }
}

/// Deserializes a name and, during the second pass, checks it with `problem`, which
/// returns what is wrong with the name, if anything.
fn known_name<'de, D: Deserializer<'de>>(
    d: D,
    problem: impl FnOnce(&Known, &str) -> Option<String>,
) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    let problem = KNOWN.with(|k| k.borrow().as_ref().and_then(|known| problem(known, &name)));
    match problem {
        Some(msg) => Err(de::Error::custom(msg)),
        None => Ok(name),
    }
}

fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    suggest(name, candidates)
        .map(|s| format!("; did you mean \"{s}\"?"))
        .unwrap_or_default()
}

/// A reference to a node by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct NodeName(pub String);

impl<'de> Deserialize<'de> for NodeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        known_name(d, |known, name| {
            let nodes = &known.nodes;
            if nodes.position(name).is_some() {
                return None;
            }
            let range = match nodes.len() {
                0 => "no nodes".to_string(),
                1 => format!("one node, {}", &nodes[0]),
                n if n > 6 => format!("{n} nodes, {} … {}", &nodes[0], &nodes[n - 1]),
                _ => nodes.to_vec().join(", "),
            };
            let hint = did_you_mean(name, nodes.iter());
            Some(format!(
                "unknown node \"{name}\" (the cluster has {range}){hint}"
            ))
        })
        .map(NodeName)
    }
}

/// A reference to one of the protocol's invariants by name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct InvariantName(pub String);

impl<'de> Deserialize<'de> for InvariantName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        known_name(d, |known, name| {
            if known.invariants.contains(&name) {
                return None;
            }
            let hint = did_you_mean(name, known.invariants.iter().copied());
            Some(format!(
                "unknown invariant \"{name}\"; this protocol checks: {}{hint}",
                known.invariants.join(", ")
            ))
        })
        .map(InvariantName)
    }
}

/// The nearest candidate to `word` by edit distance, if it is near enough to be a typo.
pub fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    let mut tied = false;
    for c in candidates {
        let d = edit_distance(word, c);
        match best {
            _ if d > limit => {}
            Some((b, _)) if d > b => {}
            Some((b, _)) if d == b => tied = true,
            _ => {
                best = Some((d, c));
                tied = false;
            }
        }
    }
    // Two equally near candidates ("n9" is one edit from both "n0" and "n1"): no guess.
    if tied {
        None
    } else {
        best.map(|(_, c)| c)
    }
}

/// Levenshtein distance, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let fields = ["latency", "loss", "duplicate", "links"];
        assert_eq!(suggest("lattency", fields.iter().copied()), Some("latency"));
        assert_eq!(suggest("los", fields.iter().copied()), Some("loss"));
        assert_eq!(suggest("banana", fields.iter().copied()), None);
        assert_eq!(
            suggest("n9", ["n0", "n1"].into_iter()),
            None,
            "a tie is no suggestion"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
