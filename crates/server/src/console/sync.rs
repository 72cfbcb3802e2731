//! Sync configurations (the session tenant's, as Entra shows a tenant's jobs), their
//! start, pause and provision on demand (the engine's, as the admin API's jobs call
//! them, each recorded in the audit log), the provisioning logs with the API's filters,
//! and the admin audit log. Every list is a page of a keyset-paged store query.
use super::admin::{configuration_choices, configurations_page, domain_of, get, health};
use super::page::{self, csrf, pager, see_other, time};
use super::session::{Posted, Principal, Session};
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use crate::graph::audit::Entry;
use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use std::collections::HashMap;
use tenantsync_domain::{ObjectId, SyncConfigId, SyncConfiguration, SyncScope, Upn};
use tenantsync_store::{
    AuditActor, AuditCategory, AuditCursor, AuditOperation, AuditQuery, LogCursor, LogQuery, ProvisioningAction, ProvisioningLog, ProvisioningStatus,
};

type Params = Query<HashMap<String, String>>;

/// Records in a page of logs or audit records.
const LOG_PAGE: u32 = 50;

/// The session tenant's configuration `id` (another tenant's is the same 404 as none).
pub(crate) async fn configuration(st: &ConsoleState, session: &Session, id: &str) -> ConsoleResult<SyncConfiguration> {
    let missing = || ConsoleError::not_found(format!("sync configuration '{id}' does not exist"));
    let id: SyncConfigId = id.parse().map_err(|_| missing())?;
    match st.store.get_sync_configuration(id).await {
        Ok(c) if c.source_tenant_id == session.tenant.id => Ok(c),
        _ => Err(missing()),
    }
}

/// Records a console write in the audit log as its session's token (after it committed).
pub(crate) async fn audited(st: &ConsoleState, session: &Session, entry: Entry) {
    let Principal::Admin { token_id, name, .. } = &session.principal else { return };
    let record = entry.by(session.tenant.id, AuditActor { token_id: *token_id, token_name: name.clone() }, st.store.clock().now());
    if let Err(e) = st.store.append_audit(record).await {
        tracing::error!(code = e.code(), error = %e, "the audit record of a committed console write could not be written");
    }
}

fn control(c: &SyncConfiguration, activity: &str, detail: String) -> Entry {
    Entry::new(activity, AuditOperation::Update, AuditCategory::ProvisioningManagement, "SyncConfiguration", c.id).named(Some(&c.display_name)).change(
        "job",
        None,
        Some(detail),
    )
}

/// `GET /admin/sync?after=…`: the configurations from this tenant, a page at a time in
/// the order of their targets (the overview shows the least healthy first).
pub(crate) async fn list(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let after = get(&q, "after");
    let from = if after.is_empty() { None } else { Some(after.parse().map_err(|_| ConsoleError::bad_request("'after' is not a position this page gave"))?) };
    let (configs, next) = configurations_page(&st, session.tenant.id, from, super::kit::ROWS).await?;
    let mut rows = Vec::new();
    for (c, s) in &configs {
        rows.push((c, s, domain_of(&st, c.target_tenant_id).await));
    }
    let writer = matches!(session.principal, Principal::Admin { writer: true, .. });
    let body = html! {
        @if writer { p { a.button href="/admin/sync/new" id="new-configuration" { "New sync configuration" } } }
        @if rows.is_empty() { p.note id="no-configurations" { "This tenant is the source of no sync configuration yet." } }
        @else {
            div.scroll { table.responsive id="configurations" aria-label="Sync configurations" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Target" } th scope="col" { "Scope" } th scope="col" { "Health" } } }
                tbody { @for (c, s, target) in &rows {
                    @let (_, label, class) = health(s);
                    tr {
                        td data-label="Name" { a href={"/admin/sync/" (c.id)} { (c.display_name) } }
                        td data-label="Target" { (target) }
                        td data-label="Scope" { (format!("{:?}", c.scope)) }
                        td data-label="Health" class=(class) { (label) }
                    }
                } }
            } }
        }
        (pager("/admin/sync", &[], after.is_empty(), next.map(|t| t.to_string())))
    };
    Ok(page::ok("Sync configurations", &session, "/admin/sync", body))
}

