//! Notices of commits and of job changes, to the subscribers of this process and to the
//! other processes that use the same data directory.
//!
//! Within the process, notices go through broadcast channels. Across processes, every
//! store that has subscribers binds a Unix datagram socket in `<data dir>/.notify/`
//! (private to the directory's owner); after a commit, the store sends a datagram of a
//! few bytes to every other socket there. The receiving store feeds it into its own
//! channels, so a `serve` wakes the jobs of a tenant the moment the CLI commits to it,
//! as it does for its own commits. Notices are hints: receivers read what changed from
//! the database. A notice lost (a receiver's buffer full) is caught up by the
//! scheduler's periodic check; a socket whose process died is removed by the first
//! sender that finds it dead.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tenantsync_domain::{ChangeCursor, SyncConfigId, TenantId};
use tenantsync_store::{CommitNotice, JobNotice};
use tokio::sync::broadcast;

/// The folder of the sockets, in the data directory.
pub(crate) const DIR: &str = ".notify";
/// How stale the list of other processes' sockets may be when a notice is sent (a
/// process that starts listening is reached by others within this).
const RESCAN: Duration = Duration::from_millis(100);
/// How often a listener looks up from a blocking receive to see whether its store is gone.
const LISTEN_TICK: Duration = Duration::from_millis(250);
/// `T` then the version of the datagram's form.
const MAGIC: [u8; 2] = [b'T', 1];

/// What a datagram says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    Commit(CommitNotice),
    Job(JobNotice),
}

impl Message {
    fn encode(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(27);
        out.extend_from_slice(&MAGIC);
        match self {
            Message::Commit(n) => {
                out.push(1);
                out.extend_from_slice(n.tenant_id.as_bytes());
                out.extend_from_slice(&n.head.0.to_le_bytes());
            }
            Message::Job(JobNotice::Job(id)) => {
                out.push(2);
                out.extend_from_slice(id.as_bytes());
            }
            Message::Job(JobNotice::All) => out.push(3),
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Message> {
        let rest = bytes.strip_prefix(&MAGIC)?;
        match rest {
            [1, id @ .., h0, h1, h2, h3, h4, h5, h6, h7] if id.len() == 16 => {
                let tenant = TenantId::from_bytes(id.try_into().ok()?);
                let head = u64::from_le_bytes([*h0, *h1, *h2, *h3, *h4, *h5, *h6, *h7]);
                Some(Message::Commit(CommitNotice { tenant_id: tenant, head: ChangeCursor(head) }))
            }
            [2, id @ ..] if id.len() == 16 => Some(Message::Job(JobNotice::Job(SyncConfigId::from_bytes(id.try_into().ok()?)))),
            [3] => Some(Message::Job(JobNotice::All)),
            _ => None,
        }
    }
}

/// Sends and receives the notices of one store.
#[derive(Clone)]
pub(crate) struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    commits: broadcast::Sender<CommitNotice>,
    jobs: broadcast::Sender<JobNotice>,
    dir: PathBuf,
    /// This store's socket, once something subscribed.
    listener: Mutex<Option<Listener>>,
    peers: Mutex<Peers>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").field("dir", &self.inner.dir).finish_non_exhaustive()
    }
}

/// The other processes' sockets, as last listed.
struct Peers {
    paths: Vec<PathBuf>,
    listed: Option<Instant>,
    /// The unbound socket notices are sent from.
    socket: Option<Sender>,
}

#[cfg(unix)]
type Sender = std::os::unix::net::UnixDatagram;
#[cfg(not(unix))]
type Sender = ();

