//! The web console's user search ([`Store::search_users`](tenantsync_store::Store)): the
//! users whose display name starts with a text, then those whose userPrincipalName alone
//! does, each part a range of its NOCASE index (`users_display_name`, `users_upn`) read
//! in that index's order from the cursor on, `LIMIT` what the page still needs (and, in
//! the second part, the users of the first it may pass over). Entries
//! of both indexes end with the primary key's id (the table is `WITHOUT ROWID`), so the
//! order (key, id) is the index's own: no sort, and a cursor is one seek.
//!
//! It replaced a filter `displayName sw T or userPrincipalName sw T` read in id order
//! until the page was full, which for a text few users match read the whole tenant
//! (764 ms at 1,000,000 users; docs/benchmarks.md, issue 20).
use crate::query::{like_escape, prefix_range};
use crate::rows::{self, USER_COLS};
use rusqlite::Connection;
use rusqlite::types::Value;
use tenantsync_store::{SearchCursor, SearchFound, UserSearch};

/// One part's statement: parameters, then the rows it may still return.
#[derive(Debug)]
pub struct Part {
    pub sql: String,
    pub params: Vec<Value>,
    by_upn: bool,
}

/// The parts a page of `search` reads, in order: the display names (unless the cursor
/// is past them, or they are not searched), then the userPrincipalNames.
pub fn parts(tenant: &[u8; 16], search: &UserSearch) -> Vec<Part> {
    let upn_after = search.after.as_ref().filter(|c| c.by_upn);
    let mut out = Vec::with_capacity(2);
    if search.display_name && upn_after.is_none() {
        out.push(part(tenant, ("users_display_name", "display_name"), &search.text, search.after.as_ref(), false));
    }
    // A user whose display name matches came in the first part: it is passed over as it
    // is read (`SearchFound::take`), so that a page can stop after passing over so many.
    out.push(part(tenant, ("users_upn", "upn"), &search.text, upn_after, true));
    out
}

/// One part: `col` starts with `text` ignoring ASCII case (`LIKE`, as a filter of the
/// admin API compares), sought as the NOCASE range of those texts (which may hold a few
/// more: the `LIKE` decides). From a cursor, the
/// range starts at the cursor's key (the row value `(key, id)` then skips the ties
/// before it): with the prefix's own start as a second lower bound, SQLite seeks that one
/// and reads every entry up to the cursor (measured: 97 ms of CPU to find nothing past
/// 33,000 matches).
fn part(tenant: &[u8; 16], (index, col): (&str, &str), text: &str, after: Option<&SearchCursor>, by_upn: bool) -> Part {
    let mut params = vec![Value::Blob(tenant.to_vec())];
    let mut sql = format!("SELECT {USER_COLS} FROM users INDEXED BY {index} WHERE tenant_id = ? AND deleted_ms IS NULL AND {col} IS NOT NULL");
    if let Some((low, high)) = prefix_range(text) {
        sql.push_str(&format!(" AND {col} >= ? COLLATE NOCASE AND {col} < ? COLLATE NOCASE"));
        params.push(Value::Text(after.map_or(low, |c| c.key.clone())));
        params.push(Value::Text(high));
    }
    // `+col`: no bound of the index is derived from the pattern (SQLite's LIKE
    // optimization), which would compete with the cursor's.
    sql.push_str(&format!(" AND +{col} LIKE ? ESCAPE '\\'"));
    params.push(Value::Text(format!("{}%", like_escape(text))));
    if let Some(c) = after {
        sql.push_str(&format!(" AND ({col} COLLATE NOCASE, id) > (?, ?)"));
        params.push(Value::Text(c.key.clone()));
        params.push(Value::Blob(c.id.as_bytes().to_vec()));
    }
    sql.push_str(&format!(" ORDER BY {col} COLLATE NOCASE, id LIMIT ?"));
    Part { sql, params, by_upn }
}

