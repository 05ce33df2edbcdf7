//! The search-all view: a search across every conversation in the library, run by the
//! fetch task ([`FetchRequest::SearchAll`]), its hits listed newest first, and a hit opened
//! in place: its conversation in a window around the message (or the window shown, when it
//! holds the message), the message selected.

use super::{App, Effect, FetchError, FetchRequest};
use crate::protocol::HistoryFilters;
use crate::tui::event::{ConversationKey, FoundPage};
use crate::tui::history::Start;
use crate::tui::layout::{self, Pane};
use crate::tui::numbers::thousands;
use crate::tui::search_all::SearchAll;
use crate::tui::windows::Windows;

impl App {
    /// The search-all view, while it is shown.
    pub fn search_all(&self) -> Option<&SearchAll> {
        self.search_all.as_ref().filter(|_| self.search_all_shown)
    }

    /// How many hits the view shows at once.
    fn hits_capacity(&self) -> usize {
        layout::search_all(self.width, self.height).capacity()
    }

    /// `S`: shows the view: the hits of the last search when there are any, else a query
    /// to type. In the view, types another query.
    pub(super) fn open_search_all(&mut self) {
        if self.search_all_shown {
            if let Some(s) = self.search_all.as_mut() {
                s.edit();
            }
            return;
        }
        self.search_all_shown = true;
        match self.search_all.as_mut() {
            Some(s) if s.searched().is_some() => s.stop_editing(),
            Some(s) => s.edit(),
            None => self.search_all = Some(SearchAll::new()),
        }
    }

    /// Esc: hides the view; what was found stays for `S`.
    pub(super) fn close_search_all(&mut self) {
        self.search_all_shown = false;
    }

    pub(super) fn search_all_type(&mut self, c: char) {
        if let Some(s) = self.search_all.as_mut() {
            s.push(c);
        }
    }

    pub(super) fn search_all_delete(&mut self) {
        if let Some(s) = self.search_all.as_mut() {
            s.pop();
        }
    }

    pub(super) fn search_all_toggle_regex(&mut self) {
        if let Some(s) = self.search_all.as_mut() {
            s.toggle_regex();
        }
    }

    /// Enter on the query: asks the fetch task for the first page of hits.
    pub(super) fn submit_search_all(&mut self, fx: &mut Vec<Effect>) {
        let id = self.next_id();
        let Some((text, regex)) = self.search_all.as_mut().and_then(|s| s.start(id)) else {
            return;
        };
        fx.push(Effect::Fetch(FetchRequest::SearchAll {
            request_id: id,
            text,
            regex,
            cursor: None,
        }));
    }

    /// Asks for the next page of hits when the selection nears the end of those in.
    fn search_all_more(&mut self, fx: &mut Vec<Effect>) {
        let capacity = self.hits_capacity();
        if !self
            .search_all
            .as_ref()
            .is_some_and(|s| s.wants_more(capacity))
        {
            return;
        }
        let id = self.next_id();
        if let Some((text, regex, cursor)) = self.search_all.as_mut().and_then(|s| s.more(id)) {
            fx.push(Effect::Fetch(FetchRequest::SearchAll {
                request_id: id,
                text,
                regex,
                cursor: Some(cursor),
            }));
        }
    }

    pub(super) fn on_found(
        &mut self,
        request_id: u64,
        result: Result<FoundPage, FetchError>,
        fx: &mut Vec<Effect>,
    ) {
        if self
            .search_all
            .as_mut()
            .is_some_and(|s| s.receive(request_id, result))
        {
            self.search_all_more(fx);
        }
    }

