//! The history pane: the rows [`App::visible_rows`] gives, drawn top to bottom.
//!
//! ```text
//! ┏ # project-x filter: img from bob ━━━━━━━━━━━━┓   the server-side filter, when on
//! ┃       ── beginning of conversation ──         ┃
//! ┃             ── 2024-03-05 Tue ──              ┃
//! ┃ bob 14:03                                     ┃   sender in its own colour
//! ┃   message body, wrapped, indented             ┃
//! ┃                 ── 3 unread ──                ┃
//! ┗━━━━━━━━━━━━━━━━━━━━━━━ ↓ 3 new messages (G) ┛   or ↓ jump to latest (G)
//! ```
//! The rows come from walking up from the scroll anchor, so drawing costs what is visible,
//! whatever is loaded. When everything loaded is shorter than the pane, the rows sit at
//! the bottom, next to the newest message, so a page arriving above never moves them.
//! Search matches are highlighted in place; the current one in a different colour.

use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::list::kind_marker;
use super::{Theme, pane_block, spinner};
use crate::protocol::ChatType;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::display;
use crate::tui::history::{EdgeRow, History, MessageLayout, Row, body_indent, compact_columns};
use crate::tui::layout::Pane;
use crate::tui::numbers::thousands;
use crate::tui::text::{self, WrappedLine};

/// Search matches in one message: byte ranges of its body, each with whether it is the
/// current match.
type Marks = Vec<(Range<usize>, bool)>;

/// Draws the sticky date row into `area`: the day of the topmost message, then a rule.
pub fn draw_date(app: &App, area: Rect, frame: &mut Frame<'_>) {
    let theme = app.theme();
    let Some(day) = app.sticky_date() else {
        return;
    };
    let day = text::one_line(&day, usize::from(area.width));
    let rule = usize::from(area.width).saturating_sub(text::width(&day) + 1);
    let line = Line::from(vec![
        Span::styled(day, theme.strong()),
        Span::raw(" "),
        Span::styled("─".repeat(rule), theme.dim()),
    ]);
    frame.render_widget(line, area);
}

