//! Search over one window of a conversation's loaded history.
//!
//! Matching runs on display bodies ([`History::body`]), so every match is a byte range into
//! the exact text the view draws and can be highlighted in place.
//!
//! - **Plain** (default): case-insensitive substring. Case is folded character by character
//!   with Unicode simple case folding (the `regex` crate's `(?i)`), so `É`/`é`, `Σ`/`σ`
//!   match, CJK and emoji match themselves, and multi-character foldings such as `ß`/`SS`
//!   do not.
//! - **Regex** (Ctrl-r while typing): the `regex` crate's syntax, also case-insensitive
//!   (`(?-i)` turns that off). An invalid pattern shows its error and matches nothing; an
//!   empty match is no match.
//!
//! A scan only asks of each message *whether* it matches, and keeps one hit per matching
//! message: 4 bytes, its position in the window, which never changes as pages arrive at
//! either end (pages merged during a search are scanned and their hits added at their
//! end). So a search costs what it reads, not how often the query occurs: `t` over a
//! million messages keeps a million small hits, not millions of ranges. Where the matches
//! are in a message is found when it is needed: for the messages drawn
//! ([`Search::highlights`]) and for the current match. A search remembers which window it
//! scanned: shown another window (a jump, a filter), it scans that one afresh.
//!
//! `n` goes to the next *older* match (up the screen; within a message, to the earlier
//! match first), `N` to the next newer one, both wrapping around. The position counts
//! matching messages from the newest (`3/17 messages`): counting every match would cost
//! the full enumeration this avoids.
//!
//! Typing more of a plain query only rechecks the messages that matched the shorter one.

use std::collections::VecDeque;
use std::ops::Range;

use regex::{Regex, RegexBuilder};

use super::event::ConversationKey;
use super::history::{Anchor, History};

/// Patterns longer than this are refused rather than compiled: the input is a line typed
/// by a person, and the limit keeps a pasted blob from stalling the UI.
const MAX_QUERY: usize = 1000;

/// The current match: which matching message, and where in its display body.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Current {
    /// The message's position in the window.
    pos: i64,
    range: Range<usize>,
}

/// A search in progress or finished, tied to one conversation.
#[derive(Debug)]
pub struct Search {
    conversation: ConversationKey,
    query: String,
    regex_mode: bool,
    editing: bool,
    error: Option<String>,
    matcher: Option<Regex>,
    /// The matching messages by position, ascending (oldest first); `n` walks them from
    /// the back.
    hits: VecDeque<i32>,
    current: Option<Current>,
    origin: Option<Anchor>,
    /// The window scanned and the positions `from..to` searched in it.
    scanned: Option<(u64, i64, i64)>,
    /// Older pages fetched by "continue into older history", while it runs.
    continuing: Option<u32>,
    /// Where the scan's older end was when the continuation started: any hit below it is
    /// a new, older one.
    continue_below: i64,
}

impl Search {
    /// A new, empty search typed into `conversation`; Esc while typing goes back to
    /// `origin`.
    pub fn new(conversation: ConversationKey, origin: Option<Anchor>) -> Search {
        Search {
            conversation,
            query: String::new(),
            regex_mode: false,
            editing: true,
            error: None,
            matcher: None,
            hits: VecDeque::new(),
            current: None,
            origin,
            scanned: None,
            continuing: None,
            continue_below: 0,
        }
    }

    /// The conversation searched.
    pub fn conversation(&self) -> &ConversationKey {
        &self.conversation
    }

    /// What was typed.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Regex mode is on.
    pub fn is_regex(&self) -> bool {
        self.regex_mode
    }

    /// The input line is open.
    pub fn is_editing(&self) -> bool {
        self.editing
    }

    /// Why the pattern does not compile, when it does not.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Number of messages that match, in what has been searched.
    pub fn count(&self) -> usize {
        self.hits.len()
    }

    /// Index into `hits` of the hit at message position `pos`.
    fn hit_index(&self, pos: i64) -> Option<usize> {
        let p = i32::try_from(pos).ok()?;
        self.hits.binary_search(&p).ok()
    }

