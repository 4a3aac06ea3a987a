//! `pesakit check-url`: Daraja's rules for callback URLs: a scheme and a
//! host Safaricom can reach, no words its filter blocks, no tunnels in
//! production, and a stable path.

use std::net::IpAddr;
use std::process::ExitCode;

use pesakit::path_rules::{self, BANNED_WORDS, PathProblem};

use crate::output::Output;

/// Hosts of tunnels and request catchers, which Safaricom blocks in
/// production (and often in sandbox).
const TUNNELS_AND_CATCHERS: [&str; 17] = [
    "ngrok.io",
    "ngrok-free.app",
    "ngrok.app",
    "ngrok-free.dev",
    "loca.lt",
    "localtunnel.me",
    "serveo.net",
    "trycloudflare.com",
    "lhr.life",
    "localhost.run",
    "mockbin.org",
    "mockbin.io",
    "requestbin.com",
    "requestbin.net",
    "pipedream.net",
    "webhook.site",
    "beeceptor.com",
];

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Severity {
    /// Daraja would refuse the URL or its callbacks would not arrive.
    Error,
    /// Works, but risky.
    Warning,
}

/// One rule the URL breaks, with why it matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    pub(crate) message: String,
}

pub(crate) fn run(url: &str, production: bool, allowlist: bool, output: &Output) -> ExitCode {
    let mut findings = check(url, production);
    if production && !allowlist {
        findings.extend(check_protection(url));
    }
    let environment = if production { "production" } else { "sandbox" };
    if findings.is_empty() {
        output.ok(&format!("{url} follows Daraja's URL rules for {environment}"));
        return ExitCode::SUCCESS;
    }
    for finding in &findings {
        match finding.severity {
            Severity::Error => output.problem(&finding.message),
            Severity::Warning => output.note(&finding.message),
        }
    }
    if findings.iter().any(|finding| finding.severity == Severity::Error) {
        ExitCode::FAILURE
    } else {
        output.ok(&format!("{url} is usable in {environment}, with the notes above"));
        ExitCode::SUCCESS
    }
}

/// Every rule `url` breaks.
pub(crate) fn check(url: &str, production: bool) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut error = |message: String| findings.push(Finding { severity: Severity::Error, message });
    if url.chars().any(char::is_whitespace) {
        error("the URL contains spaces; Daraja rejects it. Remove them (or percent-encode as %20)".to_owned());
    }
    let lowered = url.to_ascii_lowercase();
    for word in BANNED_WORDS.iter().filter(|word| lowered.contains(*word)) {
        // `exe` is part of `exec`: report the longer word once.
        if *word == "exe" && lowered.contains("exec") {
            continue;
        }
        error(format!(
            "the URL contains `{word}`, which Safaricom filters out of callback URLs in any letter case: \
             the URL is blocked and no callback arrives. Rename that part"
        ));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        error("the URL needs a scheme: https://… (http:// only in sandbox)".to_owned());
        return findings;
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if production => {
            error("production callback URLs must use https:// with a publicly trusted certificate".to_owned())
        }
        "http" => {}
        other => error(format!("`{other}://` is not a web URL; use https://")),
    }
    let (authority, path_and_query) = rest.find(['/', '?', '#']).map_or((rest, ""), |at| rest.split_at(at));
    let host = host_of(authority);
    let path = path_and_query.split(['?', '#']).next().unwrap_or_default();
    findings.extend(check_host(&host, production));
    findings.extend(check_path(path, path_and_query));
    findings
}

/// A production URL that anyone who learns it can post a fake payment to:
/// no segment that looks like a secret, and no allowlist said to be in force.
fn check_protection(url: &str) -> Option<Finding> {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest.find('/').map_or("", |at| &rest[at..]));
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if path.split('/').any(looks_secret) {
        return None;
    }
    Some(Finding {
        severity: Severity::Warning,
        message: "the path has no secret segment and no allowlist is said to be in force: anyone who learns this URL \
                  can post a fake payment to it. Add a `{secret}` segment (`Routes::path_secret`) or enforce \
                  `SourceGuard::safaricom()` and pass --allowlist"
            .to_owned(),
    })
}

/// Whether a path segment looks like a secret: 16 or more URL-safe
/// characters with letters and digits both.
fn looks_secret(segment: &str) -> bool {
    segment.len() >= 16
        && segment.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~'))
        && segment.bytes().any(|byte| byte.is_ascii_digit())
        && segment.bytes().any(|byte| byte.is_ascii_alphabetic())
}

/// The host, lower-cased, without user info, port or IPv6 brackets.
fn host_of(authority: &str) -> String {
    let without_user = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(bracketed) = without_user.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or(bracketed)
    } else {
        without_user.split(':').next().unwrap_or(without_user)
    };
    host.to_ascii_lowercase()
}

