//! `dsim view`: a run as one self-contained HTML page; what it holds, and (in headless
//! Chromium, through ChromeDriver) what it does.

mod common;
mod webdriver;

use std::path::{Path, PathBuf};

use common::{dsim, run, stderr};
use serde_json::{json, Value};

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `dsim view ARGS -o FILE`: the exit code, and the page's embedded data.
fn view(file: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["view"];
    all.extend_from_slice(args);
    let file_arg = file.to_string_lossy().into_owned();
    all.extend_from_slice(&["-o", &file_arg]);
    let out = dsim(&all);
    let code = out.status.code().expect("exited");
    assert!(code == 0 || code == 1, "{args:?}: {}", stderr(&out));
    let html = std::fs::read_to_string(file).unwrap();
    (code, embedded(&html))
}

fn embedded(html: &str) -> Value {
    let start = html.find("id=\"dsim-data\">").expect("data") + "id=\"dsim-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

fn rows<'a>(data: &'a Value, field: &str) -> &'a Vec<Value> {
    data[field].as_array().unwrap()
}

#[test]
fn a_failing_run_becomes_one_page_with_every_message_fault_and_the_violation() {
    let dir = out_dir("view-lock");
    let page = dir.join("bug.html");
    let (code, data) = view(&page, &["scenarios/lock-lease-pause.ron", "--seed", "3"]);
    assert_eq!(
        code, 1,
        "the run violates an invariant: exit 1, page written"
    );
    let (_, summary) = run("scenarios/lock-lease-pause.ron", &["--seed", "3"]);
    assert_eq!(data["run"]["fingerprint"], summary["fingerprint"]);
    assert_eq!(
        data["run"]["reproduce"],
        "dsim run scenarios/lock-lease-pause.ron --seed 3"
    );
    // Every message of the run, the one lost when sent among them.
    let messages = rows(&data, "messages");
    assert_eq!(
        Some(messages.len() as u64),
        summary["messages"]["sent"].as_u64()
    );
    assert_eq!(data["window"]["note"], "", "nothing left out");
    let kinds: Vec<&str> = rows(&data, "kinds")
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    for kind in ["Acquire", "Granted", "Write", "WriteOk"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    // Messages are in the order sent, each labelled with its text's own name.
    let sent_at: Vec<u64> = messages.iter().map(|m| m[0].as_u64().unwrap()).collect();
    assert!(sent_at.windows(2).all(|w| w[0] <= w[1]));
    for m in messages {
        let kind = kinds[m[4].as_u64().unwrap() as usize];
        assert!(m[9].as_str().unwrap().starts_with(kind), "{m}");
    }
    // c0's pause, 2.0 s to 3.5 s: a span, and the messages that reached it meanwhile were
    // held and handled when it resumed.
    let c0 = rows(&data, "nodes").iter().position(|n| n == "c0").unwrap() as u64;
    assert!(rows(&data, "spans").contains(&json!([
        c0,
        2_000_000_000u64,
        3_500_000_000u64,
        "pause",
        "pause c0 for 1.500s"
    ])));
    // What c0 was doing when the pause ended: the timer it had missed.
    assert!(rows(&data, "notes")
        .iter()
        .any(|n| n[0] == 3_500_000_000u64 && n[1] == c0 && n[2] == "timer"));
    let lost: Vec<&Value> = messages.iter().filter(|m| m[5] == 2).collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0][7], "loss");
    let v = &data["violation"];
    assert_eq!(v["invariant"], "mutual_exclusion");
    assert_eq!(v["t_ns"], summary["violations"][0]["time_ns"]);
    // The run stopped at the violation: the history was not judged, and the page says so.
    assert_eq!(data["history"]["verdict"], "not judged");
    assert!(!rows(&data, "operations").is_empty());
}

