//! Discovery documents: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`. They list
//! exactly what is implemented: the attributes below are the ones mapped onto the
//! directory (see docs/scim.md), nothing more.
use serde_json::{Value, json};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Directory extension attributes (`extension_<32 hex>_<name>`, Entra's form) of users.
/// The URN follows the form Entra documents for a SCIM app's custom extension attributes
/// (`urn:ietf:params:scim:schemas:extension:<name>:2.0:User`), so Entra's attribute
/// mapping names them as it names any custom attribute.
pub const DIRECTORY_EXTENSION_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:tenantsync:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Most results one page returns.
pub const MAX_RESULTS: u32 = 1000;
/// Results of a page when `count` is absent.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// How long a cursor stays valid at least (they never expire).
pub const CURSOR_TIMEOUT_SECONDS: u32 = 86_400;

#[derive(Clone, Copy)]
struct A {
    name: &'static str,
    ty: &'static str,
    multi: bool,
    required: bool,
    case_exact: bool,
    mutability: &'static str,
    returned: &'static str,
    uniqueness: &'static str,
}

const fn s(name: &'static str) -> A {
    A { name, ty: "string", multi: false, required: false, case_exact: false, mutability: "readWrite", returned: "default", uniqueness: "none" }
}

impl A {
    const fn ty(mut self, ty: &'static str) -> A {
        self.ty = ty;
        self
    }
    const fn multi(mut self) -> A {
        self.multi = true;
        self
    }
    const fn required(mut self) -> A {
        self.required = true;
        self
    }
    const fn exact(mut self) -> A {
        self.case_exact = true;
        self
    }
    const fn mutability(mut self, m: &'static str) -> A {
        self.mutability = m;
        self
    }
    const fn unique(mut self) -> A {
        self.uniqueness = "server";
        self
    }

    fn json(self, description: &str, extra: Value) -> Value {
        let mut v = json!({
            "name": self.name,
            "type": self.ty,
            "multiValued": self.multi,
            "description": description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        });
        if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
            obj.extend(extra);
        }
        v
    }
}

fn plain(a: A, description: &str) -> Value {
    a.json(description, json!({}))
}

fn complex(a: A, description: &str, subs: Vec<Value>) -> Value {
    a.ty("complex").json(description, json!({ "subAttributes": subs }))
}

fn canonical(a: A, description: &str, values: &[&str]) -> Value {
    a.json(description, json!({ "canonicalValues": values }))
}

