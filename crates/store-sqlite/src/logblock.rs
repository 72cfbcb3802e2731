//! The stored form of provisioning logs since schema version 8: **blocks** of records.
//!
//! A sync cycle writes one record per object, so records are the bulk of its writes. They
//! are stored [`BLOCK_RECORDS`] at a time: one row of `provisioning_log_blocks` per block
//! (configuration, first and last time, the statuses it holds, the count, the body) and
//! one narrow row of `provisioning_log_objects` per object it names, source or target.
//! A block is one B-tree entry where per-record rows cost three (the row and two
//! indexes), and it compresses far better than a record alone (the names, steps and
//! phrases every record repeats compress against each other).
//!
//! The body is [`BLOCK_V2`] (or, written before, [`BLOCK_V1`]) followed by an LZ4 block
//! (size prepended) of: the record count, then each record's fields in a fixed order, in
//! a plain binary form — integers as LEB128 varints, strings as a varint length and UTF-8
//! bytes, an optional string as 0 (none) or its length + 1, ids as 16 raw bytes. The
//! configuration is the block's column, not repeated per record. Version 2 writes less
//! per record: its cycle id only when it differs from the record before (0, or 1 and the
//! id), a modified property's name as a one-byte code when it is an attribute's (see
//! [`name_code`]; the anchor a create's record names, of its own source, as
//! [`ANCHOR_OF_SOURCE`] and the source tenant's id), and it ends with the step facts (0,
//! or the facts): a cycle's record
//! keeps the four usual steps as those few facts, and their text is made when the
//! record is read. Blocks are packed by the caller, off the writer
//! thread (see `session.rs`); the writer repacks only a block one of whose writes it
//! refused. This file writes blocks; `logblock/read.rs` reads them back.
use tenantsync_domain::{GroupAttribute, ObjectId, ObjectKind, SkipReason, UserAttribute};
use tenantsync_store::{InCopy, ModifiedProperty, ProvisioningAction, ProvisioningLog, ProvisioningStatus, StoreError, WriteOp};

mod read;
pub use read::decode;
pub(crate) use read::decode_stored;
pub(crate) use read::{skip_reason, step_kind};

/// Records per block at most: small enough that the newest page of a query decodes one
/// block, large enough that a block compresses well.
pub const BLOCK_RECORDS: usize = 256;

/// The first byte of a version-1 block body.
const BLOCK_V1: u8 = 0xB1;
/// The first byte of a version-2 block body: each record ends with its step facts
/// (see [`StepFacts`]), after its duration.
const BLOCK_V2: u8 = 0xB2;

fn corrupt(what: &str) -> StoreError {
    StoreError::Internal { message: format!("provisioning log block: {what}") }
}

/// The bit of a status in a block's `statuses` column.
pub fn status_bit(s: ProvisioningStatus) -> i64 {
    1 << status_code(s)
}

fn status_code(s: ProvisioningStatus) -> u8 {
    match s {
        ProvisioningStatus::Success => 0,
        ProvisioningStatus::Failure => 1,
        ProvisioningStatus::Skipped => 2,
        ProvisioningStatus::Warning => 3,
    }
}

fn status_of(code: u8) -> Result<ProvisioningStatus, StoreError> {
    Ok(match code {
        0 => ProvisioningStatus::Success,
        1 => ProvisioningStatus::Failure,
        2 => ProvisioningStatus::Skipped,
        3 => ProvisioningStatus::Warning,
        _ => return Err(corrupt("unknown status")),
    })
}

fn action_code(a: ProvisioningAction) -> u8 {
    match a {
        ProvisioningAction::Create => 0,
        ProvisioningAction::Update => 1,
        ProvisioningAction::Delete => 2,
        ProvisioningAction::StagedDelete => 3,
        ProvisioningAction::Disable => 4,
        ProvisioningAction::Other => 5,
    }
}

fn action_of(code: u8) -> Result<ProvisioningAction, StoreError> {
    Ok(match code {
        0 => ProvisioningAction::Create,
        1 => ProvisioningAction::Update,
        2 => ProvisioningAction::Delete,
        3 => ProvisioningAction::StagedDelete,
        4 => ProvisioningAction::Disable,
        5 => ProvisioningAction::Other,
        _ => return Err(corrupt("unknown action")),
    })
}

