//! Editing a sync configuration: its scoping filter and its user and group attribute
//! mappings, each
//! with a **Check** (the form posted back and rendered again with the parse error, at its
//! character, or "OK"; no script) and a **preview** of the result on a user chosen by
//! userPrincipalName (the engine's compiled configuration evaluated on that user, writing
//! nothing; with the console's script, the check runs as the admin types: the form is
//! posted with `do=check` a moment after the last keystroke and its result put in place),
//! and **Restart** (the engine's restart with Entra's default reset: watermark,
//! escrows, quarantine; the admin API's `restart` action). Saving goes through
//! `Engine::update_configuration`, which validates and, when scope or mappings changed,
//! makes the next cycle an initial one; a refused save changes nothing.
use super::admin::get;
use super::kit::{refusal, select, status_of, text_field, writer};
use super::page::{self, csrf, see_other};
use super::session::{Form, Posted, Session};
use super::sync::{audited, configuration};
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use crate::graph::audit::Entry;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get as get_route, post};
use maud::{Markup, html};
use std::collections::HashMap;
use tenantsync_domain::{AttributeMapping, FlowType, MappingSource, ObjectId, ScopingClause, ScopingFilterGroup, ScopingOperand, SyncConfiguration, Upn, User};
use tenantsync_engine::{Compiled, MappingPreview, ResetScope};
use tenantsync_expression::scoping::{Filter, FilterClause, FilterGroup, ScopeResult};
use tenantsync_store::{AuditCategory, AuditOperation};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/sync/{id}/scoping", get_route(scoping).post(post_scoping))
        .route("/admin/sync/{id}/mappings", get_route(mappings))
        .route("/admin/sync/{id}/mapping", get_route(mapping).post(post_mapping))
        .route("/admin/sync/{id}/restart", post(restart))
}

/// The source user of a preview: a userPrincipalName or an id of the session's tenant.
async fn user_of(st: &ConsoleState, session: &Session, who: &str) -> ConsoleResult<User> {
    if let Ok(id) = who.parse::<ObjectId>() {
        return st.store.get_user(session.tenant.id, id).await.map_err(|_| ConsoleError::not_found(format!("there is no user '{who}'")));
    }
    let upn = Upn::parse(who).map_err(|_| ConsoleError::bad_request(format!("'{who}' is neither a user id nor a userPrincipalName")))?;
    st.store.find_user_by_upn(session.tenant.id, &upn).await?.ok_or_else(|| ConsoleError::not_found(format!("there is no user '{who}'")))
}

/// What a check found: the configuration compiles (with a preview when a user was named),
/// or why not.
struct Checked {
    error: Option<ConsoleError>,
    scope: Option<ScopeResult>,
    mappings: Vec<MappingPreview>,
    user: Option<String>,
}

/// Compiles `candidate` as the engine would and, when `who` names a user, previews it.
async fn check(st: &ConsoleState, session: &Session, candidate: &SyncConfiguration, who: &str) -> Checked {
    let compiled = match Compiled::new(candidate.clone()) {
        Ok(c) => c,
        Err(e) => return Checked { error: Some(e.into()), scope: None, mappings: Vec::new(), user: None },
    };
    if who.is_empty() {
        return Checked { error: None, scope: None, mappings: Vec::new(), user: None };
    }
    match user_of(st, session, who).await {
        Ok(user) => {
            let (scope, mappings) = compiled.preview(&user, st.store.clock().as_ref());
            Checked { error: None, scope, mappings, user: Some(user.attrs.user_principal_name.to_string()) }
        }
        Err(e) => Checked { error: Some(e), scope: None, mappings: Vec::new(), user: None },
    }
}

fn scope_result(r: &ScopeResult) -> Markup {
    html! {
        p { "In scope: " strong id="in-scope" class=(if r.in_scope { "status-good" } else { "status-bad" }) { (if r.in_scope { "yes" } else { "no" }) } }
        ul id="scope-groups" { @for g in &r.groups {
            li { (g.name) ": " (if g.result { "true" } else { "false" })
                ul { @for c in &g.clauses { li { code { (c.clause) } " — " (c.source_value.as_deref().unwrap_or("null")) " → " (if c.result { "true" } else { "false" }) " (" (c.reason) ")" } } }
            }
        } }
    }
}

