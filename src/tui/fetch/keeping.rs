//! Keeping what the browser fetches: a [`Source`] in front of another that hands every
//! list page and history page it gets to the local library ([`crate::library`]).
//!
//! The library is written by a thread of its own, fed over a channel, so neither the UI
//! nor the fetch task ever waits on the disk; a page is written in one transaction, so a
//! kill loses at most the pages still in the channel. A page continues the page whose
//! cursor it was asked with, which this layer remembers (cursor → that page's last
//! message), so a walk through history becomes one held stretch. Writing is best effort:
//! a library that fails is logged once and browsing goes on.
//!
//! Reading goes the other way: a page the library holds is answered from it without a
//! request. A conversation opened whose newest message (as the list just said) lies in a
//! held stretch is read from that stretch, newest first; so is the page older than one
//! whose last message is followed, in the library, by more of its stretch. Such pages
//! carry cursors of their own (`lib:TIME:ID`, the last message given); at the stretch's
//! older end the page carries the server's cursor kept there (or says the history ends,
//! when the stretch reaches the beginning), and the walk goes on at the server. Only
//! unfiltered pages going back are read from the library: a filter or a time bound asks
//! the server. A page read is a few rows of a local file, read in the fetch task.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::{FetchError, Source};
use crate::client::Progress;
use crate::library::runs::Key;
use crate::library::search::SearchAll;
use crate::library::{From, HeldPage, Library};
use crate::names_cache::{NameKind, NamesCache};
use crate::protocol::{
    Attachment, ChatType, Conversation, ConversationPage, Direction, HistoryPage, HistoryQuery,
};
use crate::tui::event::DownloadOutcome;
use crate::tui::event::{ConversationKey, FoundPage};

/// Cursors remembered at most; past this the oldest half is forgotten (a forgotten cursor
/// only means its page starts a stretch of its own).
const MAX_CURSORS: usize = 4_096;

/// What the writer thread is handed.
enum Record {
    List(Vec<Conversation>),
    Page {
        query: HistoryQuery,
        page: HistoryPage,
        joins: Option<Key>,
    },
}

/// Where a page continues from: its conversation, direction and cursor.
type CursorKey = (String, ChatType, Direction, String);

/// Remembered cursors: the key of the message each continues from, with the order they
/// were learned in; and the count learned.
type Cursors = (HashMap<CursorKey, (u64, Key)>, u64);

/// The prefix of the cursors of pages read from the library.
const HELD_CURSOR: &str = "lib:";

/// A source whose pages are also kept in a library, and read from it where it holds them.
pub struct Keeping<S> {
    inner: S,
    writer: Option<Mutex<std_mpsc::Sender<Record>>>,
    /// A second connection to the library, for reading.
    reader: Option<Mutex<Library>>,
    /// Each listed conversation's newest message, from the latest list pages.
    newest: Mutex<HashMap<(String, ChatType), Key>>,
    cursors: Mutex<Cursors>,
    /// What the status line always says about this source, if anything.
    label: Option<String>,
    /// What a search across every conversation reads: the library, or the store the
    /// demo is served from.
    searcher: Option<Arc<Mutex<SearchAll>>>,
    /// The inner source serves this library (offline): its runs say which conversations
    /// it holds from their beginning.
    served: Option<Mutex<Library>>,
}

/// The end of the writer thread: tells when it has written everything it was handed.
#[derive(Debug)]
pub struct KeptPages {
    done: Option<std_mpsc::Receiver<()>>,
}

impl KeptPages {
    /// Waits (at most `limit`) until the writer has written every page handed to it; it
    /// finishes once the [`Keeping`] source is dropped (the browser closed).
    pub fn wait(self, limit: std::time::Duration) {
        if let Some(done) = self.done {
            let _ = done.recv_timeout(limit);
        }
    }
}

impl<S: Source> Keeping<S> {
    /// `inner`, keeping its pages in `library` when there is one; and the writer's end.
    pub fn new(inner: S, library: Option<Library>) -> (Keeping<S>, KeptPages) {
        let (done_tx, done) = std_mpsc::channel();
        let reader = library.as_ref().and_then(|library| {
            Library::open(library.path(), library.user())
                .map_err(|e| tracing::warn!("the library is not read: {e}"))
                .ok()
                .map(Mutex::new)
        });
        let writer = library.and_then(|library| {
            let (tx, rx) = std_mpsc::channel();
            std::thread::Builder::new()
                .name("roam-library".into())
                .spawn(move || {
                    write_all(library, rx);
                    let _ = done_tx.send(());
                })
                .map_err(|e| tracing::warn!("library writer not started: {e}"))
                .ok()
                .map(|_| Mutex::new(tx))
        });
        let kept = KeptPages {
            done: writer.as_ref().map(|_| done),
        };
        let keeping = Keeping {
            inner,
            writer,
            reader,
            newest: Mutex::new(HashMap::new()),
            cursors: Mutex::new((HashMap::new(), 0)),
            label: None,
            searcher: None,
            served: None,
        };
        (keeping, kept)
    }

