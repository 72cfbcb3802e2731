//! A sync run killed at any instant converges after restart to exactly the right target:
//! a real `tenantsync sync run` child process is killed (SIGKILL) at points spread over
//! an initial cycle of 20,000 users and over an incremental cycle of many updates. After
//! every kill the target must be consistent (one user per anchor, each user's change-feed
//! entries present, a watermark that only moved with a finished run); after a run that
//! completes it must hold exactly one correct copy of every source user, and the job's
//! watermark must be the source's change head.
//!
//! Not a timed test: a first, uninterrupted run on a copy of the data directory measures
//! how long a run takes here, and the kills land at fractions of that; whatever the
//! timing, every check holds.
use crate::support::{Env, path_str};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tenantsync_cli::generate;
use tenantsync_domain::{Anchor, AttrValue, ChangeCursor, ChangeOp, DomainName, ObjectId, Tenant, User, UserAttrName, UserPatch};
use tenantsync_store::{BatchMode, ListQuery, Store, SyncStore, Visibility, WriteOp};
use tenantsync_store_sqlite::SqliteStore;

const USERS: usize = 20_000;
const SOURCE: &str = "fabrikam.example";
const TARGET: &str = "contoso.example";
const ARROW: &str = "fabrikam.example:contoso.example";
/// The local part of the internal target users of phase 3 that make writes fail.
const BLOCKER: &str = "renamed";

fn sync_run(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tenantsync"));
    c.arg("--data-dir").arg(data).args(["sync", "run", ARROW]).stdout(Stdio::null()).stderr(Stdio::null());
    c
}

/// Copies a data directory's files (not its lock directory: job leases are OS file locks,
/// made afresh by whoever runs).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// How long an uninterrupted run takes on a copy of the data directory (the copy is
/// thrown away).
fn measure(env: &Env, name: &str) -> Duration {
    let copy = env.dir.path().join(name);
    copy_dir(&env.data(), &copy);
    let began = Instant::now();
    let status = sync_run(&copy).status().unwrap();
    let took = began.elapsed();
    assert!(status.success(), "the calibration run failed");
    std::fs::remove_dir_all(&copy).unwrap();
    took
}

