//! Reading a conversation: opening it, the requests its windows make, the pages that come
//! back, and moving between windows (jumps, back, the newest message).

use super::{App, Effect, FetchError, FetchRequest};
use crate::protocol::{HistoryFilters, HistoryPage};
use crate::tui::event::ConversationKey;
use crate::tui::history::{History, Receipt, Side, Start};
use crate::tui::layout::Pane;
use crate::tui::windows::Windows;

impl App {
    /// Opens the selected conversation.
    pub(super) fn open_selected(&mut self, fx: &mut Vec<Effect>) {
        let Some(c) = self.selected_conversation() else {
            return;
        };
        let key = ConversationKey::of(c);
        let unread = c.unread;
        self.open_conversation_key(key, unread, fx);
    }

    /// Shows `key`'s history: its windows as they were left, or a new window at the newest
    /// message. `unread` places the divider of a new window.
    pub(super) fn open_conversation_key(
        &mut self,
        key: ConversationKey,
        unread: u32,
        fx: &mut Vec<Effect>,
    ) {
        if self.open.as_ref() != Some(&key) {
            self.search = None;
        }
        self.open = Some(key.clone());
        self.focus = Pane::History;
        let opened_before = self.histories.contains_key(&key);
        if !opened_before {
            let first = self.new_window(&key, Start::Newest, HistoryFilters::default(), unread);
            self.histories.insert(key.clone(), Windows::new(first));
        }
        let vp = self.history_viewport();
        if let Some(w) = self.histories.get_mut(&key) {
            w.shown_mut().normalize(vp);
        }
        if opened_before {
            // Opened again: whatever arrived meanwhile.
            self.refresh_open(fx);
        }
        self.prefetch(fx);
    }

    /// A new, empty window of `key`.
    pub(super) fn new_window(
        &mut self,
        key: &ConversationKey,
        start: Start,
        filters: HistoryFilters,
        unread: u32,
    ) -> History {
        let id = self.next_id();
        History::new(key.clone(), id, start, filters, unread, self.tz.clone())
    }

    /// The unread count a new window of `key` is opened with: the list's.
    pub(super) fn unread_of(&self, key: &ConversationKey) -> u32 {
        self.conversations
            .iter()
            .find(|c| c.id == key.id && c.kind == key.kind)
            .map_or(0, |c| c.unread)
    }

    /// The shown window of the open conversation, to change.
    pub(super) fn shown_mut(&mut self) -> Option<&mut History> {
        let key = self.open.as_ref()?;
        Some(self.histories.get_mut(key)?.shown_mut())
    }

    /// Asks for the next page on `side` of the open conversation's shown window, if one
    /// may start; returns the request's id when it did.
    pub(super) fn request(&mut self, side: Side, fx: &mut Vec<Effect>) -> Option<u64> {
        self.request_page(side, false, fx)
    }

    /// Like [`request`](Self::request), for a step of a walk through history (a search
    /// continuing): the fetch task reads the next page ahead.
    pub(super) fn request_walk(&mut self, side: Side, fx: &mut Vec<Effect>) -> Option<u64> {
        self.request_page(side, true, fx)
    }

    fn request_page(&mut self, side: Side, read_ahead: bool, fx: &mut Vec<Effect>) -> Option<u64> {
        let id = self.next_id();
        let query = self.shown_mut().and_then(|h| h.start_request(side, id))?;
        fx.push(Effect::Fetch(FetchRequest::History {
            query,
            request_id: id,
            read_ahead,
        }));
        Some(id)
    }

    /// Prefetches for the shown window: a page each way the view is within a screen of
    /// (while the pane is on screen), and an empty window's first pages in any case.
    pub(super) fn prefetch(&mut self, fx: &mut Vec<Effect>) {
        let shown = self.layout().messages.is_some_and(|r| r.height > 0);
        let vp = self.history_viewport();
        for side in [Side::Older, Side::Newer] {
            if self
                .current_history()
                .is_some_and(|h| (shown || h.is_empty()) && h.wants(side, vp))
            {
                self.request(side, fx);
            }
        }
    }

    pub(super) fn on_history_page(
        &mut self,
        key: ConversationKey,
        request_id: u64,
        result: Result<HistoryPage, FetchError>,
        fx: &mut Vec<Effect>,
    ) {
        let vp = self.history_viewport();
        let failed = result.is_err();
        let Some(windows) = self.histories.get_mut(&key) else {
            return;
        };
        let shown_id = windows.shown().id();
        let Some(h) = windows.waiting_for(request_id) else {
            return;
        };
        let window = h.id();
        let left_out = result.as_ref().map_or(0, |page| page.undecodable);
        let receipt = h.receive(request_id, result, vp);
        if left_out > 0 && matches!(receipt, Receipt::Loaded { .. }) {
            *self.undecodable.entry(key.clone()).or_default() += left_out;
        }
        if receipt != Receipt::Stale {
            self.after_refresh(&key, request_id, failed);
        }
        if self.open.as_ref() != Some(&key) || window != shown_id {
            return;
        }
        self.after_page(receipt, fx);
        if self.unread_paging == Some(window) {
            self.continue_to_unread(fx);
        }
    }

