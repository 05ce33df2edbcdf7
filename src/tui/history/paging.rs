//! How a window grows: the two edges, the requests they make and the pages they merge.
//!
//! Each edge pages its own way with the cursor of its last page: the older edge with
//! `is_positive=false` (newest first), the newer edge with `is_positive=true` (oldest
//! first). A window that starts at a time bounds each edge's requests by that time
//! (`endTime` older, `startTime` newer), so its two first pages meet exactly there. An
//! edge is *done* when the server says `is_last`, gives no cursor, or gives back the cursor
//! it was asked with (a cursor that does not move would ask for the same page forever).
//!
//! A live window's newer edge is done until something newer is asked for: a refresh asks
//! with `startTime` at the newest loaded message and no cursor, keeps what is newer and,
//! when more than a page arrived, pages on from the cursor the answer gives.

use super::{Anchor, Entry, History, Receipt, Start, Viewport};
use crate::protocol::{Direction, HistoryPage, HistoryQuery, Message};
use crate::tui::event::FetchError;

/// Messages per history page (the protocol's maximum).
pub const PAGE_SIZE: u32 = 50;

/// Which end of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The older end: pages come newest first and are prepended.
    Older,
    /// The newer end: pages come oldest first and are appended.
    Newer,
}

/// A request that has not been answered yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// The id the answer must carry to be accepted.
    pub request_id: u64,
    /// The cursor asked with; `None` = from the edge's end (or a time bound).
    pub cursor: Option<String>,
}

/// One end of a window: where to continue and what is in flight.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edge {
    cursor: Option<String>,
    pub(super) done: bool,
    pub(super) in_flight: Option<InFlight>,
    pub(super) error: Option<FetchError>,
}

impl Edge {
    pub(super) fn new(done: bool) -> Edge {
        Edge {
            done,
            ..Edge::default()
        }
    }

    /// The server has nothing further this way: the beginning of the conversation (older)
    /// or the newest message as of the last answer (newer).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The cursor of the next page this way, when there is one.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// The request in flight this way.
    pub fn in_flight(&self) -> Option<&InFlight> {
        self.in_flight.as_ref()
    }

    /// Why the last request this way failed, until the next one starts.
    pub fn error(&self) -> Option<&FetchError> {
        self.error.as_ref()
    }
}

impl History {
    /// One edge of the window.
    pub fn edge(&self, side: Side) -> &Edge {
        match side {
            Side::Older => &self.older,
            Side::Newer => &self.newer,
        }
    }

    fn edge_mut(&mut self, side: Side) -> &mut Edge {
        match side {
            Side::Older => &mut self.older,
            Side::Newer => &mut self.newer,
        }
    }

    /// The server has nothing older than what is loaded.
    pub fn at_beginning(&self) -> bool {
        self.older.done
    }

    /// Nothing newer than what is loaded is known: the newer edge is done.
    pub fn at_newest(&self) -> bool {
        self.newer.done
    }

    /// A request in flight, either way (the older one first).
    pub fn in_flight(&self) -> Option<&InFlight> {
        self.older
            .in_flight
            .as_ref()
            .or(self.newer.in_flight.as_ref())
    }

    /// Whether a request may start this way now: nothing in flight this way, and the edge
    /// not done (a done newer edge of a live window may still be refreshed). A failed
    /// request is only retried on the person's word.
    pub fn can_request(&self, side: Side) -> bool {
        let edge = self.edge(side);
        edge.in_flight.is_none()
            && match side {
                Side::Older => !edge.done,
                Side::Newer => !edge.done || self.live,
            }
    }

