//! The command line: `run`, `check`, `sweep`, `merge`, `shrink`, `diagram`, `compare` and
//! `balance`, over whichever protocols a [`Cli`] holds.
//!
//! Exit status: 0 every invariant held; 1 an invariant was violated; 2 bad input or usage.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use scenario::LoadedScenario;
use scenario::{ProtocolOptions, Registry};

use crate::{diagram, program_name, shrink, summary, sweep};

#[derive(Parser)]
#[command(
    version,
    about = "Deterministic discrete-event simulator for distributed protocols",
    long_about = "Runs distributed protocols as simulated nodes in one single-threaded event \
                  loop with a seeded virtual clock and a lossy virtual network, so that every \
                  fault schedule reproduces exactly from its seed.\n\n\
                  Exit status: 0 every invariant held, 1 an invariant was violated, 2 bad \
                  input or usage."
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

/// A stretch of a run, as `diagram` and `view` take it.
#[derive(clap::Args, Debug)]
struct WindowArgs {
    /// Start of the window (a duration, e.g. 1.5s).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// End of the window.
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and print what happened.
    Run {
        /// The scenario file (RON).
        scenario: String,
        /// Seed to run with, instead of the scenario's own.
        #[arg(long)]
        seed: Option<u64>,
        /// Stream every event to FILE as JSON Lines.
        #[arg(long, value_name = "FILE")]
        trace: Option<String>,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
        /// Stop after N events (at least 1), instead of the scenario's own event limit.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max_events: Option<u64>,
        /// Write summary.json and the run's charts (SVG and PNG) into DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<String>,
        /// Write the clients' operations to FILE as a Jepsen EDN history (what
        /// `dsim lincheck` reads).
        #[arg(long, value_name = "FILE")]
        history: Option<String>,
    },
    /// Compare the placement schemes without a simulation: keys and requests per node,
    /// imbalance, and keys moved when a node joins and when one leaves.
    Balance(BalanceArgs),
    /// Run several scenarios (each at its own seed) and compare them side by side.
    Compare {
        /// The scenario files (RON).
        #[arg(required = true)]
        scenarios: Vec<String>,
        /// Write compare.json, compare.md and the charts (SVG and PNG) into DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<String>,
        /// Print the comparison as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a range of seeds on every core; report the failing ones, grouped by invariant.
    Sweep {
        /// The scenario file (RON).
        scenario: String,
        /// Seeds to run, A..B (B excluded).
        #[arg(long, default_value = "0..100")]
        seeds: sweep::SeedRange,
        /// Worker threads, at least 1 (default: every core).
        #[arg(long, value_parser = jobs_at_least_one)]
        jobs: Option<usize>,
        /// Stop launching seeds once this many (at least 1) have failed.
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
        stop_after: Option<u64>,
        /// Run only shard I of N: the seeds whose offset in the range is I modulo N.
        #[arg(long, value_name = "I/N", default_value = "0/1")]
        shard: sweep::Shard,
        /// Print the result as JSON (what `dsim merge` reads).
        #[arg(long)]
        json: bool,
    },
    /// Merge the --json results of the shards of one sweep into the whole sweep's result.
    Merge {
        #[arg(required = true)]
        results: Vec<String>,
        #[arg(long)]
        json: bool,
        /// Merge an incomplete set of shards (the result says which are missing).
        #[arg(long)]
        partial: bool,
    },
    /// Draw a run's space-time diagram (SVG and PNG): lanes, messages, drops, faults, and
    /// the violation; by default the 600ms before the violation.
    Diagram {
        /// The scenario file (RON).
        scenario: String,
        #[arg(long)]
        seed: Option<u64>,
        /// Where to write the picture (an .svg; a .png is written beside it).
        #[arg(short, long, value_name = "FILE")]
        output: String,
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Write one self-contained HTML page to explore a run: lanes, labelled messages, drops,
    /// faults, client operations and the violation, with zoom, pan, details and filters. By
    /// default the whole run, or (if it holds more messages than a page does) the last
    /// messages before the violation, or the first ones.
    View {
        /// The scenario file (RON).
        scenario: String,
        #[arg(long)]
        seed: Option<u64>,
        /// Where to write the page (.html).
        #[arg(short, long, value_name = "FILE")]
        output: String,
        #[command(flatten)]
        window: WindowArgs,
        /// The most messages on the page (and as many timers and observations); at most
        /// 200,000.
        #[arg(long, value_name = "N", default_value_t = crate::view::MESSAGES_MAX_DEFAULT)]
        max_messages: usize,
    },
    /// Shrink a failing seed: write the smallest scenario with an explicit fault schedule
    /// (no nemesis) that still fails the same invariant at that seed.
    Shrink {
        /// The scenario file (RON).
        scenario: String,
        /// The failing seed (default: the scenario's own).
        #[arg(long)]
        seed: Option<u64>,
        /// Where to write the shrunk scenario.
        #[arg(short, long, value_name = "FILE")]
        output: String,
        /// Candidate runs at most; the smallest failing scenario so far is written when
        /// they run out.
        #[arg(long, value_name = "N", default_value_t = 5_000)]
        max_runs: u32,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a Jepsen history (EDN maps, or Jepsen log lines) for linearizability against
    /// a model. Exit 0 linearizable, 1 not, 2 bad input, 3 unknown (the search ran out of
    /// budget: no verdict).
    Lincheck {
        /// The history file.
        history: String,
        /// The sequential model.
        #[arg(long, value_enum)]
        model: crate::lincheck::ModelName,
        /// Give up after this long (a duration, e.g. 30s), with the verdict "unknown".
        #[arg(long, value_name = "TIME")]
        timeout: Option<String>,
        /// Give up after this many search steps per part.
        #[arg(long, value_name = "N", default_value_t = 100_000_000)]
        steps: u64,
        /// Print the verdict as JSON: overall, per part (key), with timings.
        #[arg(long)]
        json: bool,
        /// Draw the history into DIR as history.svg and history.png: a lane per process,
        /// each operation a bar, the order found, the operation that cannot be placed.
        #[arg(long, value_name = "DIR")]
        out: Option<String>,
    },
    /// Check scenario files without running them.
    Check {
        /// The scenario files (RON).
        #[arg(required = true)]
        scenarios: Vec<String>,
    },
}

#[derive(clap::Args)]
struct BalanceArgs {
    /// Cluster size (nodes are node-0, node-1, ...).
    #[arg(long, default_value_t = 10)]
    nodes: usize,
    /// Number of keys (key-0, key-1, ...).
    #[arg(long, default_value_t = 1_000_000)]
    keys: usize,
    /// Virtual nodes per node, for ring and bounded.
    #[arg(long, default_value_t = 100)]
    vnodes: u32,
    /// Maglev lookup table size (a prime).
    #[arg(long, default_value_t = 65_537)]
    table_size: u32,
    /// Bounded loads: no node above (1 + epsilon) times the average.
    #[arg(long, default_value_t = 0.25)]
    epsilon: f64,
    /// Hash for ring points and keys: mixed (crc32 + splitmix64) or crc32.
    #[arg(long, default_value = "mixed")]
    hash: placement::HashFunction,
    /// Key popularity: uniform, or zipf:S for hot keys (e.g. zipf:1.1).
    #[arg(long, default_value = "uniform")]
    distribution: placement::keys::KeyDistribution,
    /// Relative node capacities, one per node, comma-separated (e.g. 1,1,2,...).
    #[arg(long, value_delimiter = ',')]
    weights: Vec<u32>,
    /// Write charts (SVG and PNG), balance.json and balance.md into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// dsim's command line over a set of protocols: the built-in ones, plus yours.
///
/// ```no_run
/// # #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
/// # struct MyOptions;
/// # struct My;
/// # impl sim_core::Protocol for My {
/// #     type Node = MyNode;
/// #     fn name(&self) -> &'static str { "my" }
/// #     fn node_names(&self) -> Vec<String> { vec![] }
/// #     fn make_node(&self, _: sim_core::NodeId) -> MyNode { MyNode }
/// # }
/// # struct MyNode;
/// # impl sim_core::Node for MyNode {
/// #     type Message = (); type Observation = (); type Record = (); type Timer = ();
/// #     fn on_start(&mut self, _: &mut sim_core::Context<'_, Self>) {}
/// #     fn on_message(&mut self, _: &mut sim_core::Context<'_, Self>, _: sim_core::NodeId, _: ()) {}
/// #     fn on_timer(&mut self, _: &mut sim_core::Context<'_, Self>, _: sim_core::TimerId, _: ()) {}
/// # }
/// # impl scenario::ProtocolOptions for MyOptions {
/// #     const NAME: &'static str = "My";
/// #     type Protocol = My;
/// #     fn build(&self) -> My { My }
/// # }
/// fn main() -> std::process::ExitCode {
///     dsim::Cli::new() // the built-in protocols
///         .protocol::<MyOptions>() // plus yours: scenario files say `protocol: My(...)`
///         .run() // run, check, sweep, merge, shrink, diagram, compare, balance
/// }
/// ```
#[derive(Clone)]
pub struct Cli {
    registry: Registry,
}

impl Default for Cli {
    fn default() -> Self {
        Cli::new()
    }
}

impl Cli {
    /// The command line with dsim's built-in protocols.
    pub fn new() -> Self {
        Cli::with_registry(protocols::builtin())
    }

    /// The command line with exactly the protocols of `registry`.
    pub fn with_registry(registry: Registry) -> Self {
        Cli { registry }
    }

    /// Adds protocol `O`; a name already registered is replaced.
    pub fn protocol<O: ProtocolOptions>(mut self) -> Self {
        self.registry.register::<O>();
        self
    }

    /// The protocols this command line knows.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Parses the process's arguments and runs the command.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// Parses `args` (the first is the program's name) and runs the command.
    pub fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        if let Some(name) = args
            .first()
            .and_then(|a| Path::new(a).file_stem())
            .and_then(|s| s.to_str())
        {
            crate::set_program_name(name);
        }
        let command = <Args as clap::CommandFactory>::command().name(program_name());
        let parsed = command
            .try_get_matches_from(args)
            .and_then(|m| <Args as clap::FromArgMatches>::from_arg_matches(&m));
        match parsed {
            Ok(parsed) => execute(&self.registry, parsed),
            Err(e) => {
                let _ = e.print();
                // Help and version are not errors; every other parse failure is usage (2).
                ExitCode::from(if e.use_stderr() { 2 } else { 0 })
            }
        }
    }
}

fn execute(registry: &Registry, cli: Args) -> ExitCode {
    match cli.command {
        Command::Run {
            scenario,
            seed,
            trace,
            json,
            max_events,
            out,
            history,
        } => run(
            registry,
            &scenario,
            seed,
            trace.as_deref(),
            json,
            max_events,
            out.as_deref(),
            history.as_deref(),
        ),
        Command::Balance(args) => balance(args),
        Command::Compare {
            scenarios,
            out,
            json,
        } => compare(registry, &scenarios, out.as_deref(), json),
        Command::Sweep {
            scenario,
            seeds,
            jobs,
            stop_after,
            shard,
            json,
        } => {
            let loaded = match registry.load(&scenario) {
                Ok(s) => s,
                Err(e) => return fail_input(e),
            };
            if shard.index >= seeds.end - seeds.start {
                return fail_input(format!(
                    "shard {shard} of seeds {seeds} holds no seed: the range has only {} \
                     (use at most that many shards)",
                    seeds.end - seeds.start
                ));
            }
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let result = sweep::sweep(&loaded, seeds, shard, jobs, stop_after);
            report_sweep(&result, json)
        }
        Command::Merge {
            results,
            json,
            partial,
        } => {
            let mut parts = Vec::new();
            for path in &results {
                let text = match std::fs::read_to_string(path) {
                    Ok(t) => t,
                    Err(e) => return fail_input(format!("cannot read {path}: {e}")),
                };
                match serde_json::from_str(&text) {
                    Ok(p) => parts.push(p),
                    Err(e) => {
                        return fail_input(format!(
                            "{path} is not a `dsim sweep --json` result: {e}"
                        ))
                    }
                }
            }
            match sweep::merge(parts, partial) {
                Ok(result) => report_sweep(&result, json),
                Err(e) => fail_input(e),
            }
        }
        Command::Diagram {
            scenario,
            seed,
            output,
            window: WindowArgs { from, to },
        } => {
            let loaded = match registry.load(&scenario) {
                Ok(s) => s,
                Err(e) => return fail_input(e),
            };
            let (from, to) = match window(from, to) {
                Ok(w) => w,
                Err(e) => return fail_input(e),
            };
            let seed = seed.unwrap_or(loaded.scenario.seed);
            let picture = diagram::space_time(&loaded, seed, from, to);
            let stem = Path::new(&output).with_extension("");
            if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    return fail_input(format!("cannot create {}: {e}", dir.display()));
                }
            }
            match reports::render(&picture, &stem) {
                Ok(files) => {
                    let names: Vec<String> =
                        files.iter().map(|f| f.display().to_string()).collect();
                    emit(&format!("wrote {}\n", names.join(", ")));
                    ExitCode::SUCCESS
                }
                Err(e) => fail_input(e),
            }
        }
        Command::View {
            scenario,
            seed,
            output,
            window: WindowArgs { from, to },
            max_messages,
        } => {
            let loaded = match registry.load(&scenario) {
                Ok(s) => s,
                Err(e) => return fail_input(e),
            };
            let (from_ns, to_ns) = match window(from, to) {
                Ok(w) => w,
                Err(e) => return fail_input(e),
            };
            if !(1..=crate::view::MESSAGES_MAX_LIMIT).contains(&max_messages) {
                return fail_input(format!(
                    "--max-messages must be 1 to {}: a page with more would not stay fluid in \
                     a browser (choose a stretch of the run with --from and --to instead)",
                    crate::view::MESSAGES_MAX_LIMIT
                ));
            }
            let seed = seed.unwrap_or(loaded.scenario.seed);
            let options = crate::view::ViewOptions {
                from_ns,
                to_ns,
                messages_max: max_messages,
            };
            let page = crate::view::view(&loaded, seed, options);
            let path = Path::new(&output);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    return fail_input(format!("cannot create {}: {e}", dir.display()));
                }
            }
            if let Err(e) = reports::files::write_whole(path, page.html.as_bytes()) {
                return fail_input(e);
            }
            let verdict = match &page.outcome.violation {
                Some(v) => format!(
                    "{} violated at {}",
                    v.invariant,
                    sim_core::format_ns(v.time_ns)
                ),
                None => "every invariant held".to_string(),
            };
            emit(&format!(
                "wrote {output} ({} of the run's {} messages; {verdict})\n",
                page.messages_shown, page.messages_total
            ));
            if page.outcome.violation.is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Shrink {
            scenario,
            seed,
            output,
            max_runs,
            json,
        } => shrink_command(registry, &scenario, seed, &output, max_runs, json),
        Command::Check { scenarios } => check(registry, &scenarios),
        Command::Lincheck {
            history,
            model,
            timeout,
            steps,
            json,
            out,
        } => lincheck(
            &history,
            model,
            timeout.as_deref(),
            steps,
            json,
            out.as_deref(),
        ),
    }
}

