//! `tenantsync migrate` both ways between an SQLite data directory and a PostgreSQL
//! database (a real throwaway cluster), checked through the other store's own reads: the
//! same tenants, users, groups, members, feeds with their sequence numbers, tokens,
//! settings, configurations, job states and logs. A destination that is not empty is
//! refused and left as it was.
use crate::support::{Env, path_str};
use std::process::Command;
use tenantsync_cli::generate;
use tenantsync_domain::ChangeCursor;
use tenantsync_store::{AuditQuery, DumpStore, DumpTable, ListQuery, LogQuery, SyncStore, Visibility};
use tenantsync_store_conformance::pg_cluster;
use tenantsync_store_postgres::PgStore;
use tenantsync_store_sqlite::SqliteStore;

const SOURCE: &str = "fabrikam.example";
const TARGET: &str = "contoso.example";

/// A fresh schema of the test cluster, made with the server's own `psql`.
fn fresh_database() -> String {
    let schema = pg_cluster::new_schema_name();
    let ok = Command::new("/usr/lib/postgresql/15/bin/psql")
        .arg(pg_cluster::url())
        .args(["-q", "-c", &format!("CREATE SCHEMA {schema}")])
        .status()
        .unwrap()
        .success();
    assert!(ok, "psql could not create the schema");
    pg_cluster::schema_url(&schema)
}

