//! Sequential models: a register, a compare-and-set register, and a key-value store with
//! appends (checked key by key).

use std::fmt::Debug;
use std::hash::Hash;

use crate::check::{FromHistory, Model, Operation};
use crate::history::{Event, Value};

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

    fn read_only(&self, input: &RegisterInput<V>) -> bool {
        *input == RegisterInput::Read
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

/// `read` (its value: `nil` for never written), `write` and, for the `cas-register`,
/// `cas` with `[old new]`.
impl FromHistory for Register<Value> {
    fn operation(
        &self,
        invoke: &Event,
        ok: Option<&Event>,
    ) -> Result<(RegisterInput<Value>, Option<RegisterOutput<Value>>), String> {
        let input = match (&*invoke.f, &invoke.value) {
            ("read", _) => RegisterInput::Read,
            ("write", v) => RegisterInput::Write(v.clone()),
            ("cas", Value::Vector(v)) if self.cas && v.len() == 2 => {
                RegisterInput::Cas(v[0].clone(), v[1].clone())
            }
            (f, v) => {
                let model = if self.cas { "cas-register" } else { "register" };
                return Err(format!("the {model} model has no :{f} with value {v}"));
            }
        };
        let output = ok.map(|d| match input {
            RegisterInput::Read => RegisterOutput::Read(match &d.value {
                Value::Nil => None,
                v => Some(v.clone()),
            }),
            _ => RegisterOutput::Ok,
        });
        Ok((input, output))
    }
}

/// `get` or `read`, `put` or `write`, `append`, and `cas` with `[old new]`, each with a
/// `:key`; values are text (a number or keyword as it is written, `nil` as the empty
/// string).
impl FromHistory for Kv {
    fn operation(
        &self,
        invoke: &Event,
        ok: Option<&Event>,
    ) -> Result<(KvInput, Option<KvOutput>), String> {
        let text = |v: &Value| match v {
            Value::Nil => String::new(),
            Value::Str(s) => s.clone(),
            other => other.to_string(),
        };
        let key = match &invoke.key {
            Some(k) => text(k),
            None => return Err("the kv model needs a :key".into()),
        };
        let input = match &*invoke.f {
            "get" | "read" => KvInput::Get(key),
            "put" | "write" => KvInput::Put(key, text(&invoke.value)),
            "append" => KvInput::Append(key, text(&invoke.value)),
            "cas" => match &invoke.value {
                Value::Vector(v) if v.len() == 2 => KvInput::Cas(key, text(&v[0]), text(&v[1])),
                v => return Err(format!("a :cas takes [old new], got {v}")),
            },
            f => return Err(format!("the kv model has no :{f}")),
        };
        let output = ok.map(|d| match input {
            KvInput::Get(_) => KvOutput::Value(text(&d.value)),
            _ => KvOutput::Ok,
        });
        Ok((input, output))
    }
}

/// What a key-value operation asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvInput {
    Get(String),
    Put(String, String),
    Append(String, String),
    /// Compare-and-set: if the key's value is the first, make it the second. One that
    /// found another value is a `fail` (it did not take effect).
    Cas(String, String, String),
}

impl KvInput {
    pub fn key(&self) -> &str {
        match self {
            KvInput::Get(k) | KvInput::Put(k, _) | KvInput::Append(k, _) | KvInput::Cas(k, ..) => k,
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
/// the end; `cas` sets a key only if it holds the expected value. Keys are independent, so each is checked alone.
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

    fn read_only(&self, input: &KvInput) -> bool {
        matches!(input, KvInput::Get(_))
    }

    fn step(&self, state: &String, input: &KvInput, output: Option<&KvOutput>) -> Option<String> {
        match (input, output) {
            (KvInput::Get(_), None) => Some(state.clone()),
            (KvInput::Get(_), Some(KvOutput::Value(v))) => (v == state).then(|| state.clone()),
            (KvInput::Put(_, v), None | Some(KvOutput::Ok)) => Some(v.clone()),
            (KvInput::Append(_, v), None | Some(KvOutput::Ok)) => Some(format!("{state}{v}")),
            (KvInput::Cas(_, old, new), Some(KvOutput::Ok)) => (state == old).then(|| new.clone()),
            // Unknown outcome: it took effect if it could (placed last, it need not have).
            (KvInput::Cas(_, old, new), None) => Some(if state == old {
                new.clone()
            } else {
                state.clone()
            }),
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
    use crate::check::{check, Verdict};
    use crate::draws::Draws;
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

    #[test]
    fn a_kv_compare_and_set_takes_effect_only_on_the_expected_value() {
        let s = |v: &str| v.to_string();
        let op = |p, input, call, ret: Option<(u64, KvOutput)>| Operation {
            process: p,
            input,
            call_ns: call,
            ret,
        };
        let cas = |old: &str, new: &str| KvInput::Cas(s("k"), s(old), s(new));
        let read = |v: &str, at| {
            op(
                9,
                KvInput::Get(s("k")),
                at,
                Some((at + 1, KvOutput::Value(s(v)))),
            )
        };
        // Two increments in turn from the empty value, then a read of the second.
        let h = vec![
            op(0, cas("", "1"), 0, Some((1, KvOutput::Ok))),
            op(1, cas("1", "2"), 2, Some((3, KvOutput::Ok))),
            read("2", 4),
        ];
        assert_eq!(check(&Kv, &h, STEPS), Verdict::Linearizable);
        // Both from the empty value: one of them cannot have succeeded (a lost update).
        let lost = vec![
            op(0, cas("", "1"), 0, Some((1, KvOutput::Ok))),
            op(1, cas("", "1"), 2, Some((3, KvOutput::Ok))),
        ];
        assert!(matches!(
            check(&Kv, &lost, STEPS),
            Verdict::NotLinearizable(_)
        ));
        // An indeterminate one may have taken effect, or not.
        for seen in ["", "1"] {
            let h = vec![op(0, cas("", "1"), 0, None), read(seen, 2)];
            assert_eq!(
                check(&Kv, &h, STEPS),
                Verdict::Linearizable,
                "read {seen:?}"
            );
        }
        let h = vec![op(0, cas("5", "6"), 0, None), read("6", 2)];
        assert!(matches!(check(&Kv, &h, STEPS), Verdict::NotLinearizable(_)));
    }

    /// Histories generated from the model are linearizable; one read changed to a value
    /// never written is not; a budget too small says so instead of guessing.
    #[test]
    fn generated_histories_and_their_mutations() {
        let reg = Register::<u64>::new(true);
        let mut rng = Draws::new(11);
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
