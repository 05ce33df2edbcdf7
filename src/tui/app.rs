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

mod downloads;
mod filters;
mod keys;
mod links;
mod list_view;
mod messages;
mod names;
mod pictures;
mod prompts;
mod reading;
mod refresh;
mod search_all;
mod searching;
mod status;
mod syncing;
mod unread;

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;

use jiff::tz::TimeZone;

pub use super::event::{ConversationKey, Effect, Event, FetchError, FetchRequest};

use super::action::{KeyPress, Keymap};
use super::history::{History, MessageLayout, Row, Viewport};
use super::layout::{self, Layout, Pane};
use super::names::Names;
use super::panel::Panel;
use super::prompt::Prompt;
use refresh::{Timers, list_order};

use super::search::Search;
use super::search_all::SearchAll;
use super::theme::Theme;
use super::windows::Windows;
use crate::protocol::{Conversation, ConversationPage, PageLimits, PageWalk, PagingStop};
pub use downloads::DownloadRun;
pub use links::LinkChoice;
pub use pictures::PictureState;
pub use refresh::Settings;

pub use super::history::PAGE_SIZE;

/// Conversations per list page the fetch task should ask for (the protocol's maximum,
/// which keeps the list within the service's 5 calls per minute).
pub const LIST_PAGE_SIZE: u32 = 50;

