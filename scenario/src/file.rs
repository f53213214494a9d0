//! A scenario file's parts: the cluster, its network and clocks, the protocol section,
//! the fault schedule, the nemesis and what the scenario expects; and a loaded scenario's
//! engine options.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ScenarioError;
use crate::link::LinkOverrideSpec;
use crate::types::{InvariantName, NodeName};

use sim_core::{
    Duration, Latency, LinkOptions, NemesisOptions, NodeId, NodeNames, Ppm, Probability,
    RunOutcome, SignedDuration, SimOptions, TimedFault, PENDING_MAX_DEFAULT,
};

use crate::section::ProtocolSection;

/// A whole scenario file. `P` is its protocol section: type-erased once parsed
/// ([`ProtocolSection`]), typed while it is read.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario<P = ProtocolSection> {
    /// A short name, shown in summaries.
    pub name: String,
    /// The default seed; `--seed` overrides it.
    #[serde(default)]
    pub seed: u64,
    pub limits: Limits,
    #[serde(default)]
    pub network: NetworkSpec,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clocks: Vec<ClockSpec>,
    pub protocol: P,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<TimedFault<NodeName>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemesis: Option<NemesisOptions<NodeName>>,
    /// Which invariants to check; all of the protocol's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invariants: Option<Vec<InvariantName>>,
    /// What the scenario is meant to show; an outcome that contradicts it is reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
}

/// What a scenario is meant to show. `dsim run` and `dsim sweep` report an outcome that
/// contradicts it, so a scenario meant to pass that starts failing at some seed is noticed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Expect {
    /// Every invariant holds, at every seed.
    Holds,
    /// At its own seed the run violates one of these invariants, and at any seed a run
    /// that fails violates one of these (other seeds may pass).
    Violates(Vec<InvariantName>),
    /// Some seeds (not necessarily its own) violate these, and no seed violates another:
    /// a liveness bound that a rare fault schedule outlasts, say.
    MayViolate(Vec<InvariantName>),
}

impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        enum Spec {
            Holds,
            Violates(Vec<InvariantName>),
            MayViolate(Vec<InvariantName>),
        }
        let empty = || {
            serde::de::Error::custom(
                "name the invariants the scenario is meant to violate; write `Holds` for a \
                 scenario meant to pass",
            )
        };
        match Spec::deserialize(d)? {
            Spec::Holds => Ok(Expect::Holds),
            Spec::Violates(v) | Spec::MayViolate(v) if v.is_empty() => Err(empty()),
            Spec::Violates(v) => Ok(Expect::Violates(v)),
            Spec::MayViolate(v) => Ok(Expect::MayViolate(v)),
        }
    }
}

impl Expect {
    /// What contradicts this declaration in a run at `seed` that violated `violated` (or
    /// nothing), for a scenario whose own seed is `own_seed`; `None` if nothing does.
    pub fn contradiction(
        &self,
        violated: Option<&str>,
        seed: u64,
        own_seed: u64,
    ) -> Option<String> {
        let names = match self {
            Expect::Holds => {
                return violated.map(|v| format!("meant to hold, but violated {v}"));
            }
            Expect::Violates(names) | Expect::MayViolate(names) => names,
        };
        match violated {
            Some(v) if names.iter().any(|n| n.0 == v) => None,
            Some(v) => Some(format!(
                "meant to violate only {}, but violated {v}",
                Self::list(names)
            )),
            None if seed == own_seed && matches!(self, Expect::Violates(_)) => Some(format!(
                "meant to violate {} at its own seed, but every invariant held",
                Self::list(names)
            )),
            None => None,
        }
    }

    fn list(names: &[InvariantName]) -> String {
        let names: Vec<&str> = names.iter().map(|n| n.0.as_str()).collect();
        names.join(" or ")
    }

    /// The declaration in words: "every invariant holds", "violates atomicity".
    pub fn describe(&self) -> String {
        match self {
            Expect::Holds => "every invariant holds".to_string(),
            Expect::Violates(names) => format!("violates {}", Self::list(names)),
            Expect::MayViolate(names) => format!("may violate {}", Self::list(names)),
        }
    }
}

/// Bounds on a run: it never hangs.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Virtual time to simulate.
    #[serde(deserialize_with = "crate::types::positive_duration")]
    pub time: Duration,
    /// Events to process at most (at least 1; `EVENTS_MAX_DEFAULT` when absent).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::types::some_positive"
    )]
    pub events: Option<u64>,
    /// Pending events at most (at least 1; `PENDING_MAX_DEFAULT` when absent).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::types::some_positive"
    )]
    pub pending: Option<u64>,
}

/// Events a scenario's run processes at most when `limits.events` is not given: a run
/// always ends, even one that keeps virtual time crawling forward.
pub const EVENTS_MAX_DEFAULT: u64 = 100_000_000;

