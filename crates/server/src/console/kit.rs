//! Small pieces the administration pages of tenants, tokens, entitlement management and
//! sync editing share: entitlement management of the server (or the 501 of the admin
//! API), pages of short lists the store hands over whole, and labelled form fields.
use super::session::{Principal, Session};
use super::{ConsoleError, ConsoleResult, ConsoleState};
use crate::graph::error::{GraphCode, GraphError};
use maud::{Markup, html};
use std::collections::HashMap;
use tenantsync_domain::ObjectId;
use tenantsync_governance::Governance;
use tenantsync_store::IdRange;

/// Rows of a page of a definitions list (connected organizations, catalogs, tokens, …).
pub(crate) const ROWS: usize = 50;

/// Entitlement management of the server's store, or the admin API's 501 when it has none.
pub(crate) fn gov(st: &ConsoleState) -> ConsoleResult<&Governance> {
    st.gov.as_ref().ok_or_else(|| {
        ConsoleError::Graph(GraphError::new(GraphCode::NotImplemented, "this server was started without entitlement management (its store does not keep it)"))
    })
}

/// Whether the session may change things (an admin token, not a reader).
pub(crate) fn writer(session: &Session) -> bool {
    matches!(session.principal, Principal::Admin { writer: true, .. })
}

/// A page of a store read that asked for one row more than [`ROWS`]: the rows shown,
/// and the key of the last one when that extra row says there is a next page.
pub(crate) fn split_page<T>(mut found: Vec<T>, key: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
    let next = if found.len() > ROWS { found.get(ROWS - 1).map(&key) } else { None };
    found.truncate(ROWS);
    (found, next)
}

/// The key a page's `after` names (`None` on the first page); one this page could not
/// have given is a 400.
pub(crate) fn after_key<K: std::str::FromStr>(after: &str) -> ConsoleResult<Option<K>> {
    if after.is_empty() {
        return Ok(None);
    }
    after.parse().map(Some).map_err(|_| ConsoleError::bad_request("'after' is not a position this page gave"))
}

/// The limit of a store read for a page of [`ROWS`]: one more, to know if a next one exists.
pub(crate) const PEEK: u32 = ROWS as u32 + 1;

/// Where a page of a list starts: after an id (the next pages) or before one (the
/// previous ones), from the query's `after` or `before`; neither is the first page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub after: Option<ObjectId>,
    pub before: Option<ObjectId>,
}

impl Cursor {
    /// The query's cursor; an id that is not one is a 400.
    pub fn of(q: &HashMap<String, String>) -> ConsoleResult<Cursor> {
        let id = |k: &str| -> ConsoleResult<Option<ObjectId>> {
            match q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v.parse().map(Some).map_err(|_| ConsoleError::bad_request(format!("'{k}' is not an id"))),
            }
        };
        Ok(Cursor { after: id("after")?, before: id("before")? })
    }

    pub fn is_first(&self) -> bool {
        self.after.is_none() && self.before.is_none()
    }

    /// The store's range: one more than a page, to know whether there is more.
    pub fn range(&self) -> IdRange {
        IdRange { after: self.after, before: self.before, limit: ROWS as u32 + 1 }
    }

    /// The cursor as another id type of the same bytes (a request's, an assignment's).
    pub fn map<T>(&self, f: impl Fn([u8; 16]) -> T) -> (Option<T>, Option<T>) {
        (self.after.map(|a| f(*a.as_bytes())), self.before.map(|b| f(*b.as_bytes())))
    }

    /// The page of `items` (read with [`Cursor::range`]'s one more than a page, in id
    /// order), and the ids the links to the previous and the next page start from.
    pub fn window<T>(&self, mut items: Vec<T>, key: impl Fn(&T) -> String) -> (Vec<T>, Option<String>, Option<String>) {
        if self.before.is_some() {
            let earlier = items.len() > ROWS;
            if earlier {
                items.remove(0);
            }
            let previous = items.first().filter(|_| earlier).map(&key);
            // The row the page ends before comes after its last (an empty page has the
            // first page's link only).
            let next = items.last().map(&key);
            return (items, previous, next);
        }
        let later = items.len() > ROWS;
        items.truncate(ROWS);
        let next = items.last().filter(|_| later).map(&key);
        let previous = items.first().filter(|_| self.after.is_some()).map(&key);
        (items, previous, next)
    }
}

