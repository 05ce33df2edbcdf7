//! The status line at the bottom of the screen and the search input line.
//!
//! ```text
//! /hello█                                   3/17 · text      search input (history pane)
//! 3/17 · 120 messages loaded · more on server         ? help   status line
//! ```
//! Both carry text that may have come from the server (error descriptions) or from a
//! paste, so both go through [`text::one_line`].

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::{Theme, ViewContext, spinner};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::history::History;
use crate::tui::prompt::Prompt;
use crate::tui::text;

/// Draws the status line into `area` (one row), or the prompt being typed.
pub fn draw_status(app: &App, ctx: &ViewContext<'_>, area: Rect, frame: &mut Frame<'_>) {
    let theme = app.theme();
    if area.is_empty() {
        return;
    }
    if let Some(prompt) = app.prompt() {
        draw_prompt(prompt, area, frame, theme);
        return;
    }
    let width = usize::from(area.width);
    let mut status = app.status_line();
    if let Some(notice) = ctx.notice.filter(|n| !n.is_empty()) {
        status = if status.is_empty() {
            notice.to_string()
        } else {
            format!("{notice} · {status}")
        };
    }
    let failed =
        app.current_history().and_then(History::error).is_some() || app.list_error().is_some();
    let busy = app.list_loading()
        || app
            .current_history()
            .is_some_and(|h| h.in_flight().is_some());
    let help_key = app.key_hint(Action::ShowHelp);
    let help_hint = if help_key.is_empty() {
        String::new()
    } else {
        format!("{help_key} help")
    };
    let hint_width = text::width(&help_hint) + 1;
    let show_hint = !help_hint.is_empty() && width >= hint_width + 20;
    let mut spans = Vec::new();
    let mut used = 0;
    // Whose history, first and apart from the rest: it survives any cut of the line.
    if let Some(label) = app.admin_label() {
        let label = text::one_line(&label, width);
        used += text::width(&label) + 1;
        spans.push(Span::styled(label, theme.marked()));
        spans.push(Span::raw(" "));
    }
    if busy && width > used + 2 {
        spans.push(Span::styled(
            format!("{} ", spinner(app.ticks())),
            theme.dim(),
        ));
        used += 2;
    }
    let room = width.saturating_sub(used + if show_hint { hint_width } else { 0 });
    let status = text::one_line(&status, room);
    used += text::width(&status);
    let style = if failed {
        theme.alert().add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    spans.push(Span::styled(status, style));
    if show_hint {
        spans.push(Span::raw(
            " ".repeat(width.saturating_sub(used + hint_width) + 1),
        ));
        spans.push(Span::styled(help_hint, theme.dim()));
    }
    frame.render_widget(Line::from(spans), area);
}

/// Draws the search input line into `area` (one row): the query after `/` with a cursor
/// block, and at the right the match position and the mode (`text` or `regex`).
pub fn draw_search(app: &App, area: Rect, frame: &mut Frame<'_>) {
    let theme = app.theme();
    let Some(search) = app.search() else {
        return;
    };
    if area.is_empty() {
        return;
    }
    let width = usize::from(area.width);
    let position = search.position();
    let mode = if search.is_regex() { "regex" } else { "text" };
    let mut right = vec![];
    let mut right_width = 0;
    if width >= 30 {
        if !position.is_empty() {
            let style = if search.count() == 0 {
                theme.alert()
            } else {
                Style::new()
            };
            right_width += text::width(&position) + 3;
            right.push(Span::styled(position, style));
            right.push(Span::styled(" · ", theme.dim()));
        }
        right_width += mode.len() + 1;
        let mode_style = if search.is_regex() {
            theme.strong()
        } else {
            theme.dim()
        };
        right.push(Span::styled(mode, mode_style));
        right.push(Span::raw(" "));
    }
    // The end of a long query is what is being typed: keep it, cut the front.
    let room = width.saturating_sub(right_width + 2);
    let query = text::one_line(search.query(), usize::MAX);
    let query = tail_to_width(&query, room);
    let used = 1 + text::width(&query) + 1;
    let prompt_style = if search.error().is_some() {
        theme.alert()
    } else {
        theme.strong()
    };
    let mut spans = vec![
        Span::styled("/", prompt_style),
        Span::raw(query),
        Span::styled(" ", Style::new().add_modifier(Modifier::REVERSED)),
    ];
    spans.push(Span::raw(
        " ".repeat(width.saturating_sub(used + right_width)),
    ));
    spans.extend(right);
    frame.render_widget(Line::from(spans), area);
}

/// Draws a prompt into `area`: its label, what was typed with a cursor block, and at the
/// right why it was refused or what may be typed.
fn draw_prompt(prompt: &Prompt, area: Rect, frame: &mut Frame<'_>, theme: &Theme) {
    let width = usize::from(area.width);
    let label = prompt.kind().label();
    let label_width = text::width(label).min(width);
    let (right, right_style) = match prompt.error() {
        Some(e) => (text::one_line(e, usize::MAX), theme.alert()),
        None => (prompt.kind().hint().to_string(), theme.dim()),
    };
    // The input gets at least half of what is left; the hint or error the rest.
    let room = width.saturating_sub(label_width + 1);
    let input = text::one_line(prompt.input(), usize::MAX);
    let input_room = room.saturating_sub(text::width(&right) + 2).max(room / 2);
    let input = tail_to_width(&input, input_room);
    let used = label_width + text::width(&input) + 1;
    let right_room = width.saturating_sub(used + 1);
    let right = if prompt.error().is_some() {
        text::truncate_to_width(&right, right_room)
    } else if text::width(&right) <= right_room {
        right
    } else {
        String::new()
    };
    let pad = width.saturating_sub(used + text::width(&right));
    let line = Line::from(vec![
        Span::styled(text::truncate_to_width(label, width), theme.strong()),
        Span::raw(input),
        Span::styled(" ", Style::new().add_modifier(Modifier::REVERSED)),
        Span::raw(" ".repeat(pad)),
        Span::styled(right, right_style),
    ]);
    frame.render_widget(line, area);
}

/// The end of `s`, at most `max` columns, starting with `…` when cut.
fn tail_to_width(s: &str, max: usize) -> String {
    if text::width(s) <= max {
        return s.to_string();
    }
    let reversed: String = s.chars().rev().collect();
    // Cutting the reversed string keeps whole characters; ZWJ sequences may lose their
    // head, which only affects the visible start of an over-long query.
    let cut = text::truncate_to_width(&reversed, max);
    let body: String = cut.trim_end_matches('…').chars().rev().collect();
    if max == 0 {
        return String::new();
    }
    format!("…{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_queries_keep_their_end() {
        assert_eq!(tail_to_width("hello", 10), "hello");
        assert_eq!(tail_to_width("hello world", 6), "…world");
        assert_eq!(tail_to_width("hello", 0), "");
    }
}
