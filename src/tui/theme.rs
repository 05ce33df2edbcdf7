//! The screen's colours by role. The built-in theme reads on dark and light backgrounds;
//! the config file's `[display.colors]` replaces any role.

use ratatui::style::{Color, Modifier, Style};

/// Colours by their role on screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Focused borders, headings, markers, the search prompt.
    pub accent: Color,
    /// Unfocused borders and secondary text: times, separators, hints.
    pub muted: Color,
    /// The background of search matches, unread badges, new-message notes and filters.
    pub selection: Color,
    /// Errors and the unread divider.
    pub error: Color,
    /// The background of the current search match.
    pub search_match: Color,
    /// Sender names, each sender always the same one of these.
    pub senders: Vec<Color>,
}

impl Default for Theme {
    fn default() -> Theme {
        Theme {
            accent: Color::Cyan,
            muted: Color::DarkGray,
            selection: Color::Yellow,
            error: Color::LightRed,
            search_match: Color::LightRed,
            senders: vec![
                Color::Cyan,
                Color::Green,
                Color::Yellow,
                Color::Blue,
                Color::Magenta,
                Color::LightRed,
                Color::LightGreen,
                Color::LightYellow,
                Color::LightBlue,
                Color::LightMagenta,
            ],
        }
    }
}

impl Theme {
    /// Secondary text.
    pub fn dim(&self) -> Style {
        Style::new().fg(self.muted)
    }

    /// Headings and markers.
    pub fn strong(&self) -> Style {
        Style::new().fg(self.accent).add_modifier(Modifier::BOLD)
    }

    /// Errors, and the unread divider.
    pub fn alert(&self) -> Style {
        Style::new().fg(self.error)
    }

    /// Dark text on the selection colour: matches, badges, notes that want attention.
    pub fn marked(&self) -> Style {
        Style::new().fg(Color::Black).bg(self.selection)
    }

    /// The selected message in the history pane.
    pub fn selected_message(&self) -> Style {
        Style::new().bg(self.muted)
    }

    /// The current search match.
    pub fn current_match(&self) -> Style {
        Style::new()
            .fg(Color::Black)
            .bg(self.search_match)
            .add_modifier(Modifier::BOLD)
    }

    /// A stable colour for a sender: the same name always gets the same colour, across
    /// runs and machines (FNV-1a of the name, not the randomized std hasher).
    pub fn sender(&self, name: &str) -> Color {
        let mut h: u32 = 0x811c_9dc5;
        for b in name.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        match self.senders.len() {
            0 => self.accent,
            n => self.senders[(h % n as u32) as usize],
        }
    }
}
