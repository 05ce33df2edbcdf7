//! The search-all view's state: a query typed, then the hits of a search across every
//! conversation in the library, newest first, one selected.
//!
//! The search runs in the fetch task, a page of hits at a time; each page is asked for
//! with a request id and only the answer to the request still waiting is taken, so a
//! search typed again never shows the old one's hits. More pages are asked for as the
//! selection nears the end of what is in. Pages may come back short (the store's search
//! reads a bounded number of rows per page), so the view keeps asking while fewer hits
//! than a screen and a half are in and the store has more; a cursor that does not move
//! ends the walk.

use super::event::{FetchError, FoundMessage, FoundPage};

/// The most characters a query takes.
pub const MAX_QUERY: usize = 256;

/// The search-all view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchAll {
    input: String,
    regex: bool,
    editing: bool,
    /// What the hits shown were searched for (`None`: nothing searched yet).
    searched: Option<String>,
    hits: Vec<FoundMessage>,
    /// Where the next page starts, while the store has more.
    next: Option<i64>,
    /// The request waiting for an answer, and the cursor it asked with.
    in_flight: Option<(u64, Option<i64>)>,
    error: Option<String>,
    selected: usize,
    /// The first hit shown.
    offset: usize,
}

impl SearchAll {
    /// A view with an empty query being typed.
    pub fn new() -> SearchAll {
        SearchAll {
            editing: true,
            ..SearchAll::default()
        }
    }

    /// What is typed.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The query is being typed (else the hits have the keys).
    pub fn is_editing(&self) -> bool {
        self.editing
    }

    /// The query is a regular expression.
    pub fn is_regex(&self) -> bool {
        self.regex
    }

    /// What the hits shown were searched for.
    pub fn searched(&self) -> Option<&str> {
        self.searched.as_deref()
    }

    /// The hits in so far, newest first.
    pub fn hits(&self) -> &[FoundMessage] {
        &self.hits
    }

    /// The store has more hits than are in.
    pub fn has_more(&self) -> bool {
        self.next.is_some()
    }

    /// A page is on its way.
    pub fn is_searching(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Why the last page failed.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The index of the selected hit.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The selected hit.
    pub fn selected_hit(&self) -> Option<&FoundMessage> {
        self.hits.get(self.selected)
    }

    /// The first hit shown.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Types a character into the query.
    pub fn push(&mut self, c: char) {
        if self.input.chars().count() < MAX_QUERY {
            self.input.push(c);
        }
    }

    /// Deletes the last character of the query.
    pub fn pop(&mut self) {
        self.input.pop();
    }

    /// Regex on or off.
    pub fn toggle_regex(&mut self) {
        self.regex = !self.regex;
    }

    /// Goes back to typing the query (the hits stay on screen until a new search).
    pub fn edit(&mut self) {
        self.editing = true;
    }

    /// Stops typing, keeping the hits shown.
    pub fn stop_editing(&mut self) {
        self.editing = false;
    }

    /// Starts a search for what is typed as request `request_id`: the hits of the last
    /// one go. `None` (nothing changes) when nothing is typed.
    pub fn start(&mut self, request_id: u64) -> Option<(String, bool)> {
        let text = self.input.trim().to_string();
        if text.is_empty() {
            return None;
        }
        self.editing = false;
        self.searched = Some(text.clone());
        self.hits.clear();
        self.next = None;
        self.error = None;
        self.selected = 0;
        self.offset = 0;
        self.in_flight = Some((request_id, None));
        Some((text, self.regex))
    }

    /// Whether another page should be asked for now, `capacity` hits fitting on screen: the
    /// store has more, none is on its way, nothing failed, and the selection is within a
    /// screen of the end (or fewer than a screen and a half are in).
    pub fn wants_more(&self, capacity: usize) -> bool {
        let ahead = self.hits.len().saturating_sub(self.selected);
        self.next.is_some()
            && self.in_flight.is_none()
            && self.error.is_none()
            && (ahead <= capacity.max(1) || self.hits.len() < capacity.max(1) * 3 / 2)
    }

    /// Marks the next page as asked for by request `request_id`; returns the query and
    /// the cursor to ask with.
    pub fn more(&mut self, request_id: u64) -> Option<(String, bool, i64)> {
        let cursor = self.next?;
        let text = self.searched.clone()?;
        self.in_flight = Some((request_id, Some(cursor)));
        Some((text, self.regex, cursor))
    }

    /// Takes the answer to request `request_id`; false (and nothing changes) when it is not
    /// the one waiting.
    pub fn receive(&mut self, request_id: u64, result: Result<FoundPage, FetchError>) -> bool {
        let asked_with = match self.in_flight {
            Some((id, cursor)) if id == request_id => cursor,
            _ => return false,
        };
        self.in_flight = None;
        match result {
            Ok(page) => {
                self.hits.extend(page.hits);
                // A cursor that does not move would ask for the same page forever.
                self.next = page.next.filter(|&n| Some(n) != asked_with);
            }
            Err(e) => self.error = Some(e.description),
        }
        true
    }

    /// Moves the selection `delta` hits (clamped to the hits in), keeping it among the
    /// `capacity` hits shown.
    pub fn step(&mut self, delta: isize, capacity: usize) {
        if self.hits.is_empty() {
            return;
        }
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(self.hits.len() - 1);
        self.keep_in_view(capacity);
    }

    /// Keeps the selected hit among the `capacity` shown.
    pub fn keep_in_view(&mut self, capacity: usize) {
        let capacity = capacity.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + capacity {
            self.offset = self.selected + 1 - capacity;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ChatType;

    fn hit(id: u64) -> FoundMessage {
        FoundMessage {
            conversation: "team".into(),
            kind: ChatType::Group,
            id,
            from: "bob".into(),
            time: 1_000 + id as i64,
            snippet: "退避".into(),
            matched: 0..6,
        }
    }

    fn page(ids: std::ops::Range<u64>, next: Option<i64>) -> Result<FoundPage, FetchError> {
        Ok(FoundPage {
            hits: ids.map(hit).collect(),
            next,
        })
    }

    #[test]
    fn only_the_waiting_request_is_taken_and_a_cursor_that_stands_still_ends_the_walk() {
        let mut s = SearchAll::new();
        assert_eq!(s.start(1), None, "nothing typed");
        for c in "退避".chars() {
            s.push(c);
        }
        assert_eq!(s.start(2), Some(("退避".into(), false)));
        assert!(!s.receive(1, page(0..5, None)), "an older search's answer");
        assert!(s.receive(2, page(0..3, Some(40))));
        assert_eq!(s.hits().len(), 3);
        assert!(s.wants_more(10));
        assert_eq!(s.more(3), Some(("退避".into(), false, 40)));
        assert!(!s.wants_more(10), "one page at a time");
        assert!(s.receive(3, page(3..4, Some(40))));
        assert!(!s.has_more(), "the same cursor again ends it");
        assert!(!s.wants_more(10));
    }

    #[test]
    fn the_selection_stays_in_view_and_in_bounds() {
        let mut s = SearchAll::new();
        s.push('x');
        s.start(1);
        s.receive(1, page(0..10, None));
        s.step(5, 3);
        assert_eq!((s.selected(), s.offset()), (5, 3));
        s.step(100, 3);
        assert_eq!((s.selected(), s.offset()), (9, 7));
        s.step(-8, 3);
        assert_eq!((s.selected(), s.offset()), (1, 1));
    }
}