    /// Marks a request this way as in flight and returns the query to send, or `None`
    /// when none may start (see [`can_request`](Self::can_request)). Clears the edge's
    /// error: this is also how a retry starts.
    pub fn start_request(&mut self, side: Side, request_id: u64) -> Option<HistoryQuery> {
        if !self.can_request(side) {
            return None;
        }
        let mut filters = self.filters.clone();
        let newest = self
            .len
            .checked_sub(1)
            .and_then(|i| self.entry(i))
            .map(|e| e.time);
        let edge = self.edge(side);
        let cursor = if edge.done { None } else { edge.cursor.clone() };
        let direction = match side {
            Side::Older => {
                if let Start::At(t) = self.start {
                    let before = t.saturating_sub(1);
                    filters.end_time = Some(filters.end_time.map_or(before, |e| e.min(before)));
                }
                Direction::Up
            }
            Side::Newer => {
                let bound = match (edge.done, self.start) {
                    // A refresh: whatever is at or after the newest loaded message.
                    (true, _) => newest,
                    (false, Start::At(t)) => Some(t),
                    (false, _) => None,
                };
                if let Some(b) = bound {
                    filters.start_time = Some(filters.start_time.map_or(b, |s| s.max(b)));
                }
                Direction::Down
            }
        };
        let edge = self.edge_mut(side);
        edge.error = None;
        edge.in_flight = Some(InFlight {
            request_id,
            cursor: cursor.clone(),
        });
        Some(HistoryQuery {
            conversation: self.key.id.clone(),
            kind: self.key.kind,
            cursor,
            page_size: PAGE_SIZE,
            direction,
            filters,
        })
    }

    /// Forgets the request in flight this way (its answer will be stale), without an error:
    /// a cancelled operation.
    pub fn cancel_request(&mut self, side: Side) {
        self.edge_mut(side).in_flight = None;
    }

    /// Takes an answer. Only a request in flight is accepted; a page is merged at its end
    /// (older pages before everything loaded, newer after), keeping the view where it is;
    /// a failure is kept on its edge for the status line and loaded messages stay.
    pub fn receive(
        &mut self,
        request_id: u64,
        result: Result<HistoryPage, FetchError>,
        vp: Viewport,
    ) -> Receipt {
        let side = match (&self.older.in_flight, &self.newer.in_flight) {
            (Some(f), _) if f.request_id == request_id => Side::Older,
            (_, Some(f)) if f.request_id == request_id => Side::Newer,
            _ => return Receipt::Stale,
        };
        let edge = self.edge_mut(side);
        let asked = edge.in_flight.take().and_then(|f| f.cursor);
        let page = match result {
            Err(e) => {
                edge.error = Some(e);
                return Receipt::Failed;
            }
            Ok(page) => page,
        };
        self.pages += 1;
        let next = page.next_cursor.filter(|c| !c.is_empty());
        let stuck = asked.is_some() && next == asked;
        let edge = self.edge_mut(side);
        edge.done = page.is_last || next.is_none() || stuck;
        edge.cursor = if edge.done { None } else { next };
        let added = match side {
            Side::Older => self.prepend(page.messages),
            Side::Newer => self.append(page.messages, vp),
        };
        if side == Side::Older && self.pages == 1 && self.start == Start::Newest {
            // The first page of a window at the newest message: count the unread from it.
            if self.unread.count > 0 {
                self.unread.pos = Some(self.end_position() - i64::from(self.unread.count));
            }
        }
        if side == Side::Newer && self.newer.done {
            self.live = true;
        }
        self.place_pending(vp);
        Receipt::Loaded { side, added }
    }

    /// `messages` (any order), sorted, deduplicated, keeping only what `keep` accepts.
    fn sorted(mut messages: Vec<Message>, keep: impl Fn((i64, u64)) -> bool) -> Vec<Message> {
        messages.retain(|m| keep((m.time, m.id)));
        messages.sort_by_key(|m| (m.time, m.id));
        messages.dedup_by_key(|m| (m.time, m.id));
        messages
    }

