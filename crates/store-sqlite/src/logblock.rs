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
//! The body is [`BLOCK_V1`] followed by an LZ4 block (size prepended) of: the record
//! count, then each record's fields in a fixed order, in a plain binary form — integers
//! as LEB128 varints, strings as a varint length and UTF-8 bytes, an optional string as
//! 0 (none) or its length + 1, ids as 16 raw bytes. The configuration is the block's
//! column, not repeated per record. Blocks are packed by the caller, off the writer
//! thread (see `session.rs`); the writer repacks only a block one of whose writes it
//! refused.
use jiff::Timestamp;
use tenantsync_domain::{ObjectId, ObjectKind, SkipReason, StepKind, SyncConfigId};
use tenantsync_store::{ModifiedProperty, ProvisioningAction, ProvisioningLog, ProvisioningStatus, ProvisioningStep, StoreError};

/// Records per block at most: small enough that the newest page of a query decodes one
/// block, large enough that a block compresses well.
pub const BLOCK_RECORDS: usize = 256;

/// The first byte of a version-1 block body.
const BLOCK_V1: u8 = 0xB1;

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
    let u = uuid::Uuid::try_parse(id).ok()?;
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    (u.hyphenated().encode_lower(&mut buf).as_bytes() == id.as_bytes()).then(|| *u.as_bytes())
}

