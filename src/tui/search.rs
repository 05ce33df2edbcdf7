//! Search over one conversation's loaded history.
//!
//! Matching runs on display bodies ([`History::body`]), so every match is a byte range into
//! the exact text the view draws and can be highlighted in place.
//!
//! - **Plain** (default): case-insensitive substring. Case is folded character by character
//!   with Unicode simple case folding (the `regex` crate's `(?i)`), so `É`/`é`, `Σ`/`σ`
//!   match, CJK and emoji match themselves, and multi-character foldings such as `ß`/`SS`
//!   do not.
//! - **Regex** (Ctrl-r while typing): the `regex` crate's syntax, also case-insensitive
//!   (`(?-i)` turns that off). An invalid pattern shows its error and matches nothing.
//!
//! Matches are kept newest first; `n` goes to the next *older* match (up the screen), `N`
//! to the next newer one, both wrapping around. Each match is 12 bytes, addressed by its
//! message's position from the newest end, which never changes as older pages arrive, so
//! pages merged during a search are scanned and their matches appended in order.
//!
//! Typing more of a plain query only rescans the messages that matched the shorter one.

use std::ops::Range;

use regex::{Regex, RegexBuilder};

use super::app::ConversationKey;
use super::history::{Anchor, History};

/// Patterns longer than this are refused rather than compiled: the input is a line typed
/// by a person, and the limit keeps a pasted blob from stalling the UI.
const MAX_QUERY: usize = 1000;

