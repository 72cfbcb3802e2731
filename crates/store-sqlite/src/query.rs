//! Translating a storage-neutral [`Filter`] into an SQL condition with bound parameters.
//!
//! Every leaf yields 0 or 1, never NULL (each comparison first tests `col IS NOT NULL`),
//! so `NOT` keeps two-valued logic: `not (x eq v)` matches objects without `x`, exactly
//! like `x ne v`. Case-insensitive text comparisons use `COLLATE NOCASE` (ASCII folding),
//! the collation of the case-insensitive indexes; `sw`/`co`/`ew` use `LIKE` (ASCII
//! case-insensitive) or, case-exact, `GLOB`, with the value's wildcards escaped.
use rusqlite::types::Value;
use tenantsync_domain::{GroupAttribute, ObjectKind, UserAttribute, UserType};
use tenantsync_store::{CompareOp, Field, Filter, FilterValue, KeyValue, Keyset, Seek, SortKey, StoreError, Visibility};

/// Which table a query runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Groups,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Groups => "groups",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Nullable or not, compared as text.
    Text {
        nullable: bool,
    },
    Bool,
    Time,
    Id {
        nullable: bool,
    },
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
                AccountEnabled => Ok(("account_enabled", Kind::Bool)),
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
                ShowInAddressList => Ok(("show_in_address_list", Kind::Bool)),
                ExternalId => text("external_id"),
                Manager => Ok(("manager_id", Kind::Id { nullable: true })),
            }
        }
        (Table::Groups, Field::Group(a)) => match a {
            GroupAttribute::DisplayName => Ok(("display_name", Kind::Text { nullable: false })),
            GroupAttribute::Description => text("description"),
            GroupAttribute::MailNickname => text("mail_nickname"),
            GroupAttribute::SecurityEnabled => Ok(("security_enabled", Kind::Bool)),
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
/// tested on: inside the subquery of `Filter::Linked`, memberships and extension values
/// would refer to the wrong row).
fn own_attributes_only(f: &Filter) -> bool {
    match f {
        Filter::Const(_) => true,
        Filter::Present(field) | Filter::Compare { field, .. } => !matches!(field, Field::Member | Field::MemberOf),
        Filter::Extension { .. } | Filter::Linked { .. } => false,
        Filter::And(all) | Filter::Or(all) => all.iter().all(own_attributes_only),
        Filter::Not(f) => own_attributes_only(f),
    }
}

/// Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'`.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes `*`, `?` and `[` for `GLOB`.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
    }
    out
}

/// The NOCASE range of the texts that start with `prefix` ignoring ASCII case, as SQLite's
/// NOCASE compares them (ASCII folded, then bytes, which in UTF-8 is code point order):
/// from the folded prefix to the folded prefix with its last character made the next
/// one. None for an empty prefix (everything matches).
pub(crate) fn prefix_range(prefix: &str) -> Option<(String, String)> {
    let low = prefix.to_ascii_lowercase();
    let mut chars: Vec<char> = low.chars().collect();
    while let Some(last) = chars.pop() {
        // The next code point, past the surrogates.
        let next = (u32::from(last) + 1..=0x10FFFF).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some((low, chars.into_iter().collect()));
        }
    }
    None
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

/// A condition under construction: SQL text with `?` placeholders and their values in
/// order.
#[derive(Debug, Default)]
pub struct Condition {
    pub sql: String,
    pub params: Vec<Value>,
    /// The tenant's id, for subqueries.
    pub tenant: Vec<u8>,
}

