//! `dsim`: run scenario files on the deterministic simulator.
//!
//! Exit status: 0 every invariant held; 1 an invariant was violated; 2 bad input or usage.

mod summary;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use sim_core::LoadedScenario;

#[derive(Parser)]
#[command(
    name = "dsim",
    version,
    about = "Deterministic discrete-event simulator for distributed protocols",
    long_about = "Runs distributed protocols as simulated nodes in one single-threaded event \
                  loop with a seeded virtual clock and a lossy virtual network, so that every \
                  fault schedule reproduces exactly from its seed.\n\n\
                  Exit status: 0 every invariant held, 1 an invariant was violated, 2 bad \
                  input or usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        /// Stop after N events, instead of the scenario's own event limit.
        #[arg(long, value_name = "N")]
        max_events: Option<u64>,
    },
    /// Check scenario files without running them.
    Check {
        /// The scenario files (RON).
        #[arg(required = true)]
        scenarios: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; every other parse failure is usage (2).
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Run {
            scenario,
            seed,
            trace,
            json,
            max_events,
        } => run(&scenario, seed, trace.as_deref(), json, max_events),
        Command::Check { scenarios } => check(&scenarios),
    }
}

fn fail_input(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn run(
    path: &str,
    seed: Option<u64>,
    trace: Option<&str>,
    json: bool,
    max_events: Option<u64>,
) -> ExitCode {
    let mut loaded = match LoadedScenario::load(path) {
        Ok(s) => s,
        Err(e) => return fail_input(e),
    };
    if max_events.is_some() {
        loaded.scenario.limits.events = max_events;
    }
    let seed = seed.unwrap_or(loaded.scenario.seed);
    let trace_out: Option<Box<dyn Write>> = match trace {
        None => None,
        Some(file) => {
            if let Some(dir) = Path::new(file)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    return fail_input(format!("cannot create {}: {e}", dir.display()));
                }
            }
            match std::fs::File::create(file) {
                Ok(f) => Some(Box::new(f)),
                Err(e) => return fail_input(format!("cannot write the trace to {file}: {e}")),
            }
        }
    };
    let started = Instant::now();
    let outcome = loaded.run(seed, trace_out);
    let wall = started.elapsed();
    let report = summary::Summary::new(&loaded, &outcome, wall, max_events);
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    if let Some(e) = &outcome.trace_error {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if outcome.violation.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn check(paths: &[String]) -> ExitCode {
    let mut bad = 0;
    for path in paths {
        match LoadedScenario::load(path) {
            Ok(s) => println!(
                "{path}: ok ({} nodes, {} faults scheduled{})",
                s.names.len(),
                s.scenario.faults.len(),
                if s.scenario.nemesis.is_some() {
                    ", nemesis on"
                } else {
                    ""
                }
            ),
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
