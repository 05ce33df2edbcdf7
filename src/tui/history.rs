//! One conversation's loaded window of history and the scroll position in it.
//!
//! # The window
//! Messages are kept oldest → newest, strictly ordered by `(time, id)`, the server's order
//! (PROTOCOL.md §4). The window only grows toward older messages: pages are requested with
//! the cursor of the previous one, at most one request at a time, and a page's messages
//! that are not older than the oldest one loaded are dropped, which removes duplicates and
//! overlaps without an id set (a message id always comes with the same timestamp).
//!
//! Storage is a list of page-sized chunks, newest page first, so prepending a page is a
//! push at the end of a short vector: its cost does not depend on how much is loaded.
//! Messages are addressed two ways:
//! - `index`: 0 = oldest loaded, `len() - 1` = newest. What [`Row`]s carry; changes when a
//!   page is prepended, so it is only valid for one frame.
//! - `rev` (private): 0 = newest. Never changes, because nothing is ever added at the newest
//!   end; the anchor and search matches use it.
//!
//! # What the pane shows
//! The content is one column of rows: a top row ([`TopRow`]: beginning of conversation,
//! loading, failed, or more on the server), then one *block* per message:
//! ```text
//! ── 2024-03-05 Tue ──        day separator: above the first message of each day
//! ── 3 unread ──              unread divider: above the oldest of the newest N messages
//! bob 14:03                   header
//!   body line 1               body, wrapped at body_width(width), indented BODY_INDENT
//!   body line 2
//! ```
//!
//! # The anchor
//! The scroll position is the row at the **bottom** of the view: a message id plus
//! `lines_below`, how many lines of that message's block lie below the bottom row (0 = its
//! last body line is the bottom row). Counting from the block's bottom means separators
//! appearing or vanishing above a message never move it, and no anchor at all means "at the
//! newest message". Every scroll walks block by block from the anchor, so its cost grows
//! with the screen and the distance scrolled, never with what is loaded. Wrapped line
//! counts are cached per message for the last width they were computed at, and only for
//! messages something walked over.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Arc;

use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use super::display;
use super::event::{ConversationKey, FetchError};
use super::text::{self, WrappedLine};
use crate::protocol::{ChatType, Content, HistoryPage, Message};

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

/// The size of the area history rows are drawn in ([`Layout::messages`](super::layout::Layout)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Viewport {
    /// Rows.
    pub height: u16,
    /// Columns.
    pub width: u16,
}

/// The request for an older page that has not been answered yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// The id the answer must carry to be accepted.
    pub request_id: u64,
    /// The cursor asked for; `None` = the newest page.
    pub cursor: Option<String>,
}

/// The scroll position: which line of which message is at the bottom of the view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// The message at the bottom row.
    pub id: u64,
    /// Lines of that message's block below the bottom row: 0 = its last line is at the
    /// bottom.
    pub lines_below: usize,
    /// Position counted from the newest message: stable because the window only grows
    /// toward older messages, so no lookup by id is needed.
    rev: usize,
}

impl Anchor {
    /// How many messages are newer than the anchor's: its position counted from the
    /// newest (0), which prepending never changes.
    pub fn rev(&self) -> usize {
        self.rev
    }
}

/// What the row above the oldest loaded message says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopRow {
    /// `── beginning of conversation ──`: the server has nothing older.
    Beginning,
    /// `loading older messages…`: a request is in flight.
    Loading,
    /// The last request failed; the status line has the reason and the retry key.
    Failed,
    /// Older messages exist on the server and will be fetched when the view gets close.
    More,
}

impl TopRow {
    /// What the row says.
    pub fn label(self) -> &'static str {
        match self {
            TopRow::Beginning => "── beginning of conversation ──",
            TopRow::Loading => "loading older messages…",
            TopRow::Failed => "couldn't load older messages (R retries)",
            TopRow::More => "older messages on the server",
        }
    }
}

/// One row of the history pane, as [`History::visible_rows`] returns them, top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    /// The row above everything loaded.
    Top(TopRow),
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
    /// Not the request in flight: ignored.
    Stale,
    /// A page was merged; `added` messages were new.
    Loaded {
        /// Messages added (duplicates and overlaps are not counted).
        added: usize,
    },
    /// The request failed; the error is kept in [`History::error`].
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
        }
    }
}

