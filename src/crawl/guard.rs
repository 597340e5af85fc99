//! The address policy (SSRF guard): which addresses a source or notifier may reach.
//!
//! Addresses fall in four classes: public; loopback (this machine); private LAN ranges;
//! link-local and cloud-metadata addresses (169.254.169.254 and its kin, which hand out
//! cloud credentials). `allow_private` opens loopback and LAN; link-local and metadata
//! need their own class named, `allow_private = ["loopback", "lan", "link_local"]`.
//!
//! The check happens at connection time, after DNS resolution, so a public name that
//! resolves to 127.0.0.1 — or a redirect to one — is refused too. Literal IP hosts never
//! reach the resolver, so [`check_url`] covers them (first request and every redirect).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use url::{Host, Url};

/// Where an address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    /// This machine: 127.0.0.0/8, ::1, and the unspecified addresses that reach it.
    Loopback,
    /// Private networks: RFC 1918, unique-local fc00::/7, CGNAT 100.64.0.0/10, and the
    /// reserved, documentation and multicast ranges no public server lives in.
    Lan,
    /// Link-local (169.254.0.0/16, fe80::/10) and the cloud-metadata endpoints
    /// (169.254.169.254, fd00:ec2::254, Alibaba's 100.100.100.200, Azure's 168.63.129.16,
    /// Oracle's 192.0.0.192).
    LinkLocal,
}

impl AddressClass {
    /// The name used in `allow_private = [...]`.
    pub fn name(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Lan => "lan",
            AddressClass::LinkLocal => "link_local",
        }
    }
}

/// Cloud-metadata endpoints outside 169.254.0.0/16 and fe80::/10.
const METADATA_V4: &[Ipv4Addr] = &[
    Ipv4Addr::new(100, 100, 100, 200), // Alibaba Cloud
    Ipv4Addr::new(168, 63, 129, 16),   // Azure host (WireServer)
    Ipv4Addr::new(192, 0, 0, 192),     // Oracle Cloud
];
const METADATA_V6: &[Ipv6Addr] = &[
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254), // AWS (IPv6 IMDS)
];

/// The class of `ip`. IPv4 addresses written as IPv6 (mapped, NAT64, compatible) are
/// classed as the IPv4 address they reach.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let o = ip.octets();
    if ip.is_link_local() || METADATA_V4.contains(&ip) {
        AddressClass::LinkLocal
    } else if ip.is_loopback() || o[0] == 0 {
        // 0.0.0.0 connects to this machine.
        AddressClass::Loopback
    } else if ip.is_private()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || o[0] >= 240
    {
        AddressClass::Lan
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let seg0 = ip.segments()[0];
    if (seg0 & 0xffc0) == 0xfe80 || METADATA_V6.contains(&ip) {
        AddressClass::LinkLocal
    } else if ip.is_loopback() || ip.is_unspecified() {
        AddressClass::Loopback
    } else if (seg0 & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg0 & 0xffc0) == 0xfec0 // site local (deprecated)
        || ip.is_multicast()
        || (seg0 == 0x2001 && ip.segments()[1] == 0x0db8)
    // documentation
    {
        AddressClass::Lan
    } else {
        AddressClass::Public
    }
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:a.b.c.d), NAT64
/// (64:ff9b::/96, 64:ff9b:1::/48) and the old IPv4-compatible form (::a.b.c.d).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let last = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4])
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
    {
        return Some(last);
    }
    // ::a.b.c.d, but not :: and ::1.
    if s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1) {
        return Some(last);
    }
    None
}

/// Which address classes a source or notifier may reach besides public ones:
/// `allow_private = true` (loopback and LAN), `false` (none, the default), or a list of
/// classes, e.g. `["loopback", "lan", "link_local"]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllowPrivate {
    pub loopback: bool,
    pub lan: bool,
    pub link_local: bool,
}

