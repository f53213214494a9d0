//! `election_safety`: at most one leader per term (Raft's Election Safety property).

use std::collections::BTreeMap;

use sim_core::Checker;
use sim_core::NodeId;

use crate::node::{ElectionNode, Observation};

pub struct ElectionSafety {
    names: Vec<String>,
    /// The leader of each term won so far, and when it won.
    leaders: BTreeMap<u64, (NodeId, u64)>,
}

impl ElectionSafety {
    pub fn new(names: Vec<String>) -> Self {
        ElectionSafety {
            names,
            leaders: BTreeMap::new(),
        }
    }
}

impl Checker<ElectionNode> for ElectionSafety {
    fn name(&self) -> &'static str {
        "election_safety"
    }

    fn on_observation(
        &mut self,
        now_ns: u64,
        node: NodeId,
        observation: &Observation,
    ) -> Result<(), String> {
        let Observation::Leader { term } = *observation else {
            return Ok(());
        };
        match self.leaders.get(&term) {
            Some(&(first, at_ns)) if first != node => Err(format!(
                "{} and {} both won term {term} ({} won it at {})",
                self.names[first as usize],
                self.names[node as usize],
                self.names[first as usize],
                sim_core::format_ns(at_ns),
            )),
            _ => {
                self.leaders.insert(term, (node, now_ns));
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_winner_of_a_term_is_a_violation_and_names_both() {
        let mut c = ElectionSafety::new(vec!["n0".into(), "n1".into(), "n2".into()]);
        let won = |term| Observation::Leader { term };
        assert!(c.on_observation(1, 0, &won(1)).is_ok());
        assert!(
            c.on_observation(2, 0, &won(1)).is_ok(),
            "the same leader again"
        );
        assert!(c.on_observation(3, 1, &won(2)).is_ok(), "another term");
        let e = c.on_observation(4, 2, &won(1)).unwrap_err();
        assert!(e.starts_with("n0 and n2 both won term 1"), "{e}");
    }
}
