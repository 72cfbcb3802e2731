//! The sync engine's control state: cross-tenant access settings, configurations, job
//! state (escrows included) and the notices of job changes.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{
    ChangeCursor, Clock, ExecutionState, ObjectId, ObjectKind, PartnerSettings, QuarantineReason, SyncConfigId, SyncConfiguration, TenantId,
};
use tenantsync_store::{CycleCounters, CycleExecution, Escrow, JobNotice, JobState, JobStatusCode};
use tokio::sync::broadcast;

const SOME: PartnerSettings =
    PartnerSettings { inbound_auto_redeem: Some(true), outbound_auto_redeem: None, inbound_user_sync: Some(false), inbound_group_sync: Some(true) };

pub async fn partner_settings_are_absent_until_set_and_replaced_whole(f: Fixture) {
    let a = tenant(&f, "contoso.example").await.id;
    let b = tenant(&f, "fabrikam.example").await.id;
    assert_eq!(f.store.partner_settings(a, None).await.unwrap(), PartnerSettings::default());
    assert_eq!(f.store.partner_settings(a, Some(b)).await.unwrap(), PartnerSettings::default());
    f.store.set_partner_settings(a, None, SOME).await.unwrap();
    assert_eq!(f.store.partner_settings(a, None).await.unwrap(), SOME);
    // Defaults and a partner's own settings are kept apart, and per tenant.
    assert_eq!(f.store.partner_settings(a, Some(b)).await.unwrap(), PartnerSettings::default());
    assert_eq!(f.store.partner_settings(b, None).await.unwrap(), PartnerSettings::default());
    let other = PartnerSettings { inbound_user_sync: Some(true), ..PartnerSettings::default() };
    f.store.set_partner_settings(a, Some(b), other).await.unwrap();
    assert_eq!(f.store.partner_settings(a, Some(b)).await.unwrap(), other);
    // Setting again replaces the whole record.
    f.store.set_partner_settings(a, None, PartnerSettings::default()).await.unwrap();
    assert_eq!(f.store.partner_settings(a, None).await.unwrap(), PartnerSettings::default());
    assert_eq!(f.store.partner_settings(a, Some(b)).await.unwrap(), other);
}

pub async fn partner_settings_need_the_tenant(f: Fixture) {
    let a = tenant(&f, "contoso.example").await.id;
    assert_code(f.store.set_partner_settings(TenantId::new(), Some(a), SOME).await, "tenant_not_found");
}

fn config(name: &str, a: &Arrow) -> SyncConfiguration {
    let mut c = SyncConfiguration::new(name, a.source.id, a.target.id).unwrap();
    c.scope = tenantsync_domain::SyncScope::AllUsers;
    c
}

pub async fn configuration_round_trips_and_lists_in_creation_order(f: Fixture) {
    let a = arrow(&f).await;
    let third = tenant(&f, "litware.example").await;
    tick(&f, 1);
    let back = f.store.create_sync_configuration(SyncConfiguration::new("back", a.target.id, a.source.id).unwrap()).await.unwrap();
    tick(&f, 1);
    let mut c = SyncConfiguration::new("to litware", a.source.id, third.id).unwrap();
    c.scope = tenantsync_domain::SyncScope::AllUsers;
    c.user_mappings.truncate(3);
    let created = f.store.create_sync_configuration(c.clone()).await.unwrap();
    assert_eq!(created, c);
    assert_eq!(f.store.get_sync_configuration(c.id).await.unwrap(), c);
    let ids: Vec<SyncConfigId> = f.store.list_sync_configurations().await.unwrap().iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![a.config.id, back.id, c.id]);
}

pub async fn one_configuration_per_pair(f: Fixture) {
    let a = arrow(&f).await;
    let e = err(f.store.create_sync_configuration(config("again", &a)).await);
    assert_eq!(e.code(), "sync_configuration_conflict", "{e:?}");
    assert!(e.to_string().contains(&a.config.id.to_string()), "the conflict names the configuration that exists: {e}");
    assert_eq!(f.store.list_sync_configurations().await.unwrap().len(), 1);
}

pub async fn configuration_needs_both_tenants(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    for (s, d) in [(t, TenantId::new()), (TenantId::new(), t)] {
        assert_code(f.store.create_sync_configuration(SyncConfiguration::new("x", s, d).unwrap()).await, "tenant_not_found");
    }
    assert!(f.store.list_sync_configurations().await.unwrap().is_empty());
}

