//! Discovery documents: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`. They list
//! exactly what is implemented: the attributes of `model.rs`, the ones mapped onto the
//! directory (see docs/scim.md), nothing more.
pub(crate) mod model;
pub(crate) mod validate;

use model::published;
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
        schema(USER_SCHEMA, "User", "User account", published(model::USER), base),
        schema(ENTERPRISE_SCHEMA, "EnterpriseUser", "Enterprise user", published(model::ENTERPRISE), base),
        schema(
            DIRECTORY_EXTENSION_SCHEMA,
            "Directory",
            "Directory attributes without a core or enterprise counterpart: officeLocation, usageLocation, and the tenant's \
             extension attributes, each named extension_<application id, 32 hex digits>_<name> (a string or a list of at most \
             100 strings of at most 256 characters; caseExact false, readWrite, filterable). Any such name is accepted, so \
             they are not listed one by one.",
            published(model::DIRECTORY),
            base,
        ),
        schema(GROUP_SCHEMA, "Group", "Group", published(model::GROUP), base),
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
