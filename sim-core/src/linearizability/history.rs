//! Client histories: what client nodes record through their context (an operation's
//! invocation, then its completion), stamped with virtual time by the simulation, and
//! written as Jepsen's EDN, one map a line, which `dsim lincheck` reads back.

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
    /// The function: `read`, `write`, `cas`, `append`, ….
    pub f: &'static str,
    pub key: Option<Value>,
    pub value: Value,
}

/// An event at its virtual time.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub time_ns: u64,
    pub event: Event,
}

impl Record {
    /// `{:process 3, :type :ok, :f :read, :key 7, :value 12, :time 1500000}`
    pub fn to_edn(&self) -> String {
        let e = &self.event;
        let key = e
            .key
            .as_ref()
            .map(|k| format!(", :key {k}"))
            .unwrap_or_default();
        format!(
            "{{:process {}, :type :{}, :f :{}{key}, :value {}, :time {}}}",
            e.process,
            e.kind.keyword(),
            e.f,
            e.value,
            self.time_ns
        )
    }
}

/// A history as EDN, one map a line.
pub fn to_edn(records: &[Record]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&r.to_edn());
        out.push('\n');
    }
    out
}
