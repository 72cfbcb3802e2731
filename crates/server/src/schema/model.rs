//! The attributes tenantsync supports, once: `/Schemas` is written from them, request
//! bodies are checked against them (`validate.rs`) and PATCH paths resolved through them.
//! Anything not here is refused (400, naming it): an attribute accepted and dropped would
//! make a client that compares what it wrote with what it reads update it on every pass.
use super::{DIRECTORY_EXTENSION_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Complex,
    Reference,
}

impl Type {
    fn as_str(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Boolean => "boolean",
            Type::Complex => "complex",
            Type::Reference => "reference",
        }
    }
}

/// RFC 7643 §2.2 `mutability`, of those tenantsync uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadWrite,
    /// Set with the value it names and never changed (a member's `value`).
    Immutable,
    /// Returned, never written: ignored in POST and PUT bodies, `mutability` in a PATCH.
    ReadOnly,
}

impl Mutability {
    fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::ReadOnly => "readOnly",
        }
    }
}

/// One attribute or sub-attribute.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub name: &'static str,
    pub ty: Type,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub unique: bool,
    pub description: &'static str,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub subs: &'static [Attr],
    /// Listed in `/Schemas`. `primary` is accepted on the elements of e-mails, phone
    /// numbers and addresses (clients send it) but not kept, so not listed.
    pub published: bool,
    /// A multi-valued attribute of which the directory keeps one value per `type` (the
    /// `type`'s canonical values; an element without a type is of the first).
    pub per_type: bool,
}

const fn s(name: &'static str, description: &'static str) -> Attr {
    Attr {
        name,
        ty: Type::String,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        unique: false,
        description,
        canonical: &[],
        reference_types: &[],
        subs: &[],
        published: true,
        per_type: false,
    }
}

const fn complex(name: &'static str, description: &'static str, subs: &'static [Attr]) -> Attr {
    Attr { ty: Type::Complex, subs, ..s(name, description) }
}

const fn boolean(name: &'static str, description: &'static str) -> Attr {
    Attr { ty: Type::Boolean, ..s(name, description) }
}

const fn reference(description: &'static str, types: &'static [&'static str]) -> Attr {
    Attr { ty: Type::Reference, reference_types: types, ..s("$ref", description) }
}

const fn canonical(name: &'static str, description: &'static str, values: &'static [&'static str]) -> Attr {
    Attr { canonical: values, ..s(name, description) }
}

impl Attr {
    const fn multi(self) -> Attr {
        Attr { multi: true, ..self }
    }
    const fn required(self) -> Attr {
        Attr { required: true, ..self }
    }
    const fn exact(self) -> Attr {
        Attr { case_exact: true, ..self }
    }
    const fn read_only(self) -> Attr {
        Attr { mutability: Mutability::ReadOnly, ..self }
    }
    const fn immutable(self) -> Attr {
        Attr { mutability: Mutability::Immutable, ..self }
    }
    const fn unique(self) -> Attr {
        Attr { unique: true, ..self }
    }
    const fn unpublished(self) -> Attr {
        Attr { published: false, ..self }
    }
    const fn per_type(self) -> Attr {
        Attr { per_type: true, ..self }
    }

    /// The sub-attribute `name`, ignoring case.
    pub fn sub(&self, name: &str) -> Option<&'static Attr> {
        find(self.subs, name)
    }

    /// The type an element without one has (per-type attributes).
    pub fn default_type(&self) -> Option<&'static str> {
        self.sub("type").and_then(|t| t.canonical.first().copied())
    }

    /// The attribute's definition in `/Schemas` (RFC 7643 §7).
    pub fn definition(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "type": self.ty.as_str(),
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability.as_str(),
            "returned": "default",
            "uniqueness": if self.unique { "server" } else { "none" },
        });
        if let Some(o) = v.as_object_mut() {
            if !self.canonical.is_empty() {
                o.insert("canonicalValues".into(), json!(self.canonical));
            }
            if self.ty == Type::Reference {
                o.insert("referenceTypes".into(), json!(self.reference_types));
            }
            if self.ty == Type::Complex {
                o.insert("subAttributes".into(), Value::Array(published(self.subs)));
            }
        }
        v
    }
}

