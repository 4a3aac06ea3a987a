//! Only Daraja gets in: the source allowlist, with the client resolved
//! behind the proxies the service runs.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use http::HeaderMap;
use ipnet::IpNet;

use super::forwarded::{self, ForwardedError, ForwardedHeader};
use super::{Guard, GuardRequest, GuardVerdict};

/// The gateways Safaricom publishes as the sources of Daraja callbacks
/// (Safaricom's Daraja documentation and go-live guidance, as of 2026).
/// Kept here, in one place; check it against Safaricom's current list when
/// you go live.
pub const SAFARICOM_GATEWAYS: [Ipv4Addr; 12] = [
    Ipv4Addr::new(196, 201, 214, 200),
    Ipv4Addr::new(196, 201, 214, 206),
    Ipv4Addr::new(196, 201, 213, 114),
    Ipv4Addr::new(196, 201, 214, 207),
    Ipv4Addr::new(196, 201, 214, 208),
    Ipv4Addr::new(196, 201, 213, 44),
    Ipv4Addr::new(196, 201, 212, 127),
    Ipv4Addr::new(196, 201, 212, 138),
    Ipv4Addr::new(196, 201, 212, 129),
    Ipv4Addr::new(196, 201, 212, 136),
    Ipv4Addr::new(196, 201, 212, 74),
    Ipv4Addr::new(196, 201, 212, 69),
];

/// A [`Guard`] that lets in only callbacks from allowed sources: by
/// default Safaricom's gateways, plus addresses and ranges you add.
///
/// Behind a load balancer, a reverse proxy or a tunnel, the peer is the
/// proxy: name the proxies you run with [`trust_proxy`](Self::trust_proxy).
/// The client is then the right-most address of the forwarding header that
/// is not a trusted proxy. A forwarding header from a peer that is not a
/// trusted proxy is ignored, so a client cannot claim to be Safaricom; one
/// that cannot be read whole refuses the request.
///
/// ```
/// use pesakit::Routes;
/// use pesakit::guard::SourceGuard;
///
/// let guard = SourceGuard::safaricom()
///     .allow("2001:db8:42::/48")?          // a range of your own, such as a monitor
///     .trust_proxy("10.0.0.0/8")?;          // the load balancers in front of the service
/// let routes = Routes::new().guard(guard);
/// # Ok::<(), pesakit::guard::SourceError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SourceGuard {
    allowed: Networks,
    trusted_proxies: Networks,
    header: ForwardedHeader,
    report_only: bool,
}

impl SourceGuard {
    /// Allows Safaricom's gateways ([`SAFARICOM_GATEWAYS`]) and nothing
    /// else, trusting no proxy.
    pub fn safaricom() -> Self {
        let mut allowed = Networks::default();
        for gateway in SAFARICOM_GATEWAYS {
            allowed.add(IpNet::from(IpAddr::V4(gateway)));
        }
        Self { allowed, trusted_proxies: Networks::default(), header: ForwardedHeader::default(), report_only: false }
    }

    /// Also allows `source`: an address (`192.0.2.7`, `2001:db8::7`) or a
    /// range (`192.0.2.0/24`, `2001:db8::/32`).
    pub fn allow(mut self, source: &str) -> Result<Self, SourceError> {
        self.allowed.add(parse_source(source)?);
        Ok(self)
    }

    /// Trusts `proxy` (an address or a range) to tell the client's address
    /// in the forwarding header.
    pub fn trust_proxy(mut self, proxy: &str) -> Result<Self, SourceError> {
        self.trusted_proxies.add(parse_source(proxy)?);
        Ok(self)
    }

    /// The header the trusted proxies write (default `X-Forwarded-For`).
    pub fn forwarded_header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    /// Logs what would be refused, and lets everything through: for turning
    /// the allowlist on in production without risking a lost payment.
    pub fn report_only(mut self) -> Self {
        self.report_only = true;
        self
    }