pub async fn update_keeps_the_pair(f: Fixture) {
    let a = arrow(&f).await;
    let mut changed = a.config.clone();
    changed.display_name = "renamed".into();
    changed.scope = tenantsync_domain::SyncScope::AllUsers;
    assert_eq!(f.store.update_sync_configuration(changed.clone()).await.unwrap(), changed);
    assert_eq!(f.store.get_sync_configuration(a.config.id).await.unwrap(), changed);
    let mut moved = changed.clone();
    moved.target_tenant_id = a.source.id;
    moved.source_tenant_id = a.target.id;
    assert!(f.store.update_sync_configuration(moved).await.is_err(), "source and target are fixed");
    assert_eq!(f.store.get_sync_configuration(a.config.id).await.unwrap(), changed);
}

pub async fn delete_removes_the_configuration_and_its_state(f: Fixture) {
    let a = arrow(&f).await;
    f.store.set_job_state(a.config.id, at(7)).await.unwrap();
    f.store.delete_sync_configuration(a.config.id).await.unwrap();
    assert_code(f.store.get_sync_configuration(a.config.id).await, "sync_configuration_not_found");
    assert_code(f.store.job_state(a.config.id).await, "sync_configuration_not_found");
    assert!(f.store.list_sync_configurations().await.unwrap().is_empty());
    // The pair is free again, and the new configuration starts from scratch.
    let again = f.store.create_sync_configuration(config("again", &a)).await.unwrap();
    assert_eq!(f.store.job_state(again.id).await.unwrap(), JobState::default());
}

pub async fn unknown_configuration_is_not_found_everywhere(f: Fixture) {
    let a = arrow(&f).await;
    let id = SyncConfigId::new();
    let code = "sync_configuration_not_found";
    assert_code(f.store.get_sync_configuration(id).await, code);
    assert_code(f.store.job_state(id).await, code);
    assert_code(f.store.set_job_state(id, at(1)).await, code);
    assert_code(f.store.delete_sync_configuration(id).await, code);
    let mut ghost = a.config.clone();
    ghost.id = id;
    assert_code(f.store.update_sync_configuration(ghost).await, code);
}

pub async fn job_state_starts_empty_and_round_trips_escrows(f: Fixture) {
    let a = arrow(&f).await;
    assert_eq!(f.store.job_state(a.config.id).await.unwrap(), JobState::default());
    let began = f.clock.now();
    tick(&f, 3);
    let escrow = |kind, attempts| Escrow {
        source_object_id: ObjectId::new(),
        object_type: kind,
        error_code: "upn_conflict".into(),
        message: "userPrincipalName 'a@fabrikam.example' is already used in this tenant".into(),
        attempts,
        next_attempt: began,
    };
    let state = JobState {
        watermark: ChangeCursor(41),
        status: JobStatusCode::Quarantine,
        last_execution: Some(CycleExecution {
            cycle_id: "cycle-7".into(),
            state: ExecutionState::Failed,
            initial: false,
            time_began: began,
            time_ended: f.clock.now(),
            counters: CycleCounters { count_imported: 5, count_imported_deltas: 4, count_entitled: 3, count_exported: 2, count_escrowed: 1 },
            error: Some("boom".into()),
        }),
        escrows: vec![escrow(ObjectKind::User, 1), escrow(ObjectKind::Group, 9)],
        quarantine_reason: Some(QuarantineReason::TooManyDeletes),
        force_deletes: true,
    };
    f.store.set_job_state(a.config.id, state.clone()).await.unwrap();
    assert_eq!(f.store.job_state(a.config.id).await.unwrap(), state);
    // Replaced whole.
    f.store.set_job_state(a.config.id, at(42)).await.unwrap();
    assert_eq!(f.store.job_state(a.config.id).await.unwrap(), at(42));
}

/// Takes every notice already sent.
fn drain(rx: &mut broadcast::Receiver<JobNotice>) -> Vec<JobNotice> {
    let mut out = Vec::new();
    while let Ok(n) = rx.try_recv() {
        out.push(n);
    }
    out
}

