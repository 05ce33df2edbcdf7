//! The message panel: the details or the whole text of one message ([`Panel`]) over the
//! panes, scrolled, with where you are and how to close it in the bottom border.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Clear;

use super::pane_block;
use crate::tui::action::Action;
use crate::tui::app::{App, PictureState};
use crate::tui::numbers::thousands;
use crate::tui::panel::{self, PanelKind};
use crate::tui::text;

/// Draws the open panel over `area` (the whole screen).
pub fn draw(app: &App, area: Rect, frame: &mut Frame<'_>) {
    let Some(p) = app.panel() else {
        return;
    };
    let r = super::clip(panel::area(area.width, area.height), area);
    if r.width < 2 || r.height < 2 {
        return;
    }
    let theme = app.theme();
    frame.render_widget(Clear, r);
    let inner = super::clip(p.text_area(area.width, area.height), area);
    let rows = usize::from(inner.height);
    if p.has_picture()
        && let Some(r) = panel::picture_area(area.width, area.height)
    {
        draw_picture(app, super::clip(r, area), frame);
    }
    let lines = p.lines();
    let title = match p.kind() {
        PanelKind::Details => " details ".to_string(),
        PanelKind::FullText => " full text ".to_string(),
    };
    let close = app
        .keymap()
        .keys_for(crate::tui::action::Mode::Panel, Action::ClosePanel);
    let close = close.split(' ').next().unwrap_or_default();
    let mut footer = if close.is_empty() {
        String::new()
    } else {
        format!("{close} closes")
    };
    if lines.len() > rows && rows > 0 {
        let last = (p.scroll() + rows).min(lines.len());
        let at = format!(
            "{}-{}/{}",
            thousands(p.scroll() + 1),
            thousands(last),
            thousands(lines.len())
        );
        footer = if footer.is_empty() {
            at
        } else {
            format!("{at} · {footer}")
        };
    }
    let footer = text::truncate_to_width(&footer, usize::from(r.width.saturating_sub(4)));
    let block = pane_block(true, theme)
        .title(title)
        .title_bottom(Line::styled(format!(" {footer} "), theme.dim()).right_aligned());
    frame.render_widget(block, r);
    for (y, line) in (inner.y..inner.y + inner.height).zip(lines.iter().skip(p.scroll())) {
        let row = Rect::new(inner.x, y, inner.width, 1);
        frame.render_widget(Line::raw(line.as_str(p.text()).to_string()), row);
    }
}

/// Draws the panel's picture centred in `r`, or the line that stands in for it.
fn draw_picture(app: &App, r: Rect, frame: &mut Frame<'_>) {
    let theme = app.theme();
    let line = match app.picture() {
        Some(PictureState::Shown(picture)) => {
            let size = picture.area();
            let width = size.width.min(r.width);
            let height = size.height.min(r.height);
            let at = Rect::new(r.x + (r.width - width) / 2, r.y, width, height);
            frame.render_widget(ratatui_image::Image::new(picture.protocol()), at);
            return;
        }
        Some(PictureState::Loading) => Line::styled("loading the picture…", theme.dim()),
        Some(PictureState::Failed(why)) => {
            Line::styled(text::one_line(why, usize::from(r.width)), theme.alert())
        }
        None => return,
    };
    frame.render_widget(line, Rect::new(r.x, r.y, r.width, 1.min(r.height)));
}
