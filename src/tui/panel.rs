//! The message panel: an overlay over the panes with the details of one message or the
//! whole of its text, wrapped to the overlay's width and scrolled. Pure state: the text is
//! sanitized when the panel opens and wrapped again only when the width changes, so drawing
//! a frame costs the lines shown, even for a message of megabytes.
//!
//! ```text
//! ┏ details ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
//! ┃ id        1234567890123456789            ┃
//! ┃ time      2024-03-05 14:03:07 +08:00 …   ┃
//! ┗━━━━━━━━━━━━━━━━━━━━━━━━━ 1-20/31 Esc closes ┛
//! ```

use ratatui::layout::Rect;

use super::text::{self, WrappedLine};

/// What the panel shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelKind {
    /// Every field of the message.
    Details,
    /// The whole text, up to [`text::FULL_VIEW_CAP`].
    FullText,
}

/// The open panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panel {
    kind: PanelKind,
    /// The message it is about.
    message: u64,
    /// Sanitized: what is wrapped and drawn.
    text: String,
    /// `text` wrapped at `width`.
    lines: Vec<WrappedLine>,
    width: u16,
    /// Lines hidden above.
    scroll: usize,
    /// A picture is shown above the text (an image message's details).
    with_picture: bool,
}

/// Where the panel goes on a `width`×`height` screen: everything but the status line.
pub fn area(width: u16, height: u16) -> Rect {
    Rect::new(0, 0, width, height.saturating_sub(1))
}

/// The inside of the panel's border on such a screen: what the text is wrapped to.
pub fn inner(width: u16, height: u16) -> Rect {
    let r = area(width, height);
    Rect::new(
        r.x + 1,
        r.y + 1,
        r.width.saturating_sub(2),
        r.height.saturating_sub(2),
    )
}

/// The rows a picture takes at the top of the panel on a screen `height` rows high: half
/// the inside, at most 16; none when fewer than 8 rows are inside (the text needs them).
pub fn picture_rows(width: u16, height: u16) -> u16 {
    let rows = inner(width, height).height;
    if rows < 8 { 0 } else { (rows / 2).min(16) }
}

/// Where the picture goes on such a screen, when it has room.
pub fn picture_area(width: u16, height: u16) -> Option<Rect> {
    let r = inner(width, height);
    let rows = picture_rows(width, height);
    (rows > 0 && r.width > 0).then(|| Rect::new(r.x, r.y, r.width, rows))
}

impl Panel {
    /// A panel of `kind` about message `message` showing `text` (sanitized here), for a
    /// `width`×`height` screen.
    pub fn new(kind: PanelKind, message: u64, text: &str, width: u16, height: u16) -> Panel {
        let mut panel = Panel {
            kind,
            message,
            text: text::sanitize_capped(text, text::FULL_VIEW_CAP).into_owned(),
            lines: Vec::new(),
            width: 0,
            scroll: 0,
            with_picture: false,
        };
        panel.resize(width, height);
        panel
    }

    /// Keeps the top of the panel for a picture (or its loading or failure line).
    pub fn show_picture(&mut self, height: u16) {
        self.with_picture = true;
        self.scroll = self.scroll.min(self.max_scroll(height));
    }

    /// Whether the top of the panel is kept for a picture.
    pub fn has_picture(&self) -> bool {
        self.with_picture
    }

    /// Where the text goes on a `width`×`height` screen: the inside, below the picture.
    pub fn text_area(&self, width: u16, height: u16) -> Rect {
        let r = inner(width, height);
        let top = if self.with_picture {
            picture_rows(width, height)
        } else {
            0
        };
        Rect::new(r.x, r.y + top, r.width, r.height - top)
    }

    /// What it shows.
    pub fn kind(&self) -> PanelKind {
        self.kind
    }

    /// The id of the message it is about.
    pub fn message(&self) -> u64 {
        self.message
    }

    /// The sanitized text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The wrapped lines (byte ranges into [`text`](Self::text)).
    pub fn lines(&self) -> &[WrappedLine] {
        &self.lines
    }

    /// Lines hidden above.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// Wraps again for a new screen size (nothing to do when the width is the same) and
    /// keeps the scroll position in range.
    pub fn resize(&mut self, width: u16, height: u16) {
        let r = inner(width, height);
        if r.width != self.width {
            self.width = r.width;
            self.lines = text::wrap(&self.text, r.width);
        }
        self.scroll = self.scroll.min(self.max_scroll(height));
    }

    fn max_scroll(&self, height: u16) -> usize {
        let rows = usize::from(self.text_area(self.width.saturating_add(2), height).height);
        self.lines.len().saturating_sub(rows)
    }

    /// Scrolls by `delta` lines (negative: up), within the text, on a screen `height` rows
    /// high.
    pub fn scroll_by(&mut self, delta: isize, height: u16) {
        self.scroll = self
            .scroll
            .saturating_add_signed(delta)
            .min(self.max_scroll(height));
    }

    /// To the top (`false`) or the end (`true`).
    pub fn scroll_to(&mut self, end: bool, height: u16) {
        self.scroll = if end { self.max_scroll(height) } else { 0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_text_is_sanitized_capped_with_a_note_and_scrolls_within_it() {
        let line = "0123456789 abcdefghij \u{1b}[2J\n";
        let huge = line.repeat(5 * 1024 * 1024 / line.len() + 1);
        let mut p = Panel::new(PanelKind::FullText, 7, &huge, 80, 24);
        assert!(!p.text().contains('\u{1b}'));
        assert!(
            p.text().len() <= text::FULL_VIEW_CAP + 64,
            "{}",
            p.text().len()
        );
        let last = p
            .lines()
            .last()
            .map(|l| l.as_str(p.text()))
            .unwrap_or_default();
        assert!(
            last.starts_with("… [message truncated: 5.2 MB total]"),
            "the note beyond the cap: {last:?}"
        );
        p.scroll_to(true, 24);
        assert_eq!(
            p.scroll(),
            p.lines().len() - 21,
            "the last line at the bottom"
        );
        p.scroll_by(5, 24);
        assert_eq!(p.scroll(), p.lines().len() - 21, "not past the end");
    }

    #[test]
    fn a_resize_wraps_again_and_keeps_the_scroll_in_range() {
        let text = "word ".repeat(400);
        let mut p = Panel::new(PanelKind::Details, 1, &text, 120, 40);
        // 23 words of 5 columns fit the 118 inside the border.
        assert_eq!(p.lines().len(), 18);
        p.scroll_to(true, 40);
        assert_eq!(p.scroll(), 0, "it fits");
        p.resize(40, 12);
        assert_eq!(p.lines().len(), 58, "7 words a line in 38 columns");
        p.scroll_to(true, 12);
        assert_eq!(p.scroll(), 58 - 9, "9 rows inside the border");
        p.resize(120, 40);
        assert_eq!(p.scroll(), 0, "back in range");
    }
}
