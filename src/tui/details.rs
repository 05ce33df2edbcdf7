//! The details of one message, as the details panel shows them: every field a person may
//! need when a summary line is not enough, one `label  value` line each, then the
//! extension fields pretty-printed in the order the sender wrote them (serde_json keeps
//! key order: the crate's `preserve_order` feature). Single-line values pass through
//! [`text::one_line`], so a file name cannot add lines; the panel sanitizes the whole
//! text again before it is wrapped.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use super::numbers::{clock_duration, human_size, thousands};
use super::text;
use crate::protocol::body_meta::BodyMeta;
use crate::protocol::{Attachment, ChatType, Content, Message, Size};

/// The widest label, so values line up.
const LABEL: usize = 10;

/// The names a message's details show beside the ids (the details always show both).
#[derive(Clone, Copy, Debug, Default)]
pub struct Names<'a> {
    /// The sender's nickname.
    pub sender: Option<&'a str>,
    /// The recipient's nickname, or the group's or room's name.
    pub recipient: Option<&'a str>,
}

/// `name (id)`, or the id alone without a name.
fn named(name: Option<&str>, id: &str) -> String {
    match name {
        Some(name) if name != id => format!("{name} ({id})"),
        _ => id.to_string(),
    }
}

/// The details text of `msg` with the `names` known, with times in `tz`; `meta` is what
/// its `MessageBody.meta` carries, when known.
pub fn details(msg: &Message, names: Names, tz: &TimeZone, meta: Option<&BodyMeta>) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = if value.is_empty() {
            writeln!(out, "{label}")
        } else if label.is_empty() {
            writeln!(out, "  {}", text::one_line(value, usize::MAX))
        } else {
            writeln!(out, "{label:<LABEL$} {}", text::one_line(value, usize::MAX))
        };
    };
    line("id", &msg.id.to_string());
    let (local, utc) = times(msg.time, tz);
    line("time", &local);
    line("UTC", &utc);
    line("from", &named(names.sender, &msg.from));
    line("to", &named(names.recipient, &msg.to));
    line(
        "chat",
        match msg.chat_type {
            ChatType::Single => "one to one",
            ChatType::Group => "group",
            ChatType::Room => "chat room",
        },
    );
    let mut fields: Vec<(&str, String)> = Vec::new();
    let mut json: Vec<(&str, &Map<String, Value>)> = Vec::new();
    match &msg.content {
        Content::Text { text } => {
            fields.push(("kind", "text".into()));
            fields.push((
                "length",
                format!(
                    "{} characters, {}",
                    thousands(text.chars().count()),
                    bytes(text.len() as u64)
                ),
            ));
        }
        Content::Image { file, size, gif } => {
            fields.push(("kind", if *gif { "GIF" } else { "image" }.into()));
            fields.extend(dimensions(*size));
            file_fields(&mut fields, file);
            let thumb = file.thumbnail_url();
            if !thumb.is_empty() {
                fields.push(("thumbnail", thumb));
            }
        }
        Content::Video {
            file,
            duration,
            thumb,
            thumb_secret,
            size,
        } => {
            fields.push(("kind", "video".into()));
            fields.extend(duration.map(|d| ("duration", clock_duration(d))));
            fields.extend(dimensions(*size));
            file_fields(&mut fields, file);
            if let Some(thumb) = thumb.as_deref().filter(|t| !t.is_empty()) {
                let thumb = Attachment {
                    url: thumb.to_string(),
                    secret: thumb_secret.clone(),
                    ..Attachment::default()
                };
                fields.push(("thumbnail", thumb.download_url()));
            }
        }
        Content::Audio { file, duration } => {
            fields.push(("kind", "voice".into()));
            fields.extend(duration.map(|d| ("duration", format!("{d} s"))));
            file_fields(&mut fields, file);
        }
        Content::File { file } => {
            fields.push(("kind", "file".into()));
            file_fields(&mut fields, file);
        }
        Content::Location {
            address,
            lat,
            lng,
            building,
        } => {
            fields.push(("kind", "location".into()));
            fields.push(("address", address.clone()));
            if let Some(b) = building {
                fields.push(("building", b.clone()));
            }
            fields.push(("latitude", lat.to_string()));
            fields.push(("longitude", lng.to_string()));
        }
        Content::Command { action } => {
            fields.push(("kind", "command".into()));
            fields.push(("action", action.clone()));
        }
        Content::Custom { event, exts } => {
            fields.push(("kind", "custom".into()));
            fields.push(("event", event.clone()));
            json.push(("fields", exts));
        }
        Content::Combined {
            title,
            summary,
            file,
            level,
            text,
        } => {
            fields.push(("kind", "merged messages".into()));
            fields.push(("title", title.clone()));
            fields.push(("summary", summary.clone()));
            fields.extend(level.map(|l| ("level", l.to_string())));
            if !text.is_empty() {
                fields.push(("text", text.clone()));
            }
            file_fields(&mut fields, file);
        }
    }
    for (label, value) in &fields {
        if matches!(*label, "URL" | "thumbnail") {
            // Long and unbroken: on its own line under its label, where it wraps at its
            // separators instead of leaving the label alone on a line.
            line(label, "");
            line("", value);
        } else {
            line(label, value);
        }
    }
    json.push(("ext", &msg.ext));
    for (label, object) in json {
        if object.is_empty() {
            let _ = writeln!(out, "{label:<LABEL$} (none)");
            continue;
        }
        let _ = writeln!(out, "{label}");
        let pretty = serde_json::to_string_pretty(object).unwrap_or_default();
        for l in pretty.lines() {
            let _ = writeln!(out, "  {l}");
        }
    }
    if let Some(meta) = meta.filter(|m| !m.is_empty()) {
        out.push_str(&meta_lines(meta, tz));
    }
    out.truncate(out.trim_end().len());
    out
}

