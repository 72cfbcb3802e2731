//! A throwaway PostgreSQL cluster for this test binary, started once by `.ci/pg-cluster`
//! (initdb + pg_ctl as the `postgres` user on a free port; it stops by itself when this
//! process ends), and a fresh schema for each store.
use std::sync::OnceLock;

pub struct Cluster {
    /// The cluster's URL (with its password).
    pub url: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// The cluster, started on first use. Tests never skip: no server is a failure.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = std::env::temp_dir().join(format!("tenantsync-pg-{}", std::process::id()));
        let out = std::process::Command::new("bash")
            .arg(root.join(".ci/pg-cluster"))
            .arg("start")
            .arg(&dir)
            .arg(std::process::id().to_string())
            .output()
            .expect("run .ci/pg-cluster");
        assert!(out.status.success(), "the PostgreSQL test cluster did not start:\n{}", String::from_utf8_lossy(&out.stderr));
        let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        Cluster { url }
    })
}

/// A new empty schema of the cluster, and the URL whose connections use it.
pub async fn fresh_schema() -> (String, String) {
    let base = &cluster().url;
    let schema = format!("t{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(connection);
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
    drop(client);
    let _ = task.await;
    (schema.clone(), format!("{base}?options=-csearch_path%3D{schema}"))
}
