//! The picture of a client history, as Porcupine draws one: a lane per process, each
//! operation a bar from its call to its return, the order the checker found as numbered
//! points joined by a line, and, for a history that is not linearizable, the operation
//! that cannot be placed in red and those concurrent with it outlined.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{color, font, Chart, DrawResult, OrMessage};

/// How an operation takes part in the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Placed in the order found, or not involved.
    Plain,
    /// The operation no order can place after the longest prefix found.
    Culprit,
    /// Concurrent with the culprit: a candidate the search tried before it.
    Concurrent,
}

/// One operation to draw.
#[derive(Clone, Debug)]
pub struct Bar {
    /// Index into [`HistoryChart::lanes`].
    pub lane: usize,
    pub call: f64,
    /// `None`: indeterminate (it may have taken effect any time after its call).
    pub ret: Option<f64>,
    /// `read → 3`, `write 4`, …
    pub label: String,
    /// Its place in the order found, from 1.
    pub order: Option<usize>,
    pub role: Role,
}

/// A history (or the window of it that explains a verdict), ready to draw.
pub struct HistoryChart {
    pub title: String,
    /// One line under the title: the verdict in words.
    pub subtitle: String,
    pub lanes: Vec<String>,
    pub bars: Vec<Bar>,
    /// What the time axis counts ("history line", "virtual time (ms)").
    pub time_axis: String,
}

const CULPRIT: RGBColor = RGBColor(200, 30, 30);
const CONCURRENT: RGBColor = RGBColor(230, 140, 0);

impl HistoryChart {
    fn span(&self) -> (f64, f64) {
        let lo = self
            .bars
            .iter()
            .map(|b| b.call)
            .fold(f64::INFINITY, f64::min);
        let hi = self
            .bars
            .iter()
            .map(|b| b.ret.unwrap_or(b.call))
            .fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        let pad = ((hi - lo) * 0.04).max(0.5);
        (lo - pad, hi + pad * 3.0)
    }

    /// Each placed operation's point in time: as early as it can be, after the previous
    /// one's, inside its own bar (an order the checker accepts always has such points).
    fn points(&self, end: f64) -> Vec<(f64, usize)> {
        let mut placed: Vec<&Bar> = self.bars.iter().filter(|b| b.order.is_some()).collect();
        placed.sort_by_key(|b| b.order);
        let mut out = Vec::new();
        let mut last = f64::NEG_INFINITY;
        let step = (end - self.span().0) * 0.002;
        for b in placed {
            let ret = b.ret.unwrap_or(end);
            let x = b.call.max(last + step).min(ret);
            last = x;
            out.push((x, b.lane));
        }
        out
    }
}

impl Chart for HistoryChart {
    fn size(&self) -> (u32, u32) {
        (1500, 170 + 50 * self.lanes.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (lo, hi) = self.span();
        let lanes = self.lanes.len() as f64;
        let names = self.lanes.clone();
        let (top, rest) = root.split_vertically(70);
        top.draw_text(&self.title, &font(22), (16, 10)).msg()?;
        top.draw_text(&self.subtitle, &font(16), (16, 42)).msg()?;
        let mut chart = ChartBuilder::on(&rest)
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(150)
            .build_cartesian_2d(lo..hi, -0.7f64..lanes - 0.3)
            .msg()?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(self.lanes.len().max(1))
            .y_label_formatter(&|y| {
                let i = y.round();
                // Lane 0 is drawn at the top.
                if (y - i).abs() < 0.01 && i >= 0.0 && (i as usize) < names.len() {
                    names[names.len() - 1 - i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc(self.time_axis.as_str())
            .label_style(font(14))
            .axis_desc_style(font(15))
            .draw()
            .msg()?;
        let top_of = |lane: usize| lanes - 1.0 - lane as f64 + 0.28;
        let bottom_of = |lane: usize| lanes - 1.0 - lane as f64 - 0.28;
        for b in &self.bars {
            let end = b.ret.unwrap_or(hi);
            let base = match b.role {
                Role::Culprit => CULPRIT,
                Role::Concurrent => CONCURRENT,
                Role::Plain => color(0),
            };
            let fill = if b.ret.is_some() {
                base.mix(0.28)
            } else {
                base.mix(0.1)
            };
            let corners = [(b.call, top_of(b.lane)), (end, bottom_of(b.lane))];
            chart
                .draw_series([Rectangle::new(corners, fill.filled())])
                .msg()?;
            let stroke = if b.role == Role::Plain { 1 } else { 3 };
            chart
                .draw_series([Rectangle::new(corners, base.stroke_width(stroke))])
                .msg()?;
            let label = if b.ret.is_none() {
                format!("{} (indeterminate)", b.label)
            } else {
                b.label.clone()
            };
            let style = font(13).color(&BLACK);
            chart
                .draw_series([Text::new(label, (b.call, top_of(b.lane) - 0.04), style)])
                .msg()?;
        }
        // The order found, lane to lane.
        let points = self.points(hi);
        let y = |lane: usize| lanes - 1.0 - lane as f64;
        if points.len() > 1 {
            let line: Vec<(f64, f64)> = points.iter().map(|&(x, l)| (x, y(l))).collect();
            chart
                .draw_series([PathElement::new(line, color(2).stroke_width(2))])
                .msg()?;
        }
        for (k, &(x, lane)) in points.iter().enumerate() {
            chart
                .draw_series([Circle::new((x, y(lane)), 9, color(2).filled())])
                .msg()?;
            let number = (k + 1).to_string();
            let style = font(11)
                .color(&WHITE)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ));
            chart
                .draw_series([Text::new(number, (x, y(lane)), style)])
                .msg()?;
        }
        for b in self.bars.iter().filter(|b| b.role == Role::Culprit) {
            let style = font(15).color(&CULPRIT);
            chart
                .draw_series([Text::new(
                    "cannot be placed".to_string(),
                    (b.call, bottom_of(b.lane) - 0.05),
                    style,
                )])
                .msg()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(lane: usize, call: f64, ret: Option<f64>, order: Option<usize>) -> Bar {
        Bar {
            lane,
            call,
            ret,
            label: "op".into(),
            order,
            role: Role::Plain,
        }
    }

    #[test]
    fn the_points_of_the_order_stay_inside_their_bars_and_go_forward() {
        let chart = HistoryChart {
            title: String::new(),
            subtitle: String::new(),
            lanes: vec!["a".into(), "b".into()],
            bars: vec![
                bar(0, 0.0, Some(10.0), Some(2)),
                bar(1, 2.0, Some(4.0), Some(1)),
                bar(1, 6.0, None, Some(3)),
                bar(0, 11.0, Some(12.0), None),
            ],
            time_axis: String::new(),
        };
        let points = chart.points(20.0);
        assert_eq!(points.len(), 3);
        assert_eq!(points[0], (2.0, 1));
        assert!(points[1].0 > 2.0 && points[1].0 <= 10.0 && points[1].1 == 0);
        assert!(points[2].0 >= 6.0 && points[2].1 == 1);
    }
}
