//! Waiting for another process's write lock, and letting waiting processes in.
//!
//! Within a process every write goes through the one writer thread, so only other
//! processes on the same data directory (the CLI beside `serve`, two imports) contend for
//! SQLite's write lock. Two things went wrong with SQLite's own busy handler: it polls
//! with sleeps growing to 100 ms, so a long writer that commits and begins again at once
//! (an import committing unit by unit) leaves the lock free for microseconds and a waiter
//! practically never gets it; and a wait that ran out was a plain `storage_failure`.
//!
//! So a writer that has to wait **marks itself waiting**: it holds a shared advisory lock
//! on `tenantsync.lock` in the data directory from its first busy retry until its job
//! ends, and retries every few milliseconds. A long writer, between two units, **looks for
//! that mark** (an exclusive try-lock fails while anyone holds it) and, if it is there,
//! commits and does not begin again until the waiters are through (at most
//! [`YIELD_AT_MOST`]). A wait is bounded by the busy timeout (`TENANTSYNC_BUSY_TIMEOUT_MS`,
//! default [`DEFAULT_BUSY_TIMEOUT`]); past it the write fails with `StoreError::Busy`
//! (`store_busy`).
use crate::files;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a write waits for another process's write lock by default. Longer than a
/// whole-file import of a million users takes on a small machine (about 15–20 s).
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The variable that overrides [`DEFAULT_BUSY_TIMEOUT`], in milliseconds.
pub const BUSY_TIMEOUT_VAR: &str = "TENANTSYNC_BUSY_TIMEOUT_MS";

/// The file whose advisory lock marks waiting writers.
pub const LOCK_FILE: &str = "tenantsync.lock";

/// The longest a long writer holds back between two units for marked waiters (a waiter
/// whose own job is long keeps its mark until that job ends).
pub const YIELD_AT_MOST: Duration = Duration::from_secs(2);

/// The busy timeout of `TENANTSYNC_BUSY_TIMEOUT_MS`, or the default.
pub fn busy_timeout_from_env() -> Duration {
    std::env::var(BUSY_TIMEOUT_VAR).ok().and_then(|v| v.trim().parse::<u64>().ok()).map_or(DEFAULT_BUSY_TIMEOUT, Duration::from_millis)
}

/// A timeout SQLite can take (it counts milliseconds in an `i32`).
pub fn clamp(timeout: Duration) -> Duration {
    timeout.min(Duration::from_millis(i32::MAX as u64))
}

/// Whether a SQLite error is a lock another connection holds.
pub fn is_busy(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
}

/// One store's side of the waiting protocol (one per open store; the writer thread uses it).
#[derive(Debug)]
pub(crate) struct Turn {
    /// `tenantsync.lock`, or `None` if it cannot be opened (then waiting still works, only
    /// without the mark).
    file: Option<File>,
    /// Whether this store holds the waiting mark.
    marked: AtomicBool,
    timeout: Duration,
}

impl Turn {
    pub fn open(dir: &Path, timeout: Duration) -> Turn {
        let file = match files::open_private(&dir.join(LOCK_FILE)) {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(error = %e, "cannot open {LOCK_FILE}: writes of other processes will not be let in between import units");
                None
            }
        };
        Turn { file, marked: AtomicBool::new(false), timeout }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The busy handler of the writer connection: marks this store waiting, retries every
    /// few milliseconds, gives up after the timeout (SQLite then answers `SQLITE_BUSY`).
    pub fn busy_handler(self: &Arc<Self>) -> impl FnMut(i32) -> bool + Send + 'static {
        let turn = self.clone();
        let mut started = Instant::now();
        move |count| {
            if count == 0 {
                started = Instant::now();
            }
            turn.mark();
            let waited = started.elapsed();
            let Some(left) = turn.timeout.checked_sub(waited).filter(|d| !d.is_zero()) else { return false };
            let step = Duration::from_millis(match count {
                0..=19 => 1,
                20..=99 => 2,
                _ => 5,
            });
            std::thread::sleep(step.min(left));
            true
        }
    }

    fn mark(&self) {
        if let Some(f) = &self.file
            && !self.marked.load(Ordering::Relaxed)
            && f.try_lock_shared().is_ok()
        {
            self.marked.store(true, Ordering::Relaxed);
        }
    }

    /// Drops this store's waiting mark (its job has the lock, or is over).
    pub fn unmark(&self) {
        if self.marked.swap(false, Ordering::Relaxed)
            && let Some(f) = &self.file
        {
            let _ = f.unlock();
        }
    }

    /// Whether a writer of another store marked itself waiting.
    pub fn others_waiting(&self) -> bool {
        self.unmark();
        let Some(f) = &self.file else { return false };
        match f.try_lock() {
            Ok(()) => {
                let _ = f.unlock();
                false
            }
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(std::fs::TryLockError::Error(_)) => false,
        }
    }

    /// Called with the write lock released: waits until no writer is marked waiting any
    /// more (they got the lock and finished), or [`YIELD_AT_MOST`].
    pub fn let_waiters_in(&self) {
        let until = Instant::now() + YIELD_AT_MOST;
        while self.others_waiting() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
