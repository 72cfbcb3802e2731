//! Editing an access package after its creation: its name, description and visibility,
//! the resource roles it grants (added from its catalog's resources, removed), and the
//! packages incompatible with it. Each change is the admin API's own step
//! (`graph::access::edits`), stored by governance with its checks and audited with the
//! admin API's activity names; a refusal changes nothing.
use super::access::kind_of;
use super::kit::{ROWS, checkbox, gov, select, text_field, writer};
use super::packages::{find_package, origin_key, origin_of, role_name};
use super::page::{self, csrf, see_other};
use super::session::{Posted, Session};
use super::sync::audited;
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use crate::graph::access::edits;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use maud::{Markup, html};
use tenantsync_access::{AccessPackage, PackageId, ResourceRole, RoleKind};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/access/packages/{id}/edit", get(edit_form).post(edit))
        .route("/admin/access/packages/{id}/roles", post(add_role))
        .route("/admin/access/packages/{id}/roles/remove", post(remove_role))
        .route("/admin/access/packages/{id}/incompatible", post(add_incompatible))
        .route("/admin/access/packages/{id}/incompatible/remove", post(remove_incompatible))
}

/// The role a package grants on the resource of form key `key` (a group's membership, a
/// configuration's default access).
fn role_of_key(key: &str) -> ConsoleResult<ResourceRole> {
    let origin = origin_of(key)?;
    RoleKind::of(origin)
        .first()
        .copied()
        .and_then(|r| ResourceRole::new(origin, r))
        .ok_or_else(|| ConsoleError::bad_request(format!("'{key}' has no role to grant")))
}

fn package_id(text: &str) -> ConsoleResult<PackageId> {
    text.parse().map_err(|_| ConsoleError::bad_request(format!("'{text}' is not an access package id")))
}

/// The package page's roles and incompatible packages, with their forms for a writer.
pub(super) async fn sections(st: &ConsoleState, session: &Session, p: &AccessPackage) -> ConsoleResult<Markup> {
    let g = gov(st)?;
    let mut roles = Vec::new();
    for r in p.roles.iter().take(ROWS) {
        roles.push((origin_key(r.origin), role_name(st, session, r).await));
    }
    let granted: Vec<String> = roles.iter().map(|(k, _)| k.clone()).collect();
    let addable: Vec<(String, String)> = if writer(session) {
        let resources = g.catalog_resources(session.tenant.id, p.catalog_id).await?;
        resources
            .iter()
            .map(|r| (origin_key(r.origin), format!("{} — {}", r.display_name, kind_of(r.origin))))
            .filter(|(k, _)| !granted.contains(k))
            .take(ROWS)
            .collect()
    } else {
        Vec::new()
    };
    // The incompatible packages by their ids; the candidates a page of the others.
    let mut held = Vec::new();
    for id in &p.incompatible_packages {
        if let Ok(o) = g.access_package(session.tenant.id, *id).await {
            held.push(o);
        }
    }
    let incompatible: Vec<&AccessPackage> = held.iter().collect();
    let (me, excluded) = (p.id, p.incompatible_packages.clone());
    let others: Vec<(String, String)> = g
        .packages_where(session.tenant.id, &move |o| o.id != me && !excluded.contains(&o.id), ROWS)
        .await?
        .into_iter()
        .map(|o| (o.id.to_string(), o.display_name))
        .collect();
    let w = writer(session);
    Ok(html! {
        h2 id="roles-heading" { "Resource roles" }
        @if roles.is_empty() { p.note { "None." } }
        @else {
            ul id="roles" aria-labelledby="roles-heading" { @for (key, name) in &roles {
                li {
                    (name)
                    @if w {
                        " "
                        form.inline method="post" action={"/admin/access/packages/" (p.id) "/roles/remove"} {
                            (csrf(session))
                            input type="hidden" name="role" value=(key);
                            button.secondary type="submit" aria-label={"Remove the role " (name)} { "Remove" }
                        }
                    }
                }
            } }
        }
        @if w && !addable.is_empty() {
            form.inline method="post" action={"/admin/access/packages/" (p.id) "/roles"} id="add-role-form" aria-label="Add a resource role" {
                (csrf(session))
                (select("add-role", "Add a role of the catalog's resources", "role", "", &addable))
                button type="submit" id="add-role-submit" { "Add role" }
            }
        }
        h2 id="incompatible-heading" { "Incompatible access packages" }
        p.note { "Someone assigned one of these may not request this package." }
        @if incompatible.is_empty() { p.note id="no-incompatible" { "None." } }
        @else {
            ul id="incompatible" aria-labelledby="incompatible-heading" { @for o in &incompatible {
                li {
                    a href={"/admin/access/packages/" (o.id)} { (o.display_name) }
                    @if w {
                        " "
                        form.inline method="post" action={"/admin/access/packages/" (p.id) "/incompatible/remove"} {
                            (csrf(session))
                            input type="hidden" name="package" value=(o.id);
                            button.secondary type="submit" aria-label={"Remove " (o.display_name) " from the incompatible packages"} { "Remove" }
                        }
                    }
                }
            } }
        }
        @if w && !others.is_empty() {
            form.inline method="post" action={"/admin/access/packages/" (p.id) "/incompatible"} id="add-incompatible-form" aria-label="Add an incompatible package" {
                (csrf(session))
                (select("add-incompatible", "Mark a package incompatible", "package", "", &others))
                button type="submit" id="add-incompatible-submit" { "Add" }
            }
        }
    })
}

