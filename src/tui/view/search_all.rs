//! The search-all view: a box over both panes with the query and the hits, newest first.
//!
//! ```text
//! ┏ search all history ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
//! ┃ 退避█                                                         text ┃
//! ┃                                                                    ┃
//! ┃▌# team-roam · li.wei                                2024-03-05 14:03┃
//! ┃▌  …the client backs off (退避) with jitter…                        ┃
//! ```
//! Names, snippets and the query reach the screen through [`text`] only; the match in a
//! snippet is drawn in the current-match style, with as much text before it as leaves the
//! match in view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear};

use super::list::kind_marker;
use super::{clip, spinner};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::display;
use crate::tui::event::{ConversationKey, FoundMessage};
use crate::tui::layout::{self, HIT_HEIGHT};
use crate::tui::text;

/// Draws the view, when it is shown.
pub fn draw(app: &App, area: Rect, frame: &mut Frame<'_>) {
    let Some(s) = app.search_all() else {
        return;
    };
    let theme = app.theme();
    let l = layout::search_all(area.width, area.height);
    let frame_area = clip(l.frame, area);
    frame.render_widget(Clear, frame_area);
    let mut title = vec![Span::raw(" search all history ")];
    if s.is_searching() {
        title.push(Span::styled(
            format!("{} ", spinner(app.ticks())),
            theme.dim(),
        ));
    }
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Thick)
        .border_style(Style::new().fg(theme.accent))
        .title(Line::from(title));
    frame.render_widget(block, frame_area);

    let input = clip(l.input, area);
    if !input.is_empty() {
        let width = usize::from(input.width);
        let mode = if s.is_regex() { "regex" } else { "text" };
        let right = if width >= 24 { mode.len() + 1 } else { 0 };
        let cursor = if s.is_editing() { "█" } else { "" };
        let room = width.saturating_sub(right + text::width(cursor));
        let typed = text::tail_to_width(&text::one_line(s.input(), usize::MAX), room);
        let used = text::width(&typed) + text::width(cursor);
        let typed_style = if s.is_editing() {
            Style::new()
        } else {
            theme.strong()
        };
        let mut spans = vec![
            Span::styled(typed, typed_style),
            Span::styled(cursor, Style::new().fg(theme.accent)),
        ];
        if right > 0 {
            spans.push(Span::raw(
                " ".repeat(width.saturating_sub(used + right) + 1),
            ));
            spans.push(Span::styled(
                mode,
                if s.is_regex() {
                    theme.strong()
                } else {
                    theme.dim()
                },
            ));
        }
        frame.render_widget(Line::from(spans), input);
    }

    let hits_area = clip(l.hits, area);
    if !hits_area.is_empty() {
        if s.hits().is_empty() {
            let say = match (s.searched(), s.is_searching()) {
                (None, _) => "every conversation in the library: 退避, sqlite, a name…",
                (Some(_), true) => "searching…",
                (Some(_), false) if s.error().is_some() => "the search failed",
                (Some(_), false) => "no message matches",
            };
            let say = text::one_line(say, usize::from(hits_area.width));
            frame.render_widget(Line::styled(say, theme.dim()), hits_area);
        } else {
            let capacity = l.capacity();
            for (row, (i, hit)) in s
                .hits()
                .iter()
                .enumerate()
                .skip(s.offset())
                .take(capacity)
                .enumerate()
            {
                let y = hits_area.y + row as u16 * HIT_HEIGHT;
                let item = Rect {
                    y,
                    height: HIT_HEIGHT,
                    ..hits_area
                };
                draw_hit(app, hit, i == s.selected(), clip(item, hits_area), frame);
            }
        }
    }
    draw_status(app, clip(l.status, area), frame);
}

