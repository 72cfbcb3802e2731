//! The file, its templates, its problems and its export.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
use super::*;

const MESH: &str = r#"
[[tenants]]
name = "Proseware"
domain = "proseware.example"

[[tenants]]
name = "Wingtip"
domain = "wingtip.example"

[[tenants]]
name = "Relecloud"
domain = "relecloud.example"
retention_days = 7

[[partner]]
tenant = "wingtip.example"
inbound_user_sync = true
inbound_auto_redeem = true

[[mesh]]
members = ["proseware.example", "Wingtip", "relecloud.example"]
filters = { "relecloud.example" = ["department EQUALS Engineering"] }
settings = { scope = "all" }

[[sync]]
source = "proseware.example"
target = "wingtip.example"
scope = "assigned"
assign_groups = ["Sales"]
map = { jobTitle = { expression = 'Join(" ", [department], [jobTitle])' } }
deletion_threshold = "off"
"#;

fn load_ok(text: &str) -> (State, Vec<(String, Notice)>) {
    load("t.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> Located {
    load("t.toml", text).expect_err("a problem")
}

#[test]
fn a_mesh_expands_into_every_arrow_and_an_explicit_arrow_overrides_its_own() {
    let (state, notices) = load_ok(MESH);
    let labels: Vec<String> = state.arrows.iter().map(ArrowState::label).collect();
    assert_eq!(labels.len(), 6, "{labels:?}");
    let explicit = state.arrows.iter().find(|a| a.source == "proseware.example" && a.target == "wingtip.example").unwrap();
    assert_eq!(explicit.scope, tenantsync_domain::SyncScope::AssignedUsersAndGroups);
    assert_eq!(explicit.groups, ["Sales"]);
    assert_eq!(explicit.deletion_threshold, None);
    assert_eq!(explicit.name, "Proseware to Wingtip");
    let partial = state.arrows.iter().find(|a| a.source == "relecloud.example" && a.target == "wingtip.example").unwrap();
    assert_eq!(partial.scope, tenantsync_domain::SyncScope::AllUsers);
    assert_eq!(state::filter_text(&partial.filter[0]), "department EQUALS Engineering");
    let other = state.arrows.iter().find(|a| a.source == "wingtip.example" && a.target == "relecloud.example").unwrap();
    assert!(other.filter.is_empty());
    assert_eq!(notices.len(), 1);
    assert!(notices[0].1.message.contains("overrides"), "{:?}", notices[0]);
    assert_eq!(notices[0].0, "t.toml:26:10");
    assert_eq!(state.tenants.iter().find(|t| t.domain == "relecloud.example").unwrap().retention_days, 7);
}

#[test]
fn export_then_load_then_export_is_the_same_text() {
    let (state, _) = load_ok(MESH);
    let text = export::text(&state).unwrap();
    let (again, notices) = load_ok(&text);
    assert!(notices.is_empty());
    assert_eq!(export::text(&again).unwrap(), text);
    assert!(diff(&again, &state).is_empty(), "{:?}", diff(&again, &state));
    assert!(text.contains("user_type") || !text.contains("userType"), "{text}");
}

#[test]
fn a_diff_names_each_setting_added_changed_and_removed() {
    let (desired, _) = load_ok(MESH);
    let mut current = desired.clone();
    current.arrows.retain(|a| a.source != "wingtip.example" || a.target != "proseware.example");
    current.arrows[0].actions.delete = false;
    current.tenants[0].retention_days = 9;
    current.access.clear();
    let d = diff(&desired, &current);
    let ops: Vec<(ObjectKind, Op)> = d.iter().map(|o| (o.kind, o.op)).collect();
    assert_eq!(ops, [(ObjectKind::Tenant, Op::Change), (ObjectKind::Partner, Op::Add), (ObjectKind::Arrow, Op::Change), (ObjectKind::Arrow, Op::Add)]);
    assert_eq!(d[2].settings, [SettingChange { setting: "actions.delete".into(), old: Some("false".into()), new: Some("true".into()) }]);
    let removed = diff(&current, &desired);
    assert!(removed.iter().any(|o| o.op == Op::Remove && o.object == "wingtip.example → proseware.example"));
}

#[test]
fn bad_input_is_named_by_line_and_column() {
    let unknown_key = error("[[tenants]]\nname = \"A\"\ndomain = \"a.example\"\ncolour = \"red\"\n");
    assert_eq!((unknown_key.kind, unknown_key.line, unknown_key.column), (ProblemKind::Syntax, 4, 1), "{unknown_key}");
    assert!(unknown_key.message.contains("colour"), "{unknown_key}");

    let wrong_type = error("[[tenants]]\nname = \"A\"\ndomain = \"a.example\"\nretention_days = \"seven\"\n");
    assert_eq!((wrong_type.kind, wrong_type.line, wrong_type.column), (ProblemKind::Syntax, 4, 18), "{wrong_type}");

    let tenants = "[[tenants]]\nname = \"A\"\ndomain = \"a.example\"\n[[tenants]]\nname = \"B\"\ndomain = \"b.example\"\n";
    let unknown_tenant = error(&format!("{tenants}[[sync]]\nsource = \"a.example\"\ntarget = \"c.example\"\n"));
    assert_eq!((unknown_tenant.kind, unknown_tenant.line, unknown_tenant.column), (ProblemKind::UnknownTenant, 9, 10), "{unknown_tenant}");

    let duplicate = error(&format!("{tenants}[[sync]]\nsource = \"a.example\"\ntarget = \"B\"\n[[sync]]\nsource = \"A\"\ntarget = \"b.example\"\n"));
    assert_eq!((duplicate.kind, duplicate.line), (ProblemKind::DuplicateArrow, 11), "{duplicate}");

    let mapping =
        error(&format!("{tenants}[[sync]]\nsource = \"a.example\"\ntarget = \"b.example\"\nmap.jobTitle = {{ expression = 'Join(\"-\", [nope])' }}\n"));
    assert_eq!((mapping.kind, mapping.line), (ProblemKind::InvalidSetting, 10), "{mapping}");
    assert_eq!(mapping.code, Some("expression.compile.unknown_attribute"), "{mapping}");

    let filter = error(&format!("{tenants}[[hub]]\nhub = \"A\"\nspokes = [\"B\"]\nsettings = {{ filter = [\"department FROBS x\"] }}\n"));
    assert_eq!((filter.kind, filter.line), (ProblemKind::InvalidSetting, 10), "{filter}");

    let two_templates = error(&format!("{tenants}[[hub]]\nhub = \"A\"\nspokes = [\"B\"]\n[[consolidate]]\nsources = [\"A\"]\ntarget = \"B\"\n"));
    assert_eq!((two_templates.kind, two_templates.line), (ProblemKind::DuplicateArrow, 11), "{two_templates}");
}

#[test]
fn the_committed_schema_is_the_one_the_types_give() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/topology.schema.json");
    let generated = schema();
    if std::env::var("TENANTSYNC_UPDATE_DOCS").is_ok() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == generated, "docs/topology.schema.json is stale: run TENANTSYNC_UPDATE_DOCS=1 cargo test -p tenantsync-topology");
    let value: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let props = value["properties"].as_object().unwrap();
    for key in ["tenants", "partner", "mesh", "hub", "consolidate", "sync", "connected_organization", "catalog", "access_package"] {
        assert!(props.contains_key(key), "{key}");
    }
}