fn shrink_command(
    registry: &Registry,
    path: &str,
    seed: Option<u64>,
    output: &str,
    runs_max: u32,
    json: bool,
) -> ExitCode {
    let loaded = match registry.load(path) {
        Ok(s) => s,
        Err(e) => return fail_input(e),
    };
    if runs_max == 0 {
        return fail_input("--max-runs must be at least 1");
    }
    // Before the search, not after it: a path that cannot be written fails now.
    if let Err(e) = reports::files::check_writable(Path::new(output)) {
        return fail_input(e);
    }
    let seed = seed.unwrap_or(loaded.scenario.seed);
    let started = Instant::now();
    let options = scenario::shrink::ShrinkOptions { runs_max };
    let shrunk = match shrink::shrink_with_progress(&loaded, seed, &options) {
        Ok(s) => s,
        Err(e) => return fail_input(format!("{path}: {e}")),
    };
    let wall = started.elapsed();
    let command = format!("{} shrink {path} --seed {seed} -o {output}", program_name());
    let text = scenario::to_ron(&shrunk.scenario, &shrink::header(&command, output, &shrunk));
    if let Err(e) = reports::files::write_whole(Path::new(output), text.as_bytes()) {
        return fail_input(e);
    }
    let report = shrink::Report {
        scenario: path,
        seed,
        output,
        invariant: &shrunk.invariant,
        before: shrunk.before,
        after: shrunk.after,
        nemesis_faults: shrunk.nemesis_faults,
        runs: shrunk.runs,
        runs_exhausted: shrunk.runs_exhausted,
        wall_ms: wall.as_millis(),
        steps: &shrunk.steps,
        violation: &shrunk.violation.message,
    };
    if json {
        emit(&format!(
            "{}\n",
            serde_json::to_string(&report).expect("serialisable")
        ));
    } else {
        emit(&shrink::to_text(&report));
    }
    ExitCode::SUCCESS
}

