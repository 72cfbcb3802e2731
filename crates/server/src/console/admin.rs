//! The administrator's overview, users and groups. Lists are pages of the store's indexed
//! queries (a prefix of the display name or userPrincipalName, keyset cursors as the
//! admin API's `$skiptoken`): a page costs the same on a tenant of any size, and nothing
//! loads a whole tenant.
use super::page::{self, pager, time};
use super::session::Session;
use super::{ConsoleResult, Shared};
use crate::graph::error::{GraphCode, GraphError};
use crate::graph::page::{seek, skiptoken};
use axum::extract::{Query, State};
use maud::{Markup, html};
use std::collections::HashMap;
use tenantsync_domain::{GroupAttribute, SyncConfiguration, TenantId, UserType};
use tenantsync_store::{
    CompareOp, ConfigEnd, ConfigPage, Field, Filter, FilterValue, JobState, JobStatusCode, KeyValue, Keyset, LogQuery, ObjectQuery, ProvisioningStatus,
    SearchCursor, Seek, UserSearch, Visibility,
};

/// Rows of a page of users or groups.
pub(crate) const PAGE: u32 = 50;
/// Partners named on the overview, and jobs shown there (the worst first).
const PARTNERS: u32 = 10;
const JOBS: usize = 20;

type Params = Query<HashMap<String, String>>;

pub(crate) fn get<'a>(q: &'a HashMap<String, String>, k: &str) -> &'a str {
    q.get(k).map_or("", |v| v.trim())
}

/// A tenant's initial domain, or its id when it is gone.
pub(crate) async fn domain_of(st: &super::ConsoleState, t: TenantId) -> String {
    st.store.get_tenant(t).await.map_or_else(|_| t.to_string(), |t| t.initial_domain.to_string())
}

/// How a job is doing, worst first: quarantined, escrows waiting, last cycle failed, the rest.
pub(crate) fn health(state: &JobState) -> (u8, &'static str, &'static str) {
    let failed = state.last_execution.as_ref().is_some_and(|e| e.error.is_some());
    match state.status {
        JobStatusCode::Quarantine => (0, "Quarantined", "status-bad"),
        _ if !state.escrows.is_empty() => (1, "Escrows waiting", "status-warn"),
        _ if failed => (2, "Last cycle failed", "status-bad"),
        JobStatusCode::Paused => (3, "Paused", "status-warn"),
        JobStatusCode::NotRun => (3, "Not run yet", ""),
        JobStatusCode::Active => (4, "Healthy", "status-good"),
    }
}

/// Configurations a select offers; a tenant with more is asked for a configuration's id
/// instead (a form never lists a whole deployment's arrows).
pub(crate) const CHOICES: u32 = 100;

/// A page of the configurations from `tenant` (those whose source it is), ordered by
/// target tenant, after the target `after`, with their job states; and the target the
/// next page starts after, if there is one.
pub(crate) async fn configurations_page(
    st: &super::ConsoleState,
    tenant: TenantId,
    after: Option<TenantId>,
    rows: usize,
) -> ConsoleResult<(Vec<(SyncConfiguration, JobState)>, Option<TenantId>)> {
    let limit = u32::try_from(rows + 1).unwrap_or(u32::MAX);
    let mut found = st.store.sync_configurations_at(ConfigPage { tenant, end: ConfigEnd::Source, after, limit }).await?;
    let next = if found.len() > rows { found.get(rows.saturating_sub(1)).map(|c| c.target_tenant_id) } else { None };
    found.truncate(rows);
    let mut out = Vec::with_capacity(found.len());
    for c in found {
        let state = st.store.job_state(c.id).await?;
        out.push((c, state));
    }
    Ok((out, next))
}

/// The configurations from `tenant` a select offers (id, label), or `None` when it has
/// more than [`CHOICES`].
pub(crate) async fn configuration_choices(st: &super::ConsoleState, tenant: TenantId) -> ConsoleResult<Option<Vec<(String, String)>>> {
    let found = st.store.sync_configurations_at(ConfigPage { tenant, end: ConfigEnd::Source, after: None, limit: CHOICES + 1 }).await?;
    Ok((found.len() <= CHOICES as usize).then(|| found.into_iter().map(|c| (c.id.to_string(), c.display_name)).collect()))
}

/// The `n` worst jobs from `tenant` (by [`health`], then name) and how many jobs it has:
/// read a page at a time, holding `n` and a page whatever the count.
async fn worst_jobs(st: &super::ConsoleState, tenant: TenantId, n: usize) -> ConsoleResult<(Vec<(SyncConfiguration, JobState)>, usize)> {
    let (mut worst, mut total, mut after): (Vec<(SyncConfiguration, JobState)>, usize, Option<TenantId>) = (Vec::new(), 0, None);
    loop {
        let (page, next) = configurations_page(st, tenant, after, 200).await?;
        total += page.len();
        worst.extend(page);
        worst.sort_by(|a, b| (health(&a.1).0, &a.0.display_name).cmp(&(health(&b.1).0, &b.0.display_name)));
        worst.truncate(n);
        match next {
            Some(t) => after = Some(t),
            None => return Ok((worst, total)),
        }
    }
}

