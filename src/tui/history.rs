//! One window of a conversation's history: the messages loaded around some point in time,
//! how it grows, and the scroll position in it.
//!
//! # The window
//! A window starts anywhere ([`Start`]): at the newest message, at the very beginning, or
//! at a time. It grows both ways a page at a time: older pages with `is_positive=false`
//! from the oldest loaded message's cursor, newer pages with `is_positive=true` from the
//! newest's, at most one request per direction in flight ([`paging`]). Messages are kept
//! oldest → newest, strictly ordered by `(time, id)`, the server's order (PROTOCOL.md §4);
//! a page's messages that are not beyond the end they are added to are dropped, which
//! removes duplicates and overlaps without an id set (an id always comes with the same
//! timestamp).
//!
//! Storage is a deque of page-sized chunks, oldest first, so adding a page at either end
//! costs the page, not what is loaded. Messages are addressed two ways:
//! - `index`: 0 = oldest loaded, `len() - 1` = newest. What [`Row`]s carry; it changes when
//!   a page is prepended, so it is only valid for one frame.
//! - *position* (`i64`): fixed for the life of the window. The first page's oldest message
//!   is 0, prepended messages count down, appended ones up. The anchor, the unread divider,
//!   the jump marker and search matches use it.
//!
//! # What the pane shows
//! One column of rows: a top row ([`EdgeRow`]: beginning of conversation, loading, failed,
//! or more on the server), one *block* per message, and, while newer messages remain on the
//! server, a bottom row:
//! ```text
//! ── 2024-03-05 Tue ──        day separator: above the first message of each day
//! ── 3 unread ──              unread divider: above the oldest of the newest N messages
//! ▸ 2024-03-05 14:00          jump marker: above the first message at the time jumped to
//! bob 14:03                   header
//!   body line 1               body, wrapped at body_width(width), indented BODY_INDENT
//!   body line 2
//! ```
//!
//! # The anchor
//! The scroll position is the row at the **bottom** of the view: a message position plus
//! `lines_below`, how many lines of that message's block lie below the bottom row (0 = its
//! last body line is the bottom row). Counting from the block's bottom means separators
//! appearing or vanishing above a message never move it, and no anchor at all means "at the
//! bottom of what is loaded". Pages added at either end never move the anchor; when the
//! view sits at the bottom, a newer page pins it where it was, unless the window is at the
//! newest message and the view *follows* it ([`scroll`]). Every scroll walks block by block
//! from the anchor ([`geometry`]), so its cost grows with the screen and the distance
//! scrolled, never with what is loaded. Wrapped line counts are cached per message for the
//! last width they were computed at, and only for messages something walked over.

mod geometry;
mod paging;
mod scroll;
mod selection;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use jiff::tz::TimeZone;
use serde_json::{Map, Value};

pub use self::paging::{Edge, InFlight, PAGE_SIZE, Side};
use super::display;
use super::event::{ConversationKey, FetchError};
use super::text::WrappedLine;
use crate::protocol::{ChatType, Content, HistoryFilters, Message};

/// Columns body lines are indented by, under the header line.
pub const BODY_INDENT: u16 = 2;

/// The width bodies are wrapped at in a history area `width` columns wide. Very narrow
/// areas drop the indent rather than the text.
pub fn body_width(width: u16) -> u16 {
    if width > BODY_INDENT * 4 {
        width - BODY_INDENT
    } else {
        width
    }
}

/// The columns body lines are indented by in an area `width` wide: `width - body_width`.
pub fn body_indent(width: u16) -> u16 {
    width - body_width(width)
}

/// Consecutive messages of one sender at most this far apart (ms) share one header.
pub const GROUP_GAP_MS: i64 = 5 * 60_000;

/// How messages are laid out in the history pane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageLayout {
    /// A header line (sender, time) above each run of one sender's messages, bodies
    /// indented under it.
    #[default]
    Comfortable,
    /// One line per message, `16:56 sarah.chen │ text`, continuation lines aligned under
    /// the text column.
    Compact,
}

impl MessageLayout {
    /// The other one.
    pub fn toggled(self) -> MessageLayout {
        match self {
            MessageLayout::Comfortable => MessageLayout::Compact,
            MessageLayout::Compact => MessageLayout::Comfortable,
        }
    }

