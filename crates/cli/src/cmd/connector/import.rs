//! `connector import NAME`: one run of an import connector, now, under its lease (as
//! `serve` runs it every `pollSecs`).
use super::{Failure, code_of, find, invalid, secret_key, subject};
use crate::cmd::Ctx;
use crate::failure::Context;
use crate::output;
use crate::output::out;
use tenantsync_connectors::{Direction, Importer, open_source};

pub async fn run(ctx: &Ctx, name: &str, reconcile: bool) -> Result<(), Failure> {
    let (record, definition) = find(ctx, name).await?;
    if definition.direction != Direction::Import {
        return Err(invalid(name, "the connector exports its tenant: run `connector export` (or add one with --import)"));
    }
    let _lease = ctx
        .connectors
        .try_lease_connector(record.key())
        .await
        .about(|| subject(name))?
        .ok_or_else(|| Failure::coded(subject(name), &tenantsync_connectors::ConnectorError::Running))?;
    let tenant = ctx.store.get_tenant(record.tenant).await.about(|| subject(name))?;
    let source = open_source(&definition, &secret_key(ctx)?, tenant.initial_domain.as_str()).about(|| subject(name))?;
    let importer = Importer::new(ctx.connectors.as_ref(), &record, &definition, source.as_ref()).reconciling(reconcile);
    let report = importer.run().await.about(|| subject(name))?;
    if ctx.json {
        output::json(&report);
    } else {
        let c = report.counters;
        out!(
            "connector '{name}'{}: {} created, {} matched, {} updated, {} restored, {} deleted, {} unchanged, {} escrowed",
            if report.reconciled { " (reconciled)" } else { "" },
            c.created,
            c.matched,
            c.updated,
            c.restored,
            c.deleted,
            c.unchanged,
            c.escrowed
        );
    }
    if let Some(p) = report.paused {
        return Err(Failure::new(subject(name), format!("paused: {}", p.message), code_of(&p.code)));
    }
    Ok(())
}
