//! The conversation list pane.
//!
//! Each conversation takes [`LIST_ITEM_HEIGHT`] rows:
//! ```text
//! ▌# project-x            📌 99+ 3m
//! ▌  bob: see you tomorrow
//! ```
//! A gutter mark on the selected item (also highlighted), the kind (`#` group, `&` chat
//! room, nothing for a single chat), the name (the id until a name is known), then a pin, the unread count and how long
//! ago the last message was; below, a one-line preview of that message (group messages
//! say who sent it). Only the visible items are looked at.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::{ViewContext, pane_block, relative_time, selected, spinner, unread_badge};
use crate::protocol::{ChatType, Conversation};
use crate::tui::app::App;
use crate::tui::display;
use crate::tui::layout::{LIST_ITEM_HEIGHT, Pane};
use crate::tui::text;

/// The widest a sender's name gets in a preview.
const PREVIEW_SENDER_WIDTH: usize = 12;

/// The kind marker in front of a name: one column.
pub fn kind_marker(kind: ChatType) -> &'static str {
    match kind {
        ChatType::Single => " ",
        ChatType::Group => "#",
        ChatType::Room => "&",
    }
}

/// Draws the list pane (border included) into `area`.
pub fn draw(app: &App, ctx: &ViewContext<'_>, area: Rect, frame: &mut Frame<'_>) {
    let theme = app.theme();
    let focused = app.focus() == Pane::List;
    let mut title = vec![Span::raw(" conversations ")];
    if app.list_loading() {
        title.push(Span::styled(
            format!("{} ", spinner(app.ticks())),
            theme.dim(),
        ));
    }
    let block = pane_block(focused, theme).title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }
    let conversations = app.conversations();
    if conversations.is_empty() {
        let msg = if app.list_loading() {
            "loading conversations…"
        } else {
            "no conversations"
        };
        let line = Line::styled(msg, theme.dim()).alignment(Alignment::Center);
        frame.render_widget(line, Rect { height: 1, ..inner });
        return;
    }
    let per_item = usize::from(LIST_ITEM_HEIGHT);
    let shown = usize::from(inner.height).div_ceil(per_item);
    let shown_list = app.shown_conversations();
    if shown_list.is_empty() {
        let filter = text::one_line(app.list_filter().unwrap_or_default(), 40);
        let line = Line::styled(format!("nothing matches {filter:?}"), theme.dim())
            .alignment(Alignment::Center);
        frame.render_widget(line, Rect { height: 1, ..inner });
        return;
    }
    let items = shown_list.into_iter().skip(app.list_offset());
    for (slot, (i, c)) in items.take(shown).enumerate() {
        let Ok(slot) = u16::try_from(slot) else {
            break;
        };
        let y = inner.y + slot * LIST_ITEM_HEIGHT;
        let is_selected = i == app.selected();
        let [first, second] = item_lines(c, usize::from(inner.width), ctx, app, is_selected);
        let style = if is_selected {
            selected(focused, theme)
        } else {
            Style::new()
        };
        for (row, line) in [first, second].into_iter().enumerate() {
            let Ok(row) = u16::try_from(row) else {
                break;
            };
            let y = y + row;
            if y >= inner.y + inner.height {
                break;
            }
            frame.render_widget(line.style(style), Rect::new(inner.x, y, inner.width, 1));
        }
    }
}

/// The two lines of one conversation, `width` columns wide.
fn item_lines(
    c: &Conversation,
    width: usize,
    ctx: &ViewContext<'_>,
    app: &App,
    is_selected: bool,
) -> [Line<'static>; 2] {
    let theme = app.theme();
    let gutter = if is_selected { "▌" } else { " " };
    // Right side, dropped piece by piece when the pane is too narrow for it.
    let time = c
        .last_message
        .as_ref()
        .map(|m| relative_time(m.time, ctx.now_ms, app.time_zone()))
        .unwrap_or_default();
    let badge = (c.unread > 0).then(|| unread_badge(c.unread));
    // In display order; when space runs short the time goes first, then the pin, and the
    // unread count last, since it is what the list is for.
    let mut pieces: Vec<(u8, String, Style)> = Vec::new();
    if c.pinned {
        pieces.push((1, "📌".to_string(), Style::new()));
    }
    if let Some(b) = badge {
        let style = theme.marked().add_modifier(Modifier::BOLD);
        pieces.push((2, b, style));
    }
    if !time.is_empty() {
        pieces.push((0, time, theme.dim()));
    }
    let prefix = 3; // gutter, marker, space
    let min_name = 6;
    let width_of = |pieces: &[(u8, String, Style)]| -> usize {
        pieces.iter().map(|(_, s, _)| text::width(s) + 1).sum()
    };
    while !pieces.is_empty() && prefix + min_name + width_of(&pieces) > width {
        if let Some(least) = pieces
            .iter()
            .enumerate()
            .min_by_key(|(_, (keep, _, _))| *keep)
            .map(|(i, _)| i)
        {
            pieces.remove(least);
        }
    }
    let right_width = width_of(&pieces);
    let right: Vec<Span<'static>> = pieces
        .into_iter()
        .flat_map(|(_, s, style)| [Span::raw(" "), Span::styled(s, style)])
        .collect();
    let name_max = width.saturating_sub(prefix + right_width);
    let name = app.list_label(c, name_max);
    let pad = width.saturating_sub(prefix + text::width(&name) + right_width);
    let mut first = vec![
        Span::raw(gutter),
        Span::styled(kind_marker(c.kind), theme.dim()),
        Span::raw(" "),
        Span::styled(
            name,
            if c.unread > 0 {
                Style::new().add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            },
        ),
        Span::raw(" ".repeat(pad)),
    ];
    first.extend(right);

    let preview_width = width.saturating_sub(prefix);
    let preview = match &c.last_message {
        None => Span::styled("no messages", theme.dim()),
        Some(m) => {
            let mut s = String::new();
            if c.kind != ChatType::Single && !m.from.is_empty() {
                s.push_str(&app.sender_label(&m.from, PREVIEW_SENDER_WIDTH));
                s.push_str(": ");
            }
            let left = preview_width.saturating_sub(text::width(&s));
            s.push_str(&display::preview(m, left));
            Span::raw(text::truncate_to_width(&s, preview_width))
        }
    };
    let second = vec![Span::raw(gutter), Span::raw("  "), preview];
    [Line::from(first), Line::from(second)]
}
