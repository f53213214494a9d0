//! `dsim lincheck`: a Jepsen history, checked for linearizability against a model.
//!
//! Reads EDN maps one per line, as Jepsen and Knossos write histories
//! (`{:process 0, :type :invoke, :f :cas, :value [3 0]}`, with `:key` for the kv model;
//! other keys such as `:time` are ignored), and Jepsen's older log lines
//! (`INFO  jepsen.util - 0 :invoke :read nil`: process, type, f, value, separated by a tab
//! or by runs of spaces). Operations are paired by process: an invocation and the
//! completion that follows it. `:ok` is a result; `:fail` did not take effect (the
//! operation is dropped); `:info`, or no completion at all, is indeterminate. Time is the
//! line order.

use std::fmt;

use sim_core::linearizability::models::{
    Kv, KvInput, KvOutput, Register, RegisterInput, RegisterOutput,
};
use sim_core::linearizability::{check_within, Budget, Failure, Model, Operation, Verdict};

pub use sim_core::linearizability::history::{Kind, Value};

/// One line of a history: who, what kind of event, which function, which value and key.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub line: usize,
    pub process: i64,
    pub kind: Kind,
    pub f: String,
    pub value: Value,
    pub key: Option<Value>,
}

/// A problem with the input, at its line.
#[derive(Debug, PartialEq)]
pub struct BadInput {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

struct Reader<'a> {
    s: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn skip_space(&mut self) {
        while self.at < self.s.len()
            && (self.s[self.at].is_ascii_whitespace() || self.s[self.at] == b',')
        {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_space();
        let Some(&c) = self.s.get(self.at) else {
            return Err("the line ends where a value was expected".into());
        };
        match c {
            b'"' => {
                self.at += 1;
                let mut out = Vec::new();
                while let Some(&b) = self.s.get(self.at) {
                    self.at += 1;
                    match b {
                        b'"' => {
                            return String::from_utf8(out)
                                .map(Value::Str)
                                .map_err(|_| "a string that is not UTF-8".into())
                        }
                        b'\\' => {
                            let e = *self.s.get(self.at).ok_or("a string ends in a backslash")?;
                            self.at += 1;
                            out.push(match e {
                                b'n' => b'\n',
                                b't' => b'\t',
                                other => other,
                            });
                        }
                        other => out.push(other),
                    }
                }
                Err("a string is not closed".into())
            }
            b'[' | b'(' => {
                let close = if c == b'[' { b']' } else { b')' };
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    match self.s.get(self.at) {
                        Some(&b) if b == close => {
                            self.at += 1;
                            return Ok(Value::Vector(items));
                        }
                        None => return Err("a vector is not closed".into()),
                        _ => items.push(self.value()?),
                    }
                }
            }
            _ => {
                let start = self.at;
                while self.at < self.s.len()
                    && !self.s[self.at].is_ascii_whitespace()
                    && !b",{}[]()\"".contains(&self.s[self.at])
                {
                    self.at += 1;
                }
                let token =
                    std::str::from_utf8(&self.s[start..self.at]).map_err(|_| "not UTF-8")?;
                if token.is_empty() {
                    return Err(format!("unexpected `{}`", c as char));
                }
                Ok(match token {
                    "nil" => Value::Nil,
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    t if t.starts_with(':') && t.len() > 1 => Value::Keyword(t[1..].to_string()),
                    t => t.parse().map(Value::Int).map_err(|_| {
                        format!("`{t}` is not a value (a number, string, keyword, nil or vector)")
                    })?,
                })
            }
        }
    }
}

