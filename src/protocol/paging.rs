//! Every walk over cursor pages ends.
//!
//! The server decides what the next cursor is, and a broken or hostile one can hand back a
//! cursor it gave before (a cycle of any length), send empty pages that are never the last
//! while the cursor keeps changing, or hand out fresh cursors forever. A [`PageWalk`]
//! watches one walk (one load of the conversation list, one read of a history) and says when
//! to stop and why, so every loop that follows a server's cursors has an end no matter what
//! the server sends.
//!
//! Cursors are remembered by a keyed hash, not by their text: a cursor can be as large as a
//! response, and a walk of thousands of pages should not keep them all.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// How far one walk may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLimits {
    /// Pages in all, the first included.
    pub max_pages: usize,
    /// Pages in a row that bring nothing while saying more follow.
    pub max_empty_pages: usize,
}

impl PageLimits {
    /// One load of a conversation list. The service keeps at most 100 conversations per user
    /// (two pages of 50); 200 pages is 10,000 conversations, a hundred times that.
    pub const LIST: PageLimits = PageLimits {
        max_pages: 200,
        max_empty_pages: 10,
    };

    /// One read of a history. The length is the reader's to bound (a message count); what
    /// is bounded here is progress: a page may hold only events (acks, recalls) and so no
    /// message, but twenty such pages in a row (up to a thousand events) is a server that
    /// does not move.
    pub const HISTORY: PageLimits = PageLimits {
        max_pages: usize::MAX,
        max_empty_pages: 20,
    };
}

/// Why a walk was stopped before the server said it had ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PagingStop {
    /// The server handed back a cursor it had given before in this walk.
    #[error("the server repeated a cursor after {pages} pages; stopped instead of looping")]
    RepeatedCursor {
        /// Pages read, the repeating one included.
        pages: usize,
    },
    /// Too many pages in a row brought nothing and none said it was the last.
    #[error("{empty} pages in a row were empty but not the last; stopped after {pages} pages")]
    EmptyPages {
        /// Empty pages in a row.
        empty: usize,
        /// Pages read in all.
        pages: usize,
    },
    /// The walk reached its page cap without an end.
    #[error("no end after {pages} pages; stopped")]
    TooManyPages {
        /// Pages read.
        pages: usize,
    },
}

/// One walk over cursor pages: feed it each page with [`PageWalk::step`].
#[derive(Debug)]
pub struct PageWalk {
    limits: PageLimits,
    hasher: RandomState,
    seen: HashSet<u64>,
    pages: usize,
    empty_in_a_row: usize,
}

impl PageWalk {
    /// A walk from the first page.
    pub fn new(limits: PageLimits) -> PageWalk {
        PageWalk::starting_at(limits, None)
    }

    /// A walk that starts at `cursor` (continuing an earlier one): a server that hands that
    /// cursor back is repeating itself.
    pub fn starting_at(limits: PageLimits, cursor: Option<&str>) -> PageWalk {
        let mut walk = PageWalk {
            limits,
            hasher: RandomState::new(),
            seen: HashSet::new(),
            pages: 0,
            empty_in_a_row: 0,
        };
        if let Some(cursor) = cursor.filter(|c| !c.is_empty()) {
            walk.seen.insert(walk.hasher.hash_one(cursor));
        }
        walk
    }

    /// Counts one page that brought `items` things and points to `next` (`None` or `""`:
    /// the last page). `Ok` means follow `next` (or, without one, the walk is over); `Err`
    /// means stop here, and says why.
    pub fn step(&mut self, items: usize, next: Option<&str>) -> Result<(), PagingStop> {
        self.pages += 1;
        let Some(next) = next.filter(|c| !c.is_empty()) else {
            return Ok(());
        };
        if !self.seen.insert(self.hasher.hash_one(next)) {
            return Err(PagingStop::RepeatedCursor { pages: self.pages });
        }
        self.empty_in_a_row = if items == 0 {
            self.empty_in_a_row + 1
        } else {
            0
        };
        if self.empty_in_a_row >= self.limits.max_empty_pages {
            return Err(PagingStop::EmptyPages {
                empty: self.empty_in_a_row,
                pages: self.pages,
            });
        }
        if self.pages >= self.limits.max_pages {
            return Err(PagingStop::TooManyPages { pages: self.pages });
        }
        Ok(())
    }

    /// Pages counted so far.
    pub fn pages(&self) -> usize {
        self.pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: PageLimits = PageLimits {
        max_pages: 8,
        max_empty_pages: 3,
    };

    #[test]
    fn a_walk_follows_fresh_cursors_and_ends_at_the_last_page() {
        let mut walk = PageWalk::new(SMALL);
        assert_eq!(walk.step(2, Some("a")), Ok(()));
        assert_eq!(walk.step(2, Some("b")), Ok(()));
        assert_eq!(walk.step(0, None), Ok(()));
        assert_eq!(walk.pages(), 3);
        assert_eq!(PageWalk::new(SMALL).step(0, Some("")), Ok(()));
    }

    #[test]
    fn any_repeated_cursor_stops_the_walk_not_only_the_previous_one() {
        let mut walk = PageWalk::new(SMALL);
        walk.step(1, Some("a")).expect("a");
        walk.step(1, Some("b")).expect("b");
        assert_eq!(
            walk.step(1, Some("a")),
            Err(PagingStop::RepeatedCursor { pages: 3 })
        );
        let mut resumed = PageWalk::starting_at(SMALL, Some("x"));
        assert_eq!(
            resumed.step(1, Some("x")),
            Err(PagingStop::RepeatedCursor { pages: 1 })
        );
    }

    #[test]
    fn empty_pages_in_a_row_stop_the_walk_and_a_full_page_resets_the_count() {
        let mut walk = PageWalk::new(SMALL);
        walk.step(0, Some("a")).expect("1");
        walk.step(0, Some("b")).expect("2");
        walk.step(1, Some("c")).expect("a full page");
        walk.step(0, Some("d")).expect("1");
        walk.step(0, Some("e")).expect("2");
        assert!(matches!(
            walk.step(0, Some("f")),
            Err(PagingStop::EmptyPages { empty: 3, pages: 6 })
        ));
        let mut empty = PageWalk::new(SMALL);
        empty.step(0, Some("1")).expect("1");
        empty.step(0, Some("2")).expect("2");
        assert_eq!(
            empty.step(0, Some("3")),
            Err(PagingStop::EmptyPages { empty: 3, pages: 3 })
        );
    }

    #[test]
    fn the_page_cap_stops_a_walk_that_never_ends() {
        let cursors: Vec<String> = (1..=8).map(|i| i.to_string()).collect();
        let mut walk = PageWalk::new(SMALL);
        for cursor in &cursors[..7] {
            walk.step(1, Some(cursor)).expect("within the cap");
        }
        assert_eq!(
            walk.step(1, Some(&cursors[7])),
            Err(PagingStop::TooManyPages { pages: 8 })
        );
        // The last page is always taken, even at the cap.
        let mut last = PageWalk::new(SMALL);
        for cursor in &cursors[..7] {
            last.step(1, Some(cursor)).expect("within the cap");
        }
        assert_eq!(last.step(1, None), Ok(()));
    }
}
