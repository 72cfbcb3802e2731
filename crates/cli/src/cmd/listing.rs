//! Listings a page at a time: which objects (`--show`), how many (`--limit`), from where
//! (`--after`), and how a page is printed.
use super::Ctx;
use super::args::number;
use crate::failure::{Context, Failure};
use crate::output;
use crate::output::out;
use clap::{Args, ValueEnum};
use serde::Serialize;
use tenantsync_domain::ObjectId;
use tenantsync_store::{ListQuery, Page, Visibility};

/// Which objects a listing shows.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum Show {
    #[default]
    Active,
    Deleted,
    All,
}

impl From<Show> for Visibility {
    fn from(show: Show) -> Self {
        match show {
            Show::Active => Visibility::Active,
            Show::Deleted => Visibility::Deleted,
            Show::All => Visibility::All,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Tenant id or initial domain.
    #[arg(long, short)]
    pub tenant: String,
    /// Active objects (default), only soft-deleted ones, or all.
    #[arg(long, value_enum, default_value_t = Show::Active)]
    pub show: Show,
    /// At most this many.
    #[arg(long, value_parser = number::<u32, 1>, default_value_t = 100)]
    pub limit: u32,
    /// Start after this object id (the `next` of the previous page).
    #[arg(long)]
    pub after: Option<String>,
}

impl ListArgs {
    /// The store query these arguments ask for.
    pub fn query(&self) -> Result<ListQuery, Failure> {
        Ok(ListQuery { after: after(&self.after)?, limit: self.limit, visibility: self.show.into(), ..ListQuery::default() })
    }
}

/// The object id of `--after`, if given.
pub fn after(after: &Option<String>) -> Result<Option<ObjectId>, Failure> {
    after.as_deref().map(|a| a.parse::<ObjectId>().about(|| format!("--after '{a}'"))).transpose()
}

/// Prints a page: as JSON (`value` and `next`), or as a table of a row per item and, when
/// there is more, the `--after` that shows it.
pub fn print_page<T: Serialize>(ctx: &Ctx, page: &Page<T>, header: &[&str], row: impl Fn(&T) -> Vec<String>) {
    if ctx.json {
        output::json(&serde_json::json!({ "value": page.items, "next": page.next }));
    } else {
        let rows: Vec<Vec<String>> = page.items.iter().map(row).collect();
        output::table(header, &rows);
        if let Some(next) = page.next {
            out!("more: --after {next}");
        }
    }
}

/// A table cell for an optional value (empty when absent).
pub fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}