/// The default link and per-link overrides.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    #[serde(default)]
    pub latency: Latency,
    #[serde(default)]
    pub loss: Probability,
    #[serde(default)]
    pub duplicate: Probability,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkOverrideSpec>,
}

/// A node whose clock is off.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    pub node: NodeName,
    #[serde(default)]
    pub offset: SignedDuration,
    #[serde(default)]
    pub drift_ppm: Ppm,
}

impl<P> Scenario<P> {
    /// The same scenario with another protocol section.
    pub(crate) fn with_protocol<Q>(self, protocol: Q) -> Scenario<Q> {
        Scenario {
            name: self.name,
            seed: self.seed,
            limits: self.limits,
            network: self.network,
            clocks: self.clocks,
            protocol,
            faults: self.faults,
            nemesis: self.nemesis,
            invariants: self.invariants,
            expect: self.expect,
        }
    }
}

/// A parsed, checked scenario and where it came from.
#[derive(Clone, Debug)]
pub struct LoadedScenario {
    pub file: String,
    pub scenario: Scenario,
    /// Node names, indexed by id.
    pub names: NodeNames,
    /// Parses text of this scenario's protocol: how the shrinker reads back what it writes.
    pub(crate) reparse: Reparse,
}

/// A parser of scenario text for one protocol.
pub(crate) type Reparse = fn(&str, &str) -> Result<LoadedScenario, ScenarioError>;

impl LoadedScenario {
    /// Checks scenario text of this scenario's protocol (the shrinker's candidates); `file`
    /// is only used in error messages.
    pub fn parse_same_protocol(&self, file: &str, source: &str) -> Result<Self, ScenarioError> {
        (self.reparse)(file, source)
    }

    fn id(&self, name: &NodeName) -> NodeId {
        // Every name was checked in the second pass.
        self.names
            .position(&name.0)
            .expect("node names are checked while parsing") as NodeId
    }

    /// The engine options for a run of this scenario with `seed`.
    pub fn sim_options(&self, seed: u64) -> SimOptions {
        let s = &self.scenario;
        let index: BTreeMap<&str, NodeId> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n, i as NodeId))
            .collect();
        let resolve = |n: &NodeName| -> Result<NodeId, ()> { Ok(index[n.0.as_str()]) };
        let link = LinkOptions {
            latency: s.network.latency.clone(),
            loss: s.network.loss.0,
            duplicate: s.network.duplicate.0,
        };
        let links = s
            .network
            .links
            .iter()
            .map(|l| {
                let options = LinkOptions {
                    latency: l.latency.clone().unwrap_or_else(|| link.latency.clone()),
                    loss: l.loss.map_or(link.loss, |p| p.0),
                    duplicate: l.duplicate.map_or(link.duplicate, |p| p.0),
                };
                (self.id(&l.from), self.id(&l.to), options)
            })
            .collect();
        let faults = s
            .faults
            .iter()
            .map(|tf| TimedFault {
                at: tf.at,
                fault: tf
                    .fault
                    .map_nodes(resolve)
                    .expect("node names are checked while parsing"),
            })
            .collect();
        SimOptions {
            seed,
            time_limit_ns: s.limits.time.0,
            max_events: s.limits.events.unwrap_or(EVENTS_MAX_DEFAULT),
            pending_max: s.limits.pending.map_or(PENDING_MAX_DEFAULT, |p| {
                usize::try_from(p).unwrap_or(usize::MAX)
            }),
            link,
            links,
            clocks: s
                .clocks
                .iter()
                .map(|c| (self.id(&c.node), c.offset.0, c.drift_ppm.0))
                .collect(),
            faults,
            nemesis: s.nemesis.clone().map(|n| {
                n.map_targets(resolve)
                    .expect("node names are checked while parsing")
            }),
            invariants: s
                .invariants
                .as_ref()
                .map(|v| v.iter().map(|i| i.0.clone()).collect()),
        }
    }
}

