//! Who the client of a request is, for per-address limits: the TCP peer,
//! or — only when that peer is a reverse proxy listed in `TRUSTED_PROXIES` —
//! the address the proxy reports in `X-Forwarded-For`.
//!
//! `X-Forwarded-For` is written by whoever sends the request, so it is
//! believed only as far as it was appended by proxies we trust: the header
//! is read from the right, each trusted proxy's entry is skipped, and the
//! first address that is not a trusted proxy is the client. Anything to the
//! left of it was written by the client itself and is ignored.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use actix_web::HttpRequest;
use ipnet::IpNet;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

/// A `TRUSTED_PROXIES` entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustedProxiesError {
    #[error("`{0}` is not an IP address or CIDR (e.g. 10.0.0.0/8, 192.0.2.7, fd00::/64)")]
    Syntax(String),
    /// A /0 would let every client choose the address it is counted under.
    #[error(
        "`{0}` would trust every client to say who it is, which disables the per-address limits"
    )]
    Everything(String),
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.nets.iter().map(|n| n.to_string()))
            .finish()
    }
}

impl TrustedProxies {
    /// No proxy is trusted: the TCP peer is always the client (the default).
    pub fn none() -> Self {
        Self::default()
    }

    /// A comma-separated list of CIDRs or single addresses; empty entries
    /// are ignored. Host bits after the prefix are dropped (`10.1.2.3/8`
    /// is 10.0.0.0/8).
    pub fn parse(spec: &str) -> Result<Self, TrustedProxiesError> {
        let mut nets = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => entry
                    .parse::<IpAddr>()
                    .map(|ip| IpNet::from(ip.to_canonical()))
                    .map_err(|_| TrustedProxiesError::Syntax(entry.to_owned()))?,
            };
            if net.prefix_len() == 0 {
                return Err(TrustedProxiesError::Everything(entry.to_owned()));
            }
            nets.push(net);
        }
        Ok(Self { nets })
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`, given the `X-Forwarded-For` values in the
    /// order the header lines arrived. An entry that is not an address stops
    /// the walk: the trusted hop that appended it is then the client, so a
    /// garbled header never lets anyone pick their own address.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let entries: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|line| line.split(','))
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        // Only trusted proxies on the path: the farthest one is the client.
        client
    }

    /// The client of `req` (see [`TrustedProxies::client_ip`]); the
    /// unspecified address when the peer is unknown (not a TCP connection).
    pub fn client_ip_of(&self, req: &HttpRequest) -> IpAddr {
        let peer = req
            .peer_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |addr| addr.ip());
        if self.is_empty() {
            return peer.to_canonical();
        }
        // A header line that is not visible ASCII counts as a garbled entry.
        let lines = req
            .headers()
            .get_all(X_FORWARDED_FOR)
            .map(|value| value.to_str().unwrap_or("?"));
        self.client_ip(peer, lines)
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`192.0.2.1:443`, `[2001:db8::1]:443`), as some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim().trim_matches('"');
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The bucket a per-address limit counts `ip` in: an IPv4 address on its
/// own, an IPv6 address by its /64 — one end site (a home, a VPS) gets a
/// whole /64 and can use any address in it, so counting single IPv6
/// addresses would give an attacker 2^64 fresh budgets.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn entries_parse_and_bad_ones_are_named() {
        let proxies = TrustedProxies::parse(" 10.0.0.0/8, 192.0.2.7 ,, fd00::/64 ").unwrap();
        assert!(proxies.contains(ip("10.200.0.1")));
        assert!(proxies.contains(ip("192.0.2.7")));
        assert!(!proxies.contains(ip("192.0.2.8")));
        assert!(proxies.contains(ip("fd00::1234")));
        assert!(!proxies.contains(ip("fd00:0:0:1::1")));
        assert!(
            proxies.contains(ip("::ffff:10.0.0.1")),
            "IPv4-mapped peers match IPv4 entries"
        );
        assert_eq!(
            TrustedProxies::parse("10.1.2.3/8").unwrap(),
            TrustedProxies::parse("10.0.0.0/8").unwrap()
        );
        assert!(TrustedProxies::parse("").unwrap().is_empty());

        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0", "10.0.0.1-10.0.0.9"] {
            let error = TrustedProxies::parse(&format!("10.0.0.0/8,{bad}")).unwrap_err();
            assert_eq!(error, TrustedProxiesError::Syntax(bad.to_owned()));
            assert!(error.to_string().contains(bad), "{error}");
        }
        for everything in ["0.0.0.0/0", "::/0"] {
            let error = TrustedProxies::parse(everything).unwrap_err();
            assert!(
                matches!(error, TrustedProxiesError::Everything(_)),
                "{error}"
            );
        }
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_trusted() {
        let none = TrustedProxies::none();
        assert_eq!(
            none.client_ip(ip("203.0.113.5"), ["198.51.100.1"]),
            ip("203.0.113.5")
        );
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(
            proxies.client_ip(ip("203.0.113.5"), ["198.51.100.1"]),
            ip("203.0.113.5"),
            "an untrusted peer cannot name another client"
        );
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), ["198.51.100.1"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), std::iter::empty()),
            ip("10.0.0.1"),
            "no header: the proxy itself"
        );
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 2001:db8:ffff::/48").unwrap();
        let peer = ip("10.0.0.1");
        // The client wrote 1.1.1.1 itself; the first proxy appended its real address.
        assert_eq!(
            proxies.client_ip(peer, ["1.1.1.1, 198.51.100.7, 10.0.0.2"]),
            ip("198.51.100.7")
        );
        // Several header lines are one list, in order.
        assert_eq!(
            proxies.client_ip(peer, ["1.1.1.1", "198.51.100.7 , 10.0.0.2"]),
            ip("198.51.100.7")
        );
        // Ports and brackets, as some proxies write them.
        assert_eq!(
            proxies.client_ip(peer, ["198.51.100.7:5555"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            proxies.client_ip(peer, ["[2001:db8::1]:443, 2001:db8:ffff::1"]),
            ip("2001:db8::1")
        );
        // Only proxies on the path: the farthest one.
        assert_eq!(
            proxies.client_ip(peer, ["10.0.0.3, 10.0.0.2"]),
            ip("10.0.0.3")
        );
        // Garbage stops the walk at the trusted hop that appended it.
        assert_eq!(
            proxies.client_ip(peer, ["198.51.100.7, unknown, 10.0.0.2"]),
            ip("10.0.0.2")
        );
        assert_eq!(proxies.client_ip(peer, ["?"]), peer);
        assert_eq!(
            proxies.client_ip(ip("::ffff:10.0.0.1"), ["::ffff:198.51.100.7"]),
            ip("198.51.100.7"),
            "IPv4-mapped addresses are their IPv4 address"
        );
    }

    #[test]
    fn ipv6_is_keyed_by_its_64_and_ipv4_by_its_address() {
        assert_eq!(limit_key(ip("192.0.2.1")), ip("192.0.2.1"));
        assert_ne!(limit_key(ip("192.0.2.1")), limit_key(ip("192.0.2.2")));
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(limit_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:3::1"))
        );
    }
}