    /// Whether the guard only reports.
    pub fn is_report_only(&self) -> bool {
        self.report_only
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted
    /// proxy, else the right-most hop of the forwarding header that is not
    /// a trusted proxy (the left-most hop when all are trusted, `peer` when
    /// there is no header).
    ///
    /// ```
    /// use pesakit::guard::SourceGuard;
    /// use pesakit::http::HeaderMap;
    ///
    /// let guard = SourceGuard::safaricom().trust_proxy("10.0.0.0/8")?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-forwarded-for", "6.6.6.6, 196.201.214.200, 10.0.0.5".parse().unwrap());
    /// let client = guard.client_address("10.0.0.9".parse().unwrap(), &headers)?;
    /// assert_eq!(client.to_string(), "196.201.214.200");
    /// // The same header from a peer that is not a trusted proxy is ignored.
    /// let direct = guard.client_address("6.6.6.6".parse().unwrap(), &headers)?;
    /// assert_eq!(direct.to_string(), "6.6.6.6");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> Result<IpAddr, ForwardedError> {
        if !self.is_trusted_proxy(peer) {
            return Ok(peer);
        }
        let hops = forwarded::hops(headers, self.header)?;
        let untrusted = hops.iter().rev().find(|hop| !self.is_trusted_proxy(**hop));
        Ok(untrusted.or(hops.first()).copied().unwrap_or(peer))
    }

    /// Whether `client` may post callbacks.
    pub fn allows(&self, client: IpAddr) -> bool {
        self.allowed.contains(client)
    }

    fn is_trusted_proxy(&self, address: IpAddr) -> bool {
        self.trusted_proxies.contains(address)
    }

    fn refusal(&self, reason: String, request: &GuardRequest<'_>) -> GuardVerdict {
        if self.report_only {
            tracing::warn!(path = request.route_path(), %reason, "report-only source guard: would have refused");
            return GuardVerdict::Allow;
        }
        GuardVerdict::Forbid(reason.into())
    }
}

impl Guard for SourceGuard {
    /// ```
    /// use pesakit::guard::{Guard, SourceGuard};
    ///
    /// let guard = SourceGuard::safaricom().trust_proxy("10.0.0.0/8")?.report_only();
    /// assert_eq!(
    ///     guard.describe(),
    ///     "source allowlist, report-only (logs what it would refuse, refuses nothing): \
    ///      12 addresses or ranges; 1 trusted proxy range, client from X-Forwarded-For",
    /// );
    /// # Ok::<(), pesakit::guard::SourceError>(())
    /// ```
    fn describe(&self) -> String {
        let mode =
            if self.report_only { "report-only (logs what it would refuse, refuses nothing)" } else { "enforcing" };
        let proxies = match self.trusted_proxies.len() {
            0 => "no trusted proxy: the peer is the client".to_owned(),
            count => {
                let header = match self.header {
                    ForwardedHeader::XForwardedFor => "X-Forwarded-For",
                    ForwardedHeader::Forwarded => "Forwarded",
                };
                let ranges = if count == 1 { "range" } else { "ranges" };
                format!("{count} trusted proxy {ranges}, client from {header}")
            }
        };
        format!("source allowlist, {mode}: {} addresses or ranges; {proxies}", self.allowed.len())
    }

    fn resolve_client(&self, peer: IpAddr, headers: &HeaderMap) -> Option<IpAddr> {
        self.client_address(peer, headers).ok()
    }

    /// A peer that is neither allowed nor a trusted proxy is the client of
    /// every request it sends, and refused; in report-only mode, every peer
    /// is admitted.
    fn admits_connection(&self, peer: IpAddr) -> bool {
        self.report_only || self.allows(peer) || self.is_trusted_proxy(peer)
    }

    fn check(&self, request: &GuardRequest<'_>) -> GuardVerdict {
        let Some(peer) = request.peer() else {
            return self.refusal("the host gave no peer address".to_owned(), request);
        };
        match self.client_address(peer.0.ip(), request.headers()) {
            Ok(client) if self.allows(client) => GuardVerdict::Allow,
            Ok(client) => self.refusal(format!("source {client} (peer {}) is not allowed", peer.0.ip()), request),
            Err(error) => self.refusal(format!("{error} (peer {})", peer.0.ip()), request),
        }
    }
}

/// Networks as masks over 128-bit addresses, IPv4 in the IPv4-mapped range,
/// so that checking an address is a few instructions per network: the
/// guard runs on every request.
#[derive(Debug, Clone, Default)]
struct Networks(Vec<(u128, u128)>);

