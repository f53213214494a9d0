//! The trace: one JSON object per line, streamed while the run goes.
//!
//! Nothing of the trace is kept in memory, and nothing of it feeds the fingerprint, so a
//! run with `--trace` is the same run as one without. Every line has `t_ns` (virtual time),
//! `kind` and `node`; the rest depends on the kind:
//!
//! | kind | fields |
//! |---|---|
//! | `start`, `restart` | |
//! | `send` | `to`, `msg`, `deliver_at_ns` (and `duplicate_at_ns` if duplicated) |
//! | `deliver` | `from`, `msg` |
//! | `drop` | `from`, `to`, `reason` (`loss`, `partition`, `crashed`), `msg` |
//! | `timer` | `timer` (the timer's value, as the protocol prints it) |
//! | `fault` | `fault` (the kind), `what` (a description), `origin` (`scheduled`, `nemesis`) |
//! | `resume` | |
//! | `observe` | `what` |
//! | `record` | `process`, `type` (`invoke`, `ok`, `fail`, `info`), `f`, `key` (if any), `value` (EDN): a client's history entry |
//! | `violation` | `invariant`, `message` |

use std::fmt::{Debug, Write as _};
use std::io::{self, Write};

/// Streams trace lines to a writer. Write errors are remembered, not fatal to the run.
pub struct TraceWriter {
    out: io::BufWriter<Box<dyn Write>>,
    line: String,
    scratch: String,
    error: Option<io::Error>,
}

impl TraceWriter {
    pub fn new(out: Box<dyn Write>) -> Self {
        TraceWriter {
            out: io::BufWriter::with_capacity(1 << 16, out),
            line: String::with_capacity(256),
            scratch: String::with_capacity(128),
            error: None,
        }
    }

    /// Starts a line: `{"t_ns":..,"node":"..","kind":".."`.
    pub fn begin(&mut self, t_ns: u64, node: &str, kind: &str) -> &mut Self {
        self.line.clear();
        let _ = write!(self.line, "{{\"t_ns\":{t_ns},\"node\":");
        push_json_str(&mut self.line, node);
        self.line.push_str(",\"kind\":");
        push_json_str(&mut self.line, kind);
        self
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        let _ = write!(self.line, ",\"{key}\":");
        push_json_str(&mut self.line, value);
        self
    }

    pub fn num(&mut self, key: &str, value: u64) -> &mut Self {
        let _ = write!(self.line, ",\"{key}\":{value}");
        self
    }

    /// A value written with its `Debug` form, as a JSON string.
    pub fn debug(&mut self, key: &str, value: &dyn Debug) -> &mut Self {
        self.scratch.clear();
        let _ = write!(self.scratch, "{value:?}");
        let _ = write!(self.line, ",\"{key}\":");
        push_json_str(&mut self.line, &self.scratch);
        self
    }

    /// Ends the line and writes it.
    pub fn end(&mut self) {
        self.line.push_str("}\n");
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(self.line.as_bytes()) {
                self.error = Some(e);
            }
        }
    }

    /// Flushes; returns the first error seen, if any.
    pub fn finish(&mut self) -> Result<(), String> {
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
        match &self.error {
            None => Ok(()),
            Some(e) => Err(format!("writing the trace failed: {e}")),
        }
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_valid_json_with_escapes() {
        let buf = Shared::default();
        let mut t = TraceWriter::new(Box::new(buf.clone()));
        t.begin(5, "n\"0", "deliver")
            .str("from", "n1")
            .num("x", 7)
            .debug("msg", &"tab\there");
        t.end();
        t.finish().unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["t_ns"], 5);
        assert_eq!(v["node"], "n\"0");
        assert_eq!(v["msg"], "\"tab\\there\"");
        assert_eq!(v["x"], 7);
    }
}