fn step_list(log: &ProvisioningLog) -> Markup {
    html! {
        ol.steps id="steps" {
            @for s in &log.steps {
                li {
                    strong { (s.kind) } " — " span class=(status_class(s.status)) { (s.status.as_str()) } ": " (s.description)
                    @if !s.details.is_empty() {
                        dl { @for (k, v) in &s.details { dt { (k) } dd { (v.as_str().map_or_else(|| v.to_string(), str::to_owned)) } } }
                    }
                }
            }
        }
        @if !log.modified_properties.is_empty() {
            table id="modified" aria-label="Modified properties" {
                thead { tr { th scope="col" { "Property" } th scope="col" { "Old value" } th scope="col" { "New value" } } }
                tbody { @for m in &log.modified_properties {
                    tr { td { (m.display_name) } td { (m.old_value.as_deref().unwrap_or("—")) } td { (m.new_value.as_deref().unwrap_or("—")) } }
                } }
            }
        }
        @if let Some(m) = &log.error_message { p.error { (log.error_code.as_deref().unwrap_or("error")) ": " (m) } }
    }
}

fn status_class(s: ProvisioningStatus) -> &'static str {
    match s {
        ProvisioningStatus::Success => "status-good",
        ProvisioningStatus::Failure => "status-bad",
        ProvisioningStatus::Skipped | ProvisioningStatus::Warning => "status-warn",
    }
}

async fn detail_page(st: &ConsoleState, session: &Session, c: &SyncConfiguration, result: Option<&ProvisioningLog>) -> ConsoleResult {
    let state = st.store.job_state(c.id).await?;
    let (_, label, class) = health(&state);
    let target = domain_of(st, c.target_tenant_id).await;
    let writer = matches!(session.principal, Principal::Admin { writer: true, .. });
    let body = html! {
        dl.panel id="settings" {
            dt { "Target" } dd { (target) }
            dt { "Scope" } dd { (format!("{:?}", c.scope)) " · " (c.assignments.len()) " assignment(s) · " (c.scoping_filter.len()) " scoping filter group(s)" }
            dt { "Mappings" } dd { (c.user_mappings.len()) " user mapping(s)" @if c.provision_groups { ", groups provisioned with " (c.group_mappings.len()) " mapping(s)" } }
            dt { "Health" } dd class=(class) id="health" { (label) }
            dt { "Escrows" } dd { (state.escrows.len()) }
            dt { "Last cycle" } dd { @match &state.last_execution { Some(e) => { (time(e.time_ended)) " (" (if e.initial { "initial" } else { "incremental" }) ")" }, None => "—" } }
        }
        @if writer {
            div.inline {
                form.inline method="post" action={"/admin/sync/" (c.id) "/start"} { (csrf(session)) button type="submit" id="start" { "Start" } }
                " "
                form.inline method="post" action={"/admin/sync/" (c.id) "/pause"} { (csrf(session)) button.secondary type="submit" id="pause" { "Pause" } }
            }
            form.inline method="post" action={"/admin/sync/" (c.id) "/scope"} aria-label="Scope" {
                (csrf(session))
                (scope_select(c.scope))
                button.secondary type="submit" id="save-scope" { "Save scope" }
            }
            h2 id="pod-heading" { "Provision on demand" }
            form.inline method="post" action={"/admin/sync/" (c.id) "/provision"} aria-labelledby="pod-heading" {
                (csrf(session))
                div { label for="pod-user" { "User (userPrincipalName or id)" } input id="pod-user" name="user" type="text" required; }
                button type="submit" id="pod-submit" { "Provision" }
            }
        }
        @if let Some(log) = result {
            section aria-labelledby="result-heading" id="pod-result" {
                h2 id="result-heading" { "Result: " span class=(status_class(log.status)) { (log.status.as_str()) } " — " (log.source_display_name) }
                (step_list(log))
            }
        }
        @if writer {
            form.inline method="post" action={"/admin/sync/" (c.id) "/restart"} aria-label="Restart" {
                (csrf(session))
                button.secondary type="submit" id="restart" { "Restart (clear the watermark, escrows and quarantine)" }
            }
        }
        p {
            a href={"/admin/sync/" (c.id) "/scoping"} id="edit-scoping" { "Scoping filter" } " · "
            a href={"/admin/sync/" (c.id) "/mappings"} id="edit-mappings" { "Attribute mappings" } " · "
            a href={"/admin/logs?config=" (c.id)} { "Provisioning logs of this configuration" }
        }
        @if !state.escrows.is_empty() {
            h2 { "Escrows" }
            ul { @for e in &state.escrows { li { (e.source_object_id) ": " (e.error_code) " — " (e.message) " (attempt " (e.attempts) ", next " (time(e.next_attempt)) ")" } } }
        }
    };
    Ok(page::ok(&c.display_name, session, "/admin/sync", body))
}

