//! Acting on one message: selecting it (keys and clicks), its details and full text in a
//! panel, copying it, and how messages are laid out; also turning mouse capture off so
//! the terminal's own selection works.
//!
//! Selection is a mode of the history pane: `v` (or a click) selects the newest message in
//! view, then j/k move by message and Esc ends it, giving j/k back to scrolling. Details,
//! the full text and copying act on the selection, or, without one, select the newest
//! message in view first.

use super::{App, Effect};
use crate::names_cache::NameKind;
use crate::protocol::body_meta::BodyMeta;
use crate::protocol::{ChatType, Content};
use crate::tui::action::Action;
use crate::tui::details;
use crate::tui::history::MessageLayout;
use crate::tui::layout::Pane;
use crate::tui::numbers::human_size;
use crate::tui::panel::{Panel, PanelKind};
use crate::tui::text;

/// The most bytes a copy puts on the clipboard: terminals limit OSC 52 (xterm, tmux) and
/// nobody pastes more from a chat.
pub const COPY_CAP: usize = 100 * 1024;

impl App {
    /// How messages are laid out.
    pub fn message_layout(&self) -> MessageLayout {
        self.layout_style
    }

    /// Lays messages out `layout` (a config file's `layout`, or the toggle key).
    pub fn set_message_layout(&mut self, layout: MessageLayout) {
        self.layout_style = layout;
        let vp = self.history_viewport();
        if let Some(h) = self.shown_mut() {
            h.normalize(vp);
            if let Some(i) = h.selected() {
                h.reveal_message(i, vp);
            }
        }
    }

    /// The terminal reports clicks and the wheel.
    pub fn mouse_capture(&self) -> bool {
        self.mouse_capture
    }

    /// The details or full-text panel, while it is open.
    pub fn panel(&self) -> Option<&Panel> {
        self.panel.as_ref()
    }

    /// Starts selecting: the newest message in view.
    pub(super) fn select_message(&mut self) {
        self.step_message(0);
    }

    /// Moves the selection by `delta` messages (negative: older).
    pub(super) fn step_message(&mut self, delta: isize) {
        let vp = self.history_viewport();
        if let Some(h) = self.shown_mut() {
            h.step_selection(delta, vp);
        }
    }

    /// Ends selecting; false when nothing was selected.
    pub(super) fn clear_message_selection(&mut self) -> bool {
        match self.shown_mut() {
            Some(h) if h.selected().is_some() => {
                h.clear_selection();
                true
            }
            _ => false,
        }
    }

    /// The selected message, selecting the newest in view first when none is.
    pub(super) fn selected_message(&mut self) -> Option<crate::protocol::Message> {
        let vp = self.history_viewport();
        let h = self.shown_mut()?;
        if h.selected().is_none() {
            h.step_selection(0, vp);
        }
        let index = h.selected()?;
        h.message(index)
    }

    /// Opens the details panel of the selected message, asking for its picture when it
    /// has one.
    pub(super) fn open_details(&mut self, fx: &mut Vec<Effect>) {
        let Some(msg) = self.selected_message() else {
            self.note = Some("no message to show".into());
            return;
        };
        let names = details::Names {
            sender: self.names().name(NameKind::User, &msg.from),
            recipient: self.names().name(
                match msg.chat_type {
                    ChatType::Single => NameKind::User,
                    ChatType::Group => NameKind::Group,
                    ChatType::Room => NameKind::Room,
                },
                &msg.to,
            ),
        };
        let meta = msg.meta.clone().map(BodyMeta::from_object);
        let text = details::details(&msg, names, &self.tz, meta.as_ref());
        self.panel = Some(Panel::new(
            PanelKind::Details,
            msg.id,
            &text,
            self.width,
            self.height,
        ));
        self.ask_picture(&msg, fx);
    }

