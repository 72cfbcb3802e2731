//! The web console over HTTP, as a browser without scripts uses it: a cookie jar, forms
//! posted as `application/x-www-form-urlencoded`, redirects read from `Location`.
//! Sign-in with an admin token (and another tenant's token refused), CSRF refusals,
//! idle and absolute expiry under the store's clock, sign-out, the mailed code (read
//! from a loopback SMTP sink through the real mailer) with its attempts, My Access and
//! approvals (403 for a requestor on the approver's page), and paged lists.
use crate::graph_support::{Api, admin_token, token_of};
use crate::support::{Server, tenant};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tenantsync_domain::FixedClock;
use tenantsync_store::TokenRole;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The administration pages of tenants, partners, tokens, entitlement management and sync editing.
mod admin_pages;
/// Editing an access package and a policy after creation.
mod editing;
/// The topology page and its live counts.
mod topology;

/// A minimal browser: cookies kept by name, no redirects followed.
struct Browser<'a> {
    s: &'a Server,
    cookies: HashMap<String, String>,
}

struct Page {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn location(&self) -> &str {
        self.header("location").unwrap_or_default()
    }

    /// The value of the hidden `csrf` field of the page's first form.
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a csrf field");
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

impl<'a> Browser<'a> {
    fn new(s: &'a Server) -> Browser<'a> {
        Browser { s, cookies: HashMap::new() }
    }

    async fn send(&mut self, method: &str, path: &str, body: Option<String>) -> Page {
        let mut stream = tokio::net::TcpStream::connect(self.s.addr).await.unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.s.addr);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        let body = body.unwrap_or_default();
        req.push_str(&format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
        let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
                let (name, value) = pair.split_once('=').unwrap();
                if attrs.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        Page { status, headers, body: body.to_owned() }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send("POST", path, Some(form(fields))).await
    }

    /// Signs in to `tenant` with `token` through the sign-in page.
    async fn sign_in_with_token(&mut self, tenant: &str, token: &str) -> Page {
        let p = self.get("/signin").await;
        assert_eq!(p.status, 200);
        let csrf = p.csrf();
        self.post("/signin/token", &[("csrf", &csrf), ("tenant", tenant), ("token", token), ("next", "")]).await
    }

    /// Asks for a code for `email` at `tenant`.
    async fn ask_code(&mut self, tenant: &str, email: &str) -> Page {
        let csrf = self.get("/signin").await.csrf();
        self.post("/signin/email", &[("csrf", &csrf), ("tenant", tenant), ("email", email)]).await
    }

    async fn enter_code(&mut self, tenant: &str, email: &str, code: &str) -> Page {
        let csrf = self.get(&format!("/signin/code?tenant={tenant}&email={email}")).await.csrf();
        self.post("/signin/code", &[("csrf", &csrf), ("tenant", tenant), ("email", email), ("code", code)]).await
    }
}

/// A loopback SMTP sink keeping each message's recipients and text.
async fn sink() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
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
                write.write_all(b"220 sink\r\n").await.unwrap();
                let (mut to, mut data) = (String::new(), String::new());
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("RCPT TO") {
                        to.push_str(line[8..].trim());
                        b"250 ok\r\n"
                    } else if upper == "DATA" {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        keep.lock().unwrap().push((std::mem::take(&mut to), std::mem::take(&mut data)));
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

/// The code of the last message to `email` (waiting for it to arrive).
async fn code_for(mail: &Arc<Mutex<Vec<(String, String)>>>, email: &str) -> String {
    for _ in 0..200 {
        if let Some((_, data)) = mail.lock().unwrap().iter().rev().find(|(to, _)| to.contains(email)) {
            let at = data.find(" is ").unwrap() + 4;
            return data[at..at + 8].to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no code was mailed to {email}");
}

async fn console() -> (Server, Arc<FixedClock>, Arc<Mutex<Vec<(String, String)>>>) {
    let clock = Arc::new(FixedClock::new(jiff::Timestamp::now()));
    let (url, mail) = sink().await;
    let mailer = tenantsync_mail::SmtpMailer::new(&url, "tenantsync <noreply@contoso.example>").unwrap();
    let s = Server::console(clock.clone(), Some(Arc::new(mailer))).await;
    (s, clock, mail)
}

const MINUTE: i64 = 60_000;

#[tokio::test]
async fn an_admin_signs_in_with_a_token_and_the_pages_render_accessibly() {
    let (s, _, _) = console().await;
    let token = admin_token(&s, TokenRole::Admin).await;
    let mut b = Browser::new(&s);
    assert_eq!(b.get("/admin").await.location(), "/signin?next=%2Fadmin");
    let signin = b.get("/signin").await;
    for needle in ["<html lang=\"en\">", "class=\"skip\" href=\"#main\"", "<main id=\"main\"", "<label for=\"token\">", "<title>Sign in · tenantsync</title>"]
    {
        assert!(signin.body.contains(needle), "{needle}");
    }
    let p = b.sign_in_with_token("contoso.example", &token).await;
    assert_eq!((p.status, p.location()), (303, "/admin"));
    let cookie = p.headers.iter().find(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.starts_with("tsconsole=")).unwrap().1.clone();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/") && !cookie.contains("Secure"), "{cookie}");
    let overview = b.get("/admin").await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert!(overview.body.contains("<h1>Overview</h1>") && overview.body.contains("Signed in as Admin (admin)"));
    assert!(overview.header("content-security-policy").unwrap().contains("default-src 'none'"));
    assert_eq!(b.get("/").await.location(), "/admin");
    assert_eq!(b.get("/console.css").await.status, 200);
    // The other APIs are still served beside it.
    assert_eq!(s.raw("GET", "/healthz", None, None, &[]).await.status, 200);
    assert_eq!(Api::new(&s, token).get("/v1.0/organization").await.status, 200);
}

#[tokio::test]
async fn a_token_of_another_tenant_does_not_sign_in_and_a_scim_token_neither() {
    let (s, _, _) = console().await;
    let fabrikam = tenant(s.store.as_ref(), "fabrikam.example").await;
    let theirs = token_of(&s, fabrikam.id, TokenRole::Admin).await;
    let mut b = Browser::new(&s);
    let p = b.sign_in_with_token("contoso.example", &theirs).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("belongs to another tenant"));
    assert!(!b.cookies.contains_key("tsconsole"));
    assert_eq!(b.sign_in_with_token("contoso.example", &s.token).await.status, 403, "a SCIM token");
    assert_eq!(b.sign_in_with_token("contoso.example", "tsync_nothing").await.status, 401);
    // Its own tenant takes it.
    assert_eq!(b.sign_in_with_token("fabrikam.example", &theirs).await.location(), "/admin");
}

#[tokio::test]
async fn a_post_without_the_session_token_is_refused_and_changes_nothing() {
    let (s, _, _) = console().await;
    let token = admin_token(&s, TokenRole::Admin).await;
    let mut b = Browser::new(&s);
    // A sign-in form posted without the token of its page.
    let p = b.post("/signin/token", &[("tenant", "contoso.example"), ("token", &token)]).await;
    assert_eq!(p.status, 403);
    b.sign_in_with_token("contoso.example", &token).await;
    let csrf = b.get("/admin").await.csrf();
    for fields in [vec![], vec![("csrf", "0".repeat(32))]] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let p = b.post("/signout", &fields).await;
        assert_eq!(p.status, 403, "{}", p.body);
        assert!(p.body.contains("security token") && p.body.contains("Nothing was changed"));
        assert_eq!(b.get("/admin").await.status, 200, "still signed in");
    }
    assert_eq!(b.post("/signout", &[("csrf", &csrf)]).await.location(), "/signin?signed_out=1");
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_their_absolute_limit() {
    let (s, clock, _) = console().await;
    let token = admin_token(&s, TokenRole::Admin).await;
    let mut b = Browser::new(&s);
    b.sign_in_with_token("contoso.example", &token).await;
    clock.advance_ms(29 * MINUTE);
    assert_eq!(b.get("/admin").await.status, 200);
    clock.advance_ms(29 * MINUTE);
    assert_eq!(b.get("/admin").await.status, 200, "29 minutes since the last request");
    clock.advance_ms(31 * MINUTE);
    let p = b.get("/admin/users").await;
    assert_eq!((p.status, p.location()), (303, "/signin?next=%2Fadmin%2Fusers&expired=1"));
    assert_eq!(b.get("/admin").await.status, 303, "the expired session is gone");

    let mut b = Browser::new(&s);
    b.sign_in_with_token("contoso.example", &token).await;
    for _ in 0..(8 * 60 / 25) {
        clock.advance_ms(25 * MINUTE);
        assert_eq!(b.get("/admin").await.status, 200);
    }
    clock.advance_ms(25 * MINUTE);
    assert!(b.get("/admin").await.location().ends_with("expired=1"), "past 8 hours, used or not");
}

#[tokio::test]
async fn signing_out_deletes_the_session() {
    let (s, _, _) = console().await;
    let token = admin_token(&s, TokenRole::Admin).await;
    let mut b = Browser::new(&s);
    b.sign_in_with_token("contoso.example", &token).await;
    let stolen = b.cookies.get("tsconsole").cloned().unwrap();
    let csrf = b.get("/admin").await.csrf();
    let p = b.post("/signout", &[("csrf", &csrf)]).await;
    assert!(p.headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.starts_with("tsconsole=;") && v.contains("Max-Age=0")));
    assert!(!b.cookies.contains_key("tsconsole"));
    // The old cookie no longer opens anything.
    b.cookies.insert("tsconsole".into(), stolen);
    assert_eq!(b.get("/admin").await.status, 303);
}

#[tokio::test]
async fn lists_are_pages_of_the_store_with_a_prefix_search() {
    let (s, _, _) = console().await;
    let token = admin_token(&s, TokenRole::Admin).await;
    for i in 0..120 {
        let mut u = tenantsync_domain::NewUser::new(tenantsync_domain::Upn::parse(&format!("user{i:03}@contoso.example")).unwrap());
        u.attrs.display_name = Some(format!("User {i:03}"));
        s.store.create_user(s.tenant.id, u).await.unwrap();
    }
    let mut b = Browser::new(&s);
    b.sign_in_with_token("contoso.example", &token).await;
    let rows = |p: &Page| p.body.matches("<td data-label=\"userPrincipalName\">").count();
    let next = |p: &Page| {
        let at = p.body.find("id=\"next-page\"").map(|_| p.body.find("href=\"/admin/users?").unwrap());
        at.map(|i| {
            let rest = &p.body[i + 6..];
            rest[..rest.find('"').unwrap()].replace("&amp;", "&")
        })
    };
    let first = b.get("/admin/users").await;
    assert_eq!(rows(&first), 50);
    let second = b.get(&next(&first).unwrap()).await;
    assert_eq!(rows(&second), 50);
    let third = b.get(&next(&second).unwrap()).await;
    assert_eq!(rows(&third), 20);
    assert!(next(&third).is_none());
    let found = b.get("/admin/users?q=user11").await;
    assert_eq!(rows(&found), 10, "user110 … user119");
    assert_eq!(rows(&b.get("/admin/users?q=USER%2000").await), 10, "display names, ignoring case");
    // A text with an @ is the start of a userPrincipalName: the one user it names.
    let one = b.get("/admin/users?q=User042%40Contoso").await;
    assert_eq!(rows(&one), 1, "{}", one.body);
    assert!(one.body.contains("<td data-label=\"userPrincipalName\">user042@contoso.example<"));
    assert_eq!(rows(&b.get("/admin/users?q=user042%40fabrikam").await), 0);
    assert_eq!(b.get("/admin/users?after=garbage").await.status, 400);
}

/// A search few or many users match is paged in the order of the indexes it reads: the
/// display-name matches, then the userPrincipalName-only ones, each user once across the
/// pages and across the turn from one part to the other; a cursor is bound to its search.
#[tokio::test]
async fn a_user_search_pages_names_then_sign_in_names_each_user_once() {
    let (s, _, _) = console().await;
    let token = admin_token(&s, TokenRole::Admin).await;
    let mut want = std::collections::BTreeSet::new();
    let people = (0..60)
        .map(|i| (format!("lovelace{i:02}@contoso.example"), Some(format!("Ada {i:02}"))))
        .chain((0..30).map(|i| (format!("ada.k{i:02}@contoso.example"), Some(format!("Countess {i:02}")))))
        .chain((0..10).map(|i| (format!("ada.both{i:02}@contoso.example"), Some(format!("Ada Both {i:02}")))))
        .chain((0..5).map(|i| (format!("grace{i}@contoso.example"), None)));
    for (upn, name) in people {
        let mut u = tenantsync_domain::NewUser::new(tenantsync_domain::Upn::parse(&upn).unwrap());
        u.attrs.display_name = name;
        if !upn.starts_with("grace") {
            want.insert(upn);
        }
        s.store.create_user(s.tenant.id, u).await.unwrap();
    }
    let mut b = Browser::new(&s);
    b.sign_in_with_token("contoso.example", &token).await;
    let upns = |p: &Page| p.body.split("<td data-label=\"userPrincipalName\">").skip(1).map(|r| r[..r.find('<').unwrap()].to_owned()).collect::<Vec<_>>();
    let next = |p: &Page| {
        p.body.find("id=\"next-page\"").map(|_| {
            let i = p.body.find("href=\"/admin/users?").unwrap();
            let rest = &p.body[i + 6..];
            rest[..rest.find('"').unwrap()].replace("&amp;", "&")
        })
    };
    let mut page = b.get("/admin/users?q=ADA").await;
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    loop {
        assert_eq!(page.status, 200, "{}", page.body);
        sizes.push(upns(&page).len());
        seen.extend(upns(&page));
        match next(&page) {
            Some(link) => page = b.get(&link).await,
            None => break,
        }
    }
    assert_eq!(sizes, [50, 50], "70 by name, then 30 by userPrincipalName alone");
    assert_eq!(seen.iter().cloned().collect::<std::collections::BTreeSet<_>>(), want, "each match once");
    assert_eq!(seen.len(), 100);
    assert!(seen[..70].iter().all(|u| !u.starts_with("ada.k")) && seen[70..].iter().all(|u| u.starts_with("ada.k")), "{seen:?}");
    // No one, and one only by userPrincipalName.
    let none = b.get("/admin/users?q=nobody").await;
    assert!(upns(&none).is_empty() && none.body.contains("id=\"no-users\""));
    assert_eq!(upns(&b.get("/admin/users?q=ada.k07").await), ["ada.k07@contoso.example"]);
    // A cursor of one search is refused by another, and a made-up one by any.
    let second = next(&b.get("/admin/users?q=ada").await).unwrap();
    let after = second.split("after=").nth(1).unwrap();
    assert_eq!(b.get(&format!("/admin/users?q=lovelace&after={after}")).await.status, 400);
    assert_eq!(b.get("/admin/users?q=ada&after=garbage").await.status, 400);
}

#[tokio::test]
async fn a_partner_employee_signs_in_by_mail_requests_and_the_sponsor_approves() {
    let (s, _, mail) = console().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sponsor = api.user("sam@contoso.example", "Sam Sponsor").await;
    let (package, _, group) = crate::graph_access::joint_venture(&api, &sponsor).await;

    // Known or not, the answer is the same; only the known address gets a code.
    let mut ann = Browser::new(&s);
    let p = ann.ask_code("contoso.example", "ann@litware.example").await;
    assert_eq!((p.status, p.location()), (303, "/signin/code?tenant=contoso.example&email=ann%40litware.example&next="));
    let p = Browser::new(&s).ask_code("contoso.example", "eve@elsewhere.example").await;
    assert_eq!((p.status, p.location()), (303, "/signin/code?tenant=contoso.example&email=eve%40elsewhere.example&next="));
    let code = code_for(&mail, "ann@litware.example").await;
    assert_eq!(code.len(), 8);
    let p = ann.enter_code("contoso.example", "ann@litware.example", &code).await;
    assert_eq!((p.status, p.location()), (303, "/my"), "{}", p.body);
    assert!(mail.lock().unwrap().iter().all(|(to, _)| !to.contains("eve@")));

    let offered = ann.get("/my").await;
    assert_eq!(offered.status, 200, "{}", offered.body);
    assert!(offered.body.contains("Projects") && offered.body.contains("Why you may request it"), "{}", offered.body);
    let form = ann.get(&format!("/my/packages/{package}")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    let policy = {
        let at = form.body.find("name=\"policy\" value=\"").unwrap() + 21;
        form.body[at..at + 36].to_owned()
    };
    let p = ann.post(&format!("/my/packages/{package}/request"), &[("csrf", &csrf), ("policy", &policy), ("justification", "Falcon project")]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let request = p.location().strip_prefix("/my/requests?submitted=").unwrap().to_owned();
    let mine = ann.get("/my/requests").await;
    assert!(mine.body.contains("pendingApproval") && mine.body.contains("Falcon project"), "{}", mine.body);

    // The requestor on the approver's page and form: 403.
    assert_eq!(ann.get(&format!("/my/approvals/{request}")).await.status, 403);
    let csrf = ann.get("/my").await.csrf();
    assert_eq!(ann.post(&format!("/my/approvals/{request}"), &[("csrf", &csrf), ("decision", "approve")]).await.status, 403);
    // An admin session has no My Access.
    let mut admin = Browser::new(&s);
    admin.sign_in_with_token("contoso.example", &api.token).await;
    assert_eq!(admin.get("/my").await.status, 403);
    assert_eq!(admin.get("/admin").await.status, 200);

    // The sponsor, a user of the tenant, signs in by mail too and approves.
    let mut sam = Browser::new(&s);
    sam.ask_code("contoso.example", "sam@contoso.example").await;
    let code = code_for(&mail, "sam@contoso.example").await;
    assert_eq!(sam.enter_code("contoso.example", "sam@contoso.example", &code).await.location(), "/my");
    assert_eq!(sam.get("/admin").await.status, 403, "a person is no administrator");
    let pending = sam.get("/my/approvals").await;
    assert!(pending.body.contains(&format!("/my/approvals/{request}")), "{}", pending.body);
    let page = sam.get(&format!("/my/approvals/{request}")).await;
    assert!(page.body.contains("Falcon project") && page.body.contains("ann@litware.example"), "{}", page.body);
    let p = sam.post(&format!("/my/approvals/{request}"), &[("csrf", &page.csrf()), ("decision", "approve"), ("justification", "ok")]).await;
    assert_eq!((p.status, p.location()), (303, "/my/approvals?decided=approved"), "{}", p.body);
    let members = api.values(&format!("/v1.0/groups/{group}/members")).await;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["userPrincipalName"], "ann_litware.example#EXT#@contoso.example");
}

/// A browser signed in by the code mailed to `email`.
async fn by_mail<'a>(s: &'a Server, mail: &Arc<Mutex<Vec<(String, String)>>>, email: &str) -> Browser<'a> {
    let mut b = Browser::new(s);
    mail.lock().unwrap().clear();
    b.ask_code("contoso.example", email).await;
    let code = code_for(mail, email).await;
    assert_eq!(b.enter_code("contoso.example", email, &code).await.location(), "/my");
    b
}

#[tokio::test]
async fn a_holder_extends_their_access_and_a_reviewer_denies_it_until_the_review_ends_it() {
    let (s, clock, mail) = console().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let sponsor = api.user("sam@contoso.example", "Sam Sponsor").await;
    let (package, policy, group) = crate::graph_access::joint_venture(&api, &sponsor).await;
    let mut ann = by_mail(&s, &mail, "ann@litware.example").await;
    let csrf = ann.get(&format!("/my/packages/{package}")).await.csrf();
    let p = ann.post(&format!("/my/packages/{package}/request"), &[("csrf", &csrf), ("policy", &policy), ("justification", "Falcon")]).await;
    let request = p.location().strip_prefix("/my/requests?submitted=").unwrap().to_owned();
    let mut sam = by_mail(&s, &mail, "sam@contoso.example").await;
    let csrf = sam.get(&format!("/my/approvals/{request}")).await.csrf();
    assert_eq!(sam.post(&format!("/my/approvals/{request}"), &[("csrf", &csrf), ("decision", "approve")]).await.status, 303);

    // Her access, with its end; not extendable under this policy yet.
    let mine = ann.get("/my/access").await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    let at = mine.body.find("id=\"assignment-").unwrap_or_else(|| panic!("{}", mine.body)) + 15;
    let assignment = mine.body[at..at + 36].to_owned();
    assert!(mine.body.contains("Projects") && mine.body.contains("delivered") && !mine.body.contains("/extend"), "{}", mine.body);
    // The admin replaces the policy: holders may extend, Sam reviews from now on.
    let path = format!("/v1.0/identityGovernance/entitlementManagement/assignmentPolicies/{policy}");
    let mut body = api.get(&path).await.body;
    body["requestorSettings"]["enableTargetsToSelfUpdateAccess"] = serde_json::json!(true);
    body["reviewSettings"] = serde_json::json!({
        "isEnabled": true,
        "schedule": {
            "startDateTime": tenantsync_domain::Clock::now(clock.as_ref()),
            "expiration": { "type": "afterDuration", "duration": "P14D" },
            "recurrence": { "pattern": { "type": "absoluteMonthly", "interval": 3 }, "range": { "type": "noEnd" } },
        },
        "primaryReviewers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": sponsor }], "isReviewerJustificationRequired": false,
    });
    let r = api.put(&path, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"].as_str(), Some(policy.as_str()));
    body["accessPackage"] = serde_json::json!({ "id": policy });
    assert_eq!(api.put(&path, body).await.status, 400, "a policy keeps its package");

    // A minute on (an extension must end later than the assignment does).
    clock.advance_ms(MINUTE);
    let mine = ann.get("/my/access").await;
    assert!(mine.body.contains(&format!("/my/access/{assignment}/extend")), "{}", mine.body);
    let csrf = mine.csrf();
    // Not Sam's to extend: the same 404 as none.
    let csrf_sam = sam.get("/my/access").await.csrf();
    assert_eq!(sam.post(&format!("/my/access/{assignment}/extend"), &[("csrf", &csrf_sam)]).await.status, 404);
    let p = ann.post(&format!("/my/access/{assignment}/extend"), &[("csrf", &csrf), ("justification", "longer")]).await;
    assert_eq!((p.status, p.location()), (303, "/my/access?extended=delivered"), "{}", p.body);

    // The review opens; Sam denies; Ann may not decide on her own access.
    assert_eq!(tenantsync_governance::Governance::new(s.sqlite.clone()).sweep().await.unwrap().reviews_opened, 1);
    let list = sam.get("/my/reviews").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let at = list.body.find("href=\"/my/reviews/").unwrap() + 6;
    let item = list.body[at..at + list.body[at..].find('"').unwrap()].to_owned();
    assert!(item.ends_with(&assignment) && list.body.contains("No recommendation"), "{item} {}", list.body);
    assert!(ann.get("/my/reviews").await.body.contains("No access review waits for you"));
    assert_eq!(ann.get(&item).await.status, 403);
    let page = sam.get(&item).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(sam.post(&item, &[("csrf", &page.csrf()), ("decision", "Maybe")]).await.status, 400);
    let p = sam.post(&item, &[("csrf", &page.csrf()), ("decision", "Deny"), ("justification", "Falcon ended")]).await;
    assert_eq!((p.status, p.location()), (303, "/my/reviews?decided=Deny"), "{}", p.body);
    assert!(sam.get(&item).await.body.contains("Deny: Falcon ended"));
    assert_eq!(api.values(&format!("/v1.0/groups/{group}/members")).await.len(), 1, "applied when the review completes");

    // It ends: the denial applies, the access goes, and the review takes no more decisions.
    clock.advance_ms(15 * 24 * 60 * MINUTE);
    assert_eq!(tenantsync_governance::Governance::new(s.sqlite.clone()).sweep().await.unwrap().reviews_closed, 1);
    assert!(api.values(&format!("/v1.0/groups/{group}/members")).await.is_empty());
    let mut sam = by_mail(&s, &mail, "sam@contoso.example").await;
    assert!(sam.get("/my/reviews").await.body.contains("No access review waits for you"));
    assert_eq!(sam.get(&item).await.status, 409);
}

#[tokio::test]
async fn five_wrong_codes_void_the_code() {
    let (s, clock, mail) = console().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    api.user("sam@contoso.example", "Sam").await;
    let mut b = Browser::new(&s);
    b.ask_code("contoso.example", "sam@contoso.example").await;
    let code = code_for(&mail, "sam@contoso.example").await;
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    for left in (1..5).rev() {
        let p = b.enter_code("contoso.example", "sam@contoso.example", wrong).await;
        assert_eq!(p.status, 401);
        assert!(p.body.contains(&format!("{left} more attempt")), "{}", p.body);
    }
    let p = b.enter_code("contoso.example", "sam@contoso.example", wrong).await;
    assert!(p.body.contains("No code is waiting"), "{}", p.body);
    let p = b.enter_code("contoso.example", "sam@contoso.example", &code).await;
    assert_eq!(p.status, 401, "the right code, too late");
    assert!(!b.cookies.contains_key("tsconsole"));

    // A new code expires after 10 minutes.
    mail.lock().unwrap().clear();
    b.ask_code("contoso.example", "sam@contoso.example").await;
    let code = code_for(&mail, "sam@contoso.example").await;
    clock.advance_ms(11 * MINUTE);
    assert_eq!(b.enter_code("contoso.example", "sam@contoso.example", &code).await.status, 401);
}

#[tokio::test]
async fn an_admin_creates_a_configuration_pauses_it_and_provisions_a_user_on_demand() {
    use tenantsync_domain::PartnerSettings;
    use tenantsync_store::SyncStore;
    let (s, _, _) = console().await;
    let allow =
        PartnerSettings { inbound_auto_redeem: Some(true), outbound_auto_redeem: Some(true), inbound_user_sync: Some(true), inbound_group_sync: Some(true) };
    let fabrikam = tenant(s.store.as_ref(), "fabrikam.example").await;
    for t in [s.tenant.id, fabrikam.id] {
        s.sqlite.set_partner_settings(t, None, allow).await.unwrap();
    }
    let mut alice = tenantsync_domain::NewUser::new(tenantsync_domain::Upn::parse("alice@contoso.example").unwrap());
    alice.attrs.display_name = Some("Alice".into());
    s.store.create_user(s.tenant.id, alice).await.unwrap();
    let token = admin_token(&s, TokenRole::Admin).await;
    let mut b = Browser::new(&s);
    b.sign_in_with_token("contoso.example", &token).await;
    let form = b.get("/admin/sync/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let p = b.post("/admin/sync/new", &[("csrf", &form.csrf()), ("name", "To Fabrikam"), ("target", "fabrikam.example"), ("scope", "all")]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let detail_path = p.location().to_owned();
    let detail = b.get(&detail_path).await;
    assert!(detail.body.contains("<h1>To Fabrikam</h1>") && detail.body.contains("fabrikam.example"), "{}", detail.body);
    assert!(b.get("/admin/sync").await.body.contains("To Fabrikam"));
    let csrf = detail.csrf();
    assert_eq!(b.post(&format!("{detail_path}/pause"), &[("csrf", &csrf)]).await.location(), detail_path);
    assert!(b.get(&detail_path).await.body.contains(">Paused<"));
    let result = b.post(&format!("{detail_path}/provision"), &[("csrf", &csrf), ("user", "alice@contoso.example")]).await;
    assert_eq!(result.status, 200, "{}", result.body);
    assert!(result.body.contains("id=\"steps\"") && result.body.contains("EntryImport") && result.body.contains("Alice"), "{}", result.body);
    let users = s.store.list_users(fabrikam.id, &tenantsync_store::ListQuery::default()).await.unwrap();
    assert_eq!(users.items.len(), 1, "alice provisioned");
    // The logs and the audit log show it.
    assert!(b.get("/admin/logs?status=success").await.body.contains("Alice"));
    let audit = b.get("/admin/audit").await.body;
    assert!(audit.contains("Provision on demand") && audit.contains("Add provisioning configuration"), "{audit}");
    // A reader looks, and may not change.
    let reader = admin_token(&s, TokenRole::Reader).await;
    let mut r = Browser::new(&s);
    r.sign_in_with_token("contoso.example", &reader).await;
    let csrf = r.get(&detail_path).await.csrf();
    assert_eq!(r.post(&format!("{detail_path}/start"), &[("csrf", &csrf)]).await.status, 403);
    assert!(s.sqlite.job_state(detail_path.rsplit('/').next().unwrap().parse().unwrap()).await.unwrap().status == tenantsync_store::JobStatusCode::Paused);
}

/// A page's markup with its per-session values replaced.
fn redacted(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(at) = rest.find("name=\"csrf\" value=\"") {
        let start = at + 19;
        out.push_str(&rest[..start]);
        out.push_str("[csrf]");
        rest = &rest[start..];
        rest = &rest[rest.find('"').unwrap()..];
    }
    out.push_str(rest);
    out.replace("><", ">\n<")
}

#[tokio::test]
async fn the_sign_in_and_refusal_pages_keep_their_markup() {
    let (s, _, _) = console().await;
    let mut b = Browser::new(&s);
    insta::assert_snapshot!("console_signin", redacted(&b.get("/signin").await.body));
    insta::assert_snapshot!("console_csrf_refused", redacted(&b.post("/signin/token", &[("tenant", "contoso.example")]).await.body));
}