fn lincheck(
    path: &str,
    model: crate::lincheck::ModelName,
    timeout: Option<&str>,
    steps: u64,
    json: bool,
    out: Option<&str>,
) -> ExitCode {
    let timeout_ns = match timeout.map(sim_core::parse_duration_ns).transpose() {
        Ok(t) => t,
        Err(e) => return fail_input(e),
    };
    let stem = out.map(|dir| Path::new(dir).join("history"));
    if let Some(stem) = &stem {
        if let Err(e) = reports::files::check_writable(&stem.with_extension("svg")) {
            return fail_input(e);
        }
    }
    let records = match std::fs::File::open(path) {
        Ok(file) => match linearizability::read_history_from(std::io::BufReader::new(file)) {
            Ok(r) => r,
            Err(e) => return fail_input(format!("{path}: {e}")),
        },
        Err(e) => return fail_input(format!("cannot read {path}: {e}")),
    };
    let started = Instant::now();
    let out_of_time =
        || timeout_ns.is_some_and(|t| started.elapsed().as_nanos() > t.max(0) as u128);
    let budget = linearizability::Budget {
        steps,
        stop: Some(&out_of_time),
    };
    let report = match crate::lincheck::check_records(records, model, &budget) {
        Ok(r) => r,
        Err(e) => return fail_input(format!("{path}: {e}")),
    };
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    if let Some(stem) = &stem {
        let name = Path::new(path)
            .file_name()
            .map_or(path.into(), |n| n.to_string_lossy());
        if let Err(e) = reports::render(&report.chart(&name), stem) {
            eprintln!("error: cannot draw the history: {e}");
            return ExitCode::from(2);
        }
    }
    if json {
        emit(&format!("{}\n", report.to_json(elapsed_ms)));
    } else {
        emit(&report.to_text());
        if let Some(stem) = &stem {
            emit(&format!(
                "drawn: {} and {}\n",
                stem.with_extension("svg").display(),
                stem.with_extension("png").display()
            ));
        }
    }
    ExitCode::from(report.exit_code())
}

