//! Delta queries: a snapshot first, then only what changed, removals marked, tokens that
//! can be used again.
use crate::graph_support::{Api, admin_token, local};
use crate::support::Server;
use serde_json::{Value, json};
use tenantsync_domain::{UserPatch, UserRef};
use tenantsync_store::{BatchMode, TokenRole, WriteOp};

/// Follows a delta round from `path` to its deltaLink: every object, and the deltaLink.
async fn round(api: &Api<'_>, path: &str, page: usize) -> (Vec<Value>, String, usize) {
    let prefer = format!("odata.maxpagesize={page}");
    let (mut url, mut all, mut pages) = (path.to_owned(), Vec::new(), 0);
    loop {
        let r = api.get_with(&url, &[("Prefer", &prefer)]).await;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        pages += 1;
        let value = r.body["value"].as_array().unwrap();
        assert!(value.len() <= page, "a page holds at most {page}");
        all.extend(value.iter().cloned());
        if let Some(next) = r.body["@odata.nextLink"].as_str() {
            assert!(r.body.get("@odata.deltaLink").is_none());
            url = local(next);
            continue;
        }
        let delta = r.body["@odata.deltaLink"].as_str().expect("a round ends with a deltaLink");
        assert!(delta.starts_with("http://"), "absolute");
        return (all, local(delta), pages);
    }
}

