//! Arbitrary text as a callback path: never a panic, and a path the rules
//! accept is one every host can serve (absolute, no whitespace, no query,
//! no empty segment, no blocked word).

#![no_main]

use pesakit::path_rules::{BANNED_WORDS, check_path};

libfuzzer_sys::fuzz_target!(|path: &str| {
    if check_path(path).is_ok() {
        assert!(path.starts_with('/'), "accepted a relative path {path:?}");
        assert!(!path.chars().any(char::is_whitespace), "accepted whitespace in {path:?}");
        assert!(!path.contains(['?', '#']), "accepted a query or fragment in {path:?}");
        assert!(path == "/" || !path[1..].split('/').any(str::is_empty), "accepted an empty segment in {path:?}");
        let lowered = path.to_ascii_lowercase();
        assert!(!BANNED_WORDS.iter().any(|word| lowered.contains(word)), "accepted a blocked word in {path:?}");
    }
});
