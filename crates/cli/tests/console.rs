//! The web console in a real headless Chromium against a real `tenantsync serve`: what an
//! administrator, a partner's employee and a sponsor do, as they do it. Every page visited
//! is checked with axe-core (no serious or critical violation) and kept as a screenshot
//! under `<target dir>/console-screenshots/<test name>/` (docs/testing.md).
//!
//! Its own test binary: the first `Browser::start()` may install Chromium and axe-core, and
//! the CLI's integration binary should never wait for that.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "serving.rs"]
#[allow(dead_code)]
mod serving;
#[allow(dead_code)]
mod support;

use serving::Served;
use std::path::PathBuf;
use std::time::Duration;
use support::{Env, path_str};
use tenantsync_browser::{Browser, Page, SmtpSink, Window};

/// How long a page or a mail may take: generous, since two cores are shared with builds.
const WAIT: Duration = Duration::from_secs(20);

/// `serve` on a free port, sending mail to `mail` and its outbox every 200 ms.
fn serve(env: &Env, mail: &SmtpSink) -> (Served, String) {
    let served = Served::start(env, &["--smtp-url", &mail.url(), "--mail-from", "Contoso <noreply@contoso.example>", "--access-interval", "200ms"]);
    let base = format!("http://{}", served.addr);
    (served, base)
}

/// Every page visited: accessible, and kept as a screenshot.
async fn seen(page: &Page, name: &str) {
    page.assert_accessible().await.unwrap();
    page.screenshot(name).await.unwrap();
}

/// The eight digits of a sign-in code's mail.
fn code_in(body: &str) -> String {
    let digits = body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 8);
    digits.unwrap_or_else(|| panic!("no 8-digit code in the mail: {body}")).to_owned()
}

/// The userPrincipalNames of a tenant's users, through the CLI (not the page).
fn upns(env: &Env, tenant: &str) -> Vec<String> {
    let list = env.json(&["user", "list", "-t", tenant, "--limit", "1000"]);
    list["value"].as_array().unwrap().iter().map(|u| u["userPrincipalName"].as_str().unwrap().to_owned()).collect()
}

