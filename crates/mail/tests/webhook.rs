//! The webhook against local receivers started by the test: signed JSON posts over plain
//! HTTP, a refusal tried again after the outbox's back-off with the same delivery id, a
//! receiver that is not there; and over HTTPS with a certificate made by the `openssl`
//! command, refused (and kept) while its CA is not trusted, delivered once it is.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tenantsync_domain::{FixedClock, Mail, NewTenant, NewUser, ObjectId, Upn};
use tenantsync_governance::Governance;
use tenantsync_mail::{Webhook, signature};
use tenantsync_store::{AccessStep, AccessStore, OutboxMessage, Store};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// One request as received: its request line, headers (lower-case names) and body.
#[derive(Debug, Clone)]
struct Hit {
    line: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// A receiver answering each request with the next status of `statuses` (then 200),
/// over plain HTTP or, with `tls`, over HTTPS.
async fn receiver(statuses: Vec<u16>, tls: Option<TlsAcceptor>) -> (String, Arc<Mutex<Vec<Hit>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://127.0.0.1:{}/hooks/tenantsync", listener.local_addr().unwrap().port());
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    let statuses = Arc::new(Mutex::new(statuses.into_iter()));
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            match &tls {
                // A client that does not trust the certificate ends the handshake: no hit.
                Some(acceptor) => match acceptor.accept(socket).await {
                    Ok(stream) => answer(stream, &keep, &statuses).await,
                    Err(_) => continue,
                },
                None => answer(socket, &keep, &statuses).await,
            }
        }
    });
    (url, got)
}

/// Reads one request from `socket`, keeps it, answers the next status.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut socket: S, keep: &Mutex<Vec<Hit>>, statuses: &Mutex<std::vec::IntoIter<u16>>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut buf).await.unwrap();
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.lines();
    let line = lines.next().unwrap().to_owned();
    let headers: BTreeMap<String, String> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())).collect();
    let length: usize = headers["content-length"].parse().unwrap();
    while data.len() < head_end + 4 + length {
        let n = socket.read(&mut buf).await.unwrap();
        data.extend_from_slice(&buf[..n]);
    }
    let body = data[head_end + 4..head_end + 4 + length].to_vec();
    keep.lock().unwrap().push(Hit { line, headers, body });
    let status = statuses.lock().unwrap().next().unwrap_or(200);
    let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    socket.write_all(answer.as_bytes()).await.unwrap();
    let _ = socket.shutdown().await;
}

/// A test CA and a certificate it signed for localhost and 127.0.0.1, made with the
/// `openssl` command as an operator would: the CA's PEM file, and the receiver's TLS.
fn certificate(dir: &Path) -> (PathBuf, TlsAcceptor) {
    let made = tenantsync_browser::test_certificate(dir, "tenantsync webhook test CA").unwrap();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&made.cert).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(&made.key).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    (made.ca, TlsAcceptor::from(Arc::new(config)))
}

/// A store with one undelivered message of a tenant, on a clock the test moves.
async fn one_message() -> (tempfile::TempDir, Arc<FixedClock>, Governance, Arc<tenantsync_store_sqlite::SqliteStore>, OutboxMessage) {
    let dir = tempfile::tempdir().unwrap();
    let t0: jiff::Timestamp = "2026-12-06T09:00:00Z".parse().unwrap();
    let clock = Arc::new(FixedClock::new(t0));
    let store = Arc::new(tenantsync_store_sqlite::SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap());
    let t = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap().id;
    let sam = store.create_user(t, NewUser::new(Upn::parse("sam@contoso.example").unwrap())).await.unwrap().id;
    let message = OutboxMessage {
        id: ObjectId::new(),
        created: t0,
        event: "accessGranted".into(),
        recipients: vec![sam],
        addresses: vec![],
        subject: "You now have access".into(),
        body: "access package 1".into(),
        attempts: 0,
        next_attempt: t0,
        delivered: None,
    };
    store.commit_access(t, AccessStep { outbox: vec![message.clone()], ..AccessStep::default() }).await.unwrap();
    let gov = Governance::new(store.clone());
    (dir, clock, gov, store, message)
}

#[tokio::test]
async fn an_https_receiver_gets_signed_posts_when_its_ca_is_trusted_and_nothing_is_lost_before() {
    let (dir, clock, gov, _store, message) = one_message().await;
    let certs = tempfile::tempdir().unwrap();
    let (ca, tls) = certificate(certs.path());
    let (url, got) = receiver(vec![], Some(tls)).await;
    let secret = b"shared over https";

    // The Web PKI's roots do not know the test CA: refused, kept for a retry.
    let untrusting = Webhook::new(&url, secret).unwrap();
    let report = gov.deliver_outbox(None, Some(&untrusting)).await.unwrap();
    assert_eq!((report.sent, report.deferred), (0, 1), "an untrusted certificate is a failed attempt");
    assert!(got.lock().unwrap().is_empty(), "nothing was posted to a receiver whose certificate is not trusted");

    // With the operator's CA file: delivered after the back-off, signed.
    let trusting = Webhook::trusting(&url, secret, &std::fs::read(&ca).unwrap()).unwrap();
    assert_eq!(gov.deliver_outbox(None, Some(&trusting)).await.unwrap().sent, 0, "not before the back-off");
    clock.advance_ms(60_000);
    assert_eq!(gov.deliver_outbox(None, Some(&trusting)).await.unwrap().sent, 1);
    let hits = got.lock().unwrap().clone();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.line, "POST /hooks/tenantsync HTTP/1.1");
    assert_eq!(hit.headers["x-tenantsync-delivery"], message.id.to_string());
    let ts: i64 = hit.headers["x-tenantsync-timestamp"].parse().unwrap();
    assert_eq!(hit.headers["x-tenantsync-signature"], signature(secret, ts, &hit.body).unwrap());
    let body: serde_json::Value = serde_json::from_slice(&hit.body).unwrap();
    assert_eq!((body["id"].as_str(), body["attempt"].as_i64()), (Some(message.id.to_string().as_str()), Some(2)));
    drop(dir);
}

