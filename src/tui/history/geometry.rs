//! The window as rows: block heights, walking up and down from the anchor, and the rows a
//! view shows. Block 0 is the top row, block `i + 1` is message `i`, and while newer
//! messages remain on the server block `len + 1` is the bottom row.

use super::{EdgeRow, Entry, Fit, GROUP_GAP_MS, History, Row, Viewport};
use crate::tui::display;
use crate::tui::text;

/// A position in the content: `block` as above; `below` counts lines of the block below
/// the position (0 = its last line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Pos {
    pub(super) block: usize,
    pub(super) below: usize,
}

impl Pos {
    /// A key that orders positions top to bottom.
    pub(super) fn order(self) -> (usize, usize) {
        (self.block, usize::MAX - self.below)
    }
}

/// The rows drawn above a message's header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Decorations {
    /// A day separator: the first loaded message of its day.
    pub(super) day: bool,
    /// The unread divider: the oldest unread message.
    pub(super) unread: bool,
    /// The jump marker: the first message at the time jumped to.
    pub(super) marker: bool,
}

impl Decorations {
    /// How many rows they take.
    pub(super) fn rows(self) -> usize {
        usize::from(self.day) + usize::from(self.unread) + usize::from(self.marker)
    }
}

impl History {
    pub(super) fn body_lines(&self, e: &Entry, bw: Fit) -> usize {
        if bw.width == 0 {
            return 0;
        }
        let (w, n) = e.lines.get();
        if w == bw.width {
            return n as usize;
        }
        let n = text::line_count(&e.body, bw.width);
        e.lines
            .set((bw.width, u32::try_from(n).unwrap_or(u32::MAX)));
        n
    }

    /// Message `index` continues its sender's run: the message before it is loaded, from
    /// the same sender, on the same day, at most [`GROUP_GAP_MS`] older, and nothing is
    /// drawn between them. It shares that message's header.
    pub(super) fn continues_run(&self, index: usize) -> bool {
        let (Some(prev), Some(e)) = (
            index.checked_sub(1).and_then(|p| self.entry(p)),
            self.entry(index),
        ) else {
            return false;
        };
        let gap = e.time.saturating_sub(prev.time);
        prev.from == e.from
            && (0..=GROUP_GAP_MS).contains(&gap)
            && self.decorations(index).rows() == 0
    }

    /// Whether message `index` has a header row of its own: the comfortable layout's
    /// first message of a run (the compact layout puts sender and time on the first line).
    pub(super) fn has_header(&self, index: usize, bw: Fit) -> bool {
        !bw.compact && !self.continues_run(index)
    }

    /// The rows of message `index`'s block above its first body line.
    pub(super) fn head_rows(&self, index: usize, bw: Fit) -> usize {
        self.decorations(index).rows() + usize::from(self.has_header(index, bw))
    }

    /// The rows above message `index`'s header.
    pub(super) fn decorations(&self, index: usize) -> Decorations {
        let Some(e) = self.entry(index) else {
            return Decorations::default();
        };
        let day = match index.checked_sub(1) {
            None => true,
            Some(prev) => self.entry(prev).is_none_or(|p| p.day != e.day),
        };
        let pos = self.position_of(index);
        Decorations {
            day,
            unread: self.unread.count > 0 && self.unread.pos.is_some() && self.unread.pos == pos,
            marker: pos.is_some() && self.marker.map(|(p, _)| p) == pos,
        }
    }

    fn has_bottom_row(&self) -> bool {
        !self.newer.done
    }

    /// The last block: the bottom row when there is one, else the newest message (or the
    /// top row of an empty window).
    pub(super) fn last_block(&self) -> usize {
        self.len + usize::from(self.has_bottom_row())
    }

    pub(super) fn block_height(&self, block: usize, bw: Fit) -> usize {
        let Some(index) = block.checked_sub(1).filter(|&i| i < self.len) else {
            return 1;
        };
        let Some(e) = self.entry(index) else {
            return 1;
        };
        // At least one row: a block is never empty, whatever the width.
        (self.head_rows(index, bw) + self.body_lines(e, bw)).max(1)
    }