const VENTURE: &str = r#"
[[tenants]]
name = "Contoso"
domain = "contoso.example"

[[tenants]]
name = "Contoso Projects"
domain = "projects.contoso.example"

[[tenants]]
name = "Litware"
domain = "litware.example"

[[sync]]
source = "contoso.example"
target = "projects.contoso.example"

[[connected_organization]]
tenant = "Contoso"
name = "Litware"
identity_tenant = "Litware"
sponsors = ["Sam@contoso.example"]

[[catalog]]
tenant = "contoso.example"
name = "Joint venture"

[[access_package]]
tenant = "contoso.example"
catalog = "Joint venture"
name = "Projects"
groups = ["Projects"]
syncs = ["Contoso Projects"]

[[access_package.policy]]
name = "Litware employees"
requestors = "organizations"
organizations = ["Litware"]
approvers = [["sponsors"]]
expire_days = 90
"#;

#[test]
fn access_packages_resolve_by_names_diff_and_export_back() {
    let (state, _) = crate::load("v.toml", VENTURE).unwrap();
    assert_eq!(state.organizations[0].identity, crate::packages::IdentityState::Tenant("litware.example".into()));
    assert_eq!(state.organizations[0].sponsors, ["sam@contoso.example"]);
    let p = &state.packages[0];
    assert_eq!((p.label().as_str(), p.syncs.as_slice()), ("contoso.example: Projects", &["projects.contoso.example".to_owned()][..]));
    assert_eq!(p.policies[0].approval_days, 14);
    assert_eq!(p.settings()["policy.Litware employees.expire_days"], "90");
    // The file's objects are added; a changed expiry is one setting of the package.
    let empty = State::default();
    let kinds: Vec<ObjectKind> = crate::diff(&state, &empty).iter().map(|d| d.kind).collect();
    assert!(kinds.contains(&ObjectKind::Organization) && kinds.contains(&ObjectKind::Catalog) && kinds.contains(&ObjectKind::Package));
    let mut changed = state.clone();
    changed.packages[0].policies[0].expire_days = Some(30);
    let d = crate::diff(&changed, &state);
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].kind, d[0].settings[0].setting.as_str()), (ObjectKind::Package, "policy.Litware employees.expire_days"));
    // Export and read again: the same state.
    let text = crate::export::text(&state).unwrap();
    let (again, _) = crate::load("e.toml", &text).unwrap();
    assert!(crate::diff(&again, &state).is_empty(), "{text}");
}

