//! Times as people type them: `2023-05-01`, `2023-05-01 14:30`, `14:30` (today),
//! `today`, `yesterday`, `now`, `-3d`, `-2w`, `-5h`, `-30m`, read in a given time zone.
//!
//! An expression names a span, not just an instant: `2023-05-01` is that whole day,
//! `14:30` that minute, `-3d` the instant three days ago. A jump or `--since` starts at the
//! span's beginning; `--until` ends at its end, so `--until 2024-01-31` includes that day.
//!
//! Pure: "now" is an argument, so results are the same on every machine and in tests.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan, Zoned};

/// What the person may type, for error messages and prompts.
pub const EXAMPLES: &str = "2023-05-01, 2023-05-01 14:30, 14:30, yesterday, -3d, -2w";

/// Why a time could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    /// Not a form this parser knows.
    #[error("cannot read {0:?} as a time (try {EXAMPLES})")]
    Unrecognized(String),
    /// A form it knows, but out of range (a year 99999, a month 13).
    #[error("{0:?} is not a time that exists")]
    OutOfRange(String),
}

/// The span of time an expression names, in milliseconds since the epoch (UTC): from
/// `start` to `end`, both inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct When {
    /// The first millisecond.
    pub start: i64,
    /// The last millisecond.
    pub end: i64,
}

/// Reads `input` as a time in the zone of `now`, relative to `now`.
pub fn parse(input: &str, now: &Zoned) -> Result<When, WhenError> {
    let text = input.trim();
    let unrecognized = || WhenError::Unrecognized(text.chars().take(60).collect());
    let out_of_range = || WhenError::OutOfRange(text.chars().take(60).collect());
    if text.is_empty() {
        return Err(unrecognized());
    }
    let lower = text.to_lowercase();
    let today = now.date();
    match lower.as_str() {
        "now" => return instant(now),
        "today" => return day(today, now.time_zone()).ok_or_else(out_of_range),
        "yesterday" => {
            let d = today.yesterday().map_err(|_| out_of_range())?;
            return day(d, now.time_zone()).ok_or_else(out_of_range);
        }
        _ => {}
    }
    if let Some(ago) = lower.strip_prefix('-') {
        let span = relative(ago).ok_or_else(unrecognized)?;
        let then = now.checked_sub(span).map_err(|_| out_of_range())?;
        return instant(&then);
    }
    if let Ok(date) = lower.parse::<Date>()
        && !lower.contains([':', 't', ' '])
    {
        return day(date, now.time_zone()).ok_or_else(out_of_range);
    }
    if let Ok(dt) = lower.replacen(' ', "T", 1).parse::<DateTime>() {
        return minute_or_second(dt, text, now.time_zone()).ok_or_else(out_of_range);
    }
    if let Ok(time) = lower.parse::<Time>() {
        let dt = today.to_datetime(time);
        return minute_or_second(dt, text, now.time_zone()).ok_or_else(out_of_range);
    }
    Err(unrecognized())
}

/// `3d`, `2w`, `5h`, `30m` (a whole number and a unit) as a span.
fn relative(text: &str) -> Option<Span> {
    let unit = text.chars().last()?;
    let n: i64 = text[..text.len() - unit.len_utf8()].trim().parse().ok()?;
    if !(0..=100_000).contains(&n) {
        return None;
    }
    let span = match unit {
        'm' => n.minutes(),
        'h' => n.hours(),
        'd' => n.days(),
        'w' => n.weeks(),
        _ => return None,
    };
    Some(span)
}

fn instant(z: &Zoned) -> Result<When, WhenError> {
    let ms = z.timestamp().as_millisecond();
    Ok(When { start: ms, end: ms })
}

/// The whole calendar day `date` in `tz` (23 or 25 hours across a DST change).
fn day(date: Date, tz: &TimeZone) -> Option<When> {
    let start = date.to_zoned(tz.clone()).ok()?.timestamp().as_millisecond();
    let next = date
        .tomorrow()
        .ok()
        .and_then(|d| d.to_zoned(tz.clone()).ok())
        .map_or(start + 86_400_000, |z| z.timestamp().as_millisecond());
    Some(When {
        start,
        end: next - 1,
    })
}

