//! The conformance cases of [`ConnectorStore`] (connectors' definitions, links and state),
//! stamped by [`connector_conformance_tests!`](crate::connector_conformance_tests) into the
//! test binary of each store.
use crate::support::assert_code;
use jiff::Timestamp;
use std::sync::Arc;
use tenantsync_domain::{FixedClock, NewTenant, ObjectId, ObjectKind, TenantId};
use tenantsync_store::{ConnectorKey, ConnectorRecord, ConnectorStep, ConnectorStore, Link, LinkFault, Seen, Store};

/// A store with both traits.
pub trait ConnectorFullStore: Store + ConnectorStore {}
impl<T: Store + ConnectorStore> ConnectorFullStore for T {}

/// A fresh, empty store for one connector case.
pub struct ConnectorFixture {
    pub store: Arc<dyn ConnectorFullStore>,
    pub clock: Arc<FixedClock>,
    pub guard: Box<dyn std::any::Any + Send>,
}

impl std::fmt::Debug for ConnectorFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorFixture").finish_non_exhaustive()
    }
}

/// Stamps one `#[tokio::test]` per connector case into module `connector_store`.
#[macro_export]
macro_rules! connector_conformance_tests {
    ($factory:path) => {
        mod connector_store {
            #[allow(unused_imports)]
            use super::*;
            $crate::__connector_cases!($factory;
                connectors_are_named_once_and_belong_to_a_tenant,
                a_step_writes_links_and_state_together,
                links_are_found_by_object_by_external_id_and_by_fault,
                deleting_a_connector_takes_its_links,
                a_reconciliation_finds_the_links_it_did_not_see,
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __connector_cases {
    ($factory:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::connector::$case($factory($crate::start_clock()).await).await
            }
        )*
    };
}

async fn tenant(f: &ConnectorFixture, domain: &str) -> TenantId {
    f.store.create_tenant(NewTenant::new(domain, domain).unwrap()).await.unwrap().id
}

fn record(name: &str, tenant: TenantId, at: Timestamp) -> ConnectorRecord {
    ConnectorRecord { id: ObjectId::new(), name: name.into(), tenant, created: at, body: serde_json::json!({"protocol": "scim", "url": "http://x"}) }
}

fn link(object: ObjectId, external: Option<&str>) -> Link {
    Link {
        object,
        kind: ObjectKind::User,
        external_id: external.map(Into::into),
        digest: Some(vec![1, 2, 3]),
        exported: Some(serde_json::json!({"userName": "a"})),
        fault: None,
    }
}

fn now(f: &ConnectorFixture) -> Timestamp {
    tenantsync_domain::Clock::now(f.clock.as_ref())
}

pub async fn connectors_are_named_once_and_belong_to_a_tenant(f: ConnectorFixture) {
    let t = tenant(&f, "app.example").await;
    let at = now(&f);
    let a = record("app", t, at);
    f.store.create_connector(a.clone()).await.unwrap();
    assert_code(f.store.create_connector(record("app", t, at)).await, "connector_conflict");
    assert_code(f.store.create_connector(record("other", TenantId::new(), at)).await, "tenant_not_found");
    assert_eq!(f.store.connector_by_name("app").await.unwrap(), Some(a.clone()));
    assert_eq!(f.store.connector_by_name("nope").await.unwrap(), None);

    let b = record("another", t, at);
    f.store.create_connector(b.clone()).await.unwrap();
    let names: Vec<String> = f.store.connectors().await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["another", "app"]);

    let mut changed = a.clone();
    changed.body = serde_json::json!({"protocol": "scim", "url": "http://y"});
    f.store.update_connector(changed.clone()).await.unwrap();
    assert_eq!(f.store.connector_by_name("app").await.unwrap().unwrap().body, changed.body);
    assert_code(f.store.update_connector(record("ghost", t, at)).await, "connector_not_found");
    assert_eq!(f.store.connector_state(a.key()).await.unwrap(), None);

    // One holder of a connector's lease at a time; it ends with its guard.
    let lease = f.store.try_lease_connector(a.key()).await.unwrap();
    assert!(lease.is_some());
    assert!(f.store.try_lease_connector(a.key()).await.unwrap().is_none());
    assert!(f.store.try_lease_connector(b.key()).await.unwrap().is_some(), "another connector's lease is its own");
    drop(lease);
    assert!(f.store.try_lease_connector(a.key()).await.unwrap().is_some());
    assert_code(f.store.try_lease_connector(ConnectorKey { tenant: t, id: ObjectId::new() }).await, "connector_not_found");
}

pub async fn a_step_writes_links_and_state_together(f: ConnectorFixture) {
    let t = tenant(&f, "app.example").await;
    let c = record("app", t, now(&f));
    f.store.create_connector(c.clone()).await.unwrap();
    let key = c.key();
    let (u1, u2) = (ObjectId::new(), ObjectId::new());
    let step = ConnectorStep {
        links: vec![link(u1, Some("ext-1")), link(u2, Some("ext-2"))],
        unlinked: vec![],
        state: Some(serde_json::json!({"cursor": 5})),
        seen: None,
    };
    f.store.commit_connector(key, step).await.unwrap();
    assert_eq!(f.store.connector_state(key).await.unwrap(), Some(serde_json::json!({"cursor": 5})));
    assert_eq!(f.store.link_counts(key).await.unwrap(), (2, 0));

    // Two objects cannot share an external id: the step is refused whole.
    let clash = ConnectorStep {
        links: vec![link(ObjectId::new(), None), link(ObjectId::new(), Some("ext-1"))],
        unlinked: vec![u2],
        state: Some(serde_json::json!({"cursor": 9})),
        seen: None,
    };
    assert_code(f.store.commit_connector(key, clash).await, "access_conflict");
    assert_eq!(f.store.connector_state(key).await.unwrap(), Some(serde_json::json!({"cursor": 5})));
    assert_eq!(f.store.link_counts(key).await.unwrap(), (2, 0));

    // A link is replaced whole; an unlink removes it.
    let mut moved = link(u1, Some("ext-1b"));
    moved.exported = Some(serde_json::json!({"userName": "b"}));
    f.store.commit_connector(key, ConnectorStep { links: vec![moved.clone()], unlinked: vec![u2], state: None, seen: None }).await.unwrap();
    assert_eq!(f.store.links(key, &[u1, u2]).await.unwrap(), vec![moved]);
    assert_eq!(f.store.connector_state(key).await.unwrap(), Some(serde_json::json!({"cursor": 5})));
    let ghost = ConnectorKey { tenant: t, id: ObjectId::new() };
    assert_code(f.store.commit_connector(ghost, ConnectorStep::default()).await, "connector_not_found");
}

pub async fn links_are_found_by_object_by_external_id_and_by_fault(f: ConnectorFixture) {
    let t = tenant(&f, "app.example").await;
    let c = record("app", t, now(&f));
    f.store.create_connector(c.clone()).await.unwrap();
    let other = record("other", t, now(&f));
    f.store.create_connector(other.clone()).await.unwrap();
    let key = c.key();
    let at = now(&f);
    let mut ids: Vec<ObjectId> = (0..5).map(|_| ObjectId::new()).collect();
    ids.sort();
    let mut all = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let mut l = link(*id, Some(&format!("ext-{i}")));
        if i % 2 == 1 {
            l.external_id = None;
            l.fault = Some(LinkFault { error: format!("boom {i}"), attempts: i as u32, retry_at: at + jiff::SignedDuration::from_secs(60 * i as i64) });
        }
        all.push(l);
    }
    f.store.commit_connector(key, ConnectorStep { links: all.clone(), unlinked: vec![], state: None, seen: None }).await.unwrap();
    // The same object ids under another connector do not mix.
    f.store.commit_connector(other.key(), ConnectorStep { links: vec![link(ids[0], Some("ext-0"))], unlinked: vec![], state: None, seen: None }).await.unwrap();

    let found = f.store.link_by_external_id(key, "ext-2").await.unwrap().unwrap();
    assert_eq!(found, all[2]);
    assert_eq!(f.store.link_by_external_id(key, "ext-1").await.unwrap(), None);
    let first = f.store.link_page(key, None, 2).await.unwrap();
    assert_eq!(first, all[..2].to_vec());
    let rest = f.store.link_page(key, Some(ids[1]), 10).await.unwrap();
    assert_eq!(rest, all[2..].to_vec());
    // Due at +60 s: only the fault of index 1; at +180 s also index 3, soonest first.
    assert_eq!(f.store.due_faults(key, at + jiff::SignedDuration::from_secs(60), 10).await.unwrap(), vec![all[1].clone()]);
    assert_eq!(f.store.due_faults(key, at + jiff::SignedDuration::from_secs(180), 10).await.unwrap(), vec![all[1].clone(), all[3].clone()]);
    assert_eq!(f.store.link_counts(key).await.unwrap(), (5, 2));
    let mut some = f.store.links(key, &[ids[4], ids[0], ObjectId::new()]).await.unwrap();
    some.sort_by_key(|l| l.object);
    assert_eq!(some, vec![all[0].clone(), all[4].clone()]);
}

