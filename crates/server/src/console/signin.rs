//! Signing in and out. Administrators paste an admin API token (the tokens `/v1.0`
//! takes, `caller.rs`): it must be usable and of the tenant signed in to. People enter
//! their mail: when the tenant's just-in-time rules could admit them
//! ([`Governance::person_by_email`](tenantsync_governance::Governance::person_by_email)),
//! an 8-digit code valid 10 minutes is mailed to them; the answer is the same whether or
//! not a code went, so the form tells no one who is known. Five wrong codes end it.
use super::page::{self, encode, see_other};
use super::session::{self, Posted, Principal, SIGNIN_COOKIE, Session, SignInPost, set_cookie};
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use crate::auth;
use crate::graph::error::{GraphCode, GraphError};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::{Markup, html};
use std::collections::HashMap;
use tenantsync_domain::{DomainName, Mail, Tenant};
use tenantsync_governance::Subject;
use tenantsync_store::{AccessObjectKind, CodeCheck, SignInCode, TokenRole};

/// How long a mailed code is valid.
const CODE_VALIDITY: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);
/// Wrong codes allowed before the code is void.
pub(crate) const CODE_ATTEMPTS: u32 = 5;

type Params = Query<HashMap<String, String>>;

/// Where to go after sign-in: a path of this site, never another site.
fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") && !next.starts_with("/signin")).then_some(next)
}

/// `GET /`: the start page of who is signed in, else sign-in.
pub(crate) async fn home(session: Result<Session, ConsoleError>) -> Response {
    see_other(match session.map(|s| s.principal) {
        Ok(Principal::Admin { .. }) => "/admin",
        Ok(Principal::Person { .. }) => "/my",
        Err(_) => "/signin",
    })
}

async fn resolve_tenant(st: &ConsoleState, text: &str) -> ConsoleResult<Tenant> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ConsoleError::bad_request("name the tenant (its domain, such as contoso.example)"));
    }
    let missing = || ConsoleError::not_found(format!("there is no tenant '{text}'"));
    if let Ok(id) = text.parse::<tenantsync_domain::TenantId>() {
        return st.store.get_tenant(id).await.map_err(|_| missing());
    }
    let domain = DomainName::parse(text).map_err(|_| missing())?;
    st.store.find_tenant_by_domain(&domain).await?.ok_or_else(missing)
}

