//! The stored forms of provisioning log records written before schema version 8, one row
//! per record (read only: records are now stored in blocks, see logblock.rs).
//!
//! Logs are the bulk of what a sync cycle writes: as JSON a created user's record is
//! about 2.6 KB (twenty modified properties, four steps), four times the user row it
//! reports. So the `body` column holds a packed form instead: the fields that have
//! columns of their own (configuration, time, status, source, target) are left out, the
//! rest is a JSON array (fields by position, the cycle's change number instead of the
//! change id), LZ4-compressed against [`DICTIONARY`]: the attribute names, step names and
//! phrases every record repeats, so a record stores little more than its own values
//! (about a fifth of its JSON).
//!
//! Three forms are read: this one (version 2: the size's top byte is [`V2_TAG`]), the
//! first packed form (a JSON object compressed without a dictionary), and the full JSON
//! TEXT of the first rows. The dictionary is part of the format: changing it is a new
//! version.
use serde::{Deserialize, Serialize};
use tenantsync_domain::{ObjectId, ObjectKind, SyncConfigId};
use tenantsync_store::{ModifiedProperty, ProvisioningAction, ProvisioningLog, ProvisioningStatus, ProvisioningStep, StoreError};

/// The version field of the first packed form.
const PACKED_V1: u8 = 1;

/// Marks version 2 in the top byte of the 4-byte size that starts a packed body (records
/// are far below 16 MiB, so the first form always has 0 there).
const V2_TAG: u8 = 0xF2;

/// What every record repeats, most frequent last (closest to the data, as LZ4 prefers).
const DICTIONARY: &str = concat!(
    r#""update","delete","stagedDelete","disable","other","skipped","failure","warning","group","ondemand-"#,
    r#""Skip(\"RedundantExport\")","Skip(\"NotEffectivelyEntitled\")","Skip(\"ExternalUser\")","Update","Restore","SoftDelete","HardDelete","#,
    r#"[["EntryImport","import","success","User '","' no longer exists in the source tenant",{}],"#,
    r#"["EntrySynchronizationMatching","matching","success","Matched target user '","' by anchor ",{}],"#,
    r#"["EntrySynchronizationScoping","scoping","skipped","not in scope: "," is not assigned","#,
    r#"["manager",null,""],["proxyAddresses",null,""],["streetAddress",null,""],["postalCode",null,""],["mobilePhone",null,""],"#,
    r#"["employeeType",null,""],["employeeHireDate",null,""],["showInAddressList",null,"false"],["userType",null,"Guest"]],"#,
    r#","create","2026-01-01T00:00:00.000000000Z",""#,
    r#"",null,null,null,[["userPrincipalName",null,"_#EXT#@"],["anchor",null,""],["accountEnabled",null,"true"],"#,
    r#"["displayName",null,""],["givenName",null,""],["surname",null,""],["mail",null,""],["mailNickname",null,""],"#,
    r#"["department",null,""],["jobTitle",null,""],["companyName",null,""],["employeeId",null,""],["officeLocation",null,""],"#,
    r#"["city",null,""],["state",null,""],["country",null,""],["preferredLanguage",null,""],["telephoneNumber",null,""],"#,
    r#"["usageLocation",null,""],["userType",null,"Member"]],"#,
    r#"[["EntryImport","import","success","Retrieved user '","' from the source tenant",{}],"#,
    r#"["EntrySynchronizationScoping","scoping","success","in scope",{}],"#,
    r#"["EntrySynchronizationMatching","matching","success","No target user carries anchor ",{}],"#,
    r#"["EntryExport","export","success","Create",{}]],0,"user"]"#,
);

/// The record in version 2: the fields of [`Packed`] by position.
#[derive(Serialize, Deserialize)]
struct Record(
    String,
    String,
    ChangeRef,
    ProvisioningAction,
    jiff::Timestamp,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<(String, Option<String>, Option<String>)>,
    Vec<Step>,
    u64,
    ObjectKind,
);

type Step = (String, String, ProvisioningStatus, String, serde_json::Map<String, serde_json::Value>);

/// The first packed form (read only).
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

/// Packs a record into the `body` column's form (the form written before schema version
/// 8; tests make old rows with it).
#[cfg(test)]
pub fn encode(log: &ProvisioningLog) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(&record(log)).map_err(internal)?;
    let mut out = lz4_flex::block::compress_prepend_size_with_dict(&json, DICTIONARY.as_bytes());
    match out.get_mut(3) {
        Some(top @ 0) => *top = V2_TAG,
        _ => return Err(internal("record too large")),
    }
    Ok(out)
}

