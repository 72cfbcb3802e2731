//! Translating a storage-neutral [`Filter`] into a PostgreSQL condition with bound
//! parameters, with the semantics of `tenantsync_store::query`.
//!
//! Every leaf yields true or false, never NULL (a comparison is wrapped in
//! `coalesce(…, false)`, `ne` is `IS NULL OR <>`), so `NOT` keeps two-valued logic.
//! Case-insensitive text compares through `ts_fold` (ASCII folding, as the SQLite store's
//! NOCASE) under the byte order of collation "C"; the case-insensitive indexes are on
//! `ts_fold(column)`.
use tenantsync_domain::{GroupAttribute, UserAttribute, UserType};
use tenantsync_store::{CompareOp, Field, Filter, FilterValue, KeyValue, Keyset, Seek, SortKey, StoreError};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use uuid::Uuid;

/// Which table a query runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Groups,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Groups => "groups",
        }
    }
}

/// A bound value; the SQL casts each placeholder to its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Small(i16),
    Bool(bool),
    Uuid(Uuid),
}

impl Value {
    fn cast(&self) -> &'static str {
        match self {
            Value::Text(_) => "text",
            Value::Int(_) => "bigint",
            Value::Small(_) => "smallint",
            Value::Bool(_) => "boolean",
            Value::Uuid(_) => "uuid",
        }
    }
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Text(v) => v.to_sql(ty, out),
            Value::Int(v) => v.to_sql(ty, out),
            Value::Small(v) => v.to_sql(ty, out),
            Value::Bool(v) => v.to_sql(ty, out),
            Value::Uuid(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <String as ToSql>::accepts(ty)
            || <i64 as ToSql>::accepts(ty)
            || <i16 as ToSql>::accepts(ty)
            || <bool as ToSql>::accepts(ty)
            || <Uuid as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text { nullable: bool },
    Bool { nullable: bool },
    Time,
    Id { nullable: bool },
    UserType,
}

fn unsupported(reason: impl Into<String>) -> StoreError {
    StoreError::UnsupportedQuery { reason: reason.into() }
}

fn column(table: Table, field: Field) -> Result<(&'static str, Kind), StoreError> {
    let text = |c| Ok((c, Kind::Text { nullable: true }));
    match (table, field) {
        (_, Field::Id) => Ok(("id", Kind::Id { nullable: false })),
        (_, Field::Created) => Ok(("created_ms", Kind::Time)),
        (_, Field::LastModified) => Ok(("modified_ms", Kind::Time)),
        (Table::Users, Field::User(a)) => {
            use UserAttribute::*;
            match a {
                UserPrincipalName => Ok(("upn", Kind::Text { nullable: false })),
                Mail => text("mail"),
                DisplayName => text("display_name"),
                GivenName => text("given_name"),
                Surname => text("surname"),
                MailNickname => text("mail_nickname"),
                AccountEnabled => Ok(("account_enabled", Kind::Bool { nullable: false })),
                UserType => Ok(("user_type", Kind::UserType)),
                Department => text("department"),
                JobTitle => text("job_title"),
                CompanyName => text("company_name"),
                EmployeeId => text("employee_id"),
                OfficeLocation => text("office_location"),
                StreetAddress => text("street_address"),
                City => text("city"),
                State => text("state"),
                PostalCode => text("postal_code"),
                Country => text("country"),
                UsageLocation => text("usage_location"),
                PreferredLanguage => text("preferred_language"),
                TelephoneNumber => text("telephone_number"),
                MobilePhone => text("mobile_phone"),
                ShowInAddressList => Ok(("show_in_address_list", Kind::Bool { nullable: true })),
                ExternalId => text("external_id"),
                Manager => Ok(("manager_id", Kind::Id { nullable: true })),
            }
        }
        (Table::Groups, Field::Group(a)) => match a {
            GroupAttribute::DisplayName => Ok(("display_name", Kind::Text { nullable: false })),
            GroupAttribute::Description => text("description"),
            GroupAttribute::MailNickname => text("mail_nickname"),
            GroupAttribute::SecurityEnabled => Ok(("security_enabled", Kind::Bool { nullable: false })),
            GroupAttribute::ExternalId => text("external_id"),
        },
        (Table::Users, Field::Group(a)) => Err(unsupported(format!("users have no group attribute '{a}'"))),
        (Table::Groups, Field::User(a)) => Err(unsupported(format!("groups have no user attribute '{a}'"))),
        (Table::Users, Field::Member) => Err(unsupported("users have no members")),
        (Table::Groups, Field::MemberOf) => Err(unsupported("groups are members of nothing")),
        (_, Field::Member | Field::MemberOf) => Err(unsupported("memberships are not a column")),
    }
}