fn value_of(p: &MappingPreview) -> Markup {
    html! {
        @match &p.result {
            Ok(Some(v)) => { span.status-good { (v.join(", ")) } },
            Ok(None) => { span.note { "nothing flows (null)" } },
            Err(e) => { span.status-bad { (e) } },
        }
    }
}

/// The filter as text: a clause a line, groups apart on an `OR` line.
fn filter_text(groups: &[ScopingFilterGroup]) -> String {
    groups.iter().map(|g| g.clauses.iter().map(|c| FilterClause::from(c).to_string()).collect::<Vec<_>>().join("\n")).collect::<Vec<_>>().join("\nOR\n")
}

/// The filter of a text, in the configuration's shape.
fn filter_of(text: &str) -> ConsoleResult<Vec<ScopingFilterGroup>> {
    let f = Filter::parse_text(text).map_err(|e| ConsoleError::bad_request(format!("the scoping filter does not parse: {e}")))?;
    Ok(f.groups.into_iter().map(group_of).collect())
}

fn group_of(g: FilterGroup) -> ScopingFilterGroup {
    let clauses = g
        .clauses
        .into_iter()
        .map(|c| ScopingClause {
            source_operand_name: c.source_operand_name,
            operator_name: c.operator_name,
            target_operand: ScopingOperand { values: c.target_operand.values },
        })
        .collect();
    ScopingFilterGroup { name: g.name, clauses }
}

fn scoping_page(status: StatusCode, session: &Session, c: &SyncConfiguration, text: &str, who: &str, result: Option<&Checked>) -> ConsoleResult {
    let body = html! {
        p.note { "Users are in scope when every clause of some group holds (no clause: everyone assigned or in the tenant). One clause a line, e.g. " code { "department EQUALS Sales" } ", " code { "extension_abc_costCenter IS NOT NULL" } "; a line " code { "OR" } " starts another group." }
        div id="check-live" aria-live="polite" { @if let Some(r) = result {
            section aria-labelledby="check-heading" id="check-result" {
                h2 id="check-heading" { "Check" }
                @match &r.error {
                    Some(e) => (refusal(e)),
                    None => {
                        p.status-good id="check-ok" { "OK: the filter compiles." }
                        @if let (Some(u), Some(s)) = (&r.user, &r.scope) { h3 { "On " (u) } (scope_result(s)) }
                        @if let (Some(u), None) = (&r.user, &r.scope) { p { "On " (u) ": in scope (no filter)." } }
                    }
                }
            }
        } }
        @if writer(session) {
            form.stack method="post" action={"/admin/sync/" (c.id) "/scoping"} id="scoping-form" aria-label="Scoping filter" {
                (csrf(session))
                div { label for="filter" { "Scoping filter" } textarea id="filter" name="filter" rows="8" { (text) } }
                (text_field("preview-user", "Preview on a user (userPrincipalName, optional)", "user", who, false))
                div.inline {
                    button.secondary type="submit" name="do" value="check" id="check" { "Check" }
                    " "
                    button type="submit" name="do" value="save" id="save-filter" { "Save" }
                }
            }
            script src={(page::prefix()) "/console.js"} defer {}
        } @else {
            pre id="filter" { (text) }
        }
        p { a href={"/admin/sync/" (c.id)} { "Back to " (c.display_name) } }
    };
    Ok(page::page(status, &format!("Scoping filter of {}", c.display_name), Some(session), "/admin/sync", body))
}

/// `GET /admin/sync/{id}/scoping`.
async fn scoping(State(st): State<Shared>, session: Session, Path(id): Path<String>) -> ConsoleResult {
    session.admin()?;
    let c = configuration(&st, &session, &id).await?;
    scoping_page(StatusCode::OK, &session, &c, &filter_text(&c.scoping_filter), "", None)
}

/// `POST /admin/sync/{id}/scoping` (`do=check` or `do=save`).
async fn post_scoping(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let c = configuration(&st, &session, &id).await?;
    let (text, who) = (form.0.iter().find(|(k, _)| k == "filter").map_or("", |(_, v)| v.as_str()), form.get("user"));
    let mut candidate = c.clone();
    let checked = match filter_of(text) {
        Ok(groups) => {
            candidate.scoping_filter = groups;
            check(&st, &session, &candidate, who).await
        }
        Err(e) => Checked { error: Some(e), scope: None, mappings: Vec::new(), user: None },
    };
    if form.get("do") != "save" || checked.error.is_some() {
        let status = checked.error.as_ref().map_or(StatusCode::OK, status_of);
        return scoping_page(status, &session, &c, text, who, Some(&checked));
    }
    match st.engine.update_configuration(candidate).await {
        Ok(saved) => {
            let e = change(&saved, "Update scoping filter", "scopingFilter", filter_text(&c.scoping_filter), filter_text(&saved.scoping_filter));
            audited(&st, &session, e).await;
            Ok(see_other(&format!("/admin/sync/{}/scoping?saved=1", saved.id)))
        }
        Err(e) => {
            let checked = Checked { error: Some(e.into()), scope: None, mappings: Vec::new(), user: None };
            scoping_page(checked.error.as_ref().map_or(StatusCode::BAD_REQUEST, status_of), &session, &c, text, who, Some(&checked))
        }
    }
}

