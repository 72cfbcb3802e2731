//! SQLite-specific behaviour.
use rusqlite::Connection;
use tenantsync_domain::{ChangeCursor, NewTenant, NewUser, Upn};
use tenantsync_store::{Store, StoreError};
use tenantsync_store_sqlite::{APPLICATION_ID, DB_FILE, SqliteStore};

fn user(upn: &str) -> NewUser {
    NewUser::new(Upn::parse(upn).unwrap())
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = {
        let store = SqliteStore::open(dir.path()).unwrap();
        let t = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap();
        store.create_user(t.id, user("alice@contoso.example")).await.unwrap();
        t.id
    };
    let store = SqliteStore::open(dir.path()).unwrap();
    let found = store.find_user_by_upn(tenant, &Upn::parse("ALICE@contoso.example").unwrap()).await.unwrap();
    assert!(found.is_some());
    assert_eq!(store.change_head(tenant).await.unwrap(), ChangeCursor(1));
}

#[tokio::test]
async fn a_non_empty_foreign_directory_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let err = SqliteStore::open(dir.path()).unwrap_err();
    assert_eq!(err.code(), "foreign_data_directory");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert!(!dir.path().join(DB_FILE).exists());
}

#[tokio::test]
async fn a_database_of_another_application_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch("CREATE TABLE t (x); PRAGMA application_id = 42;").unwrap();
    drop(conn);
    let err = SqliteStore::open(dir.path()).unwrap_err();
    assert_eq!(err.code(), "foreign_data_directory");
}

#[tokio::test]
async fn a_file_that_is_not_sqlite_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DB_FILE), vec![7u8; 4096]).unwrap();
    let err = SqliteStore::open(dir.path()).unwrap_err();
    assert_eq!(err.code(), "foreign_data_directory", "{err}");
}

#[tokio::test]
async fn a_newer_schema_is_refused_with_both_versions_named() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = SqliteStore::open(dir.path()).unwrap_err();
    assert_eq!(err, StoreError::SchemaTooNew { found: 99, supported: tenantsync_store_sqlite::schema_version() });
    assert!(err.to_string().contains("99"));
}

#[tokio::test]
async fn a_file_in_place_of_the_directory_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let err = SqliteStore::open(&file).unwrap_err();
    assert_eq!(err.code(), "unreadable_data_directory");
}

#[tokio::test]
async fn the_database_is_marked_and_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(app, APPLICATION_ID);
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn the_lookups_use_their_indexes() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    let plan = |sql: &str| -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows: Vec<String> = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
        rows.join("; ")
    };
    // The store names its secondary indexes (INDEXED BY), so the plan cannot drift to a
    // scan of the tenant when statistics are missing; this checks the names are right.
    assert!(plan("SELECT * FROM users WHERE tenant_id = x'00' AND upn = 'a' COLLATE NOCASE").contains("users_upn"));
    assert!(
        plan("SELECT * FROM users INDEXED BY users_mail WHERE tenant_id = x'00' AND mail = 'a' COLLATE NOCASE AND mail IS NOT NULL").contains("users_mail")
    );
    assert!(plan("SELECT * FROM users INDEXED BY users_anchor WHERE tenant_id = x'00' AND anchor_tenant = x'01' AND anchor_object = x'02' AND anchor_tenant IS NOT NULL").contains("users_anchor"));
    assert!(
        plan("SELECT id FROM users INDEXED BY users_manager WHERE tenant_id = x'00' AND manager_id = x'01' AND manager_id IS NOT NULL")
            .contains("users_manager")
    );
    assert!(
        plan("SELECT id FROM users INDEXED BY users_deleted WHERE tenant_id = x'00' AND deleted_ms IS NOT NULL AND deleted_ms < 5").contains("users_deleted")
    );
    assert!(plan("SELECT group_id FROM members INDEXED BY members_user WHERE tenant_id = x'00' AND user_id = x'01'").contains("members_user"));
    assert!(plan("SELECT * FROM changes WHERE tenant_id = x'00' AND seq > 5 ORDER BY seq").contains("PRIMARY KEY"));
}