/// `GET /admin`.
pub(crate) async fn overview(State(st): State<Shared>, session: Session) -> ConsoleResult {
    session.admin()?;
    let t = session.tenant.id;
    let users = st.store.count_users(t, Visibility::Active).await?;
    let groups = st.store.count_groups(t, Visibility::Active).await?;
    // The first few partners by name; the partners page has them all.
    let listed = st.store.partner_settings_page(t, None, PARTNERS + 1).await?;
    let more_partners = listed.len() > PARTNERS as usize;
    let mut partners = Vec::new();
    for (p, _) in listed.iter().take(PARTNERS as usize) {
        partners.push(domain_of(&st, *p).await);
    }
    let (configs, jobs) = worst_jobs(&st, t, JOBS).await?;
    let mut rows = Vec::new();
    for (c, s) in &configs {
        rows.push((c, s, domain_of(&st, c.target_tenant_id).await));
    }
    let failures = st
        .store
        .provisioning_log_page(&LogQuery { source_tenant: Some(t), status: Some(ProvisioningStatus::Failure), limit: 10, ..LogQuery::default() })
        .await?
        .records;
    let body = html! {
        div.cards {
            div.panel { h2 { "Users" } p { a href="/admin/users" id="count-users" { (users) } } }
            div.panel { h2 { "Groups" } p { a href="/admin/groups" id="count-groups" { (groups) } } }
            div.panel { h2 { "Partners" } p id="partners" { @if partners.is_empty() { "None" } @else { (partners.join(", ")) @if more_partners { ", " a href="/admin/partners" { "more" } } } } }
        }
        h2 id="jobs-heading" { "Sync jobs by health" }
        @if rows.is_empty() {
            p.note { "This tenant is the source of no sync configuration." }
        } @else {
            @if jobs > rows.len() { p.note id="jobs-shown" { "The " (rows.len()) " least healthy of " (jobs) "; " a href="/admin/sync" { "all sync configurations" } "." } }
            div.scroll { table.responsive aria-labelledby="jobs-heading" id="jobs" {
                thead { tr { th scope="col" { "Configuration" } th scope="col" { "Target" } th scope="col" { "Health" } th scope="col" { "Escrows" } th scope="col" { "Last cycle" } } }
                tbody { @for (c, s, target) in &rows {
                    @let (_, label, class) = health(s);
                    tr {
                        td data-label="Configuration" { a href={"/admin/sync/" (c.id)} { (c.display_name) } }
                        td data-label="Target" { (target) }
                        td data-label="Health" class=(class) { (label) @if let Some(q) = s.quarantine_reason { " (" (format!("{q:?}")) ")" } }
                        td data-label="Escrows" { (s.escrows.len()) }
                        td data-label="Last cycle" { @match &s.last_execution { Some(e) => { (time(e.time_ended)) @if let Some(err) = &e.error { br; span.status-bad { (err) } } }, None => "—" } }
                    }
                } }
            } }
        }
        h2 id="failures-heading" { "Recent failures" }
        @if failures.is_empty() { p.note id="no-failures" { "No provisioning failure recorded." } }
        @else {
            ul id="failures" { @for f in &failures {
                li { (time(f.activity_date_time)) ": " (f.source_display_name) " — " (f.error_message.as_deref().unwrap_or("failed")) " " a href={"/admin/logs?object=" (f.source_id)} { "log" } }
            } }
        }
    };
    Ok(page::ok("Overview", &session, "/admin", body))
}

fn search_form(action: &str, id: &str, label: &str, value: &str) -> Markup {
    html! {
        form.inline method="get" action=(action) role="search" {
            div { label for=(id) { (label) } input id=(id) name="q" type="search" value=(value); }
            button type="submit" { "Search" }
        }
    }
}

/// A prefix of either property, ignoring case (the indexed `startsWith` of the admin API).
fn prefix(fields: &[Field], text: &str) -> Option<Filter> {
    if text.is_empty() {
        return None;
    }
    let each = fields.iter().map(|f| Filter::folded(*f, CompareOp::Sw, FilterValue::Text(text.to_owned()))).collect::<Vec<_>>();
    Some(if each.len() == 1 { each.into_iter().next().unwrap_or(Filter::Const(true)) } else { Filter::Or(each) })
}

