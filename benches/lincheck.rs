//! Linearizability checking speed: generated histories (linearizable by construction, see
//! `linearizability::generate`) read and checked as `dsim lincheck` does.
//!
//! - `cas-register`: one register with read, write and compare-and-set over 5 values,
//!   5 to 50 processes, 1,000 to 100,000 operations, 2% of them indeterminate;
//! - `kv`: reads and writes over 1,000 keys by 10 and 50 clients, checked key by key.
//!
//! A case whose search runs past 30 seconds or 50,000,000 steps is reported "unknown" (the problem is
//! NP-complete; wide windows of concurrent writes over few values are the hard ones).
//!
//! Run: `cargo bench --bench lincheck` (`-- quick` for the small ones only; `-- write DIR`
//! also writes each history as EDN, for another checker to read the same ones; `-- million
//! DIR` writes only a kv history of 1,000,000 operations over 100,000 keys, for
//! `/usr/bin/time -v dsim lincheck DIR/kv-1m.edn --model kv`).

use std::time::Instant;

use dsim::lincheck::ModelName;
use linearizability::to_edn;
use linearizability::{linearizable_history, HistoryOptions};
use linearizability::{Budget, Verdict};

/// A search that takes longer, or more steps (each may remember a configuration, about
/// 50 bytes), is stopped with the verdict "unknown".
const TIMEOUT_S: u64 = 30;
const STEPS_MAX: u64 = 50_000_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "quick");
    let write = args
        .iter()
        .position(|a| a == "write")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    if let Some(dir) = &write {
        std::fs::create_dir_all(dir).expect("the directory for --write");
    }
    // `-- million DIR`: only write a kv history of 1,000,000 operations by 50 clients over
    // 100,000 keys, to measure `dsim lincheck` on it (time and peak memory).
    if let Some(dir) = args
        .iter()
        .position(|a| a == "million")
        .and_then(|i| args.get(i + 1))
    {
        let options = HistoryOptions {
            seed: 1,
            processes: 50,
            operations: 1_000_000,
            keys: 100_000,
            values: 5,
            cas: false,
            info_ratio: 0.02,
        };
        let path = std::path::Path::new(dir).join("kv-1m.edn");
        std::fs::create_dir_all(dir).expect("the directory for million");
        std::fs::write(&path, to_edn(&linearizable_history(&options))).expect("write the history");
        println!("wrote {}", path.display());
        return;
    }
    let sizes: &[u64] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    println!("| model | processes | keys | operations | read ms | check ms | operations/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut cases = Vec::new();
    for &processes in &[5u64, 10, 20, 50] {
        for &operations in sizes {
            cases.push((ModelName::CasRegister, processes, 1, operations));
        }
    }
    for &clients in &[10u64, 50] {
        for &operations in sizes {
            cases.push((ModelName::Kv, clients, 1_000, operations));
        }
    }
    for (model, processes, keys, operations) in cases {
        let options = HistoryOptions {
            seed: 1,
            processes,
            operations,
            keys,
            values: 5,
            cas: model == ModelName::CasRegister,
            info_ratio: 0.02,
        };
        let text = to_edn(&linearizable_history(&options));
        let name = format!("{model:?}-{processes}p-{operations}ops").to_lowercase();
        if let Some(dir) = &write {
            std::fs::write(dir.join(format!("{name}.edn")), &text).expect("write the history");
        }
        let started = Instant::now();
        let records = linearizability::read_history(&text).expect("a generated history reads");
        let read_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let out_of_time = || started.elapsed().as_secs() >= TIMEOUT_S;
        let budget = Budget {
            steps: STEPS_MAX,
            stop: Some(&out_of_time),
        };
        let report = dsim::lincheck::check_records(records, model, &budget)
            .expect("a generated history pairs");
        let check_ms = started.elapsed().as_secs_f64() * 1e3;
        let label = if model == ModelName::Kv {
            "kv"
        } else {
            "cas-register"
        };
        let row = format!("| {label} | {processes} | {keys} | {operations} | {read_ms:.1} |");
        match report.verdict {
            Verdict::Linearizable => {
                let rate = operations as f64 / ((read_ms + check_ms) / 1e3);
                println!("{row} {check_ms:.1} | {rate:.0} |");
            }
            Verdict::Unknown => println!("{row} unknown: budget out after {check_ms:.0} | – |"),
            Verdict::NotLinearizable(_) => panic!("{name}: linearizable by construction"),
        }
    }
}
