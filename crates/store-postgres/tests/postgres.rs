//! What is particular to the PostgreSQL store.
use crate::cluster::{cluster, fresh_schema};
use tenantsync_store::{Store, StoreError};
use tenantsync_store_postgres::{PgStore, REFERENCE_TABLES};

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Ready for distribution by tenant (Citus): every table but the reference tables has a
/// primary key starting with `tenant_id`, every unique index of it too, and every foreign
/// key starts with `tenant_id` on both sides (it never reaches another tenant's rows).
#[tokio::test]
async fn every_table_is_keyed_by_tenant() {
    let (schema, url) = fresh_schema().await;
    PgStore::open(&url).await.unwrap();
    let client = connect(&cluster().url).await;
    let tables: Vec<String> = client
        .query("SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'", &[&schema])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(tables.len() >= 10, "{tables:?}");
    let mut broken = Vec::new();
    for table in &tables {
        if REFERENCE_TABLES.contains(&table.as_str()) {
            continue;
        }
        // Unique indexes (the primary key among them): the first column.
        let uniques = client
            .query(
                "SELECT i.indexrelid::regclass::text, (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[0]) \
                 FROM pg_index i WHERE i.indrelid = ($1 || '.' || $2)::regclass AND i.indisunique",
                &[&schema, table],
            )
            .await
            .unwrap();
        assert!(uniques.iter().any(|r| r.get::<_, String>(0).ends_with("_pkey")), "{table} has no primary key");
        for r in &uniques {
            if r.get::<_, Option<String>>(1).as_deref() != Some("tenant_id") {
                broken.push(format!("{table}: unique index {} does not start with tenant_id", r.get::<_, String>(0)));
            }
        }
        // Foreign keys: tenant_id first on both sides.
        let fks = client
            .query(
                "SELECT conname::text, (SELECT attname::text FROM pg_attribute WHERE attrelid = conrelid AND attnum = conkey[1]), \
                 (SELECT attname::text FROM pg_attribute WHERE attrelid = confrelid AND attnum = confkey[1]) \
                 FROM pg_constraint WHERE conrelid = ($1 || '.' || $2)::regclass AND contype = 'f'",
                &[&schema, table],
            )
            .await
            .unwrap();
        for r in &fks {
            let (name, from, to): (String, String, String) = (r.get(0), r.get(1), r.get(2));
            if from != "tenant_id" || to != "tenant_id" {
                broken.push(format!("{table}: foreign key {name} goes from {from} to {to}"));
            }
        }
    }
    assert!(broken.is_empty(), "tables not ready for distribution by tenant:\n{}", broken.join("\n"));
}

/// A database written by a newer tenantsync is refused, and left as it is.
#[tokio::test]
async fn a_newer_schema_is_refused() {
    let (schema, url) = fresh_schema().await;
    PgStore::open(&url).await.unwrap();
    let client = connect(&cluster().url).await;
    client.execute(&format!("INSERT INTO {schema}.schema_versions (version, applied_ms) VALUES (999, 0)"), &[]).await.unwrap();
    let err = PgStore::open(&url).await.unwrap_err();
    assert_eq!(err, StoreError::SchemaTooNew { found: 999, supported: tenantsync_store_postgres::schema_version() });
}

/// Opening twice migrates once; a second store finds the schema current.
#[tokio::test]
async fn opening_again_keeps_the_data() {
    let (_, url) = fresh_schema().await;
    let store = PgStore::open(&url).await.unwrap();
    let t = store.create_tenant(tenantsync_domain::NewTenant::new("T", "t.example").unwrap()).await.unwrap();
    let again = PgStore::open(&url).await.unwrap();
    assert_eq!(again.get_tenant(t.id).await.unwrap(), t);
}