    /// What a page shown means for the search: scan it, and continue into older history
    /// while that runs.
    fn after_page(&mut self, receipt: Receipt, fx: &mut Vec<Effect>) {
        let vp = self.history_viewport();
        let Some(key) = self.open.clone() else {
            return;
        };
        let Some(s) = self.search.as_mut().filter(|s| *s.conversation() == key) else {
            return;
        };
        let Some(h) = self.histories.get_mut(&key).map(Windows::shown_mut) else {
            return;
        };
        match receipt {
            Receipt::Stale => {}
            Receipt::Failed => s.stop_continuing(),
            Receipt::Loaded { side, .. } => {
                s.scan_more(h);
                if s.continuing().is_none() || side != Side::Older {
                    return;
                }
                s.count_page();
                if s.take_continued_match(h) {
                    if let Some((pos, range)) = s.current_hit()
                        && let Some(i) = h.index_of_position(pos)
                    {
                        h.reveal(i, range.start, vp);
                    }
                } else if h.at_beginning() {
                    s.stop_continuing();
                    self.note = Some("no more matches: beginning of conversation".into());
                } else {
                    self.request_walk(Side::Older, fx);
                }
            }
        }
    }

    /// Retries what failed in the shown window; false when nothing failed there.
    pub(super) fn retry_history(&mut self, fx: &mut Vec<Effect>) -> bool {
        let Some(h) = self.current_history() else {
            return false;
        };
        let failed: Vec<Side> = [Side::Older, Side::Newer]
            .into_iter()
            .filter(|&s| h.edge(s).error().is_some())
            .collect();
        for &side in &failed {
            self.request(side, fx);
        }
        !failed.is_empty()
    }

    /// Shows a new window of the open conversation starting at `start`, with the shown
    /// window's filters; the window left is kept for back.
    pub(super) fn jump(&mut self, start: Start, fx: &mut Vec<Effect>) {
        let Some(key) = self.open.clone() else {
            return;
        };
        let filters = self
            .current_history()
            .map(|h| h.filters().clone())
            .unwrap_or_default();
        if self
            .current_history()
            .is_some_and(|h| h.start() == start && h.is_placing() && h.in_flight().is_some())
        {
            // The same jump is on its way already.
            return;
        }
        let unread = self.unread_of(&key);
        let window = self.new_window(&key, start, filters, unread);
        if let Some(w) = self.histories.get_mut(&key) {
            w.jump(window);
        }
        self.window_changed();
        self.prefetch(fx);
    }

    /// Shows the open conversation at `time`: within the shown window when it covers that
    /// time, else in a new window there.
    pub(super) fn jump_to_time(&mut self, time: i64, fx: &mut Vec<Effect>) {
        let vp = self.history_viewport();
        let Some(h) = self.shown_mut() else {
            self.note = Some("open a conversation first".into());
            return;
        };
        if h.covers_time(time) {
            h.mark_time(time, vp);
        } else {
            self.jump(Start::At(time), fx);
        }
    }

    /// The very beginning of the conversation: one request, oldest first, no cursor (or
    /// the top of the window when it already reaches the beginning).
    pub(super) fn go_beginning(&mut self, fx: &mut Vec<Effect>) {
        let vp = self.history_viewport();
        let Some(h) = self.shown_mut() else {
            return;
        };
        if h.at_beginning() {
            h.scroll_to_oldest(vp);
        } else {
            self.jump(Start::Beginning, fx);
        }
    }

    /// `G`: the newest message. In a window in touch with it, scroll there (and follow);
    /// otherwise a new window at the newest message.
    pub(super) fn go_newest(&mut self, fx: &mut Vec<Effect>) {
        let Some(h) = self.shown_mut() else {
            return;
        };
        if h.is_live() {
            h.scroll_to_bottom();
            return;
        }
        let back_is_live = self
            .open
            .as_ref()
            .and_then(|k| self.histories.get(k))
            .and_then(Windows::back)
            .is_some_and(History::is_live);
        if back_is_live {
            // The window left for this one reaches the newest message: no request needed.
            self.go_back();
            if let Some(h) = self.shown_mut() {
                h.scroll_to_bottom();
            }
        } else {
            self.jump(Start::Newest, fx);
        }
    }

    /// `''`: the window shown before the last jump.
    pub(super) fn go_back(&mut self) {
        let back = self
            .open
            .as_ref()
            .and_then(|k| self.histories.get_mut(k))
            .is_some_and(Windows::go_back);
        if back {
            self.window_changed();
        } else {
            self.note = Some("no earlier place to go back to".into());
        }
    }

    /// After the shown window changed: the view fits it, the search scans it.
    pub(super) fn window_changed(&mut self) {
        let vp = self.history_viewport();
        let Some(key) = self.open.clone() else {
            return;
        };
        let Some(h) = self.histories.get_mut(&key).map(Windows::shown_mut) else {
            return;
        };
        h.normalize(vp);
        if let Some(s) = self.search.as_mut().filter(|s| *s.conversation() == key) {
            s.stop_continuing();
            s.scan_more(h);
        }
    }
}