/// Waits until `rx` has heard `want` (other notices may come too: they are hints).
pub async fn hear(rx: &mut broadcast::Receiver<JobNotice>, want: JobNotice) {
    within(&format!("notice {want:?}"), async {
        loop {
            match rx.recv().await {
                Ok(n) if n == want => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => panic!("job notices closed"),
            }
        }
    })
    .await;
}

pub async fn job_changes_notify_job_subscribers(f: Fixture) {
    let a = tenant(&f, "contoso.example").await;
    let b = tenant(&f, "fabrikam.example").await;
    let mut rx = f.store.subscribe_jobs();
    let c = f.store.create_sync_configuration(SyncConfiguration::new("arrow", a.id, b.id).unwrap()).await.unwrap();
    hear(&mut rx, JobNotice::Job(c.id)).await;
    f.store.set_job_state(c.id, at(3)).await.unwrap();
    hear(&mut rx, JobNotice::Job(c.id)).await;
    f.store.update_sync_configuration(c.clone()).await.unwrap();
    hear(&mut rx, JobNotice::Job(c.id)).await;
    f.store.set_partner_settings(b.id, Some(a.id), SOME).await.unwrap();
    hear(&mut rx, JobNotice::All).await;
    f.store.delete_sync_configuration(c.id).await.unwrap();
    hear(&mut rx, JobNotice::Job(c.id)).await;
    // Reads and directory writes say nothing to job subscribers.
    drain(&mut rx);
    f.store.job_state(SyncConfigId::new()).await.unwrap_err();
    f.store.create_user(a.id, new_user("u@contoso.example")).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(drain(&mut rx), Vec::<JobNotice>::new());
}

/// Reads every page of `read` (`limit` at a time from the key the last one ended on).
async fn walk<T, K: Copy, F: std::future::Future<Output = Vec<T>>>(limit: usize, key: impl Fn(&T) -> K, read: impl Fn(Option<K>) -> F) -> Vec<Vec<T>> {
    let (mut pages, mut after) = (Vec::new(), None);
    loop {
        let page = read(after).await;
        assert!(page.len() <= limit, "a page holds at most its limit");
        let full = page.len() == limit;
        after = page.last().map(&key);
        if !page.is_empty() {
            pages.push(page);
        }
        if !full {
            return pages;
        }
    }
}

pub async fn a_tenants_configurations_are_paged_at_either_end_and_counted(f: Fixture) {
    let hub = tenant(&f, "hub.example").await.id;
    let mut spokes = Vec::new();
    for i in 0..5 {
        spokes.push(tenant(&f, &format!("spoke{i}.example")).await.id);
    }
    let other = tenant(&f, "other.example").await.id;
    // Out to every spoke, back from the first three, and one arrow the hub is not on.
    for s in &spokes {
        f.store.create_sync_configuration(SyncConfiguration::new("out", hub, *s).unwrap()).await.unwrap();
    }
    for s in &spokes[..3] {
        f.store.create_sync_configuration(SyncConfiguration::new("in", *s, hub).unwrap()).await.unwrap();
    }
    f.store.create_sync_configuration(SyncConfiguration::new("elsewhere", spokes[4], other).unwrap()).await.unwrap();
    let mut by_id = spokes.clone();
    by_id.sort();
    let page = |end, after, limit| tenantsync_store::ConfigPage { tenant: hub, end, after, limit };
    use tenantsync_store::ConfigEnd::{Source, Target};
    let out = walk(
        2,
        |c: &SyncConfiguration| c.target_tenant_id,
        |after| {
            let s = f.store.clone();
            async move { s.sync_configurations_at(page(Source, after, 2)).await.unwrap() }
        },
    )
    .await;
    assert_eq!(out.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1], "five arrows out, two a page");
    let targets: Vec<TenantId> = out.iter().flatten().map(|c| c.target_tenant_id).collect();
    assert_eq!(targets, by_id, "ordered by the tenant at the other end, each once");
    assert!(out.iter().flatten().all(|c| c.source_tenant_id == hub && c.display_name == "out"));
    let inbound: Vec<SyncConfiguration> = f.store.sync_configurations_at(page(Target, None, 10)).await.unwrap();
    let mut sources: Vec<TenantId> = spokes[..3].to_vec();
    sources.sort();
    assert_eq!(inbound.iter().map(|c| c.source_tenant_id).collect::<Vec<_>>(), sources);
    assert!(inbound.iter().all(|c| c.target_tenant_id == hub && c.display_name == "in"));
    assert_eq!(f.store.count_sync_configurations_at(hub, Source).await.unwrap(), 5);
    assert_eq!(f.store.count_sync_configurations_at(hub, Target).await.unwrap(), 3);
    assert_eq!(f.store.count_sync_configurations_at(other, Source).await.unwrap(), 0);
    assert_eq!(f.store.count_sync_configurations_at(other, Target).await.unwrap(), 1);
    // After the last one: nothing.
    assert!(f.store.sync_configurations_at(page(Source, by_id.last().copied(), 10)).await.unwrap().is_empty());
    assert_code(f.store.sync_configurations_at(tenantsync_store::ConfigPage { tenant: TenantId::new(), ..page(Source, None, 10) }).await, "tenant_not_found");
    assert_code(f.store.count_sync_configurations_at(TenantId::new(), Target).await, "tenant_not_found");
}

