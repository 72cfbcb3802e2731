//! Access packages (with the resource roles of their catalog) and their assignments
//! (paged from the store's keyset query, each with "Remove": an `adminRemove` request, as
//! the admin API's `assignmentRequests` makes one). Packages are checked and stored by
//! governance (`put_access_package`: Entra's limits, resources of the tenant), as the
//! Graph endpoints store them; `package_edit` changes them afterwards, `policies` holds
//! their assignment policies.
use super::access::{Params, find_catalog, kind_of, upn_of};
use super::admin::get;
use super::kit::{Cursor, ROWS, checkbox, gov, select, text_field, writer};
use super::page::{self, csrf, see_other, time};
use super::session::{Form, Posted, Session};
use super::sync::audited;
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use crate::graph::audit::Entry;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get as get_route, post};
use maud::html;
use tenantsync_access::{AccessPackage, AssignmentId, Catalog, PackageId, PolicyId, RequestType, ResourceOrigin, ResourceRole, RoleKind};
use tenantsync_domain::ObjectId;
use tenantsync_governance::{Actor, NewRequest, Subject};
use tenantsync_store::{AccessObjectKind, AssignmentFilter, AuditCategory, AuditOperation, IdRange};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/access/packages", get_route(packages).post(create_package))
        .route("/admin/access/packages/new", get_route(new_package))
        .route("/admin/access/packages/{id}", get_route(package))
        .route("/admin/access/assignments/{id}/remove", post(remove_assignment))
}

fn entry(activity: &str, op: AuditOperation, kind: &str, id: impl ToString) -> Entry {
    Entry::new(activity, op, AuditCategory::EntitlementManagement, kind, id)
}

/// `GET /admin/access/packages?after=…|before=…`: a page, read by the store's key.
async fn packages(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let c = Cursor::of(&q)?;
    let read = gov(&st)?.page::<AccessPackage>(session.tenant.id, AccessObjectKind::AccessPackage, c.range()).await?;
    let (list, previous, next) = c.window(read.into_iter().map(|(_, x)| x).collect(), |x| x.id.to_string());
    let body = html! {
        @if writer(&session) { p { a.button href="/admin/access/packages/new" id="new-package" { "New access package" } } }
        @if list.is_empty() { p.note id="no-packages" { "No access package yet." } }
        @else {
            div.scroll { table.responsive id="packages" aria-label="Access packages" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Description" } th scope="col" { "Resource roles" } th scope="col" { "Hidden" } } }
                tbody { @for p in &list {
                    tr {
                        td data-label="Name" { a href={"/admin/access/packages/" (p.id)} { (p.display_name) } }
                        td data-label="Description" { (p.description) }
                        td data-label="Resource roles" { (p.roles.len()) }
                        td data-label="Hidden" { (if p.is_hidden { "Yes" } else { "No" }) }
                    }
                } }
            } }
        }
        (page::pages("/admin/access/packages", &[], c.is_first(), previous, next))
    };
    Ok(page::ok("Access packages", &session, "/admin/access/packages", body))
}

pub(super) fn origin_key(o: ResourceOrigin) -> String {
    match o {
        ResourceOrigin::Group(g) => format!("group:{g}"),
        ResourceOrigin::SyncConfiguration(c) => format!("config:{c}"),
    }
}