/// A position in the content: block 0 is the top row, block `i + 1` is message `i`;
/// `below` counts lines of the block below the position (0 = its last line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pos {
    block: usize,
    below: usize,
}

impl Pos {
    /// A key that orders positions top to bottom.
    fn order(self) -> (usize, usize) {
        (self.block, usize::MAX - self.below)
    }
}

/// One conversation's loaded history, its paging state and its scroll position.
#[derive(Debug)]
pub struct History {
    key: ConversationKey,
    /// Pages, newest first; within a page oldest → newest.
    chunks: Vec<Vec<Entry>>,
    /// `starts[k]` = rev of the newest message of `chunks[k]`.
    starts: Vec<usize>,
    len: usize,
    cursor: Option<String>,
    is_last: bool,
    in_flight: Option<InFlight>,
    error: Option<FetchError>,
    anchor: Option<Anchor>,
    unread: u32,
    pages: usize,
    tz: TimeZone,
    /// Sender and receiver names, each stored once.
    names: HashSet<Arc<str>>,
}

impl History {
    /// An empty window. `unread` is the conversation's unread count when it was opened: the
    /// divider goes above the newest `unread` messages and stays (browsing reads nothing).
    pub fn new(key: ConversationKey, unread: u32, tz: TimeZone) -> History {
        History {
            key,
            chunks: Vec::new(),
            starts: Vec::new(),
            len: 0,
            cursor: None,
            is_last: false,
            in_flight: None,
            error: None,
            anchor: None,
            unread,
            pages: 0,
            tz,
            names: HashSet::new(),
        }
    }

    /// Which conversation this is.
    pub fn key(&self) -> &ConversationKey {
        &self.key
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

    /// The server has nothing older than what is loaded.
    pub fn is_last(&self) -> bool {
        self.is_last
    }

    /// The cursor of the next older page; `None` before the first page and after the last.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// The request in flight, if any.
    pub fn in_flight(&self) -> Option<&InFlight> {
        self.in_flight.as_ref()
    }

    /// Why the last request failed, until the next one starts.
    pub fn error(&self) -> Option<&FetchError> {
        self.error.as_ref()
    }

    /// The unread count the divider was placed with.
    pub fn unread(&self) -> u32 {
        self.unread
    }

    /// The scroll position; `None` = at the newest message.
    pub fn anchor(&self) -> Option<Anchor> {
        self.anchor
    }

    /// Scrolled away from the newest message: the view offers "jump to latest (G)".
    pub fn scrolled_away(&self) -> bool {
        self.anchor.is_some()
    }

    /// The time zone day separators and header times use.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    fn entry_rev(&self, rev: usize) -> Option<&Entry> {
        if rev >= self.len {
            return None;
        }
        let k = self.starts.partition_point(|&s| s <= rev).checked_sub(1)?;
        let chunk = self.chunks.get(k)?;
        let within = rev - self.starts.get(k)?;
        chunk.get(chunk.len().checked_sub(1 + within)?)
    }

    fn entry(&self, index: usize) -> Option<&Entry> {
        self.entry_rev(self.len.checked_sub(index + 1)?)
    }