/// Whether a filter tests only an object's own columns (what a linked object may be
/// tested on).
fn own_attributes_only(f: &Filter) -> bool {
    match f {
        Filter::Const(_) => true,
        Filter::Present(field) | Filter::Compare { field, .. } => !matches!(field, Field::Member | Field::MemberOf),
        Filter::Extension { .. } | Filter::Linked { .. } => false,
        Filter::And(all) | Filter::Or(all) => all.iter().all(own_attributes_only),
        Filter::Not(f) => own_attributes_only(f),
    }
}

/// Escapes `%`, `_` and `\` for `LIKE` (whose escape character is `\`).
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn like_pattern(op: CompareOp, s: &str) -> String {
    let (pre, post) = match op {
        CompareOp::Sw => ("", "%"),
        CompareOp::Ew => ("%", ""),
        _ => ("%", "%"),
    };
    format!("{pre}{}{post}", like_escape(s))
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "LIKE",
    }
}

/// Conditions and their parameters, numbered from a first placeholder on.
#[derive(Debug, Default)]
pub struct Params {
    pub values: Vec<Value>,
    /// Placeholders taken before these (the tenant is `$1`).
    pub offset: usize,
}

impl Params {
    /// Binds `v` and returns its placeholder, cast to its type.
    pub fn bind(&mut self, v: Value) -> String {
        let cast = v.cast();
        self.values.push(v);
        format!("${}::{cast}", self.values.len() + self.offset)
    }

    pub fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
    }
}

/// Builds the condition for `filter` on `table` (columns unqualified; `$1` is the tenant).
fn condition(table: Table, filter: &Filter, p: &mut Params) -> Result<String, StoreError> {
    Ok(match filter {
        Filter::Const(b) => if *b { "true" } else { "false" }.to_owned(),
        Filter::And(items) | Filter::Or(items) => {
            let (joiner, empty) = if matches!(filter, Filter::And(_)) { (" AND ", "true") } else { (" OR ", "false") };
            if items.is_empty() {
                return Ok(empty.to_owned());
            }
            let parts = items.iter().map(|f| condition(table, f, p)).collect::<Result<Vec<_>, _>>()?;
            format!("({})", parts.join(joiner))
        }
        Filter::Not(f) => format!("(NOT {})", condition(table, f, p)?),
        Filter::Present(Field::Member) if table == Table::Groups => "EXISTS (SELECT 1 FROM members m JOIN users u ON u.tenant_id = m.tenant_id \
             AND u.id = m.user_id WHERE m.tenant_id = groups.tenant_id AND m.group_id = groups.id AND u.deleted_ms IS NULL)"
            .to_owned(),
        Filter::Present(Field::MemberOf) if table == Table::Users => "EXISTS (SELECT 1 FROM members m JOIN groups g ON g.tenant_id = m.tenant_id \
             AND g.id = m.group_id WHERE m.tenant_id = users.tenant_id AND m.user_id = users.id AND g.deleted_ms IS NULL)"
            .to_owned(),
        Filter::Present(field) => {
            let (col, kind) = column(table, *field)?;
            match kind {
                Kind::Text { nullable: true } | Kind::Id { nullable: true } | Kind::Bool { nullable: true } => format!("({col} IS NOT NULL)"),
                _ => "true".to_owned(),
            }
        }
        Filter::Compare { field: Field::Member, op, value, .. } if table == Table::Groups => {
            let FilterValue::Id(user) = value else { return Err(unsupported("members compare with a user id")) };
            let not = match op {
                CompareOp::Eq => "",
                CompareOp::Ne => "NOT ",
                _ => return Err(unsupported("members compare only with eq or ne")),
            };
            let u = p.bind(Value::Uuid(user.0));
            format!(
                "(id {not}IN (SELECT m.group_id FROM members m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id \
                 WHERE m.tenant_id = $1 AND m.user_id = {u} AND u.deleted_ms IS NULL))"
            )
        }
        Filter::Compare { field: Field::MemberOf, op, value, .. } if table == Table::Users => {
            let FilterValue::Id(group) = value else { return Err(unsupported("groups compare with a group id")) };
            let not = match op {
                CompareOp::Eq => "",
                CompareOp::Ne => "NOT ",
                _ => return Err(unsupported("groups compare only with eq or ne")),
            };
            let g = p.bind(Value::Uuid(group.0));
            format!(
                "(id {not}IN (SELECT m.user_id FROM members m JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
                 WHERE m.tenant_id = $1 AND m.group_id = {g} AND g.deleted_ms IS NULL))"
            )
        }
        Filter::Linked { via, filter } => {
            let (other, sub) = match (table, via) {
                (Table::Users, Field::MemberOf) => (
                    Table::Groups,
                    "SELECT m.user_id FROM members m JOIN groups ON groups.tenant_id = m.tenant_id AND groups.id = m.group_id \
                     WHERE m.tenant_id = $1 AND groups.deleted_ms IS NULL AND ",
                ),
                (Table::Groups, Field::Member) => (
                    Table::Users,
                    "SELECT m.group_id FROM members m JOIN users ON users.tenant_id = m.tenant_id AND users.id = m.user_id \
                     WHERE m.tenant_id = $1 AND users.deleted_ms IS NULL AND ",
                ),
                _ => return Err(unsupported("users link to their groups (groups), groups to their members (members)")),
            };
            if !own_attributes_only(filter) {
                return Err(unsupported("a linked object is tested on its own attributes only"));
            }
            // Unqualified inner columns resolve to the joined table (`members` has no
            // column of that name but its keys).
            let inner = condition(other, filter, p)?;
            format!("({}.id IN ({sub}({inner})))", table.name())
        }
        Filter::Compare { field, op, value, ignore_case } => compare(table, *field, *op, value, *ignore_case, p)?,
        Filter::Extension { name, test, ignore_case } => {
            if table != Table::Users {
                return Err(unsupported("groups have no extension attributes"));
            }
            extension(name.as_str(), test.as_ref(), *ignore_case, p)?
        }
    })
}

