//! Smaller versions of a scenario's cluster, workload and network, one knob at a time.
//!
//! Each candidate turns one count down (clients, nodes, keys, writes per holding) or takes
//! one source of randomness away (message loss, duplication, per-link overrides, clock
//! error). Node names are positional (`c0`, `c1`, …), so fewer clients means the last ones
//! are gone; the shrinker then drops the faults that named them. A candidate that the
//! protocol does not accept (a quorum lock with two servers) fails to parse and is skipped.

use crate::faults::{Fault, TimedFault};
use crate::protocols::lock::Variant as LockVariant;
use crate::scenario::types::{NodeName, Probability};
use crate::scenario::{ProtocolSpec, Scenario};

/// Values to try for a count now at `value` that may go down to `min`: the least first,
/// then half, then one less, so that the shrinker takes big steps when it can.
fn fewer(value: u32, min: u32) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for v in [min, value / 2, value.saturating_sub(1)] {
        if v >= min && v < value && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// One candidate: what changed, for the report, and the smaller protocol section.
pub type Candidate = (String, ProtocolSpec);

/// Every protocol section one step smaller than `p`, by knob, smallest step last.
pub fn smaller_protocols(p: &ProtocolSpec) -> Vec<Vec<Candidate>> {
    // `knob!(options, field, min, Variant)`: the candidates for one count.
    macro_rules! knob {
        ($o:expr, $field:ident, $min:expr, $variant:ident) => {
            fewer($o.$field, $min)
                .into_iter()
                .map(|v| {
                    let mut o = $o.clone();
                    o.$field = v;
                    (
                        format!("{} {} → {v}", stringify!($field), $o.$field),
                        ProtocolSpec::$variant(o),
                    )
                })
                .collect::<Vec<Candidate>>()
        };
    }
    match p {
        ProtocolSpec::PingPong(o) => vec![
            knob!(o, nodes, 2, PingPong),
            knob!(o, tokens_per_node, 1, PingPong),
        ],
        ProtocolSpec::Kv(o) => vec![
            knob!(o, clients, 1, Kv),
            knob!(o, spares, 0, Kv),
            knob!(o, nodes, 1, Kv),
            knob!(o, keys, 1, Kv),
        ],
        ProtocolSpec::Lock(o) => {
            let min_servers = if o.variant == LockVariant::Quorum {
                3
            } else {
                1
            };
            vec![
                knob!(o, clients, 1, Lock),
                knob!(o, servers, min_servers, Lock),
                knob!(o, locks, 1, Lock),
                knob!(o, writes_per_hold, 1, Lock),
            ]
        }
        ProtocolSpec::Commit(o) => {
            // Fewer participants than a transaction spans is refused: shrink both.
            let participants = fewer(o.participants, 2)
                .into_iter()
                .map(|v| {
                    let mut c = o.clone();
                    c.participants = v;
                    c.tx_size = c.tx_size.min(v);
                    (
                        format!("participants {} → {v}", o.participants),
                        ProtocolSpec::Commit(c),
                    )
                })
                .collect();
            vec![
                knob!(o, clients, 1, Commit),
                participants,
                knob!(o, tx_size, 2, Commit),
                knob!(o, keys, 1, Commit),
            ]
        }
    }
}

/// The families of positionally named nodes whose size the shrinker may change: name
/// prefix, count now, and the least count the protocol accepts.
fn families(p: &ProtocolSpec) -> Vec<(&'static str, u32, u32)> {
    match p {
        ProtocolSpec::PingPong(o) => vec![("n", o.nodes, 2)],
        ProtocolSpec::Kv(o) => vec![("c", o.clients, 1)],
        ProtocolSpec::Lock(o) if o.variant == LockVariant::Quorum => {
            vec![("c", o.clients, 1), ("lock", o.servers, 3)]
        }
        ProtocolSpec::Lock(o) => vec![("c", o.clients, 1)],
        ProtocolSpec::Commit(o) => vec![("c", o.clients, 1), ("p", o.participants, 2)],
    }
}

/// `p` with one member fewer in the family named `prefix`.
fn one_fewer(p: &ProtocolSpec, prefix: &str) -> ProtocolSpec {
    let mut p = p.clone();
    match (&mut p, prefix) {
        (ProtocolSpec::PingPong(o), _) => o.nodes -= 1,
        (ProtocolSpec::Kv(o), _) => o.clients -= 1,
        (ProtocolSpec::Lock(o), "lock") => o.servers -= 1,
        (ProtocolSpec::Lock(o), _) => o.clients -= 1,
        (ProtocolSpec::Commit(o), "p") => {
            o.participants -= 1;
            o.tx_size = o.tx_size.min(o.participants);
        }
        (ProtocolSpec::Commit(o), _) => o.clients -= 1,
    }
    p
}

/// The scenario without member `index` of a family (`c1` of `c0`, `c1`, `c2`): the members
/// after it move down a place (`c2` becomes `c1`), in the protocol and in every fault,
/// clock and link that names them; what named the removed member goes. Taking the last
/// member away is the count knob's job; this is for the culprit that is not the last.
pub fn without_members(s: &Scenario) -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    for (prefix, count, min) in families(&s.protocol) {
        if count <= min {
            continue;
        }
        for index in 0..count - 1 {
            let removed = format!("{prefix}{index}");
            // New name of an old one; `None` for the member removed.
            let rename = |name: &NodeName| -> Result<NodeName, ()> {
                match name
                    .0
                    .strip_prefix(prefix)
                    .and_then(|n| n.parse::<u32>().ok())
                {
                    Some(i) if i == index => Err(()),
                    Some(i) if i > index => Ok(NodeName(format!("{prefix}{}", i - 1))),
                    _ => Ok(name.clone()),
                }
            };
            let mut c = s.clone();
            c.protocol = one_fewer(&s.protocol, prefix);
            c.faults = s
                .faults
                .iter()
                .filter_map(|tf| {
                    // Partitions keep their other members; any other fault on the removed
                    // member goes with it.
                    let fault = match tf.fault.clone() {
                        Fault::Partition(groups) => Fault::Partition(
                            groups
                                .iter()
                                .map(|g| g.iter().filter_map(|n| rename(n).ok()).collect())
                                .filter(|g: &Vec<NodeName>| !g.is_empty())
                                .collect(),
                        ),
                        other => other.map_nodes(rename).ok()?,
                    };
                    Some(TimedFault { at: tf.at, fault })
                })
                .collect();
            c.clocks = s
                .clocks
                .iter()
                .filter_map(|clock| {
                    let mut clock = clock.clone();
                    clock.node = rename(&clock.node).ok()?;
                    Some(clock)
                })
                .collect();
            c.network.links = s
                .network
                .links
                .iter()
                .filter_map(|l| {
                    let mut l = l.clone();
                    l.from = rename(&l.from).ok()?;
                    l.to = rename(&l.to).ok()?;
                    Some(l)
                })
                .collect();
            out.push((format!("without {removed} (the ones after it renamed)"), c));
        }
    }
    out
}