/// A user search: the display name or the userPrincipalName starts with the text
/// (ignoring case), the store's [`UserSearch`] read a page at a time in the order of the
/// two indexes it seeks (display-name matches, then userPrincipalName-only matches), so a
/// page costs what it shows whether no user matches or thousands do (and at most a
/// thousand rows more where the second part passes over the first's users that match both
/// ways: such a page may come shorter, with its "Next page"). A text with an `@`
/// (the start of a sign-in name, which a display name does not hold) searches the
/// userPrincipalName alone. It was a filter of both read in id order until the page was
/// full: the whole tenant for a text few users match (764 ms at 1,000,000 users;
/// docs/benchmarks.md, issue 20).
fn user_search(search: &str, after: &str) -> ConsoleResult<UserSearch> {
    let after = if after.is_empty() {
        None
    } else {
        // The cursor's part is in what its token was issued for.
        let (by_upn, seek) = match position(after, &["console-users", search, "name"]) {
            Ok(seek) => (false, seek),
            Err(_) => (true, position(after, &["console-users", search, "upn"])?),
        };
        match seek {
            Seek::After(Keyset { value: Some(KeyValue::Text(key)), id }) => Some(SearchCursor { by_upn, key, id }),
            Seek::First => None,
            _ => return Err(GraphError::new(GraphCode::BadRequest, "$skiptoken is not one this server issued for this query").into()),
        }
    };
    Ok(UserSearch { text: search.to_owned(), display_name: !search.contains('@'), after, limit: PAGE, pass_over: UserSearch::PASS_OVER })
}

/// The `after` token of a search's next page.
fn search_token(search: &str, c: SearchCursor) -> String {
    let part = if c.by_upn { "upn" } else { "name" };
    skiptoken(&Seek::After(Keyset { value: Some(KeyValue::Text(c.key)), id: c.id }), &["console-users", search, part])
}

/// The page a request's `after` names, for the query `fingerprint`.
pub(crate) fn position(after: &str, fingerprint: &[&str]) -> ConsoleResult<Seek> {
    Ok(seek((!after.is_empty()).then_some(after), fingerprint)?)
}

/// `GET /admin/users?q=…&after=…`.
pub(crate) async fn users(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let (search, after) = (get(&q, "q"), get(&q, "after"));
    let (items, next) = if search.is_empty() {
        // Every user, in id order: the primary key from the cursor on.
        let fp = ["console-users", search];
        let query = ObjectQuery { filter: None, sort: None, offset: 0, limit: PAGE, seek: Some(position(after, &fp)?) };
        let found = st.store.query_users(session.tenant.id, &query).await?;
        (found.items, found.next.map(|k| skiptoken(&Seek::After(k), &fp)))
    } else {
        let found = st.store.search_users(session.tenant.id, &user_search(search, after)?).await?;
        (found.items, found.next.map(|c| search_token(search, c)))
    };
    let body = html! {
        (search_form("/admin/users", "user-search", "Name or userPrincipalName starts with", search))
        div.scroll { table.responsive id="users" aria-label="Users" {
            thead { tr { th scope="col" { "Display name" } th scope="col" { "userPrincipalName" } th scope="col" { "Type" } th scope="col" { "Sign-in" } th scope="col" { "Department" } } }
            tbody { @for u in &items {
                tr {
                    td data-label="Display name" { (u.attrs.display_name.as_deref().unwrap_or("—")) }
                    td data-label="userPrincipalName" { (u.attrs.user_principal_name) }
                    td data-label="Type" { @if u.attrs.user_type == UserType::Guest { "Guest" } @else { "Member" } @if u.anchor.is_some() { " (synced)" } }
                    td data-label="Sign-in" { @if u.attrs.account_enabled { "Allowed" } @else { "Blocked" } }
                    td data-label="Department" { (u.attrs.department.as_deref().unwrap_or("")) }
                }
            } }
        } }
        @if items.is_empty() {
            @if next.is_some() { p.note id="none-on-this-page" { "No more users on this page (it passed over users shown before); the next page goes on." } }
            @else { p.note id="no-users" { "No user matches." } }
        }
        (pager("/admin/users", &[("q", search)], after.is_empty(), next))
    };
    Ok(page::ok("Users", &session, "/admin/users", body))
}

/// `GET /admin/groups?q=…&after=…`.
pub(crate) async fn groups(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let (search, after) = (get(&q, "q"), get(&q, "after"));
    let fp = ["console-groups", search];
    let query = ObjectQuery {
        filter: prefix(&[Field::Group(GroupAttribute::DisplayName)], search),
        sort: None,
        offset: 0,
        limit: PAGE,
        seek: Some(position(after, &fp)?),
    };
    let found = st.store.query_groups(session.tenant.id, &query).await?;
    let next = found.next.map(|k| skiptoken(&Seek::After(k), &fp));
    let body = html! {
        (search_form("/admin/groups", "group-search", "Name starts with", search))
        div.scroll { table.responsive id="groups" aria-label="Groups" {
            thead { tr { th scope="col" { "Display name" } th scope="col" { "Description" } th scope="col" { "Origin" } } }
            tbody { @for g in &found.items {
                tr {
                    td data-label="Display name" { (g.attrs.display_name) }
                    td data-label="Description" { (g.attrs.description.as_deref().unwrap_or("")) }
                    td data-label="Origin" { @if g.anchor.is_some() { "Synced from a partner" } @else { "This tenant" } }
                }
            } }
        } }
        @if found.items.is_empty() { p.note id="no-groups" { "No group matches." } }
        (pager("/admin/groups", &[("q", search)], after.is_empty(), next))
    };
    Ok(page::ok("Groups", &session, "/admin/groups", body))
}
