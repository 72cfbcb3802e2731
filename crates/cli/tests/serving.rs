//! A real `tenantsync serve` for the tests of serving: its address, its stderr (the log)
//! as it comes, raw HTTP/1.1 over std sockets, and signals.
use crate::support::Env;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Served {
    child: Child,
    pub addr: String,
    log: Arc<Mutex<String>>,
}

/// An answer read off a socket.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).filter_map(|l| l.split_once(':')).find(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl Served {
    /// `serve --listen 127.0.0.1:0 ARGS…` on `env`'s data directory.
    pub fn start(env: &Env, args: &[&str]) -> Served {
        let mut cmd = env.cmd();
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(args);
        Self::spawn(cmd)
    }

    /// Runs `cmd` (a `serve`), waits for its first line and starts collecting its stderr.
    pub fn spawn(mut cmd: Command) -> Served {
        let mut child = cmd.env_remove("RUST_LOG").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("serving SCIM 2.0 on ").unwrap_or_else(|| panic!("first line: {line:?}"));
        let url = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")).unwrap_or_else(|| panic!("first line: {line:?}"));
        assert!(url.starts_with("127.0.0.1:"), "first line: {line:?}");
        let addr = url.split('/').next().unwrap().to_owned();
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Served { child, addr, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits (at most `within`) for a log line that contains every one of `parts`.
    pub fn log_line(&self, parts: &[&str], within: Duration) -> Option<String> {
        let end = Instant::now() + within;
        loop {
            if let Some(l) = self.log().lines().find(|l| parts.iter().all(|p| l.contains(p))) {
                return Some(l.to_owned());
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    /// One request on its own connection (`Connection: close`), the answer read whole.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
        let mut s = self.connect();
        s.write_all(request_bytes(method, path, &self.addr, headers, body, true).as_bytes()).unwrap();
        let (bytes, closed) = read_until_closed(&mut s, Duration::from_secs(30));
        assert!(closed, "the server did not close after answering");
        parse(&bytes)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`INT`, `TERM`) to the server.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status().unwrap().success();
        assert!(ok, "kill -{signal}");
    }

    /// The exit status, when the server exits within `within`.
    pub fn exit_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP/1.1 request's bytes (with `Content-Length` when there is a body).
pub fn request_bytes(method: &str, path: &str, host: &str, headers: &[(&str, &str)], body: Option<&str>, close: bool) -> String {
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {host}\r\n"));
    }
    if close {
        req.push_str("Connection: close\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Type: application/scim+json\r\nContent-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    req
}

/// Reads until the server closes the connection (`true`) or `within` passes (`false`); a
/// reset counts as closed.
pub fn read_until_closed(s: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let end = Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, false);
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return (out, false),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return (out, true),
        }
    }
}

/// Reads one response off a kept-alive connection: its head, then `Content-Length` bytes
/// of body (an interim `100 Continue` is a head without a body).
pub fn read_one(s: &mut TcpStream, within: Duration) -> Answer {
    s.set_read_timeout(Some(within)).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).unwrap();
        assert!(n == 1, "closed inside a response head: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    let mut answer = parse(&head);
    let len: usize = answer.header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    answer.body = String::from_utf8_lossy(&body).into_owned();
    answer
}

/// Whether the server has closed `s`, waiting at most `within`; what it sent meanwhile.
pub fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    read_until_closed(s, within).1
}

/// The first response in `bytes`.
pub fn parse(bytes: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Answer { status, head: head.to_owned(), body: body.to_owned() }
}

/// `env` with the tenant contoso.example and a token of it.
pub fn contoso_with_token(env: &Env) -> String {
    env.contoso();
    env.ok(&["token", "create", "--tenant", "contoso.example", "--name", "test"]).trim().to_owned()
}

pub fn user(name: &str) -> String {
    serde_json::json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name }).to_string()
}
