//! Queries that run inside the store: a storage-neutral filter tree over domain attribute
//! names, a sort key and an offset page. Protocol layers (SCIM, later Graph `$filter`)
//! translate their own syntax into a [`Filter`]; each backend translates the tree into
//! its query language (SQLite: SQL with bound parameters) so filtering, sorting, counting
//! and paging never load a tenant into memory.
//!
//! Semantics every backend keeps (the conformance suite checks them):
//! - A comparison on a field without a value is false, except `Ne`, which is true
//!   (`x ne v` ≡ `not (x eq v)`). [`Filter::Present`] is true when the field has a value.
//! - `ignore_case` compares text with ASCII case folding (as `COLLATE NOCASE`);
//!   otherwise text compares exactly, byte by byte.
//! - `Co`/`Sw`/`Ew` apply to text only; `Gt`/`Ge`/`Lt`/`Le` to text and timestamps.
//! - Soft-deleted objects are never returned by a query.
//! - Results are ordered by the sort key (absent values last ascending, first
//!   descending) and then by id, so paging is stable.
use jiff::Timestamp;
use tenantsync_domain::{ExtensionName, GroupAttribute, ObjectId, TenantId, UserAttribute};

/// A field a query can test or sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The object id.
    Id,
    /// `createdDateTime`.
    Created,
    /// `lastModifiedDateTime`.
    LastModified,
    /// A built-in user attribute (user queries only). `Manager` compares with an id.
    User(UserAttribute),
    /// A built-in group attribute (group queries only).
    Group(GroupAttribute),
    /// The direct members of a group (group queries only): `Eq` with a user id tests
    /// membership, `Present` tests for any member.
    Member,
    /// The groups a user is a direct member of (user queries only; soft-deleted groups do
    /// not count): `Eq` with a group id tests membership, `Present` tests for any group.
    MemberOf,
}

/// A value to compare a field with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    Text(String),
    Bool(bool),
    Time(Timestamp),
    Id(ObjectId),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    /// Contains (text).
    Co,
    /// Starts with (text).
    Sw,
    /// Ends with (text).
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A filter over the objects of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Matches everything (`true`) or nothing (`false`).
    Const(bool),
    /// The field has a value.
    Present(Field),
    Compare {
        field: Field,
        op: CompareOp,
        value: FilterValue,
        ignore_case: bool,
    },
    /// A directory extension attribute of users (user queries only). `test: None` is true
    /// when the user has the attribute; otherwise a text comparison, true when any value
    /// of a multi-valued attribute satisfies it (`Ne`: when no value equals).
    Extension {
        name: ExtensionName,
        test: Option<(CompareOp, String)>,
        ignore_case: bool,
    },
    /// Some object linked by direct membership satisfies `filter`: with
    /// `via: Field::MemberOf` (user queries), one of the live groups the user is a member
    /// of, `filter` being over groups; with `via: Field::Member` (group queries), one of the
    /// group's live members, `filter` being over users. `filter` tests the linked objects'
    /// own attributes (no memberships, links or extension attributes within).
    Linked {
        via: Field,
        filter: Box<Filter>,
    },
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
}

impl Filter {
    /// A case-sensitive comparison.
    pub fn exact(field: Field, op: CompareOp, value: FilterValue) -> Filter {
        Filter::Compare { field, op, value, ignore_case: false }
    }

    /// A comparison folding ASCII case.
    pub fn folded(field: Field, op: CompareOp, value: FilterValue) -> Filter {
        Filter::Compare { field, op, value, ignore_case: true }
    }

    /// Nesting depth of the tree (a leaf is 1).
    pub fn depth(&self) -> usize {
        match self {
            Filter::Const(_) | Filter::Present(_) | Filter::Compare { .. } | Filter::Extension { .. } => 1,
            Filter::Not(f) | Filter::Linked { filter: f, .. } => 1 + f.depth(),
            Filter::And(v) | Filter::Or(v) => 1 + v.iter().map(Filter::depth).max().unwrap_or(0),
        }
    }
}

/// The order of a query's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub field: Field,
    pub descending: bool,
    /// Fold ASCII case when ordering text.
    pub ignore_case: bool,
}

/// A query: which objects (filter), in which order, which slice of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectQuery {
    pub filter: Option<Filter>,
    pub sort: Option<SortKey>,
    /// How many matching objects to skip (ignored when `seek` is set).
    pub offset: u64,
    /// How many to return at most; 0 counts without returning any.
    pub limit: u32,
    /// Keyset paging: where the page starts, as a position in the query's order instead
    /// of an offset. The store then seeks to that position (a deep page costs what the
    /// first one costs), does not count the matches, and reports the positions to go
    /// on from in [`QueryPage::next`] and [`QueryPage::previous`].
    pub seek: Option<Seek>,
}

