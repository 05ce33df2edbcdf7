//! Strings from a request, made safe for the server log.
//!
//! Anyone can send a user name, a path or a method: written raw, an escape sequence would
//! act on the terminal reading the log, a newline would forge a log line and a space a log
//! field. [`LogText`] writes such a string quoted, printable ASCII as it is (`"` and `\`
//! escaped) and every other character as `\u{XXXX}`, cut to a length: what reaches the log
//! is one inert token, and the original can be read back from it.

use std::fmt;

/// A request string as it goes into a log line: quoted, escaped, at most `max` characters of
/// the original (an ellipsis marks the cut).
#[derive(Clone, Copy, Debug)]
pub struct LogText<'a> {
    text: &'a str,
    max: usize,
}

/// How much of a request string a log line keeps by default.
const DEFAULT_MAX: usize = 120;

impl<'a> LogText<'a> {
    /// `text` cut to the default length.
    pub fn new(text: &'a str) -> LogText<'a> {
        LogText {
            text,
            max: DEFAULT_MAX,
        }
    }

    /// `text` cut to `max` characters.
    pub fn with_max(text: &'a str, max: usize) -> LogText<'a> {
        LogText { text, max }
    }
}

impl fmt::Display for LogText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for (i, c) in self.text.chars().enumerate() {
            if i == self.max {
                f.write_str("\u{2026}")?;
                break;
            }
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                ' '..='~' => write!(f, "{c}")?,
                other => write!(f, "\\u{{{:04x}}}", u32::from(other))?,
            }
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_everything_beyond_ascii_are_escaped() {
        let hostile = "bob\u{1b}[31m\r\nINFO forged=line\u{9b}2J\u{202e}x\"\\ 你";
        let shown = LogText::new(hostile).to_string();
        assert_eq!(
            shown,
            "\"bob\\u{001b}[31m\\u{000d}\\u{000a}INFO forged=line\\u{009b}2J\\u{202e}x\\\"\\\\ \\u{4f60}\""
        );
        assert!(shown.chars().all(|c| (' '..='~').contains(&c)), "{shown}");
    }

    #[test]
    fn long_text_is_cut_with_a_mark() {
        assert_eq!(
            LogText::with_max("abcdef", 3).to_string(),
            "\"abc\u{2026}\""
        );
        assert_eq!(LogText::with_max("abc", 3).to_string(), "\"abc\"");
    }
}