#[test]
fn access_packages_refuse_what_they_cannot_name() {
    let error = |text: &str| crate::load("v.toml", text).unwrap_err();
    let no_arrow = error(&VENTURE.replace("target = \"projects.contoso.example\"", "target = \"litware.example\""));
    assert!(no_arrow.message.contains("no arrow contoso.example → projects.contoso.example"), "{}", no_arrow.message);
    let no_catalog = error(&VENTURE.replace("catalog = \"Joint venture\"", "catalog = \"Other\""));
    assert!(no_catalog.message.contains("no catalog 'Other'"), "{}", no_catalog.message);
    let no_org = error(&VENTURE.replace("organizations = [\"Litware\"]", "organizations = [\"Fabrikam\"]"));
    assert!(no_org.message.contains("no connected organization 'Fabrikam'"), "{}", no_org.message);
    let unknown_key = error(&VENTURE.replace("expire_days = 90", "expires = 90"));
    assert_eq!(unknown_key.kind, crate::ProblemKind::Syntax);
}

const POLICIES: &str = r#"
[[tenants]]
name = "Contoso"
domain = "contoso.example"
[[catalog]]
tenant = "contoso.example"
name = "C"
[[access_package]]
tenant = "contoso.example"
catalog = "C"
name = "P"
[[access_package.policy]]
name = "Staged"
requestors = "members"
[[access_package.policy.stages]]
approvers = ["manager"]
approval_days = 7
escalation = { after_days = 3, to = ["Boss@Contoso.example", "group:Leads"] }
[[access_package.policy.stages]]
approvers = ["sponsors"]
[[access_package.policy.question]]
text = "Why?"
required = true
[[access_package.policy.question]]
text = "Site"
choices = ["Oslo", "Lisbon"]
[access_package.policy.review]
starts = "2027-01-01T00:00:00Z"
reviewers = ["self"]
[[access_package.policy]]
name = "Short"
requestors = "members"
approvers = [["manager"], ["sponsors"]]
approval_days = 5
[[access_package.policy]]
name = "Auto"
[access_package.policy.auto]
rule = """
department EQUALS Sales
OR
department EQUALS Legal"""
"#;

