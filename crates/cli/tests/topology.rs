//! Topology as code: plan, apply, export and drawings of the examples; the predicted
//! cycles against the cycles that then run; drift, prune, warnings and bad files.
use crate::support::{Env, path_str};
use serde_json::Value;
use std::path::PathBuf;

/// An example file, its tenants (name, domain), and the tenants with people of their own.
type Example = (&'static str, &'static [(&'static str, &'static str)], &'static [&'static str]);

const EXAMPLES: &[Example] = &[
    ("one-to-one.toml", &[("Contoso", "contoso.example"), ("Contoso Test", "test.contoso.example")], &["contoso.example"]),
    (
        "hub.toml",
        &[
            ("Woodgrove", "woodgrove.example"),
            ("Woodgrove Dev", "dev.woodgrove.example"),
            ("Woodgrove Prod", "prod.woodgrove.example"),
            ("Woodgrove Data", "data.woodgrove.example"),
        ],
        &["woodgrove.example"],
    ),
    (
        "consolidate.toml",
        &[("Fabrikam", "fabrikam.example"), ("Northwind", "northwind.example"), ("Tailspin", "tailspin.example")],
        &["fabrikam.example", "northwind.example", "tailspin.example"],
    ),
    (
        "mesh.toml",
        &[("Proseware", "proseware.example"), ("Wingtip", "wingtip.example"), ("Lamna", "lamna.example"), ("Relecloud", "relecloud.example")],
        &["proseware.example", "wingtip.example", "lamna.example", "relecloud.example"],
    ),
];

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name)
}

/// `n` people of tenant `domain`, in Engineering and Sales, imported.
fn people(env: &Env, domain: &str, n: usize) {
    let mut csv = String::from("userPrincipalName,displayName,department,mail\n");
    let local = domain.split('.').next().unwrap();
    for i in 0..n {
        let dept = if i % 3 == 0 { "Engineering" } else { "Sales" };
        csv.push_str(&format!("p{i}@{domain},Person {i} of {local},{dept},p{i}@{domain}\n"));
    }
    let file = env.file(&format!("{domain}.csv"), &csv);
    env.ok(&["import", "users", "-t", domain, path_str(&file)]);
}

/// The department groups hub.toml assigns, in the hub, with its `n` people (of `people`)
/// in Engineering team and Sales team.
fn hub_groups(env: &Env, n: usize) {
    const HUB: &str = "woodgrove.example";
    for dept in ["Engineering", "Finance", "Legal", "Marketing", "Operations", "Research", "Sales", "Support"] {
        env.ok(&["group", "create", "-t", HUB, "--name", &format!("{dept} team")]);
    }
    for i in 0..n {
        let group = if i % 3 == 0 { "Engineering team" } else { "Sales team" };
        env.ok(&["group", "add-member", "-t", HUB, group, &format!("p{i}@{HUB}")]);
    }
}

/// The tenants of an example, with people in its sources (and the hub's groups).
fn world(env: &Env, tenants: &[(&str, &str)], sources: &[&str]) {
    for (name, domain) in tenants {
        env.ok(&["tenant", "create", "--name", name, "--domain", domain]);
    }
    for (i, s) in sources.iter().enumerate() {
        people(env, s, 5 + i);
        if *s == "woodgrove.example" {
            hub_groups(env, 5 + i);
        }
    }
}

fn plan_json(env: &Env, file: &str) -> (i32, Value) {
    let r = env.run(&["plan", file, "--json"]);
    assert!(r.code == 0 || r.code == 2, "plan failed: {}", r.stderr);
    (r.code, serde_json::from_str(&r.stdout).unwrap())
}

const COUNTS: &[&str] = &["created", "updated", "restored", "softDeleted", "hardDeleted", "skipped", "stagedDeletes"];
const GROUP_COUNTS: &[&str] = &["created", "updated", "restored", "softDeleted", "hardDeleted", "skipped"];

/// The counts of a cycle report that a prediction must match.
fn counts(report: &Value) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = COUNTS.iter().map(|k| (k.to_string(), report[k].clone())).collect();
    out.extend(GROUP_COUNTS.iter().map(|k| (format!("groups.{k}"), report["groups"][k].clone())));
    out.push(("initial".into(), report["initial"].clone()));
    out
}

/// The users of a tenant (soft-deleted ones aside).
fn users(env: &Env, domain: &str) -> u64 {
    env.json(&["tenant", "show", domain])["userCount"].as_u64().unwrap()
}

