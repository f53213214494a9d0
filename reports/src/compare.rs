//! `dsim compare`: several runs side by side (for commit runs: latency and blocking).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{category_chart, color, draw_legend, Chart, DrawResult, OrMessage};

/// Commit latency histograms, one bar series per run.
pub struct LatencyHistogram {
    pub title: String,
    /// Bucket labels ("≤2ms", …).
    pub buckets: Vec<String>,
    /// (run name, fraction of its committed transactions per bucket)
    pub series: Vec<(String, Vec<f64>)>,
}

impl Chart for LatencyHistogram {
    fn size(&self) -> (u32, u32) {
        (1400, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let y_max = self
            .series
            .iter()
            .flat_map(|s| s.1.iter().copied())
            .fold(0.1, f64::max)
            * 1.15;
        let mut chart = category_chart(
            root,
            &self.title,
            &self.buckets,
            "commit latency, submit to outcome (upper bound of each bucket)",
            "fraction of committed transactions",
            y_max,
        )?;
        let width = 0.84 / self.series.len().max(1) as f64;
        for (k, (name, values)) in self.series.iter().enumerate() {
            let c = color(k);
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let x0 = i as f64 - 0.42 + k as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width * 0.92, v)], c.filled())
                }))
                .msg()?
                .label(name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], c.filled()));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Blocking time per run: the longest and the 99th percentile, side by side.
pub struct Blocking {
    pub title: String,
    pub runs: Vec<String>,
    /// (label, value per run, in ms)
    pub series: Vec<(String, Vec<f64>)>,
}

impl Chart for Blocking {
    fn size(&self) -> (u32, u32) {
        (1400, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let y_max = self
            .series
            .iter()
            .flat_map(|s| s.1.iter().copied())
            .fold(10.0, f64::max)
            * 1.2;
        let mut chart = category_chart(
            root,
            &self.title,
            &self.runs,
            "scenario (variant)",
            "time a prepared participant waited for the outcome (ms)",
            y_max,
        )?;
        let width = 0.8 / self.series.len().max(1) as f64;
        for (k, (label, values)) in self.series.iter().enumerate() {
            let c = color(k + 1);
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let x0 = i as f64 - 0.4 + k as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width * 0.92, v)], c.filled())
                }))
                .msg()?
                .label(label.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], c.filled()));
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let x0 = i as f64 - 0.4 + k as f64 * width;
                    Text::new(format!("{v:.0}"), (x0, v + y_max * 0.02), crate::font(14))
                }))
                .msg()?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