#[test]
fn policies_carry_stages_questions_reviews_and_auto_assignment_and_export_back() {
    let (state, _) = load_ok(POLICIES);
    let p = &state.packages[0];
    let by = |n: &str| p.policies.iter().find(|x| x.name == n).unwrap();
    let staged = by("Staged");
    assert_eq!(staged.approval_days, 7);
    assert_eq!(staged.stages[0].escalation.as_ref().unwrap().to, ["boss@contoso.example", "group:Leads"]);
    assert_eq!((staged.stages[1].approval_days, staged.stages[1].escalation.is_none()), (14, true));
    assert_eq!(staged.questions[1].choices, ["Oslo", "Lisbon"]);
    let review = staged.review.as_ref().unwrap();
    assert_eq!(
        (review.starts.as_str(), review.every_months, review.reviewers.as_slice()),
        ("2027-01-01", 3, &["self".to_owned()][..]),
        "midnight UTC is a date"
    );
    let settings = p.settings();
    assert_eq!(settings["policy.Staged.approval_days"], "7 then 14");
    assert_eq!(settings["policy.Staged.escalation"], "after 3 days to boss@contoso.example, group:Leads then none");
    assert_eq!(settings["policy.Staged.question.1"], "\"Why?\" required");
    assert!(!settings.contains_key("policy.Short.escalation"), "a policy without them shows as before");
    assert_eq!(by("Short").stages.iter().map(|s| s.approval_days).collect::<Vec<_>>(), [5, 5]);
    assert_eq!(by("Auto").auto.as_ref().unwrap().rule, "department EQUALS Sales\nOR\ndepartment EQUALS Legal");
    // Export and read again: the same state and, again, the same text; the short form
    // stays short.
    let text = crate::export::text(&state).unwrap();
    let (again, _) = load_ok(&text);
    assert!(crate::diff(&again, &state).is_empty(), "{text}");
    assert_eq!(crate::export::text(&again).unwrap(), text);
    assert!(text.contains("approvers = [[\"manager\"], [\"sponsors\"]]") && text.contains("approval_days = 5"), "{text}");
    // A changed review is one setting.
    let mut changed = state.clone();
    changed.packages[0].policies.iter_mut().find(|x| x.name == "Staged").unwrap().review.as_mut().unwrap().every_months = 6;
    let d = crate::diff(&changed, &state);
    assert_eq!(d[0].settings.iter().map(|s| s.setting.as_str()).collect::<Vec<_>>(), ["policy.Staged.review.every_months"]);
}

#[test]
fn bad_policy_settings_are_named_by_line_and_column() {
    let cases = [
        (POLICIES.replace("reviewers = [\"self\"]", "reviewers = [\"self\", \"manager\"]"), "\"self\" reviews alone"),
        (POLICIES.replace("to = [\"Boss@Contoso.example\"", "to = [\"boss\""), "unknown escalation approver 'boss'"),
        (POLICIES.replace("after_days = 3", "after_days = 7"), "escalation after_days must be 1 to 6"),
        (POLICIES.replace("department EQUALS Legal", "nothing EQUALS Legal"), "auto rule:"),
        (POLICIES.replace("text = \"Why?\"", "text = \"Why?\"\npattern = \"[\""), "pattern does not compile"),
        (POLICIES.replace("2027-01-01T00:00:00Z", "soon"), "starts 'soon' is not a date or time"),
        (POLICIES.replace("approval_days = 5", "approval_days = 5\nstages = [{ approvers = [\"manager\"] }]"), "either approvers"),
        (POLICIES.replace("name = \"Auto\"", "name = \"Auto\"\nrequestors = \"members\""), "has no requestors and no approvers"),
        (POLICIES.replace("approvers = [[\"manager\"], [\"sponsors\"]]\n", ""), "approval_days is given without approvers"),
    ];
    for (text, message) in cases {
        let e = error(&text);
        assert!(e.message.contains(message), "{message}: {}", e.message);
        assert!(e.line > 1 && e.column >= 1, "{e:?}");
    }
    let e = error(&POLICIES.replace("reviewers = [\"self\"]", "reviewers = [\"nobody\"]"));
    let line = POLICIES.lines().position(|l| l.starts_with("reviewers = ")).unwrap() + 1;
    assert_eq!((e.line, e.column), (line, 14), "{e:?}");
}
