//! The connection to the directory and the rules every operation follows: one
//! connection, bound once and shared (ldap3 multiplexes the operations in flight on it),
//! made again when it drops; a timeout on every operation; connection failures and
//! busy/unavailable answers retried with backoff; LDAP result codes mapped onto
//! [`ConnectorError`] (the credentials' fault, the system's, or one object's).
use crate::ConnectorError;
use crate::secret::Secret;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

/// Attempts of an operation that fails for a reason that may pass.
const ATTEMPTS: u32 = 4;
/// Entries a page of a paged search holds.
const PAGE: i32 = 500;
/// The Simple Paged Results control (RFC 2696).
pub const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";

/// The name of an LDAP result code (RFC 4511, appendix A).
pub fn code_name(rc: u32) -> &'static str {
    match rc {
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        54 => "loopDetect",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        71 => "affectsMultipleDSAs",
        80 => "other",
        123 => "authorizationDenied",
        _ => "unknown",
    }
}

/// How an operation failed, before it is told as a [`ConnectorError`].
#[derive(Debug)]
enum Failure {
    /// The connection: refused, reset, TLS, a timeout. Retried on a new connection.
    Connection(String),
    /// The server's certificate is not trusted (or not for this host): no retry makes it
    /// so.
    Certificate(String),
    /// The server answered with this result code.
    Result { rc: u32, text: String },
    /// Anything else ldap3 reports (a filter it cannot encode, …): this object's.
    Other(String),
}

fn failure(e: LdapError) -> Failure {
    match e {
        LdapError::LdapResult { result } => Failure::Result { rc: result.rc, text: result.text },
        // tokio-rustls tells a refused certificate as an I/O error of the handshake.
        LdapError::Io { ref source } if source.get_ref().is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) => {
            Failure::Certificate(e.to_string())
        }
        LdapError::Rustls { .. } | LdapError::DNSName { .. } => Failure::Certificate(e.to_string()),
        LdapError::Io { .. }
        | LdapError::OpSend { .. }
        | LdapError::ResultRecv { .. }
        | LdapError::IdScrubSend { .. }
        | LdapError::MiscSend { .. }
        | LdapError::Timeout { .. }
        | LdapError::EndOfStream => Failure::Connection(e.to_string()),
        other => Failure::Other(other.to_string()),
    }
}

/// The result codes that pass with time (retried, then the system is paused).
fn transient(rc: u32) -> bool {
    matches!(rc, 3 | 51 | 52 | 80)
}

/// The TLS settings of a connector with its own CA file: the certificate authorities in
/// it, and no others (rustls with ring, the workspace's one crypto backend). A file that
/// cannot be read or holds no PEM certificate is the connector's settings' fault.
pub fn tls_config(ca_file: &str) -> Result<Arc<rustls::ClientConfig>, ConnectorError> {
    let bad = |reason: String| ConnectorError::InvalidSettings { reason: format!("the CA file '{ca_file}' {reason}") };
    let pem = std::fs::read(ca_file).map_err(|e| bad(format!("cannot be read: {e}")))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(format!("is not PEM: {e}")))?;
        roots.add(cert).map_err(|e| bad(format!("holds a certificate rustls refuses: {e}")))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()));
    }
    // ring: the backend the workspace's other rustls users build (see server/src/tls.rs).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

pub struct Conn {
    url: String,
    start_tls: bool,
    /// The TLS settings when the connector names its CA file (else ldap3's: the system's
    /// roots).
    tls: Option<Arc<rustls::ClientConfig>>,
    bind_dn: String,
    password: Option<Secret>,
    timeout: Duration,
    handle: Mutex<Option<Ldap>>,
    paged: AtomicBool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("url", &self.url).field("start_tls", &self.start_tls).field("own_ca", &self.tls.is_some()).finish_non_exhaustive()
    }
}