/// Draws the history pane: `area` with its border, `messages` the rows area inside it.
pub fn draw(app: &App, area: Rect, messages: Option<Rect>, frame: &mut Frame<'_>) {
    let theme = app.theme();
    let focused = app.focus() == Pane::History;
    let mut block = pane_block(focused, theme);
    let history = app.current_history();
    if let Some(key) = app.open_conversation() {
        let width = usize::from(area.width.saturating_sub(8));
        let name = app.conversation_label(key, width);
        let mut title = vec![Span::raw(" ")];
        if key.kind != ChatType::Single {
            title.push(Span::styled(kind_marker(key.kind), theme.dim()));
            title.push(Span::raw(" "));
        }
        title.push(Span::raw(format!("{name} ")));
        let filter = app.filter_title();
        if !filter.is_empty() {
            // What is left of the top border after the name and its corners.
            let room = usize::from(area.width)
                .saturating_sub(text::width(&name) + 8)
                .saturating_sub(if key.kind == ChatType::Single { 0 } else { 2 });
            let filter = text::one_line(&format!("filter: {filter}"), room);
            if !filter.is_empty() {
                title.push(Span::styled(
                    format!("{filter} "),
                    Style::new()
                        .fg(theme.selection)
                        .add_modifier(Modifier::BOLD),
                ));
            }
        }
        block = block.title(Line::from(title));
    } else {
        block = block.title(" history ");
    }
    if let Some(h) = history.filter(|h| h.scrolled_away() || h.arrived() > 0) {
        let key = app.key_hint(Action::Newest);
        let key = if key.is_empty() {
            String::new()
        } else {
            format!(" ({key})")
        };
        let (label, style) = match h.arrived() {
            0 => (format!(" ↓ jump to latest{key} "), theme.strong()),
            n => (
                format!(
                    " ↓ {} new message{}{key} ",
                    thousands(n),
                    if n == 1 { "" } else { "s" }
                ),
                theme.marked().add_modifier(Modifier::BOLD),
            ),
        };
        block = block.title_bottom(Line::styled(label, style).alignment(Alignment::Right));
    }
    frame.render_widget(block, area);
    let Some(messages) = messages.filter(|m| !m.is_empty()) else {
        return;
    };
    let Some(history) = history else {
        let hint = if app.conversations().is_empty() {
            ""
        } else {
            "Enter opens the selected conversation"
        };
        let y = messages.y + messages.height / 2;
        let line = Line::styled(hint, theme.dim()).alignment(Alignment::Center);
        frame.render_widget(
            line,
            Rect {
                y,
                height: 1,
                ..messages
            },
        );
        return;
    };
    let rows = app.visible_rows();
    let height = usize::from(messages.height);
    // Fewer rows than the pane: they sit at the bottom.
    let first_y = messages.y + u16::try_from(height.saturating_sub(rows.len())).unwrap_or(0);
    let compact = app.message_layout() == MessageLayout::Compact;
    let prefix = compact_columns(messages.width).filter(|_| compact);
    let indent = if compact {
        0
    } else {
        body_indent(messages.width)
    };
    let selected = history.selected();
    let mut highlights: Option<(usize, Marks)> = None;
    for (i, row) in rows.iter().take(height).enumerate() {
        let Ok(offset) = u16::try_from(i) else {
            break;
        };
        let r = Rect::new(messages.x, first_y + offset, messages.width, 1);
        let line = match row {
            Row::Top(EdgeRow::Beginning) if *history.filters() != Default::default() => {
                rule("nothing older matches the filter", theme.dim())
            }
            Row::Top(EdgeRow::Beginning) => rule(app.beginning_label(), theme.dim()),
            Row::Top(edge) => edge_line(
                *edge,
                true,
                app.ticks(),
                &app.key_hint(Action::Retry),
                theme,
            ),
            Row::Bottom(edge) => edge_line(
                *edge,
                false,
                app.ticks(),
                &app.key_hint(Action::Retry),
                theme,
            ),
            Row::Marker { time } => rule(
                &format!("▸ {}", display::date_time(*time, history.time_zone())),
                theme.strong(),
            ),
            Row::Day { label } => rule(&text::one_line(label, usize::MAX), theme.dim()),
            Row::Unread { count } => rule(
                &format!("{} unread", thousands(*count as usize)),
                theme.alert(),
            ),
            Row::Header { index } => header_line(app, history, *index, theme),
            Row::Body { index, line, text } => {
                if highlights.as_ref().is_none_or(|(i, _)| i != index) {
                    highlights = Some((*index, app.highlights(*index)));
                }
                let marks = highlights.as_ref().map_or(&[][..], |(_, h)| &h[..]);
                let body = history.body(*index).unwrap_or_default();
                let mut l = body_line(body, text, marks, indent, theme);
                let chosen = selected == Some(*index);
                if let Some((name_width, _)) = prefix {
                    let mut spans = compact_prefix(app, history, *index, *line, name_width, chosen);
                    spans.append(&mut l.spans);
                    l.spans = spans;
                } else if chosen && indent > 0 {
                    // A bar in the indent: the selection shows without colours too.
                    l.spans[0] = Span::styled(
                        format!("▌{}", " ".repeat(usize::from(indent) - 1)),
                        theme.strong(),
                    );
                }
                l
            }
        };
        let is_selected = match row {
            Row::Header { index } | Row::Body { index, .. } => Some(*index) == selected,
            _ => false,
        };
        if is_selected {
            // The whole row, so the selection reads as one block however short its lines.
            frame.render_widget(
                ratatui::widgets::Block::new().style(app.theme().selected_message()),
                r,
            );
            frame.render_widget(line, r);
        } else {
            frame.render_widget(line, r);
        }
    }
}

/// `── label ──`, centered.
fn rule(label: &str, style: Style) -> Line<'static> {
    Line::styled(format!("── {label} ──"), style).alignment(Alignment::Center)
}

