//! The help overlay: the key bindings of [`HELP`], in a box over the middle of the screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;

use super::{dim, pane_block};
use crate::tui::app::HELP;
use crate::tui::text;

/// Columns of the key column.
const KEY_WIDTH: usize = 16;

/// Draws the overlay centered in `area`.
pub fn draw(area: Rect, frame: &mut Frame<'_>) {
    let longest = HELP
        .iter()
        .map(|(_, what)| text::width(what))
        .max()
        .unwrap_or(0);
    let wanted_width = u16::try_from(KEY_WIDTH + 1 + longest + 2).unwrap_or(u16::MAX);
    let wanted_height = u16::try_from(HELP.len() + 2).unwrap_or(u16::MAX);
    let width = wanted_width.min(area.width);
    let height = wanted_height.min(area.height);
    if width == 0 || height == 0 {
        return;
    }
    let r = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
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
    let block = pane_block(true)
        .title(" keys ")
        .title_bottom(Line::styled(" Esc closes ", dim()).right_aligned());
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let desc_width = usize::from(inner.width).saturating_sub(KEY_WIDTH + 1);
    for (i, (keys, what)) in HELP.iter().enumerate() {
        let Ok(i) = u16::try_from(i) else {
            break;
        };
        if i >= inner.height {
            break;
        }
        let keys = text::truncate_to_width(keys, KEY_WIDTH);
        let pad = KEY_WIDTH.saturating_sub(text::width(&keys)) + 1;
        let line = Line::from(vec![
            Span::styled(
                keys,
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            ),
            Span::raw(" ".repeat(pad)),
            Span::raw(text::truncate_to_width(what, desc_width)),
        ]);
        frame.render_widget(line, Rect::new(inner.x, inner.y + i, inner.width, 1));
    }
}
