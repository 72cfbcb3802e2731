//! Editing a sync configuration: its scoping filter and its user attribute mappings, each
//! with a **Check** (the form posted back and rendered again with the parse error, at its
//! character, or "OK"; no script) and a **preview** of the result on a user chosen by
//! userPrincipalName (the engine's compiled configuration evaluated on that user, writing
//! nothing), and **Restart** (the engine's restart with Entra's default reset: watermark,
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
        @if let Some(r) = result {
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
        }
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

fn mapping_text(m: &AttributeMapping) -> String {
    let (kind, source) = kind_of(&m.source);
    format!("{} <- {kind} {source}", m.target_attribute_name)
}

/// `GET /admin/sync/{id}/mappings?user=…`: the user mappings, previewed on a user when named.
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
                @let (kind, source) = kind_of(&m.source);
                tr {
                    td data-label="Target attribute" { (m.target_attribute_name) }
                    td data-label="Source" { (kind) ": " code { (source) } @if let Some(d) = &m.default_value { " (default " (d) ")" } }
                    td data-label="Applied" { (if m.flow_type == FlowType::ObjectAddOnly { "only on create" } else { "always" }) }
                    @if checked.is_some() { td data-label="Preview" { @if let Some(p) = values.get(m.target_attribute_name.as_str()) { (value_of(p)) } } }
                    td data-label="Edit" { a href={"/admin/sync/" (c.id) "/mapping?target=" (page::encode(&m.target_attribute_name))} aria-label={"Edit " (m.target_attribute_name)} { "Edit" } }
                }
            } }
        } }
        @if writer(&session) { p { a.button href={"/admin/sync/" (c.id) "/mapping"} id="new-mapping" { "Add a mapping" } } }
        p { a href={"/admin/sync/" (c.id)} { "Back to " (c.display_name) } }
    };
    Ok(page::ok(&format!("Attribute mappings of {}", c.display_name), &session, "/admin/sync", body))
}

/// The fields of the mapping form.
struct Fields {
    original: String,
    target: String,
    kind: String,
    source: String,
    flow: String,
    default: String,
    user: String,
}

impl Fields {
    fn of(m: Option<&AttributeMapping>) -> Fields {
        let (kind, source) = m.map_or(("expression", ""), |m| kind_of(&m.source));
        Fields {
            original: m.map_or(String::new(), |m| m.target_attribute_name.clone()),
            target: m.map_or(String::new(), |m| m.target_attribute_name.clone()),
            kind: kind.to_owned(),
            source: source.to_owned(),
            flow: if m.is_some_and(|m| m.flow_type == FlowType::ObjectAddOnly) { "objectAddOnly".into() } else { "always".into() },
            default: m.and_then(|m| m.default_value.clone()).unwrap_or_default(),
            user: String::new(),
        }
    }

