//! `progress`: every live node keeps hearing from its peers.
//!
//! A liveness invariant judged in virtual time: a node that is up and not paused must
//! receive a message at least every `max_silence`. The node reports each delivery and each
//! tick of its idle timer; at a tick, the checker compares the virtual time since the last
//! delivery with the bound. A restart or a resume starts the count afresh (a node cannot be
//! blamed for silence while it was down or frozen). A partition that cuts a node off for
//! longer than `max_silence` breaks it, which is the point of checking it.

use crate::ping_pong::{Observation, PingPongNode};
use sim_core::format_ns;
use sim_core::NodeId;
use sim_core::{Checker, Lifecycle};

pub struct Progress {
    last_heard_ns: Vec<u64>,
    max_silence_ns: u64,
}

impl Progress {
    pub fn new(nodes: usize, max_silence_ns: u64) -> Self {
        Progress {
            last_heard_ns: vec![0; nodes],
            max_silence_ns,
        }
    }
}

impl Checker<PingPongNode> for Progress {
    fn name(&self) -> &'static str {
        "progress"
    }

    fn on_observation(
        &mut self,
        now_ns: u64,
        node: NodeId,
        obs: &Observation,
    ) -> Result<(), String> {
        match obs {
            Observation::Received { .. } => self.last_heard_ns[node as usize] = now_ns,
            Observation::Tick => {
                let silent = now_ns - self.last_heard_ns[node as usize];
                if silent > self.max_silence_ns {
                    return Err(format!(
                        "n{node} has heard from no peer for {} (max_silence is {})",
                        format_ns(silent),
                        format_ns(self.max_silence_ns)
                    ));
                }
            }
            Observation::Injected => {}
        }
        Ok(())
    }

    fn on_lifecycle(&mut self, now_ns: u64, node: NodeId, event: Lifecycle) {
        if matches!(event, Lifecycle::Restarted | Lifecycle::Resumed) {
            self.last_heard_ns[node as usize] = now_ns;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_beyond_the_bound_is_a_violation_and_restarts_reset_it() {
        let mut p = Progress::new(2, 100);
        p.on_observation(50, 0, &Observation::Received { hop: 1 })
            .unwrap();
        p.on_observation(150, 0, &Observation::Tick).unwrap();
        let err = p.on_observation(151, 0, &Observation::Tick).unwrap_err();
        assert!(err.contains("n0 has heard from no peer"), "{err}");
        p.on_lifecycle(200, 1, Lifecycle::Restarted);
        p.on_observation(290, 1, &Observation::Tick).unwrap();
    }
}
