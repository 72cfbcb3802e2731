//! The harness against a real headless Chromium: a tiny axum site with an accessible form,
//! a deliberately inaccessible page and a cookie-setting sign-in; and the SMTP sink against
//! lettre's client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use axum::extract::{Form, Query};
use axum::http::header::{HeaderMap, SET_COOKIE};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use std::collections::HashMap;
use std::time::Duration;
use tenantsync_browser::{Browser, Impact, SmtpSink, Window};

const WAIT: Duration = Duration::from_secs(10);

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(title: &str, main: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><main><h1>{title}</h1>{main}</main></body></html>"
    ))
}

async fn form() -> Html<String> {
    page(
        "Greeting",
        "<form method=\"post\" action=\"/form\">\
           <p><label for=\"name\">Your name</label> <input id=\"name\" name=\"name\" autocomplete=\"name\"></p>\
           <p><label>Team <select name=\"team\"><option>Contoso</option><option value=\"litware\">Litware</option></select></label></p>\
           <p><button type=\"submit\">Say hello</button> <a href=\"/bad\">A bad page</a></p>\
         </form>",
    )
}

async fn greet(Form(fields): Form<HashMap<String, String>>) -> Html<String> {
    let name = fields.get("name").map(String::as_str).unwrap_or_default();
    let team = fields.get("team").map(String::as_str).unwrap_or_default();
    page("Greeted", &format!("<p id=\"result\">Hello, {} of {}</p>", escape(name), escape(team)))
}

/// An input without a label, grey on white text, an image without alt.
async fn bad() -> Html<String> {
    Html(
        "<!doctype html><html lang=\"en\"><head><title>Bad</title></head><body><main><h1>Bad</h1>\
         <p style=\"color:#d0d0d0;background:#ffffff\" class=\"faint\">hard to read</p>\
         <input type=\"text\" id=\"nameless\">\
         <img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\" id=\"pic\">\
         </main></body></html>"
            .to_owned(),
    )
}

async fn sign_in(Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    let who = q.get("as").cloned().unwrap_or_default();
    let mut headers = HeaderMap::new();
    headers.insert(SET_COOKIE, format!("who={who}; Path=/; HttpOnly; SameSite=Lax").parse().unwrap());
    (headers, page("Signed in", &format!("<p id=\"who\">{}</p>", escape(&who))))
}

async fn whoami(headers: HeaderMap) -> Html<String> {
    let cookie = headers.get("cookie").and_then(|c| c.to_str().ok()).unwrap_or_default();
    let who = cookie.split(';').find_map(|c| c.trim().strip_prefix("who=")).unwrap_or("nobody");
    page("Who", &format!("<p id=\"who\">{}</p>", escape(who)))
}