/// A sign-in page's answer with its form cookie set.
fn with_signin_cookie(mut res: Response, token: &str, secure: bool) -> Response {
    if let Ok(v) = HeaderValue::from_str(&set_cookie(SIGNIN_COOKIE, token, Some(3600), secure)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn field(id: &str, label: &str, name: &str, kind: &str, value: &str, hint: Option<&str>, autocomplete: &str) -> Markup {
    let hint_id = format!("{id}-hint");
    html! {
        div {
            label for=(id) { (label) }
            @if let Some(h) = hint { p.note id=(hint_id) { (h) } }
            input id=(id) name=(name) type=(kind) value=(value) required autocomplete=(autocomplete) aria-describedby=[hint.map(|_| hint_id.as_str())];
        }
    }
}

/// `GET /signin`: the two ways in.
pub(crate) async fn form(State(st): State<Shared>, headers: HeaderMap, Query(q): Params) -> ConsoleResult {
    let token = match session::cookie(&headers, SIGNIN_COOKIE) {
        Some(t) if t.len() == 64 => t.to_owned(),
        _ => session::random_hex()?,
    };
    let get = |k: &str| q.get(k).map_or("", String::as_str);
    let next = safe_next(get("next")).unwrap_or("");
    let mail = st.config.mailer.is_some() && st.gov.is_some();
    let body = html! {
        @if get("expired") == "1" { p.panel role="status" id="session-ended" { "Your session ended. Sign in again." } }
        @if get("signed_out") == "1" { p.panel role="status" id="signed-out" { "You signed out." } }
        section aria-labelledby="admin-heading" {
            h2 id="admin-heading" { "Administrators" }
            p.note { "Paste an admin API token of the tenant (" code { "tenantsync token create --role admin" } "). A reader token signs in to look only." }
            form.stack method="post" action="/signin/token" id="token-form" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                (field("token-tenant", "Tenant", "tenant", "text", get("tenant"), Some("Its domain, such as contoso.example"), "organization"))
                (field("token", "Admin token", "token", "password", "", None, "off"))
                div { button type="submit" id="token-submit" { "Sign in with the token" } }
            }
        }
        section aria-labelledby="people-heading" {
            h2 id="people-heading" { "Everyone else: My Access" }
            @if mail {
                p.note { "Enter your email address: if the organization can give you access, a code to sign in is mailed to you." }
                form.stack method="post" action="/signin/email" id="email-form" {
                    input type="hidden" name="csrf" value=(token);
                    input type="hidden" name="next" value=(next);
                    (field("email-tenant", "Organization", "tenant", "text", get("tenant"), Some("The domain of the organization whose access you need, such as contoso.example"), "organization"))
                    (field("email", "Your email address", "email", "email", "", None, "email"))
                    div { button type="submit" id="email-submit" { "Send me a code" } }
                }
            } @else {
                p.note id="email-unavailable" { "Sign-in by email is not available here: this server sends no mail (serve --smtp-url)." }
            }
        }
    };
    let res = page::page(StatusCode::OK, "Sign in", None, "", body);
    Ok(with_signin_cookie(res, &token, st.config.secure_cookies))
}

/// Answers a successful sign-in: the session cookie, the form cookie cleared, and on.
fn signed_in(cookie: &str, secure: bool, to: &str) -> Response {
    let mut res = see_other(to);
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(cookie) {
        h.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&set_cookie(SIGNIN_COOKIE, "", Some(0), secure)) {
        h.append(header::SET_COOKIE, v);
    }
    res
}

fn unauthorized(message: &str) -> ConsoleError {
    ConsoleError::Graph(GraphError::new(GraphCode::Unauthorized, message))
}

/// `POST /signin/token`.
pub(crate) async fn with_token(State(st): State<Shared>, SignInPost { form }: SignInPost) -> ConsoleResult {
    let tenant = resolve_tenant(&st, form.get("tenant")).await?;
    let refused = || unauthorized("this is not a usable admin token (unknown, revoked or expired)");
    let (id, secret) = auth::parse(form.get("token")).ok_or_else(refused)?;
    let token = st.store.get_token(id).await?.ok_or_else(refused)?;
    if !auth::constant_time_eq(&auth::hash_secret(secret), &token.secret_hash) || !token.is_usable(st.store.clock().now()) {
        return Err(refused());
    }
    if token.tenant_id != tenant.id {
        return Err(ConsoleError::forbidden(format!("this token does not sign in to {}: it belongs to another tenant", tenant.initial_domain)));
    }
    let personal = match &st.gov {
        Some(g) => g.store().access_object(tenant.id, AccessObjectKind::PersonalToken, token.id).await?,
        None => None,
    };
    let user = personal.as_ref().and_then(|b| b.get("userId")).and_then(|v| v.as_str()).and_then(|s| s.parse().ok());
    let principal = match (token.role, user) {
        (TokenRole::Scim, _) => return Err(ConsoleError::forbidden("a SCIM token (role scim) does not sign in to the console; use an admin or reader token")),
        (_, Some(u)) => {
            let email = st.store.get_user(tenant.id, u).await?.attrs.user_principal_name.to_string();
            Principal::Person { email, user: Some(u), home_tenant: None, home_user: None }
        }
        (role, None) => Principal::Admin { token_id: token.id, name: token.name.clone(), writer: role == TokenRole::Admin },
    };
    let cookie = session::open(&st, tenant.id, &principal).await?;
    let home = if matches!(principal, Principal::Admin { .. }) { "/admin" } else { "/my" };
    Ok(signed_in(&cookie, st.config.secure_cookies, safe_next(form.get("next")).unwrap_or(home)))
}

/// An 8-digit code.
fn new_code() -> ConsoleResult<String> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| {
        tracing::error!(error = %e, "console: the system's random source failed");
        ConsoleError::Graph(GraphError::new(GraphCode::Internal, "the server failed"))
    })?;
    Ok(format!("{:08}", u64::from_le_bytes(b) % 100_000_000))
}

/// `POST /signin/email`: mails a code when the person could be admitted; the answer is
/// the same either way.
pub(crate) async fn with_email(State(st): State<Shared>, SignInPost { form }: SignInPost) -> ConsoleResult {
    let (Some(gov), Some(mailer)) = (st.gov.clone(), st.config.mailer.clone()) else {
        return Err(ConsoleError::Graph(GraphError::new(
            GraphCode::NotImplemented,
            "sign-in by email is not available: this server sends no mail (serve --smtp-url)",
        )));
    };
    let tenant = resolve_tenant(&st, form.get("tenant")).await?;
    let email = Mail::parse(form.get("email")).map_err(|e| ConsoleError::bad_request(format!("'{}' is not an email address: {e}", form.get("email"))))?;
    let address = email.as_str().to_ascii_lowercase();
    if gov.person_by_email(tenant.id, &email).await?.is_some() {
        let code = new_code()?;
        let now = st.store.clock().now();
        let expires = now.checked_add(CODE_VALIDITY).unwrap_or(now);
        let record =
            SignInCode { tenant: tenant.id, email_hash: session::email_hash(&address), code_hash: session::code_hash(tenant.id, &address, &code), expires };
        st.config.store.put_code(record).await?;
        let subject = format!("Your code to sign in to {}", tenant.display_name);
        let body = format!(
            "Your code to sign in to {} ({}) is {code}.\r\nIt is valid for 10 minutes. If you did not ask for it, ignore this mail.\r\n",
            tenant.display_name, tenant.initial_domain
        );
        // Sent aside: the answer does not wait for the relay, so its time tells nothing.
        tokio::spawn(async move {
            if let Err(e) = mailer.send(std::slice::from_ref(&address), &subject, &body).await {
                tracing::warn!(error = %e, "console: the sign-in code was not sent");
            }
        });
    }
    let next = safe_next(form.get("next")).unwrap_or("");
    Ok(see_other(&format!("/signin/code?tenant={}&email={}&next={}", encode(tenant.initial_domain.as_str()), encode(email.as_str()), encode(next))))
}