#[cfg(test)]
fn record(log: &ProvisioningLog) -> Record {
    let change = log
        .change_id
        .strip_prefix(log.cycle_id.as_str())
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| format!("{}-{n}", log.cycle_id) == log.change_id)
        .map_or_else(|| ChangeRef::Id(log.change_id.clone()), ChangeRef::Number);
    Record(
        log.id.clone(),
        log.cycle_id.clone(),
        change,
        log.provisioning_action,
        log.activity_date_time,
        log.source_display_name.clone(),
        log.skip_reason.map(|r| r.as_str().to_owned()),
        log.error_code.clone(),
        log.error_message.clone(),
        log.modified_properties.iter().map(|m| (m.display_name.to_string(), m.old_value.clone(), m.new_value.clone())).collect(),
        log.steps
            .iter()
            .map(|s| (s.kind.as_str().to_owned(), s.kind.step_type().as_str().to_owned(), s.status, s.description.clone(), s.details.clone()))
            .collect(),
        log.duration_in_milliseconds,
        log.object_type,
    )
}

impl From<Packed> for Record {
    fn from(p: Packed) -> Record {
        Record(
            p.id,
            p.cycle_id,
            p.change,
            p.action,
            p.at,
            p.source_display_name,
            p.skip_reason,
            p.error_code,
            p.error_message,
            p.modified,
            p.steps,
            p.duration_in_milliseconds,
            p.object_type,
        )
    }
}

