//! Where clients reach the server: the scheme, host and path prefix every `Location`,
//! `meta.location` and `$ref` starts with.
//!
//! The origin is configured ([`PublicUrl`], `serve --public-url`; by default the listen
//! address), never read from a request's `Host`: a client cannot make the server hand out
//! URLs of another host or scheme. Only behind a reverse proxy that the operator trusts
//! (`serve --trust-proxy`) do `X-Forwarded-Proto` and `X-Forwarded-Host` override the
//! configured scheme and host, and then only when they are well-formed: a scheme `http` or
//! `https`, a host name or IP address with an optional port. Anything else is ignored.
//!
//! The origin of a request is decided once, by the middleware in front of the routes
//! (`crate::observe`), and read by the routes through [`current`] (a task-local, so that
//! the operations of a Bulk request, which run through the routes inside the same task,
//! see their request's origin).
use axum::http::HeaderMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

tokio::task_local! {
    static ORIGIN: Arc<str>;
}

/// The origin when none was set (a router used without the serving middleware).
const FALLBACK: &str = "http://localhost";

/// The origin of the request being handled (`https://scim.example.com/prefix`, no
/// trailing slash).
pub(crate) fn current() -> Arc<str> {
    ORIGIN.try_with(Arc::clone).unwrap_or_else(|_| Arc::from(FALLBACK))
}

/// Runs `fut` with `origin` as the origin of its request.
pub(crate) async fn scope<F: Future>(origin: Arc<str>, fut: F) -> F::Output {
    ORIGIN.scope(origin, fut).await
}

/// The public base URL: `http` or `https`, a host (name or IP address) with an optional
/// port, and an optional path prefix (a reverse proxy that serves tenantsync under
/// `/idm` has the public URL `https://host/idm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    https: bool,
    /// `host` or `host:port`, lower-case; IPv6 addresses in brackets.
    authority: String,
    /// Empty, or `/segment[/segment…]` without a trailing slash.
    prefix: String,
}

