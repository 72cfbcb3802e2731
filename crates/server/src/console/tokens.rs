//! The tenant's API tokens, as `tenantsync token list/create/revoke` shows and makes them:
//! never a secret in a list (the store keeps only its hash); a new token is shown once,
//! on the page that answers its creation; revoking stops it at once (a console session
//! signed in with it ends too).
use super::admin::get;
use super::kit::{PEEK, after_key, select, split_page, text_field, writer};
use super::page::{self, csrf, see_other, time};
use super::session::{Posted, Session};
use super::sync::audited;
use super::{ConsoleError, ConsoleResult, Shared};
use crate::graph::audit::Entry;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get as get_route, post};
use maud::html;
use std::collections::HashMap;
use tenantsync_domain::ObjectId;
use tenantsync_store::{ApiToken, AuditCategory, AuditOperation, TokenRole};

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/admin/tokens", get_route(list).post(create)).route("/admin/tokens/{id}/revoke", post(revoke))
}

/// The longest expiry offered, in days (ten years).
const MAX_DAYS: i64 = 3650;

fn state(t: &ApiToken, now: jiff::Timestamp) -> (&'static str, &'static str) {
    if t.revoked_date_time.is_some() {
        ("Revoked", "status-bad")
    } else if !t.is_usable(now) {
        ("Expired", "status-warn")
    } else {
        ("Active", "status-good")
    }
}

async fn list_page(st: &super::ConsoleState, session: &Session, after: &str, created: Option<(&ApiToken, &str)>) -> ConsoleResult {
    let now = st.store.clock().now();
    let (tokens, next) = split_page(st.store.tokens_page(session.tenant.id, after_key(after)?, PEEK).await?, |t| t.id.to_string());
    let roles: Vec<(String, String)> = TokenRole::ALL.iter().map(|r| (r.as_str().to_owned(), r.as_str().to_owned())).collect();
    let body = html! {
        @if let Some((t, secret)) = created {
            section.panel role="status" aria-labelledby="created-heading" id="created" {
                h2 id="created-heading" { "Token “" (t.name) "” created" }
                p { "Copy it now: it is shown only this once (only its hash is kept)." }
                p { label for="new-token" { "Token" } input id="new-token" type="text" readonly value=(secret); }
            }
        }
        p.note { "Roles: admin (the admin API and SCIM), reader (reads only), scim (SCIM only, what a provisioning client holds)." }
        @if tokens.is_empty() { p.note id="no-tokens" { "No token yet." } }
        @else {
            div.scroll { table.responsive id="tokens" aria-label="Tokens" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { "State" } th scope="col" { "Id" } @if writer(session) { th scope="col" { "Revoke" } } } }
                tbody { @for t in &tokens {
                    @let (label, class) = state(t, now);
                    tr {
                        td data-label="Name" { (t.name) }
                        td data-label="Role" { (t.role.as_str()) }
                        td data-label="Created" { (time(t.created_date_time)) }
                        td data-label="Expires" { @match t.expires_date_time { Some(e) => (time(e)), None => "Never" } }
                        td data-label="State" class=(class) { (label) }
                        td data-label="Id" { code { (t.id) } }
                        @if writer(session) {
                            td data-label="Revoke" {
                                @if t.revoked_date_time.is_none() {
                                    form.inline method="post" action={"/admin/tokens/" (t.id) "/revoke"} {
                                        (csrf(session))
                                        button.secondary type="submit" id={"revoke-" (t.id)} aria-label={"Revoke " (t.name)} { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                } }
            } }
        }
        (page::pager("/admin/tokens", &[], after.is_empty(), next))
        @if writer(session) {
            h2 id="new-heading" { "New token" }
            form.stack method="post" action="/admin/tokens" id="token-create-form" aria-labelledby="new-heading" {
                (csrf(session))
                (text_field("token-name", "Name (who or what uses it)", "name", "", true))
                (select("token-role", "Role", "role", "scim", &roles))
                div { label for="token-days" { "Days until it expires (empty: never)" } input id="token-days" name="days" type="number" min="1" max=(MAX_DAYS); }
                div { button type="submit" id="create-token" { "Create token" } }
            }
        }
    };
    Ok(page::page(if created.is_some() { StatusCode::CREATED } else { StatusCode::OK }, "Tokens", Some(session), "/admin/tokens", body))
}

/// `GET /admin/tokens?after=…`.
async fn list(State(st): State<Shared>, session: Session, Query(q): Query<HashMap<String, String>>) -> ConsoleResult {
    session.admin()?;
    list_page(&st, &session, get(&q, "after"), None).await
}

/// `POST /admin/tokens`: a token issued as `tenantsync token create` issues it, shown once.
async fn create(State(st): State<Shared>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let name = form.get("name");
    if name.is_empty() {
        return Err(ConsoleError::bad_request("a token needs a name"));
    }
    let role_text = form.get("role");
    let role = TokenRole::parse(role_text).ok_or_else(|| ConsoleError::bad_request(format!("role '{role_text}' is not admin, reader or scim")))?;
    let days = match form.get("days") {
        "" => None,
        d => match d.parse::<i64>() {
            Ok(n) if (1..=MAX_DAYS).contains(&n) => Some(n),
            _ => return Err(ConsoleError::bad_request(format!("days '{d}' is not a whole number from 1 to {MAX_DAYS}"))),
        },
    };
    let expires = days.map(|d| st.store.clock().now() + jiff::SignedDuration::from_hours(d * 24));
    let issued = crate::auth::issue(session.tenant.id, name.to_owned(), role, expires).map_err(|e| {
        ConsoleError::Graph(crate::graph::error::GraphError::new(crate::graph::error::GraphCode::Unavailable, format!("no randomness available: {e}")))
    })?;
    let stored = st.store.create_token(issued.record).await?;
    let e = Entry::new("Add API token", AuditOperation::Add, AuditCategory::ApplicationManagement, "ApiToken", stored.id).named(Some(&stored.name)).change(
        "role",
        None,
        Some(role.as_str().to_owned()),
    );
    audited(&st, &session, e).await;
    list_page(&st, &session, "", Some((&stored, &issued.token))).await
}

/// `POST /admin/tokens/{id}/revoke`.
async fn revoke(State(st): State<Shared>, Path(id): Path<String>, Posted { session, .. }: Posted) -> ConsoleResult {
    session.writer()?;
    let tid: ObjectId = id.parse().map_err(|_| ConsoleError::not_found(format!("token '{id}' does not exist")))?;
    let t = st.store.revoke_token(session.tenant.id, tid).await?;
    let e = Entry::new("Revoke API token", AuditOperation::Delete, AuditCategory::ApplicationManagement, "ApiToken", t.id).named(Some(&t.name));
    audited(&st, &session, e).await;
    Ok(see_other("/admin/tokens?revoked=1"))
}