/// The scenario with one source of network or clock randomness taken away, if it has it.
pub fn calmer_networks(s: &Scenario) -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    if s.network.loss.0 > 0.0 {
        let mut c = s.clone();
        c.network.loss = Probability(0.0);
        out.push((format!("message loss {} → 0", s.network.loss.0), c));
    }
    if s.network.duplicate.0 > 0.0 {
        let mut c = s.clone();
        c.network.duplicate = Probability(0.0);
        out.push((format!("duplication {} → 0", s.network.duplicate.0), c));
    }
    if !s.network.links.is_empty() {
        let mut c = s.clone();
        c.network.links.clear();
        out.push((
            format!("per-link overrides {} → 0", s.network.links.len()),
            c,
        ));
    }
    if !s.clocks.is_empty() {
        let mut c = s.clone();
        c.clocks.clear();
        out.push((format!("clock offsets {} → 0", s.clocks.len()), c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::LoadedScenario;

    #[test]
    fn fewer_tries_big_steps_first() {
        assert_eq!(fewer(10, 1), vec![1, 5, 9]);
        assert_eq!(fewer(2, 1), vec![1]);
        assert_eq!(fewer(3, 2), vec![2]);
        assert!(fewer(1, 1).is_empty());
    }

    #[test]
    fn every_knob_of_a_commit_cluster_gets_smaller_and_stays_valid() {
        let text = "(name: \"t\", limits: (time: \"1s\"), \
                    protocol: Commit(variant: TwoPc, participants: 4, tx_size: 4, clients: 3))";
        let s = LoadedScenario::parse("t.ron", text).unwrap().scenario;
        let knobs = smaller_protocols(&s.protocol);
        let names: Vec<&str> = knobs.iter().map(|k| k[0].0.as_str()).collect();
        assert_eq!(
            names,
            [
                "clients 3 → 1",
                "participants 4 → 2",
                "tx_size 4 → 2",
                "keys 20 → 1"
            ]
        );
        match &knobs[1][0].1 {
            ProtocolSpec::Commit(o) => assert_eq!((o.participants, o.tx_size), (2, 2)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn removing_a_middle_member_renames_the_ones_after_it() {
        let text = "(name: \"t\", limits: (time: \"1s\"), \
                    clocks: [(node: \"c2\", offset: \"5ms\")], \
                    protocol: Lock(variant: Lease, clients: 3), \
                    faults: [(at: \"1ms\", fault: Pause(node: \"c1\", duration: \"1ms\")), \
                             (at: \"2ms\", fault: Crash(\"c2\")), \
                             (at: \"3ms\", fault: Partition([[\"c0\", \"c1\"], [\"c2\", \"store\"]]))])";
        let s = LoadedScenario::parse("t.ron", text).unwrap().scenario;
        let candidates = without_members(&s);
        let names: Vec<&str> = candidates.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "without c0 (the ones after it renamed)",
                "without c1 (the ones after it renamed)"
            ]
        );
        let c = &candidates[1].1;
        let n = |s: &str| NodeName(s.to_string());
        assert_eq!(c.protocol.node_names(), ["lock0", "c0", "c1", "store"]);
        assert_eq!(c.faults.len(), 2, "the pause of c1 went with it");
        assert_eq!(c.faults[0].fault, Fault::Crash(n("c1")));
        assert_eq!(
            c.faults[1].fault,
            Fault::Partition(vec![vec![n("c0")], vec![n("c1"), n("store")]])
        );
        assert_eq!(c.clocks[0].node, n("c1"));
    }

    #[test]
    fn a_calm_network_has_no_loss() {
        let text = "(name: \"t\", limits: (time: \"1s\"), network: (loss: 0.1), \
                    protocol: PingPong(nodes: 3))";
        let s = LoadedScenario::parse("t.ron", text).unwrap().scenario;
        let calmer = calmer_networks(&s);
        assert_eq!(calmer.len(), 1);
        assert_eq!(calmer[0].0, "message loss 0.1 → 0");
        assert_eq!(calmer[0].1.network.loss.0, 0.0);
    }
}
