//! `POST /v1.0/invitations`, Entra B2B's invitation manager: a person from outside is
//! invited by e-mail address and becomes a guest of the tenant (userType `Guest`, the
//! B2B-style userPrincipalName `alice_litware.example#EXT#@contoso.example`, the address
//! as `mail`), whom the caller then sets up by id as any user. This is how a Graph
//! connector makes a guest in a real Entra tenant, whose userPrincipalName the service
//! gives, not the caller.
//!
//! tenantsync signs nobody in: the guest is provisioned to the directories where people
//! sign in as soon as it exists, so there is no acceptance step and the invitation is
//! `Completed` at once, its `inviteRedeemUrl` the `inviteRedirectUrl` itself. With
//! `sendInvitationMessage: true` the person is told by mail (the outbox, sent by `serve`
//! over SMTP): the default text or `invitedUserMessageInfo.customizedMessageBody`, the
//! link, and a copy to at most one `ccRecipients` address, as Entra allows. The guest,
//! the message and the audit record commit together.
//!
//! Inviting an address a user of the tenant already has answers with that user, as Entra
//! does, so an invitation repeated after a crash makes no second guest; with
//! `sendInvitationMessage: true` the mail goes again.
use super::access::{flag, gov, object, required, text};
use super::audit::Entry;
use super::error::{GraphCode, GraphError, GraphResult};
use super::openapi::{ApiRouter, Errors, only};
use super::{Shared, answer, context, only_known, read_object};
use crate::graph::caller::Caller;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use tenantsync_domain::{Mail, NewUser, ObjectId, TenantId, Upn, UserType};
use tenantsync_store::{AccessStep, AuditCategory, AuditOperation, OutboxMessage, WriteOp};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(invite)))
}

const PROPERTIES: &[&str] =
    &["invitedUserEmailAddress", "inviteRedirectUrl", "invitedUserDisplayName", "invitedUserType", "sendInvitationMessage", "invitedUserMessageInfo"];

/// What `invitedUserMessageInfo` asks of the mail.
#[derive(Debug, Default)]
struct MessageInfo {
    /// The one address a copy goes to (Entra supports one), with its name.
    cc: Option<(Mail, Option<String>)>,
    body: Option<String>,
    language: Option<String>,
}

impl MessageInfo {
    fn parse(body: &Map<String, Value>) -> GraphResult<MessageInfo> {
        let Some(o) = object(body, "invitedUserMessageInfo", &["ccRecipients", "customizedMessageBody", "messageLanguage"])? else {
            return Ok(MessageInfo::default());
        };
        let at = |k: &str| format!("invitedUserMessageInfo.{k}");
        let cc = match o.get("ccRecipients") {
            None | Some(Value::Null) => None,
            Some(Value::Array(list)) if list.len() > 1 => {
                return Err(GraphError::bad_request(format!("{}: only one additional recipient is supported", at("ccRecipients"))));
            }
            Some(Value::Array(list)) => list.first().map(|r| recipient(r, &at("ccRecipients"))).transpose()?,
            Some(_) => return Err(GraphError::bad_request(format!("the property '{}' must be an array of recipients", at("ccRecipients")))),
        };
        let body = text(o, "customizedMessageBody")
            .map_err(|_| GraphError::bad_request(format!("the property '{}' must be a string", at("customizedMessageBody"))))?;
        let language = text(o, "messageLanguage").map_err(|_| GraphError::bad_request(format!("the property '{}' must be a string", at("messageLanguage"))))?;
        if let Some(l) = language {
            if !is_language_tag(l) {
                return Err(GraphError::bad_request(format!("{} '{l}' is not a language tag such as en-US", at("messageLanguage"))));
            }
            // Entra ignores the language when the body is the caller's own.
            let english = l.split('-').next().is_some_and(|p| p.eq_ignore_ascii_case("en"));
            if body.is_none() && !english {
                return Err(GraphError::bad_request(format!(
                    "{} '{l}': tenantsync's invitation message is in English; give invitedUserMessageInfo.customizedMessageBody in that language instead",
                    at("messageLanguage")
                )));
            }
        }
        Ok(MessageInfo { cc, body: body.map(str::to_owned), language: language.map(str::to_owned) })
    }

    fn json(&self) -> Value {
        let cc: Vec<Value> = self.cc.iter().map(|(m, name)| json!({ "emailAddress": { "name": name, "address": m.as_str() } })).collect();
        json!({ "messageLanguage": self.language, "ccRecipients": cc, "customizedMessageBody": self.body })
    }
}

/// A `microsoft.graph.recipient`: `{"emailAddress": {"address": …, "name": …}}`.
fn recipient(v: &Value, at: &str) -> GraphResult<(Mail, Option<String>)> {
    let bad = || GraphError::bad_request(format!("{at}: a recipient is {{\"emailAddress\": {{\"address\": \"…\"}}}}"));
    let email = v.get("emailAddress").and_then(Value::as_object).ok_or_else(bad)?;
    let address = email.get("address").and_then(Value::as_str).ok_or_else(bad)?;
    let mail = Mail::parse(address).map_err(|e| GraphError::bad_request(format!("{at}: '{address}' is not an e-mail address: {e}")))?;
    let name = match email.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(bad()),
    };
    Ok((mail, name))
}

/// `en`, `en-US`, `zh-Hant-TW`: letters, then subtags of letters and digits.
fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts.next().is_some_and(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// What the invitation says of itself: its guest, and whether and how it was mailed.
struct Invitation<'a> {
    tenant: TenantId,
    user: ObjectId,
    display_name: Option<&'a str>,
    user_type: UserType,
    mail: &'a Mail,
    redirect: &'a str,
    send: bool,
    info: &'a MessageInfo,
}