/// An unreachable server: a clear error naming the URL, never its password.
#[tokio::test]
async fn an_unreachable_server_is_named_without_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://ts:hunter2@127.0.0.1:{port}/ts?connect_timeout=5");
    let err = PgStore::open(&url).await.unwrap_err();
    assert_eq!(err.code(), "store_unreachable");
    let text = err.to_string();
    assert!(text.contains(&format!("postgres://ts@127.0.0.1:{port}/ts")), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

/// Wrong credentials: refused at start, with the server's reason, without the password.
#[tokio::test]
async fn a_wrong_password_is_refused_at_start() {
    let url = cluster().url.clone();
    let (head, tail) = url.split_once('@').unwrap();
    let user = head.rsplit_once(':').unwrap().0;
    let wrong = format!("{user}:wrong-password@{tail}");
    let err = PgStore::open(&wrong).await.unwrap_err();
    assert_eq!(err.code(), "store_unreachable");
    assert!(!err.to_string().contains("wrong-password"), "{err}");
}

/// Runs `.ci/pg-cluster ACTION DIR [ARGS…]` and returns its output.
fn pg_cluster(args: &[&str]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/pg-cluster");
    let out = std::process::Command::new("bash").arg(script).args(args).output().unwrap();
    assert!(out.status.success(), "pg-cluster {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A pause between the store and PostgreSQL (the server stopped at once, then started
/// again): calls in the pause fail with a store error, and afterwards the same store works
/// again without being reopened, and hears other processes' commits again (its listener
/// reconnected).
#[tokio::test]
async fn the_store_recovers_from_a_server_restart() {
    use tenantsync_domain::{NewTenant, NewUser, Upn};
    let dir = std::env::temp_dir().join(format!("tenantsync-pg-restart-{}", std::process::id()));
    let dir_s = dir.to_str().unwrap().to_owned();
    let url = pg_cluster(&["start", &dir_s, &std::process::id().to_string()]);
    let store = PgStore::open(&url).await.unwrap();
    let t = store.create_tenant(NewTenant::new("T", "t.example").unwrap()).await.unwrap();
    store.create_user(t.id, NewUser::new(Upn::parse("a@t.example").unwrap())).await.unwrap();

    // A connection dropped under an open transaction (its backend ended by the server):
    // the next statement on it fails as `store_unreachable`, and nothing of it stays.
    let mut restore = tenantsync_store::DumpStore::restore(&store).await.unwrap();
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    let admin_task = tokio::spawn(connection);
    admin
        .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'", &[])
        .await
        .unwrap();
    drop(admin);
    let _ = admin_task.await;
    let other = NewTenant::new("U", "u.example").unwrap();
    let record = tenantsync_store::DumpRecord::Tenant { tenant: tenantsync_domain::Tenant { id: other.id, ..t.clone() }, change_head: 0 };
    let err = restore.push(vec![record]).await.unwrap_err();
    assert_eq!(err.code(), "store_unreachable", "{err:?}");
    assert_eq!(err.info().status, 503);
    drop(restore);

    // The test cluster commits asynchronously (synchronous_commit = off): give its WAL
    // writer a moment, so the immediate stop loses no committed transaction.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    pg_cluster(&["stop", &dir_s]);
    // Every kind of call in the pause: unreachable (503, retry), not a storage failure.
    let b = || NewUser::new(Upn::parse("b@t.example").unwrap());
    let codes = [
        ("a write", store.create_user(t.id, b()).await.map(|_| ()).unwrap_err()),
        ("a read", store.get_tenant(t.id).await.map(|_| ()).unwrap_err()),
        ("a listing", store.list_users(t.id, &tenantsync_store::ListQuery::default()).await.map(|_| ()).unwrap_err()),
        ("the change head", store.change_head(t.id).await.map(|_| ()).unwrap_err()),
        ("a tally", tenantsync_store::DumpStore::tally(&store).await.map(|_| ()).unwrap_err()),
    ];
    let password = url.split_once('@').unwrap().0.rsplit_once(':').unwrap().1;
    for (what, err) in codes {
        assert_eq!(err.code(), "store_unreachable", "{what}: {err:?}");
        assert!(!err.to_string().contains(password) && !err.is_refusal(), "{what}: {err}");
    }
    pg_cluster(&["resume", &dir_s]);

    // The pool replaces its dead connections.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match store.create_user(t.id, NewUser::new(Upn::parse("b@t.example").unwrap())).await {
            Ok(_) => break,
            Err(e) => assert!(std::time::Instant::now() < deadline, "the store did not recover: {e}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(store.count_users(t.id, tenantsync_store::Visibility::All).await.unwrap(), 2, "nothing half-written, nothing lost");
    // Another process's commit is heard again.
    let mut rx = store.subscribe();
    let other = PgStore::open(&url).await.unwrap();
    let heard = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut n = 0;
        loop {
            other.create_user(t.id, NewUser::new(Upn::parse(&format!("c{n}@t.example")).unwrap())).await.unwrap();
            n += 1;
            if let Ok(Ok(notice)) = tokio::time::timeout(std::time::Duration::from_millis(500), rx.recv()).await {
                return notice;
            }
        }
    })
    .await
    .expect("a commit of another store is heard after the restart");
    assert_eq!(heard.tenant_id, t.id);
    pg_cluster(&["stop", &dir_s]);
    let _ = std::fs::remove_dir_all(&dir);
}
