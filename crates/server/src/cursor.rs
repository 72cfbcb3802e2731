//! Cursors of cursor-based pagination (RFC 9865): opaque to clients, base64url of a
//! position in the query's order (the store's keyset: sort key value and id), which way
//! to go from it, and a fingerprint of the query (filter and sort) the cursor belongs to,
//! so a cursor handed to another query is refused instead of silently skipping objects.
//!
//! A cursor holds no server state, so it never expires; an object deleted or changed
//! after a page was served does not invalidate the cursors around it (the next page starts
//! after the position, wherever that now falls).
use crate::error::ScimError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tenantsync_domain::ObjectId;
use tenantsync_store::{KeyValue, Keyset, Seek};

const AFTER: u8 = b'a';
const BEFORE: u8 = b'b';
/// Longest cursor accepted (a position holds at most one attribute value).
const MAX_LEN: usize = 4096;

pub fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::of(crate::error::ScimCode::InvalidCursor, detail)
}

/// A fingerprint of what a cursor pages through (FNV-1a, stable across processes).
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The cursor of a position.
pub fn encode(seek: &Seek, fp: u64) -> String {
    let (dir, k) = match seek {
        Seek::After(k) => (AFTER, Some(k)),
        Seek::Before(k) => (BEFORE, Some(k)),
        Seek::First => (AFTER, None),
    };
    let mut b = vec![dir];
    b.extend_from_slice(&fp.to_be_bytes());
    if let Some(k) = k {
        b.extend_from_slice(k.id.as_bytes());
        match &k.value {
            None => b.push(0),
            Some(KeyValue::Text(s)) => {
                b.push(1);
                b.extend_from_slice(s.as_bytes());
            }
            Some(KeyValue::Int(i)) => {
                b.push(2);
                b.extend_from_slice(&i.to_be_bytes());
            }
            Some(KeyValue::Bytes(x)) => {
                b.push(3);
                b.extend_from_slice(x);
            }
        }
    }
    URL_SAFE_NO_PAD.encode(b)
}

/// The position a cursor names; `""` is the start. Anything we did not issue for this
/// query is `invalidCursor`.
pub fn decode(cursor: &str, fp: u64) -> Result<Seek, ScimError> {
    let cursor = cursor.trim();
    if cursor.is_empty() {
        return Ok(Seek::First);
    }
    let bad = || invalid("the cursor is not one this server issued");
    if cursor.len() > MAX_LEN {
        return Err(bad());
    }
    // Strict: no padding, no stray bits after the last byte.
    let b = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let (&dir, rest) = b.split_first().ok_or_else(bad)?;
    let (fp_bytes, rest) = rest.split_at_checked(8).ok_or_else(bad)?;
    let got = u64::from_be_bytes(fp_bytes.try_into().map_err(|_| bad())?);
    if got != fp {
        return Err(invalid("the cursor belongs to a query with another filter or sort order"));
    }
    if rest.is_empty() && dir == AFTER {
        return Ok(Seek::First);
    }
    let (id, rest) = rest.split_at_checked(16).ok_or_else(bad)?;
    let id = ObjectId::from_bytes(id.try_into().map_err(|_| bad())?);
    let (&tag, payload) = rest.split_first().ok_or_else(bad)?;
    let value = match tag {
        0 if payload.is_empty() => None,
        1 => Some(KeyValue::Text(String::from_utf8(payload.to_vec()).map_err(|_| bad())?)),
        2 => Some(KeyValue::Int(i64::from_be_bytes(payload.try_into().map_err(|_| bad())?))),
        3 => Some(KeyValue::Bytes(payload.to_vec())),
        _ => return Err(bad()),
    };
    let k = Keyset { value, id };
    match dir {
        AFTER => Ok(Seek::After(k)),
        BEFORE => Ok(Seek::Before(k)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_strict_unpadded_base64url() {
        let fp = fingerprint(&["a"]);
        for value in [None, Some(KeyValue::Text("x".into())), Some(KeyValue::Text("xy".into())), Some(KeyValue::Bytes(vec![0xfb, 0xff]))] {
            let c = encode(&Seek::After(Keyset { value, id: ObjectId::new() }), fp);
            assert!(c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{c}");
            assert!(decode(&c, fp).is_ok());
            assert_eq!(decode(&format!("{c}="), fp).unwrap_err().scim_type, Some("invalidCursor"), "padding");
        }
        // 26 bytes: the last character carries two bits that must be zero, so it is one of
        // A E I M Q U Y c g k o s w 0 4 8; the character after it sets the lowest.
        let c = encode(&Seek::After(Keyset { value: None, id: ObjectId::new() }), fp);
        assert_eq!(c.len(), 35);
        let last = c.as_bytes()[34];
        assert!(b"AEIMQUYcgkosw048".contains(&last), "{c}");
        let mut bad = c[..34].to_owned();
        bad.push(char::from(last + 1));
        assert_eq!(decode(&bad, fp).unwrap_err().scim_type, Some("invalidCursor"), "stray bits");
    }

    #[test]
    fn cursors_round_trip_and_refuse_strangers() {
        let fp = fingerprint(&["userName sw \"a\"", "username", "ascending"]);
        let id = ObjectId::new();
        for value in [None, Some(KeyValue::Text("Ann ÿ".into())), Some(KeyValue::Int(-5)), Some(KeyValue::Bytes(vec![1, 2, 3]))] {
            for seek in [Seek::After(Keyset { value: value.clone(), id }), Seek::Before(Keyset { value: value.clone(), id })] {
                assert_eq!(decode(&encode(&seek, fp), fp).unwrap(), seek);
            }
        }
        assert_eq!(decode("", fp).unwrap(), Seek::First);
        assert_eq!(decode(&encode(&Seek::First, fp), fp).unwrap(), Seek::First);
        let c = encode(&Seek::After(Keyset { value: None, id }), fp);
        let e = decode(&c, fp ^ 1).unwrap_err();
        assert_eq!((e.status.as_u16(), e.scim_type), (400, Some("invalidCursor")));
        for bad in ["%%%", "AAAA", "YQ", &c[..c.len() - 3], &"A".repeat(5000)] {
            assert_eq!(decode(bad, fp).unwrap_err().scim_type, Some("invalidCursor"), "{bad}");
        }
    }
}
