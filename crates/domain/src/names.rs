//! Validated names: userPrincipalName, mail, domain names, extension attribute names.
use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// `Display`, `FromStr` and `Deserialize` for a validated string type with a
/// `parse(&str) -> Result<Self, DomainError>` and an `as_str()`: text only ever enters
/// through `parse`.
macro_rules! validated_text {
    ($($t:ident),+) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    )+};
}

validated_text!(DomainName, Upn, Mail, ExtensionName);

/// `parse`, `from_string` and `from_store` of a `local@domain` name type with a
/// `check(&str) -> Result<usize, &'static str>` (where its '@' is, or why it is not
/// one) and the error variant `$error`.
macro_rules! at_domain_name {
    ($($t:ident => $error:ident),+) => {$(
        impl $t {
            pub fn parse(s: &str) -> Result<Self, DomainError> {
                Self::from_string(s.to_owned())
            }

            /// `parse` of an owned string, kept (not copied) when it is in the stored form
            /// already (trimmed, domain in lowercase), as a name read back usually is.
            pub fn from_string(s: String) -> Result<Self, DomainError> {
                match Self::check(&s) {
                    Ok(at) => Ok(Self(with_lower_domain(s, at))),
                    Err(reason) => Err(DomainError::$error { value: s, reason }),
                }
            }

            /// A name read back from a store (which keeps only names `parse` made) or
            /// taken from a valid user (`UserAttributes::put_valid`): not checked again
            /// (a cycle reads every user of its source). A debug build still checks it.
            pub fn from_store(s: String) -> Self {
                debug_assert!(Self::check(&s).is_ok(), "{s}");
                Self(s)
            }
        }
    )+};
}

at_domain_name!(Upn => InvalidUpn, Mail => InvalidMail);

/// A DNS domain name such as `contoso.example`, stored lowercase.
/// At least two labels; labels of 1–63 characters `[a-z0-9-]` not starting or ending
/// with `-`; at most 253 characters in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DomainName(String);

impl DomainName {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let trimmed = s.trim();
        check_domain(trimmed).map_err(|reason| DomainError::InvalidDomain { value: s.to_owned(), reason })?;
        Ok(Self(trimmed.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why `s` (trimmed) is not a domain name, if it is not: checked in place, any case.
fn check_domain(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("it is empty");
    }
    if s.len() > 253 {
        return Err("it is longer than 253 characters");
    }
    let mut labels = 0;
    for label in s.split('.') {
        labels += 1;
        if label.is_empty() {
            return Err("it has an empty label");
        }
        if label.len() > 63 {
            return Err("a label is longer than 63 characters");
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err("only letters, digits, '-' and '.' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label starts or ends with '-'");
        }
    }
    if labels < 2 {
        return Err("it needs at least two labels, e.g. contoso.example");
    }
    Ok(())
}

/// `local@domain` with the domain in lowercase, made from `s` (its text trimmed, the
/// domain valid): `s` itself when it is that already (no copy), else a new string.
fn with_lower_domain(s: String, local: usize) -> String {
    let t = s.trim();
    let domain = &t[local + 1..];
    if t.len() == s.len() && !domain.bytes().any(|b| b.is_ascii_uppercase()) {
        return s;
    }
    let mut out = String::with_capacity(t.len());
    out.push_str(&t[..=local]);
    out.extend(domain.chars().map(|c| c.to_ascii_lowercase()));
    out
}

/// Characters Entra allows in the user name part of a UPN.
fn upn_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'\'' | b'.' | b'-' | b'_' | b'!' | b'#' | b'^' | b'~')
}

/// Longest local part accepted. Entra caps a member's local part at 64 characters, but a
/// B2B-style external UPN (`alice_fabrikam.example#EXT#`) embeds the source UPN, so we
/// allow up to 128.
pub const UPN_MAX_LOCAL: usize = 128;

/// A userPrincipalName: `local@domain`, ASCII, with Entra's user-name characters
/// (`A–Z a–z 0–9 ' . - _ ! # ^ ~`), no leading, trailing or doubled `.` in the local part,
/// and a valid domain. Case is kept as given; uniqueness and lookups ignore ASCII case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Upn(String);