impl Networks {
    fn add(&mut self, network: IpNet) {
        let (address, prefix) = match network {
            IpNet::V4(v4) => (v4.network().to_ipv6_mapped(), 96 + u32::from(v4.prefix_len())),
            IpNet::V6(v6) => (v6.network(), u32::from(v6.prefix_len())),
        };
        let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
        self.0.push((u128::from(address) & mask, mask));
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `address` is in one of the networks; an IPv4-mapped IPv6
    /// address counts as its IPv4 address.
    fn contains(&self, address: IpAddr) -> bool {
        let bits = u128::from(match address {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        });
        self.0.iter().any(|(network, mask)| bits & mask == *network)
    }
}

fn parse_source(source: &str) -> Result<IpNet, SourceError> {
    let source = source.trim();
    source
        .parse::<IpNet>()
        .or_else(|_| source.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| SourceError(source.to_owned()))
}

/// A source that is neither an IP address nor a range in CIDR notation.
///
/// ```
/// use pesakit::guard::SourceGuard;
///
/// let error = SourceGuard::safaricom().allow("safaricom.co.ke").unwrap_err();
/// assert!(error.to_string().contains("`safaricom.co.ke`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError(String);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.0.chars().take(64).flat_map(char::escape_default).collect();
        write!(f, "`{shown}` is not an IP address or a CIDR range such as `196.201.214.0/24` or `2001:db8::/32`")
    }
}

impl std::error::Error for SourceError {}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    fn forwarded_for(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).expect("a header value"));
        headers
    }

    #[test]
    fn the_start_up_line_says_the_mode_and_what_is_trusted() {
        let enforcing = SourceGuard::safaricom();
        assert!(!enforcing.is_report_only());
        assert_eq!(
            enforcing.describe(),
            "source allowlist, enforcing: 12 addresses or ranges; no trusted proxy: the peer is the client"
        );
        let behind_proxies = SourceGuard::safaricom()
            .allow("192.0.2.1")
            .and_then(|guard| guard.trust_proxy("10.0.0.0/8"))
            .and_then(|guard| guard.trust_proxy("fd00::/8"))
            .expect("valid sources")
            .forwarded_header(ForwardedHeader::Forwarded)
            .report_only();
        assert!(behind_proxies.is_report_only());
        assert_eq!(
            behind_proxies.describe(),
            "source allowlist, report-only (logs what it would refuse, refuses nothing): 13 addresses or ranges; \
             2 trusted proxy ranges, client from Forwarded"
        );
    }

    #[test]
    fn the_gateways_and_added_sources_are_allowed_and_nothing_else() {
        let guard = SourceGuard::safaricom().allow("192.0.2.0/24").and_then(|guard| guard.allow("2001:db8::7"));
        let guard = guard.expect("valid sources");
        for allowed in
            ["196.201.214.200", "196.201.212.69", "192.0.2.1", "192.0.2.255", "2001:db8::7", "::ffff:196.201.213.44"]
        {
            assert!(guard.allows(ip(allowed)), "{allowed}");
        }
        for refused in ["196.201.214.201", "192.0.3.1", "2001:db8::8", "127.0.0.1", "::1"] {
            assert!(!guard.allows(ip(refused)), "{refused}");
        }
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let guard = SourceGuard::safaricom().trust_proxy("10.0.0.0/8").expect("a range");
        let cases = [
            ("196.201.214.200", "196.201.214.200"),
            ("6.6.6.6, 196.201.214.200", "196.201.214.200"),
            ("196.201.214.200, 6.6.6.6", "6.6.6.6"),
            ("6.6.6.6, 196.201.214.200, 10.1.1.1, 10.2.2.2", "196.201.214.200"),
            ("10.1.1.1, 10.2.2.2", "10.1.1.1"),
        ];
        for (header, client) in cases {
            assert_eq!(guard.client_address(ip("10.9.9.9"), &forwarded_for(header)), Ok(ip(client)), "{header}");
        }
        assert_eq!(guard.client_address(ip("10.9.9.9"), &HeaderMap::new()), Ok(ip("10.9.9.9")));
    }

    #[test]
    fn a_forwarding_header_from_an_untrusted_peer_is_ignored() {
        let guard = SourceGuard::safaricom();
        let claimed = forwarded_for("196.201.214.200");
        assert_eq!(guard.client_address(ip("6.6.6.6"), &claimed), Ok(ip("6.6.6.6")));
        assert!(!guard.allows(ip("6.6.6.6")));
    }

    #[test]
    fn sources_that_are_not_addresses_are_refused_with_what_to_write() {
        for bad in ["", "safaricom.co.ke", "196.201.214.0/33", "196.201.214", "10.0.0.0/8/8"] {
            let error = SourceGuard::safaricom().allow(bad).expect_err(bad);
            assert!(error.to_string().contains("CIDR"), "{error}");
        }
        let hostile = "\u{1b}[2J".repeat(40);
        let shown = SourceGuard::safaricom().trust_proxy(&hostile).expect_err("not an address").to_string();
        assert!(!shown.contains('\u{1b}') && shown.len() < 500, "{shown}");
    }
}
