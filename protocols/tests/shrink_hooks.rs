//! The built-in protocols' shrink hooks: their knobs, and the families the shrinker may
//! take a member from.

use scenario::shrink::without_members;
use scenario::NodeName;
use sim_core::Fault;

#[test]
fn every_knob_of_a_commit_cluster_gets_smaller_and_stays_valid() {
    let text = "(name: \"t\", limits: (time: \"1s\"), \
                protocol: Commit(variant: TwoPc, participants: 4, tx_size: 4, clients: 3))";
    let s = protocols::builtin().parse("t.ron", text).unwrap().scenario;
    let knobs = s.protocol.smaller();
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
    let o = knobs[1][0]
        .1
        .downcast_ref::<protocols::two_pc::CommitOptions>()
        .unwrap();
    assert_eq!((o.participants, o.tx_size), (2, 2));
}

#[test]
fn removing_a_middle_member_renames_the_ones_after_it() {
    let text = "(name: \"t\", limits: (time: \"1s\"), \
                clocks: [(node: \"c2\", offset: \"5ms\")], \
                protocol: Lock(variant: Lease, clients: 3), \
                faults: [(at: \"1ms\", fault: Pause(node: \"c1\", duration: \"1ms\")), \
                         (at: \"2ms\", fault: Crash(\"c2\")), \
                         (at: \"3ms\", fault: Partition([[\"c0\", \"c1\"], [\"c2\", \"store\"]]))])";
    let s = protocols::builtin().parse("t.ron", text).unwrap().scenario;
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