fn check_host(host: &str, production: bool) -> Vec<Finding> {
    let mut findings = Vec::new();
    if host.is_empty() {
        findings.push(Finding { severity: Severity::Error, message: "the URL has no host".to_owned() });
        return findings;
    }
    if let Some(service) =
        TUNNELS_AND_CATCHERS.iter().find(|domain| host == **domain || host.ends_with(&format!(".{domain}")))
    {
        let (severity, message) = if production {
            (
                Severity::Error,
                format!(
                    "`{host}` is a tunnel or request catcher ({service}); Safaricom blocks these in production: use your own domain"
                ),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "`{host}` is a tunnel or request catcher ({service}); these are often blocked in sandbox too, so callbacks may never arrive: test locally with `pesakit simulate`"
                ),
            )
        };
        findings.push(Finding { severity, message });
    }
    let private = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_private() || ip.is_loopback() || ip.is_link_local() || ip.is_unspecified(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
        }
        Err(_) => {
            host == "localhost"
                || host.ends_with(".localhost")
                || host.ends_with(".local")
                || host.ends_with(".internal")
        }
    };
    if private {
        // Sandbox callbacks come from Safaricom's servers too: such a URL is
        // unusable in either environment.
        let message = format!(
            "`{host}` is not reachable from the internet: Safaricom's servers cannot call it, in sandbox or \
             production. To test a local endpoint, post to it with `pesakit simulate <scenario> --to <url>`"
        );
        findings.push(Finding { severity: Severity::Error, message });
    } else if host.parse::<IpAddr>().is_ok() && production {
        findings.push(Finding {
            severity: Severity::Warning,
            message: format!("`{host}` is a bare IP address; a stable host name survives moving servers, and C2B URLs are hard to change once registered"),
        });
    }
    findings
}

fn check_path(path: &str, path_and_query: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    if path.is_empty() || path == "/" {
        findings.push(Finding {
            severity: Severity::Error,
            message: "the URL has no path: give each callback a stable path of its own, such as /callbacks/stk, since C2B URLs are hard to change once registered".to_owned(),
        });
        return findings;
    }
    match path_rules::check_path(path) {
        // Banned words and spaces were reported for the whole URL.
        Ok(()) | Err(PathProblem::BannedWord(_) | PathProblem::Whitespace) => {}
        // After a host, a leading `//` is an empty segment, not a host.
        Err(PathProblem::SchemeOrHost) => findings.push(Finding {
            severity: Severity::Error,
            message: format!("the path {path:?}: {}", PathProblem::EmptySegment),
        }),
        Err(problem) => {
            findings.push(Finding { severity: Severity::Error, message: format!("the path {path:?}: {problem}") })
        }
    }
    if path_and_query.contains('?') {
        findings.push(Finding {
            severity: Severity::Warning,
            message: "the URL has a query string: put route secrets in the path instead, and keep them out of logs"
                .to_owned(),
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(url: &str, production: bool) -> Vec<String> {
        check(url, production).into_iter().filter(|f| f.severity == Severity::Error).map(|f| f.message).collect()
    }

    #[test]
    fn a_good_production_url_passes() {
        assert_eq!(check("https://pay.example.co.ke/callbacks/stk", true), []);
    }

    #[test]
    fn each_rule_is_reported() {
        let cases = [
            ("http://pay.example.co.ke/callbacks/stk", true, "https://"),
            ("https://pay.example.co.ke/mpesa/callback", true, "`mpesa`"),
            ("https://M-PESA.example.co.ke/callbacks", false, "`m-pesa`"),
            ("https://pay.example.co.ke/callbacks/run?cmd=1", false, "`cmd`"),
            ("https://pay.example.co.ke/call backs", false, "spaces"),
            ("https://abc123.ngrok-free.app/callbacks/stk", true, "tunnel"),
            ("https://webhook.site/callbacks/stk", true, "request catcher"),
            ("https://192.168.1.20/callbacks/stk", true, "not reachable"),
            ("https://localhost:3000/callbacks/stk", true, "not reachable"),
            ("https://[::1]:8443/callbacks/stk", true, "not reachable"),
            ("https://pay.example.co.ke", true, "no path"),
            ("https://pay.example.co.ke//stk", false, "empty segment"),
            ("pay.example.co.ke/stk", false, "scheme"),
        ];
        for (url, production, words) in cases {
            let found = errors(url, production);
            assert!(found.iter().any(|message| message.contains(words)), "{url}: {found:?}");
        }
    }

    #[test]
    fn sandbox_only_warns_about_tunnels() {
        assert_eq!(errors("https://abc.ngrok-free.app/callbacks/stk", false), Vec::<String>::new());
        assert!(!check("https://abc.ngrok-free.app/callbacks/stk", false).is_empty());
    }

    #[test]
    fn a_local_host_is_unreachable_in_sandbox_and_production_alike() {
        for url in ["http://127.0.0.1:3000/callbacks/stk", "http://localhost:3000/callbacks/stk", "http://10.0.0.5/x"] {
            for production in [false, true] {
                let found = errors(url, production);
                assert!(found.iter().any(|message| message.contains("in sandbox or production")), "{url}: {found:?}");
            }
        }
    }

    #[test]
    fn an_unprotected_production_url_is_warned_about() {
        assert!(check_protection("https://pay.example.co.ke/callbacks/stk").is_some());
        assert!(check_protection("https://pay.example.co.ke/callbacks/Zq8xW2vR5tY7uI9o/stk").is_none());
        // Long but not secret-like: a word, or digits only.
        assert!(check_protection("https://pay.example.co.ke/callbacks/confirmationpayments").is_some());
        assert!(check_protection("https://pay.example.co.ke/callbacks/12345678901234567").is_some());
    }

    #[test]
    fn exec_is_reported_once() {
        let found = errors("https://pay.example.co.ke/exec/stk", false);
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