fn jobs_at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("at least 1 worker is needed".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes to standard output. A reader that went away (`dsim ... | head`) is not an error
/// worth a panic: stop quietly, as command-line tools do.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// `--from` and `--to` as nanoseconds; an error if either is not a duration, or the window
/// ends before it starts.
fn window(from: Option<String>, to: Option<String>) -> Result<(Option<u64>, Option<u64>), String> {
    let parse = |t: Option<String>| -> Result<Option<u64>, String> {
        t.map(|t| {
            sim_core::parse_duration_ns(&t)
                .and_then(|ns| u64::try_from(ns).map_err(|_| format!("time `{t}` is negative")))
        })
        .transpose()
    };
    let (from, to) = (parse(from)?, parse(to)?);
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err(format!(
                "the window ends ({}) before it starts ({}): give --from before --to",
                sim_core::format_ns(t),
                sim_core::format_ns(f)
            ));
        }
    }
    Ok((from, to))
}

fn fail_input(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

#[allow(clippy::too_many_arguments)] // one per option of `dsim run`
fn run(
    registry: &Registry,
    path: &str,
    seed: Option<u64>,
    trace: Option<&str>,
    json: bool,
    max_events: Option<u64>,
    out: Option<&str>,
    history: Option<&str>,
) -> ExitCode {
    let mut loaded = match registry.load(path) {
        Ok(s) => s,
        Err(e) => return fail_input(e),
    };
    if max_events.is_some() {
        loaded.scenario.limits.events = max_events;
    }
    let seed = seed.unwrap_or(loaded.scenario.seed);
    // The trace streams into a temporary file, renamed to its name once the run is over;
    // into a pipe or a device (`/dev/null`), straight.
    let trace_tmp = trace
        .filter(|file| !reports::files::is_stream(Path::new(file)))
        .map(|file| reports::files::temporary_name(Path::new(file)));
    let trace_out: Option<Box<dyn Write>> = match (trace, &trace_tmp) {
        (Some(file), Some(tmp)) => {
            if let Err(e) = reports::files::check_writable(Path::new(file)) {
                return fail_input(e);
            }
            match std::fs::File::create(tmp) {
                Ok(f) => Some(Box::new(f)),
                Err(e) => return fail_input(format!("cannot write the trace to {file}: {e}")),
            }
        }
        (Some(file), None) => match reports::files::open_stream(Path::new(file)) {
            Ok(f) => Some(Box::new(f)),
            Err(e) => return fail_input(e),
        },
        _ => None,
    };
    let started = Instant::now();
    let outcome = loaded.run(seed, trace_out);
    let wall = started.elapsed();
    let report = summary::Summary::new(&loaded, &outcome, wall, max_events);
    if json {
        emit(&format!("{}\n", report.to_json()));
    } else {
        emit(&report.to_text());
    }
    if let Some(dir) = out {
        if let Err(e) = write_run_files(&report, &loaded, &outcome, Path::new(dir)) {
            return fail_input(e);
        }
    }
    if let Some(file) = history {
        let edn = linearizability::to_edn(&outcome.history);
        let written = reports::files::check_writable(Path::new(file))
            .and_then(|_| reports::files::write_whole(Path::new(file), edn.as_bytes()));
        if let Err(e) = written {
            return fail_input(e);
        }
    }
    if let (Some(file), Some(tmp)) = (trace, &trace_tmp) {
        let written = match &outcome.trace_error {
            Some(e) => Err(e.to_string()),
            None => Ok(()),
        };
        if let Err(e) = reports::files::finish(written, tmp, Path::new(file)) {
            return fail_input(e);
        }
    } else if let (Some(file), Some(e)) = (trace, &outcome.trace_error) {
        return fail_input(format!("{file}: {e}"));
    }
    if outcome.violation.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn balance(args: BalanceArgs) -> ExitCode {
    use placement::balance::{balance, BalanceOptions};
    let options = BalanceOptions {
        nodes: args.nodes,
        keys: args.keys,
        vnodes: args.vnodes,
        table_size: args.table_size,
        epsilon: args.epsilon,
        hash: args.hash,
        distribution: args.distribution,
        weights: args.weights,
    };
    if let Err(e) = options.validate() {
        return fail_input(e);
    }
    let report = balance(&options);
    if args.json {
        let schemes: Vec<serde_json::Value> = report
            .schemes
            .iter()
            .map(|s| {
                serde_json::json!({
                    "scheme": s.scheme,
                    "max_over_mean": s.max_over_mean,
                    "stddev_over_mean": s.stddev_over_mean,
                    "requests_max_over_mean": s.requests_max_over_mean,
                    "moved_on_join": s.moved_on_join,
                    "moved_on_leave": s.moved_on_leave,
                    "keys_per_node": s.keys_per_node,
                    "memory_bytes": s.memory_bytes,
                })
            })
            .collect();
        let value = serde_json::json!({
            "nodes": report.nodes.len(),
            "keys": report.keys,
            "hash": report.hash,
            "distribution": report.distribution,
            "joined": report.joined,
            "left": report.left,
            "ideal_join": report.ideal_join,
            "ideal_leave": report.ideal_leave,
            "schemes": schemes,
            "ring_sweep": report.ring_sweep,
        });
        emit(&format!("{value}\n"));
    } else {
        emit(&reports::balance::text_table(&report));
    }
    if let Some(dir) = args.out {
        match reports::balance::write(&report, Path::new(&dir)) {
            Ok(files) => {
                if !args.json {
                    emit(&format!("wrote {}\n", files.join(", ")));
                }
            }
            Err(e) => return fail_input(e),
        }
    }
    ExitCode::SUCCESS
}

/// `dsim run --out DIR`: the summary as JSON, and the protocol's charts.
fn write_run_files(
    report: &summary::Summary,
    loaded: &LoadedScenario,
    outcome: &sim_core::RunOutcome,
    dir: &Path,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json_path = dir.join("summary.json");
    reports::files::write_whole(&json_path, (report.to_json() + "\n").as_bytes())?;
    let metrics: serde_json::Map<String, serde_json::Value> =
        outcome.metrics.clone().into_iter().collect();
    let charts = reports::timeline::write(&loaded.scenario.name, outcome.seed, &metrics, dir)?;
    // The report that names the charts is written last.
    let md_path = dir.join("report.md");
    reports::files::write_whole(&md_path, report.to_markdown(&charts).as_bytes())?;
    Ok(())
}

fn compare(registry: &Registry, paths: &[String], out: Option<&str>, json: bool) -> ExitCode {
    let mut runs = Vec::new();
    for path in paths {
        let loaded = match registry.load(path) {
            Ok(s) => s,
            Err(e) => return fail_input(e),
        };
        let seed = loaded.scenario.seed;
        let outcome = loaded.run(seed, None);
        runs.push((loaded, outcome));
    }
    let table = summary::Comparison::new(&runs);
    if json {
        emit(&format!("{}\n", table.to_json()));
    } else {
        emit(&table.to_text());
    }
    if let Some(dir) = out {
        match table.write(Path::new(dir)) {
            Ok(files) if !json => emit(&format!("wrote {}\n", files.join(", "))),
            Ok(_) => {}
            Err(e) => return fail_input(e),
        }
    }
    ExitCode::SUCCESS
}

/// Prints a sweep's result; exit 1 if any seed failed.
fn report_sweep(result: &sweep::SweepResult, json: bool) -> ExitCode {
    if json {
        emit(&format!(
            "{}\n",
            serde_json::to_string(result).expect("serialisable")
        ));
    } else {
        emit(&result.to_text());
    }
    if result.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn check(registry: &Registry, paths: &[String]) -> ExitCode {
    let mut bad = 0;
    for path in paths {
        match registry.load(path) {
            Ok(s) => emit(&format!(
                "{path}: ok ({} nodes, {} faults scheduled{})\n",
                s.names.len(),
                s.scenario.faults.len(),
                if s.scenario.nemesis.is_some() {
                    ", nemesis on"
                } else {
                    ""
                }
            )),
            Err(e) => {
                eprintln!("error: {e}");
                bad += 1;
            }
        }
    }
    if bad > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
