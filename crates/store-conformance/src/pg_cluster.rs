//! A throwaway PostgreSQL cluster for a test binary: started once, on first use, by the
//! repository's `.ci/pg-cluster` (initdb + pg_ctl as the `postgres` user on a free
//! loopback port, installing PostgreSQL 15 with apt where it is missing); it stops by
//! itself when the test process ends. Tests never skip: no server is a failure.
use std::sync::OnceLock;

static URL: OnceLock<String> = OnceLock::new();

/// The cluster's directory (its data directory is `data/` in it).
pub fn dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tenantsync-pg-{}", std::process::id()))
}

/// The cluster's URL (`postgres://tenantsync:<password>@127.0.0.1:<port>/postgres`).
pub fn url() -> &'static str {
    URL.get_or_init(|| {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/pg-cluster");
        let dir = dir();
        let out =
            std::process::Command::new("bash").arg(script).arg("start").arg(&dir).arg(std::process::id().to_string()).output().expect("run .ci/pg-cluster");
        assert!(out.status.success(), "the PostgreSQL test cluster did not start:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    })
}

/// The URL of `schema` in the cluster: its connections use that schema (`search_path`).
pub fn schema_url(schema: &str) -> String {
    format!("{}?options=-csearch_path%3D{schema}", url())
}

/// A fresh schema name (create it before use).
pub fn new_schema_name() -> String {
    format!("t{}", uuid::Uuid::new_v4().simple())
}
