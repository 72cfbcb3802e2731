//! Sessions: a cookie carries the session's tenant and a random secret; the store keeps
//! the secret's SHA-256 with who signed in ([`Principal`]), when, and when last seen, so
//! any `serve` worker on the same database answers the same browser. A session ends when
//! unused for the idle timeout, at the absolute timeout, at sign-out, or (an admin's)
//! when its token is revoked or expires.
//!
//! Forms: each carries the session's CSRF token (derived from the secret, so nothing
//! more is stored, and unknowable without the cookie); [`Posted`] checks it before a
//! handler runs, so no POST handler can forget. The cookie is `HttpOnly`,
//! `SameSite=Lax`, `Path=/`, and `Secure` when the server is reached over HTTPS.
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tenantsync_domain::{ObjectId, Tenant, TenantId};
use tenantsync_store::ConsoleSession;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tsconsole";
/// The cookie of a sign-in form (before any session: its own CSRF token).
pub(crate) const SIGNIN_COOKIE: &str = "tsconsole_signin";
/// The form field of the CSRF token.
pub(crate) const CSRF_FIELD: &str = "csrf";
/// Largest form accepted.
const MAX_FORM: usize = 64 * 1024;
/// `last_seen` is written at most this often (each request would otherwise write).
const TOUCH_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// Who a session is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum Principal {
    /// An administrator, by an admin API token of the tenant (`writer`: role admin; a
    /// reader token only looks).
    #[serde(rename_all = "camelCase")]
    Admin { token_id: ObjectId, name: String, writer: bool },
    /// A person, by a code mailed to them: a user of the tenant, a user of another
    /// tenantsync tenant, or someone known only by mail.
    #[serde(rename_all = "camelCase")]
    Person { email: String, user: Option<ObjectId>, home_tenant: Option<TenantId>, home_user: Option<ObjectId> },
}

/// The signed-in session of a request.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub tenant: Tenant,
    pub principal: Principal,
    /// The token every form of this session carries.
    pub csrf: String,
}

impl Session {
    /// An administrator's session, or 403.
    pub fn admin(&self) -> ConsoleResult<()> {
        match self.principal {
            Principal::Admin { .. } => Ok(()),
            Principal::Person { .. } => Err(ConsoleError::forbidden("this page is for administrators of the tenant")),
        }
    }

    /// An administrator who may change things (an admin token, not a reader), or 403.
    pub fn writer(&self) -> ConsoleResult<()> {
        match self.principal {
            Principal::Admin { writer: true, .. } => Ok(()),
            Principal::Admin { writer: false, .. } => Err(ConsoleError::forbidden("this session signed in with a reader token: it may look, not change")),
            Principal::Person { .. } => Err(ConsoleError::forbidden("this page is for administrators of the tenant")),
        }
    }

    /// Who is signed in, in words.
    pub fn who(&self) -> String {
        match &self.principal {
            Principal::Admin { name, writer, .. } => format!("{name} ({})", if *writer { "admin" } else { "reader" }),
            Principal::Person { email, .. } => email.clone(),
        }
    }
}

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The CSRF token of a session secret.
fn csrf_of(secret: &str) -> String {
    hex::encode(&sha(&[b"tenantsync console csrf\0", secret.as_bytes()])[..16])
}

/// 32 random bytes as hex.
pub(crate) fn random_hex() -> ConsoleResult<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| {
        tracing::error!(error = %e, "console: the system's random source failed");
        ConsoleError::Graph(crate::graph::error::GraphError::new(crate::graph::error::GraphCode::Internal, "the server failed"))
    })?;
    Ok(hex::encode(b))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, the console's path (`/`, or the public