pub(super) fn origin_of(key: &str) -> ConsoleResult<ResourceOrigin> {
    let bad = || ConsoleError::bad_request(format!("'{key}' is not a resource of the catalog"));
    match key.split_once(':') {
        Some(("group", id)) => Ok(ResourceOrigin::Group(id.parse().map_err(|_| bad())?)),
        Some(("config", id)) => Ok(ResourceOrigin::SyncConfiguration(id.parse().map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

/// `GET /admin/access/packages/new?catalog=…`: first the catalog, then the package with
/// the roles of the catalog's resources.
async fn new_package(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.writer()?;
    let g = gov(&st)?;
    let catalog = get(&q, "catalog");
    let body = if catalog.is_empty() {
        // A select of the catalogs while they are few; past that the catalogs' pages
        // (each has "New access package in this catalog") are where to choose.
        let limit = super::admin::CHOICES + 1;
        let found: Vec<(ObjectId, Catalog)> = g.page(session.tenant.id, AccessObjectKind::Catalog, IdRange::first(limit)).await?;
        let many = found.len() > super::admin::CHOICES as usize;
        let catalogs: Vec<(String, String)> = found.into_iter().map(|(_, c)| (c.id.to_string(), c.display_name)).collect();
        html! {
            @if catalogs.is_empty() { p.note { "Make a catalog first: " a href="/admin/access/catalogs" { "Catalogs" } } }
            @else if many { p.note id="choose-on-catalog" { "Open the catalog the package belongs in, and choose “New access package in this catalog” there: " a href="/admin/access/catalogs" { "Catalogs" } } }
            @else {
                form.inline method="get" action="/admin/access/packages/new" aria-label="Catalog" {
                    (select("package-catalog", "Catalog", "catalog", "", &catalogs))
                    button type="submit" id="choose-catalog" { "Next" }
                }
            }
        }
    } else {
        let c = find_catalog(&st, &session, catalog).await?;
        let resources = g.catalog_resources(session.tenant.id, c.id).await?;
        html! {
            p { "Catalog: " a href={"/admin/access/catalogs/" (c.id)} { (c.display_name) } }
            form.stack method="post" action="/admin/access/packages" id="package-form" aria-label="New access package" {
                (csrf(&session))
                input type="hidden" name="catalog" value=(c.id);
                (text_field("package-name", "Name", "name", "", true))
                (text_field("package-description", "Description", "description", "", false))
                (checkbox("package-hidden", "Hidden (requested only through its link)", "hidden", false))
                fieldset {
                    legend { "Resource roles it grants" }
                    @if resources.is_empty() { p.note { "The catalog has no resource yet; add them on the catalog's page." } }
                    @for (i, r) in resources.iter().take(ROWS).enumerate() {
                        (checkbox(&format!("role-{i}"), &format!("{} — {}", r.display_name, kind_of(r.origin)), "role", false))
                        input type="hidden" name={"role-key-" (i)} value=(origin_key(r.origin));
                    }
                }
                div { button type="submit" id="create-package" { "Create" } }
            }
        }
    };
    Ok(page::ok("New access package", &session, "/admin/access/packages", body))
}

/// The roles checked in a package form: checkbox `role-i` stands for `role-key-i`.
fn roles_of(form: &Form) -> ConsoleResult<Vec<ResourceRole>> {
    let mut out = Vec::new();
    for (i, (k, v)) in form.0.iter().enumerate() {
        if k != "role" || v != "true" {
            continue;
        }
        // A checked box is sent just before its hidden key.
        let key = form.0.get(i + 1).filter(|(k, _)| k.starts_with("role-key-")).map(|(_, v)| v.as_str()).unwrap_or_default();
        let origin = origin_of(key)?;
        let role = RoleKind::of(origin)
            .first()
            .copied()
            .and_then(|r| ResourceRole::new(origin, r))
            .ok_or_else(|| ConsoleError::bad_request(format!("'{key}' has no role to grant")))?;
        out.push(role);
    }
    Ok(out)
}

/// `POST /admin/access/packages`.
async fn create_package(State(st): State<Shared>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let g = gov(&st)?;
    let c = find_catalog(&st, &session, form.get("catalog")).await.map_err(|_| ConsoleError::bad_request("choose an existing catalog"))?;
    let name = form.get("name");
    if name.is_empty() {
        return Err(ConsoleError::bad_request("an access package needs a name"));
    }
    let now = st.store.clock().now();
    let p = AccessPackage {
        id: PackageId::new(),
        catalog_id: c.id,
        display_name: name.to_owned(),
        description: form.get("description").to_owned(),
        is_hidden: form.get("hidden") == "true",
        roles: roles_of(&form)?.into_iter().collect(),
        incompatible_packages: Default::default(),
        incompatible_groups: Default::default(),
        created_date_time: now,
        modified_date_time: now,
    };
    g.put_access_package(session.tenant.id, &p).await?;
    let roles = p.roles.iter().map(ResourceRole::origin_id).collect::<Vec<_>>().join(", ");
    let e =
        entry("Create access package", AuditOperation::Add, "AccessPackage", p.id).named(Some(&p.display_name)).change("resourceRoleScopes", None, Some(roles));
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/access/packages/{}", p.id)))
}

pub(super) async fn find_package(st: &ConsoleState, session: &Session, id: &str) -> ConsoleResult<AccessPackage> {
    let pid: PackageId = id.parse().map_err(|_| ConsoleError::not_found(format!("access package '{id}' does not exist")))?;
    Ok(gov(st)?.access_package(session.tenant.id, pid).await?)
}

pub(super) async fn role_name(st: &ConsoleState, session: &Session, r: &ResourceRole) -> String {
    match r.origin {
        ResourceOrigin::Group(g) => {
            st.store.get_group(session.tenant.id, g).await.map_or_else(|_| g.to_string(), |g| format!("{} (Member)", g.attrs.display_name))
        }
        ResourceOrigin::SyncConfiguration(c) => {
            st.store.get_sync_configuration(c).await.map_or_else(|_| c.to_string(), |c| format!("{} (Default Access)", c.display_name))
        }
    }
}

/// `GET /admin/access/packages/{id}?after=…|before=…`: its roles, policies and a page of
/// assignments.
async fn package(State(st): State<Shared>, session: Session, Path(id): Path<String>, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let p = find_package(&st, &session, &id).await?;
    let g = gov(&st)?;
    let sections = super::package_edit::sections(&st, &session, &p).await?;
    let policies = g.policies_of(session.tenant.id, p.id).await?;
    let c = Cursor::of(&q)?;
    let (after, before) = c.map(AssignmentId::from_bytes);
    let filter = AssignmentFilter { package: Some(p.id), after, before, limit: Some(c.range().limit), ..AssignmentFilter::default() };
    let read = g.store().access_assignments(session.tenant.id, filter).await?;
    let (page_items, previous, next) = c.window(read, |a| a.value.id.to_string());
    let mut rows = Vec::new();
    for a in &page_items {
        rows.push((&a.value, upn_of(&st, &session, a.value.target).await));
    }
    let names: std::collections::HashMap<PolicyId, &str> = policies.iter().map(|x| (x.id, x.display_name.as_str())).collect();
    let body = html! {
        dl.panel id="package" {
            dt { "Description" } dd { (p.description) }
            dt { "Catalog" } dd { a href={"/admin/access/catalogs/" (p.catalog_id)} { "Open the catalog" } }
            dt { "Hidden" } dd { (if p.is_hidden { "Yes" } else { "No" }) }
            dt { "Created" } dd { (time(p.created_date_time)) }
        }
        @if writer(&session) { p { a.button href={"/admin/access/packages/" (p.id) "/edit"} id="edit-package" { "Edit name, description, hidden" } } }
        (sections)
        h2 id="policies-heading" { "Assignment policies" }
        @if policies.is_empty() { p.note id="no-policies" { "None: no one can request it yet." } }
        @else { ul id="package-policies" aria-labelledby="policies-heading" { @for x in &policies { li { a href={"/admin/access/policies/" (x.id)} { (x.display_name) } " — " (super::policies::scope_text(x.allowed_target_scope)) } } } }
        @if writer(&session) { p { a.button href={"/admin/access/policies/new?package=" (p.id)} id="new-policy" { "New policy" } } }
        h2 id="assignments-heading" { "Assignments" }
        @if rows.is_empty() { p.note id="no-assignments" { "No assignment." } }
        @else {
            div.scroll { table.responsive id="assignments" aria-labelledby="assignments-heading" {
                thead { tr { th scope="col" { "Who" } th scope="col" { "Policy" } th scope="col" { "State" } th scope="col" { "Until" } @if writer(&session) { th scope="col" { "Remove" } } } }
                tbody { @for (a, who) in &rows {
                    tr {
                        td data-label="Who" { (who) }
                        td data-label="Policy" { (names.get(&a.assignment_policy_id).copied().unwrap_or("?")) }
                        td data-label="State" { (serde_json::to_value(a.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) }
                        td data-label="Until" { @match a.schedule.end_date_time { Some(e) => (time(e)), None => "No end" } }
                        @if writer(&session) {
                            td data-label="Remove" {
                                @if a.expired_date_time.is_none() {
                                    form.inline method="post" action={"/admin/access/assignments/" (a.id) "/remove"} {
                                        (csrf(&session))
                                        button.secondary type="submit" id={"remove-" (a.id)} aria-label={"Remove the assignment of " (who)} { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                } }
            } }
        }
        (page::pages(&format!("/admin/access/packages/{}", p.id), &[], c.is_first(), previous, next))
    };
    Ok(page::ok(&p.display_name, &session, "/admin/access/packages", body))
}

/// `POST /admin/access/assignments/{id}/remove`: an `adminRemove` request, delivered at once.
async fn remove_assignment(State(st): State<Shared>, Path(id): Path<String>, Posted { session, .. }: Posted) -> ConsoleResult {
    session.writer()?;
    let g = gov(&st)?;
    let aid: AssignmentId = id.parse().map_err(|_| ConsoleError::not_found(format!("assignment '{id}' does not exist")))?;
    let a = g.assignment(session.tenant.id, aid).await?.value;
    let new = NewRequest {
        kind: RequestType::AdminRemove,
        package: a.access_package_id,
        policy: a.assignment_policy_id,
        subject: Subject::User(a.target),
        start: None,
        end: None,
        answers: Vec::new(),
        justification: "removed by an administrator in the console".to_owned(),
    };
    let r = g.submit(session.tenant.id, new, Actor::Admin).await?;
    let e = entry("Create access package assignment request", AuditOperation::Add, "AccessPackageAssignmentRequest", r.id)
        .change("requestType", None, Some("adminRemove".into()))
        .change("accessPackage", None, Some(r.access_package_id.to_string()));
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/access/packages/{}", a.access_package_id)))
}
