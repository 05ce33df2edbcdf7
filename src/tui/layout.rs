//! Where each part of the screen goes. The state machine uses it to map mouse clicks and to
//! know how many rows the history shows; the views use the same function to draw, so a
//! click always lands on what was drawn there.
//!
//! ```text
//! ┌ conversations ─┐┌ history ─────────────────────┐
//! │ name      time ││ 2024-03-05 Tue ──────────────│   the sticky date row (a conversation open)
//! │ preview        ││ bob  14:03                   │   list: one item = LIST_ITEM_HEIGHT rows
//! │                ││   message body, indented     │   history: rows from History::visible_rows
//! │                ││ /search input (when open)    │
//! └────────────────┘└──────────────────────────────┘
//!  status line (or a prompt being typed)
//! ```
//! Below [`DUAL_MIN_WIDTH`] columns only the focused pane is shown, full width.

use ratatui::layout::Rect;

/// Narrower than this, the panes collapse to one at a time.
pub const DUAL_MIN_WIDTH: u16 = 80;

/// Rows each conversation takes in the list: name line and preview line.
pub const LIST_ITEM_HEIGHT: u16 = 2;

/// Which pane has the keyboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Pane {
    /// The conversation list.
    #[default]
    List,
    /// The history of the open conversation.
    History,
}

/// The rectangles of one frame. Panes that are not shown are `None`; inner rectangles are
/// inside a one-cell border.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// The conversation list pane, border included.
    pub list: Option<Rect>,
    /// Inside the list pane's border: where items are drawn.
    pub list_inner: Option<Rect>,
    /// The history pane, border included.
    pub history: Option<Rect>,
    /// The sticky date row: the first row inside the history border, while a
    /// conversation is open and the pane has room.
    pub date: Option<Rect>,
    /// Where the history rows go: inside the border, below the date row, above the search
    /// input.
    pub messages: Option<Rect>,
    /// The search input line, when search is being typed.
    pub search: Option<Rect>,
    /// The status line at the bottom.
    pub status: Rect,
}

/// The inside of a bordered rectangle.
fn inner(r: Rect) -> Rect {
    Rect {
        x: r.x.saturating_add(1),
        y: r.y.saturating_add(1),
        width: r.width.saturating_sub(2),
        height: r.height.saturating_sub(2),
    }
}

/// True when both panes fit side by side.
pub fn is_dual(width: u16) -> bool {
    width >= DUAL_MIN_WIDTH
}

/// Computes the layout of a `width`×`height` terminal. In single-pane mode `focus` picks
/// the pane shown; `search_open` reserves the last row of the history pane for the input;
/// `date_row` its first row for the sticky date (when it has at least three rows);
/// `list_width` the list's columns when both panes show (`None`: a third of the screen).
pub fn compute(
    width: u16,
    height: u16,
    focus: Pane,
    search_open: bool,
    date_row: bool,
    list_width: Option<u16>,
) -> Layout {
    let status = Rect {
        x: 0,
        y: height.saturating_sub(1),
        width,
        height: height.min(1),
    };
    let main = Rect {
        x: 0,
        y: 0,
        width,
        height: height.saturating_sub(1),
    };
    let (list, history) = if is_dual(width) {
        // A third of the screen, within reason: names and previews need about 24 columns,
        // and more than 40 only steals room from the messages. A configured width wins,
        // but the messages keep at least half the screen.
        let list_width = list_width
            .unwrap_or((width / 3).clamp(24, 40))
            .min(width / 2)
            .max(1);
        let list = Rect {
            width: list_width,
            ..main
        };
        let history = Rect {
            x: list_width,
            width: width - list_width,
            ..main
        };
        (Some(list), Some(history))
    } else {
        match focus {
            Pane::List => (Some(main), None),
            Pane::History => (None, Some(main)),
        }
    };
    let (date, below_date) = match history.map(inner) {
        Some(area) if date_row && area.height >= 3 => (
            Some(Rect { height: 1, ..area }),
            Some(Rect {
                y: area.y + 1,
                height: area.height - 1,
                ..area
            }),
        ),
        other => (None, other),
    };
    let (messages, search) = match below_date {
        Some(area) if search_open && area.height > 0 => {
            let messages = Rect {
                height: area.height - 1,
                ..area
            };
            let input = Rect {
                y: area.y + area.height - 1,
                height: 1,
                ..area
            };
            (Some(messages), Some(input))
        }
        other => (other, None),
    };
    Layout {
        list,
        list_inner: list.map(inner),
        history,
        date,
        messages,
        search,
        status,
    }
}