pub async fn deleting_a_connector_takes_its_links(f: ConnectorFixture) {
    let t = tenant(&f, "app.example").await;
    let c = record("app", t, now(&f));
    f.store.create_connector(c.clone()).await.unwrap();
    f.store
        .commit_connector(c.key(), ConnectorStep { links: vec![link(ObjectId::new(), Some("x"))], unlinked: vec![], state: None, seen: None })
        .await
        .unwrap();
    assert!(f.store.delete_connector(c.key()).await.unwrap());
    assert!(!f.store.delete_connector(c.key()).await.unwrap());
    assert_eq!(f.store.connector_by_name("app").await.unwrap(), None);
    // A new connector of the same name starts with no links.
    let again = record("app", t, now(&f));
    f.store.create_connector(again.clone()).await.unwrap();
    assert_eq!(f.store.link_counts(again.key()).await.unwrap(), (0, 0));
    assert_eq!(f.store.link_by_external_id(again.key(), "x").await.unwrap(), None);
}

pub async fn a_reconciliation_finds_the_links_it_did_not_see(f: ConnectorFixture) {
    let t = tenant(&f, "hr.example").await;
    let c = record("hr", t, now(&f));
    f.store.create_connector(c.clone()).await.unwrap();
    let other = record("other", t, now(&f));
    f.store.create_connector(other.clone()).await.unwrap();
    let key = c.key();
    let mut ids: Vec<ObjectId> = (0..5).map(|_| ObjectId::new()).collect();
    ids.sort();
    // Four links with external ids and one without (an export's link not yet made).
    let mut all: Vec<Link> = ids.iter().enumerate().map(|(i, id)| link(*id, Some(&format!("ext-{i}")))).collect();
    if let Some(l) = all.get_mut(4) {
        l.external_id = None;
    }
    f.store.commit_connector(key, ConnectorStep { links: all.clone(), ..ConnectorStep::default() }).await.unwrap();
    f.store.commit_connector(other.key(), ConnectorStep { links: vec![link(ids[0], Some("ext-0"))], ..ConnectorStep::default() }).await.unwrap();
    // Before any reconciliation marks them, every link holding an external id is unseen.
    assert_eq!(f.store.unseen_links(key, 1, None, 10).await.unwrap(), all[..4].to_vec());

    // Generation 1 sees ext-0 and ext-2 (in two steps, with an id no link holds), and the
    // mark commits with the step's links: a link written in the same step is marked too.
    let seen = |ids: &[&str]| Some(Seen { generation: 1, external_ids: ids.iter().map(|s| (*s).to_owned()).collect() });
    f.store.commit_connector(key, ConnectorStep { seen: seen(&["ext-0", "nobody"]), ..ConnectorStep::default() }).await.unwrap();
    let mut again = all[2].clone();
    again.digest = Some(vec![9]);
    f.store.commit_connector(key, ConnectorStep { links: vec![again.clone()], seen: seen(&["ext-2"]), ..ConnectorStep::default() }).await.unwrap();
    assert_eq!(f.store.unseen_links(key, 1, None, 10).await.unwrap(), vec![all[1].clone(), all[3].clone()]);
    // Page by page, in object order.
    assert_eq!(f.store.unseen_links(key, 1, None, 1).await.unwrap(), vec![all[1].clone()]);
    assert_eq!(f.store.unseen_links(key, 1, Some(ids[1]), 10).await.unwrap(), vec![all[3].clone()]);
    // Rewriting a link keeps its mark; the next generation starts with nothing seen.
    f.store.commit_connector(key, ConnectorStep { links: vec![again.clone()], ..ConnectorStep::default() }).await.unwrap();
    assert_eq!(f.store.unseen_links(key, 1, None, 10).await.unwrap().len(), 2);
    assert_eq!(f.store.unseen_links(key, 2, None, 10).await.unwrap(), vec![all[0].clone(), all[1].clone(), again, all[3].clone()]);
    // The other connector's link of the same external id was not marked.
    assert_eq!(f.store.unseen_links(other.key(), 1, None, 10).await.unwrap().len(), 1);
    // A link's mark read by its external id: the generation, none before any, none for an
    // id no link holds or another connector's.
    assert_eq!(f.store.link_seen(key, "ext-2").await.unwrap(), Some(1));
    assert_eq!(f.store.link_seen(key, "ext-1").await.unwrap(), None);
    assert_eq!(f.store.link_seen(key, "nobody").await.unwrap(), None);
    assert_eq!(f.store.link_seen(other.key(), "ext-0").await.unwrap(), None);
    f.store
        .commit_connector(key, ConnectorStep { seen: Some(Seen { generation: 7, external_ids: vec!["ext-2".into()] }), ..ConnectorStep::default() })
        .await
        .unwrap();
    assert_eq!(f.store.link_seen(key, "ext-2").await.unwrap(), Some(7));
}