impl Condition {
    /// Appends the condition for `filter` on `table` (the table's columns unqualified).
    pub fn push(&mut self, table: Table, filter: &Filter) -> Result<(), StoreError> {
        match filter {
            Filter::Const(b) => self.sql.push_str(if *b { "1" } else { "0" }),
            Filter::And(items) | Filter::Or(items) => {
                let (joiner, empty) = if matches!(filter, Filter::And(_)) { (" AND ", "1") } else { (" OR ", "0") };
                if items.is_empty() {
                    self.sql.push_str(empty);
                    return Ok(());
                }
                self.sql.push('(');
                for (i, f) in items.iter().enumerate() {
                    if i > 0 {
                        self.sql.push_str(joiner);
                    }
                    self.push(table, f)?;
                }
                self.sql.push(')');
            }
            Filter::Not(f) => {
                self.sql.push_str("(NOT ");
                self.push(table, f)?;
                self.sql.push(')');
            }
            Filter::Present(Field::Member) if table == Table::Groups => {
                self.sql.push_str(MEMBER_EXISTS);
                self.sql.push(')');
            }
            Filter::Present(Field::MemberOf) if table == Table::Users => {
                self.sql.push_str(
                    "EXISTS (SELECT 1 FROM members m INDEXED BY members_user JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
                     WHERE m.tenant_id = users.tenant_id AND m.user_id = users.id AND g.deleted_ms IS NULL)",
                );
            }
            Filter::Present(field) => {
                let (col, kind) = column(table, *field)?;
                match kind {
                    Kind::Text { nullable: true } | Kind::Id { nullable: true } => {
                        self.sql.push_str(&format!("({col} IS NOT NULL)"));
                    }
                    _ => self.sql.push('1'),
                }
            }
            Filter::Compare { field: Field::Member, op, value, .. } if table == Table::Groups => {
                let FilterValue::Id(user) = value else {
                    return Err(unsupported("members compare with a user id"));
                };
                let negate = match op {
                    CompareOp::Eq => "",
                    CompareOp::Ne => "NOT ",
                    _ => return Err(unsupported("members compare only with eq or ne")),
                };
                // Uncorrelated, so it runs once and the groups are sought by id.
                let not = if negate.is_empty() { "" } else { "NOT " };
                self.sql.push_str(&format!(
                    "(id {not}IN (SELECT m.group_id FROM members m INDEXED BY members_user JOIN users u ON u.tenant_id = m.tenant_id \
                     AND u.id = m.user_id WHERE m.tenant_id = ? AND m.user_id = ? AND u.deleted_ms IS NULL))"
                ));
                self.params.push(Value::Blob(self.tenant.clone()));
                self.params.push(Value::Blob(user.as_bytes().to_vec()));
            }
            Filter::Compare { field: Field::MemberOf, op, value, .. } if table == Table::Users => {
                let FilterValue::Id(group) = value else {
                    return Err(unsupported("groups compare with a group id"));
                };
                let not = match op {
                    CompareOp::Eq => "",
                    CompareOp::Ne => "NOT ",
                    _ => return Err(unsupported("groups compare only with eq or ne")),
                };
                // Uncorrelated: the group's members by primary key, then users by id.
                self.sql.push_str(&format!(
                    "(id {not}IN (SELECT m.user_id FROM members m JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
                     WHERE m.tenant_id = ? AND m.group_id = ? AND g.deleted_ms IS NULL))"
                ));
                self.params.push(Value::Blob(self.tenant.clone()));
                self.params.push(Value::Blob(group.as_bytes().to_vec()));
            }
            Filter::Linked { via, filter } => {
                let (other, sub) = match (table, via) {
                    // Uncorrelated, so each runs once: the linked objects that match, then
                    // the objects linked to them.
                    (Table::Users, Field::MemberOf) => (
                        Table::Groups,
                        "SELECT m.user_id FROM members m JOIN groups ON groups.tenant_id = m.tenant_id AND groups.id = m.group_id \
                         WHERE m.tenant_id = ? AND groups.deleted_ms IS NULL AND ",
                    ),
                    (Table::Groups, Field::Member) => (
                        Table::Users,
                        "SELECT m.group_id FROM members m JOIN users ON users.tenant_id = m.tenant_id AND users.id = m.user_id \
                         WHERE m.tenant_id = ? AND users.deleted_ms IS NULL AND ",
                    ),
                    _ => return Err(unsupported("users link to their groups (groups), groups to their members (members)")),
                };
                if !own_attributes_only(filter) {
                    return Err(unsupported("a linked object is tested on its own attributes only"));
                }
                let mut inner = Condition { tenant: self.tenant.clone(), ..Condition::default() };
                inner.push(other, filter)?;
                self.sql.push_str(&format!("(id IN ({sub}({})))", inner.sql));
                self.params.push(Value::Blob(self.tenant.clone()));
                self.params.extend(inner.params);
            }
            Filter::Compare { field, op, value, ignore_case } => self.compare(table, *field, *op, value, *ignore_case)?,
            Filter::Extension { name, test, ignore_case } => {
                if table != Table::Users {
                    return Err(unsupported("groups have no extension attributes"));
                }
                self.extension(name.as_str(), test.as_ref(), *ignore_case)?;
            }
        }
        Ok(())
    }

    /// An extension attribute: users whose (name, value) rows in `user_extension_values`
    /// match, found by seeking that table's primary key (an uncorrelated `IN`, so the users
    /// are then sought by id).
    fn extension(&mut self, name: &str, test: Option<&(CompareOp, String)>, ignore_case: bool) -> Result<(), StoreError> {
        let mut sub = String::from("SELECT user_id FROM user_extension_values WHERE tenant_id = ? AND name = ?");
        self.params.push(Value::Blob(self.tenant.clone()));
        self.params.push(Value::Text(name.to_owned()));
        let mut not = "";
        if let Some((op, v)) = test {
            match op {
                CompareOp::Eq | CompareOp::Ne => {
                    // The column folds case; an exact test seeks folded and then checks bytes.
                    sub.push_str(if ignore_case { " AND value = ?" } else { " AND value = ? AND value = ? COLLATE BINARY" });
                    self.params.push(Value::Text(v.clone()));
                    if !ignore_case {
                        self.params.push(Value::Text(v.clone()));
                    }
                    if *op == CompareOp::Ne {
                        not = "NOT ";
                    }
                }
                CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                    let coll = if ignore_case { "" } else { " COLLATE BINARY" };
                    sub.push_str(&format!(" AND value {} ?{coll}", sql_op(*op)));
                    self.params.push(Value::Text(v.clone()));
                }
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                    let (pre, post) = match op {
                        CompareOp::Sw => ("", "%"),
                        CompareOp::Ew => ("%", ""),
                        _ => ("%", "%"),
                    };
                    if ignore_case {
                        sub.push_str(" AND value LIKE ? ESCAPE '\\'");
                        self.params.push(Value::Text(format!("{pre}{}{post}", like_escape(v))));
                    } else {
                        sub.push_str(" AND value GLOB ?");
                        self.params.push(Value::Text(format!("{}{}{}", pre.replace('%', "*"), glob_escape(v), post.replace('%', "*"))));
                    }
                }
            }
        }
        self.sql.push_str(&format!("(id {not}IN ({sub}))"));
        Ok(())
    }

    fn compare(&mut self, table: Table, field: Field, op: CompareOp, value: &FilterValue, ignore_case: bool) -> Result<(), StoreError> {
        let (col, kind) = column(table, field)?;
        let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
        let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
        let mismatch = || unsupported(format!("'{col}' cannot be compared with {op:?} and {value:?}"));
        let (nullable, param) = match (kind, value) {
            (Kind::Text { nullable }, FilterValue::Text(s)) => {
                if substring {
                    let (pre, post) = match op {
                        CompareOp::Sw => ("", "%"),
                        CompareOp::Ew => ("%", ""),
                        _ => ("%", "%"),
                    };
                    let pattern = if ignore_case {
                        format!("{pre}{}{post}", like_escape(s))
                    } else {
                        let (pre, post) = (pre.replace('%', "*"), post.replace('%', "*"));
                        format!("{pre}{}{post}", glob_escape(s))
                    };
                    let test = if ignore_case { "LIKE ? ESCAPE '\\'" } else { "GLOB ?" };
                    // A case-insensitive prefix is also a range of the column's NOCASE
                    // order, which its index can seek (the LIKE alone cannot use it: the
                    // plan may not depend on the bound pattern).
                    let range = if op == CompareOp::Sw && ignore_case { prefix_range(s) } else { None };
                    match range {
                        Some((low, high)) => {
                            self.sql.push_str(&format!("({col} IS NOT NULL AND {col} >= ? COLLATE NOCASE AND {col} < ? COLLATE NOCASE AND {col} {test})"));
                            self.params.extend([Value::Text(low), Value::Text(high)]);
                        }
                        None => self.sql.push_str(&format!("({col} IS NOT NULL AND {col} {test})")),
                    }
                    self.params.push(Value::Text(pattern));
                    return Ok(());
                }
                let coll = if ignore_case { " COLLATE NOCASE" } else { "" };
                let sql = if op == CompareOp::Ne {
                    format!("({col} IS NULL OR {col} <> ?{coll})")
                } else {
                    format!("({col} IS NOT NULL AND {col} {} ?{coll})", sql_op(op))
                };
                let _ = nullable;
                self.sql.push_str(&sql);
                self.params.push(Value::Text(s.clone()));
                return Ok(());
            }
            (Kind::Bool, FilterValue::Bool(b)) if !ordering && !substring => (false, Value::Integer(i64::from(*b))),
            (Kind::Time, FilterValue::Time(t)) if !substring => (false, Value::Integer(t.as_millisecond())),
            (Kind::Id { nullable }, FilterValue::Id(id)) if !ordering && !substring => (nullable, Value::Blob(id.as_bytes().to_vec())),
            (Kind::UserType, FilterValue::Text(s)) if !ordering && !substring => match UserType::parse(s) {
                Some(t) => (false, Value::Integer(crate::rows::user_type_code(t))),
                // No user has an unknown type.
                None => {
                    self.sql.push_str(if op == CompareOp::Ne { "1" } else { "0" });
                    return Ok(());
                }
            },
            _ => return Err(mismatch()),
        };
        let sql = match (op, nullable) {
            (CompareOp::Ne, true) => format!("({col} IS NULL OR {col} <> ?)"),
            (_, true) => format!("({col} IS NOT NULL AND {col} {} ?)", sql_op(op)),
            (_, false) => format!("({col} {} ?)", sql_op(op)),
        };
        self.sql.push_str(&sql);
        self.params.push(param);
        Ok(())
    }
}

