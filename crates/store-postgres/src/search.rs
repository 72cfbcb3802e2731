//! The web console's user search ([`Store::search_users`](tenantsync_store::Store)), as
//! the SQLite store runs it: the users whose display name starts with a text (folded,
//! `ts_fold`), then those whose userPrincipalName alone does, each part a range of its
//! expression index (`users_display_name`, `users_upn`: `(tenant_id, ts_fold(col))`)
//! read in that order from the cursor on, `LIMIT` what the page still needs (and, in the
//! second part, the users of the first it may pass over). The prefix
//! is written as the range it is (`>=` the folded text, `<` the text with its last
//! character the next one), so the index is sought whatever plan the statement gets. The
//! display-name index ends with the id (migration 7), so its order is the page's; the
//! userPrincipalName's is unique, so an incremental sort orders single rows.
use tenantsync_store::{SearchCursor, UserSearch};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// One part's statement and its parameters after the tenant (`$1`); its last parameter,
/// the rows it may still return, is the caller's.
pub struct Part {
    pub sql: String,
    pub texts: Vec<String>,
    pub after: Option<Uuid>,
    pub by_upn: bool,
}

impl Part {
    /// The parameters after the tenant, then `limit`.
    pub fn params<'a>(&'a self, tenant: &'a Uuid, limit: &'a i64) -> Vec<&'a (dyn ToSql + Sync)> {
        let mut out: Vec<&(dyn ToSql + Sync)> = vec![tenant];
        out.extend(self.texts.iter().map(|t| t as &(dyn ToSql + Sync)));
        if let Some(id) = &self.after {
            out.push(id);
        }
        out.push(limit);
        out
    }
}

/// The range of folded texts that start with `prefix` folded (ASCII, as `ts_fold`): from
/// it to it with its last character the next one. None for an empty prefix.
fn range(prefix: &str) -> Option<(String, String)> {
    let low = prefix.to_ascii_lowercase();
    let mut chars: Vec<char> = low.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = (u32::from(last) + 1..=0x10FFFF).find_map(char::from_u32) {
            chars.push(next);
            return Some((low, chars.into_iter().collect()));
        }
    }
    None
}

/// The parts a page of `search` reads, in order (none for an empty text: it is no search).
pub fn parts(search: &UserSearch) -> Vec<Part> {
    let Some((low, high)) = range(&search.text) else { return Vec::new() };
    let upn_after = search.after.as_ref().filter(|c| c.by_upn);
    let mut out = Vec::with_capacity(2);
    if search.display_name && upn_after.is_none() {
        out.push(part("display_name", &low, &high, search.after.as_ref(), false));
    }
    // A user whose display name matches came in the first part: it is passed over as it
    // is read (`SearchFound::take`), so that a page can stop after passing over so many.
    out.push(part("upn", &low, &high, upn_after, true));
    out
}

fn part(col: &str, low: &str, high: &str, after: Option<&SearchCursor>, by_upn: bool) -> Part {
    let key = format!("ts_fold({col}) COLLATE \"C\"");
    let mut sql = format!(
        "SELECT {cols} FROM users WHERE tenant_id = $1 AND deleted_ms IS NULL AND {col} IS NOT NULL \
         AND {key} >= $2::text COLLATE \"C\" AND {key} < $3::text COLLATE \"C\"",
        cols = crate::rows::USER_COLS
    );
    let mut texts = vec![low.to_owned(), high.to_owned()];
    let limit = match after {
        Some(c) => {
            sql.push_str(&format!(" AND {key} >= ts_fold($4::text) COLLATE \"C\" AND ({key}, id) > (ts_fold($4::text) COLLATE \"C\", $5::uuid)"));
            texts.push(c.key.clone());
            6
        }
        None => 4,
    };
    sql.push_str(&format!(" ORDER BY {key}, id LIMIT ${limit}"));
    Part { sql, texts, after: after.map(|c| c.id.0), by_upn }
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn a_prefix_is_a_folded_range() {
        assert_eq!(range("Ada"), Some(("ada".into(), "adb".into())));
        assert_eq!(range("z\u{10FFFF}"), Some(("z\u{10FFFF}".into(), "{".into())));
        assert_eq!(range(""), None);
    }
}
