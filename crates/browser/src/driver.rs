//! One chromedriver per [`Browser`], and one headless Chromium per [`Page`]. The driver runs
//! in its own process group and every Chromium in a profile directory under the browser's
//! temporary folder, so that dropping the browser can find and end every process it
//! started, whatever state the test left them in.
use crate::BrowserError;
use crate::install::{Tools, screenshot_root, tools};
use crate::page::{Page, Shots};
use serde_json::json;
use std::collections::HashSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The size of a session's window (CSS pixels at a device scale factor of 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// 1280 × 900, a laptop screen.
    Desktop,
    /// 390 × 844, a current phone held upright: the console must be usable there.
    Phone,
    /// Any other width × height.
    Size(u32, u32),
}

impl Window {
    /// Width and height in CSS pixels.
    pub fn size(self) -> (u32, u32) {
        match self {
            Window::Desktop => (1280, 900),
            Window::Phone => (390, 844),
            Window::Size(w, h) => (w, h),
        }
    }
}

/// A running chromedriver; [`Browser::session`] opens Chromium windows on it.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    url: String,
    profiles: tempfile::TempDir,
    tools: Tools,
    shots: Arc<Shots>,
    opened: AtomicUsize,
}

/// The tests whose screenshot folder this process has already emptied.
static CLEANED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// The running test's name: libtest names each test's thread after the test's path.
fn test_name() -> String {
    let thread = std::thread::current();
    match thread.name() {
        Some(name) if name != "main" => name.replace("::", "."),
        _ => "browser".to_owned(),
    }
}

impl Browser {
    /// Starts chromedriver for the running test (screenshots go under the test's name, read
    /// from the test's thread: call it from the test's body, not from a spawned task, or
    /// use [`Browser::start_named`]), installing Chromium, chromedriver and axe-core first
    /// if they are missing.
    pub async fn start() -> Result<Browser, BrowserError> {
        Browser::start_named(&test_name()).await
    }

