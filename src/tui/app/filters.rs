//! Server-side filters of the open conversation: a filtered view is its own window, paged
//! by the server with the filter ([`filter`](crate::tui::filter)), never by hiding loaded
//! messages. It starts where the person was reading; clearing it returns to the
//! unfiltered window at the same place.

use super::{App, Effect};
use crate::protocol::{ChatType, HistoryFilters};
use crate::tui::filter;
use crate::tui::history::{History, Start};
use crate::tui::prompt::PromptKind;
use crate::tui::windows::Windows;

impl App {
    /// `f`: the filter prompt, with the current filter to edit.
    pub(super) fn open_filter_prompt(&mut self) {
        let Some(h) = self.current_history() else {
            self.note = Some("open a conversation first".into());
            return;
        };
        let text = filter::describe(h.filters(), h.time_zone());
        self.open_prompt(PromptKind::Filter, &text);
    }

    /// Where a new window should start to show the place the view is at: the newest when
    /// the view follows it, else the time of the topmost message.
    fn place_now(&self) -> Start {
        let Some(h) = self.current_history() else {
            return Start::Newest;
        };
        if h.follows() {
            return Start::Newest;
        }
        h.top_index(self.history_viewport())
            .and_then(|i| h.time(i))
            .map_or(Start::Newest, Start::At)
    }

    /// Shows the open conversation filtered by `filters` (none: clears the filter).
    pub(super) fn apply_filter(
        &mut self,
        filters: HistoryFilters,
        fx: &mut Vec<Effect>,
    ) -> Result<(), String> {
        let Some(key) = self.open.clone() else {
            return Err("open a conversation first".into());
        };
        if filters == HistoryFilters::default() {
            self.clear_filter(fx);
            return Ok(());
        }
        if filters.sender.is_some() && key.kind == ChatType::Single {
            return Err("a sender filter works in groups and rooms".into());
        }
        let start = self.place_now();
        let window = self.new_window(&key, start, filters, 0);
        if let Some(w) = self.histories.get_mut(&key) {
            w.filter(window);
        }
        self.window_changed();
        self.prefetch(fx);
        Ok(())
    }

    /// `F`: back to the unfiltered window, at the place the filtered view was showing.
    pub(super) fn clear_filter(&mut self, fx: &mut Vec<Effect>) {
        let start = self.place_now();
        let Some(key) = self.open.clone() else {
            return;
        };
        let cleared = self.histories.get_mut(&key).and_then(Windows::clear_filter);
        if cleared.is_none() {
            self.note = Some("no filter to clear".into());
            return;
        }
        self.window_changed();
        let vp = self.history_viewport();
        let Some(h) = self.shown_mut() else {
            return;
        };
        match start {
            Start::At(t) if h.covers_time(t) => h.scroll_to_time(t, vp),
            Start::At(t) => self.jump(Start::At(t), fx),
            _ if h.is_live() => h.scroll_to_bottom(),
            _ => self.go_newest(fx),
        }
        self.prefetch(fx);
    }

    /// The filter of the shown window, as the title shows it; empty for none.
    pub fn filter_title(&self) -> String {
        self.current_history()
            .map(|h: &History| filter::describe(h.filters(), h.time_zone()))
            .unwrap_or_default()
    }
}