/// Reads one line: an EDN map, or a Jepsen log line. `None` for a blank line.
fn parse_line(text: &str, line: usize) -> Result<Option<Event>, BadInput> {
    let bad = |message: String| BadInput { line, message };
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with(';') {
        return Ok(None);
    }
    let mut fields: Vec<(String, Value)> = Vec::new();
    if trimmed.starts_with('{') {
        let mut r = Reader {
            s: trimmed.as_bytes(),
            at: 1,
        };
        loop {
            r.skip_space();
            match r.s.get(r.at) {
                Some(b'}') => break,
                None => return Err(bad("the map is not closed with `}`".into())),
                _ => {}
            }
            let key = match r.value().map_err(bad)? {
                Value::Keyword(k) => k,
                other => return Err(bad(format!("a map key must be a keyword, got {other}"))),
            };
            let value = r.value().map_err(bad)?;
            fields.push((key, value));
        }
    } else {
        // INFO  jepsen.util - 0	:invoke	:read	nil
        let body = trimmed.split_once(" - ").map_or(trimmed, |(_, b)| b);
        let mut r = Reader {
            s: body.as_bytes(),
            at: 0,
        };
        for name in ["process", "type", "f"] {
            fields.push((name.to_string(), r.value().map_err(bad)?));
        }
        r.skip_space();
        // A `:fail` or `:info` may carry a reason (`:timed-out`) where the value goes.
        let value = if r.at < r.s.len() {
            r.value().map_err(bad)?
        } else {
            Value::Nil
        };
        fields.push(("value".into(), value));
    }
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let process = match get("process") {
        Some(Value::Int(p)) => p,
        Some(Value::Keyword(k)) if k == "nemesis" => return Ok(None),
        Some(other) => return Err(bad(format!(":process must be a number, got {other}"))),
        None => return Err(bad("no :process".into())),
    };
    let kind = match get("type") {
        Some(Value::Keyword(k)) => match k.as_str() {
            "invoke" => Kind::Invoke,
            "ok" => Kind::Ok,
            "fail" => Kind::Fail,
            "info" => Kind::Info,
            other => {
                return Err(bad(format!(
                    ":type :{other} is not one of :invoke, :ok, :fail, :info"
                )))
            }
        },
        other => return Err(bad(format!(":type must be a keyword, got {other:?}"))),
    };
    let f = match get("f") {
        Some(Value::Keyword(k)) => k,
        other => return Err(bad(format!(":f must be a keyword, got {other:?}"))),
    };
    Ok(Some(Event {
        line,
        process,
        kind,
        f,
        value: get("value").unwrap_or(Value::Nil),
        key: get("key"),
    }))
}

/// A history's operations, paired: (invocation, completion if any).
pub fn read_history(text: &str) -> Result<Vec<(Event, Option<Event>)>, BadInput> {
    let mut ops: Vec<(Event, Option<Event>)> = Vec::new();
    let mut pending: std::collections::BTreeMap<i64, usize> = Default::default();
    for (i, line) in text.lines().enumerate() {
        let Some(e) = parse_line(line, i + 1)? else {
            continue;
        };
        match e.kind {
            Kind::Invoke => {
                if let Some(&open) = pending.get(&e.process) {
                    return Err(BadInput {
                        line: e.line,
                        message: format!(
                            "process {} invokes again while its operation of line {} has not completed",
                            e.process, ops[open].0.line
                        ),
                    });
                }
                pending.insert(e.process, ops.len());
                ops.push((e, None));
            }
            _ => {
                let Some(open) = pending.remove(&e.process) else {
                    return Err(BadInput {
                        line: e.line,
                        message: format!(
                            "process {} completes an operation it never invoked",
                            e.process
                        ),
                    });
                };
                if ops[open].0.f != e.f {
                    return Err(BadInput {
                        line: e.line,
                        message: format!(
                            "process {} completes :{} but invoked :{} (line {})",
                            e.process, e.f, ops[open].0.f, ops[open].0.line
                        ),
                    });
                }
                ops[open].1 = Some(e);
            }
        }
    }
    Ok(ops)
}

/// The models `dsim lincheck --model` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelName {
    Register,
    CasRegister,
    Kv,
}

/// The verdict, with what a person needs to see a failure: operations by their lines.
pub struct Report {
    pub verdict: Verdict,
    pub parts: usize,
    pub operations: usize,
    /// Line of the invocation of each operation of the checked history.
    pub lines: Vec<usize>,
    pub descriptions: Vec<String>,
}

/// The operations to check, with the line of each invocation and a description of each.
struct Checked<I, O> {
    ops: Vec<Operation<I, O>>,
    lines: Vec<usize>,
    descriptions: Vec<String>,
}

fn to_ops<I, O>(
    paired: &[(Event, Option<Event>)],
    convert: impl Fn(&Event, Option<&Event>) -> Result<(I, Option<O>), String>,
) -> Result<Checked<I, O>, BadInput> {
    let mut ops = Vec::new();
    let mut lines = Vec::new();
    let mut descriptions = Vec::new();
    for (inv, done) in paired {
        // A failed operation certainly did not take effect.
        if done.as_ref().is_some_and(|d| d.kind == Kind::Fail) {
            continue;
        }
        let ok = done.as_ref().filter(|d| d.kind == Kind::Ok);
        let (input, output) = convert(inv, ok).map_err(|message| BadInput {
            line: ok.map_or(inv.line, |d| d.line),
            message,
        })?;
        let ret = match (ok, output) {
            (Some(d), Some(o)) => Some((d.line as u64, o)),
            _ => None,
        };
        descriptions.push(format!(
            "process {} :{} {}{}",
            inv.process,
            inv.f,
            inv.key
                .as_ref()
                .map(|k| format!("key {k} "))
                .unwrap_or_default(),
            match ok {
                Some(d) => format!("{} → {}", inv.value, d.value),
                None => format!("{} → ? (indeterminate)", inv.value),
            }
        ));
        lines.push(inv.line);
        ops.push(Operation {
            process: inv.process as u64,
            input,
            call_ns: inv.line as u64,
            ret,
        });
    }
    Ok(Checked {
        ops,
        lines,
        descriptions,
    })
}

