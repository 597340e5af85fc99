//! Refuses connections to private addresses (SSRF guard).
//!
//! The check happens at connection time, after DNS resolution, so a public name that
//! resolves to 127.0.0.1 — or a redirect to one — is refused too. Literal IP hosts never
//! reach the resolver, so [`check_url`] covers them (first request and every redirect).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Loopback, private (RFC 1918), link-local, unique-local (fc00::/7), CGNAT, unspecified,
/// multicast, broadcast, documentation and IPv4-mapped forms of those.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_v4(v4);
            }
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg0 & 0xffc0) == 0xfe80 // link local fe80::/10
                || (seg0 == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0) // NAT64 prefix itself
        }
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || o[0] >= 240 // reserved
}

#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to connect to {host} ({addr}): it is a private address; set allow_private = true on this source or notifier to allow it"
)]
pub struct PrivateAddress {
    pub host: String,
    pub addr: IpAddr,
}

/// Checks a URL whose host is a literal IP address.
pub fn check_url(url: &Url) -> Result<(), PrivateAddress> {
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    if is_private(ip) {
        return Err(PrivateAddress {
            host: url.host_str().unwrap_or_default().to_string(),
            addr: ip,
        });
    }
    Ok(())
}

/// A resolver that drops private addresses and fails when nothing public is left.
#[derive(Debug, Default, Clone)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| !is_private(a.ip()))
                .collect();
            if public.is_empty()
                && let Some(first) = addrs.first()
            {
                return Err(Box::new(PrivateAddress {
                    host,
                    addr: first.ip(),
                }) as _);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        for p in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(p.parse().unwrap()), "{p}");
        }
        for p in ["93.184.216.34", "2606:4700::1111", "1.1.1.1"] {
            assert!(!is_private(p.parse().unwrap()), "{p}");
        }
    }

    #[test]
    fn literal_private_url_refused() {
        let u = Url::parse("http://169.254.169.254/latest/meta-data").unwrap();
        let e = check_url(&u).unwrap_err();
        assert!(e.to_string().contains("allow_private"));
        assert!(check_url(&Url::parse("http://example.com/").unwrap()).is_ok());
    }
}
