//! A long import in one process beside writes of other processes: a CLI write, a write
//! through the store API, and a SCIM request to `serve`. The import reads a named pipe, so
//! the test decides when it holds the write lock and when its units end.
//!
//! - In units (`--batch-size`), the import lets waiting writers in between two units: they
//!   succeed while it is still running.
//! - As one whole-file unit, it holds the lock to the end: writers wait and succeed after
//!   it, or, past a short configured wait, fail with `store_busy` (SCIM: 503 with
//!   `Retry-After`) — never `storage_failure`.
#![cfg(unix)]
use crate::support::{Env, path_str};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;
use tenantsync_domain::{DomainName, NewUser, Upn};
use tenantsync_store::{Store, StoreError};
use tenantsync_store_sqlite::{BUSY_TIMEOUT_VAR, SqliteStore, StoreOptions};

fn fifo(env: &Env, name: &str) -> PathBuf {
    let path = env.dir.path().join(name);
    let made = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    path
}

fn rows(from: u64, to: u64) -> String {
    (from..to).map(|i| format!("u{i}@contoso.example,User {i}\n")).collect()
}

/// Whether some process holds the write lock of the data directory.
fn lock_held(data: &Path) -> bool {
    let probe = rusqlite::Connection::open(data.join("tenantsync.db")).unwrap();
    probe.busy_timeout(Duration::ZERO).unwrap();
    match probe.execute_batch("BEGIN IMMEDIATE") {
        Ok(()) => {
            probe.execute_batch("ROLLBACK").unwrap();
            false
        }
        Err(_) => true,
    }
}

fn head(data: &Path) -> i64 {
    let conn = rusqlite::Connection::open(data.join("tenantsync.db")).unwrap();
    conn.query_row("SELECT change_head FROM tenants WHERE initial_domain = 'contoso.example'", [], |r| r.get(0)).unwrap()
}

fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("gave up waiting for {what}");
}

