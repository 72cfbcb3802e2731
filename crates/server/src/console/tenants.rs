//! Tenants and partner settings. A session sees its own tenant and the tenants it is
//! related to (its partners, the sources and targets of its sync configurations), never
//! the directory of another tenant: the counts shown of another tenant are of the
//! relation (settings, configurations), not of its users. Partner settings are the cross-
//! tenant access settings of the admin API's `policies/crossTenantAccessPolicy`, written
//! through the same store calls (and `add_partner`'s checks), audited the same way.
use super::admin::get;
use super::kit::{PEEK, ROWS, after_key, select, writer};
use super::page::{self, csrf, see_other, time};
use super::session::{Posted, Session};
use super::sync::audited;
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use crate::graph::policies::{add_partner, entry};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get as get_route, post};
use maud::{Markup, html};
use std::collections::{BTreeMap, HashMap};
use tenantsync_domain::{DomainName, PartnerSettings, Tenant, TenantId};
use tenantsync_store::{AuditOperation, ConfigEnd, ConfigPage, Visibility};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/tenants", get_route(list))
        .route("/admin/tenants/{id}", get_route(one))
        .route("/admin/partners", get_route(partners).post(add))
        .route("/admin/partners/{id}", get_route(partner).post(update))
        .route("/admin/partners/{id}/remove", post(remove))
}

/// How another tenant is related to the session's.
#[derive(Debug, Default)]
struct Relation {
    partner: Option<PartnerSettings>,
    /// Configurations from the session's tenant to it, and from it to the session's (one
    /// per source → target pair: 0 or 1 each).
    outbound: usize,
    inbound: usize,
}

/// A page of the tenants related to `tenant` after `after`, in id order, and where the
/// next page starts: the partners, the targets of its configurations and the sources of
/// those to it are three key-ordered store reads of a page each, merged. A read that
/// filled its page may hold more beyond its last key, so the merge is exact only up to
/// the smallest such key, and a full page always lies below it.
async fn related_page(st: &ConsoleState, tenant: TenantId, after: Option<TenantId>) -> ConsoleResult<(BTreeMap<TenantId, Relation>, Option<TenantId>)> {
    let partners = st.store.partner_settings_page(tenant, after, PEEK).await?;
    let from = st.store.sync_configurations_at(ConfigPage { tenant, end: ConfigEnd::Source, after, limit: PEEK }).await?;
    let to = st.store.sync_configurations_at(ConfigPage { tenant, end: ConfigEnd::Target, after, limit: PEEK }).await?;
    let full = |n: usize, last: Option<TenantId>| last.filter(|_| n == PEEK as usize);
    let horizon = [
        full(partners.len(), partners.last().map(|(p, _)| *p)),
        full(from.len(), from.last().map(|c| c.target_tenant_id)),
        full(to.len(), to.last().map(|c| c.source_tenant_id)),
    ]
    .into_iter()
    .flatten()
    .min();
    let mut out: BTreeMap<TenantId, Relation> = BTreeMap::new();
    for (p, s) in partners {
        out.entry(p).or_default().partner = Some(s);
    }
    for c in from {
        out.entry(c.target_tenant_id).or_default().outbound += 1;
    }
    for c in to {
        out.entry(c.source_tenant_id).or_default().inbound += 1;
    }
    if let Some(h) = horizon {
        out.retain(|id, _| *id <= h);
    }
    let next = if out.len() > ROWS { out.keys().nth(ROWS - 1).copied() } else { None };
    if let Some(n) = next {
        out.retain(|id, _| *id <= n);
    }
    Ok((out, next))
}

/// How `other` is related to `tenant` (`None`: it is not). One key read each: a
/// configuration's pair is read as the page after the id just before `other`'s.
async fn relation_to(st: &ConsoleState, tenant: TenantId, other: TenantId) -> ConsoleResult<Option<Relation>> {
    let Some(before) = u128::from_be_bytes(*other.as_bytes()).checked_sub(1).map(|b| TenantId::from_bytes(b.to_be_bytes())) else { return Ok(None) };
    let one = |end| ConfigPage { tenant, end, after: Some(before), limit: 1 };
    let rel = Relation {
        partner: st.store.partner_settings_row(tenant, other).await?,
        outbound: st.store.sync_configurations_at(one(ConfigEnd::Source)).await?.iter().filter(|c| c.target_tenant_id == other).count(),
        inbound: st.store.sync_configurations_at(one(ConfigEnd::Target)).await?.iter().filter(|c| c.source_tenant_id == other).count(),
    };
    Ok((rel.partner.is_some() || rel.outbound + rel.inbound > 0).then_some(rel))
}