/// One match: a byte range of one message's display body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Hit {
    /// The message, counted from the newest (0).
    rev: u32,
    start: u32,
    end: u32,
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
    /// Newest message first; within a message, later text first (the order `n` walks).
    hits: Vec<Hit>,
    current: Option<usize>,
    origin: Option<Anchor>,
    /// Messages `rev < scanned` have been searched.
    scanned: usize,
    /// Older pages fetched by "continue into older history", while it runs.
    continuing: Option<u32>,
    /// `hits.len()` when the continuation started: any hit beyond is a new, older one.
    continue_from: usize,
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
            hits: Vec::new(),
            current: None,
            origin,
            scanned: 0,
            continuing: None,
            continue_from: 0,
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

    /// Number of matches in what has been searched.
    pub fn count(&self) -> usize {
        self.hits.len()
    }

    /// The current match, 0-based, in newest-first order.
    pub fn current(&self) -> Option<usize> {
        self.current
    }

    /// `3/17`, or `no matches`; empty for an empty query.
    pub fn position(&self) -> String {
        match (self.current, self.hits.len()) {
            _ if self.query.is_empty() => String::new(),
            (_, 0) => "no matches".to_string(),
            (Some(i), n) => format!("{}/{n}", i + 1),
            (None, n) => format!("{n} matches"),
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

    /// The current match as (message rev, byte range).
    pub fn current_hit(&self) -> Option<(usize, Range<usize>)> {
        let hit = self.hits.get(self.current?)?;
        Some((hit.rev as usize, hit.start as usize..hit.end as usize))
    }

    /// Matches in the message `rev` places from the newest, in text order, each with
    /// whether it is the current match: what the view highlights.
    pub fn highlights(&self, rev: usize) -> Vec<(Range<usize>, bool)> {
        let Ok(rev) = u32::try_from(rev) else {
            return Vec::new();
        };
        let from = self.hits.partition_point(|h| h.rev < rev);
        let to = self.hits.partition_point(|h| h.rev <= rev);
        let mut out: Vec<(Range<usize>, bool)> = (from..to)
            .filter_map(|i| {
                let h = self.hits.get(i)?;
                Some((h.start as usize..h.end as usize, Some(i) == self.current))
            })
            .collect();
        out.reverse();
        out
    }

    /// Closes the input line, keeping matches and position (Enter).
    pub fn finish_editing(&mut self) {
        self.editing = false;
    }

    /// Types a character and searches again.
    pub fn push(&mut self, c: char, history: &History) {
        let extends = !self.regex_mode
            && self.error.is_none()
            && !self.query.is_empty()
            && self.scanned >= history.len();
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

    /// Searches everything loaded from scratch and picks the match nearest the origin.
    pub fn rescan(&mut self, history: &History) {
        self.compile();
        self.hits.clear();
        self.scanned = 0;
        self.scan_more(history);
        self.select_near_origin();
    }

    /// After typing extends a plain query: only messages that matched before can match.
    fn narrow(&mut self, history: &History) {
        self.compile();
        let Some(re) = &self.matcher else {
            self.hits.clear();
            self.current = None;
            return;
        };
        let old = std::mem::take(&mut self.hits);
        let mut buf = Vec::new();
        // Walk the bodies in order alongside the old hits (also in rev order): stepping
        // through the chunks is far cheaper than looking each candidate up.
        let mut candidates = old.iter().map(|h| h.rev).peekable();
        for (rev, body) in history.bodies_from(0) {
            let Some(&next) = candidates.peek() else {
                break;
            };
            let Ok(rev) = u32::try_from(rev) else {
                break;
            };
            if rev < next {
                continue;
            }
            while candidates.next_if(|&r| r <= rev).is_some() {}
            find_into(re, rev, body, &mut buf, &mut self.hits);
        }
        self.select_near_origin();
    }

    /// Searches messages loaded since the last scan (older pages); returns how many new
    /// matches were found. Existing matches and the current one stay.
    pub fn scan_more(&mut self, history: &History) -> usize {
        let before = self.hits.len();
        if let Some(re) = &self.matcher {
            let mut buf = Vec::new();
            for (rev, body) in history.bodies_from(self.scanned) {
                let Ok(rev) = u32::try_from(rev) else {
                    break;
                };
                find_into(re, rev, body, &mut buf, &mut self.hits);
            }
        }
        self.scanned = history.len();
        self.hits.len() - before
    }

    fn select_near_origin(&mut self) {
        if self.hits.is_empty() {
            self.current = None;
            return;
        }
        // The first match at or above the bottom of the view where the search began.
        let origin = self.origin.map_or(0, |a| a.rev());
        let i = self.hits.partition_point(|h| (h.rev as usize) < origin);
        self.current = Some(if i < self.hits.len() { i } else { 0 });
    }

    /// Moves to the next older match; `true` when it wrapped around to the newest.
    pub fn next_older(&mut self) -> bool {
        let n = self.hits.len();
        if n == 0 {
            return false;
        }
        let i = self.current.map_or(0, |i| i + 1);
        self.current = Some(i % n);
        i >= n
    }

    /// Moves to the next newer match; `true` when it wrapped around to the oldest.
    pub fn next_newer(&mut self) -> bool {
        let n = self.hits.len();
        if n == 0 {
            return false;
        }
        let (i, wrapped) = match self.current {
            Some(0) | None => (n - 1, true),
            Some(i) => (i - 1, false),
        };
        self.current = Some(i);
        wrapped
    }

    /// Starts continuing into older history; the app fetches pages until a new match or
    /// the beginning.
    pub fn start_continuing(&mut self) {
        self.continuing = Some(0);
        self.continue_from = self.hits.len();
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

    /// While continuing: moves to the first match found since it started, if any, and
    /// stops. `true` when one was found.
    pub fn take_continued_match(&mut self) -> bool {
        if self.continuing.is_some() && self.hits.len() > self.continue_from {
            self.current = Some(self.continue_from);
            self.continuing = None;
            return true;
        }
        false
    }
}

/// Appends the non-empty matches of `re` in `body` as hits of message `rev`, last first.
fn find_into(re: &Regex, rev: u32, body: &str, buf: &mut Vec<Hit>, out: &mut Vec<Hit>) {
    buf.clear();
    for m in re.find_iter(body) {
        if m.is_empty() {
            continue;
        }
        // Bodies are capped near 64 KiB, so offsets fit; skip rather than wrap if not.
        if let (Ok(start), Ok(end)) = (u32::try_from(m.start()), u32::try_from(m.end())) {
            buf.push(Hit { rev, start, end });
        }
    }
    out.extend(buf.drain(..).rev());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChatType, Content, HistoryPage, Message};
    use jiff::tz::TimeZone;

    fn history(texts: &[&str]) -> History {
        let key = ConversationKey {
            id: "bob".into(),
            kind: ChatType::Single,
        };
        let mut h = History::new(key, 0, TimeZone::UTC);
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
            })
            .collect();
        h.start_request(1);
        h.receive(
            1,
            Ok(HistoryPage {
                messages,
                next_cursor: None,
                is_last: true,
            }),
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

    #[test]
    fn matches_go_newest_first_and_up_the_screen() {
        let h = history(&["ab ab", "xx", "AB"]);
        let mut s = search(&h, "ab");
        assert_eq!(s.count(), 3);
        // Newest message (rev 0) first, then the older one's later match first.
        assert_eq!(s.current_hit(), Some((0, 0..2)));
        assert!(!s.next_older());
        assert_eq!(s.current_hit(), Some((2, 3..5)));
        assert!(!s.next_older());
        assert_eq!(s.current_hit(), Some((2, 0..2)));
        assert!(s.next_older(), "wrapped");
        assert_eq!(s.position(), "1/3");
        assert!(s.next_newer(), "wrapped the other way");
        assert_eq!(s.position(), "3/3");
        let hl = s.highlights(2);
        assert_eq!(hl, vec![(0..2, true), (3..5, false)]);
    }

    #[test]
    fn simple_case_folding_only() {
        let h = history(&["Straße", "STRASSE", "ΣΟΦΙΑ", "Kelvin \u{212A}"]);
        assert_eq!(search(&h, "straße").count(), 1, "ß does not fold to ss");
        assert_eq!(search(&h, "σοφια").count(), 1);
        assert_eq!(search(&h, "k").count(), 2, "the Kelvin sign folds to k");
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
        s.push('(', &h);
        assert!(s.error().is_some());
        assert_eq!(s.position(), "no matches");
    }
}