/// Reads a stored record back: a packed BLOB, or the full JSON TEXT of older rows.
pub fn decode(body: rusqlite::types::ValueRef<'_>, columns: Columns) -> Result<ProvisioningLog, StoreError> {
    match body {
        rusqlite::types::ValueRef::Text(text) => serde_json::from_slice(text).map_err(internal),
        rusqlite::types::ValueRef::Blob(bytes) => {
            let p = match bytes {
                [a, b, c, V2_TAG, rest @ ..] => {
                    let size = u32::from_le_bytes([*a, *b, *c, 0]) as usize;
                    let json = lz4_flex::block::decompress_with_dict(rest, size, DICTIONARY.as_bytes()).map_err(internal)?;
                    serde_json::from_slice::<Record>(&json).map_err(internal)?
                }
                _ => {
                    let json = lz4_flex::block::decompress_size_prepended(bytes).map_err(internal)?;
                    let p: Packed = serde_json::from_slice(&json).map_err(internal)?;
                    if p.version != PACKED_V1 {
                        return Err(internal(format!("unknown version {}", p.version)));
                    }
                    Record::from(p)
                }
            };
            let Record(id, cycle_id, change, action, at, source_display_name, skip_reason, error_code, error_message, modified, steps, duration, object_type) =
                p;
            let change_id = match change {
                ChangeRef::Number(n) => format!("{cycle_id}-{n}"),
                ChangeRef::Id(id) => id,
            };
            Ok(ProvisioningLog {
                id,
                config_id: columns.config_id,
                cycle_id,
                change_id,
                activity_date_time: at,
                provisioning_action: action,
                status: columns.status,
                object_type,
                source_id: columns.source_id,
                source_display_name,
                target_id: columns.target_id,
                skip_reason: skip_reason.map(|r| crate::logblock::skip_reason(&r)).transpose()?,
                error_code,
                error_message,
                modified_properties: modified
                    .into_iter()
                    .map(|(display_name, old_value, new_value)| ModifiedProperty { display_name: display_name.into(), old_value, new_value, new_in_copy: None })
                    .collect(),
                steps: steps
                    .into_iter()
                    .map(|(name, _type, status, description, details)| {
                        Ok(ProvisioningStep { kind: crate::logblock::step_kind(&name)?, status, description, details })
                    })
                    .collect::<Result<_, StoreError>>()?,
                step_facts: None,
                duration_in_milliseconds: duration,
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
                ModifiedProperty { display_name: "displayName".into(), old_value: None, new_value: Some("Adele".into()), new_in_copy: None },
                ModifiedProperty { display_name: "city".into(), old_value: Some("Paris".into()), new_value: None, new_in_copy: None },
            ],
            steps: vec![ProvisioningStep {
                kind: tenantsync_domain::StepKind::EntryImport,
                status: ProvisioningStatus::Success,
                description: "Retrieved".into(),
                details: serde_json::Map::from_iter([("k".to_owned(), serde_json::json!(1))]),
            }],
            step_facts: None,
            duration_in_milliseconds: 3,
            op_index: None,
        }
    }

    fn roundtrip(log: &ProvisioningLog) -> ProvisioningLog {
        let bytes = encode(log).unwrap();
        let columns = Columns { config_id: log.config_id, status: log.status, source_id: log.source_id, target_id: log.target_id };
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
            .map(|i| ModifiedProperty {
                display_name: format!("attribute{i}").into(),
                old_value: None,
                new_value: Some(format!("value {i}")),
                new_in_copy: None,
            })
            .collect();
        let json = serde_json::to_vec(&log).unwrap();
        let packed = encode(&log).unwrap();
        assert!(packed.len() * 2 < json.len(), "{} vs {}", packed.len(), json.len());
    }

    /// A created user's record as the engine writes it.
    fn create_record() -> ProvisioningLog {
        let mut log = sample(None);
        log.provisioning_action = ProvisioningAction::Create;
        log.status = ProvisioningStatus::Success;
        (log.error_code, log.error_message) = (None, None);
        let anchor = "01a2095d-93d4-772a-87d4-aceb31bcc23e:01a2095d-d089-7056-86d1-cce2570b6418";
        let values = [
            ("userPrincipalName", "zoe.dijkstra99_contoso.example#EXT#@test.contoso.example"),
            ("anchor", anchor),
            ("accountEnabled", "true"),
            ("displayName", "Zoë Dijkstra"),
            ("givenName", "Zoë"),
            ("surname", "Dijkstra"),
            ("mail", "zoe.dijkstra99@contoso.example"),
            ("mailNickname", "zoe.dijkstra99"),
            ("department", "Finance"),
            ("jobTitle", "Associate"),
            ("companyName", "Contoso"),
            ("employeeId", "E0000099"),
            ("officeLocation", "Toronto 1"),
            ("city", "Toronto"),
            ("state", "ON"),
            ("country", "Canada"),
            ("preferredLanguage", "de-DE"),
            ("telephoneNumber", "+1 555 7578"),
            ("usageLocation", "CA"),
            ("userType", "Member"),
        ];
        log.modified_properties = values
            .iter()
            .map(|(n, v)| ModifiedProperty { display_name: (*n).into(), old_value: None, new_value: Some((*v).into()), new_in_copy: None })
            .collect();
        use tenantsync_domain::StepKind;
        let step = |kind: StepKind, description: String| ProvisioningStep::new(kind, ProvisioningStatus::Success, description);
        log.steps = vec![
            step(StepKind::EntryImport, "Retrieved user 'zoe.dijkstra99@contoso.example' from the source tenant".into()),
            step(StepKind::EntrySynchronizationScoping, "in scope".into()),
            step(StepKind::EntrySynchronizationMatching, format!("No target user carries anchor {anchor}")),
            step(StepKind::EntryExport, "Create".into()),
        ];
        log
    }

    #[test]
    fn a_created_users_record_packs_to_a_fifth_of_its_json() {
        let log = create_record();
        assert_eq!(roundtrip(&log), log);
        let json = serde_json::to_vec(&log).unwrap();
        let packed = encode(&log).unwrap();
        assert!(packed.len() * 5 < json.len(), "{} vs {}", packed.len(), json.len());
    }

    #[test]
    fn records_of_the_first_packed_form_still_read() {
        let log = create_record();
        let Record(id, cycle_id, change, action, at, source_display_name, skip_reason, error_code, error_message, modified, steps, duration, object_type) =
            record(&log);
        let v1 = Packed {
            version: PACKED_V1,
            id,
            cycle_id,
            change,
            action,
            at,
            source_display_name,
            skip_reason,
            error_code,
            error_message,
            modified,
            steps,
            duration_in_milliseconds: duration,
            object_type,
        };
        let bytes = lz4_flex::block::compress_prepend_size(&serde_json::to_vec(&v1).unwrap());
        let columns = Columns { config_id: log.config_id, status: log.status, source_id: log.source_id, target_id: log.target_id };
        assert_eq!(decode(rusqlite::types::ValueRef::Blob(&bytes), columns).unwrap(), log);
    }

    #[test]
    fn older_json_rows_still_read() {
        let log = sample(None);
        let json = serde_json::to_string(&log).unwrap();
        let columns = Columns { config_id: log.config_id, status: log.status, source_id: log.source_id, target_id: log.target_id };
        assert_eq!(decode(rusqlite::types::ValueRef::Text(json.as_bytes()), columns).unwrap(), log);
    }

    #[test]
    fn garbage_is_an_internal_error_not_a_panic() {
        let columns = Columns { config_id: SyncConfigId::new(), status: ProvisioningStatus::Success, source_id: ObjectId::new(), target_id: None };
        assert!(matches!(decode(rusqlite::types::ValueRef::Blob(&[1, 2, 3]), columns), Err(StoreError::Internal { .. })));
    }
}
