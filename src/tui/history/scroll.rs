//! Moving the view: scrolling, jumping within the window, revealing a search match, and
//! putting the view where a new window wants it once its pages are in.

use super::geometry::Pos;
use super::{Anchor, Fit, History, Place, Viewport};
use crate::tui::text;

impl History {
    /// Sets the anchor to `pos` (`None` at the bottom) and with it whether the view follows
    /// the newest message.
    pub(super) fn set_anchor(&mut self, pos: Pos, bw: Fit) {
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
        self.anchor = if pos == self.end_pos() || pos.block == 0 || pos.block > self.len {
            None
        } else {
            let index = pos.block - 1;
            match (self.position_of(index), self.entry(index)) {
                (Some(p), Some(e)) => Some(Anchor {
                    id: e.id,
                    lines_below: pos.below,
                    pos: p,
                }),
                _ => None,
            }
        };
        self.follow = self.anchor.is_none() && self.live;
        if self.follow {
            self.arrived = 0;
        }
    }

    /// Keeps the view full: when the anchor is less than a screen below the top of the
    /// content (after a resize, say), moves it down. Also forgets an anchor that sits at
    /// the bottom.
    pub fn normalize(&mut self, vp: Viewport) {
        let bw = Fit::of(vp);
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
        let bw = Fit::of(vp);
        let (pos, _) = self.move_up(self.anchor_pos(bw), n, bw);
        self.set_anchor(pos, bw);
        self.normalize(vp);
    }

    /// Scrolls toward newer messages by `n` lines, no further than the bottom.
    pub fn scroll_down(&mut self, n: usize, vp: Viewport) {
        let bw = Fit::of(vp);
        let (pos, _) = self.move_down(self.anchor_pos(bw), n, bw);
        self.set_anchor(pos, bw);
        self.normalize(vp);
    }

    /// Shows the oldest loaded message (and the top row) at the top of the view.
    pub fn scroll_to_oldest(&mut self, vp: Viewport) {
        let bw = Fit::of(vp);
        let top = Pos { block: 0, below: 0 };
        let (pos, _) = self.move_down(top, usize::from(vp.height).saturating_sub(1), bw);
        self.set_anchor(pos, bw);
    }

    /// To the bottom of what is loaded: in a live window, the newest message, which the
    /// view then follows.
    pub fn scroll_to_bottom(&mut self) {
        self.anchor = None;
        self.follow = self.live;
        if self.live {
            self.arrived = 0;
        }
    }

    /// Puts the anchor back where it was (search's Esc). An anchor from before a resize is
    /// fine: its line offset is clamped to the block; one of another window is ignored.
    pub fn restore_anchor(&mut self, anchor: Option<Anchor>, vp: Viewport) {
        let valid = anchor.filter(|a| {
            self.index_of_position(a.pos)
                .and_then(|i| self.id_of(i))
                .is_some_and(|id| id == a.id)
        });
        if anchor.is_some() && valid.is_none() {
            return;
        }
        self.anchor = valid;
        self.follow = self.anchor.is_none() && self.live;
        self.normalize(vp);
    }

