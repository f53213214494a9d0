//! The `linearizable` invariant: at the end of a run, the clients' history (what they
//! recorded through [`Context::append_history`](crate::Context::append_history)) must be linearizable
//! against a sequential model.
//!
//! Any protocol gets it by returning a [`Linearizable`] from its
//! [`Protocol::checker`](crate::Protocol::checker) for the name `"linearizable"`:
//!
//! ```ignore
//! "linearizable" => Some(Box::new(Linearizable::new(Kv))),
//! ```
//!
//! The search runs on a budget of steps, so the verdict reproduces exactly with the seed.
//! A search that runs out of budget is reported as a violation that says so ("no verdict"):
//! the invariant was not shown to hold, and a run must not claim it did.

use linearizability::{check, describe, operations, Entry, FromHistory, Verdict};

use crate::checker::{Checker, ClusterView};
use crate::node::Node;
use crate::time::format_ns;

/// Search steps per part (per key, for a model that splits by key) unless told otherwise.
pub const STEPS_MAX_DEFAULT: u64 = 10_000_000;

/// Checks a run's client history against model `M` when the run ends.
pub struct Linearizable<M> {
    model: M,
    steps_max: u64,
}

impl<M: FromHistory> Linearizable<M> {
    /// The invariant for `model`, with [`STEPS_MAX_DEFAULT`] search steps per part.
    pub fn new(model: M) -> Self {
        Linearizable {
            model,
            steps_max: STEPS_MAX_DEFAULT,
        }
    }

    /// At most `steps_max` search steps per part.
    pub fn with_steps_max(mut self, steps_max: u64) -> Self {
        self.steps_max = steps_max;
        self
    }

    /// The verdict on `records`, as the invariant reports it.
    pub fn judge(&self, records: &[Entry]) -> Result<(), String> {
        let at = |t: u64| format!("the one at {}", format_ns(t));
        let (ops, invocations) =
            operations(&self.model, records, &at).map_err(|(i, message)| {
                format!(
                    "the clients' history is malformed at {}: {message}",
                    format_ns(records[i].time_ns)
                )
            })?;
        let show = |op: usize| {
            let (invoke, done) = invocations[op];
            format!(
                "at {}: {}",
                format_ns(records[invoke].time_ns),
                describe(&records[invoke].event, done.map(|d| &records[d].event))
            )
        };
        match check(&self.model, &ops, self.steps_max) {
            Verdict::Linearizable => Ok(()),
            Verdict::Unknown => Err(format!(
                "no verdict: the search for an order of {} operations ran out of its budget of \
                 {} steps on a part (checking linearizability is NP-complete); the invariant \
                 was not shown to hold",
                ops.len(),
                self.steps_max
            )),
            Verdict::NotLinearizable(f) => {
                let mut s = format!(
                    "{}: no order of the operations explains every result; after {} \
                     operations in order, {} cannot be placed",
                    f.part,
                    f.longest.len(),
                    show(f.culprit)
                );
                if let Some(&last) = f.longest.last() {
                    s += &format!(" (the last placed: {})", show(last));
                }
                if !f.concurrent.is_empty() {
                    let shown: Vec<String> =
                        f.concurrent.iter().take(5).map(|&i| show(i)).collect();
                    s += &format!("; concurrent with it: {}", shown.join("; "));
                    if f.concurrent.len() > 5 {
                        s += &format!(" and {} more", f.concurrent.len() - 5);
                    }
                }
                Err(s)
            }
        }
    }
}

impl<N: Node, M: FromHistory> Checker<N> for Linearizable<M> {
    fn name(&self) -> &'static str {
        "linearizable"
    }

    /// It judges the history, not observations.
    fn wants_observations(&self) -> bool {
        false
    }

    fn on_finish(&mut self, _now_ns: u64, cluster: &dyn ClusterView<N>) -> Result<(), String> {
        self.judge(cluster.history())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linearizability::{Event, Kind, Kv, Register, Value};

    fn rec(time_ns: u64, process: u64, kind: Kind, f: &'static str, value: Value) -> Entry {
        Entry {
            time_ns,
            event: Event {
                process,
                kind,
                f: f.into(),
                key: Some(Value::Int(1)),
                value,
            },
        }
    }

    #[test]
    fn a_stale_read_is_reported_with_the_operations_that_explain_it() {
        use Kind::*;
        let history = vec![
            rec(1_000, 0, Invoke, "write", Value::Int(1)),
            rec(2_000, 0, Ok, "write", Value::Int(1)),
            rec(3_000, 1, Invoke, "write", Value::Int(2)),
            rec(4_000, 1, Ok, "write", Value::Int(2)),
            rec(5_000, 2, Invoke, "read", Value::Nil),
            rec(6_000, 2, Ok, "read", Value::Int(1)),
        ];
        let err = Linearizable::new(Kv).judge(&history).unwrap_err();
        assert!(err.starts_with("key \"1\": no order"), "{err}");
        assert!(err.contains("process 2 :read key 1 nil → 1"), "{err}");
        assert!(err.contains("after 2 operations"), "{err}");
        // Without the second write, it is linearizable.
        let fine: Vec<Entry> = history
            .iter()
            .filter(|r| r.event.process != 1)
            .cloned()
            .collect();
        assert_eq!(Linearizable::new(Kv).judge(&fine), Result::Ok(()));
    }

    #[test]
    fn failed_and_indeterminate_operations_count_as_they_should() {
        use Kind::*;
        // A failed write never took effect; an indeterminate one may have.
        let failed = vec![
            rec(1, 0, Invoke, "write", Value::Int(1)),
            rec(2, 0, Fail, "write", Value::Nil),
            rec(3, 1, Invoke, "read", Value::Nil),
            rec(4, 1, Ok, "read", Value::Int(1)),
        ];
        assert!(Linearizable::new(Register::new(false))
            .judge(&failed)
            .is_err());
        let mut info = failed.clone();
        info[1].event.kind = Info;
        assert_eq!(
            Linearizable::new(Register::new(false)).judge(&info),
            Result::Ok(())
        );
        info.remove(1);
        assert_eq!(
            Linearizable::new(Register::new(false)).judge(&info),
            Result::Ok(())
        );
    }

    #[test]
    fn a_search_out_of_budget_is_no_verdict_not_a_pass() {
        use Kind::*;
        // Ten concurrent writes, then a read of a value none wrote: every order is tried.
        let mut h = Vec::new();
        for p in 0..10 {
            h.push(rec(1, p, Invoke, "write", Value::Int(p as i64)));
        }
        for p in 0..10 {
            h.push(rec(2, p, Ok, "write", Value::Int(p as i64)));
        }
        h.push(rec(3, 99, Invoke, "read", Value::Nil));
        h.push(rec(4, 99, Ok, "read", Value::Int(42)));
        let err = Linearizable::new(Register::new(false))
            .with_steps_max(5)
            .judge(&h)
            .unwrap_err();
        assert!(err.starts_with("no verdict"), "{err}");
        assert!(Linearizable::new(Register::new(false)).judge(&h).is_err());
    }

    #[test]
    fn a_malformed_history_is_reported_not_judged() {
        use Kind::*;
        let h = vec![rec(7_000_000, 3, Ok, "read", Value::Int(1))];
        let err = Linearizable::new(Kv).judge(&h).unwrap_err();
        assert!(err.contains("malformed at 7ms"), "{err}");
        assert!(err.contains("never invoked"), "{err}");
    }
}
