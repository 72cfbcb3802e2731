//! `sync logs`: a configuration's provisioning log records, newest first.
use super::super::args::{Names, number, time};
use super::super::lookup;
use super::{Ctx, named};
use crate::failure::{Context, Failure};
use crate::output;
use clap::{Args, ValueEnum};
use tenantsync_domain::{SyncConfiguration, Tenant};
use tenantsync_store::{LogQuery, ProvisioningStatus};

/// How a record's object went.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    Success,
    Failure,
    Skipped,
    Warning,
}

impl From<StatusArg> for ProvisioningStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Success => ProvisioningStatus::Success,
            StatusArg::Failure => ProvisioningStatus::Failure,
            StatusArg::Skipped => ProvisioningStatus::Skipped,
            StatusArg::Warning => ProvisioningStatus::Warning,
        }
    }
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The configuration: its id, or SOURCE:TARGET (tenant ids or initial domains).
    pub config: String,
    /// Only records with this status.
    #[arg(long, ignore_case = true, value_parser = Names::<StatusArg>::new())]
    status: Option<StatusArg>,
    /// Only records of this object, in the source or the target: an id, a userPrincipalName or a group's display name.
    #[arg(long)]
    object: Option<String>,
    /// Only records at or after this time: a date (2026-12-06, midnight UTC) or an RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = time)]
    since: Option<jiff::Timestamp>,
    /// Only records before this time: a date or an RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = time)]
    until: Option<jiff::Timestamp>,
    /// At most this many records.
    #[arg(long, value_parser = number::<u32, 1>, default_value_t = 50)]
    limit: u32,
}

pub async fn run(ctx: &Ctx, c: &SyncConfiguration, source: &Tenant, target: &Tenant, a: LogsArgs) -> Result<(), Failure> {
    let object_id = match &a.object {
        Some(o) => Some(lookup::object_id(ctx.store.as_ref(), &[source, target], o).await?),
        None => None,
    };
    let query =
        LogQuery { config_id: Some(c.id), since: a.since, until: a.until, status: a.status.map(Into::into), object_id, limit: a.limit, ..LogQuery::default() };
    let logs = ctx.sync.provisioning_logs(&query).await.about(named(&a.config))?;
    if ctx.json {
        output::json(&logs);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = logs
        .iter()
        .map(|l| {
            let detail = l.error_code.clone().or_else(|| l.skip_reason.map(|r| r.to_string())).unwrap_or_else(|| {
                l.modified_properties.iter().map(|m| format!("{}={}", m.display_name, m.new_value.clone().unwrap_or_default())).collect::<Vec<_>>().join(" ")
            });
            vec![
                output::time(l.activity_date_time),
                l.object_type.to_string(),
                output::name(&l.provisioning_action),
                l.status.as_str().to_owned(),
                l.source_display_name.clone(),
                detail,
            ]
        })
        .collect();
    output::table(&["TIME", "TYPE", "ACTION", "STATUS", "SOURCE", "DETAIL"], &rows);
    Ok(())
}
