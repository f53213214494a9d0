//! Sequential models: a register, a compare-and-set register, and a key-value store with
//! appends (checked key by key).

use std::fmt::Debug;
use std::hash::Hash;

use super::{Model, Operation};

/// What a register operation asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterInput<V> {
    Read,
    Write(V),
    /// Compare-and-set: if the value is the first, make it the second.
    Cas(V, V),
}

/// What a register operation answered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOutput<V> {
    /// A read saw this value (`None`: never written).
    Read(Option<V>),
    /// A write or a compare-and-set that took effect.
    Ok,
    /// A compare-and-set whose expected value was not there.
    Fail,
}

/// A single register: reads return the last value written. With `cas`, compare-and-set
/// too (the `cas-register` model).
#[derive(Clone, Debug, Default)]
pub struct Register<V> {
    pub cas: bool,
    _value: std::marker::PhantomData<V>,
}

impl<V> Register<V> {
    pub fn new(cas: bool) -> Self {
        Register {
            cas,
            _value: std::marker::PhantomData,
        }
    }
}

impl<V: Clone + Eq + Hash + Debug> Model for Register<V> {
    type State = Option<V>;
    type Input = RegisterInput<V>;
    type Output = RegisterOutput<V>;

    fn init(&self) -> Option<V> {
        None
    }

    fn step(
        &self,
        state: &Option<V>,
        input: &RegisterInput<V>,
        output: Option<&RegisterOutput<V>>,
    ) -> Option<Option<V>> {
        use RegisterInput as I;
        use RegisterOutput as O;
        match (input, output) {
            (I::Read, None) => Some(state.clone()),
            (I::Read, Some(O::Read(v))) => (v == state).then(|| state.clone()),
            (I::Write(v), None | Some(O::Ok)) => Some(Some(v.clone())),
            (I::Cas(old, new), Some(O::Ok)) if self.cas => {
                (state.as_ref() == Some(old)).then(|| Some(new.clone()))
            }
            (I::Cas(old, _), Some(O::Fail)) if self.cas => {
                (state.as_ref() != Some(old)).then(|| state.clone())
            }
            // Unknown outcome: it took effect if it could (placed last, it need not have).
            (I::Cas(old, new), None) if self.cas => Some(if state.as_ref() == Some(old) {
                Some(new.clone())
            } else {
                state.clone()
            }),
            _ => None,
        }
    }
}

/// What a key-value operation asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvInput {
    Get(String),
    Put(String, String),
    Append(String, String),
}

impl KvInput {
    pub fn key(&self) -> &str {
        match self {
            KvInput::Get(k) | KvInput::Put(k, _) | KvInput::Append(k, _) => k,
        }
    }
}

/// What a key-value operation answered: the value a get saw, or nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOutput {
    Value(String),
    Ok,
}

/// A key-value store of strings: a missing key reads as the empty string; `append` adds to
/// the end. Keys are independent, so each is checked alone.
#[derive(Clone, Debug, Default)]
pub struct Kv;

