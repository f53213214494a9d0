//! Histories as EDN, Jepsen's format: written one map a line, as `dsim run --history`
//! writes them, and read back, with Jepsen's older log lines too.
//!
//! Reads EDN maps one per line, as Jepsen and Knossos write histories
//! (`{:process 0, :type :invoke, :f :cas, :value [3 0]}`, with `:key` for the kv model;
//! other keys such as `:time` are ignored), and Jepsen's older log lines
//! (`INFO  jepsen.util - 0 :invoke :read nil`: process, type, f, value, separated by a tab
//! or by runs of spaces). A keyword process (`:nemesis`) is not a client and is skipped.
//! Time is the line order.

use std::fmt;

use crate::history::{Entry, Event, Kind, Value};

impl Entry {
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
pub fn to_edn(records: &[Entry]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&r.to_edn());
        out.push('\n');
    }
    out
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
fn parse_line(text: &str, line: usize) -> Result<Option<Entry>, BadInput> {
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
    Ok(Some(Entry {
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
pub fn read_history(text: &str) -> Result<Vec<Entry>, BadInput> {
    read_history_from(text.as_bytes())
}

/// [`read_history`] from a reader, a line at a time (a history of millions of operations is
/// never held as text whole). Bytes that are not UTF-8 are read as U+FFFD.
pub fn read_history_from(mut reader: impl std::io::BufRead) -> Result<Vec<Entry>, BadInput> {
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
