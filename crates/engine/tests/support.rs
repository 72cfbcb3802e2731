use std::collections::BTreeSet;
use std::sync::Arc;
use tenantsync_domain::{
    Anchor, Assignment, AttrValue, Group, GroupAttributes, NewGroup, NewTenant, NewUser, ObjectId, PartnerSettings, SyncConfiguration, Tenant, TenantId, Upn,
    User, UserPatch,
};
use tenantsync_engine::{CycleReport, Engine};
use tenantsync_store::{ListQuery, SyncStore, WriteOp};
use tenantsync_store_conformance::pg_cluster;
use tenantsync_store_postgres::PgStore;
use tenantsync_store_sqlite::SqliteStore;

/// A store and an engine on it: the SQLite store in a temporary directory (most tests), or
/// the PostgreSQL store in a fresh schema of the throwaway cluster, so that a test body
/// written once runs on both.
pub struct World {
    pub engine: Engine,
    pub store: Arc<dyn SyncStore>,
    /// The one clock of the store and the engine: it stands still until a test moves it.
    pub clock: Arc<tenantsync_domain::FixedClock>,
    backing: Backing,
}

/// Where a world's store keeps its data.
enum Backing {
    Sqlite(tempfile::TempDir),
    /// The URL of the world's own schema.
    Postgres(String),
}

pub const ALLOW: PartnerSettings =
    PartnerSettings { inbound_auto_redeem: Some(true), outbound_auto_redeem: Some(true), inbound_user_sync: Some(true), inbound_group_sync: Some(true) };

impl World {
    pub fn new() -> World {
        Self::with_limits(tenantsync_engine::Limits::default())
    }

    /// A world whose engine keeps to `limits` (tiny ones exercise what big cycles do).
    pub fn with_limits(limits: tenantsync_engine::Limits) -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(tenantsync_domain::FixedClock::new(jiff::Timestamp::now()));
        let store: Arc<dyn SyncStore> = Arc::new(SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap());
        World { engine: Engine::with_limits(store.clone(), limits), store, clock, backing: Backing::Sqlite(dir) }
    }

    /// A world on the PostgreSQL store, in a schema of its own (created here) of the test
    /// cluster (started on first use; it ends with the test process).
    pub async fn postgres() -> World {
        let schema = pg_cluster::new_schema_name();
        let (client, connection) = tokio_postgres::connect(pg_cluster::url(), tokio_postgres::NoTls).await.unwrap();
        let task = tokio::spawn(connection);
        client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
        drop(client);
        let _ = task.await;
        let url = pg_cluster::schema_url(&schema);
        let clock = Arc::new(tenantsync_domain::FixedClock::new(jiff::Timestamp::now()));
        let store: Arc<dyn SyncStore> = Arc::new(PgStore::open_with_clock(&url, clock.clone()).await.unwrap());
        World { engine: Engine::new(store.clone()), store, clock, backing: Backing::Postgres(url) }
    }

    /// A second store on the same data: its commits are those of another process (no
    /// in-process notification reaches this world's subscribers).
    pub async fn other_process(&self) -> Arc<dyn SyncStore> {
        match &self.backing {
            Backing::Sqlite(dir) => Arc::new(SqliteStore::open(dir.path()).unwrap()),
            Backing::Postgres(url) => Arc::new(PgStore::open(url).await.unwrap()),
        }
    }

    pub async fn tenant(&self, name: &str) -> Tenant {
        let t = self.store.create_tenant(NewTenant::new(name, &format!("{}.example", name.to_lowercase())).unwrap()).await.unwrap();
        // Every tenant allows everything by default, unless a test says otherwise.
        self.store.set_partner_settings(t.id, None, ALLOW).await.unwrap();
        t
    }

    pub async fn user(&self, t: &Tenant, local: &str, pairs: &[(&str, &str)]) -> User {
        let mut all: Vec<(&str, AttrValue)> = vec![("userPrincipalName", AttrValue::String(format!("{local}@{}", t.initial_domain)))];
        all.extend(pairs.iter().map(|(k, v)| (*k, AttrValue::String((*v).to_owned()))));
        self.store.create_user(t.id, NewUser::from_pairs(all).unwrap()).await.unwrap()
    }

    pub async fn update(&self, t: &Tenant, u: &User, pairs: &[(&str, &str)]) -> User {
        let patch =
            UserPatch::from_pairs(pairs.iter().map(|(k, v)| (*k, if v.is_empty() { AttrValue::Null } else { AttrValue::String((*v).to_owned()) }))).unwrap();
        self.store.update_user(t.id, u.id, patch, None).await.unwrap()
    }

    /// A configuration syncing all users from `s` to `t`.
    pub async fn arrow(&self, s: &Tenant, t: &Tenant, f: impl FnOnce(&mut SyncConfiguration)) -> SyncConfiguration {
        let mut c = SyncConfiguration::new(&format!("{} to {}", s.display_name, t.display_name), s.id, t.id).unwrap();
        c.scope = tenantsync_domain::SyncScope::AllUsers;
        f(&mut c);
        self.engine.create_configuration(c).await.unwrap()
    }

    pub async fn run(&self, c: &SyncConfiguration) -> CycleReport {
        self.engine.run_cycle(c.id).await.unwrap()
    }

    /// The copy of `u` in tenant `t`, if any (soft-deleted ones too).
    pub async fn copy(&self, t: &Tenant, u: &User) -> Option<User> {
        self.store.find_user_by_anchor(t.id, &Anchor::new(u.tenant_id, u.id)).await.unwrap()
    }

    pub async fn count(&self, t: TenantId) -> u64 {
        self.store.count_users(t, tenantsync_store::Visibility::Active).await.unwrap()
    }

    /// A group of `t` with these direct members.
    pub async fn group(&self, t: &Tenant, name: &str, members: &[&User]) -> Group {
        let mut attrs = GroupAttributes::new(name).unwrap();
        attrs.description = Some(format!("The {name} people"));
        attrs.mail_nickname = Some(name.to_lowercase().replace(' ', "-"));
        let g = self.store.create_group(t.id, NewGroup::new(attrs)).await.unwrap();
        for m in members {
            self.store.apply_one(t.id, WriteOp::AddMember { group: g.id, user: m.id, if_match: None }).await.unwrap();
        }
        self.store.get_group(t.id, g.id).await.unwrap()
    }

    /// The copy of group `g` in tenant `t`, if any (soft-deleted ones too).
    pub async fn group_copy(&self, t: &Tenant, g: &Group) -> Option<Group> {
        self.store.find_group_by_anchor(t.id, &Anchor::new(g.tenant_id, g.id)).await.unwrap()
    }

    /// The live direct members of a group of `t`.
    pub async fn members(&self, t: &Tenant, group: ObjectId) -> BTreeSet<ObjectId> {
        let page = self.store.list_members(t.id, group, &ListQuery { limit: 1000, ..ListQuery::default() }).await.unwrap();
        page.items.into_iter().map(|u| u.id).collect()
    }

    /// An assigned-scope configuration from `s` to `t` provisioning groups, with these
    /// assignments.
    pub async fn group_arrow(&self, s: &Tenant, t: &Tenant, assignments: Vec<Assignment>, f: impl FnOnce(&mut SyncConfiguration)) -> SyncConfiguration {
        self.arrow(s, t, |c| {
            c.scope = tenantsync_domain::SyncScope::AssignedUsersAndGroups;
            c.assignments = assignments;
            c.provision_groups = true;
            f(c);
        })
        .await
    }

    pub fn upn(s: &str) -> Upn {
        Upn::parse(s).unwrap()
    }
}