    /// Its name in the config file.
    pub fn name(self) -> &'static str {
        match self {
            MessageLayout::Comfortable => "comfortable",
            MessageLayout::Compact => "compact",
        }
    }
}

/// The columns of the compact layout's prefix in an area `width` wide: `(name column,
/// whole prefix)`, where the prefix is `HH:MM name │ `. `None` when the area is too narrow
/// for a prefix and some text: then bodies take the whole width, as in a very narrow
/// comfortable pane.
pub fn compact_columns(width: u16) -> Option<(u16, u16)> {
    let name = (width / 5).clamp(4, 14);
    let prefix = 5 + 1 + name + 3;
    (width >= prefix + 8).then_some((name, prefix))
}

/// The size of the area history rows are drawn in ([`Layout::messages`](super::layout::Layout)),
/// and the layout they are drawn in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Viewport {
    /// Rows.
    pub height: u16,
    /// Columns.
    pub width: u16,
    /// Comfortable or compact.
    pub layout: MessageLayout,
}

/// What wrapping needs to know of a viewport: the width bodies wrap at, and whether
/// headers are rows of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fit {
    width: u16,
    compact: bool,
}

impl Fit {
    fn of(vp: Viewport) -> Fit {
        match vp.layout {
            MessageLayout::Comfortable => Fit {
                width: body_width(vp.width),
                compact: false,
            },
            MessageLayout::Compact => Fit {
                width: compact_columns(vp.width).map_or(vp.width, |(_, p)| vp.width - p),
                compact: true,
            },
        }
    }
}

/// Where a window starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// At the newest message: one older page, newest first. The window is *live*: it is
    /// in touch with the newest message from the start.
    Newest,
    /// At the very beginning: one newer page from the oldest message, no cursor.
    Beginning,
    /// At a time (ms): the page from that time on, oldest first (`startTime`), and the page
    /// before it (`endTime`), asked together. The first message at or after the time is
    /// marked and shown at the top of the view.
    At(i64),
}

/// The scroll position: which line of which message is at the bottom of the view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// The message at the bottom row.
    pub id: u64,
    /// Lines of that message's block below the bottom row: 0 = its last line is at the
    /// bottom.
    pub lines_below: usize,
    /// The message's position in its window, which pages added at either end never change.
    pos: i64,
}

impl Anchor {
    /// The anchor message's position in its window (see the module docs).
    pub fn position(&self) -> i64 {
        self.pos
    }
}

/// What a row at an end of the loaded window says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeRow {
    /// Top only: `── beginning of conversation ──`, the server has nothing older.
    Beginning,
    /// A request is in flight this way.
    Loading,
    /// The last request this way failed; the status line has the reason and the retry key.
    Failed,
    /// More exists on the server this way and will be fetched when the view gets close.
    More,
}

/// One row of the history pane, as [`History::visible_rows`] returns them, top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    /// The row above everything loaded.
    Top(EdgeRow),
    /// The row below everything loaded, while newer messages remain on the server.
    Bottom(EdgeRow),
    /// A day separator; draw as `── {label} ──`.
    Day {
        /// `2024-03-05 Tue`, in the history's time zone.
        label: String,
    },
    /// The unread divider above the oldest of the newest `count` messages.
    Unread {
        /// How many messages were unread when the conversation was opened.
        count: u32,
    },
    /// The jump marker above the first message at or after the time jumped to.
    Marker {
        /// The time jumped to (ms).
        time: i64,
    },
    /// A message's header: sender and time ([`display::clock`]).
    Header {
        /// The message ([`History::message`]).
        index: usize,
    },
    /// One wrapped line of a message body, drawn after [`body_indent`] columns.
    Body {
        /// The message ([`History::message`], [`History::body`]).
        index: usize,
        /// Which wrapped line of the body, from 0.
        line: usize,
        /// Its byte range in [`History::body`] and its width: search highlights are byte
        /// ranges into the same string.
        text: WrappedLine,
    },
}

/// What happened to an answer given to [`History::receive`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receipt {
    /// Not a request in flight: ignored.
    Stale,
    /// A page was merged at one end; `added` messages were new.
    Loaded {
        /// Which end grew.
        side: Side,
        /// Messages added (duplicates and overlaps are not counted).
        added: usize,
    },
    /// The request failed; the error is kept on its edge ([`History::error`]).
    Failed,
}

