//! Entitlement management's definitions: connected organizations (with their internal
//! sponsors) and catalogs (with their resources). Objects are made and checked as the
//! admin API's `identityGovernance/entitlementManagement` endpoints make them: through
//! [`Governance`](tenantsync_governance::Governance), whose errors are the one table's;
//! each write is audited with the same activity names.
use super::kit::{Cursor, ROWS, checkbox, gov, select, text_field, writer};
use super::page::{self, csrf, see_other, time};
use super::session::{Posted, Session};
use super::sync::audited;
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use crate::graph::audit::Entry;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get as get_route, post};
use maud::html;
use std::collections::HashMap;
use tenantsync_access::{Catalog, CatalogId, ConnectedOrgId, ConnectedOrgState, ConnectedOrganization, IdentitySource, ResourceOrigin};
use tenantsync_domain::{DomainName, GroupAttribute, ObjectId, Upn};
use tenantsync_governance::ResourceRequestType;
use tenantsync_store::{AccessObjectKind, AuditCategory, AuditOperation, CompareOp, Field, Filter, FilterValue, ObjectQuery};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/access/organizations", get_route(organizations).post(create_organization))
        .route("/admin/access/organizations/{id}", get_route(organization))
        .route("/admin/access/organizations/{id}/sponsors", post(add_sponsor))
        .route("/admin/access/catalogs", get_route(catalogs).post(create_catalog))
        .route("/admin/access/catalogs/{id}", get_route(catalog))
        .route("/admin/access/catalogs/{id}/resources", post(add_resource))
}

pub(crate) type Params = Query<HashMap<String, String>>;

fn entry(activity: &str, op: AuditOperation, kind: &str, id: impl ToString) -> Entry {
    Entry::new(activity, op, AuditCategory::EntitlementManagement, kind, id)
}

fn state_text(s: ConnectedOrgState) -> &'static str {
    match s {
        ConnectedOrgState::Configured => "configured",
        ConnectedOrgState::Proposed => "proposed",
        ConnectedOrgState::UnknownFutureValue => "unknown",
    }
}

fn source_text(s: &IdentitySource) -> String {
    match s {
        IdentitySource::Tenant { display_name, tenant_id } => format!("tenant {display_name} ({tenant_id})"),
        IdentitySource::Domain { domain_name, .. } => format!("mail domain {domain_name}"),
    }
}

/// `GET /admin/access/organizations?after=…|before=…`: a page, read by the store's key.
async fn organizations(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let c = Cursor::of(&q)?;
    let read = gov(&st)?.page::<ConnectedOrganization>(session.tenant.id, AccessObjectKind::ConnectedOrganization, c.range()).await?;
    let (orgs, previous, next) = c.window(read.into_iter().map(|(_, o)| o).collect(), |o| o.id.to_string());
    let states: Vec<(String, String)> = vec![("configured".into(), "Configured".into()), ("proposed".into(), "Proposed".into())];
    let body = html! {
        p.note { "Partner organizations whose people may request access packages: a tenant of this tenantsync, or everyone with a mail address in a domain." }
        @if orgs.is_empty() { p.note id="no-organizations" { "No connected organization yet." } }
        @else {
            div.scroll { table.responsive id="organizations" aria-label="Connected organizations" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Identity sources" } th scope="col" { "State" } th scope="col" { "Sponsors" } } }
                tbody { @for o in &orgs {
                    tr {
                        td data-label="Name" { a href={"/admin/access/organizations/" (o.id)} { (o.display_name) } }
                        td data-label="Identity sources" { (o.identity_sources.iter().map(source_text).collect::<Vec<_>>().join("; ")) }
                        td data-label="State" { (state_text(o.state)) }
                        td data-label="Sponsors" { (o.internal_sponsors.len()) }
                    }
                } }
            } }
        }
        (page::pages("/admin/access/organizations", &[], c.is_first(), previous, next))
        @if writer(&session) {
            h2 id="new-org-heading" { "New connected organization" }
            form.stack method="post" action="/admin/access/organizations" id="organization-form" aria-labelledby="new-org-heading" {
                (csrf(&session))
                (text_field("org-name", "Name", "name", "", true))
                (text_field("org-description", "Description", "description", "", false))
                (text_field("org-source", "Its people: a tenant's initial domain, or a mail domain", "source", "", true))
                (select("org-state", "State", "state", "configured", &states))
                div { button type="submit" id="create-organization" { "Create" } }
            }
        }
    };
    Ok(page::ok("Connected organizations", &session, "/admin/access/organizations", body))
}