/// URL's prefix), Secure when asked; `max_age` 0 removes the cookie.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> String {
    let prefix = super::page::prefix();
    let path = if prefix.is_empty() { "/" } else { prefix.as_str() };
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(s) = max_age {
        c.push_str(&format!("; Max-Age={s}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// Opens a session for `principal` in `tenant`; the `Set-Cookie` value to answer with.
pub(crate) async fn open(st: &ConsoleState, tenant: TenantId, principal: &Principal) -> ConsoleResult<String> {
    let secret = random_hex()?;
    let now = st.store.clock().now();
    let record = ConsoleSession {
        tenant,
        id_hash: sha(&[secret.as_bytes()]),
        created: now,
        last_seen: now,
        principal: serde_json::to_value(principal).map_err(|e| ConsoleError::bad_request(e.to_string()))?,
    };
    st.config.store.create_session(record).await?;
    // Purged now and then, by whoever signs in: no task of its own.
    let idle = jiff::SignedDuration::try_from(st.config.idle_timeout).unwrap_or(jiff::SignedDuration::MAX);
    let absolute = jiff::SignedDuration::try_from(st.config.absolute_timeout).unwrap_or(jiff::SignedDuration::MAX);
    if let (Ok(i), Ok(a)) = (now.checked_sub(idle), now.checked_sub(absolute))
        && let Err(e) = st.config.store.purge_console(i, a, now).await
    {
        tracing::warn!(error = %e, "console: purging expired sessions failed");
    }
    let value = format!("{}.{secret}", tenant.as_uuid().simple());
    Ok(set_cookie(SESSION_COOKIE, &value, None, st.config.secure_cookies))
}

/// The tenant and secret a session cookie carries.
fn parse_cookie(value: &str) -> Option<(TenantId, &str)> {
    let (tenant, secret) = value.split_once('.')?;
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((tenant.parse().ok()?, secret))
}

/// Ends the request's session, if any; the `Set-Cookie` value that clears the cookie.
pub(crate) async fn close(st: &ConsoleState, headers: &HeaderMap) -> ConsoleResult<String> {
    if let Some((tenant, secret)) = cookie(headers, SESSION_COOKIE).and_then(parse_cookie) {
        st.config.store.delete_session(tenant, sha(&[secret.as_bytes()])).await?;
    }
    Ok(set_cookie(SESSION_COOKIE, "", Some(0), st.config.secure_cookies))
}

/// The session of a request, checked (timeouts, an admin's token); `None` without one.
async fn current(st: &ConsoleState, headers: &HeaderMap) -> ConsoleResult<Result<Session, bool>> {
    let Some((tenant, secret)) = cookie(headers, SESSION_COOKIE).and_then(parse_cookie) else { return Ok(Err(false)) };
    let id_hash = sha(&[secret.as_bytes()]);
    let Some(s) = st.config.store.session(tenant, id_hash).await? else { return Ok(Err(true)) };
    let now = st.store.clock().now();
    let idle = jiff::SignedDuration::try_from(st.config.idle_timeout).unwrap_or(jiff::SignedDuration::MAX);
    let absolute = jiff::SignedDuration::try_from(st.config.absolute_timeout).unwrap_or(jiff::SignedDuration::MAX);
    let expired = now.duration_since(s.last_seen) >= idle || now.duration_since(s.created) >= absolute;
    let principal: Option<Principal> = serde_json::from_value(s.principal).ok();
    let usable = match &principal {
        Some(Principal::Admin { token_id, .. }) => st.store.get_token(*token_id).await?.is_some_and(|t| t.tenant_id == tenant && t.is_usable(now)),
        Some(Principal::Person { .. }) => true,
        None => false,
    };
    let (Some(principal), false, true) = (principal, expired, usable) else {
        st.config.store.delete_session(tenant, id_hash).await?;
        return Ok(Err(true));
    };
    // At most once a minute, and often enough that a short idle timeout counts from the
    // last use rather than from the sign-in.
    if now.duration_since(s.last_seen) >= TOUCH_EVERY.min(idle / 2) {
        st.config.store.touch_session(tenant, id_hash, now).await?;
    }
    let tenant = st.store.get_tenant(tenant).await?;
    Ok(Ok(Session { tenant, principal, csrf: csrf_of(secret) }))
}

fn sign_in(parts: &Parts, expired: bool) -> ConsoleError {
    let next = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    ConsoleError::SignIn { next, expired }
}

impl FromRequestParts<Shared> for Session {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, st: &Shared) -> Result<Session, ConsoleError> {
        match current(st, &parts.headers).await? {
            Ok(s) => Ok(s),
            Err(expired) => Err(sign_in(parts, expired)),
        }
    }
}

/// A form's fields, in order.
#[derive(Debug, Default)]
pub(crate) struct Form(pub Vec<(String, String)>);

impl Form {
    /// The first value of `name` (trimmed), or "".
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
    }
}

async fn read_form(req: Request) -> ConsoleResult<Form> {
    let bytes =
        axum::body::to_bytes(req.into_body(), MAX_FORM).await.map_err(|_| ConsoleError::bad_request(format!("the form is larger than {MAX_FORM} bytes")))?;
    Ok(Form(form_urlencoded::parse(&bytes).into_owned().collect()))
}

fn csrf_refused() -> ConsoleError {
    ConsoleError::forbidden(
        "this form was refused: it did not carry this session's security token (it may come from another site, or from a page older than your session). Nothing was changed; open the page again and resubmit.",
    )
}

/// A POST of a signed-in session: the session and the form, whose CSRF token has been
/// checked (403, nothing done, otherwise).
#[derive(Debug)]
pub(crate) struct Posted {
    pub session: Session,
    pub form: Form,
}

impl FromRequest<Shared> for Posted {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, st: &Shared) -> Result<Posted, ConsoleError> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, st).await?;
        let form = read_form(Request::from_parts(parts, body)).await?;
        let given = form.get(CSRF_FIELD).as_bytes();
        if given.len() != session.csrf.len() || !bool::from(subtle::ConstantTimeEq::ct_eq(given, session.csrf.as_bytes())) {
            return Err(csrf_refused());
        }
        Ok(Posted { session, form })
    }
}

