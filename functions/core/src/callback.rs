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
    /// Whether a resolved (or literal) address may be called. IPv6 forms
    /// that carry an IPv4 address are judged as that address.
    pub fn allows(&self, ip: IpAddr) -> bool {
        match special(ip) {
            None => true,
            Some(Reach::Private) => self.allow_private,
            Some(Reach::Never) => false,
        }
    }
}

/// Why a `callback_url` may not be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackRefusal {
    #[error("callback_url is longer than {MAX_CALLBACK_URL_BYTES} bytes")]
    TooLong,
    #[error("callback_url is not a URL: {0}")]
    NotAUrl(#[from] url::ParseError),
    #[error("callback_url must use https, not {0}")]
    Scheme(String),
    #[error("callback_url must not carry credentials")]
    Credentials,
    #[error("callback_url must not have a fragment")]
    Fragment,
    #[error("callback_url has no host")]
    NoHost,
    #[error("callback_url must not point at localhost")]
    Localhost,
    #[error("callback_url must not point at a private, loopback or link-local address ({0})")]
    Address(IpAddr),
}

/// Checks everything that can be checked without DNS. Returns the parsed URL;
/// its host still has to resolve only to addresses [`CallbackPolicy::allows`].
pub fn check_url(raw: &str, policy: CallbackPolicy) -> Result<Url, CallbackRefusal> {
    if raw.len() > MAX_CALLBACK_URL_BYTES {
        return Err(CallbackRefusal::TooLong);
    }
    let url = Url::parse(raw)?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        other => return Err(CallbackRefusal::Scheme(other.to_owned())),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(CallbackRefusal::Credentials);
    }
    if url.fragment().is_some() {
        return Err(CallbackRefusal::Fragment);
    }
    let ip = match url.host() {
        None => return Err(CallbackRefusal::NoHost),
        Some(Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            if !policy.allow_private && (domain == "localhost" || domain.ends_with(".localhost")) {
                return Err(CallbackRefusal::Localhost);
            }
            None
        }
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
    };
    match ip {
        Some(ip) if !policy.allows(ip) => Err(CallbackRefusal::Address(ip)),
        _ => Ok(url),
    }
}

/// A globally routable unicast address: in none of the special-purpose
/// ranges below, after unwrapping IPv6 forms that embed an IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    special(ip).is_none()
}

/// Who may be called at a special-purpose address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Loopback and private networks: only with `allow_private`.
    Private,
    /// Nobody: "this network", link-local (the cloud metadata endpoints),
    /// documentation, reserved, multicast, tunnels and translation prefixes.
    Never,
}

/// IANA IPv4 Special-Purpose Address Registry (RFC 6890 and updates), plus
/// multicast; each range is refused unless it is globally reachable unicast.
const V4: &[([u8; 4], u8, Reach)] = &[
    ([0, 0, 0, 0], 8, Reach::Never),        // "this network"; 0.0.0.0 reaches the local host
    ([10, 0, 0, 0], 8, Reach::Private),     // RFC 1918
    ([100, 64, 0, 0], 10, Reach::Private),  // shared address space (CGNAT)
    ([127, 0, 0, 0], 8, Reach::Private),    // loopback
    ([169, 254, 0, 0], 16, Reach::Never),   // link-local: 169.254.169.254 is the metadata service
    ([172, 16, 0, 0], 12, Reach::Private),  // RFC 1918
    ([192, 0, 0, 0], 24, Reach::Never),     // IETF protocol assignments (DS-Lite, NAT64 discovery …)
    ([192, 0, 2, 0], 24, Reach::Never),     // TEST-NET-1
    ([192, 31, 196, 0], 24, Reach::Never),  // AS112
    ([192, 52, 193, 0], 24, Reach::Never),  // AMT
    ([192, 88, 99, 0], 24, Reach::Never),   // 6to4 relay anycast (deprecated)
    ([192, 168, 0, 0], 16, Reach::Private), // RFC 1918
    ([192, 175, 48, 0], 24, Reach::Never),  // AS112 direct delegation
    ([198, 18, 0, 0], 15, Reach::Never),    // benchmarking
    ([198, 51, 100, 0], 24, Reach::Never),  // TEST-NET-2
    ([203, 0, 113, 0], 24, Reach::Never),   // TEST-NET-3
    ([224, 0, 0, 0], 4, Reach::Never),      // multicast
    ([240, 0, 0, 0], 4, Reach::Never),      // reserved, and 255.255.255.255
];

