//! Which IP addresses a webhook may reach.
//!
//! [`forbidden_reason`] is the single source of truth for the refused ranges
//! (`docs/DESIGN.md` §3 "Outbound security", table in `docs/SECURITY.md`); [`AllowList`] is the operator's explicit
//! override (`WEBHOOKS_ALLOWED_CIDRS`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

/// Why an address is refused: which range it falls in.
///
/// Deliberately without `Display`: the range is for server-side logs
/// ([`Forbidden::code`]), never for texts users read, since "a loopback
/// address" already tells what a name points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forbidden {
    /// 0.0.0.0/8 ("this network") and `::`; Linux connects 0.0.0.0 to the local host.
    Unspecified,
    /// 127.0.0.0/8 and `::1`.
    Loopback,
    /// RFC 1918 ranges and IPv6 unique-local fc00::/7.
    Private,
    /// 100.64.0.0/10, carrier-grade NAT (RFC 6598).
    SharedAddressSpace,
    /// 169.254.0.0/16 (cloud metadata endpoints live here) and fe80::/10.
    LinkLocal,
    /// 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32 and
    /// 3fff::/20 (RFC 9637).
    Documentation,
    /// 198.18.0.0/15 (RFC 2544) and 2001:2::/48 (RFC 5180) benchmarking.
    Benchmarking,
    /// 224.0.0.0/4 and ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// Everything else that is not globally routable: 192.0.0.0/24,
    /// 192.88.99.0/24, 240.0.0.0/4, fec0::/10 (site-local), 100::/64
    /// (discard), ::/8 but for the three IPv4 forms judged by their IPv4
    /// (so SIIT `::ffff:0:a.b.c.d`, ISATAP-style `::5efe:a.b.c.d`, local-use
    /// NAT64 64:ff9b:1::/48 of RFC 8215, the unassigned rest), 2001::/23 (IETF
    /// protocol assignments: Teredo, ORCHID…) and 5f00::/16 (SRv6 SIDs,
    /// RFC 9602).
    Reserved,
}

impl Forbidden {
    /// Stable machine-readable name, for server-side logs.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::SharedAddressSpace => "shared_address_space",
            Self::LinkLocal => "link_local",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Reserved => "reserved",
        }
    }
}

/// An address the policy refused, and why.
///
/// Its `Display` is only "a forbidden address": the text may end up in an
/// API answer or a delivery log, where the address (or its range) would let
/// a user map internal DNS names. The details are reachable through
/// [`ForbiddenAddress::ip`] and [`ForbiddenAddress::reason`], for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a forbidden address")]
pub struct ForbiddenAddress {
    ip: IpAddr,
    reason: Forbidden,
}

impl ForbiddenAddress {
    /// The address as resolved or written (an IPv4-mapped address stays
    /// IPv6). For server-side logs only.
    #[must_use]
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Which refused range it falls in. For server-side logs only.
    #[must_use]
    pub fn reason(&self) -> Forbidden {
        self.reason
    }
}