/// A POST of a sign-in form (no session yet): the form, whose token matched the sign-in
/// cookie set with the form (a double submit; 403 otherwise).
#[derive(Debug)]
pub(crate) struct SignInPost {
    pub form: Form,
}

impl FromRequest<Shared> for SignInPost {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, _st: &Shared) -> Result<SignInPost, ConsoleError> {
        let expected = cookie(req.headers(), SIGNIN_COOKIE).map(str::to_owned);
        let form = read_form(req).await?;
        let given = form.get(CSRF_FIELD).as_bytes();
        match expected {
            Some(e) if e.len() == given.len() && bool::from(subtle::ConstantTimeEq::ct_eq(given, e.as_bytes())) && !e.is_empty() => Ok(SignInPost { form }),
            _ => Err(csrf_refused()),
        }
    }
}

/// SHA-256 of an address as codes are kept under it (lower-cased).
pub(crate) fn email_hash(email: &str) -> [u8; 32] {
    sha(&[b"tenantsync console email\0", email.to_ascii_lowercase().as_bytes()])
}

/// SHA-256 of a code for an address in a tenant.
pub(crate) fn code_hash(tenant: TenantId, email: &str, code: &str) -> [u8; 32] {
    sha(&[b"tenantsync console code\0", tenant.as_bytes(), email.to_ascii_lowercase().as_bytes(), b"\0", code.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_parse_and_are_marked() {
        let t = TenantId::new();
        let secret = "a".repeat(64);
        let v = format!("{}.{secret}", t.as_uuid().simple());
        assert_eq!(parse_cookie(&v), Some((t, secret.as_str())));
        assert_eq!(parse_cookie("x.y"), None);
        let c = set_cookie(SESSION_COOKIE, "v", None, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/") && c.ends_with("Secure"), "{c}");
        assert!(!set_cookie(SESSION_COOKIE, "v", None, false).contains("Secure"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; tsconsole=xyz; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(csrf_of("s").len(), 32);
        assert_ne!(csrf_of("s"), csrf_of("t"));
    }
}