    /// The message of the current match, 0-based among the matching messages, newest
    /// first.
    pub fn current(&self) -> Option<usize> {
        let i = self.hit_index(self.current.as_ref()?.pos)?;
        Some(self.hits.len() - 1 - i)
    }

    /// `3/17 messages` (the current match is in the 3rd of 17 matching messages, newest
    /// first), or `no matches`; empty for an empty query.
    pub fn position(&self) -> String {
        let n = self.hits.len();
        let messages = if n == 1 { "message" } else { "messages" };
        match self.current() {
            _ if self.query.is_empty() => String::new(),
            _ if n == 0 => "no matches".to_string(),
            Some(c) => format!("{}/{n} {messages}", c + 1),
            None => format!("{n} {messages}"),
        }
    }

    /// Where the view was when the search began.
    pub fn origin(&self) -> Option<Anchor> {
        self.origin
    }

    /// Pages fetched so far by a running "continue into older history".
    pub fn continuing(&self) -> Option<u32> {
        self.continuing
    }

    /// The current match as (message position, byte range of its display body).
    pub fn current_hit(&self) -> Option<(i64, Range<usize>)> {
        let c = self.current.as_ref()?;
        Some((c.pos, c.range.clone()))
    }

    /// Matches in `body`, the display body of the message at position `pos`, in text
    /// order, each with whether it is the current match: what the view highlights. Found
    /// now, in this message only.
    pub fn highlights(&self, pos: i64, body: &str) -> Vec<(Range<usize>, bool)> {
        let Some(re) = &self.matcher else {
            return Vec::new();
        };
        if self.hit_index(pos).is_none() {
            return Vec::new();
        }
        let current = self
            .current
            .as_ref()
            .filter(|c| c.pos == pos)
            .map(|c| c.range.clone());
        matches_in(re, body)
            .map(|m| {
                let is_current = current.as_ref() == Some(&m);
                (m, is_current)
            })
            .collect()
    }

    /// Closes the input line, keeping matches and position (Enter).
    pub fn finish_editing(&mut self) {
        self.editing = false;
    }

    /// Whether everything loaded in `history` has been scanned.
    fn covers(&self, history: &History) -> bool {
        self.scanned.is_some_and(|(w, from, to)| {
            w == history.id() && from <= history.first_position() && to >= history.end_position()
        })
    }

    /// Types a character and searches again.
    pub fn push(&mut self, c: char, history: &History) {
        let extends = !self.regex_mode
            && self.error.is_none()
            && !self.query.is_empty()
            && self.covers(history);
        self.query.push(c);
        if extends {
            self.narrow(history);
        } else {
            self.rescan(history);
        }
    }

    /// Deletes the last character and searches again.
    pub fn pop(&mut self, history: &History) {
        self.query.pop();
        self.rescan(history);
    }

    /// Switches between plain and regex matching and searches again.
    pub fn toggle_regex(&mut self, history: &History) {
        self.regex_mode = !self.regex_mode;
        self.rescan(history);
    }

    fn compile(&mut self) {
        self.matcher = None;
        self.error = None;
        if self.query.is_empty() {
            return;
        }
        if self.query.len() > MAX_QUERY {
            self.error = Some(format!("query longer than {MAX_QUERY} bytes"));
            return;
        }
        let pattern = if self.regex_mode {
            self.query.clone()
        } else {
            regex::escape(&self.query)
        };
        match RegexBuilder::new(&pattern).case_insensitive(true).build() {
            Ok(re) => self.matcher = Some(re),
            Err(e) => {
                // The error's last line says what is wrong; the rest repeats the pattern.
                let text = e.to_string();
                let reason = text.lines().rev().find(|l| !l.trim().is_empty());
                self.error = Some(reason.unwrap_or(&text).trim().to_string());
            }
        }
    }

    /// Whether `body` has a (non-empty) match. A plain query is never empty, so any match
    /// will do and the search may stop at the first; a regex may match empty text, which
    /// does not count.
    fn is_hit(&self, re: &Regex, body: &str) -> bool {
        if self.regex_mode {
            re.find_iter(body).any(|m| !m.is_empty())
        } else {
            re.is_match(body)
        }
    }