/// One loaded message with what the pane needs to show it cheaply, kept small: a million
/// of them are loaded at times. The common message (text that needs no sanitizing, no
/// extension fields) is its display body plus fixed fields; names are shared; anything
/// else is kept in [`Extra`], so [`History::message`] gives back exactly what arrived.
#[derive(Debug)]
struct Entry {
    id: u64,
    time: i64,
    /// Sender, shared with every other message of the same sender.
    from: Arc<str>,
    /// Receiver, shared likewise.
    to: Arc<str>,
    chat_type: ChatType,
    /// The display body ([`display::body`]): what is wrapped, drawn and searched.
    body: Box<str>,
    /// What the body and the fields above do not hold; `None` for the common message.
    extra: Option<Box<Extra>>,
    /// The day it falls on, for separators ([`display::day_number`]).
    day: i64,
    /// `(body width, wrapped line count)` of the last width it was wrapped at; width 0 =
    /// not computed yet. A different width simply misses, so a resize needs no sweep.
    lines: Cell<(u16, u32)>,
}

/// The rest of a message that is not plain text.
#[derive(Debug)]
struct Extra {
    /// The content, unless it is text equal to the display body.
    content: Option<Content>,
    /// The extension fields (may be empty).
    ext: Map<String, Value>,
    /// `MessageBody.meta`.
    meta: Option<Map<String, Value>>,
}

impl Entry {
    fn key(&self) -> (i64, u64) {
        (self.time, self.id)
    }

    /// The message as it arrived.
    fn message(&self) -> Message {
        let extra = self.extra.as_deref();
        Message {
            id: self.id,
            from: self.from.to_string(),
            to: self.to.to_string(),
            chat_type: self.chat_type,
            time: self.time,
            content: extra
                .and_then(|x| x.content.clone())
                .unwrap_or_else(|| Content::Text {
                    text: self.body.to_string(),
                }),
            ext: extra.map(|x| x.ext.clone()).unwrap_or_default(),
            meta: extra.and_then(|x| x.meta.clone()),
        }
    }
}

/// Where the view goes once the pages it needs are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// The top of the window (the beginning of the conversation).
    Oldest,
    /// The first message at or after this time (ms), at the top of the view, marked.
    Marker(i64),
}

/// The unread divider: `count` messages were unread when the conversation was opened; the
/// divider sits above the oldest of them, once the window knows which that is.
#[derive(Clone, Copy, Debug, Default)]
struct Unread {
    count: u32,
    /// The oldest unread message's position: known in a window that started at the newest
    /// message, once its first page is in.
    pos: Option<i64>,
}

/// One window of a conversation's history, its paging state and its scroll position.
#[derive(Debug)]
pub struct History {
    key: ConversationKey,
    /// Tells windows apart: a search remembers which window it scanned.
    id: u64,
    start: Start,
    /// The server-side filters every request of this window carries.
    filters: HistoryFilters,
    /// Oldest chunk first; within a chunk oldest → newest.
    chunks: VecDeque<Vec<Entry>>,
    /// `starts[k]` = position of the oldest message of `chunks[k]`.
    starts: VecDeque<i64>,
    /// Position of the oldest loaded message (of the next one when nothing is loaded).
    first: i64,
    len: usize,
    older: Edge,
    newer: Edge,
    /// In touch with the newest message: everything appended from now on is new.
    live: bool,
    /// The view stays at the newest loaded message as newer pages arrive.
    follow: bool,
    /// Messages that arrived at the newest end while the view was elsewhere.
    arrived: usize,
    anchor: Option<Anchor>,
    /// The selected message.
    selected: Option<selection::Selected>,
    /// The message a jump marks (its position) and the time jumped to, once known.
    marker: Option<(i64, i64)>,
    /// Where to put the view when the window's first pages are in.
    place: Option<Place>,
    /// The message to select once it is placed (a hit of a search of all history).
    select_when_placed: Option<u64>,
    unread: Unread,
    pages: usize,
    tz: TimeZone,
    /// Sender and receiver names, each stored once.
    names: HashSet<Arc<str>>,
}

