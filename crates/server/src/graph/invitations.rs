//! `POST /v1.0/invitations`, Entra B2B's invitation manager: a person from outside is
//! invited by e-mail address and becomes a guest of the tenant (userType `Guest`, the
//! B2B-style userPrincipalName `alice_litware.example#EXT#@contoso.example`, the address
//! as `mail`), whom the caller then sets up by id as any user. This is how a Graph
//! connector makes a guest in a real Entra tenant, whose userPrincipalName the service
//! gives, not the caller.
//!
//! Inviting an address a user of the tenant already has answers with that user, as Entra
//! does, so an invitation repeated after a crash makes no second guest. tenantsync sends
//! no invitation mail: `sendInvitationMessage` must be false (its default); the redemption
//! URL is returned for the inviter to pass on.
use super::access::{flag, required, text};
use super::audit::Entry;
use super::error::{GraphError, GraphResult};
use super::openapi::{ApiRouter, Errors, only};
use super::{Shared, answer, context, only_known, read_object};
use crate::graph::caller::Caller;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tenantsync_domain::{Mail, NewUser, ObjectId, Upn, User, UserType};
use tenantsync_store::{AuditCategory, AuditOperation, WriteOp};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(invite)))
}

const PROPERTIES: &[&str] =
    &["invitedUserEmailAddress", "inviteRedirectUrl", "invitedUserDisplayName", "invitedUserType", "sendInvitationMessage", "invitedUserMessageInfo"];

fn invitation_json(invited: &User, mail: &Mail, redirect: &str) -> Value {
    let redeem = format!("{}/redeem?tenant={}&user={}", super::base(), invited.tenant_id, invited.id);
    json!({
        "@odata.context": context("invitations/$entity"),
        "id": ObjectId::new(),
        "invitedUserDisplayName": invited.attrs.display_name,
        "invitedUserEmailAddress": mail.as_str(),
        "invitedUserType": invited.attrs.user_type.as_str(),
        "sendInvitationMessage": false,
        "inviteRedirectUrl": redirect,
        "inviteRedeemUrl": redeem,
        "status": "PendingAcceptance",
        "invitedUser": { "id": invited.id },
    })
}

#[utoipa::path(post, path = "/v1.0/invitations", tag = "invitations", summary = "Invite an external user: a guest of the tenant by e-mail address", request_body(content = crate::graph::openapi::Object, description = "microsoft.graph.invitation: invitedUserEmailAddress, inviteRedirectUrl, invitedUserDisplayName, invitedUserType (Guest or Member), sendInvitationMessage (false)", content_type = "application/json"), responses((status = 201, description = "the microsoft.graph.invitation with invitedUser's id", body = crate::graph::openapi::Object), Errors))]
async fn invite(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    caller.admin_only()?;
    let body = read_object(&st, body).await?;
    only_known(&body, PROPERTIES)?;
    let address = required(&body, "invitedUserEmailAddress")?;
    let mail = Mail::parse(address).map_err(|e| GraphError::bad_request(format!("invitedUserEmailAddress '{address}' is not an e-mail address: {e}")))?;
    let redirect = required(&body, "inviteRedirectUrl")?;
    if !(redirect.starts_with("https://") || redirect.starts_with("http://")) {
        return Err(GraphError::bad_request(format!("inviteRedirectUrl '{redirect}' is not an http(s) URL")));
    }
    if flag(&body, "sendInvitationMessage")?.unwrap_or(false) {
        return Err(GraphError::bad_request("tenantsync sends no invitation mail: set sendInvitationMessage to false and pass on the inviteRedeemUrl"));
    }
    let user_type = match text(&body, "invitedUserType")? {
        None | Some("Guest") => UserType::Guest,
        Some("Member") => UserType::Member,
        Some(other) => return Err(GraphError::bad_request(format!("invitedUserType '{other}' is not Guest or Member"))),
    };
    let display = text(&body, "invitedUserDisplayName")?.map(str::to_owned);
    // Someone the tenant has under that address already: that user (Entra's re-invite).
    if let Some(existing) = st.store.find_users_by_mail(caller.tenant, &mail).await?.into_iter().find(|u| !u.is_deleted()) {
        return Ok(answer(StatusCode::CREATED, invitation_json(&existing, &mail, redirect)));
    }
    let tenant = st.store.get_tenant(caller.tenant).await?;
    let upn = Upn::parse(mail.as_str()).and_then(|u| u.external_in(&tenant.initial_domain))?;
    let mut user = NewUser::new(upn);
    user.attrs.mail = Some(mail.clone());
    user.attrs.user_type = user_type;
    user.attrs.display_name = Some(display.unwrap_or_else(|| mail.as_str().to_owned()));
    let entry = Entry::new("Invite external user", AuditOperation::Add, AuditCategory::UserManagement, "User", user.id)
        .named(user.attrs.display_name.as_deref())
        .upn(user.attrs.user_principal_name.as_str())
        .change("mail", None, Some(mail.as_str().to_owned()))
        .change("userType", None, Some(user_type.as_str().to_owned()));
    let record = entry.record(&st, &caller);
    let done = st.store.apply_audited(caller.tenant, vec![WriteOp::CreateUser(Box::new(user))], record).await?;
    let created = done.into_iter().next().ok_or_else(GraphError::internal)?.into_user()?;
    tracing::info!(user = %created.attrs.user_principal_name, "admin API: external user invited");
    Ok(answer(StatusCode::CREATED, invitation_json(&created, &mail, redirect)))
}