    /// Adds messages older than everything loaded, dropping the rest.
    fn prepend(&mut self, messages: Vec<Message>) -> usize {
        let oldest = self.entry(0).map(|e| e.key());
        let messages = Self::sorted(messages, |k| oldest.is_none_or(|o| k < o));
        if messages.is_empty() {
            return 0;
        }
        let mut chunk: Vec<Entry> = messages.into_iter().map(|m| self.entry_of(m)).collect();
        // The collect reuses the page's buffer (entries are smaller than messages): give
        // back what the entries do not use.
        chunk.shrink_to_fit();
        let added = chunk.len();
        if self.len > 0 {
            // The first page keeps position 0 for its oldest message.
            self.first -= added as i64;
        }
        self.len += added;
        self.starts.push_front(self.first);
        self.chunks.push_front(chunk);
        added
    }

    /// Adds messages newer than everything loaded, dropping the rest. The view stays where
    /// it is unless it follows the newest message; messages arriving in a live window
    /// while the view is elsewhere are counted for the "new messages" bar.
    fn append(&mut self, messages: Vec<Message>, vp: Viewport) -> usize {
        let newest = self
            .len
            .checked_sub(1)
            .and_then(|i| self.entry(i))
            .map(|e| e.key());
        let messages = Self::sorted(messages, |k| newest.is_none_or(|n| k > n));
        if messages.is_empty() {
            return 0;
        }
        let was_empty = self.len == 0;
        let new_first = self.end_position();
        let added = messages.len();
        // Small pages (a refresh's few new messages) extend the newest chunk instead of
        // making chunks of one.
        let room = self
            .chunks
            .back()
            .map_or(0, |c| (PAGE_SIZE as usize).saturating_sub(c.len()));
        let entries: Vec<Entry> = messages.into_iter().map(|m| self.entry_of(m)).collect();
        match self.chunks.back_mut() {
            Some(last) if added <= room => last.extend(entries),
            _ => {
                let mut chunk = entries;
                chunk.shrink_to_fit();
                self.starts.push_back(new_first);
                self.chunks.push_back(chunk);
            }
        }
        self.len += added;
        if self.live && !self.follows() {
            self.arrived += added;
        }
        if self.anchor.is_none() && !self.follows() && !was_empty {
            // The view was at the bottom row ("newer messages…"): keep what is read where
            // it is by putting the first new message's top line there.
            let bw = super::Fit::of(vp);
            let block = usize::try_from(new_first - self.first).unwrap_or(0) + 1;
            let height = self.block_height(block, bw);
            self.anchor = self.entry_at(new_first).map(|e| Anchor {
                id: e.id,
                lines_below: height.saturating_sub(1),
                pos: new_first,
            });
        }
        added
    }

    /// True when the view is within about a screen of the loaded end on `side` and a page
    /// may be requested that way: time to prefetch. An empty window wants its first pages.
    pub fn wants(&self, side: Side, vp: Viewport) -> bool {
        let edge = self.edge(side);
        if edge.done || edge.in_flight.is_some() || edge.error.is_some() {
            return false;
        }
        if self.len == 0 {
            return true;
        }
        if self.place.is_some() {
            // The view is not where it will be until the first pages are in: nothing to
            // prefetch for yet.
            return false;
        }
        let h = usize::from(vp.height);
        if h == 0 {
            return false;
        }
        let bw = super::Fit::of(vp);
        let pos = self.anchor_pos(bw);
        match side {
            Side::Older => {
                // Rows above the top of the view < h  ⇔  rows above the bottom row < 2h - 1.
                let need = 2 * h - 1;
                let (_, moved) = self.move_up(pos, need, bw);
                moved < need
            }
            Side::Newer => {
                let (_, moved) = self.move_down(pos, h, bw);
                moved < h
            }
        }
    }

    /// True when a refresh may start: the window is at the newest message and nothing is
    /// asked of its newer edge.
    pub fn can_refresh(&self) -> bool {
        self.live && self.newer.done && self.newer.in_flight.is_none()
    }
}