/// Opens an `EXISTS` over the live members of the group row in scope; the caller adds
/// conditions on `m` and closes the parenthesis.
const MEMBER_EXISTS: &str = "EXISTS (SELECT 1 FROM members m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id \
     WHERE m.tenant_id = groups.tenant_id AND m.group_id = groups.id AND u.deleted_ms IS NULL";

/// The sort of a query as SQL: the key column (none: id order), its collation, whether it
/// can be NULL, and the direction.
#[derive(Debug, Clone, Copy)]
struct SortSpec {
    col: Option<&'static str>,
    coll: &'static str,
    nullable: bool,
    descending: bool,
}

impl SortSpec {
    fn of(table: Table, sort: Option<&SortKey>) -> Result<SortSpec, StoreError> {
        let Some(sort) = sort else { return Ok(SortSpec { col: None, coll: "", nullable: false, descending: false }) };
        if sort.field == Field::Id {
            return Ok(SortSpec { col: None, coll: "", nullable: false, descending: sort.descending });
        }
        let (col, kind) = column(table, sort.field)?;
        let coll = if sort.ignore_case && matches!(kind, Kind::Text { .. }) { " COLLATE NOCASE" } else { "" };
        let nullable = matches!(kind, Kind::Text { nullable: true } | Kind::Id { nullable: true });
        Ok(SortSpec { col: Some(col), coll, nullable, descending: sort.descending })
    }