fn change(c: &SyncConfiguration, activity: &str, what: &str, old: String, new: String) -> Entry {
    Entry::new(activity, AuditOperation::Update, AuditCategory::ApplicationManagement, "SyncConfiguration", c.id).named(Some(&c.display_name)).change(
        what,
        Some(old),
        Some(new),
    )
}

fn kind_of(s: &MappingSource) -> (&'static str, &str) {
    match s {
        MappingSource::Attribute(a) => ("attribute", a),
        MappingSource::Constant(v) => ("constant", v),
        MappingSource::Expression(e) => ("expression", e),
    }
}

/// A mapping's target, source and when it applies: the first cells of its row (user and
/// group mappings alike).
fn mapping_cells(m: &AttributeMapping) -> Markup {
    let (kind, source) = kind_of(&m.source);
    html! {
        td data-label="Target attribute" { (m.target_attribute_name) }
        td data-label="Source" { (kind) ": " code { (source) } @if let Some(d) = &m.default_value { " (default " (d) ")" } }
        td data-label="Applied" { (if m.flow_type == FlowType::ObjectAddOnly { "only on create" } else { "always" }) }
    }
}

fn mapping_text(m: &AttributeMapping) -> String {
    let (kind, source) = kind_of(&m.source);
    format!("{} <- {kind} {source}", m.target_attribute_name)
}

/// Which of a configuration's two lists of mappings a page shows or a form edits
/// (`class=group`; users when it is absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    User,
    Group,
}

impl Class {
    fn of(s: &str) -> ConsoleResult<Class> {
        match s {
            "" | "user" => Ok(Class::User),
            "group" => Ok(Class::Group),
            other => Err(ConsoleError::bad_request(format!("'{other}' is not a class of mappings (user or group)"))),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Class::User => "user",
            Class::Group => "group",
        }
    }

    fn list(self, c: &SyncConfiguration) -> &Vec<AttributeMapping> {
        match self {
            Class::User => &c.user_mappings,
            Class::Group => &c.group_mappings,
        }
    }

    fn list_mut(self, c: &mut SyncConfiguration) -> &mut Vec<AttributeMapping> {
        match self {
            Class::User => &mut c.user_mappings,
            Class::Group => &mut c.group_mappings,
        }
    }
}