/// One hit in its two rows: where, who and when; then the snippet.
fn draw_hit(app: &App, hit: &FoundMessage, selected: bool, area: Rect, frame: &mut Frame<'_>) {
    if area.is_empty() {
        return;
    }
    let theme = app.theme();
    let width = usize::from(area.width);
    let base = if selected {
        super::selected(false, theme)
    } else {
        Style::new()
    };
    let gutter = if selected { "▌" } else { " " };
    let when = display::date_time(hit.time, app.time_zone());
    let when_width = if width >= 40 {
        text::width(&when) + 1
    } else {
        0
    };
    let room = width.saturating_sub(1 + 2 + when_width);
    let place = app.conversation_label(&ConversationKey::of_hit(hit), room.saturating_mul(3) / 5);
    let who_room = room.saturating_sub(text::width(&place) + 3);
    let who = app.sender_label(&hit.from, who_room);
    let mut spans = vec![
        Span::styled(gutter, Style::new().fg(theme.accent)),
        Span::styled(format!("{} ", kind_marker(hit.kind)), theme.dim()),
        Span::styled(place.clone(), theme.strong()),
    ];
    let mut used = 3 + text::width(&place);
    if who_room > 1 {
        spans.push(Span::styled(" · ", theme.dim()));
        spans.push(Span::styled(
            who.clone(),
            Style::new().fg(theme.sender(&hit.from)),
        ));
        used += 3 + text::width(&who);
    }
    if when_width > 0 {
        spans.push(Span::raw(
            " ".repeat(width.saturating_sub(used + when_width) + 1),
        ));
        spans.push(Span::styled(when, theme.dim()));
    }
    let first = Rect { height: 1, ..area };
    frame.render_widget(Line::from(spans).style(base), first);

    if area.height < 2 {
        return;
    }
    let s = &hit.snippet;
    let part = |r: std::ops::Range<usize>| text::one_line(s.get(r).unwrap_or_default(), usize::MAX);
    let before = part(0..hit.matched.start.min(s.len()));
    let after = part(hit.matched.end.min(s.len())..s.len());
    let room = width.saturating_sub(3);
    let matched = text::truncate_to_width(&part(hit.matched.clone()), room);
    let avail = room.saturating_sub(text::width(&matched));
    // Text after the match takes up to two thirds of what is left; before it, the rest.
    let before_room = avail.saturating_sub(text::width(&after).min(avail * 2 / 3));
    let before = text::tail_to_width(&before, before_room);
    let after = text::truncate_to_width(&after, avail.saturating_sub(text::width(&before)));
    let second = Rect {
        y: area.y + 1,
        height: 1,
        ..area
    };
    frame.render_widget(
        Line::from(vec![
            Span::styled(gutter, Style::new().fg(theme.accent)),
            Span::raw("  "),
            Span::raw(before),
            Span::styled(matched, theme.current_match()),
            Span::raw(after),
        ])
        .style(base),
        second,
    );
}

/// The status row: how many were found and the keys that matter here.
fn draw_status(app: &App, area: Rect, frame: &mut Frame<'_>) {
    if area.is_empty() {
        return;
    }
    frame.render_widget(Clear, area);
    let theme = app.theme();
    let Some(s) = app.search_all() else {
        return;
    };
    let width = usize::from(area.width);
    let keys: Vec<String> = if s.is_editing() {
        [(Action::Accept, "search"), (Action::Cancel, "close")]
    } else {
        [(Action::Open, "open"), (Action::Cancel, "close")]
    }
    .iter()
    .filter_map(|(action, what)| {
        let key = app.key_hint(*action);
        (!key.is_empty()).then(|| format!("{key} {what}"))
    })
    .collect();
    let hint = keys.join(" · ");
    let hint_width = text::width(&hint) + 1;
    let status = app.search_all_status();
    let show_hint = !hint.is_empty() && width >= hint_width + 16;
    let room = width.saturating_sub(if show_hint { hint_width } else { 0 });
    let status = text::one_line(&status, room);
    let style = if s.error().is_some() {
        theme.alert()
    } else {
        Style::new()
    };
    let mut spans = vec![Span::styled(status.clone(), style)];
    if show_hint {
        spans.push(Span::raw(" ".repeat(
            width.saturating_sub(text::width(&status) + hint_width) + 1,
        )));
        spans.push(Span::styled(hint, theme.dim()));
    }
    frame.render_widget(Line::from(spans), area);
}