    /// The positions in `from..to` of `history` that match, oldest first.
    fn scan(&self, history: &History, from: i64, to: i64) -> Vec<i32> {
        let Some(re) = &self.matcher else {
            return Vec::new();
        };
        history
            .bodies_between(from, to)
            .filter(|(_, body)| self.is_hit(re, body))
            .filter_map(|(pos, _)| i32::try_from(pos).ok())
            .collect()
    }

    /// Searches everything loaded from scratch and picks the match nearest the origin.
    pub fn rescan(&mut self, history: &History) {
        self.compile();
        let (from, to) = (history.first_position(), history.end_position());
        self.hits = self.scan(history, from, to).into();
        self.scanned = Some((history.id(), from, to));
        self.select_near_origin(history);
    }

    /// After typing extends a plain query: only messages that matched before can match.
    fn narrow(&mut self, history: &History) {
        self.compile();
        let old = std::mem::take(&mut self.hits);
        if let Some(re) = &self.matcher {
            let mut hits = VecDeque::new();
            for (pos, body) in history.bodies_at(old.iter().map(|&p| i64::from(p))) {
                if self.is_hit(re, body) {
                    hits.extend(i32::try_from(pos));
                }
            }
            self.hits = hits;
        }
        self.select_near_origin(history);
    }

    /// Searches messages loaded since the last scan, at either end; returns how many new
    /// matching messages were found. Existing hits and the current match stay. Another
    /// window than the one scanned is scanned from scratch.
    pub fn scan_more(&mut self, history: &History) -> usize {
        let before = self.hits.len();
        match self.scanned {
            Some((w, from, to)) if w == history.id() => {
                let older = self.scan(history, history.first_position(), from);
                for p in older.into_iter().rev() {
                    self.hits.push_front(p);
                }
                let newer = self.scan(history, to, history.end_position());
                self.hits.extend(newer);
                self.scanned = Some((
                    w,
                    from.min(history.first_position()),
                    to.max(history.end_position()),
                ));
            }
            _ => {
                self.rescan(history);
                return self.hits.len();
            }
        }
        self.hits.len() - before
    }

    /// The matches of the message at `pos`, in text order.
    fn matches_of(&self, pos: i64, history: &History) -> Vec<Range<usize>> {
        let Some(re) = &self.matcher else {
            return Vec::new();
        };
        history
            .index_of_position(pos)
            .and_then(|i| history.body(i))
            .map_or_else(Vec::new, |body| matches_in(re, body).collect())
    }

    /// Makes a match of hit `i`'s message current: its last one when coming from newer
    /// messages (`n` walks up the screen), else its first.
    fn select(&mut self, i: usize, from_newer: bool, history: &History) {
        let Some(&p) = self.hits.get(i) else {
            self.current = None;
            return;
        };
        let pos = i64::from(p);
        let matches = self.matches_of(pos, history);
        let range = if from_newer {
            matches.last()
        } else {
            matches.first()
        };
        self.current = Some(Current {
            pos,
            range: range.cloned().unwrap_or(0..0),
        });
    }

    fn select_near_origin(&mut self, history: &History) {
        if self.hits.is_empty() {
            self.current = None;
            return;
        }
        // The first match at or above the bottom of the view where the search began (the
        // newest, when it began at the bottom or in another window).
        let origin = self
            .origin
            .filter(|a| {
                history
                    .index_of_position(a.position())
                    .and_then(|i| history.id_of(i))
                    == Some(a.id)
            })
            .map_or(i64::MAX, |a| a.position());
        let below = self.hits.partition_point(|&p| i64::from(p) <= origin);
        let i = below.checked_sub(1).unwrap_or(self.hits.len() - 1);
        self.select(i, true, history);
    }

    /// Where the current match is among its message's matches, and those matches.
    fn within_current(&self, history: &History) -> Option<(usize, usize, Vec<Range<usize>>)> {
        let c = self.current.as_ref()?;
        let i = self.hit_index(c.pos)?;
        let matches = self.matches_of(c.pos, history);
        let k = matches.iter().position(|m| *m == c.range)?;
        Some((i, k, matches))
    }