/// `POST /admin/access/organizations`: the identity source is the tenant of that initial
/// domain when there is one (Entra's `azureActiveDirectoryTenant`), else the mail domain.
async fn create_organization(State(st): State<Shared>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let g = gov(&st)?;
    let name = form.get("name");
    if name.is_empty() {
        return Err(ConsoleError::bad_request("a connected organization needs a name"));
    }
    let text = form.get("source");
    let domain = DomainName::parse(text).map_err(|e| ConsoleError::bad_request(format!("identity source '{text}': {e}")))?;
    let source = match st.store.find_tenant_by_domain(&domain).await? {
        Some(t) if t.id == session.tenant.id => return Err(ConsoleError::bad_request("a tenant is not a connected organization of itself")),
        Some(t) => IdentitySource::Tenant { tenant_id: t.id, display_name: t.display_name },
        None => IdentitySource::Domain { display_name: domain.to_string(), domain_name: domain },
    };
    let state = match form.get("state") {
        "configured" | "" => ConnectedOrgState::Configured,
        "proposed" => ConnectedOrgState::Proposed,
        other => return Err(ConsoleError::bad_request(format!("state '{other}' is not configured or proposed"))),
    };
    let now = st.store.clock().now();
    let org = ConnectedOrganization {
        id: ConnectedOrgId::new(),
        display_name: name.to_owned(),
        description: form.get("description").to_owned(),
        identity_sources: vec![source],
        state,
        internal_sponsors: Default::default(),
        external_sponsors: Default::default(),
        external_user_lifecycle: None,
        created_date_time: now,
        modified_date_time: now,
    };
    g.put_connected_organization(session.tenant.id, &org).await?;
    audited(&st, &session, entry("Create connected organization", AuditOperation::Add, "ConnectedOrganization", org.id).named(Some(&org.display_name))).await;
    Ok(see_other(&format!("/admin/access/organizations/{}", org.id)))
}

async fn find_organization(st: &ConsoleState, session: &Session, id: &str) -> ConsoleResult<ConnectedOrganization> {
    let oid: ConnectedOrgId = id.parse().map_err(|_| ConsoleError::not_found(format!("connected organization '{id}' does not exist")))?;
    Ok(gov(st)?.connected_organization(session.tenant.id, oid).await?)
}

/// A user's userPrincipalName (its id when it is gone).
pub(crate) async fn upn_of(st: &ConsoleState, session: &Session, id: ObjectId) -> String {
    st.store.get_user(session.tenant.id, id).await.map_or_else(|_| id.to_string(), |u| u.attrs.user_principal_name.to_string())
}

/// `GET /admin/access/organizations/{id}`.
async fn organization(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    session.admin()?;
    let o = find_organization(&st, &session, &id).await?;
    let mut sponsors = Vec::new();
    for s in o.internal_sponsors.iter().take(ROWS) {
        sponsors.push(upn_of(&st, &session, *s).await);
    }
    let body = html! {
        dl.panel id="organization" {
            dt { "Description" } dd { (o.description) }
            dt { "Identity sources" } dd { (o.identity_sources.iter().map(source_text).collect::<Vec<_>>().join("; ")) }
            dt { "State" } dd { (state_text(o.state)) }
            dt { "Created" } dd { (time(o.created_date_time)) }
        }
        h2 id="sponsors-heading" { "Internal sponsors" }
        @if sponsors.is_empty() { p.note id="no-sponsors" { "None: policies whose approvers are the sponsors fall back to their fallback approvers." } }
        @else { ul id="sponsors" aria-labelledby="sponsors-heading" { @for s in &sponsors { li { (s) } } } }
        @if writer(&session) {
            form.inline method="post" action={"/admin/access/organizations/" (o.id) "/sponsors"} aria-label="Add a sponsor" {
                (csrf(&session))
                (text_field("sponsor", "Sponsor (userPrincipalName)", "user", "", true))
                button type="submit" id="add-sponsor" { "Add sponsor" }
            }
        }
        p { a href="/admin/access/organizations" { "All connected organizations" } }
    };
    Ok(page::ok(&o.display_name, &session, "/admin/access/organizations", body))
}

