//! Smaller versions of a scenario's cluster, workload and network, one knob at a time.
//!
//! Each candidate turns one count down (clients, nodes, keys, writes per holding) or takes
//! one source of randomness away (message loss, duplication, per-link overrides, clock
//! error). Node names are positional (`c0`, `c1`, …), so fewer clients means the last ones
//! are gone; the shrinker then drops the faults that named them. A candidate that the
//! protocol does not accept (a quorum lock with two servers) fails to parse and is skipped.

use sim_core::{Fault, Probability, TimedFault};

use crate::{NodeName, Scenario};

/// The scenario without member `index` of a family (`c1` of `c0`, `c1`, `c2`): the members
/// after it move down a place (`c2` becomes `c1`), in the protocol and in every fault,
/// clock and link that names them; what named the removed member goes. Taking the last
/// member away is the count knob's job; this is for the culprit that is not the last.
pub fn without_members(s: &Scenario) -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    for family in s.protocol.families() {
        let (prefix, count) = (family.prefix, family.members);
        if count <= family.members_min {
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
            c.protocol = family.one_fewer.clone();
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
    use crate::testing::{registry, RelayOptions};

    fn scenario(text: &str) -> Scenario {
        registry().parse("t.ron", text).unwrap().scenario
    }

    #[test]
    fn a_protocol_without_knobs_of_its_own_gets_every_count_cut() {
        let s =
            scenario("(name: \"t\", limits: (time: \"1s\"), protocol: Relay(nodes: 6, hops: 40))");
        let knobs = s.protocol.smaller();
        let names: Vec<Vec<&str>> = knobs
            .iter()
            .map(|k| k.iter().map(|c| c.0.as_str()).collect())
            .collect();
        // Fields in name order; `nodes: 1` is refused by the options and left out.
        assert_eq!(
            names,
            [
                vec!["hops 40 → 1", "hops 40 → 20", "hops 40 → 39"],
                vec!["nodes 6 → 3", "nodes 6 → 5"]
            ]
        );
        let o = knobs[1][0].1.downcast_ref::<RelayOptions>().unwrap();
        assert_eq!((o.nodes, o.hops), (3, 40));
    }

    #[test]
    fn removing_a_middle_member_renames_the_ones_after_it() {
        let s = scenario(
            "(name: \"t\", limits: (time: \"1s\"), \
             clocks: [(node: \"n3\", offset: \"5ms\")], \
             protocol: Relay(nodes: 4), \
             faults: [(at: \"1ms\", fault: Pause(node: \"n1\", duration: \"1ms\")), \
                      (at: \"2ms\", fault: Crash(\"n2\")), \
                      (at: \"3ms\", fault: Partition([[\"n0\", \"n1\"], [\"n2\", \"n3\"]]))])",
        );
        let candidates = without_members(&s);
        let names: Vec<&str> = candidates.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "without n0 (the ones after it renamed)",
                "without n1 (the ones after it renamed)",
                "without n2 (the ones after it renamed)"
            ]
        );
        let c = &candidates[1].1;
        let n = |s: &str| NodeName(s.to_string());
        assert_eq!(c.protocol.node_names(), ["n0", "n1", "n2"]);
        assert_eq!(c.faults.len(), 2, "the pause of n1 went with it");
        assert_eq!(c.faults[0].fault, Fault::Crash(n("n1")));
        assert_eq!(
            c.faults[1].fault,
            Fault::Partition(vec![vec![n("n0")], vec![n("n1"), n("n2")]])
        );
        assert_eq!(c.clocks[0].node, n("n2"));
    }

    #[test]
    fn a_calm_network_has_no_loss() {
        let s = scenario(
            "(name: \"t\", limits: (time: \"1s\"), network: (loss: 0.1), \
             protocol: Relay(nodes: 3))",
        );
        let calmer = calmer_networks(&s);
        assert_eq!(calmer.len(), 1);
        assert_eq!(calmer[0].0, "message loss 0.1 → 0");
        assert_eq!(calmer[0].1.network.loss.0, 0.0);
    }
}