impl History {
    /// An empty window of `key` that starts at `start` and asks with `filters`; `id` tells
    /// it from the conversation's other windows. `unread` is the conversation's unread
    /// count when it was opened: in a window that starts at the newest message the divider
    /// goes above the newest `unread` messages and stays (browsing reads nothing).
    pub fn new(
        key: ConversationKey,
        id: u64,
        start: Start,
        filters: HistoryFilters,
        unread: u32,
        tz: TimeZone,
    ) -> History {
        let (older_done, newer_done) = match start {
            Start::Newest => (false, true),
            Start::Beginning => (true, false),
            Start::At(_) => (false, false),
        };
        History {
            key,
            id,
            start,
            filters,
            chunks: VecDeque::new(),
            starts: VecDeque::new(),
            first: 0,
            len: 0,
            older: Edge::new(older_done),
            newer: Edge::new(newer_done),
            live: start == Start::Newest,
            follow: start == Start::Newest,
            arrived: 0,
            anchor: None,
            selected: None,
            marker: None,
            place: match start {
                Start::Newest => None,
                Start::Beginning => Some(Place::Oldest),
                Start::At(t) => Some(Place::Marker(t)),
            },
            select_when_placed: None,
            unread: Unread {
                count: unread,
                pos: None,
            },
            pages: 0,
            tz,
            names: HashSet::new(),
        }
    }

    /// Which conversation this is.
    pub fn key(&self) -> &ConversationKey {
        &self.key
    }

    /// This window's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Where the window started.
    pub fn start(&self) -> Start {
        self.start
    }

    /// The server-side filters of this window.
    pub fn filters(&self) -> &HistoryFilters {
        &self.filters
    }

    /// Messages loaded.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing loaded yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pages received so far (including empty ones).
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// The unread count the divider was placed with.
    pub fn unread(&self) -> u32 {
        self.unread.count
    }

    /// The scroll position; `None` = at the bottom of what is loaded.
    pub fn anchor(&self) -> Option<Anchor> {
        self.anchor
    }

    /// The view is somewhere the newest message is not: the view offers a way there.
    pub fn scrolled_away(&self) -> bool {
        self.anchor.is_some() || !self.newer.is_done()
    }

    /// In touch with the newest message on the server: nothing newer is known to exist,
    /// or the newest was reached and newer pages are on their way.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The view stays at the newest message as new ones arrive.
    pub fn follows(&self) -> bool {
        self.follow && self.anchor.is_none()
    }

    /// New messages that arrived below the view since the person was last at the bottom.
    pub fn arrived(&self) -> usize {
        self.arrived
    }

    /// The time zone day separators and header times use.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The position of the oldest loaded message.
    pub fn first_position(&self) -> i64 {
        self.first
    }

    /// One past the position of the newest loaded message.
    pub fn end_position(&self) -> i64 {
        self.first + self.len as i64
    }

    /// The position of message `index`.
    pub fn position_of(&self, index: usize) -> Option<i64> {
        (index < self.len).then(|| self.first + index as i64)
    }

    /// The index of the message at `pos`, if loaded.
    pub fn index_of_position(&self, pos: i64) -> Option<usize> {
        let i = usize::try_from(pos.checked_sub(self.first)?).ok()?;
        (i < self.len).then_some(i)
    }

