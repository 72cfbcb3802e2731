//! Provisioning logs: queried by configuration, time, status and object (source or
//! target), newest first; purged by age, exactly. Every query is checked against the same
//! filter applied to the records in memory.
use crate::Fixture;
use crate::support::*;
use jiff::{SignedDuration, Timestamp};
use tenantsync_domain::{ObjectId, ObjectKind, SyncConfigId, SyncConfiguration};
use tenantsync_store::{JobState, LogQuery, ModifiedProperty, ProvisioningAction, ProvisioningLog, ProvisioningStatus, ProvisioningStep};

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
        id: ObjectId::new().to_string(),
        config_id: config,
        cycle_id: "cycle-a".into(),
        change_id: format!("cycle-a-{i}"),
        activity_date_time: t0().checked_add(SignedDuration::from_millis(i * 1000 + 3)).unwrap(),
        provisioning_action: if i % 3 == 0 { ProvisioningAction::Update } else { ProvisioningAction::Delete },
        status: STATUSES[(i as usize * 7 / 3) % 4],
        object_type: if i % 13 == 0 { ObjectKind::Group } else { ObjectKind::User },
        source_id: source,
        source_display_name: format!("user{i}@contoso.example"),
        target_id: target,
        skip_reason: None,
        error_code: (i % 4 == 0).then(|| "upn_conflict".to_owned()),
        error_message: None,
        modified_properties: vec![ModifiedProperty {
            display_name: "city".into(),
            old_value: Some("A".into()),
            new_value: Some(format!("B{i}")),
            new_in_copy: None,
        }],
        steps: vec![ProvisioningStep::new(tenantsync_domain::StepKind::EntryExport, ProvisioningStatus::Success, "Update".into())],
        step_facts: None,
        duration_in_milliseconds: i as u64,
        op_index: None,
    }
}

struct Setup {
    configs: [SyncConfiguration; 2],
    shared: ObjectId,
    all: Vec<ProvisioningLog>,
}

async fn setup(f: &Fixture) -> Setup {
    let a = arrow(f).await;
    let b = tenant(f, "litware.example").await;
    let two = f.store.create_sync_configuration(SyncConfiguration::new("b", a.source.id, b.id).unwrap()).await.unwrap();
    Setup { configs: [a.config, two], shared: ObjectId::new(), all: Vec::new() }
}

/// Writes records `range` of both configurations (interleaved, in commits of `per_write`).
async fn write(f: &Fixture, s: &mut Setup, range: std::ops::Range<i64>, per_write: usize) {
    let ids: Vec<i64> = range.collect();
    for chunk in ids.chunks(per_write) {
        for c in &s.configs {
            let logs: Vec<_> = chunk.iter().map(|&i| record(c.id, i, s.shared)).collect();
            f.store.commit_sync(c.id, c.target_tenant_id, Vec::new(), JobState::default(), logs.clone()).await.unwrap();
            s.all.extend(logs);
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

fn queries(s: &Setup) -> Vec<LogQuery> {
    let at = |i: i64| Some(t0().checked_add(SignedDuration::from_secs(i)).unwrap());
    let mut out = Vec::new();
    for config in [None, Some(s.configs[0].id)] {
        for status in [None, Some(ProvisioningStatus::Failure), Some(ProvisioningStatus::Warning)] {
            for object in [None, Some(s.shared)] {
                for (since, until) in [(None, None), (at(100), at(500)), (at(555), None), (None, at(3))] {
                    for limit in [0, 1, 7, 300, 5000] {
                        out.push(LogQuery { config_id: config, since, until, status, object_id: object, limit, ..LogQuery::default() });
                    }
                }
            }
        }
    }
    out
}

async fn check_all(f: &Fixture, s: &Setup) {
    for q in queries(s) {
        let got = f.store.provisioning_logs(&q).await.unwrap();
        assert_eq!(got, expected(&s.all, &q), "{q:?}");
    }
}

pub async fn every_query_answers_what_the_records_say(f: Fixture) {
    let mut s = setup(&f).await;
    // Large commits, then small ones.
    write(&f, &mut s, 0..600, 600).await;
    write(&f, &mut s, 600..640, 3).await;
    check_all(&f, &s).await;
    // Object queries find records by target too.
    let by_target = f.store.provisioning_logs(&LogQuery { object_id: Some(s.shared), limit: 5000, ..LogQuery::default() }).await.unwrap();
    assert!(by_target.iter().any(|l| l.target_id == Some(s.shared) && l.source_id != s.shared));
}

pub async fn purging_removes_exactly_the_older_records(f: Fixture) {
    let mut s = setup(&f).await;
    write(&f, &mut s, 0..600, 600).await;
    write(&f, &mut s, 600..700, 7).await;
    // A cutoff in the middle of a commit's records.
    let cutoff = t0().checked_add(SignedDuration::from_millis(300 * 1000 + 3)).unwrap();
    let purged = f.store.purge_provisioning_logs(cutoff).await.unwrap();
    let before = s.all.len();
    s.all.retain(|l| l.activity_date_time >= cutoff);
    assert_eq!(purged as usize, before - s.all.len());
    assert_eq!(purged, 600);
    check_all(&f, &s).await;
    // Nothing left to purge at the same cutoff; everything at a later one.
    assert_eq!(f.store.purge_provisioning_logs(cutoff).await.unwrap(), 0);
    let end = t0().checked_add(SignedDuration::from_secs(10_000)).unwrap();
    assert_eq!(f.store.purge_provisioning_logs(end).await.unwrap() as usize, s.all.len());
    assert!(f.store.provisioning_logs(&LogQuery { limit: 10, ..LogQuery::default() }).await.unwrap().is_empty());
}
