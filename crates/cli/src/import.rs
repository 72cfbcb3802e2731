//! Bulk import of users from CSV or JSON Lines: the code path of `tenantsync import users`
//! and of the import benchmark.
//!
//! Column (CSV) or key (JSON Lines) names are attribute names (`userPrincipalName`,
//! `displayName`, `extension_<appid>_<name>`, …), plus `manager` (an object id or a UPN,
//! which may name a user further down the same file) and `anchor` (makes the user
//! external). In CSV an empty cell means "not set"; in JSON Lines a value is a string, a
//! boolean, a number (taken as its text), an array of strings (multi-valued extensions)
//! or null.
//!
//! **Atomic unit.** By default the whole file is one transaction: every row is checked
//! (by the parser and by the store), and if any row is bad, *nothing* is written and
//! every bad row is reported by line. With `commit_every = Some(n)`, each run of `n`
//! rows handed to the store commits on its own; the first unit holding a bad row is
//! not written and the import stops there, and the report says up to which line rows
//! were committed. Rows stream through in batches, so memory does not grow with the
//! file; a line (a CSV record, line breaks inside quotes included, or a JSON Lines line)
//! longer than [`MAX_LINE_BYTES`] stops the import with its file and line, so neither does
//! a file without line breaks.
use crate::failure::CliCode;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tenantsync_domain::{Anchor, AttrValue, DomainError, NewUser, TenantId, Upn, UserAttrName, UserAttribute, UserRef};
use tenantsync_store::{BulkOptions, Store, StoreError};

/// Rows handed to the store at a time.
const PUSH_BATCH: usize = 2000;
/// Row errors kept for the report (the count goes on).
const MAX_KEPT_ERRORS: usize = 1000;
/// The longest line an import reads (1 MiB): a CSV record, or a JSON Lines line, without
/// its line break.
pub const MAX_LINE_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// From the file name: `.csv`, or `.jsonl` / `.ndjson`.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `None`: guess from the file name.
    pub format: Option<Format>,
    /// See the module docs.
    pub commit_every: Option<usize>,
}

/// A bad row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub code: &'static str,
    pub message: String,
}

/// How an import ended.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub file: PathBuf,
    /// Data rows read.
    pub rows: u64,
    /// Users written and committed.
    pub imported: u64,
    pub error_count: u64,
    /// The first bad rows, by line.
    pub errors: Vec<RowError>,
    /// The line of the last row committed, if any.
    pub last_committed_line: Option<u64>,
    pub elapsed: Duration,
}

impl ImportReport {
    pub fn succeeded(&self) -> bool {
        self.error_count == 0
    }
}

const MISSING_ATTRIBUTE: tenantsync_domain::ErrorInfo = tenantsync_domain::ErrorInfo::find(DomainError::TABLE, "missing_attribute");

/// Failures that stop an import before or outside any row.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{file}:{line}: {message}")]
    Header { file: String, line: u64, message: String, code: &'static str },
    #[error("{file}: {source}")]
    Store { file: String, source: StoreError },
    #[error("{file}:{line}: the line is longer than {MAX_LINE_BYTES} bytes (1 MiB), the longest an import reads; {outcome}")]
    LineTooLong { file: String, line: u64, outcome: String },
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::LineTooLong { .. } => CliCode::LineTooLong.code(),
            ImportError::File { .. } => CliCode::UnreadableFile.code(),
            ImportError::Header { code, .. } => code,
            ImportError::Store { source, .. } => source.code(),
        }
    }
}

impl crate::failure::Coded for ImportError {
    fn code(&self) -> &'static str {
        ImportError::code(self)
    }
}

/// Progress as the import goes: bytes of the file read and rows read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub bytes: u64,
    pub total_bytes: u64,
    pub rows: u64,
}

/// What a column or key means.
#[derive(Debug, Clone)]
enum Column {
    Attr(UserAttrName),
    Upn,
    Manager,
    Anchor,
}

fn column(name: &str) -> Result<Column, DomainError> {
    if name.eq_ignore_ascii_case("anchor") {
        return Ok(Column::Anchor);
    }
    Ok(match UserAttrName::parse(name)? {
        UserAttrName::Builtin(UserAttribute::UserPrincipalName) => Column::Upn,
        UserAttrName::Builtin(UserAttribute::Manager) => Column::Manager,
        other => Column::Attr(other),
    })
}

