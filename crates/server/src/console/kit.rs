//! Small pieces the administration pages of tenants, tokens, entitlement management and
//! sync editing share: entitlement management of the server (or the 501 of the admin
//! API), pages of short lists the store hands over whole, and labelled form fields.
use super::session::{Principal, Session};
use super::{ConsoleError, ConsoleResult, ConsoleState};
use crate::graph::error::{GraphCode, GraphError};
use maud::{Markup, html};
use tenantsync_governance::Governance;

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

/// The page of `items` after the one whose key is `after`, in key order, and the key to
/// ask for the next page with. For the lists the store keeps whole per tenant (tokens,
/// connected organizations, catalogs, packages, policies: definitions, not directories),
/// so the page shown stays short however many there are.
pub(crate) fn page_after<T>(mut items: Vec<T>, key: impl Fn(&T) -> String, after: &str) -> (Vec<T>, Option<String>) {
    items.sort_by_key(|i| key(i));
    let mut rest: Vec<T> = items.into_iter().filter(|i| after.is_empty() || key(i).as_str() > after).collect();
    let next = if rest.len() > ROWS { rest.get(ROWS - 1).map(&key) } else { None };
    rest.truncate(ROWS);
    (rest, next)
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
    fn pages_of_a_short_list_follow_the_key_order_and_end() {
        let items: Vec<u32> = (0..120).rev().collect();
        let key = |i: &u32| format!("{i:03}");
        let (first, next) = page_after(items.clone(), key, "");
        assert_eq!((first.len(), first.first(), next.as_deref()), (ROWS, Some(&0), Some("049")));
        let (second, next) = page_after(items.clone(), key, "049");
        assert_eq!((second.first(), next.as_deref()), (Some(&50), Some("099")));
        let (third, next) = page_after(items, key, "099");
        assert_eq!((third.len(), next), (20, None));
    }
}
