//! The one id rule of roam, for the client and the store alike (PROTOCOL.md §1).
//!
//! User ids are `[a-zA-Z0-9_.-]{1,64}` and case-insensitive; group and room ids (decimal
//! numbers) fit the same alphabet. The service answers mixed-case ids with empty lists, so
//! every id is lowercased before it is used, and ids are compared lowercased.
//!
//! Two more refusals keep an id harmless where it travels: `.` and `..` are refused (in a
//! path they would climb a level), and the alphabet is checked on the text as given, before
//! lowercasing, so a character whose lowercase is ASCII (the Kelvin sign `K` lowercases to
//! `k`) is not quietly taken for another user.

/// The longest id, in bytes (all of them ASCII).
pub const MAX_ID_LEN: usize = 64;

/// Why a text is not an id. Its `Display` quotes the text, shortened and inert.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{shown} is not an id: use 1 to {MAX_ID_LEN} of a-z, A-Z, 0-9, '_', '.', '-' (not \".\" or \"..\")"
)]
pub struct InvalidId {
    shown: String,
}

impl InvalidId {
    fn new(text: &str) -> InvalidId {
        // Debug formatting escapes controls; 80 characters say enough.
        let short: String = text.chars().take(80).collect();
        InvalidId {
            shown: format!("{short:?}"),
        }
    }
}

/// An id as roam uses it: checked and lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Id {
    /// The lowercased id.
    pub id: String,
    /// Whether lowercasing changed what was given, so a person can be told once.
    pub was_lowercased: bool,
}

/// Checks `text` against the id rule and lowercases it. Surrounding whitespace is not
/// trimmed here: callers that read ids from people trim first.
pub fn normalize(text: &str) -> Result<Id, InvalidId> {
    if !is_id(text) {
        return Err(InvalidId::new(text));
    }
    let id = text.to_ascii_lowercase();
    let was_lowercased = id != text;
    Ok(Id { id, was_lowercased })
}

/// [`normalize`] without the flag: the lowercased id.
pub fn check(text: &str) -> Result<String, InvalidId> {
    normalize(text).map(|id| id.id)
}

/// Whether `text` is an id as given (either case).
pub fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && text != "."
        && text != ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_alphabet_up_to_64_bytes_is_an_id() {
        assert!(is_id("bob_1.x-y"));
        assert!(is_id("262857469362177"));
        assert!(is_id(&"a".repeat(64)));
        assert!(is_id("..."));
        assert!(is_id(".hidden"));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", ".", "..", "a/b", "a@b", "a b", "é", "a\u{0}", "a%2f"] {
            assert!(!is_id(bad), "{bad:?}");
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
        assert!(!is_id(&"a".repeat(65)));
    }

    #[test]
    fn ids_are_lowercased_and_say_so() {
        assert_eq!(
            normalize("Bob"),
            Ok(Id {
                id: "bob".into(),
                was_lowercased: true
            })
        );
        assert_eq!(
            normalize("bob"),
            Ok(Id {
                id: "bob".into(),
                was_lowercased: false
            })
        );
        assert_eq!(check("Li.Wei").as_deref(), Ok("li.wei"));
    }

    #[test]
    fn a_character_that_lowercases_to_ascii_is_not_taken_for_it() {
        // U+212A KELVIN SIGN lowercases to 'k' under Unicode rules.
        assert_eq!("\u{212a}".to_lowercase(), "k");
        assert!(normalize("\u{212a}ate").is_err());
    }

    #[test]
    fn the_error_quotes_the_text_inert_and_short() {
        let error = normalize(&format!("a\u{1b}[2J{}", "x".repeat(200)))
            .expect_err("not an id")
            .to_string();
        assert!(!error.contains('\u{1b}'), "{error}");
        assert!(error.len() < 250, "{error}");
        assert!(error.contains("1 to 64"), "{error}");
    }
}
