//! What "matches" means for search: a case-insensitive substring, one character at a time,
//! or a regular expression; and where in the text the match is, as a byte range.
//!
//! Case folding is per character: ASCII letters fold to ASCII lowercase, any other
//! character to its Unicode lowercase when that is one character and not ASCII (so
//! `Ａ` finds `ａ`, `É` finds `é`, and the Kelvin sign stays itself). Nothing else is
//! folded: full-width and half-width forms are different characters, as are kana of the
//! two scripts, so `ｓｑｌ` finds `ｓｑｌ` and not `sql`. Because a fold never turns a
//! non-ASCII character into an ASCII one, an ASCII needle can be searched for in the text
//! with only its ASCII letters lowered, which keeps byte offsets as they are.

use std::ops::Range;

use regex::{Regex, RegexBuilder};

/// How a needle is looked for in a text.
#[derive(Clone, Debug)]
pub(crate) enum Matcher {
    /// The needle has no letter case: a plain substring search.
    Exact(String),
    /// The folded needle is ASCII: the text with its ASCII letters lowered.
    Ascii(String),
    /// Anything else: the text folded character by character.
    Folded(String),
    /// A regular expression (case-insensitive).
    Pattern(Regex),
}

/// The most memory a compiled pattern may take: a pattern from the command line must not
/// take the machine.
const PATTERN_SIZE_LIMIT: usize = 8 << 20;

/// One character folded for comparison (see the module documentation).
pub(crate) fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) if !l.is_ascii() => l,
        _ => c,
    }
}

/// A text folded character by character, as substring search compares it: what the
/// PostgreSQL store indexes, so that its database-side test agrees with [`Matcher`].
pub(crate) fn fold(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// Whether a character has no other case that folds to it or from it.
fn caseless(c: char) -> bool {
    let mut upper = c.to_uppercase();
    fold_char(c) == c && upper.next() == Some(c) && upper.next().is_none()
}

impl Matcher {
    /// A substring matcher; `None` for an empty needle.
    pub fn substring(needle: &str) -> Option<Matcher> {
        if needle.is_empty() {
            return None;
        }
        let folded: String = needle.chars().map(fold_char).collect();
        Some(if needle.chars().all(caseless) {
            Matcher::Exact(folded)
        } else if folded.is_ascii() {
            Matcher::Ascii(folded)
        } else {
            Matcher::Folded(folded)
        })
    }

    /// A regular expression matcher, case-insensitive.
    pub fn pattern(pattern: &str) -> Result<Matcher, regex::Error> {
        RegexBuilder::new(pattern)
            .case_insensitive(true)
            .size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map(Matcher::Pattern)
    }

    /// The needle as the database can test it: `(needle, lowered)` where `lowered` says the
    /// text must first go through SQLite's `lower()` (which lowers ASCII only). `None` when
    /// only this matcher can tell.
    pub fn sql_filter(&self) -> Option<(&str, bool)> {
        match self {
            Matcher::Exact(n) => Some((n, false)),
            Matcher::Ascii(n) => Some((n, true)),
            Matcher::Folded(_) | Matcher::Pattern(_) => None,
        }
    }

    /// The folded needle of a substring matcher (what [`fold`] makes of the text must
    /// hold it); `None` for a pattern.
    pub fn folded_needle(&self) -> Option<&str> {
        match self {
            Matcher::Exact(n) | Matcher::Ascii(n) | Matcher::Folded(n) => Some(n),
            Matcher::Pattern(_) => None,
        }
    }

    /// The first match in `text`, as a byte range of `text`. A pattern that matches only
    /// the empty string does not count as found.
    pub fn find(&self, text: &str) -> Option<Range<usize>> {
        match self {
            Matcher::Exact(n) => text.find(n.as_str()).map(|s| s..s + n.len()),
            Matcher::Ascii(n) => {
                let lowered = text.to_ascii_lowercase();
                lowered.find(n.as_str()).map(|s| s..s + n.len())
            }
            Matcher::Folded(n) => find_folded(text, n),
            Matcher::Pattern(re) => re
                .find_iter(text)
                .find(|m| !m.range().is_empty())
                .map(|m| m.range()),
        }
    }
}

/// `needle` (folded) in `text` folded character by character, mapped back to `text`.
fn find_folded(text: &str, needle: &str) -> Option<Range<usize>> {
    let mut folded = String::with_capacity(text.len());
    // The start in `text` of each character, by its start in `folded`.
    let mut starts = Vec::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        let f = fold_char(c);
        for _ in 0..f.len_utf8() {
            starts.push(at);
        }
        folded.push(f);
    }
    starts.push(text.len());
    let start = folded.find(needle)?;
    let end = start + needle.len();
    Some(starts[start]..starts[end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found<'a>(m: &Matcher, text: &'a str) -> Option<&'a str> {
        m.find(text).map(|r| &text[r])
    }

    #[test]
    fn substrings_fold_case_per_character_and_keep_byte_ranges() {
        let m = Matcher::substring("SQLite").expect("needle");
        assert!(matches!(m, Matcher::Ascii(_)));
        assert_eq!(found(&m, "数据库用 sqlite 存"), Some("sqlite"));
        let m = Matcher::substring("退避").expect("needle");
        assert!(matches!(m, Matcher::Exact(_)));
        assert_eq!(found(&m, "指数退避で再試行"), Some("退避"));
        let m = Matcher::substring("Ａｂ").expect("needle");
        assert!(matches!(m, Matcher::Folded(_)));
        assert_eq!(found(&m, "全角ａＢｃ"), Some("ａＢ"));
        assert_eq!(found(&m, "half ab"), None, "widths are not folded");
        let m = Matcher::substring("é").expect("needle");
        assert_eq!(found(&m, "CAFÉ au lait"), Some("É"));
        assert!(Matcher::substring("").is_none());
    }

    #[test]
    fn patterns_are_case_insensitive_and_skip_empty_matches() {
        let m = Matcher::pattern("r[oe]am").expect("pattern");
        assert_eq!(found(&m, "I use ROAM daily"), Some("ROAM"));
        let m = Matcher::pattern("x*").expect("pattern");
        assert_eq!(found(&m, "abc"), None);
        assert!(Matcher::pattern("(").is_err());
    }
}
