//! One object's export: what its link says was sent, what the object is now, and the one
//! call (or none) that brings the external system there.
use crate::ConnectorError;
use crate::definition::Deprovision;
use crate::target::{Resource, Target};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use tenantsync_domain::{ObjectId, ObjectKind};
use tenantsync_store::{Link, LinkFault};

/// What the object is now, as the exporter read it.
#[derive(Debug)]
pub enum Now {
    /// Gone for good (hard-deleted or purged).
    Gone,
    /// Soft-deleted: rendered as the system should hold it while deleted.
    Deleted(Resource),
    Live(Resource),
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Unchanged,
    Created,
    /// An object found in the system (made before a crash, or there before) and linked.
    Matched,
    Updated,
    Deprovisioned,
    Deleted,
    Escrowed,
}

/// The result of one object: its link's next state (`None`: remove the link).
#[derive(Debug)]
pub struct Outcome {
    pub object: ObjectId,
    pub link: Option<Link>,
    pub done: Done,
}

/// A digest of what is sent: changes exactly when the resource does.
pub fn digest(r: &Resource) -> Vec<u8> {
    let text = serde_json::to_string(r).unwrap_or_default();
    Sha256::digest(text.as_bytes()).to_vec()
}

/// Time before an escrowed object is tried again: 1 minute, doubling, at most 4 hours.
pub fn escrow_delay(attempts: u32) -> SignedDuration {
    let minutes = 1i64 << attempts.saturating_sub(1).min(8);
    SignedDuration::from_mins(minutes.min(240))
}

fn linked(object: ObjectId, kind: ObjectKind, external_id: String, sent: Resource) -> Link {
    Link { object, kind, external_id: Some(external_id), digest: Some(digest(&sent)), exported: Some(serde_json::Value::Object(sent)), fault: None }
}

/// Brings one object across. A failure of the object's own escrows it (the link keeps
/// what was last sent, with the fault); a failure of the whole system is returned.
pub async fn export(
    target: &dyn Target,
    kind: ObjectKind,
    object: ObjectId,
    link: Option<Link>,
    now: Now,
    deprovision: Deprovision,
    at: Timestamp,
) -> Result<Outcome, ConnectorError> {
    match act(target, kind, object, link.as_ref(), now, deprovision).await {
        Ok((next, done)) => Ok(Outcome { object, link: next, done }),
        Err(e) if e.is_system() => Err(e),
        Err(e) => {
            let attempts = link.as_ref().and_then(|l| l.fault.as_ref()).map_or(0, |f| f.attempts).saturating_add(1);
            let fault = LinkFault { error: format!("{}: {e}", e.code()), attempts, retry_at: at + escrow_delay(attempts) };
            let mut next = link.unwrap_or(Link { object, kind, external_id: None, digest: None, exported: None, fault: None });
            next.fault = Some(fault);
            Ok(Outcome { object, link: Some(next), done: Done::Escrowed })
        }
    }
}

async fn act(
    target: &dyn Target,
    kind: ObjectKind,
    object: ObjectId,
    link: Option<&Link>,
    now: Now,
    deprovision: Deprovision,
) -> Result<(Option<Link>, Done), ConnectorError> {
    let external = link.and_then(|l| l.external_id.clone());
    let sent = link.and_then(|l| l.exported.as_ref()).and_then(|e| e.as_object());
    let faulted = link.is_some_and(|l| l.fault.is_some());
    match now {
        Now::Gone => {
            if let Some(id) = &external {
                target.delete(kind, id).await?;
                return Ok((None, Done::Deleted));
            }
            Ok((None, Done::Unchanged))
        }
        Now::Deleted(resource) => {
            let Some(id) = external else { return Ok((None, Done::Unchanged)) };
            // Groups have no `active`: a deleted group goes.
            if deprovision == Deprovision::Delete || kind == ObjectKind::Group {
                target.delete(kind, &id).await?;
                return Ok((None, Done::Deleted));
            }
            if !faulted && link.and_then(|l| l.digest.as_deref()) == Some(digest(&resource).as_slice()) {
                return Ok((link.cloned(), Done::Unchanged));
            }
            target.update(kind, &id, sent, &resource).await?;
            Ok((Some(linked(object, kind, id, resource)), Done::Deprovisioned))
        }
        Now::Live(resource) => {
            if let Some(id) = external {
                if !faulted && link.and_then(|l| l.digest.as_deref()) == Some(digest(&resource).as_slice()) {
                    return Ok((link.cloned(), Done::Unchanged));
                }
                match target.update(kind, &id, sent, &resource).await {
                    Ok(()) => return Ok((Some(linked(object, kind, id, resource)), Done::Updated)),
                    // Deleted in the system behind our back: made again below.
                    Err(ConnectorError::Refused { status: 404, .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            // No link: the object may be there already (made before a crash, or there
            // before tenantsync): match it before creating a second one.
            if let Some(id) = target.find(kind, &resource).await? {
                target.update(kind, &id, None, &resource).await?;
                return Ok((Some(linked(object, kind, id, resource)), Done::Matched));
            }
            let id = target.create(kind, &resource).await?;
            Ok((Some(linked(object, kind, id, resource)), Done::Created))
        }
    }
}
