//! Newer messages arriving: the open conversation asks for what is newer than its newest
//! loaded message on `r`, when it is opened again, and on a timer; the conversation list
//! reloads in the background. All of it runs off the clock the render tick brings, so
//! the state machine stays pure and tests move time by hand.
//!
//! - The history timer fires every [`Settings::refresh_every_ms`] (30 s); after a failure
//!   it waits twice as long each time, up to ten minutes, and a success resets it.
//! - The list reloads at most once per [`Settings::list_every_ms`] (a minute): a load is
//!   one or two calls (50 conversations a page, at most 100), which keeps the service's
//!   limit of 5 list calls a minute per user. Only `r` reloads sooner.
//! - Both pause while nobody has pressed a key for [`Settings::idle_after_ms`] (15 min);
//!   the first key after that lets them fire at the next tick.

use std::cmp::Ordering;

use super::{App, Effect};
use crate::protocol::Conversation;
use crate::tui::event::ConversationKey;
use crate::tui::history::{History, Side};

/// How often things refresh; the config file of a later issue sets these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Ask the open conversation for newer messages this often (ms).
    pub refresh_every_ms: i64,
    /// Reload the conversation list at most this often in the background (ms).
    pub list_every_ms: i64,
    /// Stop refreshing after this long without a key press (ms).
    pub idle_after_ms: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            refresh_every_ms: 30_000,
            list_every_ms: 60_000,
            idle_after_ms: 15 * 60_000,
        }
    }
}

/// The longest the history timer backs off to after failures (ms).
const MAX_BACKOFF_MS: i64 = 10 * 60_000;

/// When the timers fire next.
#[derive(Clone, Debug, Default)]
pub(super) struct Timers {
    /// The clock has been read once: the timers are set.
    started: bool,
    next_history: i64,
    next_list: i64,
    /// The last key or mouse event, by the clock of the tick before it.
    last_input: i64,
    /// Refreshes that failed in a row.
    failures: u32,
    /// The refresh request whose answer decides the backoff.
    request: Option<u64>,
}

/// The conversation list's order: pinned first, then newest activity, then id.
pub(super) fn list_order(a: &Conversation, b: &Conversation) -> Ordering {
    b.pinned
        .cmp(&a.pinned)
        .then(b.last_activity().cmp(&a.last_activity()))
        .then_with(|| a.id.cmp(&b.id))
}

impl App {
    /// The refresh settings.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Changes how often things refresh; the next tick uses the new intervals.
    pub fn set_settings(&mut self, settings: Settings) {
        self.settings = settings;
        self.timers.next_history = self.now_ms + settings.refresh_every_ms;
        self.timers.next_list = self.now_ms + settings.list_every_ms;
    }

    /// A key or the mouse: the person is here, the timers run.
    pub(super) fn note_input(&mut self) {
        self.timers.last_input = self.now_ms;
    }

    /// The clock moved: fire what is due, unless the person has been away for long.
    pub(super) fn on_clock(&mut self, fx: &mut Vec<Effect>) {
        let now = self.now_ms;
        let s = self.settings;
        if !self.timers.started {
            self.timers = Timers {
                started: true,
                next_history: now + s.refresh_every_ms,
                next_list: now + s.list_every_ms,
                last_input: now,
                ..Timers::default()
            };
            return;
        }
        if now - self.timers.last_input >= s.idle_after_ms {
            return;
        }
        if now >= self.timers.next_history {
            self.timers.next_history = now + self.backoff();
            self.refresh_open(fx);
        }
        if now >= self.timers.next_list && !self.list_loading() {
            self.timers.next_list = now + s.list_every_ms;
            self.reload_list(fx);
        }
    }

    /// The wait before the next history refresh: the interval, doubled per failure in a
    /// row, at most [`MAX_BACKOFF_MS`].
    fn backoff(&self) -> i64 {
        let doubled = self
            .settings
            .refresh_every_ms
            .saturating_mul(1 << self.timers.failures.min(10));
        doubled.min(MAX_BACKOFF_MS.max(self.settings.refresh_every_ms))
    }

    /// `r`: the list now, whatever is newer in the open conversation, and the names on
    /// screen again from the server (at the next tick).
    pub(super) fn reload_all(&mut self, fx: &mut Vec<Effect>) {
        self.names.refresh();
        self.timers.next_list = self.now_ms + self.settings.list_every_ms;
        self.reload_list(fx);
        self.refresh_open(fx);
    }

    /// Asks the open conversation's shown window for messages newer than its newest, when
    /// it reaches the newest message and nothing is asked of it already.
    pub(super) fn refresh_open(&mut self, fx: &mut Vec<Effect>) {
        if !self.current_history().is_some_and(History::can_refresh) {
            return;
        }
        if let Some(id) = self.request(Side::Newer, fx) {
            self.timers.request = Some(id);
        }
    }

    /// An answer arrived: a refresh's outcome sets the backoff; new messages of a
    /// conversation update its preview, time and place in the list.
    pub(super) fn after_refresh(&mut self, key: &ConversationKey, request_id: u64, failed: bool) {
        if self.timers.request == Some(request_id) {
            self.timers.request = None;
            if failed {
                self.timers.failures = self.timers.failures.saturating_add(1);
                self.timers.next_history = self.now_ms + self.backoff();
            } else {
                self.timers.failures = 0;
                self.timers.next_history = self.now_ms + self.settings.refresh_every_ms;
            }
        }
        let newest = self
            .histories
            .get(key)
            .map(|w| w.shown())
            .filter(|h| h.is_live() && *h.filters() == Default::default())
            .and_then(|h| h.len().checked_sub(1).and_then(|i| h.message(i)));
        let Some(newest) = newest else {
            return;
        };
        let Some(c) = self
            .conversations
            .iter_mut()
            .find(|c| c.id == key.id && c.kind == key.kind)
        else {
            return;
        };
        if newest.time <= c.last_activity() {
            return;
        }
        c.last_message = Some(newest);
        let selected = self.selected_conversation().map(ConversationKey::of);
        self.conversations.sort_by(list_order);
        if let Some(i) = selected.and_then(|k| {
            self.conversations
                .iter()
                .position(|c| ConversationKey::of(c) == k)
        }) {
            self.selected = i;
        }
    }
}
