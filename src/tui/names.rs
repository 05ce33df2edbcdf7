//! The names the browser knows, for showing instead of ids: pure state, no I/O.
//!
//! The state machine tells [`Names::wanted`] which ids are on screen; it answers with one
//! [`FetchRequest::Names`] for those it has no fresh name for and has not asked about
//! already, and remembers them as in flight. The fetch task answers from its disk cache
//! and the server ([`Event::Names`](super::event::Event::Names)); [`Names::on_answer`]
//! keeps what came. A name (or the server's "no name") is fresh for a day; a failure is
//! quietly the id, asked again after [`RETRY_AFTER_FAILURE_MS`], the name known before
//! kept meanwhile. `r` ([`Names::refresh`]) makes every name stale and the next request
//! skip the disk cache; names stay shown until new ones arrive.
//!
//! Labels ([`Names::label`]) go through the one display-text function: names are set by
//! apps and untrusted.

use std::collections::{HashMap, HashSet};

use super::event::FetchRequest;
use super::text;
use crate::names_cache::{NAME_LIFETIME_MS, NameEntry, NameKey};
use crate::protocol::ids;

pub use crate::names_cache::NameKind;

/// How long after a failed fetch an id is asked about again (ms).
pub const RETRY_AFTER_FAILURE_MS: i64 = 5 * 60 * 1000;

/// The most ids one request asks about: a screen holds far fewer.
pub const MAX_IDS_PER_REQUEST: usize = 200;

/// What is known of one id.
#[derive(Clone, Debug)]
struct Known {
    name: Option<String>,
    /// Asked about again from this time (ms) on.
    stale_at: i64,
}

/// The names known, those asked about, and how labels read.
#[derive(Debug, Default)]
pub struct Names {
    known: HashMap<NameKey, Known>,
    in_flight: HashSet<NameKey>,
    requests: HashMap<u64, Vec<NameKey>>,
    show_ids: bool,
    /// The next request skips the disk cache (after `r`).
    refresh: bool,
}

impl Names {
    /// The name of `id`, if one is known.
    pub fn name(&self, kind: NameKind, id: &str) -> Option<&str> {
        let key = NameKey::new(kind, id);
        self.known.get(&key)?.name.as_deref()
    }

    /// Ids are shown beside names (`李伟 (li.wei)`).
    pub fn show_ids(&self) -> bool {
        self.show_ids
    }

    /// Shows or hides ids beside names.
    pub fn toggle_ids(&mut self) {
        self.show_ids = !self.show_ids;
    }

    /// What to show for `id`: its name, `name (id)` while ids are shown, or the id when no
    /// name is known; one line, at most `max_width` columns.
    pub fn label(&self, kind: NameKind, id: &str, max_width: usize) -> String {
        match self.name(kind, id) {
            Some(name) if self.show_ids => text::one_line(&format!("{name} ({id})"), max_width),
            Some(name) => text::one_line(name, max_width),
            None => text::one_line(id, max_width),
        }
    }

    /// `r`: every name is asked about again, past the disk cache; until the answers come,
    /// the names known stay shown.
    pub fn refresh(&mut self) {
        for known in self.known.values_mut() {
            known.stale_at = i64::MIN;
        }
        self.refresh = true;
    }

    /// Names requests waiting for an answer.
    pub fn in_flight(&self) -> usize {
        self.requests.len()
    }

    /// The request for the ids of `shown` that have no fresh name at `now_ms` and are not
    /// asked about already (at most [`MAX_IDS_PER_REQUEST`], each once; what is not an id
    /// is never asked), marked in flight under `request_id`. `None` when nothing is
    /// missing.
    pub fn wanted(
        &mut self,
        shown: impl IntoIterator<Item = NameKey>,
        now_ms: i64,
        request_id: u64,
    ) -> Option<FetchRequest> {
        let mut ask = Vec::new();
        for key in shown {
            if ask.len() >= MAX_IDS_PER_REQUEST {
                break;
            }
            let fresh = self.known.get(&key).is_some_and(|k| now_ms < k.stale_at);
            if fresh || !ids::is_id(&key.id) || self.in_flight.contains(&key) {
                continue;
            }
            self.in_flight.insert(key.clone());
            ask.push(key);
        }
        if ask.is_empty() {
            return None;
        }
        self.requests.insert(request_id, ask.clone());
        Some(FetchRequest::Names {
            request_id,
            ids: ask,
            refresh: std::mem::take(&mut self.refresh),
        })
    }

