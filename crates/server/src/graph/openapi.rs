//! The OpenAPI 3.1 document of `/v1.0`, generated from the code: every handler carries a
//! `#[utoipa::path]` (method, path, parameters, responses) and is mounted through
//! `utoipa_axum`'s `routes!`, which takes the method and path from that same annotation, so
//! a route and its entry in the document cannot differ. The error responses come from
//! [`GraphCode`]'s table. Served at `GET /v1.0/$openapi` (any valid token of the admin API).
use super::Shared;
use super::caller::Caller;
use super::error::GraphCode;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, InfoBuilder, OpenApi, RefOr, ResponseBuilder, SecurityRequirement, ServerBuilder, Tag};
use utoipa::{IntoParams, IntoResponses, PartialSchema, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

/// The routes of the admin API as they are built: axum's routes and their document.
pub type ApiRouter = OpenApiRouter<Shared>;

/// `routes!(…)` with Graph's 405 for the other methods (see [`super::only`]).
pub fn only(r: UtoipaMethodRouter<Shared>) -> UtoipaMethodRouter<Shared> {
    let (schemas, paths, method) = r;
    (schemas, paths, super::only(method))
}

/// The OData query options of a collection.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ODataQuery {
    /// `eq`, `ne`, `startsWith`, `in`, `and`/`or` on the indexed properties (others: 400 Request_UnsupportedQuery).
    #[serde(rename = "$filter")]
    filter: Option<String>,
    /// The properties to return, comma-separated.
    #[serde(rename = "$select")]
    select: Option<String>,
    /// Page size, 1 to 999.
    #[serde(rename = "$top")]
    top: Option<u32>,
    /// An indexed property, optionally ` desc`.
    #[serde(rename = "$orderby")]
    orderby: Option<String>,
    /// `true` adds `@odata.count` (needs `ConsistencyLevel: eventual`).
    #[serde(rename = "$count")]
    count: Option<bool>,
    /// The position in the collection, from an `@odata.nextLink`.
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

/// The options of a collection that pages but does not filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageQuery {
    /// Page size, 1 to 999.
    #[serde(rename = "$top")]
    top: Option<u32>,
    /// The position in the collection, from an `@odata.nextLink`.
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

/// The options of a log (`$filter` as the log's description says).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct LogQuery {
    /// A filter on the log's filterable properties.
    #[serde(rename = "$filter")]
    filter: Option<String>,
    /// Page size, 1 to 999.
    #[serde(rename = "$top")]
    top: Option<u32>,
    /// The position in the log, from an `@odata.nextLink`.
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

/// The options of a delta query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DeltaQuery {
    /// The properties to return, comma-separated.
    #[serde(rename = "$select")]
    select: Option<String>,
    /// The position in a round, from an `@odata.nextLink`.
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
    /// Where the last round ended, from an `@odata.deltaLink`.
    #[serde(rename = "$deltatoken")]
    deltatoken: Option<String>,
}

/// Graph's error body.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct GraphErrorBody {
    error: GraphErrorDetail,
}

#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct GraphErrorDetail {
    /// Graph's code (`Request_ResourceNotFound`, …).
    code: String,
    message: String,
    #[schema(rename = "innerError")]
    inner_error: InnerError,
}

#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct InnerError {
    /// tenantsync's own code of the cause.
    code: String,
    #[schema(rename = "request-id")]
    request_id: String,
    #[schema(rename = "client-request-id")]
    client_request_id: String,
    date: String,
}

/// The error answers of every operation, one per status of [`GraphCode`]'s table.
#[derive(Debug)]
pub struct Errors;

impl IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
        for row in GraphCode::TABLE {
            by_status.entry(row.status).or_default().push(row.code);
        }
        by_status
            .into_iter()
            .map(|(status, codes)| {
                let content = ContentBuilder::new().schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("GraphErrorBody")))).build();
                let r =
                    ResponseBuilder::new().description(format!("Graph's error body; error.code: {}", codes.join(", "))).content("application/json", content);
                (status.to_string(), RefOr::T(r.build()))
            })
            .collect()
    }
}

/// A Graph JSON object (the resource named in the description).
pub type Object = serde_json::Value;

/// The document of the routes of `router`, with its info, server, tags and bearer scheme.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info = InfoBuilder::new()
        .title("tenantsync admin API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some("Microsoft Graph v1.0 shapes for tenantsync's directory, cross-tenant access settings, sync jobs and logs."))
        .build();
    doc.servers = Some(vec![ServerBuilder::new().url("/").build()]);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    components.schemas.insert("GraphErrorBody".into(), GraphErrorBody::schema());
    components.schemas.insert("GraphErrorDetail".into(), GraphErrorDetail::schema());
    components.schemas.insert("InnerError".into(), InnerError::schema());
    doc.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
    let mut tags: Vec<String> = doc
        .paths
        .paths
        .values()
        .flat_map(|p| p.get.iter().chain(&p.post).chain(&p.put).chain(&p.patch).chain(&p.delete))
        .flat_map(|o| o.tags.clone().unwrap_or_default())
        .collect();
    tags.sort();
    tags.dedup();
    doc.tags = Some(tags.into_iter().map(Tag::new).collect());
    doc
}

/// The document as JSON, made once.
#[derive(Debug, Clone)]
pub struct Document(pub Arc<str>);

impl Document {
    pub fn new(doc: &OpenApi) -> Document {
        Document(Arc::from(doc.to_json().unwrap_or_default()))
    }
}

/// `GET /v1.0/$openapi`.
#[utoipa::path(get, path = "/v1.0/$openapi", tag = "openapi", summary = "This document (OpenAPI 3.1)",
    responses((status = 200, description = "the OpenAPI 3.1 document of /v1.0", body = Object), Errors))]
pub async fn document(axum::extract::State(st): axum::extract::State<Shared>, _caller: Caller) -> Response {
    let text = st.openapi.get().map_or_else(String::new, |d| d.0.to_string());
    let mut res = super::answer(StatusCode::OK, serde_json::Value::Null);
    *res.body_mut() = axum::body::Body::from(text);
    res
}

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(document)))
}