/// Edits, reactions, threads, translations, delivered and read state, then any other key.
fn meta_lines(meta: &BodyMeta, tz: &TimeZone) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{label:<LABEL$} {}", text::one_line(value, usize::MAX));
    };
    if let Some(e) = &meta.edit {
        let mut parts = Vec::new();
        if let Some(n) = e.count {
            parts.push(format!("{n} time{}", if n == 1 { "" } else { "s" }));
        }
        if let Some(who) = &e.operator {
            parts.push(format!("by {who}"));
        }
        if let Some(t) = e.time {
            parts.push(times(t, tz).0);
        }
        line("edited", &parts.join(" · "));
    }
    if !meta.reactions.is_empty() {
        let list: Vec<String> = meta
            .reactions
            .iter()
            .map(|r| {
                let mut s = format!("{} {}", r.emoji, r.count);
                if r.mine {
                    s.push_str(" (you)");
                }
                if !r.users.is_empty() {
                    let _ = write!(s, " {}", r.users.join(", "));
                }
                s
            })
            .collect();
        line("reactions", &list.join(" · "));
    }
    if let Some(d) = meta.delivered {
        line("delivered", if d { "yes" } else { "no" });
    }
    if let Some(r) = meta.read {
        line("read", if r { "yes" } else { "no" });
    }
    let mut json: Vec<(&str, Value)> = Vec::new();
    if let Some(t) = &meta.thread {
        json.push(("thread", Value::Object(t.clone())));
    }
    if let Some(t) = &meta.thread_overview {
        json.push(("thread overview", Value::Object(t.clone())));
    }
    if let Some(t) = &meta.translations {
        json.push(("translations", t.clone()));
    }
    if !meta.other.is_empty() {
        json.push(("other meta", Value::Object(meta.other.clone())));
    }
    for (label, value) in json {
        let _ = writeln!(out, "{label}");
        for l in serde_json::to_string_pretty(&value)
            .unwrap_or_default()
            .lines()
        {
            let _ = writeln!(out, "  {l}");
        }
    }
    out
}