/// `GET /admin/sync/{id}/mappings?user=…`: the user mappings, previewed on a user when
/// named, then the group mappings.
async fn mappings(State(st): State<Shared>, session: Session, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> ConsoleResult {
    session.admin()?;
    let c = configuration(&st, &session, &id).await?;
    let who = get(&q, "user");
    let checked = if who.is_empty() { None } else { Some(check(&st, &session, &c, who).await) };
    let values: HashMap<&str, &MappingPreview> = checked.as_ref().map(|r| r.mappings.iter().map(|m| (m.target.as_str(), m)).collect()).unwrap_or_default();
    let body = html! {
        form.inline method="get" action={"/admin/sync/" (c.id) "/mappings"} aria-label="Preview" {
            (text_field("preview-user", "Preview on a user (userPrincipalName)", "user", who, true))
            button.secondary type="submit" id="preview" { "Preview" }
        }
        @if let Some(Checked { error: Some(e), .. }) = &checked { (refusal(e)) }
        @if let Some(Checked { user: Some(u), scope, .. }) = &checked {
            p id="preview-of" { "Values for " strong { (u) } " as a create would write them." }
            @if let Some(s) = scope { (scope_result(s)) }
        }
        div.scroll { table.responsive id="mappings" aria-label="User attribute mappings" {
            thead { tr { th scope="col" { "Target attribute" } th scope="col" { "Source" } th scope="col" { "Applied" } @if checked.is_some() { th scope="col" { "Preview" } } th scope="col" { "Edit" } } }
            tbody { @for m in &c.user_mappings {
                tr {
                    (mapping_cells(m))
                    @if checked.is_some() { td data-label="Preview" { @if let Some(p) = values.get(m.target_attribute_name.as_str()) { (value_of(p)) } } }
                    td data-label="Edit" { a href={"/admin/sync/" (c.id) "/mapping?target=" (page::encode(&m.target_attribute_name))} aria-label={"Edit " (m.target_attribute_name)} { "Edit" } }
                }
            } }
        } }
        @if writer(&session) { p { a.button href={"/admin/sync/" (c.id) "/mapping"} id="new-mapping" { "Add a user mapping" } } }
        h2 id="group-mappings-heading" { "Group attribute mappings" }
        @if c.group_mappings.is_empty() { p.note id="no-group-mappings" { "No group mappings." } }
        @else {
            div.scroll { table.responsive id="group-mappings" aria-labelledby="group-mappings-heading" {
                thead { tr { th scope="col" { "Target attribute" } th scope="col" { "Source" } th scope="col" { "Applied" } th scope="col" { "Edit" } } }
                tbody { @for m in &c.group_mappings {
                    tr {
                        (mapping_cells(m))
                        td data-label="Edit" { a href={"/admin/sync/" (c.id) "/mapping?class=group&target=" (page::encode(&m.target_attribute_name))} aria-label={"Edit group " (m.target_attribute_name)} { "Edit" } }
                    }
                } }
            } }
        }
        @if writer(&session) { p { a.button href={"/admin/sync/" (c.id) "/mapping?class=group"} id="new-group-mapping" { "Add a group mapping" } } }
        p { a href={"/admin/sync/" (c.id)} { "Back to " (c.display_name) } }
    };
    Ok(page::ok(&format!("Attribute mappings of {}", c.display_name), &session, "/admin/sync", body))
}

/// The fields of the mapping form.
struct Fields {
    class: Class,
    original: String,
    target: String,
    kind: String,
    source: String,
    flow: String,
    default: String,
    user: String,
}

impl Fields {
    fn of(class: Class, m: Option<&AttributeMapping>) -> Fields {
        let (kind, source) = m.map_or(("expression", ""), |m| kind_of(&m.source));
        Fields {
            class,
            original: m.map_or(String::new(), |m| m.target_attribute_name.clone()),
            target: m.map_or(String::new(), |m| m.target_attribute_name.clone()),
            kind: kind.to_owned(),
            source: source.to_owned(),
            flow: if m.is_some_and(|m| m.flow_type == FlowType::ObjectAddOnly) { "objectAddOnly".into() } else { "always".into() },
            default: m.and_then(|m| m.default_value.clone()).unwrap_or_default(),
            user: String::new(),
        }
    }

    fn posted(form: &Form) -> ConsoleResult<Fields> {
        let raw = |k: &str| form.0.iter().find(|(n, _)| n == k).map_or(String::new(), |(_, v)| v.clone());
        Ok(Fields {
            class: Class::of(form.get("class"))?,
            original: form.get("original").to_owned(),
            target: form.get("target").to_owned(),
            kind: form.get("kind").to_owned(),
            source: raw("source"),
            flow: form.get("flow").to_owned(),
            default: form.get("default").to_owned(),
            user: form.get("user").to_owned(),
        })
    }

    fn mapping(&self) -> ConsoleResult<AttributeMapping> {
        if self.target.is_empty() {
            return Err(ConsoleError::bad_request("a mapping needs its target attribute"));
        }
        let source = match self.kind.as_str() {
            "attribute" => MappingSource::Attribute(self.source.trim().to_owned()),
            "constant" => MappingSource::Constant(self.source.clone()),
            "expression" => {
                let r = tenantsync_expression::check(&self.source);
                if let Some(e) = r.error {
                    let at = e.position.map(|p| format!(" at character {}", p + 1)).unwrap_or_default();
                    return Err(ConsoleError::bad_request(format!("the expression does not parse{at}: {} ({})", e.message, e.code)));
                }
                MappingSource::Expression(self.source.clone())
            }
            other => return Err(ConsoleError::bad_request(format!("source kind '{other}' is not attribute, constant or expression"))),
        };
        let flow_type = match self.flow.as_str() {
            "always" | "" => FlowType::Always,
            "objectAddOnly" => FlowType::ObjectAddOnly,
            other => return Err(ConsoleError::bad_request(format!("'{other}' is not always or objectAddOnly"))),
        };
        let default_value = (!self.default.is_empty()).then(|| self.default.clone());
        Ok(AttributeMapping { target_attribute_name: self.target.clone(), source, flow_type, default_value })
    }
}

/// `c` with the `class` mapping `original` (none: a new one) replaced by `m` (none: removed).
fn with_mapping(c: &SyncConfiguration, class: Class, original: &str, m: Option<AttributeMapping>) -> ConsoleResult<SyncConfiguration> {
    let mut out = c.clone();
    let list = class.list_mut(&mut out);
    let at = list.iter().position(|x| !original.is_empty() && x.target_attribute_name == original);
    if let Some(m) = &m
        && list.iter().enumerate().any(|(i, x)| Some(i) != at && x.target_attribute_name == m.target_attribute_name)
    {
        return Err(ConsoleError::bad_request(format!("'{}' already has a {} mapping", m.target_attribute_name, class.noun())));
    }
    match (at, m) {
        (Some(i), Some(m)) => {
            if let Some(slot) = list.get_mut(i) {
                *slot = m;
            }
        }
        (Some(i), None) => {
            list.remove(i);
        }
        (None, Some(m)) if original.is_empty() => list.push(m),
        (None, _) => return Err(ConsoleError::not_found(format!("the configuration has no {} mapping of '{original}'", class.noun()))),
    }
    Ok(out)
}

fn mapping_page(status: StatusCode, session: &Session, c: &SyncConfiguration, f: &Fields, result: Option<&Checked>) -> ConsoleResult {
    let kinds: Vec<(String, String)> = [("expression", "Expression"), ("attribute", "Source attribute"), ("constant", "Constant")]
        .iter()
        .map(|(v, t)| ((*v).to_owned(), (*t).to_owned()))
        .collect();
    let noun = f.class.noun();
    let flows: Vec<(String, String)> = vec![("always".into(), "Always".into()), ("objectAddOnly".into(), format!("Only when the {noun} is created"))];
    let title = if f.original.is_empty() {
        format!("New {noun} mapping of {}", c.display_name)
    } else {
        format!("{} mapping of {} in {}", if f.class == Class::User { "User" } else { "Group" }, f.original, c.display_name)
    };
    let body = html! {
        div id="check-live" aria-live="polite" { @if let Some(r) = result {
            section aria-labelledby="check-heading" id="check-result" {
                h2 id="check-heading" { "Check" }
                @match &r.error {
                    Some(e) => (refusal(e)),
                    None => {
                        p.status-good id="check-ok" { "OK: the mapping compiles." }
                        @if let Some(u) = &r.user {
                            @if let Some(p) = r.mappings.iter().find(|m| m.target == f.target) { p id="preview-value" { "On " (u) ": " (value_of(p)) } }
                        }
                    }
                }
            }
        } }
        form.stack method="post" action={"/admin/sync/" (c.id) "/mapping"} id="mapping-form" aria-label="Mapping" {
            (csrf(session))
            input type="hidden" name="class" value=(noun);
            input type="hidden" name="original" value=(f.original);
            (text_field("mapping-target", "Target attribute", "target", &f.target, true))
            (select("mapping-kind", "Source kind", "kind", &f.kind, &kinds))
            div { label for="mapping-source" { "Source (an expression such as " code { "Join(\" \", [givenName], [surname])" } ", an attribute name, or a constant)" } textarea id="mapping-source" name="source" rows="3" { (f.source) } }
            (select("mapping-flow", "Applied", "flow", &f.flow, &flows))
            (text_field("mapping-default", "Default value when the source gives nothing (optional)", "default", &f.default, false))
            @if f.class == Class::User { (text_field("preview-user", "Preview on a user (userPrincipalName, optional)", "user", &f.user, false)) }
            div.inline {
                button.secondary type="submit" name="do" value="check" id="check" { "Check" }
                " "
                button type="submit" name="do" value="save" id="save-mapping" { "Save" }
                @if !f.original.is_empty() { " " button.secondary type="submit" name="do" value="delete" id="delete-mapping" { "Delete this mapping" } }
            }
        }
        p { a href={"/admin/sync/" (c.id) "/mappings"} { "All mappings" } }
        script src={(page::prefix()) "/console.js"} defer {}
    };
    Ok(page::page(status, &title, Some(session), "/admin/sync", body))
}

/// `GET /admin/sync/{id}/mapping?class=…&target=…` (no target: a new mapping; no class:
/// a user mapping).
async fn mapping(State(st): State<Shared>, session: Session, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> ConsoleResult {
    session.writer()?;
    let c = configuration(&st, &session, &id).await?;
    let class = Class::of(get(&q, "class"))?;
    let target = get(&q, "target");
    let m = if target.is_empty() {
        None
    } else {
        Some(
            class
                .list(&c)
                .iter()
                .find(|m| m.target_attribute_name == target)
                .ok_or_else(|| ConsoleError::not_found(format!("the configuration has no {} mapping of '{target}'", class.noun())))?,
        )
    };
    mapping_page(StatusCode::OK, &session, &c, &Fields::of(class, m), None)
}

/// `POST /admin/sync/{id}/mapping` (`do=check`, `save` or `delete`).
async fn post_mapping(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let c = configuration(&st, &session, &id).await?;
    let f = Fields::posted(&form)?;
    let action = form.get("do");
    let candidate = if action == "delete" {
        with_mapping(&c, f.class, &f.original, None)
    } else {
        f.mapping().and_then(|m| with_mapping(&c, f.class, &f.original, Some(m)))
    };
    let (candidate, checked) = match candidate {
        Ok(cand) if action != "delete" => {
            // A group mapping is checked by compiling; the preview is of a user's.
            let who = if f.class == Class::User { f.user.as_str() } else { "" };
            let checked = check(&st, &session, &cand, who).await;
            (Some(cand), checked)
        }
        Ok(cand) => (Some(cand), Checked { error: None, scope: None, mappings: Vec::new(), user: None }),
        Err(e) => (None, Checked { error: Some(e), scope: None, mappings: Vec::new(), user: None }),
    };
    let candidate = match candidate {
        Some(cand) if checked.error.is_none() && action != "check" => cand,
        _ => {
            let status = checked.error.as_ref().map_or(StatusCode::OK, status_of);
            return mapping_page(status, &session, &c, &f, Some(&checked));
        }
    };
    match st.engine.update_configuration(candidate).await {
        Ok(saved) => {
            let old = f.class.list(&c).iter().find(|m| m.target_attribute_name == f.original).map(mapping_text).unwrap_or_default();
            let new = if action == "delete" {
                String::new()
            } else {
                f.class.list(&saved).iter().find(|m| m.target_attribute_name == f.target).map(mapping_text).unwrap_or_default()
            };
            let what = if f.class == Class::User { "userMapping" } else { "groupMapping" };
            audited(&st, &session, change(&saved, "Update attribute mappings", what, old, new)).await;
            Ok(see_other(&format!("/admin/sync/{}/mappings?saved=1", saved.id)))
        }
        Err(e) => {
            let checked = Checked { error: Some(e.into()), scope: None, mappings: Vec::new(), user: None };
            mapping_page(checked.error.as_ref().map_or(StatusCode::BAD_REQUEST, status_of), &session, &c, &f, Some(&checked))
        }
    }
}

/// `POST /admin/sync/{id}/restart`: the engine's restart with Entra's default reset.
async fn restart(State(st): State<Shared>, Path(id): Path<String>, Posted { session, .. }: Posted) -> ConsoleResult {
    session.writer()?;
    let c = configuration(&st, &session, &id).await?;
    st.engine.restart(c.id, ResetScope::DEFAULT).await?;
    let e = Entry::new("Enable/restart provisioning configuration", AuditOperation::Update, AuditCategory::ProvisioningManagement, "SyncConfiguration", c.id)
        .named(Some(&c.display_name))
        .change("job", None, Some("restart: Watermark, Escrows, QuarantineState".into()));
    audited(&st, &session, e).await;
    Ok(see_other(&format!("/admin/sync/{}", c.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_reads_back_from_its_text() {
        let text = "department EQUALS \"Sales and Marketing\"\ncompanyName IS NOT NULL\nOR\ncountry EQUALS NO";
        let groups = filter_of(text).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].clauses.len(), 2);
        assert_eq!(groups[0].clauses[0].target_operand.values, vec!["Sales and Marketing".to_owned()]);
        assert_eq!(filter_of(&filter_text(&groups)).unwrap(), groups, "the text shown is the filter saved");
        assert!(filter_of("department LOOKS_LIKE Sales").is_err());
    }
}