impl Default for ObjectQuery {
    fn default() -> Self {
        Self { filter: None, sort: None, offset: 0, limit: 100, seek: None }
    }
}

/// A value of a sort key as the store keeps it: opaque to callers, who only hand it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    Text(String),
    Int(i64),
    Bytes(Vec<u8>),
}

/// A position in a query's order: the sort key's value of one object (`None`: the object
/// has no value) and its id, which breaks ties. Without a sort key only the id counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset {
    pub value: Option<KeyValue>,
    pub id: ObjectId,
}

/// Where a keyset page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seek {
    /// At the beginning of the order.
    First,
    /// With the objects after this position (the object itself excluded).
    After(Keyset),
    /// With the `limit` objects just before this position (the object itself excluded);
    /// the page still comes in the query's order.
    Before(Keyset),
}

/// A slice of a query's results and how many objects matched in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPage<T> {
    pub items: Vec<T>,
    /// Every match, counted; `None` for keyset pages (counting would walk every match).
    pub total: Option<u64>,
    /// Keyset pages: the position to seek after for the next page, when there is one.
    pub next: Option<Keyset>,
    /// Keyset pages: the position to seek before for the previous page, when this page
    /// did not start at the beginning.
    pub previous: Option<Keyset>,
}

impl<T> QueryPage<T> {
    /// A keyset page from the rows a store read for `seek` — up to `limit + 1` of them, in
    /// the order read (backwards for [`Seek::Before`]), each with its position: the first
    /// `limit` in the query's order, and the positions of the pages next to it.
    pub fn keyset(mut rows: Vec<(T, Keyset)>, limit: usize, seek: &Seek) -> QueryPage<T> {
        let more = rows.len() > limit;
        rows.truncate(limit);
        if matches!(seek, Seek::Before(_)) {
            rows.reverse();
        }
        let first = rows.first().map(|(_, k)| k.clone());
        let last = rows.last().map(|(_, k)| k.clone());
        let (next, previous) = match seek {
            Seek::First => (last.filter(|_| more), None),
            Seek::After(_) => (last.filter(|_| more), first),
            Seek::Before(_) => (last, first.filter(|_| more)),
        };
        QueryPage { items: rows.into_iter().map(|(item, _)| item).collect(), total: None, next, previous }
    }
}

/// A search of a tenant's live users by the start of their display name or their
/// userPrincipalName, ignoring ASCII case (the web console's user search), one keyset
/// page at a time ([`crate::Store::search_users`]).
///
/// The order is that of the two indexes it reads: first the users whose display name
/// starts with the text, by display name (folded) then id; then those whose
/// userPrincipalName starts with it and whose display name does not, by
/// userPrincipalName (folded) then id. Each user comes once. Each part is a range of its
/// index read from the cursor on, so a page reads what it shows whether no user matches
/// or thousands do. The second part's range also holds the users of the first that match
/// both ways (in a directory whose sign-in names are made of the names, most of them):
/// it passes over them, at most [`UserSearch::pass_over`] a page; a page that reaches
/// that many ends there, shorter than the limit (even empty), with a cursor to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSearch {
    /// The start of the names, not empty.
    pub text: String,
    /// Whether display names are searched (else the userPrincipalName alone, the second
    /// part with nothing passed over).
    pub display_name: bool,
    /// Where the page starts: after this user; `None` at the beginning.
    pub after: Option<SearchCursor>,
    /// Users a page holds at most.
    pub limit: u32,
    /// Users of the first part a page passes over at most in the second.
    pub pass_over: u32,
}

impl UserSearch {
    /// What a page may pass over by default: a thousand rows read, a few milliseconds.
    pub const PASS_OVER: u32 = 1000;

    /// Whether `display_name` starts with the text, as the stores compare (ASCII folded,
    /// then bytes): whether the user came in the first part.
    pub fn name_matches(&self, display_name: Option<&str>) -> bool {
        let text = self.text.to_ascii_lowercase();
        display_name.is_some_and(|n| n.len() >= text.len() && n.as_bytes().get(..text.len()).is_some_and(|p| p.eq_ignore_ascii_case(text.as_bytes())))
    }
}