    /// Moves to the next older match (the earlier one in the same message, else the last
    /// of the next older matching message); `true` when it wrapped around to the newest.
    pub fn next_older(&mut self, history: &History) -> bool {
        let n = self.hits.len();
        if n == 0 {
            return false;
        }
        if let Some((_, k, matches)) = self.within_current(history)
            && k > 0
        {
            if let Some(c) = self.current.as_mut() {
                c.range = matches[k - 1].clone();
            }
            return false;
        }
        match self.current.as_ref().and_then(|c| self.hit_index(c.pos)) {
            Some(0) => {
                self.select(n - 1, true, history);
                true
            }
            Some(i) => {
                self.select(i - 1, true, history);
                false
            }
            None => {
                self.select(n - 1, true, history);
                false
            }
        }
    }

    /// Moves to the next newer match (the later one in the same message, else the first
    /// of the next newer matching message); `true` when it wrapped around to the oldest.
    pub fn next_newer(&mut self, history: &History) -> bool {
        let n = self.hits.len();
        if n == 0 {
            return false;
        }
        if let Some((_, k, matches)) = self.within_current(history)
            && k + 1 < matches.len()
        {
            if let Some(c) = self.current.as_mut() {
                c.range = matches[k + 1].clone();
            }
            return false;
        }
        match self.current.as_ref().and_then(|c| self.hit_index(c.pos)) {
            Some(i) if i + 1 < n => {
                self.select(i + 1, false, history);
                false
            }
            _ => {
                self.select(0, false, history);
                true
            }
        }
    }

    /// Starts continuing into older history; the app fetches pages until a new match or
    /// the beginning.
    pub fn start_continuing(&mut self) {
        self.continuing = Some(0);
        self.continue_below = self.scanned.map_or(i64::MAX, |(_, from, _)| from);
    }

    /// Stops continuing (found, beginning reached, failed, or Esc).
    pub fn stop_continuing(&mut self) {
        self.continuing = None;
    }

    /// Counts a page fetched while continuing.
    pub fn count_page(&mut self) {
        if let Some(p) = &mut self.continuing {
            *p += 1;
        }
    }

    /// While continuing: moves to the newest match older than where the continuation
    /// started, if any, and stops. `true` when one was found.
    pub fn take_continued_match(&mut self, history: &History) -> bool {
        if self.continuing.is_none() {
            return false;
        }
        let below = self
            .hits
            .partition_point(|&p| i64::from(p) < self.continue_below);
        match below.checked_sub(1) {
            Some(i) => {
                self.select(i, true, history);
                self.continuing = None;
                true
            }
            None => false,
        }
    }
}