fn run<M: Model>(model: &M, checked: Checked<M::Input, M::Output>, budget: &Budget) -> Report {
    let (verdict, parts) = check_within(model, &checked.ops, budget);
    Report {
        verdict,
        parts,
        operations: checked.ops.len(),
        lines: checked.lines,
        descriptions: checked.descriptions,
    }
}

/// Checks a history text against a model.
pub fn check_text(text: &str, model: ModelName, budget: &Budget) -> Result<Report, BadInput> {
    let paired = read_history(text)?;
    Ok(match model {
        ModelName::Register | ModelName::CasRegister => {
            let cas = model == ModelName::CasRegister;
            let ops = to_ops(&paired, |inv, ok| {
                let input = match (inv.f.as_str(), &inv.value) {
                    ("read", _) => RegisterInput::Read,
                    ("write", v) => RegisterInput::Write(v.clone()),
                    ("cas", Value::Vector(v)) if cas && v.len() == 2 => {
                        RegisterInput::Cas(v[0].clone(), v[1].clone())
                    }
                    (f, v) => {
                        return Err(format!("the {model:?} model has no :{f} with value {v}"))
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
            })?;
            run(&Register::new(cas), ops, budget)
        }
        ModelName::Kv => {
            let ops = to_ops(&paired, |inv, ok| {
                let key = match &inv.key {
                    Some(Value::Str(k)) => k.clone(),
                    Some(other) => other.to_string(),
                    None => return Err("the kv model needs a :key".into()),
                };
                let text = |v: &Value| match v {
                    Value::Nil => String::new(),
                    Value::Str(s) => s.clone(),
                    other => other.to_string(),
                };
                let input = match inv.f.as_str() {
                    "get" | "read" => KvInput::Get(key),
                    "put" | "write" => KvInput::Put(key, text(&inv.value)),
                    "append" => KvInput::Append(key, text(&inv.value)),
                    f => return Err(format!("the kv model has no :{f}")),
                };
                let output = ok.map(|d| match input {
                    KvInput::Get(_) => KvOutput::Value(text(&d.value)),
                    _ => KvOutput::Ok,
                });
                Ok((input, output))
            })?;
            run(&Kv, ops, budget)
        }
    })
}

impl Report {
    fn failure(&self) -> Option<&Failure> {
        match &self.verdict {
            Verdict::NotLinearizable(f) => Some(f),
            _ => None,
        }
    }

    pub fn to_text(&self) -> String {
        let mut s = match self.verdict {
            Verdict::Linearizable => format!(
                "linearizable: {} operations in {} part(s)\n",
                self.operations, self.parts
            ),
            Verdict::Unknown => format!(
                "unknown: the search ran out of budget on {} operations in {} part(s); \
                 checking linearizability is NP-complete, and no verdict is better than a guess\n",
                self.operations, self.parts
            ),
            Verdict::NotLinearizable(_) => String::new(),
        };
        if let Some(f) = self.failure() {
            let op = |i: usize| format!("line {}: {}", self.lines[i], self.descriptions[i]);
            s += &format!("NOT linearizable ({}):\n", f.part);
            s += &format!(
                "  the longest order that explains a prefix ({} operations):\n",
                f.longest.len()
            );
            for &i in &f.longest {
                s += &format!("    {}\n", op(i));
            }
            s += &format!("  cannot be followed by\n    {}\n", op(f.culprit));
            if !f.concurrent.is_empty() {
                s += "  which is concurrent with\n";
                for &i in &f.concurrent {
                    s += &format!("    {}\n", op(i));
                }
            }
        }
        s
    }

    pub fn to_json(&self, elapsed_ms: f64) -> serde_json::Value {
        let verdict = match self.verdict {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable(_) => "not_linearizable",
            Verdict::Unknown => "unknown",
        };
        let line = |i: usize| self.lines[i];
        serde_json::json!({
            "verdict": verdict,
            "operations": self.operations,
            "parts": self.parts,
            "elapsed_ms": elapsed_ms,
            "failure": self.failure().map(|f| serde_json::json!({
                "part": f.part,
                "longest_lines": f.longest.iter().map(|&i| line(i)).collect::<Vec<_>>(),
                "culprit_line": line(f.culprit),
                "culprit": self.descriptions[f.culprit],
                "concurrent_lines": f.concurrent.iter().map(|&i| line(i)).collect::<Vec<_>>(),
            })),
        })
    }

    /// 0 linearizable, 1 not, 3 unknown (2 is bad input).
    pub fn exit_code(&self) -> u8 {
        match self.verdict {
            Verdict::Linearizable => 0,
            Verdict::NotLinearizable(_) => 1,
            Verdict::Unknown => 3,
        }
    }
}