    /// Message `index` (0 = oldest loaded), rebuilt as it arrived. The view's accessors
    /// ([`sender`](Self::sender), [`time`](Self::time), [`body`](Self::body)) cost no
    /// copies.
    pub fn message(&self, index: usize) -> Option<Message> {
        self.entry(index).map(Entry::message)
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

    /// The index of the message `rev` places from the newest (0 = newest).
    pub fn index_of_rev(&self, rev: usize) -> Option<usize> {
        self.len.checked_sub(rev + 1)
    }

    /// Bodies from the newest-but-`from_rev` toward the oldest, with their rev: what
    /// search scans. Walks the chunks directly, so a full scan costs no lookups.
    pub fn bodies_from(&self, from_rev: usize) -> impl Iterator<Item = (usize, &str)> {
        let first = if from_rev >= self.len {
            self.chunks.len()
        } else {
            self.starts
                .partition_point(|&s| s <= from_rev)
                .saturating_sub(1)
        };
        self.chunks
            .iter()
            .zip(self.starts.iter())
            .skip(first)
            .flat_map(|(chunk, &start)| {
                chunk
                    .iter()
                    .rev()
                    .enumerate()
                    .map(move |(j, e)| (start + j, &*e.body))
            })
            .skip_while(move |&(rev, _)| rev < from_rev)
    }

    /// The bodies of the messages at `revs` (counted from the newest, best in ascending
    /// order), with their rev; revs not loaded are skipped. Ascending revs cost one step
    /// each plus one per chunk passed, however far apart they are: what narrowing a search
    /// to its previous hits walks.
    pub fn bodies_at<'a>(
        &'a self,
        revs: impl IntoIterator<Item = usize> + 'a,
    ) -> impl Iterator<Item = (usize, &'a str)> + 'a {
        let mut k = 0;
        revs.into_iter().filter_map(move |rev| {
            if rev >= self.len {
                return None;
            }
            if self.starts.get(k).is_none_or(|&s| s > rev) {
                // Out of order: look the chunk up.
                k = self.starts.partition_point(|&s| s <= rev).checked_sub(1)?;
            }
            while self.starts.get(k + 1).is_some_and(|&s| s <= rev) {
                k += 1;
            }
            let chunk = self.chunks.get(k)?;
            let within = rev.checked_sub(*self.starts.get(k)?)?;
            let e = chunk.get(chunk.len().checked_sub(1 + within)?)?;
            Some((rev, &*e.body))
        })
    }

    // ----- paging -------------------------------------------------------------------

    /// Whether a request for an older page may start now: not at the beginning, nothing in
    /// flight. A failed request is only retried on the person's word.
    pub fn can_request(&self) -> bool {
        !self.is_last && self.in_flight.is_none()
    }

    /// Marks a request as in flight and returns the cursor to ask for (`None` = newest
    /// page), or `None` when no request may start (see [`can_request`](Self::can_request)).
    /// Clears a previous error: this is also how a retry starts.
    pub fn start_request(&mut self, request_id: u64) -> Option<Option<String>> {
        if !self.can_request() {
            return None;
        }
        self.error = None;
        let cursor = self.cursor.clone();
        self.in_flight = Some(InFlight {
            request_id,
            cursor: cursor.clone(),
        });
        Some(cursor)
    }

    /// Takes an answer. Only the request in flight is accepted; a page is merged older
    /// than everything loaded; a failure is kept for the status line and loaded messages
    /// stay.
    pub fn receive(&mut self, request_id: u64, result: Result<HistoryPage, FetchError>) -> Receipt {
        match &self.in_flight {
            Some(f) if f.request_id == request_id => {}
            _ => return Receipt::Stale,
        }
        let asked = self.in_flight.take().and_then(|f| f.cursor);
        match result {
            Err(e) => {
                self.error = Some(e);
                Receipt::Failed
            }
            Ok(page) => {
                self.pages += 1;
                let next = page.next_cursor.filter(|c| !c.is_empty());
                // A cursor that does not move would ask for the same page forever.
                let stuck = asked.is_some() && next == asked;
                self.is_last = page.is_last || next.is_none() || stuck;
                self.cursor = if self.is_last { None } else { next };
                let added = self.prepend(page.messages);
                Receipt::Loaded { added }
            }
        }
    }

    /// Adds messages older than everything loaded, in any order, dropping the rest.
    fn prepend(&mut self, mut messages: Vec<Message>) -> usize {
        let oldest = self.entry_rev(self.len.wrapping_sub(1)).map(Entry::key);
        if let Some(oldest) = oldest {
            messages.retain(|m| (m.time, m.id) < oldest);
        }
        messages.sort_by_key(|m| (m.time, m.id));
        messages.dedup_by_key(|m| (m.time, m.id));
        if messages.is_empty() {
            return 0;
        }
        let mut chunk: Vec<Entry> = messages
            .into_iter()
            .map(|msg| {
                let body = display::body(&msg);
                let content = match msg.content {
                    Content::Text { text } if text == body => None,
                    other => Some(other),
                };
                let extra = (content.is_some() || !msg.ext.is_empty()).then(|| {
                    Box::new(Extra {
                        content,
                        ext: msg.ext,
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
            })
            .collect();
        // The collect reuses the page's buffer (entries are smaller than messages): give
        // back what the entries do not use.
        chunk.shrink_to_fit();
        let added = chunk.len();
        self.starts.push(self.len);
        self.len += added;
        self.chunks.push(chunk);
        added
    }

    /// True when the top of the view is within about a screen of the top of what is
    /// loaded and an older page may be requested: time to prefetch.
    pub fn wants_older(&self, vp: Viewport) -> bool {
        if !self.can_request() || self.error.is_some() {
            return false;
        }
        if self.len == 0 {
            return true;
        }
        let h = usize::from(vp.height);
        if h == 0 {
            return false;
        }
        let bw = body_width(vp.width);
        // Rows above the top of the view < h  ⇔  rows above the bottom row < 2h - 1.
        let need = 2 * h - 1;
        let (_, moved) = self.move_up(self.anchor_pos(bw), need, bw);
        moved < need
    }

    // ----- geometry -----------------------------------------------------------------

    fn body_lines(&self, e: &Entry, bw: u16) -> usize {
        if bw == 0 {
            return 0;
        }
        let (w, n) = e.lines.get();
        if w == bw {
            return n as usize;
        }
        let n = text::line_count(&e.body, bw);
        e.lines.set((bw, u32::try_from(n).unwrap_or(u32::MAX)));
        n
    }

    /// Day separator and unread divider above message `index`.
    fn decorations(&self, index: usize) -> (bool, bool) {
        let day = match (index.checked_sub(1), self.entry(index)) {
            (None, _) => true,
            (Some(prev), Some(e)) => self.entry(prev).is_none_or(|p| p.day != e.day),
            (Some(_), None) => false,
        };
        let unread =
            self.unread > 0 && self.len.checked_sub(index + 1) == Some(self.unread as usize - 1);
        (day, unread)
    }

    fn block_height(&self, block: usize, bw: u16) -> usize {
        let Some(index) = block.checked_sub(1) else {
            return 1;
        };
        let Some(e) = self.entry(index) else {
            return 1;
        };
        let (day, unread) = self.decorations(index);
        usize::from(day) + usize::from(unread) + 1 + self.body_lines(e, bw)
    }

    fn end_pos(&self) -> Pos {
        Pos {
            block: self.len,
            below: 0,
        }
    }

    fn anchor_pos(&self, bw: u16) -> Pos {
        match self.anchor {
            Some(a) if a.rev < self.len => {
                let block = self.len - a.rev;
                let below = a.lines_below.min(self.block_height(block, bw) - 1);
                Pos { block, below }
            }
            _ => self.end_pos(),
        }
    }

    fn set_anchor(&mut self, pos: Pos, bw: u16) {
        let pos = if pos.block == 0 && self.len > 0 {
            // The top row alone at the bottom of a one-row view: anchor on the first
            // message instead, since the anchor must be a message.
            Pos {
                block: 1,
                below: self.block_height(1, bw) - 1,
            }
        } else {
            pos
        };
        if pos == self.end_pos() || pos.block == 0 {
            self.anchor = None;
            return;
        }
        let rev = self.len - pos.block;
        let id = self.entry_rev(rev).map_or(0, |e| e.id);
        self.anchor = Some(Anchor {
            id,
            lines_below: pos.below,
            rev,
        });
    }

    /// Moves up `n` lines, stopping at the top row; returns where and how far it got.
    fn move_up(&self, mut pos: Pos, n: usize, bw: u16) -> (Pos, usize) {
        let mut left = n;
        loop {
            let room = self.block_height(pos.block, bw) - 1 - pos.below;
            if left <= room {
                pos.below += left;
                return (pos, n);
            }
            if pos.block == 0 {
                pos.below += room;
                return (pos, n - (left - room));
            }
            left -= room + 1;
            pos = Pos {
                block: pos.block - 1,
                below: 0,
            };
        }
    }

    /// Moves down `n` lines, stopping at the newest message's last line.
    fn move_down(&self, mut pos: Pos, n: usize, bw: u16) -> (Pos, usize) {
        let mut left = n;
        loop {
            if left <= pos.below {
                pos.below -= left;
                return (pos, n);
            }
            if pos.block >= self.len {
                let moved = n - (left - pos.below);
                pos.below = 0;
                return (pos, moved);
            }
            left -= pos.below + 1;
            let block = pos.block + 1;
            pos = Pos {
                block,
                below: self.block_height(block, bw) - 1,
            };
        }
    }

    // ----- scrolling ----------------------------------------------------------------

    /// Keeps the view full: when the anchor is less than a screen below the top of the
    /// content (after a resize, say), moves it down. Also forgets an anchor that sits at
    /// the newest message.
    pub fn normalize(&mut self, vp: Viewport) {
        let bw = body_width(vp.width);
        let pos = self.anchor_pos(bw);
        let h = usize::from(vp.height);
        let pos = if h > 1 {
            let (_, moved) = self.move_up(pos, h - 1, bw);
            self.move_down(pos, h - 1 - moved, bw).0
        } else {
            pos
        };
        self.set_anchor(pos, bw);
    }

    /// Scrolls toward older messages by `n` lines, no further than the top row.
    pub fn scroll_up(&mut self, n: usize, vp: Viewport) {
        let bw = body_width(vp.width);
        let (pos, _) = self.move_up(self.anchor_pos(bw), n, bw);
        self.set_anchor(pos, bw);
        self.normalize(vp);
    }

    /// Scrolls toward newer messages by `n` lines, no further than the newest.
    pub fn scroll_down(&mut self, n: usize, vp: Viewport) {
        let bw = body_width(vp.width);
        let (pos, _) = self.move_down(self.anchor_pos(bw), n, bw);
        self.set_anchor(pos, bw);
        self.normalize(vp);
    }

    /// Shows the oldest loaded message (and the top row) at the top of the view.
    pub fn scroll_to_oldest(&mut self, vp: Viewport) {
        let bw = body_width(vp.width);
        let top = Pos { block: 0, below: 0 };
        let (pos, _) = self.move_down(top, usize::from(vp.height).saturating_sub(1), bw);
        self.set_anchor(pos, bw);
    }

    /// Back to the newest message.
    pub fn scroll_to_latest(&mut self) {
        self.anchor = None;
    }

    /// Puts the anchor back where it was (search's Esc). An anchor from before a resize is
    /// fine: its line offset is clamped to the block.
    pub fn restore_anchor(&mut self, anchor: Option<Anchor>, vp: Viewport) {
        self.anchor = anchor.filter(|a| a.rev < self.len);
        self.normalize(vp);
    }

    /// Makes the line holding byte `byte` of message `index`'s body visible. When it
    /// already is, nothing moves; otherwise it is placed mid-screen.
    pub fn reveal(&mut self, index: usize, byte: usize, vp: Viewport) {
        let Some(e) = self.entry(index) else {
            return;
        };
        let bw = body_width(vp.width);
        let h = usize::from(vp.height);
        let block = index + 1;
        let lines = text::wrap(&e.body, bw);
        let line = lines.iter().rposition(|l| l.start <= byte).unwrap_or(0);
        let (day, unread) = self.decorations(index);
        let from_top = usize::from(day) + usize::from(unread) + 1 + line;
        let height = self.block_height(block, bw);
        let target = Pos {
            block,
            below: height.saturating_sub(1 + from_top),
        };
        self.normalize(vp);
        let bottom = self.anchor_pos(bw);
        let (top, _) = self.move_up(bottom, h.saturating_sub(1), bw);
        if h > 0 && top.order() <= target.order() && target.order() <= bottom.order() {
            return;
        }
        let (pos, _) = self.move_down(target, h / 2, bw);
        self.set_anchor(pos, bw);
        self.normalize(vp);
    }

    /// The rows to draw in an area of `vp`, top to bottom: at most `vp.height` of them,
    /// built by walking up from the anchor, so the cost is what is visible. Fewer rows
    /// than the height means everything loaded fits: draw them at the **bottom** of the
    /// area, so a page arriving above never moves them.
    pub fn visible_rows(&self, vp: Viewport) -> Vec<Row> {
        let h = usize::from(vp.height);
        if h == 0 || vp.width == 0 {
            return Vec::new();
        }
        let bw = body_width(vp.width);
        let (top, _) = self.move_up(self.anchor_pos(bw), h - 1, bw);
        let mut rows = Vec::with_capacity(h);
        let mut skip = self.block_height(top.block, bw) - 1 - top.below;
        for block in top.block..=self.len {
            let mut block_rows = self.block_rows(block, bw).into_iter().skip(skip);
            skip = 0;
            for row in block_rows.by_ref() {
                if rows.len() == h {
                    return rows;
                }
                rows.push(row);
            }
            if rows.len() == h {
                break;
            }
        }
        rows
    }

    fn top_row(&self) -> TopRow {
        if self.is_last {
            TopRow::Beginning
        } else if self.in_flight.is_some() {
            TopRow::Loading
        } else if self.error.is_some() {
            TopRow::Failed
        } else {
            TopRow::More
        }
    }

    fn block_rows(&self, block: usize, bw: u16) -> Vec<Row> {
        let Some(index) = block.checked_sub(1) else {
            return vec![Row::Top(self.top_row())];
        };
        let Some(e) = self.entry(index) else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        let (day, unread) = self.decorations(index);
        if day {
            rows.push(Row::Day {
                label: display::day_label(e.time, &self.tz),
            });
        }
        if unread {
            rows.push(Row::Unread { count: self.unread });
        }
        rows.push(Row::Header { index });
        if bw > 0 {
            rows.extend(
                text::wrap(&e.body, bw)
                    .into_iter()
                    .enumerate()
                    .map(|(line, text)| Row::Body { index, line, text }),
            );
        }
        rows
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChatType, Content};

    const T0: i64 = 1_709_640_000_000; // 2024-03-05 12:00 UTC

    fn msg(id: u64, time: i64, text: &str) -> Message {
        Message {
            id,
            from: "bob".into(),
            to: "alice".into(),
            chat_type: ChatType::Single,
            time,
            content: Content::Text { text: text.into() },
            ext: serde_json::Map::new(),
        }
    }

    fn history(unread: u32) -> History {
        let key = ConversationKey {
            id: "bob".into(),
            kind: ChatType::Single,
        };
        History::new(key, unread, TimeZone::UTC)
    }

    /// Loads `messages` (any order) as one page.
    fn load(h: &mut History, id: u64, messages: Vec<Message>, is_last: bool) -> Receipt {
        h.start_request(id);
        h.receive(
            id,
            Ok(HistoryPage {
                messages,
                next_cursor: (!is_last).then(|| format!("c{id}")),
                is_last,
            }),
        )
    }

    const VP: Viewport = Viewport {
        height: 10,
        width: 20,
    };

    #[test]
    fn overlaps_and_newer_messages_are_dropped() {
        let mut h = history(0);
        let page = (5..=10).map(|i| msg(i, T0 + i as i64, "x")).collect();
        assert_eq!(load(&mut h, 1, page, false), Receipt::Loaded { added: 6 });
        let overlap = (3..=8).rev().map(|i| msg(i, T0 + i as i64, "x")).collect();
        assert_eq!(
            load(&mut h, 2, overlap, false),
            Receipt::Loaded { added: 2 }
        );
        let ids: Vec<u64> = (0..h.len()).map(|i| h.message(i).unwrap().id).collect();
        assert_eq!(ids, [3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(h.pages(), 2);
        // Only the request in flight is answered.
        assert_eq!(
            h.receive(2, Err(FetchError::new("x", false))),
            Receipt::Stale
        );
    }

    #[test]
    fn bodies_at_walks_chunks_and_skips_what_is_not_loaded() {
        let mut h = history(0);
        // Three pages of 3, 2 and 4 messages; bodies name their ids; rev 0 = id 9.
        let mut id = 1;
        for (n, size) in [(1, 3), (2, 2), (3, 4)] {
            let first = 10 - id - size + 1;
            let page = (first..first + size)
                .map(|i| msg(i, T0 + i as i64, &format!("m{i}")))
                .collect();
            load(&mut h, n, page, n == 3);
            id += size;
        }
        assert_eq!(h.len(), 9);
        let want = |revs: &[usize]| -> Vec<(usize, String)> {
            revs.iter().map(|&r| (r, format!("m{}", 9 - r))).collect()
        };
        let got = |revs: Vec<usize>| -> Vec<(usize, String)> {
            h.bodies_at(revs).map(|(r, b)| (r, b.to_string())).collect()
        };
        let all: Vec<usize> = (0..9).collect();
        assert_eq!(got(all.clone()), want(&all));
        assert_eq!(got(vec![0, 3, 8]), want(&[0, 3, 8]), "sparse");
        assert_eq!(got(vec![2, 9, 40]), want(&[2]), "not loaded");
        assert_eq!(got(vec![7, 1, 5]), want(&[7, 1, 5]), "out of order");
        let from: Vec<(usize, String)> =
            h.bodies_from(0).map(|(r, b)| (r, b.to_string())).collect();
        assert_eq!(from, want(&all));
    }

    #[test]
    fn a_cursor_that_does_not_move_ends_paging() {
        let mut h = history(0);
        load(&mut h, 1, vec![msg(9, T0, "x")], false);
        assert_eq!(h.cursor(), Some("c1"));
        h.start_request(2);
        h.receive(
            2,
            Ok(HistoryPage {
                messages: Vec::new(),
                next_cursor: Some("c1".into()),
                is_last: false,
            }),
        );
        assert!(h.is_last() && !h.can_request());
    }

    #[test]
    fn rows_have_separators_headers_and_wrapped_bodies() {
        let mut h = history(1);
        let day = 86_400_000;
        let page = vec![
            msg(1, T0, "first"),
            msg(2, T0 + 1, "a body long enough to wrap twice"),
            msg(3, T0 + day, "next day"),
        ];
        load(&mut h, 1, page, true);
        let rows = h.visible_rows(Viewport {
            height: 30,
            width: 20,
        });
        let labels: Vec<String> = rows
            .iter()
            .map(|r| match r {
                Row::Top(t) => t.label().to_string(),
                Row::Day { label } => format!("day {label}"),
                Row::Unread { count } => format!("unread {count}"),
                Row::Header { index } => format!("header {index}"),
                Row::Body { index, line, text } => {
                    format!("{index}.{line} {}", text.as_str(h.body(*index).unwrap()))
                }
            })
            .collect();
        assert_eq!(
            labels,
            [
                "── beginning of conversation ──",
                "day 2024-03-05 Tue",
                "header 0",
                "0.0 first",
                "header 1",
                // Wrapped at body_width(20) = 18 columns.
                "1.0 a body long enough",
                "1.1 to wrap twice",
                "day 2024-03-06 Wed",
                "unread 1",
                "header 2",
                "2.0 next day",
            ]
        );
    }

    #[test]
    fn line_counts_follow_the_width() {
        let mut h = history(0);
        let text = "word ".repeat(40);
        load(&mut h, 1, vec![msg(1, T0, &text)], true);
        let e = h.entry(0).unwrap();
        let wide = h.body_lines(e, 100);
        let narrow = h.body_lines(e, 20);
        assert_eq!(e.lines.get(), (20, narrow as u32));
        assert!(narrow > wide);
        assert_eq!(narrow, text::wrap(&e.body, 20).len());
        assert_eq!(h.body_lines(e, 0), 0);
    }

    #[test]
    fn scrolling_stops_at_both_ends_and_keeps_the_view_full() {
        let mut h = history(0);
        let page = (1..=30).map(|i| msg(i, T0 + i as i64, "x")).collect();
        load(&mut h, 1, page, true);
        // 1 top row + 1 day + 30 × 2 = 62 rows; the view is 10.
        h.scroll_up(1000, VP);
        let rows = h.visible_rows(VP);
        assert_eq!(rows.len(), 10);
        assert_eq!(rows[0], Row::Top(TopRow::Beginning));
        let top_anchor = h.anchor();
        h.scroll_up(1, VP);
        assert_eq!(h.anchor(), top_anchor, "no further than the top");
        h.scroll_down(3, VP);
        h.scroll_to_oldest(VP);
        assert_eq!(h.anchor(), top_anchor);
        h.scroll_down(1000, VP);
        assert_eq!(h.anchor(), None, "at the newest the anchor is forgotten");
        assert!(!h.scrolled_away());
        // Short content: everything, fewer rows than the height.
        let mut short = history(0);
        load(&mut short, 1, vec![msg(1, T0, "x")], true);
        short.scroll_up(5, VP);
        assert_eq!(short.visible_rows(VP).len(), 4);
        assert_eq!(short.anchor(), None);
    }

    #[test]
    fn reveal_moves_only_when_needed() {
        let mut h = history(0);
        let page = (1..=30)
            .map(|i| msg(i, T0 + i as i64, &format!("m{i}")))
            .collect();
        load(&mut h, 1, page, true);
        h.reveal(29, 0, VP);
        assert_eq!(h.anchor(), None, "the newest is visible already");
        h.reveal(0, 0, VP);
        let rows = h.visible_rows(VP);
        assert!(rows.contains(&Row::Header { index: 0 }));
        let a = h.anchor();
        h.reveal(1, 0, VP);
        assert_eq!(h.anchor(), a, "also visible: nothing moves");
    }

    #[test]
    fn empty_and_degenerate_viewports() {
        let mut h = history(0);
        assert!(h.wants_older(VP), "nothing loaded: fetch the newest page");
        for vp in [
            Viewport::default(),
            Viewport {
                height: 1,
                width: 1,
            },
        ] {
            assert!(h.visible_rows(vp).len() <= 1);
            h.scroll_up(3, vp);
            h.scroll_down(3, vp);
            h.normalize(vp);
        }
        load(&mut h, 1, vec![msg(1, T0, "你好🎉")], false);
        let one = Viewport {
            height: 1,
            width: 1,
        };
        h.scroll_to_oldest(one);
        assert_eq!(h.visible_rows(one).len(), 1);
        assert!(!h.wants_older(Viewport::default()));
    }
}

#[cfg(test)]
mod compact_tests {
    use super::*;
    use crate::protocol::Attachment;

    fn text(id: u64, text: &str) -> Message {
        Message {
            id,
            from: "bob".into(),
            to: "team".into(),
            chat_type: ChatType::Group,
            time: 1_709_640_000_000 + id as i64,
            content: Content::Text { text: text.into() },
            ext: Map::new(),
        }
    }

    #[test]
    fn messages_come_back_as_they_arrived() {
        let key = ConversationKey {
            id: "team".into(),
            kind: ChatType::Group,
        };
        let mut h = History::new(key, 0, TimeZone::UTC);
        let mut ext = Map::new();
        ext.insert("em_ignore_notification".into(), Value::Bool(true));
        let sent = vec![
            text(1, "plain 你好 👋\nsecond line"),
            text(2, "hostile \u{1b}[31mred\u{202e}"),
            Message {
                ext,
                ..text(3, "with ext")
            },
            Message {
                content: Content::Image {
                    file: Attachment::default(),
                    size: None,
                    gif: false,
                },
                ..text(4, "")
            },
        ];
        assert_eq!(h.start_request(9), Some(None));
        let page = HistoryPage {
            messages: sent.iter().rev().cloned().collect(),
            next_cursor: None,
            is_last: true,
        };
        assert_eq!(h.receive(9, Ok(page)), Receipt::Loaded { added: 4 });
        let back: Vec<Message> = (0..h.len()).filter_map(|i| h.message(i)).collect();
        assert_eq!(back, sent);
        assert_eq!(h.sender(3), Some("bob"));
        assert_eq!(h.time(0), Some(1_709_640_000_001));
        assert_eq!(h.body(0), Some("plain 你好 👋\nsecond line"));
        assert!(!h.body(1).unwrap_or_default().contains('\u{1b}'));
        assert_eq!(h.names.len(), 2, "names are stored once");
    }
}