/// A labelled text input.
pub(crate) fn text_field(id: &str, label: &str, name: &str, value: &str, required: bool) -> Markup {
    html! { div { label for=(id) { (label) } input id=(id) name=(name) type="text" value=(value) required[required]; } }
}

/// A labelled checkbox.
pub(crate) fn checkbox(id: &str, label: &str, name: &str, checked: bool) -> Markup {
    html! { div { input id=(id) name=(name) type="checkbox" value="true" checked[checked]; " " label.inline-label for=(id) { (label) } } }
}

/// A labelled select of `(value, text)` options.
pub(crate) fn select(id: &str, label: &str, name: &str, current: &str, options: &[(String, String)]) -> Markup {
    html! {
        div {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                @for (v, text) in options { option value=(v) selected[v == current] { (text) } }
            }
        }
    }
}

/// An inline alert: the error of a form that was not saved (nothing changed).
pub(crate) fn refusal(e: &ConsoleError) -> Markup {
    let (message, code) = match e {
        ConsoleError::Graph(g) => (g.message.clone(), g.cause.to_string()),
        ConsoleError::SignIn { .. } => ("sign in again".to_owned(), String::new()),
    };
    html! {
        div.panel role="alert" id="form-error" {
            p.error { (message) }
            p.note { "Nothing was changed." @if !code.is_empty() { " Code: " code { (code) } } }
        }
    }
}

/// The status of a refused form: the error's own.
pub(crate) fn status_of(e: &ConsoleError) -> axum::http::StatusCode {
    match e {
        ConsoleError::Graph(g) => axum::http::StatusCode::from_u16(g.code.status()).unwrap_or(axum::http::StatusCode::BAD_REQUEST),
        ConsoleError::SignIn { .. } => axum::http::StatusCode::UNAUTHORIZED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_links_to_the_pages_before_and_after_it() {
        let ids: Vec<ObjectId> = {
            let mut v: Vec<ObjectId> = (0..ROWS + 2).map(|_| ObjectId::new()).collect();
            v.sort();
            v
        };
        let key = |i: &ObjectId| i.to_string();
        // The first page: a next, no previous.
        let (page, previous, next) = Cursor::default().window(ids[..=ROWS].to_vec(), key);
        assert_eq!((page.len(), previous, next), (ROWS, None, Some(ids[ROWS - 1].to_string())));
        // After it: the rest, a previous from its first, no next.
        let after = Cursor { after: Some(ids[ROWS - 1]), before: None };
        let (page, previous, next) = after.window(ids[ROWS..].to_vec(), key);
        assert_eq!((page.len(), previous, next), (2, Some(ids[ROWS].to_string()), None));
        // Back before it: a whole page with one more before it, so a previous, and a next.
        let before = Cursor { after: None, before: Some(ids[ROWS + 1]) };
        let (page, previous, next) = before.window(ids[..=ROWS].to_vec(), key);
        assert_eq!(page.first(), Some(&ids[1]));
        assert_eq!((page.len(), previous, next), (ROWS, Some(ids[1].to_string()), Some(ids[ROWS].to_string())));
        // Back to the start: nothing before it.
        let before = Cursor { after: None, before: Some(ids[3]) };
        let (page, previous, next) = before.window(ids[..3].to_vec(), key);
        assert_eq!((page.len(), previous, next), (3, None, Some(ids[2].to_string())));
    }

    #[test]
    fn a_page_read_with_one_more_row_says_where_the_next_starts() {
        let key = |i: &u32| format!("{i:03}");
        let (page, next) = split_page((0..=ROWS as u32).collect(), key);
        assert_eq!((page.len(), next.as_deref()), (ROWS, Some("049")));
        let (page, next) = split_page((0..ROWS as u32).collect(), key);
        assert_eq!((page.len(), next), (ROWS, None), "exactly a page: no next one");
        assert_eq!(after_key::<u32>("").unwrap(), None);
        assert_eq!(after_key::<u32>("7").unwrap(), Some(7));
        assert!(after_key::<u32>("x").is_err());
    }
}