    /// `ORDER BY`: absent values last ascending (first descending), then id; `reverse`
    /// walks the same order backwards.
    fn order_by(&self, reverse: bool) -> String {
        let dir = if self.descending != reverse { "DESC" } else { "ASC" };
        match self.col {
            None => format!("id {dir}"),
            Some(col) if self.nullable => format!("{col} IS NULL {dir}, {col}{} {dir}, id {dir}", self.coll),
            Some(col) => format!("{col}{} {dir}, id {dir}", self.coll),
        }
    }

    /// The condition "comes after `k`" in this order (or, `reverse`, "comes before"), with
    /// its parameters. Non-nullable keys compare as a row value, which SQLite turns into
    /// a range seek on an index of (key, id).
    fn after(&self, k: &Keyset, reverse: bool, params: &mut Vec<Value>) -> String {
        let backwards = self.descending != reverse;
        let gt = if backwards { "<" } else { ">" };
        let id = Value::Blob(k.id.as_bytes().to_vec());
        let Some(col) = self.col else {
            params.push(id);
            return format!("(id {gt} ?)");
        };
        let coll = self.coll;
        match (&k.value, self.nullable) {
            (Some(v), false) => {
                params.push(key_param(v));
                params.push(id);
                format!("(({col}{coll}, id) {gt} (?, ?))")
            }
            (Some(v), true) => {
                params.push(key_param(v));
                params.push(key_param(v));
                params.push(id);
                // Absent values come after every value ascending, before them descending.
                let nulls = if backwards { String::new() } else { format!(" OR {col} IS NULL") };
                format!("(({col} IS NOT NULL AND ({col} {gt} ?{coll} OR ({col} = ?{coll} AND id {gt} ?))){nulls})")
            }
            (None, _) => {
                params.push(id);
                let values = if backwards { format!(" OR {col} IS NOT NULL") } else { String::new() };
                format!("(({col} IS NULL AND id {gt} ?){values})")
            }
        }
    }

