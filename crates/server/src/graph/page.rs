//! Paging of collections: `$top` items a page, and an absolute `@odata.nextLink` whose
//! `$skiptoken` holds the position to go on from (keyset paging: a deep page costs what
//! the first one costs), bound to the query it was made for.
use super::error::{GraphCode, GraphError};
use crate::cursor;
use tenantsync_store::Seek;

/// The page size when the client gives no `$top` (as Graph's users and groups).
pub const DEFAULT_TOP: u32 = 100;

/// The position a `$skiptoken` names, for the query whose parts are `query` (the
/// resource, the filter, the order: a token made for another query is refused).
pub fn seek(skiptoken: Option<&str>, query: &[&str]) -> Result<Seek, GraphError> {
    match skiptoken {
        None => Ok(Seek::First),
        Some(token) => cursor::decode(token, cursor::fingerprint(query))
            .map_err(|_| GraphError::new(GraphCode::BadRequest, "$skiptoken is not one this server issued for this query")),
    }
}

/// The `$skiptoken` of the page after `seek` for `query`.
pub fn skiptoken(seek: &Seek, query: &[&str]) -> String {
    cursor::encode(seek, cursor::fingerprint(query))
}

/// The absolute next link: `{base}{path}?{params}&$skiptoken=…` with the request's own
/// parameters, `$skiptoken` replaced.
pub fn next_link(base: &str, path: &str, params: &[(String, String)], token: &str) -> String {
    let mut pairs: Vec<String> =
        params.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken")).map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    pairs.push(format!("$skiptoken={}", encode(token)));
    format!("{base}{path}?{}", pairs.join("&"))
}

/// Percent-encodes a query component (`$` is kept, as Graph writes its options).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~$".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_absolute_and_keep_the_query() {
        let params = vec![("$filter".to_owned(), "startsWith(displayName,'A')".to_owned()), ("$skiptoken".to_owned(), "old".to_owned())];
        let link = next_link("http://h:1", "/v1.0/users", &params, "tok/+");
        assert_eq!(link, "http://h:1/v1.0/users?$filter=startsWith%28displayName%2C%27A%27%29&$skiptoken=tok%2F%2B");
    }

    #[test]
    fn a_skiptoken_serves_only_its_query() {
        let s = Seek::After(tenantsync_store::Keyset { value: None, id: tenantsync_domain::ObjectId::new() });
        let token = skiptoken(&s, &["users", "f1"]);
        assert_eq!(seek(Some(&token), &["users", "f1"]).unwrap(), s);
        assert_eq!(seek(Some(&token), &["users", "f2"]).unwrap_err().code, GraphCode::BadRequest);
        assert_eq!(seek(Some("garbage"), &["users", "f1"]).unwrap_err().code, GraphCode::BadRequest);
        assert_eq!(seek(None, &["users"]).unwrap(), Seek::First);
    }
}