    /// j/k, pages, first and last in the hits.
    pub(super) fn step_hits(&mut self, action: crate::tui::action::Action, fx: &mut Vec<Effect>) {
        use crate::tui::action::Action;
        let capacity = self.hits_capacity();
        let page = capacity as isize;
        let Some(s) = self.search_all.as_mut() else {
            return;
        };
        let delta = match action {
            Action::SelectNext => 1,
            Action::SelectPrevious => -1,
            Action::SelectPageDown | Action::SelectHalfDown => page,
            Action::SelectPageUp | Action::SelectHalfUp => -page,
            Action::SelectFirst => isize::MIN,
            Action::SelectLast => isize::MAX,
            _ => 0,
        };
        s.step(delta, capacity);
        self.search_all_more(fx);
    }

    /// The wheel over the view moves through the hits.
    pub(super) fn wheel_hits(&mut self, up: bool, fx: &mut Vec<Effect>) {
        let capacity = self.hits_capacity();
        if let Some(s) = self.search_all.as_mut() {
            s.step(if up { -1 } else { 1 }, capacity);
        }
        self.search_all_more(fx);
    }

    /// Enter on a hit: closes the view and opens its conversation at the message.
    pub(super) fn open_hit(&mut self, fx: &mut Vec<Effect>) {
        let Some(s) = self.search_all.as_ref() else {
            return;
        };
        let Some(hit) = s.selected_hit().cloned() else {
            return;
        };
        let (at, of) = (s.selected() + 1, s.hits().len());
        let more = if s.has_more() { "+" } else { "" };
        self.search_all_shown = false;
        if let Some(i) = self
            .conversations
            .iter()
            .position(|c| c.id == hit.conversation && c.kind == hit.kind)
        {
            self.set_list_filter(None);
            self.selected = i;
        }
        self.open_at_message(ConversationKey::of_hit(&hit), hit.id, hit.time, fx);
        let back = self.key_hint(crate::tui::action::Action::SearchAll);
        self.note = Some(if back.is_empty() {
            format!("hit {at} of {}{more}", thousands(of))
        } else {
            format!(
                "hit {at} of {}{more} · {back} back to the hits",
                thousands(of)
            )
        });
    }

    /// Shows `key` at message `id` (sent at `time`), selected: in the window shown when it
    /// holds the message, else in a new window around that time (kept for back, `''`).
    fn open_at_message(&mut self, key: ConversationKey, id: u64, time: i64, fx: &mut Vec<Effect>) {
        if self.open.as_ref() != Some(&key) {
            self.search = None;
        }
        self.open = Some(key.clone());
        self.focus = Pane::History;
        let vp = self.history_viewport();
        let unread = self.unread_of(&key);
        let created = !self.histories.contains_key(&key);
        if created {
            let first = self.new_window(&key, Start::At(time), HistoryFilters::default(), unread);
            self.histories.insert(key.clone(), Windows::new(first));
        }
        let shown_holds_it = !created
            && self.histories.get_mut(&key).is_some_and(|w| {
                // A hit may be what a filter hides: back to the whole history.
                let _ = w.clear_filter();
                let h = w.shown_mut();
                h.normalize(vp);
                h.select_id(id, vp)
            });
        if !shown_holds_it {
            if !created {
                self.jump(Start::At(time), fx);
            }
            if let Some(h) = self.shown_mut() {
                h.select_when_placed(id, vp);
            }
        }
        self.window_changed();
        self.prefetch(fx);
    }

    /// The status line of the view: how many were found, or what is going on.
    pub fn search_all_status(&self) -> String {
        let Some(s) = self.search_all() else {
            return String::new();
        };
        if let Some(e) = s.error() {
            return format!("search failed: {e}");
        }
        let n = s.hits().len();
        match (s.searched(), n, s.has_more() || s.is_searching()) {
            (None, _, _) => "type what to look for, then Enter".to_string(),
            (Some(_), 0, true) => "searching…".to_string(),
            (Some(_), 0, false) => "no message matches".to_string(),
            (Some(_), n, false) => format!("{}/{} found", s.selected() + 1, thousands(n)),
            (Some(_), n, true) => format!("{}/{}+ found", s.selected() + 1, thousands(n)),
        }
    }
}
