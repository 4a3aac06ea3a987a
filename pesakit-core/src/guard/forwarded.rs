//! The client addresses a request's forwarding header lists, hop by hop.
//!
//! Every value is hostile: a header that cannot be read whole is refused,
//! never read in part, and a list longer than any real chain of proxies is
//! refused too.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::HeaderMap;

/// The most hops read from a forwarding header; real chains have a few.
const MAX_HOPS: usize = 32;

/// The most bytes of forwarding header read, all lines together.
const MAX_BYTES: usize = 4096;

/// Which header the trusted proxies in front of the service write.
///
/// Only the header they write can be trusted: a client can send either,
/// and a proxy passes on what it does not write.
///
/// ```
/// use pesakit::guard::ForwardedHeader;
/// assert_eq!(ForwardedHeader::default(), ForwardedHeader::XForwardedFor);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`, the de facto standard
    /// (nginx, HAProxy, most load balancers and tunnels).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

impl ForwardedHeader {
    fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

/// Why a forwarding header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardedError {
    /// The header has bytes that are not visible ASCII.
    NotText,
    /// The header is longer than any real chain of proxies writes.
    TooLong,
    /// One hop is not an IP address (`unknown`, an obfuscated name, junk).
    NotAnAddress {
        /// Which hop, counting from the left, from 0.
        hop: usize,
    },
}

impl fmt::Display for ForwardedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotText => f.write_str("the forwarding header is not plain text"),
            Self::TooLong => write!(f, "the forwarding header lists more than {MAX_HOPS} hops or {MAX_BYTES} bytes"),
            Self::NotAnAddress { hop } => write!(f, "hop {hop} of the forwarding header is not an IP address"),
        }
    }
}

impl std::error::Error for ForwardedError {}

/// The addresses `header` lists, left (the first client) to right (the
/// hop nearest to this server), across all its lines; empty when the
/// header is absent.
pub(crate) fn hops(headers: &HeaderMap, header: ForwardedHeader) -> Result<Vec<IpAddr>, ForwardedError> {
    let mut lines = headers.get_all(header.name()).iter().peekable();
    if lines.peek().is_none() {
        return Ok(Vec::new());
    }
    let mut text = String::new();
    for (index, value) in lines.enumerate() {
        let value = value.to_str().map_err(|_| ForwardedError::NotText)?;
        if text.len() + value.len() + 1 > MAX_BYTES {
            return Err(ForwardedError::TooLong);
        }
        if index > 0 {
            text.push(',');
        }
        text.push_str(value);
    }
    let elements: Vec<&str> = text.split(',').collect();
    if elements.len() > MAX_HOPS {
        return Err(ForwardedError::TooLong);
    }
    elements
        .iter()
        .enumerate()
        .map(|(hop, element)| {
            let node = match header {
                ForwardedHeader::XForwardedFor => Some(element.trim()),
                ForwardedHeader::Forwarded => for_parameter(element),
            };
            node.and_then(node_address).ok_or(ForwardedError::NotAnAddress { hop })
        })
        .collect()
}

/// The value of the `for` parameter of one `Forwarded` element, unquoted.
fn for_parameter(element: &str) -> Option<&str> {
    let mut found = None;
    for pair in element.split(';') {
        let (name, value) = pair.trim().split_once('=')?;
        if name.trim().eq_ignore_ascii_case("for") {
            if found.is_some() {
                // Two `for` in one element: ambiguous, so unreadable.
                return None;
            }
            let value = value.trim();
            found = Some(match value.strip_prefix('"') {
                Some(quoted) => quoted.strip_suffix('"')?,
                None => value,
            });
        }
    }
    found
}

