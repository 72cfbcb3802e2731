//! The topology page: the drawing and the table of the tenant's arrows with their counts
//! at load, the SVG, and the server-sent events that carry new counts after a sync cycle
//! commits (the real store's commit notice, the engine's real cycle).
use super::{Browser, console};
use crate::graph_support::admin_token;
use crate::support::tenant;
use std::time::Duration;
use tenantsync_domain::{NewUser, PartnerSettings, SyncConfiguration, SyncScope, Upn};
use tenantsync_engine::Engine;
use tenantsync_store::{Store, SyncStore, TokenRole};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Reads the event stream on `stream` until `want` appears in it; what was read.
async fn read_until(stream: &mut tokio::net::TcpStream, want: &str) -> String {
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while !seen.contains(want) {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the stream ended: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await;
    assert!(found.is_ok(), "no {want} in: {seen}");
    seen
}

#[tokio::test]
async fn the_topology_page_draws_the_arrows_and_its_events_carry_the_counts_after_a_cycle() {
    let (s, _, _) = console().await;
    let allow =
        PartnerSettings { inbound_auto_redeem: Some(true), outbound_auto_redeem: Some(true), inbound_user_sync: Some(true), inbound_group_sync: Some(true) };
    let fabrikam = tenant(s.store.as_ref(), "fabrikam.example").await;
    for t in [s.tenant.id, fabrikam.id] {
        s.sqlite.set_partner_settings(t, None, allow).await.unwrap();
    }
    s.store.create_user(s.tenant.id, NewUser::new(Upn::parse("alice@contoso.example").unwrap())).await.unwrap();
    let engine = Engine::new(s.sqlite.clone());
    let mut c = SyncConfiguration::new("To Fabrikam", s.tenant.id, fabrikam.id).unwrap();
    c.scope = SyncScope::AllUsers;
    let c = engine.create_configuration(c).await.unwrap();
    engine.start(c.id).await.unwrap();

    let token = admin_token(&s, TokenRole::Reader).await;
    let mut b = Browser::new(&s);
    assert_eq!(b.sign_in_with_token("contoso.example", &token).await.location(), "/admin");
    assert!(b.get("/admin").await.body.contains("href=\"/admin/topology\""), "linked from the navigation");
    let p = b.get("/admin/topology").await;
    assert_eq!(p.status, 200, "{}", p.body);
    let id = c.id.to_string();
    for want in [
        "contoso.example → fabrikam.example".to_owned(),
        format!("id=\"arrow-{id}-synced\">0<"),
        "<img id=\"drawing\" src=\"/admin/topology.svg\"".to_owned(),
        "alt=\"Drawing of 2 tenants and 1 sync arrows".to_owned(),
        "data-events=\"/admin/topology/events\"".to_owned(),
        "<script src=\"/console.js\" defer>".to_owned(),
    ] {
        assert!(p.body.contains(&want), "{want} in {}", p.body);
    }
    assert!(p.header("content-security-policy").unwrap().contains("connect-src 'self'"));
    let svg = b.get("/admin/topology.svg").await;
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(svg.body.contains("<svg") && svg.body.contains("all users · 0 synced, healthy"), "{}", svg.body);
    let js = b.get("/console.js").await;
    assert!(js.header("content-type").unwrap().starts_with("text/javascript") && js.body.contains("EventSource"));

    // The event source: open while the cycle runs and commits.
    let mut stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let cookie: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let req = format!("GET /admin/topology/events HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nAccept: text/event-stream\r\n\r\n", s.addr, cookie.join("; "));
    stream.write_all(req.as_bytes()).await.unwrap();
    let head = read_until(&mut stream, "\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200") && head.to_ascii_lowercase().contains("content-type: text/event-stream"), "{head}");
    let report = engine.run_cycle(c.id).await.unwrap();
    assert_eq!(s.sqlite.count_users_by_anchor_tenant(fabrikam.id, s.tenant.id).await.unwrap(), 1, "{report:?}");
    let events = read_until(&mut stream, "\"synced\":1").await;
    assert!(events.contains("event: counts") && events.contains(&format!("\"arrow\":\"{id}\"")) && events.contains("\"status\":\"Healthy\""), "{events}");
    // The page loaded now shows the new counts too (without a script).
    assert!(b.get("/admin/topology").await.body.contains(&format!("id=\"arrow-{id}-synced\">1<")));
    assert!(b.get("/admin/topology.svg").await.body.contains("1 synced, healthy"));

    // Signed out: the events are the sign-in redirect, not a stream.
    let mut anon = Browser::new(&s);
    assert_eq!(anon.get("/admin/topology/events").await.status, 303);
}

