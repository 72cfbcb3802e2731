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

/// A phone-sized page fits its width: nothing scrolls sideways.
async fn fits_the_phone(page: &Page, name: &str) {
    let v = page.script("return [document.scrollingElement.scrollWidth, window.innerWidth]", vec![]).await.unwrap();
    let (wide, inner) = (v[0].as_u64().unwrap(), v[1].as_u64().unwrap());
    assert!(wide <= inner, "{name} scrolls sideways on a phone: {wide} px wide in {inner}");
}

/// Signs an administrator in with `token` at `tenant` from the sign-in page.
async fn sign_in_with_token(page: &Page, base: &str, tenant: &str, token: &str) {
    page.goto(&format!("{base}/signin")).await.unwrap();
    page.wait_for("#token-form", WAIT).await.unwrap();
    page.fill("token-tenant", tenant).await.unwrap();
    page.fill("Admin token", token).await.unwrap();
    page.click("Sign in with the token").await.unwrap();
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
    let fabrikams = env.ok(&["token", "create", "-t", "fabrikam.example", "--name", "theirs", "--role", "admin"]).trim().to_owned();
    let mail = SmtpSink::start().await.unwrap();
    let (_served, base) = serve(&env, &mail);

    let browser = Browser::start().await.unwrap();
    let admin = browser.session(Window::Desktop).await.unwrap();
    // Fabrikam's token does not open Contoso.
    sign_in_with_token(&admin, &base, "contoso.example", &fabrikams).await;
    admin.wait_for_text("Forbidden", WAIT).await.unwrap();
    let refusal = admin.body_text().await.unwrap();
    assert!(refusal.contains("belongs to another tenant") && refusal.contains("HTTP 403"), "{refusal}");
    assert!(admin.cookie("tsconsole").await.unwrap().is_none());
    seen(&admin, "another tenant's token refused").await;
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
    // `serve` runs a new configuration at its next look for new configurations (within
    // 10 s), which may come before this page: then its first cycle has run already.
    let health = admin.text("#health").await.unwrap();
    assert!(health == "Not run yet" || health == "Healthy", "{health}");
    seen(&admin, "sync configuration").await;

    // Provision on demand (Alice's copy made now, or found up to date if the first cycle
    // made it).
    admin.fill("pod-user", "alice@contoso.example").await.unwrap();
    admin.click("Provision").await.unwrap();
    admin.wait_for("#steps", WAIT).await.unwrap();
    let result = admin.text("#pod-result").await.unwrap();
    assert!((result.contains("success") || result.contains("skipped")) && result.contains("Alice Able"), "{result}");
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

    // A form without this session's token (as another site would post it): 403, nothing done.
    admin.goto(&detail).await.unwrap();
    admin.wait_for("#settings", WAIT).await.unwrap();
    admin.script("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())", vec![]).await.unwrap();
    admin.click("Pause").await.unwrap();
    admin.wait_for_text("Forbidden", WAIT).await.unwrap();
    assert!(admin.body_text().await.unwrap().contains("security token"));
    seen(&admin, "form without its token refused").await;
    assert_eq!(env.json(&["sync", "show", id])["status"]["status"], "Active", "the job was not paused");

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

    // On a phone every administration page fits the width.
    let phone = browser.session(Window::Phone).await.unwrap();
    sign_in_with_token(&phone, &base, "contoso.example", &token).await;
    phone.wait_for_url("/admin", WAIT).await.unwrap();
    for (path, name) in [
        ("/admin", "overview"),
        ("/admin/users", "users"),
        ("/admin/groups", "groups"),
        ("/admin/sync", "sync configurations"),
        ("/admin/logs", "provisioning logs"),
        ("/admin/audit", "audit log"),
    ] {
        phone.goto(&format!("{base}{path}")).await.unwrap();
        phone.wait_for("main h1", WAIT).await.unwrap();
        fits_the_phone(&phone, path).await;
        seen(&phone, &format!("phone {name}")).await;
    }
    phone.goto(&detail).await.unwrap();
    phone.wait_for("#settings", WAIT).await.unwrap();
    fits_the_phone(&phone, "a sync configuration").await;
    seen(&phone, "phone sync configuration").await;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_topology_page_shows_a_cycle_s_counts_without_a_reload() {
    let env = Env::new();
    env.contoso();
    env.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--partner", "fabrikam.example", "--outbound-auto-redeem", "true"]);
    let inbound = ["--inbound-sync", "true", "--inbound-auto-redeem", "true"];
    env.ok(&[&["partner", "set", "-t", "fabrikam.example", "--partner", "contoso.example"][..], &inbound].concat());
    // Contoso has no one yet: serve's cycles have nothing to copy until the import below.
    env.ok(&["sync", "create", "--source", "contoso.example", "--target", "fabrikam.example", "--scope", "all"]);
    let token = env.ok(&["token", "create", "-t", "contoso.example", "--name", "console", "--role", "admin"]).trim().to_owned();
    let served = Served::start(&env, &[]);
    let base = format!("http://{}", served.addr);

    let browser = Browser::start().await.unwrap();
    let admin = browser.session(Window::Desktop).await.unwrap();
    sign_in_with_token(&admin, &base, "contoso.example", &token).await;
    admin.wait_for_url("/admin", WAIT).await.unwrap();
    admin.click("Topology").await.unwrap();
    admin.wait_for("#arrows", WAIT).await.unwrap();
    assert_eq!(texts(&admin, "td[id$='-synced']").await, ["0"]);
    assert!(admin.find("#drawing").await.unwrap().attr("alt").await.unwrap().unwrap_or_default().contains("2 tenants and 1 sync arrows"));
    seen(&admin, "topology").await;
    // A mark the page keeps only as long as it is not reloaded.
    admin.script("window.tenantsyncKept = true; return true", vec![]).await.unwrap();

    // Three people imported by another process: serve hears of the commit, its cycle
    // copies them, and the page hears of that cycle's commit.
    let file = env.file("people.csv", "userPrincipalName,displayName\nalice@contoso.example,Alice\nbob@contoso.example,Bob\ncarol@contoso.example,Carol\n");
    env.ok(&["import", "users", "-t", "contoso.example", path_str(&file), "--quiet"]);
    let deadline = std::time::Instant::now() + WAIT;
    while texts(&admin, "td[id$='-synced']").await != ["3"] {
        assert!(std::time::Instant::now() < deadline, "the count did not change: {:?}", texts(&admin, "td[id$='-synced']").await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(texts(&admin, "td[id$='-status']").await, ["Healthy"]);
    let kept = admin.script("return window.tenantsyncKept === true", vec![]).await.unwrap();
    assert_eq!(kept, serde_json::Value::Bool(true), "updated in place, not reloaded");
    admin.wait_for_text("Counts updated at", WAIT).await.unwrap();
    // The drawing is redrawn with the new counts too (its image asked for again).
    let redrawn = "const d = document.getElementById('drawing'); return d.src.includes('?at=') && d.complete && d.naturalWidth > 0";
    while admin.script(redrawn, vec![]).await.unwrap() != serde_json::Value::Bool(true) {
        assert!(std::time::Instant::now() < deadline, "the drawing was not redrawn");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    seen(&admin, "topology after a cycle").await;

    // On a phone it fits the width.
    let phone = browser.session(Window::Phone).await.unwrap();
    sign_in_with_token(&phone, &base, "contoso.example", &token).await;
    phone.wait_for_url("/admin", WAIT).await.unwrap();
    phone.goto(&format!("{base}/admin/topology")).await.unwrap();
    phone.wait_for("#arrows", WAIT).await.unwrap();
    fits_the_phone(&phone, "/admin/topology").await;
    seen(&phone, "phone topology").await;
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
    let (served, base) = serve(&env, &mail);
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

    // Her access, with its end; the policy lets holders extend, without approval.
    ann.goto(&format!("{base}/my/access")).await.unwrap();
    ann.wait_for("#assignments", WAIT).await.unwrap();
    let row = ann.text("#assignments tbody tr").await.unwrap();
    assert!(row.contains("Projects") && row.contains("delivered") && row.contains("UTC"), "{row}");
    seen(&ann, "my assignments").await;
    ann.fill("justification", "Falcon runs longer").await.unwrap();
    ann.find("#assignments button[type=submit]").await.unwrap().click().await.unwrap();
    ann.wait_for("#extended", WAIT).await.unwrap();
    assert!(ann.text("#extended").await.unwrap().contains("delivered"));
    seen(&ann, "extended").await;

    // Contoso's admin, in the console: the topology page draws the just-in-time link from
    // Litware (its connected organization) to Contoso, by the Projects package, with Ann's
    // assignment counted.
    let admin_token = env.ok(&["token", "create", "-t", "contoso.example", "--name", "admin", "--role", "admin"]).trim().to_owned();
    let bearer = format!("Bearer {admin_token}");
    let api = |method: &str, path: &str, body: Option<&serde_json::Value>| {
        let body = body.map(serde_json::Value::to_string);
        served.request(method, path, &[("Authorization", &bearer), ("Content-Type", "application/json")], body.as_deref())
    };
    let admin = browser.session(Window::Desktop).await.unwrap();
    sign_in_with_token(&admin, &base, "contoso.example", &admin_token).await;
    admin.wait_for_url("/admin", WAIT).await.unwrap();
    admin.click("Topology").await.unwrap();
    admin.wait_for("#links", WAIT).await.unwrap();
    let link = admin.text("#links tbody tr").await.unwrap();
    assert!(link.contains("litware.example") && link.contains("Projects"), "{link}");
    assert_eq!(texts(&admin, "td[id$='-assigned']").await, ["1"]);
    assert_eq!(texts(&admin, "td[id$='-pending']").await, ["0"]);
    let alt = admin.find("#drawing").await.unwrap().attr("alt").await.unwrap().unwrap_or_default();
    assert!(alt.contains("1 just-in-time links"), "{alt}");
    let drawn = "const d = document.getElementById('drawing'); return d.complete && d.naturalWidth > 0";
    assert_eq!(admin.script(drawn, vec![]).await.unwrap(), serde_json::Value::Bool(true), "the drawing loads");
    seen(&admin, "topology with a just-in-time link").await;

    // The admin moves the policy's reviews to start now, Sam reviewing, in the policy's
    // form; a reviewer who is no one is refused next to the field, and nothing is saved.
    let em = "/v1.0/identityGovernance/entitlementManagement";
    let policies = api("GET", &format!("{em}/assignmentPolicies"), None).json();
    let policy = policies["value"].as_array().unwrap().iter().find(|p| p["displayName"] == "Litware employees").unwrap().clone();
    let policy_id = policy["id"].as_str().unwrap().to_owned();
    admin.goto(&format!("{base}/admin/access/policies/{policy_id}/edit")).await.unwrap();
    admin.wait_for("#policy-form", WAIT).await.unwrap();
    assert!(admin.find("#review-on").await.unwrap().is_selected().await.unwrap(), "reviews are on already (from the file)");
    seen(&admin, "policy form").await;
    // Now, to the second: the review covers the access held when it starts, Ann's included.
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let set_start = "document.getElementById('review-starts').value = arguments[0]; return true";
    admin.script(set_start, vec![serde_json::json!(now)]).await.unwrap();
    admin.fill("review-every", "Every 3 months").await.unwrap();
    admin.fill("review-days", "14").await.unwrap();
    admin.fill("review-reviewers", "Specific users (below)").await.unwrap();
    admin.fill("review-who", "nobody@contoso.example").await.unwrap();
    admin.fill("review-no-response", "Deny: access is removed").await.unwrap();
    admin.check("Reviewers must justify their decisions", false).await.unwrap();
    admin.fill("stage1-escalation", "A user (userPrincipalName below)").await.unwrap();
    admin.fill("stage1-escalation-who", "sam.sponsor@contoso.example").await.unwrap();
    admin.fill("stage1-escalation-days", "7").await.unwrap();
    admin.click("Save policy").await.unwrap();
    admin.wait_for("#review-who-error", WAIT).await.unwrap();
    assert!(admin.text("#review-who-error").await.unwrap().contains("not a user of the tenant"));
    assert_eq!(admin.find("#review-who").await.unwrap().attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    assert!(admin.value("review-starts").await.unwrap().starts_with(&now[..16]), "what was typed stays");
    seen(&admin, "policy form refused").await;
    let unchanged = api("GET", &format!("{em}/assignmentPolicies/{policy_id}"), None).json();
    assert_eq!(unchanged["reviewSettings"]["schedule"]["startDateTime"], policy["reviewSettings"]["schedule"]["startDateTime"], "nothing saved");
    admin.fill("review-who", "sam.sponsor@contoso.example").await.unwrap();
    admin.click("Save policy").await.unwrap();
    admin.wait_for("#review-state", WAIT).await.unwrap();
    assert_eq!(admin.text("#review-state").await.unwrap(), "on");
    assert!(admin.text("#review-reviewers").await.unwrap().contains("sam.sponsor@contoso.example"));
    assert!(admin.text("#stages").await.unwrap().contains("escalated to sam.sponsor@contoso.example after P7D"), "{}", admin.text("#stages").await.unwrap());
    seen(&admin, "policy with reviews").await;
    let saved = api("GET", &format!("{em}/assignmentPolicies/{policy_id}"), None).json();
    let stage = &saved["requestApprovalSettings"]["stages"][0];
    assert_eq!((stage["isEscalationEnabled"].as_bool(), stage["durationBeforeEscalation"].as_str()), (Some(true), Some("P7D")), "{stage}");
    assert_eq!(saved["reviewSettings"]["expirationBehavior"], "removeAccess", "{saved}");

    // The review opens with serve's next sweep; Sam finds Ann's access in it.
    let until = std::time::Instant::now() + WAIT;
    loop {
        sam.goto(&format!("{base}/my/reviews")).await.unwrap();
        sam.wait_for("main h1", WAIT).await.unwrap();
        if !sam.find_all("#reviews").await.unwrap().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < until, "no review opened: {}", sam.body_text().await.unwrap());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let item = texts(&sam, "#reviews tbody tr").await;
    assert_eq!(item.len(), 1, "{item:?}");
    assert!(item[0].contains("Projects") && item[0].contains("ann") && item[0].contains("Not reviewed"), "{item:?}");
    seen(&sam, "access reviews").await;
    sam.find("#reviews a").await.unwrap().click().await.unwrap();
    sam.wait_for("#review-form", WAIT).await.unwrap();
    let item_url = sam.url().await.unwrap();
    assert!(sam.text("#recommendation").await.unwrap().contains("recommendation"), "no activity is known: no recommendation");
    seen(&sam, "review item").await;
    // Not Ann's to review: 403.
    ann.goto(&item_url).await.unwrap();
    ann.wait_for_text("Forbidden", WAIT).await.unwrap();
    seen(&ann, "review refused to the reviewed").await;
    sam.fill("Your justification", "Falcon has ended").await.unwrap();
    sam.click("Deny").await.unwrap();
    sam.wait_for("#review-decided", WAIT).await.unwrap();
    assert!(sam.text("#reviews").await.unwrap().contains("Deny"));
    seen(&sam, "review decided").await;

    // The admin stops the review: its decisions apply now, and Ann's access goes.
    let instances = api("GET", &format!("/v1.0/identityGovernance/accessReviews/definitions/{policy_id}/instances"), None).json();
    let instance = instances["value"][0]["id"].as_str().unwrap().to_owned();
    let stop = api("POST", &format!("/v1.0/identityGovernance/accessReviews/definitions/{policy_id}/instances/{instance}/stop"), None);
    assert_eq!(stop.status, 204, "{}", stop.body);
    let members = env.ok(&["group", "members", "-t", "contoso.example", "Projects"]);
    assert!(!members.contains(guest), "{members}");
    ann.goto(&format!("{base}/my/access")).await.unwrap();
    ann.wait_for("#no-assignments", WAIT).await.unwrap();
    seen(&ann, "access gone").await;
    sam.goto(&format!("{base}/my/reviews")).await.unwrap();
    sam.wait_for("#no-reviews", WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_session_ends_after_the_idle_timeout() {
    let env = Env::new();
    env.contoso();
    let token = env.ok(&["token", "create", "-t", "contoso.example", "--name", "console", "--role", "admin"]).trim().to_owned();
    let served = Served::start(&env, &["--console-idle-timeout", "2s"]);
    let base = format!("http://{}", served.addr);
    let browser = Browser::start().await.unwrap();
    let admin = browser.session(Window::Desktop).await.unwrap();
    sign_in_with_token(&admin, &base, "contoso.example", &token).await;
    admin.wait_for("#count-users", WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    admin.goto(&format!("{base}/admin/users")).await.unwrap();
    admin.wait_for_url("/signin?next=%2Fadmin%2Fusers&expired=1", WAIT).await.unwrap();
    admin.wait_for("#session-ended", WAIT).await.unwrap();
    seen(&admin, "session ended").await;
    // Signing in again goes back where it was going.
    admin.fill("token-tenant", "contoso.example").await.unwrap();
    admin.fill("Admin token", &token).await.unwrap();
    admin.click("Sign in with the token").await.unwrap();
    admin.wait_for("#users", WAIT).await.unwrap();
}

/// Every administration page an admin reaches by following links from the overview
/// (the menu, each list's rows, each object's edit and mapping pages; not the pages of a
/// list past its first, nor the event stream and the drawing's SVG): each one passes
/// axe-core and is kept as a screenshot, on the joint venture with its sync
/// configuration, connected organization, catalog, package and policies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_administration_page_reached_from_the_overview_passes_axe() {
    let env = Env::new();
    joint_venture(&env);
    let token = env.ok(&["token", "create", "-t", "contoso.example", "--name", "console", "--role", "admin"]).trim().to_owned();
    let mail = SmtpSink::start().await.unwrap();
    let (_served, base) = serve(&env, &mail);
    let browser = Browser::start().await.unwrap();
    let admin = browser.session(Window::Desktop).await.unwrap();
    sign_in_with_token(&admin, &base, "contoso.example", &token).await;
    admin.wait_for("#count-users", WAIT).await.unwrap();
    let links = "return Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))";
    let (mut queue, mut seen_paths) = (std::collections::VecDeque::from(["/admin".to_owned()]), std::collections::BTreeSet::new());
    while let Some(path) = queue.pop_front() {
        if !seen_paths.insert(path.clone()) {
            continue;
        }
        admin.goto(&format!("{base}{path}")).await.unwrap();
        admin.wait_for("main h1", WAIT).await.unwrap_or_else(|e| panic!("{path}: {e}"));
        seen(&admin, &format!("page {path}")).await;
        let found = admin.script(links, vec![]).await.unwrap();
        for href in found.as_array().unwrap().iter().filter_map(|h| h.as_str()) {
            let skip =
                !href.starts_with("/admin") || ["after=", "before=", "/events", ".svg", "#"].iter().any(|x| href.contains(x)) || seen_paths.contains(href);
            if !skip {
                queue.push_back(href.replace("&amp;", "&"));
            }
        }
        assert!(seen_paths.len() < 120, "the crawl should end: {seen_paths:?}");
    }
    for want in [
        "/admin/tenants",
        "/admin/partners",
        "/admin/sync/new",
        "/admin/tokens",
        "/admin/access/organizations",
        "/admin/access/catalogs",
        "/admin/access/packages",
        "/admin/access/policies",
        "/admin/topology",
    ] {
        assert!(seen_paths.contains(want), "{want} among {seen_paths:?}");
    }
    for part in ["/scoping", "/mappings", "/mapping?", "/edit"] {
        assert!(seen_paths.iter().any(|p| p.contains(part)), "a page with {part} among {seen_paths:?}");
    }

    // A mapping's check runs as it is typed: no button pressed, the result appears.
    let mapping = seen_paths.iter().find(|p| p.ends_with("/mapping?target=displayName")).unwrap().clone();
    admin.goto(&format!("{base}{mapping}")).await.unwrap();
    admin.wait_for("#mapping-form", WAIT).await.unwrap();
    admin.fill("mapping-kind", "Expression").await.unwrap();
    admin.fill("mapping-source", r#"Join(" ", [givenName], [surname]"#).await.unwrap();
    admin.wait_for_text("does not parse", WAIT).await.unwrap();
    seen(&admin, "a mapping checked as it is typed").await;
    admin.fill("mapping-source", r#"Join(" ", [surname], [givenName])"#).await.unwrap();
    admin.wait_for("#check-ok", WAIT).await.unwrap();
    let id = mapping.trim_start_matches("/admin/sync/").split('/').next().unwrap();
    let stored = env.json(&["sync", "show", id]);
    assert!(stored.to_string().contains("displayName") && !stored.to_string().contains("[surname], [givenName]"), "a check saves nothing: {stored}");
}

/// A test CA and a certificate it signed for 127.0.0.1 and localhost: the CA's PEM, the
/// server's chain and key.
fn certificate(env: &Env) -> (Vec<u8>, PathBuf, PathBuf) {
    let c = tenantsync_browser::test_certificate(&env.dir.path().join("tls"), "tenantsync test CA").unwrap();
    (std::fs::read(&c.ca).unwrap(), c.cert, c.key)
}

/// The value of the `csrf` field of a page.
fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// The `name=value` of a `Set-Cookie` named `name`, and the whole header.
fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> (String, String) {
    let v = headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).find(|v| v.starts_with(&format!("{name}="))).expect(name);
    (v.split(';').next().unwrap().to_owned(), v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_speaks_https_with_its_certificate_and_the_console_cookies_are_secure() {
    let env = Env::new();
    env.contoso();
    let token = env.ok(&["token", "create", "-t", "contoso.example", "--name", "console", "--role", "admin"]).trim().to_owned();
    let (ca, cert, key) = certificate(&env);

    // A certificate or key that cannot serve: one line naming the file, exit 1.
    let missing = env.run(&["serve", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", path_str(&key)]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert_eq!(missing.stderr.trim_end().lines().count(), 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("--tls-cert /nonexistent/cert.pem") && missing.stderr.contains("cannot read"), "{}", missing.stderr);
    let garbage = env.file("garbage.pem", "not a certificate\n");
    let bad = env.run(&["serve", "--tls-cert", path_str(&garbage), "--tls-key", path_str(&key)]);
    assert_eq!((bad.code, bad.stderr.trim_end().lines().count()), (1, 1), "{}", bad.stderr);
    assert!(bad.stderr.contains(path_str(&garbage)) && bad.stderr.contains("no PEM certificate"), "{}", bad.stderr);
    let other_key = cert.parent().unwrap().join("ca.key");
    let mismatch = env.run(&["serve", "--tls-cert", path_str(&cert), "--tls-key", path_str(&other_key)]);
    assert_eq!((mismatch.code, mismatch.stderr.trim_end().lines().count()), (1, 1), "{}", mismatch.stderr);
    assert!(mismatch.stderr.contains(&format!("--tls-key {}", path_str(&other_key))), "{}", mismatch.stderr);

    let served = Served::start(&env, &["--tls-cert", path_str(&cert), "--tls-key", path_str(&key)]);
    let base = format!("https://{}", served.addr);
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Plain HTTP on the TLS port is not served.
    assert!(reqwest::get(format!("http://{}/healthz", served.addr)).await.map(|r| r.status() != 200).unwrap_or(true));
    let form = client.get(format!("{base}/signin")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let (signin_cookie, whole) = set_cookie(form.headers(), "tsconsole_signin");
    assert!(whole.contains("Secure") && whole.contains("HttpOnly"), "{whole}");
    let csrf = csrf_in(&form.text().await.unwrap());
    let answer = client
        .post(format!("{base}/signin/token"))
        .header("cookie", &signin_cookie)
        .form(&[("csrf", csrf.as_str()), ("tenant", "contoso.example"), ("token", token.as_str()), ("next", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/admin");
    let (session, whole) = set_cookie(answer.headers(), "tsconsole");
    assert!(whole.contains("; Secure") && whole.contains("HttpOnly") && whole.contains("SameSite=Lax"), "{whole}");
    let overview = client.get(format!("{base}/admin")).header("cookie", &session).send().await.unwrap();
    assert_eq!(overview.status(), 200);
    assert!(overview.text().await.unwrap().contains("<h1>Overview</h1>"));
    // SCIM and the admin API are served over the same TLS.
    let org = client.get(format!("{base}/v1.0/organization")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(org.status(), 200);
}

/// Every `href="…"` and `action="…"` of a page.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in [" href=\"", " action=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            out.push(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    out
}

#[test]
fn behind_a_proxy_under_a_path_prefix_every_link_form_and_redirect_keeps_the_prefix() {
    let env = Env::new();
    env.contoso();
    let token = env.ok(&["token", "create", "-t", "contoso.example", "--name", "console", "--role", "admin"]).trim().to_owned();
    // The proxy strips /tenantsync; the console's pages must put it back everywhere.
    let served = Served::start(&env, &["--public-url", "http://idm.example/tenantsync"]);
    let prefixed = |page: &str, html: &str| {
        let all = links(html);
        assert!(!all.is_empty(), "{page} has links");
        for l in all.iter().filter(|l| !l.starts_with('#')) {
            assert!(l.starts_with("/tenantsync/"), "{page}: a link without the prefix: {l}");
        }
    };
    let to_signin = served.request("GET", "/admin/users", &[], None);
    assert_eq!(to_signin.header("location").as_deref(), Some("/tenantsync/signin?next=%2Fadmin%2Fusers"));
    let form = served.request("GET", "/signin?next=%2Fadmin%2Fusers", &[], None);
    prefixed("/signin", &form.body);
    let cookie = form.header("set-cookie").unwrap();
    assert!(cookie.contains("Path=/tenantsync;"), "{cookie}");
    let signin_cookie = cookie.split(';').next().unwrap().to_owned();
    let body = format!("csrf={}&tenant=contoso.example&token={}&next=%2Fadmin%2Fusers", csrf_in(&form.body), token);
    let signed_in = served.request("POST", "/signin/token", &[("Cookie", &signin_cookie), ("Content-Type", "application/x-www-form-urlencoded")], Some(&body));
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.header("location").as_deref(), Some("/tenantsync/admin/users"));
    let session = signed_in
        .head
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .find(|c| c.starts_with("tsconsole="))
        .unwrap()
        .to_owned();
    assert!(session.contains("Path=/tenantsync;"), "{session}");
    let session = session.split(';').next().unwrap().to_owned();
    for page in ["/admin", "/admin/users", "/admin/sync", "/admin/logs", "/admin/audit"] {
        let p = served.request("GET", page, &[("Cookie", &session)], None);
        assert_eq!(p.status, 200, "{page}");
        prefixed(page, &p.body);
    }
    // A refusal page links back under the prefix too, and names its code once.
    let refused = served.request("GET", "/my", &[("Cookie", &session)], None);
    assert_eq!(refused.status, 403);
    prefixed("the refusal", &refused.body);
    assert_eq!(refused.body.matches("Authorization_RequestDenied").count(), 1, "{}", refused.body);
    let csrf = csrf_in(&served.request("GET", "/admin", &[("Cookie", &session)], None).body);
    let out = served.request("POST", "/signout", &[("Cookie", &session), ("Content-Type", "application/x-www-form-urlencoded")], Some(&format!("csrf={csrf}")));
    assert_eq!(out.header("location").as_deref(), Some("/tenantsync/signin?signed_out=1"));
}
