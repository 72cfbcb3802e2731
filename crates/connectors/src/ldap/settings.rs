//! An LDAP v3 directory's settings: where, as whom (the password sealed), under which
//! base DNs, with which object classes and attribute mapping, and how deprovisioning is
//! done there.
use crate::ConnectorError;
use crate::definition::Deprovision;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a user's LDAP attribute is made from. A closed set: each is one attribute of the
/// tenant's user, or one of the fallbacks the required attributes need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UserField {
    UserPrincipalName,
    /// The userPrincipalName's part before the `@`.
    UpnLocalPart,
    /// mailNickname, or the userPrincipalName's local part when it has none.
    MailNickname,
    /// displayName, or the userPrincipalName when it has none (`cn` is required).
    DisplayNameOrUpn,
    DisplayName,
    GivenName,
    /// surname, or else displayName, or else the UPN's local part (`sn` is required).
    SurnameOrName,
    Surname,
    Mail,
    JobTitle,
    Department,
    CompanyName,
    EmployeeId,
    OfficeLocation,
    StreetAddress,
    City,
    State,
    PostalCode,
    Country,
    PreferredLanguage,
    TelephoneNumber,
    MobilePhone,
    UserType,
    /// The object's id in its tenant.
    ObjectId,
}

impl UserField {
    pub const ALL: [UserField; 24] = [
        UserField::UserPrincipalName,
        UserField::UpnLocalPart,
        UserField::MailNickname,
        UserField::DisplayNameOrUpn,
        UserField::DisplayName,
        UserField::GivenName,
        UserField::SurnameOrName,
        UserField::Surname,
        UserField::Mail,
        UserField::JobTitle,
        UserField::Department,
        UserField::CompanyName,
        UserField::EmployeeId,
        UserField::OfficeLocation,
        UserField::StreetAddress,
        UserField::City,
        UserField::State,
        UserField::PostalCode,
        UserField::Country,
        UserField::PreferredLanguage,
        UserField::TelephoneNumber,
        UserField::MobilePhone,
        UserField::UserType,
        UserField::ObjectId,
    ];

    /// Its name, as in the stored definition and on the command line.
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }

    pub fn parse(s: &str) -> Option<UserField> {
        UserField::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// The attribute users are matched by before one is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum LdapMatching {
    /// The naming attribute (`uid` by default).
    #[default]
    Rdn,
    Mail,
}

impl LdapMatching {
    pub fn parse(s: &str) -> Option<LdapMatching> {
        match s {
            "rdn" | "uid" => Some(LdapMatching::Rdn),
            "mail" => Some(LdapMatching::Mail),
            _ => None,
        }
    }
}

/// What an LDAP import's incremental read asks the directory for: the entries changed
/// after the watermark, by an attribute every write stamps. A closed set, because each
/// orders (and is compared) its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum LdapWatermark {
    /// `entryCSN` where the directory keeps it (OpenLDAP), else `uSNChanged` (Active
    /// Directory), else `modifyTimestamp`: chosen from the users base entry when the
    /// import first reads.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// OpenLDAP's change sequence number: unique per change, ordered (CSNOrderingMatch),
    /// so a read asks for what is strictly newer and reads nothing twice.
    #[serde(rename = "entryCSN")]
    EntryCsn,
    /// Active Directory's update sequence number (an integer, per domain controller).
    #[serde(rename = "uSNChanged")]
    UsnChanged,
    /// The generic operational timestamp (RFC 4512), one second fine: a read asks for
    /// `>=` the watermark, so an entry changed in the same second is read again rather
    /// than missed.
    #[serde(rename = "modifyTimestamp")]
    ModifyTimestamp,
}

impl LdapWatermark {
    pub const ALL: [LdapWatermark; 4] = [LdapWatermark::Auto, LdapWatermark::EntryCsn, LdapWatermark::UsnChanged, LdapWatermark::ModifyTimestamp];

    /// Its name: the attribute's (or `auto`), as stored and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            LdapWatermark::Auto => "auto",
            LdapWatermark::EntryCsn => "entryCSN",
            LdapWatermark::UsnChanged => "uSNChanged",
            LdapWatermark::ModifyTimestamp => "modifyTimestamp",
        }
    }

    pub fn parse(s: &str) -> Option<LdapWatermark> {
        LdapWatermark::ALL.into_iter().find(|w| w.name().eq_ignore_ascii_case(s))
    }
}

/// The attributes the target computes itself and a mapping may not name.
pub const RESERVED: [&str; 4] = ["objectclass", "member", "manager", "dn"];