    /// The index of the first loaded message at or after `time` (ms).
    pub fn index_at_time(&self, time: i64) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid).is_some_and(|e| e.time < time) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < self.len).then_some(lo)
    }

    fn entry_at(&self, pos: i64) -> Option<&Entry> {
        self.index_of_position(pos)?;
        let k = self.starts.partition_point(|&s| s <= pos).checked_sub(1)?;
        let chunk = self.chunks.get(k)?;
        let within = usize::try_from(pos - self.starts.get(k)?).ok()?;
        chunk.get(within)
    }

    fn entry(&self, index: usize) -> Option<&Entry> {
        self.entry_at(self.position_of(index)?)
    }

    /// Message `index` (0 = oldest loaded), rebuilt as it arrived. The view's accessors
    /// ([`sender`](Self::sender), [`time`](Self::time), [`body`](Self::body)) cost no
    /// copies.
    pub fn message(&self, index: usize) -> Option<Message> {
        self.entry(index).map(Entry::message)
    }

    /// The id of message `index`.
    pub fn id_of(&self, index: usize) -> Option<u64> {
        self.entry(index).map(|e| e.id)
    }

    /// The sender of message `index`.
    pub fn sender(&self, index: usize) -> Option<&str> {
        self.entry(index).map(|e| &*e.from)
    }

    /// The time of message `index`, milliseconds since the epoch.
    pub fn time(&self, index: usize) -> Option<i64> {
        self.entry(index).map(|e| e.time)
    }

    /// The display body of message `index`: sanitized, what rows and highlights index into.
    pub fn body(&self, index: usize) -> Option<&str> {
        self.entry(index).map(|e| &*e.body)
    }

    /// The index of the loaded message with this id.
    pub fn index_of_id(&self, id: u64) -> Option<usize> {
        self.chunks
            .iter()
            .flatten()
            .position(|e| e.id == id)
            .filter(|&i| i < self.len)
    }

    /// Bodies of the messages at positions `from..to`, oldest first, with their position:
    /// what search scans. Walks the chunks directly, so a full scan costs no lookups.
    pub fn bodies_between(&self, from: i64, to: i64) -> impl Iterator<Item = (i64, &str)> {
        let from = from.max(self.first);
        let to = to.min(self.end_position());
        let k = self
            .starts
            .partition_point(|&s| s <= from)
            .saturating_sub(1);
        self.chunks
            .iter()
            .zip(self.starts.iter())
            .skip(k)
            .flat_map(|(chunk, &start)| {
                chunk
                    .iter()
                    .enumerate()
                    .map(move |(j, e)| (start + j as i64, &*e.body))
            })
            .skip_while(move |&(pos, _)| pos < from)
            .take_while(move |&(pos, _)| pos < to)
    }

    /// The bodies of the messages at `positions` (best in ascending order), with their
    /// position; positions not loaded are skipped. Ascending positions cost one step each
    /// plus one per chunk passed, however far apart they are: what narrowing a search to
    /// its previous hits walks.
    pub fn bodies_at<'a>(
        &'a self,
        positions: impl IntoIterator<Item = i64> + 'a,
    ) -> impl Iterator<Item = (i64, &'a str)> + 'a {
        let mut k = 0;
        positions.into_iter().filter_map(move |pos| {
            self.index_of_position(pos)?;
            if self.starts.get(k).is_none_or(|&s| s > pos) {
                // Out of order: look the chunk up.
                k = self.starts.partition_point(|&s| s <= pos).checked_sub(1)?;
            }
            while self.starts.get(k + 1).is_some_and(|&s| s <= pos) {
                k += 1;
            }
            let chunk = self.chunks.get(k)?;
            let within = usize::try_from(pos - *self.starts.get(k)?).ok()?;
            Some((pos, &*chunk.get(within)?.body))
        })
    }

    /// Builds the entry of a message that arrived.
    fn entry_of(&mut self, msg: Message) -> Entry {
        let body = display::body(&msg);
        let content = match msg.content {
            Content::Text { text } if text == body => None,
            other => Some(other),
        };
        let extra = (content.is_some() || !msg.ext.is_empty() || msg.meta.is_some()).then(|| {
            Box::new(Extra {
                content,
                ext: msg.ext,
                meta: msg.meta,
            })
        });
        Entry {
            id: msg.id,
            time: msg.time,
            from: intern(&mut self.names, msg.from),
            to: intern(&mut self.names, msg.to),
            chat_type: msg.chat_type,
            body: body.into_boxed_str(),
            extra,
            day: display::day_number(msg.time, &self.tz),
            lines: Cell::new((0, 0)),
        }
    }

    /// Why the last request failed, on either edge (older first), until the next starts.
    pub fn error(&self) -> Option<&FetchError> {
        self.older.error().or(self.newer.error())
    }
}

/// The shared copy of `name`, stored on first sight.
fn intern(names: &mut HashSet<Arc<str>>, name: String) -> Arc<str> {
    if let Some(shared) = names.get(name.as_str()) {
        return Arc::clone(shared);
    }
    let shared: Arc<str> = Arc::from(name);
    names.insert(Arc::clone(&shared));
    shared
}
