//! Webhook delivery by the Standard Webhooks specification: each attempt POSTs the
//! event document with `webhook-id` (the event id, the same on every attempt),
//! `webhook-timestamp` (Unix seconds) and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the decoded bytes of the
//! endpoint's `whsec_` secret; during a rotation a second signature by the previous
//! secret, space-separated). Any 2xx answer is a delivery; redirects are never
//! followed; an attempt gives up after 10 s.
//!
//! Endpoints must be public: every address a host resolves to is checked, at
//! registration and again at every delivery by the resolver the client connects
//! through (so a name that resolves elsewhere later is caught too). Private, loopback,
//! shared, unspecified, multicast and documentation ranges are refused unless
//! `OTA_WEBHOOK_ALLOW_HOSTS` lists the host or a CIDR holding the address; link-local
//! (cloud metadata at 169.254.169.254, fe80::/10) is refused always.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac as _};
use ipnet::IpNet;
use rand::Rng as _;
use sha2::Sha256;

/// How long one attempt may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill(&mut key[..]);
    format!("whsec_{}", B64.encode(key))
}

/// The `v1,<base64>` signature of `id.timestamp.body` with `secret` (`whsec_…`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = B64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|e| format!("the endpoint's secret does not decode: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// What `OTA_WEBHOOK_ALLOW_HOSTS` lets through besides public addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    pub hosts: Vec<String>,
    pub nets: Vec<IpNet>,
}

impl std::str::FromStr for AllowList {
    type Err = String;
    /// `hooks.internal, 10.0.0.0/8, 127.0.0.1`: host names, addresses and CIDRs.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut list = AllowList::default();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Ok(net) = entry.parse::<IpNet>() {
                list.nets.push(net);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else if entry.contains('/') {
                return Err(format!("{entry:?} is not a CIDR"));
            } else {
                list.hosts.push(entry.to_ascii_lowercase());
            }
        }
        Ok(list)
    }
}

impl AllowList {
    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Why `ip` (reached through `host`) may not be called, if it may not.
    pub fn refuse(&self, host: &str, ip: IpAddr) -> Option<String> {
        // An IPv4 address carried inside an IPv6 one is judged as itself.
        let ip = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let range = match ip {
            IpAddr::V4(v4) if v4.is_link_local() => {
                return Some(format!("{ip} is link-local, which is never called"));
            }
            IpAddr::V6(v6) if v6.is_unicast_link_local() => {
                return Some(format!("{ip} is link-local, which is never called"));
            }
            IpAddr::V4(v4) => {
                let [a, b, ..] = v4.octets();
                if v4.is_loopback() {
                    Some("loopback")
                } else if v4.is_private() {
                    Some("private")
                } else if a == 100 && (64..128).contains(&b) {
                    Some("shared (carrier-grade NAT)")
                } else if v4.is_unspecified() || a == 0 {
                    Some("unspecified")
                } else if v4.is_multicast() || v4.is_broadcast() || a >= 240 {
                    Some("multicast or reserved")
                } else if v4.is_documentation() || (a == 198 && (18..20).contains(&b)) {
                    Some("documentation or benchmarking")
                } else if (a, b) == (192, 0) || (a, b, v4.octets()[2]) == (192, 88, 99) {
                    Some("reserved (protocol assignments, 6to4 relays)")
                } else {
                    None
                }
            }
            IpAddr::V6(v6) => {
                let [s0, s1, ..] = v6.segments();
                if v6.is_loopback() {
                    Some("loopback")
                } else if v6.is_unique_local() {
                    Some("private (unique local)")
                } else if v6.is_unspecified() {
                    Some("unspecified")
                } else if v6.is_multicast() {
                    Some("multicast")
                } else if s0 & 0xe000 != 0x2000 {
                    // Only 2000::/3 is global unicast (site-local, discard, NAT64's
                    // local-use prefix and the rest are not).
                    Some("reserved (outside global unicast)")
                } else if s0 == 0x2001 && s1 < 0x0200 {
                    Some("reserved (IETF protocol assignments, Teredo, benchmarking)")
                } else if (s0, s1) == (0x2001, 0x0db8) || s0 & 0xfff0 == 0x3ff0 {
                    Some("documentation")
                } else {
                    None
                }
            }
        }?;
        if self.host_allowed(host) || self.nets.iter().any(|n| n.contains(&ip)) {
            return None;
        }
        Some(format!(
            "{ip} is {range}; only public addresses are called unless OTA_WEBHOOK_ALLOW_HOSTS allows them"
        ))
    }