impl Upn {
    /// Where the '@' of `s` (trimmed) is, or why it is not a userPrincipalName.
    fn check(s: &str) -> Result<usize, &'static str> {
        let s = s.trim();
        let at = s.rfind('@').ok_or("it has no '@'")?;
        let (local, domain) = (&s[..at], &s[at + 1..]);
        if local.is_empty() {
            return Err("the part before '@' is empty");
        }
        if local.len() > UPN_MAX_LOCAL {
            return Err("the part before '@' is longer than 128 characters");
        }
        if !local.bytes().all(upn_local_char) {
            return Err("the part before '@' may hold only letters, digits and ' . - _ ! # ^ ~");
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err("the part before '@' starts or ends with '.', or has '..'");
        }
        check_domain(domain).map_err(|_| "the part after '@' is not a valid domain name")?;
        Ok(at)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.parts().0
    }

    pub fn domain(&self) -> &str {
        self.parts().1
    }

    /// The local part and the domain, found with one search for the last '@'.
    fn parts(&self) -> (&str, &str) {
        self.0.rsplit_once('@').unwrap_or((self.0.as_str(), ""))
    }

    /// Whether [`Upn::external_in`] would succeed, without making the name (a dry run
    /// decides every copy but never writes one): the same error when it would not.
    pub fn check_external_in(&self, target: &DomainName) -> Result<(), DomainError> {
        // local + '_' + domain + "#EXT#".
        let (local, domain) = self.parts();
        let local = local.len() + 1 + domain.len() + "#EXT#".len();
        if local > UPN_MAX_LOCAL { self.external_in(target).map(drop) } else { Ok(()) }
    }

    /// The B2B-style UPN an external copy of this user gets in a target tenant:
    /// `<this UPN with '@' replaced by '_'>#EXT#@<target initial domain>`.
    ///
    /// Made directly rather than parsed (it is made for every user of every arrow): the
    /// parts are valid already, so the one rule the result can break is the local part's
    /// length, with the error [`Upn::parse`] gives.
    pub fn external_in(&self, target: &DomainName) -> Result<Upn, DomainError> {
        const EXT: &str = "#EXT#";
        let (local, domain) = self.parts();
        let mut s = String::with_capacity(local.len() + domain.len() + EXT.len() + target.as_str().len() + 2);
        s.push_str(local);
        s.push('_');
        s.push_str(domain);
        s.push_str(EXT);
        let too_long = s.len() > UPN_MAX_LOCAL;
        s.push('@');
        s.push_str(target.as_str());
        if too_long {
            return Err(DomainError::InvalidUpn { value: s, reason: "the part before '@' is longer than 128 characters" });
        }
        Ok(Upn(s))
    }
}

fn mail_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'/' | b'=' | b'?' | b'^' | b'_' | b'`' | b'{' | b'|' | b'}' | b'~' | b'-' | b'.'
        )
}

/// An e-mail address: ASCII `local@domain` with RFC 5322 dot-atom local part (at most 64
/// characters) and a valid domain; at most 254 characters. Internationalised addresses
/// are not accepted (Entra's `mail` is ASCII as well).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Mail(String);

