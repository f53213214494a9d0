//! `dsim compare`: several runs side by side (for commit runs: latency and blocking).

use crate::bars::GroupedBars;

/// Commit latency histograms: one bar series per run, as fractions of its commits.
pub fn latency_histogram(buckets: Vec<String>, series: Vec<(String, Vec<f64>)>) -> GroupedBars {
    let mut chart = GroupedBars::new(
        "Commit latency per variant",
        buckets,
        "commit latency, submit to outcome (upper bound of each bucket)",
        "fraction of committed transactions",
    );
    chart.series = series;
    chart.y_floor = 0.1;
    chart
}

/// Blocking time per run: the longest and the 99th percentile, in milliseconds.
pub fn blocking(runs: Vec<String>, longest_ms: Vec<f64>, p99_ms: Vec<f64>) -> GroupedBars {
    let mut chart = GroupedBars::new(
        "How long prepared participants were blocked, per variant",
        runs,
        "scenario (variant)",
        "time a prepared participant waited for the outcome (ms)",
    )
    .series("longest (ms)", longest_ms)
    .series("99th percentile (ms)", p99_ms);
    chart.y_floor = 10.0;
    chart.value_decimals = Some(0);
    chart.first_color = 1;
    chart
}
