//! Provisioning logs as SQLite keeps them: in blocks, whose object index goes with them
//! when purged; rows of the form written before blocks still read and purge. (What every
//! store answers is the conformance suite's `logs` cases.)
use jiff::Timestamp;
use rusqlite::Connection;
use tenantsync_domain::{NewTenant, ObjectId, ObjectKind, SyncConfigId, SyncConfiguration};
use tenantsync_store::{JobState, LogQuery, ModifiedProperty, ProvisioningAction, ProvisioningLog, ProvisioningStatus, ProvisioningStep, Store, SyncStore};
use tenantsync_store_sqlite::{DB_FILE, SqliteStore};

const STATUSES: [ProvisioningStatus; 4] = [ProvisioningStatus::Success, ProvisioningStatus::Skipped, ProvisioningStatus::Failure, ProvisioningStatus::Warning];

fn t0() -> Timestamp {
    Timestamp::from_second(1_790_000_000).unwrap()
}

/// Record `i` of configuration `config`: one second after record `i - 1`; statuses and
/// objects vary with `i` (every seventh record names object `shared` as its source, every
/// eleventh as its target).
fn record(config: SyncConfigId, i: i64, shared: ObjectId) -> ProvisioningLog {
    let source = if i % 7 == 0 { shared } else { ObjectId::new() };
    let target = if i % 11 == 0 {
        Some(shared)
    } else if i % 5 == 0 {
        None
    } else {
        Some(ObjectId::new())
    };
    ProvisioningLog {
        id: uuid::Uuid::now_v7().to_string(),
        config_id: config,
        cycle_id: "cycle-a".into(),
        change_id: format!("cycle-a-{i}"),
        activity_date_time: t0().checked_add(jiff::SignedDuration::from_millis(i * 1000 + 3)).unwrap(),
        provisioning_action: ProvisioningAction::Update,
        status: STATUSES[(i as usize * 7 / 3) % 4],
        object_type: ObjectKind::User,
        source_id: source,
        source_display_name: format!("user{i}@contoso.example"),
        target_id: target,
        skip_reason: None,
        error_code: None,
        error_message: None,
        modified_properties: vec![ModifiedProperty {
            display_name: "city".into(),
            old_value: Some("A".into()),
            new_value: Some(format!("B{i}")),
            new_in_copy: None,
        }],
        steps: vec![ProvisioningStep {
            kind: tenantsync_domain::StepKind::EntryExport,
            status: ProvisioningStatus::Success,
            description: "Update".into(),
            details: serde_json::Map::new(),
        }],
        step_facts: None,
        duration_in_milliseconds: 1,
        op_index: None,
    }
}

struct Setup {
    store: SqliteStore,
    configs: [SyncConfiguration; 2],
    dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let source = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap();
    let a = store.create_tenant(NewTenant::new("Fabrikam", "fabrikam.example").unwrap()).await.unwrap();
    let b = store.create_tenant(NewTenant::new("Litware", "litware.example").unwrap()).await.unwrap();
    let one = store.create_sync_configuration(SyncConfiguration::new("a", source.id, a.id).unwrap()).await.unwrap();
    let two = store.create_sync_configuration(SyncConfiguration::new("b", source.id, b.id).unwrap()).await.unwrap();
    Setup { store, configs: [one, two], dir }
}

/// Writes records `range` of both configurations (interleaved, in writes of `per_write`).
async fn write(s: &Setup, range: std::ops::Range<i64>, per_write: usize, shared: ObjectId, all: &mut Vec<ProvisioningLog>) {
    let ids: Vec<i64> = range.collect();
    for chunk in ids.chunks(per_write) {
        for c in &s.configs {
            let logs: Vec<_> = chunk.iter().map(|&i| record(c.id, i, shared)).collect();
            s.store.commit_sync(c.id, c.target_tenant_id, Vec::new(), JobState::default(), logs.clone()).await.unwrap();
            all.extend(logs);
        }
    }
}

/// What a query must answer: the matching records, newest first (write order), at most `limit`.
fn expected(all: &[ProvisioningLog], q: &LogQuery) -> Vec<ProvisioningLog> {
    let ms = |t: Timestamp| t.as_millisecond();
    all.iter()
        .rev()
        .filter(|l| q.config_id.is_none_or(|c| l.config_id == c))
        .filter(|l| q.since.is_none_or(|t| ms(l.activity_date_time) >= ms(t)))
        .filter(|l| q.until.is_none_or(|t| ms(l.activity_date_time) < ms(t)))
        .filter(|l| q.status.is_none_or(|st| l.status == st))
        .filter(|l| q.object_id.is_none_or(|o| l.source_id == o || l.target_id == Some(o)))
        .take(q.limit.max(1) as usize)
        .cloned()
        .collect()
}

