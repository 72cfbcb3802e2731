//! A loopback SMTP server that keeps what it receives, for tests that read mail: the
//! console's one-time codes, the outbox's notifications. It speaks what an SMTP client
//! such as lettre's needs (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT, DATA with dot
//! unstuffing, RSET, NOOP, QUIT) and decodes each message enough to assert on it: the
//! headers (folded lines joined, RFC 2047 encoded words decoded) and the text body
//! (quoted-printable or base64, the text/plain part of a multipart message).
use crate::BrowserError;
use base64::Engine;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One message as the sink received it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// The envelope sender (MAIL FROM), without angle brackets.
    pub from: String,
    /// The envelope recipients (RCPT TO), without angle brackets, in order.
    pub recipients: Vec<String>,
    /// The headers in order, names as sent, values unfolded and decoded.
    pub headers: Vec<(String, String)>,
    /// The Subject header, decoded.
    pub subject: String,
    /// The text body, transfer encoding undone.
    pub body: String,
    /// The message as sent after DATA (dot-unstuffed, CRLF line ends).
    pub raw: String,
}

impl Message {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
struct Inbox {
    messages: Vec<Message>,
    /// Per message, the addresses whose `wait_for` has returned it (lower case).
    taken: Vec<Vec<String>>,
}

/// A running sink; it stops when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    port: u16,
    inbox: Arc<Mutex<Inbox>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// A sink that accepts every message.
    pub async fn start() -> Result<SmtpSink, BrowserError> {
        SmtpSink::with_mode(false).await
    }

    /// A sink that answers 550 to every recipient, as a relay that knows no such mailbox.
    pub async fn refusing() -> Result<SmtpSink, BrowserError> {
        SmtpSink::with_mode(true).await
    }

    async fn with_mode(refuse: bool) -> Result<SmtpSink, BrowserError> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(BrowserError::io("binding the SMTP sink"))?;
        let port = listener.local_addr().map_err(BrowserError::io("binding the SMTP sink"))?.port();
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let arrived = Arc::new(Notify::new());
        let (keep, ring) = (inbox.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (keep, ring) = (keep.clone(), ring.clone());
                tokio::spawn(async move {
                    let _ = converse(socket, refuse, &keep, &ring).await;
                });
            }
        });
        Ok(SmtpSink { port, inbox, arrived, task })
    }

    /// `smtp://127.0.0.1:PORT`, the form tenantsync's mail settings take.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The port it listens on (loopback).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything received so far, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.inbox.lock().map(|i| i.messages.clone()).unwrap_or_default()
    }

    /// Waits for the next message to `address` (an envelope recipient, case-insensitive)
    /// that no earlier call for the same address returned, and returns it.
    pub async fn wait_for(&self, address: &str, timeout: Duration) -> Result<Message, BrowserError> {
        let started = Instant::now();
        loop {
            let arrived = self.arrived.notified();
            if let Some(m) = self.take(address)? {
                return Ok(m);
            }
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() || tokio::time::timeout(left, arrived).await.is_err() {
                let seen: Vec<String> = self.messages().iter().map(|m| format!("to {} '{}'", m.recipients.join(", "), m.subject)).collect();
                return Err(BrowserError::NotFound {
                    what: format!("no new mail to {address} within {} ms", timeout.as_millis()),
                    url: self.url(),
                    hint: if seen.is_empty() { " (nothing received)".to_owned() } else { format!(" (received: {})", seen.join("; ")) },
                });
            }
        }
    }

    fn take(&self, address: &str) -> Result<Option<Message>, BrowserError> {
        let mut inbox = self.inbox.lock().map_err(|_| BrowserError::Unexpected("the SMTP sink's lock is poisoned".into()))?;
        let Inbox { messages, taken } = &mut *inbox;
        let address = address.to_lowercase();
        for (m, t) in messages.iter().zip(taken.iter_mut()) {
            if !t.contains(&address) && m.recipients.iter().any(|r| r.to_lowercase() == address) {
                t.push(address);
                return Ok(Some(m.clone()));
            }
        }
        Ok(None)
    }
}

/// The address inside `<...>` of a MAIL FROM or RCPT TO argument (parameters dropped).
fn path_of(argument: &str) -> String {
    let argument = argument.trim();
    match (argument.find('<'), argument.find('>')) {
        (Some(a), Some(b)) if a < b => argument.get(a + 1..b).unwrap_or_default().to_owned(),
        _ => argument.split_whitespace().next().unwrap_or_default().to_owned(),
    }
}