impl Layout {
    /// How many conversations fit in the list.
    pub fn list_capacity(&self) -> usize {
        self.list_inner
            .map_or(0, |r| usize::from(r.height / LIST_ITEM_HEIGHT))
    }
}

/// Rows each hit takes in the search-all view: where, who and when; then the snippet.
pub const HIT_HEIGHT: u16 = 2;

/// The search-all view: a bordered box over both panes, the query on its first inside
/// row, the hits below a blank row; the status line stays below it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchAllLayout {
    /// The box, border included.
    pub frame: Rect,
    /// The query row.
    pub input: Rect,
    /// Where hits are drawn, [`HIT_HEIGHT`] rows each.
    pub hits: Rect,
    /// The status line.
    pub status: Rect,
}

impl SearchAllLayout {
    /// How many hits fit (at least one, so moving through them always works).
    pub fn capacity(&self) -> usize {
        usize::from(self.hits.height / HIT_HEIGHT).max(1)
    }
}

/// Where the search-all view goes on a `width`×`height` terminal.
pub fn search_all(width: u16, height: u16) -> SearchAllLayout {
    let frame = Rect::new(0, 0, width, height.saturating_sub(1));
    let inside = inner(frame);
    let input = Rect {
        height: inside.height.min(1),
        ..inside
    };
    let hits = Rect {
        y: inside.y.saturating_add(2),
        height: inside.height.saturating_sub(2),
        ..inside
    };
    SearchAllLayout {
        frame,
        input,
        hits,
        status: Rect::new(0, height.saturating_sub(1), width, height.min(1)),
    }
}

/// True when the cell (`column`, `row`) is inside `r`.
pub fn contains(r: Rect, column: u16, row: u16) -> bool {
    column >= r.x
        && row >= r.y
        && u32::from(column) < u32::from(r.x) + u32::from(r.width)
        && u32::from(row) < u32::from(r.y) + u32::from(r.height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_screens_show_both_panes() {
        let l = compute(120, 40, Pane::List, false, false, None);
        let (list, history) = (l.list.unwrap(), l.history.unwrap());
        assert_eq!(list.width, 40);
        assert_eq!(list.width + history.width, 120);
        assert_eq!(list.height, 39);
        assert_eq!(l.status, Rect::new(0, 39, 120, 1));
        assert_eq!(l.messages.unwrap(), Rect::new(41, 1, 78, 37));
        assert_eq!(l.date, None);
        let s = compute(120, 40, Pane::List, true, true, None);
        assert_eq!(s.date.unwrap(), Rect::new(41, 1, 78, 1));
        assert_eq!(s.messages.unwrap(), Rect::new(41, 2, 78, 35));
        assert_eq!(s.search.unwrap(), Rect::new(41, 37, 78, 1));
    }

    #[test]
    fn a_configured_list_width_holds_but_leaves_the_messages_half() {
        let l = compute(120, 40, Pane::List, false, false, Some(30));
        assert_eq!(l.list.unwrap().width, 30);
        assert_eq!(l.history.unwrap().width, 90);
        let wide = compute(120, 40, Pane::List, false, false, Some(100));
        assert_eq!(wide.list.unwrap().width, 60);
    }

    #[test]
    fn narrow_screens_show_the_focused_pane() {
        let l = compute(60, 20, Pane::List, false, true, None);
        assert!(l.history.is_none() && l.list.is_some());
        let h = compute(60, 20, Pane::History, false, true, None);
        assert!(h.list.is_none());
        assert_eq!(h.history.unwrap().width, 60);
    }

    #[test]
    fn degenerate_sizes_do_not_underflow() {
        for (w, h) in [(0, 0), (1, 1), (2, 2), (80, 1), (1, 80)] {
            let l = compute(w, h, Pane::History, true, true, None);
            assert!(l.status.height <= 1);
            assert_eq!(l.list_capacity(), 0);
        }
        assert!(contains(Rect::new(1, 1, 2, 2), 2, 2));
        assert!(!contains(Rect::new(1, 1, 2, 2), 3, 1));
    }
}
