//! What `roam conversations` and `roam history` write: text for a person, or JSON Lines
//! for a script, both safe to send to a terminal.
//!
//! JSON Lines (one JSON value per line, <https://jsonlines.org>): each conversation or
//! message is one object; `roam history` ends with one more object holding the paging
//! state, `{"next_cursor": "..." | null, "is_last": true | false}`, so a script reads where
//! to go on from the same stream. Message ids (and every other 64-bit id) are strings, as
//! the official SDK gives them: a JSON reader that holds numbers as doubles would change
//! ids above 2^53.

use std::io::Write;

use anyhow::Result;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::config::Display;
use crate::protocol::Message;
use crate::tui::{display, text};

/// The time format when the config file gives none.
const DEFAULT_TIME_FORMAT: &str = "%Y-%m-%d %H:%M";

/// How times are written, from the config file's `[display]`.
pub(super) struct Times {
    zone: TimeZone,
    format: String,
}

impl Times {
    /// The config's zone and format, or the system zone and `2024-06-10 14:05`.
    pub fn new(display: &Display) -> Times {
        Times {
            zone: display
                .time_zone
                .as_ref()
                .map_or_else(TimeZone::system, |z| z.time_zone()),
            format: display
                .time_format
                .clone()
                .unwrap_or_else(|| DEFAULT_TIME_FORMAT.to_string()),
        }
    }

    /// The zone times are written in (and dates typed on the command line are read in).
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// A time in milliseconds, written; empty when it is out of range.
    pub fn show(&self, time_ms: i64) -> String {
        jiff::Timestamp::from_millisecond(time_ms)
            .ok()
            .and_then(|t| {
                jiff::fmt::strtime::format(self.format.as_bytes(), &t.to_zoned(self.zone.clone()))
                    .ok()
            })
            .map(|shown| text::one_line(&shown, 64))
            .unwrap_or_default()
    }

    /// Blanks as wide as a written time, for a row without one.
    pub fn blank(&self) -> String {
        let width = unicode_width::UnicodeWidthStr::width(self.show(0).as_str());
        " ".repeat(width)
    }
}

/// The last line of `roam history --json`.
#[derive(Serialize)]
pub(super) struct PagingState<'a> {
    /// Where the next run goes on (`--cursor`); `null` at the end.
    pub next_cursor: Option<&'a str>,
    /// Whether the history ends here in this direction.
    pub is_last: bool,
}

/// One message: text (id, time, sender as shown, body; further body lines indented) or a
/// JSON line (ids only).
pub(super) fn print_message(
    out: &mut impl Write,
    m: &Message,
    json: bool,
    times: &Times,
    sender: &str,
) -> Result<()> {
    if json {
        writeln!(out, "{}", terminal_safe_json(m)?)?;
        return Ok(());
    }
    let body = display::body(m);
    let mut lines = body.lines();
    writeln!(
        out,
        "{}  {}  {}  {}",
        m.id,
        times.show(m.time),
        text::one_line(sender, 48),
        lines.next().unwrap_or("")
    )?;
    for line in lines {
        writeln!(out, "    {line}")?;
    }
    Ok(())
}

/// A server's cursor as it may be shown: cursors are opaque, but one that is not plain
/// printable ASCII could act on the terminal, and could not be typed back anyway.
pub(super) fn shown_cursor(cursor: &str) -> String {
    if cursor.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        cursor.to_string()
    } else {
        format!("{:?} (not printable as given)", text::one_line(cursor, 80))
    }
}

/// JSON for a terminal. serde_json escapes C0 controls but leaves the rest raw inside
/// strings: DEL, C1 controls (U+009B is a one-character CSI), bidi controls that reorder the
/// line, U+2028/U+2029 that break it, and invisible formatters (U+200B, U+2060, U+FEFF,
/// U+00AD...) that hide text. Every character the display-text function would not show as
/// it is ([`text::shown_as_is`], one list for both) is written as a `\uXXXX` escape instead
/// (a surrogate pair beyond the BMP): outside strings JSON holds only ASCII, so this changes
/// no structure, and any JSON reader decodes the same text.
pub(super) fn terminal_safe_json<T: serde::Serialize>(value: &T) -> serde_json::Result<String> {
    let json = serde_json::to_string(value)?;
    if json.chars().all(text::shown_as_is) {
        return Ok(json);
    }
    let mut out = String::with_capacity(json.len() + 32);
    for c in json.chars() {
        if text::shown_as_is(c) {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Zone;

    #[test]
    fn times_follow_the_configured_zone_and_format() {
        let times = Times::new(&Display {
            time_format: Some("%d.%m.%Y %H:%M %Z".into()),
            time_zone: Some(Zone::Named("Asia/Shanghai".into())),
            ..Display::default()
        });
        assert_eq!(times.show(0), "01.01.1970 08:00 CST");
        assert_eq!(times.blank().len(), "01.01.1970 08:00 CST".len());
        assert_eq!(times.show(i64::MAX), "");
    }

    #[test]
    fn terminal_safe_json_escapes_controls_and_reads_back_the_same() {
        let text = "a\u{1b}[31m\u{7f}\u{85}\u{9b}2J\u{202e}evil\u{2066}\u{200f}\u{61c}é中\u{a0}z";
        let json = terminal_safe_json(&text).expect("serializes");
        assert!(
            !json.chars().any(|c| c.is_control()
                || ('\u{2066}'..='\u{2069}').contains(&c)
                || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{json}"
        );
        assert!(
            json.contains("\\u009b") && json.contains("\\u202e"),
            "{json}"
        );
        assert!(json.contains('é') && json.contains('中') && json.contains('\u{a0}'));
        let back: String = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, text);
        // Nothing to escape: unchanged.
        assert_eq!(terminal_safe_json(&"plain").expect("ok"), "\"plain\"");
    }

    #[test]
    fn terminal_safe_json_escapes_line_separators_and_invisible_formatters() {
        let text = "line\u{2028}para\u{2029}ad\u{200b}min\u{200c}\u{200d}\u{2060}\u{2064}\u{feff}\
                    soft\u{ad}hy\u{180e}\u{e0041}tag\u{fff9}👨\u{200d}👩";
        let json = terminal_safe_json(&text).expect("serializes");
        for escaped in [
            "\\u2028",
            "\\u2029",
            "\\u200b",
            "\\u2060",
            "\\u2064",
            "\\ufeff",
            "\\u00ad",
            "\\u180e",
            "\\udb40\\udc41",
            "\\ufff9",
        ] {
            assert!(json.contains(escaped), "{escaped} not in {json}");
        }
        // Nothing invisible is left raw; the joiners emoji and shaping need stay.
        assert!(json.chars().all(text::shown_as_is), "{json:?}");
        assert!(json.contains("👨\u{200d}👩"), "{json:?}");
        let back: String = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, text);
    }
}
