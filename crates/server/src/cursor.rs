//! Cursors of cursor-based pagination (RFC 9865): opaque to clients, base64url of a
//! position in the query's order (the store's keyset: sort key value and id), which way
//! to go from it, and a fingerprint of the query (filter and sort) the cursor belongs to,
//! so a cursor handed to another query is refused instead of silently skipping objects.
//!
//! A cursor holds no server state, so it never expires; an object deleted or changed
//! after a page was served does not invalidate the cursors around it (the next page starts
//! after the position, wherever that now falls).
use crate::error::ScimError;
use tenantsync_domain::ObjectId;
use tenantsync_store::{KeyValue, Keyset, Seek};

const AFTER: u8 = b'a';
const BEFORE: u8 = b'b';
/// Longest cursor accepted (a position holds at most one attribute value).
const MAX_LEN: usize = 4096;

pub fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidCursor", "invalid_cursor", detail)
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
    base64url(&b)
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
    let b = unbase64url(cursor).ok_or_else(bad)?;
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

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 4648 §5).
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            let six = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(ALPHABET.get(six as usize).copied().unwrap_or(b'A')));
        }
    }
    out
}

fn unbase64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    // Leftover bits must be zero padding of the last byte (at most 4 of them).
    if bits >= 6 || acc & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips() {
        for n in 0..40 {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let s = base64url(&bytes);
            assert!(s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
            assert_eq!(unbase64url(&s).unwrap(), bytes);
        }
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert!(unbase64url("Zm9=").is_none());
        assert_eq!(unbase64url("Zm8").unwrap(), b"fo");
        assert!(unbase64url("Zm9").is_none(), "non-zero padding bits");
        assert!(unbase64url("Z").is_none(), "six bits make no byte");
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
