//! The help overlay: the keymap's bindings ([`help::lines`]), in a box over the middle of
//! the screen, scrolled to [`App::help_scroll`]. At 40×12 it fills the screen and scrolls.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;

use super::pane_block;
use crate::tui::app::App;
use crate::tui::help::{self, HelpLine};
use crate::tui::numbers::thousands;
use crate::tui::text;

/// Draws the overlay centred in `area`.
pub fn draw(app: &App, area: Rect, frame: &mut Frame<'_>) {
    let theme = app.theme();
    let keymap = app.keymap();
    let r = help::area(keymap, area);
    if r.width == 0 || r.height == 0 {
        return;
    }
    frame.render_widget(Clear, r);
    // A wide character just left of the box would reach under its border: blank it.
    if let Some(left) = r.x.checked_sub(1) {
        let buf = frame.buffer_mut();
        for y in r.y..r.y + r.height {
            if let Some(cell) = buf.cell_mut((left, y))
                && text::width(cell.symbol()) > 1
            {
                cell.set_symbol(" ");
            }
        }
    }
    let inner_height = usize::from(r.height.saturating_sub(2));
    let (lines, key_width) = help::lines(keymap, r.width.saturating_sub(2));
    let scroll = app
        .help_scroll()
        .min(lines.len().saturating_sub(inner_height));
    let mut footer = help::close_hint(keymap);
    if lines.len() > inner_height && inner_height > 0 {
        let last = (scroll + inner_height).min(lines.len());
        footer = format!(
            "{}-{}/{} · {footer}",
            scroll + 1,
            last,
            thousands(lines.len())
        );
    }
    let block = pane_block(true, theme)
        .title(" keys ")
        .title_bottom(Line::styled(format!(" {footer} "), theme.dim()).right_aligned());
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let key_style = theme.strong();
    for (y, line) in (inner.y..inner.y + inner.height).zip(lines.iter().skip(scroll)) {
        let row = Rect::new(inner.x, y, inner.width, 1);
        let line = match line {
            HelpLine::Heading(title) => {
                Line::styled(*title, Style::new().add_modifier(Modifier::BOLD))
            }
            HelpLine::Blank => Line::default(),
            HelpLine::Row { keys, text: what } => {
                let pad = key_width.saturating_sub(text::width(keys)) + 1;
                Line::from(vec![
                    Span::styled(keys.clone(), key_style),
                    Span::raw(" ".repeat(pad)),
                    Span::raw(what.clone()),
                ])
            }
        };
        frame.render_widget(line, row);
    }
}