#[tokio::test]
async fn the_outbox_is_posted_signed_and_a_refusal_is_posted_again_after_the_back_off() {
    let dir = tempfile::tempdir().unwrap();
    let t0: jiff::Timestamp = "2026-12-06T09:00:00Z".parse().unwrap();
    let clock = Arc::new(FixedClock::new(t0));
    let store = Arc::new(tenantsync_store_sqlite::SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap());
    let t = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap().id;
    let mut sam = NewUser::new(Upn::parse("sam@contoso.example").unwrap());
    sam.attrs.mail = Some(Mail::parse("sam.smith@contoso.example").unwrap());
    let sam = store.create_user(t, sam).await.unwrap().id;
    let message = OutboxMessage {
        id: ObjectId::new(),
        created: t0,
        event: "accessGranted".into(),
        recipients: vec![sam],
        addresses: vec![],
        subject: "You now have access".into(),
        body: "access package 1".into(),
        attempts: 0,
        next_attempt: t0,
        delivered: None,
    };
    store.commit_access(t, AccessStep { outbox: vec![message.clone()], ..AccessStep::default() }).await.unwrap();
    let gov = Governance::new(store.clone());
    let secret = b"shared between tenantsync and the receiver";

    // Nobody listening: deferred.
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = gone.local_addr().unwrap().port();
    drop(gone);
    let nowhere = Webhook::new(&format!("http://127.0.0.1:{port}/"), secret).unwrap();
    let report = gov.deliver_outbox(None, Some(&nowhere)).await.unwrap();
    assert_eq!((report.sent, report.deferred), (0, 1));

    // A receiver that refuses once, then takes it: posted again after the back-off.
    let (url, got) = receiver(vec![503], None).await;
    let hook = Webhook::new(&url, secret).unwrap();
    clock.advance_ms(60_000);
    assert_eq!(gov.deliver_outbox(None, Some(&hook)).await.unwrap().deferred, 1);
    assert_eq!(gov.deliver_outbox(None, Some(&hook)).await.unwrap().sent, 0, "not before the back-off");
    clock.advance_ms(120_000);
    assert_eq!(gov.deliver_outbox(None, Some(&hook)).await.unwrap().sent, 1);
    assert_eq!(gov.deliver_outbox(None, Some(&hook)).await.unwrap().sent, 0, "delivered once taken");

    let hits = got.lock().unwrap().clone();
    assert_eq!(hits.len(), 2);
    for hit in &hits {
        assert_eq!(hit.line, "POST /hooks/tenantsync HTTP/1.1");
        assert_eq!(hit.headers["content-type"], "application/json");
        assert_eq!(hit.headers["x-tenantsync-event"], "accessGranted");
        assert_eq!(hit.headers["x-tenantsync-delivery"], message.id.to_string(), "the same id on every attempt");
        let ts: i64 = hit.headers["x-tenantsync-timestamp"].parse().unwrap();
        assert_eq!(hit.headers["x-tenantsync-signature"], signature(secret, ts, &hit.body).unwrap(), "signed with the secret");
        assert_ne!(hit.headers["x-tenantsync-signature"], signature(b"another secret", ts, &hit.body).unwrap());
        let body: serde_json::Value = serde_json::from_slice(&hit.body).unwrap();
        assert_eq!(body["id"], message.id.to_string());
        assert_eq!(body["tenantId"], t.to_string());
        assert_eq!(body["event"], "accessGranted");
        assert_eq!(body["to"], serde_json::json!(["sam.smith@contoso.example"]));
        assert_eq!(body["recipients"], serde_json::json!([sam.to_string()]));
    }
    let attempts: Vec<i64> = hits.iter().map(|h| serde_json::from_slice::<serde_json::Value>(&h.body).unwrap()["attempt"].as_i64().unwrap()).collect();
    assert_eq!(attempts, [2, 3], "the first attempt found no one");
    let kept = store.outbox(t, 10).await.unwrap();
    assert!(kept[0].delivered.is_some());
}

#[test]
fn bad_webhook_settings_are_refused_clearly() {
    assert!(Webhook::new("ftp://hooks.example/", b"s").unwrap_err().to_string().contains("expected http[s]://"));
    assert!(Webhook::new("http://hooks.example/", b"").unwrap_err().to_string().contains("secret is empty"));
    assert!(Webhook::new("hooks.example", b"s").unwrap_err().to_string().contains("expected http[s]://"));
}