/// The columns a block is stored with besides its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub first_ms: i64,
    pub last_ms: i64,
    pub statuses: i64,
    pub count: i64,
}

/// The summary columns of a block of `records` (not empty).
pub fn summary(records: &[ProvisioningLog]) -> Summary {
    let mut s = Summary { first_ms: i64::MAX, last_ms: i64::MIN, statuses: 0, count: records.len() as i64 };
    for r in records {
        let ms = r.activity_date_time.as_millisecond();
        s.first_ms = s.first_ms.min(ms);
        s.last_ms = s.last_ms.max(ms);
        s.statuses |= status_bit(r.status);
    }
    s
}

struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn opt(&mut self, s: Option<&str>) {
        match s {
            None => self.varint(0),
            Some(s) => {
                self.varint(s.len() as u64 + 1);
                self.0.extend_from_slice(s.as_bytes());
            }
        }
    }

    fn id(&mut self, id: &[u8; 16]) {
        self.0.extend_from_slice(id);
    }

    /// 0, or 1 and the id.
    fn opt_id(&mut self, id: Option<ObjectId>) {
        match id {
            Some(id) => {
                self.0.push(1);
                self.id(id.as_bytes());
            }
            None => self.0.push(0),
        }
    }
}

/// The number `n` of a change id `<cycleId>-<n>` (as the engine makes them), if it has
/// exactly that shape.
fn change_number(cycle_id: &str, change_id: &str) -> Option<u64> {
    let rest = change_id.strip_prefix(cycle_id)?.strip_prefix('-')?;
    let canonical = !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) && (rest == "0" || !rest.starts_with('0'));
    if canonical { rest.parse().ok() } else { None }
}

/// The 16 bytes of a record id that is a UUID in its lowercase hyphenated form (as the
/// engine makes them), so that it reads back as the same text.
fn uuid_bytes(id: &str) -> Option<[u8; 16]> {
    // Of the forms a UUID parses from, only the hyphenated one has 36 characters; without
    // an uppercase letter it is the lowercase form.
    if id.len() != uuid::fmt::Hyphenated::LENGTH || id.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    uuid::Uuid::try_parse(id).ok().map(|u| *u.as_bytes())
}

/// The code of a modified property's name in a version-2 block: 1 + the index of a
/// user attribute, [`GROUP_NAMES`] + the index of a group attribute, or 0 when the name
/// follows as text (an extension attribute, a name of no attribute).
fn name_code(name: &str) -> u8 {
    match (UserAttribute::exact(name), GroupAttribute::exact(name)) {
        (Some(a), _) => 1 + a.index() as u8,
        (None, Some(a)) => GROUP_NAMES + a.index() as u8,
        (None, None) => 0,
    }
}

/// The first code of a group attribute's name (see [`name_code`]).
const GROUP_NAMES: u8 = 128;

/// The code of the `anchor` property a create's record carries, `{source tenant}:{source
/// id}` with no old value: only the tenant's 16 bytes follow (the id is the record's).
/// The anchor's text was a seventh of a create's record before packing.
const ANCHOR_OF_SOURCE: u8 = 127;

/// The source tenant of `m` when it is the anchor property of a record of `source`, in the
/// form [`ANCHOR_OF_SOURCE`] gives back exactly. `last` is the tenant the block's
/// previous anchor named (its text and bytes): a cycle's records name one.
fn anchor_of_source<'a>(m: &'a ModifiedProperty, source: ObjectId, last: &mut Option<(&'a str, [u8; 16])>) -> Option<[u8; 16]> {
    if m.display_name != "anchor" || m.old_value.is_some() {
        return None;
    }
    let (tenant, object) = m.new_value.as_deref()?.split_once(':')?;
    let mut own = [0u8; uuid::fmt::Hyphenated::LENGTH];
    if object.as_bytes() != source.as_uuid().hyphenated().encode_lower(&mut own).as_bytes() {
        return None;
    }
    match *last {
        Some((text, bytes)) if text == tenant => Some(bytes),
        _ => {
            let bytes = uuid_bytes(tenant)?;
            *last = Some((tenant, bytes));
            Some(bytes)
        }
    }
}

