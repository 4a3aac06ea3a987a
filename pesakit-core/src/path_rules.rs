//! The rules every callback path follows.
//!
//! One file, compiled into both the route table (run time) and the attribute
//! macros (compile time, through a symbolic link), so both apply the same
//! rules. It depends on `core` alone for that reason.

use core::fmt;

/// Words Safaricom filters out of callback URLs in any letter case; a URL
/// containing one is blocked and its callbacks never arrive.
pub const BANNED_WORDS: [&str; 9] = ["mpesa", "m-pesa", "m_pesa", "safaricom", "sql", "query", "cmd", "exec", "exe"];

/// Why a text cannot be a callback path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    /// The path is empty.
    Empty,
    /// It has a scheme or host (`https://…`, `//host/…`).
    SchemeOrHost,
    /// It does not start with `/`.
    NotAbsolute,
    /// It has a `?query`.
    Query,
    /// It has a `#fragment`.
    Fragment,
    /// It has a space or other white space.
    Whitespace,
    /// It has an empty segment: `//`, or a trailing `/`.
    EmptySegment,
    /// It has a `.` or `..` segment.
    DotSegment,
    /// A segment a host framework would read as a parameter: `:name` or
    /// `*rest` (axum before 0.8, many routers) or `{name}` (axum 0.8,
    /// actix-web). Daraja posts to a fixed URL, so it would never match.
    /// The one exception is [`SECRET_SEGMENT`].
    ParameterSegment,
    /// A second `{secret}` segment.
    SecondSecret,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A character not allowed in a path segment.
    Character(char),
    /// A word Safaricom rejects in callback URLs.
    BannedWord(&'static str),
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the path is empty; write an absolute path such as `/payments/stk`"),
            Self::SchemeOrHost => f.write_str(
                "give only the path, such as `/payments/stk`: the scheme and host belong to where the server runs",
            ),
            Self::NotAbsolute => f.write_str("the path must start with `/`"),
            Self::Query => f.write_str("the path must not have a `?query`; put route secrets in the path"),
            Self::Fragment => f.write_str("the path must not have a `#fragment`; it is never sent to the server"),
            Self::Whitespace => f.write_str("the path must not contain spaces; Daraja rejects URLs with spaces"),
            Self::EmptySegment => f.write_str("the path has an empty segment (`//` or a trailing `/`)"),
            Self::DotSegment => f.write_str("the path has a `.` or `..` segment"),
            Self::ParameterSegment => f.write_str(
                "a segment starts with `:` or `*` or has `{` or `}`, which web frameworks read as a parameter: \
                 Daraja posts to one fixed URL, so write the segment out (or use `{secret}` for the table's \
                 path secret)",
            ),
            Self::SecondSecret => f.write_str("the path has `{secret}` twice; one secret segment is enough"),
            Self::BadEscape => f.write_str("a `%` in the path must start an escape of two hex digits"),
            Self::Character(character) => write!(f, "the path must not contain {character:?}"),
            Self::BannedWord(word) => write!(
                f,
                "the path contains `{word}`, which Safaricom rejects in callback URLs in any letter case: \
                 Daraja would refuse the URL and no callback would arrive; choose another word",
            ),
        }
    }
}

/// The segment that stands for the table's path secret, given at run time
/// with `Routes::path_secret`; the one `{…}` segment a path may have.
pub const SECRET_SEGMENT: &str = "{secret}";

/// Checks that `path` is an absolute origin-form path Daraja will call.
pub fn check_path(path: &str) -> Result<(), PathProblem> {
    if path.is_empty() {
        return Err(PathProblem::Empty);
    }
    if path.contains("://") || path.starts_with("//") {
        return Err(PathProblem::SchemeOrHost);
    }
    if !path.starts_with('/') {
        return Err(PathProblem::NotAbsolute);
    }
    let mut secrets = 0;
    for segment in path[1..].split('/') {
        if segment == SECRET_SEGMENT {
            secrets += 1;
            if secrets > 1 {
                return Err(PathProblem::SecondSecret);
            }
            continue;
        }
        check_segment(segment)?;
    }
    let lowered = path.to_ascii_lowercase();
    match BANNED_WORDS.iter().find(|word| lowered.contains(*word)) {
        Some(word) => Err(PathProblem::BannedWord(word)),
        None => Ok(()),
    }
}

