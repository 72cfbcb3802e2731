//! The stored form of a provisioning log record.
//!
//! Logs are the bulk of what a sync cycle writes: as JSON a created user's record is
//! about 2.6 KB (twenty modified properties, four steps), four times the user row it
//! reports. So the `body` column holds a packed form instead: the fields that have
//! columns of their own (configuration, time, status, source, target) are left out, the
//! rest is JSON with the cycle's change number instead of the change id, and the whole
//! is LZ4-compressed (a BLOB): about a quarter of the JSON size, encoded by the caller,
//! off the single writer thread.
//!
//! Rows written before the packed form hold the full JSON as TEXT; [`decode`] reads both.
use serde::{Deserialize, Serialize};
use tenantsync_domain::{ObjectId, ObjectKind, SyncConfigId};
use tenantsync_store::{ModifiedProperty, ProvisioningAction, ProvisioningLog, ProvisioningStatus, ProvisioningStep, StoreError};

/// The version tag of the packed form (the first element of the array).
const PACKED_V1: u8 = 1;

type Step = (String, String, ProvisioningStatus, String, serde_json::Map<String, serde_json::Value>);

/// The packed record. Field order is the format: append only.
#[derive(Serialize, Deserialize)]
struct Packed {
    version: u8,
    id: String,
    cycle_id: String,
    /// The number after `<cycleId>-` in the change id, or the whole change id when it
    /// has another shape.
    change: ChangeRef,
    action: ProvisioningAction,
    /// Full precision (the `at_ms` column has milliseconds).
    at: jiff::Timestamp,
    source_display_name: String,
    skip_reason: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    modified: Vec<(String, Option<String>, Option<String>)>,
    steps: Vec<Step>,
    duration_in_milliseconds: u64,
    /// `user` or `group`; absent in records packed before group provisioning (users).
    #[serde(default = "user_kind")]
    object_type: ObjectKind,
}

fn user_kind() -> ObjectKind {
    ObjectKind::User
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ChangeRef {
    Number(u64),
    Id(String),
}

/// The columns a record is stored with besides its body.
pub struct Columns {
    pub config_id: SyncConfigId,
    pub status: ProvisioningStatus,
    pub source_id: ObjectId,
    pub target_id: Option<ObjectId>,
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal { message: format!("provisioning log encoding: {e}") }
}

/// Packs a record into the `body` column's form.
pub fn encode(log: &ProvisioningLog) -> Result<Vec<u8>, StoreError> {
    let change = log
        .change_id
        .strip_prefix(log.cycle_id.as_str())
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| format!("{}-{n}", log.cycle_id) == log.change_id)
        .map_or_else(|| ChangeRef::Id(log.change_id.clone()), ChangeRef::Number);
    let packed = Packed {
        version: PACKED_V1,
        id: log.id.clone(),
        cycle_id: log.cycle_id.clone(),
        change,
        action: log.provisioning_action,
        at: log.activity_date_time,
        source_display_name: log.source_display_name.clone(),
        skip_reason: log.skip_reason.clone(),
        error_code: log.error_code.clone(),
        error_message: log.error_message.clone(),
        modified: log.modified_properties.iter().map(|m| (m.display_name.clone(), m.old_value.clone(), m.new_value.clone())).collect(),
        steps: log
            .steps
            .iter()
            .map(|s| (s.name.clone(), s.provisioning_step_type.clone(), s.status, s.description.clone(), s.details.clone()))
            .collect(),
        duration_in_milliseconds: log.duration_in_milliseconds,
        object_type: log.object_type,
    };
    let json = serde_json::to_vec(&packed).map_err(internal)?;
    Ok(lz4_flex::block::compress_prepend_size(&json))
}