/// One SMTP conversation.
async fn converse(socket: tokio::net::TcpStream, refuse: bool, inbox: &Mutex<Inbox>, arrived: &Notify) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 tenantsync-test-sink ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut recipients = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let verb = text.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let rest = text.get(verb.len()..).unwrap_or_default();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-tenantsync-test-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 tenantsync-test-sink\r\n",
            "MAIL" => {
                from = path_of(rest.trim_start().get(5..).unwrap_or_default());
                recipients.clear();
                b"250 2.1.0 ok\r\n"
            }
            "RCPT" if refuse => b"550 5.1.1 no such mailbox\r\n",
            "RCPT" => {
                recipients.push(path_of(rest.trim_start().get(3..).unwrap_or_default()));
                b"250 2.1.5 ok\r\n"
            }
            "DATA" if recipients.is_empty() => b"554 5.5.1 no valid recipients\r\n",
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut raw = String::new();
                loop {
                    line.clear();
                    if read.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(());
                    }
                    let l = String::from_utf8_lossy(&line);
                    let l = l.trim_end_matches(['\r', '\n']);
                    if l == "." {
                        break;
                    }
                    raw.push_str(l.strip_prefix('.').filter(|_| l.starts_with("..")).unwrap_or(l));
                    raw.push_str("\r\n");
                }
                let message = parse(std::mem::take(&mut from), std::mem::take(&mut recipients), raw);
                if let Ok(mut inbox) = inbox.lock() {
                    inbox.messages.push(message);
                    inbox.taken.push(Vec::new());
                }
                arrived.notify_waiters();
                b"250 2.0.0 queued\r\n"
            }
            "RSET" => {
                from.clear();
                recipients.clear();
                b"250 2.0.0 ok\r\n"
            }
            "NOOP" => b"250 2.0.0 ok\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// Splits the raw message into unfolded headers and a body.
fn split(raw: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map_or("", |(_, v)| v.as_str())
}

/// A parameter of a structured header, e.g. `boundary` of Content-Type.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Undoes a Content-Transfer-Encoding.
fn decode_body(body: &str, encoding: &str) -> String {
    match encoding.trim().to_ascii_lowercase().as_str() {
        "quoted-printable" => quoted_printable::decode(body, quoted_printable::ParseMode::Robust)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|_| body.to_owned()),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD.decode(compact).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_else(|_| body.to_owned())
        }
        _ => body.to_owned(),
    }
}

/// The text of an entity: its own body, or the first text/plain part of a multipart one.
fn text_of(headers: &[(String, String)], body: &str) -> String {
    let content_type = header(headers, "Content-Type");
    if content_type.to_ascii_lowercase().starts_with("multipart/")
        && let Some(boundary) = parameter(content_type, "boundary")
    {
        let delimiter = format!("--{boundary}");
        let parts: Vec<(Vec<(String, String)>, String)> =
            body.split(&delimiter).skip(1).filter(|p| !p.starts_with("--")).map(|p| split(p.trim_start_matches("\r\n"))).collect();
        let plain = parts
            .iter()
            .find(|(h, _)| header(h, "Content-Type").is_empty() || header(h, "Content-Type").to_ascii_lowercase().starts_with("text/plain"))
            .or(parts.first());
        return plain.map(|(h, b)| text_of(h, b.trim_end_matches("\r\n"))).unwrap_or_default();
    }
    decode_body(body, header(headers, "Content-Transfer-Encoding")).replace("\r\n", "\n").trim_end_matches('\n').to_owned()
}

/// Decodes RFC 2047 encoded words (`=?charset?B|Q?text?=`), as UTF-8.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let decoded = rest.get(start + 2..).and_then(|after| {
            let mut pieces = after.splitn(3, '?');
            let (_charset, kind, tail) = (pieces.next()?, pieces.next()?, pieces.next()?);
            let end = tail.find("?=")?;
            let text = tail.get(..end)?;
            let bytes = match kind.to_ascii_uppercase().as_str() {
                "B" => base64::engine::general_purpose::STANDARD.decode(text).ok()?,
                "Q" => quoted_printable::decode(text.replace('_', " "), quoted_printable::ParseMode::Robust).ok()?,
                _ => return None,
            };
            let used = 2 + _charset.len() + 1 + kind.len() + 1 + end + 2;
            Some((String::from_utf8_lossy(&bytes).into_owned(), used))
        });
        let before = rest.get(..start).unwrap_or_default();
        match decoded {
            Some((text, used)) => {
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = rest.get(start + used..).unwrap_or_default();
                last_was_word = true;
            }
            None => {
                out.push_str(rest.get(..start + 2).unwrap_or_default());
                rest = rest.get(start + 2..).unwrap_or_default();
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

fn parse(from: String, recipients: Vec<String>, raw: String) -> Message {
    let (mut headers, body) = split(&raw);
    let body = text_of(&headers, &body);
    for (_, value) in &mut headers {
        *value = decode_words(value);
    }
    let subject = header(&headers, "Subject").to_owned();
    Message { from, recipients, headers, subject, body, raw }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_and_bodies_are_decoded() {
        assert_eq!(decode_words("=?utf-8?b?Q29kZTogw6k=?= =?utf-8?q?_and_more?="), "Code: é and more");
        assert_eq!(decode_words("plain =?x"), "plain =?x");
        let raw = "Subject: =?utf-8?q?Your_code?=\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nYour code is 123456 =\r\nand caf=C3=A9\r\n";
        let m = parse("a@b".into(), vec!["c@d".into()], raw.into());
        assert_eq!(m.subject, "Your code");
        assert_eq!(m.body, "Your code is 123456 and café");
        let multi = "Content-Type: multipart/alternative; boundary=\"xx\"\r\n\r\n--xx\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--xx\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--xx--\r\n";
        assert_eq!(parse(String::new(), vec![], multi.into()).body, "hello");
        assert_eq!(path_of(" <ann@litware.example> SIZE=12"), "ann@litware.example");
    }
}