fn scope_select(current: SyncScope) -> Markup {
    html! {
        div {
            label for="sync-scope" { "Scope" }
            select id="sync-scope" name="scope" {
                option value="assigned" selected[current == SyncScope::AssignedUsersAndGroups] { "Assigned users and groups" }
                option value="all" selected[current == SyncScope::AllUsers] { "All users" }
            }
        }
    }
}

fn scope_of(text: &str) -> ConsoleResult<SyncScope> {
    match text {
        "assigned" => Ok(SyncScope::AssignedUsersAndGroups),
        "all" => Ok(SyncScope::AllUsers),
        other => Err(ConsoleError::bad_request(format!("scope '{other}' is neither assigned nor all"))),
    }
}

/// `GET /admin/sync/new`: the form of a new configuration (Entra's default mappings).
pub(crate) async fn new_form(session: Session) -> ConsoleResult {
    session.writer()?;
    let body = html! {
        p.note { "A one-way arrow from this tenant to a target tenant, with Entra's default cross-tenant mappings. The tenants' access settings must allow it (tenantsync partner set); the engine checks them and names what is missing." }
        form.stack method="post" action="/admin/sync/new" id="new-configuration-form" {
            (csrf(&session))
            div { label for="sync-name" { "Name" } input id="sync-name" name="name" type="text" required; }
            div { label for="sync-target" { "Target tenant (its domain)" } input id="sync-target" name="target" type="text" required; }
            (scope_select(SyncScope::default()))
            div { button type="submit" id="create-configuration" { "Create" } }
        }
    };
    Ok(page::ok("New sync configuration", &session, "/admin/sync", body))
}

/// `POST /admin/sync/new`: validated and stored by the engine (the policy check included).
pub(crate) async fn create(State(st): State<Shared>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let target = form.get("target");
    let domain = tenantsync_domain::DomainName::parse(target).map_err(|e| ConsoleError::bad_request(format!("target '{target}': {e}")))?;
    let target = st.store.find_tenant_by_domain(&domain).await?.ok_or_else(|| ConsoleError::not_found(format!("there is no tenant '{target}'")))?;
    let mut config = SyncConfiguration::new(form.get("name"), session.tenant.id, target.id)?;
    config.scope = scope_of(form.get("scope"))?;
    let c = st.engine.create_configuration(config).await?;
    let entry = Entry::new("Add provisioning configuration", AuditOperation::Add, AuditCategory::ProvisioningManagement, "SyncConfiguration", c.id)
        .named(Some(&c.display_name))
        .change("target", None, Some(target.initial_domain.to_string()))
        .change("scope", None, Some(form.get("scope").to_owned()));
    audited(&st, &session, entry).await;
    Ok(see_other(&format!("/admin/sync/{}", c.id)))
}

/// `POST /admin/sync/{id}/scope`: the scope changed through the engine (the next cycle is
/// an initial one, as after any change of scope).
pub(crate) async fn set_scope(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let mut c = configuration(&st, &session, &id).await?;
    let old = format!("{:?}", c.scope);
    c.scope = scope_of(form.get("scope"))?;
    let c = st.engine.update_configuration(c).await?;
    audited(&st, &session, control(&c, "Update provisioning configuration", format!("scope {old} -> {:?}", c.scope))).await;
    Ok(see_other(&format!("/admin/sync/{}", c.id)))
}

/// `GET /admin/sync/{id}`.
pub(crate) async fn detail(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    session.admin()?;
    let c = configuration(&st, &session, &id).await?;
    detail_page(&st, &session, &c, None).await
}

