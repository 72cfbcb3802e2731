//! Creating many plain users in few statements (the bulk import's path): the rows as one
//! multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING id`, their change rows as one
//! `unnest` insert. A row whose id, UPN or anchor is taken is not inserted and is refused
//! as [`Tx::create_user`] refuses it; the first of two rows with one UPN wins, as in order.
//! Rows with a manager or extension attributes go through [`Tx::create_user`] one by one.
use super::Tx;
use crate::rows::{self, USER_COLS, UserRow};
use std::collections::HashSet;
use tenantsync_domain::{NewUser, ObjectId, ObjectKind, Origin, User, UserRef, Version};
use tenantsync_store::StoreError;
use tokio_postgres::types::ToSql;

/// Rows per statement: 34 parameters each, under PostgreSQL's 65,535.
const CHUNK: usize = 1_000;

/// The outcome of one row: the user (and a manager reference left for later), or why not.
pub type Created = Result<(User, Option<UserRef>), StoreError>;

impl Tx<'_> {
    /// Creates `users` in order, as [`Tx::create_user`] with `defer_manager` would one by
    /// one; the results line up with `users`. An error of the storage is returned as such.
    pub async fn create_users(&mut self, users: Vec<NewUser>) -> Result<Vec<Created>, StoreError> {
        let mut out = Vec::with_capacity(users.len());
        let mut plain = Vec::new();
        for user in users {
            if user.manager.is_some() || !user.attrs.extensions.is_empty() {
                self.insert_plain(std::mem::take(&mut plain), &mut out).await?;
                out.push(match self.create_user(user, true).await {
                    Err(e) if !e.is_refusal() => return Err(e),
                    r => r,
                });
            } else {
                plain.push(user);
                if plain.len() >= CHUNK {
                    self.insert_plain(std::mem::take(&mut plain), &mut out).await?;
                }
            }
        }
        self.insert_plain(plain, &mut out).await?;
        Ok(out)
    }

    /// Inserts users without manager or extensions in one statement, then their changes.
    async fn insert_plain(&mut self, users: Vec<NewUser>, out: &mut Vec<Created>) -> Result<(), StoreError> {
        if users.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let made: Vec<User> = users
            .into_iter()
            .map(|new| User {
                id: new.id,
                tenant_id: self.tenant,
                attrs: new.attrs,
                origin: Origin::of(new.anchor.as_ref()),
                anchor: new.anchor,
                version: Version::FIRST,
                created_date_time: now,
                last_modified_date_time: now,
                deleted_date_time: None,
            })
            .collect();
        let values: Vec<UserRow> = made.iter().map(UserRow::of).collect();
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().flat_map(UserRow::params).collect();
        let groups: Vec<String> = (0..made.len())
            .map(|r| format!("({})", (1..=rows::USER_COL_COUNT).map(|c| format!("${}", r * rows::USER_COL_COUNT + c)).collect::<Vec<_>>().join(", ")))
            .collect();
        let sql = format!("INSERT INTO users ({USER_COLS}) VALUES {} ON CONFLICT DO NOTHING RETURNING id", groups.join(", "));
        let inserted: HashSet<ObjectId> = self.rows(&sql, &params).await?.iter().map(|r| rows::first(r).map(ObjectId)).collect::<Result<_, _>>()?;
        let mut seqs = Vec::with_capacity(inserted.len());
        let mut ids = Vec::with_capacity(inserted.len());
        let mut taken: HashSet<ObjectId> = HashSet::new();
        for user in made {
            // A row whose id appears twice was inserted once: the second is refused.
            if inserted.contains(&user.id) && taken.insert(user.id) {
                self.head += 1;
                seqs.push(self.head as i64);
                ids.push(user.id.0);
                self.counts.created(ObjectKind::User);
                out.push(Ok((user, None)));
            } else {
                let why = self.user_conflict(&user).await?;
                out.push(Err(why));
            }
        }
        if !ids.is_empty() {
            self.exec(
                "INSERT INTO changes (tenant_id, seq, at_ms, object_kind, object_id, op) SELECT $1, s, $2, 0, o, $3 FROM unnest($4::bigint[], $5::uuid[]) AS x (s, o)",
                &[&self.tenant.0, &self.now_ms, &i16::from(tenantsync_domain::ChangeOp::Create.code()), &seqs, &ids],
            )
            .await?;
        }
        Ok(())
    }
}