    /// The select-list expression of the key (so a page can report its positions).
    fn key_column(&self) -> &'static str {
        self.col.unwrap_or("NULL")
    }
}

fn key_param(v: &KeyValue) -> Value {
    match v {
        KeyValue::Text(s) => Value::Text(s.clone()),
        KeyValue::Int(i) => Value::Integer(*i),
        KeyValue::Bytes(b) => Value::Blob(b.clone()),
    }
}

/// A key value read back from the key column.
pub fn key_value(v: Value) -> Option<KeyValue> {
    match v {
        Value::Null | Value::Real(_) => None,
        Value::Integer(i) => Some(KeyValue::Int(i)),
        Value::Text(s) => Some(KeyValue::Text(s)),
        Value::Blob(b) => Some(KeyValue::Bytes(b)),
    }
}

/// `ORDER BY` for a sort key: absent values last ascending (first descending), then id.
pub fn order_by(table: Table, sort: Option<&SortKey>) -> Result<String, StoreError> {
    Ok(SortSpec::of(table, sort)?.order_by(false))
}

/// The index an equality in the filter's top level can seek, named with `INDEXED BY`:
/// without statistics the planner takes `tenant_id = ?` for selective and would walk the
/// tenant's primary key instead (see the plan test below).
fn index_hint(table: Table, filter: &Filter) -> Option<&'static str> {
    match filter {
        Filter::Compare { field, op: CompareOp::Eq, value: FilterValue::Text(_), ignore_case } => match (table, field, ignore_case) {
            (Table::Users, Field::User(UserAttribute::UserPrincipalName), true) => Some("users_upn"),
            (Table::Users, Field::User(UserAttribute::Mail), true) => Some("users_mail"),
            (Table::Users, Field::User(UserAttribute::DisplayName), true) => Some("users_display_name"),
            (Table::Users, Field::User(UserAttribute::ExternalId), false) => Some("users_external_id"),
            (Table::Groups, Field::Group(GroupAttribute::DisplayName), true) => Some("groups_display_name"),
            (Table::Groups, Field::Group(GroupAttribute::ExternalId), false) => Some("groups_external_id"),
            _ => None,
        },
        Filter::And(items) => items.iter().find_map(|f| index_hint(table, f)),
        _ => None,
    }
}