/// Builds a user from (column, value) pairs; null values are "not set".
fn build<'a>(cells: impl Iterator<Item = (&'a Column, AttrValue)>) -> Result<NewUser, DomainError> {
    let mut upn = None;
    let mut rest: Vec<(&UserAttrName, AttrValue)> = Vec::with_capacity(24);
    let mut manager = None;
    let mut anchor = None;
    for (col, value) in cells {
        if value.is_null() {
            continue;
        }
        match col {
            Column::Upn => match value {
                AttrValue::String(s) => upn = Some(Upn::parse(&s)?),
                _ => return Err(DomainError::InvalidAttributeValue { name: "userPrincipalName".into(), reason: "must be a string".into() }),
            },
            Column::Manager => match value {
                AttrValue::String(s) => manager = Some(UserRef::parse(&s)?),
                _ => return Err(DomainError::InvalidAttributeValue { name: "manager".into(), reason: "must be an object id or a userPrincipalName".into() }),
            },
            Column::Anchor => match value {
                AttrValue::String(s) => anchor = Some(s.parse::<Anchor>()?),
                _ => return Err(DomainError::InvalidAnchor { value: value.to_string() }),
            },
            Column::Attr(name) => rest.push((name, value)),
        }
    }
    let upn = upn.ok_or_else(|| DomainError::MissingAttribute { name: "userPrincipalName".into() })?;
    let mut user = NewUser::new(upn);
    for (name, value) in rest {
        user.attrs.set(name, value)?;
    }
    user.manager = manager;
    user.anchor = anchor;
    Ok(user)
}

struct Collector {
    rows: u64,
    errors: Vec<RowError>,
    error_count: u64,
}

impl Collector {
    fn error(&mut self, line: u64, code: &'static str, message: String) {
        self.error_count += 1;
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(RowError { line, code, message });
        }
    }
}

