//! A small WebDriver client: headless Chromium driven through ChromeDriver over HTTP, with
//! nothing but the standard library (one request a connection, JSON bodies).
//!
//! `Browser::start()` finds `chromedriver` and `chromium` (on `PATH`, or named by
//! `DSIM_CHROMEDRIVER` and `DSIM_CHROMIUM`), starts the driver on a free port and opens a
//! headless session; dropping it ends both.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    profile: PathBuf,
}

/// A program by environment variable, else the first of `names` on `PATH`.
fn program(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(variable) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Whether the browser test must run (CI says so), rather than be skipped without a browser.
pub fn required() -> bool {
    std::env::var("DSIM_BROWSER_TESTS").is_ok_and(|v| v == "required")
}

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(|e| e.to_string())?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    // Read the head, then the body by its length (the driver may keep the connection open).
    let mut response = Vec::new();
    let mut buf = [0u8; 65536];
    let split = loop {
        if let Some(at) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the HTTP head".into());
        }
        response.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &response[split + 4..];
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
    }
    let mut payload = response[split + 4..].to_vec();
    if chunked {
        payload = unchunk(&payload);
    }
    let value: Value = serde_json::from_slice(&payload)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&payload)))?;
    let status_ok = head.starts_with("http/1.1 2") || head.starts_with("http/1.0 2");
    if !status_ok {
        return Err(format!("{method} {path}: {}", value["value"]));
    }
    Ok(value["value"].clone())
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium session, or says why it cannot.
    pub fn start(window: (u32, u32)) -> Result<Browser, String> {
        let driver_path = program("DSIM_CHROMEDRIVER", &["chromedriver"])
            .ok_or("chromedriver not found (Debian: apt-get install chromium-driver)")?;
        let chromium = program(
            "DSIM_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        )
        .ok_or("chromium not found (Debian: apt-get install chromium)")?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", driver_path.display()))?;
        let profile =
            std::env::temp_dir().join(format!("dsim-chromium-{}-{port}", std::process::id()));
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
            profile,
        };
        let started = Instant::now();
        while http(port, "GET", "/status", None)
            .map(|v| v["ready"] != true)
            .unwrap_or(true)
        {
            if started.elapsed() > Duration::from_secs(30) {
                return Err("chromedriver did not become ready in 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            &format!("--window-size={},{}", window.0, window.1),
            &format!("--user-data-dir={}", browser.profile.display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let session = http(port, "POST", "/session", Some(&capabilities))?;
        browser.session = session["sessionId"]
            .as_str()
            .ok_or("no session id")?
            .to_string();
        Ok(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        http(self.port, method, &path, body.as_ref())
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    pub fn open(&self, file: &Path) {
        let url = format!("file://{}", file.canonicalize().unwrap().display());
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page, returns its result.
    pub fn eval(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// The browser's console messages at level SEVERE since the last call.
    pub fn console_errors(&self) -> Vec<String> {
        let path = format!("/session/{}/se/log", self.session);
        match http(
            self.port,
            "POST",
            &path,
            Some(&json!({ "type": "browser" })),
        ) {
            Ok(Value::Array(entries)) => entries
                .iter()
                .filter(|e| e["level"] == "SEVERE")
                .map(|e| e["message"].as_str().unwrap_or("").to_string())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// W3C actions: a list of input sources, each with its actions.
    pub fn actions(&self, sources: Value) {
        self.call("POST", "/actions", Some(json!({ "actions": sources })));
        self.call("DELETE", "/actions", None);
    }

    /// A mouse click at page coordinates.
    pub fn click_at(&self, x: f64, y: f64) {
        self.actions(json!([{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "x": x.round() as i64, "y": y.round() as i64, "origin": "viewport"},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerUp", "button": 0},
            ]
        }]));
    }

    /// The mouse moved to page coordinates, no button pressed (a hover).
    pub fn move_to(&self, x: f64, y: f64) {
        self.actions(json!([{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "x": x.round() as i64, "y": y.round() as i64, "origin": "viewport"},
            ]
        }]));
    }

    /// A drag with the left button from one point to another, in page coordinates.
    pub fn drag(&self, from: (f64, f64), to: (f64, f64)) {
        let point = |(x, y): (f64, f64)| (x.round() as i64, y.round() as i64);
        let ((x0, y0), (x1, y1)) = (point(from), point(to));
        self.actions(json!([{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "x": x0, "y": y0, "origin": "viewport"},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerMove", "x": (x0 + x1) / 2, "y": (y0 + y1) / 2, "origin": "viewport", "duration": 50},
                {"type": "pointerMove", "x": x1, "y": y1, "origin": "viewport", "duration": 50},
                {"type": "pointerUp", "button": 0},
            ]
        }]));
    }

    /// A turn of the mouse wheel at page coordinates (negative `delta_y`: towards the user,
    /// which zooms in).
    pub fn wheel_at(&self, x: f64, y: f64, delta_y: i64) {
        self.actions(json!([{
            "type": "wheel", "id": "wheel",
            "actions": [{"type": "scroll", "x": x.round() as i64, "y": y.round() as i64,
                          "deltaX": 0, "deltaY": delta_y, "origin": "viewport"}]
        }]));
    }

    /// Presses and releases a key.
    pub fn key(&self, key: &str) {
        self.actions(json!([{
            "type": "key", "id": "keyboard",
            "actions": [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]
        }]));
    }

    /// Clicks the element that `css` selects.
    pub fn click(&self, css: &str) {
        let found = self.call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        let id = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string();
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Saves a screenshot of the window as PNG.
    pub fn screenshot(&self, to: &Path) {
        let data = self.call("GET", "/screenshot", None);
        let bytes = base64(data.as_str().expect("base64 PNG"));
        std::fs::write(to, bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