fn check_segment(segment: &str) -> Result<(), PathProblem> {
    if is_parameter_segment(segment) {
        return Err(PathProblem::ParameterSegment);
    }
    let bytes = segment.as_bytes();
    for (index, character) in segment.char_indices() {
        match character {
            '?' => return Err(PathProblem::Query),
            '#' => return Err(PathProblem::Fragment),
            character if character.is_whitespace() => return Err(PathProblem::Whitespace),
            '%' => {
                let escape = bytes.get(index + 1..index + 3);
                if !escape.is_some_and(|digits| digits.iter().all(u8::is_ascii_hexdigit)) {
                    return Err(PathProblem::BadEscape);
                }
            }
            'a'..='z'
            | 'A'..='Z'
            | '0'..='9'
            | '-'
            | '.'
            | '_'
            | '~'
            | '!'
            | '$'
            | '&'
            | '\''
            | '('
            | ')'
            | '*'
            | '+'
            | ','
            | ';'
            | '='
            | ':'
            | '@' => {}
            other => return Err(PathProblem::Character(other)),
        }
    }
    match segment {
        "" => Err(PathProblem::EmptySegment),
        "." | ".." => Err(PathProblem::DotSegment),
        _ => Ok(()),
    }
}

/// Whether a host framework would read `segment` as a parameter.
fn is_parameter_segment(segment: &str) -> bool {
    segment.starts_with([':', '*']) || segment.contains(['{', '}'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_says_what_to_write_instead() {
        let said = |path: &str| check_path(path).map_err(|problem| problem.to_string()).expect_err(path);
        assert!(said("").contains("`/payments/stk`"));
        assert!(said("https://pay.example.co.ke/stk").contains("only the path"));
        assert!(said("/stk?x=1").contains("?query"));
        assert!(said("/a//b").contains("empty segment"));
        assert!(said("/orders/:id").contains("`{secret}`"));
        assert!(said("/mpesa/stk").contains("`mpesa`"));
        assert!(said("/a%zz").contains("two hex digits"));
    }

    #[test]
    fn callback_paths_daraja_can_post_to_pass() {
        for path in ["/payments/stk", "/a", "/v1/c2b:confirm/x", "/orders/%7E42", "/results/b2c-1_x.y~z"] {
            assert_eq!(check_path(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn one_secret_segment_is_allowed_anywhere() {
        for path in ["/payments/{secret}/stk", "/{secret}", "/stk/{secret}"] {
            assert_eq!(check_path(path), Ok(()), "{path}");
        }
        assert_eq!(check_path("/{secret}/stk/{secret}"), Err(PathProblem::SecondSecret));
        assert_eq!(check_path("/pay/{secrets}"), Err(PathProblem::ParameterSegment));
        assert_eq!(check_path("/pay/x{secret}"), Err(PathProblem::ParameterSegment));
    }

    #[test]
    fn segments_a_framework_reads_as_parameters_are_refused() {
        for path in ["/pay/:id", "/pay/*rest", "/pay/{id}", "/pay/x{id}", "/pay/}", "/:a/b", "/*"] {
            assert_eq!(check_path(path), Err(PathProblem::ParameterSegment), "{path}");
        }
    }

    #[test]
    fn each_problem_is_named() {
        let cases = [
            ("", PathProblem::Empty),
            ("https://example.com/stk", PathProblem::SchemeOrHost),
            ("//example.com/stk", PathProblem::SchemeOrHost),
            ("payments/stk", PathProblem::NotAbsolute),
            ("/stk?x=1", PathProblem::Query),
            ("/stk#top", PathProblem::Fragment),
            ("/st k", PathProblem::Whitespace),
            ("/a//b", PathProblem::EmptySegment),
            ("/a/", PathProblem::EmptySegment),
            ("/a/../b", PathProblem::DotSegment),
            ("/a%2", PathProblem::BadEscape),
            ("/a\"b", PathProblem::Character('"')),
            ("/MPesa/stk", PathProblem::BannedWord("mpesa")),
            ("/pay/exec", PathProblem::BannedWord("exec")),
        ];
        for (path, problem) in cases {
            assert_eq!(check_path(path), Err(problem), "{path:?}");
        }
    }
}