    /// The same, with `label` always on the status line (offline: where the pages come
    /// from).
    pub fn labelled(mut self, label: impl Into<String>) -> Keeping<S> {
        self.label = Some(label.into());
        self
    }

    /// The same, answering searches across every conversation from `searcher`.
    pub fn searching(mut self, searcher: SearchAll) -> Keeping<S> {
        self.searcher = Some(Arc::new(Mutex::new(searcher)));
        self
    }

    /// The same, over a source that serves `library` itself (offline): the oldest message
    /// of a conversation it does not hold from its beginning is said to be where the
    /// library ends.
    pub fn serving(mut self, library: Library) -> Keeping<S> {
        self.served = Some(Mutex::new(library));
        self
    }

    fn send(&self, record: Record) {
        if let Some(writer) = &self.writer
            && let Ok(writer) = writer.lock()
        {
            // A writer that stopped has logged why; browsing goes on.
            let _ = writer.send(record);
        }
    }

    /// The key of the message the page asked with `query` continues from.
    fn joins(&self, query: &HistoryQuery) -> Option<Key> {
        let cursor = query.cursor.clone()?;
        let key = (
            query.conversation.clone(),
            query.kind,
            query.direction,
            cursor,
        );
        let cursors = self.cursors.lock().ok()?;
        cursors.0.get(&key).map(|(_, k)| *k)
    }

    /// Remembers where the page after `page` continues from.
    fn remember(&self, query: &HistoryQuery, page: &HistoryPage) {
        let (Some(next), false) = (page.next_cursor.clone(), page.is_last) else {
            return;
        };
        let last = match query.direction {
            Direction::Up => page.messages.iter().map(Key::of).min(),
            Direction::Down => page.messages.iter().map(Key::of).max(),
        };
        let Some(last) = last.or_else(|| self.joins(query)) else {
            return;
        };
        self.remember_cursor(query, next, last);
    }

    /// Remembers that the page asked with `cursor` continues from `last`.
    fn remember_cursor(&self, query: &HistoryQuery, cursor: String, last: Key) {
        let Ok(mut cursors) = self.cursors.lock() else {
            return;
        };
        let (map, clock) = &mut *cursors;
        if map.len() >= MAX_CURSORS {
            let mut ages: Vec<u64> = map.values().map(|(age, _)| *age).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            map.retain(|_, (age, _)| *age > cut);
        }
        *clock += 1;
        map.insert(
            (
                query.conversation.clone(),
                query.kind,
                query.direction,
                cursor,
            ),
            (*clock, last),
        );
    }

    /// The page `query` asks for, when the library holds it (see the module doc).
    fn held(&self, query: &HistoryQuery) -> Option<HistoryPage> {
        let filters = &query.filters;
        let unfiltered = filters.types.is_empty()
            && filters.sender.is_none()
            && filters.start_time.is_none()
            && filters.end_time.is_none();
        if !unfiltered || query.direction != Direction::Up {
            return None;
        }
        let reader = self.reader.as_ref()?.lock().ok()?;
        let from = match query.cursor.as_deref() {
            None => {
                let listed = *self
                    .newest
                    .lock()
                    .ok()?
                    .get(&(query.conversation.clone(), query.kind))?;
                let runs = reader.runs(&query.conversation, query.kind).ok()?;
                From::At(runs.containing(listed)?.newest)
            }
            Some(cursor) => match cursor.strip_prefix(HELD_CURSOR) {
                Some(key) => From::Below(parse_key(key)?),
                None => From::Below(self.joins(query)?),
            },
        };
        let limit = usize::try_from(query.page_size).unwrap_or(50).clamp(1, 50);
        let held = match reader.held_page(&query.conversation, query.kind, from, limit) {
            Ok(held) => held?,
            Err(e) => {
                tracing::warn!("the library could not be read: {e}");
                return None;
            }
        };
        // A stretch whose older end hands over to nothing (no cursor kept, no beginning)
        // is read only from a cursor of the library's own, where there is no going back.
        let own_cursor = query
            .cursor
            .as_deref()
            .is_some_and(|c| c.starts_with(HELD_CURSOR));
        if !(held.run.beginning || held.run.resume.is_some() || own_cursor) {
            return None;
        }
        Some(self.page_of(query, held))
    }

