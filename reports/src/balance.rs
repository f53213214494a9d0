//! The charts and report of `dsim balance`.

use std::fmt::Write as _;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::bars::GroupedBars;
use placement::balance::{BalanceReport, SchemeBalance};

use crate::{color, draw_legend, font, group, render, Chart, DrawResult, OrMessage};

/// Is the load that matters requests (Zipf) or keys (uniform)?
fn load_of(report: &BalanceReport, s: &SchemeBalance) -> (Vec<f64>, &'static str) {
    if report.distribution == "uniform" {
        let total: u64 = s.keys_per_node.iter().sum();
        let fair = total as f64 / s.keys_per_node.len() as f64;
        (
            s.keys_per_node.iter().map(|&k| k as f64 / fair).collect(),
            "keys",
        )
    } else {
        let fair = 1.0 / s.requests_per_node.len() as f64;
        (
            s.requests_per_node.iter().map(|&r| r / fair).collect(),
            "requests",
        )
    }
}

/// Chart 1: load per node, one panel per scheme.
pub struct LoadPerNode<'a>(pub &'a BalanceReport);

impl Chart for LoadPerNode<'_> {
    fn size(&self) -> (u32, u32) {
        (1500, 860)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let r = self.0;
        let what = load_of(r, &r.schemes[0]).1;
        let title = format!(
            "{} per node relative to a fair share: {} nodes, {} keys ({}), {} hash",
            if what == "keys" { "Keys" } else { "Requests" },
            r.nodes.len(),
            group(r.keys as u64),
            r.distribution,
            r.hash
        );
        let body = root.titled(&title, font(26)).msg()?;
        let panels = body.split_evenly((2, 3));
        let y_max = r
            .schemes
            .iter()
            .flat_map(|s| load_of(r, s).0)
            .fold(1.5f64, f64::max)
            * 1.1;
        for (i, (panel, s)) in panels.iter().zip(&r.schemes).enumerate() {
            let (load, _) = load_of(r, s);
            let n = load.len();
            let max = load.iter().copied().fold(0.0, f64::max);
            let caption = if s.scheme == "bounded" {
                format!("bounded: max/mean {max:.3} (cap 1+ε = {})", 1.0 + r.epsilon)
            } else {
                format!("{}: max/mean {max:.3}", s.scheme)
            };
            let mut chart = ChartBuilder::on(panel)
                .caption(caption, font(20))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..y_max)
                .msg()?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n.min(12))
                .x_label_formatter(&|x| format!("{}", x.round() as i64))
                .x_desc("node")
                .y_desc(format!("{what} / fair share"))
                .label_style(font(14))
                .axis_desc_style(font(15))
                .draw()
                .msg()?;
            chart
                .draw_series(load.iter().enumerate().map(|(x, &y)| {
                    let x = x as f64;
                    Rectangle::new([(x - 0.38, 0.0), (x + 0.38, y)], color(i).filled())
                }))
                .msg()?;
            chart
                .draw_series(LineSeries::new(
                    [(-0.5, 1.0), (n as f64 - 0.5, 1.0)],
                    BLACK.stroke_width(1),
                ))
                .msg()?;
        }
        Ok(())
    }
}

/// Chart 2: the ring's imbalance against virtual nodes, per hash function, with the other
/// schemes as reference lines.
pub struct ImbalanceVsVnodes<'a>(pub &'a BalanceReport);

impl Chart for ImbalanceVsVnodes<'_> {
    // Plotted as the excess over perfect balance (max/mean − 1) on a log axis, so that
    // schemes at 1.003 and 1.007 are told apart as clearly as a ring at 9.4.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let r = self.0;
        let floor = 1e-4;
        let excess = |m: f64| (m - 1.0).max(floor);
        let y_max = r
            .ring_sweep
            .iter()
            .flat_map(|s| s.points.iter().map(|p| excess(p.1)))
            .fold(1.0f64, f64::max)
            * 2.0;
        let y_min = r
            .schemes
            .iter()
            .map(|s| excess(s.max_over_mean))
            .fold(0.01f64, f64::min)
            / 2.0;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Ring imbalance against virtual nodes: {} nodes, {} keys",
                    r.nodes.len(),
                    group(r.keys as u64)
                ),
                font(26),
            )
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d((1f64..1000f64).log_scale(), (y_min..y_max).log_scale())
            .msg()?;
        chart
            .configure_mesh()
            .x_desc("virtual nodes per node (log scale)")
            .y_desc("busiest node above the mean: max/mean − 1 (log scale)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| {
                let pct = y * 100.0;
                if pct >= 1.0 {
                    format!("+{pct:.0}%")
                } else {
                    format!("+{pct:.2}%")
                }
            })
            .label_style(font(16))
            .axis_desc_style(font(18))
            .draw()
            .msg()?;
        for (i, s) in r.schemes.iter().filter(|s| s.scheme != "ring").enumerate() {
            let c = color(i + 2);
            let y = excess(s.max_over_mean);
            chart
                .draw_series(LineSeries::new([(1.0, y), (1000.0, y)], c.stroke_width(2)))
                .msg()?
                .label(format!("{} (max/mean {:.4})", s.scheme, s.max_over_mean))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2))
                });
        }
        for sweep in &r.ring_sweep {
            let c = color(if sweep.hash == "crc32" { 1 } else { 0 });
            let pts: Vec<(f64, f64)> = sweep
                .points
                .iter()
                .map(|&(v, m)| (v as f64, excess(m)))
                .collect();
            let label = if sweep.hash == "crc32" {
                "ring, raw crc32 (as the seed article)"
            } else {
                "ring, crc32 + splitmix64 finalizer"
            };
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(3)))
                .msg()?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3))
                });
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 5, c.filled())))
                .msg()?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Chart 3: fraction of keys moved on a join and on a leave, per scheme, against 1/n.