/// Reads the parts in order until the page and one more user are found (or the second
/// part has passed over all it may), in one read transaction (both parts see the same
/// state).
pub fn run(conn: &Connection, parts: &[Part], search: &UserSearch) -> rusqlite::Result<SearchFound> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    let result = (|| {
        let mut found = SearchFound::default();
        for p in parts {
            let rows = if p.by_upn { found.second_part_rows(search) } else { found.wants(search) };
            if rows == 0 {
                break;
            }
            let mut params = p.params.clone();
            params.push(Value::Integer(i64::try_from(rows).unwrap_or(i64::MAX)));
            let mut stmt = conn.prepare_cached(&p.sql)?;
            for user in stmt.query_map(rusqlite::params_from_iter(params.iter()), rows::user)? {
                found.take(search, user?, p.by_upn);
            }
        }
        Ok(found)
    })();
    // A pooled connection must not stay in the transaction.
    if conn.prepare_cached("COMMIT").and_then(|mut s| s.execute([])).is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantsync_domain::ObjectId;

    /// Every part seeks its index and reads it in order: no scan of the tenant, no sort,
    /// at the beginning and from a cursor in either part.
    #[test]
    fn each_part_is_a_range_of_its_index_in_its_order() {
        let conn = Connection::open_in_memory().unwrap();
        for m in crate::schema::migrations() {
            conn.execute_batch(m).unwrap();
        }
        let at = |by_upn| Some(SearchCursor { by_upn, key: "Ada L".into(), id: ObjectId::new() });
        for (display_name, after) in [(true, None), (true, at(false)), (true, at(true)), (false, None), (false, at(true))] {
            let search = UserSearch { text: "Ada".into(), display_name, after, limit: 50, pass_over: UserSearch::PASS_OVER };
            for p in parts(&[0; 16], &search) {
                let mut params = p.params.clone();
                params.push(Value::Integer(51));
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", p.sql)).unwrap();
                let plan: Vec<String> =
                    stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
                let plan = plan.join("\n");
                let index = if p.by_upn { "users_upn" } else { "users_display_name" };
                assert!(plan.starts_with("SEARCH users USING INDEX") && plan.contains(index), "{search:?} should seek {index}:\n{plan}");
                assert!(!plan.contains("TEMP B-TREE"), "{search:?} sorts:\n{plan}");
            }
        }
    }

    /// A page from a cursor starts reading at the cursor: the virtual machine's steps for
    /// a page past 2,000 matches are those of the page, not of the 2,000 before it.
    #[test]
    fn a_page_from_a_cursor_seeks_the_cursor() {
        let conn = Connection::open_in_memory().unwrap();
        for m in crate::schema::migrations() {
            conn.execute_batch(m).unwrap();
        }
        let tenant = [7u8; 16];
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        for i in 0..2000 {
            conn.execute(
                "INSERT INTO users (tenant_id, id, upn, display_name, account_enabled, user_type, version, created_ms, modified_ms) VALUES (?1, ?2, ?3, ?4, 1, 0, 1, 0, 0)",
                rusqlite::params![tenant, ObjectId::new().as_bytes(), format!("ada.n{i:04}@t.example"), format!("Ada N{i:04}")],
            )
            .unwrap();
        }
        let steps = |after: Option<SearchCursor>| {
            let search = UserSearch { text: "ada".into(), display_name: true, after, limit: 10, pass_over: UserSearch::PASS_OVER };
            let p = parts(&tenant, &search).into_iter().next().unwrap();
            let mut params = p.params.clone();
            params.push(Value::Integer(11));
            let mut stmt = conn.prepare(&p.sql).unwrap();
            let n = stmt.query_map(rusqlite::params_from_iter(params.iter()), |_| Ok(())).unwrap().count();
            (n, stmt.get_status(rusqlite::StatementStatus::VmStep))
        };
        let (first, first_steps) = steps(None);
        assert_eq!(first, 11);
        // Near the end of the range, and past it (the cursor where the names end).
        let near = SearchCursor { by_upn: false, key: "Ada N1990".into(), id: ObjectId::from_bytes([0; 16]) };
        let past = SearchCursor { by_upn: false, key: "Adb".into(), id: ObjectId::from_bytes([0; 16]) };
        for (cursor, rows) in [(near, 10), (past, 0)] {
            let (n, vm) = steps(Some(cursor));
            assert_eq!(n, rows);
            assert!(vm <= 2 * first_steps, "{vm} steps from the cursor, {first_steps} for the first page");
        }
    }
}