/// Why `ip` must not be reached, or `None` when it is globally routable.
///
/// IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:0:0/96`,
/// IPv4-compatible `::/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged
/// by the embedded IPv4 address: `::ffff:10.0.0.1` is refused as private, while
/// `::ffff:8.8.8.8` is allowed because it reaches the same public host as
/// `8.8.8.8`. Other forms that may lead to an IPv4 host through a relay or a
/// translator we cannot see are refused whatever they carry: the rest of
/// ::/8 (SIIT `::ffff:0:0:0/96`, ISATAP-style `::5efe:a.b.c.d`, local-use
/// NAT64 64:ff9b:1::/48), Teredo and the other IETF assignments of
/// 2001::/23. See [`Forbidden`] for every range.
#[must_use]
pub fn forbidden_reason(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

/// `true` when [`forbidden_reason`] refuses `ip` (the allow-list is not consulted).
#[must_use]
pub fn is_forbidden(ip: IpAddr) -> bool {
    forbidden_reason(ip).is_some()
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<Forbidden> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        (0, _, _) => Forbidden::Unspecified,
        (10, _, _) => Forbidden::Private,
        (100, 64..=127, _) => Forbidden::SharedAddressSpace,
        (127, _, _) => Forbidden::Loopback,
        (169, 254, _) => Forbidden::LinkLocal,
        (172, 16..=31, _) => Forbidden::Private,
        (192, 0, 0) | (192, 88, 99) => Forbidden::Reserved,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Forbidden::Documentation,
        (192, 168, _) => Forbidden::Private,
        (198, 18..=19, _) => Forbidden::Benchmarking,
        (224..=239, _, _) => Forbidden::Multicast,
        _ if ip == Ipv4Addr::BROADCAST => Forbidden::Broadcast,
        (240..=255, _, _) => Forbidden::Reserved,
        _ => return None,
    };
    Some(reason)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<Forbidden> {
    // Checked before the embedded-IPv4 forms, which contain them, so the
    // reason names what they are rather than "0.0.0.0/8".
    if ip.is_unspecified() {
        return Some(Forbidden::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Forbidden::Loopback);
    }
    if let Some(v4) = embedded_ipv4(ip) {
        return forbidden_v4(v4);
    }
    let reason = match ip.segments() {
        // ::/8 once ::/96, ::ffff:0:0/96 and 64:ff9b::/96 are judged above
        // by their IPv4: nothing else in it is globally routable, and SIIT
        // (::ffff:0:0:0/96), ISATAP-style (::5efe:a.b.c.d) or local-use
        // NAT64 (64:ff9b:1::/48, RFC 8215, which lies here too) addresses
        // lead to an IPv4 host through a translator we cannot see.
        [0x0000..=0x00ff, ..] => Forbidden::Reserved,
        // 100::/64, discard-only (RFC 6666).
        [0x0100, 0, 0, 0, ..] => Forbidden::Reserved,
        // 2001::/23, IETF protocol assignments (Teredo 2001::/32, ORCHID…),
        // named more precisely for 2001:2::/48 (benchmarking, RFC 5180).
        [0x2001, 0x0002, 0, ..] => Forbidden::Benchmarking,
        [0x2001, 0x0000..=0x01ff, ..] => Forbidden::Reserved,
        [0x2001, 0x0db8, ..] => Forbidden::Documentation,
        // 3fff::/20, documentation (RFC 9637).
        [0x3fff, 0x0000..=0x0fff, ..] => Forbidden::Documentation,
        // 5f00::/16, SRv6 SIDs (RFC 9602): never a host on the Internet.
        [0x5f00, ..] => Forbidden::Reserved,
        [0xfc00..=0xfdff, ..] => Forbidden::Private,
        [0xfe80..=0xfebf, ..] => Forbidden::LinkLocal,
        [0xfec0..=0xfeff, ..] => Forbidden::Reserved,
        [0xff00..=0xffff, ..] => Forbidden::Multicast,
        _ => return None,
    };
    Some(reason)
}

/// The IPv4 address carried by an IPv4-mapped, IPv4-compatible, NAT64 or 6to4
/// IPv6 address: connecting to one of those reaches (or is translated to) it.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // ::ffff:0:0/96 (mapped) and ::/96 (compatible, deprecated).
        [0, 0, 0, 0, 0, 0xffff | 0, hi, lo] => Some(v4(hi, lo)),
        // 64:ff9b::/96, the well-known NAT64 prefix.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),
        // 2002::/16, 6to4: the IPv4 address is bits 16..48.
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
        _ => None,
    }
}

/// CIDRs the operator explicitly allows despite [`forbidden_reason`]
/// (`WEBHOOKS_ALLOWED_CIDRS`); empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    nets: Vec<IpNet>,
}

/// A `WEBHOOKS_ALLOWED_CIDRS` entry that is neither a CIDR nor an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid CIDR {entry:?} in the allow-list (expected e.g. 10.0.0.0/8, 192.168.1.20 or fd00::/8)"
)]
pub struct AllowListError {
    /// The entry as written, trimmed.
    pub entry: String,
}