/// Imports the users of `path` into `tenant`. Row problems end up in the report; only
/// file-level problems are errors.
pub async fn import_users(
    store: &dyn Store,
    tenant: TenantId,
    path: &Path,
    options: &ImportOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let file_name = path.display().to_string();
    let file_err = |message: String| ImportError::File { file: file_name.clone(), message };
    let format = options
        .format
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| file_err("unknown format: name the file .csv, .jsonl or .ndjson, or pass --format".into()))?;
    let file = File::open(path).map_err(|e| file_err(e.to_string()))?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bulk = store
        .bulk_import_users(tenant, BulkOptions { commit_every: options.commit_every })
        .await
        .map_err(|source| ImportError::Store { file: file_name.clone(), source })?;
    let mut out = Collector { rows: 0, errors: Vec::new(), error_count: 0 };
    let mut batch: Vec<(u64, NewUser)> = Vec::with_capacity(PUSH_BATCH);
    // After a row the parser rejects, later rows still get checked, but in unit mode
    // nothing more is handed over: the unit holding the bad row must not commit.
    let mut stop_pushing = false;
    let store_err = |source: StoreError| ImportError::Store { file: file_name.clone(), source };
    // The line of a line too long: the import stops there.
    let mut too_long: Option<u64> = None;

    macro_rules! row_done {
        ($line:expr, $result:expr, $bytes:expr) => {{
            out.rows += 1;
            match $result {
                Ok(user) if !stop_pushing => batch.push(($line, user)),
                Ok(_) => {}
                Err(e) => {
                    let e: DomainError = e;
                    out.error($line, e.code(), e.to_string());
                    if options.commit_every.is_some() {
                        stop_pushing = true;
                    }
                }
            }
            if batch.len() >= PUSH_BATCH {
                bulk.push(std::mem::take(&mut batch)).await.map_err(store_err)?;
                progress(Progress { bytes: $bytes, total_bytes, rows: out.rows });
            }
        }};
    }

    match format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(CappedRecords::new(BufReader::with_capacity(1 << 20, file)));
            let headers = match reader.headers() {
                Ok(h) => h.clone(),
                Err(e) => {
                    if is_too_long(&e) {
                        let line = 1;
                        let _ = bulk.abort().await;
                        return Err(ImportError::LineTooLong { file: file_name, line, outcome: "nothing was imported".into() });
                    }
                    return Err(csv_header_err(&file_name, e));
                }
            };
            let mut columns = Vec::with_capacity(headers.len());
            for name in headers.iter() {
                let name = name.trim();
                let col = column(name).map_err(|e| ImportError::Header {
                    file: file_name.clone(),
                    line: 1,
                    message: format!("column '{name}': {e}"),
                    code: e.code(),
                })?;
                columns.push(col);
            }
            check_columns(&file_name, headers.iter().map(str::trim), &columns)?;
            let mut record = csv::StringRecord::new();
            loop {
                match reader.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        let line = record.position().map_or(0, |p| p.line());
                        let cells =
                            columns.iter().zip(record.iter()).map(|(c, v)| (c, if v.is_empty() { AttrValue::Null } else { AttrValue::String(v.to_owned()) }));
                        let bytes = record.position().map_or(0, |p| p.byte());
                        row_done!(line, build(cells), bytes);
                    }
                    Err(e) => {
                        if is_too_long(&e) {
                            // The record being read began where the last one ended.
                            too_long = Some(record.position().map_or(1, |p| p.line()));
                            break;
                        }
                        let line = e.position().map_or(0, |p| p.line());
                        if let csv::ErrorKind::Io(io) = e.kind() {
                            return Err(file_err(io.to_string()));
                        }
                        out.rows += 1;
                        out.error(line, CliCode::MalformedRow.code(), csv_message(&e));
                        if options.commit_every.is_some() {
                            stop_pushing = true;
                        }
                    }
                }
            }
        }
        Format::JsonLines => {
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let mut names: HashMap<String, Result<Column, DomainError>> = HashMap::new();
            let mut line_no = 0u64;
            let mut bytes = 0u64;
            let mut raw: Vec<u8> = Vec::new();
            loop {
                raw.clear();
                // One byte more than a line may hold, its line break included.
                let n = reader.by_ref().take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut raw).map_err(|e| file_err(e.to_string()))?;
                if n == 0 {
                    break;
                }
                line_no += 1;
                bytes += n as u64;
                if n > MAX_LINE_BYTES && raw.last() != Some(&b'\n') {
                    too_long = Some(line_no);
                    break;
                }
                let Ok(buf) = std::str::from_utf8(&raw) else {
                    return Err(file_err("stream did not contain valid UTF-8".into()));
                };
                if buf.trim().is_empty() {
                    continue;
                }
                let result = parse_json_row(buf, &mut names);
                match result {
                    Ok(user) => row_done!(line_no, Ok(user), bytes),
                    Err(JsonRowError::Domain(e)) => row_done!(line_no, Err(e), bytes),
                    Err(JsonRowError::Syntax(message)) => {
                        out.rows += 1;
                        out.error(line_no, CliCode::MalformedRow.code(), message);
                        if options.commit_every.is_some() {
                            stop_pushing = true;
                        }
                    }
                }
            }
        }
    }
    if let Some(line) = too_long {
        // Nothing of the unit holding the line is written; units committed before stay.
        let summary = bulk.abort().await.map_err(store_err)?;
        let outcome = match summary.committed {
            0 => "nothing was imported".to_owned(),
            n => format!("the import stopped there ({n} users of the units before it were imported)"),
        };
        return Err(ImportError::LineTooLong { file: file_name, line, outcome });
    }
    if !batch.is_empty() {
        bulk.push(std::mem::take(&mut batch)).await.map_err(store_err)?;
    }
    progress(Progress { bytes: total_bytes, total_bytes, rows: out.rows });
    let parse_failed = out.error_count > 0;
    let summary = if parse_failed { bulk.abort().await } else { bulk.finish().await }.map_err(store_err)?;
    let unkept = summary.rejected_count.saturating_sub(summary.rejected.len() as u64);
    for r in summary.rejected {
        out.error(r.tag, r.error.code(), r.error.to_string());
    }
    out.error_count += unkept;
    out.errors.sort_by_key(|e| e.line);
    Ok(ImportReport {
        file: path.to_path_buf(),
        rows: out.rows,
        imported: summary.committed,
        error_count: out.error_count,
        errors: out.errors,
        last_committed_line: summary.last_committed_tag,
        elapsed: started.elapsed(),
    })
}

