//! Reading a block back ([`decode`]): the inverse of the encoder in `logblock.rs`, for
//! both versions.
use super::{ANCHOR_OF_SOURCE, BLOCK_RECORDS, BLOCK_V1, BLOCK_V2, action_of, code_name, corrupt, status_of};
use jiff::Timestamp;
use tenantsync_domain::{ObjectId, ObjectKind, SkipReason, StepKind, SyncConfigId, TenantId};
use tenantsync_store::{ModifiedProperty, ProvisioningLog, ProvisioningStep, StepFacts, StoreError};

/// The text [`ANCHOR_OF_SOURCE`] stands for.
fn anchor_text(tenant: [u8; 16], source: ObjectId) -> String {
    tenantsync_domain::Anchor::new(TenantId::from_bytes(tenant), source).text()
}

/// A cursor over a block's uncompressed bytes.
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

    /// What [`Writer::opt_id`] wrote.
    fn opt_id(&mut self) -> Result<Option<ObjectId>, StoreError> {
        match self.u8()? {
            0 => Ok(None),
            _ => self.id().map(|b| Some(ObjectId::from_bytes(b))),
        }
    }

    /// The step facts that end a version-2 record.
    fn facts(&mut self) -> Result<Option<StepFacts>, StoreError> {
        let found = match self.u8()? {
            0 => return Ok(None),
            1 => false,
            2 => true,
            _ => return Err(corrupt("unknown step facts")),
        };
        let source_tenant = TenantId::from_bytes(self.id()?);
        let matched = self.opt_id()?;
        let scope_detail = self.str()?.into();
        let export = self.str()?.into();
        let export_status = status_of(self.u8()?)?;
        Ok(Some(StepFacts { found, source_tenant, matched, scope_detail, export, export_status }))
    }

    /// Reads one record; `previous` is the one before it in the block.
    fn record(&mut self, config_id: SyncConfigId, version: u8, previous: Option<&ProvisioningLog>) -> Result<ProvisioningLog, StoreError> {
        let id = match self.u8()? {
            0 => uuid::Uuid::from_bytes(self.id()?).to_string(),
            _ => self.str()?,
        };
        let cycle_id = match version {
            BLOCK_V1 => self.str()?,
            _ => match self.u8()? {
                0 => previous.map(|p| p.cycle_id.clone()).ok_or_else(|| corrupt("no cycle id"))?,
                _ => self.str()?,
            },
        };
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
        let target_id = self.opt_id()?;
        let source_display_name = self.str()?;
        let skip_reason = self.opt()?.map(|r| skip_reason(&r)).transpose()?;
        let error_code = self.opt()?;
        let error_message = self.opt()?;
        let n = self.len()?;
        let mut modified_properties = Vec::with_capacity(n.min(256));
        for _ in 0..n {
            let display_name = match version {
                BLOCK_V1 => self.str()?.into(),
                _ => match self.u8()? {
                    0 => self.str()?.into(),
                    ANCHOR_OF_SOURCE => {
                        let anchor = anchor_text(self.id()?, source_id);
                        modified_properties.push(ModifiedProperty {
                            display_name: "anchor".into(),
                            old_value: None,
                            new_value: Some(anchor),
                            new_in_copy: None,
                        });
                        continue;
                    }
                    code => code_name(code)?.into(),
                },
            };
            modified_properties.push(ModifiedProperty { display_name, old_value: self.opt()?, new_value: self.opt()?, new_in_copy: None });
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
        let step_facts = if version == BLOCK_V2 { self.facts()? } else { None };
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
            step_facts,
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
    let mut records = decode_stored(body, config_id)?;
    for log in &mut records {
        log.expand_steps();
    }
    Ok(records)
}

/// [`decode`], each record as it was packed: its steps still [`tenantsync_store::StepFacts`]
/// when it was packed with them (packing it again gives the same bytes).
pub(crate) fn decode_stored(body: &[u8], config_id: SyncConfigId) -> Result<Vec<ProvisioningLog>, StoreError> {
    let (version, packed) = match body.split_first() {
        Some((&v, packed)) if v == BLOCK_V1 || v == BLOCK_V2 => (v, packed),
        _ => return Err(corrupt("unknown version")),
    };
    let bytes = lz4_flex::block::decompress_size_prepended(packed).map_err(|e| corrupt(&e.to_string()))?;
    let mut r = Reader { bytes: &bytes };
    let n = r.len()?;
    let mut out = Vec::with_capacity(n.min(BLOCK_RECORDS));
    for _ in 0..n {
        let log = r.record(config_id, version, out.last())?;
        out.push(log);
    }
    if !r.bytes.is_empty() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(out)
}