#[test]
fn every_example_plans_applies_runs_as_predicted_and_round_trips() {
    for (file, tenants, sources) in EXAMPLES {
        let env = Env::new();
        world(&env, tenants, sources);
        let path = example(file);
        let path = path_str(&path);
        let (code, plan) = plan_json(&env, path);
        assert_eq!(code, 2, "{file}: changes pending");
        let planned_users: std::collections::BTreeMap<&str, u64> = tenants.iter().map(|(_, d)| (*d, users(&env, d))).collect();
        let arrows: Vec<&Value> = plan["changes"].as_array().unwrap().iter().filter(|c| c["kind"] == "arrow").collect();
        assert!(!arrows.is_empty(), "{file}");
        assert!(plan["warnings"].as_array().unwrap().is_empty(), "{file}: {}", plan["warnings"]);
        let text = env.run(&["plan", path]);
        assert!(text.stdout.contains("next cycle (initial): users"), "{file}: {}", text.stdout);

        let applied = env.run(&["apply", path]);
        assert_eq!(applied.code, 0, "{file}: {}", applied.stderr);
        // Idempotent: nothing left to do, and a second apply writes nothing.
        let again = env.run(&["plan", path]);
        assert_eq!(again.code, 0, "{file}: {}", again.stdout);
        assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
        assert!(env.ok(&["apply", path]).contains("nothing to do"));

        // Each arrow's cycle does what the plan predicted, but for the people the cycles
        // run before it brought into its source (a mesh): they are external there, skipped.
        for arrow in arrows {
            let label = arrow["object"].as_str().unwrap();
            let (source, target) = label.split_once(" → ").unwrap();
            let arrived = users(&env, source) - planned_users[source];
            let report = env.json(&["sync", "run", &format!("{source}:{target}")]);
            let mut predicted = arrow["nextCycle"]["report"].clone();
            predicted["skipped"] = (predicted["skipped"].as_u64().unwrap() + arrived).into();
            assert_eq!(counts(&predicted), counts(&report), "{file}: {label}");
            assert!(report["created"].as_u64().unwrap() > 0, "{file}: {label}");
            let samples: u64 = arrow["nextCycle"]["outcomes"].as_array().unwrap().iter().map(|o| o["samples"].as_array().unwrap().len() as u64).sum();
            assert!(samples > 0, "{file}: {label}: samples named");
        }

        // export → apply on an empty store → export: the same bytes.
        let exported = env.ok(&["export"]);
        let copy = Env::new();
        if *file == "hub.toml" {
            // The groups an arrow assigns must exist (a file names, it does not hold, people).
            copy.ok(&["tenant", "create", "--name", "Woodgrove", "--domain", "woodgrove.example"]);
            hub_groups(&copy, 0);
        }
        let f = copy.file("exported.toml", &exported);
        copy.ok(&["apply", path_str(&f)]);
        assert_eq!(copy.ok(&["export"]), exported, "{file}");
        // And the exported file describes the original store exactly.
        let f = env.file("exported.toml", &exported);
        assert_eq!(env.run(&["plan", path_str(&f)]).code, 0, "{file}: {exported}");
    }
}

#[test]
fn the_partial_member_of_the_mesh_sends_its_engineers_only() {
    let (file, tenants, sources) = EXAMPLES[3];
    let env = Env::new();
    world(&env, tenants, sources);
    let (_, plan) = plan_json(&env, path_str(&example(file)));
    let arrow = plan["changes"].as_array().unwrap().iter().find(|c| c["object"] == "relecloud.example → lamna.example").unwrap();
    // Relecloud has 8 people, 3 of them (0, 3, 6) in Engineering.
    assert_eq!(arrow["nextCycle"]["report"]["created"], 3, "{arrow}");
    let filtered = arrow["nextCycle"]["outcomes"].as_array().unwrap().iter().find(|o| o["skipReason"] == "ScopingFilterFailed").unwrap();
    assert_eq!(filtered["count"], 5);
    assert_eq!(filtered["samples"].as_array().unwrap().len(), 3);
}

