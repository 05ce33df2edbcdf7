//! The whole UI state and `update(event) -> effects`: pure, no I/O, no terminal.
//!
//! The event loop feeds [`Event`]s (keys, mouse, resizes, fetch results, ticks) to
//! [`App::update`] and carries out the [`Effect`]s it returns: fetch requests go to the
//! fetch task, whose answers come back as events carrying the request id they answer.
//! Views read the state through the accessors here and never change it.
//!
//! Request ids come from one counter, so an answer is accepted only by the request that is
//! still waiting for it: a reloaded list ignores the old list's pages, and a history page
//! always lands in the [`History`] of the conversation it was asked for, shown or not.
//!
//! Browsing never marks anything read: there is no effect that could (PROTOCOL.md §2).

use std::collections::HashMap;
use std::ops::Range;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use jiff::tz::TimeZone;

use super::display::thousands;
use super::history::{History, Receipt, Row, Viewport};
use super::layout::{self, LIST_ITEM_HEIGHT, Layout, Pane};
use super::search::Search;
use crate::protocol::{
    ChatType, Conversation, ConversationPage, HistoryPage, PageLimits, PageWalk, PagingStop,
};

/// Messages per history page the fetch task should ask for (the protocol's maximum).
pub const PAGE_SIZE: u32 = 50;

/// Conversations per list page the fetch task should ask for (the protocol's maximum,
/// which keeps the list within the service's 5 calls per minute).
pub const LIST_PAGE_SIZE: u32 = 50;

/// Lines the mouse wheel scrolls the history by.
const WHEEL_LINES: usize = 3;

/// Which conversation: the id alone is ambiguous, since a user and a group may share one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConversationKey {
    /// The peer user, group or room id.
    pub id: String,
    /// Single, group or room.
    pub kind: ChatType,
}

impl ConversationKey {
    /// The key of a conversation in the list.
    pub fn of(c: &Conversation) -> ConversationKey {
        ConversationKey {
            id: c.id.clone(),
            kind: c.kind,
        }
    }
}

/// Why a fetch failed, as the person should read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError {
    /// The server's `error_description`, or what went wrong on the way.
    pub description: String,
    /// Trying again may work (timeouts, 429, 5xx). Retrying is always the person's call
    /// (R); this only changes the wording.
    pub retryable: bool,
}

impl FetchError {
    /// An error with this description.
    pub fn new(description: impl Into<String>, retryable: bool) -> FetchError {
        FetchError {
            description: description.into(),
            retryable,
        }
    }
}

/// Something that happened, for [`App::update`].
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A key press (releases are ignored).
    Key(KeyEvent),
    /// A mouse event: wheel and left click are used.
    Mouse(MouseEvent),
    /// The terminal's new size, columns × rows.
    Resize(u16, u16),
    /// The answer to [`FetchRequest::ConversationPage`].
    ConversationPage {
        /// The request's id.
        request_id: u64,
        /// The page or why not.
        result: Result<ConversationPage, FetchError>,
    },
    /// The answer to [`FetchRequest::OlderPage`].
    HistoryPage {
        /// The conversation it was asked for.
        conversation: ConversationKey,
        /// The cursor it was asked with (informational; the id decides).
        cursor: Option<String>,
        /// The request's id.
        request_id: u64,
        /// The page (messages newest first, as the server sends them) or why not.
        result: Result<HistoryPage, FetchError>,
    },
    /// The render tick: animations only.
    Tick,
}

/// Something the event loop must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send this request to the fetch task.
    Fetch(FetchRequest),
    /// Restore the terminal and exit.
    Quit,
}

/// A request for the fetch task; its answer comes back as an [`Event`] with the same id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchRequest {
    /// A page of the conversation list (cursor list API, [`LIST_PAGE_SIZE`] per page).
    ConversationPage {
        /// `None` = the first page.
        cursor: Option<String>,
        /// Echo in [`Event::ConversationPage`].
        request_id: u64,
    },
    /// The next older page of a conversation's history (direction up, [`PAGE_SIZE`]).
    OlderPage {
        /// Whose history.
        conversation: ConversationKey,
        /// `None` = the newest page.
        cursor: Option<String>,
        /// Echo in [`Event::HistoryPage`].
        request_id: u64,
    },
}

