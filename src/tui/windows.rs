//! A conversation's windows: the one shown, the one shown before the last jump (for
//! back, `''`), and, while a filter is on, the unfiltered one it will return to.
//!
//! Every window keeps paging on its own: an answer finds the window waiting for it by its
//! request id ([`Windows::waiting_for`]), shown or not.

use super::history::History;

/// The windows of one conversation.
#[derive(Debug)]
pub struct Windows {
    shown: History,
    back: Option<History>,
    unfiltered: Option<History>,
}

impl Windows {
    /// A conversation opened with its first window.
    pub fn new(first: History) -> Windows {
        Windows {
            shown: first,
            back: None,
            unfiltered: None,
        }
    }

    /// The window shown.
    pub fn shown(&self) -> &History {
        &self.shown
    }

    /// The window shown, to change.
    pub fn shown_mut(&mut self) -> &mut History {
        &mut self.shown
    }

    /// The window back goes to.
    pub fn back(&self) -> Option<&History> {
        self.back.as_ref()
    }

    /// The unfiltered window under a filtered one.
    pub fn unfiltered(&self) -> Option<&History> {
        self.unfiltered.as_ref()
    }

    /// A filter is on: the shown window is a filtered one.
    pub fn is_filtered(&self) -> bool {
        self.unfiltered.is_some()
    }

    /// Shows `to`, keeping the window shown until now for back.
    pub fn jump(&mut self, to: History) {
        self.back = Some(std::mem::replace(&mut self.shown, to));
    }

    /// Shows the window before the last jump, keeping this one for back again. False when
    /// there is none.
    pub fn go_back(&mut self) -> bool {
        match self.back.as_mut() {
            Some(back) => {
                std::mem::swap(back, &mut self.shown);
                true
            }
            None => false,
        }
    }

    /// Drops the shown window when it is a jump still waiting for its first pages, and
    /// shows the one it was jumped from. True when it did.
    pub fn cancel_jump(&mut self) -> bool {
        if !(self.shown.is_placing() && self.shown.in_flight().is_some()) {
            return false;
        }
        match self.back.take() {
            Some(back) => {
                self.shown = back;
                true
            }
            None => false,
        }
    }

    /// Shows the filtered window `filtered`. The unfiltered window is kept to return to;
    /// another filter's window is kept for back.
    pub fn filter(&mut self, filtered: History) {
        if self.unfiltered.is_some() {
            self.jump(filtered);
        } else {
            self.unfiltered = Some(std::mem::replace(&mut self.shown, filtered));
            self.back = None;
        }
    }

    /// Shows the unfiltered window again and returns the filtered one it replaces; `None`
    /// (and nothing changes) when no filter is on.
    pub fn clear_filter(&mut self) -> Option<History> {
        let unfiltered = self.unfiltered.take()?;
        self.back = None;
        Some(std::mem::replace(&mut self.shown, unfiltered))
    }

    /// Replaces the shown window (a new unfiltered window under a cleared filter, say)
    /// without keeping the old one for back.
    pub fn replace(&mut self, with: History) {
        self.shown = with;
    }

    /// The window with request `request_id` in flight, shown or not.
    pub fn waiting_for(&mut self, request_id: u64) -> Option<&mut History> {
        let waits = |h: &History| {
            [super::history::Side::Older, super::history::Side::Newer]
                .iter()
                .any(|&s| {
                    h.edge(s)
                        .in_flight()
                        .is_some_and(|f| f.request_id == request_id)
                })
        };
        if waits(&self.shown) {
            return Some(&mut self.shown);
        }
        if self.back.as_ref().is_some_and(waits) {
            return self.back.as_mut();
        }
        if self.unfiltered.as_ref().is_some_and(waits) {
            return self.unfiltered.as_mut();
        }
        None
    }

    /// Every window kept.
    pub fn all(&self) -> impl Iterator<Item = &History> {
        std::iter::once(&self.shown)
            .chain(self.back.as_ref())
            .chain(self.unfiltered.as_ref())
    }
}