/// `POST /admin/access/organizations/{id}/sponsors`: a live user of the tenant, as the
/// API's `internalSponsors/$ref`.
async fn add_sponsor(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let mut o = find_organization(&st, &session, &id).await?;
    let who = form.get("user");
    let upn = Upn::parse(who).map_err(|_| ConsoleError::bad_request(format!("'{who}' is not a userPrincipalName")))?;
    let user = st.store.find_user_by_upn(session.tenant.id, &upn).await?.filter(|u| !u.is_deleted());
    let user = user.ok_or_else(|| ConsoleError::bad_request(format!("'{who}' is not a user of the tenant")))?;
    if o.internal_sponsors.insert(user.id) {
        o.modified_date_time = st.store.clock().now();
        gov(&st)?.put_connected_organization(session.tenant.id, &o).await?;
        let e = entry("Add internal sponsor", AuditOperation::Assign, "ConnectedOrganization", o.id).named(Some(&o.display_name)).change(
            "internalSponsors",
            None,
            Some(user.id.to_string()),
        );
        audited(&st, &session, e).await;
    }
    Ok(see_other(&format!("/admin/access/organizations/{}", o.id)))
}

/// `GET /admin/access/catalogs?after=…|before=…`: a page, read by the store's key.
async fn catalogs(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let c = Cursor::of(&q)?;
    let read = gov(&st)?.page::<Catalog>(session.tenant.id, AccessObjectKind::Catalog, c.range()).await?;
    let (list, previous, next) = c.window(read.into_iter().map(|(_, x)| x).collect(), |x| x.id.to_string());
    let body = html! {
        p.note { "Catalogs hold the resources (groups, sync configurations) that access packages grant." }
        @if list.is_empty() { p.note id="no-catalogs" { "No catalog yet." } }
        @else {
            div.scroll { table.responsive id="catalogs" aria-label="Catalogs" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Description" } th scope="col" { "Visible to people from outside" } } }
                tbody { @for c in &list {
                    tr {
                        td data-label="Name" { a href={"/admin/access/catalogs/" (c.id)} { (c.display_name) } }
                        td data-label="Description" { (c.description) }
                        td data-label="Visible to people from outside" { (if c.is_externally_visible { "Yes" } else { "No" }) }
                    }
                } }
            } }
        }
        (page::pages("/admin/access/catalogs", &[], c.is_first(), previous, next))
        @if writer(&session) {
            h2 id="new-catalog-heading" { "New catalog" }
            form.stack method="post" action="/admin/access/catalogs" id="catalog-form" aria-labelledby="new-catalog-heading" {
                (csrf(&session))
                (text_field("catalog-name", "Name", "name", "", true))
                (text_field("catalog-description", "Description", "description", "", false))
                (checkbox("catalog-external", "People from connected organizations may see it", "external", true))
                div { button type="submit" id="create-catalog" { "Create" } }
            }
        }
    };
    Ok(page::ok("Catalogs", &session, "/admin/access/catalogs", body))
}

/// `POST /admin/access/catalogs`.
async fn create_catalog(State(st): State<Shared>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let g = gov(&st)?;
    let name = form.get("name");
    if name.is_empty() {
        return Err(ConsoleError::bad_request("a catalog needs a name"));
    }
    let now = st.store.clock().now();
    let c = Catalog {
        id: CatalogId::new(),
        display_name: name.to_owned(),
        description: form.get("description").to_owned(),
        is_externally_visible: form.get("external") == "true",
        created_date_time: now,
        modified_date_time: now,
    };
    g.put_catalog(session.tenant.id, &c).await?;
    audited(&st, &session, entry("Create catalog", AuditOperation::Add, "AccessPackageCatalog", c.id).named(Some(&c.display_name))).await;
    Ok(see_other(&format!("/admin/access/catalogs/{}", c.id)))
}

pub(crate) async fn find_catalog(st: &ConsoleState, session: &Session, id: &str) -> ConsoleResult<Catalog> {
    let cid: CatalogId = id.parse().map_err(|_| ConsoleError::not_found(format!("catalog '{id}' does not exist")))?;
    Ok(gov(st)?.catalog(session.tenant.id, cid).await?)
}