/// The statements of a query on one tenant's live objects.
#[derive(Debug)]
pub struct Statements {
    /// Parameters: the tenant, `params`, then limit and offset.
    pub select: String,
    /// Parameters: the tenant, then `params`. No row: no such tenant.
    pub count: String,
    pub params: Vec<Value>,
}

/// The `SELECT` and `count(*)` of an offset page.
pub fn statements(table: Table, cols: &str, tenant: &[u8; 16], filter: Option<&Filter>, sort: Option<&SortKey>) -> Result<Statements, StoreError> {
    let (from, cond, params) = from_where(table, tenant, filter)?;
    let order = order_by(table, sort)?;
    // Unfiltered: the total is the tenant's live objects, kept by the write path.
    let count = match (filter, table) {
        (None, Table::Users) => crate::counts::select(ObjectKind::User, Visibility::Active).to_owned(),
        (None, Table::Groups) => crate::counts::select(ObjectKind::Group, Visibility::Active).to_owned(),
        (Some(_), _) => format!("SELECT count(*) FROM {from} WHERE {cond}"),
    };
    Ok(Statements { select: format!("SELECT {cols} FROM {from} WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?"), count, params })
}

/// The `SELECT` of a keyset page: `cols` then the sort key's column, from the position of
/// `seek` on, walking backwards for [`Seek::Before`]. Parameters: the tenant, the
/// returned ones, then the limit.
pub fn seek_statement(
    table: Table,
    cols: &str,
    tenant: &[u8; 16],
    filter: Option<&Filter>,
    sort: Option<&SortKey>,
    seek: &Seek,
) -> Result<(String, Vec<Value>), StoreError> {
    let (from, mut cond, mut params) = from_where(table, tenant, filter)?;
    let spec = SortSpec::of(table, sort)?;
    let reverse = matches!(seek, Seek::Before(_));
    match seek {
        Seek::First => {}
        Seek::After(k) | Seek::Before(k) => {
            cond.push_str(" AND ");
            cond.push_str(&spec.after(k, reverse, &mut params));
        }
    }
    let order = spec.order_by(reverse);
    Ok((format!("SELECT {cols}, {} FROM {from} WHERE {cond} ORDER BY {order} LIMIT ?", spec.key_column()), params))
}