/// The key bindings, for the help overlay: (keys, what they do).
pub const HELP: &[(&str, &str)] = &[
    ("j k ↑ ↓", "move in the list / scroll one line"),
    ("PgUp PgDn", "one screen"),
    ("Ctrl-u Ctrl-d", "half a screen"),
    ("g G", "oldest loaded / newest (also Home End)"),
    ("Enter", "open the selected conversation"),
    ("Tab h l", "switch panes"),
    ("mouse", "wheel scrolls, click opens"),
    ("/", "search the loaded history"),
    ("  Ctrl-r", "  regex on/off while typing"),
    (
        "  Enter Esc",
        "  stay at the match / go back to where you were",
    ),
    ("  Ctrl-n Ctrl-p", "  next older / newer match while typing"),
    ("n N", "next older / newer match (status counts messages)"),
    (
        "o Ctrl-o",
        "continue the search into older history (Esc stops)",
    ),
    ("Esc", "stop searching older history, then clear the search"),
    ("r", "reload the conversation list"),
    ("R", "retry what failed"),
    ("?", "this help (Esc closes)"),
    ("q Ctrl-c", "quit"),
];

/// Loading state of the conversation list.
#[derive(Debug)]
struct ListLoad {
    /// The request waiting for an answer and its cursor.
    in_flight: Option<(u64, Option<String>)>,
    /// The last failure and the cursor to retry.
    error: Option<(FetchError, Option<String>)>,
    /// The next page starts a fresh list (after a reload).
    replace: bool,
    /// All pages are in, or loading stopped (see `stopped`).
    complete: bool,
    /// This load's pages so far: it ends the load when the server's cursors would not.
    walk: PageWalk,
    /// Why the load stopped before the server's last page.
    stopped: Option<PagingStop>,
}

impl Default for ListLoad {
    fn default() -> ListLoad {
        ListLoad {
            in_flight: None,
            error: None,
            replace: false,
            complete: false,
            walk: PageWalk::new(PageLimits::LIST),
            stopped: None,
        }
    }
}

/// All UI state.
#[derive(Debug)]
pub struct App {
    conversations: Vec<Conversation>,
    selected: usize,
    list_offset: usize,
    list: ListLoad,
    focus: Pane,
    open: Option<ConversationKey>,
    histories: HashMap<ConversationKey, History>,
    /// History entries left out as undecodable, per conversation, for the status line.
    undecodable: HashMap<ConversationKey, u64>,
    search: Option<Search>,
    note: Option<String>,
    help: bool,
    width: u16,
    height: u16,
    tz: TimeZone,
    next_request: u64,
    ticks: u64,
}

impl App {
    /// A fresh UI for a `width`×`height` terminal; times are shown in `tz` (tests use UTC
    /// so day separators are deterministic). Call [`start`](Self::start) for the first
    /// effects.
    pub fn new(width: u16, height: u16, tz: TimeZone) -> App {
        App {
            conversations: Vec::new(),
            selected: 0,
            list_offset: 0,
            list: ListLoad::default(),
            focus: Pane::List,
            open: None,
            histories: HashMap::new(),
            undecodable: HashMap::new(),
            search: None,
            note: None,
            help: false,
            width,
            height,
            tz,
            next_request: 1,
            ticks: 0,
        }
    }