/// An LDAP v3 directory (OpenLDAP, 389-DS, Active Directory) as a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LdapSettings {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// StartTLS on an `ldap://` connection before binding.
    #[serde(default)]
    pub start_tls: bool,
    /// A PEM file of the certificate authorities the server's certificate must chain to
    /// (over `ldaps://` or StartTLS), instead of the system's roots: a directory's own CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    pub bind_dn: String,
    /// The bind password, sealed (see `secret.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_password: Option<String>,
    /// Where users are created.
    pub users_base: String,
    /// Where groups are created.
    pub groups_base: String,
    /// With `deprovision: disable`: where disabled and soft-deleted users are moved (and
    /// moved back from when restored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_base: Option<String>,
    #[serde(default = "default_user_classes")]
    pub user_classes: Vec<String>,
    #[serde(default = "default_group_classes")]
    pub group_classes: Vec<String>,
    /// The users' naming attribute (the RDN's).
    #[serde(default = "default_user_rdn")]
    pub user_rdn: String,
    /// The groups' naming attribute, made from the group's displayName.
    #[serde(default = "default_group_rdn")]
    pub group_rdn: String,
    /// LDAP attribute ← what it is made from. Must hold the naming attribute.
    #[serde(default = "default_attributes")]
    pub attributes: BTreeMap<String, UserField>,
    #[serde(default)]
    pub matching: LdapMatching,
    /// The operational attribute whose value is an entry's stable id (kept across
    /// renames): the link's external id.
    #[serde(default = "default_id_attribute")]
    pub id_attribute: String,
    /// The member a group without members holds (groupOfNames requires one): the empty DN
    /// by default.
    #[serde(default)]
    pub empty_member: String,
    #[serde(default = "default_deprovision")]
    pub deprovision: Deprovision,
    /// Operations in flight at once, on one connection.
    #[serde(default = "default_in_flight")]
    pub max_in_flight: u16,
    /// Every operation's timeout.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u32,
    /// As an import: what the incremental read asks for changes by.
    #[serde(default)]
    pub watermark: LdapWatermark,
}

fn default_user_classes() -> Vec<String> {
    ["inetOrgPerson", "organizationalPerson", "person", "top"].map(str::to_owned).to_vec()
}

fn default_group_classes() -> Vec<String> {
    ["groupOfNames", "top"].map(str::to_owned).to_vec()
}

fn default_user_rdn() -> String {
    "uid".into()
}

fn default_group_rdn() -> String {
    "cn".into()
}

fn default_id_attribute() -> String {
    "entryUUID".into()
}

fn default_deprovision() -> Deprovision {
    Deprovision::Delete
}

fn default_in_flight() -> u16 {
    8
}

fn default_timeout() -> u32 {
    30
}

/// The default mapping: inetOrgPerson's attributes from Entra's user attributes.
pub fn default_attributes() -> BTreeMap<String, UserField> {
    [
        ("uid", UserField::UpnLocalPart),
        ("cn", UserField::DisplayNameOrUpn),
        ("sn", UserField::SurnameOrName),
        ("displayName", UserField::DisplayName),
        ("givenName", UserField::GivenName),
        ("mail", UserField::Mail),
        ("title", UserField::JobTitle),
        ("departmentNumber", UserField::Department),
        ("o", UserField::CompanyName),
        ("employeeNumber", UserField::EmployeeId),
        ("employeeType", UserField::UserType),
        ("telephoneNumber", UserField::TelephoneNumber),
        ("mobile", UserField::MobilePhone),
        ("street", UserField::StreetAddress),
        ("l", UserField::City),
        ("st", UserField::State),
        ("postalCode", UserField::PostalCode),
        ("preferredLanguage", UserField::PreferredLanguage),
    ]
    .into_iter()
    .map(|(a, f)| (a.to_owned(), f))
    .collect()
}

/// A DN as given: non-empty, `attr=value` parts.
fn dn_ok(dn: &str) -> bool {
    !dn.trim().is_empty() && dn.split(',').all(|rdn| rdn.split_once('=').is_some_and(|(a, v)| !a.trim().is_empty() && !v.trim().is_empty()))
}