impl LoadedScenario {
    /// Runs the scenario with `seed`, streaming the trace to `trace` if given.
    pub fn run(&self, seed: u64, trace: Option<Box<dyn std::io::Write>>) -> RunOutcome {
        self.scenario.protocol.run(self.sim_options(seed), trace)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const GOOD: &str = r#"
// a comment
(
    name: "t",
    seed: 3,
    limits: (time: "2s", events: 1000),
    network: (latency: Uniform(min: "1ms", max: "3ms"), loss: 0.01,
              links: [(from: "n0", to: "n1", loss: 0.5)]),
    clocks: [(node: "n2", offset: "-5ms", drift_ppm: 200)],
    protocol: Relay(nodes: 3),
    faults: [
        (at: "1s", fault: Crash("n1")),
        (at: "1500ms", fault: Pause(node: "n2", duration: "100ms")),
        (at: "1600ms", fault: PartitionOneWay(from: ["n0"], to: ["n2"])),
    ],
    nemesis: (crash: (every: "1s", lasts: "100ms")),
    invariants: ["progress"],
)
"#;

    #[test]
    fn a_full_scenario_parses_and_resolves_names() {
        let s = crate::testing::registry().parse("t.ron", GOOD).unwrap();
        assert_eq!(s.names, ["n0", "n1", "n2"]);
        let o = s.sim_options(9);
        assert_eq!(o.seed, 9);
        assert_eq!(o.time_limit_ns, 2_000_000_000);
        assert_eq!(o.max_events, 1000);
        assert_eq!(o.links.len(), 1);
        assert_eq!((o.links[0].0, o.links[0].1, o.links[0].2.loss), (0, 1, 0.5));
        assert_eq!(o.clocks, vec![(2, -5_000_000, 200)]);
        assert_eq!(o.faults[0].fault, sim_core::Fault::Crash(1));
        assert!(o.nemesis.is_some());
    }

    fn error_of(text: &str) -> ScenarioError {
        crate::testing::registry()
            .parse("bad.ron", text)
            .unwrap_err()
    }

    #[test]
    fn unknown_fields_get_a_suggestion_and_a_position() {
        let text = GOOD.replace("loss: 0.01", "los: 0.01");
        let e = error_of(&text);
        assert_eq!(e.line, 7, "{e}");
        assert!(e.message.contains("unknown field `los`"), "{e}");
        assert!(e.message.contains("did you mean `loss`"), "{e}");
    }

    #[test]
    fn unknown_nodes_are_reported_where_they_are_written() {
        let text = GOOD.replace("Crash(\"n1\")", "Crash(\"n7\")");
        let e = error_of(&text);
        assert_eq!(e.line, 12, "{e}");
        assert!(e.message.contains("unknown node \"n7\""), "{e}");
    }

    #[test]
    fn bad_values_are_reported_with_what_was_expected() {
        let cases = [
            ("loss: 0.01", "loss: 1.5", "outside [0, 1]"),
            ("\"2s\"", "\"-2s\"", "negative"),
            ("\"2s\"", "\"2 fortnights\"", "unknown unit"),
            ("nodes: 3", "nodes: 1", "at least 2 nodes"),
            ("\"progress\"", "\"progres\"", "did you mean \"progress\""),
            ("max: \"3ms\"", "max: \"0ms\"", "greater than its max"),
            ("drift_ppm: 200", "drift_ppm: 2000000", "out of range"),
            ("every: \"1s\"", "every: \"0s\"", "at least 1ms"),
            (
                "Relay(",
                "Rellay(",
                "unknown protocol `Rellay`; expected one of `Relay`; did you mean `Relay`?",
            ),
        ];
        for (from, to, expect) in cases {
            let e = error_of(&GOOD.replacen(from, to, 1));
            assert!(e.line > 0, "{to}: no position in {e}");
            assert!(e.message.contains(expect), "{to}: {e}");
        }
    }

    #[test]
    fn an_expectation_names_known_invariants_and_judges_outcomes() {
        let with = |e: &str| GOOD.replace("invariants: [\"progress\"],", &format!("expect: {e},"));
        let s = crate::testing::registry()
            .parse("t.ron", &with("Violates([\"progress\"])"))
            .unwrap();
        let e = s.scenario.expect.unwrap();
        assert_eq!(e.describe(), "violates progress");
        assert_eq!(e.contradiction(Some("progress"), 3, 3), None);
        assert_eq!(e.contradiction(None, 4, 3), None, "another seed may pass");
        assert!(e
            .contradiction(None, 3, 3)
            .unwrap()
            .contains("at its own seed"));
        assert_eq!(Expect::Holds.contradiction(None, 3, 3), None);
        assert!(Expect::Holds
            .contradiction(Some("progress"), 9, 3)
            .is_some());
        let may = Expect::MayViolate(vec![InvariantName("progress".into())]);
        assert_eq!(may.contradiction(None, 3, 3), None);
        assert!(may.contradiction(Some("other"), 3, 3).is_some());
        for (bad, expect) in [
            ("Violates([])", "name the invariants"),
            ("Violates([\"progres\"])", "did you mean \"progress\""),
            ("Fails", "unknown variant `Fails`"),
        ] {
            let e = error_of(&with(bad));
            assert!(e.line > 0 && e.message.contains(expect), "{bad}: {e}");
        }
    }

    #[test]
    fn syntax_errors_and_missing_fields() {
        let e = error_of("(name: \"x\", limits: (time: \"1s\")");
        assert!(e.line >= 1);
        let e = error_of("(name: \"x\", protocol: Relay(nodes: 2))");
        assert!(e.message.contains("missing field `limits`"), "{e}");
    }
}
