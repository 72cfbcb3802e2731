//! The OpenAPI document of `/v1.0` (placeholder while the handlers are annotated).
use super::Shared;
use axum::Router;

pub(super) fn routes(router: Router<Shared>) -> Router<Shared> {
    router
}
