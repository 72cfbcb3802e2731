//! A client of the admin API for the tests: a token, JSON in and out.
use crate::support::{Res, Server};
use serde_json::Value;
use tenantsync_domain::TenantId;
use tenantsync_store::TokenRole;

/// A token of the server's tenant with `role`, named after the role (`Admin`, …).
pub async fn admin_token(s: &Server, role: TokenRole) -> String {
    token_of(s, s.tenant.id, role).await
}

pub async fn token_of(s: &Server, tenant: TenantId, role: TokenRole) -> String {
    let issued = tenantsync_server::auth::issue(tenant, format!("{role:?}"), role, None).unwrap();
    s.store.create_token(issued.record).await.unwrap();
    issued.token
}

pub struct Api<'a> {
    pub s: &'a Server,
    pub token: String,
}

impl<'a> Api<'a> {
    pub fn new(s: &'a Server, token: String) -> Api<'a> {
        Api { s, token }
    }

    pub async fn raw(&self, method: &str, path: &str, body: Option<&str>) -> Res {
        self.s.raw(method, path, Some(&self.token), body, &[]).await
    }

    pub async fn get(&self, path: &str) -> Res {
        self.raw("GET", path, None).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Res {
        self.s.raw("GET", path, Some(&self.token), None, headers).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Res {
        self.raw("POST", path, Some(&body.to_string())).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Res {
        self.raw("PUT", path, Some(&body.to_string())).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Res {
        self.raw("PATCH", path, Some(&body.to_string())).await
    }

    pub async fn delete(&self, path: &str) -> Res {
        self.raw("DELETE", path, None).await
    }

    /// Creates a user; its id.
    pub async fn user(&self, upn: &str, name: &str) -> String {
        let r = self.post("/v1.0/users", serde_json::json!({ "userPrincipalName": upn, "displayName": name, "accountEnabled": true })).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// The `value` of a collection at `path`.
    pub async fn values(&self, path: &str) -> Vec<Value> {
        let r = self.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.body["value"].as_array().unwrap().clone()
    }
}

/// The path and query of an absolute link.
pub fn local(link: &str) -> String {
    let rest = link.split_once("://").map_or(link, |(_, r)| r);
    rest.find('/').map_or_else(String::new, |i| rest[i..].to_owned())
}