/// A connected organization whose people may request a package draws a dashed link to
/// the tenant, labelled by the package with its counts, listed in the page's table: what
/// `tenantsync topology draw` draws from the same reader.
#[tokio::test]
async fn a_just_in_time_link_is_drawn_dashed_and_listed_with_its_counts() {
    let (s, _, mail) = console().await;
    let api = crate::graph_support::Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sponsor = api.user("sam@contoso.example", "Sam Sponsor").await;
    let (package, policy, _) = crate::graph_access::joint_venture(&api, &sponsor).await;
    let token = admin_token(&s, TokenRole::Reader).await;
    let mut b = Browser::new(&s);
    assert_eq!(b.sign_in_with_token("contoso.example", &token).await.location(), "/admin");
    let p = b.get("/admin/topology").await;
    assert_eq!(p.status, 200, "{}", p.body);
    for want in [
        "<table class=\"responsive\" id=\"links\"",
        "<td data-label=\"People of\">@litware.example</td>",
        "<td data-label=\"May request\">Projects</td>",
        "id=\"link-0-assigned\">0<",
        "id=\"link-0-pending\">0<",
        "and 1 just-in-time links",
    ] {
        assert!(p.body.contains(want), "{want} in {}", p.body);
    }
    assert!(p.body.contains("id=\"no-arrows\""), "no sync arrow, the link still drawn: {}", p.body);
    assert!(p.body.contains("data-events=\"/admin/topology/events\"") && p.body.contains("<script src=\"/console.js\""), "live without arrows: {}", p.body);
    // The page's event stream, open while Ann asks and Sam approves: the link's counts
    // come as `links` events (read again every few seconds; nothing else tells).
    let mut stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let cookie: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let req = format!("GET /admin/topology/events HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nAccept: text/event-stream\r\n\r\n", s.addr, cookie.join("; "));
    stream.write_all(req.as_bytes()).await.unwrap();
    let head = read_until(&mut stream, "\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // Ann asks: one waiting; the sponsor approves: one assigned.
    let mut ann = super::by_mail(&s, &mail, "ann@litware.example").await;
    let csrf = ann.get(&format!("/my/packages/{package}")).await.csrf();
    let r = ann.post(&format!("/my/packages/{package}/request"), &[("csrf", &csrf), ("policy", &policy), ("justification", "Falcon")]).await;
    let request = r.location().strip_prefix("/my/requests?submitted=").unwrap().to_owned();
    let events = read_until(&mut stream, "\"pending\":1").await;
    assert!(events.contains("event: links") && events.contains("{\"link\":0,\"assigned\":0,\"pending\":1}"), "{events}");
    assert!(b.get("/admin/topology").await.body.contains("id=\"link-0-pending\">1<"));
    assert!(b.get("/admin/topology.svg").await.body.contains("on request: Projects · 0 assigned, 1 pending"));
    let mut sam = super::by_mail(&s, &mail, "sam@contoso.example").await;
    let csrf = sam.get(&format!("/my/approvals/{request}")).await.csrf();
    assert_eq!(sam.post(&format!("/my/approvals/{request}"), &[("csrf", &csrf), ("decision", "approve")]).await.status, 303);
    let events = read_until(&mut stream, "\"assigned\":1").await;
    assert!(events.contains("{\"link\":0,\"assigned\":1,\"pending\":0}"), "{events}");
    let p = b.get("/admin/topology").await;
    assert!(p.body.contains("id=\"link-0-assigned\">1<") && p.body.contains("id=\"link-0-pending\">0<"), "{}", p.body);
    let svg = b.get("/admin/topology.svg").await.body;
    assert!(svg.contains("on request: Projects · 1 assigned, 0 pending") && svg.contains("stroke-dasharray"), "{svg}");
    assert!(svg.contains("@litware.example"), "the organization's mail domain, outside the topology: {svg}");
}