/// An extension attribute: users whose rows in `user_extension_values` match.
fn extension(name: &str, test: Option<&(CompareOp, String)>, ignore_case: bool, p: &mut Params) -> Result<String, StoreError> {
    let n = p.bind(Value::Text(name.to_owned()));
    let mut sub = format!("SELECT user_id FROM user_extension_values WHERE tenant_id = $1 AND name = {n}");
    let mut not = "";
    if let Some((op, v)) = test {
        let (lhs, fold) = if ignore_case { ("ts_fold(value)", true) } else { ("value", false) };
        match op {
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                let pat = p.bind(Value::Text(like_pattern(*op, v)));
                let rhs = if fold { format!("ts_fold({pat})") } else { pat };
                sub.push_str(&format!(" AND {lhs} LIKE {rhs}"));
            }
            _ => {
                let x = p.bind(Value::Text(v.clone()));
                let rhs = if fold { format!("ts_fold({x})") } else { x };
                let op_sql = if *op == CompareOp::Ne {
                    not = "NOT ";
                    "="
                } else {
                    sql_op(*op)
                };
                sub.push_str(&format!(" AND {lhs} {op_sql} {rhs} COLLATE \"C\""));
            }
        }
    }
    Ok(format!("(id {not}IN ({sub}))"))
}

fn compare(table: Table, field: Field, op: CompareOp, value: &FilterValue, ignore_case: bool, p: &mut Params) -> Result<String, StoreError> {
    let (col, kind) = column(table, field)?;
    let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let mismatch = || unsupported(format!("'{col}' cannot be compared with {op:?} and {value:?}"));
    let (lhs, rhs) = match (kind, value) {
        (Kind::Text { .. }, FilterValue::Text(s)) => {
            let bound = p.bind(Value::Text(if substring { like_pattern(op, s) } else { s.clone() }));
            if ignore_case {
                (format!("ts_fold({col})"), format!("ts_fold({bound}) COLLATE \"C\""))
            } else {
                (col.to_owned(), format!("{bound} COLLATE \"C\""))
            }
        }
        (Kind::Bool { .. }, FilterValue::Bool(b)) if !ordering && !substring => (col.to_owned(), p.bind(Value::Bool(*b))),
        (Kind::Time, FilterValue::Time(t)) if !substring => (col.to_owned(), p.bind(Value::Int(t.as_millisecond()))),
        (Kind::Id { .. }, FilterValue::Id(id)) if !ordering && !substring => (col.to_owned(), p.bind(Value::Uuid(id.0))),
        (Kind::UserType, FilterValue::Text(s)) if !ordering && !substring => match UserType::parse(s) {
            Some(t) => (col.to_owned(), p.bind(Value::Small(crate::rows::user_type_code(t)))),
            // No user has an unknown type.
            None => return Ok(if op == CompareOp::Ne { "true" } else { "false" }.to_owned()),
        },
        _ => return Err(mismatch()),
    };
    Ok(if op == CompareOp::Ne { format!("({col} IS NULL OR {lhs} <> {rhs})") } else { format!("coalesce({lhs} {} {rhs}, false)", sql_op(op)) })
}