/// The attribute `name` of `attrs`, ignoring case.
pub fn find(attrs: &'static [Attr], name: &str) -> Option<&'static Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The `/Schemas` definitions of the published attributes of `attrs`.
pub fn published(attrs: &[Attr]) -> Vec<Value> {
    attrs.iter().filter(|a| a.published).map(Attr::definition).collect()
}

const PRIMARY: Attr = boolean("primary", "Accepted, not kept: the directory keeps one value of each type.").unpublished();

const NAME: &[Attr] = &[s("familyName", "The surname."), s("givenName", "The given name.")];
const EMAIL: &[Attr] = &[s("value", "The address."), canonical("type", "Always work.", &["work"]), PRIMARY];
const PHONE: &[Attr] = &[s("value", "The number."), canonical("type", "work or mobile.", &["work", "mobile"]), PRIMARY];
const ADDRESS: &[Attr] = &[
    s("streetAddress", "Street."),
    s("locality", "City."),
    s("region", "State or province."),
    s("postalCode", "Postal code."),
    s("country", "Country."),
    canonical("type", "Always work.", &["work"]),
    PRIMARY,
];
const USER_GROUP: &[Attr] = &[
    s("value", "The group's id.").exact().read_only(),
    reference("The group's URI.", &["Group"]).read_only(),
    s("display", "The group's display name.").read_only(),
    canonical("type", "Always direct (nested groups are not kept).", &["direct"]).read_only(),
];

/// The core User schema's attributes tenantsync keeps (RFC 7643 §4.1; the common `id`,
/// `externalId` and `meta` are everywhere, see [`Model`]).
pub const USER: &[Attr] = &[
    s("userName", "The user's userPrincipalName, unique in the tenant, case-insensitive. A name without '@' stands for name@<the tenant's initial domain>.")
        .required()
        .unique(),
    complex("name", "The user's name.", NAME),
    s("displayName", "The display name."),
    s("nickName", "The mail alias (mailNickname): ASCII without spaces."),
    s("title", "The job title."),
    // Every directory user has a type and an enabled flag, so both are always present
    // (omitted on input they default to Member and true; removing resets them).
    canonical("userType", "Member or Guest; Member when omitted.", &["Member", "Guest"]).required(),
    canonical("preferredLanguage", "A language tag such as en-US.", &["en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "nb-NO", "ja-JP"]),
    boolean("active", "Whether the account is enabled (accountEnabled); true when omitted.").required(),
    complex("emails", "The user's mail address: one value, of type work.", EMAIL).multi().per_type(),
    complex("phoneNumbers", "Business phone (type work) and mobile phone (type mobile).", PHONE).multi().per_type(),
    complex("addresses", "The business address: one value, of type work.", ADDRESS).multi().per_type(),
    complex("groups", "The groups the user is a direct member of. Read-only: memberships change through /Groups.", USER_GROUP).multi().read_only(),
];

const MANAGER: &[Attr] = &[s("value", "The manager's id.").exact(), reference("The manager's URI (the value decides).", &["User"])];

pub const ENTERPRISE: &[Attr] = &[
    // Graph limits employeeId to 16 characters; the schema language cannot say so, so
    // the canonical values show the expected shape.
    canonical("employeeNumber", "The employee id (employeeId), at most 16 characters.", &["E-00001", "E-00002", "100042"]),
    s("organization", "The company name (companyName)."),
    s("department", "The department."),
    complex("manager", "The user's manager, a user of the same tenant.", MANAGER),
];

/// The directory extension's named attributes; its `extension_<32 hex>_<name>` attributes
/// are open (any well-formed name, a string or a list of strings).
pub const DIRECTORY: &[Attr] = &[
    s("officeLocation", "The office location."),
    // Graph wants a two-letter ISO country code in upper case; the canonical values show
    // the shape.
    canonical("usageLocation", "Where the user uses services: an ISO 3166 country code in upper case.", &["US", "GB", "DE", "FR", "NO", "JP"]),
];

const MEMBER: &[Attr] = &[
    s("value", "The member's id.").exact().immutable(),
    reference("The member's URI.", &["User"]).immutable(),
    s("display", "The member's display name.").read_only(),
    canonical("type", "Always User.", &["User"]).immutable(),
];

pub const GROUP: &[Attr] =
    &[s("displayName", "The group's display name.").required(), complex("members", "Direct members: users of the same tenant.", MEMBER).multi()];

/// A schema extension of a resource type: its URN and attributes.
#[derive(Debug, Clone, Copy)]
pub struct Extension {
    pub uri: &'static str,
    pub attrs: &'static [Attr],
    /// Whether `extension_<32 hex>_<name>` attributes are accepted besides `attrs`.
    pub open: bool,
}

/// A resource type's attributes: its core schema's and its extensions'.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    pub core_uri: &'static str,
    pub core: &'static [Attr],
    pub extensions: &'static [Extension],
}

pub const USER_MODEL: Model = Model {
    core_uri: USER_SCHEMA,
    core: USER,
    extensions: &[
        Extension { uri: ENTERPRISE_SCHEMA, attrs: ENTERPRISE, open: false },
        Extension { uri: DIRECTORY_EXTENSION_SCHEMA, attrs: DIRECTORY, open: true },
    ],
};

pub const GROUP_MODEL: Model = Model { core_uri: GROUP_SCHEMA, core: GROUP, extensions: &[] };

impl Model {
    /// The extension whose URN is `uri`, ignoring case.
    pub fn extension(&self, uri: &str) -> Option<&'static Extension> {
        self.extensions.iter().find(|e| e.uri.eq_ignore_ascii_case(uri))
    }

    /// Whether `uri` is one of this resource type's schemas.
    pub fn has_schema(&self, uri: &str) -> bool {
        self.core_uri.eq_ignore_ascii_case(uri) || self.extension(uri).is_some()
    }
}

/// The common attributes (RFC 7643 §3.1) besides `schemas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Common {
    Id,
    ExternalId,
    Meta,
    Schemas,
}

impl Common {
    pub fn of(name: &str) -> Option<Common> {
        [("id", Common::Id), ("externalId", Common::ExternalId), ("meta", Common::Meta), ("schemas", Common::Schemas)]
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, c)| c)
    }
}
