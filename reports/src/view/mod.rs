//! `dsim view`: one self-contained HTML page to explore a run.
//!
//! The page is this folder's `page.html` with the run's data embedded as JSON, and
//! `view.js` (hand-written, no dependencies) and `view.css` inlined: no server, no network,
//! no build step. It opens from disk on an offline machine and can be attached to a bug report.
//!
//! # The data
//!
//! One JSON object; times are integer nanoseconds of virtual time, nodes are indices into
//! `nodes`. Rows are arrays, not objects, to keep large runs small.
//!
//! | field | what |
//! |---|---|
//! | `title` | the page's heading |
//! | `run` | the run's summary, as `dsim run --json` prints it (scenario, seed, fingerprint, replay command, invariants, metrics, faults) |
//! | `window` | `from_ns`, `to_ns`: the stretch of the run shown; `messages_total`, `messages_shown`; `note`: why the page shows less than the whole run, and how to see more |
//! | `nodes`, `kinds` | node names; message kinds (the name each message's text starts with) |
//! | `messages` | `[sent, from, to, arrive, kind, fate, handled, reason, duplicate, text]`, in the order sent. `fate`: 0 delivered, 1 held while the receiver was paused and `handled` at its resume, 2 dropped when sent, 3 dropped on arrival, 4 in flight at the window's end; `reason` (`loss`, `partition`, `crashed`) for drops; `duplicate` 1 for the network's copy |
//! | `faults` | `[at, node or -1 for the network, fault, what, origin]`: every fault, and each resume after a pause |
//! | `spans` | `[node or -1, from, to, "crash" / "pause" / "partition", what]` |
//! | `notes` | `[at, node, "timer" / "observe" / "start" / "restart", text]` |
//! | `clients`, `client_nodes` | a lane per history process: its label, and the node that recorded it |
//! | `operations` | `[lane, invoked, completed or null, "ok" / "fail" / "info" / "open", text, mark]`; `mark` 1 for the operation the linearizability checker could not place, 2 for those concurrent with it |
//! | `history` | `{verdict: "held" / "violated" / "not judged" / "not checked", message}`, or null without a history |
//! | `violation` | `{t_ns, node (-1: the cluster), invariant, message}`, or null |

use serde_json::Value;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("view.js");
const STYLE: &str = include_str!("view.css");

/// The page for `data` (see the module's documentation for its fields).
pub fn page(title: &str, data: &Value) -> String {
    // Inside <script>, only `</script` could end the data early: JSON escapes every `<`.
    let json = data.to_string().replace('<', "\\u003c");
    PAGE.replace("{{TITLE}}", &escape_html(title))
        .replace("{{CSS}}", STYLE)
        .replace("{{JS}}", SCRIPT)
        .replacen("{{DATA}}", &json, 1)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_cannot_end_its_script_early_and_the_title_is_escaped() {
        let data = serde_json::json!({ "text": "</script><script>alert(1)</script>" });
        let html = page("a <b> & c", &data);
        assert_eq!(
            html.matches("</script>").count(),
            3,
            "only the page's own scripts end"
        );
        assert!(html.contains("<title>a &lt;b&gt; &amp; c</title>"));
        let start = html.find("id=\"dsim-data\">").unwrap() + "id=\"dsim-data\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let back: Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(back, data, "the embedded JSON reads back as it was");
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        let html = page("t", &serde_json::json!({}));
        for outside in ["http://", "https://", "src=", "@import", "url("] {
            assert!(!html.contains(outside), "{outside}");
        }
    }
}