    fn posted(form: &Form) -> Fields {
        let raw = |k: &str| form.0.iter().find(|(n, _)| n == k).map_or(String::new(), |(_, v)| v.clone());
        Fields {
            original: form.get("original").to_owned(),
            target: form.get("target").to_owned(),
            kind: form.get("kind").to_owned(),
            source: raw("source"),
            flow: form.get("flow").to_owned(),
            default: form.get("default").to_owned(),
            user: form.get("user").to_owned(),
        }
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

/// `c` with the mapping `original` (none: a new one) replaced by `m` (none: removed).
fn with_mapping(c: &SyncConfiguration, original: &str, m: Option<AttributeMapping>) -> ConsoleResult<SyncConfiguration> {
    let mut out = c.clone();
    let at = out.user_mappings.iter().position(|x| !original.is_empty() && x.target_attribute_name == original);
    if let Some(m) = &m
        && out.user_mappings.iter().enumerate().any(|(i, x)| Some(i) != at && x.target_attribute_name == m.target_attribute_name)
    {
        return Err(ConsoleError::bad_request(format!("'{}' already has a mapping", m.target_attribute_name)));
    }
    match (at, m) {
        (Some(i), Some(m)) => {
            if let Some(slot) = out.user_mappings.get_mut(i) {
                *slot = m;
            }
        }
        (Some(i), None) => {
            out.user_mappings.remove(i);
        }
        (None, Some(m)) if original.is_empty() => out.user_mappings.push(m),
        (None, _) => return Err(ConsoleError::not_found(format!("the configuration has no mapping of '{original}'"))),
    }
    Ok(out)
}

fn mapping_page(status: StatusCode, session: &Session, c: &SyncConfiguration, f: &Fields, result: Option<&Checked>) -> ConsoleResult {
    let kinds: Vec<(String, String)> = [("expression", "Expression"), ("attribute", "Source attribute"), ("constant", "Constant")]
        .iter()
        .map(|(v, t)| ((*v).to_owned(), (*t).to_owned()))
        .collect();
    let flows: Vec<(String, String)> =
        [("always", "Always"), ("objectAddOnly", "Only when the user is created")].iter().map(|(v, t)| ((*v).to_owned(), (*t).to_owned())).collect();
    let title = if f.original.is_empty() { format!("New mapping of {}", c.display_name) } else { format!("Mapping of {} in {}", f.original, c.display_name) };
    let body = html! {
        @if let Some(r) = result {
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
        }
        form.stack method="post" action={"/admin/sync/" (c.id) "/mapping"} id="mapping-form" aria-label="Mapping" {
            (csrf(session))
            input type="hidden" name="original" value=(f.original);
            (text_field("mapping-target", "Target attribute", "target", &f.target, true))
            (select("mapping-kind", "Source kind", "kind", &f.kind, &kinds))
            div { label for="mapping-source" { "Source (an expression such as " code { "Join(\" \", [givenName], [surname])" } ", an attribute name, or a constant)" } textarea id="mapping-source" name="source" rows="3" { (f.source) } }
            (select("mapping-flow", "Applied", "flow", &f.flow, &flows))
            (text_field("mapping-default", "Default value when the source gives nothing (optional)", "default", &f.default, false))
            (text_field("preview-user", "Preview on a user (userPrincipalName, optional)", "user", &f.user, false))
            div.inline {
                button.secondary type="submit" name="do" value="check" id="check" { "Check" }
                " "
                button type="submit" name="do" value="save" id="save-mapping" { "Save" }
                @if !f.original.is_empty() { " " button.secondary type="submit" name="do" value="delete" id="delete-mapping" { "Delete this mapping" } }
            }
        }
        p { a href={"/admin/sync/" (c.id) "/mappings"} { "All mappings" } }
    };
    Ok(page::page(status, &title, Some(session), "/admin/sync", body))
}

/// `GET /admin/sync/{id}/mapping?target=…` (no target: a new mapping).
async fn mapping(State(st): State<Shared>, session: Session, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> ConsoleResult {
    session.writer()?;
    let c = configuration(&st, &session, &id).await?;
    let target = get(&q, "target");
    let m = if target.is_empty() {
        None
    } else {
        Some(
            c.user_mappings
                .iter()
                .find(|m| m.target_attribute_name == target)
                .ok_or_else(|| ConsoleError::not_found(format!("the configuration has no mapping of '{target}'")))?,
        )
    };
    mapping_page(StatusCode::OK, &session, &c, &Fields::of(m), None)
}

/// `POST /admin/sync/{id}/mapping` (`do=check`, `save` or `delete`).
async fn post_mapping(State(st): State<Shared>, Path(id): Path<String>, Posted { session, form }: Posted) -> ConsoleResult {
    session.writer()?;
    let c = configuration(&st, &session, &id).await?;
    let f = Fields::posted(&form);
    let action = form.get("do");
    let candidate = if action == "delete" { with_mapping(&c, &f.original, None) } else { f.mapping().and_then(|m| with_mapping(&c, &f.original, Some(m))) };
    let (candidate, checked) = match candidate {
        Ok(cand) if action != "delete" => {
            let checked = check(&st, &session, &cand, &f.user).await;
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
            let old = c.user_mappings.iter().find(|m| m.target_attribute_name == f.original).map(mapping_text).unwrap_or_default();
            let new = if action == "delete" {
                String::new()
            } else {
                saved.user_mappings.iter().find(|m| m.target_attribute_name == f.target).map(mapping_text).unwrap_or_default()
            };
            audited(&st, &session, change(&saved, "Update attribute mappings", "userMapping", old, new)).await;
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