/// Runs the binary with `url` as its database (`None`: the data directory of `env`).
fn ok(env: &Env, url: Option<&str>, args: &[&str]) -> String {
    let mut c = env.cmd();
    if let Some(url) = url {
        c.env("TENANTSYNC_DATABASE_URL", url);
    }
    let out = c.args(args).output().unwrap();
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fills a store through the CLI: two tenants, imported users, a group with members, a
/// soft-deleted user, a token, access settings, a sync configuration that ran (its target
/// writes, job state and provisioning logs), and changes after it.
fn fill(env: &Env, url: Option<&str>) {
    ok(env, url, &["tenant", "create", "--name", "Fabrikam", "--domain", SOURCE]);
    ok(env, url, &["tenant", "create", "--name", "Contoso", "--domain", TARGET]);
    let csv = env.dir.path().join("users.csv");
    generate::write_csv(std::fs::File::create(&csv).unwrap(), generate::users(5, 2_500, SOURCE, "Fabrikam", false)).unwrap();
    ok(env, url, &["import", "users", "-t", SOURCE, path_str(&csv), "--quiet"]);
    ok(env, url, &["group", "create", "-t", SOURCE, "--name", "Sales"]);
    let listed: serde_json::Value = serde_json::from_str(&ok(env, url, &["user", "list", "-t", SOURCE, "--json", "--limit", "3"])).unwrap();
    let first: Vec<String> = listed["value"].as_array().unwrap().iter().map(|u| u["userPrincipalName"].as_str().unwrap().to_owned()).collect();
    for upn in &first[..2] {
        ok(env, url, &["group", "add-member", "-t", SOURCE, "Sales", upn]);
    }
    ok(env, url, &["user", "delete", "-t", SOURCE, &first[2]]);
    ok(env, url, &["token", "create", "-t", TARGET]);
    ok(env, url, &["partner", "set", "-t", SOURCE, "--partner", TARGET, "--outbound-auto-redeem", "true"]);
    ok(env, url, &["partner", "set", "-t", TARGET, "--partner", SOURCE, "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
    ok(env, url, &["sync", "create", "--source", SOURCE, "--target", TARGET, "--scope", "all"]);
    ok(env, url, &["sync", "run", &format!("{SOURCE}:{TARGET}")]);
    ok(env, url, &["user", "update", "-t", SOURCE, &first[0], "--set", "city=Bergen"]);
}

/// Everything both stores show through their own reads is the same.
async fn same(a: &dyn SyncStore, b: &dyn SyncStore) {
    let tenants = a.list_tenants().await.unwrap();
    assert_eq!(tenants.len(), 2);
    assert_eq!(b.list_tenants().await.unwrap(), tenants);
    for t in &tenants {
        let head = a.change_head(t.id).await.unwrap();
        assert!(head.0 > 0);
        assert_eq!(b.change_head(t.id).await.unwrap(), head, "the change head of {}", t.initial_domain);
        let mut cursor = ChangeCursor::default();
        loop {
            let (pa, pb) = (a.changes_since(t.id, cursor, 1_000).await.unwrap(), b.changes_since(t.id, cursor, 1_000).await.unwrap());
            assert_eq!(pa, pb, "the changes of {} after {cursor:?}", t.initial_domain);
            if pa.changes.is_empty() {
                break;
            }
            cursor = pa.next_cursor;
        }
        for v in [Visibility::Active, Visibility::Deleted, Visibility::All] {
            assert_eq!(a.count_users(t.id, v).await.unwrap(), b.count_users(t.id, v).await.unwrap(), "{v:?} users of {}", t.initial_domain);
            assert_eq!(a.count_groups(t.id, v).await.unwrap(), b.count_groups(t.id, v).await.unwrap());
        }
        let mut after = None;
        loop {
            let q = ListQuery { after, limit: 700, visibility: Visibility::All, ..ListQuery::default() };
            let (pa, pb) = (a.list_users(t.id, &q).await.unwrap(), b.list_users(t.id, &q).await.unwrap());
            assert_eq!(pa, pb);
            match pa.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let groups = a.list_groups(t.id, &ListQuery { after: None, limit: 100, visibility: Visibility::All, ..ListQuery::default() }).await.unwrap();
        assert_eq!(b.list_groups(t.id, &ListQuery { after: None, limit: 100, visibility: Visibility::All, ..ListQuery::default() }).await.unwrap(), groups);
        for g in &groups.items {
            let q = ListQuery { after: None, limit: 100, visibility: Visibility::Active, ..ListQuery::default() };
            assert_eq!(a.list_members(t.id, g.id, &q).await.unwrap(), b.list_members(t.id, g.id, &q).await.unwrap());
        }
        assert_eq!(a.list_tokens(t.id).await.unwrap(), b.list_tokens(t.id).await.unwrap());
        assert_eq!(a.partner_settings_list(t.id).await.unwrap(), b.partner_settings_list(t.id).await.unwrap());
        assert_eq!(a.audit_records(t.id, &AuditQuery::default()).await.unwrap(), b.audit_records(t.id, &AuditQuery::default()).await.unwrap());
    }
    let configs = a.list_sync_configurations().await.unwrap();
    assert_eq!(configs.len(), 1);
    assert_eq!(b.list_sync_configurations().await.unwrap(), configs);
    for c in &configs {
        let state = a.job_state(c.id).await.unwrap();
        assert!(state.watermark.0 > 0, "the job ran");
        assert_eq!(b.job_state(c.id).await.unwrap(), state);
        let q = LogQuery { config_id: Some(c.id), limit: 100_000, ..LogQuery::default() };
        let logs = a.provisioning_logs(&q).await.unwrap();
        assert!(logs.len() >= 2_500, "{} log records", logs.len());
        assert_eq!(b.provisioning_logs(&q).await.unwrap(), logs);
    }
}

/// Runs `migrate` and returns its JSON summary.
fn migrate(env: &Env, from: &str, to: &str) -> serde_json::Value {
    let out = env.cmd().args(["migrate", "--from", from, "--to", to, "--json"]).output().unwrap();
    assert!(out.status.success(), "migrate failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A second `migrate` into the same destination: refused, exit 1, nothing written.
async fn refused_again(env: &Env, from: &str, to: &str, destination: &dyn DumpStore) {
    let before = destination.tally().await.unwrap();
    let out = env.cmd().args(["migrate", "--from", from, "--to", to]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[destination_exists]") && err.contains("not empty"), "{err}");
    assert!(!err.contains(&pg_password()), "no password in messages: {err}");
    assert_eq!(destination.tally().await.unwrap(), before);
}

/// The test cluster's password (in every URL of it).
fn pg_password() -> String {
    let (userinfo, _) = pg_cluster::url().split_once('@').unwrap();
    userinfo.rsplit_once(':').unwrap().1.to_owned()
}

fn summary_counts(summary: &serde_json::Value, table: DumpTable) -> (u64, u64) {
    let row = summary["tables"].as_array().unwrap().iter().find(|t| t["table"] == table.as_str()).unwrap();
    (row["source"].as_u64().unwrap(), row["destination"].as_u64().unwrap())
}

#[test]
fn migrate_copies_a_data_directory_into_postgresql() {
    let env = Env::new();
    fill(&env, None);
    let url = fresh_database();
    let data = env.data();
    let summary = migrate(&env, path_str(&data), &url);
    assert_eq!(summary["verified"], true);
    let (s, d) = summary_counts(&summary, DumpTable::Users);
    assert!(s > 4_900 && s == d, "2,500 users and their copies: {s} {d}");
    assert!(!summary.to_string().contains(&pg_password()), "{summary}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sqlite = SqliteStore::open(&data).unwrap();
        let pg = PgStore::open(&url).await.unwrap();
        same(&sqlite, &pg).await;
        refused_again(&env, path_str(&data), &url, &pg).await;
    });
    // The copy is a working store: the job goes on from its watermark, with nothing to do.
    let run: serde_json::Value = serde_json::from_str(&ok(&env, Some(&url), &["sync", "run", &format!("{SOURCE}:{TARGET}"), "--json"])).unwrap();
    assert_eq!((run["initial"].as_bool(), run["created"].as_u64(), run["updated"].as_u64()), (Some(false), Some(0), Some(1)), "only the city changed: {run}");
}

#[test]
fn migrate_copies_a_postgresql_database_into_a_data_directory() {
    let env = Env::new();
    let url = fresh_database();
    fill(&env, Some(&url));
    let dest = env.dir.path().join("copied");
    let summary = migrate(&env, &url, path_str(&dest));
    let (s, d) = summary_counts(&summary, DumpTable::ProvisioningLogs);
    assert!(s >= 2_500 && s == d, "{s} {d}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pg = PgStore::open(&url).await.unwrap();
        let sqlite = SqliteStore::open(&dest).unwrap();
        same(&pg, &sqlite).await;
        refused_again(&env, &url, path_str(&dest), &sqlite).await;
    });
    // And the data directory serves every command.
    let listed =
        Command::new(env!("CARGO_BIN_EXE_tenantsync")).arg("--data-dir").arg(&dest).args(["user", "list", "-t", TARGET, "--limit", "1"]).output().unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
}