fn user_attributes() -> Vec<Value> {
    vec![
        plain(
            s("userName").required().unique(),
            "The user's userPrincipalName, unique in the tenant, case-insensitive. A name without '@' stands for name@<the tenant's initial domain>.",
        ),
        complex(s("name"), "The user's name.", vec![plain(s("familyName"), "The surname."), plain(s("givenName"), "The given name.")]),
        plain(s("displayName"), "The display name."),
        plain(s("nickName"), "The mail alias (mailNickname): ASCII without spaces."),
        plain(s("title"), "The job title."),
        // Every directory user has a type and an enabled flag, so both are always present
        // (omitted on input they default to Member and true; removing resets them).
        canonical(s("userType").required(), "Member or Guest; Member when omitted.", &["Member", "Guest"]),
        canonical(s("preferredLanguage"), "A language tag such as en-US.", &["en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "nb-NO", "ja-JP"]),
        plain(s("active").ty("boolean").required(), "Whether the account is enabled (accountEnabled); true when omitted."),
        complex(
            s("emails").multi(),
            "The user's mail address: one value, of type work.",
            vec![plain(s("value"), "The address."), canonical(s("type"), "Always work.", &["work"])],
        ),
        complex(
            s("phoneNumbers").multi(),
            "Business phone (type work) and mobile phone (type mobile).",
            vec![plain(s("value"), "The number."), canonical(s("type"), "work or mobile.", &["work", "mobile"])],
        ),
        complex(
            s("addresses").multi(),
            "The business address: one value, of type work.",
            vec![
                plain(s("streetAddress"), "Street."),
                plain(s("locality"), "City."),
                plain(s("region"), "State or province."),
                plain(s("postalCode"), "Postal code."),
                plain(s("country"), "Country."),
                canonical(s("type"), "Always work.", &["work"]),
            ],
        ),
        complex(
            s("groups").multi().mutability("readOnly"),
            "The groups the user is a direct member of. Read-only: memberships change through /Groups.",
            vec![
                plain(s("value").exact().mutability("readOnly"), "The group's id."),
                s("$ref").ty("reference").mutability("readOnly").json("The group's URI.", json!({"referenceTypes": ["Group"]})),
                plain(s("display").mutability("readOnly"), "The group's display name."),
                canonical(s("type").mutability("readOnly"), "Always direct (nested groups are not kept).", &["direct"]),
            ],
        ),
    ]
}

fn enterprise_attributes() -> Vec<Value> {
    vec![
        // Graph limits employeeId to 16 characters; the schema language cannot say so, so
        // the canonical values show the expected shape.
        canonical(s("employeeNumber"), "The employee id (employeeId), at most 16 characters.", &["E-00001", "E-00002", "100042"]),
        plain(s("organization"), "The company name (companyName)."),
        plain(s("department"), "The department."),
        complex(
            s("manager"),
            "The user's manager, a user of the same tenant.",
            vec![
                plain(s("value").exact(), "The manager's id."),
                s("$ref").ty("reference").json("The manager's URI (the value decides).", json!({"referenceTypes": ["User"]})),
            ],
        ),
    ]
}

fn directory_attributes() -> Vec<Value> {
    vec![
        plain(s("officeLocation"), "The office location."),
        // Graph wants a two-letter ISO country code in upper case; the canonical values
        // show the shape.
        canonical(s("usageLocation"), "Where the user uses services: an ISO 3166 country code in upper case.", &["US", "GB", "DE", "FR", "NO", "JP"]),
    ]
}

fn group_attributes() -> Vec<Value> {
    vec![
        plain(s("displayName").required(), "The group's display name."),
        complex(
            s("members").multi(),
            "Direct members: users of the same tenant.",
            vec![
                plain(s("value").exact().mutability("immutable"), "The member's id."),
                s("$ref").ty("reference").mutability("immutable").json("The member's URI.", json!({"referenceTypes": ["User"]})),
                plain(s("display").mutability("readOnly"), "The member's display name."),
                canonical(s("type").mutability("immutable"), "Always User.", &["User"]),
            ],
        ),
    ]
}

fn schema(id: &str, name: &str, description: &str, attributes: Vec<Value>, base: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") },
    })
}

/// Every schema, in the order `/Schemas` lists them.
pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        schema(USER_SCHEMA, "User", "User account", user_attributes(), base),
        schema(ENTERPRISE_SCHEMA, "EnterpriseUser", "Enterprise user", enterprise_attributes(), base),
        schema(
            DIRECTORY_EXTENSION_SCHEMA,
            "Directory",
            "Directory attributes without a core or enterprise counterpart: officeLocation, usageLocation, and the tenant's \
             extension attributes, each named extension_<application id, 32 hex digits>_<name> (a string or a list of at most \
             100 strings of at most 256 characters; caseExact false, readWrite, filterable). Any such name is accepted, so \
             they are not listed one by one.",
            directory_attributes(),
            base,
        ),
        schema(GROUP_SCHEMA, "Group", "Group", group_attributes(), base),
    ]
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User account",
            "schema": USER_SCHEMA,
            "schemaExtensions": [
                { "schema": ENTERPRISE_SCHEMA, "required": false },
                { "schema": DIRECTORY_EXTENSION_SCHEMA, "required": false },
            ],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
    ]
}

pub fn service_provider_config(base: &str, bulk: bool, max_operations: usize, max_payload: usize) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://example.invalid/tenantsync/docs/scim.md",
        "patch": { "supported": true },
        "bulk": { "supported": bulk, "maxOperations": if bulk { max_operations } else { 0 }, "maxPayloadSize": if bulk { max_payload } else { 0 } },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        // RFC 9865. Cursors hold a position, not server state: they do not expire, so
        // the timeout is only a promised minimum.
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": DEFAULT_PAGE_SIZE,
            "maxPageSize": MAX_RESULTS,
            "cursorTimeout": CURSOR_TIMEOUT_SECONDS,
        },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A per-tenant token from `tenantsync token create`, sent as Authorization: Bearer <token>.",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig") },
    })
}
