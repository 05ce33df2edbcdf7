//! How a message reads on screen: the display body of the history pane, the one-line
//! preview of the conversation list, and dates for people.
//!
//! Everything returned here has passed through [`text`](super::text), so it is safe to hand
//! to a widget. The display body is also what search matches against: match ranges are
//! byte ranges into exactly the string [`body`] returns.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use super::numbers::{clock_duration, human_size};
use super::text;
use crate::protocol::{Attachment, Content, Message, Size};

/// No limit for [`text::one_line`]: the pieces of a summary are cut by the pane, not here.
const UNLIMITED: usize = usize::MAX;

/// The display body of a message: what the history pane shows under the sender line.
///
/// Text is shown as sent (sanitized, capped at [`text::MESSAGE_CAP`]). Other kinds become a
/// one-line summary in brackets with what a person needs to recognise the message:
///
/// ```text
/// [image 1024×768 · photo.jpg · 230 kB]
/// ```
///
/// The download URL is not part of it (it is noise under every attachment): the details
/// panel shows it and the copy key copies it.
pub fn body(msg: &Message) -> String {
    match &msg.content {
        Content::Text { text } => text::sanitize_message(text).into_owned(),
        other => summary(other),
    }
}

/// A one-line preview of a message for the conversation list, at most `max_width` columns.
///
/// Text loses its line breaks; other kinds show the same bracketed summary as [`body`].
pub fn preview(msg: &Message, max_width: usize) -> String {
    match &msg.content {
        Content::Text { text } => text::one_line(text, max_width),
        other => text::truncate_to_width(&summary(other), max_width),
    }
}

/// The bracketed one-line summary of a non-text message. Every piece that came from the
/// server goes through [`text::one_line`], so a file name cannot break the line or carry
/// escape sequences.
fn summary(content: &Content) -> String {
    let clean = |s: &str| text::one_line(s, UNLIMITED);
    let mut parts: Vec<String> = Vec::new();
    let head = match content {
        Content::Text { text } => return clean(text),
        Content::Image { file, size, gif } => {
            parts.extend(dimensions(*size));
            push_file(&mut parts, file, &clean);
            if *gif { "GIF" } else { "image" }
        }
        Content::Video {
            file,
            duration,
            size,
            ..
        } => {
            parts.extend(duration.map(clock_duration));
            parts.extend(dimensions(*size));
            push_file(&mut parts, file, &clean);
            "video"
        }
        Content::Audio { file, duration } => {
            parts.extend(duration.map(|s| format!("{s} s")));
            parts.extend(file.file_length.map(human_size));
            "voice"
        }
        Content::File { file } => {
            push_file(&mut parts, file, &clean);
            "file"
        }
        Content::Location {
            address,
            lat,
            lng,
            building,
        } => {
            let mut place = clean(address);
            if let Some(b) = building.as_deref().filter(|b| !b.trim().is_empty()) {
                if !place.is_empty() {
                    place.push_str(", ");
                }
                place.push_str(&clean(b));
            }
            if !place.is_empty() {
                parts.push(place);
            }
            parts.push(format!("{},{}", coordinate(*lat), coordinate(*lng)));
            "location"
        }
        Content::Command { action } => {
            parts.push(clean(action));
            "command"
        }
        Content::Custom { event, exts } => {
            if !event.is_empty() {
                parts.push(clean(event));
            }
            if !exts.is_empty() {
                parts.push(clean(&fields(exts)));
            }
            "custom"
        }
        Content::Combined { title, summary, .. } => {
            let title = clean(title);
            let summary = clean(summary);
            return match (title.is_empty(), summary.is_empty()) {
                (false, false) => format!("[merged: {title} — {summary}]"),
                (false, true) => format!("[merged: {title}]"),
                (true, false) => format!("[merged: {summary}]"),
                (true, true) => "[merged messages]".to_string(),
            };
        }
    };
    let mut out = format!("[{head}");
    // A place or a custom event reads as one phrase ("gift {name: flower}"); the other
    // kinds list independent facts, separated by dots.
    let sep = if matches!(content, Content::Location { .. } | Content::Custom { .. }) {
        " "
    } else {
        " · "
    };
    let mut first = true;
    for part in parts.iter().filter(|p| !p.is_empty()) {
        out.push_str(if first { " " } else { sep });
        first = false;
        out.push_str(part);
    }
    out.push(']');
    out
}

/// File name and size, the parts every attachment summary shares.
fn push_file(parts: &mut Vec<String>, file: &Attachment, clean: &dyn Fn(&str) -> String) {
    if !file.filename.is_empty() {
        parts.push(clean(&file.filename));
    }
    parts.extend(file.file_length.map(human_size));
}

/// `1024×768`, when both sides are known and sensible.
fn dimensions(size: Option<Size>) -> Option<String> {
    let size = size?;
    let ok = |v: f64| v.is_finite() && v >= 1.0;
    (ok(size.width) && ok(size.height))
        .then(|| format!("{}×{}", size.width.round(), size.height.round()))
}

/// A coordinate with five decimals (about a metre), trailing zeros kept short.
fn coordinate(v: f64) -> String {
    if !v.is_finite() {
        return "?".to_string();
    }
    let s = format!("{v:.5}");
    let s = s.trim_end_matches('0');
    let s = s.strip_suffix('.').unwrap_or(s);
    // Keep at least two decimals so "39.9" reads as the coordinate it is: "39.90".
    match s.split_once('.') {
        Some((_, frac)) if frac.len() >= 2 => s.to_string(),
        Some((int, frac)) => format!("{int}.{frac:0<2}"),
        None => format!("{s}.00"),
    }
}