impl Model for Kv {
    /// The value of one key (a part holds one key).
    type State = String;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, input: &KvInput, output: Option<&KvOutput>) -> Option<String> {
        match (input, output) {
            (KvInput::Get(_), None) => Some(state.clone()),
            (KvInput::Get(_), Some(KvOutput::Value(v))) => (v == state).then(|| state.clone()),
            (KvInput::Put(_, v), None | Some(KvOutput::Ok)) => Some(v.clone()),
            (KvInput::Append(_, v), None | Some(KvOutput::Ok)) => Some(format!("{state}{v}")),
            _ => None,
        }
    }

    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Vec<usize>> {
        let mut by_key: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for (i, op) in ops.iter().enumerate() {
            by_key.entry(op.input.key()).or_default().push(i);
        }
        by_key.into_values().collect()
    }

    fn part_name(&self, ops: &[Operation<KvInput, KvOutput>], part: &[usize]) -> String {
        part.first().map_or("no key".into(), |&i| {
            format!("key {:?}", ops[i].input.key())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linearizability::{check, Verdict};
    use crate::random::{Random, Stream};
    use RegisterInput as I;
    use RegisterOutput as O;

    type Op = Operation<RegisterInput<u64>, RegisterOutput<u64>>;

    fn op(process: u64, input: I<u64>, call: u64, ret: Option<(u64, O<u64>)>) -> Op {
        Operation {
            process,
            input,
            call_ns: call,
            ret,
        }
    }

    const STEPS: u64 = 1_000_000;

    #[test]
    fn the_classic_examples() {
        let reg = Register::<u64>::new(false);
        // A read concurrent with a write may see either value.
        let h = vec![
            op(0, I::Write(1), 0, Some((10, O::Ok))),
            op(1, I::Read, 5, Some((15, O::Read(Some(1))))),
            op(2, I::Read, 6, Some((16, O::Read(None)))),
        ];
        assert_eq!(check(&reg, &h, STEPS), Verdict::Linearizable);
        // A read after the write has returned must see it.
        let h = vec![
            op(0, I::Write(1), 0, Some((10, O::Ok))),
            op(1, I::Read, 11, Some((15, O::Read(None)))),
        ];
        let Verdict::NotLinearizable(f) = check(&reg, &h, STEPS) else {
            panic!("stale read accepted")
        };
        assert_eq!((f.longest.clone(), f.culprit), (vec![0], 1), "{f:?}");
        // New-old inversion: two reads in sequence, the second sees the older value.
        let h = vec![
            op(0, I::Write(1), 0, Some((100, O::Ok))),
            op(1, I::Read, 10, Some((20, O::Read(Some(1))))),
            op(2, I::Read, 30, Some((40, O::Read(None)))),
        ];
        assert!(matches!(
            check(&reg, &h, STEPS),
            Verdict::NotLinearizable(_)
        ));
        // A value never written.
        let h = vec![op(0, I::Read, 0, Some((1, O::Read(Some(7)))))];
        assert!(matches!(
            check(&reg, &h, STEPS),
            Verdict::NotLinearizable(_)
        ));
    }

    #[test]
    fn indeterminate_operations_may_take_effect_or_not() {
        let reg = Register::<u64>::new(false);
        // A timed-out write seen by a later read: it took effect.
        let h = vec![
            op(0, I::Write(1), 0, None),
            op(1, I::Read, 50, Some((60, O::Read(Some(1))))),
        ];
        assert_eq!(check(&reg, &h, STEPS), Verdict::Linearizable);
        // Not seen: it did not (yet).
        let h = vec![
            op(0, I::Write(1), 0, None),
            op(1, I::Read, 50, Some((60, O::Read(None)))),
        ];
        assert_eq!(check(&reg, &h, STEPS), Verdict::Linearizable);
        // But not before its call.
        let h = vec![
            op(1, I::Read, 0, Some((10, O::Read(Some(1))))),
            op(0, I::Write(1), 20, None),
        ];
        assert!(matches!(
            check(&reg, &h, STEPS),
            Verdict::NotLinearizable(_)
        ));
    }

    #[test]
    fn compare_and_set_succeeds_only_on_the_expected_value() {
        let cas = Register::<u64>::new(true);
        let h = vec![
            op(0, I::Write(0), 0, Some((1, O::Ok))),
            op(1, I::Cas(0, 3), 2, Some((5, O::Ok))),
            op(2, I::Cas(0, 4), 3, Some((6, O::Fail))),
            op(0, I::Read, 7, Some((8, O::Read(Some(3))))),
        ];
        assert_eq!(check(&cas, &h, STEPS), Verdict::Linearizable);
        // Both succeed from 0: impossible.
        let h = vec![
            op(0, I::Write(0), 0, Some((1, O::Ok))),
            op(1, I::Cas(0, 3), 2, Some((5, O::Ok))),
            op(2, I::Cas(0, 4), 3, Some((6, O::Ok))),
        ];
        assert!(matches!(
            check(&cas, &h, STEPS),
            Verdict::NotLinearizable(_)
        ));
        // Without `cas`, the register refuses compare-and-set.
        let plain = Register::<u64>::new(false);
        assert!(matches!(
            check(&plain, &h, STEPS),
            Verdict::NotLinearizable(_)
        ));
    }

    #[test]
    fn keys_are_checked_alone_and_a_missing_key_reads_empty() {
        let s = |v: &str| v.to_string();
        let kv_op = |p, input, call, ret: Option<(u64, KvOutput)>| Operation {
            process: p,
            input,
            call_ns: call,
            ret,
        };
        let h = vec![
            kv_op(
                0,
                KvInput::Get(s("a")),
                0,
                Some((1, KvOutput::Value(s("")))),
            ),
            kv_op(
                0,
                KvInput::Append(s("a"), s("x")),
                2,
                Some((3, KvOutput::Ok)),
            ),
            kv_op(1, KvInput::Put(s("b"), s("y")), 2, Some((3, KvOutput::Ok))),
            kv_op(
                0,
                KvInput::Append(s("a"), s("z")),
                4,
                Some((5, KvOutput::Ok)),
            ),
            kv_op(
                1,
                KvInput::Get(s("a")),
                6,
                Some((7, KvOutput::Value(s("xz")))),
            ),
            kv_op(
                1,
                KvInput::Get(s("b")),
                6,
                Some((7, KvOutput::Value(s("y")))),
            ),
        ];
        assert_eq!(check(&Kv, &h, STEPS), Verdict::Linearizable);
        let mut bad = h.clone();
        bad[5].ret = Some((7, KvOutput::Value(s(""))));
        let Verdict::NotLinearizable(f) = check(&Kv, &bad, STEPS) else {
            panic!("a lost put accepted")
        };
        assert_eq!(f.part, "key \"b\"");
        assert_eq!(f.culprit, 5);
    }

    /// Histories generated from the model are linearizable; one read changed to a value
    /// never written is not; a budget too small says so instead of guessing.
    #[test]
    fn generated_histories_and_their_mutations() {
        let reg = Register::<u64>::new(true);
        let mut rng = Random::new(11, Stream::Workload);
        for round in 0..200 {
            let processes = 2 + rng.below(4);
            let mut ops: Vec<Op> = Vec::new();
            let mut value: Option<u64> = None;
            let mut now = 0;
            // Each operation takes effect at a point inside [call, return]; the processes'
            // intervals overlap, but the effects happen in `now` order.
            let mut free_at = vec![0u64; processes as usize];
            for _ in 0..30 {
                now += 1 + rng.below(5);
                let p = rng.below(processes) as usize;
                let call = free_at[p].max(now.saturating_sub(rng.below(20)));
                let call = call.min(now);
                let input = match rng.below(3) {
                    0 => I::Read,
                    1 => I::Write(rng.below(5)),
                    _ => I::Cas(rng.below(5), rng.below(5)),
                };
                let output = match &input {
                    I::Read => O::Read(value),
                    I::Write(v) => {
                        value = Some(*v);
                        O::Ok
                    }
                    I::Cas(old, new) => {
                        if value == Some(*old) {
                            value = Some(*new);
                            O::Ok
                        } else {
                            O::Fail
                        }
                    }
                };
                let ret = now + rng.below(20);
                free_at[p] = ret + 1;
                ops.push(op(p as u64, input, call, Some((ret, output))));
            }
            assert_eq!(
                check(&reg, &ops, STEPS),
                Verdict::Linearizable,
                "round {round}"
            );
            let reads: Vec<usize> = (0..ops.len())
                .filter(|&i| ops[i].input == I::Read)
                .collect();
            if let Some(&i) = reads.first() {
                let mut bad = ops.clone();
                bad[i].ret.as_mut().unwrap().1 = O::Read(Some(99));
                assert!(
                    matches!(check(&reg, &bad, STEPS), Verdict::NotLinearizable(_)),
                    "round {round}: a read of a value never written"
                );
            }
        }
        let h = vec![
            op(0, I::Write(1), 0, Some((10, O::Ok))),
            op(1, I::Read, 11, Some((15, O::Read(None)))),
        ];
        assert_eq!(check(&reg, &h, 1), Verdict::Unknown);
    }
}