fn code_page(status: StatusCode, csrf: &str, tenant: &str, email: &str, next: &str, message: Option<&str>) -> Response {
    let body = html! {
        @if let Some(m) = message { p.panel.error role="alert" id="code-message" { (m) } }
        p { "If " strong { (email) } " can be given access by " strong { (tenant) } ", a code to sign in was mailed there. It is valid for 10 minutes." }
        form.stack method="post" action="/signin/code" id="code-form" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="tenant" value=(tenant);
            input type="hidden" name="email" value=(email);
            input type="hidden" name="next" value=(next);
            (field("code", "Code", "code", "text", "", Some("The 8 digits in the mail"), "one-time-code"))
            div { button type="submit" id="code-submit" { "Sign in" } }
        }
        p { a href={"/signin?tenant=" (encode(tenant))} { "Ask for a new code" } }
    };
    page::page(status, "Enter your code", None, "", body)
}

/// `GET /signin/code`: the form for the mailed code.
pub(crate) async fn code_form(State(st): State<Shared>, headers: HeaderMap, Query(q): Params) -> ConsoleResult {
    let token = match session::cookie(&headers, SIGNIN_COOKIE) {
        Some(t) if t.len() == 64 => t.to_owned(),
        _ => session::random_hex()?,
    };
    let get = |k: &str| q.get(k).map_or("", String::as_str);
    let res = code_page(StatusCode::OK, &token, get("tenant"), get("email"), safe_next(get("next")).unwrap_or(""), None);
    Ok(with_signin_cookie(res, &token, st.config.secure_cookies))
}

/// `POST /signin/code`.
pub(crate) async fn with_code(State(st): State<Shared>, SignInPost { form }: SignInPost) -> ConsoleResult {
    let gov = st.gov.clone().ok_or_else(|| ConsoleError::Graph(GraphError::new(GraphCode::NotImplemented, "sign-in by email is not available")))?;
    let tenant = resolve_tenant(&st, form.get("tenant")).await?;
    let email = Mail::parse(form.get("email")).map_err(|e| ConsoleError::bad_request(format!("'{}' is not an email address: {e}", form.get("email"))))?;
    let address = email.as_str().to_ascii_lowercase();
    let code: String = form.get("code").chars().filter(|c| !c.is_whitespace()).collect();
    let now = st.store.clock().now();
    let check =
        st.config.store.check_code(tenant.id, session::email_hash(&address), session::code_hash(tenant.id, &address, &code), now, CODE_ATTEMPTS).await?;
    let next = safe_next(form.get("next")).unwrap_or("");
    let again = |message: &str| code_page(StatusCode::UNAUTHORIZED, form.get("csrf"), tenant.initial_domain.as_str(), email.as_str(), next, Some(message));
    match check {
        CodeCheck::Accepted => {}
        CodeCheck::Wrong { attempts_left } if attempts_left > 0 => {
            return Ok(again(&format!("That code is not right. {attempts_left} more attempt{} allowed.", if attempts_left == 1 { " is" } else { "s are" })));
        }
        CodeCheck::Wrong { .. } | CodeCheck::Missing => {
            return Ok(again(
                "No code is waiting for this address: it was never sent, has been used, expired, or too many wrong codes were entered. Ask for a new code.",
            ));
        }
    }
    let principal = match gov.person_by_email(tenant.id, &email).await? {
        Some(Subject::User(u)) => Principal::Person { email: address, user: Some(u), home_tenant: None, home_user: None },
        Some(Subject::TenantUser { tenant: t, user }) => Principal::Person { email: address, user: None, home_tenant: Some(t), home_user: Some(user) },
        Some(Subject::Email(_)) => Principal::Person { email: address, user: None, home_tenant: None, home_user: None },
        None => return Err(ConsoleError::forbidden("this address can no longer be given access here")),
    };
    let cookie = session::open(&st, tenant.id, &principal).await?;
    Ok(signed_in(&cookie, st.config.secure_cookies, if next.is_empty() { "/my" } else { next }))
}

/// `POST /signout`: the session is deleted from the store and the cookie cleared.
pub(crate) async fn sign_out(State(st): State<Shared>, headers: HeaderMap, _posted: Posted) -> ConsoleResult {
    let clear = session::close(&st, &headers).await?;
    let mut res = see_other("/signin?signed_out=1");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}