/// `FROM` (with the index hint) and `WHERE` of a query, and the filter's parameters.
fn from_where(table: Table, tenant: &[u8; 16], filter: Option<&Filter>) -> Result<(String, String, Vec<Value>), StoreError> {
    let mut cond = Condition { tenant: tenant.to_vec(), ..Condition::default() };
    if let Some(f) = filter {
        cond.push(table, f)?;
    } else {
        cond.sql.push('1');
    }
    let from = match filter.and_then(|f| index_hint(table, f)) {
        Some(index) => format!("{} INDEXED BY {index}", table.name()),
        None => table.name().to_owned(),
    };
    Ok((from, format!("tenant_id = ? AND deleted_ms IS NULL AND {}", cond.sql), cond.params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_wildcards() {
        assert_eq!(like_escape("50%_a\\"), "50\\%\\_a\\\\");
        assert_eq!(glob_escape("a*b?[c"), "a[*]b[?][[]c");
    }

    #[test]
    fn a_prefix_is_a_nocase_range() {
        assert_eq!(prefix_range("Ad"), Some(("ad".into(), "ae".into())));
        assert_eq!(prefix_range("a_Z"), Some(("a_z".into(), "a_{".into())));
        assert_eq!(prefix_range("zoë"), Some(("zoë".into(), "zoì".into())));
        assert_eq!(prefix_range("a\u{10FFFF}"), Some(("a\u{10FFFF}".into(), "b".into())));
        assert_eq!(prefix_range("\u{D7FF}"), Some(("\u{D7FF}".into(), "\u{E000}".into())));
        assert_eq!(prefix_range(""), None);
    }

    /// The plan of each typical SCIM lookup seeks an index; none scans the tenant.
    #[test]
    fn typical_lookups_use_their_indexes() {
        use tenantsync_domain::ObjectId;
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        // As every connection of the store: plans never depend on bound values.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).unwrap();
        for m in crate::schema::migrations() {
            conn.execute_batch(m).unwrap();
        }
        let plan = |table: Table, f: Filter| -> String {
            let cols = if table == Table::Users { crate::rows::USER_COLS } else { crate::rows::GROUP_COLS };
            let st = statements(table, cols, &[0; 16], Some(&f), None).unwrap();
            let params = st.params;
            let mut out = String::new();
            for sql in [st.select, st.count] {
                let mut all = vec![Value::Blob(vec![0; 16])];
                all.extend(params.iter().cloned());
                if !sql.starts_with("SELECT count") {
                    all.push(Value::Integer(10));
                    all.push(Value::Integer(0));
                }
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                let rows = stmt.query_map(rusqlite::params_from_iter(all.iter()), |r| r.get::<_, String>(3)).unwrap();
                for r in rows {
                    out.push_str(&r.unwrap());
                    out.push('\n');
                }
            }
            out
        };
        let text = |s: &str| FilterValue::Text(s.into());
        let cases = [
            (Table::Users, Filter::folded(Field::User(UserAttribute::UserPrincipalName), CompareOp::Eq, text("a@b.example")), "users_upn"),
            (Table::Users, Filter::exact(Field::User(UserAttribute::ExternalId), CompareOp::Eq, text("x")), "users_external_id"),
            (Table::Users, Filter::folded(Field::User(UserAttribute::DisplayName), CompareOp::Eq, text("x")), "users_display_name"),
            (Table::Users, Filter::folded(Field::User(UserAttribute::UserPrincipalName), CompareOp::Sw, text("Ad")), "users_upn"),
            (Table::Users, Filter::folded(Field::User(UserAttribute::DisplayName), CompareOp::Sw, text("x")), "users_display_name"),
            (Table::Users, Filter::folded(Field::User(UserAttribute::Mail), CompareOp::Eq, text("a@b.example")), "users_mail"),
            (Table::Groups, Filter::folded(Field::Group(GroupAttribute::DisplayName), CompareOp::Eq, text("x")), "groups_display_name"),
            (Table::Groups, Filter::exact(Field::Group(GroupAttribute::ExternalId), CompareOp::Eq, text("x")), "groups_external_id"),
            (
                Table::Groups,
                Filter::And(vec![
                    Filter::exact(Field::Id, CompareOp::Eq, FilterValue::Id(ObjectId::new())),
                    Filter::exact(Field::Member, CompareOp::Eq, FilterValue::Id(ObjectId::new())),
                ]),
                "PRIMARY KEY",
            ),
            (Table::Groups, Filter::exact(Field::Member, CompareOp::Eq, FilterValue::Id(ObjectId::new())), "members_user"),
            (Table::Users, Filter::exact(Field::MemberOf, CompareOp::Eq, FilterValue::Id(ObjectId::new())), "PRIMARY KEY"),
            (
                Table::Users,
                Filter::Extension {
                    name: tenantsync_domain::ExtensionName::parse("extension_0123456789abcdef0123456789abcdef_costCenter").unwrap(),
                    test: Some((CompareOp::Eq, "CC-1".into())),
                    ignore_case: true,
                },
                "user_extension_values USING PRIMARY KEY (tenant_id=? AND name=? AND value=?)",
            ),
        ];
        for (table, f, index) in cases {
            let p = plan(table, f.clone());
            assert!(p.contains(index), "{f:?} should use {index}:\n{p}");
            assert!(!p.lines().any(|l| l.starts_with("SCAN users") || l.starts_with("SCAN groups")), "{f:?} scans:\n{p}");
        }
    }

    /// A deep keyset page seeks its position in an index; it neither scans the tenant nor
    /// sorts it, so page 9,000 costs what page 1 costs.
    #[test]
    fn keyset_pages_seek_their_position() {
        use tenantsync_domain::ObjectId;
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for m in crate::schema::migrations() {
            conn.execute_batch(m).unwrap();
        }
        let k = |value| Keyset { value, id: ObjectId::new() };
        let upn = |descending| SortKey { field: Field::User(UserAttribute::UserPrincipalName), descending, ignore_case: true };
        let cases = [
            (None, Seek::After(k(None)), "PRIMARY KEY"),
            (None, Seek::Before(k(None)), "PRIMARY KEY"),
            (Some(upn(false)), Seek::After(k(Some(KeyValue::Text("u5@b.example".into())))), "users_upn"),
            (Some(upn(true)), Seek::After(k(Some(KeyValue::Text("u5@b.example".into())))), "users_upn"),
            (Some(upn(false)), Seek::Before(k(Some(KeyValue::Text("u5@b.example".into())))), "users_upn"),
        ];
        for (sort, seek, index) in cases {
            let (sql, params) = seek_statement(Table::Users, crate::rows::USER_COLS, &[0; 16], None, sort.as_ref(), &seek).unwrap();
            let mut all = vec![Value::Blob(vec![0; 16])];
            all.extend(params);
            all.push(Value::Integer(10));
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> = stmt.query_map(rusqlite::params_from_iter(all.iter()), |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
            let plan = plan.join("\n");
            assert!(plan.contains(index) && plan.starts_with("SEARCH"), "{sort:?} {seek:?} should seek {index}:\n{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sort:?} {seek:?} sorts:\n{plan}");
        }
    }

    /// Statements are planned once: bound values never feed the planner (QPSG on every
    /// connection), so a cached statement runs without being parsed
    /// and planned again for each new value (that was a third of a filtered GET's CPU).
    #[test]
    fn cached_statements_are_not_re_prepared_for_new_values() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::schema::configure(&conn, 1024, false).unwrap();
        for m in crate::schema::migrations() {
            conn.execute_batch(m).unwrap();
        }
        let text = |s: String| FilterValue::Text(s);
        let filters: Vec<Box<dyn Fn(usize) -> Filter>> = vec![
            Box::new(|i| Filter::folded(Field::User(UserAttribute::UserPrincipalName), CompareOp::Eq, text(format!("u{i}@b.example")))),
            Box::new(|i| Filter::exact(Field::User(UserAttribute::ExternalId), CompareOp::Eq, text(format!("E-{i}")))),
            Box::new(|i| Filter::folded(Field::User(UserAttribute::Mail), CompareOp::Eq, text(format!("u{i}@b.example")))),
        ];
        for f in filters {
            let st = statements(Table::Users, crate::rows::USER_COLS, &[0; 16], Some(&f(0)), None).unwrap();
            for i in 0..5 {
                let g = f(i);
                let mut cond = Condition { tenant: vec![0; 16], ..Condition::default() };
                cond.push(Table::Users, &g).unwrap();
                let mut all = vec![Value::Blob(vec![0; 16])];
                all.extend(cond.params);
                all.push(Value::Integer(100 + i as i64));
                all.push(Value::Integer(i as i64));
                let mut stmt = conn.prepare_cached(&st.select).unwrap();
                assert_eq!(stmt.query_map(rusqlite::params_from_iter(all.iter()), |_| Ok(())).unwrap().count(), 0);
                assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0, "{}", st.select);
            }
        }
    }

    #[test]
    fn fields_of_the_other_kind_are_refused() {
        let f = Filter::exact(Field::Group(GroupAttribute::Description), CompareOp::Eq, FilterValue::Text("x".into()));
        let mut c = Condition::default();
        assert_eq!(c.push(Table::Users, &f).map_err(|e| e.code()), Err("unsupported_query"));
    }
}