/// Schema version 6 indexes extension attribute values; a database written before it
/// gets the values of its existing users on opening.
#[tokio::test]
async fn extension_values_of_existing_users_are_indexed_by_the_migration() {
    use tenantsync_domain::{AttrValue, ExtensionName};
    use tenantsync_store::{CompareOp, Filter, ObjectQuery};
    let dir = tempfile::tempdir().unwrap();
    let cc = ExtensionName::parse("extension_0123456789abcdef0123456789abcdef_costCenter").unwrap();
    let tenant = {
        let store = SqliteStore::open(dir.path()).unwrap();
        let t = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap();
        let mut u = user("alice@contoso.example");
        u.attrs.extensions.insert(cc.clone(), AttrValue::Strings(vec!["A".into(), "B".into()]));
        store.create_user(t.id, u).await.unwrap();
        t.id
    };
    // Back to version 5: no table (version 7 already dropped the triggers 6 creates, and
    // the tables of version 8 and what versions 9 to 19 add go too).
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch(
        "DROP INDEX sync_configurations_target; DROP INDEX api_tokens_tenant_id; DROP TABLE anchored_users; DROP TABLE console_sessions; DROP TABLE console_codes; DROP TABLE connector_links; DROP TABLE connectors; DROP TABLE user_extension_values; DROP TABLE provisioning_log_blocks; DROP TABLE provisioning_log_objects; \
         ALTER TABLE tenants DROP COLUMN live_users; ALTER TABLE tenants DROP COLUMN deleted_users; \
         ALTER TABLE tenants DROP COLUMN live_groups; ALTER TABLE tenants DROP COLUMN deleted_groups; DROP TABLE bare_user_names; \
         ALTER TABLE users DROP COLUMN show_in_address_list; ALTER TABLE api_tokens DROP COLUMN role; \
         DROP TABLE audit_log; DROP TABLE admin_objects; DROP TABLE access_objects; DROP TABLE access_requests; DROP TABLE access_assignments; DROP TABLE access_guests; DROP TABLE access_outbox; PRAGMA user_version = 5;",
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(dir.path()).unwrap();
    let q = |v: &str| ObjectQuery {
        filter: Some(Filter::Extension { name: cc.clone(), test: Some((CompareOp::Eq, v.to_owned())), ignore_case: true }),
        ..ObjectQuery::default()
    };
    assert_eq!(store.query_users(tenant, &q("b")).await.unwrap().items.len(), 1);
    assert_eq!(store.query_users(tenant, &q("c")).await.unwrap().items.len(), 0);
}

/// The write path keeps extension values in step: create, update (set, change, clear)
/// and hard delete.
#[tokio::test]
async fn extension_values_follow_every_write_of_a_user() {
    use tenantsync_domain::{AttrValue, ExtensionName, UserPatch};
    use tenantsync_store::WriteOp;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let t = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap();
    let cc = ExtensionName::parse("extension_0123456789abcdef0123456789abcdef_costCenter").unwrap();
    let values = || {
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        let mut stmt = conn.prepare("SELECT value FROM user_extension_values ORDER BY value").unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().collect::<Result<Vec<_>, _>>().unwrap()
    };
    let mut u = user("alice@contoso.example");
    u.attrs.extensions.insert(cc.clone(), AttrValue::Strings(vec!["A".into(), "B".into()]));
    let alice = store.create_user(t.id, u).await.unwrap();
    store.create_user(t.id, user("bob@contoso.example")).await.unwrap();
    assert_eq!(values(), vec!["A", "B"]);
    let set = |v: AttrValue| UserPatch::from_pairs([(cc.as_str(), v)]).unwrap();
    store.update_user(t.id, alice.id, set(AttrValue::String("C".into())), None).await.unwrap();
    assert_eq!(values(), vec!["C"]);
    // An update of another attribute leaves them alone.
    store.update_user(t.id, alice.id, UserPatch::from_pairs([("department", AttrValue::String("Sales".into()))]).unwrap(), None).await.unwrap();
    assert_eq!(values(), vec!["C"]);
    store.update_user(t.id, alice.id, set(AttrValue::Null), None).await.unwrap();
    assert!(values().is_empty());
    store.update_user(t.id, alice.id, set(AttrValue::String("D".into())), None).await.unwrap();
    store.apply_one(t.id, WriteOp::HardDeleteUser { id: alice.id, if_match: None }).await.unwrap();
    assert!(values().is_empty());
}