#[test]
fn the_same_seed_gives_the_same_page_byte_for_byte() {
    let dir = out_dir("view-same");
    let (a, b) = (dir.join("a.html"), dir.join("b.html"));
    view(&a, &["scenarios/lock-lease-pause.ron", "--seed", "3"]);
    view(&b, &["scenarios/lock-lease-pause.ron", "--seed", "3"]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn each_message_fate_agrees_with_the_faults_around_it() {
    let dir = out_dir("view-2pc");
    let (code, data) = view(&dir.join("2pc.html"), &["scenarios/2pc-nemesis.ron"]);
    assert_eq!(code, 0);
    let messages = rows(&data, "messages");
    let spans = rows(&data, "spans");
    let faults = rows(&data, "faults");
    let t = |v: &Value| v.as_u64().unwrap();
    let during = |node: &Value, kind: &str, at: u64| {
        spans.iter().any(|s| {
            s[3] == kind
                && (kind == "partition" || s[0] == *node)
                && t(&s[1]) <= at
                && at <= t(&s[2])
        })
    };
    let mut seen = [0; 5];
    for m in messages {
        let fate = t(&m[5]) as usize;
        seen[fate] += 1;
        let (to, arrives) = (&m[2], t(&m[3]));
        match fate {
            // Held: arrived while its receiver was paused, handled when it resumed.
            1 => {
                assert!(during(to, "pause", arrives), "{m}");
                let resumed = faults
                    .iter()
                    .any(|f| f[2] == "resume" && f[1] == *to && f[0] == m[6]);
                assert!(resumed, "handled at a resume of its receiver: {m}");
            }
            3 if m[7] == "crashed" => assert!(during(to, "crash", arrives), "{m}"),
            3 if m[7] == "partition" => assert!(during(to, "partition", arrives), "{m}"),
            2 => assert!(m[7] == "loss" || m[7] == "partition", "{m}"),
            _ => {}
        }
    }
    assert!(seen.iter().all(|&n| n > 0), "every fate occurs: {seen:?}");
}

#[test]
fn a_linearizability_violation_marks_the_operation_that_cannot_be_placed() {
    let dir = out_dir("view-kv");
    let (code, data) = view(
        &dir.join("kv.html"),
        &["scenarios/kv-eager-handover.ron", "--max-messages", "20000"],
    );
    assert_eq!(code, 1);
    assert_eq!(data["history"]["verdict"], "violated");
    let ops = rows(&data, "operations");
    let culprits: Vec<&Value> = ops.iter().filter(|op| op[5] == 1).collect();
    assert_eq!(culprits.len(), 1, "exactly the one the checker names");
    let message = data["history"]["message"].as_str().unwrap();
    let text = culprits[0][4].as_str().unwrap();
    assert!(message.contains(text), "{text} in {message}");
    assert!(
        ops.iter().any(|op| op[5] == 2),
        "and those concurrent with it"
    );
    // A lane per client node.
    let clients = rows(&data, "clients");
    assert!(clients.iter().any(|c| c == "c0"), "{clients:?}");
    assert_eq!(clients.len(), rows(&data, "client_nodes").len());
}

#[test]
fn a_large_run_is_cut_to_the_budget_and_the_page_says_how_to_see_the_rest() {
    let dir = out_dir("view-large");
    let page = dir.join("bench.html");
    let (code, data) = view(
        &page,
        &["scenarios/bench-pingpong-16.ron", "--max-messages", "2000"],
    );
    assert_eq!(code, 0);
    assert_eq!(rows(&data, "messages").len(), 2000);
    assert_eq!(
        data["window"]["from_ns"], 0,
        "no violation: the run's start"
    );
    let note = data["window"]["note"].as_str().unwrap();
    assert!(
        note.contains("--max-messages") && note.contains("--from"),
        "{note}"
    );
    assert!(std::fs::metadata(&page).unwrap().len() < 1_000_000);

    // A stretch chosen by hand: only what it holds.
    let (code, data) = view(
        &dir.join("stretch.html"),
        &["scenarios/quickstart.ron", "--from", "1.9s", "--to", "2.1s"],
    );
    assert_eq!(code, 0);
    let (from, to) = (1_900_000_000u64, 2_100_000_000u64);
    assert_eq!(data["window"]["from_ns"], from);
    assert_eq!(data["window"]["to_ns"], to);
    for m in rows(&data, "messages") {
        let sent = m[0].as_u64().unwrap();
        let arrives = m[3].as_u64().unwrap();
        assert!(sent <= to && arrives >= from, "{m}");
    }
    assert!(data["window"]["note"]
        .as_str()
        .unwrap()
        .contains("of a run of"));
}

#[test]
fn bad_input_is_refused_with_exit_2_and_no_page() {
    let dir = out_dir("view-bad");
    let page = dir.join("no.html");
    let p = page.to_string_lossy().into_owned();
    for args in [
        vec![
            "view",
            "scenarios/quickstart.ron",
            "-o",
            &p,
            "--from",
            "soon",
        ],
        vec![
            "view",
            "scenarios/quickstart.ron",
            "-o",
            &p,
            "--from",
            "2s",
            "--to",
            "1s",
        ],
        vec![
            "view",
            "scenarios/quickstart.ron",
            "-o",
            &p,
            "--max-messages",
            "0",
        ],
        vec![
            "view",
            "scenarios/quickstart.ron",
            "-o",
            &p,
            "--max-messages",
            "200001",
        ],
        vec!["view", "scenarios/no-such.ron", "-o", &p],
    ] {
        let out = dsim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
        assert!(!page.exists(), "{args:?}");
    }
}

/// Opens generated pages in headless Chromium, drives them as a person would (wheel, click,
/// keys, buttons) and checks what they show; saves screenshots to
/// `target/tmp/view-browser/`. Skipped without a browser unless `DSIM_BROWSER_TESTS=required`
/// (`.ci/run` installs Chromium and requires it).
#[test]
fn the_page_works_in_a_real_browser() {
    let browser = match webdriver::Browser::start((1500, 900)) {
        Ok(b) => b,
        Err(why) if !webdriver::required() => {
            eprintln!("skipped: {why} (set DSIM_BROWSER_TESTS=required to fail instead)");
            return;
        }
        Err(why) => panic!("the browser test is required: {why}"),
    };
    let dir = out_dir("view-browser");
    let state = |b: &webdriver::Browser| b.eval("return window.dsimView.state();", json!([]));
    let no_errors = |b: &webdriver::Browser, page: &str| {
        let errors = b.eval("return window.dsimErrors;", json!([]));
        assert_eq!(errors, json!([]), "{page}: errors in the page");
        let console = b.console_errors();
        assert!(console.is_empty(), "{page}: console errors {console:?}");
    };

    // 1. The lock bug: zoom with the wheel, click a message, jump to the violation, step
    //    through faults with the keyboard.
    let page = dir.join("lock-lease-pause.html");
    let (_, data) = view(&page, &["scenarios/lock-lease-pause.ron", "--seed", "3"]);
    browser.open(&page);
    no_errors(&browser, "lock-lease-pause");
    let whole = state(&browser);
    let span = |s: &Value| s["to"].as_f64().unwrap() - s["from"].as_f64().unwrap();
    assert!(span(&whole) >= 3.5e9, "opens on the whole run: {whole}");
    browser.wheel_at(700.0, 330.0, -600);
    let zoomed = state(&browser);
    assert!(
        span(&zoomed) < span(&whole) / 2.0,
        "the wheel zooms in: {whole} → {zoomed}"
    );
    // Dragging to the left moves the view later in time by as much.
    browser.drag((800.0, 330.0), (600.0, 330.0));
    let dragged = state(&browser);
    let moved = dragged["from"].as_f64().unwrap() - zoomed["from"].as_f64().unwrap();
    assert!(moved > 0.0, "a drag pans: {zoomed} → {dragged}");
    assert!(
        (span(&dragged) - span(&zoomed)).abs() < 1.0,
        "and keeps the zoom"
    );
    // A Granted message, brought into view, then clicked where its arrow is drawn.
    let kinds = rows(&data, "kinds");
    let granted = kinds.iter().position(|k| k == "Granted").unwrap();
    let (i, m) = rows(&data, "messages")
        .iter()
        .enumerate()
        .find(|(_, m)| m[4] == granted && m[5] == 0)
        .unwrap();
    let (sent, arrives) = (m[0].as_f64().unwrap(), m[3].as_f64().unwrap());
    browser.eval(
        "window.dsimView.setView(arguments[0], arguments[1]);",
        json!([sent - 4e6, arrives + 4e6]),
    );
    let point = browser.eval(
        "return window.dsimView.messagePoint(arguments[0]);",
        json!([i]),
    );
    // Hovering over it shows its summary; clicking selects it.
    browser.move_to(point[0].as_f64().unwrap(), point[1].as_f64().unwrap());
    let tip = browser.eval(
        "var t = document.getElementById('tip'); return [t.style.display, t.textContent];",
        json!([]),
    );
    assert_eq!(tip[0], "block", "{tip}");
    assert!(
        tip[1].as_str().unwrap().starts_with("Granted: lock0 → "),
        "{tip}"
    );
    browser.click_at(point[0].as_f64().unwrap(), point[1].as_f64().unwrap());
    let selected = state(&browser);
    assert_eq!(
        selected["selected"],
        json!({"type": "message", "index": i}),
        "{selected}"
    );
    let details = selected["details"].as_str().unwrap();
    assert!(
        details.contains(m[9].as_str().unwrap()) && details.contains("delivered at"),
        "{details}"
    );
    browser.screenshot(&dir.join("lock-lease-pause-message.png"));
    browser.click("#violation");
    let at = state(&browser);
    let t = data["violation"]["t_ns"].as_f64().unwrap();
    assert_eq!(at["selected"]["type"], "violation", "{at}");
    assert!(at["from"].as_f64().unwrap() < t && t < at["to"].as_f64().unwrap());
    assert!(at["details"]
        .as_str()
        .unwrap()
        .contains("mutual_exclusion violated"));
    browser.screenshot(&dir.join("lock-lease-pause-violation.png"));
    // Back through the faults: c0's resume, then its pause.
    browser.key("p");
    let resume = state(&browser);
    assert_eq!(resume["selected"]["type"], "fault", "{resume}");
    assert!(
        resume["details"].as_str().unwrap().contains("c0 resumed"),
        "{resume}"
    );
    browser.key("p");
    let pause = state(&browser);
    assert!(
        pause["details"].as_str().unwrap().contains("pause c0"),
        "{pause}"
    );
    // Zoomed in as far as it goes: a few microseconds across, and the axis still reads.
    for _ in 0..40 {
        browser.key("+");
    }
    let deep = state(&browser);
    assert!(span(&deep) <= 2_000.0, "down to microseconds: {deep}");
    // The story of the bug, as the README shows it: c1 takes the lock and writes while c0
    // is paused; c0 wakes and writes (selected).
    let late_write = rows(&data, "messages")
        .iter()
        .position(|m| m[0] == 3_500_000_000u64 && m[9].as_str().unwrap().starts_with("Write"))
        .unwrap();
    browser.eval(
        "window.dsimView.setView(3.31e9, 3.515e9); window.dsimView.select('message', arguments[0]);",
        json!([late_write]),
    );
    browser.screenshot(&dir.join("lock-lease-pause-story.png"));
    no_errors(&browser, "lock-lease-pause, driven");

    // 2. The linearizability failure: the client lanes, and the jump goes to the operation
    //    that cannot be placed.
    let page = dir.join("kv-eager-handover.html");
    view(&page, &["scenarios/kv-eager-handover.ron"]);
    browser.open(&page);
    no_errors(&browser, "kv-eager-handover");
    browser.key("v");
    let culprit = state(&browser);
    assert_eq!(culprit["selected"]["type"], "operation", "{culprit}");
    assert!(
        culprit["details"]
            .as_str()
            .unwrap()
            .contains("cannot be placed"),
        "{culprit}"
    );
    browser.screenshot(&dir.join("kv-eager-handover.png"));

    // 3. Faults and partitions, and a node's events.
    let page = dir.join("2pc-nemesis.html");
    view(&page, &["scenarios/2pc-nemesis.ron"]);
    browser.open(&page);
    no_errors(&browser, "2pc-nemesis");
    browser.key("n");
    let first = state(&browser);
    assert_eq!(first["selected"]["type"], "fault", "{first}");
    browser.click("#next-fault");
    let second = state(&browser);
    assert_ne!(first["selected"], second["selected"], "next fault moves on");
    browser.eval("window.dsimView.selectNode(0);", json!([]));
    let events = browser.eval(
        "return document.querySelectorAll('#events .row').length;",
        json!([]),
    );
    assert!(
        events.as_u64().unwrap() > 10,
        "the coordinator's events: {events}"
    );
    browser.screenshot(&dir.join("2pc-nemesis.png"));
    // Filters, by clicking their check boxes: a kind of message, then a node.
    browser.eval(
        "window.dsimView.fit(); window.dsimView.timeDraw();",
        json!([]),
    );
    let before = state(&browser)["visible"].as_u64().unwrap();
    browser.click("#kind-filter summary");
    browser.click("#kind-menu input[data-i='0']");
    browser.eval("window.dsimView.timeDraw();", json!([]));
    let fewer = state(&browser)["visible"].as_u64().unwrap();
    assert!(
        0 < fewer && fewer < before,
        "hiding a kind: {before} → {fewer}"
    );
    browser.click("#node-filter summary");
    browser.click("#node-menu input[data-i='0']");
    browser.eval("window.dsimView.timeDraw();", json!([]));
    let without = state(&browser)["visible"].as_u64().unwrap();
    assert!(
        without < fewer,
        "hiding the coordinator: {fewer} → {without}"
    );
    no_errors(&browser, "2pc-nemesis, filtered");

    // 4. Busy runs: zoomed out, lanes show how often each node sends; zoomed in, arrows.
    let page = dir.join("hashing-nemesis.html");
    view(&page, &["scenarios/hashing-nemesis.ron"]);
    browser.open(&page);
    no_errors(&browser, "hashing-nemesis");
    let out = state(&browser);
    assert_eq!(out["dense"], true, "{out}");
    browser.eval("window.dsimView.setView(2e9, 2.02e9);", json!([]));
    browser.eval("window.dsimView.timeDraw();", json!([]));
    let near = state(&browser);
    assert_eq!(near["dense"], false, "{near}");
    assert!(near["visible"].as_u64().unwrap() > 0, "{near}");
    browser.screenshot(&dir.join("hashing-nemesis.png"));

    // 5. The largest page by default: 100,000 messages among 10,000 nodes. The figures are
    //    printed, not asserted (no timed assertions).
    let page = dir.join("bench-10k.html");
    view(&page, &["scenarios/bench-pingpong-10k.ron"]);
    browser.open(&page);
    no_errors(&browser, "bench-pingpong-10k");
    let big = state(&browser);
    assert_eq!(
        big["dense"], true,
        "zoomed out over 100,000 messages: {big}"
    );
    let whole_ms = browser.eval("return window.dsimView.timeDraw();", json!([]));
    browser.eval("window.dsimView.setView(3e6, 3.1e6);", json!([]));
    let near_ms = browser.eval("return window.dsimView.timeDraw();", json!([]));
    eprintln!(
        "100,000 messages, 10,000 nodes: drawing the whole page took {whole_ms} ms, a 100 µs view {near_ms} ms"
    );
    browser.screenshot(&dir.join("bench-10k.png"));
    no_errors(&browser, "bench-pingpong-10k, driven");
}
