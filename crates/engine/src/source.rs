//! The pages of source users an initial cycle walks: read by the walk itself, or taken
//! from a scan of the source that several dry runs from the same source share (a plan
//! predicts every arrow of a mesh: each source is read and decoded once for all of its
//! arrows instead of once per arrow).
//!
//! A shared scan holds only the pages some walk has not passed yet, and a walk that gets
//! [`WINDOW`] pages ahead of the slowest waits for it, so memory stays a few pages
//! whatever the size of the source. The slowest walk never waits (its next page has
//! been read), so the walks cannot block each other.
use crate::EngineError;
use crate::plan::UserMemo;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tenantsync_domain::{ObjectId, TenantId, User};
use tenantsync_store::{Fields, ListQuery, SyncStore, Visibility};

/// Pages a walk of a shared scan may get ahead of the slowest one.
const WINDOW: usize = 4;

/// A page of source users, in id order, with the memos of the walks that share it.
pub(crate) type Page = Arc<PageData>;

/// The users of a page and, when walks of the same class (same mappings and filter)
/// share it, one [`UserMemo`] per user and class: what scoping and mapping made of the
/// user is worked out once for the class, not once per walk.
#[derive(Debug, Default)]
pub(crate) struct PageData {
    /// `None` once the walk took the user out (see [`PageData::take`]). Not boxed: the
    /// page's users stay where the read put them (boxing a page's worth at once wrote a
    /// second copy of it to fresh memory); the walk boxes one as it takes it.
    users: Vec<Option<User>>,
    /// `classes` memos per user, user after user.
    memos: Vec<UserMemo>,
    classes: usize,
}

impl PageData {
    fn new(users: Vec<User>, classes: usize) -> PageData {
        let memos = (0..users.len() * classes).map(|_| UserMemo::default()).collect();
        PageData { users: users.into_iter().map(Some).collect(), memos, classes }
    }

    pub(crate) fn len(&self) -> usize {
        self.users.len()
    }

    pub(crate) fn get(&self, i: usize) -> Option<&User> {
        self.users.get(i).and_then(Option::as_ref)
    }

    /// User `i`, taken out of the page (which only this walk holds): the walk's plan may
    /// then move the user's values into a copy (see `plan::Src`).
    pub(crate) fn take(&mut self, i: usize) -> Option<User> {
        self.users.get_mut(i).and_then(Option::take)
    }

    /// User `i`'s memo of `class`, if the walks share one.
    pub(crate) fn memo(&self, i: usize, class: Option<usize>) -> Option<&UserMemo> {
        let class = class.filter(|c| *c < self.classes)?;
        self.memos.get(i * self.classes + class)
    }
}

/// A page of the source's users as an initial cycle reads them: soft-deleted ones too,
/// and only what a sync reads of each.
fn source_query(limit: u32, after: Option<ObjectId>) -> ListQuery {
    ListQuery { after, limit, visibility: Visibility::All, fields: Fields::Sync }
}

/// Where an initial cycle's walk gets its pages.
pub(crate) enum Pages {
    /// Read by the walk, one after another.
    Own { query: ListQuery, done: bool },
    /// Taken from a scan shared with other walks.
    Shared(Walker),
}

impl Pages {
    /// The walk reads the source itself, `page` users at a time.
    pub(crate) fn own(page: u32) -> Pages {
        Pages::Own { query: source_query(page, None), done: false }
    }

    /// The next page of `source`, or `None` at the end.
    pub(crate) async fn next(&mut self, store: &dyn SyncStore, source: TenantId) -> Result<Option<Page>, EngineError> {
        match self {
            Pages::Own { done: true, .. } => Ok(None),
            Pages::Own { query, done } => {
                let page = store.list_users(source, query).await?;
                match page.next {
                    Some(n) => query.after = Some(n),
                    None => *done = true,
                }
                Ok(Some(Arc::new(PageData::new(page.items, 0))))
            }
            Pages::Shared(w) => w.next(store).await,
        }
    }

    /// The class whose memos this walk reads and fills, if it shares them.
    pub(crate) fn class(&self) -> Option<usize> {
        match self {
            Pages::Own { .. } => None,
            Pages::Shared(w) => w.class,
        }
    }
}

/// What a shared scan holds.
struct State {
    /// The pages not every walk has passed; the first is page number `first`.
    pages: VecDeque<Page>,
    first: usize,
    /// Where the next read starts, and whether the source is read to its end.
    after: Option<ObjectId>,
    done: bool,
    /// The number of the next page each walk takes (`usize::MAX` once it has ended).
    positions: Vec<usize>,
}