    /// Like [`Browser::start`], with screenshots under `<target>/console-screenshots/<test>/`.
    pub async fn start_named(test: &str) -> Result<Browser, BrowserError> {
        let tools = tools().await?;
        let dir = screenshot_root().join(test.replace(['/', '\\'], "_"));
        {
            let mut cleaned = CLEANED.lock().map_err(|_| BrowserError::Unexpected("a test panicked while starting a browser".into()))?;
            if cleaned.get_or_insert_with(HashSet::new).insert(dir.clone()) && dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(BrowserError::io(format!("emptying {}", dir.display())))?;
            }
        }
        let new_profiles =
            || tempfile::Builder::new().prefix("tenantsync-browser.").tempdir().map_err(BrowserError::io("creating a temporary folder for the profiles"));
        let mut profiles = new_profiles()?;
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let log = profiles.path().join(format!("chromedriver-{port}.log"));
            let log_file = std::fs::File::create(&log).map_err(BrowserError::io(format!("creating {}", log.display())))?;
            let driver = Command::new(&tools.chromedriver)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().map_err(BrowserError::io("opening the driver's log"))?)
                .stderr(log_file)
                .process_group(0)
                .spawn()
                .map_err(BrowserError::io(format!("starting {}", tools.chromedriver.display())))?;
            let mut browser = Browser {
                driver,
                url: format!("http://127.0.0.1:{port}"),
                profiles,
                tools: tools.clone(),
                shots: Arc::new(Shots::new(dir.clone())),
                opened: AtomicUsize::new(0),
            };
            match browser.wait_ready(port, &log).await {
                Ok(()) => return Ok(browser),
                Err(e) => {
                    last = e;
                    drop(browser);
                    profiles = new_profiles()?;
                }
            }
        }
        Err(BrowserError::Driver(last))
    }

    /// Waits until chromedriver answers `/status` with `ready: true`.
    async fn wait_ready(&mut self, port: u16, log: &Path) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = self.driver.try_wait() {
                return Err(format!("exited ({status}) at start: {}", std::fs::read_to_string(log).unwrap_or_default()));
            }
            if let Ok(body) = get(port, "/status").await
                && body.contains("\"ready\":true")
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("no answer on port {port} within 20 s: {}", std::fs::read_to_string(log).unwrap_or_default()))
    }

    /// The driver's URL (`http://127.0.0.1:PORT`).
    pub fn driver_url(&self) -> &str {
        &self.url
    }

    /// chromedriver's process id (its process group has the same id).
    pub fn driver_pid(&self) -> u32 {
        self.driver.id()
    }

    /// The folder under which every session's Chromium keeps its profile: each Chromium's
    /// command line names it, which is how [`Drop`] finds them (and a test can, with pgrep).
    pub fn profiles_dir(&self) -> &Path {
        self.profiles.path()
    }

    /// The folder this browser's screenshots go to.
    pub fn screenshot_dir(&self) -> &Path {
        self.shots.dir()
    }

    /// Opens a new headless Chromium with its own profile (so its own cookies) and window.
    pub async fn session(&self, window: Window) -> Result<Page, BrowserError> {
        let n = self.opened.fetch_add(1, Ordering::Relaxed) + 1;
        let profile = self.profiles.path().join(format!("session-{n}"));
        let (width, height) = window.size();
        let phone = window == Window::Phone;
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-gpu".to_owned(),
            // The window is a little larger than the emulated screen below, which sets the
            // viewport exactly (a headless window's size includes its frame and is at least
            // 500 pixels wide).
            format!("--window-size={},{}", width.max(500) + 100, height + 200),
            "--hide-scrollbars".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-extensions".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-sync".to_owned(),
            "--lang=en-US".to_owned(),
        ];
        let caps = json!({
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": self.tools.chromium,
                "args": args,
                "mobileEmulation": { "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0, "mobile": phone, "touch": phone } },
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            return Err(BrowserError::Unexpected("capabilities are not an object".into()));
        };
        let client = fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new()).capabilities(caps).connect(&self.url).await?;
        Page::new(client, self.shots.clone(), self.tools.axe.clone(), window).await
    }

    /// Ends chromedriver's process group and every Chromium whose command line names this
    /// browser's profile folder, then reaps chromedriver.
    fn kill(&mut self) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.driver.id())]).stderr(Stdio::null()).status();
        kill_named(self.profiles.path());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    /// Asks chromedriver to quit its browsers (`/shutdown`), gives it a moment, then kills
    /// whatever is left, so that no process outlives the test.
    fn drop(&mut self) {
        if let Some(port) = self.url.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()) {
            // Held open while waiting, so the request is read before the connection goes.
            let _connection = shutdown(port);
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(3) {
                if matches!(self.driver.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
    }
}

/// A loopback port nobody listens on now.
fn free_port() -> Result<u16, BrowserError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(BrowserError::io("finding a free loopback port"))?;
    Ok(listener.local_addr().map_err(BrowserError::io("finding a free loopback port"))?.port())
}

/// One HTTP/1.1 GET on loopback, the answer returned as text once its body is complete
/// (chromedriver keeps the connection open; no HTTP client is needed for `/status`).
async fn get(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(("127.0.0.1", port))).await??;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !complete(&answer) {
        let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut chunk)).await??;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// Whether an HTTP answer holds its headers and as much body as Content-Length says.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
    });
    length.is_some_and(|n| body.len() >= n)
}

/// Sends chromedriver's `/shutdown` (blocking: it is called from `Drop`); the caller waits
/// for the process to end.
fn shutdown(port: u16) -> std::io::Result<std::net::TcpStream> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1))?;
    stream.write_all(format!("GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes())?;
    Ok(stream)
}

/// Kills every process whose command line contains `marker` (read from /proc).
fn kill_named(marker: &Path) {
    let marker = marker.to_string_lossy().into_owned();
    for pid in pids_naming(&marker) {
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
    }
}

/// The processes whose command line contains `marker`.
pub(crate) fn pids_naming(marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let me = std::process::id();
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker)))
        .collect()
}
