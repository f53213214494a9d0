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

use sim_core::linearizability::history::{describe, Event, Paired, Record};
use sim_core::linearizability::models::{Kv, Register};
use sim_core::linearizability::{
    check_part, combine, operations, Budget, Failure, FromHistory, PartResult, Verdict,
};

pub use sim_core::linearizability::history::{Kind, Value};

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
fn parse_line(text: &str, line: usize) -> Result<Option<Record>, BadInput> {
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
        Some(Value::Int(p)) if p >= 0 => p as u64,
        Some(Value::Keyword(k)) if k == "nemesis" => return Ok(None),
        Some(other) => return Err(bad(format!(":process must be a number, got {other}"))),
        None => return Err(bad("no :process".into())),
    };
    let kind = match get("type") {
        Some(Value::Keyword(k)) => match Kind::from_keyword(&k) {
            Some(kind) => kind,
            None => {
                return Err(bad(format!(
                    ":type :{k} is not one of :invoke, :ok, :fail, :info"
                )))
            }
        },
        other => return Err(bad(format!(":type must be a keyword, got {other:?}"))),
    };
    let f = match get("f") {
        Some(Value::Keyword(k)) => k,
        other => return Err(bad(format!(":f must be a keyword, got {other:?}"))),
    };
    // A history's time is its line order.
    Ok(Some(Record {
        time_ns: line as u64,
        event: Event {
            process,
            kind,
            f: f.into(),
            value: get("value").unwrap_or(Value::Nil),
            key: get("key"),
        },
    }))
}

/// A history's lines, in order (each record's time is its line number).
pub fn read_history(text: &str) -> Result<Vec<Record>, BadInput> {
    read_history_from(text.as_bytes())
}

/// [`read_history`] from a reader, a line at a time (a history of millions of operations is
/// never held as text whole). Bytes that are not UTF-8 are read as U+FFFD.
pub fn read_history_from(mut reader: impl std::io::BufRead) -> Result<Vec<Record>, BadInput> {
    let mut records = Vec::new();
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| BadInput {
            line: line + 1,
            message: format!("cannot read: {e}"),
        })?;
        if n == 0 {
            return Ok(records);
        }
        line += 1;
        records.extend(parse_line(&String::from_utf8_lossy(&buf), line)?);
    }
}

/// The models `dsim lincheck --model` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelName {
    Register,
    CasRegister,
    Kv,
}

/// One part of the history (a key, for `kv`), as checked.
pub struct PartReport {
    pub result: PartResult,
    pub elapsed_ms: f64,
}

/// The verdict, with what a person needs to see a failure: operations by their lines.
pub struct Report {
    pub verdict: Verdict,
    pub parts: Vec<PartReport>,
    /// The history as read (each record's time is its line).
    pub records: Vec<Record>,
    /// Each operation checked: its invocation and completion records.
    pub paired: Vec<Paired>,
}

fn run<M: FromHistory>(
    model: &M,
    records: Vec<Record>,
    budget: &Budget,
) -> Result<Report, BadInput> {
    let line = |i: usize| records[i].time_ns as usize;
    let (ops, paired) =
        operations(model, &records, &|t| format!("line {t}")).map_err(|(i, message)| BadInput {
            line: line(i),
            message,
        })?;
    let mut parts = Vec::new();
    for part in model.partition(&ops) {
        let started = std::time::Instant::now();
        let result = check_part(model, &ops, part, budget);
        parts.push(PartReport {
            result,
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        });
    }
    let verdict = combine(parts.iter().map(|p| p.result.verdict.clone()));
    Ok(Report {
        verdict,
        parts,
        records,
        paired,
    })
}

/// Checks a history text against a model.
pub fn check_text(text: &str, model: ModelName, budget: &Budget) -> Result<Report, BadInput> {
    check_records(read_history(text)?, model, budget)
}

/// Checks a history already read against a model.
pub fn check_records(
    records: Vec<Record>,
    model: ModelName,
    budget: &Budget,
) -> Result<Report, BadInput> {
    match model {
        ModelName::Register => run(&Register::<Value>::new(false), records, budget),
        ModelName::CasRegister => run(&Register::<Value>::new(true), records, budget),
        ModelName::Kv => run(&Kv, records, budget),
    }
}

impl Report {
    fn failure(&self) -> Option<&Failure> {
        match &self.verdict {
            Verdict::NotLinearizable(f) => Some(f),
            _ => None,
        }
    }

    /// How many operations were checked.
    pub fn operations(&self) -> usize {
        self.paired.len()
    }

    /// The line of operation `op`'s invocation.
    pub fn line(&self, op: usize) -> usize {
        self.records[self.paired[op].0].time_ns as usize
    }

    /// `process 0 :read nil → 1`.
    pub fn describe(&self, op: usize) -> String {
        let (invoke, done) = self.paired[op];
        describe(
            &self.records[invoke].event,
            done.map(|d| &self.records[d].event),
        )
    }

