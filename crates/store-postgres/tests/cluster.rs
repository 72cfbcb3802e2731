//! The test cluster (`tenantsync_store_conformance::pg_cluster`) and a fresh schema for
//! each store.
pub use tenantsync_store_conformance::pg_cluster::url;

pub struct Cluster {
    pub url: String,
}

pub fn cluster() -> Cluster {
    Cluster { url: url().to_owned() }
}

/// A new empty schema of the cluster, and the URL whose connections use it.
pub async fn fresh_schema() -> (String, String) {
    use tenantsync_store_conformance::pg_cluster;
    let schema = pg_cluster::new_schema_name();
    let (client, connection) = tokio_postgres::connect(pg_cluster::url(), tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(connection);
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
    drop(client);
    let _ = task.await;
    let url = pg_cluster::schema_url(&schema);
    (schema, url)
}