/// `POST /admin/sync/{id}/start`.
pub(crate) async fn start(State(st): State<Shared>, Path(id): Path<String>, Posted { session, .. }: Posted) -> ConsoleResult {
    session.writer()?;
    let c = configuration(&st, &session, &id).await?;
    st.engine.start(c.id).await?;
    audited(&st, &session, control(&c, "Enable/start provisioning configuration", "start".into())).await;
    Ok(see_other(&format!("/admin/sync/{}", c.id)))
}

/// `POST /admin/sync/{id}/pause`.
pub(crate) async fn pause(State(st): State<Shared>, Path(id): Path<String>, Posted { session, .. }: Posted) -> ConsoleResult {
    session.writer()?;
    let c = configuration(&st, &session, &id).await?;
    st.engine.pause(c.id).await?;
    audited(&st, &session, control(&c, "Pause provisioning configuration", "pause".into())).await;
    Ok(see_other(&format!("/admin/sync/{}", c.id)))
}

/// `POST /admin/sync/{id}/provision`: one user through the cycle's path, its steps shown.
pub(crate) async fn provision(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let c = configuration(&st, &session, &id).await?;
    let who = form.get("user");
    let user = match who.parse::<ObjectId>() {
        Ok(id) => id,
        Err(_) => {
            let upn = Upn::parse(who).map_err(|_| ConsoleError::bad_request(format!("'{who}' is neither a user id nor a userPrincipalName")))?;
            st.store.find_user_by_upn(session.tenant.id, &upn).await?.ok_or_else(|| ConsoleError::not_found(format!("there is no user '{who}'")))?.id
        }
    };
    let log = st.engine.provision_on_demand(c.id, user).await?;
    audited(&st, &session, control(&c, "Provision on demand", user.to_string())).await;
    detail_page(&st, &session, &c, Some(&log)).await
}

fn select(id: &str, label: &str, name: &str, current: &str, options: &[(String, String)]) -> Markup {
    html! {
        div {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                option value="" selected[current.is_empty()] { "Any" }
                @for (v, text) in options { option value=(v) selected[v == current] { (text) } }
            }
        }
    }
}

const STATUSES: [ProvisioningStatus; 4] = [ProvisioningStatus::Success, ProvisioningStatus::Failure, ProvisioningStatus::Skipped, ProvisioningStatus::Warning];
const ACTIONS: [ProvisioningAction; 6] = [
    ProvisioningAction::Create,
    ProvisioningAction::Update,
    ProvisioningAction::Delete,
    ProvisioningAction::StagedDelete,
    ProvisioningAction::Disable,
    ProvisioningAction::Other,
];

