//! The first unread message: the divider sits above the oldest of the newest N messages,
//! which only a window counted from the newest message can place; when it is not loaded
//! yet, older pages are fetched one after another until it is, with progress in the status
//! line, until Esc or Ctrl-c stops it.

use super::{App, Effect};
use crate::protocol::HistoryFilters;
use crate::tui::history::{History, Side, Start};
use crate::tui::numbers::thousands;
use crate::tui::windows::Windows;

/// A window counted from the newest message, unfiltered: where the divider can be.
fn counts_unread(h: &History) -> bool {
    h.start() == Start::Newest && *h.filters() == HistoryFilters::default()
}

impl App {
    /// `u`: to the unread divider, paging toward it when needed.
    pub(super) fn go_first_unread(&mut self, fx: &mut Vec<Effect>) {
        let Some(key) = self.open.clone() else {
            return;
        };
        if self.current_history().is_some_and(|h| h.unread() == 0) {
            self.note = Some("no unread messages".into());
            return;
        }
        if !self.current_history().is_some_and(counts_unread) {
            // Back to a window that counts from the newest message: the unfiltered one
            // under a filter, the one left by a jump, or a new one.
            let windows = self.histories.get_mut(&key);
            let found = windows.is_some_and(|w| {
                w.clear_filter();
                if !counts_unread(w.shown()) && w.back().is_some_and(counts_unread) {
                    w.go_back();
                }
                counts_unread(w.shown())
            });
            self.window_changed();
            if !found {
                let unread = self.unread_of(&key);
                let window =
                    self.new_window(&key, Start::Newest, HistoryFilters::default(), unread);
                if let Some(w) = self.histories.get_mut(&key) {
                    w.jump(window);
                }
                self.window_changed();
            }
        }
        let Some(window) = self.current_history().map(History::id) else {
            return;
        };
        self.unread_paging = Some(window);
        self.continue_to_unread(fx);
    }

    /// One step toward the divider: show it when it is loaded, stop at the beginning,
    /// else ask for the next older page.
    pub(super) fn continue_to_unread(&mut self, fx: &mut Vec<Effect>) {
        let vp = self.history_viewport();
        let Some(window) = self.unread_paging else {
            return;
        };
        let Some(h) = self.shown_mut().filter(|h| h.id() == window) else {
            self.unread_paging = None;
            return;
        };
        // Shown once the message above it is loaded too (or nothing is above it): that
        // decides whether a day separator sits above the divider.
        if let Some(i) = h.unread_index().filter(|&i| i > 0 || h.at_beginning()) {
            h.show_at_top(i, vp);
            self.unread_paging = None;
        } else if h.at_beginning() && h.pages() > 0 {
            h.scroll_to_oldest(vp);
            self.unread_paging = None;
            self.note = Some("fewer messages than unread: this is the beginning".into());
        } else if h.can_request(Side::Older) {
            self.request(Side::Older, fx);
        }
    }

    /// `loading unread… 600/1,350 (Esc stops)` while paging toward the divider.
    pub(super) fn unread_progress(&self) -> Option<String> {
        let window = self.unread_paging?;
        let h = self.current_history().filter(|h| h.id() == window)?;
        let count = h.unread() as usize;
        Some(format!(
            "loading unread… {}/{} (Esc stops)",
            thousands(h.len().min(count)),
            thousands(count)
        ))
    }

    /// Stops paging toward the divider; true when it was running.
    pub(super) fn stop_unread(&mut self) -> bool {
        self.unread_paging.take().is_some()
    }

    /// Gives up a jump whose window has not shown anything yet: back to where it started.
    /// True when there was one.
    pub(super) fn cancel_jump(&mut self) -> bool {
        let Some(key) = self.open.clone() else {
            return false;
        };
        let cancelled = self
            .histories
            .get_mut(&key)
            .is_some_and(Windows::cancel_jump);
        if cancelled {
            self.window_changed();
        }
        cancelled
    }
}
