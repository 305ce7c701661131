//! `callback_url`: what may be called back. The URL is checked when the job is
//! created (syntax, scheme, IP literals, and — by the API — every address the
//! host resolves to) and again at every delivery, where the client pins the
//! addresses it checked so DNS cannot be switched in between (rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

pub const MAX_CALLBACK_URL_BYTES: usize = 2048;

/// Which destinations configuration allows beyond public https ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallbackPolicy {
    /// Private, loopback, link-local, CGNAT and unique-local addresses
    /// (`FERRY_CALLBACK_ALLOW_PRIVATE`): for tests and private deployments.
    pub allow_private: bool,
    /// Plain http (`FERRY_CALLBACK_ALLOW_HTTP`): for local development only.
    pub allow_http: bool,
}

impl CallbackPolicy {
    /// `FERRY_CALLBACK_ALLOW_PRIVATE` / `FERRY_CALLBACK_ALLOW_HTTP` = `true`.
    pub fn from_env() -> CallbackPolicy {
        let on = |name: &str| std::env::var(name).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
        CallbackPolicy {
            allow_private: on("FERRY_CALLBACK_ALLOW_PRIVATE"),
            allow_http: on("FERRY_CALLBACK_ALLOW_HTTP"),
        }
    }

    /// Whether a resolved (or literal) address may be called.
    pub fn allows(&self, ip: IpAddr) -> bool {
        is_public(ip) || (self.allow_private && !ip.is_unspecified() && !ip.is_multicast())
    }
}

/// Checks everything that can be checked without DNS. Returns the parsed URL;
/// its host still has to resolve only to addresses [`CallbackPolicy::allows`].
pub fn check_url(raw: &str, policy: CallbackPolicy) -> Result<Url, String> {
    if raw.len() > MAX_CALLBACK_URL_BYTES {
        return Err(format!("callback_url is longer than {MAX_CALLBACK_URL_BYTES} bytes"));
    }
    let url = Url::parse(raw).map_err(|e| format!("callback_url is not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        other => return Err(format!("callback_url must use https, not {other}")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("callback_url must not carry credentials".into());
    }
    if url.fragment().is_some() {
        return Err("callback_url must not have a fragment".into());
    }
    let ip = match url.host() {
        None => return Err("callback_url has no host".into()),
        Some(Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            if !policy.allow_private && (domain == "localhost" || domain.ends_with(".localhost")) {
                return Err("callback_url must not point at localhost".into());
            }
            None
        }
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
    };
    if let Some(ip) = ip
        && !policy.allows(ip)
    {
        return Err(format!("callback_url must not point at a private, loopback or link-local address ({ip})"));
    }
    Ok(url)
}

/// A globally routable unicast address. Everything a server-side request
/// forger would aim at is excluded: loopback, RFC 1918, link-local (and so the
/// cloud metadata endpoint 169.254.169.254), CGNAT, unique-local, documentation,
/// benchmarking, reserved, multicast, and IPv6 forms that embed a v4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 (embeds v4)
        || first == 0x2002 // 6to4 (embeds v4)
        || ip.to_ipv4().is_some()) // v4-compatible ::a.b.c.d
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: CallbackPolicy = CallbackPolicy { allow_private: false, allow_http: false };

    #[test]
    fn only_https_to_public_hosts_passes_by_default() {
        assert!(check_url("https://hooks.example.com/ferry?x=1", STRICT).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://localhost/",
            "https://api.localhost./",
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://2130706433/",
            "https://0x7f.0.0.1/",
            "not a url",
            "https://example.com/#frag",
        ] {
            assert!(check_url(bad, STRICT).is_err(), "{bad} should be refused");
        }
        assert!(check_url(&format!("https://example.com/{}", "a".repeat(3000)), STRICT).is_err());
    }

    #[test]
    fn configuration_can_allow_loopback_and_http() {
        let dev = CallbackPolicy { allow_private: true, allow_http: true };
        assert!(check_url("http://127.0.0.1:9000/hook", dev).is_ok());
        assert!(check_url("https://localhost/hook", dev).is_ok());
        assert!(check_url("https://0.0.0.0/", dev).is_err(), "unspecified is never a destination");
        assert!(!dev.allows("224.0.0.1".parse().unwrap()));
    }

    #[test]
    fn public_addresses_are_public() {
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