/// Lines the mouse wheel scrolls the history by.
const WHEEL_LINES: usize = 3;

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
    histories: HashMap<ConversationKey, Windows>,
    /// History entries left out as undecodable, per conversation, for the status line.
    undecodable: HashMap<ConversationKey, u64>,
    search: Option<Search>,
    note: Option<String>,
    /// The help overlay's scroll position, while it is shown.
    help: Option<usize>,
    keymap: Keymap,
    theme: Theme,
    /// The conversation list's width when both panes show; `None`: a third of the screen.
    list_width: Option<u16>,
    /// Keys typed so far of a binding that takes several (`''`).
    typed: Vec<KeyPress>,
    /// The prompt being typed at the bottom of the screen.
    prompt: Option<Prompt>,
    /// What the list is filtered by.
    list_filter: Option<String>,
    /// Paging toward the unread divider in this window.
    unread_paging: Option<u64>,
    /// The wall clock (ms) at the last tick: what `yesterday` and `-3d` count from.
    now_ms: i64,
    settings: Settings,
    timers: Timers,
    width: u16,
    height: u16,
    tz: TimeZone,
    next_request: u64,
    ticks: u64,
    /// Whose history this is when read with admin access.
    admin_reader: Option<String>,
    /// Where the history comes from when not the live service (offline).
    standing_label: Option<String>,
    /// Names for ids, and whether ids show beside them.
    names: Names,
    /// Comfortable or compact.
    layout_style: MessageLayout,
    /// The details or full-text panel, while it is open.
    panel: Option<Panel>,
    /// The terminal reports clicks and the wheel (off: the terminal's own text selection).
    mouse_capture: bool,
    /// The links of a message being offered for opening.
    link_choice: Option<LinkChoice>,
    /// The download that runs.
    download: Option<DownloadRun>,
    /// Where downloads go.
    downloads_dir: PathBuf,
    /// The picture of the open details panel.
    picture: Option<pictures::PictureSlot>,
    /// Pictures are shown in the details panel.
    pictures: bool,
    /// The last search of all history, kept while the view is hidden.
    search_all: Option<SearchAll>,
    /// The search-all view is shown.
    search_all_shown: bool,
    /// The sync of a conversation running in the background.
    syncing: Option<syncing::Syncing>,
    /// Conversations read from a library (offline) that does not hold them from their
    /// beginning.
    library_ends: std::collections::HashSet<ConversationKey>,
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
            help: None,
            keymap: Keymap::default(),
            theme: Theme::default(),
            list_width: None,
            typed: Vec::new(),
            prompt: None,
            list_filter: None,
            unread_paging: None,
            now_ms: 0,
            settings: Settings::default(),
            timers: Timers::default(),
            width,
            height,
            tz,
            next_request: 1,
            ticks: 0,
            admin_reader: None,
            standing_label: None,
            names: Names::default(),
            layout_style: MessageLayout::default(),
            panel: None,
            mouse_capture: true,
            link_choice: None,
            download: None,
            downloads_dir: PathBuf::from("."),
            picture: None,
            pictures: true,
            search_all: None,
            search_all_shown: false,
            syncing: None,
            library_ends: std::collections::HashSet::new(),
        }
    }

    /// Says that the history is `user`'s, read with admin access (`None`: the person's
    /// own); the status line then always shows it.
    pub fn set_admin_reader(&mut self, user: Option<String>) {
        self.admin_reader = user;
    }

    /// Says where the history comes from when it is not the live service (`offline ·
    /// library`); the status line then always shows it.
    pub fn set_standing_label(&mut self, label: Option<String>) {
        self.standing_label = label;
    }

    /// What the status line always starts with: `li.wei · admin access` when the history
    /// is read with admin access, and the source's standing label (offline).
    pub fn admin_label(&self) -> Option<String> {
        let admin = self
            .admin_reader
            .as_ref()
            .map(|user| format!("{user} · admin access"));
        match (admin, &self.standing_label) {
            (Some(admin), Some(label)) => Some(format!("{admin} · {label}")),
            (admin, label) => admin.or_else(|| label.clone()),
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

    /// The first conversation shown in the list pane, counted in
    /// [`shown_conversations`](Self::shown_conversations) (items are
    /// [`LIST_ITEM_HEIGHT`](layout::LIST_ITEM_HEIGHT) rows).
    pub fn list_offset(&self) -> usize {
        self.list_offset
    }

    /// Why the conversation list failed to load, until it is retried.
    pub fn list_error(&self) -> Option<&FetchError> {
        self.list.error.as_ref().map(|(e, _)| e)
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

    /// The open conversation's shown window.
    pub fn current_history(&self) -> Option<&History> {
        Some(self.histories.get(self.open.as_ref()?)?.shown())
    }

    /// Any conversation's shown window, if it was ever opened.
    pub fn history(&self, key: &ConversationKey) -> Option<&History> {
        Some(self.histories.get(key)?.shown())
    }

    /// All the windows of a conversation, if it was ever opened.
    pub fn windows(&self, key: &ConversationKey) -> Option<&Windows> {
        self.histories.get(key)
    }

    /// What the row above the oldest message says when nothing older can be had: the
    /// beginning of the conversation, or (offline, a library that does not hold it from
    /// its beginning) where the library's copy ends.
    pub fn beginning_label(&self) -> &'static str {
        match &self.open {
            Some(key) if self.library_ends.contains(key) => {
                "the library ends here (older messages are on the server)"
            }
            _ => "beginning of conversation",
        }
    }

    /// The search of the open conversation, if any.
    pub fn search(&self) -> Option<&Search> {
        self.search
            .as_ref()
            .filter(|s| Some(s.conversation()) == self.open.as_ref())
    }

    /// The help overlay is shown.
    pub fn help_visible(&self) -> bool {
        self.help.is_some()
    }

    /// How far the help overlay is scrolled (lines hidden above).
    pub fn help_scroll(&self) -> usize {
        self.help.unwrap_or(0)
    }

    /// The prompt being typed, if any.
    pub fn prompt(&self) -> Option<&Prompt> {
        self.prompt.as_ref()
    }

    /// Something is typed into (search or a prompt): a paste goes there as text.
    pub fn accepts_text(&self) -> bool {
        self.mode().is_text_input()
    }

    /// Which keys do what.
    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    /// Replaces the keymap (a config file's bindings).
    pub fn set_keymap(&mut self, keymap: Keymap) {
        self.keymap = keymap;
        self.typed.clear();
    }

    /// The colours to draw with.
    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// Replaces the colours (a config file's `[display.colors]`).
    pub fn set_theme(&mut self, theme: Theme) {
        self.theme = theme;
    }

    /// Sets the conversation list's width when both panes show (a config file's
    /// `list_width`); the history pane keeps at least half the screen.
    pub fn set_list_width(&mut self, width: Option<u16>) {
        self.list_width = width;
        let vp = self.history_viewport();
        if let Some(h) = self.shown_mut() {
            h.normalize(vp);
        }
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
        let date_row = self.open.is_some();
        layout::compute(
            self.width,
            self.height,
            self.focus,
            search_open,
            date_row,
            self.list_width,
        )
    }

    /// The history area as it is (or would be, in single-pane mode) when shown.
    fn history_viewport(&self) -> Viewport {
        let search_open = self.search().is_some_and(Search::is_editing);
        let date_row = self.open.is_some();
        let l = layout::compute(
            self.width,
            self.height,
            Pane::History,
            search_open,
            date_row,
            self.list_width,
        );
        l.messages.map_or(Viewport::default(), |r| Viewport {
            height: r.height,
            width: r.width,
            layout: self.layout_style,
        })
    }

    /// The day the sticky date row shows: that of the topmost message in the view.
    pub fn sticky_date(&self) -> Option<String> {
        let h = self.current_history()?;
        let index = h.top_index(self.history_viewport())?;
        Some(super::display::day_label(h.time(index)?, h.time_zone()))
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
            (Some(s), Some(h)) => match (h.position_of(index), h.body(index)) {
                (Some(pos), Some(body)) => s.highlights(pos, body),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    // ----- update ---------------------------------------------------------------------

    /// Applies one event and returns what the event loop must do.
    pub fn update(&mut self, event: Event) -> Vec<Effect> {
        let mut fx = Vec::new();
        match event {
            Event::Key(key) => {
                self.note_input();
                self.on_key(key, &mut fx);
            }
            Event::Action(action) => self.perform(action, &mut fx),
            Event::Mouse(m) => {
                self.note_input();
                self.on_mouse(m, &mut fx);
            }
            Event::Resize(w, h) => {
                self.width = w;
                self.height = h;
                if let Some(p) = self.panel.as_mut() {
                    p.resize(w, h);
                }
                self.refit_picture(&mut fx);
                let hits = layout::search_all(w, h).capacity();
                if let Some(s) = self.search_all.as_mut() {
                    s.keep_in_view(hits);
                }
                let vp = self.history_viewport();
                if let Some(h) = self.shown_mut() {
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
            Event::Names {
                request_id,
                names,
                failed,
            } => self.names.on_answer(request_id, names, failed, self.now_ms),
            Event::SearchAll { request_id, result } => {
                self.on_found(request_id, result, &mut fx);
            }
            Event::Sync {
                request_id,
                progress,
            } => self.on_sync(request_id, progress),
            Event::LibraryEnds { conversation } => {
                self.library_ends.insert(conversation);
            }
            Event::JumpTo(time) => self.jump_to_time(time, &mut fx),
            Event::DownloadProgress {
                request_id,
                received,
                total,
            } => self.on_download_progress(request_id, received, total),
            Event::Downloaded {
                request_id,
                outcome,
            } => self.on_downloaded(request_id, outcome),
            Event::Picture { request_id, result } => self.on_picture(request_id, result),
            Event::HostFailed(why) => self.note = Some(super::text::one_line(&why, 200)),
            Event::Tick { now_ms } => {
                self.ticks = self.ticks.wrapping_add(1);
                self.now_ms = now_ms;
                self.on_clock(&mut fx);
                self.ask_names(&mut fx);
            }
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
        self.settle_list();
        self.prefetch(fx);
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
        self.conversations.sort_by(list_order);
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

    fn retry(&mut self, fx: &mut Vec<Effect>) {
        if self.retry_history(fx) {
            return;
        }
        if let Some((_, cursor)) = self.list.error.take() {
            self.request_list(cursor, fx);
            return;
        }
        self.note = Some("nothing to retry".into());
    }
}