impl AllowPrivate {
    pub const NONE: AllowPrivate = AllowPrivate {
        loopback: false,
        lan: false,
        link_local: false,
    };
    /// What `allow_private = true` means: this machine and the LAN, not link-local.
    pub const PRIVATE: AllowPrivate = AllowPrivate {
        loopback: true,
        lan: true,
        link_local: false,
    };

    pub fn allows(self, class: AddressClass) -> bool {
        match class {
            AddressClass::Public => true,
            AddressClass::Loopback => self.loopback,
            AddressClass::Lan => self.lan,
            AddressClass::LinkLocal => self.link_local,
        }
    }

    /// Both policies' classes (a source's and `[crawl]`'s).
    pub fn union(self, other: AllowPrivate) -> AllowPrivate {
        AllowPrivate {
            loopback: self.loopback || other.loopback,
            lan: self.lan || other.lan,
            link_local: self.link_local || other.link_local,
        }
    }

    /// A number in 0..8, one per policy (the HTTP clients are kept per policy).
    pub(crate) fn index(self) -> usize {
        self.loopback as usize | (self.lan as usize) << 1 | (self.link_local as usize) << 2
    }
}

impl From<bool> for AllowPrivate {
    fn from(b: bool) -> Self {
        if b {
            AllowPrivate::PRIVATE
        } else {
            AllowPrivate::NONE
        }
    }
}

impl<'de> serde::Deserialize<'de> for AllowPrivate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AllowPrivate;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "true (loopback and LAN), false, or a list of \"loopback\", \"lan\", \"link_local\"",
                )
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AllowPrivate, E> {
                Ok(v.into())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AllowPrivate, A::Error> {
                let mut allow = AllowPrivate::NONE;
                while let Some(class) = seq.next_element::<String>()? {
                    match class.as_str() {
                        "loopback" => allow.loopback = true,
                        "lan" => allow.lan = true,
                        "link_local" => allow.link_local = true,
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown address class `{other}` in allow_private: expected \"loopback\", \"lan\" or \"link_local\""
                            )));
                        }
                    }
                }
                Ok(allow)
            }
        }
        d.deserialize_any(V)
    }
}

/// A connection the policy refuses: says where, what class, and what to set.
#[derive(Debug, thiserror::Error)]
pub struct PrivateAddress {
    pub host: String,
    pub addr: IpAddr,
    pub class: AddressClass,
}

impl fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refusing to connect to {} ({}): ", self.host, self.addr)?;
        match self.class {
            AddressClass::LinkLocal => f.write_str(
                "it is a link-local or cloud-metadata address, which allow_private = true does not open; set allow_private = [\"loopback\", \"lan\", \"link_local\"] on this source or notifier to allow it",
            ),
            class => write!(
                f,
                "it is a private address ({}); set allow_private = true on this source or notifier to allow it",
                if class == AddressClass::Loopback {
                    "loopback"
                } else {
                    "LAN"
                }
            ),
        }
    }
}

/// Checks a URL whose host is a literal IP address against `allow`.
pub fn check_url(url: &Url, allow: AllowPrivate) -> Result<(), PrivateAddress> {
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    let class = classify(ip);
    if allow.allows(class) {
        return Ok(());
    }
    Err(PrivateAddress {
        host: url.host_str().unwrap_or_default().to_string(),
        addr: ip,
        class,
    })
}