/// Reads a stored record back: a packed BLOB, or the full JSON TEXT of older rows.
pub fn decode(body: rusqlite::types::ValueRef<'_>, columns: Columns) -> Result<ProvisioningLog, StoreError> {
    match body {
        rusqlite::types::ValueRef::Text(text) => serde_json::from_slice(text).map_err(internal),
        rusqlite::types::ValueRef::Blob(bytes) => {
            let json = lz4_flex::block::decompress_size_prepended(bytes).map_err(internal)?;
            let p: Packed = serde_json::from_slice(&json).map_err(internal)?;
            if p.version != PACKED_V1 {
                return Err(internal(format!("unknown version {}", p.version)));
            }
            let change_id = match p.change {
                ChangeRef::Number(n) => format!("{}-{n}", p.cycle_id),
                ChangeRef::Id(id) => id,
            };
            Ok(ProvisioningLog {
                id: p.id,
                config_id: columns.config_id,
                cycle_id: p.cycle_id,
                change_id,
                activity_date_time: p.at,
                provisioning_action: p.action,
                status: columns.status,
                object_type: p.object_type,
                source_id: columns.source_id,
                source_display_name: p.source_display_name,
                target_id: columns.target_id,
                skip_reason: p.skip_reason,
                error_code: p.error_code,
                error_message: p.error_message,
                modified_properties: p
                    .modified
                    .into_iter()
                    .map(|(display_name, old_value, new_value)| ModifiedProperty { display_name, old_value, new_value })
                    .collect(),
                steps: p
                    .steps
                    .into_iter()
                    .map(|(name, provisioning_step_type, status, description, details)| ProvisioningStep {
                        name,
                        provisioning_step_type,
                        status,
                        description,
                        details,
                    })
                    .collect(),
                duration_in_milliseconds: p.duration_in_milliseconds,
                op_index: None,
            })
        }
        _ => Err(internal("unexpected column type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(change_id: Option<&str>) -> ProvisioningLog {
        let cycle_id = "01a208c5-42f7-74f3-8ebd-f220236f7d3e".to_owned();
        ProvisioningLog {
            id: "01a208c5-452d-724b-9f2b-6cce6f17288d".into(),
            config_id: SyncConfigId::new(),
            change_id: change_id.map_or_else(|| format!("{cycle_id}-17"), str::to_owned),
            cycle_id,
            activity_date_time: jiff::Timestamp::from_nanosecond(1_790_000_000_123_456_789).unwrap(),
            provisioning_action: ProvisioningAction::Create,
            status: ProvisioningStatus::Failure,
            object_type: ObjectKind::User,
            source_id: ObjectId::new(),
            source_display_name: "adele@contoso.example".into(),
            target_id: Some(ObjectId::new()),
            skip_reason: None,
            error_code: Some("UpnTaken".into()),
            error_message: Some("the UPN is taken".into()),
            modified_properties: vec![
                ModifiedProperty { display_name: "displayName".into(), old_value: None, new_value: Some("Adele".into()) },
                ModifiedProperty { display_name: "city".into(), old_value: Some("Paris".into()), new_value: None },
            ],
            steps: vec![ProvisioningStep {
                name: "EntryImport".into(),
                provisioning_step_type: "import".into(),
                status: ProvisioningStatus::Success,
                description: "Retrieved".into(),
                details: serde_json::Map::from_iter([("k".to_owned(), serde_json::json!(1))]),
            }],
            duration_in_milliseconds: 3,
            op_index: None,
        }
    }

    fn roundtrip(log: &ProvisioningLog) -> ProvisioningLog {
        let bytes = encode(log).unwrap();
        let columns = Columns {
            config_id: log.config_id,
            status: log.status,
            source_id: log.source_id,
            target_id: log.target_id,
        };
        decode(rusqlite::types::ValueRef::Blob(&bytes), columns).unwrap()
    }

    #[test]
    fn packed_records_read_back_unchanged() {
        let log = sample(None);
        assert_eq!(roundtrip(&log), log);
        // A change id of another shape is kept whole.
        let odd = sample(Some("ondemand-7"));
        assert_eq!(roundtrip(&odd), odd);
        let group = ProvisioningLog { object_type: ObjectKind::Group, ..sample(None) };
        assert_eq!(roundtrip(&group), group);
    }

    #[test]
    fn packed_form_is_much_smaller_than_json() {
        let mut log = sample(None);
        log.modified_properties = (0..20)
            .map(|i| ModifiedProperty { display_name: format!("attribute{i}"), old_value: None, new_value: Some(format!("value {i}")) })
            .collect();
        let json = serde_json::to_vec(&log).unwrap();
        let packed = encode(&log).unwrap();
        assert!(packed.len() * 2 < json.len(), "{} vs {}", packed.len(), json.len());
    }

    #[test]
    fn older_json_rows_still_read() {
        let log = sample(None);
        let json = serde_json::to_string(&log).unwrap();
        let columns =
            Columns { config_id: log.config_id, status: log.status, source_id: log.source_id, target_id: log.target_id };
        assert_eq!(decode(rusqlite::types::ValueRef::Text(json.as_bytes()), columns).unwrap(), log);
    }

    #[test]
    fn garbage_is_an_internal_error_not_a_panic() {
        let columns = Columns {
            config_id: SyncConfigId::new(),
            status: ProvisioningStatus::Success,
            source_id: ObjectId::new(),
            target_id: None,
        };
        assert!(matches!(decode(rusqlite::types::ValueRef::Blob(&[1, 2, 3]), columns), Err(StoreError::Internal { .. })));
    }
}