    /// The answer to request `request_id` at `now_ms`: `names` fetched (a `None` name:
    /// the server has none), `failed` ids fall back to the id (or the name known before)
    /// for a while.
    pub fn on_answer(
        &mut self,
        request_id: u64,
        names: Vec<NameEntry>,
        failed: Vec<NameKey>,
        now_ms: i64,
    ) {
        for key in self.requests.remove(&request_id).into_iter().flatten() {
            self.in_flight.remove(&key);
        }
        for entry in names {
            let stale_at = entry.fetched_ms.saturating_add(NAME_LIFETIME_MS);
            self.known.insert(
                entry.key,
                Known {
                    name: entry.name,
                    stale_at,
                },
            );
        }
        for key in failed {
            let stale_at = now_ms.saturating_add(RETRY_AFTER_FAILURE_MS);
            self.known
                .entry(key)
                .and_modify(|k| k.stale_at = stale_at)
                .or_insert(Known {
                    name: None,
                    stale_at,
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000_000;

    fn user(id: &str) -> NameKey {
        NameKey::new(NameKind::User, id)
    }

    fn group(id: &str) -> NameKey {
        NameKey::new(NameKind::Group, id)
    }

    fn asked(request: Option<FetchRequest>) -> (Vec<NameKey>, bool) {
        match request {
            Some(FetchRequest::Names { ids, refresh, .. }) => (ids, refresh),
            other => panic!("not a names request: {other:?}"),
        }
    }

    fn named(key: NameKey, name: &str, at: i64) -> NameEntry {
        NameEntry {
            key,
            name: Some(name.into()),
            fetched_ms: at,
        }
    }

    #[test]
    fn asks_once_for_what_it_lacks_and_not_again_while_in_flight() {
        let mut names = Names::default();
        let shown = [user("li.wei"), group("262857469362177"), user("li.wei")];
        let (ids, refresh) = asked(names.wanted(shown.clone(), NOW, 1));
        assert_eq!(ids, vec![user("li.wei"), group("262857469362177")]);
        assert!(!refresh);
        assert_eq!(names.wanted(shown.clone(), NOW, 2), None, "in flight");
        // A user and a group may share an id: they are different names.
        let (ids, _) = asked(names.wanted([group("li.wei")], NOW, 3));
        assert_eq!(ids, vec![group("li.wei")]);
        names.on_answer(
            1,
            vec![
                named(user("li.wei"), "李伟", NOW),
                NameEntry {
                    key: group("262857469362177"),
                    name: None,
                    fetched_ms: NOW,
                },
            ],
            Vec::new(),
            NOW,
        );
        assert_eq!(names.name(NameKind::User, "li.wei"), Some("李伟"));
        assert_eq!(names.name(NameKind::User, "LI.WEI"), Some("李伟"));
        assert_eq!(names.name(NameKind::Group, "li.wei"), None);
        assert_eq!(names.wanted(shown.clone(), NOW + 1000, 4), None, "fresh");
        assert_eq!(names.in_flight(), 1);
        // A day later both are asked about again.
        let (ids, _) = asked(names.wanted(shown, NOW + NAME_LIFETIME_MS, 5));
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn what_is_not_an_id_is_never_asked_and_requests_are_capped() {
        let mut names = Names::default();
        assert_eq!(
            names.wanted(
                [user("mallory\u{1b}]0;x\u{7}"), user(""), user("..")],
                NOW,
                1
            ),
            None
        );
        let many = (0..MAX_IDS_PER_REQUEST + 50).map(|i| user(&format!("u{i}")));
        let (ids, _) = asked(names.wanted(many.clone(), NOW, 2));
        assert_eq!(ids.len(), MAX_IDS_PER_REQUEST);
        let (ids, _) = asked(names.wanted(many, NOW, 3));
        assert_eq!(ids.len(), 50, "the rest in the next request");
    }

    #[test]
    fn a_failure_is_the_id_for_a_while_and_keeps_a_name_known_before() {
        let mut names = Names::default();
        asked(names.wanted([user("omar"), user("bob")], NOW, 1));
        names.on_answer(
            1,
            vec![named(user("omar"), "Omar Haddad", NOW)],
            Vec::new(),
            NOW,
        );
        names.refresh();
        let (ids, refresh) = asked(names.wanted([user("omar"), user("bob")], NOW, 2));
        assert_eq!(ids, vec![user("omar"), user("bob")]);
        assert!(refresh, "r skips the disk cache");
        assert_eq!(names.name(NameKind::User, "omar"), Some("Omar Haddad"));
        names.on_answer(2, Vec::new(), vec![user("omar"), user("bob")], NOW);
        assert_eq!(names.name(NameKind::User, "omar"), Some("Omar Haddad"));
        assert_eq!(names.label(NameKind::User, "bob", 20), "bob");
        assert_eq!(
            names.wanted([user("omar"), user("bob")], NOW + 1000, 3),
            None
        );
        let later = NOW + RETRY_AFTER_FAILURE_MS;
        let (ids, refresh) = asked(names.wanted([user("omar"), user("bob")], later, 4));
        assert_eq!(ids.len(), 2, "asked again after a while");
        assert!(!refresh, "only the request right after r skips the disk");
    }

    #[test]
    fn labels_are_names_or_ids_one_line_and_capped() {
        let mut names = Names::default();
        asked(names.wanted([user("li.wei"), user("mallory")], NOW, 1));
        names.on_answer(
            1,
            vec![
                named(user("li.wei"), "李伟", NOW),
                named(user("mallory"), "evil\u{1b}[2J\nname\u{202e}", NOW),
            ],
            Vec::new(),
            NOW,
        );
        assert_eq!(names.label(NameKind::User, "li.wei", 20), "李伟");
        assert_eq!(names.label(NameKind::User, "zoe", 20), "zoe");
        let hostile = names.label(NameKind::User, "mallory", 40);
        assert!(
            !hostile.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{hostile:?}"
        );
        names.toggle_ids();
        assert!(names.show_ids());
        assert_eq!(names.label(NameKind::User, "li.wei", 20), "李伟 (li.wei)");
        assert_eq!(names.label(NameKind::User, "zoe", 20), "zoe");
        let cut = names.label(NameKind::User, "li.wei", 8);
        assert!(text::width(&cut) <= 8, "{cut:?}");
    }
}
