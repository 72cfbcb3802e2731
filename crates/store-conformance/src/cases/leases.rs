//! Job leases (a cycle runs at most once at a time, across processes) and what other
//! processes on the same storage hear: commits and job changes.
use crate::Fixture;
use crate::cases::configs::hear;
use crate::support::*;
use tenantsync_domain::{ChangeCursor, SyncConfigId, SyncConfiguration};
use tenantsync_store::JobNotice;

pub async fn a_held_lease_is_not_granted_twice(f: Fixture) {
    let a = arrow(&f).await;
    let lease = f.store.try_lease_job(a.config.id).await.unwrap().expect("a free lease is granted");
    assert!(f.store.try_lease_job(a.config.id).await.unwrap().is_none(), "held: not granted again");
    drop(lease);
    // One worker runs a job's cycles one after another: a lease it dropped is granted to
    // it again at once, not after the storage has noticed (the engine's next cycle would
    // otherwise fail with `job_leased`).
    for round in 0..20 {
        let lease = f.store.try_lease_job(a.config.id).await.unwrap();
        assert!(lease.is_some(), "round {round}: a lease this store dropped is granted again at once");
    }
}

pub async fn a_lease_of_another_store_on_the_same_storage_excludes(f: Fixture) {
    let a = arrow(&f).await;
    let other = (f.reopen)().await;
    let lease = other.try_lease_job(a.config.id).await.unwrap().expect("granted to the other store");
    assert!(f.store.try_lease_job(a.config.id).await.unwrap().is_none(), "held by another process");
    drop(lease);
    let _held = within("the other process's lease to end", async {
        loop {
            if let Some(lease) = f.store.try_lease_job(a.config.id).await.unwrap() {
                return lease;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(other.try_lease_job(a.config.id).await.unwrap().is_none(), "now held here");
}

pub async fn leases_of_different_jobs_are_independent(f: Fixture) {
    let a = arrow(&f).await;
    let back = f.store.create_sync_configuration(SyncConfiguration::new("back", a.target.id, a.source.id).unwrap()).await.unwrap();
    let one = f.store.try_lease_job(a.config.id).await.unwrap();
    let two = f.store.try_lease_job(back.id).await.unwrap();
    assert!(one.is_some() && two.is_some());
}

pub async fn a_lease_of_an_unknown_job_is_not_found(f: Fixture) {
    arrow(&f).await;
    assert_code(f.store.try_lease_job(SyncConfigId::new()).await, "sync_configuration_not_found");
}

pub async fn commits_of_another_store_are_heard(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut rx = f.store.subscribe();
    let other = (f.reopen)().await;
    // The subscription may take a moment to reach the other process: write until heard.
    within("a commit of another process", async {
        let mut n = 0;
        loop {
            n += 1;
            other.create_user(t, new_user(&format!("u{n}@contoso.example"))).await.unwrap();
            match tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await {
                Ok(Ok(notice)) => {
                    assert_eq!(notice.tenant_id, t);
                    assert!(notice.head >= ChangeCursor(1) && notice.head <= ChangeCursor(n));
                    return;
                }
                Ok(Err(e)) => panic!("{e:?}"),
                Err(_) => continue,
            }
        }
    })
    .await;
    let head = other.change_head(t).await.unwrap();
    assert_eq!(within("wait_for_changes", f.store.wait_for_changes(t, ChangeCursor::START)).await.unwrap(), head);
}

pub async fn job_changes_of_another_store_are_heard(f: Fixture) {
    let a = arrow(&f).await;
    let mut rx = f.store.subscribe_jobs();
    let other = (f.reopen)().await;
    within("a job change of another process", async {
        let mut n = 0u64;
        loop {
            n += 1;
            other.set_job_state(a.config.id, at(n)).await.unwrap();
            match tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await {
                Ok(Ok(JobNotice::Job(id))) if id == a.config.id => return,
                // A store that hears other processes through a connection of its own
                // wakes everyone when that connection is made (it may have missed
                // notices): before the job's notice, never after it.
                Ok(Ok(JobNotice::All)) => continue,
                Ok(Ok(other)) => panic!("unexpected notice {other:?}"),
                Ok(Err(e)) => panic!("{e:?}"),
                Err(_) => continue,
            }
        }
    })
    .await;
    other.set_partner_settings(a.target.id, Some(a.source.id), tenantsync_domain::PartnerSettings::default()).await.unwrap();
    hear(&mut rx, JobNotice::All).await;
}
