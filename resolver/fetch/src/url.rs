//! List URLs: `http://` and `https://` only, parsed by the `url` crate (WHATWG rules, the
//! same parser browsers follow; no_std + alloc, and already in the image through
//! hickory-proto), then narrowed to what a list fetch can use.

use alloc::string::{String, ToString};
use core::fmt;
use core::net::IpAddr;

/// The longest URL taken, from a boot argument or a `Location` header.
pub const MAX_URL_LEN: usize = 2048;

/// The two schemes a list can be fetched with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Where the server is: a name the caller must resolve, or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A DNS name, lowercase, IDNA-encoded (ASCII), without a trailing dot.
    Name(String),
    Ip(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            Host::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
        }
    }
}

/// A parsed list URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    inner: url::Url,
    scheme: Scheme,
    host: Host,
    port: u16,
}

/// Why a URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlError {
    /// Longer than [`MAX_URL_LEN`].
    TooLong,
    /// Not a URL at all (the `url` crate's reason).
    Syntax(url::ParseError),
    /// A scheme other than `http` or `https`.
    Scheme,
    /// `user:password@` in the URL: credentials are not sent.
    Credentials,
    /// No host (`http:///x`) or an empty one.
    NoHost,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::TooLong => write!(f, "URL longer than {MAX_URL_LEN} bytes"),
            UrlError::Syntax(e) => write!(f, "not a URL: {e}"),
            UrlError::Scheme => f.write_str("only http:// and https:// URLs can be fetched"),
            UrlError::Credentials => f.write_str("URLs with user:password@ are not supported"),
            UrlError::NoHost => f.write_str("URL has no host"),
        }
    }
}

impl Url {
    /// Parses an absolute `http://` or `https://` URL.
    pub fn parse(s: &str) -> Result<Url, UrlError> {
        if s.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        Url::from_inner(url::Url::parse(s).map_err(UrlError::Syntax)?)
    }

    /// Resolves a `Location` header's value against this URL (it may be absolute,
    /// scheme-relative, path-absolute or relative, as RFC 9110 §10.2.2 allows).
    pub fn join(&self, location: &str) -> Result<Url, UrlError> {
        if location.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        Url::from_inner(self.inner.join(location).map_err(UrlError::Syntax)?)
    }

    fn from_inner(mut inner: url::Url) -> Result<Url, UrlError> {
        let scheme = match inner.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(UrlError::Scheme),
        };
        if !inner.username().is_empty() || inner.password().is_some() {
            return Err(UrlError::Credentials);
        }
        let host = match inner.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => {
                Host::Name(d.trim_end_matches('.').to_ascii_lowercase())
            }
            Some(url::Host::Ipv4(a)) => Host::Ip(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Host::Ip(IpAddr::V6(a)),
            _ => return Err(UrlError::NoHost),
        };
        if matches!(&host, Host::Name(n) if n.is_empty()) {
            return Err(UrlError::NoHost);
        }
        // The fragment never leaves the client.
        inner.set_fragment(None);
        if inner.as_str().len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        let port = inner.port().unwrap_or(scheme.default_port());
        Ok(Url {
            inner,
            scheme,
            host,
            port,
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target: path and query (`/lists/ads.txt?v=2`), never empty.
    pub fn path_and_query(&self) -> String {
        let mut s = self.inner.path().to_string();
        if s.is_empty() {
            s.push('/');
        }
        if let Some(q) = self.inner.query() {
            s.push('?');
            s.push_str(q);
        }
        s
    }

    /// The `Host` header's value: the host, and the port when it is not the default.
    pub fn authority(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.to_string()
        } else {
            alloc::format!("{}:{}", self.host, self.port)
        }
    }

    pub fn as_str(&self) -> &str {
        self.inner.as_str()
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.inner.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn http_and_https_with_ports_and_paths() {
        let u = Url::parse("https://Lists.Example/ads/hosts.txt?x=1#frag").unwrap();
        assert_eq!(u.scheme(), Scheme::Https);
        assert_eq!(u.host(), &Host::Name("lists.example".into()));
        assert_eq!(u.port(), 443);
        assert_eq!(u.path_and_query(), "/ads/hosts.txt?x=1");
        assert_eq!(u.authority(), "lists.example");
        assert_eq!(u.as_str(), "https://lists.example/ads/hosts.txt?x=1");

        let u = Url::parse("http://10.0.0.9:8080").unwrap();
        assert_eq!(u.host(), &Host::Ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9))));
        assert_eq!(u.port(), 8080);
        assert_eq!(u.path_and_query(), "/");
        assert_eq!(u.authority(), "10.0.0.9:8080");

        let u = Url::parse("http://[fd00::1]:80/l").unwrap();
        assert_eq!(
            u.host(),
            &Host::Ip(IpAddr::V6("fd00::1".parse::<Ipv6Addr>().unwrap()))
        );
        assert_eq!(u.port(), 80);
        assert_eq!(u.authority(), "[fd00::1]");
    }

    #[test]
    fn other_schemes_and_junk_are_refused() {
        assert_eq!(Url::parse("ftp://x.example/l"), Err(UrlError::Scheme));
        assert_eq!(Url::parse("file:///etc/hosts"), Err(UrlError::Scheme));
        assert_eq!(
            Url::parse("https://u:p@x.example/"),
            Err(UrlError::Credentials)
        );
        assert!(matches!(
            Url::parse("lists.example/x"),
            Err(UrlError::Syntax(_))
        ));
        assert!(matches!(Url::parse("http://"), Err(UrlError::Syntax(_))));
        assert!(matches!(
            Url::parse("http://a b/"),
            Err(UrlError::Syntax(_))
        ));
        assert!(matches!(
            Url::parse("http://x.example:99999/"),
            Err(UrlError::Syntax(_))
        ));
        let long = alloc::format!("http://x.example/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(Url::parse(&long), Err(UrlError::TooLong));
        // Every error has a one-line message.
        assert!(!UrlError::Scheme.to_string().contains('\n'));
    }

    #[test]
    fn redirect_locations_resolve_against_the_url() {
        let u = Url::parse("https://a.example/lists/one.txt").unwrap();
        assert_eq!(
            u.join("two.txt").unwrap().as_str(),
            "https://a.example/lists/two.txt"
        );
        assert_eq!(u.join("/x").unwrap().as_str(), "https://a.example/x");
        assert_eq!(
            u.join("//b.example/y").unwrap().as_str(),
            "https://b.example/y"
        );
        assert_eq!(u.join("http://c.example:81/z").unwrap().port(), 81);
        assert_eq!(u.join("gopher://d/"), Err(UrlError::Scheme));
    }
}