/// The name of a code [`name_code`] gave (not 0: an error, as for any other unknown code).
fn code_name(code: u8) -> Result<&'static str, StoreError> {
    let found = if code >= GROUP_NAMES {
        GroupAttribute::ALL.get(usize::from(code - GROUP_NAMES)).map(|a| a.name())
    } else {
        usize::from(code).checked_sub(1).and_then(|i| UserAttribute::ALL.get(i)).map(|a| a.name())
    };
    found.ok_or_else(|| corrupt("unknown attribute code"))
}

/// Packs one record; `previous` is the cycle id of the record before it in the block (a
/// cycle's records share theirs: it is written once).
/// `ops` are the writes of the record's commit, where a create's record may leave its
/// new values ([`ModifiedProperty::new_in_copy`]).
fn record<'a>(
    w: &mut Writer,
    r: &'a ProvisioningLog,
    ops: &[WriteOp],
    previous: Option<&str>,
    tenant: &mut Option<(&'a str, [u8; 16])>,
) -> Result<(), StoreError> {
    match uuid_bytes(&r.id) {
        Some(b) => {
            w.0.push(0);
            w.id(&b);
        }
        None => {
            w.0.push(1);
            w.str(&r.id);
        }
    }
    if previous == Some(r.cycle_id.as_str()) {
        w.0.push(0);
    } else {
        w.0.push(1);
        w.str(&r.cycle_id);
    }
    match change_number(&r.cycle_id, &r.change_id) {
        Some(n) => {
            w.0.push(0);
            w.varint(n);
        }
        None => {
            w.0.push(1);
            w.str(&r.change_id);
        }
    }
    w.0.push(action_code(r.provisioning_action));
    w.0.push(status_code(r.status));
    w.0.push(match r.object_type {
        ObjectKind::User => 0,
        ObjectKind::Group => 1,
    });
    let at = r.activity_date_time;
    w.varint(at.as_second() as u64);
    w.varint(u64::from(at.subsec_nanosecond() as u32));
    w.id(r.source_id.as_bytes());
    w.opt_id(r.target_id);
    w.str(&r.source_display_name);
    w.opt(r.skip_reason.map(SkipReason::as_str));
    w.opt(r.error_code.as_deref());
    w.opt(r.error_message.as_deref());
    w.varint(r.modified_properties.len() as u64);
    let copy = r.copy_in(ops);
    for m in &r.modified_properties {
        match (m.new_in_copy, copy) {
            (Some(InCopy::Attribute(a)), Some(copy)) => {
                // As `name_code` codes the attribute's name; no old value.
                let Some(value) = copy.attrs.text_of(a) else {
                    return Err(StoreError::Internal { message: format!("the {a} of a record's copy is not in its write") });
                };
                w.0.push(1 + a.index() as u8);
                w.opt(None);
                w.opt(Some(&value));
                continue;
            }
            (Some(InCopy::Anchor), Some(copy)) => {
                let Some(anchor) = copy.anchor else {
                    return Err(StoreError::Internal { message: "the anchor of a record's copy is not in its write".into() });
                };
                if anchor.object == r.source_id {
                    w.0.push(ANCHOR_OF_SOURCE);
                    w.id(anchor.tenant.as_bytes());
                } else {
                    w.0.push(0);
                    w.str(&m.display_name);
                    w.opt(None);
                    w.opt(Some(&anchor.text()));
                }
                continue;
            }
            (Some(_), None) => return Err(StoreError::Internal { message: "a record's copy is not in its write".into() }),
            (None, _) => {}
        }
        if let Some(tenant) = anchor_of_source(m, r.source_id, tenant) {
            w.0.push(ANCHOR_OF_SOURCE);
            w.id(&tenant);
            continue;
        }
        match name_code(&m.display_name) {
            0 => {
                w.0.push(0);
                w.str(&m.display_name);
            }
            code => w.0.push(code),
        }
        w.opt(m.old_value.as_deref());
        w.opt(m.new_value.as_deref());
    }
    w.varint(r.steps.len() as u64);
    for s in &r.steps {
        w.str(s.kind.as_str());
        w.str(s.kind.step_type().as_str());
        w.0.push(status_code(s.status));
        w.str(&s.description);
        if s.details.is_empty() {
            w.opt(None);
        } else {
            let json = serde_json::to_string(&s.details).map_err(|e| corrupt(&e.to_string()))?;
            w.opt(Some(&json));
        }
    }
    w.varint(r.duration_in_milliseconds);
    match &r.step_facts {
        None => w.0.push(0),
        Some(f) => {
            w.0.push(if f.found { 2 } else { 1 });
            w.id(f.source_tenant.as_bytes());
            w.opt_id(f.matched);
            w.str(&f.scope_detail);
            w.str(&f.export);
            w.0.push(status_code(f.export_status));
        }
    }
    Ok(())
}