/// The minute `dt` names in `tz`, or the second when `text` gave seconds.
fn minute_or_second(dt: DateTime, text: &str, tz: &TimeZone) -> Option<When> {
    let start = dt.to_zoned(tz.clone()).ok()?.timestamp();
    let with_seconds = text.matches(':').count() >= 2;
    let length = if with_seconds { 1_000 } else { 60_000 };
    let start = start.as_millisecond();
    Some(When {
        start,
        end: start + length - 1,
    })
}

/// Now, in `tz`.
pub fn now_in(tz: &TimeZone) -> Zoned {
    Timestamp::now().to_zoned(tz.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-03-05 12:00 in Asia/Shanghai (UTC+8, no DST), a Tuesday.
    fn now() -> Zoned {
        let tz = TimeZone::fixed(jiff::tz::offset(8));
        Timestamp::from_millisecond(1_709_611_200_000)
            .unwrap()
            .to_zoned(tz)
    }

    fn ms(s: &str) -> i64 {
        // A local time in the +08:00 zone of `now`.
        format!("{s}+08:00")
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond()
    }

    #[test]
    fn every_form_reads_in_the_local_zone() {
        let now = now();
        let day = 86_400_000;
        let cases: [(&str, i64, i64); 9] = [
            (
                "2023-05-01",
                ms("2023-05-01T00:00"),
                ms("2023-05-02T00:00") - 1,
            ),
            (
                "2023-05-01 14:30",
                ms("2023-05-01T14:30"),
                ms("2023-05-01T14:31") - 1,
            ),
            (
                "2023-05-01T14:30:05",
                ms("2023-05-01T14:30:05"),
                ms("2023-05-01T14:30:06") - 1,
            ),
            ("14:30", ms("2024-03-05T14:30"), ms("2024-03-05T14:31") - 1),
            (
                "yesterday",
                ms("2024-03-04T00:00"),
                ms("2024-03-05T00:00") - 1,
            ),
            ("Today", ms("2024-03-05T00:00"), ms("2024-03-06T00:00") - 1),
            ("-3d", ms("2024-03-02T12:00"), ms("2024-03-02T12:00")),
            (
                "-2w",
                ms("2024-03-05T12:00") - 14 * day,
                ms("2024-03-05T12:00") - 14 * day,
            ),
            (" -90m ", ms("2024-03-05T10:30"), ms("2024-03-05T10:30")),
        ];
        for (text, start, end) in cases {
            assert_eq!(parse(text, &now), Ok(When { start, end }), "{text}");
        }
        assert_eq!(
            parse("now", &now).map(|w| w.start),
            Ok(ms("2024-03-05T12:00"))
        );
    }

    #[test]
    fn a_day_across_a_dst_change_is_its_real_length() {
        // New York's rules as a POSIX TZ string: no time zone database needed.
        let tz = TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").expect("a valid TZ string");
        let now = Timestamp::from_millisecond(1_709_640_000_000)
            .unwrap()
            .to_zoned(tz);
        let w = parse("2024-03-10", &now).unwrap();
        assert_eq!(w.end + 1 - w.start, 23 * 3_600_000, "spring forward");
    }

    #[test]
    fn nonsense_is_a_clear_error() {
        let now = now();
        for bad in [
            "",
            "soon",
            "2023-13-01",
            "25:00",
            "-3x",
            "-d",
            "--3d",
            "2023-05-01 14:30 x",
        ] {
            let e = parse(bad, &now).expect_err(bad);
            assert!(
                e.to_string().contains(bad.trim()) || bad.trim().is_empty(),
                "{e}"
            );
        }
        assert!(parse("-999999999w", &now).is_err());
        assert!(parse("9999-12-31", &now).is_ok());
    }
}
