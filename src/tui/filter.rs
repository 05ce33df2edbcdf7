//! Server-side history filters as a person types and reads them:
//!
//! ```text
//! img,file from li.wei since 2024-01-01 until 2024-03-01 14:30
//! ```
//! Content kinds first (commas or spaces), then `from SENDER`, `since WHEN`, `until WHEN`
//! in any order, each running to the next keyword; times as [`when`](super::when) reads
//! them (`until` a date includes that day). The same text comes back from [`describe`],
//! so a filter can be edited where it was left. Pure: "now" is an argument.

use jiff::Zoned;
use jiff::tz::TimeZone;

use super::display;
use super::when;
use crate::protocol::{HistoryFilters, ids};

/// The content kinds the protocol filters by (PROTOCOL.md §4 `msgType`).
pub const KINDS: &[&str] = &[
    "txt", "img", "file", "audio", "video", "loc", "custom", "cmd", "combine",
];

/// What a filter line may hold, for prompts and errors.
pub const SYNTAX: &str = "img,file from li.wei since 2024-01-01 until -1w";

/// Why a filter line could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// A word where a content kind was expected.
    #[error("{0:?} is not a kind (txt, img, file, audio, video, loc, custom, cmd, combine)")]
    Kind(String),
    /// A keyword without a value.
    #[error("{0} needs a value")]
    Missing(&'static str),
    /// A sender that is not an id.
    #[error("{0:?} is not a user id")]
    Sender(String),
    /// A time it cannot read.
    #[error("{0}: {1}")]
    Time(&'static str, when::WhenError),
    /// A range that cannot hold anything.
    #[error("since is after until: nothing can match")]
    Empty,
}

/// Reads content kind names (`img,file` or `img file`), checked against [`KINDS`].
pub fn parse_kinds<'a>(
    words: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, FilterError> {
    let mut kinds: Vec<String> = Vec::new();
    for word in words.into_iter().flat_map(|w| w.split(',')) {
        let kind = word.trim().to_ascii_lowercase();
        if kind.is_empty() {
            continue;
        }
        if !KINDS.contains(&kind.as_str()) {
            return Err(FilterError::Kind(word.chars().take(40).collect()));
        }
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// Reads a sender id, lowercased (PROTOCOL.md §1).
pub fn parse_sender(word: &str) -> Result<String, FilterError> {
    ids::check(word).map_err(|_| FilterError::Sender(word.chars().take(40).collect()))
}

/// Reads a filter line, times relative to `now` in its zone. An empty line is no filter.
pub fn parse(input: &str, now: &Zoned) -> Result<HistoryFilters, FilterError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Part {
        Kinds,
        From,
        Since,
        Until,
    }
    let mut parts: Vec<(Part, Vec<&str>)> = vec![(Part::Kinds, Vec::new())];
    for word in input.split_whitespace() {
        let part = match word.to_ascii_lowercase().as_str() {
            "type" | "types" | "kind" | "kinds" => Some(Part::Kinds),
            "from" => Some(Part::From),
            "since" => Some(Part::Since),
            "until" => Some(Part::Until),
            _ => None,
        };
        match part {
            Some(p) => parts.push((p, Vec::new())),
            None => {
                if let Some((_, words)) = parts.last_mut() {
                    words.push(word);
                }
            }
        }
    }
    let mut f = HistoryFilters::default();
    for (part, words) in parts {
        let value = words.join(" ");
        match part {
            Part::Kinds => f.types.extend(parse_kinds(words)?),
            Part::From if value.is_empty() => return Err(FilterError::Missing("from")),
            Part::From => f.sender = Some(parse_sender(&value)?),
            Part::Since if value.is_empty() => return Err(FilterError::Missing("since")),
            Part::Since => {
                let w = when::parse(&value, now).map_err(|e| FilterError::Time("since", e))?;
                f.start_time = Some(w.start);
            }
            Part::Until if value.is_empty() => return Err(FilterError::Missing("until")),
            Part::Until => {
                let w = when::parse(&value, now).map_err(|e| FilterError::Time("until", e))?;
                f.end_time = Some(w.end);
            }
        }
    }
    f.types.dedup();
    if let (Some(s), Some(e)) = (f.start_time, f.end_time)
        && s > e
    {
        return Err(FilterError::Empty);
    }
    Ok(f)
}

/// The filter as a line [`parse`] reads back: `img,file from li.wei since 2024-01-01
/// 00:00`. Times are shown to the minute in `tz`; an `until` at the end of a minute is
/// written as that minute. Empty for no filter.
pub fn describe(f: &HistoryFilters, tz: &TimeZone) -> String {
    let mut parts = Vec::new();
    if !f.types.is_empty() {
        parts.push(f.types.join(","));
    }
    if let Some(s) = &f.sender {
        parts.push(format!("from {s}"));
    }
    if let Some(t) = f.start_time {
        parts.push(format!("since {}", display::date_time(t, tz)));
    }
    if let Some(t) = f.end_time {
        parts.push(format!("until {}", display::date_time(t, tz)));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn now() -> Zoned {
        Timestamp::from_millisecond(1_709_640_000_000)
            .unwrap()
            .to_zoned(TimeZone::UTC)
    }

    #[test]
    fn kinds_sender_and_times_in_any_order() {
        let f = parse(
            "img,file FROM Li.Wei since 2024-01-01 until 2024-01-31",
            &now(),
        )
        .unwrap();
        assert_eq!(f.types, ["img", "file"]);
        assert_eq!(f.sender.as_deref(), Some("li.wei"));
        assert_eq!(f.start_time, Some(1_704_067_200_000));
        assert_eq!(f.end_time, Some(1_706_745_600_000 - 1));
        let g = parse("until 2024-03-01 14:30 txt video", &now());
        assert!(
            g.is_err(),
            "kinds come first: after until they are part of the time"
        );
        let h = parse("type video txt until 2024-03-01 14:30", &now()).unwrap();
        assert_eq!(h.types, ["video", "txt"]);
        assert_eq!(h.end_time, Some(1_709_303_400_000 + 59_999));
        assert_eq!(parse("  ", &now()), Ok(HistoryFilters::default()));
    }

    #[test]
    fn the_description_reads_back_as_the_same_filter_to_the_minute() {
        let tz = TimeZone::UTC;
        let f = parse("audio from bob since -3d until yesterday", &now()).unwrap();
        let again = parse(&describe(&f, &tz), &now()).unwrap();
        assert_eq!(again.types, f.types);
        assert_eq!(again.sender, f.sender);
        assert_eq!(again.start_time, f.start_time);
        assert_eq!(again.end_time, f.end_time);
        assert_eq!(describe(&HistoryFilters::default(), &tz), "");
    }

    #[test]
    fn mistakes_say_what_is_wrong() {
        let now = now();
        let err = |s: &str| parse(s, &now).unwrap_err().to_string();
        assert!(err("pictures").contains("not a kind"));
        assert!(err("from").contains("from needs a value"));
        assert!(err("from a b").contains("not a user id"));
        assert!(err("since whenever").contains("since"));
        assert!(err("since 2024-02-01 until 2024-01-01").contains("nothing can match"));
    }
}
