//! Drawing the state: one function, [`draw`], reading an [`App`] and never changing it.
//!
//! Where things go comes from [`App::layout`], the same function the state machine uses to
//! map mouse clicks, so a click always lands on what was drawn there. Each pane has its own
//! file: [`list`] (conversations), [`history`] (messages), [`status`] (status line and
//! search input), [`help`] (the key overlay) and [`search_all`] (the search of all history).
//!
//! Every string from the server reaches a widget only after passing through
//! [`text`](super::text) (directly or through [`display`](super::display)); the views never
//! write symbols into cells themselves, set no window title and emit no hyperlinks. Every
//! rectangle is clipped to the frame, so a state whose idea of the terminal size lags behind
//! the real one (a resize not yet seen) still draws without panicking, down to 0×0.

pub mod help;
pub mod history;
pub mod links;
pub mod list;
pub mod panel;
pub mod search_all;
pub mod status;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, BorderType, Borders};

use super::app::App;
pub use super::theme::Theme;

/// What drawing needs that the state does not hold: the wall clock, for relative times
/// in the conversation list, and one-off notices from startup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ViewContext<'a> {
    /// Now, in milliseconds since the epoch (UTC).
    pub now_ms: i64,
    /// Startup notices (an id was lowercased, the demo server's address...), shown in the
    /// status line until the first key press. Sanitized before drawing.
    pub notice: Option<&'a str>,
}

impl ViewContext<'_> {
    /// A context at the current wall-clock time, without a notice.
    pub fn now() -> ViewContext<'static> {
        ViewContext {
            now_ms: Timestamp::now().as_millisecond(),
            notice: None,
        }
    }
}

/// Draws the whole screen for `app` into `frame`.
pub fn draw(app: &App, ctx: &ViewContext<'_>, frame: &mut Frame<'_>) {
    let area = frame.area();
    if area.is_empty() {
        return;
    }
    let layout = app.layout();
    if let Some(r) = layout.list.map(|r| clip(r, area)) {
        list::draw(app, ctx, r, frame);
    }
    if let Some(r) = layout.history.map(|r| clip(r, area)) {
        let messages = layout.messages.map(|m| clip(m, area));
        history::draw(app, r, messages, frame);
    }
    if let Some(r) = layout.date.map(|r| clip(r, area)) {
        history::draw_date(app, r, frame);
    }
    if let Some(r) = layout.search.map(|r| clip(r, area)) {
        status::draw_search(app, r, frame);
    }
    status::draw_status(app, ctx, clip(layout.status, area), frame);
    if app.panel().is_some() {
        panel::draw(app, area, frame);
    }
    links::draw(app, area, frame);
    if app.search_all().is_some() {
        search_all::draw(app, area, frame);
    }
    if app.help_visible() {
        help::draw(app, area, frame);
    }
}

/// `r` cut to `area`; empty when they do not overlap.
pub(crate) fn clip(r: Rect, area: Rect) -> Rect {
    let c = r.intersection(area);
    if c.is_empty() {
        Rect::new(area.x, area.y, 0, 0)
    } else {
        c
    }
}

/// The bordered frame of a pane; the focused pane's border stands out.
pub(crate) fn pane_block(focused: bool, theme: &Theme) -> Block<'static> {
    let block = Block::new().borders(Borders::ALL);
    if focused {
        block
            .border_type(BorderType::Thick)
            .border_style(Style::new().fg(theme.accent))
    } else {
        block
            .border_type(BorderType::Plain)
            .border_style(theme.dim())
    }
}

/// The style of the selected conversation.
pub(crate) fn selected(focused: bool, theme: &Theme) -> Style {
    if focused {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new().bg(theme.muted)
    }
}

/// A spinner frame for the render tick.
pub(crate) fn spinner(ticks: u64) -> &'static str {
    const FRAMES: [&str; 4] = ["|", "/", "-", "\\"];
    FRAMES[(ticks % 4) as usize]
}

/// How long ago `time_ms` was, as the conversation list shows it: `now` within a minute,
/// `3m`, `2h` within a day, the weekday (`Tue`) within a week, else the date
/// (`2024-03-05`), in `tz`. Empty for a conversation without messages (time 0) or a time
/// out of range; a time in the future (clock skew) shows its date.
pub fn relative_time(time_ms: i64, now_ms: i64, tz: &TimeZone) -> String {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    if time_ms <= 0 {
        return String::new();
    }
    let Ok(ts) = Timestamp::from_millisecond(time_ms) else {
        return String::new();
    };
    let ago = now_ms.saturating_sub(time_ms);
    let zoned = ts.to_zoned(tz.clone());
    match ago {
        _ if ago < -MINUTE => zoned.strftime("%Y-%m-%d").to_string(),
        _ if ago < MINUTE => "now".to_string(),
        _ if ago < HOUR => format!("{}m", ago / MINUTE),
        _ if ago < DAY => format!("{}h", ago / HOUR),
        _ if ago < 7 * DAY => zoned.strftime("%a").to_string(),
        _ => zoned.strftime("%Y-%m-%d").to_string(),
    }
}

/// An unread count as a badge: `3`, `99+`.
pub fn unread_badge(n: u32) -> String {
    if n > 99 {
        "99+".to_string()
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let tz = TimeZone::UTC;
        let now = 1_709_640_000_000; // 2024-03-05 12:00 UTC, a Tuesday
        assert_eq!(relative_time(now - 10_000, now, &tz), "now");
        assert_eq!(relative_time(now - 3 * 60_000, now, &tz), "3m");
        assert_eq!(relative_time(now - 2 * 3_600_000, now, &tz), "2h");
        assert_eq!(relative_time(now - 2 * 86_400_000, now, &tz), "Sun");
        assert_eq!(relative_time(now - 30 * 86_400_000, now, &tz), "2024-02-04");
        assert_eq!(relative_time(now + 86_400_000, now, &tz), "2024-03-06");
        assert_eq!(relative_time(0, now, &tz), "");
        assert_eq!(relative_time(i64::MAX, now, &tz), "");
    }

    #[test]
    fn badges_and_colours() {
        assert_eq!(unread_badge(7), "7");
        assert_eq!(unread_badge(99), "99");
        assert_eq!(unread_badge(100), "99+");
        let theme = Theme::default();
        assert_eq!(theme.sender("bob"), theme.sender("bob"));
        let distinct: std::collections::HashSet<_> = ["alice", "bob", "carol", "dave", "erin"]
            .iter()
            .map(|n| format!("{:?}", theme.sender(n)))
            .collect();
        assert!(distinct.len() > 1);
        let one = Theme {
            senders: vec![ratatui::style::Color::Green],
            ..Theme::default()
        };
        assert_eq!(one.sender("alice"), ratatui::style::Color::Green);
        let none = Theme {
            senders: Vec::new(),
            ..Theme::default()
        };
        assert_eq!(none.sender("alice"), none.accent);
    }

    #[test]
    fn clipping_never_leaves_the_area() {
        let area = Rect::new(0, 0, 10, 5);
        assert_eq!(clip(Rect::new(8, 3, 10, 10), area), Rect::new(8, 3, 2, 2));
        assert!(clip(Rect::new(20, 20, 5, 5), area).is_empty());
    }
}
