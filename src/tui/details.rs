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
use crate::protocol::{Attachment, ChatType, Content, Message, Size};

/// The widest label, so values line up.
const LABEL: usize = 10;

/// The details text of `msg`, whose sender reads as `sender` (the sender label: id today,
/// a name where one is known), with times in `tz`.
pub fn details(msg: &Message, sender: &str, tz: &TimeZone) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(
            out,
            "{label:<LABEL$} {}",
            text::one_line(value, usize::MAX)
        );
    };
    line("id", &msg.id.to_string());
    let (local, utc) = times(msg.time, tz);
    line("time", &local);
    line("UTC", &utc);
    if sender == msg.from {
        line("from", &msg.from);
    } else {
        line("from", &format!("{sender} ({})", msg.from));
    }
    line("to", &msg.to);
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
        line(label, value);
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
    // Where a name for the sender plugs in, and where `MessageBody.meta` (edits,
    // reactions, threads, delivered/read) goes once messages carry it.
    out.truncate(out.trim_end().len());
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
