//! # reports: dsim's charts
//!
//! Every chart is drawn once per backend, as SVG (text stays text) and as PNG (text
//! rasterised with a font bundled as bytes, so no system font library is needed). Each
//! chart is a type implementing [`Chart`]; [`render`] writes `STEM.svg` and `STEM.png`.
//!
//! | file | what |
//! |---|---|
//! | [`balance`] | `dsim balance`: load per node, imbalance against virtual nodes, keys moved |
//! | [`timeline`] | load per node over virtual time, through membership changes |
//! | [`diagram`] | the space-time diagram of a run |
//! | [`compare`] | several runs side by side: commit latency histograms, blocking time |
//! | [`history`] | a client history, Porcupine style: the order found, the operation that breaks it |
//! | [`view`] | `dsim view`: one HTML page to explore a run (not a chart: a page with its own script) |

pub mod balance;
pub mod bars;
pub mod compare;
pub mod diagram;
pub mod files;
pub mod history;
pub mod timeline;
pub mod view;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

/// The one font every chart uses, registered from bundled bytes.
pub const FONT: &str = "sans-serif";

/// Colours that stay apart in print and for common colour blindness (Okabe–Ito).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];

pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Ubuntu Light (Ubuntu Font Licence), shipped inside the epaint_default_fonts crate.
        plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT)
            .unwrap_or_else(|_| panic!("the bundled font is a valid TrueType font"));
    });
}

/// Errors from drawing, as text.
pub type DrawResult = Result<(), String>;

/// Turns any displayable error into the chart error type.
pub trait OrMessage<T> {
    fn msg(self) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> OrMessage<T> for Result<T, E> {
    fn msg(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// A chart that can draw itself on any backend.
pub trait Chart {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32) {
        (1200, 700)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// Writes `stem.svg` and `stem.png`, each whole or not at all; returns both paths.
pub fn render(chart: &impl Chart, stem: &Path) -> Result<[PathBuf; 2], String> {
    register_font();
    let svg = stem.with_extension("svg");
    let png = stem.with_extension("png");
    let tmp = files::temporary_name(&svg);
    let drawn = (|| {
        let root = SVGBackend::new(&tmp, chart.size()).into_drawing_area();
        root.fill(&WHITE).msg()?;
        chart.draw(&root)?;
        root.present().msg()
    })();
    files::finish(drawn, &tmp, &svg)?;
    let tmp = files::temporary_name(&png);
    let drawn = (|| {
        let root = BitMapBackend::new(&tmp, chart.size()).into_drawing_area();
        root.fill(&WHITE).msg()?;
        chart.draw(&root)?;
        root.present().msg()
    })();
    files::finish(drawn, &tmp, &png)?;
    Ok([svg, png])
}

/// 1234567 -> "1,234,567"
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Draws the series legend in the house style at `position`.
pub fn draw_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(font(16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .msg()
}

/// A chart with one bar group per name along x (at 0, 1, 2, …) and values up to `y_max`:
/// the names label the groups.
pub fn category_chart<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    names: &'a [String],
    x_desc: &str,
    y_desc: &str,
    y_max: f64,
) -> Result<
    ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    String,
> {
    let n = names.len();
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..y_max)
        .msg()?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 && (i as usize) < names.len() {
                names[i as usize].clone()
            } else {
                String::new()
            }
        })
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(font(16))
        .axis_desc_style(font(18))
        .draw()
        .msg()?;
    Ok(chart)
}

/// A font of the given size in the bundled face.
pub fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Square;
    impl Chart for Square {
        fn size(&self) -> (u32, u32) {
            (200, 100)
        }
        fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
            root.draw(&Rectangle::new([(10, 10), (60, 60)], color(0).filled()))
                .msg()?;
            root.draw(&Text::new("hello", (80, 40), font(20))).msg()
        }
    }

    #[test]
    fn renders_svg_with_text_and_a_png_of_the_right_size() {
        let dir = std::env::temp_dir().join(format!("dsim-reports-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let [svg, png] = render(&Square, &dir.join("square")).unwrap();
        let text = std::fs::read_to_string(svg).unwrap();
        assert!(text.contains("<svg") && text.contains("hello"));
        let bytes = std::fs::read(png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        // IHDR: width and height, big-endian, at bytes 16..24.
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 200);
        assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 100);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
    }
}