/// `GET /admin/logs?config=…&status=…&action=…&object=…&after=…`: the admin API's filters.
pub(crate) async fn logs(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let (config, status, action, object, after) = (get(&q, "config"), get(&q, "status"), get(&q, "action"), get(&q, "object"), get(&q, "after"));
    let bad = |what: &str, v: &str| ConsoleError::bad_request(format!("{what} '{v}' is not one the filter offers"));
    let mut query = LogQuery { source_tenant: Some(session.tenant.id), limit: LOG_PAGE, ..LogQuery::default() };
    if !config.is_empty() {
        query.config_id = Some(configuration(&st, &session, config).await?.id);
    }
    if !status.is_empty() {
        query.status = Some(STATUSES.into_iter().find(|s| s.as_str() == status).ok_or_else(|| bad("status", status))?);
    }
    if !action.is_empty() {
        query.action = Some(ACTIONS.into_iter().find(|a| crate::graph::logs_action_name(*a) == action).ok_or_else(|| bad("action", action))?);
    }
    if !object.is_empty() {
        query.object_id = Some(object.parse().map_err(|_| bad("object id", object))?);
    }
    if !after.is_empty() {
        query.after = Some(LogCursor(after.to_owned()));
    }
    let found = st.store.provisioning_log_page(&query).await?;
    let choices = configuration_choices(&st, session.tenant.id).await?;
    // The names of the configurations the page's records come from (a page's worth).
    let mut names: HashMap<SyncConfigId, String> = HashMap::new();
    for r in &found.records {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(r.config_id) {
            slot.insert(st.store.get_sync_configuration(r.config_id).await.map_or_else(|_| "?".to_owned(), |c| c.display_name));
        }
    }
    let statuses: Vec<(String, String)> = STATUSES.iter().map(|s| (s.as_str().to_owned(), s.as_str().to_owned())).collect();
    let actions: Vec<(String, String)> =
        ACTIONS.iter().map(|a| (crate::graph::logs_action_name(*a).to_owned(), crate::graph::logs_action_name(*a).to_owned())).collect();
    let body = html! {
        form.inline method="get" action="/admin/logs" aria-label="Filters" {
            @match &choices {
                Some(configs) => (select("log-config", "Configuration", "config", config, configs)),
                None => div { label for="log-config" { "Configuration (its id)" } input id="log-config" name="config" type="text" value=(config); },
            }
            (select("log-status", "Status", "status", status, &statuses))
            (select("log-action", "Action", "action", action, &actions))
            div { label for="log-object" { "Object id" } input id="log-object" name="object" type="text" value=(object); }
            button type="submit" { "Filter" }
        }
        @if found.records.is_empty() { p.note id="no-logs" { "No record matches." } }
        @else {
            ul id="logs" {
                @for r in &found.records {
                    li {
                        details {
                            summary {
                                (time(r.activity_date_time)) " · " (names.get(&r.config_id).map_or("?", String::as_str)) " · "
                                (crate::graph::logs_action_name(r.provisioning_action)) " " (r.source_display_name) " · "
                                span class=(status_class(r.status)) { (r.status.as_str()) }
                                @if let Some(s) = r.skip_reason { " (" (s.as_str()) ")" }
                            }
                            p.note { "Cycle " (r.cycle_id) " · change " (r.change_id) " · source " (r.source_id) @if let Some(t) = r.target_id { " → target " (t) } }
                            (step_list(r))
                        }
                    }
                }
            }
        }
        (pager("/admin/logs", &[("config", config), ("status", status), ("action", action), ("object", object)], after.is_empty(), found.next.map(|c| c.0)))
    };
    Ok(page::ok("Provisioning logs", &session, "/admin/logs", body))
}

/// `GET /admin/audit?after=…`: the tenant's audit records, newest first.
pub(crate) async fn audit(State(st): State<Shared>, session: Session, Query(q): Params) -> ConsoleResult {
    session.admin()?;
    let after = get(&q, "after");
    let cursor = match after.split_once('.') {
        _ if after.is_empty() => None,
        Some((ms, id)) => {
            let at = ms.parse::<i64>().ok().and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
            match (at, id.parse::<ObjectId>()) {
                (Some(at), Ok(id)) => Some(AuditCursor { at, id }),
                _ => return Err(ConsoleError::bad_request("'after' is not a position this page gave")),
            }
        }
        None => return Err(ConsoleError::bad_request("'after' is not a position this page gave")),
    };
    let found = st.store.audit_records(session.tenant.id, &AuditQuery { after: cursor, limit: LOG_PAGE, ..AuditQuery::default() }).await?;
    let next = found.next.map(|c| format!("{}.{}", c.at.as_millisecond(), c.id));
    let body = html! {
        @if found.records.is_empty() { p.note id="no-audit" { "No record yet." } }
        @else {
            div.scroll { table.responsive id="audit" aria-label="Audit records" {
                thead { tr { th scope="col" { "When" } th scope="col" { "Activity" } th scope="col" { "By" } th scope="col" { "Target" } th scope="col" { "Changes" } } }
                tbody { @for r in &found.records {
                    tr {
                        td data-label="When" { (time(r.activity_date_time)) }
                        td data-label="Activity" { (r.activity) }
                        td data-label="By" { (r.initiated_by.token_name) }
                        td data-label="Target" { (r.target.kind) " " (r.target.display_name.as_deref().unwrap_or(&r.target.id)) }
                        td data-label="Changes" { @for m in &r.modified_properties { div { (m.display_name) ": " (m.old_value.as_deref().unwrap_or("—")) " → " (m.new_value.as_deref().unwrap_or("—")) } } }
                    }
                } }
            } }
        }
        (pager("/admin/audit", &[], after.is_empty(), next))
    };
    Ok(page::ok("Audit log", &session, "/admin/audit", body))
}
