//! `dsim lincheck`: Jepsen histories (EDN maps and old log lines) checked against the
//! register, cas-register and kv models, with known verdicts.

mod common;

use common::{dsim, stderr};

fn check(name: &str, text: &str, args: &[&str]) -> (i32, String, String) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lincheck");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let path = path.to_string_lossy();
    let mut all = vec!["lincheck", path.as_ref()];
    all.extend_from_slice(args);
    let out = dsim(&all);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
    )
}

#[test]
fn edn_histories_get_the_verdicts_they_have_by_construction() {
    let ok = "{:process 0, :type :invoke, :f :write, :value 1}\n\
              {:process 1, :type :invoke, :f :read, :value nil}\n\
              {:process 0, :type :ok, :f :write, :value 1}\n\
              {:process 1, :type :ok, :f :read, :value 1}\n\
              {:process 2, :type :invoke, :f :cas, :value [1 2]}\n\
              {:process 2, :type :ok, :f :cas, :value [1 2]}\n\
              {:process 3, :type :invoke, :f :cas, :value [1 5]}\n\
              {:process 3, :type :fail, :f :cas, :value [1 5]}\n\
              {:process 0, :type :invoke, :f :read, :value nil, :time 12345, :index 9}\n\
              {:process 0, :type :ok, :f :read, :value 2}\n";
    let (code, out, err) = check("ok.edn", ok, &["--model", "cas-register"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("linearizable: 4 operations"), "{out}");
    // A read after a completed write of 2, and an indeterminate write of 3 it may see, sees 1.
    let stale = "{:process 0, :type :invoke, :f :write, :value 1}\n\
                 {:process 0, :type :ok, :f :write, :value 1}\n\
                 {:process 1, :type :invoke, :f :write, :value 2}\n\
                 {:process 1, :type :ok, :f :write, :value 2}\n\
                 {:process 2, :type :invoke, :f :write, :value 3}\n\
                 {:process 2, :type :info, :f :write, :value 3}\n\
                 {:process 0, :type :invoke, :f :read, :value nil}\n\
                 {:process 0, :type :ok, :f :read, :value 1}\n";
    let (code, out, _) = check("stale.edn", stale, &["--model", "register"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("cannot be followed by\n    line 7: process 0 :read nil → 1"),
        "{out}"
    );
    let (code, json, _) = check("stale.edn", stale, &["--model", "register", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["verdict"], "not_linearizable");
    assert_eq!(v["failure"]["culprit_line"], 7);
}

#[test]
fn kv_histories_are_checked_key_by_key_and_log_lines_are_read() {
    let kv = "{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x 9 0 y\"}\n\
              {:process 9, :type :ok, :f :append, :key \"0\", :value \"x 9 0 y\"}\n\
              {:process 1, :type :invoke, :f :get, :key \"1\", :value nil}\n\
              {:process 1, :type :ok, :f :get, :key \"1\", :value nil}\n\
              {:process 2, :type :invoke, :f :get, :key \"0\", :value nil}\n\
              {:process 2, :type :ok, :f :get, :key \"0\", :value \"x 9 0 y\"}\n";
    let (code, out, _) = check("kv.edn", kv, &["--model", "kv"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("in 2 part(s)"), "{out}");
    // The get of key "0" after the append completed sees nothing: the append was lost.
    let lost = kv.replace(
        "{:process 2, :type :ok, :f :get, :key \"0\", :value \"x 9 0 y\"}",
        "{:process 2, :type :ok, :f :get, :key \"0\", :value nil}",
    );
    assert_ne!(lost, kv);
    let (code, out, _) = check("kv-lost.edn", &lost, &["--model", "kv"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT linearizable (key \"0\")"), "{out}");
    let log = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 0\t:ok\t:read\tnil\n\
               INFO  jepsen.util - 1   :invoke  :write  3\n\
               INFO  jepsen.util - 1   :info    :write  :timed-out\n\
               INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 0\t:ok\t:read\t3\n";
    let (code, out, err) = check("log.txt", log, &["--model", "register"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn bad_histories_exit_2_naming_the_line_and_a_search_out_of_budget_says_unknown() {
    let cases = [
        ("{:process 0, :type :ok, :f :read, :value 1}\n", "line 1: process 0 completes an operation it never invoked"),
        (
            "{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :invoke, :f :read, :value nil}\n",
            "line 2: process 0 invokes again",
        ),
        ("{:process 0, :type :invoke, :f :read\n", "line 1: "),
        ("{:process 0, :type :begin, :f :read, :value nil}\n", "line 1: :type :begin"),
        ("not edn at all\n", "line 1: "),
    ];
    for (i, (text, expect)) in cases.iter().enumerate() {
        let (code, out, err) = check(&format!("bad-{i}.edn"), text, &["--model", "register"]);
        assert_eq!(code, 2, "{text}: {out}{err}");
        assert!(err.contains(expect), "{text}: {err}");
        assert!(!err.contains("panicked"));
    }
    let stale = "{:process 0, :type :invoke, :f :write, :value 1}\n\
                 {:process 0, :type :ok, :f :write, :value 1}\n\
                 {:process 0, :type :invoke, :f :read, :value nil}\n\
                 {:process 0, :type :ok, :f :read, :value 5}\n";
    let (code, out, _) = check(
        "budget.edn",
        stale,
        &["--model", "register", "--steps", "1"],
    );
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("unknown: "), "{out}");
}

/// The key-value cluster's clients record their operations through their contexts;
/// `dsim run --history` writes them, `dsim lincheck` reads them back: the cluster as
/// designed is linearizable under crashes during migrations, and a planted bug that loses
/// an acknowledged write (`AckBeforeSync`) is caught by linearizability too.
#[test]
fn a_kv_cluster_history_is_linearizable_and_a_planted_bug_is_not() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lincheck-kv");
    std::fs::create_dir_all(&dir).unwrap();
    let history = dir.join("history.edn");
    let h = history.to_string_lossy();
    let out = dsim(&[
        "run",
        "scenarios/hashing-migration-crash.ron",
        "--history",
        &h,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&history).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.contains(":type :invoke") && first.contains(":key ") && first.contains(":time "),
        "{first}"
    );
    let out = dsim(&["lincheck", &h, "--model", "kv"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let scenario = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/hashing-migration-crash.ron"),
    )
    .unwrap()
    .replacen("Kv(", "Kv(bugs: [AckBeforeSync], ", 1);
    let buggy = dir.join("ack-before-sync.ron");
    std::fs::write(&buggy, scenario).unwrap();
    let out = dsim(&[
        "run",
        &buggy.to_string_lossy(),
        "--seed",
        "2",
        "--history",
        &h,
    ]);
    assert_eq!(out.status.code(), Some(1), "no_lost_write sees it");
    let out = dsim(&["lincheck", &h, "--model", "kv"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.starts_with("NOT linearizable (key "), "{report}");
}

#[test]
fn out_draws_the_failing_part_and_json_reports_every_part() {
    // Key "a" is fine; key "b" has a read that misses a completed write.
    let h = "{:process 0, :type :invoke, :f :put, :key \"a\", :value 1}\n\
             {:process 0, :type :ok, :f :put, :key \"a\", :value 1}\n\
             {:process 1, :type :invoke, :f :put, :key \"b\", :value 2}\n\
             {:process 1, :type :ok, :f :put, :key \"b\", :value 2}\n\
             {:process 2, :type :invoke, :f :cas, :key \"b\", :value [2 3]}\n\
             {:process 0, :type :invoke, :f :get, :key \"b\", :value nil}\n\
             {:process 0, :type :ok, :f :get, :key \"b\", :value 5}\n";
    let out_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lincheck-out");
    let _ = std::fs::remove_dir_all(&out_dir);
    let out_arg = out_dir.to_string_lossy().into_owned();
    let (code, out, err) = check("drawn.edn", h, &["--model", "kv", "--out", &out_arg]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("drawn: "), "{out}");
    let svg = std::fs::read_to_string(out_dir.join("history.svg")).unwrap();
    for needle in [
        "drawn.edn: key",
        "cannot be placed",
        "process 0",
        "process 2",
        "get -&gt; 5",
    ] {
        assert!(svg.contains(needle), "{needle} missing from the SVG");
    }
    assert_eq!(
        &std::fs::read(out_dir.join("history.png")).unwrap()[1..4],
        b"PNG"
    );

    let (code, json, _) = check("drawn.edn", h, &["--model", "kv", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let parts = v["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{v}");
    assert_eq!(parts[0]["part"], "key \"a\"");
    assert_eq!(parts[0]["verdict"], "linearizable");
    assert_eq!(parts[1]["verdict"], "not_linearizable");
    assert_eq!(parts[1]["operations"], 3);
    assert!(parts[1]["elapsed_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["failure"]["culprit_line"], 6);

    // A directory that cannot be written is refused before any work.
    let (code, _, err) = check("drawn.edn", h, &["--model", "kv", "--out", "/proc/no/such"]);
    assert_eq!(code, 2, "{err}");
}
