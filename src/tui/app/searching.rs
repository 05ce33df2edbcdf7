//! Search in the open conversation: starting it, stepping through matches, and continuing
//! into older history (the search itself is [`Search`]).

use super::{App, Effect};
use crate::tui::history::{History, Side};
use crate::tui::layout::Pane;
use crate::tui::search::Search;
use crate::tui::windows::Windows;

impl App {
    pub(super) fn start_search(&mut self) {
        let Some(key) = self.open.clone() else {
            self.note = Some("open a conversation to search it".into());
            return;
        };
        let origin = self.current_history().and_then(History::anchor);
        self.search = Some(Search::new(key, origin));
        self.focus = Pane::History;
    }

    /// Scrolls the open history so the current match is visible; while typing, a query
    /// that matches nothing goes back to where the search began.
    pub(super) fn show_current_match(&mut self) {
        let vp = self.history_viewport();
        let (Some(s), Some(key)) = (self.search.as_ref(), self.open.as_ref()) else {
            return;
        };
        let Some(h) = self.histories.get_mut(key).map(Windows::shown_mut) else {
            return;
        };
        match s.current_hit() {
            Some((pos, range)) => {
                if let Some(i) = h.index_of_position(pos) {
                    h.reveal(i, range.start, vp);
                }
            }
            None if s.is_editing() => h.restore_anchor(s.origin(), vp),
            None => {}
        }
    }

    /// Runs `f` on the search and the open history together (they live in different
    /// fields), then shows the current match.
    pub(super) fn with_search(&mut self, f: impl FnOnce(&mut Search, &History)) {
        let (Some(s), Some(key)) = (self.search.as_mut(), self.open.as_ref()) else {
            return;
        };
        let Some(h) = self.histories.get(key).map(Windows::shown) else {
            return;
        };
        f(s, h);
        self.show_current_match();
    }

    pub(super) fn step_match(&mut self, older: bool) {
        let (Some(s), Some(h)) = (
            self.search.as_mut(),
            self.open
                .as_ref()
                .and_then(|k| self.histories.get(k))
                .map(Windows::shown),
        ) else {
            return;
        };
        if s.count() == 0 {
            self.note = Some("no matches".into());
            return;
        }
        let wrapped = if older {
            s.next_older(h)
        } else {
            s.next_newer(h)
        };
        if wrapped {
            let more = self.current_history().is_some_and(|h| !h.at_beginning());
            self.note = Some(match (older, more) {
                (true, true) => "wrapped to the newest · o searches older history".into(),
                (true, false) => "wrapped to the newest".into(),
                (false, _) => "wrapped to the oldest".into(),
            });
        }
        self.show_current_match();
    }

    pub(super) fn continue_search(&mut self, fx: &mut Vec<Effect>) {
        let Some(key) = self.open.clone() else {
            return;
        };
        let (Some(s), Some(h)) = (
            self.search.as_mut(),
            self.histories.get(&key).map(Windows::shown),
        ) else {
            return;
        };
        if s.query().is_empty() || s.error().is_some() {
            return;
        }
        if h.at_beginning() {
            self.note = Some("all history is loaded: nothing older to search".into());
            return;
        }
        s.start_continuing();
        if h.can_request(Side::Older) {
            self.request_walk(Side::Older, fx);
        }
    }

    /// Esc while typing a search: stops a continuation, else closes the search and goes
    /// back to where it began.
    pub(super) fn cancel_search_input(&mut self) {
        if let Some(s) = self.search.as_mut().filter(|s| s.continuing().is_some()) {
            s.stop_continuing();
            return;
        }
        let origin = self.search.take().and_then(|s| s.origin());
        let vp = self.history_viewport();
        if let Some(h) = self.shown_mut() {
            h.restore_anchor(origin, vp);
        }
    }

    /// Enter while typing a search: stays at the match; an empty query closes the search.
    pub(super) fn accept_search_input(&mut self) {
        if let Some(s) = self.search.as_mut() {
            s.stop_continuing();
            s.finish_editing();
            if s.query().is_empty() {
                self.search = None;
            }
        }
        // The input line is gone: the view is a row taller.
        let vp = self.history_viewport();
        if let Some(h) = self.shown_mut() {
            h.normalize(vp);
        }
    }

    /// Esc in the history pane: stops a continuation, else closes the search.
    pub(super) fn cancel_in_history(&mut self) {
        if let Some(s) = self.search.as_mut() {
            if s.continuing().is_some() {
                s.stop_continuing();
            } else {
                self.search = None;
            }
        }
    }
}