    /// The effects to run at startup: the first page of the conversation list.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut fx = Vec::new();
        self.reload_list(&mut fx);
        fx
    }

    // ----- read-only state for the views ---------------------------------------------

    /// The conversation list, pinned first, then newest activity.
    pub fn conversations(&self) -> &[Conversation] {
        &self.conversations
    }

    /// Index of the selected conversation (0 when the list is empty).
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The selected conversation.
    pub fn selected_conversation(&self) -> Option<&Conversation> {
        self.conversations.get(self.selected)
    }

    /// The first conversation shown in the list pane (items are [`LIST_ITEM_HEIGHT`] rows).
    pub fn list_offset(&self) -> usize {
        self.list_offset
    }

    /// The list is still loading pages.
    pub fn list_loading(&self) -> bool {
        self.list.in_flight.is_some()
    }

    /// Which pane has the keyboard.
    pub fn focus(&self) -> Pane {
        self.focus
    }

    /// The conversation shown in the history pane.
    pub fn open_conversation(&self) -> Option<&ConversationKey> {
        self.open.as_ref()
    }

    /// The open conversation's history.
    pub fn current_history(&self) -> Option<&History> {
        self.histories.get(self.open.as_ref()?)
    }

    /// Any conversation's history, if it was ever opened.
    pub fn history(&self, key: &ConversationKey) -> Option<&History> {
        self.histories.get(key)
    }

    /// The search of the open conversation, if any.
    pub fn search(&self) -> Option<&Search> {
        self.search
            .as_ref()
            .filter(|s| Some(s.conversation()) == self.open.as_ref())
    }

    /// The help overlay is shown.
    pub fn help_visible(&self) -> bool {
        self.help
    }

    /// Terminal size, columns × rows.
    pub fn size(&self) -> (u16, u16) {
        (self.width, self.height)
    }

    /// The time zone times are shown in.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Ticks seen: drives spinners.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// Where everything goes this frame.
    pub fn layout(&self) -> Layout {
        let search_open = self.search().is_some_and(Search::is_editing);
        layout::compute(self.width, self.height, self.focus, search_open)
    }

    /// The history area as it is (or would be, in single-pane mode) when shown.
    fn history_viewport(&self) -> Viewport {
        let search_open = self.search().is_some_and(Search::is_editing);
        let l = layout::compute(self.width, self.height, Pane::History, search_open);
        l.messages.map_or(Viewport::default(), |r| Viewport {
            height: r.height,
            width: r.width,
        })
    }

    /// The rows of the history pane, top to bottom (see [`History::visible_rows`]).
    pub fn visible_rows(&self) -> Vec<Row> {
        match (self.current_history(), self.layout().messages) {
            (Some(h), Some(_)) => h.visible_rows(self.history_viewport()),
            _ => Vec::new(),
        }
    }

    /// Search matches in message `index` of the open history, in text order, with whether
    /// each is the current one: byte ranges into [`History::body`].
    pub fn highlights(&self, index: usize) -> Vec<(Range<usize>, bool)> {
        match (self.search(), self.current_history()) {
            (Some(s), Some(h)) => match (h.len().checked_sub(index + 1), h.body(index)) {
                (Some(rev), Some(body)) => s.highlights(rev, body),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// The status line: errors with the retry key, search position or progress, notes,
    /// and how much of the open conversation is loaded.
    pub fn status_line(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(e) = self.current_history().and_then(History::error) {
            parts.push(format!("{} — press R to retry", e.description));
        } else if let Some((e, _)) = &self.list.error {
            parts.push(format!(
                "conversation list: {} — press R to retry",
                e.description
            ));
        } else if let Some(stop) = &self.list.stopped {
            parts.push(format!("conversation list incomplete: {stop}"));
        }
        if let Some(s) = self.search() {
            if let Some(e) = s.error() {
                parts.push(format!("regex: {e}"));
            } else if let Some(pages) = s.continuing() {
                parts.push(format!(
                    "searching older history… {pages} page{} (Esc stops)",
                    if pages == 1 { "" } else { "s" }
                ));
            } else {
                let p = s.position();
                if !p.is_empty() {
                    parts.push(p);
                }
            }
        }
        if let Some(n) = &self.note {
            parts.push(n.clone());
        }
        if let Some(h) = self.current_history() {
            let n = thousands(h.len());
            let left_out = self
                .open
                .as_ref()
                .and_then(|k| self.undecodable.get(k))
                .copied()
                .unwrap_or(0);
            parts.push(if h.is_last() && left_out == 0 {
                format!("all {n} loaded")
            } else if h.is_last() {
                format!("{n} loaded")
            } else if h.is_empty() {
                "loading…".to_string()
            } else {
                format!("{n} messages loaded · more on server")
            });
            // Not "all loaded" when some entries could not be read: say how many.
            if left_out > 0 {
                parts.push(format!(
                    "{} entr{} could not be decoded",
                    thousands(usize::try_from(left_out).unwrap_or(usize::MAX)),
                    if left_out == 1 { "y" } else { "ies" }
                ));
            }
        } else if self.list_loading() {
            parts.push("loading conversations…".to_string());
        } else if self.list.complete && self.conversations.is_empty() {
            parts.push("no conversations".to_string());
        }
        parts.join(" · ")
    }

    // ----- update ---------------------------------------------------------------------

    /// Applies one event and returns what the event loop must do.
    pub fn update(&mut self, event: Event) -> Vec<Effect> {
        let mut fx = Vec::new();
        match event {
            Event::Key(key) => self.on_key(key, &mut fx),
            Event::Mouse(m) => self.on_mouse(m, &mut fx),
            Event::Resize(w, h) => {
                self.width = w;
                self.height = h;
                let vp = self.history_viewport();
                if let Some(h) = self.open.as_ref().and_then(|k| self.histories.get_mut(k)) {
                    h.normalize(vp);
                }
            }
            Event::ConversationPage { request_id, result } => {
                self.on_conversation_page(request_id, result, &mut fx);
            }
            Event::HistoryPage {
                conversation,
                request_id,
                result,
                ..
            } => self.on_history_page(conversation, request_id, result, &mut fx),
            Event::Tick => self.ticks = self.ticks.wrapping_add(1),
        }
        self.settle(&mut fx);
        fx
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_request;
        self.next_request += 1;
        id
    }

    /// Keeps the selection in bounds and visible, and prefetches for the open history.
    fn settle(&mut self, fx: &mut Vec<Effect>) {
        self.selected = self
            .selected
            .min(self.conversations.len().saturating_sub(1));
        // Only scroll the list while it is shown: a hidden list has no height, and
        // adjusting to that would pin the selection to the top when it comes back.
        if self.layout().list.is_some() {
            let cap = self.layout().list_capacity().max(1);
            if self.selected < self.list_offset {
                self.list_offset = self.selected;
            } else if self.selected >= self.list_offset + cap {
                self.list_offset = self.selected + 1 - cap;
            }
            let max_offset = self.conversations.len().saturating_sub(cap);
            self.list_offset = self.list_offset.min(max_offset);
        }

        let shown = self.layout().messages.is_some_and(|r| r.height > 0);
        let vp = self.history_viewport();
        if let Some(key) = self.open.clone()
            && shown
            && self.histories.get(&key).is_some_and(|h| h.wants_older(vp))
        {
            self.request_older(&key, fx);
        }
    }

    fn request_older(&mut self, key: &ConversationKey, fx: &mut Vec<Effect>) {
        let id = self.next_id();
        if let Some(cursor) = self
            .histories
            .get_mut(key)
            .and_then(|h| h.start_request(id))
        {
            fx.push(Effect::Fetch(FetchRequest::OlderPage {
                conversation: key.clone(),
                cursor,
                request_id: id,
            }));
        }
    }

    // ----- the conversation list ---------------------------------------------------

    fn reload_list(&mut self, fx: &mut Vec<Effect>) {
        self.list = ListLoad {
            replace: true,
            ..ListLoad::default()
        };
        self.request_list(None, fx);
    }

    fn request_list(&mut self, cursor: Option<String>, fx: &mut Vec<Effect>) {
        let id = self.next_id();
        self.list.in_flight = Some((id, cursor.clone()));
        fx.push(Effect::Fetch(FetchRequest::ConversationPage {
            cursor,
            request_id: id,
        }));
    }

    fn on_conversation_page(
        &mut self,
        request_id: u64,
        result: Result<ConversationPage, FetchError>,
        fx: &mut Vec<Effect>,
    ) {
        let cursor = match &self.list.in_flight {
            Some((id, cursor)) if *id == request_id => cursor.clone(),
            _ => return,
        };
        self.list.in_flight = None;
        let page = match result {
            Ok(page) => page,
            Err(e) => {
                self.list.error = Some((e, cursor));
                return;
            }
        };
        let keep = self.selected_conversation().map(ConversationKey::of);
        if std::mem::take(&mut self.list.replace) {
            self.conversations.clear();
        }
        let next = page.next_cursor.filter(|c| !c.is_empty());
        let step = self
            .list
            .walk
            .step(page.conversations.len(), next.as_deref());
        for c in page.conversations {
            // Compared in place: cloning each id to compare would cost a list's length of
            // allocations per new conversation.
            match self
                .conversations
                .iter_mut()
                .find(|x| x.kind == c.kind && x.id == c.id)
            {
                Some(existing) => *existing = c,
                None => self.conversations.push(c),
            }
        }
        self.conversations.sort_by(|a, b| {
            b.pinned
                .cmp(&a.pinned)
                .then(b.last_activity().cmp(&a.last_activity()))
                .then_with(|| a.id.cmp(&b.id))
        });
        if let Some(i) = keep.and_then(|k| {
            self.conversations
                .iter()
                .position(|c| ConversationKey::of(c) == k)
        }) {
            self.selected = i;
        }
        match (step, next) {
            // Pages hold at most 50 of at most 100 conversations: load them all, so sorting
            // and selection see the whole list.
            (Ok(()), Some(next)) => self.request_list(Some(next), fx),
            (Ok(()), None) => self.list.complete = true,
            // What came is kept; the status line says the list is not whole.
            (Err(stop), _) => {
                self.list.stopped = Some(stop);
                self.list.complete = true;
            }
        }
    }

    fn move_selection(&mut self, delta: isize) {
        let last = self.conversations.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    // ----- opening and history pages -------------------------------------------------

    fn open_selected(&mut self, fx: &mut Vec<Effect>) {
        let Some(c) = self.selected_conversation() else {
            return;
        };
        let key = ConversationKey::of(c);
        let unread = c.unread;
        if self.open.as_ref() != Some(&key) {
            self.search = None;
        }
        self.open = Some(key.clone());
        self.focus = Pane::History;
        let tz = self.tz.clone();
        let vp = self.history_viewport();
        let h = self
            .histories
            .entry(key.clone())
            .or_insert_with(|| History::new(key.clone(), unread, tz));
        h.normalize(vp);
        if h.is_empty() && h.error().is_none() {
            self.request_older(&key, fx);
        }
    }

    fn on_history_page(
        &mut self,
        key: ConversationKey,
        request_id: u64,
        result: Result<HistoryPage, FetchError>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(h) = self.histories.get_mut(&key) else {
            return;
        };
        let left_out = result.as_ref().map_or(0, |page| page.undecodable);
        let receipt = h.receive(request_id, result);
        if left_out > 0 && matches!(receipt, Receipt::Loaded { .. }) {
            *self.undecodable.entry(key.clone()).or_default() += left_out;
        }
        if self.open.as_ref() != Some(&key) {
            return;
        }
        let vp = self.history_viewport();
        let Some(s) = self.search.as_mut().filter(|s| *s.conversation() == key) else {
            return;
        };
        match receipt {
            Receipt::Stale => {}
            Receipt::Failed => s.stop_continuing(),
            Receipt::Loaded { .. } => {
                let Some(h) = self.histories.get_mut(&key) else {
                    return;
                };
                s.scan_more(h);
                if s.continuing().is_none() {
                    return;
                }
                s.count_page();
                if s.take_continued_match(h) {
                    if let Some((rev, range)) = s.current_hit()
                        && let Some(i) = h.index_of_rev(rev)
                    {
                        h.reveal(i, range.start, vp);
                    }
                } else if h.is_last() {
                    s.stop_continuing();
                    self.note = Some("no more matches: beginning of conversation".into());
                } else {
                    self.request_older(&key, fx);
                }
            }
        }
    }

    fn retry(&mut self, fx: &mut Vec<Effect>) {
        if let Some(key) = self.open.clone()
            && self
                .histories
                .get(&key)
                .is_some_and(|h| h.error().is_some())
        {
            self.request_older(&key, fx);
            return;
        }
        if let Some((_, cursor)) = self.list.error.take() {
            self.request_list(cursor, fx);
            return;
        }
        self.note = Some("nothing to retry".into());
    }

    // ----- search ------------------------------------------------------------------------

    fn start_search(&mut self) {
        let Some(key) = self.open.clone() else {
            self.note = Some("open a conversation to search it".into());
            return;
        };
        let origin = self.histories.get(&key).and_then(History::anchor);
        self.search = Some(Search::new(key, origin));
        self.focus = Pane::History;
    }

    /// Scrolls the open history so the current match is visible; while typing, a query
    /// that matches nothing goes back to where the search began.
    fn show_current_match(&mut self) {
        let vp = self.history_viewport();
        let (Some(s), Some(key)) = (self.search.as_ref(), self.open.as_ref()) else {
            return;
        };
        let Some(h) = self.histories.get_mut(key) else {
            return;
        };
        match s.current_hit() {
            Some((rev, range)) => {
                if let Some(i) = h.index_of_rev(rev) {
                    h.reveal(i, range.start, vp);
                }
            }
            None if s.is_editing() => h.restore_anchor(s.origin(), vp),
            None => {}
        }
    }

    /// Runs `f` on the search and the open history together (they live in different
    /// fields), then shows the current match.
    fn with_search(&mut self, f: impl FnOnce(&mut Search, &History)) {
        let (Some(s), Some(key)) = (self.search.as_mut(), self.open.as_ref()) else {
            return;
        };
        let Some(h) = self.histories.get(key) else {
            return;
        };
        f(s, h);
        self.show_current_match();
    }

    fn step_match(&mut self, older: bool) {
        let (Some(s), Some(h)) = (
            self.search.as_mut(),
            self.open.as_ref().and_then(|k| self.histories.get(k)),
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
            let more = self.current_history().is_some_and(|h| !h.is_last());
            self.note = Some(match (older, more) {
                (true, true) => "wrapped to the newest · o searches older history".into(),
                (true, false) => "wrapped to the newest".into(),
                (false, _) => "wrapped to the oldest".into(),
            });
        }
        self.show_current_match();
    }

    fn continue_search(&mut self, fx: &mut Vec<Effect>) {
        let Some(key) = self.open.clone() else {
            return;
        };
        let (Some(s), Some(h)) = (self.search.as_mut(), self.histories.get(&key)) else {
            return;
        };
        if s.query().is_empty() || s.error().is_some() {
            return;
        }
        if h.is_last() {
            self.note = Some("all history is loaded: nothing older to search".into());
            return;
        }
        s.start_continuing();
        if h.can_request() {
            self.request_older(&key, fx);
        }
    }

    fn on_search_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                if let Some(s) = self.search.as_mut().filter(|s| s.continuing().is_some()) {
                    s.stop_continuing();
                    return;
                }
                let origin = self.search.take().and_then(|s| s.origin());
                let vp = self.history_viewport();
                if let Some(h) = self.open.as_ref().and_then(|k| self.histories.get_mut(k)) {
                    h.restore_anchor(origin, vp);
                }
            }
            KeyCode::Enter => {
                if let Some(s) = self.search.as_mut() {
                    s.stop_continuing();
                    s.finish_editing();
                    if s.query().is_empty() {
                        self.search = None;
                    }
                }
                // The input line is gone: the view is a row taller.
                let vp = self.history_viewport();
                if let Some(h) = self.open.as_ref().and_then(|k| self.histories.get_mut(k)) {
                    h.normalize(vp);
                }
            }
            KeyCode::Backspace => self.with_search(|s, h| s.pop(h)),
            KeyCode::Char('r') if ctrl => self.with_search(|s, h| s.toggle_regex(h)),
            KeyCode::Char('o') if ctrl => self.continue_search(fx),
            KeyCode::Char('n') if ctrl => self.step_match(true),
            KeyCode::Char('p') if ctrl => self.step_match(false),
            KeyCode::Down => self.step_match(true),
            KeyCode::Up => self.step_match(false),
            KeyCode::Char(c) if !ctrl => self.with_search(|s, h| s.push(c, h)),
            _ => {}
        }
    }

    // ----- keys and mouse --------------------------------------------------------------

    fn on_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        self.note = None;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            fx.push(Effect::Quit);
            return;
        }
        if self.help {
            match key.code {
                KeyCode::Esc | KeyCode::Char('?') => self.help = false,
                KeyCode::Char('q') => fx.push(Effect::Quit),
                _ => {}
            }
            return;
        }
        if self.search().is_some_and(Search::is_editing) {
            self.on_search_key(key, fx);
            return;
        }
        match key.code {
            KeyCode::Char('q') => fx.push(Effect::Quit),
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char('r') if !ctrl => self.reload_list(fx),
            KeyCode::Char('R') => self.retry(fx),
            KeyCode::Char('/') => self.start_search(),
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = match self.focus {
                    Pane::List if self.open.is_some() => Pane::History,
                    _ => Pane::List,
                };
            }
            _ => match self.focus {
                Pane::List => self.on_list_key(key, ctrl, fx),
                Pane::History => self.on_history_key(key, ctrl, fx),
            },
        }
    }

    fn on_list_key(&mut self, key: KeyEvent, ctrl: bool, fx: &mut Vec<Effect>) {
        let page = self.layout().list_capacity().max(1) as isize;
        match key.code {
            KeyCode::Char('j') | KeyCode::Down => self.move_selection(1),
            KeyCode::Char('k') | KeyCode::Up => self.move_selection(-1),
            KeyCode::PageDown => self.move_selection(page),
            KeyCode::PageUp => self.move_selection(-page),
            KeyCode::Char('d') if ctrl => self.move_selection((page / 2).max(1)),
            KeyCode::Char('u') if ctrl => self.move_selection(-(page / 2).max(1)),
            KeyCode::Char('g') | KeyCode::Home => self.selected = 0,
            KeyCode::Char('G') | KeyCode::End => self.move_selection(isize::MAX),
            KeyCode::Enter | KeyCode::Char('l') | KeyCode::Right => self.open_selected(fx),
            _ => {}
        }
    }

    fn on_history_key(&mut self, key: KeyEvent, ctrl: bool, fx: &mut Vec<Effect>) {
        let vp = self.history_viewport();
        let page = usize::from(vp.height).saturating_sub(1).max(1);
        let half = (usize::from(vp.height) / 2).max(1);
        match key.code {
            KeyCode::Char('h') | KeyCode::Left => {
                self.focus = Pane::List;
                return;
            }
            KeyCode::Char('n') if !ctrl => return self.step_match(true),
            KeyCode::Char('N') => return self.step_match(false),
            KeyCode::Char('o') => return self.continue_search(fx),
            KeyCode::Esc => {
                if let Some(s) = self.search.as_mut() {
                    if s.continuing().is_some() {
                        s.stop_continuing();
                    } else {
                        self.search = None;
                    }
                }
                return;
            }
            _ => {}
        }
        let Some(h) = self.open.as_ref().and_then(|k| self.histories.get_mut(k)) else {
            return;
        };
        match key.code {
            KeyCode::Char('j') | KeyCode::Down => h.scroll_down(1, vp),
            KeyCode::Char('k') | KeyCode::Up => h.scroll_up(1, vp),
            KeyCode::PageDown | KeyCode::Char(' ') => h.scroll_down(page, vp),
            KeyCode::PageUp => h.scroll_up(page, vp),
            KeyCode::Char('d') if ctrl => h.scroll_down(half, vp),
            KeyCode::Char('u') if ctrl => h.scroll_up(half, vp),
            KeyCode::Char('g') | KeyCode::Home => h.scroll_to_oldest(vp),
            KeyCode::Char('G') | KeyCode::End => h.scroll_to_latest(),
            _ => {}
        }
    }

    fn on_mouse(&mut self, m: MouseEvent, fx: &mut Vec<Effect>) {
        let l = self.layout();
        let (col, row) = (m.column, m.row);
        let over_history = l.history.is_some_and(|r| layout::contains(r, col, row));
        let over_list = l.list.is_some_and(|r| layout::contains(r, col, row));
        match m.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let up = m.kind == MouseEventKind::ScrollUp;
                if over_list {
                    self.move_selection(if up { -1 } else { 1 });
                } else if over_history {
                    let vp = self.history_viewport();
                    if let Some(h) = self.open.as_ref().and_then(|k| self.histories.get_mut(k)) {
                        if up {
                            h.scroll_up(WHEEL_LINES, vp);
                        } else {
                            h.scroll_down(WHEEL_LINES, vp);
                        }
                    }
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if over_history && self.open.is_some() {
                    self.focus = Pane::History;
                } else if over_list {
                    self.focus = Pane::List;
                    // Keys should reach the list now, not the search input.
                    if let Some(s) = self.search.as_mut() {
                        s.finish_editing();
                    }
                    let Some(inner) = l.list_inner.filter(|r| layout::contains(*r, col, row))
                    else {
                        return;
                    };
                    let item = self.list_offset + usize::from((row - inner.y) / LIST_ITEM_HEIGHT);
                    if item < self.conversations.len() {
                        self.selected = item;
                        self.open_selected(fx);
                    }
                }
            }
            _ => {}
        }
    }
}
