//! `dsim diagram`: the space-time picture of a run.

mod common;

use std::path::Path;

use common::{dsim, stderr};

#[test]
fn the_diagram_of_a_failing_run_shows_lanes_messages_the_pause_and_the_violation() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("diagram");
    let _ = std::fs::remove_dir_all(&dir);
    let svg = dir.join("bug.svg");
    let out = dsim(&[
        "diagram",
        "scenarios/lock-lease-pause.ron",
        "-o",
        &svg.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg).unwrap();
    // plotters writes each label on a line of its own.
    let labels: Vec<&str> = text.lines().map(str::trim).collect();
    for lane in ["lock0", "c0", "c1", "store"] {
        assert!(labels.contains(&lane), "lane {lane}");
    }
    assert!(
        text.contains("mutual_exclusion violated on store"),
        "the violation is marked"
    );
    assert!(
        text.contains("seed 3"),
        "the default seed is the scenario's"
    );
    // Arrows (polylines) and the shaded pause (a filled rectangle) are drawn.
    assert!(text.matches("<polyline").count() > 20);
    assert_eq!(&std::fs::read(dir.join("bug.png")).unwrap()[1..4], b"PNG");
}

#[test]
fn any_window_of_a_clean_run_can_be_drawn_and_bad_times_are_refused() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("diagram-window");
    let svg = dir.join("quick.svg");
    let out = dsim(&[
        "diagram",
        "scenarios/quickstart.ron",
        "-o",
        &svg.to_string_lossy(),
        "--from",
        "1.9s",
        "--to",
        "3.1s",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("1900.0–3100.0 ms"),
        "the window is the one asked for"
    );
    let out = dsim(&[
        "diagram",
        "scenarios/quickstart.ron",
        "-o",
        &svg.to_string_lossy(),
        "--from",
        "soon",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