    /// Opens the whole text of the selected message: text as sent, any other kind as its
    /// summary.
    pub(super) fn open_full_text(&mut self) {
        let Some(msg) = self.selected_message() else {
            self.note = Some("no message to show".into());
            return;
        };
        let full = match &msg.content {
            Content::Text { text } => text.clone(),
            _ => crate::tui::display::body(&msg),
        };
        self.panel = Some(Panel::new(
            PanelKind::FullText,
            msg.id,
            &full,
            self.width,
            self.height,
        ));
    }

    /// Closes the panel.
    pub(super) fn close_panel(&mut self) {
        self.panel = None;
        self.picture = None;
    }

    /// Scrolls the panel.
    pub(super) fn scroll_panel(&mut self, action: Action) {
        let (width, height) = (self.width, self.height);
        let Some(p) = self.panel.as_mut() else {
            return;
        };
        let page = p.text_area(width, height).height.max(2) as isize - 1;
        match action {
            Action::ScrollDown => p.scroll_by(1, height),
            Action::ScrollUp => p.scroll_by(-1, height),
            Action::PageDown => p.scroll_by(page, height),
            Action::PageUp => p.scroll_by(-page, height),
            Action::HalfPageDown => p.scroll_by(page / 2 + 1, height),
            Action::HalfPageUp => p.scroll_by(-(page / 2 + 1), height),
            Action::OldestLoaded => p.scroll_to(false, height),
            Action::Newest => p.scroll_to(true, height),
            _ => {}
        }
    }

    /// Copies the selected message's text (`link == false`), or its attachment URL, else
    /// its id.
    pub(super) fn copy_message(&mut self, link: bool, fx: &mut Vec<Effect>) {
        let Some(msg) = self.selected_message() else {
            self.note = Some("no message to copy".into());
            return;
        };
        let (what, raw) = if link {
            match msg.content.attachment().map(|a| a.download_url()) {
                Some(url) if !url.is_empty() => ("URL", url),
                _ => ("id", msg.id.to_string()),
            }
        } else {
            let raw = match &msg.content {
                Content::Text { text } => text.clone(),
                _ => crate::tui::display::body(&msg),
            };
            ("text", raw)
        };
        let payload = text::sanitize_capped(&raw, COPY_CAP).into_owned();
        let cut = if payload.len() < raw.len() && raw.len() > COPY_CAP {
            format!(" (first {})", human_size(COPY_CAP as u64))
        } else {
            String::new()
        };
        self.note = Some(format!(
            "copied the {what}{cut} ({}) · needs a terminal that allows OSC 52",
            human_size(payload.len() as u64)
        ));
        fx.push(Effect::Copy(payload));
    }

    /// Compact layout on or off.
    /// The choice is remembered in the config file.
    pub(super) fn toggle_layout(&mut self, fx: &mut Vec<Effect>) {
        let next = self.layout_style.toggled();
        self.set_message_layout(next);
        self.note = Some(format!("{} layout", next.name()));
        fx.push(Effect::RememberSetting {
            key: "layout",
            value: next.name().to_string(),
        });
    }

    /// Mouse capture off (the terminal's own text selection works) or back on.
    pub(super) fn toggle_mouse(&mut self, fx: &mut Vec<Effect>) {
        self.mouse_capture = !self.mouse_capture;
        let key = self.key_hint(Action::ToggleMouse);
        self.note = Some(if self.mouse_capture {
            "mouse on: clicks select, the wheel scrolls".to_string()
        } else if key.is_empty() {
            "mouse off: select text with the mouse".to_string()
        } else {
            format!("mouse off: select text with the mouse · {key} turns it back on")
        });
        fx.push(Effect::MouseCapture(self.mouse_capture));
    }

    /// A click on row `row` of the screen inside the history pane: selects the message
    /// drawn there.
    pub(super) fn click_history(&mut self, row: u16) {
        self.focus = Pane::History;
        let Some(area) = self.layout().messages else {
            return;
        };
        let Some(r) = row.checked_sub(area.y).filter(|r| *r < area.height) else {
            return;
        };
        let vp = self.history_viewport();
        if let Some(h) = self.shown_mut()
            && let Some(index) = h.message_at_row(r, vp)
        {
            h.select(index);
        }
    }
}
