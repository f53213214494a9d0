//! Histories that are linearizable by construction, for tests and benchmarks: each
//! process runs one operation at a time; each operation takes effect at a random point
//! between its call and its return, and its result is what the sequential model gives at
//! that point. Some operations end indeterminate (`info`, as a Jepsen client that timed
//! out), and may or may not have taken effect; their process is retired and a new one takes
//! its place, as Jepsen does.
//!
//! Mutating one result afterwards (a read of a value never written) makes a history that is
//! certainly not linearizable.

use crate::draws::Draws;
use crate::history::{Entry, Event, Kind, Value};

/// What to generate.
#[derive(Clone, Debug)]
pub struct HistoryOptions {
    pub seed: u64,
    /// Processes running at once.
    pub processes: u64,
    pub operations: u64,
    /// Keys the operations spread over (1: a single register).
    pub keys: u64,
    /// Values written are drawn from `0 .. values`: few values make the search work hard.
    pub values: u64,
    /// Compare-and-set operations among reads and writes (`cas-register`).
    pub cas: bool,
    /// Fraction of operations that end indeterminate.
    pub info_ratio: f64,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            seed: 1,
            processes: 5,
            operations: 1_000,
            keys: 1,
            values: 5,
            cas: true,
            info_ratio: 0.02,
        }
    }
}

struct Planned {
    process: u64,
    key: u64,
    call: u64,
    ret: u64,
    point: u64,
    f: &'static str,
    value: Value,
    info: bool,
    /// An indeterminate operation that took effect.
    applied: bool,
    result: Option<Value>,
    failed: bool,
}

/// A history of `options.operations` operations, linearizable by construction; times are
/// distinct, in nanoseconds.
pub fn linearizable_history(options: &HistoryOptions) -> Vec<Entry> {
    let mut rng = Draws::new(options.seed);
    let values = options.values.max(1);
    let mut planned: Vec<Planned> = Vec::with_capacity(options.operations as usize);
    // (next call time, process id) per slot; a retired process's slot takes a new id.
    let mut slots: Vec<(u64, u64)> = (0..options.processes.max(1))
        .map(|p| (rng.below(1_000), p))
        .collect();
    let mut next_process = slots.len() as u64;
    for _ in 0..options.operations {
        // The slot that calls next.
        let s = (0..slots.len()).min_by_key(|&s| slots[s]).expect("a slot");
        let (call, process) = slots[s];
        let duration = 10 + rng.below(1_000);
        let ret = call + duration;
        let point = call + rng.below(duration + 1);
        let key = rng.below(options.keys.max(1));
        let (f, value) = match rng.below(if options.cas { 3 } else { 2 }) {
            0 => ("read", Value::Nil),
            1 => ("write", Value::Int(rng.below(values) as i64)),
            _ => (
                "cas",
                Value::Vector(vec![
                    Value::Int(rng.below(values) as i64),
                    Value::Int(rng.below(values) as i64),
                ]),
            ),
        };
        let info = rng.chance(options.info_ratio);
        let applied = !info || rng.chance(0.5);
        planned.push(Planned {
            process,
            key,
            call,
            ret,
            point,
            f,
            value,
            info,
            applied,
            result: None,
            failed: false,
        });
        slots[s] = if info {
            next_process += 1;
            (ret + 1 + rng.below(100), next_process - 1)
        } else {
            (ret + 1 + rng.below(100), process)
        };
    }
    // Take effect in the order of the points.
    let mut order: Vec<usize> = (0..planned.len()).collect();
    order.sort_by_key(|&i| (planned[i].point, i));
    let mut state: std::collections::BTreeMap<u64, Value> = Default::default();
    for i in order {
        let op = &mut planned[i];
        if !op.applied {
            continue;
        }
        let current = state.get(&op.key).cloned().unwrap_or(Value::Nil);
        match op.f {
            "read" => op.result = Some(current),
            "write" => {
                state.insert(op.key, op.value.clone());
                op.result = Some(op.value.clone());
            }
            _ => {
                let Value::Vector(v) = &op.value else {
                    unreachable!("a cas carries [old new]")
                };
                if current == v[0] {
                    state.insert(op.key, v[1].clone());
                    op.result = Some(op.value.clone());
                } else {
                    op.failed = true;
                }
            }
        }
    }
    // Calls and returns in time order; times are made distinct (call before return).
    let mut events: Vec<(u64, usize, bool)> = Vec::with_capacity(2 * planned.len());
    for (i, op) in planned.iter().enumerate() {
        events.push((op.call, i, true));
        events.push((op.ret, i, false));
    }
    events.sort_by_key(|&(t, i, call)| (t, !call, i));
    let key_of = |k: u64| (options.keys > 1).then_some(Value::Int(k as i64));
    events
        .into_iter()
        .enumerate()
        .map(|(n, (_, i, call))| {
            let op = &planned[i];
            let (kind, value) = if call {
                (Kind::Invoke, op.value.clone())
            } else if op.info {
                (Kind::Info, op.value.clone())
            } else if op.failed {
                (Kind::Fail, op.value.clone())
            } else {
                (Kind::Ok, op.result.clone().unwrap_or(Value::Nil))
            };
            Entry {
                time_ns: n as u64,
                event: Event {
                    process: op.process,
                    kind,
                    f: op.f.into(),
                    key: key_of(op.key),
                    value,
                },
            }
        })
        .collect()
}

/// `history` with the `ok` result of its `nth` read replaced by a value no write ever
/// wrote: certainly not linearizable. `None` if it has fewer reads.
pub fn with_impossible_read(history: &[Entry], nth: usize) -> Option<Vec<Entry>> {
    let at = history
        .iter()
        .enumerate()
        .filter(|(_, r)| r.event.kind == Kind::Ok && r.event.f == "read")
        .nth(nth)?
        .0;
    let mut out = history.to_vec();
    out[at].event.value = Value::Str("never written".into());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check, operations, Kv, Register, Verdict};

    #[test]
    fn generated_histories_are_linearizable_and_an_impossible_read_is_not() {
        let at = |t: u64| t.to_string();
        for seed in 0..20 {
            let cas = HistoryOptions {
                seed,
                processes: 2 + seed % 6,
                operations: 300,
                ..Default::default()
            };
            let h = linearizable_history(&cas);
            assert_eq!(h.len(), 600);
            let model = Register::<Value>::new(true);
            let (ops, _) = operations(&model, &h, &at).unwrap();
            assert_eq!(
                check(&model, &ops, 10_000_000),
                Verdict::Linearizable,
                "seed {seed}"
            );
            let bad = with_impossible_read(&h, seed as usize % 10).unwrap();
            let (ops, _) = operations(&model, &bad, &at).unwrap();
            assert!(matches!(
                check(&model, &ops, 10_000_000),
                Verdict::NotLinearizable(_)
            ));

            let kv = HistoryOptions {
                keys: 20,
                cas: false,
                ..cas
            };
            let h = linearizable_history(&kv);
            let (ops, _) = operations(&Kv, &h, &at).unwrap();
            assert_eq!(
                check(&Kv, &ops, 10_000_000),
                Verdict::Linearizable,
                "seed {seed}"
            );
        }
    }

    #[test]
    fn the_same_options_give_the_same_history() {
        let o = HistoryOptions::default();
        assert_eq!(linearizable_history(&o), linearizable_history(&o));
        let other = HistoryOptions {
            seed: 2,
            ..o.clone()
        };
        assert_ne!(linearizable_history(&o), linearizable_history(&other));
    }
}