/// IANA IPv6 Special-Purpose Address Registry, plus multicast and the
/// deprecated site-local range. The forms that embed IPv4 (mapped,
/// translated, compatible) are unwrapped before this table is read.
const V6: &[([u16; 8], u8, Reach)] = &[
    ([0, 0, 0, 0, 0, 0, 0, 0], 128, Reach::Never),              // unspecified
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, Reach::Private),            // loopback
    ([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, Reach::Never),       // NAT64 well-known prefix (embeds IPv4)
    ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, Reach::Never),       // local-use IPv4/IPv6 translation
    ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, Reach::Never),           // discard-only
    ([0x100, 0, 0, 1, 0, 0, 0, 0], 64, Reach::Never),           // dummy prefix
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, Reach::Never), // IETF protocol assignments: Teredo, ORCHID, benchmarking …
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, Reach::Never), // documentation
    ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, Reach::Never), // 6to4 (embeds IPv4)
    ([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48, Reach::Never), // AS112 direct delegation
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Reach::Never), // documentation
    ([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, Reach::Never), // segment routing SIDs
    ([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], 128, Reach::Never), // EC2 metadata over IPv6 (inside fc00::/7)
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, Reach::Private), // unique-local
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, Reach::Never), // link-local
    ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, Reach::Never), // site-local (deprecated)
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Reach::Never),  // multicast
];

/// The special-purpose range `ip` is in (the most specific entry that
/// applies first), after unwrapping an embedded IPv4 address.
fn special(ip: IpAddr) -> Option<Reach> {
    match unwrap_v4(ip) {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4).into();
            V4.iter().find(|(net, len, _)| in_prefix(bits, u32::from_be_bytes(*net).into(), *len, 32)).map(|e| e.2)
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            V6.iter().find(|(net, len, _)| in_prefix(bits, u128::from(Ipv6Addr::from(*net)), *len, 128)).map(|e| e.2)
        }
    }
}

fn in_prefix(bits: u128, net: u128, len: u8, width: u32) -> bool {
    let shift = width - u32::from(len);
    len == 0 || (bits >> shift) == (net >> shift)
}

/// The IPv4 address an IPv6 form carries and routes to: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`) and
/// IPv4-compatible (`::a.b.c.d`, deprecated; `::` and `::1` stay IPv6).
fn unwrap_v4(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s[..6] {
        [0, 0, 0, 0, 0, 0xffff] | [0, 0, 0, 0, 0xffff, 0] => IpAddr::V4(tail),
        [0, 0, 0, 0, 0, 0] if u32::from(tail) > 1 => IpAddr::V4(tail),
        _ => ip,
    }
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
            "https://[::ffff:0:7f00:1]/",
            "https://[::7f00:1]/",
            "https://[2001:0::1]/",
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "https://[fec0::1]/",
            "https://[100::1]/",
            "https://[64:ff9b::7f00:1]/",
            "https://[2002:7f00:1::]/",
            "https://[fd00:ec2::254]/",
            "https://[ff02::1]/",
            "https://[::]/",
            "https://192.0.2.10/",
            "https://198.18.0.1/",
            "https://255.255.255.255/",
            "https://240.0.0.1/",
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
        // Private networks, however they are written; never "this network",
        // link-local (metadata) or special forms, even when private is allowed.
        for ok in ["127.0.0.1", "10.0.0.1", "192.168.1.1", "::1", "fd12::1", "::ffff:127.0.0.1", "::ffff:0:a00:1"] {
            assert!(dev.allows(ok.parse().unwrap()), "{ok}");
        }
        for never in [
            "0.0.0.0",
            "::ffff:0.0.0.0",
            "::ffff:0:0.0.0.0",
            "0.1.2.3",
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
            "fe80::1",
            "::",
            "ff02::1",
            "2001::1",
        ] {
            assert!(!dev.allows(never.parse().unwrap()), "{never}");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1", "::ffff:8.8.8.8", "192.0.3.1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
