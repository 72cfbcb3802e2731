//! The PostgreSQL store's import against a raw baseline (see docs/scale-out.md).
//!
//! `cargo bench -p tenantsync-store-postgres --bench import -- [--users N]`
//!
//! On the throwaway cluster of `.ci/pg-cluster`, in two fresh schemas of the store:
//! - **ours**: N users through `Store::bulk_import_users` (one unit, rows pushed 1,000 at a
//!   time), each with its change row, as `tenantsync import users --database-url` writes
//!   them;
//! - **raw**: the same users and change rows written with `COPY … FROM STDIN` into the same
//!   tables in one transaction, the tenant's head and count set at the end: the fastest
//!   plain method.
//!
//! Prints both rates and their ratio, and for each side the CPU time it cost: this process
//! (client) and the cluster's server processes, so the figure can be read on a machine
//! shared with other work (the load average is printed too). A checkpoint runs before
//! each side, so neither pays for the other's writes. Run without `--bench` (as
//! `cargo test --all-targets` does), it is a smoke run of 2,000 users.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]

use futures_util::SinkExt;
use std::time::Instant;
use tenantsync_domain::{NewTenant, NewUser, ObjectId, Upn};
use tenantsync_store::{BulkOptions, Store};
use tenantsync_store_conformance::pg_cluster;
use tenantsync_store_postgres::PgStore;

const DOMAIN: &str = "contoso.example";

fn users(n: usize) -> Vec<NewUser> {
    (0..n)
        .map(|i| {
            let mut u = NewUser::new(Upn::parse(&format!("user{i}@{DOMAIN}")).unwrap());
            u.attrs.display_name = Some(format!("User {i}"));
            u.attrs.department = Some(["Sales", "Marketing", "Engineering"][i % 3].to_owned());
            u
        })
        .collect()
}

async fn schema() -> String {
    let name = pg_cluster::new_schema_name();
    let (client, conn) = tokio_postgres::connect(pg_cluster::url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(&format!("CREATE SCHEMA {name}")).await.unwrap();
    pg_cluster::schema_url(&name)
}

/// The CPU seconds of the test cluster's server.
fn server_cpu() -> f64 {
    tenantsync_store_conformance::cpu::cluster(&pg_cluster::dir())
}

/// What one side cost: wall seconds, this process's and the server's CPU seconds.
struct Cost {
    wall: f64,
    client: f64,
    server: f64,
}

/// Measures from a checkpoint on.
struct Meter {
    began: Instant,
    client: f64,
    server: f64,
}

impl Meter {
    async fn start(url: &str) -> Meter {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client.batch_execute("CHECKPOINT").await.unwrap();
        Meter { began: Instant::now(), client: tenantsync_store_conformance::cpu::process("self", false), server: server_cpu() }
    }

    fn stop(self) -> Cost {
        Cost {
            wall: self.began.elapsed().as_secs_f64(),
            client: tenantsync_store_conformance::cpu::process("self", false) - self.client,
            server: server_cpu() - self.server,
        }
    }
}

async fn ours(n: usize) -> Cost {
    let url = schema().await;
    let store = PgStore::open(&url).await.unwrap();
    let t = store.create_tenant(NewTenant::new("Contoso", DOMAIN).unwrap()).await.unwrap();
    let rows = users(n);
    let meter = Meter::start(&url).await;
    let mut import = store.bulk_import_users(t.id, BulkOptions::default()).await.unwrap();
    let mut tag = 0u64;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<(u64, NewUser)> = rows.by_ref().take(1000).map(|u| (tag_next(&mut tag), u)).collect();
        import.push(batch).await.unwrap();
    }
    let summary = import.finish().await.unwrap();
    let cost = meter.stop();
    assert_eq!(summary.committed, n as u64);
    assert_eq!(store.change_head(t.id).await.unwrap().0, n as u64, "one change a user");
    cost
}

fn tag_next(tag: &mut u64) -> u64 {
    *tag += 1;
    *tag
}

async fn raw(n: usize) -> Cost {
    let url = schema().await;
    let store = PgStore::open(&url).await.unwrap();
    let t = store.create_tenant(NewTenant::new("Contoso", DOMAIN).unwrap()).await.unwrap();
    drop(store);
    let rows = users(n);
    let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let now = jiff::Timestamp::now().as_millisecond();
    let meter = Meter::start(&url).await;
    let tx = client.transaction().await.unwrap();
    let mut users_text = String::with_capacity(n * 120);
    let mut changes_text = String::with_capacity(n * 80);
    for (i, u) in rows.iter().enumerate() {
        let id = ObjectId::new();
        let a = &u.attrs;
        users_text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\tt\t0\t1\t{now}\t{now}\n",
            t.id,
            id,
            a.user_principal_name,
            a.display_name.as_deref().unwrap_or(""),
            a.department.as_deref().unwrap_or("")
        ));
        changes_text.push_str(&format!("{}\t{}\t{now}\t0\t{id}\t1\n", t.id, i + 1));
    }
    let sink = tx
        .copy_in("COPY users (tenant_id, id, upn, display_name, department, account_enabled, user_type, version, created_ms, modified_ms) FROM STDIN")
        .await
        .unwrap();
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::from(users_text)).await.unwrap();
    sink.finish().await.unwrap();
    let sink = tx.copy_in("COPY changes (tenant_id, seq, at_ms, object_kind, object_id, op) FROM STDIN").await.unwrap();
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::from(changes_text)).await.unwrap();
    sink.finish().await.unwrap();
    tx.execute("UPDATE tenants SET change_head = $1, live_users = $1 WHERE tenant_id = $2", &[&(n as i64), &t.id.0]).await.unwrap();
    tx.commit().await.unwrap();
    meter.stop()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let n = args.iter().position(|a| a == "--users").and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(if bench { 100_000 } else { 2_000 });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let before = load();
    let (ours, raw) = rt.block_on(async { (ours(n).await, raw(n).await) });
    let show = |name: &str, c: &Cost| {
        println!(
            "  {name}: {:.0} users/s ({:.1} s wall; CPU {:.1} s client + {:.1} s server = {:.0} users per CPU-second)",
            n as f64 / c.wall,
            c.wall,
            c.client,
            c.server,
            n as f64 / (c.client + c.server)
        );
    };
    println!("import of {n} users into PostgreSQL (load average before {before}, after {}):", load());
    show("ours", &ours);
    show("raw COPY", &raw);
    println!("  ratio {:.2} by wall time, {:.2} by CPU time", raw.wall / ours.wall, (raw.client + raw.server) / (ours.client + ours.server));
}