pub fn moved_on_change(r: &BalanceReport) -> GroupedBars {
    let names: Vec<String> = r.schemes.iter().map(|s| s.scheme.clone()).collect();
    let title = format!(
        "Keys moved when {} joins ({} to {} nodes) and when {} leaves ({} to {})",
        r.joined,
        r.nodes.len(),
        r.nodes.len() + 1,
        r.left,
        r.nodes.len(),
        r.nodes.len() - 1
    );
    let mut chart = GroupedBars::new(
        title,
        names,
        "placement scheme",
        "fraction of all keys moved",
    )
    .series(
        "moved on join",
        r.schemes.iter().map(|s| s.moved_on_join).collect(),
    )
    .series(
        "moved on leave",
        r.schemes.iter().map(|s| s.moved_on_leave).collect(),
    );
    chart.y_floor = 0.9;
    chart.value_decimals = Some(3);
    chart.references = vec![
        (
            Some(format!("ideal on join: 1/(n+1) = {:.3}", r.ideal_join)),
            r.ideal_join,
        ),
        (
            Some(format!("ideal on leave: 1/n = {:.3}", r.ideal_leave)),
            r.ideal_leave,
        ),
    ];
    chart.size = (1200, 700);
    chart
}

/// Writes the three charts (SVG and PNG), `balance.json` and `balance.md` into `dir`.
pub fn write(report: &BalanceReport, dir: &Path) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let rendered = [
        render(&LoadPerNode(report), &dir.join("load-per-node"))?,
        render(&ImbalanceVsVnodes(report), &dir.join("imbalance-vs-vnodes"))?,
        render(&moved_on_change(report), &dir.join("moved-on-change"))?,
    ];
    let mut written: Vec<String> = rendered
        .iter()
        .flatten()
        .map(|p| p.display().to_string())
        .collect();
    let json = serde_json::to_string_pretty(report).msg()?;
    let json_path = dir.join("balance.json");
    crate::files::write_whole(&json_path, json.as_bytes())?;
    written.push(json_path.display().to_string());
    let md_path = dir.join("balance.md");
    crate::files::write_whole(&md_path, markdown(report).as_bytes())?;
    written.push(md_path.display().to_string());
    Ok(written)
}

/// What was compared, in one line.
pub fn setup(r: &BalanceReport) -> String {
    format!(
        "{} nodes, {} keys ({}), {} hash; {} vnodes per node for ring and bounded, maglev table \
         of {} slots, bounded loads with ε = {}",
        r.nodes.len(),
        group(r.keys as u64),
        r.distribution,
        r.hash,
        r.vnodes,
        r.table_size,
        r.epsilon
    )
}

/// The table `dsim balance` prints.
pub fn text_table(r: &BalanceReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", setup(r));
    let _ = writeln!(
        s,
        "{:<11} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "scheme", "max/mean", "sd/mean", "req max", "join", "leave"
    );
    for x in &r.schemes {
        let _ = writeln!(
            s,
            "{:<11} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4}",
            x.scheme,
            x.max_over_mean,
            x.stddev_over_mean,
            x.requests_max_over_mean,
            x.moved_on_join,
            x.moved_on_leave
        );
    }
    let _ = writeln!(
        s,
        "ideal: {:.4} moved when {} joins, {:.4} when {} leaves",
        r.ideal_join, r.joined, r.ideal_leave, r.left
    );
    for sweep in &r.ring_sweep {
        let pts: Vec<String> = sweep
            .points
            .iter()
            .map(|(v, m)| format!("{v}:{m:.3}"))
            .collect();
        let _ = writeln!(
            s,
            "ring max/mean by vnodes, {}: {}",
            sweep.hash,
            pts.join(" ")
        );
    }
    s
}

/// The report: what was compared, a table of the numbers, and the charts.
pub fn markdown(r: &BalanceReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Load balance of placement schemes\n");
    let _ = writeln!(s, "{}. Made by `dsim balance`.\n", setup(r));
    let _ = writeln!(
        s,
        "| scheme | max/mean keys | stddev/mean keys | max/mean requests | moved on join | moved on leave | lookup memory |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for x in &r.schemes {
        let _ = writeln!(
            s,
            "| {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {} B |",
            x.scheme,
            x.max_over_mean,
            x.stddev_over_mean,
            x.requests_max_over_mean,
            x.moved_on_join,
            x.moved_on_leave,
            group(x.memory_bytes as u64)
        );
    }
    let _ = writeln!(
        s,
        "\nIdeal movement: {:.4} of the keys when `{}` joins (1/(n+1)), {:.4} when `{}` leaves (1/n).\n",
        r.ideal_join, r.joined, r.ideal_leave, r.left
    );
    let _ = writeln!(
        s,
        "## Load per node\n\n![load per node](load-per-node.svg)\n"
    );
    let _ = writeln!(
        s,
        "## Ring imbalance against virtual nodes\n\n![imbalance](imbalance-vs-vnodes.svg)\n"
    );
    let _ = writeln!(
        s,
        "| vnodes | {} |",
        r.ring_sweep
            .iter()
            .map(|x| x.hash.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(s, "|---|{}", "---|".repeat(r.ring_sweep.len()));
    for (i, (v, _)) in r.ring_sweep[0].points.iter().enumerate() {
        let cells: Vec<String> = r
            .ring_sweep
            .iter()
            .map(|x| format!("{:.4}", x.points[i].1))
            .collect();
        let _ = writeln!(s, "| {v} | {} |", cells.join(" | "));
    }
    let _ = writeln!(
        s,
        "\n## Keys moved on a membership change\n\n![moved](moved-on-change.svg)"
    );
    s
}