/// Serves the site on a free loopback port and returns its base URL.
async fn site() -> String {
    let app = axum::Router::new().route("/form", get(form).post(greet)).route("/bad", get(bad)).route("/sign-in", get(sign_in)).route("/whoami", get(whoami));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    (u32::from_be_bytes(bytes[16..20].try_into().unwrap()), u32::from_be_bytes(bytes[20..24].try_into().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_labelled_form_is_filled_submitted_read_and_kept_as_a_screenshot() {
    let site = site().await;
    let browser = Browser::start().await.unwrap();
    let page = browser.session(Window::Desktop).await.unwrap();
    page.goto(&format!("{site}/form")).await.unwrap();
    assert_eq!(page.title().await.unwrap(), "Greeting");
    page.assert_accessible().await.unwrap();
    page.fill("Your name", "Ann <Smith>").await.unwrap();
    page.fill("Team", "Litware").await.unwrap();
    assert_eq!(page.value("name").await.unwrap(), "Ann <Smith>", "a field by its name too");
    let form = page.screenshot("filled form").await.unwrap();
    page.click("Say hello").await.unwrap();
    page.wait_for_text("Hello, Ann <Smith> of litware", WAIT).await.unwrap();
    assert_eq!(page.text("#result").await.unwrap(), "Hello, Ann <Smith> of litware");
    assert!(page.url().await.unwrap().ends_with("/form"));
    page.wait_for("#result", WAIT).await.unwrap();
    page.assert_accessible().await.unwrap();
    let result = page.screenshot("result").await.unwrap();

    let dir = tenantsync_browser::screenshot_root().join("a_labelled_form_is_filled_submitted_read_and_kept_as_a_screenshot");
    assert_eq!(form, dir.join("01-filled-form.png"));
    assert_eq!(result, dir.join("02-result.png"));
    assert_eq!(png_size(&std::fs::read(&result).unwrap()), (1280, 900));

    // What a failing test prints: what was looked for, where, and what there is instead.
    page.goto(&format!("{site}/form")).await.unwrap();
    let err = page.fill("Email", "x").await.unwrap_err().to_string();
    assert!(err.contains("no field labelled 'Email' on http://127.0.0.1:") && err.contains("'Your name', 'Team'"), "{err}");
    let err = page.click("Send").await.unwrap_err().to_string();
    assert!(err.contains("no button or link 'Send'") && err.contains("'Say hello', 'A bad page'"), "{err}");
    let err = page.wait_for_text("Goodbye", Duration::from_millis(200)).await.unwrap_err().to_string();
    assert!(err.contains("for the text 'Goodbye'") && err.contains("the page says: Greeting"), "{err}");
    let err = page.wait_for("#missing", Duration::from_millis(200)).await.unwrap_err().to_string();
    assert!(err.contains("'#missing'"), "{err}");
    page.click("A bad page").await.unwrap();
    page.wait_for_url("/bad", WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_reports_serious_violations_of_an_inaccessible_page() {
    let site = site().await;
    let browser = Browser::start().await.unwrap();
    let page = browser.session(Window::Desktop).await.unwrap();
    page.goto(&format!("{site}/bad")).await.unwrap();
    let violations = page.axe().await.unwrap();
    let impact = |id: &str| violations.iter().find(|v| v.id == id).and_then(|v| v.impact);
    for rule in ["label", "color-contrast", "image-alt"] {
        assert!(impact(rule) >= Some(Impact::Serious), "{rule} in {violations:#?}");
    }
    let contrast = violations.iter().find(|v| v.id == "color-contrast").unwrap();
    assert!(contrast.nodes[0].html.contains("class=\"faint\""), "{contrast:?}");
    let err = page.assert_accessible().await.unwrap_err().to_string();
    assert!(err.contains("/bad has accessibility violations"), "{err}");
    for expected in ["- image-alt (critical): Images must have alternative text", "#pic", "- label (critical)", "#nameless", "- color-contrast (serious)"] {
        assert!(err.contains(expected), "{expected} in {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_keep_their_own_cookies_and_a_phone_is_phone_sized() {
    let site = site().await;
    let browser = Browser::start().await.unwrap();
    let approver = browser.session(Window::Desktop).await.unwrap();
    let requestor = browser.session(Window::Phone).await.unwrap();
    approver.goto(&format!("{site}/sign-in?as=approver")).await.unwrap();
    requestor.goto(&format!("{site}/sign-in?as=requestor")).await.unwrap();
    approver.goto(&format!("{site}/whoami")).await.unwrap();
    requestor.goto(&format!("{site}/whoami")).await.unwrap();
    assert_eq!(approver.text("#who").await.unwrap(), "approver");
    assert_eq!(requestor.text("#who").await.unwrap(), "requestor");
    let cookie = approver.cookie("who").await.unwrap().unwrap();
    assert_eq!((cookie.value.as_str(), cookie.http_only, cookie.secure, cookie.same_site.as_deref()), ("approver", true, false, Some("Lax")));
    assert_eq!(requestor.cookies().await.unwrap().iter().map(|c| c.value.as_str()).collect::<Vec<_>>(), vec!["requestor"]);

    assert_eq!(requestor.viewport().await.unwrap(), (390, 844));
    assert_eq!(approver.viewport().await.unwrap(), (1280, 900));
    let shot = requestor.screenshot("phone").await.unwrap();
    assert_eq!(png_size(&std::fs::read(shot).unwrap()), (390, 844));
    requestor.assert_accessible().await.unwrap();
    requestor.close().await.unwrap();
    approver.goto(&format!("{site}/whoami")).await.unwrap();
    assert_eq!(approver.text("#who").await.unwrap(), "approver", "closing one session leaves the other");
}

/// Every process the browser started: chromedriver (by pid) and each Chromium (whose
/// command line names the browser's profile folder), as pgrep sees them.
fn running(driver: u32, profiles: &std::path::Path) -> (bool, Vec<String>) {
    let driver_alive = std::fs::read_to_string(format!("/proc/{driver}/stat")).is_ok_and(|s| !s.contains(") Z "));
    let out = std::process::Command::new("pgrep").arg("-f").arg(profiles).output().unwrap();
    (driver_alive, String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_chromedriver_or_chromium_outlives_the_browser() {
    let site = site().await;
    let browser = Browser::start().await.unwrap();
    let (driver, profiles) = (browser.driver_pid(), browser.profiles_dir().to_path_buf());
    let one = browser.session(Window::Desktop).await.unwrap();
    let two = browser.session(Window::Phone).await.unwrap();
    one.goto(&format!("{site}/form")).await.unwrap();
    two.goto(&format!("{site}/form")).await.unwrap();
    let (alive, chromiums) = running(driver, &profiles);
    assert!(alive && chromiums.len() >= 2, "{alive} {chromiums:?}");
    drop(browser);
    let (alive, chromiums) = running(driver, &profiles);
    assert!(!alive && chromiums.is_empty(), "left running: driver {alive}, {chromiums:?}");
    assert!(!profiles.exists(), "the profiles are removed");
    assert!(one.goto(&format!("{site}/form")).await.is_err(), "its sessions are gone with it");
}

#[tokio::test]
async fn the_smtp_sink_keeps_what_lettre_sends_decoded() {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let sink = SmtpSink::start().await.unwrap();
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1").port(sink.port()).build();
    let long = "é".repeat(60);
    let mail = Message::builder()
        .from("tenantsync <noreply@contoso.example>".parse().unwrap())
        .to("Ann <ann@litware.example>".parse().unwrap())
        .cc("sam@contoso.example".parse().unwrap())
        .subject("Your code for Contoso: 314159 ✓")
        .body(format!("Your one-time code is 314159.\n.a line starting with a dot\n{long}"))
        .unwrap();
    transport.send(mail).await.unwrap();
    let got = sink.wait_for("ANN@litware.example", WAIT).await.unwrap();
    assert_eq!(got.from, "noreply@contoso.example");
    assert_eq!(got.recipients, vec!["ann@litware.example", "sam@contoso.example"]);
    assert_eq!(got.subject, "Your code for Contoso: 314159 ✓");
    assert_eq!(got.header("to"), Some("Ann <ann@litware.example>"));
    assert_eq!(got.body, format!("Your one-time code is 314159.\n.a line starting with a dot\n{long}"));
    assert_eq!(sink.messages().len(), 1);

    // Each message is handed out once; then a wait says what did arrive.
    let err = sink.wait_for("ann@litware.example", Duration::from_millis(100)).await.unwrap_err().to_string();
    assert!(err.contains("no new mail to ann@litware.example") && err.contains("'Your code for Contoso: 314159 ✓'"), "{err}");
    assert_eq!(sink.wait_for("sam@contoso.example", WAIT).await.unwrap().subject, got.subject);

    // A wait started before the mail is sent wakes when it arrives.
    let later = Message::builder()
        .from("noreply@contoso.example".parse().unwrap())
        .to("kim@contoso.example".parse().unwrap())
        .subject("second")
        .body("two".to_owned())
        .unwrap();
    let (got, sent) = tokio::join!(sink.wait_for("kim@contoso.example", WAIT), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        transport.send(later).await
    });
    sent.unwrap();
    assert_eq!(got.unwrap().body, "two");

    let refusing = SmtpSink::refusing().await.unwrap();
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1").port(refusing.port()).build();
    let mail = Message::builder()
        .from("noreply@contoso.example".parse().unwrap())
        .to("ghost@contoso.example".parse().unwrap())
        .subject("s")
        .body("b".to_owned())
        .unwrap();
    let err = transport.send(mail).await.unwrap_err().to_string();
    assert!(err.contains("550") || err.to_lowercase().contains("mailbox"), "{err}");
    assert!(refusing.messages().is_empty());
}
