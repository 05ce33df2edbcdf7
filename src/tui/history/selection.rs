//! The selected message: the one details, the full view and copying act on. It is kept
//! by id and position, like the anchor, so pages added at either end, a resize or a search
//! moving the view never change which message it is.

use super::geometry::Pos;
use super::{Fit, History, Row, Viewport};

/// The selected message: its id and its position in the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Selected {
    pub(super) id: u64,
    pub(super) pos: i64,
}

impl History {
    /// The index of the selected message, while it is loaded.
    pub fn selected(&self) -> Option<usize> {
        let s = self.selected?;
        let index = self.index_of_position(s.pos)?;
        (self.id_of(index) == Some(s.id)).then_some(index)
    }

    /// The id of the selected message.
    pub fn selected_id(&self) -> Option<u64> {
        self.selected().and(self.selected.map(|s| s.id))
    }

    /// Selects message `index` without moving the view (a click).
    pub fn select(&mut self, index: usize) {
        if let (Some(id), Some(pos)) = (self.id_of(index), self.position_of(index)) {
            self.selected = Some(Selected { id, pos });
        }
    }

    /// Forgets the selection.
    pub fn clear_selection(&mut self) {
        self.selected = None;
    }

    /// The oldest and newest messages with at least one row in the view.
    pub fn visible_messages(&self, vp: Viewport) -> Option<(usize, usize)> {
        let mut indices = self.visible_rows(vp).into_iter().filter_map(|r| match r {
            Row::Header { index } | Row::Body { index, .. } => Some(index),
            _ => None,
        });
        let first = indices.next()?;
        Some((first, indices.next_back().unwrap_or(first)))
    }

    /// The message drawn on row `row` of the view (0 = its top row), if any: what a click
    /// there selects. Rows sit at the bottom of the view when they do not fill it.
    pub fn message_at_row(&self, row: u16, vp: Viewport) -> Option<usize> {
        let rows = self.visible_rows(vp);
        let blank = usize::from(vp.height).saturating_sub(rows.len());
        match rows.get(usize::from(row).checked_sub(blank)?)? {
            Row::Header { index } | Row::Body { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// Moves the selection `delta` messages (negative: older) and shows it. Without a
    /// selection in view, the newest message in view is selected first (moving older
    /// from a selection below the view, or without one) or the oldest (moving newer from
    /// one above it).
    pub fn step_selection(&mut self, delta: isize, vp: Viewport) {
        if self.len == 0 {
            return;
        }
        let view = self.visible_messages(vp);
        let target = match (self.selected(), view) {
            (Some(i), Some((top, bottom))) if (top..=bottom).contains(&i) => {
                i.saturating_add_signed(delta).min(self.len - 1)
            }
            (Some(i), Some((top, _))) if i < top && delta > 0 => top,
            (_, Some((_, bottom))) => bottom,
            (Some(i), None) => i,
            (None, None) => self.len - 1,
        };
        self.select(target);
        self.reveal_message(target, vp);
    }

    /// Scrolls as little as shows all of message `index`'s block (its top, when it is
    /// taller than the view).
    pub fn reveal_message(&mut self, index: usize, vp: Viewport) {
        if index >= self.len || vp.height == 0 {
            return;
        }
        let bw = Fit::of(vp);
        let h = usize::from(vp.height);
        self.normalize(vp);
        let block = index + 1;
        let height = self.block_height(block, bw);
        let bottom = self.anchor_pos(bw);
        let (top, _) = self.move_up(bottom, h - 1, bw);
        let block_top = Pos {
            block,
            below: height - 1,
        };
        let block_bottom = Pos { block, below: 0 };
        let top_seen = top.order() <= block_top.order();
        let bottom_seen = block_bottom.order() <= bottom.order();
        if top_seen && bottom_seen {
            return;
        }
        let anchor = if height > h {
            Pos {
                block,
                below: height - h,
            }
        } else if !bottom_seen {
            block_bottom
        } else {
            self.move_down(block_top, h - 1, bw).0
        };
        self.set_anchor(anchor, bw);
        self.normalize(vp);
    }
}