/// Packs records (at most [`BLOCK_RECORDS`], as the caller chunks them) into a block body.
pub fn encode(records: &[ProvisioningLog]) -> Result<Vec<u8>, StoreError> {
    encode_with(records, &[], &mut Scratch::default())
}

/// The buffers of [`encode_with`], kept from block to block: the uncompressed form and
/// LZ4's output (which must be initialized; zeroing a fresh one per block cost about as
/// much as a tenth of the compression).
#[derive(Default)]
struct Scratch {
    plain: Vec<u8>,
    packed: Vec<u8>,
}

/// [`encode`], with the buffers of `scratch`.
fn encode_with(records: &[ProvisioningLog], ops: &[WriteOp], scratch: &mut Scratch) -> Result<Vec<u8>, StoreError> {
    scratch.plain.clear();
    let mut w = Writer(std::mem::take(&mut scratch.plain));
    w.varint(records.len() as u64);
    let mut previous = None;
    let mut tenant = None;
    for r in records {
        record(&mut w, r, ops, previous, &mut tenant)?;
        previous = Some(r.cycle_id.as_str());
    }
    let plain = w.0;
    let size = u32::try_from(plain.len()).map_err(|_| corrupt("block too large"))?;
    let max = lz4_flex::block::get_maximum_output_size(plain.len());
    if scratch.packed.len() < max {
        scratch.packed.resize(max, 0);
    }
    let n = lz4_flex::block::compress_into(&plain, &mut scratch.packed).map_err(|e| corrupt(&e.to_string()))?;
    scratch.plain = plain;
    // The form `decompress_size_prepended` reads: the uncompressed size (u32, little
    // endian), then the LZ4 block.
    let packed = scratch.packed.get(..n).unwrap_or_default();
    let mut out = Vec::with_capacity(1 + 4 + packed.len());
    out.push(BLOCK_V2);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(packed);
    Ok(out)
}