impl State {
    fn slowest(&self) -> usize {
        self.positions.iter().copied().min().unwrap_or(usize::MAX)
    }

    /// Lets go of the pages every walk has passed.
    fn drop_passed(&mut self) {
        let slowest = self.slowest();
        while self.first < slowest && !self.pages.is_empty() {
            self.pages.pop_front();
            self.first += 1;
        }
    }
}

/// One read of a source's users, shared by walks of it.
pub(crate) struct SharedScan {
    source: TenantId,
    /// Users per page.
    page: u32,
    /// Memo classes per user of a page.
    classes: usize,
    state: Mutex<State>,
    /// One walk reads a page at a time; the others find it read.
    reading: tokio::sync::Mutex<()>,
    /// Woken when a page is read or a walk moves on.
    moved: tokio::sync::Notify,
}

impl SharedScan {
    /// A scan of `source`, `page` users at a time, for one walk per entry of `classes`:
    /// one [`Walker`] each, all of which must be walked (or dropped) together. Walks of
    /// the same class (`Some(n)`) share memos; `None` walks alone.
    pub(crate) fn walkers(source: TenantId, page: u32, classes: &[Option<usize>]) -> Vec<Walker> {
        let walks = classes.len();
        let scan = Arc::new(SharedScan {
            source,
            page: page.max(1),
            classes: classes.iter().flatten().max().map_or(0, |c| c + 1),
            state: Mutex::new(State { pages: VecDeque::new(), first: 0, after: None, done: false, positions: vec![0; walks] }),
            reading: tokio::sync::Mutex::new(()),
            moved: tokio::sync::Notify::new(),
        });
        classes.iter().enumerate().map(|(index, class)| Walker { scan: scan.clone(), index, class: *class }).collect()
    }

    fn state(&self) -> Result<std::sync::MutexGuard<'_, State>, EngineError> {
        self.state.lock().map_err(|_| EngineError::Store(tenantsync_store::StoreError::Internal { message: "a shared scan's lock was poisoned".into() }))
    }
}

/// One walk's place in a [`SharedScan`].
pub(crate) struct Walker {
    scan: Arc<SharedScan>,
    index: usize,
    class: Option<usize>,
}

/// What a walk finds when it asks for its next page.
enum Found {
    Page(Page),
    End,
    /// Too far ahead of the slowest walk: wait for it.
    Wait,
    /// Not read yet: read it.
    Read,
}

impl Walker {
    fn look(&self) -> Result<Found, EngineError> {
        let mut s = self.scan.state()?;
        let want = s.positions.get(self.index).copied().unwrap_or(usize::MAX);
        if let Some(page) = want.checked_sub(s.first).and_then(|i| s.pages.get(i)).cloned() {
            if let Some(p) = s.positions.get_mut(self.index) {
                *p = want + 1;
            }
            s.drop_passed();
            return Ok(Found::Page(page));
        }
        if s.done {
            return Ok(Found::End);
        }
        if want >= s.slowest() + WINDOW {
            return Ok(Found::Wait);
        }
        Ok(Found::Read)
    }

    async fn next(&mut self, store: &dyn SyncStore) -> Result<Option<Page>, EngineError> {
        loop {
            // Created before looking, so a move made in between is not missed.
            let moved = self.scan.moved.notified();
            match self.look()? {
                Found::Page(page) => {
                    self.scan.moved.notify_waiters();
                    return Ok(Some(page));
                }
                Found::End => return Ok(None),
                Found::Wait => moved.await,
                Found::Read => {
                    let _reading = self.scan.reading.lock().await;
                    let after = {
                        let s = self.scan.state()?;
                        let want = s.positions.get(self.index).copied().unwrap_or(usize::MAX);
                        if s.done || want < s.first + s.pages.len() {
                            // Another walk read it meanwhile.
                            continue;
                        }
                        s.after
                    };
                    let query = source_query(self.scan.page, after);
                    let page = store.list_users(self.scan.source, &query).await?;
                    let mut s = self.scan.state()?;
                    match page.next {
                        Some(n) => s.after = Some(n),
                        None => s.done = true,
                    }
                    s.pages.push_back(Arc::new(PageData::new(page.items, self.scan.classes)));
                    drop(s);
                    self.scan.moved.notify_waiters();
                }
            }
        }
    }
}

impl Drop for Walker {
    fn drop(&mut self) {
        // An ended walk (or one that failed) holds no page back and nobody waits for it.
        if let Ok(mut s) = self.scan.state.lock() {
            if let Some(p) = s.positions.get_mut(self.index) {
                *p = usize::MAX;
            }
            s.drop_passed();
        }
        self.scan.moved.notify_waiters();
    }
}