/// How many partners `tenant` has, counted a page at a time.
async fn count_partners(st: &ConsoleState, tenant: TenantId) -> ConsoleResult<usize> {
    let (mut n, mut after) = (0, None);
    loop {
        let page = st.store.partner_settings_page(tenant, after, 500).await?;
        n += page.len();
        match page.last() {
            Some((p, _)) if page.len() == 500 => after = Some(*p),
            _ => return Ok(n),
        }
    }
}

/// `GET /admin/tenants?after=…`: this tenant with its counts, then the related ones.
async fn list(State(st): State<Shared>, session: Session, Query(q): Query<HashMap<String, String>>) -> ConsoleResult {
    session.admin()?;
    let me = &session.tenant;
    let users = st.store.count_users(me.id, Visibility::Active).await?;
    let groups = st.store.count_groups(me.id, Visibility::Active).await?;
    let after = get(&q, "after");
    let (related, next) = related_page(&st, me.id, after_key(after)?).await?;
    let next = next.map(|t| t.to_string());
    let mut rows: Vec<(Tenant, &Relation)> = Vec::new();
    for (id, rel) in &related {
        match st.store.get_tenant(*id).await {
            Ok(t) => rows.push((t, rel)),
            Err(tenantsync_store::StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let partners = count_partners(&st, me.id).await?;
    let outbound = st.store.count_sync_configurations_at(me.id, ConfigEnd::Source).await?;
    let body = html! {
        h2 id="this-heading" { "This tenant" }
        dl.panel id="this-tenant" aria-labelledby="this-heading" {
            dt { "Name" } dd { a href={"/admin/tenants/" (me.id)} { (me.display_name) } }
            dt { "Initial domain" } dd { (me.initial_domain) }
            dt { "Users" } dd id="tenant-users" { (users) }
            dt { "Groups" } dd id="tenant-groups" { (groups) }
            dt { "Partners" } dd id="tenant-partners" { (partners) }
            dt { "Sync configurations from here" } dd { (outbound) }
        }
        h2 id="related-heading" { "Related tenants" }
        @if rows.is_empty() { p.note id="no-related" { "No partner, and no sync configuration to or from another tenant." } }
        @else {
            div.scroll { table.responsive id="tenants" aria-labelledby="related-heading" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Initial domain" } th scope="col" { "Partner" } th scope="col" { "Configurations to it" } th scope="col" { "Configurations from it" } } }
                tbody { @for (t, rel) in &rows {
                    tr {
                        td data-label="Name" { a href={"/admin/tenants/" (t.id)} { (t.display_name) } }
                        td data-label="Initial domain" { (t.initial_domain) }
                        td data-label="Partner" { @if rel.partner.is_some() { a href={"/admin/partners/" (t.id)} { "Settings" } } @else { "No" } }
                        td data-label="Configurations to it" { (rel.outbound) }
                        td data-label="Configurations from it" { (rel.inbound) }
                    }
                } }
            } }
        }
        (page::pager("/admin/tenants", &[], after.is_empty(), next))
    };
    Ok(page::ok("Tenants", &session, "/admin/tenants", body))
}

/// `GET /admin/tenants/{id}`: this tenant, or a related one (another is the same 404 as none).
async fn one(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    session.admin()?;
    let missing = || ConsoleError::not_found(format!("tenant '{id}' does not exist"));
    let tid: TenantId = id.parse().map_err(|_| missing())?;
    let own = tid == session.tenant.id;
    let rel = if own { None } else { Some(relation_to(&st, session.tenant.id, tid).await?.ok_or_else(missing)?) };
    let t = st.store.get_tenant(tid).await.map_err(|_| missing())?;
    let counts = if own { Some((st.store.count_users(tid, Visibility::Active).await?, st.store.count_groups(tid, Visibility::Active).await?)) } else { None };
    let body = html! {
        dl.panel id="tenant" {
            dt { "Tenant id" } dd { code { (t.id) } }
            dt { "Initial domain" } dd { (t.initial_domain) }
            dt { "Created" } dd { (time(t.created_date_time)) }
            dt { "Soft-deleted users are kept" } dd { (t.soft_delete_retention_days) " days" }
            @if let Some((users, groups)) = counts {
                dt { "Users" } dd { a href="/admin/users" { (users) } }
                dt { "Groups" } dd { a href="/admin/groups" { (groups) } }
            }
            @if let Some(rel) = &rel {
                dt { "Partner settings" } dd { @match &rel.partner { Some(s) => { a href={"/admin/partners/" (t.id)} { (summary(s)) } }, None => "None (the default settings apply)" } }
                dt { "Sync configurations to it" } dd { (rel.outbound) }
                dt { "Sync configurations from it" } dd { (rel.inbound) }
            }
        }
        @if own { p { a href="/admin/tenants" { "Related tenants" } } }
    };
    Ok(page::ok(&t.display_name, &session, "/admin/tenants", body))
}

fn tri(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "allowed",
        Some(false) => "blocked",
        None => "default",
    }
}

fn summary(s: &PartnerSettings) -> String {
    format!(
        "user sync in: {}, group sync in: {}, auto-redeem in: {}, out: {}",
        tri(s.inbound_user_sync),
        tri(s.inbound_group_sync),
        tri(s.inbound_auto_redeem),
        tri(s.outbound_auto_redeem)
    )
}

/// The settings as selects (allowed, blocked, or not set); a partner's (not the
/// default's) include inbound user and group sync, and "not set" means the default's.
fn setting_fields(prefix: &str, s: &PartnerSettings, partner: bool) -> Markup {
    let unset = if partner { "As the default settings" } else { "Not set" };
    let options = vec![(String::new(), unset.to_owned()), ("true".to_owned(), "Allowed".to_owned()), ("false".to_owned(), "Blocked".to_owned())];
    let value = |v: Option<bool>| v.map_or(String::new(), |b| b.to_string());
    html! {
        @if partner {
            (select(&format!("{prefix}-user-sync"), "Users may be synced in from the partner (inbound user sync)", "inbound_user_sync", &value(s.inbound_user_sync), &options))
            (select(&format!("{prefix}-group-sync"), "Groups may be synced in from the partner (inbound group sync)", "inbound_group_sync", &value(s.inbound_group_sync), &options))
        }
        (select(&format!("{prefix}-in-redeem"), "Invitations from the partner are redeemed automatically (inbound)", "inbound_auto_redeem", &value(s.inbound_auto_redeem), &options))
        (select(&format!("{prefix}-out-redeem"), "Invitations to the partner are redeemed automatically (outbound)", "outbound_auto_redeem", &value(s.outbound_auto_redeem), &options))
    }
}

/// The settings of a form (`""`: left to the default).
fn settings_of(form: &super::session::Form) -> ConsoleResult<PartnerSettings> {
    let one = |name: &str| -> ConsoleResult<Option<bool>> {
        match form.get(name) {
            "" => Ok(None),
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            other => Err(ConsoleError::bad_request(format!("{name} '{other}' is neither allowed (true), blocked (false) nor the default"))),
        }
    };
    Ok(PartnerSettings {
        inbound_user_sync: one("inbound_user_sync")?,
        inbound_group_sync: one("inbound_group_sync")?,
        inbound_auto_redeem: one("inbound_auto_redeem")?,
        outbound_auto_redeem: one("outbound_auto_redeem")?,
    })
}

/// `GET /admin/partners?after=…`: the default settings and the partners.
async fn partners(State(st): State<Shared>, session: Session, Query(q): Query<HashMap<String, String>>) -> ConsoleResult {
    session.admin()?;
    let t = session.tenant.id;
    let default = st.store.partner_settings(t, None).await?;
    let after = get(&q, "after");
    let (list, next) =
        super::kit::split_page(st.store.partner_settings_page(t, super::kit::after_key(after)?, super::kit::PEEK).await?, |(p, _)| p.to_string());
    let mut rows = Vec::new();
    for (p, s) in list {
        rows.push((p, super::admin::domain_of(&st, p).await, s));
    }
    let body = html! {
        p.note { "Cross-tenant access settings: whether a partner tenant may sync users and groups into this one, and whether invitations are redeemed without a consent prompt. Both tenants of a sync configuration must allow it." }
        p { "Default settings (partners without their own): " a href="/admin/partners/default" id="default-settings" { (summary(&default)) } }
        @if rows.is_empty() { p.note id="no-partners" { "No partner yet." } }
        @else {
            div.scroll { table.responsive id="partners" aria-label="Partners" {
                thead { tr { th scope="col" { "Partner" } th scope="col" { "Inbound user sync" } th scope="col" { "Inbound group sync" } th scope="col" { "Auto-redeem in" } th scope="col" { "Auto-redeem out" } } }
                tbody { @for (p, domain, s) in &rows {
                    tr {
                        td data-label="Partner" { a href={"/admin/partners/" (p)} { (domain) } }
                        td data-label="Inbound user sync" { (tri(s.inbound_user_sync)) }
                        td data-label="Inbound group sync" { (tri(s.inbound_group_sync)) }
                        td data-label="Auto-redeem in" { (tri(s.inbound_auto_redeem)) }
                        td data-label="Auto-redeem out" { (tri(s.outbound_auto_redeem)) }
                    }
                } }
            } }
        }
        (page::pager("/admin/partners", &[], after.is_empty(), next))
        @if writer(&session) {
            h2 id="add-heading" { "Add a partner" }
            form.stack method="post" action="/admin/partners" id="add-partner-form" aria-labelledby="add-heading" {
                (csrf(&session))
                (super::kit::text_field("partner-domain", "Partner tenant (its initial domain)", "partner", "", true))
                (setting_fields("add", &PartnerSettings::default(), true))
                div { button type="submit" id="add-partner" { "Add partner" } }
            }
        }
    };
    Ok(page::ok("Partner settings", &session, "/admin/partners", body))
}

/// A partner of the path: `default`, or a tenant id among the partners (404 otherwise).
async fn partner_of(st: &ConsoleState, session: &Session, id: &str) -> ConsoleResult<(Option<TenantId>, PartnerSettings)> {
    if id == "default" {
        return Ok((None, st.store.partner_settings(session.tenant.id, None).await?));
    }
    let missing = || ConsoleError::not_found(format!("no partner configuration for tenant '{id}'"));
    let p: TenantId = id.parse().map_err(|_| missing())?;
    let s = st.store.partner_settings_row(session.tenant.id, p).await?.ok_or_else(missing)?;
    Ok((Some(p), s))
}

/// `GET /admin/partners/{id}`: one partner's settings (or the default ones), editable.
async fn partner(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    session.admin()?;
    let (p, s) = partner_of(&st, &session, &id).await?;
    let title = match p {
        Some(p) => format!("Partner {}", super::admin::domain_of(&st, p).await),
        None => "Default partner settings".to_owned(),
    };
    let body = html! {
        p id="current-settings" { (summary(&s)) }
        @if writer(&session) {
            form.stack method="post" action={"/admin/partners/" (id)} id="partner-form" aria-label="Settings" {
                (csrf(&session))
                (setting_fields("edit", &s, p.is_some()))
                div { button type="submit" id="save-partner" { "Save" } }
            }
            @if p.is_some() {
                form.inline method="post" action={"/admin/partners/" (id) "/remove"} aria-label="Remove" {
                    (csrf(&session))
                    button.secondary type="submit" id="remove-partner" { "Remove this partner" }
                }
            }
        }
        p { a href="/admin/partners" { "All partners" } }
    };
    Ok(page::ok(&title, &session, "/admin/partners", body))
}

/// `POST /admin/partners`: a new partner, checked as the admin API's `POST partners`.
async fn add(State(st): State<Shared>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let s = settings_of(&form)?;
    let text = form.get("partner");
    let domain = DomainName::parse(text).map_err(|e| ConsoleError::bad_request(format!("partner '{text}': {e}")))?;
    let partner =
        st.store.find_tenant_by_domain(&domain).await?.ok_or_else(|| ConsoleError::bad_request(format!("'{text}' is not a tenant of this tenantsync")))?;
    add_partner(st.store.as_ref(), session.tenant.id, partner.id, s).await?;
    let e = entry("Add partner to cross-tenant access setting", AuditOperation::Add, &partner.id.to_string(), &PartnerSettings::default(), &s);
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/partners/{}", partner.id)))
}

/// `POST /admin/partners/{id}`: the settings replaced (as the API's `PATCH`es of the
/// partner and of its `identitySynchronization`).
async fn update(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let (p, old) = partner_of(&st, &session, &id).await?;
    let mut new = settings_of(&form)?;
    if p.is_none() {
        // The default settings carry only the consent settings.
        (new.inbound_user_sync, new.inbound_group_sync) = (old.inbound_user_sync, old.inbound_group_sync);
    }
    st.store.set_partner_settings(session.tenant.id, p, new).await?;
    let (activity, target) = match p {
        Some(p) => ("Update a partner cross-tenant access setting", p.to_string()),
        None => ("Update cross-tenant access default settings", "default".to_owned()),
    };
    audited(&st, &session, entry(activity, AuditOperation::Update, &target, &old, &new)).await;
    Ok(see_other(&format!("/admin/partners/{id}")))
}

/// `POST /admin/partners/{id}/remove`: the partner's own settings deleted.
async fn remove(State(st): State<Shared>, Path(id): Path<String>, Posted { session, .. }: Posted) -> ConsoleResult {
    session.writer()?;
    let (Some(p), old) = partner_of(&st, &session, &id).await? else {
        return Err(ConsoleError::bad_request("the default settings cannot be removed"));
    };
    st.store.delete_partner_settings(session.tenant.id, p).await?;
    let e = entry("Delete partner specific cross-tenant access setting", AuditOperation::Delete, &p.to_string(), &old, &PartnerSettings::default());
    audited(&st, &session, e).await;
    Ok(see_other("/admin/partners"))
}