    fn page_of(&self, query: &HistoryQuery, held: HeldPage) -> HistoryPage {
        let (next_cursor, is_last) = if !held.at_run_end {
            let key = format!("{HELD_CURSOR}{}:{}", held.last.time, held.last.id);
            (Some(key), false)
        } else if held.run.beginning {
            (None, true)
        } else {
            if let Some(resume) = &held.run.resume {
                self.remember_cursor(query, resume.clone(), held.last);
            }
            (held.run.resume.clone(), false)
        };
        HistoryPage {
            messages: held.messages,
            next_cursor,
            is_last,
            undecodable: 0,
        }
    }
}

/// Whether `page`, asked with `query`, was read from the library rather than the server:
/// its cursors are the library's own (see the module doc).
pub fn is_held(query: &HistoryQuery, page: &HistoryPage) -> bool {
    let own = |c: Option<&str>| c.is_some_and(|c| c.starts_with(HELD_CURSOR));
    own(query.cursor.as_deref()) || own(page.next_cursor.as_deref())
}

/// The key in a library cursor: `TIME:ID`.
fn parse_key(text: &str) -> Option<Key> {
    let (time, id) = text.split_once(':')?;
    Some(Key {
        time: time.parse().ok()?,
        id: id.parse().ok()?,
    })
}

impl<S: Source> Source for Keeping<S> {
    async fn conversation_page(
        &self,
        cursor: &str,
        limit: u32,
    ) -> Result<ConversationPage, FetchError> {
        let page = self.inner.conversation_page(cursor, limit).await?;
        if let Ok(mut newest) = self.newest.lock() {
            for c in &page.conversations {
                if let Some(m) = &c.last_message {
                    newest.insert((c.id.clone(), c.kind), Key::of(m));
                }
            }
        }
        self.send(Record::List(page.conversations.clone()));
        Ok(page)
    }

    async fn history(&self, query: HistoryQuery) -> Result<HistoryPage, FetchError> {
        if let Some(page) = self.held(&query) {
            return Ok(page);
        }
        let joins = self.joins(&query);
        let page = self.inner.history(query.clone()).await?;
        self.remember(&query, &page);
        self.send(Record::Page {
            query,
            page: page.clone(),
            joins,
        });
        Ok(page)
    }

    fn admin_reader(&self) -> Option<String> {
        self.inner.admin_reader()
    }

    fn standing_label(&self) -> Option<String> {
        self.label.clone().or_else(|| self.inner.standing_label())
    }

    async fn names(
        &self,
        kind: NameKind,
        ids: Vec<String>,
    ) -> Result<HashMap<String, String>, FetchError> {
        self.inner.names(kind, ids).await
    }

    fn names_cache(&self) -> Option<NamesCache> {
        self.inner.names_cache()
    }

    async fn picture(&self, file: Attachment, thumbnail: bool) -> Result<Vec<u8>, FetchError> {
        self.inner.picture(file, thumbnail).await
    }

    // Attachments are not kept in the library: they come from the service each time.
    async fn download(
        &self,
        file: Attachment,
        dir: PathBuf,
        cancel: watch::Receiver<bool>,
        progress: Box<dyn FnMut(Progress) + Send>,
    ) -> DownloadOutcome {
        self.inner.download(file, dir, cancel, progress).await
    }

    fn held_from_beginning(&self, conversation: &ConversationKey) -> Option<bool> {
        let Some(served) = &self.served else {
            return self.inner.held_from_beginning(conversation);
        };
        let library = served.lock().ok()?;
        let runs = library.runs(&conversation.id, conversation.kind).ok()?;
        Some(runs.runs().iter().any(|run| run.beginning))
    }

    fn keeps_pages(&self) -> bool {
        self.writer.is_some() || self.inner.keeps_pages()
    }

    async fn search_all(
        &self,
        text: String,
        regex: bool,
        cursor: Option<i64>,
    ) -> Result<FoundPage, FetchError> {
        let Some(searcher) = self.searcher.clone() else {
            return self.inner.search_all(text, regex, cursor).await;
        };
        // A search reads up to a budget of rows: off the fetch task's threads.
        let page = tokio::task::spawn_blocking(move || {
            let searcher = searcher
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            searcher.page(&text, regex, cursor)
        })
        .await
        .map_err(|_| FetchError::new("the search stopped", true))?
        .map_err(|e| FetchError::new(e.to_string(), false))?;
        Ok(page)
    }
}

