//! The SMTP mailer against a local SMTP sink (tenantsync-browser's `SmtpSink`: a listener
//! on loopback that speaks RFC 5321 and keeps what it receives, or refuses every recipient).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod webhook;

use std::sync::Arc;
use std::time::Duration;
use tenantsync_browser::SmtpSink;
use tenantsync_governance::Mailer;
use tenantsync_mail::SmtpMailer;

#[tokio::test]
async fn a_message_reaches_the_relay_with_its_recipients_subject_and_body() {
    let sink = SmtpSink::start().await.unwrap();
    let mailer = SmtpMailer::new(&sink.url(), "tenantsync <noreply@contoso.example>").unwrap();
    mailer.send(&["sam@contoso.example".into(), "ann@litware.example".into()], "Action required: approve or deny a request", "access package 1").await.unwrap();
    let got = sink.wait_for("ann@litware.example", Duration::from_secs(5)).await.unwrap();
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(got.recipients, vec!["sam@contoso.example", "ann@litware.example"]);
    assert_eq!(got.from, "noreply@contoso.example");
    assert_eq!(got.subject, "Action required: approve or deny a request");
    assert_eq!(got.header("From"), Some("tenantsync <noreply@contoso.example>"));
    assert_eq!(got.body, "access package 1");
}

#[tokio::test]
async fn a_refusal_is_an_error_saying_why() {
    let sink = SmtpSink::refusing().await.unwrap();
    let mailer = SmtpMailer::new(&sink.url(), "noreply@contoso.example").unwrap();
    let err = mailer.send(&["ghost@contoso.example".into()], "s", "b").await.unwrap_err();
    assert!(err.contains("550") || err.to_lowercase().contains("mailbox"), "{err}");
    assert!(sink.messages().is_empty());
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

    let refusing = SmtpSink::refusing().await.unwrap();
    let report = gov.send_outbox(&SmtpMailer::new(&refusing.url(), "noreply@contoso.example").unwrap()).await.unwrap();
    assert_eq!((report.sent, report.deferred), (0, 2));
    assert!(refusing.messages().is_empty());
    let sink = SmtpSink::start().await.unwrap();
    let mailer = SmtpMailer::new(&sink.url(), "noreply@contoso.example").unwrap();
    assert_eq!(gov.send_outbox(&mailer).await.unwrap().sent, 0, "not before the back-off");
    clock.advance_ms(60_000);
    assert_eq!(gov.send_outbox(&mailer).await.unwrap().sent, 2);
    assert_eq!(gov.send_outbox(&mailer).await.unwrap().sent, 0, "sent once");
    let mut recipients: Vec<Vec<String>> = sink.messages().iter().map(|r| r.recipients.clone()).collect();
    recipients.sort();
    assert_eq!(recipients, vec![vec!["ann@litware.example".to_string()], vec!["kim@contoso.example".to_string(), "sam.smith@contoso.example".to_string()]]);
    let kept = store.outbox(t, 10).await.unwrap();
    assert!(kept.iter().all(|m| m.delivered.is_some() && m.attempts == 2), "{kept:?}");
}
