//! The link chooser: a message's links in a small box above the status line, the chosen
//! one marked, and in its bottom border the question naming the host it would open.
//! Hosts are ASCII by construction (punycode) and URLs are checked to hold no controls
//! ([`crate::links`]); both still pass through [`text::one_line`] like all message text.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;

use super::{pane_block, selected};
use crate::tui::app::App;
use crate::tui::text;

/// The widest the box gets.
const MAX_WIDTH: u16 = 100;

/// Draws the chooser when it is open: over the history pane, or over the whole screen
/// (`screen`) when the details panel covers it.
pub fn draw(app: &App, screen: Rect, frame: &mut Frame<'_>) {
    let Some(choice) = app.link_choice() else {
        return;
    };
    let area = match app.layout().history {
        Some(pane) if app.panel().is_none() => {
            // The pane's own rows, and the status line's below it.
            super::clip(
                Rect::new(pane.x, pane.y, pane.width, pane.height + 1),
                screen,
            )
        }
        _ => screen,
    };
    let theme = app.theme();
    let links = choice.links();
    let question = choice.question();
    let host_width = links
        .iter()
        .map(|l| text::width(&text::one_line(&l.host, 30)))
        .max()
        .unwrap_or(0);
    let widest = links
        .iter()
        .map(|l| 2 + host_width + 2 + text::width(&l.url))
        .max()
        .unwrap_or(0)
        .max(text::width(&question) + 2);
    let width = (widest as u16)
        .saturating_add(2)
        .min(MAX_WIDTH)
        .min(area.width);
    // Above the status line and the bottom border of the pane or panel behind it.
    let rows = area.height.saturating_sub(2);
    let height = (links.len() as u16).saturating_add(2).min(rows);
    if width < 4 || height < 3 {
        // No room for a box: the status line still asks.
        return;
    }
    let r = super::clip(
        Rect::new(
            area.x + (area.width - width) / 2,
            area.y + rows - height,
            width,
            height,
        ),
        area,
    );
    frame.render_widget(Clear, r);
    let inner_width = usize::from(r.width.saturating_sub(2));
    let question = text::truncate_to_width(&question, inner_width.saturating_sub(2));
    let block = pane_block(true, theme)
        .title(" open a link ")
        .title_bottom(Line::styled(format!(" {question} "), theme.strong()).centered());
    frame.render_widget(block, r);
    let visible = usize::from(r.height.saturating_sub(2));
    // The chosen link stays in view in a box shorter than the list.
    let first = (choice.chosen() + 1).saturating_sub(visible);
    for (row, (i, link)) in links
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .enumerate()
    {
        let y = r.y + 1 + row as u16;
        let host = text::one_line(&link.host, 30);
        let pad = " ".repeat(host_width.saturating_sub(text::width(&host)));
        let marker = if i == choice.chosen() { "› " } else { "  " };
        let url_room = inner_width.saturating_sub(2 + host_width + 2);
        let url = text::one_line(&link.url, url_room);
        let style = if i == choice.chosen() {
            selected(true, theme)
        } else {
            Style::new()
        };
        let line = Line::from(vec![
            Span::raw(marker),
            Span::styled(format!("{host}{pad}"), theme.strong()),
            Span::raw("  "),
            Span::styled(url, theme.dim()),
        ])
        .style(style);
        frame.render_widget(line, Rect::new(r.x + 1, y, r.width.saturating_sub(2), 1));
    }
}
