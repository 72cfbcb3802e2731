//! A server per test and a minimal HTTP/1.1 client (loopback only).
use serde_json::Value;
use std::sync::Arc;
use tenantsync_domain::{NewTenant, Tenant};
use tenantsync_server::Config;
use tenantsync_store::Store;
use tenantsync_store_sqlite::SqliteStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Server {
    pub addr: std::net::SocketAddr,
    pub store: Arc<dyn Store>,
    pub tenant: Tenant,
    pub token: String,
    /// The same store, for what the tests do beside the API (entitlement management's sweep).
    pub sqlite: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

pub struct Res {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// The SCIM error type and our code (from the end of `detail`).
    pub fn error(&self) -> (u16, Option<String>, String) {
        let detail = self.body["detail"].as_str().unwrap_or_default();
        let code = detail.rsplit_once('[').map(|(_, c)| c.trim_end_matches(']').to_owned()).unwrap_or_default();
        (self.status, self.body["scimType"].as_str().map(str::to_owned), code)
    }
}

pub async fn tenant(store: &dyn Store, domain: &str) -> Tenant {
    store.create_tenant(NewTenant::new(domain, domain).unwrap()).await.unwrap()
}

pub async fn token_for(store: &dyn Store, tenant: &Tenant) -> String {
    let issued = tenantsync_server::auth::issue(tenant.id, "test".into(), tenantsync_store::TokenRole::Scim, None).unwrap();
    store.create_token(issued.record).await.unwrap();
    issued.token
}

impl Server {
    pub async fn start() -> Server {
        Self::with(Config { rate_per_second: 0, ..Config::default() }).await
    }

    pub async fn with(config: Config) -> Server {
        Self::serving(config, false).await
    }

    /// A server whose admin API has entitlement management over its store.
    pub async fn governed() -> Server {
        Self::governed_with(Config { rate_per_second: 0, ..Config::default() }).await
    }

    pub async fn governed_with(config: Config) -> Server {
        Self::serving(config, true).await
    }

    /// A governed server with the web console, on a store whose clock the test moves;
    /// sign-in codes go through `mailer`.
    pub async fn console(clock: Arc<tenantsync_domain::FixedClock>, mailer: Option<Arc<dyn tenantsync_governance::Mailer>>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Arc::new(SqliteStore::open_with_clock(dir.path(), clock).unwrap());
        let mut console = tenantsync_server::console::ConsoleConfig::new(sqlite.clone());
        console.mailer = mailer;
        let config = Config { rate_per_second: 0, console: Some(console), ..Config::default() };
        Self::on(config, true, sqlite, dir).await
    }

    async fn serving(config: Config, governed: bool) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Arc::new(SqliteStore::open(dir.path()).unwrap());
        Self::on(config, governed, sqlite, dir).await
    }

    async fn on(mut config: Config, governed: bool, sqlite: Arc<SqliteStore>, dir: tempfile::TempDir) -> Server {
        if governed {
            config.access = Some(tenantsync_governance::Governance::new(sqlite.clone()));
        }
        let store: Arc<dyn Store> = sqlite.clone();
        let tenant = tenant(store.as_ref(), "contoso.example").await;
        let token = token_for(store.as_ref(), &tenant).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s: Arc<dyn tenantsync_store::SyncStore> = sqlite.clone();
        tokio::spawn(async move { tenantsync_server::serve(listener, s, config, std::future::pending()).await });
        Server { addr, store, tenant, token, sqlite, _dir: dir }
    }

    /// `path` relative to the tenant's base (`/scim/v2/contoso.example`).
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Res {
        self.raw(method, &format!("/scim/v2/contoso.example{path}"), Some(&self.token), body.map(|b| b.to_string()).as_deref(), &[]).await
    }

    pub async fn call_with(&self, method: &str, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Res {
        self.raw(method, &format!("/scim/v2/contoso.example{path}"), Some(&self.token), body.map(|b| b.to_string()).as_deref(), headers).await
    }

    pub async fn raw(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>, headers: &[(&str, &str)]) -> Res {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        if let Some(t) = token {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or("");
        req.push_str(&format!("Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n", body.len()));
        // The server may answer (413) and close before reading a large body.
        let _ = stream.write_all(req.as_bytes()).await;
        let _ = stream.write_all(body.as_bytes()).await;
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf).await;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
        let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
        let body = if body.is_empty() { Value::Null } else { serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())) };
        Res { status, headers, body }
    }

    pub async fn create_user(&self, body: Value) -> Value {
        let r = self.call("POST", "/Users", Some(&body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }
}

pub fn user(name: &str) -> Value {
    serde_json::json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name })
}

pub fn patch(ops: Value) -> Value {
    serde_json::json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops })
}

/// Percent-encodes a query value.
pub fn q(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
