//! Names on screen: on each render tick the state asks for the names of what it shows
//! that it has none for (the list rows in view with their preview senders, the open
//! conversation, the senders of the messages in view), in one request; the labels the
//! views draw come from here. Asking on the tick, not on every key, makes a fast scroll
//! one request per tick rather than one per row.

use super::{App, Effect};
use crate::names_cache::NameKey;
use crate::protocol::{ChatType, Conversation};
use crate::tui::event::ConversationKey;
use crate::tui::names::{NameKind, Names};

/// What kind of name a conversation's id has.
fn kind_of(kind: ChatType) -> NameKind {
    match kind {
        ChatType::Single => NameKind::User,
        ChatType::Group => NameKind::Group,
        ChatType::Room => NameKind::Room,
    }
}

impl App {
    /// The names known and how labels read.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// How a message's sender reads: the nickname, with the id beside it while ids are
    /// shown, or the id; `?` for no sender. One line, at most `max_width` columns. Every
    /// sender label on screen comes from here.
    pub fn sender_label(&self, id: &str, max_width: usize) -> String {
        if id.is_empty() {
            return "?".to_string();
        }
        self.names.label(NameKind::User, id, max_width)
    }

    /// How a conversation reads: the peer's nickname, the group's or room's name, or the
    /// id (see [`sender_label`](Self::sender_label)).
    pub fn conversation_label(&self, key: &ConversationKey, max_width: usize) -> String {
        self.names.label(kind_of(key.kind), &key.id, max_width)
    }

    /// [`conversation_label`](Self::conversation_label) of a conversation in the list.
    pub fn list_label(&self, c: &Conversation, max_width: usize) -> String {
        self.names.label(kind_of(c.kind), &c.id, max_width)
    }

    /// The name of a conversation, if one is known: what the list filter also matches.
    pub(super) fn conversation_name(&self, c: &Conversation) -> Option<&str> {
        self.names.name(kind_of(c.kind), &c.id)
    }

    /// The ids on screen now, in the order they are shown.
    fn ids_on_screen(&self) -> Vec<NameKey> {
        let mut shown = Vec::new();
        if let Some(key) = &self.open {
            shown.push(NameKey::new(kind_of(key.kind), &key.id));
        }
        let layout = self.layout();
        if layout.list.is_some() {
            let rows = self.shown_conversations();
            for (_, c) in rows
                .into_iter()
                .skip(self.list_offset)
                // The last item may show in part: it is on screen too.
                .take(layout.list_capacity() + 1)
            {
                shown.push(NameKey::new(kind_of(c.kind), &c.id));
                if let Some(m) = c.last_message.as_ref().filter(|_| c.kind != ChatType::Single) {
                    shown.push(NameKey::new(NameKind::User, &m.from));
                }
            }
        }
        if layout.messages.is_some()
            && let Some(h) = self.current_history()
        {
            let vp = self.history_viewport();
            if let Some(top) = h.top_index(vp) {
                // A message takes at least a header and a line: no more than this many fit.
                let fit = usize::from(vp.height);
                for index in top..h.len().min(top.saturating_add(fit)) {
                    if let Some(from) = h.sender(index) {
                        shown.push(NameKey::new(NameKind::User, from));
                    }
                }
            }
        }
        shown
    }

    /// Asks for the names on screen the state has none for.
    pub(super) fn ask_names(&mut self, fx: &mut Vec<Effect>) {
        let shown = self.ids_on_screen();
        let id = self.next_request;
        if let Some(request) = self.names.wanted(shown, self.now_ms, id) {
            self.next_request += 1;
            fx.push(Effect::Fetch(request));
        }
    }

    /// `I`: ids beside names, or names alone.
    pub(super) fn toggle_ids(&mut self) {
        self.names.toggle_ids();
        self.note = Some(if self.names.show_ids() {
            "ids shown beside names".into()
        } else {
            "names without ids".into()
        });
    }
}