/// The row above the oldest loaded message (`older`) or below the newest.
fn edge_line(
    edge: EdgeRow,
    older: bool,
    ticks: u64,
    retry_key: &str,
    theme: &Theme,
) -> Line<'static> {
    let (way, arrow) = if older {
        ("older", "↑")
    } else {
        ("newer", "↓")
    };
    match edge {
        EdgeRow::Beginning => rule("beginning of conversation", theme.dim()),
        EdgeRow::Loading => Line::styled(
            format!("{} loading {way} messages…", spinner(ticks)),
            theme.dim(),
        )
        .alignment(Alignment::Center),
        EdgeRow::Failed => Line::styled(
            if retry_key.is_empty() {
                format!("could not load {way} messages")
            } else {
                format!("could not load {way} messages · {retry_key} retries")
            },
            theme.alert(),
        )
        .alignment(Alignment::Center),
        EdgeRow::More => Line::styled(format!("{arrow} {way} messages on the server"), theme.dim())
            .alignment(Alignment::Center),
    }
}

/// `bob 14:03`: the sender (its name, see [`App::sender_label`]) in the colour of its
/// id, then the time.
fn header_line(app: &App, history: &History, index: usize, theme: &Theme) -> Line<'static> {
    let (Some(from), Some(time)) = (history.sender(index), history.time(index)) else {
        return Line::default();
    };
    let sender = app.sender_label(from, 32);
    let colour = theme.sender(from);
    Line::from(vec![
        Span::styled(sender, Style::new().fg(colour).add_modifier(Modifier::BOLD)),
        Span::raw(" "),
        Span::styled(display::clock(time, history.time_zone()), theme.dim()),
    ])
}

/// The compact layout's prefix of body line `line` of message `index`: `16:56 sarah.chen │ `
/// on its first line, blanks up to the bar on the others, the name cut or padded to
/// `name_width` columns.
fn compact_prefix(
    app: &App,
    history: &History,
    index: usize,
    line: usize,
    name_width: u16,
    chosen: bool,
) -> Vec<Span<'static>> {
    let theme = app.theme();
    let name_width = usize::from(name_width);
    let bar = if chosen {
        Span::styled(" ▌ ", theme.strong())
    } else {
        Span::styled(" │ ", theme.dim())
    };
    if line > 0 {
        return vec![Span::raw(" ".repeat(6 + name_width)), bar];
    }
    let (Some(from), Some(time)) = (history.sender(index), history.time(index)) else {
        return vec![Span::raw(" ".repeat(6 + name_width)), bar];
    };
    let name = app.sender_label(from, name_width);
    let pad = name_width.saturating_sub(text::width(&name));
    vec![
        Span::styled(display::clock(time, history.time_zone()), theme.dim()),
        Span::raw(" "),
        Span::styled(
            name,
            Style::new()
                .fg(theme.sender(from))
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(" ".repeat(pad)),
        bar,
    ]
}

/// One wrapped body line after `indent` columns, with the parts of `marks` (byte ranges
/// into `body`, current or not) that fall on it highlighted.
fn body_line(
    body: &str,
    line: &WrappedLine,
    marks: &[(Range<usize>, bool)],
    indent: u16,
    theme: &Theme,
) -> Line<'static> {
    let mut spans = vec![Span::raw(" ".repeat(usize::from(indent)))];
    let mut at = line.start;
    let piece = |a: usize, b: usize| body.get(a..b).unwrap_or_default().to_string();
    for (range, current) in marks {
        let start = range.start.max(at);
        let end = range.end.min(line.end);
        if start >= end {
            continue;
        }
        if start > at {
            spans.push(Span::raw(piece(at, start)));
        }
        let style = if *current {
            theme.current_match()
        } else {
            theme.marked()
        };
        spans.push(Span::styled(piece(start, end), style));
        at = end;
    }
    if at < line.end {
        spans.push(Span::raw(piece(at, line.end)));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_split_a_line_at_match_edges() {
        let body = "hello world, hello";
        let line = WrappedLine {
            start: 6,
            end: 18,
            width: 12,
        };
        let marks = vec![(0..5, false), (6..11, true), (13..18, false)];
        let theme = Theme::default();
        let l = body_line(body, &line, &marks, 2, &theme);
        let parts: Vec<(&str, bool)> = l
            .spans
            .iter()
            .map(|s| (s.content.as_ref(), s.style == theme.current_match()))
            .collect();
        assert_eq!(
            parts,
            vec![
                ("  ", false),
                ("world", true),
                (", ", false),
                ("hello", false)
            ]
        );
    }
}