impl AllowList {
    /// Allow exactly these networks.
    #[must_use]
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            nets: nets.into_iter().map(|net| net.trunc()).collect(),
        }
    }

    /// Parses a comma-separated list such as `"127.0.0.0/8, 192.168.1.20, fd00::/8"`.
    ///
    /// A bare address means that single host; host bits after the prefix are
    /// ignored (`192.168.1.7/24` allows `192.168.1.0/24`); blank entries are
    /// skipped, so an empty variable is an empty list.
    ///
    /// # Errors
    /// The first entry that does not parse, named in the error.
    pub fn parse(list: &str) -> Result<Self, AllowListError> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                IpNet::from_str(entry)
                    .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                    .map_err(|_| AllowListError {
                        entry: entry.to_owned(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }

    /// The networks, normalised to their prefix.
    #[must_use]
    pub fn nets(&self) -> &[IpNet] {
        &self.nets
    }

    /// `true` when nothing is allowed beyond the default policy.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// `true` when an entry contains `ip`. An IPv4-mapped IPv6 address
    /// (`::ffff:a.b.c.d`) is the IPv4 host on the wire, so it also matches
    /// IPv4 entries.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.nets
            .iter()
            .any(|net| net.contains(&ip) || mapped.is_some_and(|v4| net.contains(&v4)))
    }

    /// The whole policy: refused ranges minus this allow-list.
    ///
    /// # Errors
    /// `ip` is in a refused range and not allow-listed.
    pub fn vet(&self, ip: IpAddr) -> Result<(), ForbiddenAddress> {
        match forbidden_reason(ip) {
            Some(reason) if !self.contains(ip) => Err(ForbiddenAddress { ip, reason }),
            _ => Ok(()),
        }
    }
}

impl FromStr for AllowList {
    type Err = AllowListError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        Self::parse(list)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use Forbidden::*;