fn record(w: &mut Writer, r: &ProvisioningLog) -> Result<(), StoreError> {
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
    w.str(&r.cycle_id);
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
    match r.target_id {
        Some(t) => {
            w.0.push(1);
            w.id(t.as_bytes());
        }
        None => w.0.push(0),
    }
    w.str(&r.source_display_name);
    w.opt(r.skip_reason.map(SkipReason::as_str));
    w.opt(r.error_code.as_deref());
    w.opt(r.error_message.as_deref());
    w.varint(r.modified_properties.len() as u64);
    for m in &r.modified_properties {
        w.str(&m.display_name);
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
    Ok(())
}

/// Packs records (at most [`BLOCK_RECORDS`], as the caller chunks them) into a block body.
pub fn encode(records: &[ProvisioningLog]) -> Result<Vec<u8>, StoreError> {
    encode_with(records, &mut Vec::new())
}

/// [`encode`], with `scratch` for the uncompressed form (kept for the next block).
fn encode_with(records: &[ProvisioningLog], scratch: &mut Vec<u8>) -> Result<Vec<u8>, StoreError> {
    scratch.clear();
    let mut w = Writer(std::mem::take(scratch));
    w.varint(records.len() as u64);
    for r in records {
        record(&mut w, r)?;
    }
    let packed = lz4_flex::block::compress_prepend_size(&w.0);
    *scratch = w.0;
    let mut out = Vec::with_capacity(packed.len() + 1);
    out.push(BLOCK_V1);
    out.extend_from_slice(&packed);
    Ok(out)
}

/// Packs records into blocks of at most [`BLOCK_RECORDS`], in order.
pub fn encode_all(records: &[ProvisioningLog]) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut scratch = Vec::with_capacity(BLOCK_RECORDS.min(records.len()) * 1024);
    records.chunks(BLOCK_RECORDS).map(|chunk| encode_with(chunk, &mut scratch)).collect()
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, StoreError> {
        let (&b, rest) = self.bytes.split_first().ok_or_else(|| corrupt("truncated"))?;
        self.bytes = rest;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, StoreError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if n > self.bytes.len() {
            return Err(corrupt("truncated"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn text(&mut self, n: usize) -> Result<String, StoreError> {
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| corrupt("not UTF-8"))
    }

    fn len(&mut self) -> Result<usize, StoreError> {
        usize::try_from(self.varint()?).map_err(|_| corrupt("length out of range"))
    }

    fn str(&mut self) -> Result<String, StoreError> {
        let n = self.len()?;
        self.text(n)
    }

    fn opt(&mut self) -> Result<Option<String>, StoreError> {
        match self.len()? {
            0 => Ok(None),
            n => self.text(n - 1).map(Some),
        }
    }

    fn id(&mut self) -> Result<[u8; 16], StoreError> {
        let b = self.take(16)?;
        <[u8; 16]>::try_from(b).map_err(|_| corrupt("truncated"))
    }

    fn record(&mut self, config_id: SyncConfigId) -> Result<ProvisioningLog, StoreError> {
        let id = match self.u8()? {
            0 => uuid::Uuid::from_bytes(self.id()?).to_string(),
            _ => self.str()?,
        };
        let cycle_id = self.str()?;
        let change_id = match self.u8()? {
            0 => format!("{cycle_id}-{}", self.varint()?),
            _ => self.str()?,
        };
        let provisioning_action = action_of(self.u8()?)?;
        let status = status_of(self.u8()?)?;
        let object_type = match self.u8()? {
            0 => ObjectKind::User,
            1 => ObjectKind::Group,
            _ => return Err(corrupt("unknown object type")),
        };
        let seconds = self.varint()? as i64;
        // Stored as the bits of the (signed) nanoseconds.
        let nanos = u32::try_from(self.varint()?).map_err(|_| corrupt("nanoseconds out of range"))? as i32;
        let activity_date_time = Timestamp::new(seconds, nanos).map_err(|e| corrupt(&e.to_string()))?;
        let source_id = ObjectId::from_bytes(self.id()?);
        let target_id = match self.u8()? {
            0 => None,
            _ => Some(ObjectId::from_bytes(self.id()?)),
        };
        let source_display_name = self.str()?;
        let skip_reason = self.opt()?.map(|r| skip_reason(&r)).transpose()?;
        let error_code = self.opt()?;
        let error_message = self.opt()?;
        let n = self.len()?;
        let mut modified_properties = Vec::with_capacity(n.min(256));
        for _ in 0..n {
            modified_properties.push(ModifiedProperty { display_name: self.str()?.into(), old_value: self.opt()?, new_value: self.opt()? });
        }
        let n = self.len()?;
        let mut steps = Vec::with_capacity(n.min(16));
        for _ in 0..n {
            let kind = step_kind(&self.str()?)?;
            let _type = self.str()?; // given by the kind
            let status = status_of(self.u8()?)?;
            let description = self.str()?;
            let details = match self.opt()? {
                None => serde_json::Map::new(),
                Some(json) => serde_json::from_str(&json).map_err(|e| corrupt(&e.to_string()))?,
            };
            steps.push(ProvisioningStep { kind, status, description, details });
        }
        let duration_in_milliseconds = self.varint()?;
        Ok(ProvisioningLog {
            id,
            config_id,
            cycle_id,
            change_id,
            activity_date_time,
            provisioning_action,
            status,
            object_type,
            source_id,
            source_display_name,
            target_id,
            skip_reason,
            error_code,
            error_message,
            modified_properties,
            steps,
            duration_in_milliseconds,
            op_index: None,
        })
    }
}

/// A stored skip reason.
pub(crate) fn skip_reason(text: &str) -> Result<SkipReason, StoreError> {
    SkipReason::parse(text).ok_or_else(|| corrupt(&format!("unknown skip reason '{text}'")))
}

/// A stored step name.
pub(crate) fn step_kind(text: &str) -> Result<StepKind, StoreError> {
    StepKind::parse(text).ok_or_else(|| corrupt(&format!("unknown step '{text}'")))
}

/// Reads a block's records back, oldest first.
pub fn decode(body: &[u8], config_id: SyncConfigId) -> Result<Vec<ProvisioningLog>, StoreError> {
    let Some((&BLOCK_V1, packed)) = body.split_first() else {
        return Err(corrupt("unknown version"));
    };
    let bytes = lz4_flex::block::decompress_size_prepended(packed).map_err(|e| corrupt(&e.to_string()))?;
    let mut r = Reader { bytes: &bytes };
    let n = r.len()?;
    let mut out = Vec::with_capacity(n.min(BLOCK_RECORDS));
    for _ in 0..n {
        out.push(r.record(config_id)?);
    }
    if !r.bytes.is_empty() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                ModifiedProperty { display_name: "displayName".into(), old_value: None, new_value: Some(format!("User {i}")) },
                ModifiedProperty { display_name: "city".into(), old_value: Some("Paris".into()), new_value: None },
            ],
            steps: vec![ProvisioningStep {
                kind: tenantsync_domain::StepKind::EntryImport,
                status: ProvisioningStatus::Success,
                description: format!("Retrieved user 'user{i}@contoso.example' from the source tenant"),
                details: serde_json::Map::new(),
            }],
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
        let mut cut = vec![BLOCK_V1];
        cut.extend_from_slice(&lz4_flex::block::compress_prepend_size(&payload[..payload.len() - 3]));
        assert!(matches!(decode(&cut, config), Err(StoreError::Internal { .. })));
    }
}
