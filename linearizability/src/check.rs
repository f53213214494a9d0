//! What a history is checked with: operations, the `Model` trait, the verdict and the budget.

use std::fmt::Debug;

use crate::history::{pair, Entry, Event, Kind, Paired};
use crate::search;
use std::hash::Hash;

/// One client operation of a history.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation<I, O> {
    /// Who called it; one operation at a time per process.
    pub process: u64,
    pub input: I,
    /// When it was called.
    pub call_ns: u64,
    /// When it returned, and what: `None` for an indeterminate operation, which may have
    /// taken effect at any time after its call, or not at all.
    pub ret: Option<(u64, O)>,
}

/// A sequential specification.
pub trait Model {
    type State: Clone + Eq + Hash + Debug;
    type Input: Clone + Debug;
    type Output: Clone + Debug;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `input`, if it could have returned `output` from `state`; `None` if
    /// it could not. `output` is `None` for an indeterminate operation: any output goes.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Whether `input` never changes the state, whatever the state (a read). The search
    /// takes such an operation as soon as it can and never tries it elsewhere, which keeps
    /// histories with many concurrent reads fast. `false` by default, which is always
    /// sound.
    fn read_only(&self, input: &Self::Input) -> bool {
        let _ = input;
        false
    }

    /// Independent parts of the history, by operation index, each checked alone; one part
    /// (the whole history) by default.
    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..ops.len()).collect()]
    }

    /// A name for a part, for reports ("key 7").
    fn part_name(&self, ops: &[Operation<Self::Input, Self::Output>], part: &[usize]) -> String {
        let _ = (ops, part);
        "the history".to_string()
    }
}

/// A model whose operations can be read from a history (what clients record in a run, or
/// the lines of a Jepsen history): how a function, key and value become the model's input,
/// and an `ok` completion's value its output.
pub trait FromHistory: Model {
    /// The input of the operation `invoke` starts, and the output of `ok`, its `ok`
    /// completion (`None` for an operation whose outcome is not known). `Err` says why the
    /// model has no such operation.
    fn operation(
        &self,
        invoke: &Event,
        ok: Option<&Event>,
    ) -> Result<(Self::Input, Option<Self::Output>), String>;
}

/// The operations of `records`, for `model`, each with the indices of its invocation
/// record and its completion record (if any).
/// A failed operation (`fail`: it certainly did not take effect) is left out; one that
/// ended `info`, or never ended, is indeterminate. `Err`: the index of the record at fault
/// and why (`at` writes a record's time as the reader knows it).
#[allow(clippy::type_complexity)]
pub fn operations<M: FromHistory>(
    model: &M,
    records: &[Entry],
    at: &dyn Fn(u64) -> String,
) -> Result<(Vec<Operation<M::Input, M::Output>>, Vec<Paired>), (usize, String)> {
    let paired = pair(records, at)?;
    let mut ops = Vec::with_capacity(paired.len());
    let mut invocations = Vec::with_capacity(paired.len());
    for (invoke, done) in paired {
        if done.is_some_and(|d| records[d].event.kind == Kind::Fail) {
            continue;
        }
        let ok_at = done.filter(|&d| records[d].event.kind == Kind::Ok);
        let ok = ok_at.map(|d| &records[d]);
        let call = &records[invoke];
        let (input, output) = model
            .operation(&call.event, ok.map(|d| &d.event))
            .map_err(|message| (ok_at.unwrap_or(invoke), message))?;
        let ret = match (ok, output) {
            (Some(d), Some(o)) => Some((d.time_ns, o)),
            _ => None,
        };
        ops.push(Operation {
            process: call.event.process,
            input,
            call_ns: call.time_ns,
            ret,
        });
        invocations.push((invoke, done));
    }
    Ok((ops, invocations))
}

/// What the checker concluded.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Some order explains every result.
    Linearizable,
    /// No order does; why, for one part that fails.
    NotLinearizable(Failure),
    /// The budget ran out before the search ended: no verdict.
    Unknown,
}

/// Why a part of a history is not linearizable, by operation index into the history.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The part that fails ("key 7").
    pub part: String,
    /// The longest order found that explains a prefix, in order.
    pub longest: Vec<usize>,
    /// The operation that could not be placed after it.
    pub culprit: usize,
    /// Operations concurrent with the culprit (their intervals overlap its).
    pub concurrent: Vec<usize>,
}

/// How long a search may go on: a number of steps (deterministic, for verdicts inside a
/// run) and, for tools outside the simulation, a question asked now and then ("is the
/// time up?").
pub struct Budget<'a> {
    pub steps: u64,
    pub stop: Option<&'a dyn Fn() -> bool>,
}

impl Budget<'_> {
    /// At most `steps` search steps per part.
    pub fn steps(steps: u64) -> Budget<'static> {
        Budget { steps, stop: None }
    }
}

/// Checks `ops` against `model`, part by part, with at most `steps` search steps per part.
pub fn check<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>], steps: u64) -> Verdict {
    check_within(model, ops, &Budget::steps(steps)).0
}

/// [`check`] with a [`Budget`]; also says how many parts there were.
pub fn check_within<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    budget: &Budget,
) -> (Verdict, usize) {
    let parts = model.partition(ops);
    let count = parts.len();
    (check_parts(model, ops, parts, budget), count)
}

fn check_parts<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    parts: Vec<Vec<usize>>,
    budget: &Budget,
) -> Verdict {
    combine(
        parts
            .into_iter()
            .map(|part| check_part(model, ops, part, budget).verdict),
    )
}

/// A whole history's verdict from its parts': the first failure, else unknown if any part
/// is, else linearizable. Stops at the first failure (parts still to check are not).
pub fn combine(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut unknown = false;
    for verdict in verdicts {
        match verdict {
            Verdict::Linearizable => {}
            Verdict::Unknown => unknown = true,
            failed => return failed,
        }
    }
    if unknown {
        Verdict::Unknown
    } else {
        Verdict::Linearizable
    }
}

/// What the search found for one part of a history.
#[derive(Clone, Debug, PartialEq)]
pub struct PartResult {
    /// The part's name ("key 7").
    pub name: String,
    /// Its operations, by index into the history.
    pub ops: Vec<usize>,
    pub verdict: Verdict,
    /// The order found: every operation of the part if it is linearizable, the longest
    /// prefix that could be explained if not, nothing if unknown.
    pub order: Vec<usize>,
}

/// Checks one part of `ops` (operation indices, such as [`Model::partition`] gives).
pub fn check_part<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: Vec<usize>,
    budget: &Budget,
) -> PartResult {
    let name = model.part_name(ops, &part);
    let (verdict, order) = match search::check_part(model, ops, &part, budget) {
        search::Outcome::Linearizable(order) => (Verdict::Linearizable, order),
        search::Outcome::Unknown => (Verdict::Unknown, Vec::new()),
        search::Outcome::Stuck { longest, culprit } => {
            let end = |i: usize| ops[i].ret.as_ref().map_or(u64::MAX, |r| r.0);
            let c = &ops[culprit];
            let concurrent = part
                .iter()
                .copied()
                .filter(|&i| i != culprit)
                .filter(|&i| ops[i].call_ns <= end(culprit) && c.call_ns <= end(i))
                .collect();
            let failure = Failure {
                part: name.clone(),
                longest: longest.clone(),
                culprit,
                concurrent,
            };
            (Verdict::NotLinearizable(failure), longest)
        }
    };
    PartResult {
        name,
        ops: part,
        verdict,
        order,
    }
}