fn check_columns<'a>(file: &str, names: impl Iterator<Item = &'a str>, columns: &[Column]) -> Result<(), ImportError> {
    let mut seen: HashMap<String, ()> = HashMap::new();
    for name in names {
        if seen.insert(name.to_ascii_lowercase(), ()).is_some() {
            return Err(ImportError::Header {
                file: file.into(),
                line: 1,
                message: format!("column '{name}' appears twice"),
                code: CliCode::DuplicateColumn.code(),
            });
        }
    }
    if !columns.iter().any(|c| matches!(c, Column::Upn)) {
        return Err(ImportError::Header { file: file.into(), line: 1, message: "there is no userPrincipalName column".into(), code: MISSING_ATTRIBUTE.code });
    }
    Ok(())
}

/// Whether a CSV error is [`CappedRecords`]' refusal of a record over [`MAX_LINE_BYTES`].
fn is_too_long(e: &csv::Error) -> bool {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.get_ref().is_some_and(|inner| inner.is::<TooLong>()),
        _ => false,
    }
}

/// The error [`CappedRecords`] reads with.
#[derive(Debug, thiserror::Error)]
#[error("a record is longer than {MAX_LINE_BYTES} bytes")]
struct TooLong;

/// What the CSV parser reads through: the bytes of the file, until a record (line breaks
/// inside quotes included) grows past [`MAX_LINE_BYTES`]; then [`TooLong`]. The parser
/// would otherwise hold a record of any length in memory. (The record's line is the
/// parser's: where the record it was reading began.) It looks at each byte once, a
/// quoted stretch at a time; about 0.1 s per million generated users.
struct CappedRecords<R> {
    inner: R,
    /// Inside a quoted field (`""` inside one toggles twice, so it stays right).
    quoted: bool,
    /// Bytes of the current record so far.
    len: usize,
}

impl<R> CappedRecords<R> {
    fn new(inner: R) -> Self {
        Self { inner, quoted: false, len: 0 }
    }
}

impl<R: Read> Read for CappedRecords<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut rest = buf.get(..n).unwrap_or_default();
        while !rest.is_empty() {
            // Up to the next quote: a stretch inside or outside quotes.
            let (stretch, after) = match rest.iter().position(|&b| b == b'"') {
                Some(q) => rest.split_at(q),
                None => (rest, &[][..]),
            };
            match stretch.iter().rposition(|&b| b == b'\n') {
                // A line break outside quotes ends a record.
                Some(end) if !self.quoted => self.len = stretch.len() - end - 1,
                _ => self.len += stretch.len(),
            }
            let Some((_quote, next)) = after.split_first() else { break };
            self.quoted = !self.quoted;
            self.len += 1;
            rest = next;
        }
        if self.len > MAX_LINE_BYTES {
            return Err(std::io::Error::other(TooLong));
        }
        Ok(n)
    }
}

fn csv_header_err(file: &str, e: csv::Error) -> ImportError {
    ImportError::Header { file: file.into(), line: 1, message: csv_message(&e), code: CliCode::MalformedRow.code() }
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!("the row has {len} fields, the header {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".into(),
        _ => e.to_string(),
    }
}

enum JsonRowError {
    Syntax(String),
    Domain(DomainError),
}

fn parse_json_row(line: &str, names: &mut HashMap<String, Result<Column, DomainError>>) -> Result<NewUser, JsonRowError> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).map_err(|e| JsonRowError::Syntax(format!("not a JSON object: {e}")))?;
    let mut cols: Vec<Column> = Vec::with_capacity(map.len());
    let mut vals: Vec<AttrValue> = Vec::with_capacity(map.len());
    for (key, value) in map {
        let col = names.entry(key.clone()).or_insert_with(|| column(&key)).clone().map_err(JsonRowError::Domain)?;
        let value = match value {
            serde_json::Value::Null => AttrValue::Null,
            serde_json::Value::Bool(b) => AttrValue::Bool(b),
            serde_json::Value::Number(n) => AttrValue::String(n.to_string()),
            serde_json::Value::String(s) => AttrValue::String(s),
            serde_json::Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        serde_json::Value::String(s) => out.push(s),
                        other => {
                            return Err(JsonRowError::Domain(DomainError::InvalidAttributeValue {
                                name: key,
                                reason: format!("lists may hold only strings, not {other}"),
                            }));
                        }
                    }
                }
                AttrValue::Strings(out)
            }
            serde_json::Value::Object(_) => {
                return Err(JsonRowError::Domain(DomainError::InvalidAttributeValue { name: key, reason: "must not be an object".into() }));
            }
        };
        cols.push(col);
        vals.push(value);
    }
    build(cols.iter().zip(vals)).map_err(JsonRowError::Domain)
}