/// Custom fields as `{name: flower, count: 3}`: strings unquoted, other values as JSON.
fn fields(exts: &Map<String, Value>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in exts.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(k);
        out.push_str(": ");
        match v {
            Value::String(s) => out.push_str(s),
            other => {
                let _ = write!(out, "{other}");
            }
        }
    }
    out.push('}');
    out
}

/// The zoned time of a message, or `None` when the timestamp is out of range.
fn zoned(time_ms: i64, tz: &TimeZone) -> Option<jiff::Zoned> {
    Timestamp::from_millisecond(time_ms)
        .ok()
        .map(|t| t.to_zoned(tz.clone()))
}

/// The calendar day a message falls on in `tz`, as days since the epoch: what day
/// separators compare. Out-of-range times count as day 0.
pub fn day_number(time_ms: i64, tz: &TimeZone) -> i64 {
    let Ok(ts) = Timestamp::from_millisecond(time_ms) else {
        return 0;
    };
    let offset = i64::from(tz.to_offset(ts).seconds());
    (time_ms.div_euclid(1000) + offset).div_euclid(86_400)
}

/// The label of a day separator: `2024-03-05 Tue`.
pub fn day_label(time_ms: i64, tz: &TimeZone) -> String {
    zoned(time_ms, tz).map_or_else(
        || "????-??-??".to_string(),
        |z| z.strftime("%Y-%m-%d %a").to_string(),
    )
}

/// The time of day of a message for its header line: `14:03`.
pub fn clock(time_ms: i64, tz: &TimeZone) -> String {
    zoned(time_ms, tz).map_or_else(|| "--:--".to_string(), |z| z.strftime("%H:%M").to_string())
}

/// Date and time for the conversation list: `2024-03-05 14:03`.
pub fn date_time(time_ms: i64, tz: &TimeZone) -> String {
    zoned(time_ms, tz).map_or_else(String::new, |z| z.strftime("%Y-%m-%d %H:%M").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ChatType;

    fn msg(content: Content) -> Message {
        Message {
            id: 1,
            from: "bob".into(),
            to: "alice".into(),
            chat_type: ChatType::Single,
            time: 1_709_600_000_000,
            content,
            ext: Map::new(),
            meta: None,
        }
    }

    fn file(name: &str, len: Option<u64>) -> Attachment {
        Attachment {
            url: "https://a.example/chatfiles/1".into(),
            secret: Some("s".into()),
            filename: name.into(),
            file_length: len,
        }
    }

    #[test]
    fn non_text_bodies_summarise_without_the_url() {
        let image = msg(Content::Image {
            file: file("photo.jpg", Some(230_000)),
            size: Some(Size {
                width: 1024.0,
                height: 768.0,
            }),
            gif: false,
        });
        assert_eq!(body(&image), "[image 1024×768 · photo.jpg · 230 kB]");
        assert_eq!(
            preview(&image, 100),
            "[image 1024×768 · photo.jpg · 230 kB]"
        );
        let gif = msg(Content::Image {
            file: file("a.gif", None),
            size: None,
            gif: true,
        });
        assert_eq!(body(&gif), "[GIF a.gif]");
        let pdf = msg(Content::File {
            file: file("report.pdf", Some(1_200_000)),
        });
        assert_eq!(preview(&pdf, 100), "[file report.pdf · 1.2 MB]");
        let voice = msg(Content::Audio {
            file: file("v.amr", None),
            duration: Some(12),
        });
        assert_eq!(preview(&voice, 100), "[voice 12 s]");
        let video = msg(Content::Video {
            file: file("clip.mp4", None),
            duration: Some(31),
            thumb: None,
            thumb_secret: None,
            size: None,
        });
        assert_eq!(preview(&video, 100), "[video 0:31 · clip.mp4]");
    }

    #[test]
    fn location_custom_merged_and_command() {
        let loc = msg(Content::Location {
            address: "西城区".into(),
            lat: 39.9,
            lng: 116.36,
            building: None,
        });
        assert_eq!(body(&loc), "[location 西城区 39.90,116.36]");
        let mut exts = Map::new();
        exts.insert("name".into(), Value::String("flower".into()));
        let custom = msg(Content::Custom {
            event: "gift".into(),
            exts,
        });
        assert_eq!(body(&custom), "[custom gift {name: flower}]");
        let merged = msg(Content::Combined {
            title: "Chat history".into(),
            summary: "a: hi".into(),
            file: Attachment::default(),
            level: None,
            text: String::new(),
        });
        assert_eq!(body(&merged), "[merged: Chat history — a: hi]");
        let cmd = msg(Content::Command {
            action: "run".into(),
        });
        assert_eq!(body(&cmd), "[command run]");
    }

    #[test]
    fn server_text_is_made_inert() {
        let evil = msg(Content::File {
            file: file("a\u{1b}[2J\nb.txt", None),
        });
        let b = body(&evil);
        assert!(!b.contains('\u{1b}'));
        assert_eq!(
            b.lines().count(),
            1,
            "the file name cannot add lines: {b:?}"
        );
        let text = msg(Content::Text {
            text: "hi\u{1b}]0;pwned\u{7}".into(),
        });
        assert!(!body(&text).contains('\u{1b}'));
    }

    #[test]
    fn days_and_clocks() {
        let t = 1_709_640_000_000; // 2024-03-05 12:00 UTC
        assert_eq!(day_label(t, &TimeZone::UTC), "2024-03-05 Tue");
        assert_eq!(clock(t, &TimeZone::UTC), "12:00");
        assert_eq!(day_number(t, &TimeZone::UTC), 19787);
        let east = TimeZone::fixed(jiff::tz::offset(13));
        assert_eq!(day_label(t, &east), "2024-03-06 Wed");
        assert_eq!(day_number(t, &east), 19788);
    }
}
