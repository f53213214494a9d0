//! Grouped bars over named categories: the one bar chart every report uses.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{category_chart, color, draw_legend, font, Chart, DrawResult, OrMessage};

/// One group of bars per category, one bar per series in each group.
pub struct GroupedBars {
    pub title: String,
    pub categories: Vec<String>,
    pub x_desc: String,
    pub y_desc: String,
    /// (legend label, one value per category)
    pub series: Vec<(String, Vec<f64>)>,
    /// The y axis reaches at least this high.
    pub y_floor: f64,
    /// Print each bar's value above it, with this many decimals.
    pub value_decimals: Option<usize>,
    /// Horizontal reference lines: (legend label, if any; height).
    pub references: Vec<(Option<String>, f64)>,
    /// First palette colour of the series.
    pub first_color: usize,
    pub size: (u32, u32),
}

impl GroupedBars {
    pub fn new(
        title: impl Into<String>,
        categories: Vec<String>,
        x_desc: &str,
        y_desc: &str,
    ) -> Self {
        GroupedBars {
            title: title.into(),
            categories,
            x_desc: x_desc.into(),
            y_desc: y_desc.into(),
            series: Vec::new(),
            y_floor: 0.0,
            value_decimals: None,
            references: Vec::new(),
            first_color: 0,
            size: (1400, 700),
        }
    }

    pub fn series(mut self, label: impl Into<String>, values: Vec<f64>) -> Self {
        self.series.push((label.into(), values));
        self
    }
}

impl Chart for GroupedBars {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let top = self
            .series
            .iter()
            .flat_map(|s| s.1.iter().copied())
            .chain(self.references.iter().map(|r| r.1))
            .fold(self.y_floor, f64::max)
            * 1.15;
        let mut chart = category_chart(
            root,
            &self.title,
            &self.categories,
            &self.x_desc,
            &self.y_desc,
            top,
        )?;
        let width = 0.84 / self.series.len().max(1) as f64;
        let x0 = |i: usize, k: usize| i as f64 - 0.42 + k as f64 * width;
        for (k, (label, values)) in self.series.iter().enumerate() {
            let c = color(self.first_color + k);
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    Rectangle::new([(x0(i, k), 0.0), (x0(i, k) + width * 0.92, v)], c.filled())
                }))
                .msg()?
                .label(label.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], c.filled()));
            if let Some(d) = self.value_decimals {
                chart
                    .draw_series(values.iter().enumerate().map(|(i, &v)| {
                        Text::new(format!("{v:.d$}"), (x0(i, k), v + top * 0.02), font(14))
                    }))
                    .msg()?;
            }
        }
        let n = self.categories.len() as f64;
        for (j, (label, y)) in self.references.iter().enumerate() {
            let c = if label.is_some() {
                color(self.first_color + self.series.len() + j)
            } else {
                BLACK
            };
            let line = chart
                .draw_series(LineSeries::new(
                    [(-0.5, *y), (n - 0.5, *y)],
                    c.stroke_width(2),
                ))
                .msg()?;
            if let Some(label) = label {
                line.label(label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2))
                });
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
