//! Copying one store into another through [`DumpStore`]: the store-neutral half of
//! `tenantsync migrate`. Tables are read a page at a time while the previous page is
//! written, so memory stays bounded; the destination's transaction commits only once its
//! content matches the source's row for row (counts of every table, every tenant's change
//! head), and is rolled back otherwise.
use crate::dump::{DumpStore, DumpTable, Tally};
use crate::{Result, StoreError};
use serde::Serialize;
use tenantsync_domain::TenantId;

/// Records read and written at a time.
pub const PAGE: u32 = 2_000;

/// One table as copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCopy {
    pub table: DumpTable,
    pub source: u64,
    pub destination: u64,
}

/// One tenant's change head on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeadCopy {
    pub tenant: TenantId,
    pub source: u64,
    pub destination: u64,
}

/// What a copy did, checked on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    pub tables: Vec<TableCopy>,
    pub heads: Vec<HeadCopy>,
}

/// Copies everything `from` holds into `to`, which must hold nothing (`destination_exists`
/// naming `to_name` otherwise). On any failure, and when the copy does not match its
/// source, nothing stays in `to`.
pub async fn copy(from: &dyn DumpStore, to: &dyn DumpStore, to_name: &str, page: u32) -> Result<CopyReport> {
    let found = to.tally().await?;
    if !found.is_empty() {
        let tenants = found.tables.get(&DumpTable::Tenants).copied().unwrap_or(0);
        return Err(StoreError::DestinationExists { path: to_name.to_owned(), reason: format!("is not empty (it holds {tenants} tenant(s))") });
    }
    let source = from.tally().await?;
    let mut restore = to.restore().await?;
    for table in DumpTable::ALL {
        let mut next = from.dump_page(table, None, page).await?;
        loop {
            let Some(cursor) = next.next.clone() else {
                restore.push(next.records).await?;
                break;
            };
            // Write this page while the next one is read.
            let (pushed, read) = tokio::join!(restore.push(next.records), from.dump_page(table, Some(&cursor), page));
            pushed?;
            next = read?;
        }
    }
    let copied = restore.tally().await?;
    let report = compare(&source, &copied)?;
    restore.commit().await?;
    // Read back through the destination's own reads, after the commit.
    for head in &report.heads {
        let now = to.change_head(head.tenant).await?.0;
        if now != head.source {
            return Err(mismatch(format!("the change head of tenant {}", head.tenant), head.source, now));
        }
    }
    Ok(report)
}

fn mismatch(what: String, source: u64, destination: u64) -> StoreError {
    StoreError::MigrationMismatch { what, expected: source, found: destination }
}

/// The report of two tallies, or the first difference between them.
fn compare(source: &Tally, copied: &Tally) -> Result<CopyReport> {
    let mut tables = Vec::new();
    for table in DumpTable::ALL {
        let s = source.tables.get(&table).copied().unwrap_or(0);
        let d = copied.tables.get(&table).copied().unwrap_or(0);
        if s != d {
            return Err(mismatch(format!("the {} table", table.as_str()), s, d));
        }
        tables.push(TableCopy { table, source: s, destination: d });
    }
    let mut heads = Vec::new();
    for (tenant, s) in &source.heads {
        let d = copied.heads.get(tenant).copied().unwrap_or(0);
        if *s != d {
            return Err(mismatch(format!("the change head of tenant {tenant}"), *s, d));
        }
        heads.push(HeadCopy { tenant: *tenant, source: *s, destination: d });
    }
    if copied.heads.len() != source.heads.len() {
        return Err(mismatch("the number of tenants".into(), source.heads.len() as u64, copied.heads.len() as u64));
    }
    Ok(CopyReport { tables, heads })
}