impl Invitation<'_> {
    fn json(&self) -> Value {
        json!({
            "@odata.context": context("invitations/$entity"),
            "id": ObjectId::new(),
            "invitedUserDisplayName": self.display_name,
            "invitedUserEmailAddress": self.mail.as_str(),
            "invitedUserType": self.user_type.as_str(),
            "sendInvitationMessage": self.send,
            "invitedUserMessageInfo": self.info.json(),
            "inviteRedirectUrl": self.redirect,
            // No acceptance step: the guest is provisioned at once (see the module docs).
            "inviteRedeemUrl": self.redirect,
            "status": "Completed",
            "invitedUser": { "id": self.user },
        })
    }

    /// The mail of the invitation, from the tenant `org`.
    fn message(&self, org: &str, now: jiff::Timestamp) -> OutboxMessage {
        let intro = self.info.body.clone().unwrap_or_else(|| {
            format!("{org} invited you ({}) to its organization as a guest. You can use what it shares with you from now on.", self.mail.as_str())
        });
        let mut addresses = vec![self.mail.as_str().to_owned()];
        addresses.extend(self.info.cc.iter().map(|(m, _)| m.as_str().to_owned()));
        OutboxMessage {
            id: ObjectId::new(),
            created: now,
            event: "invitation".into(),
            recipients: Vec::new(),
            addresses,
            subject: format!("{org} invited you to its organization"),
            body: format!("{intro}\n\nGet started: {}\n\n(invited user {} of tenant {})", self.redirect, self.user, self.tenant),
            attempts: 0,
            next_attempt: now,
            delivered: None,
        }
    }
}

#[utoipa::path(post, path = "/v1.0/invitations", tag = "invitations", summary = "Invite an external user: a guest of the tenant by e-mail address, told by mail if asked", request_body(content = crate::graph::openapi::Object, description = "microsoft.graph.invitation: invitedUserEmailAddress, inviteRedirectUrl, invitedUserDisplayName, invitedUserType (Guest or Member), sendInvitationMessage, invitedUserMessageInfo (ccRecipients: one at most, customizedMessageBody, messageLanguage)", content_type = "application/json"), responses((status = 201, description = "the microsoft.graph.invitation with invitedUser's id", body = crate::graph::openapi::Object), Errors))]
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
    let send = flag(&body, "sendInvitationMessage")?.unwrap_or(false);
    let info = MessageInfo::parse(&body)?;
    let user_type = match text(&body, "invitedUserType")? {
        None | Some("Guest") => UserType::Guest,
        Some("Member") => UserType::Member,
        Some(other) => return Err(GraphError::bad_request(format!("invitedUserType '{other}' is not Guest or Member"))),
    };
    let display = text(&body, "invitedUserDisplayName")?.map(str::to_owned);
    // The mail goes through entitlement management's outbox: without it, no mail.
    let outbox = if send {
        let none = |_| {
            GraphError::new(
                GraphCode::NotImplemented,
                "this server keeps no outbox to mail the invitation from (it was started without entitlement management): set sendInvitationMessage to false and pass on the inviteRedeemUrl",
            )
        };
        Some(gov(&st).map_err(none)?.store().clone())
    } else {
        None
    };
    let tenant = st.store.get_tenant(caller.tenant).await?;
    let now = st.store.clock().now();
    // Someone the tenant has under that address already: that user (Entra's re-invite).
    if let Some(existing) = st.store.find_users_by_mail(caller.tenant, &mail).await?.into_iter().find(|u| !u.is_deleted()) {
        let invitation = Invitation {
            tenant: caller.tenant,
            user: existing.id,
            display_name: existing.attrs.display_name.as_deref(),
            user_type: existing.attrs.user_type,
            mail: &mail,
            redirect,
            send,
            info: &info,
        };
        if let Some(store) = outbox {
            let entry = Entry::new("Invite external user", AuditOperation::Update, AuditCategory::UserManagement, "User", existing.id)
                .named(existing.attrs.display_name.as_deref())
                .upn(existing.attrs.user_principal_name.as_str())
                .change("invitationMessage", None, Some("sent again".into()));
            let step =
                AccessStep { outbox: vec![invitation.message(&tenant.display_name, now)], audit: Some(entry.record(&st, &caller)), ..AccessStep::default() };
            store.commit_access(caller.tenant, step).await?;
        }
        return Ok(answer(StatusCode::CREATED, invitation.json()));
    }
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
    let (id, upn, display_name) = (user.id, user.attrs.user_principal_name.clone(), user.attrs.display_name.clone());
    let invitation = Invitation { tenant: caller.tenant, user: id, display_name: display_name.as_deref(), user_type, mail: &mail, redirect, send, info: &info };
    match outbox {
        // The guest, its mail and the record in one transaction.
        Some(store) => {
            let message = invitation.message(&tenant.display_name, now);
            let step = AccessStep { directory: vec![WriteOp::CreateUser(Box::new(user))], outbox: vec![message], audit: Some(record), ..AccessStep::default() };
            store.commit_access(caller.tenant, step).await?;
        }
        None => {
            st.store.apply_audited(caller.tenant, vec![WriteOp::CreateUser(Box::new(user))], record).await?;
        }
    }
    tracing::info!(user = %upn, mailed = send, "admin API: external user invited");
    Ok(answer(StatusCode::CREATED, invitation.json()))
}