/// The sort of a query as SQL.
#[derive(Debug, Clone, Copy)]
struct SortSpec {
    col: Option<&'static str>,
    kind: Option<Kind>,
    fold: bool,
    descending: bool,
}

impl SortSpec {
    fn of(table: Table, sort: Option<&SortKey>) -> Result<SortSpec, StoreError> {
        let Some(sort) = sort else { return Ok(SortSpec { col: None, kind: None, fold: false, descending: false }) };
        if sort.field == Field::Id {
            return Ok(SortSpec { col: None, kind: None, fold: false, descending: sort.descending });
        }
        let (col, kind) = column(table, sort.field)?;
        let fold = sort.ignore_case && matches!(kind, Kind::Text { .. });
        Ok(SortSpec { col: Some(col), kind: Some(kind), fold, descending: sort.descending })
    }

    fn nullable(&self) -> bool {
        matches!(self.kind, Some(Kind::Text { nullable: true } | Kind::Id { nullable: true } | Kind::Bool { nullable: true }))
    }

    /// The ordering expression of the key.
    fn key(&self, col: &str) -> String {
        match self.kind {
            Some(Kind::Text { .. }) if self.fold => format!("ts_fold({col}) COLLATE \"C\""),
            Some(Kind::Text { .. }) => format!("{col} COLLATE \"C\""),
            _ => col.to_owned(),
        }
    }

    /// `ORDER BY`: absent values last ascending (first descending), then id.
    fn order_by(&self, reverse: bool) -> String {
        let dir = if self.descending != reverse { "DESC" } else { "ASC" };
        match self.col {
            None => format!("id {dir}"),
            Some(col) if self.nullable() => format!("{col} IS NULL {dir}, {} {dir}, id {dir}", self.key(col)),
            Some(col) => format!("{} {dir}, id {dir}", self.key(col)),
        }
    }

    /// The key value as a parameter of the key's type.
    fn bind_key(&self, v: &KeyValue, p: &mut Params) -> String {
        let bound = match v {
            KeyValue::Text(s) => p.bind(Value::Text(s.clone())),
            KeyValue::Int(i) if matches!(self.kind, Some(Kind::Bool { .. })) => p.bind(Value::Bool(*i != 0)),
            KeyValue::Int(i) if matches!(self.kind, Some(Kind::UserType)) => p.bind(Value::Small(i16::try_from(*i).unwrap_or(0))),
            KeyValue::Int(i) => p.bind(Value::Int(*i)),
            KeyValue::Bytes(b) => p.bind(Value::Uuid(Uuid::from_slice(b).unwrap_or_default())),
        };
        match self.kind {
            Some(Kind::Text { .. }) if self.fold => format!("ts_fold({bound}) COLLATE \"C\""),
            Some(Kind::Text { .. }) => format!("{bound} COLLATE \"C\""),
            _ => bound,
        }
    }

    /// The condition "comes after `k`" in this order (or, `reverse`, "comes before").
    fn after(&self, k: &Keyset, reverse: bool, p: &mut Params) -> String {
        let backwards = self.descending != reverse;
        let gt = if backwards { "<" } else { ">" };
        let Some(col) = self.col else {
            let id = p.bind(Value::Uuid(k.id.0));
            return format!("(id {gt} {id})");
        };
        let key = self.key(col);
        match (&k.value, self.nullable()) {
            (Some(v), false) => {
                let x = self.bind_key(v, p);
                let id = p.bind(Value::Uuid(k.id.0));
                format!("(({key} {gt} {x}) OR ({key} = {x} AND id {gt} {id}))")
            }
            (Some(v), true) => {
                let x = self.bind_key(v, p);
                let id = p.bind(Value::Uuid(k.id.0));
                // Absent values come after every value ascending, before them descending.
                let nulls = if backwards { String::new() } else { format!(" OR {col} IS NULL") };
                format!("(({col} IS NOT NULL AND ({key} {gt} {x} OR ({key} = {x} AND id {gt} {id}))){nulls})")
            }
            (None, _) => {
                let id = p.bind(Value::Uuid(k.id.0));
                let values = if backwards { format!(" OR {col} IS NOT NULL") } else { String::new() };
                format!("(({col} IS NULL AND id {gt} {id}){values})")
            }
        }
    }