/// A bound socket and the thread that feeds what it receives into the channels.
struct Listener {
    path: PathBuf,
    stop: Arc<AtomicBool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Notifier {
    /// The notifier of the store whose data directory is `data_dir`.
    pub(crate) fn new(data_dir: &Path) -> Notifier {
        let (commits, _) = broadcast::channel(4096);
        let (jobs, _) = broadcast::channel(1024);
        let peers = Peers { paths: Vec::new(), listed: None, socket: None };
        Notifier { inner: Arc::new(Inner { commits, jobs, dir: data_dir.join(DIR), listener: Mutex::new(None), peers: Mutex::new(peers) }) }
    }

    /// A commit of `tenant` that moved its feed to `head` (nothing when there is no head:
    /// the commit appended no change).
    pub(crate) fn commit(&self, tenant: TenantId, head: Option<u64>) {
        if let Some(head) = head {
            let notice = CommitNotice { tenant_id: tenant, head: ChangeCursor(head) };
            // No receivers is fine.
            let _ = self.inner.commits.send(notice);
            self.tell_peers(Message::Commit(notice));
        }
    }

    /// A change of a job's configuration or state made outside its cycles (start, pause,
    /// restart, configuration edits; `All` for settings that concern every job).
    pub(crate) fn job(&self, notice: JobNotice) {
        let _ = self.inner.jobs.send(notice);
        self.tell_peers(Message::Job(notice));
    }

    pub(crate) fn subscribe_commits(&self) -> broadcast::Receiver<CommitNotice> {
        self.listen();
        self.inner.commits.subscribe()
    }

    pub(crate) fn subscribe_jobs(&self) -> broadcast::Receiver<JobNotice> {
        self.listen();
        self.inner.jobs.subscribe()
    }

    /// Binds this store's socket (once), so other processes' notices reach its
    /// subscribers. Without a socket (not Unix, or the folder cannot be made) only this
    /// process's notices arrive, and the scheduler's periodic check sees the rest.
    fn listen(&self) {
        let Ok(mut listener) = self.inner.listener.lock() else { return };
        if listener.is_none() {
            *listener = self.bind();
        }
    }

    #[cfg(unix)]
    fn bind(&self) -> Option<Listener> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let dir = &self.inner.dir;
        if !dir.exists() {
            std::fs::DirBuilder::new().mode(0o700).create(dir).ok()?;
        }
        let path = dir.join(format!("{}-{}.sock", std::process::id(), uuid::Uuid::new_v4().simple()));
        let socket = std::os::unix::net::UnixDatagram::bind(&path).ok()?;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        socket.set_read_timeout(Some(LISTEN_TICK)).ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (commits, jobs, stopped) = (self.inner.commits.clone(), self.inner.jobs.clone(), stop.clone());
        let spawned = std::thread::Builder::new().name("tenantsync-notices".into()).spawn(move || {
            let mut buf = [0u8; 64];
            while !stopped.load(Ordering::Relaxed) {
                match socket.recv(&mut buf) {
                    Ok(n) => match buf.get(..n).and_then(Message::decode) {
                        Some(Message::Commit(c)) => drop(commits.send(c)),
                        Some(Message::Job(j)) => drop(jobs.send(j)),
                        None => {}
                    },
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted) => {}
                    Err(_) => break,
                }
            }
        });
        if spawned.is_err() {
            let _ = std::fs::remove_file(&path);
            return None;
        }
        Some(Listener { path, stop })
    }

    #[cfg(not(unix))]
    fn bind(&self) -> Option<Listener> {
        None
    }

    /// Sends `message` to every other process's socket; drops what cannot be delivered
    /// now, and removes the sockets of processes that are gone.
    #[cfg(unix)]
    fn tell_peers(&self, message: Message) {
        let Ok(mut peers) = self.inner.peers.lock() else { return };
        if peers.listed.is_none_or(|at| at.elapsed() >= RESCAN) {
            let own = self.inner.listener.lock().ok().and_then(|l| l.as_ref().map(|l| l.path.clone()));
            peers.paths = match std::fs::read_dir(&self.inner.dir) {
                Ok(entries) => {
                    entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "sock") && Some(p) != own.as_ref()).collect()
                }
                Err(_) => Vec::new(),
            };
            peers.listed = Some(Instant::now());
        }
        if peers.paths.is_empty() {
            return;
        }
        if peers.socket.is_none() {
            peers.socket = std::os::unix::net::UnixDatagram::unbound().and_then(|s| s.set_nonblocking(true).map(|()| s)).ok();
        }
        let bytes = message.encode();
        let mut gone = Vec::new();
        if let Some(socket) = &peers.socket {
            for path in &peers.paths {
                if let Err(e) = socket.send_to(&bytes, path) {
                    match e.kind() {
                        // Nobody listens there any more: the process died.
                        std::io::ErrorKind::ConnectionRefused => {
                            let _ = std::fs::remove_file(path);
                            gone.push(path.clone());
                        }
                        std::io::ErrorKind::NotFound => gone.push(path.clone()),
                        // Its buffer is full: the receiver's periodic check catches up.
                        _ => {}
                    }
                }
            }
        }
        peers.paths.retain(|p| !gone.contains(p));
    }

    #[cfg(not(unix))]
    fn tell_peers(&self, _message: Message) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_ignored() {
        let tenant = TenantId::new();
        let config = SyncConfigId::new();
        for m in [
            Message::Commit(CommitNotice { tenant_id: tenant, head: ChangeCursor(u64::MAX - 1) }),
            Message::Job(JobNotice::Job(config)),
            Message::Job(JobNotice::All),
        ] {
            assert_eq!(Message::decode(&m.encode()), Some(m));
        }
        assert_eq!(Message::decode(b""), None);
        assert_eq!(Message::decode(b"T\x02\x03"), None, "another version");
        assert_eq!(Message::decode(&[b'T', 1, 1, 0, 0]), None, "too short");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_commit_reaches_another_store_of_the_same_directory_and_dead_sockets_go() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (Notifier::new(dir.path()), Notifier::new(dir.path()));
        let mut rx = b.subscribe_commits();
        let mut jobs = b.subscribe_jobs();
        // A socket left by a process that died.
        let dead = dir.path().join(DIR).join("1-dead.sock");
        drop(std::os::unix::net::UnixDatagram::bind(&dead).unwrap());
        let tenant = TenantId::new();
        a.commit(tenant, Some(7));
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap();
        assert_eq!(got, CommitNotice { tenant_id: tenant, head: ChangeCursor(7) });
        a.job(JobNotice::All);
        assert_eq!(tokio::time::timeout(Duration::from_secs(5), jobs.recv()).await.unwrap().unwrap(), JobNotice::All);
        assert!(!dead.exists(), "the dead socket was removed");
        // A commit without changes says nothing.
        a.commit(tenant, None);
        assert!(tokio::time::timeout(Duration::from_millis(100), rx.recv()).await.is_err());
        let path = b.inner.listener.lock().unwrap().as_ref().unwrap().path.clone();
        drop(b);
        drop(rx);
        drop(jobs);
        assert!(!path.exists(), "a store's socket goes with it");
    }
}