impl Mail {
    /// Where the '@' of `s` (trimmed) is, or why it is not an address.
    fn check(s: &str) -> Result<usize, &'static str> {
        let s = s.trim();
        if s.len() > 254 {
            return Err("it is longer than 254 characters");
        }
        let at = s.rfind('@').ok_or("it has no '@'")?;
        let (local, domain) = (&s[..at], &s[at + 1..]);
        if local.is_empty() || local.len() > 64 {
            return Err("the part before '@' must have 1 to 64 characters");
        }
        if !local.bytes().all(mail_local_char) {
            return Err("the part before '@' has a character that is not allowed");
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err("the part before '@' starts or ends with '.', or has '..'");
        }
        check_domain(domain).map_err(|_| "the part after '@' is not a valid domain name")?;
        Ok(at)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address's text, given up without a copy.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The name of a directory extension attribute, in Entra's form
/// `extension_<application id without hyphens, 32 hex digits>_<name>`, where `<name>`
/// starts with a letter and holds letters, digits and `_`; at most 120 characters.
/// The hex part is stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ExtensionName(String);

impl ExtensionName {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::MalformedExtensionName { name: s.to_owned() };
        if s.len() > 120 {
            return Err(bad());
        }
        let rest = s.strip_prefix("extension_").ok_or_else(bad)?;
        let (app, name) = rest.split_at_checked(32).ok_or_else(bad)?;
        let name = name.strip_prefix('_').ok_or_else(bad)?;
        if !app.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut chars = name.bytes();
        match chars.next() {
            Some(b) if b.is_ascii_alphabetic() => {}
            _ => return Err(bad()),
        }
        if !chars.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(bad());
        }
        Ok(Self(format!("extension_{}_{name}", app.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `s` looks like an attempt at an extension name (starts with `extension_`).
    pub fn looks_like(s: &str) -> bool {
        s.len() >= 10 && s.get(..10).is_some_and(|p| p.eq_ignore_ascii_case("extension_"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The B2B form made directly is what parsing the formatted text gives, the
        /// refusal of a too long local part included.
        #[test]
        fn an_external_upn_is_the_parsed_b2b_form(local in "[A-Za-z0-9'_!#^~-]([A-Za-z0-9'._!#^~-]{0,120}[A-Za-z0-9'_!#^~-])?", domain in "[a-z0-9]{1,20}\\.[a-z]{2,8}", target in "[a-z0-9]{1,20}\\.[a-z]{2,8}") {
            prop_assume!(!local.contains(".."));
            let upn = Upn::parse(&format!("{local}@{domain}")).unwrap();
            let target = DomainName::parse(&target).unwrap();
            prop_assert_eq!(upn.external_in(&target), Upn::parse(&format!("{}_{}#EXT#@{}", upn.local_part(), upn.domain(), target)));
            prop_assert_eq!(upn.check_external_in(&target), upn.external_in(&target).map(drop));
        }
    }

    #[test]
    fn upn_accepts_entra_characters_and_rejects_others() {
        assert!(Upn::parse("alice@contoso.example").is_ok());
        assert!(Upn::parse("o'neil.x-y_z!#^~@contoso.example").is_ok());
        assert!(Upn::parse("alice_fabrikam.example#EXT#@contoso.example").is_ok());
        for bad in [
            "alice",
            "@contoso.example",
            "alice@",
            "al ice@contoso.example",
            "alice@contoso",
            ".alice@contoso.example",
            "alice.@contoso.example",
            "a..b@contoso.example",
            "älice@contoso.example",
            "alice@-contoso.example",
        ] {
            assert!(Upn::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn upn_error_names_value_and_reason() {
        let e = Upn::parse("bob").unwrap_err();
        assert_eq!(e.to_string(), "invalid userPrincipalName 'bob': it has no '@'");
        assert_eq!(e.code(), "invalid_upn");
    }

    #[test]
    fn external_upn_follows_b2b_form() {
        let upn = Upn::parse("Alice@Fabrikam.example").unwrap();
        let target = DomainName::parse("contoso.example").unwrap();
        assert_eq!(upn.external_in(&target).unwrap().as_str(), "Alice_fabrikam.example#EXT#@contoso.example");
    }

    #[test]
    fn mail_validation() {
        assert!(Mail::parse("first.last+tag@contoso.example").is_ok());
        assert!(Mail::parse("no-at-sign").is_err());
        assert!(Mail::parse("a@b").is_err());
        assert!(Mail::parse("a b@contoso.example").is_err());
        assert!(Mail::parse(&format!("{}@contoso.example", "x".repeat(65))).is_err());
    }

    #[test]
    fn domains_are_lowercased_and_checked() {
        assert_eq!(DomainName::parse("Contoso.Example").unwrap().as_str(), "contoso.example");
        assert!(DomainName::parse("contoso").is_err());
        assert!(DomainName::parse("contoso..example").is_err());
        assert!(DomainName::parse("con_toso.example").is_err());
    }

    #[test]
    fn extension_names() {
        let ok = ExtensionName::parse("extension_0123456789ABCDEF0123456789abcdef_costCenter").unwrap();
        assert_eq!(ok.as_str(), "extension_0123456789abcdef0123456789abcdef_costCenter");
        for bad in [
            "extension_123_costCenter",
            "extension_0123456789abcdef0123456789abcdef_",
            "extension_0123456789abcdef0123456789abcdef_9x",
            "extension_0123456789abcdef0123456789abcdefcostCenter",
            "ext_0123456789abcdef0123456789abcdef_x",
            "extension_0123456789abcdef0123456789abcdeg_x",
            "extension_0123456789abcdef0123456789abcdef_a-b",
        ] {
            assert!(ExtensionName::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in ".{0,300}") {
            let _ = Upn::parse(&s);
            let _ = Mail::parse(&s);
            let _ = DomainName::parse(&s);
            let _ = ExtensionName::parse(&s);
        }

        #[test]
        fn valid_upns_round_trip(local in "[a-z0-9][a-z0-9._-]{0,20}[a-z0-9]", domain in "[a-z]{1,10}\\.[a-z]{2,6}") {
            prop_assume!(!local.contains(".."));
            let upn = Upn::parse(&format!("{local}@{domain}")).unwrap();
            prop_assert_eq!(Upn::parse(upn.as_str()).unwrap(), upn);
        }
    }
}