    pub(super) fn end_pos(&self) -> Pos {
        Pos {
            block: self.last_block(),
            below: 0,
        }
    }

    /// Where the anchor is, clamped to its block (it may come from another width).
    pub(super) fn anchor_pos(&self, bw: Fit) -> Pos {
        match self.anchor.and_then(|a| self.index_of_position(a.pos)) {
            Some(index) => {
                let block = index + 1;
                let lines_below = self.anchor.map_or(0, |a| a.lines_below);
                let below = lines_below.min(self.block_height(block, bw) - 1);
                Pos { block, below }
            }
            None => self.end_pos(),
        }
    }

    /// Moves up `n` lines, stopping at the top row; returns where and how far it got.
    pub(super) fn move_up(&self, mut pos: Pos, n: usize, bw: Fit) -> (Pos, usize) {
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

    /// Moves down `n` lines, stopping at the last line of the last block.
    pub(super) fn move_down(&self, mut pos: Pos, n: usize, bw: Fit) -> (Pos, usize) {
        let last = self.last_block();
        let mut left = n;
        loop {
            if left <= pos.below {
                pos.below -= left;
                return (pos, n);
            }
            if pos.block >= last {
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

    /// The rows to draw in an area of `vp`, top to bottom: at most `vp.height` of them,
    /// built by walking up from the anchor, so the cost is what is visible. Fewer rows
    /// than the height means everything loaded fits: draw them at the **bottom** of the
    /// area, so a page arriving above never moves them.
    pub fn visible_rows(&self, vp: Viewport) -> Vec<Row> {
        let h = usize::from(vp.height);
        if h == 0 || vp.width == 0 {
            return Vec::new();
        }
        let bw = Fit::of(vp);
        let (top, _) = self.move_up(self.anchor_pos(bw), h - 1, bw);
        let mut rows = Vec::with_capacity(h);
        let mut skip = self.block_height(top.block, bw) - 1 - top.below;
        for block in top.block..=self.last_block() {
            for row in self.block_rows(block, bw).into_iter().skip(skip) {
                if rows.len() == h {
                    return rows;
                }
                rows.push(row);
            }
            skip = 0;
            if rows.len() == h {
                break;
            }
        }
        rows
    }

    /// The index of the topmost message in the view (or of the one just below the top
    /// row): whose day the sticky date row shows.
    pub fn top_index(&self, vp: Viewport) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let bw = Fit::of(vp);
        let h = usize::from(vp.height).max(1);
        let (top, _) = self.move_up(self.anchor_pos(bw), h - 1, bw);
        Some(top.block.saturating_sub(1).min(self.len - 1))
    }

    fn edge_row(&self, older: bool) -> EdgeRow {
        let edge = if older { &self.older } else { &self.newer };
        if older && edge.done {
            EdgeRow::Beginning
        } else if edge.in_flight.is_some() {
            EdgeRow::Loading
        } else if edge.error.is_some() {
            EdgeRow::Failed
        } else {
            EdgeRow::More
        }
    }

    fn block_rows(&self, block: usize, bw: Fit) -> Vec<Row> {
        let Some(index) = block.checked_sub(1) else {
            return vec![Row::Top(self.edge_row(true))];
        };
        if index == self.len && self.has_bottom_row() {
            return vec![Row::Bottom(self.edge_row(false))];
        }
        let Some(e) = self.entry(index) else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        let d = self.decorations(index);
        if d.day {
            rows.push(Row::Day {
                label: display::day_label(e.time, &self.tz),
            });
        }
        if d.unread {
            rows.push(Row::Unread {
                count: self.unread.count,
            });
        }
        if let (true, Some((_, time))) = (d.marker, self.marker) {
            rows.push(Row::Marker { time });
        }
        if self.has_header(index, bw) {
            rows.push(Row::Header { index });
        }
        if bw.width > 0 {
            rows.extend(
                text::wrap(&e.body, bw.width)
                    .into_iter()
                    .enumerate()
                    .map(|(line, text)| Row::Body { index, line, text }),
            );
        }
        rows
    }
}
