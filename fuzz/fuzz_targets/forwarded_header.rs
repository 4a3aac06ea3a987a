//! Arbitrary bytes as an `X-Forwarded-For` and a `Forwarded` header from a
//! trusted proxy: never a panic, and the client found is the proxy itself
//! or an address the header's text names, never one made up.

#![no_main]

use std::net::IpAddr;

use http::{HeaderMap, HeaderValue};
use pesakit::guard::{ForwardedHeader, SourceGuard};

const PROXY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

libfuzzer_sys::fuzz_target!(|value: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(value) else { return };
    let text = String::from_utf8_lossy(value.as_bytes()).to_ascii_lowercase();
    for (header, name) in
        [(ForwardedHeader::XForwardedFor, "x-forwarded-for"), (ForwardedHeader::Forwarded, "forwarded")]
    {
        let guard = SourceGuard::safaricom().trust_proxy("10.0.0.0/8").expect("a range").forwarded_header(header);
        let mut headers = HeaderMap::new();
        headers.insert(name, value.clone());
        if let Ok(client) = guard.client_address(PROXY, &headers) {
            let named = client.to_string().to_ascii_lowercase();
            assert!(
                client == PROXY || text.contains(&named) || named_in_long_form(client, &text),
                "{client} from {text:?}"
            );
        }
    }
});

/// An IPv6 client may be written in a longer form than its canonical text
/// (leading zeros, no `::`); an IPv4 one only as written.
fn named_in_long_form(client: IpAddr, text: &str) -> bool {
    client.is_ipv6()
        && text
            .split(|c: char| !(c.is_ascii_hexdigit() || c == ':' || c == '.'))
            .filter_map(|token| token.parse::<IpAddr>().ok())
            .any(|named| named == client)
}
