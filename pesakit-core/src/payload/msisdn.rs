//! Phone numbers as Daraja sends them: plain, masked or hashed.

use std::fmt;

/// A customer phone number exactly as Daraja sent it, with what could be
/// learned from it. Daraja sends the payer's number plain (`2547…`), masked
/// (`2547 ***** 126`) or, on newer C2B registrations, hashed; all are kept.
///
/// Daraja sends plain numbers, masks (`2547 ***** 126`, `2******9`) and
/// 64-character hashes depending on how the URL was registered. None of those
/// makes a payment unparseable: the text is always kept, and a normalised
/// `254…` form is derived only from the plain forms `2547…`/`2541…`,
/// `07…`/`01…`, `7…`/`1…` and `+254…`.
///
/// MSISDNs are personal data: its `Debug` form is redacted.
///
/// ```
/// use pesakit::{Msisdn, MsisdnForm};
///
/// let plain = Msisdn::new("0708374149");
/// assert_eq!(plain.normalised(), Some("254708374149"));
///
/// let masked = Msisdn::new("2547 ***** 126");
/// assert_eq!(masked.form(), MsisdnForm::Masked);
/// assert_eq!(masked.normalised(), None);
/// assert_eq!(masked.as_str(), "2547 ***** 126");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Msisdn {
    raw: String,
    normalised: Option<[u8; 12]>,
    form: MsisdnForm,
}

/// What kind of phone text a [`Msisdn`] holds.
///
/// ```
/// use pesakit::{Msisdn, MsisdnForm};
///
/// let hash = "a".repeat(64);
/// assert_eq!(Msisdn::new(hash).form(), MsisdnForm::Hashed);
/// assert_eq!(Msisdn::new("12345").form(), MsisdnForm::Unrecognised);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MsisdnForm {
    /// A full Kenyan mobile number; [`Msisdn::normalised`] is available.
    Plain,
    /// Digits with `*` masking, with or without spaces.
    Masked,
    /// 64 lower-case hex characters; the algorithm is unknown, so it cannot
    /// be matched to a phone.
    Hashed,
    /// Anything else, kept verbatim.
    Unrecognised,
}

impl Msisdn {
    /// Classifies `raw`, keeping it verbatim. Never fails.
    pub fn new(raw: impl Into<String>) -> Self {
        let raw = raw.into();
        let normalised = normalise(&raw);
        let form = if normalised.is_some() {
            MsisdnForm::Plain
        } else if is_masked(&raw) {
            MsisdnForm::Masked
        } else if raw.len() == 64 && raw.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f')) {
            MsisdnForm::Hashed
        } else {
            MsisdnForm::Unrecognised
        };
        Self { raw, normalised, form }
    }

    /// The text exactly as Daraja sent it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// What kind of text this is.
    pub fn form(&self) -> MsisdnForm {
        self.form
    }

    /// The number as twelve digits `254XXXXXXXXX`, for plain forms only.
    pub fn normalised(&self) -> Option<&str> {
        self.normalised.as_ref().and_then(|digits| std::str::from_utf8(digits).ok())
    }
}

impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Msisdn").field("form", &self.form).field("raw", &"<redacted>").finish()
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The nine subscriber digits of a Kenyan mobile number start with 7 or 1.
fn normalise(raw: &str) -> Option<[u8; 12]> {
    let digits = raw.strip_prefix('+').filter(|rest| rest.starts_with("254")).unwrap_or(raw);
    if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let subscriber = match digits.len() {
        12 => digits.strip_prefix("254")?,
        10 => digits.strip_prefix('0')?,
        9 => digits,
        _ => return None,
    };
    if !matches!(subscriber.as_bytes().first(), Some(b'7' | b'1')) {
        return None;
    }
    let mut normalised = *b"254000000000";
    normalised[3..].copy_from_slice(subscriber.as_bytes());
    Some(normalised)
}

fn is_masked(raw: &str) -> bool {
    raw.contains('*') && raw.bytes().all(|byte| byte.is_ascii_digit() || byte == b'*' || byte == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_text_as_sent_and_debug_hides_it() {
        for raw in ["254708374149", "2547 ***** 126", ""] {
            assert_eq!(Msisdn::new(raw).to_string(), raw);
        }
        let shown = format!("{:?}", Msisdn::new("254708374149"));
        assert_eq!(shown, r#"Msisdn { form: Plain, raw: "<redacted>" }"#);
    }

    #[test]
    fn plain_forms_normalise_to_the_same_number() {
        for raw in ["254708374149", "0708374149", "708374149", "+254708374149"] {
            assert_eq!(Msisdn::new(raw).normalised(), Some("254708374149"), "{raw}");
        }
        assert_eq!(Msisdn::new("0110000001").normalised(), Some("254110000001"));
    }

    #[test]
    fn unusual_text_is_kept_not_rejected() {
        for (raw, form) in [
            ("25470****149", MsisdnForm::Masked),
            ("2******9", MsisdnForm::Masked),
            ("25470837414", MsisdnForm::Unrecognised),
            ("+1 555 0100", MsisdnForm::Unrecognised),
            ("0808374149", MsisdnForm::Unrecognised),
            ("", MsisdnForm::Unrecognised),
        ] {
            let msisdn = Msisdn::new(raw);
            assert_eq!((msisdn.form(), msisdn.as_str()), (form, raw));
        }
    }

    #[test]
    fn debug_does_not_leak_the_number() {
        assert!(!format!("{:?}", Msisdn::new("254708374149")).contains("2547"));
    }
}