/// Waits for a child up to `limit`; `None` if it is still running.
fn exit_within(child: &mut Child, limit: Duration) -> Option<std::process::Output> {
    let steps = limit.as_millis() / 20;
    for _ in 0..steps {
        if child.try_wait().unwrap().is_some() {
            let mut stdout = String::new();
            let mut stderr = String::new();
            child.stdout.take().map(|mut s| s.read_to_string(&mut stdout));
            child.stderr.take().map(|mut s| s.read_to_string(&mut stderr));
            let status = child.wait().unwrap();
            return Some(std::process::Output { status, stdout: stdout.into_bytes(), stderr: stderr.into_bytes() });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// `tenantsync user create` in its own process, waiting at most `wait_ms` for the lock.
fn cli_write(env: &Env, upn: &str, wait_ms: u64) -> Child {
    env.cmd()
        .env(BUSY_TIMEOUT_VAR, wait_ms.to_string())
        .args(["user", "create", "-t", "contoso.example", "--upn", upn])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `tenantsync serve` on a free port; its address.
fn serve(env: &Env, wait_ms: u64) -> (Child, String) {
    let mut child = env
        .cmd()
        .env(BUSY_TIMEOUT_VAR, wait_ms.to_string())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("serving SCIM 2.0 on http://").unwrap().split('/').next().unwrap().to_owned();
    (child, addr)
}

/// POSTs a SCIM user; the raw HTTP answer.
fn scim_create(addr: &str, token: &str, upn: &str) -> String {
    let body = format!("{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"{upn}\"}}");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /scim/v2/contoso.example/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The import child, reading `pipe`, and the pipe's writing end (opening it lets the
/// child's open of the file return).
fn start_import(env: &Env, pipe: &Path, batch: Option<u64>) -> (Child, std::fs::File) {
    let mut args = vec!["import", "users", "-t", "contoso.example", path_str(pipe), "--quiet"];
    let batch = batch.map(|b| b.to_string());
    if let Some(b) = &batch {
        args.extend(["--batch-size", b]);
    }
    let child = env.cmd().args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut writer = std::fs::OpenOptions::new().write(true).open(pipe).unwrap();
    writer.write_all(b"userPrincipalName,displayName\n").unwrap();
    (child, writer)
}

fn store_with_wait(env: &Env, wait: Duration) -> SqliteStore {
    SqliteStore::open_with(&env.data(), StoreOptions { busy_timeout: wait, ..StoreOptions::default() }).unwrap()
}

#[test]
fn writes_of_other_processes_get_in_between_the_units_of_a_long_import() {
    let env = Env::new();
    env.contoso();
    let token = env.ok(&["token", "create", "--tenant", "contoso.example"]).trim().to_owned();
    let (mut server, addr) = serve(&env, 60_000);
    let pipe = fifo(&env, "users.csv");
    let (mut import, mut feed) = start_import(&env, &pipe, Some(1000));
    // Two units committed (the import hands rows over 2,000 at a time), the third open.
    feed.write_all(rows(0, 2500).as_bytes()).unwrap();
    until("two units", || head(&env.data()) >= 2000);
    until("the lock", || lock_held(&env.data()));

    // Three writers of other processes, each willing to wait a minute.
    let mut cli = cli_write(&env, "cli@contoso.example", 60_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let store = store_with_wait(&env, Duration::from_secs(60));
    let t = rt.block_on(store.find_tenant_by_domain(&DomainName::parse("contoso.example").unwrap())).unwrap().unwrap().id;
    let api = rt.spawn(async move { store.create_user(t, NewUser::new(Upn::parse("api@contoso.example").unwrap())).await });
    let scim = {
        let (addr, token) = (addr.clone(), token.clone());
        std::thread::spawn(move || scim_create(&addr, &token, "scim@contoso.example"))
    };
    // Units go on ending while the import runs; the writers get in between them.
    let mut next = 2500;
    let mut cli_out = None;
    for _ in 0..100 {
        if cli_out.is_none() {
            cli_out = exit_within(&mut cli, Duration::from_millis(200));
        }
        if cli_out.is_some() && api.is_finished() && scim.is_finished() {
            break;
        }
        feed.write_all(rows(next, next + 1000).as_bytes()).unwrap();
        next += 1000;
    }
    assert!(import.try_wait().unwrap().is_none(), "the import is still running");
    let Some(cli_out) = cli_out else {
        let _ = cli.kill();
        let _ = cli.wait();
        panic!("the CLI write did not get in while the import ran");
    };
    assert!(cli_out.status.success(), "{}", String::from_utf8_lossy(&cli_out.stderr));
    assert!(api.is_finished(), "the store write got in while the import ran");
    rt.block_on(api).unwrap().unwrap();
    let answer = scim.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    drop(feed);
    let done = exit_within(&mut import, Duration::from_secs(120)).expect("the import ends");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let _ = server.kill();
    let _ = server.wait();
    // Every row of the import, and the three writes.
    assert_eq!(head(&env.data()), next as i64 + 3);
}

#[test]
fn beside_a_whole_file_import_writes_wait_or_fail_with_store_busy_never_storage_failure() {
    let env = Env::new();
    env.contoso();
    let token = env.ok(&["token", "create", "--tenant", "contoso.example"]).trim().to_owned();
    let (mut server, addr) = serve(&env, 300);
    let pipe = fifo(&env, "users.csv");
    let (mut import, mut feed) = start_import(&env, &pipe, None);
    feed.write_all(rows(0, 500).as_bytes()).unwrap();
    until("the lock", || lock_held(&env.data()));

    // A short wait runs out: store_busy, from the CLI, the store API and SCIM alike.
    let impatient = cli_write(&env, "early@contoso.example", 300).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&impatient.stderr);
    assert_eq!(impatient.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("[store_busy]") && !stderr.contains("storage_failure"), "{stderr}");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let short = store_with_wait(&env, Duration::from_millis(300));
    let t = rt.block_on(short.find_tenant_by_domain(&DomainName::parse("contoso.example").unwrap())).unwrap().unwrap().id;
    let err = rt.block_on(short.create_user(t, NewUser::new(Upn::parse("early@contoso.example").unwrap()))).unwrap_err();
    assert_eq!(err, StoreError::Busy);
    let answer = scim_create(&addr, &token, "early@contoso.example");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("\r\nretry-after: "), "{answer}");
    assert!(answer.contains("[store_busy]"), "{answer}");

    // Patient writers wait for the end of the import, then succeed.
    let mut cli = cli_write(&env, "cli@contoso.example", 120_000);
    let patient = store_with_wait(&env, Duration::from_secs(120));
    let api = rt.spawn(async move { patient.create_user(t, NewUser::new(Upn::parse("api@contoso.example").unwrap())).await });
    std::thread::sleep(Duration::from_millis(300));
    assert!(cli.try_wait().unwrap().is_none() && !api.is_finished(), "nothing gets into a whole-file unit");
    feed.write_all(rows(500, 1000).as_bytes()).unwrap();
    drop(feed);
    let done = exit_within(&mut import, Duration::from_secs(120)).expect("the import ends");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let cli_out = exit_within(&mut cli, Duration::from_secs(120)).expect("the CLI write ends");
    assert!(cli_out.status.success(), "{}", String::from_utf8_lossy(&cli_out.stderr));
    rt.block_on(api).unwrap().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    // Nothing was written by the refused writes; the import is whole.
    assert_eq!(head(&env.data()), 1002);
    let early = env.run(&["user", "show", "-t", "contoso.example", "early@contoso.example"]);
    assert!(early.stderr.contains("[not_found]"), "{}", early.stderr);
}