/// `GET /admin/access/packages/{id}/edit`: name, description, hidden.
async fn edit_form(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    session.writer()?;
    let p = find_package(&st, &session, &id).await?;
    let body = html! {
        form.stack method="post" action={"/admin/access/packages/" (p.id) "/edit"} id="package-form" aria-label="Access package" {
            (csrf(&session))
            (text_field("package-name", "Name", "name", &p.display_name, true))
            (text_field("package-description", "Description", "description", &p.description, false))
            (checkbox("package-hidden", "Hidden (requested only through its link)", "hidden", p.is_hidden))
            div { button type="submit" id="save-package" { "Save" } }
        }
        p { a href={"/admin/access/packages/" (p.id)} { "Back to the package (its roles and incompatible packages are edited there)" } }
    };
    Ok(page::ok(&format!("Edit {}", p.display_name), &session, "/admin/access/packages", body))
}

/// `POST /admin/access/packages/{id}/edit`.
async fn edit(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let mut p = find_package(&st, &session, &id).await?;
    let now = st.store.clock().now();
    let hidden = form.get("hidden") == "true";
    if let Some(e) = edits::set_package_settings(gov(&st)?, now, session.tenant.id, &mut p, form.get("name"), form.get("description"), hidden).await? {
        audited(&st, &session, e).await;
    }
    Ok(see_other(&format!("/admin/access/packages/{}", p.id)))
}

/// `POST /admin/access/packages/{id}/roles`: a role of a resource of the catalog.
async fn add_role(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let mut p = find_package(&st, &session, &id).await?;
    let role = role_of_key(form.get("role"))?;
    if let Some(e) = edits::add_role(gov(&st)?, st.store.clock().now(), session.tenant.id, &mut p, role).await? {
        audited(&st, &session, e).await;
    }
    Ok(see_other(&format!("/admin/access/packages/{}", p.id)))
}

/// `POST /admin/access/packages/{id}/roles/remove`.
async fn remove_role(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let mut p = find_package(&st, &session, &id).await?;
    let role = role_of_key(form.get("role"))?;
    let e = edits::remove_role(gov(&st)?, st.store.clock().now(), session.tenant.id, &mut p, role).await?;
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/access/packages/{}", p.id)))
}

/// `POST /admin/access/packages/{id}/incompatible`.
async fn add_incompatible(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let mut p = find_package(&st, &session, &id).await?;
    let other = package_id(form.get("package"))?;
    if let Some(e) = edits::add_incompatible(gov(&st)?, st.store.clock().now(), session.tenant.id, &mut p, other).await? {
        audited(&st, &session, e).await;
    }
    Ok(see_other(&format!("/admin/access/packages/{}", p.id)))
}

/// `POST /admin/access/packages/{id}/incompatible/remove`.
async fn remove_incompatible(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let mut p = find_package(&st, &session, &id).await?;
    let other = package_id(form.get("package"))?;
    let e = edits::remove_incompatible(gov(&st)?, st.store.clock().now(), session.tenant.id, &mut p, other).await?;
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/access/packages/{}", p.id)))
}