/// An attribute description: a letter, then letters, digits and hyphens.
fn attribute_ok(a: &str) -> bool {
    a.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl LdapSettings {
    pub fn new(url: &str, bind_dn: &str, users_base: &str, groups_base: &str) -> LdapSettings {
        LdapSettings {
            url: url.trim_end_matches('/').to_owned(),
            start_tls: false,
            ca_file: None,
            bind_dn: bind_dn.to_owned(),
            sealed_password: None,
            users_base: users_base.to_owned(),
            groups_base: groups_base.to_owned(),
            disabled_base: None,
            user_classes: default_user_classes(),
            group_classes: default_group_classes(),
            user_rdn: default_user_rdn(),
            group_rdn: default_group_rdn(),
            attributes: default_attributes(),
            matching: LdapMatching::default(),
            id_attribute: default_id_attribute(),
            empty_member: String::new(),
            deprovision: default_deprovision(),
            max_in_flight: default_in_flight(),
            timeout_secs: default_timeout(),
            watermark: LdapWatermark::default(),
        }
    }

    pub fn check(&self) -> Result<(), ConnectorError> {
        let bad = |reason: String| Err(ConnectorError::InvalidSettings { reason });
        match url::Url::parse(&self.url) {
            Ok(u) if u.scheme() == "ldap" || u.scheme() == "ldaps" => {
                if u.host_str().is_none_or(str::is_empty) {
                    return bad(format!("the LDAP URL '{}' has no host", self.url));
                }
                if self.start_tls && u.scheme() == "ldaps" {
                    return bad("StartTLS is for ldap:// URLs; ldaps:// is TLS from the start".into());
                }
            }
            Ok(u) => return bad(format!("the LDAP URL '{}' is not ldap:// or ldaps:// ({})", self.url, u.scheme())),
            Err(e) => return bad(format!("the LDAP URL '{}' does not parse: {e}", self.url)),
        }
        if self.ca_file.is_some() && !self.url.starts_with("ldaps:") && !self.start_tls {
            return bad("a CA file is for TLS: give an ldaps:// URL or StartTLS".into());
        }
        for (what, dn) in [("bind DN", &self.bind_dn), ("users base DN", &self.users_base), ("groups base DN", &self.groups_base)] {
            if !dn_ok(dn) {
                return bad(format!("the {what} '{dn}' is not a DN"));
            }
        }
        match (&self.disabled_base, self.deprovision) {
            (Some(dn), _) if !dn_ok(dn) => return bad(format!("the disabled base DN '{dn}' is not a DN")),
            (None, Deprovision::Disable) => {
                return bad("deprovision 'disable' moves users to a disabled base DN: give one (LDAP has no standard disabled flag)".into());
            }
            _ => {}
        }
        if !self.empty_member.is_empty() && !dn_ok(&self.empty_member) {
            return bad(format!("the empty group member '{}' is not a DN", self.empty_member));
        }
        for (what, classes) in [("user", &self.user_classes), ("group", &self.group_classes)] {
            if classes.is_empty() || !classes.iter().all(|c| attribute_ok(c)) {
                return bad(format!("the {what} object classes {classes:?} are not a list of class names"));
            }
        }
        for a in [&self.user_rdn, &self.group_rdn, &self.id_attribute].into_iter().chain(self.attributes.keys()) {
            if !attribute_ok(a) {
                return bad(format!("'{a}' is not an attribute name"));
            }
        }
        if let Some(a) = self.attributes.keys().find(|a| RESERVED.contains(&a.to_ascii_lowercase().as_str())) {
            return bad(format!("the mapping names '{a}', which the connector writes itself"));
        }
        if !self.attributes.keys().any(|a| a.eq_ignore_ascii_case(&self.user_rdn)) {
            return bad(format!("the mapping has no '{}', the users' naming attribute", self.user_rdn));
        }
        if self.matching == LdapMatching::Mail && !self.attributes.keys().any(|a| a.eq_ignore_ascii_case("mail")) {
            return bad("matching by mail needs 'mail' in the mapping".into());
        }
        if !(1..=256).contains(&self.max_in_flight) {
            return bad(format!("maxInFlight is {}; it takes 1 to 256", self.max_in_flight));
        }
        if !(1..=600).contains(&self.timeout_secs) {
            return bad(format!("timeoutSecs is {}; it takes 1 to 600", self.timeout_secs));
        }
        Ok(())
    }

    /// The attribute `find` matches users by.
    pub fn matching_attribute(&self) -> &str {
        match self.matching {
            LdapMatching::Rdn => &self.user_rdn,
            LdapMatching::Mail => "mail",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn settings() -> LdapSettings {
        LdapSettings::new("ldap://127.0.0.1:389", "cn=admin,dc=example,dc=test", "ou=people,dc=example,dc=test", "ou=groups,dc=example,dc=test")
    }

    #[test]
    fn defaults_check_and_field_names_round_trip() {
        settings().check().unwrap();
        for f in UserField::ALL {
            assert_eq!(UserField::parse(&f.name()), Some(f));
        }
        for w in LdapWatermark::ALL {
            assert_eq!(LdapWatermark::parse(w.name()), Some(w));
            assert_eq!(serde_json::to_value(w).unwrap(), serde_json::json!(w.name()));
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let mut s = settings();
        s.deprovision = Deprovision::Disable;
        assert!(matches!(s.check(), Err(ConnectorError::InvalidSettings { reason }) if reason.contains("disabled base")));
        s = settings();
        s.url = "http://x".into();
        assert!(matches!(s.check(), Err(ConnectorError::InvalidSettings { reason }) if reason.contains("not ldap")));
        s = settings();
        s.attributes.remove("uid");
        assert!(matches!(s.check(), Err(ConnectorError::InvalidSettings { reason }) if reason.contains("naming attribute")));
        s = settings();
        s.attributes.insert("member".into(), UserField::Mail);
        assert!(matches!(s.check(), Err(ConnectorError::InvalidSettings { reason }) if reason.contains("writes itself")));
        s = settings();
        s.ca_file = Some("/ca.pem".into());
        assert!(matches!(s.check(), Err(ConnectorError::InvalidSettings { reason }) if reason.contains("for TLS")));
    }
}
