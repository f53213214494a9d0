//! Load per node over virtual time, through membership changes: chart 4 of a key-value run.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;

use crate::bars::GroupedBars;
use crate::{color, font, render, Chart, DrawResult, OrMessage};

/// The `load_timeline` metric of a run.
pub struct LoadTimeline {
    pub title: String,
    pub interval_ns: u64,
    pub nodes: Vec<String>,
    /// served[interval][node]
    pub served: Vec<Vec<u64>>,
    /// (start s, settled s or none, label)
    pub changes: Vec<(f64, Option<f64>, String)>,
}

impl LoadTimeline {
    /// Reads the metric; `None` if the run has no such metric.
    pub fn from_metric(title: String, v: &Value) -> Option<Self> {
        let interval_ns = v.get("interval_ns")?.as_u64()?;
        let nodes = v
            .get("nodes")?
            .as_array()?
            .iter()
            .map(|n| n.as_str().unwrap_or("?").to_string())
            .collect();
        let served = v
            .get("served")?
            .as_array()?
            .iter()
            .map(|row| {
                row.as_array()
                    .map(|r| r.iter().map(|x| x.as_u64().unwrap_or(0)).collect())
                    .unwrap_or_default()
            })
            .collect();
        let changes = v
            .get("changes")?
            .as_array()?
            .iter()
            .filter_map(|c| {
                let start = c.get("started_ns")?.as_u64()? as f64 / 1e9;
                let end = c
                    .get("settled_ns")
                    .and_then(Value::as_u64)
                    .map(|t| t as f64 / 1e9);
                let label = format!(
                    "epoch {}: {}",
                    c.get("epoch")?.as_u64()?,
                    c.get("change")?.as_str()?
                );
                Some((start, end, label))
            })
            .collect();
        Some(LoadTimeline {
            title,
            interval_ns,
            nodes,
            served,
            changes,
        })
    }
}

impl Chart for LoadTimeline {
    fn size(&self) -> (u32, u32) {
        (1400, 720)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let interval_s = self.interval_ns as f64 / 1e9;
        let end_s = (self.served.len().max(1)) as f64 * interval_s;
        let rate = |count: u64| count as f64 / interval_s;
        let y_max = self
            .served
            .iter()
            .flatten()
            .map(|&c| rate(c))
            .fold(1.0, f64::max)
            * 1.15;
        // The legend gets a column of its own, so it never hides a line.
        let (plot, side) = root.split_horizontally(self.size().0 - 130);
        let mut chart = ChartBuilder::on(&plot)
            .caption(&self.title, font(24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..end_s, 0f64..y_max)
            .msg()?;
        chart
            .configure_mesh()
            .x_desc("virtual time (s)")
            .y_desc(format!(
                "requests served per second (per {:.0} ms interval)",
                interval_s * 1e3
            ))
            .label_style(font(16))
            .axis_desc_style(font(18))
            .draw()
            .msg()?;
        // Migrations as shaded spans, from the change to its settling.
        for (start, end, label) in &self.changes {
            let stop = end.unwrap_or(end_s).max(start + interval_s / 20.0);
            chart
                .draw_series([Rectangle::new(
                    [(*start, 0.0), (stop, y_max)],
                    RGBColor(200, 200, 200).mix(0.5).filled(),
                )])
                .msg()?;
            chart
                .draw_series([PathElement::new(
                    vec![(*start, 0.0), (*start, y_max)],
                    BLACK.stroke_width(1),
                )])
                .msg()?;
            chart
                .draw_series([Text::new(
                    label.clone(),
                    (*start + interval_s * 0.1, y_max * 0.97),
                    font(16),
                )])
                .msg()?;
        }
        for (i, name) in self.nodes.iter().enumerate() {
            let c = color(i);
            // The second round of the palette is drawn thicker, to keep nodes apart.
            let width = if i < crate::PALETTE.len() { 2 } else { 4 };
            // Counts are per interval: draw each as a step over the interval it covers.
            let mut points = Vec::with_capacity(self.served.len() * 2);
            for (t, row) in self.served.iter().enumerate() {
                let y = rate(row.get(i).copied().unwrap_or(0));
                points.push((t as f64 * interval_s, y));
                points.push(((t + 1) as f64 * interval_s, y));
            }
            chart
                .draw_series(LineSeries::new(points, c.stroke_width(width)))
                .msg()?;
            let y = 70 + i as i32 * 26;
            side.draw(&PathElement::new(
                vec![(4, y), (34, y)],
                c.stroke_width(width),
            ))
            .msg()?;
            side.draw(&Text::new(name.clone(), (42, y - 9), font(17)))
                .msg()?;
        }
        Ok(())
    }
}

/// Writes a key-value run's charts into `dir`: `load-over-time` and `load-per-node`
/// (SVG and PNG), if its metrics have them. Returns the files written.
pub fn write(
    name: &str,
    seed: u64,
    metrics: &serde_json::Map<String, Value>,
    dir: &Path,
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    let title = format!("Load per node over virtual time: {name}, seed {seed}");
    if let Some(t) = metrics
        .get("load_timeline")
        .and_then(|v| LoadTimeline::from_metric(title, v))
    {
        written.extend(render(&t, &dir.join("load-over-time"))?);
    }
    let title = format!("Keys and requests per node at the end: {name}, seed {seed}");
    if let Some(bars) = node_load(title, metrics) {
        written.extend(render(&bars, &dir.join("load-per-node"))?);
    }
    Ok(written)
}

/// Keys and requests per node relative to a fair share, at the end of a key-value run
/// (final members only), or `None` if the metrics have neither.
pub fn node_load(title: String, m: &serde_json::Map<String, Value>) -> Option<GroupedBars> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(String::from))
            .collect()
    };
    let all = strings(m.get("load_timeline")?.get("nodes")?);
    let members = strings(m.get("members")?);
    let index: Vec<usize> = members
        .iter()
        .filter_map(|n| all.iter().position(|a| a == n))
        .collect();
    let relative = |key: &str| -> Option<Vec<f64>> {
        let values: Vec<f64> = m
            .get(key)?
            .as_array()?
            .iter()
            .map(|v| v.as_f64().unwrap_or(0.0))
            .collect();
        let picked: Vec<f64> = index
            .iter()
            .map(|&i| values.get(i).copied().unwrap_or(0.0))
            .collect();
        let mean = picked.iter().sum::<f64>() / picked.len().max(1) as f64;
        Some(
            picked
                .iter()
                .map(|v| if mean > 0.0 { v / mean } else { 0.0 })
                .collect(),
        )
    };
    let mut chart = GroupedBars::new(
        title,
        members,
        "storage node (members at the end)",
        "relative to the mean (1 = fair share)",
    )
    .series("keys held at the end", relative("keys_per_node")?)
    .series(
        "requests served over the whole run",
        relative("requests_per_node")?,
    );
    chart.y_floor = 1.5;
    chart.references.push((None, 1.0));
    chart.size = (1200, 700);
    Some(chart)
}