    /// Resolves `host` and checks every address: all of them, or an error naming the
    /// first refused.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| format!("{host} does not resolve: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("{host} does not resolve"));
        }
        for a in &addrs {
            if let Some(why) = self.refuse(bare, a.ip()) {
                return Err(format!("{host}: {why}"));
            }
        }
        Ok(addrs)
    }

    /// Checks an endpoint URL as registered: `https` (or `http` for an allowed host),
    /// no credentials, a host that resolves only to addresses that may be called.
    pub async fn check_url(&self, raw: &str) -> Result<url::Url, String> {
        if raw.len() > 2048 {
            return Err("is longer than 2048 characters".to_owned());
        }
        let url = url::Url::parse(raw.trim()).map_err(|e| format!("is not a URL ({e})"))?;
        let host = url
            .host_str()
            .ok_or_else(|| "has no host".to_owned())?
            .to_owned();
        match url.scheme() {
            "https" => {}
            "http" if self.host_allowed(&host) || self.literal_allowed(&host) => {}
            "http" => {
                return Err(
                    "must be https:// (plain http:// only for hosts OTA_WEBHOOK_ALLOW_HOSTS lists)"
                        .to_owned(),
                );
            }
            _ => return Err("must be an https:// URL".to_owned()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password".to_owned());
        }
        let port = url.port_or_known_default().unwrap_or(443);
        self.resolve(&host, port).await?;
        Ok(url)
    }

    fn literal_allowed(&self, host: &str) -> bool {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| self.nets.iter().any(|n| n.contains(&ip)))
    }
}

/// The IPv4 address an IPv6 one carries: IPv4-mapped (`::ffff:a.b.c.d`), translated
/// (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4
/// (`2002:AABB:CCDD::/48`).
fn embedded_v4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let tail = || {
        let o = v6.octets();
        std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15])
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        [0, 0, 0, 0, 0xffff, 0, _, _] => Some(tail()),
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => Some(tail()),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail()),
        [0x2002, hi, lo, ..] => {
            let [a, b] = hi.to_be_bytes();
            let [c, d] = lo.to_be_bytes();
            Some(std::net::Ipv4Addr::new(a, b, c, d))
        }
        _ => None,
    }
}

/// The client's resolver: every address checked at every connection.
struct Guard(Arc<AllowList>);

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let list = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = list.resolve(&host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client of webhook deliveries: checked addresses, no redirects, no proxy,
/// 10 s per attempt, TLS with the web's public roots.
pub fn client(allow: Arc<AllowList>) -> anyhow::Result<reqwest::Client> {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .dns_resolver(Arc::new(Guard(allow)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .user_agent(concat!("OTA-Travel-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// A literal IP host never goes through the resolver: check it before connecting.
pub fn literal_refused(allow: &AllowList, url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    let ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()?;
    allow.refuse(host, ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The specification's published example.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).expect("test data"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn new_secrets_are_32_random_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let key = B64
            .decode(a.strip_prefix("whsec_").expect("test data"))
            .expect("test data");
        assert_eq!(key.len(), 32);
    }

    #[test]
    fn only_public_addresses_pass_unless_allowed_and_link_local_never() {
        let none = AllowList::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "169.254.169.254",
            "fe80::1",
        ] {
            assert!(
                none.refuse("h", ip.parse().expect("test data")).is_some(),
                "{ip}"
            );
        }
        // IPv4 inside IPv6, and IPv6 outside the global unicast range.
        for ip in [
            "::a9fe:a9fe",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "64:ff9b::a00:1",
            "64:ff9b:1::a00:1",
            "::ffff:0:a00:1",
            "fec0::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "3fff::1",
            "192.0.0.170",
            "192.88.99.1",
        ] {
            assert!(
                none.refuse("h", ip.parse().expect("test data")).is_some(),
                "{ip}"
            );
        }
        assert!(
            none.refuse("h", "::a9fe:a9fe".parse().expect("test data"))
                .is_some_and(|why| why.contains("link-local")),
            "the metadata address in IPv6 clothing is link-local still"
        );
        for ip in [
            "93.184.216.34",
            "2606:4700::1111",
            "2002:5db8:d822::1",
            "64:ff9b::5db8:d822",
        ] {
            assert!(
                none.refuse("h", ip.parse().expect("test data")).is_none(),
                "{ip}"
            );
        }
        let some: AllowList = "hooks.internal, 127.0.0.0/8, 10.0.0.5, 169.254.0.0/16"
            .parse()
            .expect("test data");
        assert!(
            some.refuse("x", "127.0.0.1".parse().expect("test data"))
                .is_none()
        );
        assert!(
            some.refuse("x", "10.0.0.5".parse().expect("test data"))
                .is_none()
        );
        assert!(
            some.refuse("x", "10.0.0.6".parse().expect("test data"))
                .is_some()
        );
        assert!(
            some.refuse("hooks.internal", "10.9.9.9".parse().expect("test data"))
                .is_none()
        );
        assert!(
            some.refuse(
                "hooks.internal",
                "169.254.169.254".parse().expect("test data")
            )
            .is_some()
        );
        assert!("10.0.0.0/33".parse::<AllowList>().is_err());
    }
}
