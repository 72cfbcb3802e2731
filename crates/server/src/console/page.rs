//! The layout every page shares (skip link, landmarks, navigation by role, `lang`,
//! titles), the stylesheet (embedded), the error page and small pieces: paging links,
//! a CSRF field, response headers (no caching, no framing, nothing from elsewhere).
use super::session::{CSRF_FIELD, Principal, Session};
use crate::graph::error::GraphError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

const CSS: &str = include_str!("console.css");

/// `GET /console.css`.
pub(crate) async fn stylesheet() -> Response {
    let mut res = CSS.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

/// The navigation of a session: by who signed in.
fn nav(session: &Session, current: &str) -> Markup {
    let links: &[(&str, &str)] = match session.principal {
        Principal::Admin { .. } => &[
            ("/admin", "Overview"),
            ("/admin/users", "Users"),
            ("/admin/groups", "Groups"),
            ("/admin/tenants", "Tenants"),
            ("/admin/topology", "Topology"),
            ("/admin/partners", "Partner settings"),
            ("/admin/sync", "Sync configurations"),
            ("/admin/logs", "Provisioning logs"),
            ("/admin/audit", "Audit log"),
            ("/admin/tokens", "Tokens"),
            ("/admin/access/organizations", "Connected organizations"),
            ("/admin/access/catalogs", "Catalogs"),
            ("/admin/access/packages", "Access packages"),
            ("/admin/access/policies", "Policies"),
        ],
        Principal::Person { .. } => &[
            ("/my", "Access packages"),
            ("/my/requests", "My requests"),
            ("/my/access", "My access"),
            ("/my/approvals", "Approvals"),
            ("/my/reviews", "Access reviews"),
        ],
    };
    html! {
        nav.main aria-label="Main" {
            ul {
                @for (href, label) in links {
                    li { a href=(href) aria-current=[(*href == current).then_some("page")] { (label) } }
                }
            }
        }
    }
}

/// A whole page: `title` (also the `h1`), the session's header and navigation (none
/// before sign-in), and `body` in `main`.
pub(crate) fn page(status: StatusCode, title: &str, session: Option<&Session>, current: &str, body: Markup) -> Response {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · tenantsync" }
                link rel="stylesheet" href="/console.css";
            }
            body {
                a.skip href="#main" { "Skip to main content" }
                header.top {
                    span.brand { "tenantsync" }
                    @if let Some(s) = session {
                        span { (s.tenant.display_name) " (" (s.tenant.initial_domain) ")" }
                        span {
                            span id="signed-in-as" { "Signed in as " (s.who()) }
                            " "
                            form method="post" action="/signout" {
                                (csrf(s))
                                button type="submit" id="sign-out" { "Sign out" }
                            }
                        }
                    }
                }
                @if let Some(s) = session { (nav(s, current)) }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
                footer { "tenantsync console" }
            }
        }
    };
    html_response(status, doc)
}

/// The path prefix of the public URL (`serve --public-url https://host/tenantsync`:
/// `/tenantsync`; none: ""). A reverse proxy in front strips it, so the routes stay at
/// `/`, but every link, form action and redirect the browser follows must carry it.
pub(crate) fn prefix() -> String {
    let origin = crate::origin::current();
    let after_scheme = origin.split_once("://").map_or(&*origin, |(_, rest)| rest);
    after_scheme.find('/').and_then(|i| after_scheme.get(i..)).unwrap_or("").trim_end_matches('/').to_owned()
}

/// `html` with the public URL's prefix before every site-absolute `href` and `action`.
/// Only markup can hold `href="/`: maud escapes `"` in every value and text, so no value
/// a user typed is rewritten.
fn prefixed(html: String) -> String {
    let p = prefix();
    if p.is_empty() {
        return html;
    }
    html.replace(" href=\"/", &format!(" href=\"{p}/")).replace(" action=\"/", &format!(" action=\"{p}/"))
}

/// An HTML answer with the console's headers.
pub(crate) fn html_response(status: StatusCode, doc: Markup) -> Response {
    let mut res = (status, prefixed(doc.into_string())).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    res
}

/// `200` and a page.
pub(crate) fn ok(title: &str, session: &Session, current: &str, body: Markup) -> Response {
    page(StatusCode::OK, title, Some(session), current, body)
}

/// The hidden field of the session's CSRF token.
pub(crate) fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf); }
}

/// An error as a page: its status, its message and its code.
pub(crate) fn error_page(e: &GraphError) -> Response {
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        div.panel role="alert" {
            p.error id="error-message" { (e.message) }
            // The cause's own code, and the table's code when it is another (it is the same
            // for the console's own refusals: shown once).
            p.note {
                "Code: " code { (e.cause) }
                @if e.cause != e.code.code() { " (" (e.code.code()) ", HTTP " (status.as_u16()) ")" } @else { " (HTTP " (status.as_u16()) ")" }
            }
        }
        p { a href="/" { "Back to the start page" } }
    };
    page(status, title, None, "", body)
}

/// `303 See Other` to `to` (a path of the console: the public URL's prefix is put
/// before it).
pub(crate) fn see_other(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    let to = if to.starts_with('/') { format!("{}{to}", prefix()) } else { to.to_owned() };
    if let Ok(v) = HeaderValue::from_str(&to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Percent-encodes a query component.
pub(crate) fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The links to the first page (when not on it) and to the next one (when there is one):
/// `path` with `params` and `after`.
pub(crate) fn pager(path: &str, params: &[(&str, &str)], on_first: bool, next: Option<String>) -> Markup {
    let q: Vec<String> = params.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", encode(v))).collect();
    let first = if q.is_empty() { path.to_owned() } else { format!("{path}?{}", q.join("&")) };
    let href = next.map(|after| {
        let mut q = q.clone();
        q.push(format!("after={}", encode(&after)));
        format!("{path}?{}", q.join("&"))
    });
    html! {
        nav.pager aria-label="Pages" {
            @if !on_first {
                a href=(first) id="first-page" { "First page" }
            }
            @if let Some(h) = href { a href=(h) id="next-page" rel="next" { "Next page" } }
        }
    }
}

/// The links of a list paged both ways ([`super::kit::Cursor`]): the first page, the
/// previous one (the page before `previous`) and the next one (after `next`).
pub(crate) fn pages(path: &str, params: &[(&str, &str)], on_first: bool, previous: Option<String>, next: Option<String>) -> Markup {
    let q: Vec<String> = params.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", encode(v))).collect();
    let first = if q.is_empty() { path.to_owned() } else { format!("{path}?{}", q.join("&")) };
    let link = |k: &str, id: String| {
        let mut q = q.clone();
        q.push(format!("{k}={}", encode(&id)));
        format!("{path}?{}", q.join("&"))
    };
    let (previous, next) = (previous.map(|p| link("before", p)), next.map(|n| link("after", n)));
    html! {
        nav.pager aria-label="Pages" {
            @if !on_first { a href=(first) id="first-page" { "First page" } }
            @if let Some(h) = previous { a href=(h) id="previous-page" rel="prev" { "Previous page" } }
            @if let Some(h) = next { a href=(h) id="next-page" rel="next" { "Next page" } }
        }
    }
}

/// A time as the console shows it (UTC, to the second).
pub(crate) fn time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}