    /// Makes the line holding byte `byte` of message `index`'s body visible. When it
    /// already is, nothing moves; otherwise it is placed mid-screen.
    pub fn reveal(&mut self, index: usize, byte: usize, vp: Viewport) {
        let Some(e) = self.entry(index) else {
            return;
        };
        let bw = Fit::of(vp);
        let h = usize::from(vp.height);
        let block = index + 1;
        let lines = text::wrap(&e.body, bw.width);
        let line = lines.iter().rposition(|l| l.start <= byte).unwrap_or(0);
        let from_top = self.head_rows(index, bw) + line;
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

    /// Puts message `index`'s block (its separators included) at the top of the view, as
    /// far as what is loaded below allows.
    pub fn show_at_top(&mut self, index: usize, vp: Viewport) {
        if index >= self.len {
            return;
        }
        let bw = Fit::of(vp);
        let block = index + 1;
        let top = Pos {
            block,
            below: self.block_height(block, bw) - 1,
        };
        let (pos, _) = self.move_down(top, usize::from(vp.height).saturating_sub(1), bw);
        self.set_anchor(pos, bw);
        self.normalize(vp);
    }

    /// Puts the view where the window's start wants it, once the pages that decides it are
    /// in: the top for the beginning; the first message at or after the time for a jump,
    /// marked (none at or after it: the bottom, the newest there is).
    pub(super) fn place_pending(&mut self, vp: Viewport) {
        match self.place {
            None => {}
            Some(Place::Oldest) if self.len > 0 => {
                self.place = None;
                self.scroll_to_oldest(vp);
            }
            Some(Place::Oldest) => {}
            Some(Place::Marker(time)) => {
                // Both first pages decide where the view goes: the newer one holds the
                // marked message, the older one whether a day separator is above it.
                if self.newer.in_flight.is_some()
                    || self.newer.error.is_some()
                    || self.older.in_flight.is_some()
                {
                    return;
                }
                self.place = None;
                self.mark_time(time, vp);
                if let Some(id) = self.select_when_placed.take() {
                    self.select_id(id, vp);
                }
            }
        }
    }

    /// Selects the message `id` once the window is placed (at once when it is placed and
    /// the message is loaded): a hit of a search of all history, opened.
    pub fn select_when_placed(&mut self, id: u64, vp: Viewport) {
        if self.place.is_some() {
            self.select_when_placed = Some(id);
        } else {
            self.select_id(id, vp);
        }
    }

    /// Selects the loaded message `id` and shows it; false when it is not loaded.
    pub fn select_id(&mut self, id: u64, vp: Viewport) -> bool {
        match self.index_of_id(id) {
            Some(i) => {
                self.select(i);
                self.reveal_message(i, vp);
                true
            }
            None => false,
        }
    }

    /// Shows the first loaded message at or after `time` at the top of the view, unmarked;
    /// with none at or after it, goes to the bottom.
    pub fn scroll_to_time(&mut self, time: i64, vp: Viewport) {
        match self.index_at_time(time) {
            Some(i) => self.show_at_top(i, vp),
            None => self.scroll_to_bottom(),
        }
    }

    /// Marks the first loaded message at or after `time` and shows it at the top of the
    /// view; with none at or after it, goes to the bottom (the newest there is).
    pub fn mark_time(&mut self, time: i64, vp: Viewport) {
        match self.index_at_time(time) {
            Some(i) => {
                self.marker = self.position_of(i).map(|p| (p, time));
                if i == 0 && self.at_beginning() {
                    // Nothing is older: show the beginning of the conversation above it.
                    self.scroll_to_oldest(vp);
                } else {
                    self.show_at_top(i, vp);
                }
            }
            None => {
                self.marker = None;
                self.scroll_to_bottom();
            }
        }
    }

    /// The view waits for the window's first pages to decide where it goes.
    pub fn is_placing(&self) -> bool {
        self.place.is_some()
    }

    /// Whether `time` (ms) falls within what is loaded: between the oldest and newest
    /// loaded messages, or beyond them where the window already reaches that end.
    pub fn covers_time(&self, time: i64) -> bool {
        let (Some(oldest), Some(newest)) = (
            self.time(0),
            self.len.checked_sub(1).and_then(|i| self.time(i)),
        ) else {
            return false;
        };
        (self.at_beginning() || oldest <= time) && (self.at_newest() || time <= newest)
    }

    /// The oldest unread message, once loaded: the divider is above it.
    pub fn unread_index(&self) -> Option<usize> {
        if self.unread.count == 0 {
            return None;
        }
        self.unread.pos.and_then(|p| self.index_of_position(p))
    }

    /// The message the jump marker is on, once known.
    pub fn marker_index(&self) -> Option<usize> {
        self.marker.and_then(|(p, _)| self.index_of_position(p))
    }
}