fn ids(v: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_delta_snapshot_changes_removals_and_reuse() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(api.user(&format!("d{i}@contoso.example"), &format!("D {i}")).await);
    }
    // The snapshot: every user, paged, with parentheses as msgraph-sdk sends it.
    let (snapshot, delta, pages) = round(&api, "/v1.0/users/delta()", 2).await;
    assert_eq!(pages, 3);
    let mut expected = users.clone();
    expected.sort();
    assert_eq!(ids(&snapshot), expected);
    assert!(snapshot.iter().all(|u| u["userPrincipalName"].is_string()), "whole objects");

    // Nothing changed: an empty round ending in a deltaLink.
    let (none, _, _) = round(&api, &delta, 2).await;
    assert!(none.is_empty());

    // Changes: a create, an update, a soft delete and a hard delete.
    let new = api.user("d9@contoso.example", "D 9").await;
    assert_eq!(api.patch(&format!("/v1.0/users/{}", users[0]), json!({"jobTitle": "Lead"})).await.status, 204);
    assert_eq!(api.delete(&format!("/v1.0/users/{}", users[1])).await.status, 204);
    let hard: tenantsync_domain::ObjectId = users[2].parse().unwrap();
    s.store.apply(s.tenant.id, vec![WriteOp::HardDeleteUser { id: hard, if_match: None }], BatchMode::Atomic).await.unwrap();

    let (changes, next, _) = round(&api, &delta, 2).await;
    let mut want = vec![new.clone(), users[0].clone(), users[1].clone(), users[2].clone()];
    want.sort();
    assert_eq!(ids(&changes), want, "only what changed");
    let by = |id: &str| changes.iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(by(&users[0])["jobTitle"], "Lead");
    assert_eq!(by(&new)["userPrincipalName"], "d9@contoso.example");
    assert_eq!(by(&users[1])["@removed"], json!({"reason": "changed"}), "soft delete");
    assert_eq!(by(&users[2])["@removed"], json!({"reason": "deleted"}), "hard delete");

    // The same deltaLink again gives the same changes; the new one gives none.
    let (again, _, _) = round(&api, &delta, 3).await;
    assert_eq!(ids(&again), ids(&changes));
    assert!(round(&api, &next, 2).await.0.is_empty());

    // `latest`: no objects, a deltaLink at the head.
    let r = api.get("/v1.0/users/delta?$deltatoken=latest").await;
    assert!(r.body["value"].as_array().unwrap().is_empty());
    assert!(round(&api, &local(r.body["@odata.deltaLink"].as_str().unwrap()), 2).await.0.is_empty());

    // $select projects; a token of another resource or garbage is refused.
    let r = api.get("/v1.0/users/delta?$select=displayName").await;
    assert_eq!(r.body["value"][0].as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "displayName"]);
    let token = delta.split("$deltatoken=").nth(1).unwrap();
    assert_eq!(api.get(&format!("/v1.0/groups/delta?$deltatoken={token}")).await.status, 400);
    assert_eq!(api.get("/v1.0/users/delta?$deltatoken=nonsense").await.status, 400);
    assert_eq!(api.get("/v1.0/users/delta?$top=5").await.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_delta_carries_member_changes() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let a = api.user("a@contoso.example", "A").await;
    let b = api.user("b@contoso.example", "B").await;
    let g = api.post("/v1.0/groups", json!({"displayName": "G", "members@odata.bind": [format!("https://x/v1.0/users/{a}")]})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (snapshot, delta, _) = round(&api, "/v1.0/groups/delta", 10).await;
    assert_eq!(snapshot.len(), 1);
    assert_eq!(snapshot[0]["members@delta"], json!([{"@odata.type": "#microsoft.graph.user", "id": a}]));
    api.post(&format!("/v1.0/groups/{g}/members/$ref"), json!({"@odata.id": format!("https://x/v1.0/directoryObjects/{b}")})).await;
    api.delete(&format!("/v1.0/groups/{g}/members/{a}/$ref")).await;
    let (changes, _, _) = round(&api, &delta, 10).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        changes[0]["members@delta"],
        json!([{"@odata.type": "#microsoft.graph.user", "id": b}, {"@odata.type": "#microsoft.graph.user", "id": a, "@removed": {"reason": "deleted"}}])
    );
    // User deltas do not show group changes.
    let (_, users_delta, _) = round(&api, "/v1.0/users/delta", 10).await;
    api.patch(&format!("/v1.0/groups/{g}"), json!({"description": "x"})).await;
    assert!(round(&api, &users_delta, 10).await.0.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_group_is_split_over_pages_and_managers_come_by_select() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let boss = api.user("boss@contoso.example", "Boss").await;
    let mut people = Vec::new();
    for i in 0..7 {
        people.push(api.user(&format!("p{i}@contoso.example"), "P").await);
    }
    let binds: Vec<String> = people.iter().chain([&boss]).map(|id| format!("https://x/v1.0/users/{id}")).collect();
    api.post("/v1.0/groups", json!({"displayName": "Big", "members@odata.bind": binds})).await;
    api.post("/v1.0/groups", json!({"displayName": "Small"})).await;

    // A page of one object holds five member references: Big (8 members) comes twice in a
    // row, its parts adding up to its members, each once.
    let (snapshot, _, _) = round(&api, "/v1.0/groups/delta", 1).await;
    let big: Vec<&Value> = snapshot.iter().filter(|g| g["displayName"] == "Big").collect();
    assert_eq!(big.len(), 2, "{snapshot:?}");
    assert_eq!(big[0]["members@delta"].as_array().unwrap().len(), 5);
    let mut all: Vec<Value> = big.iter().flat_map(|g| g["members@delta"].as_array().unwrap().clone()).collect();
    let mut want: Vec<String> = people.clone();
    want.push(boss.clone());
    want.sort();
    assert_eq!(ids(&all), want);
    all.dedup();
    assert_eq!(all.len(), 8);
    assert_eq!(snapshot.iter().filter(|g| g["displayName"] == "Small").count(), 1);
    // A page size that holds them all shows it once.
    assert_eq!(round(&api, "/v1.0/groups/delta", 10).await.0.len(), 2);

    // manager@delta: the manager as a reference, an empty list for none.
    let (p0_id, boss_id): (tenantsync_domain::ObjectId, tenantsync_domain::ObjectId) = (people[0].parse().unwrap(), boss.parse().unwrap());
    let patch = UserPatch { set: Vec::new(), manager: Some(Some(UserRef::Id(boss_id))) };
    s.store.apply(s.tenant.id, vec![WriteOp::UpdateUser { id: p0_id, patch, if_match: None }], BatchMode::Atomic).await.unwrap();
    let (users, delta, _) = round(&api, "/v1.0/users/delta?$select=displayName,manager", 10).await;
    let p0 = users.iter().find(|u| u["id"] == people[0].as_str()).unwrap();
    assert_eq!(p0["manager@delta"], json!([{"@odata.type": "#microsoft.graph.user", "id": boss}]));
    assert_eq!(p0.as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "displayName", "manager@delta"]);
    assert_eq!(users.iter().find(|u| u["id"] == boss.as_str()).unwrap()["manager@delta"], json!([]));
    assert!(delta.contains("manager"), "the deltaLink keeps the $select");
    assert_eq!(api.get("/v1.0/groups/delta?$select=manager").await.status, 400);
}
