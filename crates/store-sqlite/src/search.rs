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
use crate::query::{Condition, Table};
use crate::rows::{self, USER_COLS};
use rusqlite::Connection;
use rusqlite::types::Value;
use tenantsync_domain::UserAttribute;
use tenantsync_store::{CompareOp, Field, Filter, FilterValue, SearchCursor, SearchFound, StoreError, UserSearch};

/// One part's statement: parameters, then the rows it may still return.
#[derive(Debug)]
pub struct Part {
    pub sql: String,
    pub params: Vec<Value>,
    by_upn: bool,
}

/// The parts a page of `search` reads, in order: the display names (unless the cursor
/// is past them, or they are not searched), then the userPrincipalNames.
pub fn parts(tenant: &[u8; 16], search: &UserSearch) -> Result<Vec<Part>, StoreError> {
    let prefix = |a| Filter::folded(Field::User(a), CompareOp::Sw, FilterValue::Text(search.text.clone()));
    let (name, upn) = (prefix(UserAttribute::DisplayName), prefix(UserAttribute::UserPrincipalName));
    let upn_after = search.after.as_ref().filter(|c| c.by_upn);
    let mut out = Vec::with_capacity(2);
    if search.display_name && upn_after.is_none() {
        out.push(part(tenant, ("users_display_name", "display_name"), &name, search.after.as_ref(), false)?);
    }
    // A user whose display name matches came in the first part: it is passed over as it
    // is read (`SearchFound::take`), so that a page can stop after passing over so many.
    out.push(part(tenant, ("users_upn", "upn"), &upn, upn_after, true)?);
    Ok(out)
}

fn part(tenant: &[u8; 16], (index, col): (&str, &str), filter: &Filter, after: Option<&SearchCursor>, by_upn: bool) -> Result<Part, StoreError> {
    let mut cond = Condition { tenant: tenant.to_vec(), ..Condition::default() };
    cond.push(Table::Users, filter)?;
    let mut params = vec![Value::Blob(tenant.to_vec())];
    params.extend(cond.params);
    let mut sql = format!("SELECT {USER_COLS} FROM users INDEXED BY {index} WHERE tenant_id = ? AND deleted_ms IS NULL AND {col} IS NOT NULL AND {}", cond.sql);
    if let Some(c) = after {
        sql.push_str(&format!(" AND ({col} COLLATE NOCASE, id) > (?, ?)"));
        params.push(Value::Text(c.key.clone()));
        params.push(Value::Blob(c.id.as_bytes().to_vec()));
    }
    sql.push_str(&format!(" ORDER BY {col} COLLATE NOCASE, id LIMIT ?"));
    Ok(Part { sql, params, by_upn })
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
            for p in parts(&[0; 16], &search).unwrap() {
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
}