pub async fn partners_and_tokens_are_paged_in_key_order(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let elsewhere = tenant(&f, "elsewhere.example").await.id;
    f.store.set_partner_settings(t, None, SOME).await.unwrap();
    let mut partners = Vec::new();
    for i in 0..5 {
        let p = TenantId::new();
        f.store.set_partner_settings(t, Some(p), PartnerSettings { inbound_user_sync: Some(i % 2 == 0), ..PartnerSettings::default() }).await.unwrap();
        partners.push(p);
    }
    f.store.set_partner_settings(elsewhere, Some(TenantId::new()), SOME).await.unwrap();
    let pages = walk(
        2,
        |(p, _): &(TenantId, PartnerSettings)| *p,
        |after| {
            let s = f.store.clone();
            async move { s.partner_settings_page(t, after, 2).await.unwrap() }
        },
    )
    .await;
    let listed: Vec<(TenantId, PartnerSettings)> = pages.into_iter().flatten().collect();
    assert_eq!(listed, f.store.partner_settings_list(t).await.unwrap(), "the pages are the list, the defaults not in it");
    assert_eq!(listed.len(), 5);
    assert_code(f.store.partner_settings_page(TenantId::new(), None, 2).await, "tenant_not_found");
    for (p, s) in &listed {
        assert_eq!(f.store.partner_settings_row(t, *p).await.unwrap(), Some(*s));
    }
    assert_eq!(f.store.partner_settings_row(t, TenantId::new()).await.unwrap(), None, "no row, no partner");
    assert_eq!(f.store.partner_settings_row(t, TenantId::from_bytes([0; 16])).await.unwrap(), None, "the defaults are not a partner");
    f.store.set_partner_settings(t, Some(elsewhere), PartnerSettings::default()).await.unwrap();
    assert_eq!(f.store.partner_settings_row(t, elsewhere).await.unwrap(), Some(PartnerSettings::default()), "a row set to nothing is one");
    assert_code(f.store.partner_settings_row(TenantId::new(), elsewhere).await, "tenant_not_found");

    let mut ids = Vec::new();
    for i in 0..5u8 {
        let token = tenantsync_store::NewApiToken {
            id: ObjectId::new(),
            tenant_id: t,
            name: format!("t{i}"),
            role: tenantsync_store::TokenRole::Admin,
            secret_hash: [i + 100; 32],
            expires_date_time: None,
        };
        ids.push(f.store.create_token(token).await.unwrap().id);
        tick(&f, 1);
    }
    let other = tenantsync_store::NewApiToken {
        id: ObjectId::new(),
        tenant_id: elsewhere,
        name: "x".into(),
        role: tenantsync_store::TokenRole::Scim,
        secret_hash: [99; 32],
        expires_date_time: None,
    };
    f.store.create_token(other).await.unwrap();
    let pages = walk(
        2,
        |x: &tenantsync_store::ApiToken| x.id,
        |after| {
            let s = f.store.clone();
            async move { s.tokens_page(t, after, 2).await.unwrap() }
        },
    )
    .await;
    let listed: Vec<ObjectId> = pages.iter().flatten().map(|x| x.id).collect();
    ids.sort();
    assert_eq!(listed, ids, "the tenant's own tokens, in id order, each once");
    assert!(pages.iter().flatten().all(|x| x.tenant_id == t));
    assert_code(f.store.tokens_page(TenantId::new(), None, 2).await, "tenant_not_found");
}