/// The non-empty matches of `re` in `body`, in text order.
fn matches_in<'a>(re: &'a Regex, body: &'a str) -> impl Iterator<Item = Range<usize>> + 'a {
    re.find_iter(body)
        .filter(|m| !m.is_empty())
        .map(|m| m.range())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChatType, Content, HistoryFilters, HistoryPage, Message};
    use crate::tui::history::{Side, Start, Viewport};
    use jiff::tz::TimeZone;

    fn history(texts: &[&str]) -> History {
        let key = ConversationKey {
            id: "bob".into(),
            kind: ChatType::Single,
        };
        let mut h = History::new(
            key,
            1,
            Start::Newest,
            HistoryFilters::default(),
            0,
            TimeZone::UTC,
        );
        let messages = texts
            .iter()
            .enumerate()
            .map(|(i, t)| Message {
                id: i as u64 + 1,
                from: "bob".into(),
                to: "alice".into(),
                chat_type: ChatType::Single,
                time: i as i64,
                content: Content::Text {
                    text: t.to_string(),
                },
                ext: serde_json::Map::new(),
                meta: None,
            })
            .collect();
        h.start_request(Side::Older, 1);
        h.receive(
            1,
            Ok(HistoryPage {
                messages,
                next_cursor: None,
                is_last: true,
                undecodable: 0,
            }),
            Viewport::default(),
        );
        h
    }

    fn search(h: &History, q: &str) -> Search {
        let mut s = Search::new(h.key().clone(), None);
        for c in q.chars() {
            s.push(c, h);
        }
        s
    }

    /// The display body of the message at `pos`.
    fn body(h: &History, pos: i64) -> &str {
        h.body(h.index_of_position(pos).unwrap()).unwrap()
    }

    #[test]
    fn matches_go_newest_first_and_up_the_screen() {
        let h = history(&["ab ab", "xx", "AB"]);
        let mut s = search(&h, "ab");
        assert_eq!(s.count(), 2, "two messages match");
        assert_eq!(s.position(), "1/2 messages");
        // Newest message (position 2) first, then the older one's later match first.
        assert_eq!(s.current_hit(), Some((2, 0..2)));
        assert!(!s.next_older(&h));
        assert_eq!(s.current_hit(), Some((0, 3..5)));
        assert_eq!(s.position(), "2/2 messages");
        assert!(!s.next_older(&h));
        assert_eq!(s.current_hit(), Some((0, 0..2)));
        assert_eq!(s.position(), "2/2 messages", "same message");
        assert_eq!(
            s.highlights(0, body(&h, 0)),
            vec![(0..2, true), (3..5, false)]
        );
        assert!(s.next_older(&h), "wrapped");
        assert_eq!(s.current_hit(), Some((2, 0..2)));
        assert_eq!(s.position(), "1/2 messages");
        assert_eq!(s.highlights(2, body(&h, 2)), vec![(0..2, true)]);
        assert_eq!(s.highlights(1, body(&h, 1)), vec![], "no match in xx");
        // N enters an older message at its first match and walks down through it.
        assert!(s.next_newer(&h), "wrapped the other way");
        assert_eq!(s.current_hit(), Some((0, 0..2)));
        assert!(!s.next_newer(&h));
        assert_eq!(s.current_hit(), Some((0, 3..5)));
        assert_eq!(
            s.highlights(0, body(&h, 0)),
            vec![(0..2, false), (3..5, true)]
        );
        assert!(!s.next_newer(&h));
        assert_eq!(s.current_hit(), Some((2, 0..2)));
        assert_eq!(s.position(), "1/2 messages");
        let one = search(&h, "xx");
        assert_eq!(one.position(), "1/1 message");
    }

    #[test]
    fn simple_case_folding_only() {
        let h = history(&["Straße", "STRASSE", "ΣΟΦΙΑ", "Kelvin \u{212A}"]);
        assert_eq!(search(&h, "straße").count(), 1, "ß does not fold to ss");
        assert_eq!(search(&h, "σοφια").count(), 1);
        let s = search(&h, "k");
        assert_eq!(s.count(), 1, "one message");
        assert_eq!(
            s.highlights(3, body(&h, 3)),
            vec![(0..1, false), (7..10, true)],
            "the Kelvin sign (3 bytes) folds to k"
        );
    }

    #[test]
    fn narrowing_agrees_with_a_fresh_scan() {
        let texts: Vec<String> = (0..200).map(|i| format!("item {i} of {}", i * 7)).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let h = history(&refs);
        let mut typed = search(&h, "1");
        for c in "4 of".chars() {
            typed.push(c, &h);
            let mut fresh = Search::new(h.key().clone(), None);
            fresh.query = typed.query.clone();
            fresh.rescan(&h);
            assert_eq!(typed.hits, fresh.hits, "{}", typed.query);
        }
        assert!(typed.count() > 0);
    }

    #[test]
    fn regex_errors_are_reported_and_empty_matches_skipped() {
        let h = history(&["abc"]);
        let mut s = Search::new(h.key().clone(), None);
        s.toggle_regex(&h);
        for c in "x*".chars() {
            s.push(c, &h);
        }
        assert_eq!(s.count(), 0, "empty matches are not matches");
        assert!(s.error().is_none());
        s.pop(&h);
        s.push('?', &h);
        assert_eq!(s.count(), 0, "x? only matches empty text");
        s.push('b', &h);
        assert_eq!(s.query(), "x?b");
        assert_eq!(s.count(), 1, "x? then b: a non-empty match");
        assert_eq!(s.highlights(0, body(&h, 0)), vec![(1..2, true)]);
        assert_eq!(s.current_hit(), Some((0, 1..2)));
        s.pop(&h);
        s.pop(&h);
        s.push('*', &h);
        assert_eq!(s.query(), "x*");
        s.push('(', &h);
        assert!(s.error().is_some());
        assert_eq!(s.position(), "no matches");
    }
}