/// The local time with seconds, milliseconds, offset and zone, and the same instant in UTC.
fn times(time_ms: i64, tz: &TimeZone) -> (String, String) {
    let Ok(ts) = Timestamp::from_millisecond(time_ms) else {
        return (format!("{time_ms} ms (out of range)"), String::new());
    };
    let zoned = ts.to_zoned(tz.clone());
    let zone = tz.iana_name().map_or_else(
        || zoned.strftime("%Z").to_string(),
        std::string::ToString::to_string,
    );
    let local = format!("{} {zone}", zoned.strftime("%Y-%m-%d %H:%M:%S%.3f %:z"));
    let utc = ts
        .to_zoned(TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M:%S%.3f")
        .to_string();
    (local, utc)
}

fn bytes(n: u64) -> String {
    format!(
        "{} ({} bytes)",
        human_size(n),
        thousands(usize::try_from(n).unwrap_or(usize::MAX))
    )
}

fn dimensions(size: Option<Size>) -> Option<(&'static str, String)> {
    size.map(|s| ("dimensions", format!("{}×{} px", s.width, s.height)))
}

fn file_fields(fields: &mut Vec<(&'static str, String)>, file: &Attachment) {
    if !file.filename.is_empty() {
        fields.push(("file name", file.filename.clone()));
    }
    if let Some(n) = file.file_length {
        fields.push(("file size", bytes(n)));
    }
    let url = file.download_url();
    if !url.is_empty() {
        fields.push(("URL", url));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        let ext = serde_json::json!({"z": 1, "a": {"b\u{1b}]0;x\u{7}": "c"}, "m": [true]});
        Message {
            id: 1_234_567_890_123_456_789,
            from: "omar".into(),
            to: "project-x".into(),
            chat_type: ChatType::Group,
            time: 1_709_640_007_123,
            content: Content::Image {
                file: Attachment {
                    url: "https://files.example/chatfiles/9".into(),
                    secret: Some("s3".into()),
                    filename: "a\nb.png".into(),
                    file_length: Some(2048),
                },
                size: Some(Size {
                    width: 640.0,
                    height: 480.0,
                }),
                gif: false,
            },
            ext: ext.as_object().cloned().unwrap_or_default(),
            meta: None,
        }
    }

    #[test]
    fn every_field_with_exact_times_and_ext_in_the_senders_order() {
        let tz = TimeZone::get("Asia/Shanghai").expect("tzdb");
        let d = details(
            &message(),
            Names {
                sender: Some("Omar Haddad"),
                recipient: Some("Sarah Chen"),
            },
            &tz,
            None,
        );
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines[0], "id         1234567890123456789");
        assert_eq!(
            lines[1],
            "time       2024-03-05 20:00:07.123 +08:00 Asia/Shanghai"
        );
        assert_eq!(lines[2], "UTC        2024-03-05 12:00:07.123");
        assert_eq!(lines[3], "from       Omar Haddad (omar)");
        assert!(
            lines[4].starts_with("to         Sarah Chen ("),
            "{}",
            lines[4]
        );
        assert!(d.contains("dimensions 640×480 px"), "{d}");
        assert!(d.contains("file name  a b.png"), "one line: {d}");
        assert!(d.contains("file size  2.0 kB (2,048 bytes)"), "{d}");
        assert!(
            d.contains(
                "URL\n  https://files.example/chatfiles/9?em-redirect=true&share-secret=s3\n"
            ),
            "{d}"
        );
        assert!(d.contains("thumbnail\n  https://files.example/chatfiles/9?em-redirect=true&share-secret=s3&thumbnail=true"));
        let z = d.find("\"z\"").expect("z");
        let a = d.find("\"a\"").expect("a");
        let m = d.find("\"m\"").expect("m");
        assert!(z < a && a < m, "the sender's key order: {d}");
        assert!(!d.contains('\u{1b}'), "escaped: {d}");
    }

    #[test]
    fn meta_shows_edits_reactions_threads_and_state() {
        let meta = BodyMeta::parse(
            r#"{"edit_msg": {"count": 2, "operator": "sarah.chen", "edit_time": 1709640000000},
                "reaction": [{"reaction": "👍", "userCount": 3, "state": true}],
                "thread_overview": {"name": "design", "message_count": 12},
                "isDelivered": true, "isRead": false, "new_thing": 1}"#,
        )
        .expect("parses");
        let d = details(&message(), Names::default(), &TimeZone::UTC, Some(&meta));
        assert!(
            d.contains("edited     2 times · by sarah.chen · 2024-03-05 12:00:00.000 +00:00 UTC"),
            "{d}"
        );
        assert!(d.contains("reactions  👍 3 (you)"), "{d}");
        assert!(d.contains("delivered  yes\nread       no"), "{d}");
        assert!(
            d.contains("thread overview\n  {\n    \"name\": \"design\""),
            "{d}"
        );
        assert!(d.contains("other meta\n  {\n    \"new_thing\": 1"), "{d}");
        let plain = details(&message(), Names::default(), &TimeZone::UTC, None);
        assert!(!plain.contains("reactions"));
    }
}
