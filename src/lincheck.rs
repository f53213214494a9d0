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

use linearizability::{
    check_part, combine, describe, operations, read_history, BadInput, Budget, Entry, Failure,
    FromHistory, Kind, Kv, Paired, PartResult, Register, Value, Verdict,
};

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
    pub records: Vec<Entry>,
    /// Each operation checked: its invocation and completion records.
    pub paired: Vec<Paired>,
}

fn run<M: FromHistory>(
    model: &M,
    records: Vec<Entry>,
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
    records: Vec<Entry>,
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