/// `GET /admin/access/catalogs/{id}`: its resources and packages.
async fn catalog(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    session.admin()?;
    let c = find_catalog(&st, &session, &id).await?;
    let g = gov(&st)?;
    let resources = g.catalog_resources(session.tenant.id, c.id).await?;
    let cid = c.id;
    let packages = g.packages_where(session.tenant.id, &move |p| p.catalog_id == cid, ROWS).await?;
    // The configurations from this tenant in a select, or a field for one's id when
    // there are too many to list.
    let choices = super::admin::configuration_choices(&st, session.tenant.id).await?.map(|configs| {
        let mut choices = vec![(String::new(), "None".to_owned())];
        choices.extend(configs.into_iter().map(|(id, name)| (id, format!("{name} (sync configuration)"))));
        choices
    });
    let body = html! {
        dl.panel id="catalog" {
            dt { "Description" } dd { (c.description) }
            dt { "Visible to people from outside" } dd { (if c.is_externally_visible { "Yes" } else { "No" }) }
            dt { "Created" } dd { (time(c.created_date_time)) }
        }
        h2 id="resources-heading" { "Resources" }
        @if resources.is_empty() { p.note id="no-resources" { "No resource yet." } }
        @else { ul id="resources" aria-labelledby="resources-heading" { @for r in resources.iter().take(ROWS) { li { (r.display_name) " — " (kind_of(r.origin)) } } } }
        @if writer(&session) {
            form.stack method="post" action={"/admin/access/catalogs/" (c.id) "/resources"} id="resource-form" aria-label="Add a resource" {
                (csrf(&session))
                (text_field("resource-group", "A group (its exact display name or id)", "group", "", false))
                @match &choices {
                    Some(choices) => (select("resource-config", "or a sync configuration of this tenant", "config", "", choices)),
                    None => (text_field("resource-config", "or a sync configuration of this tenant (its id)", "config", "", false)),
                }
                div { button type="submit" id="add-resource" { "Add resource" } }
            }
        }
        h2 id="packages-heading" { "Access packages" }
        @if packages.is_empty() { p.note { "None yet." } }
        @else { ul id="catalog-packages" aria-labelledby="packages-heading" { @for p in &packages { li { a href={"/admin/access/packages/" (p.id)} { (p.display_name) } } } } }
        @if writer(&session) { p { a.button href={"/admin/access/packages/new?catalog=" (c.id)} id="new-package" { "New access package in this catalog" } } }
        p { a href="/admin/access/catalogs" { "All catalogs" } }
    };
    Ok(page::ok(&c.display_name, &session, "/admin/access/catalogs", body))
}

pub(crate) fn kind_of(o: ResourceOrigin) -> &'static str {
    match o {
        ResourceOrigin::Group(_) => "group (Member)",
        ResourceOrigin::SyncConfiguration(_) => "sync configuration (Default Access)",
    }
}

/// A group of the tenant by id or exact display name (one, or a 400 naming the problem).
async fn group_named(st: &ConsoleState, session: &Session, text: &str) -> ConsoleResult<ObjectId> {
    if let Ok(id) = text.parse::<ObjectId>() {
        return Ok(id);
    }
    let filter = Filter::folded(Field::Group(GroupAttribute::DisplayName), CompareOp::Eq, FilterValue::Text(text.to_owned()));
    let found = st.store.query_groups(session.tenant.id, &ObjectQuery { filter: Some(filter), sort: None, offset: 0, limit: 2, seek: None }).await?;
    match found.items.as_slice() {
        [one] => Ok(one.id),
        [] => Err(ConsoleError::bad_request(format!("no group of the tenant is named '{text}'"))),
        _ => Err(ConsoleError::bad_request(format!("several groups are named '{text}': give the group's id"))),
    }
}

/// `POST /admin/access/catalogs/{id}/resources`: as the API's `resourceRequests` `adminAdd`.
async fn add_resource(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let c = find_catalog(&st, &session, &id).await?;
    let origin = match (form.get("group"), form.get("config")) {
        ("", "") => return Err(ConsoleError::bad_request("name a group or choose a sync configuration")),
        (g, "") => ResourceOrigin::Group(group_named(&st, &session, g).await?),
        ("", cfg) => ResourceOrigin::SyncConfiguration(super::sync::configuration(&st, &session, cfg).await?.id),
        _ => return Err(ConsoleError::bad_request("name a group or choose a sync configuration, not both")),
    };
    let r = gov(&st)?.request_resource(session.tenant.id, c.id, origin, ResourceRequestType::AdminAdd).await?;
    let e = entry("Add resource to catalog", AuditOperation::Add, "AccessPackageResource", r.resource.id).named(Some(&r.resource.display_name));
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/access/catalogs/{}", c.id)))
}