/// An address as a hop writes it: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let bracketed = node.strip_prefix('[')?.strip_suffix(']')?;
    bracketed.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(name, HeaderValue::from_str(value).expect("a header value"));
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn x_forwarded_for_lists_every_hop_of_every_line_in_order() {
        let map = headers("x-forwarded-for", &["203.0.113.7, 10.0.0.2", "10.0.0.3:8080,[2001:db8::9]:443"]);
        let listed = hops(&map, ForwardedHeader::XForwardedFor).expect("readable");
        assert_eq!(listed, [ip("203.0.113.7"), ip("10.0.0.2"), ip("10.0.0.3"), ip("2001:db8::9")]);
        assert_eq!(hops(&HeaderMap::new(), ForwardedHeader::XForwardedFor), Ok(Vec::new()));
    }

    #[test]
    fn forwarded_reads_the_for_parameter_quoted_or_not() {
        let map = headers("forwarded", &[r#"for=192.0.2.43;proto=https, For="[2001:db8:cafe::17]:4711";by=10.0.0.1"#]);
        let listed = hops(&map, ForwardedHeader::Forwarded).expect("readable");
        assert_eq!(listed, [ip("192.0.2.43"), ip("2001:db8:cafe::17")]);
    }

    #[test]
    fn anything_but_addresses_is_refused_whole() {
        for (header, value, hop) in [
            (ForwardedHeader::XForwardedFor, "203.0.113.7, unknown", 1),
            (ForwardedHeader::XForwardedFor, "", 0),
            (ForwardedHeader::XForwardedFor, "203.0.113.7,,10.0.0.1", 1),
            (ForwardedHeader::XForwardedFor, "196.201.214.200 10.0.0.1", 0),
            (ForwardedHeader::Forwarded, "for=unknown", 0),
            (ForwardedHeader::Forwarded, "for=_hidden", 0),
            (ForwardedHeader::Forwarded, "proto=https", 0),
            (ForwardedHeader::Forwarded, "for=192.0.2.1;for=10.0.0.1", 0),
            (ForwardedHeader::Forwarded, r#"for="192.0.2.1"#, 0),
        ] {
            let map = headers(header.name(), &[value]);
            assert_eq!(hops(&map, header), Err(ForwardedError::NotAnAddress { hop }), "{value:?}");
        }
    }

    #[test]
    fn oversized_or_binary_headers_are_refused() {
        let many = vec!["10.0.0.1"; MAX_HOPS + 1].join(",");
        assert_eq!(
            hops(&headers("x-forwarded-for", &[&many]), ForwardedHeader::XForwardedFor),
            Err(ForwardedError::TooLong)
        );
        let long = format!("10.0.0.1,{}", " ".repeat(MAX_BYTES));
        assert_eq!(
            hops(&headers("x-forwarded-for", &[&long]), ForwardedHeader::XForwardedFor),
            Err(ForwardedError::TooLong)
        );
        let mut binary = HeaderMap::new();
        binary.insert("x-forwarded-for", HeaderValue::from_bytes(b"10.0.0.1\xff").expect("obs-text is allowed"));
        assert_eq!(hops(&binary, ForwardedHeader::XForwardedFor), Err(ForwardedError::NotText));
    }

    #[test]
    fn the_bounds_are_inclusive() {
        // Exactly the most hops, padded with spaces to one byte under the
        // most bytes (a byte is kept for the comma joining lines).
        let hop = |number: usize| format!("10.0.0.{number}");
        let listed: Vec<String> = (0..MAX_HOPS).map(hop).collect();
        let mut at_the_bounds = listed.join(",");
        at_the_bounds.push_str(&" ".repeat(MAX_BYTES - 1 - at_the_bounds.len()));
        let map = headers("x-forwarded-for", &[&at_the_bounds]);
        assert_eq!(hops(&map, ForwardedHeader::XForwardedFor).map(|hops| hops.len()), Ok(MAX_HOPS));
        // One byte more, on a single line, is too long.
        let over = format!("{at_the_bounds} ");
        let map = headers("x-forwarded-for", &[&over]);
        assert_eq!(hops(&map, ForwardedHeader::XForwardedFor), Err(ForwardedError::TooLong));
    }

    #[test]
    fn errors_say_what_was_wrong() {
        assert_eq!(ForwardedError::NotText.to_string(), "the forwarding header is not plain text");
        assert_eq!(ForwardedError::TooLong.to_string(), "the forwarding header lists more than 32 hops or 4096 bytes");
        assert_eq!(
            ForwardedError::NotAnAddress { hop: 2 }.to_string(),
            "hop 2 of the forwarding header is not an IP address"
        );
    }
}