/// A position in a [`UserSearch`]'s order: the part, the key there as stored, the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCursor {
    /// Among the userPrincipalName matches (the second part).
    pub by_upn: bool,
    /// The user's display name (first part) or userPrincipalName (second part).
    pub key: String,
    pub id: ObjectId,
}

impl SearchCursor {
    /// The position of `user` in the part `by_upn`.
    pub fn at(user: &tenantsync_domain::User, by_upn: bool) -> SearchCursor {
        let key = if by_upn { user.attrs.user_principal_name.to_string() } else { user.attrs.display_name.clone().unwrap_or_default() };
        SearchCursor { by_upn, key, id: user.id }
    }
}

/// A page of a [`UserSearch`] and where the next one starts, when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub items: Vec<tenantsync_domain::User>,
    pub next: Option<SearchCursor>,
}

/// What a store's parts found for a page, read `limit + 1` users at most (to learn
/// whether more follow) and, in the second part, `pass_over` users of the first at most.
#[derive(Debug, Default)]
pub struct SearchFound {
    found: Vec<(tenantsync_domain::User, bool)>,
    /// Where the second part stopped when it had passed over all it may.
    stopped: Option<SearchCursor>,
    passed: u32,
}

impl SearchFound {
    /// How many more users the page wants (0: it is full, or it stopped).
    pub fn wants(&self, search: &UserSearch) -> usize {
        if self.stopped.is_some() {
            return 0;
        }
        usize::try_from(search.limit).unwrap_or(usize::MAX).saturating_add(1).saturating_sub(self.found.len())
    }

    /// How many rows the second part may read for what the page still wants.
    pub fn second_part_rows(&self, search: &UserSearch) -> usize {
        let pass = if search.display_name { usize::try_from(search.pass_over).unwrap_or(usize::MAX) } else { 0 };
        self.wants(search).saturating_add(pass)
    }

    /// Takes one user read by a part, in the part's order; the second part's users that
    /// match by name too are passed over (counted, not kept).
    pub fn take(&mut self, search: &UserSearch, user: tenantsync_domain::User, by_upn: bool) {
        if self.wants(search) == 0 {
            return;
        }
        if by_upn && search.display_name && search.name_matches(user.attrs.display_name.as_deref()) {
            self.passed += 1;
            if self.passed >= search.pass_over.max(1) {
                self.stopped = Some(SearchCursor::at(&user, true));
            }
            return;
        }
        self.found.push((user, by_upn));
    }

    /// The page: the first `limit` users kept, and the position after the last one (or
    /// where the second part stopped) when more may follow.
    pub fn page(mut self, search: &UserSearch) -> SearchPage {
        let limit = usize::try_from(search.limit).unwrap_or(usize::MAX);
        let more = self.found.len() > limit;
        self.found.truncate(limit);
        let next = if more { self.found.last().map(|(u, by_upn)| SearchCursor::at(u, *by_upn)) } else { self.stopped };
        SearchPage { items: self.found.into_iter().map(|(u, _)| u).collect(), next }
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty() && self.stopped.is_none()
    }
}

/// One group a user is a direct member of, as a user's `groups` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroup {
    pub user: ObjectId,
    pub group: ObjectId,
    pub display_name: String,
}

/// What a token may do in its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TokenRole {
    /// Everything: the admin API (reads and writes) and SCIM.
    Admin,
    /// Reads only, through the admin API and SCIM.
    Reader,
    /// SCIM only (reads and writes): what a provisioning client holds.
    Scim,
}

impl TokenRole {
    pub const ALL: [TokenRole; 3] = [TokenRole::Admin, TokenRole::Reader, TokenRole::Scim];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenRole::Admin => "admin",
            TokenRole::Reader => "reader",
            TokenRole::Scim => "scim",
        }
    }

    pub fn parse(text: &str) -> Option<TokenRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// An API token as stored: never the token itself, only a SHA-256 hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: ObjectId,
    pub tenant_id: TenantId,
    pub name: String,
    pub role: TokenRole,
    /// SHA-256 of the token's secret part.
    pub secret_hash: [u8; 32],
    pub created_date_time: Timestamp,
    pub expires_date_time: Option<Timestamp>,
    pub revoked_date_time: Option<Timestamp>,
}

impl ApiToken {
    /// Whether the token may be used at `now`.
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.revoked_date_time.is_none() && self.expires_date_time.is_none_or(|e| now < e)
    }
}

/// A token about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub id: ObjectId,
    pub tenant_id: TenantId,
    pub name: String,
    pub role: TokenRole,
    pub secret_hash: [u8; 32],
    pub expires_date_time: Option<Timestamp>,
}
