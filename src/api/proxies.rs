//! Which address a request comes from, for the per-IP rate limit. The TCP
//! peer, unless the peer is one of the reverse proxies the operator named
//! (`--trusted-proxy`): then `X-Forwarded-For` is read from the right,
//! skipping the named proxies, and the first other address is the client.
//!
//! Only the named proxies are believed. Anyone can send the header; a
//! proxy appends the address it saw, so everything left of the last
//! trusted hop may be forged and is never read. With no proxy named (the
//! default) the header is ignored entirely.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed: addresses or CIDR
/// ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A comma- or space-separated list of addresses and CIDR ranges
    /// (`10.0.0.0/8, 192.0.2.1, ::1`); empty trusts nobody.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let net = match IpNet::from_str(item) {
                Ok(n) => n,
                Err(_) => IpAddr::from_str(item).map(IpNet::from).map_err(|_| {
                    format!("trusted proxy {item:?} is neither an IP address nor a CIDR range (10.0.0.0/8)")
                })?,
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client address of a request from `peer` carrying these
    /// `X-Forwarded-For` values (each a comma-separated list, in order).
    pub fn client<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A hop that is not an address was written by whoever sent it
            // to the last trusted proxy: that proxy is as far as we know.
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(hop) {
        return Some(canonical(ip));
    }
    if let Ok(sa) = std::net::SocketAddr::from_str(hop) {
        return Some(canonical(sa.ip()));
    }
    None
}

/// An IPv4 peer on a dual-stack socket arrives as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_is_read_from_trusted_peers_only() {
        let t = TrustedProxies::parse("10.0.0.0/8 ,192.0.2.1").unwrap();
        let from = |peer: &str, xff: &[&str]| t.client(ip(peer), xff.iter().copied());
        assert_eq!(from("198.51.100.1", &["203.0.113.9"]), ip("198.51.100.1"));
        assert_eq!(from("10.2.3.4", &["203.0.113.9"]), ip("203.0.113.9"));
        assert_eq!(
            from("10.2.3.4", &["1.1.1.1, 203.0.113.9, 192.0.2.1"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            from("10.2.3.4", &["1.1.1.1", "203.0.113.9:4431"]),
            ip("203.0.113.9")
        );
        assert_eq!(from("10.2.3.4", &[]), ip("10.2.3.4"));
        assert_eq!(from("10.2.3.4", &["not-an-ip, 192.0.2.1"]), ip("192.0.2.1"));
        assert_eq!(
            from("::ffff:10.0.0.1", &["[2001:db8::5]:80"]),
            ip("2001:db8::5")
        );
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(
            TrustedProxies::parse("proxy.local")
                .unwrap_err()
                .contains("CIDR")
        );
    }

    proptest! {
        /// Whatever an untrusted peer sends, it is its own client address;
        /// and through a trusted proxy, nothing left of the last untrusted
        /// hop can change the answer.
        #[test]
        fn forged_hops_never_count(
            peer in any::<[u8; 4]>(),
            forged in proptest::collection::vec(any::<[u8; 4]>(), 0..5),
            real in any::<[u8; 4]>(),
        ) {
            let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
            let peer = IpAddr::from(peer);
            let list: Vec<String> = forged.iter().map(|a| IpAddr::from(*a).to_string()).collect();
            let header = list.join(", ");
            if !t.trusts(peer) {
                prop_assert_eq!(t.client(peer, [header.as_str()].into_iter()), peer);
            }
            let real = IpAddr::from(real);
            prop_assume!(!t.trusts(real));
            let with_real = format!("{header}, {real}");
            let from_proxy = t.client(ip("10.9.9.9"), [with_real.as_str()].into_iter());
            prop_assert_eq!(from_proxy, real);
        }
    }
}