    pub fn to_text(&self) -> String {
        let (operations, parts) = (self.operations(), self.parts.len());
        let mut s = match self.verdict {
            Verdict::Linearizable => {
                format!("linearizable: {operations} operations in {parts} part(s)\n")
            }
            Verdict::Unknown => format!(
                "unknown: the search ran out of budget on {operations} operations in {parts} \
                 part(s); checking linearizability is NP-complete, and no verdict is better \
                 than a guess\n"
            ),
            Verdict::NotLinearizable(_) => String::new(),
        };
        if let Some(f) = self.failure() {
            let op = |i: usize| format!("line {}: {}", self.line(i), self.describe(i));
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
        let word = |v: &Verdict| match v {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable(_) => "not_linearizable",
            Verdict::Unknown => "unknown",
        };
        let lines = |ops: &[usize]| ops.iter().map(|&i| self.line(i)).collect::<Vec<_>>();
        serde_json::json!({
            "verdict": word(&self.verdict),
            "operations": self.operations(),
            "elapsed_ms": elapsed_ms,
            "parts": self.parts.iter().map(|p| serde_json::json!({
                "part": p.result.name,
                "operations": p.result.ops.len(),
                "verdict": word(&p.result.verdict),
                "elapsed_ms": p.elapsed_ms,
            })).collect::<Vec<_>>(),
            "failure": self.failure().map(|f| serde_json::json!({
                "part": f.part,
                "longest_lines": lines(&f.longest),
                "culprit_line": self.line(f.culprit),
                "culprit": self.describe(f.culprit),
                "concurrent_lines": lines(&f.concurrent),
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

    /// The picture of the part that decides the verdict (the failing one, or else the
    /// first): the window of at most `OPS_DRAWN_MAX` operations around the culprit, or
    /// the first ones of a part that passed.
    pub fn chart(&self, source: &str) -> reports::history::HistoryChart {
        use reports::history::{Bar, HistoryChart, Role};
        const OPS_DRAWN_MAX: usize = 60;
        let part = self
            .parts
            .iter()
            .find(|p| matches!(p.result.verdict, Verdict::NotLinearizable(_)))
            .or_else(|| self.parts.first());
        let Some(part) = part.map(|p| &p.result) else {
            return HistoryChart {
                title: format!("{source}: an empty history"),
                subtitle: String::new(),
                lanes: Vec::new(),
                bars: Vec::new(),
                time_axis: "history line".into(),
            };
        };
        let failure = match &part.verdict {
            Verdict::NotLinearizable(f) => Some(f),
            _ => None,
        };
        // Which operations to draw.
        let mut drawn: Vec<usize> = match failure {
            Some(f) => {
                let mut v: Vec<usize> = f
                    .longest
                    .iter()
                    .rev()
                    .take(OPS_DRAWN_MAX / 2)
                    .copied()
                    .collect();
                v.push(f.culprit);
                v.extend(f.concurrent.iter().take(OPS_DRAWN_MAX / 2 - 1));
                v
            }
            None => part.ops.iter().take(OPS_DRAWN_MAX).copied().collect(),
        };
        drawn.sort_by_key(|&i| self.line(i));
        drawn.dedup();
        let order_of: std::collections::BTreeMap<usize, usize> = part
            .order
            .iter()
            .enumerate()
            .map(|(k, &i)| (i, k + 1))
            .collect();
        let mut lanes: Vec<u64> = Vec::new();
        let mut bars = Vec::new();
        for &i in &drawn {
            let (invoke, done) = self.paired[i];
            let call = &self.records[invoke];
            let lane = match lanes.iter().position(|&p| p == call.event.process) {
                Some(l) => l,
                None => {
                    lanes.push(call.event.process);
                    lanes.len() - 1
                }
            };
            let ok = done
                .map(|d| &self.records[d])
                .filter(|d| d.event.kind == Kind::Ok);
            let label = match ok {
                Some(d) if &*call.event.f == "read" || &*call.event.f == "get" => {
                    format!(":{} -> {}", call.event.f, d.event.value)
                }
                _ => format!(":{} {}", call.event.f, call.event.value),
            };
            let role = match failure {
                Some(f) if f.culprit == i => Role::Culprit,
                Some(f) if f.concurrent.contains(&i) => Role::Concurrent,
                _ => Role::Plain,
            };
            bars.push(Bar {
                lane,
                call: call.time_ns as f64,
                ret: ok.map(|d| d.time_ns as f64),
                label,
                order: order_of.get(&i).copied(),
                role,
            });
        }
        // The order's numbers count from the first drawn.
        if let Some(first) = bars.iter().filter_map(|b| b.order).min() {
            for b in &mut bars {
                b.order = b.order.map(|k| k + 1 - first);
            }
        }
        let shown = if drawn.len() < part.ops.len() {
            format!(
                ", {} of its {} operations shown",
                drawn.len(),
                part.ops.len()
            )
        } else {
            String::new()
        };
        let subtitle = match failure {
            Some(f) => format!(
                "NOT linearizable: after the {} operations numbered in order, the one in red \
                 (line {}) cannot be placed; outlined: concurrent with it{shown}",
                f.longest.len(),
                self.line(f.culprit)
            ),
            None if part.verdict == Verdict::Unknown => {
                format!("unknown: the search ran out of budget{shown}")
            }
            None => format!("linearizable: the order found is numbered{shown}"),
        };
        HistoryChart {
            title: format!("{source}: {}", part.name),
            subtitle,
            lanes: lanes.iter().map(|p| format!("process {p}")).collect(),
            bars,
            time_axis: "history line".into(),
        }
    }
}