/// The texts of every element `css` matches.
async fn texts(page: &Page, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in page.find_all(css).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

/// A person of `tenant` signs in with the code mailed to `email`, and lands on My Access.
async fn sign_in_by_mail(page: &Page, base: &str, mail: &SmtpSink, tenant: &str, email: &str, shots: bool) {
    page.goto(&format!("{base}/")).await.unwrap();
    page.wait_for_url("/signin", WAIT).await.unwrap();
    if shots {
        seen(page, "sign-in").await;
    }
    page.fill("email-tenant", tenant).await.unwrap();
    page.fill("Your email address", email).await.unwrap();
    page.click("Send me a code").await.unwrap();
    page.wait_for_url("/signin/code", WAIT).await.unwrap();
    page.wait_for("#code-form", WAIT).await.unwrap();
    if shots {
        seen(page, "code form").await;
    }
    // The sponsor may have been notified of a request first: the code is in its own mail.
    let mut message = mail.wait_for(email, WAIT).await.unwrap();
    while !message.subject.starts_with("Your code to sign in") {
        message = mail.wait_for(email, WAIT).await.unwrap();
    }
    page.fill("Code", &code_in(&message.body)).await.unwrap();
    page.click("Sign in").await.unwrap();
    page.wait_for_url("/my", WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_searches_users_creates_a_configuration_and_provisions_a_user_on_demand() {
    let env = Env::new();
    env.contoso();
    env.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    // The access check of a new configuration: Contoso may send, Fabrikam takes and redeems.
    env.ok(&["partner", "set", "-t", "contoso.example", "--partner", "fabrikam.example", "--outbound-auto-redeem", "true"]);
    let inbound = ["--inbound-sync", "true", "--inbound-auto-redeem", "true"];
    env.ok(&[&["partner", "set", "-t", "fabrikam.example", "--partner", "contoso.example"][..], &inbound].concat());
    // 60 people and Alice: more than a page of 50.
    let mut csv = String::from("userPrincipalName,displayName,department\nalice@contoso.example,Alice Able,Sales\n");
    for i in 0..60 {
        csv.push_str(&format!("p{i:02}@contoso.example,Person {i:02},Engineering\n"));
    }
    let file = env.file("people.csv", &csv);
    env.ok(&["import", "users", "-t", "contoso.example", path_str(&file), "--quiet"]);
    let token = env.ok(&["token", "create", "-t", "contoso.example", "--name", "console", "--role", "admin"]).trim().to_owned();
    let mail = SmtpSink::start().await.unwrap();
    let (_served, base) = serve(&env, &mail);

    let browser = Browser::start().await.unwrap();
    let admin = browser.session(Window::Desktop).await.unwrap();
    // Nothing opens without a session: the console sends the browser to sign in.
    admin.goto(&format!("{base}/admin/users")).await.unwrap();
    admin.wait_for_url("/signin?next=", WAIT).await.unwrap();
    seen(&admin, "sign-in").await;
    admin.fill("token-tenant", "contoso.example").await.unwrap();
    admin.fill("Admin token", &token).await.unwrap();
    admin.click("Sign in with the token").await.unwrap();
    // Back where it was going.
    admin.wait_for("#users", WAIT).await.unwrap();
    assert!(admin.url().await.unwrap().ends_with("/admin/users"));
    let cookie = admin.cookie("tsconsole").await.unwrap().expect("the session cookie");
    assert!(cookie.http_only && !cookie.secure, "{cookie:?}");
    assert_eq!(cookie.same_site.as_deref(), Some("Lax"), "{cookie:?}");

    // Overview: the counts.
    admin.goto(&format!("{base}/admin")).await.unwrap();
    admin.wait_for_text("Sync jobs by health", WAIT).await.unwrap();
    assert_eq!(admin.text("#count-users").await.unwrap(), "61");
    assert!(admin.text("#partners").await.unwrap().contains("fabrikam.example"));
    seen(&admin, "overview").await;

    // Users: a prefix finds Alice and no one else.
    admin.goto(&format!("{base}/admin/users")).await.unwrap();
    let first = texts(&admin, "#users td[data-label=userPrincipalName]").await;
    assert_eq!(first.len(), 50, "{first:?}");
    seen(&admin, "users").await;
    admin.click("Next page").await.unwrap();
    admin.wait_for_url("after=", WAIT).await.unwrap();
    let second = texts(&admin, "#users td[data-label=userPrincipalName]").await;
    assert_eq!(second.len(), 11, "{second:?}");
    assert!(second.iter().all(|u| !first.contains(u)), "pages overlap: {second:?}");
    assert!(admin.find_all("#next-page").await.unwrap().is_empty(), "the last page has no next");
    seen(&admin, "users page 2").await;
    admin.fill("Name or userPrincipalName starts with", "ALI").await.unwrap();
    admin.click("Search").await.unwrap();
    admin.wait_for_url("q=ALI", WAIT).await.unwrap();
    assert_eq!(texts(&admin, "#users td[data-label=userPrincipalName]").await, ["alice@contoso.example"]);
    seen(&admin, "users search").await;

    // A configuration through the form.
    admin.goto(&format!("{base}/admin/sync")).await.unwrap();
    admin.wait_for("#no-configurations", WAIT).await.unwrap();
    seen(&admin, "sync configurations").await;
    admin.click("New sync configuration").await.unwrap();
    admin.wait_for_url("/admin/sync/new", WAIT).await.unwrap();
    admin.fill("Name", "To Fabrikam").await.unwrap();
    admin.fill("Target tenant (its domain)", "fabrikam.example").await.unwrap();
    admin.fill("Scope", "All users").await.unwrap();
    seen(&admin, "new sync configuration").await;
    admin.click("Create").await.unwrap();
    admin.wait_for("#settings", WAIT).await.unwrap();
    let detail = admin.url().await.unwrap();
    assert_eq!(admin.text("h1").await.unwrap(), "To Fabrikam");
    assert_eq!(admin.text("#health").await.unwrap(), "Not run yet");
    seen(&admin, "sync configuration").await;

    // Provision on demand.
    admin.fill("pod-user", "alice@contoso.example").await.unwrap();
    admin.click("Provision").await.unwrap();
    admin.wait_for("#steps", WAIT).await.unwrap();
    let result = admin.text("#pod-result").await.unwrap();
    assert!(result.contains("success") && result.contains("Alice Able"), "{result}");
    let steps = texts(&admin, "#steps > li").await;
    assert_eq!(steps.len(), 4, "import, scoping, matching, action: {steps:?}");
    seen(&admin, "provision on demand").await;
    let copies = env.json(&["user", "list", "-t", "fabrikam.example", "--filter", "displayName eq \"Alice Able\""]);
    let copies = copies["value"].as_array().unwrap();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(copies[0]["userPrincipalName"], "alice_contoso.example#EXT#@fabrikam.example");

    // Start: the job runs from now on.
    admin.goto(&detail).await.unwrap();
    admin.click("Start").await.unwrap();
    admin.wait_for_text("Healthy", WAIT).await.unwrap();
    let id = detail.rsplit('/').next().unwrap();
    assert_eq!(env.json(&["sync", "show", id])["status"]["status"], "Active");

    // The logs and the audit log tell what was done, and by which token.
    admin.goto(&format!("{base}/admin/logs")).await.unwrap();
    admin.wait_for("#logs", WAIT).await.unwrap();
    // The first cycle's 61 records and the one on demand: more than a page.
    assert_eq!(admin.find_all("#logs > li").await.unwrap().len(), 50);
    admin.find("#next-page").await.unwrap();
    seen(&admin, "provisioning logs").await;
    admin.goto(&format!("{base}/admin/audit")).await.unwrap();
    admin.wait_for("#audit", WAIT).await.unwrap();
    let audit = admin.text("#audit").await.unwrap();
    assert!(audit.contains("Provision on demand") && audit.contains("Add provisioning configuration") && audit.contains("console"), "{audit}");
    seen(&admin, "audit log").await;

    // Sign-out: neither the back button nor an old URL opens anything afterwards.
    admin.goto(&format!("{base}/admin/users")).await.unwrap();
    admin.wait_for("#users", WAIT).await.unwrap();
    admin.click("Sign out").await.unwrap();
    admin.wait_for("#signed-out", WAIT).await.unwrap();
    seen(&admin, "signed out").await;
    admin.client().back().await.unwrap();
    admin.wait_for_url("/signin?next=", WAIT).await.unwrap();
    admin.goto(&detail).await.unwrap();
    admin.wait_for_url("/signin?next=", WAIT).await.unwrap();
    admin.wait_for("#token-form", WAIT).await.unwrap();
}

/// Contoso, Litware and the project tenant of examples/joint-venture.toml, with the sponsor
/// and the group it names, and Ann, a Litware employee.
fn joint_venture(env: &Env) {
    env.ok(&["tenant", "create", "--name", "Contoso", "--domain", "contoso.example"]);
    env.ok(&["tenant", "create", "--name", "Litware", "--domain", "litware.example"]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "sam.sponsor@contoso.example"]);
    env.ok(&["group", "create", "-t", "contoso.example", "--name", "Projects"]);
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/joint-venture.toml");
    env.ok(&["apply", path_str(&example)]);
    env.ok(&["user", "create", "-t", "litware.example", "--upn", "ann@litware.example"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_litware_employee_signs_in_by_mail_requests_projects_and_the_sponsor_approves() {
    let env = Env::new();
    joint_venture(&env);
    let mail = SmtpSink::start().await.unwrap();
    let (_served, base) = serve(&env, &mail);
    let guest = "ann_litware.example#EXT#@contoso.example";
    assert!(!upns(&env, "contoso.example").contains(&guest.to_owned()));

    let browser = Browser::start().await.unwrap();
    // Ann, on her phone, at Contoso's sign-in page with no account there.
    let ann = browser.session(Window::Phone).await.unwrap();
    sign_in_by_mail(&ann, &base, &mail, "contoso.example", "ann@litware.example", true).await;
    ann.wait_for("#packages", WAIT).await.unwrap();
    let offers = ann.text("#packages").await.unwrap();
    assert!(offers.contains("Projects") && offers.contains("Litware"), "the package and why: {offers}");
    assert!(!offers.contains("Project tenant"), "a package for Contoso's members is not offered: {offers}");
    seen(&ann, "my access").await;
    ann.find("#packages a.button").await.unwrap().click().await.unwrap();
    ann.wait_for("#request-form", WAIT).await.unwrap();
    seen(&ann, "request form").await;
    ann.fill("justification", "The Falcon project with Contoso").await.unwrap();
    ann.click("Submit the request").await.unwrap();
    let url = ann.wait_for_url("/my/requests?submitted=", WAIT).await.unwrap();
    let request = url.rsplit('=').next().unwrap().to_owned();
    ann.wait_for("#submitted", WAIT).await.unwrap();
    assert!(ann.text(&format!("#request-{request}")).await.unwrap().contains("pendingApproval"));
    seen(&ann, "my requests").await;

    // The requestor on the approver's page: 403.
    ann.goto(&format!("{base}/my/approvals/{request}")).await.unwrap();
    ann.wait_for_text("Forbidden", WAIT).await.unwrap();
    assert!(ann.body_text().await.unwrap().contains("HTTP 403"));
    seen(&ann, "approval refused to the requestor").await;

    // Sam, the sponsor, in a browser of his own, signs in with his own code.
    let sam = browser.session(Window::Desktop).await.unwrap();
    sign_in_by_mail(&sam, &base, &mail, "contoso.example", "sam.sponsor@contoso.example", false).await;
    sam.goto(&format!("{base}/my/approvals")).await.unwrap();
    sam.wait_for("#approvals", WAIT).await.unwrap();
    seen(&sam, "approvals").await;
    sam.find(&format!("#review-{request}")).await.unwrap().click().await.unwrap();
    sam.wait_for("#decision-form", WAIT).await.unwrap();
    assert_eq!(sam.text("#requestor-justification").await.unwrap(), "The Falcon project with Contoso");
    assert!(sam.text("#requestor").await.unwrap().contains("ann@litware.example"));
    seen(&sam, "approval").await;
    sam.fill("Your justification", "Falcon runs until March").await.unwrap();
    sam.click("Approve").await.unwrap();
    sam.wait_for("#decided", WAIT).await.unwrap();
    sam.wait_for("#no-approvals", WAIT).await.unwrap();
    seen(&sam, "approved").await;

    // Ann is Contoso's guest now, in the Projects group (through the CLI, not the page).
    assert!(upns(&env, "contoso.example").contains(&guest.to_owned()), "{:?}", upns(&env, "contoso.example"));
    let members = env.ok(&["group", "members", "-t", "contoso.example", "Projects"]);
    assert!(members.contains(guest), "{members}");
    ann.goto(&format!("{base}/my/requests")).await.unwrap();
    ann.wait_for(&format!("#request-{request}"), WAIT).await.unwrap();
    assert!(!ann.text(&format!("#request-{request}")).await.unwrap().contains("pendingApproval"));
    seen(&ann, "my requests delivered").await;
}