/// A resolver that drops the addresses `allow` refuses, and fails when none is left.
/// Names are resolved by the system, or by `inner` when given (tests, benchmarks).
#[derive(Clone)]
pub struct GuardedResolver {
    pub allow: AllowPrivate,
    pub inner: Option<Arc<dyn Resolve>>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow;
        let inner = self.inner.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match inner {
                Some(r) => r.resolve(name).await?.collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| allow.allows(classify(a.ip())))
                .collect();
            if allowed.is_empty()
                && let Some(first) = addrs.first()
            {
                return Err(Box::new(PrivateAddress {
                    host,
                    addr: first.ip(),
                    class: classify(first.ip()),
                }) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        use AddressClass::*;
        for (ip, class) in [
            ("127.0.0.1", Loopback),
            ("0.0.0.0", Loopback),
            ("::1", Loopback),
            ("::", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("10.1.2.3", Lan),
            ("172.16.0.1", Lan),
            ("192.168.1.1", Lan),
            ("100.64.0.1", Lan),
            ("fd00::1", Lan),
            ("ff02::1", Lan),
            ("169.254.169.254", LinkLocal),
            ("169.254.170.2", LinkLocal),
            ("100.100.100.200", LinkLocal),
            ("168.63.129.16", LinkLocal),
            ("192.0.0.192", LinkLocal),
            ("fe80::1", LinkLocal),
            ("fd00:ec2::254", LinkLocal),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:a9fe:a9fe", LinkLocal),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("64:ff9b:1::a9fe:a9fe", LinkLocal),
            ("::169.254.169.254", LinkLocal),
            ("64:ff9b::10.0.0.1", Lan),
            ("93.184.216.34", Public),
            ("1.1.1.1", Public),
            ("2606:4700::1111", Public),
            ("64:ff9b::1.1.1.1", Public),
        ] {
            assert_eq!(classify(ip.parse().unwrap()), class, "{ip}");
        }
    }

    #[test]
    fn allow_private_true_opens_loopback_and_lan_only() {
        let p = AllowPrivate::PRIVATE;
        assert!(p.allows(AddressClass::Loopback) && p.allows(AddressClass::Lan));
        assert!(!p.allows(AddressClass::LinkLocal));
        let mut seen = std::collections::HashSet::new();
        for i in 0..8 {
            let a = AllowPrivate {
                loopback: i & 1 != 0,
                lan: i & 2 != 0,
                link_local: i & 4 != 0,
            };
            assert!(
                a.index() < 8 && seen.insert(a.index()),
                "one client per policy"
            );
        }
    }

    #[test]
    fn refusals_name_the_class_and_the_setting() {
        let u = Url::parse("http://169.254.169.254/latest/meta-data").unwrap();
        let e = check_url(&u, AllowPrivate::PRIVATE)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("link-local or cloud-metadata address")
                && e.contains(r#"allow_private = ["loopback", "lan", "link_local"]"#),
            "{e}"
        );
        let all = AllowPrivate {
            link_local: true,
            ..AllowPrivate::PRIVATE
        };
        assert!(check_url(&u, all).is_ok());
        let u = Url::parse("http://[::1]:8080/").unwrap();
        let e = check_url(&u, AllowPrivate::NONE).unwrap_err().to_string();
        assert!(
            e.contains("private address (loopback)") && e.contains("allow_private = true"),
            "{e}"
        );
        let u = Url::parse("http://10.0.0.1/").unwrap();
        let e = check_url(&u, AllowPrivate::NONE).unwrap_err().to_string();
        assert!(e.contains("private address (LAN)"), "{e}");
        assert!(check_url(&u, AllowPrivate::PRIVATE).is_ok());
        assert!(
            check_url(
                &Url::parse("http://example.com/").unwrap(),
                AllowPrivate::NONE
            )
            .is_ok()
        );
    }

    #[test]
    fn allow_private_reads_booleans_and_class_lists() {
        #[derive(serde::Deserialize)]
        struct T {
            allow_private: AllowPrivate,
        }
        let read = |s: &str| toml::from_str::<T>(s).map(|t| t.allow_private);
        assert_eq!(read("allow_private = true").unwrap(), AllowPrivate::PRIVATE);
        assert_eq!(read("allow_private = false").unwrap(), AllowPrivate::NONE);
        assert_eq!(
            read(r#"allow_private = ["link_local"]"#).unwrap(),
            AllowPrivate {
                link_local: true,
                ..AllowPrivate::NONE
            }
        );
        let e = read(r#"allow_private = ["lan", "metadata"]"#).unwrap_err();
        assert!(
            e.to_string().contains("unknown address class `metadata`"),
            "{e}"
        );
        let e = read(r#"allow_private = "yes""#).unwrap_err();
        assert!(e.to_string().contains("a list of \"loopback\""), "{e}");
    }
}
