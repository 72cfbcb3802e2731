//! Arbitrary SCIM requests through the real router (`tenantsync_server::router`) over a
//! real SQLite store in a temporary directory: no client input may produce a 5xx or a
//! panic.
//!
//! The first byte picks the request (POST/PUT/PATCH of a user or a group, `.search`,
//! Bulk, or a GET whose query string is the rest); the rest is the body (or the query
//! string), bytes as they come, so invalid UTF-8 and invalid JSON are tried too. A user
//! and a group (the user a member, with a manager) exist from the start; if a request
//! deletes one, it is restored before the next, so PUT and PATCH keep finding them.
#![no_main]

use axum::body::Body;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tenantsync_domain::{GroupAttributes, NewGroup, NewTenant, NewUser, ObjectId, TenantId, Upn, UserRef};
use tenantsync_server::Config;
use tenantsync_store::{Store, WriteOp};
use tenantsync_store_sqlite::SqliteStore;
use tower::ServiceExt;

struct World {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    store: Arc<SqliteStore>,
    tenant: TenantId,
    token: String,
    user: ObjectId,
    group: ObjectId,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let store = Arc::new(SqliteStore::open(dir.path()).expect("a store"));
        let (tenant, token, user, group) = rt.block_on(async {
            let t = store.create_tenant(NewTenant::new("Contoso", "contoso.example").expect("a tenant")).await.expect("the tenant");
            let issued = tenantsync_server::auth::issue(t.id, "fuzz".into(), tenantsync_store::TokenRole::Scim, None).expect("a token");
            store.create_token(issued.record).await.expect("the token");
            let boss = store.create_user(t.id, NewUser::new(Upn::parse("boss@contoso.example").expect("a UPN"))).await.expect("the boss");
            let mut u = NewUser::new(Upn::parse("ann@contoso.example").expect("a UPN"));
            u.manager = Some(UserRef::Id(boss.id));
            let u = store.create_user(t.id, u).await.expect("the user");
            let g = store.create_group(t.id, NewGroup::new(GroupAttributes::new("Sales").expect("a name"))).await.expect("the group");
            store.apply_one(t.id, WriteOp::AddMember { group: g.id, user: u.id, if_match: None }).await.expect("a member");
            (t.id, issued.token, u.id, g.id)
        });
        let app = tenantsync_server::router(store.clone(), Config { rate_per_second: 0, max_body_bytes: 64 * 1024, ..Config::default() });
        World { rt, app, store, tenant, token, user, group, _dir: dir }
    })
}

/// The request the first byte picks: method, path, and whether the rest is its body (else
/// its query string).
fn request(pick: u8, w: &World) -> (Method, String, bool) {
    let (u, g) = (w.user, w.group);
    match pick % 14 {
        0 => (Method::POST, "/Users".into(), true),
        1 => (Method::PUT, format!("/Users/{u}"), true),
        2 => (Method::PATCH, format!("/Users/{u}"), true),
        3 => (Method::POST, "/Groups".into(), true),
        4 => (Method::PUT, format!("/Groups/{g}"), true),
        5 => (Method::PATCH, format!("/Groups/{g}"), true),
        6 => (Method::POST, "/Users/.search".into(), true),
        7 => (Method::POST, "/Groups/.search".into(), true),
        8 => (Method::POST, "/.search".into(), true),
        9 => (Method::POST, "/Bulk".into(), true),
        10 => (Method::GET, "/Users?".into(), false),
        11 => (Method::GET, "/Groups?".into(), false),
        12 => (Method::GET, format!("/users/{u}/?"), false),
        _ => (Method::PATCH, format!("/users/{u}/"), true),
    }
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let Some((&pick, rest)) = data.split_first() else { return };
    let (method, path, with_body) = request(pick, w);
    let (uri, body) = if with_body {
        (format!("/scim/v2/contoso.example{path}"), Body::from(rest.to_vec()))
    } else {
        // The rest as the query string: percent-encoded where it has to be.
        let mut q = String::new();
        for &b in rest {
            if b.is_ascii_alphanumeric() || b"-._~=&%+,:".contains(&b) {
                q.push(char::from(b));
            } else {
                q.push_str(&format!("%{b:02X}"));
            }
        }
        (format!("/scim/v2/contoso.example{path}{q}"), Body::empty())
    };
    let Ok(req) = Request::builder()
        .method(method.clone())
        .uri(&uri)
        .header("authorization", format!("Bearer {}", w.token))
        .header("content-type", "application/scim+json")
        .body(body)
    else {
        return;
    };
    w.rt.block_on(async {
        let res = w.app.clone().oneshot(req).await.expect("the router is infallible");
        let status = res.status();
        if status.is_server_error() {
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap_or_default();
            panic!("{method} {uri} answered {status}: {}\nbody: {}", String::from_utf8_lossy(&bytes), String::from_utf8_lossy(rest));
        }
        // Keep the fixtures for the next input.
        for (id, user) in [(w.user, true), (w.group, false)] {
            let deleted =
                if user { w.store.get_user(w.tenant, id).await.map(|u| u.is_deleted()) } else { w.store.get_group(w.tenant, id).await.map(|g| g.is_deleted()) };
            if deleted.unwrap_or(false) {
                let op = if user { WriteOp::RestoreUser { id, if_match: None } } else { WriteOp::RestoreGroup { id, if_match: None } };
                let _ = w.store.apply_one(w.tenant, op).await;
            }
        }
    });
});
