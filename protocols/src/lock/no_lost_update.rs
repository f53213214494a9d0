//! `no_lost_update`: every accepted increment builds on the one before.
//!
//! Clients increment a counter by reading it and writing the value plus one. Each write
//! the resource accepts must therefore be exactly one more than the value it replaces; a
//! write of `v` over a counter already at `v` (or beyond) means its client read before
//! someone else's increment and overwrote it: that increment is lost. Holds under the
//! optimistic variant (compare-and-set) and under any lock that really excludes.

use std::rc::Rc;

use crate::lock::{LockNode, LockObservation, Shared};
use sim_core::Checker;
use sim_core::NodeId;

pub struct NoLostUpdate {
    shared: Rc<Shared>,
}

impl NoLostUpdate {
    pub fn new(shared: Rc<Shared>) -> Self {
        NoLostUpdate { shared }
    }
}

impl Checker<LockNode> for NoLostUpdate {
    fn name(&self) -> &'static str {
        "no_lost_update"
    }

    fn on_observation(
        &mut self,
        _now_ns: u64,
        _node: NodeId,
        obs: &LockObservation,
    ) -> Result<(), String> {
        if let LockObservation::WriteAccepted {
            lock,
            client,
            prev,
            value,
            ..
        } = *obs
        {
            if value != prev + 1 {
                // The writer read value - 1; every increment from there to `prev` is lost.
                let lost = (prev + 1).saturating_sub(value);
                return Err(format!(
                    "lock-{lock}'s counter went from {prev} to {value}: {} had read {} and wrote over \
                     {lost} increment(s) it never saw",
                    self.shared.names[client as usize],
                    value.saturating_sub(1)
                ));
            }
        }
        Ok(())
    }
}