/// Packs records into blocks of at most [`BLOCK_RECORDS`], in order; `ops` are the
/// writes of their commit (see [`record`]).
pub fn encode_all(records: &[ProvisioningLog], ops: &[WriteOp]) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut scratch = Scratch { plain: Vec::with_capacity(BLOCK_RECORDS.min(records.len()) * 1024), packed: Vec::new() };
    records.chunks(BLOCK_RECORDS).map(|chunk| encode_with(chunk, ops, &mut scratch)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use tenantsync_domain::{SyncConfigId, TenantId};
    use tenantsync_store::{ProvisioningStep, StepFacts};

    fn record(i: u64) -> ProvisioningLog {
        let cycle_id = "01a208c5-42f7-74f3-8ebd-f220236f7d3e".to_owned();
        ProvisioningLog {
            id: uuid::Uuid::now_v7().to_string(),
            config_id: SyncConfigId::new(),
            change_id: format!("{cycle_id}-{i}"),
            cycle_id,
            activity_date_time: Timestamp::from_nanosecond(1_790_000_000_123_456_789 + i128::from(i)).unwrap(),
            provisioning_action: ProvisioningAction::Create,
            status: ProvisioningStatus::Success,
            object_type: ObjectKind::User,
            source_id: ObjectId::new(),
            source_display_name: format!("user{i}@contoso.example"),
            target_id: Some(ObjectId::new()),
            skip_reason: None,
            error_code: None,
            error_message: None,
            modified_properties: vec![
                ModifiedProperty { display_name: "displayName".into(), old_value: None, new_value: Some(format!("User {i}")), new_in_copy: None },
                ModifiedProperty { display_name: "city".into(), old_value: Some("Paris".into()), new_value: None, new_in_copy: None },
            ],
            steps: vec![ProvisioningStep {
                kind: tenantsync_domain::StepKind::EntryImport,
                status: ProvisioningStatus::Success,
                description: format!("Retrieved user 'user{i}@contoso.example' from the source tenant"),
                details: serde_json::Map::new(),
            }],
            step_facts: None,
            duration_in_milliseconds: i,
            op_index: None,
        }
    }

    #[test]
    fn a_block_reads_back_unchanged() {
        let config = SyncConfigId::new();
        let mut records: Vec<_> = (0..40).map(|i| ProvisioningLog { config_id: config, ..record(i) }).collect();
        // Every optional and odd shape once.
        records[1].id = "not-a-uuid".into();
        records[2].id = records[2].id.to_uppercase();
        records[3].change_id = "ondemand-7".into();
        records[4].change_id = format!("{}-007", records[4].cycle_id);
        records[5].target_id = None;
        records[6].status = ProvisioningStatus::Failure;
        records[6].error_code = Some("upn_conflict".into());
        records[6].error_message = Some("taken — déjà".into());
        records[7].skip_reason = Some(tenantsync_domain::SkipReason::NotEffectivelyEntitled);
        records[7].provisioning_action = ProvisioningAction::Other;
        records[8].object_type = ObjectKind::Group;
        records[9].steps[0].details = serde_json::Map::from_iter([("k".to_owned(), serde_json::json!([1, "x"]))]);
        records[10].activity_date_time = Timestamp::from_nanosecond(-5_500_000_001).unwrap();
        records[11].modified_properties.clear();
        records[11].steps.clear();
        let block = encode(&records).unwrap();
        assert_eq!(decode(&block, config).unwrap(), records);
    }

    #[test]
    fn a_create_s_anchor_is_packed_as_its_tenant_and_reads_back_as_text() {
        let config = SyncConfigId::new();
        let tenant = TenantId::new();
        let mut records: Vec<_> = (0..6).map(|i| ProvisioningLog { config_id: config, ..record(i) }).collect();
        let anchor = |r: &ProvisioningLog| tenantsync_domain::Anchor::new(tenant, r.source_id).text();
        let prop = |new: String| ModifiedProperty { display_name: "anchor".into(), old_value: None, new_value: Some(new), new_in_copy: None };
        // Packed short: the anchor of the record's own source, as the engine writes it.
        let own = anchor(&records[0]);
        records[0].modified_properties.insert(0, prop(own.clone()));
        // Kept as text: another object's anchor, an uppercase one, one with an old value,
        // one that is no anchor at all.
        let other = anchor(&records[0]);
        records[1].modified_properties.push(prop(other));
        let upper = anchor(&records[2]).to_uppercase();
        records[2].modified_properties.push(prop(upper));
        let mut with_old = prop(anchor(&records[3]));
        with_old.old_value = Some("x".into());
        records[3].modified_properties.push(with_old);
        records[4].modified_properties.push(prop("no anchor".into()));
        // Another source tenant after the first: packed too.
        let elsewhere = tenantsync_domain::Anchor::new(TenantId::new(), records[5].source_id).text();
        records[5].modified_properties.push(prop(elsewhere.clone()));
        let block = encode(&records).unwrap();
        assert_eq!(decode(&block, config).unwrap(), records);
        let payload = lz4_flex::block::decompress_size_prepended(&block[1..]).unwrap();
        let times = |text: &str| payload.windows(text.len()).filter(|w| *w == text.as_bytes()).count();
        assert_eq!(times(&own), 1, "only record 1's, which names record 0's source as text");
        assert_eq!(times(&elsewhere), 0);
    }

    #[test]
    fn values_left_in_copies_are_packed_from_the_writes_and_read_back_as_text() {
        use tenantsync_domain::{Anchor, NewUser, Upn, UserAttribute};
        let config = SyncConfigId::new();
        let tenant = TenantId::new();
        let records: Vec<_> = (0..3).map(|i| ProvisioningLog { config_id: config, ..record(i) }).collect();
        let mut with_copies = records.clone();
        let mut ops = Vec::new();
        for (i, r) in with_copies.iter_mut().enumerate() {
            // Record 1's copy names another object: its anchor is kept as text.
            let object = if i == 1 { ObjectId::new() } else { r.source_id };
            let mut copy = NewUser::new(Upn::parse(&format!("copy{i}@fabrikam.example")).unwrap());
            copy.anchor = Some(Anchor::new(tenant, object));
            r.modified_properties.push(ModifiedProperty::in_copy(UserAttribute::UserPrincipalName));
            r.modified_properties.push(ModifiedProperty::anchor_in_copy());
            r.op_index = Some(ops.len());
            ops.push(WriteOp::CreateUser(Box::new(copy)));
        }
        let mut want = with_copies.clone();
        tenantsync_store::fill_values_from(&mut want, &ops);
        for w in &mut want {
            w.op_index = None;
        }
        assert_eq!(want[1].modified_properties[3].new_value.as_deref().map(|a| a.starts_with(&tenant.to_string())), Some(true));
        let blocks = encode_all(&with_copies, &ops).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(decode(&blocks[0], config).unwrap(), want);
        // Without its write, a record cannot be packed.
        assert!(encode_all(&with_copies, &[]).is_err());
    }

    #[test]
    fn step_facts_read_back_as_the_steps_they_tell() {
        let config = SyncConfigId::new();
        let source_tenant = TenantId::new();
        let mut records: Vec<_> = (0..4).map(|i| ProvisioningLog { config_id: config, steps: Vec::new(), ..record(i) }).collect();
        let facts = |found, matched, export: &'static str, status| StepFacts {
            found,
            source_tenant,
            matched,
            scope_detail: "in scope".into(),
            export: export.into(),
            export_status: status,
        };
        records[0].step_facts = Some(facts(true, None, "Create", ProvisioningStatus::Success));
        records[1].step_facts = Some(facts(true, Some(ObjectId::new()), "Update", ProvisioningStatus::Success));
        records[2].step_facts = Some(facts(false, Some(ObjectId::new()), "HardDelete", ProvisioningStatus::Failure));
        records[2].object_type = ObjectKind::Group;
        let block = encode(&records).unwrap();
        let back = decode(&block, config).unwrap();
        for (r, b) in records.iter().zip(&back) {
            let mut want = r.clone();
            want.expand_steps();
            assert!(want.step_facts.is_none());
            assert_eq!(*b, want);
        }
        assert_eq!(back[0].steps.len(), 4);
        assert_eq!(back[0].steps[0].description, "Retrieved user 'user0@contoso.example' from the source tenant");
        assert_eq!(
            back[0].steps[2].description,
            format!("No target user carries anchor {}", tenantsync_domain::Anchor::new(source_tenant, records[0].source_id))
        );
        assert_eq!(back[2].steps[0].description, format!("Group '{}' no longer exists in the source tenant", records[2].source_id));
        assert_eq!(back[2].steps[3].status, ProvisioningStatus::Failure);
        // Written as text, not as facts: read back as they were.
        assert!(back[3].steps.is_empty());
    }

    /// A record in the layout of version 1 (blocks written before version 2).
    fn v1_record(w: &mut Writer, r: &ProvisioningLog) {
        w.0.push(0);
        w.id(&uuid_bytes(&r.id).unwrap());
        w.str(&r.cycle_id);
        w.0.push(0);
        w.varint(change_number(&r.cycle_id, &r.change_id).unwrap());
        w.0.extend([action_code(r.provisioning_action), status_code(r.status), 0]);
        w.varint(r.activity_date_time.as_second() as u64);
        w.varint(u64::from(r.activity_date_time.subsec_nanosecond() as u32));
        w.id(r.source_id.as_bytes());
        w.0.push(1);
        w.id(r.target_id.unwrap().as_bytes());
        w.str(&r.source_display_name);
        w.opt(None);
        w.opt(None);
        w.opt(None);
        w.varint(r.modified_properties.len() as u64);
        for m in &r.modified_properties {
            w.str(&m.display_name);
            w.opt(m.old_value.as_deref());
            w.opt(m.new_value.as_deref());
        }
        w.varint(r.steps.len() as u64);
        for st in &r.steps {
            w.str(st.kind.as_str());
            w.str(st.kind.step_type().as_str());
            w.0.push(status_code(st.status));
            w.str(&st.description);
            w.opt(None);
        }
        w.varint(r.duration_in_milliseconds);
    }

    #[test]
    fn a_version_1_block_still_reads() {
        let config = SyncConfigId::new();
        let records: Vec<_> = (0..3).map(|i| ProvisioningLog { config_id: config, ..record(i) }).collect();
        let mut w = Writer(Vec::new());
        w.varint(records.len() as u64);
        for r in &records {
            v1_record(&mut w, r);
        }
        let mut v1 = vec![BLOCK_V1];
        v1.extend_from_slice(&lz4_flex::block::compress_prepend_size(&w.0));
        assert_eq!(decode(&v1, config).unwrap(), records);
    }

    #[test]
    fn version_2_writes_names_as_codes_and_a_shared_cycle_id_once() {
        let config = SyncConfigId::new();
        let mut records: Vec<_> = (0..6).map(|i| ProvisioningLog { config_id: config, ..record(i) }).collect();
        // Every kind of name: a user attribute, a group attribute, an extension, none.
        records[1].modified_properties[0].display_name = "description".into();
        records[2].modified_properties[0].display_name = "extension_0123456789abcdef0123456789abcdef_costCenter".into();
        records[3].modified_properties[0].display_name = "not an attribute".into();
        records[3].modified_properties[1].display_name = "mobilePhone".into();
        // Cycle ids that change inside the block.
        records[4].cycle_id = "ondemand".into();
        records[4].change_id = "ondemand-1".into();
        let block = encode(&records).unwrap();
        assert_eq!(decode(&block, config).unwrap(), records);
        for code in [0u8, 27, 127, 200] {
            assert!(code_name(code).is_err(), "{code}");
        }
        for name in UserAttribute::ALL.iter().map(|a| a.name()).chain(GroupAttribute::ALL.iter().map(|a| a.name())) {
            assert_ne!(name_code(name), 0, "{name}");
            assert_eq!(code_name(name_code(name)).unwrap(), name);
        }
        let payload = lz4_flex::block::decompress_size_prepended(&block[1..]).unwrap();
        let cycle = records[0].cycle_id.as_bytes();
        let times = payload.windows(cycle.len()).filter(|w| *w == cycle).count();
        assert_eq!(times, 2, "the first record's, and again after the on-demand one");
    }

    #[test]
    fn a_block_is_much_smaller_than_its_records_as_json() {
        let records: Vec<_> = (0..BLOCK_RECORDS as u64).map(record).collect();
        let json: usize = records.iter().map(|r| serde_json::to_vec(r).unwrap().len()).sum();
        let block = encode(&records).unwrap();
        assert!(block.len() * 4 < json, "{} vs {json}", block.len());
    }

    #[test]
    fn summary_spans_the_records() {
        let mut records: Vec<_> = (0..3).map(record).collect();
        records[1].status = ProvisioningStatus::Skipped;
        records[0].activity_date_time = Timestamp::from_millisecond(5_000).unwrap();
        let s = summary(&records);
        assert_eq!(s.first_ms, 5_000);
        assert_eq!(s.last_ms, records[2].activity_date_time.as_millisecond());
        assert_eq!(s.statuses, status_bit(ProvisioningStatus::Success) | status_bit(ProvisioningStatus::Skipped));
        assert_eq!(s.count, 3);
    }

    #[test]
    fn garbage_is_an_internal_error_not_a_panic() {
        let config = SyncConfigId::new();
        for bad in [&[][..], &[1, 2, 3], &[BLOCK_V1], &[BLOCK_V1, 9, 0, 0, 0, 1, 2]] {
            assert!(matches!(decode(bad, config), Err(StoreError::Internal { .. })), "{bad:?}");
        }
        // A valid block cut short.
        let block = encode(&[record(1)]).unwrap();
        let payload = lz4_flex::block::decompress_size_prepended(&block[1..]).unwrap();
        let mut cut = vec![BLOCK_V2];
        cut.extend_from_slice(&lz4_flex::block::compress_prepend_size(&payload[..payload.len() - 3]));
        assert!(matches!(decode(&cut, config), Err(StoreError::Internal { .. })));
    }
}
