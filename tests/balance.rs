//! `dsim balance`: the placement figures for 10 nodes and a million keys, and its files.

mod common;

use std::path::Path;

use common::{dsim, stderr};
use serde_json::Value;

fn balance_json(args: &[&str]) -> Value {
    let mut all = vec!["balance", "--json"];
    all.extend_from_slice(args);
    let out = dsim(&all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn scheme<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scheme"] == name)
        .unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// Placement is a pure function of names and hashes, so these figures are exact for the
/// default options (10 nodes, 1,000,000 keys, 100 vnodes, mixed hash, ε = 0.25).
#[test]
fn the_figures_for_ten_nodes_and_a_million_keys() {
    let v = balance_json(&[]);
    for key in [
        "scheme",
        "max_over_mean",
        "stddev_over_mean",
        "moved_on_join",
        "moved_on_leave",
    ] {
        assert!(v["schemes"][0].get(key).is_some(), "missing {key}");
    }
    let pinned = [
        ("mod", 1.0042, 0.9092, 0.9000),
        ("ring", 1.1112, 0.0957, 0.0974),
        ("jump", 1.0062, 0.0911, 0.1896),
        ("rendezvous", 1.0030, 0.0904, 0.1000),
        ("maglev", 1.0069, 0.0935, 0.1027),
        ("bounded", 1.1112, 0.0957, 0.0974),
    ];
    for (name, max_over_mean, join, leave) in pinned {
        let s = scheme(&v, name);
        assert!(
            (f(&s["max_over_mean"]) - max_over_mean).abs() < 5e-5,
            "{name}: {s}"
        );
        assert!((f(&s["moved_on_join"]) - join).abs() < 5e-5, "{name}: {s}");
        assert!(
            (f(&s["moved_on_leave"]) - leave).abs() < 5e-5,
            "{name}: {s}"
        );
    }
    // mod moves about 10/11 on a join, the consistent schemes about 1/11.
    assert!((f(&scheme(&v, "mod")["moved_on_join"]) - 10.0 / 11.0).abs() < 0.005);
    for name in ["ring", "jump", "rendezvous", "maglev", "bounded"] {
        assert!(
            (f(&scheme(&v, name)["moved_on_join"]) - 1.0 / 11.0).abs() < 0.01,
            "{name}"
        );
    }
    assert!(f(&scheme(&v, "bounded")["max_over_mean"]) <= 1.25);
    // The ring at 1, 10, 100 and 1,000 vnodes, raw crc32 against the mixed hash.
    let sweep = |hash: &str| -> Vec<(u64, f64)> {
        let s = v["ring_sweep"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["hash"] == hash)
            .unwrap();
        s["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), f(&p[1])))
            .collect()
    };
    let at = |hash: &str, vnodes: u64| sweep(hash).iter().find(|p| p.0 == vnodes).unwrap().1;
    for (vnodes, crc32, mixed) in [
        (1, 9.4212, 2.4460),
        (10, 7.2191, 1.4955),
        (100, 1.2277, 1.1112),
        (1000, 1.2516, 1.0753),
    ] {
        assert!(
            (at("crc32", vnodes) - crc32).abs() < 5e-4,
            "crc32 at {vnodes}: {}",
            at("crc32", vnodes)
        );
        assert!(
            (at("mixed", vnodes) - mixed).abs() < 5e-4,
            "mixed at {vnodes}: {}",
            at("mixed", vnodes)
        );
    }
}

#[test]
fn bounded_loads_caps_hot_key_request_load() {
    let v = balance_json(&["--keys", "100000", "--distribution", "zipf:0.9"]);
    let bounded = f(&scheme(&v, "bounded")["requests_max_over_mean"]);
    // Loads are sums of floating-point shares: allow rounding, nothing more.
    assert!(bounded <= 1.25 + 1e-6, "{bounded}");
    for name in ["mod", "ring", "jump", "rendezvous", "maglev"] {
        assert!(
            f(&scheme(&v, name)["requests_max_over_mean"]) > bounded + 0.05,
            "{name}"
        );
    }
}

#[test]
fn weights_give_a_node_its_share() {
    // A ring's share has a spread of about 1/sqrt(vnodes × weight): use many vnodes.
    let v = balance_json(&[
        "--nodes",
        "4",
        "--keys",
        "200000",
        "--weights",
        "1,1,1,3",
        "--vnodes",
        "1000",
    ]);
    for (name, tolerance) in [("ring", 0.03), ("rendezvous", 0.01), ("maglev", 0.01)] {
        let keys = scheme(&v, name)["keys_per_node"]
            .as_array()
            .unwrap()
            .clone();
        let heavy = keys[3].as_f64().unwrap() / 200_000.0;
        assert!(
            (heavy - 0.5).abs() < tolerance,
            "{name}: node-3 holds {heavy}"
        );
    }
}

#[test]
fn out_writes_charts_in_svg_and_png_a_report_and_the_numbers() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("balance-out");
    let _ = std::fs::remove_dir_all(&dir);
    let out = dsim(&[
        "balance",
        "--keys",
        "50000",
        "--out",
        &dir.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for stem in ["load-per-node", "imbalance-vs-vnodes", "moved-on-change"] {
        let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<text"),
            "{stem}.svg has text"
        );
        let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG", "{stem}.png");
        assert!(png.len() > 10_000, "{stem}.png is a real picture");
    }
    assert!(std::fs::read_to_string(dir.join("imbalance-vs-vnodes.svg"))
        .unwrap()
        .contains("raw crc32"));
    let md = std::fs::read_to_string(dir.join("balance.md")).unwrap();
    assert!(md.contains("| ring |") && md.contains("![load per node](load-per-node.svg)"));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("balance.json")).unwrap()).unwrap();
    assert_eq!(json["schemes"].as_array().unwrap().len(), 6);
}

#[test]
fn bad_options_exit_2_with_a_reason() {
    for (args, expect) in [
        (vec!["--table-size", "65536"], "prime"),
        (vec!["--nodes", "1"], "at least 2"),
        (vec!["--nodes", "3", "--weights", "1,2"], "one per node"),
        (vec!["--distribution", "pareto"], "zipf"),
        (vec!["--hash", "md5"], "crc32 or mixed"),
        (vec!["--epsilon", "0"], "epsilon"),
    ] {
        let mut all = vec!["balance", "--keys", "1000"];
        all.extend(args.iter().copied());
        let out = dsim(&all);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}
