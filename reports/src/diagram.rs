//! The space-time diagram of a run: the picture a person draws on a whiteboard.
//!
//! One lane per node, time to the right. A message is an arrow from its send to its
//! delivery, coloured by its kind (the legend names them) and, where there are few enough
//! to read, labelled with it; a message lost (to loss, a partition or a crash) ends in a cross. A crashed
//! node's lane is shaded red until it restarts, a paused one grey until it resumes; a
//! partition shades the whole picture. The violation, if any, is a red star on its node's
//! lane and a red line across all of them.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{color, font, Chart, DrawResult, OrMessage};

/// What happened in a window of a run, ready to draw. Times are in milliseconds.
#[derive(Default)]
pub struct SpaceTime {
    pub title: String,
    pub nodes: Vec<String>,
    pub from_ms: f64,
    pub to_ms: f64,
    /// (sent at, from lane, delivered at, to lane, kind): the kind indexes `kinds`
    pub messages: Vec<(f64, usize, f64, usize, usize)>,
    /// The messages' kinds (`Prepare`, `Ack`), in the order first sent.
    pub kinds: Vec<String>,
    /// (at, lane) of a message lost
    pub drops: Vec<(f64, usize)>,
    /// (lane, from, to, crashed?) — a crash (red) or a pause (grey)
    pub down: Vec<(usize, f64, f64, bool)>,
    /// (from, to, label) — partitions in force
    pub partitions: Vec<(f64, f64, String)>,
    /// (at, lane, label) — the violation
    pub violation: Option<(f64, usize, String)>,
}

/// The most messages whose arrows carry their kind as text.
pub const LABELLED_MAX: usize = 150;

/// The most kinds the legend names (colours repeat after eight anyway).
const LEGEND_MAX: usize = 16;

impl Chart for SpaceTime {
    fn size(&self) -> (u32, u32) {
        (1500, 165 + 46 * self.nodes.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let lanes = self.nodes.len() as f64;
        let names = self.nodes.clone();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(self.from_ms..self.to_ms, -0.6f64..lanes + 0.1)
            .msg()?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("virtual time (ms)")
            .label_style(font(15))
            .axis_desc_style(font(16))
            .draw()
            .msg()?;
        // Lane names by hand, at each lane's height (the axis would pick its own ticks),
        // right-aligned by estimate (the bitmap backend ignores text anchors).
        for (i, name) in names.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(self.from_ms, i as f64));
            let width = 8 * name.chars().count() as i32;
            root.draw(&Text::new(name.clone(), (x - 10 - width, y - 8), font(15)))
                .msg()?;
        }
        for (from, to, _) in &self.partitions {
            let area = Rectangle::new(
                [(*from, -0.6), (*to, lanes - 0.4)],
                RGBColor(255, 230, 160).mix(0.35).filled(),
            );
            chart.draw_series([area]).msg()?;
        }
        for &(lane, from, to, crashed) in &self.down {
            let shade = if crashed {
                RGBColor(230, 80, 60).mix(0.3)
            } else {
                RGBColor(120, 120, 120).mix(0.3)
            };
            let y = lane as f64;
            chart
                .draw_series([Rectangle::new(
                    [(from, y - 0.3), (to, y + 0.3)],
                    shade.filled(),
                )])
                .msg()?;
        }
        for i in 0..self.nodes.len() {
            let y = i as f64;
            chart
                .draw_series([PathElement::new(
                    vec![(self.from_ms, y), (self.to_ms, y)],
                    BLACK.mix(0.4),
                )])
                .msg()?;
        }
        // Labels only where they can be read: a few messages in the window.
        let labelled = self.messages.len() <= LABELLED_MAX;
        let width_ms = (self.to_ms - self.from_ms).max(1e-9);
        for &(t0, a, t1, b, kind) in &self.messages {
            let (y0, y1) = (a as f64, b as f64);
            let arrow = color(kind).mix(0.8);
            chart
                .draw_series([PathElement::new(
                    vec![(t0, y0), (t1, y1)],
                    arrow.stroke_width(1),
                )])
                .msg()?;
            chart
                .draw_series([Circle::new((t1, y1), 2, arrow.filled())])
                .msg()?;
            // On the arrow's first third, where arrows of one burst still lie apart; only
            // if the arrow is long enough across the picture to carry it.
            if labelled && (t1 - t0) / width_ms > 0.008 {
                let at = (t0 + (t1 - t0) * 0.3, y0 + (y1 - y0) * 0.3);
                chart
                    .draw_series([Text::new(
                        self.kinds[kind].clone(),
                        at,
                        font(12).color(&color(kind)),
                    )])
                    .msg()?;
            }
        }
        // The legend: each kind in its colour, in a row above the lanes.
        let mut x = self.from_ms;
        for (i, kind) in self.kinds.iter().enumerate().take(LEGEND_MAX) {
            let swatch = Rectangle::new(
                [(x, lanes - 0.2), (x + width_ms * 0.012, lanes - 0.05)],
                color(i).filled(),
            );
            chart.draw_series([swatch]).msg()?;
            chart
                .draw_series([Text::new(
                    kind.clone(),
                    (x + width_ms * 0.016, lanes - 0.02),
                    font(14),
                )])
                .msg()?;
            x += width_ms * (0.03 + 0.0062 * kind.chars().count() as f64);
        }
        for &(t, lane) in &self.drops {
            chart
                .draw_series([Cross::new((t, lane as f64), 5, RED.stroke_width(2))])
                .msg()?;
        }
        for (from, _, label) in &self.partitions {
            chart
                .draw_series([Text::new(label.clone(), (*from, lanes - 0.3), font(14))])
                .msg()?;
        }
        if let Some((t, lane, label)) = &self.violation {
            chart
                .draw_series([PathElement::new(
                    vec![(*t, -0.6), (*t, lanes - 0.4)],
                    RED.stroke_width(2),
                )])
                .msg()?;
            chart
                .draw_series([TriangleMarker::new((*t, *lane as f64), 10, RED.filled())])
                .msg()?;
            // To the left of the line: the violation sits at the window's right edge. (The
            // bitmap backend ignores text anchors, so the offset is in data units.)
            let x = (*t - (self.to_ms - self.from_ms) * 0.2).max(self.from_ms);
            chart
                .draw_series([Text::new(label.clone(), (x, *lane as f64 + 0.3), font(15))])
                .msg()?;
        }
        Ok(())
    }
}
