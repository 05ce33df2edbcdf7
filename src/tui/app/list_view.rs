//! The list as it is shown: all conversations, or those whose id or name contains what was typed
//! after `/` (case-insensitive, as it is typed; Esc clears it). The selection stays an
//! index into the whole list, so pages that arrive keep it by conversation; moving it
//! steps over what is shown, and `list_offset` counts shown items.

use super::App;
use crate::protocol::Conversation;

impl App {
    /// The text the list is filtered by, while it is.
    pub fn list_filter(&self) -> Option<&str> {
        self.list_filter.as_deref()
    }

    /// The conversations shown in the list, with their index in
    /// [`conversations`](Self::conversations).
    pub fn shown_conversations(&self) -> Vec<(usize, &Conversation)> {
        let needle = self.list_filter.as_deref().map(str::to_lowercase);
        self.conversations
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                needle.as_deref().is_none_or(|n| {
                    c.id.to_lowercase().contains(n)
                        || self
                            .conversation_name(c)
                            .is_some_and(|name| name.to_lowercase().contains(n))
                })
            })
            .collect()
    }

    /// Filters the list by `text` (empty = no filter) and selects the first match when the
    /// selection is filtered out.
    pub(super) fn set_list_filter(&mut self, text: Option<String>) {
        self.list_filter = text.filter(|t| !t.is_empty());
        self.list_offset = 0;
        self.settle_list();
    }

    /// Moves the selection `delta` shown items (clamped to what is shown).
    pub(super) fn step_selection(&mut self, delta: isize) {
        let shown: Vec<usize> = self.shown_conversations().iter().map(|(i, _)| *i).collect();
        let Some(last) = shown.len().checked_sub(1) else {
            return;
        };
        let at = shown.iter().position(|&i| i == self.selected).unwrap_or(0);
        self.selected = shown[at.saturating_add_signed(delta).min(last)];
    }

    /// The shown item at `position` (from the top of the shown list), if any.
    pub(super) fn shown_at(&self, position: usize) -> Option<usize> {
        self.shown_conversations().get(position).map(|(i, _)| *i)
    }

    /// Keeps the selection on a shown conversation and scrolled into view.
    pub(super) fn settle_list(&mut self) {
        let shown: Vec<usize> = self.shown_conversations().iter().map(|(i, _)| *i).collect();
        let position = match shown.iter().position(|&i| i == self.selected) {
            Some(p) => p,
            None => {
                // Filtered out (or out of bounds): the first shown one.
                self.selected = shown.first().copied().unwrap_or(0);
                0
            }
        };
        // Only scroll the list while it is shown: a hidden list has no height, and
        // adjusting to that would pin the selection to the top when it comes back.
        if self.layout().list.is_some() {
            let cap = self.layout().list_capacity().max(1);
            if position < self.list_offset {
                self.list_offset = position;
            } else if position >= self.list_offset + cap {
                self.list_offset = position + 1 - cap;
            }
            let max_offset = shown.len().saturating_sub(cap);
            self.list_offset = self.list_offset.min(max_offset);
        }
    }
}