impl PublicUrl {
    /// Parses `http[s]://host[:port][/prefix]`; no user information, query or fragment.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (https, rest) = if let Some(r) = strip_prefix_ci(url, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(url, "http://") {
            (false, r)
        } else {
            return Err("expected an http:// or https:// URL".into());
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let authority = valid_authority(authority).ok_or_else(|| format!("'{authority}' is not a host name or IP address with an optional port"))?;
        let prefix = path.trim_end_matches('/');
        let segment_ok = |s: &str| !s.is_empty() && s != "." && s != ".." && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b));
        if !prefix.is_empty() && !prefix.split('/').skip(1).all(segment_ok) {
            return Err(format!("the path '{path}' is not a plain path prefix (letters, digits, -._~ and %-escapes; no query or fragment)"));
        }
        Ok(Self { https, authority, prefix: prefix.to_owned() })
    }

    /// `http://` and the address the server listens on; an unspecified address
    /// (`0.0.0.0`, `[::]`) becomes `localhost`, which only suits local clients: set a
    /// public URL when serving others.
    pub fn from_listen(addr: SocketAddr) -> Self {
        let authority = if addr.ip().is_unspecified() { format!("localhost:{}", addr.port()) } else { addr.to_string() };
        Self { https: false, authority, prefix: String::new() }
    }

    /// The same URL with `https` (a server speaking TLS itself, `serve --tls-cert`).
    pub fn with_https(self) -> Self {
        Self { https: true, ..self }
    }

    /// Whether clients reach the server over HTTPS (the console's cookies are `Secure` then).
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Whether the host is taken from the listen address' unspecified IP.
    pub fn is_local_only(&self) -> bool {
        self.authority.starts_with("localhost:")
    }

    /// The origin of a request: this URL, with a trusted proxy's well-formed
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` in place of the scheme and host.
    pub(crate) fn for_request(&self, headers: &HeaderMap, trust_proxy: bool) -> String {
        let mut https = self.https;
        let mut authority = self.authority.as_str();
        let forwarded;
        if trust_proxy {
            match first_value(headers, "x-forwarded-proto").map(str::to_ascii_lowercase).as_deref() {
                Some("https") => https = true,
                Some("http") => https = false,
                _ => {}
            }
            if let Some(host) = first_value(headers, "x-forwarded-host").and_then(valid_authority) {
                forwarded = host;
                authority = &forwarded;
            }
        }
        format!("{}://{authority}{}", if https { "https" } else { "http" }, self.prefix)
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", if self.https { "https" } else { "http" }, self.authority, self.prefix)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) { s.get(prefix.len()..) } else { None }
}

/// The first of a header's comma-separated values (the one the client-facing proxy set),
/// trimmed; `None` when absent, empty or not text.
fn first_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let v = headers.get(name)?.to_str().ok()?;
    let first = v.split(',').next()?.trim();
    (!first.is_empty()).then_some(first)
}

/// `host` or `host:port`, lower-cased, when `s` is exactly that: a DNS name (letters,
/// digits and hyphens in dot-separated labels), an IPv4 address or a bracketed IPv6
/// address, and a port of 1 to 65535.
pub(crate) fn valid_authority(s: &str) -> Option<String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (s.get(..v6.len() + 2)?, port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(p) = port {
        let ok = !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|n| n > 0);
        if !ok {
            return None;
        }
    }
    if !host.starts_with('[') && host.parse::<IpAddr>().is_err() && !valid_dns_name(host) {
        return None;
    }
    Some(s.to_ascii_lowercase())
}

fn valid_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn public_urls_parse_to_scheme_host_and_prefix() {
        for (given, shown) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("https://SCIM.Example.com/", "https://scim.example.com"),
            ("HTTPS://scim.example.com:8443/idm/scim-proxy/", "https://scim.example.com:8443/idm/scim-proxy"),
            ("http://[::1]:8080", "http://[::1]:8080"),
        ] {
            assert_eq!(PublicUrl::parse(given).map(|u| u.to_string()), Ok(shown.to_owned()), "{given}");
        }
        for bad in [
            "scim.example.com",
            "ftp://x.example",
            "javascript:alert(1)//",
            "http://user@x.example",
            "http://x.example?x=1",
            "http://x.example/a/../b",
            "http://x.example/#f",
            "http://x.example:0",
            "http://x.example:99999",
            "http://",
            "http://-x.example",
            "http://[::1",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_listen_address_is_the_default_origin() {
        assert_eq!(PublicUrl::from_listen("127.0.0.1:8080".parse().unwrap()).to_string(), "http://127.0.0.1:8080");
        assert_eq!(PublicUrl::from_listen("[::1]:9000".parse().unwrap()).to_string(), "http://[::1]:9000");
        let any = PublicUrl::from_listen("0.0.0.0:8080".parse().unwrap());
        assert_eq!((any.to_string().as_str(), any.is_local_only()), ("http://localhost:8080", true));
    }

    #[test]
    fn request_headers_never_change_the_origin_unless_the_proxy_is_trusted() {
        let url = PublicUrl::parse("https://scim.example.com/idm").unwrap();
        let hostile = headers(&[("host", "evil.example"), ("x-forwarded-proto", "javascript:alert(1)//"), ("x-forwarded-host", "evil.example")]);
        assert_eq!(url.for_request(&hostile, false), "https://scim.example.com/idm");
        // Trusted, but malformed: ignored one by one.
        assert_eq!(url.for_request(&headers(&[("x-forwarded-proto", "javascript:alert(1)//")]), true), "https://scim.example.com/idm");
        for host in ["evil.example/@x", "evil.example:80:80", "a b", "evil.example\\x", "", "[zz]", "x.example:0"] {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-host", HeaderValue::from_str(host).unwrap());
            assert_eq!(url.for_request(&h, true), "https://scim.example.com/idm", "{host:?}");
        }
        // Trusted and well-formed: the proxy's scheme and host (the first of a list).
        let proxied = headers(&[("x-forwarded-proto", "http, https"), ("x-forwarded-host", "Public.Example:8443, internal")]);
        assert_eq!(url.for_request(&proxied, true), "http://public.example:8443/idm");
        assert_eq!(url.for_request(&headers(&[("x-forwarded-host", "[2001:db8::1]:443")]), true), "https://[2001:db8::1]:443/idm");
    }
}