    /// (address, expected verdict): both sides of every range boundary.
    const TABLE: &[(&str, Option<Forbidden>)] = &[
        // 0.0.0.0/8
        ("0.0.0.0", Some(Unspecified)),
        ("0.255.255.255", Some(Unspecified)),
        ("1.0.0.0", None),
        // 10/8
        ("9.255.255.255", None),
        ("10.0.0.0", Some(Private)),
        ("10.255.255.255", Some(Private)),
        ("11.0.0.0", None),
        // 100.64/10
        ("100.63.255.255", None),
        ("100.64.0.0", Some(SharedAddressSpace)),
        ("100.127.255.255", Some(SharedAddressSpace)),
        ("100.128.0.0", None),
        // 127/8
        ("126.255.255.255", None),
        ("127.0.0.0", Some(Loopback)),
        ("127.0.0.1", Some(Loopback)),
        ("127.255.255.255", Some(Loopback)),
        ("128.0.0.0", None),
        // 169.254/16
        ("169.253.255.255", None),
        ("169.254.0.0", Some(LinkLocal)),
        ("169.254.169.254", Some(LinkLocal)),
        ("169.254.255.255", Some(LinkLocal)),
        ("169.255.0.0", None),
        // 172.16/12
        ("172.15.255.255", None),
        ("172.16.0.0", Some(Private)),
        ("172.31.255.255", Some(Private)),
        ("172.32.0.0", None),
        // 192.0.0/24 and 192.0.2/24
        ("191.255.255.255", None),
        ("192.0.0.0", Some(Reserved)),
        ("192.0.0.255", Some(Reserved)),
        ("192.0.1.0", None),
        ("192.0.1.255", None),
        ("192.0.2.0", Some(Documentation)),
        ("192.0.2.255", Some(Documentation)),
        ("192.0.3.0", None),
        // 192.88.99/24
        ("192.88.98.255", None),
        ("192.88.99.0", Some(Reserved)),
        ("192.88.99.255", Some(Reserved)),
        ("192.88.100.0", None),
        // 192.168/16
        ("192.167.255.255", None),
        ("192.168.0.0", Some(Private)),
        ("192.168.255.255", Some(Private)),
        ("192.169.0.0", None),
        // 198.18/15
        ("198.17.255.255", None),
        ("198.18.0.0", Some(Benchmarking)),
        ("198.19.255.255", Some(Benchmarking)),
        ("198.20.0.0", None),
        // 198.51.100/24
        ("198.51.99.255", None),
        ("198.51.100.0", Some(Documentation)),
        ("198.51.100.255", Some(Documentation)),
        ("198.51.101.0", None),
        // 203.0.113/24
        ("203.0.112.255", None),
        ("203.0.113.0", Some(Documentation)),
        ("203.0.113.255", Some(Documentation)),
        ("203.0.114.0", None),
        // 224/4 and 240/4
        ("223.255.255.255", None),
        ("224.0.0.0", Some(Multicast)),
        ("239.255.255.255", Some(Multicast)),
        ("240.0.0.0", Some(Reserved)),
        ("255.255.255.254", Some(Reserved)),
        ("255.255.255.255", Some(Broadcast)),
        // public IPv4
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("93.184.216.34", None),
        // ::, ::1
        ("::", Some(Unspecified)),
        ("::1", Some(Loopback)),
        // ::/96 (IPv4-compatible): judged by the embedded IPv4
        ("::2", Some(Unspecified)),
        ("::a00:1", Some(Private)),
        ("::808:808", None),
        ("::ffff:ffff", Some(Broadcast)),
        // ::ffff:0:0/96 (IPv4-mapped): judged by the embedded IPv4
        ("::ffff:10.0.0.1", Some(Private)),
        ("::ffff:127.0.0.1", Some(Loopback)),
        ("::ffff:169.254.169.254", Some(LinkLocal)),
        ("::ffff:0.0.0.0", Some(Unspecified)),
        ("::ffff:8.8.8.8", None),
        ("::ffff:255.255.255.255", Some(Broadcast)),
        // the rest of ::/8: reserved, whatever IPv4 it may carry
        ("::1:0:0", Some(Reserved)),
        ("::fffe:ffff:ffff", Some(Reserved)),
        ("::1:0:0:0", Some(Reserved)),
        ("::ffff:0:0:0", Some(Reserved)),
        ("::ffff:0:808:808", Some(Reserved)),
        ("::ffff:0:a00:1", Some(Reserved)),
        ("::5efe:808:808", Some(Reserved)),
        ("::5efe:a00:1", Some(Reserved)),
        ("::200:5efe:808:808", Some(Reserved)),
        ("0:0:0:1::", Some(Reserved)),
        ("1::", Some(Reserved)),
        ("ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some(Reserved)),
        // 64:ff9b::/96 (NAT64)
        ("64:ff9b::7f00:1", Some(Loopback)),
        ("64:ff9b::a9fe:a9fe", Some(LinkLocal)),
        ("64:ff9b::808:808", None),
        // ... the rest of 64:ff9b::/32 is ::/8, reserved
        ("64:ff9b:0:0:0:1::", Some(Reserved)),
        ("64:ff9b:0:ffff:ffff:ffff:ffff:ffff", Some(Reserved)),
        ("64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", Some(Reserved)),
        // 64:ff9b:1::/48 (local-use NAT64), whatever IPv4 it carries
        ("64:ff9b:1::", Some(Reserved)),
        ("64:ff9b:1::808:808", Some(Reserved)),
        ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", Some(Reserved)),
        ("64:ff9b:2::", Some(Reserved)),
        // 2002::/16 (6to4)
        ("2002:c0a8:0101::", Some(Private)),
        ("2002:7f00:1::1", Some(Loopback)),
        ("2002:0808:0808::", None),
        ("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("2003::", None),
        // 100::/64 (discard-only)
        ("100::", Some(Reserved)),
        ("100::ffff:ffff:ffff:ffff", Some(Reserved)),
        ("100:0:0:1::", None),
        // fc00::/7
        ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("fc00::", Some(Private)),
        ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some(Private)),
        ("fe00::", None),
        // fe80::/10 and fec0::/10
        ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("fe80::", Some(LinkLocal)),
        ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some(LinkLocal)),
        ("fec0::", Some(Reserved)),
        ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some(Reserved)),
        // ff00::/8
        ("ff00::", Some(Multicast)),
        ("ff02::1", Some(Multicast)),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some(Multicast)),
        // 2001::/23 (IETF protocol assignments), 2001:2::/48 benchmarking
        ("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("2001::", Some(Reserved)),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Some(Reserved)),
        ("2001:1::1", Some(Reserved)),
        ("2001:1:ffff:ffff:ffff:ffff:ffff:ffff", Some(Reserved)),
        ("2001:2::", Some(Benchmarking)),
        ("2001:2:0:ffff:ffff:ffff:ffff:ffff", Some(Benchmarking)),
        ("2001:2:1::", Some(Reserved)),
        ("2001:3::", Some(Reserved)),
        ("2001:10::1", Some(Reserved)),
        ("2001:20::1", Some(Reserved)),
        ("2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", Some(Reserved)),
        ("2001:200::", None),
        // 2001:db8::/32
        ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("2001:db8::", Some(Documentation)),
        (
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            Some(Documentation),
        ),
        ("2001:db9::", None),
        // 3fff::/20 (documentation, RFC 9637)
        ("3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("3fff::", Some(Documentation)),
        (
            "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
            Some(Documentation),
        ),
        ("3fff:1000::", None),
        // 5f00::/16 (SRv6 SIDs, RFC 9602)
        ("5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("5f00::", Some(Reserved)),
        ("5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some(Reserved)),
        ("5f01::", None),
        // public IPv6
        ("2606:4700:4700::1111", None),
        ("2001:4860:4860::8888", None),
        ("2a00:1450:4007:80e::200e", None),
    ];

    #[test]
    fn the_policy_table_holds_on_both_sides_of_every_boundary() {
        assert!(TABLE.len() >= 60, "{} rows", TABLE.len());
        let failures: Vec<String> = TABLE
            .iter()
            .filter_map(|(text, expected)| {
                let ip: IpAddr = text.parse().expect(text);
                let got = forbidden_reason(ip);
                (got != *expected).then(|| format!("{text}: expected {expected:?}, got {got:?}"))
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn is_forbidden_agrees_with_the_reason() {
        for (text, expected) in TABLE {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(is_forbidden(ip), expected.is_some(), "{text}");
        }
    }

    #[test]
    fn the_refusal_text_names_neither_the_address_nor_its_range() {
        // The text can reach users (API answers, delivery logs): it must not
        // map a name to an internal address, nor even to its kind.
        for (text, expected) in TABLE {
            let Some(reason) = expected else { continue };
            let err = AllowList::default().vet(text.parse().unwrap()).unwrap_err();
            assert_eq!(err.to_string(), "a forbidden address", "{text}");
            assert!(!err.to_string().contains(reason.code()), "{text}");
        }
    }

    #[test]
    fn the_details_are_there_for_whoever_asks_explicitly() {
        let err = AllowList::default()
            .vet("10.0.0.5".parse().unwrap())
            .unwrap_err();
        assert_eq!(err.ip(), "10.0.0.5".parse::<IpAddr>().unwrap());
        assert_eq!(err.reason(), Private);
        assert_eq!(err.reason().code(), "private");
    }

    #[test]
    fn the_allow_list_overrides_the_refusal_only_inside_its_networks() {
        let list = AllowList::parse("127.0.0.0/8, 192.168.1.20 ,fd00::/8,").unwrap();
        assert_eq!(list.nets().len(), 3);
        for allowed in [
            "127.0.0.1",
            "127.9.9.9",
            "192.168.1.20",
            "fd12::1",
            "8.8.8.8",
        ] {
            assert_eq!(list.vet(allowed.parse().unwrap()), Ok(()), "{allowed}");
        }
        for refused in [
            "192.168.1.21",
            "10.0.0.1",
            "fc00::1",
            "::1",
            "169.254.169.254",
        ] {
            assert!(list.vet(refused.parse().unwrap()).is_err(), "{refused}");
        }
    }

    #[test]
    fn an_ipv4_mapped_address_matches_ipv4_entries() {
        let list = AllowList::parse("127.0.0.0/8").unwrap();
        assert_eq!(list.vet("::ffff:127.0.0.1".parse().unwrap()), Ok(()));
        // NAT64 and 6to4 reach a translator, not the IPv4 host: not matched.
        assert!(list.vet("64:ff9b::7f00:1".parse().unwrap()).is_err());
        assert!(list.vet("2002:7f00:1::".parse().unwrap()).is_err());
    }

    #[test]
    fn host_bits_are_ignored_and_blank_lists_are_empty() {
        let list = AllowList::parse("192.168.1.7/24").unwrap();
        assert_eq!(list.nets()[0].to_string(), "192.168.1.0/24");
        assert!(list.contains("192.168.1.200".parse().unwrap()));
        assert!(AllowList::parse("").unwrap().is_empty());
        assert!(AllowList::parse(" , ").unwrap().is_empty());
    }

    #[test]
    fn a_bad_entry_is_named_in_the_error() {
        for (list, bad) in [
            ("10.0.0.0/8, 10.0.0.0/33", "10.0.0.0/33"),
            ("localhost", "localhost"),
            ("127.0.0.0/8;10.0.0.0/8", "127.0.0.0/8;10.0.0.0/8"),
            ("300.1.1.1", "300.1.1.1"),
        ] {
            let err = AllowList::parse(list).unwrap_err();
            assert_eq!(err.entry, bad);
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    /// The ranges hold throughout, not only at the boundaries of the table.
    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// An address of `prefix/len` with random host bits.
        fn within(prefix: &'static str, len: u32) -> impl Strategy<Value = Ipv6Addr> {
            let base = u128::from(prefix.parse::<Ipv6Addr>().unwrap());
            let host = u128::MAX >> len;
            any::<u128>().prop_map(move |bits| Ipv6Addr::from((base & !host) | (bits & host)))
        }

        fn net(text: &str) -> IpNet {
            text.parse().unwrap()
        }

        fn nat64(v4: Ipv4Addr) -> Ipv6Addr {
            Ipv6Addr::from(
                u128::from(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0))
                    | u128::from(u32::from(v4)),
            )
        }

        proptest! {
            #[test]
            fn the_ietf_nat64_documentation_and_srv6_ranges_are_refused_throughout(
                ietf in within("2001::", 23),
                benchmarking in within("2001:2::", 48),
                local_nat64 in within("64:ff9b:1::", 48),
                documentation in within("3fff::", 20),
                srv6 in within("5f00::", 16),
            ) {
                let reason = |ip: Ipv6Addr| forbidden_reason(IpAddr::V6(ip));
                let expected = if net("2001:2::/48").contains(&IpAddr::V6(ietf)) {
                    Benchmarking
                } else {
                    Reserved
                };
                prop_assert_eq!(reason(ietf), Some(expected), "{}", ietf);
                prop_assert_eq!(reason(benchmarking), Some(Benchmarking), "{}", benchmarking);
                prop_assert_eq!(reason(local_nat64), Some(Reserved), "{}", local_nat64);
                prop_assert_eq!(reason(documentation), Some(Documentation), "{}", documentation);
                prop_assert_eq!(reason(srv6), Some(Reserved), "{}", srv6);
            }

            #[test]
            fn under_8_only_the_three_ipv4_forms_escape_the_reserved_verdict(
                ip in within("::", 8),
                v4 in any::<u32>(),
            ) {
                let v4 = Ipv4Addr::from(v4);
                let judged = |ip: Ipv6Addr| forbidden_reason(IpAddr::V6(ip));
                prop_assert_eq!(judged(v4.to_ipv6_mapped()), forbidden_v4(v4));
                // ::a.b.c.d too, except 0.0.0.1, which is ::1.
                if v4 != Ipv4Addr::new(0, 0, 0, 1) {
                    prop_assert_eq!(judged(v4.to_ipv6_compatible()), forbidden_v4(v4));
                }
                // 64:ff9b::/96 (NAT64) is ::/8 too.
                prop_assert_eq!(judged(nat64(v4)), forbidden_v4(v4));
                let ipv4_form = ["::/96", "::ffff:0:0/96", "64:ff9b::/96"]
                    .iter()
                    .any(|text| net(text).contains(&IpAddr::V6(ip)));
                prop_assume!(!ipv4_form);
                prop_assert_eq!(judged(ip), Some(Reserved), "{}", ip);
            }

            #[test]
            fn global_unicast_stays_allowed_outside_the_refused_prefixes(
                ip in within("2000::", 3),
            ) {
                let ip = IpAddr::V6(ip);
                // 2002::/16 (6to4) is judged by the IPv4 it carries.
                let refused = ["2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20"];
                prop_assume!(!refused.iter().any(|text| net(text).contains(&ip)));
                prop_assert_eq!(forbidden_reason(ip), None, "{}", ip);
            }
        }
    }
}
