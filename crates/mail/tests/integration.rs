//! The SMTP mailer against a local SMTP sink: a listener on loopback that speaks the
//! protocol (RFC 5321: greeting, EHLO, MAIL, RCPT, DATA, QUIT) and keeps what it receives,
//! or refuses recipients when told to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod webhook;

use std::sync::{Arc, Mutex};
use tenantsync_governance::Mailer;
use tenantsync_mail::SmtpMailer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Default)]
struct Received {
    recipients: Vec<String>,
    data: String,
}

/// Starts a sink; `refuse` makes it answer 550 to every recipient.
async fn sink(refuse: bool) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let keep = keep.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ready\r\n").await.unwrap();
                let mut current = Received::default();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM") {
                        b"250 ok\r\n"
                    } else if upper.starts_with("RCPT TO") {
                        if refuse {
                            b"550 no such mailbox\r\n"
                        } else {
                            current.recipients.push(line[8..].trim().to_owned());
                            b"250 ok\r\n"
                        }
                    } else if upper == "DATA" {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            current.data.push_str(&l);
                            current.data.push('\n');
                        }
                        keep.lock().unwrap().push(std::mem::take(&mut current));
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (url, got)
}

#[tokio::test]
async fn a_message_reaches_the_relay_with_its_recipients_subject_and_body() {
    let (url, got) = sink(false).await;
    let mailer = SmtpMailer::new(&url, "tenantsync <noreply@contoso.example>").unwrap();
    mailer.send(&["sam@contoso.example".into(), "ann@litware.example".into()], "Action required: approve or deny a request", "access package 1").await.unwrap();
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].recipients, vec!["<sam@contoso.example>", "<ann@litware.example>"]);
    assert!(got[0].data.contains("Subject: Action required: approve or deny a request"), "{}", got[0].data);
    assert!(got[0].data.contains("From: tenantsync <noreply@contoso.example>"), "{}", got[0].data);
    assert!(got[0].data.contains("access package 1"), "{}", got[0].data);
}

#[tokio::test]
async fn a_refusal_is_an_error_saying_why() {
    let (url, got) = sink(true).await;
    let mailer = SmtpMailer::new(&url, "noreply@contoso.example").unwrap();
    let err = mailer.send(&["ghost@contoso.example".into()], "s", "b").await.unwrap_err();
    assert!(err.contains("550") || err.to_lowercase().contains("mailbox"), "{err}");
    assert!(got.lock().unwrap().is_empty());
}

#[test]
fn bad_configuration_is_refused_clearly() {
    assert!(SmtpMailer::new("http://x", "a@b.example").unwrap_err().to_string().contains("expected smtp://host[:port]"));
    assert!(SmtpMailer::new("smtp://x:notaport", "a@b.example").unwrap_err().to_string().contains("port"));
    assert!(SmtpMailer::new("smtp://:25", "a@b.example").unwrap_err().to_string().contains("no host"));
    assert!(SmtpMailer::new("smtp://relay.example", "not an address").unwrap_err().to_string().contains("sender 'not an address'"));
    assert!(SmtpMailer::new("smtp://relay.example", "a@b.example").is_ok());
}

/// The outbox sent through the mailer: recipients by their mail (or userPrincipalName),
/// sent messages done, refused ones deferred with back-off.
#[tokio::test]
async fn the_outbox_is_sent_and_what_the_relay_refuses_is_tried_again_later() {
    use tenantsync_domain::{FixedClock, Mail, NewTenant, NewUser, ObjectId, Upn};
    use tenantsync_governance::Governance;
    use tenantsync_store::{AccessStep, AccessStore, OutboxMessage, Store};
    let dir = tempfile::tempdir().unwrap();
    let t0: jiff::Timestamp = "2026-12-06T09:00:00Z".parse().unwrap();
    let clock = Arc::new(FixedClock::new(t0));
    let store = Arc::new(tenantsync_store_sqlite::SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap());
    let t = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap().id;
    let mut sam = NewUser::new(Upn::parse("sam@contoso.example").unwrap());
    sam.attrs.mail = Some(Mail::parse("sam.smith@contoso.example").unwrap());
    let sam = store.create_user(t, sam).await.unwrap().id;
    let kim = store.create_user(t, NewUser::new(Upn::parse("kim@contoso.example").unwrap())).await.unwrap().id;
    let message = |recipients: Vec<ObjectId>, addresses: Vec<String>| OutboxMessage {
        id: ObjectId::new(),
        created: t0,
        event: "approvalRequired".into(),
        recipients,
        addresses,
        subject: "Action required".into(),
        body: "a request awaits".into(),
        attempts: 0,
        next_attempt: t0,
        delivered: None,
    };
    let first = message(vec![sam, kim], vec![]);
    let second = message(vec![], vec!["ann@litware.example".into()]);
    store.commit_access(t, AccessStep { outbox: vec![first.clone(), second.clone()], ..AccessStep::default() }).await.unwrap();
    let gov = Governance::new(store.clone());

    let (refusing, nothing) = sink(true).await;
    let report = gov.send_outbox(&SmtpMailer::new(&refusing, "noreply@contoso.example").unwrap()).await.unwrap();
    assert_eq!((report.sent, report.deferred), (0, 2));
    assert!(nothing.lock().unwrap().is_empty());
    let (url, got) = sink(false).await;
    let mailer = SmtpMailer::new(&url, "noreply@contoso.example").unwrap();
    assert_eq!(gov.send_outbox(&mailer).await.unwrap().sent, 0, "not before the back-off");
    clock.advance_ms(60_000);
    assert_eq!(gov.send_outbox(&mailer).await.unwrap().sent, 2);
    assert_eq!(gov.send_outbox(&mailer).await.unwrap().sent, 0, "sent once");
    let mut recipients: Vec<Vec<String>> = got.lock().unwrap().iter().map(|r| r.recipients.clone()).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        vec![vec!["<ann@litware.example>".to_string()], vec!["<kim@contoso.example>".to_string(), "<sam.smith@contoso.example>".to_string()]]
    );
    let kept = store.outbox(t, 10).await.unwrap();
    assert!(kept.iter().all(|m| m.delivered.is_some() && m.attempts == 2), "{kept:?}");
}