fn queries(s: &Setup, shared: ObjectId) -> Vec<LogQuery> {
    let at = |i: i64| Some(t0().checked_add(jiff::SignedDuration::from_secs(i)).unwrap());
    let mut out = Vec::new();
    for config in [None, Some(s.configs[0].id)] {
        for status in [None, Some(ProvisioningStatus::Failure), Some(ProvisioningStatus::Warning)] {
            for object in [None, Some(shared)] {
                for (since, until) in [(None, None), (at(100), at(500)), (at(555), None), (None, at(3))] {
                    for limit in [1, 7, 300, 5000] {
                        out.push(LogQuery { config_id: config, since, until, status, object_id: object, limit, ..LogQuery::default() });
                    }
                }
            }
        }
    }
    out
}

async fn check_all(s: &Setup, all: &[ProvisioningLog], shared: ObjectId) {
    for q in queries(s, shared) {
        let got = s.store.provisioning_logs(&q).await.unwrap();
        assert_eq!(got, expected(all, &q), "{q:?}");
    }
}

/// Purges before `cutoff`, checks the count against the records in memory, drops those
/// from `all`, checks every query on what is left; returns the count.
async fn purge_and_check(s: &Setup, all: &mut Vec<ProvisioningLog>, cutoff: Timestamp, shared: ObjectId) -> u64 {
    let purged = s.store.purge_provisioning_logs(cutoff).await.unwrap();
    let before = all.len();
    all.retain(|l| l.activity_date_time >= cutoff);
    assert_eq!(purged as usize, before - all.len());
    check_all(s, all, shared).await;
    purged
}

#[tokio::test]
async fn purging_removes_exactly_the_older_records() {
    let s = setup().await;
    let shared = ObjectId::new();
    let mut all = Vec::new();
    write(&s, 0..600, 600, shared, &mut all).await;
    // A cutoff inside the second block of each write: that block is cut in two.
    let cutoff = t0().checked_add(jiff::SignedDuration::from_millis(300 * 1000 + 3)).unwrap();
    assert_eq!(purge_and_check(&s, &mut all, cutoff, shared).await, 600);
    // Nothing left to purge at the same cutoff; everything at a later one.
    assert_eq!(s.store.purge_provisioning_logs(cutoff).await.unwrap(), 0);
    let end = t0().checked_add(jiff::SignedDuration::from_secs(10_000)).unwrap();
    assert_eq!(s.store.purge_provisioning_logs(end).await.unwrap() as usize, all.len());
    assert!(s.store.provisioning_logs(&LogQuery { limit: 10, ..LogQuery::default() }).await.unwrap().is_empty());
    let conn = Connection::open(s.dir.path().join(DB_FILE)).unwrap();
    let objects: i64 = conn.query_row("SELECT count(*) FROM provisioning_log_objects", [], |r| r.get(0)).unwrap();
    assert_eq!(objects, 0, "the object index goes with the blocks");
}

#[tokio::test]
async fn records_written_before_blocks_still_read_and_purge() {
    let s = setup().await;
    let shared = ObjectId::new();
    let mut all = Vec::new();
    // Rows of the first form (one JSON row per record), as an older version wrote them.
    {
        let conn = Connection::open(s.dir.path().join(DB_FILE)).unwrap();
        for i in 0..50 {
            for c in &s.configs {
                let log = record(c.id, i, shared);
                conn.execute(
                    "INSERT INTO provisioning_logs (config_id, at_ms, status, source_id, target_id, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    rusqlite::params![
                        c.id.as_bytes(),
                        log.activity_date_time.as_millisecond(),
                        log.status.as_str(),
                        log.source_id.as_bytes(),
                        log.target_id.map(|t| *t.as_bytes()),
                        serde_json::to_string(&log).unwrap()
                    ],
                )
                .unwrap();
                all.push(log);
            }
        }
    }
    write(&s, 50..400, 100, shared, &mut all).await;
    check_all(&s, &all, shared).await;
    let cutoff = t0().checked_add(jiff::SignedDuration::from_secs(60)).unwrap();
    // Legacy rows (records 0-49) and the first block's older part go.
    assert_eq!(purge_and_check(&s, &mut all, cutoff, shared).await, 2 * 60);
}