/// The writer thread: every record into the library until the browser goes away.
fn write_all(mut library: Library, records: std_mpsc::Receiver<Record>) {
    let mut failed = false;
    for record in records {
        let result = match record {
            Record::List(list) => library.record_conversations(&list).map(|_| ()),
            Record::Page { query, page, joins } => {
                library.record_page(&query, &page, joins).map(|_| ())
            }
        };
        if let Err(e) = result
            && !failed
        {
            failed = true;
            tracing::warn!(
                "the library {} could not be written: {e}",
                library.path().display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::runs::Runs;
    use crate::protocol::{Content, HistoryFilters, Message};

    /// Walks the whole history newest first through `keeping`: every message id, in order.
    async fn walk(keeping: &Keeping<Pages>, pages: usize) -> Vec<u64> {
        let mut ids = Vec::new();
        let mut cursor = None;
        for _ in 0..pages {
            let page = keeping.history(query(cursor)).await.expect("page");
            ids.extend(page.messages.iter().map(|m| m.id - 1_000_000));
            if page.is_last {
                return ids;
            }
            cursor = page.next_cursor;
        }
        ids
    }

    /// A library at `path` that walked `pages` pages of the history (the walk's end kept).
    async fn kept(path: &std::path::Path, pages: usize) {
        let (keeping, kept) = Keeping::new(
            Pages::default(),
            Some(Library::open(path, "alice").expect("library")),
        );
        keeping.conversation_page("", 50).await.expect("list");
        walk(&keeping, pages).await;
        drop(keeping);
        kept.wait(std::time::Duration::from_secs(10));
    }

    /// Walks the whole history again after a first run kept `pages` pages of it: the
    /// message ids read, and the requests the server got.
    async fn reopened(pages: usize) -> (Vec<u64>, usize) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("l.sqlite");
        kept(&path, pages).await;
        let (keeping, _kept) = Keeping::new(
            Pages::default(),
            Some(Library::open(&path, "alice").expect("library")),
        );
        keeping.conversation_page("", 50).await.expect("list");
        let ids = walk(&keeping, 10).await;
        (ids, keeping.inner.asked())
    }

    #[tokio::test]
    async fn a_conversation_held_whole_is_read_without_a_request() {
        let (ids, asked) = reopened(10).await;
        assert_eq!(ids, (0..120).rev().collect::<Vec<u64>>());
        assert_eq!(asked, 0, "every page came from the library");
    }

    #[tokio::test]
    async fn a_held_stretch_hands_over_to_the_server_at_its_end() {
        let (ids, asked) = reopened(1).await;
        assert_eq!(ids, (0..120).rev().collect::<Vec<u64>>());
        assert_eq!(asked, 2, "the newest page was held");
    }

    #[tokio::test]
    async fn without_the_list_saying_the_newest_is_held_the_server_answers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("l.sqlite");
        kept(&path, 10).await;
        let (keeping, _kept) = Keeping::new(
            Pages::default(),
            Some(Library::open(&path, "alice").expect("library")),
        );
        // No list read: whether newer messages exist is unknown.
        let page = keeping.history(query(None)).await.expect("page");
        assert_eq!(page.messages.len(), 50);
        assert_eq!(keeping.inner.asked(), 1);
        // The next page continues a held stretch: read from the library.
        let next = keeping
            .history(query(page.next_cursor))
            .await
            .expect("page");
        assert_eq!(next.messages.first().map(|m| m.id - 1_000_000), Some(69));
        assert_eq!(keeping.inner.asked(), 1);
    }

    /// A conversation of 120 messages served newest first in pages of 50, with cursors
    /// that are plain indexes (as opaque as the service's); history requests counted.
    #[derive(Default)]
    struct Pages {
        asked: std::sync::atomic::AtomicUsize,
    }

    impl Pages {
        fn asked(&self) -> usize {
            self.asked.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    fn message(i: u64) -> Message {
        Message {
            id: 1_000_000 + i,
            from: "bob".into(),
            to: "alice".into(),
            chat_type: ChatType::Single,
            time: 1_700_000_000_000 + i as i64,
            content: Content::Text {
                text: format!("m{i}"),
            },
            ext: Default::default(),
            meta: None,
        }
    }

    impl Source for Pages {
        async fn conversation_page(&self, _: &str, _: u32) -> Result<ConversationPage, FetchError> {
            Ok(ConversationPage {
                conversations: vec![Conversation {
                    id: "bob".into(),
                    kind: ChatType::Single,
                    unread: 0,
                    pinned: false,
                    pinned_at: None,
                    marks: Vec::new(),
                    last_message: Some(message(119)),
                }],
                next_cursor: None,
            })
        }

        async fn history(&self, query: HistoryQuery) -> Result<HistoryPage, FetchError> {
            self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let top: u64 = query
                .cursor
                .as_deref()
                .map_or(119, |c| c.parse().unwrap_or(0));
            let bottom = top.saturating_sub(49);
            Ok(HistoryPage {
                messages: (bottom..=top).rev().map(message).collect(),
                next_cursor: (bottom > 0).then(|| (bottom - 1).to_string()),
                is_last: bottom == 0,
                undecodable: 0,
            })
        }
    }

    fn query(cursor: Option<String>) -> HistoryQuery {
        HistoryQuery {
            conversation: "bob".into(),
            kind: ChatType::Single,
            cursor,
            page_size: 50,
            direction: Direction::Up,
            filters: HistoryFilters::default(),
        }
    }

    fn runs(path: &std::path::Path) -> Runs {
        Library::open(path, "alice")
            .expect("library")
            .runs("bob", ChatType::Single)
            .expect("runs")
    }

    #[tokio::test]
    async fn a_walk_through_history_is_kept_as_one_stretch() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("l.sqlite");
        let (keeping, kept) = Keeping::new(
            Pages::default(),
            Some(Library::open(&path, "alice").expect("library")),
        );
        let mut cursor = None;
        loop {
            let page = keeping.history(query(cursor)).await.expect("page");
            if page.is_last {
                break;
            }
            cursor = page.next_cursor;
        }
        // The writer finishes what it was handed once the browser lets go of it.
        drop(keeping);
        kept.wait(std::time::Duration::from_secs(10));
        let runs = runs(&path);
        assert!(runs.complete(), "{runs:?}");
    }

    #[tokio::test]
    async fn a_sync_from_the_browser_keeps_the_conversation_to_its_beginning() {
        use crate::tui::event::{Event, SyncEnd};
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("l.sqlite");
        // A first look kept the newest page; the sync reads it from the library and asks
        // the server for the rest.
        kept(&path, 1).await;
        let (keeping, kept) = Keeping::new(
            Pages::default(),
            Some(Library::open(&path, "alice").expect("library")),
        );
        keeping.conversation_page("", 50).await.expect("list");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let bob = crate::tui::event::ConversationKey {
            id: "bob".into(),
            kind: ChatType::Single,
        };
        super::super::sync::run(&keeping, bob, 7, &tx).await;
        drop(tx);
        let mut last = None;
        while let Some(event) = rx.recv().await {
            last = Some(event);
        }
        let Some(Event::Sync {
            request_id: 7,
            progress,
        }) = last
        else {
            panic!("no end reported: {last:?}");
        };
        assert_eq!(progress.ended, Some(SyncEnd::Beginning));
        assert_eq!((progress.pages, progress.messages), (3, 120));
        assert_eq!(
            keeping.inner.asked(),
            2,
            "the page held was not asked again"
        );
        drop(keeping);
        kept.wait(std::time::Duration::from_secs(10));
        assert!(runs(&path).complete(), "{:?}", runs(&path));
    }

    #[tokio::test]
    async fn a_source_that_keeps_nothing_does_not_sync() {
        use crate::tui::event::{Event, SyncEnd};
        let (keeping, _kept) = Keeping::new(Pages::default(), None);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let bob = crate::tui::event::ConversationKey {
            id: "bob".into(),
            kind: ChatType::Single,
        };
        super::super::sync::run(&keeping, bob, 1, &tx).await;
        let Some(Event::Sync { progress, .. }) = rx.recv().await else {
            panic!("no answer");
        };
        assert!(
            matches!(progress.ended, Some(SyncEnd::Failed(_))),
            "{progress:?}"
        );
        assert_eq!(keeping.inner.asked(), 0);
    }

    #[tokio::test]
    async fn without_a_library_pages_pass_through() {
        let (keeping, kept) = Keeping::new(Pages::default(), None);
        let page = keeping.history(query(None)).await.expect("page");
        assert_eq!(page.messages.len(), 50);
        kept.wait(std::time::Duration::from_secs(10));
    }
}