/// Starts a run and kills it (SIGKILL) after `delay`.
fn kill_after(env: &Env, delay: Duration) {
    let mut child = sync_run(&env.data()).spawn().unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

async fn all_users(store: &SqliteStore, t: &Tenant) -> Vec<User> {
    let mut out = Vec::new();
    let mut q = ListQuery { limit: 5000, visibility: Visibility::All, ..ListQuery::default() };
    loop {
        let page = store.list_users(t.id, &q).await.unwrap();
        out.extend(page.items);
        match page.next {
            Some(next) => q.after = Some(next),
            None => return out,
        }
    }
}

struct Opened {
    store: SqliteStore,
    source: Tenant,
    target: Tenant,
}

async fn open(env: &Env) -> Opened {
    let store = SqliteStore::open(&env.data()).expect("the data directory opens after a kill");
    let source = store.find_tenant_by_domain(&DomainName::parse(SOURCE).unwrap()).await.unwrap().unwrap();
    let target = store.find_tenant_by_domain(&DomainName::parse(TARGET).unwrap()).await.unwrap().unwrap();
    Opened { store, source, target }
}

/// The invariants a kill must never break. Returns the target's users and the job's
/// watermark.
async fn check_consistent(env: &Env, allowed_watermarks: &[ChangeCursor]) -> (Vec<User>, ChangeCursor) {
    let Opened { store, source, target } = open(env).await;
    let users = all_users(&store, &target).await;
    // One user per anchor, each a copy of a user that exists in the source (besides the
    // internal blockers of phase 3).
    let mut anchors = BTreeSet::new();
    for u in &users {
        if u.anchor.is_none() && u.attrs.user_principal_name.as_str().starts_with(BLOCKER) {
            continue;
        }
        let a = u.anchor.expect("only synced users live in the target");
        assert_eq!(a.tenant, source.id);
        assert!(anchors.insert(a), "two target users carry the anchor {a:?}: a duplicate");
    }
    // The target's change feed: gapless, agreeing with the head, and every user's
    // entries present (its create first, then one entry per later version).
    let mut entries: BTreeMap<ObjectId, Vec<ChangeOp>> = BTreeMap::new();
    let (mut cursor, mut expected) = (ChangeCursor::START, 1);
    loop {
        let page = store.changes_since(target.id, cursor, 10_000).await.unwrap();
        if page.changes.is_empty() {
            break;
        }
        for c in &page.changes {
            assert_eq!(c.seq, expected, "the target's change feed has a gap or a duplicate");
            expected += 1;
            entries.entry(c.object_id).or_default().push(c.op);
        }
        cursor = page.next_cursor;
    }
    assert_eq!(store.change_head(target.id).await.unwrap(), ChangeCursor(expected - 1), "the head disagrees with the feed");
    assert_eq!(entries.len(), users.len(), "the feed names objects the target does not hold, or misses some");
    for u in &users {
        let ops = entries.get(&u.id).unwrap_or_else(|| panic!("{} has no change-feed entries", u.attrs.user_principal_name));
        assert_eq!(ops.first(), Some(&ChangeOp::Create), "{}: the feed does not start with its create", u.attrs.user_principal_name);
        assert_eq!(ops.len() as u64, u.version.0, "{}: versions and change-feed entries disagree", u.attrs.user_principal_name);
    }
    let config = store.list_sync_configurations().await.unwrap().into_iter().next().unwrap();
    let state = store.job_state(config.id).await.unwrap();
    assert!(allowed_watermarks.contains(&state.watermark), "watermark {:?} is none of {allowed_watermarks:?}", state.watermark);
    (users, state.watermark)
}

/// After a completed run: exactly one copy per source user, with the mapped values, and a
/// watermark at the source's head.
async fn check_converged(env: &Env) {
    let Opened { store, source, target } = open(env).await;
    let sources = all_users(&store, &source).await;
    let targets = all_users(&store, &target).await;
    assert_eq!(sources.len(), USERS);
    assert_eq!(targets.len(), USERS, "one copy per source user");
    let by_anchor: BTreeMap<Anchor, &User> = targets.iter().map(|u| (u.anchor.unwrap(), u)).collect();
    assert_eq!(by_anchor.len(), USERS, "no duplicates");
    let copy_of = |s: ObjectId| by_anchor.get(&Anchor::new(source.id, s)).copied();
    for s in &sources {
        let upn = &s.attrs.user_principal_name;
        let t = copy_of(s.id).unwrap_or_else(|| panic!("{upn}: no copy"));
        assert_eq!(t.is_deleted(), s.is_deleted(), "{upn}: soft-deleted in the source iff its copy is");
        assert_eq!(t.attrs.user_principal_name, upn.external_in(&target.initial_domain).unwrap());
        assert_eq!(t.attrs.display_name, s.attrs.display_name, "{upn}");
        assert_eq!(t.attrs.given_name, s.attrs.given_name, "{upn}");
        assert_eq!(t.attrs.surname, s.attrs.surname, "{upn}");
        assert_eq!(t.attrs.mail, s.attrs.mail, "{upn}");
        assert_eq!(t.attrs.department, s.attrs.department, "{upn}");
        assert_eq!(t.attrs.job_title, s.attrs.job_title, "{upn}");
        assert_eq!(t.attrs.account_enabled, s.attrs.account_enabled, "{upn}");
        let manager = s.attrs.manager.map(|m| copy_of(m).unwrap().id);
        assert_eq!(t.attrs.manager, manager, "{upn}: the manager is the copy of the source manager");
    }
    let config = store.list_sync_configurations().await.unwrap().into_iter().next().unwrap();
    let state = store.job_state(config.id).await.unwrap();
    assert_eq!(state.watermark, store.change_head(source.id).await.unwrap(), "the watermark is the source's change head");
    assert!(state.escrows.is_empty(), "{:?}", state.escrows);
    assert_eq!(state.last_execution.unwrap().state, tenantsync_domain::ExecutionState::Succeeded);
}

/// Changes many source users: new department and job title for 6,000, 300 of them
/// disabled, and 200 others (nobody's manager) soft-deleted. Returns the source head.
async fn change_sources(env: &Env) -> ChangeCursor {
    let Opened { store, source, .. } = open(env).await;
    let users = all_users(&store, &source).await;
    let managers: BTreeSet<ObjectId> = users.iter().filter_map(|u| u.attrs.manager).collect();
    let mut ops = Vec::new();
    for (i, u) in users.iter().enumerate().filter(|(i, _)| i % 3 == 0).take(6000) {
        let mut set = vec![
            (UserAttrName::parse("department").unwrap(), AttrValue::String(format!("Reorg {}", i % 7))),
            (UserAttrName::parse("jobTitle").unwrap(), AttrValue::String(format!("Title {i}"))),
        ];
        if i % 20 == 0 {
            set.push((UserAttrName::parse("accountEnabled").unwrap(), AttrValue::Bool(false)));
        }
        ops.push(WriteOp::UpdateUser { id: u.id, patch: UserPatch { set, ..UserPatch::default() }, if_match: None });
    }
    let leaves = users.iter().enumerate().filter(|(i, u)| i % 3 == 1 && !managers.contains(&u.id)).take(200);
    ops.extend(leaves.map(|(_, u)| WriteOp::SoftDeleteUser { id: u.id, if_match: None }));
    for chunk in ops.chunks(1000) {
        for r in store.apply(source.id, chunk.to_vec(), BatchMode::Independent).await.unwrap() {
            r.unwrap();
        }
    }
    store.change_head(source.id).await.unwrap()
}

#[test]
fn killing_a_sync_run_at_any_point_converges_after_restart() {
    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", SOURCE]);
    env.ok(&["tenant", "create", "--name", "Contoso", "--domain", TARGET]);
    let csv = env.dir.path().join("users.csv");
    generate::write_csv(std::fs::File::create(&csv).unwrap(), generate::users(11, USERS, SOURCE, "Fabrikam", true)).unwrap();
    env.ok(&["import", "users", "-t", SOURCE, path_str(&csv), "--quiet"]);
    env.ok(&["partner", "set", "-t", SOURCE, "--partner", TARGET, "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", TARGET, "--partner", SOURCE, "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
    env.ok(&["sync", "create", "--source", SOURCE, "--target", TARGET, "--scope", "all"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let source_head = rt.block_on(async {
        let o = open(&env).await;
        o.store.change_head(o.source.id).await.unwrap()
    });

    // Phase 1: the initial cycle, killed again and again. Until a run completes the
    // watermark stays at the start: each restart is an initial cycle again, which adopts
    // the copies made so far instead of duplicating them, and gets further before the
    // next kill (the last kills may land in the final commit or after it).
    let full = measure(&env, "calibrate-initial");
    for percent in [5u32, 20, 20, 20, 20, 20, 20] {
        kill_after(&env, full * percent / 100);
        let (users, watermark) = rt.block_on(check_consistent(&env, &[ChangeCursor::START, source_head]));
        assert!(users.len() <= USERS);
        if watermark == source_head {
            // The run finished before the kill: the target is complete.
            rt.block_on(check_converged(&env));
        }
    }
    let report = env.json(&["sync", "run", ARROW]);
    assert_eq!(report["escrowed"], 0, "{report}");
    rt.block_on(check_consistent(&env, &[source_head]));
    rt.block_on(check_converged(&env));

    // Phase 2: many source changes, an incremental cycle killed, then one that completes.
    let new_head = rt.block_on(change_sources(&env));
    let incremental = measure(&env, "calibrate-incremental");
    for percent in [10u32, 30, 30, 30] {
        kill_after(&env, incremental * percent / 100);
        rt.block_on(check_consistent(&env, &[source_head, new_head]));
    }
    let report = env.json(&["sync", "run", ARROW]);
    assert_eq!(report["escrowed"], 0, "{report}");
    rt.block_on(check_consistent(&env, &[new_head]));
    rt.block_on(check_converged(&env));

    // Phase 3: failures in the cycle's last batch. The users last in the walk are renamed
    // in the source to names that internal users already hold in the target, so their
    // updates are refused and escrowed by the last commits of the cycle. A kill anywhere
    // around the cycle's end must never leave the watermark past them without their
    // escrows: they would never be retried.
    let (failing, last_head) = rt.block_on(fail_the_last_users(&env, 5));
    let before = env.dir.path().join("before-phase-3");
    copy_dir(&env.data(), &before);
    let restore = || {
        std::fs::remove_dir_all(env.data()).unwrap();
        copy_dir(&before, &env.data());
    };
    // Exactly in the window: every write answered, the job state not stored yet.
    let crashed = sync_run(&env.data()).env("TENANTSYNC_CRASH_POINT", "cycle-written").status().unwrap();
    assert!(!crashed.success(), "the run stopped at the crash point");
    let (_, watermark) = rt.block_on(check_consistent(&env, &[new_head, last_head]));
    assert_eq!(watermark, new_head, "the watermark did not pass the failed users");
    // And at points spread around the cycle's end.
    let run = measure(&env, "calibrate-failures");
    for percent in [60u32, 70, 80, 85, 90, 95, 100, 105, 110, 120] {
        restore();
        kill_after(&env, run * percent / 100);
        let (_, watermark) = rt.block_on(check_consistent(&env, &[new_head, last_head]));
        if watermark == last_head {
            assert_eq!(
                rt.block_on(escrowed(&env)),
                failing,
                "killed at {percent} %: the watermark passed the failed users, so their escrows are stored with it"
            );
        }
    }
    restore();
    let report = env.json(&["sync", "run", ARROW]);
    assert_eq!(report["escrowed"], failing.len(), "{report}");
    assert_eq!(rt.block_on(escrowed(&env)), failing);
}

/// Renames the `n` source users last in id order to names internal users hold in the
/// target, so their copies cannot follow. Returns them and the source head.
async fn fail_the_last_users(env: &Env, n: usize) -> (BTreeSet<ObjectId>, ChangeCursor) {
    let Opened { store, source, target } = open(env).await;
    let users = all_users(&store, &source).await;
    let mut failing = BTreeSet::new();
    for (i, u) in users.iter().rev().filter(|u| !u.is_deleted()).take(n).enumerate() {
        let renamed = tenantsync_domain::Upn::parse(&format!("{BLOCKER}{i}@{SOURCE}")).unwrap();
        store.create_user(target.id, tenantsync_domain::NewUser::new(renamed.external_in(&target.initial_domain).unwrap())).await.unwrap();
        let patch =
            UserPatch { set: vec![(UserAttrName::parse("userPrincipalName").unwrap(), AttrValue::String(renamed.to_string()))], ..UserPatch::default() };
        store.update_user(source.id, u.id, patch, None).await.unwrap();
        failing.insert(u.id);
    }
    (failing, store.change_head(source.id).await.unwrap())
}

/// The source users the job holds in escrow.
async fn escrowed(env: &Env) -> BTreeSet<ObjectId> {
    let Opened { store, .. } = open(env).await;
    let config = store.list_sync_configurations().await.unwrap().into_iter().next().unwrap();
    store.job_state(config.id).await.unwrap().escrows.iter().map(|e| e.source_object_id).collect()
}