impl Conn {
    pub fn new(url: &str, start_tls: bool, tls: Option<Arc<rustls::ClientConfig>>, bind_dn: &str, password: Option<Secret>, timeout: Duration) -> Conn {
        Conn { url: url.to_owned(), start_tls, tls, bind_dn: bind_dn.to_owned(), password, timeout, handle: Mutex::new(None), paged: AtomicBool::new(false) }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The error an operation's failure is, for the object (or system) named by `what`.
    fn error(&self, what: &str, f: Failure) -> ConnectorError {
        let url = self.url.clone();
        match f {
            Failure::Connection(reason) => ConnectorError::Unreachable { url, reason },
            Failure::Certificate(reason) => ConnectorError::Unreachable {
                url,
                reason: format!("the server's TLS certificate is not trusted ({reason}); name the CA that issued it in the connector's caFile (--ca-file)"),
            },
            Failure::Result { rc, text } => {
                let detail = format!("LDAP {rc} {}{}{} ({what})", code_name(rc), if text.is_empty() { "" } else { ": " }, text.trim());
                // The error's status is the HTTP status the same fault has in SCIM (401/403,
                // 5xx, 404/409/422): what the exporter decides by; the LDAP code is named.
                let denied = |status| ConnectorError::AuthFailed { url: format!("{url} ({what}: LDAP {rc} {})", code_name(rc)), status };
                match rc {
                    7 | 8 | 13 | 48 | 49 => denied(401),
                    50 | 123 => denied(403),
                    3 => ConnectorError::ServerFailed { url, status: 504, detail },
                    51 | 52 | 80 => ConnectorError::ServerFailed { url, status: 503, detail },
                    1 | 2 | 11 | 12 | 54 | 71 => ConnectorError::ServerFailed { url, status: 502, detail },
                    32 => ConnectorError::Refused { url, status: 404, detail },
                    68 | 20 => ConnectorError::Refused { url, status: 409, detail },
                    _ => ConnectorError::Refused { url, status: 422, detail },
                }
            }
            Failure::Other(reason) => ConnectorError::Refused { url, status: 400, detail: format!("{reason} ({what})") },
        }
    }

    /// The bound connection, made (and bound) when there is none or it dropped.
    async fn handle(&self) -> Result<Ldap, Failure> {
        let mut slot = self.handle.lock().await;
        if let Some(h) = slot.as_mut()
            && !h.is_closed()
        {
            return Ok(h.clone());
        }
        *slot = None;
        let mut settings = LdapConnSettings::new().set_conn_timeout(self.timeout).set_starttls(self.start_tls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.url).await.map_err(failure)?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "LDAP connection ended");
            }
        });
        let password = self.password.as_ref().map_or("", |p| p.expose());
        let bound = tokio::time::timeout(self.timeout, ldap.simple_bind(&self.bind_dn, password)).await;
        match bound {
            Err(_) => return Err(Failure::Connection("the bind timed out".into())),
            Ok(r) => {
                r.map_err(failure)?.success().map_err(failure)?;
            }
        }
        // Whether searches can be paged: the root DSE's supported controls.
        let dse = tokio::time::timeout(self.timeout, ldap.search("", Scope::Base, "(objectClass=*)", vec!["supportedControl"])).await;
        if let Ok(Ok(found)) = dse {
            let paged = found.0.into_iter().map(SearchEntry::construct).any(|e| e.attrs.values().flatten().any(|c| c == PAGED_RESULTS_OID));
            self.paged.store(paged, Ordering::Relaxed);
        }
        *slot = Some(ldap.clone());
        Ok(ldap)
    }

    /// Drops the shared connection (unbinding it) when `hung` (it timed out but looks
    /// alive) or when it is closed. A connection another operation made since is left
    /// alone: several operations in flight see one drop, and the first to retry has
    /// already made the next connection.
    async fn reset(&self, hung: bool) {
        let mut slot = self.handle.lock().await;
        if slot.as_mut().is_some_and(|h| hung || h.is_closed())
            && let Some(mut h) = slot.take()
        {
            let _ = h.unbind().await;
        }
    }

    /// Runs one operation: on the shared connection, with the timeout, retrying what may
    /// pass. `what` names the object for messages.
    pub async fn run<T, F, Fut>(&self, what: &str, op: F) -> Result<T, ConnectorError>
    where
        F: Fn(Ldap) -> Fut,
        Fut: Future<Output = Result<T, LdapError>>,
    {
        self.attempts(what, op, None).await
    }

    /// Runs one write as [`Conn::run`] does. A write repeated after its connection was lost
    /// may have been carried out by the attempt whose answer was lost; the server then
    /// refuses it with one of the codes `done` names (`entryAlreadyExists` for an add,
    /// `attributeOrValueExists` or `noSuchAttribute` for a member added or removed,
    /// `noSuchObject` for a delete or a rename), which then means done, not refused.
    pub async fn write<F, Fut>(&self, what: &str, done: &[u32], op: F) -> Result<(), ConnectorError>
    where
        F: Fn(Ldap) -> Fut,
        Fut: Future<Output = Result<(), LdapError>>,
    {
        self.attempts(what, op, Some((done, ()))).await
    }

    async fn attempts<T, F, Fut>(&self, what: &str, op: F, already: Option<(&[u32], T)>) -> Result<T, ConnectorError>
    where
        F: Fn(Ldap) -> Fut,
        Fut: Future<Output = Result<T, LdapError>>,
    {
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 0;
        // An earlier attempt was sent and its answer lost with the connection.
        let mut lost = false;
        let mut already = already;
        loop {
            attempt += 1;
            let outcome = match self.handle().await {
                Err(f) => Err((f, true)),
                Ok(h) => match tokio::time::timeout(self.timeout, op(h)).await {
                    Err(_) => Err((Failure::Connection(format!("timed out after {} s", self.timeout.as_secs())), false)),
                    Ok(r) => r.map_err(|e| (failure(e), false)),
                },
            };
            let (f, binding) = match outcome {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            let again = match &f {
                Failure::Connection(reason) => {
                    self.reset(reason.starts_with("timed out")).await;
                    lost |= !binding;
                    true
                }
                Failure::Result { rc, .. } if lost && already.as_ref().is_some_and(|(codes, _)| codes.contains(rc)) => {
                    if let Some((_, v)) = already.take() {
                        tracing::debug!(what, rc, "LDAP: a repeated write was already carried out");
                        return Ok(v);
                    }
                    false
                }
                Failure::Result { rc, .. } => transient(*rc),
                Failure::Certificate(_) => {
                    self.reset(true).await;
                    false
                }
                Failure::Other(_) => false,
            };
            if !again || attempt >= ATTEMPTS {
                return Err(if binding { self.error(&format!("bind as {}", self.bind_dn), f) } else { self.error(what, f) });
            }
            tokio::time::sleep(backoff).await;
            backoff *= 4;
        }
    }

    /// Whether the server pages searches (known once connected).
    pub fn paged(&self) -> bool {
        self.paged.load(Ordering::Relaxed)
    }

    /// Every entry under `base` matching `filter`, a page at a time where the server
    /// pages. A base that does not exist holds nothing.
    pub async fn search(&self, base: &str, scope: Scope, filter: &str, attrs: &[&str]) -> Result<Vec<SearchEntry>, ConnectorError> {
        let paged = self.paged.load(Ordering::Relaxed);
        let attrs: Vec<String> = attrs.iter().map(|a| (*a).to_owned()).collect();
        let what = format!("search under '{base}' for {filter}");
        let found = self
            .run(&what, |mut h| {
                let attrs = attrs.clone();
                async move {
                    let mut adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> = vec![Box::new(EntriesOnly::new())];
                    if paged {
                        adapters.push(Box::new(PagedResults::new(PAGE)));
                    }
                    let mut stream = h.streaming_search_with(adapters, base, scope, filter, attrs).await?;
                    let mut entries = Vec::new();
                    while let Some(e) = stream.next().await? {
                        entries.push(SearchEntry::construct(e));
                    }
                    let done = stream.finish().await;
                    match done.rc {
                        0 | 32 => Ok(entries),
                        _ => Err(LdapError::LdapResult { result: done }),
                    }
                }
            })
            .await?;
        Ok(found)
    }

    /// One entry's attributes, by its DN; `None` when there is no such entry.
    pub async fn read(&self, dn: &str, attrs: &[&str]) -> Result<Option<SearchEntry>, ConnectorError> {
        Ok(self.search(dn, Scope::Base, "(objectClass=*)", attrs).await?.into_iter().next())
    }
}