#[test]
fn drift_is_detected_and_prune_removes_what_the_file_drops() {
    let (file, tenants, sources) = EXAMPLES[2];
    let env = Env::new();
    world(&env, tenants, sources);
    let path = example(file);
    env.ok(&["apply", path_str(&path)]);
    assert_eq!(env.run(&["plan", "--detect-drift", path_str(&path)]).code, 0);
    env.ok(&["sync", "update", "northwind.example:fabrikam.example", "--allow-delete", "false"]);
    let r = env.run(&["plan", "--detect-drift", path_str(&path)]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.contains("arrow northwind.example → fabrikam.example: change"), "{}", r.stdout);
    assert!(r.stdout.contains("~ actions.delete: false -> true"), "{}", r.stdout);
    assert!(!r.stdout.contains("next cycle"), "drift detection predicts nothing");
    env.ok(&["apply", path_str(&path)]);
    assert_eq!(env.run(&["plan", "--detect-drift", path_str(&path)]).code, 0);

    // A file without Tailspin's arrow: left without --prune, removed with it.
    let text = std::fs::read_to_string(&path).unwrap().replace("sources = [\"northwind.example\", \"tailspin.example\"]", "sources = [\"northwind.example\"]");
    let smaller = env.file("smaller.toml", &text);
    let out = env.ok(&["apply", path_str(&smaller)]);
    assert!(out.contains("left arrow tailspin.example → fabrikam.example: not in the file (--prune removes it)"), "{out}");
    assert_eq!(env.run(&["plan", path_str(&smaller)]).code, 2);
    let out = env.ok(&["apply", "--prune", path_str(&smaller)]);
    assert!(out.contains("removed arrow tailspin.example → fabrikam.example"), "{out}");
    assert_eq!(env.run(&["plan", path_str(&smaller)]).code, 0);
    assert_eq!(env.json(&["sync", "list"]).as_array().unwrap().len(), 1);
}

const TWO: &str = r#"
[[tenants]]
name = "A"
domain = "a.example"

[[tenants]]
name = "B"
domain = "b.example"

[[tenants]]
name = "C"
domain = "c.example"
"#;

const ALLOW_INTO_C: &str = r#"
[[partner]]
tenant = "c.example"
inbound_user_sync = true
inbound_auto_redeem = true

[[partner]]
tenant = "a.example"
outbound_auto_redeem = true

[[partner]]
tenant = "b.example"
outbound_auto_redeem = true
"#;