    /// The select-list expression of the key, read back by [`key_value`].
    fn key_column(&self) -> String {
        match (self.col, self.kind) {
            (Some(col), Some(Kind::Text { .. })) => format!("{col}::text"),
            (Some(col), Some(Kind::Bool { .. } | Kind::UserType)) => format!("{col}::int::int8"),
            (Some(col), Some(Kind::Time)) => col.to_owned(),
            (Some(col), Some(Kind::Id { .. })) => format!("uuid_send({col})"),
            _ => "NULL::text".to_owned(),
        }
    }
}

/// A key value read back from the key column (the last one of a seek's rows).
pub fn key_value(row: &tokio_postgres::Row, i: usize) -> Option<KeyValue> {
    match row.columns().get(i).map(|c| c.type_().clone()) {
        Some(Type::TEXT) => row.try_get::<_, Option<String>>(i).ok().flatten().map(KeyValue::Text),
        Some(Type::INT8) => row.try_get::<_, Option<i64>>(i).ok().flatten().map(KeyValue::Int),
        Some(Type::BYTEA) => row.try_get::<_, Option<Vec<u8>>>(i).ok().flatten().map(KeyValue::Bytes),
        _ => None,
    }
}

/// The statements of an offset page on one tenant's live objects.
#[derive(Debug)]
pub struct Statements {
    /// Parameters: the tenant, `params`, then limit and offset.
    pub select: String,
    /// Parameters: the tenant, then `params`; `None`: the unfiltered count kept in the
    /// tenant's row.
    pub count: Option<String>,
    pub params: Params,
}

/// The `SELECT` and `count(*)` of an offset page.
pub fn statements(table: Table, cols: &str, filter: Option<&Filter>, sort: Option<&SortKey>) -> Result<Statements, StoreError> {
    let mut params = Params { values: Vec::new(), offset: 1 };
    let cond = where_clause(table, filter, &mut params)?;
    let order = SortSpec::of(table, sort)?.order_by(false);
    let count = filter.map(|_| format!("SELECT count(*) FROM {} WHERE {cond}", table.name()));
    let n = params.values.len() + 1;
    let select = format!("SELECT {cols} FROM {} WHERE {cond} ORDER BY {order} LIMIT ${} OFFSET ${}", table.name(), n + 1, n + 2);
    Ok(Statements { select, count, params })
}

/// The `SELECT` of a keyset page: `cols` then the sort key, from the position of `seek`
/// on, walking backwards for [`Seek::Before`]. Parameters: the tenant, the returned
/// ones, then the limit.
pub fn seek_statement(table: Table, cols: &str, filter: Option<&Filter>, sort: Option<&SortKey>, seek: &Seek) -> Result<(String, Params), StoreError> {
    let mut params = Params { values: Vec::new(), offset: 1 };
    let mut cond = where_clause(table, filter, &mut params)?;
    let spec = SortSpec::of(table, sort)?;
    let reverse = matches!(seek, Seek::Before(_));
    if let Seek::After(k) | Seek::Before(k) = seek {
        cond.push_str(" AND ");
        cond.push_str(&spec.after(k, reverse, &mut params));
    }
    let order = spec.order_by(reverse);
    let limit = params.values.len() + 2;
    Ok((format!("SELECT {cols}, {} AS sort_key FROM {} WHERE {cond} ORDER BY {order} LIMIT ${limit}", spec.key_column(), table.name()), params))
}

fn where_clause(table: Table, filter: Option<&Filter>, p: &mut Params) -> Result<String, StoreError> {
    let cond = match filter {
        Some(f) => condition(table, f, p)?,
        None => "true".to_owned(),
    };
    Ok(format!("tenant_id = $1 AND deleted_ms IS NULL AND {cond}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_wildcards() {
        assert_eq!(like_escape("50%_a\\"), "50\\%\\_a\\\\");
    }
}
