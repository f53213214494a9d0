//! Client histories: what client nodes record through their context (an operation's
//! invocation, then its completion), stamped with virtual time by the simulation, and
//! written as Jepsen's EDN, one map a line, which `dsim lincheck` reads back.

use std::borrow::Cow;
use std::fmt;

/// A value in a history, as much of EDN as histories use.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Str(String),
    Keyword(String),
    Vector(Vec<Value>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Keyword(k) => write!(f, ":{k}"),
            Value::Vector(v) => {
                let items: Vec<String> = v.iter().map(Value::to_string).collect();
                write!(f, "[{}]", items.join(" "))
            }
        }
    }
}

/// An invocation, or how it completed: `Ok` with its result, `Fail` (it certainly did not
/// take effect), `Info` (it may or may not have: a timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl Kind {
    /// The kind a keyword names (`"ok"`), if any: the inverse of [`Kind::keyword`].
    pub fn from_keyword(keyword: &str) -> Option<Kind> {
        [Kind::Invoke, Kind::Ok, Kind::Fail, Kind::Info]
            .into_iter()
            .find(|k| k.keyword() == keyword)
    }

    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Invoke => "invoke",
            Kind::Ok => "ok",
            Kind::Fail => "fail",
            Kind::Info => "info",
        }
    }
}

/// What a client records: one line of a history, without its time.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Who: one operation at a time per process. A client that crashes mid-operation
    /// must use another process for its next one (Jepsen does the same).
    pub process: u64,
    pub kind: Kind,
    /// The function: `read`, `write`, `cas`, `append`, … (a client writes a literal:
    /// `"read".into()` allocates nothing).
    pub f: Cow<'static, str>,
    pub key: Option<Value>,
    pub value: Value,
}

/// An event at its virtual time.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub time_ns: u64,
    pub event: Event,
}

/// An operation of a history: the index of its invocation record and of its completion,
/// if it completed.
pub type Paired = (usize, Option<usize>);

/// Pairs each invocation with the completion of the same process that follows it. A
/// completion with no pending invocation, a second invocation by a process that has one
/// pending, or a completion of another function is an error: the index of the record at
/// fault, and why (`at` writes a record's time as the reader knows it: "line 7").
pub fn pair(records: &[Entry], at: &dyn Fn(u64) -> String) -> Result<Vec<Paired>, (usize, String)> {
    let mut ops: Vec<Paired> = Vec::new();
    let mut pending: std::collections::BTreeMap<u64, usize> = Default::default();
    for (i, r) in records.iter().enumerate() {
        let e = &r.event;
        if e.kind == Kind::Invoke {
            if let Some(&open) = pending.get(&e.process) {
                return Err((
                    i,
                    format!(
                        "process {} invokes again while its operation of {} has not completed",
                        e.process,
                        at(records[ops[open].0].time_ns)
                    ),
                ));
            }
            pending.insert(e.process, ops.len());
            ops.push((i, None));
            continue;
        }
        let Some(open) = pending.remove(&e.process) else {
            return Err((
                i,
                format!(
                    "process {} completes an operation it never invoked",
                    e.process
                ),
            ));
        };
        let invoked = &records[ops[open].0].event;
        if invoked.f != e.f {
            return Err((
                i,
                format!(
                    "process {} completes :{} but invoked :{} ({})",
                    e.process,
                    e.f,
                    invoked.f,
                    at(records[ops[open].0].time_ns)
                ),
            ));
        }
        ops[open].1 = Some(i);
    }
    Ok(ops)
}

/// `process 3 :write key 7 12 → ok`, `process 4 :read key 7 nil → 12`, or `→ ?` for an
/// operation that may or may not have taken effect.
pub fn describe(invoke: &Event, done: Option<&Event>) -> String {
    describe_parts(
        invoke.process,
        &invoke.f,
        invoke.key.as_ref().map(|k| k as &dyn fmt::Display),
        &invoke.value,
        done.map(|d| (d.kind, &d.value as &dyn fmt::Display)),
    )
}

/// [`describe`] from an operation's parts as text: how `dsim view` names an operation it
/// read back from a trace, in the very words the `linearizable` invariant uses.
pub fn describe_parts(
    process: u64,
    f: &str,
    key: Option<&dyn fmt::Display>,
    value: &dyn fmt::Display,
    done: Option<(Kind, &dyn fmt::Display)>,
) -> String {
    let key = key.map(|k| format!("key {k} ")).unwrap_or_default();
    let result = match done {
        Some((Kind::Ok, v)) => v.to_string(),
        Some((Kind::Fail, _)) => "failed".to_string(),
        _ => "? (indeterminate)".to_string(),
    };
    format!("process {process} :{f} {key}{value} → {result}")
}