fn warnings(plan: &Value, kind: &str) -> Vec<String> {
    plan["warnings"].as_array().unwrap().iter().filter(|w| w["kind"] == kind).map(|w| w["message"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_plan_warns_and_apply_refuses_an_arrow_the_access_settings_do_not_allow() {
    let env = Env::new();
    let f = env.file("t.toml", &format!("{TWO}\n[[sync]]\nsource = \"a.example\"\ntarget = \"b.example\"\n"));
    let (code, plan) = plan_json(&env, path_str(&f));
    assert_eq!(code, 2);
    let w = warnings(&plan, "notAllowed");
    assert_eq!(w.len(), 1, "{plan}");
    assert!(w[0].contains("t.toml:15:10: a.example → b.example would not run"), "{}", w[0]);
    let r = env.run(&["apply", path_str(&f)]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.trim().ends_with("[arrow_not_allowed]"), "{}", r.stderr);
    assert_eq!(env.json(&["tenant", "list"]).as_array().unwrap().len(), 0, "nothing applied");
}

#[test]
fn a_plan_warns_of_people_reaching_a_tenant_twice_of_overrides_and_of_deletions_over_the_threshold() {
    let env = Env::new();
    let consolidate = "\n[[consolidate]]\nsources = [\"a.example\", \"b.example\"]\ntarget = \"c.example\"\nsettings = { scope = \"all\" }\n";
    let override_b = "\n[[sync]]\nsource = \"b.example\"\ntarget = \"c.example\"\nscope = \"all\"\ndeletion_threshold = 1\n";
    let f = env.file("t.toml", &format!("{TWO}{ALLOW_INTO_C}{consolidate}{override_b}"));
    for (name, domain) in [("A", "a.example"), ("B", "b.example"), ("C", "c.example")] {
        env.ok(&["tenant", "create", "--name", name, "--domain", domain]);
    }
    // The same person, by mail, in both sources.
    for domain in ["a.example", "b.example"] {
        let csv = format!(
            "userPrincipalName,mail,department\nalice@{domain},alice@shared.example,Sales\nbob@{domain},bob@{domain},Sales\ncarol@{domain},carol@{domain},Sales\n"
        );
        let p = env.file(&format!("{domain}.csv"), &csv);
        env.ok(&["import", "users", "-t", domain, path_str(&p)]);
    }
    let (_, plan) = plan_json(&env, path_str(&f));
    let two = warnings(&plan, "twoPaths");
    assert_eq!(two.len(), 1, "{plan}");
    assert!(two[0].contains("alice@shared.example (from a.example and from b.example)"), "{}", two[0]);
    let overridden = warnings(&plan, "templateOverridden");
    assert_eq!(overridden.len(), 1, "{plan}");
    assert!(overridden[0].contains("b.example → c.example is made by a consolidate template too"), "{}", overridden[0]);
    env.ok(&["apply", path_str(&f)]);
    env.ok(&["sync", "run", "b.example:c.example"]);
    // Narrowing B's arrow to nobody would soft-delete its 3 copies: over the threshold of 1.
    let narrowed = env.file(
        "t2.toml",
        &format!("{TWO}{ALLOW_INTO_C}{consolidate}{}", override_b.replace("scope = \"all\"\n", "scope = \"all\"\nfilter = [\"department EQUALS Legal\"]\n")),
    );
    let (_, plan) = plan_json(&env, path_str(&narrowed));
    let over = warnings(&plan, "deletionThreshold");
    assert_eq!(over.len(), 1, "{plan}");
    assert!(over[0].contains("b.example → c.example: the next cycle would delete 3 objects"), "{}", over[0]);
}

#[test]
fn bad_files_are_one_line_with_file_line_and_column_and_nothing_is_applied() {
    let env = Env::new();
    let cases = [
        ("unknown_key.toml", format!("{TWO}colour = \"red\"\n"), "unknown_key.toml:13:1: unknown field `colour`", "[topology_syntax]"),
        ("wrong_type.toml", TWO.replace("name = \"B\"", "name = 2"), "wrong_type.toml:7:8: invalid type: integer `2`, expected a string", "[topology_syntax]"),
        (
            "unknown_tenant.toml",
            format!("{TWO}[[sync]]\nsource = \"a.example\"\ntarget = \"z.example\"\n"),
            "unknown_tenant.toml:15:10: no tenant 'z.example' is declared in [[tenants]]",
            "[unknown_tenant]",
        ),
        (
            "mapping.toml",
            format!("{TWO}[[sync]]\nsource = \"A\"\ntarget = \"B\"\nmap.jobTitle = {{ expression = 'Join(\"-\", [nope])' }}\n"),
            "mapping.toml:16:16: mapping to 'jobTitle'",
            "[expression.compile.unknown_attribute]",
        ),
        (
            "duplicate.toml",
            format!("{TWO}[[sync]]\nsource = \"A\"\ntarget = \"B\"\n[[sync]]\nsource = \"a.example\"\ntarget = \"b.example\"\n"),
            "duplicate.toml:17:10: a.example → b.example is declared twice",
            "[duplicate_arrow]",
        ),
    ];
    for (name, text, starts, code) in cases {
        let f = env.file(name, &text);
        for verb in ["plan", "apply"] {
            let r = env.run(&[verb, path_str(&f)]);
            assert_eq!(r.code, 1, "{name}: {}", r.stdout);
            let line = env.scrub(r.stderr.trim());
            assert_eq!(r.stderr.trim().lines().count(), 1, "{line}");
            assert!(line.starts_with(&format!("error: <tmp>/{starts}")), "{name}: {line}");
            assert!(line.ends_with(code), "{name}: {line}");
        }
    }
    assert_eq!(env.json(&["tenant", "list"]).as_array().unwrap().len(), 0, "nothing applied");
}

#[test]
fn the_examples_are_drawn_and_shown() {
    let mut all = String::new();
    let env = Env::new();
    for (file, _, _) in EXAMPLES {
        let path = example(file);
        for format in ["mermaid", "dot"] {
            all.push_str(&format!("== {file} ({format})\n"));
            all.push_str(&env.ok(&["topology", "draw", "--file", path_str(&path), "--format", format]));
        }
        all.push_str(&format!("== {file} (show)\n"));
        all.push_str(&env.ok(&["topology", "show", "--file", path_str(&path)]));
    }
    insta::assert_snapshot!(all);
    // The SVG is XML with one box per tenant.
    for (file, tenants, _) in EXAMPLES {
        let svg = env.ok(&["topology", "draw", "--file", path_str(&example(file)), "--format", "svg"]);
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{file}: {e}"));
        let boxes = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
        assert_eq!(boxes, tenants.len(), "{file}: {svg}");
        for (_, domain) in *tenants {
            assert!(doc.descendants().any(|n| n.text().is_some_and(|t| t.contains(domain))), "{file}: {domain}");
        }
    }
    // The store's topology is drawn with live counts.
    let (file, tenants, sources) = EXAMPLES[0];
    world(&env, tenants, sources);
    env.ok(&["apply", path_str(&example(file))]);
    env.ok(&["sync", "run", "contoso.example:test.contoso.example"]);
    let shown = env.json(&["topology", "show"]);
    let test = shown.as_array().unwrap().iter().find(|t| t["tenant"] == "test.contoso.example").unwrap();
    assert_eq!(test["reach"][0]["live"]["synced"], 5, "{test}");
    assert!(env.ok(&["topology", "draw"]).contains("all users · 5 synced, last cycle Succeeded"));
}

#[test]
fn the_schema_is_printed_and_export_of_an_empty_store_is_empty() {
    let env = Env::new();
    let schema: Value = serde_json::from_str(&env.ok(&["topology", "schema"])).unwrap();
    assert_eq!(schema["title"], "TopologyFile");
    assert!(env.ok(&["export"]).starts_with("# tenantsync topology"));
}

#[test]
fn a_plan_predicts_cycles_into_tenants_the_apply_creates() {
    let (file, _, _) = EXAMPLES[1];
    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "Woodgrove", "--domain", "woodgrove.example"]);
    people(&env, "woodgrove.example", 4);
    hub_groups(&env, 4);
    let path = example(file);
    let (_, plan) = plan_json(&env, path_str(&path));
    let arrows: Vec<&Value> = plan["changes"].as_array().unwrap().iter().filter(|c| c["kind"] == "arrow").collect();
    assert_eq!(arrows.len(), 3);
    env.ok(&["apply", path_str(&path)]);
    for arrow in arrows {
        let (source, target) = arrow["object"].as_str().unwrap().split_once(" → ").unwrap();
        assert_eq!(arrow["nextCycle"]["report"]["created"], 4, "{arrow}");
        let samples = &arrow["nextCycle"]["outcomes"][0]["samples"];
        assert_eq!(samples[0], "p0@woodgrove.example", "{arrow}");
        let report = env.json(&["sync", "run", &format!("{source}:{target}")]);
        assert_eq!(counts(&arrow["nextCycle"]["report"]), counts(&report), "{arrow}");
    }
}

#[test]
fn an_apply_killed_while_it_holds_the_jobs_leaves_none_paused_or_held() {
    use tenantsync_store::SyncStore;
    let (file, tenants, sources) = EXAMPLES[0];
    let env = Env::new();
    world(&env, tenants, sources);
    env.ok(&["apply", path_str(&example(file))]);
    let config = "contoso.example:test.contoso.example";
    env.ok(&["sync", "run", config]);
    let id: tenantsync_domain::SyncConfigId = env.json(&["sync", "show", config])["configuration"]["id"].as_str().unwrap().parse().unwrap();
    // A change of the arrow: its job is held still while the change is written.
    let text = std::fs::read_to_string(example(file)).unwrap().replace("actions = { delete = false }", "actions = { delete = false }\ndeletion_threshold = 20");
    let changed = env.file("changed.toml", &text);
    let status = env.json(&["sync", "show", config])["status"]["status"].clone();
    assert_eq!(status, "Active");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = tenantsync_store_sqlite::SqliteStore::open(&env.data()).unwrap();
    // Here a cycle is running (it holds the lease): apply waits for it, and is killed there.
    let lease = rt.block_on(store.try_lease_job(id)).unwrap().unwrap();
    let mut child = env.cmd().args(["apply", path_str(&changed)]).stdout(std::process::Stdio::null()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(child.try_wait().unwrap().is_none(), "apply waits for the running cycle");
    child.kill().unwrap();
    child.wait().unwrap();
    drop(lease);
    // Nothing was written, the job is active, and its lease is free.
    assert_eq!(env.run(&["plan", path_str(&changed)]).code, 2);
    assert_eq!(env.json(&["sync", "show", config])["status"]["status"], status, "not paused");
    assert!(rt.block_on(store.try_lease_job(id)).unwrap().is_some(), "the killed apply holds nothing");
    // With no cycle running, apply goes through and leaves the job active.
    let applied = env.json(&["apply", path_str(&changed)]);
    assert_eq!(applied["held"], 1, "{applied}");
    assert_eq!(env.json(&["sync", "show", config])["status"]["status"], status);
    assert_eq!(env.run(&["plan", path_str(&changed)]).code, 0);
}

/// What joint-venture.toml names must exist first: Contoso's sponsor and Projects group.
pub fn venture_people(env: &Env) {
    env.ok(&["tenant", "create", "--name", "Contoso", "--domain", "contoso.example"]);
    env.ok(&["tenant", "create", "--name", "Litware", "--domain", "litware.example"]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "sam.sponsor@contoso.example"]);
    env.ok(&["group", "create", "-t", "contoso.example", "--name", "Projects"]);
}

#[test]
fn access_packages_are_planned_applied_exported_pruned_and_their_drift_detected() {
    let env = Env::new();
    venture_people(&env);
    let path = example("joint-venture.toml");
    let path = path_str(&path);
    let (code, plan) = plan_json(&env, path);
    assert_eq!(code, 2);
    let kinds: Vec<&str> = plan["changes"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    for kind in ["tenant", "partner", "arrow", "organization", "catalog", "package"] {
        assert!(kinds.contains(&kind), "{kind}: {kinds:?}");
    }
    env.ok(&["apply", path]);
    assert_eq!(env.run(&["plan", path]).code, 0);
    let packages = env.json(&["access", "package", "list", "-t", "contoso.example"]);
    assert_eq!(packages["value"].as_array().map(Vec::len), Some(2), "{packages}");
    // A policy added outside the file is drift; apply takes it away again.
    env.ok(&["access", "policy", "create", "-t", "contoso.example", "--package", "Projects", "--name", "Admins", "--scope", "admin-only"]);
    let drift = env.run(&["plan", "--detect-drift", path, "--json"]);
    assert_eq!(drift.code, 2, "{}", drift.stdout);
    let drift: Value = serde_json::from_str(&drift.stdout).unwrap();
    let change = &drift["changes"][0];
    assert_eq!((change["kind"].as_str(), change["object"].as_str()), (Some("package"), Some("contoso.example: Projects")), "{drift}");
    assert!(change["settings"].as_array().unwrap().iter().any(|s| s["setting"] == "policy.Admins.requestors" && s["new"].is_null()), "{change}");
    env.ok(&["apply", path]);
    assert_eq!(env.run(&["plan", path]).code, 0);
    // export → apply where the same people exist → export: the same bytes.
    let exported = env.ok(&["export"]);
    assert!(exported.contains("[[access_package.policy]]"), "{exported}");
    let copy = Env::new();
    venture_people(&copy);
    let f = copy.file("exported.toml", &exported);
    copy.ok(&["apply", path_str(&f)]);
    assert_eq!(copy.ok(&["export"]), exported);
    // Without its package, catalog and organization, --prune removes them.
    let text = std::fs::read_to_string(example("joint-venture.toml")).unwrap();
    let cut = text.find("[[connected_organization]]").unwrap();
    let f = env.file("no-access.toml", &text[..cut]);
    assert!(env.ok(&["apply", path_str(&f)]).contains("left access package contoso.example: Projects"));
    let pruned = env.ok(&["apply", "--prune", path_str(&f)]);
    assert!(pruned.contains("removed access package contoso.example: Projects") && pruned.contains("removed catalog"), "{pruned}");
    assert_eq!(env.json(&["access", "package", "list", "-t", "contoso.example"])["value"].as_array().map(Vec::len), Some(0));
    assert_eq!(env.run(&["plan", path_str(&f)]).code, 0);
}

#[test]
fn the_joint_venture_draws_who_may_request_dashed() {
    let env = Env::new();
    let path = example("joint-venture.toml");
    let file = path_str(&path);
    let mermaid = env.ok(&["topology", "draw", "--file", file, "--format", "mermaid"]);
    let dot = env.ok(&["topology", "draw", "--file", file, "--format", "dot"]);
    let show = env.ok(&["topology", "show", "--file", file]);
    insta::assert_snapshot!(format!("{mermaid}\n{dot}\n{show}"));
    // Litware's people reach Contoso by requesting "Projects" only: "Project tenant" is for
    // Contoso's members, who cross no boundary by it.
    let shown = env.json(&["topology", "show", "--file", file]);
    let contoso = shown.as_array().unwrap().iter().find(|t| t["tenant"] == "contoso.example").unwrap();
    assert_eq!(contoso["onRequest"], serde_json::json!([{ "source": "litware.example", "packages": ["Projects"] }]), "{contoso}");
    let svg = env.ok(&["topology", "draw", "--file", file, "--format", "svg"]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert!(doc.descendants().any(|n| n.attribute("stroke-dasharray").is_some()), "{svg}");
    assert!(doc.descendants().any(|n| n.text().is_some_and(|t| t.contains("on request: Projects"))), "{svg}");
}
