//! The fetch task: the only part of the browser that waits on the network.
//!
//! The event loop sends [`FetchRequest`]s over an unbounded channel (sending never
//! blocks the UI) and receives the answers as [`Event`]s over another, carrying the
//! request id they answer. Each request runs as its own task, so a history page that
//! hangs until the client's timeout never delays the conversation list, another
//! conversation's page, or a key press.
//!
//! Answers nobody waits for any more (the person opened another conversation, reloaded
//! the list) are still delivered: the state machine accepts an answer only from the
//! request it is waiting for and drops the rest, so the fetch task needs no bookkeeping
//! of its own. When the event loop goes away, the task stops and aborts what is in flight.
//!
//! A history request marked `read_ahead` is a step of a walk (a search continuing into
//! older history): once its page is in, the next page (same query, the page's cursor) is
//! asked for at once, before the answer is even handed over, so the network works while
//! the state merges and scans. One page at most is read ahead. When the state then asks
//! for exactly that query, the page read ahead answers it; any other request for the same
//! conversation and direction means the walk went elsewhere, and the page read ahead is
//! dropped (and its request cancelled, if still running). The state machine's rules are
//! unchanged: it still asks for each page once, with one request per direction in flight.
//!
//! Names ([`FetchRequest::Names`]) are looked up in the disk cache, then asked of the
//! server, in [`names`]; the disk cache is the [`Source::names_cache`].
//!
//! Where the data comes from is a [`Source`]: the HTTP client in the program (behind
//! [`Keeping`], which keeps every page in the local library), a fake in tests.

mod client_source;
mod downloads;
mod keeping;
mod names;
mod pictures;
mod sync;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ratatui_image::picker::Picker;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::app::{Event, FetchError, FetchRequest, LIST_PAGE_SIZE};
use super::event::{ConversationKey, DownloadOutcome, FoundPage};
use crate::client::Progress;
use crate::names_cache::{NameKind, NamesCache};
use crate::protocol::{Attachment, ConversationPage, HistoryPage, HistoryQuery};
use names::NamesDisk;

pub use keeping::{Keeping, KeptPages};

/// Where conversation lists, history pages and names come from.
pub trait Source: Send + Sync + 'static {
    /// One page of the cursor conversation list: `cursor` is `""` for the first page or a
    /// previous page's `next_cursor`; `limit` is 1..=50.
    fn conversation_page(
        &self,
        cursor: &str,
        limit: u32,
    ) -> impl Future<Output = Result<ConversationPage, FetchError>> + Send;

    /// One page of a conversation's history.
    fn history(
        &self,
        query: HistoryQuery,
    ) -> impl Future<Output = Result<HistoryPage, FetchError>> + Send;

    /// Whose history this is when it is read with admin access (an app's credentials),
    /// which the status line then always shows; `None` for the person's own.
    fn admin_reader(&self) -> Option<String> {
        None
    }

    /// A few words the status line always shows about where the history comes from
    /// (`offline · library`); `None` for the live service.
    fn standing_label(&self) -> Option<String> {
        None
    }

    /// The names of `ids` of this kind that have one, by lowercased id; an id left out
    /// has no name. By default nobody has a name.
    fn names(
        &self,
        kind: NameKind,
        ids: Vec<String>,
    ) -> impl Future<Output = Result<HashMap<String, String>, FetchError>> + Send {
        let _ = (kind, ids);
        async { Ok(HashMap::new()) }
    }

    /// Where names are kept between runs; `None`: nowhere.
    fn names_cache(&self) -> Option<NamesCache> {
        None
    }

    /// The bytes of a picture (`thumbnail`: the server's thumbnail of it), at most
    /// [`MAX_PICTURE_BYTES`](super::picture::MAX_PICTURE_BYTES). By default there is
    /// nowhere to fetch it from.
    fn picture(
        &self,
        file: Attachment,
        thumbnail: bool,
    ) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send {
        let _ = (file, thumbnail);
        async { Err(FetchError::new("pictures cannot be fetched here", false)) }
    }

    /// Downloads `file` into `dir` (creating it) under a safe name that never overwrites,
    /// calling `progress` as bytes arrive, until done or `cancel` turns true. By default
    /// there is nothing to download from.
    fn download(
        &self,
        file: Attachment,
        dir: PathBuf,
        cancel: watch::Receiver<bool>,
        progress: Box<dyn FnMut(Progress) + Send>,
    ) -> impl Future<Output = DownloadOutcome> + Send {
        let _ = (file, dir, cancel, progress);
        async {
            DownloadOutcome::Failed(FetchError::new(
                "attachments cannot be downloaded here",
                false,
            ))
        }
    }

    /// One page of a search across every conversation (see [`FetchRequest::SearchAll`]).
    /// By default there is nothing to search.
    fn search_all(
        &self,
        text: String,
        regex: bool,
        cursor: Option<i64>,
    ) -> impl Future<Output = Result<FoundPage, FetchError>> + Send {
        let _ = (text, regex, cursor);
        async { Err(FetchError::new(NO_SEARCH, false)) }
    }

    /// Whether this source holds `conversation` from its beginning: `None` for the live
    /// service, whose oldest message is the beginning; `Some(false)` for a library (offline)
    /// whose copy of the conversation starts later.
    fn held_from_beginning(&self, conversation: &ConversationKey) -> Option<bool> {
        let _ = conversation;
        None
    }

    /// Pages read through this source are kept in a library, so walking a conversation
    /// syncs it ([`FetchRequest::Sync`]). By default nothing is kept.
    fn keeps_pages(&self) -> bool {
        false
    }
}

/// Why a source without a library cannot search all history.
pub const NO_SEARCH: &str = "there is no library to search here";

/// The event loop's ends of the fetch task's channels.
#[derive(Debug)]
pub struct FetchHandle {
    /// Requests go in here; sending never waits.
    pub requests: mpsc::UnboundedSender<FetchRequest>,
    /// Answers come out here, as events for [`App::update`](super::app::App::update).
    pub events: mpsc::UnboundedReceiver<Event>,
    /// The source's [`Source::admin_reader`].
    pub admin_reader: Option<String>,
    /// The source's [`Source::standing_label`].
    pub standing_label: Option<String>,
    task: JoinHandle<()>,
}

impl FetchHandle {
    /// Hands a request to the fetch task. Returns false when the task is gone.
    pub fn send(&self, request: FetchRequest) -> bool {
        self.requests.send(request).is_ok()
    }

    /// Stops the fetch task and everything in flight.
    pub fn abort(&self) {
        self.task.abort();
    }
}

impl Drop for FetchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the fetch task on the current tokio runtime, owning `source`; pictures are
/// drawn with half-blocks.
pub fn spawn<S: Source>(source: S) -> FetchHandle {
    spawn_with(source, Picker::halfblocks())
}

/// Starts the fetch task, owning `source`; pictures are encoded with `picker` (the
/// terminal's graphics protocol and cell size).
pub fn spawn_with<S: Source>(source: S, picker: Picker) -> FetchHandle {
    let (requests, rx) = mpsc::unbounded_channel();
    let (tx, events) = mpsc::unbounded_channel();
    let admin_reader = source.admin_reader();
    let standing_label = source.standing_label();
    let disk = source.names_cache().map(|c| Arc::new(NamesDisk::new(c)));
    let pictures = pictures::Pictures::new(picker);
    let task = tokio::spawn(serve(Arc::new(source), disk, pictures, rx, tx));
    FetchHandle {
        requests,
        events,
        admin_reader,
        standing_label,
        task,
    }
}

/// How long a page read ahead stays good for answering: a walk asks for it within
/// milliseconds; one left lying (the search found its match) is not served much later.
const AHEAD_FRESH: Duration = Duration::from_secs(10);

/// The page read ahead of a walk: the query it answers and where its answer arrives.
struct Ahead {
    query: HistoryQuery,
    asked: Instant,
    page: oneshot::Receiver<Result<HistoryPage, FetchError>>,
}

/// The one page read ahead, shared by the fetch task and its sub-tasks.
#[derive(Clone, Default)]
struct AheadSlot(Arc<Mutex<Option<Ahead>>>);

impl AheadSlot {
    fn lock(&self) -> MutexGuard<'_, Option<Ahead>> {
        // Nothing that holds the lock can panic half-way: a poisoned slot is still whole.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The answer read ahead for `query`, if there is a fresh one. A page read ahead for
    /// the same conversation and direction but another query is dropped: the walk went
    /// elsewhere. One for another conversation or direction stays.
    fn take(
        &self,
        query: &HistoryQuery,
    ) -> Option<oneshot::Receiver<Result<HistoryPage, FetchError>>> {
        let mut slot = self.lock();
        let ahead = slot.take()?;
        if ahead.query == *query {
            return (ahead.asked.elapsed() < AHEAD_FRESH).then_some(ahead.page);
        }
        let same_walk = ahead.query.conversation == query.conversation
            && ahead.query.kind == query.kind
            && ahead.query.direction == query.direction;
        if !same_walk {
            *slot = Some(ahead);
        }
        None
    }

    /// Puts the next page of a walk in the slot (dropping what was there) and returns
    /// where its answer goes.
    fn put(&self, query: HistoryQuery) -> oneshot::Sender<Result<HistoryPage, FetchError>> {
        let (tx, page) = oneshot::channel();
        *self.lock() = Some(Ahead {
            query,
            asked: Instant::now(),
            page,
        });
        tx
    }
}

/// The fetch task: one sub-task per request, until the request channel closes or nobody
/// listens for answers. Aborting it (or returning) aborts the sub-tasks with the
/// [`JoinSet`], pages being read ahead included (they run in the sub-task that asked).
async fn serve<S: Source>(
    source: Arc<S>,
    disk: Option<Arc<NamesDisk>>,
    pictures: pictures::Pictures,
    mut requests: mpsc::UnboundedReceiver<FetchRequest>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut running = JoinSet::new();
    let ahead = AheadSlot::default();
    let mut downloads = downloads::Running::default();
    // Syncs running, to stop on request.
    let mut syncs: HashMap<u64, tokio::task::AbortHandle> = HashMap::new();
    loop {
        tokio::select! {
            request = requests.recv() => {
                let Some(request) = request else { break };
                let source = Arc::clone(&source);
                let events = events.clone();
                match request {
                    FetchRequest::History { query, request_id, read_ahead } => {
                        // Taken here, in the order requests arrive: a sub-task started
                        // later must not see a slot an earlier request was meant to use.
                        let early = ahead.take(&query);
                        let ahead = ahead.clone();
                        running.spawn(async move {
                            walk_step(&*source, query, request_id, read_ahead, early, &ahead, &events)
                                .await;
                        });
                    }
                    FetchRequest::Sync { request_id, conversation } => {
                        syncs.retain(|_, task| !task.is_finished());
                        let task = running.spawn(async move {
                            sync::run(&*source, conversation, request_id, &events).await;
                        });
                        syncs.insert(request_id, task);
                    }
                    FetchRequest::SearchAll { request_id, text, regex, cursor } => {
                        running.spawn(async move {
                            let result = source.search_all(text, regex, cursor).await;
                            let _ = events.send(Event::SearchAll { request_id, result });
                        });
                    }
                    FetchRequest::StopSync { request_id } => {
                        if let Some(task) = syncs.remove(&request_id) {
                            task.abort();
                        }
                    }
                    FetchRequest::Names { request_id, ids, refresh } => {
                        let disk = disk.clone();
                        running.spawn(async move {
                            let (names, failed) = names::look_up(&*source, disk, ids, refresh).await;
                            let _ = events.send(Event::Names { request_id, names, failed });
                        });
                    }
                    FetchRequest::ConversationPage { cursor, request_id } => {
                        running.spawn(async move {
                            let result = source
                                .conversation_page(cursor.as_deref().unwrap_or(""), LIST_PAGE_SIZE)
                                .await;
                            // The event loop may be gone; then nobody wants the answer.
                            let _ = events.send(Event::ConversationPage { request_id, result });
                        });
                    }
                    FetchRequest::Download { request_id, file, dir } => {
                        let cancel = downloads.start(request_id);
                        running.spawn(async move {
                            downloads::run(&*source, request_id, file, dir, cancel, events).await;
                        });
                    }
                    FetchRequest::CancelDownload { request_id } => downloads.cancel(request_id),
                    FetchRequest::Picture { request_id, file, thumbnail, fits } => {
                        let pictures = pictures.clone();
                        running.spawn(async move {
                            let result = pictures.show(&*source, file, thumbnail, fits).await;
                            let _ = events.send(Event::Picture { request_id, result });
                        });
                    }
                }
            }
            // Reap finished sub-tasks so the set does not grow with the session.
            Some(_) = running.join_next(), if !running.is_empty() => {}
            () = events.closed() => break,
        }
    }
    running.abort_all();
}

/// Answers one history request (from the page read ahead for it when there is one) and,
/// for a step of a walk, reads the next page ahead: it is put in the slot before the
/// answer is sent, so the state's request for it, which can only follow the answer,
/// always finds it.
async fn walk_step<S: Source>(
    source: &S,
    query: HistoryQuery,
    request_id: u64,
    read_ahead: bool,
    early: Option<oneshot::Receiver<Result<HistoryPage, FetchError>>>,
    slot: &AheadSlot,
    events: &mpsc::UnboundedSender<Event>,
) {
    let conversation = ConversationKey::of_query(&query);
    let result = match early {
        Some(page) => match page.await {
            Ok(result) => result,
            // The sub-task reading ahead was stopped: ask now.
            Err(_) => source.history(query.clone()).await,
        },
        None => source.history(query.clone()).await,
    };
    library_ends(source, &query, &result, events);
    let next = match &result {
        Ok(page) if read_ahead => next_query(&query, page),
        _ => None,
    };
    let Some(next) = next else {
        let _ = events.send(Event::HistoryPage {
            conversation,
            request_id,
            result,
        });
        return;
    };
    let mut tx = slot.put(next.clone());
    let _ = events.send(Event::HistoryPage {
        conversation,
        request_id,
        result,
    });
    let result = tokio::select! {
        result = source.history(next) => Some(result),
        // The walk went elsewhere: stop asking.
        () = tx.closed() => None,
    };
    if let Some(result) = result {
        // Dropped from the slot meanwhile: nobody will ask for it.
        let _ = tx.send(result);
    }
}

/// Tells the state, before it gets a page that ends the history or starts at one of its
/// ends, when that end is only where an offline library's copy ends.
fn library_ends<S: Source>(
    source: &S,
    query: &HistoryQuery,
    result: &Result<HistoryPage, FetchError>,
    events: &mpsc::UnboundedSender<Event>,
) {
    let at_an_end = match result {
        Ok(page) => page.is_last || query.cursor.is_none(),
        Err(_) => false,
    };
    let conversation = ConversationKey::of_query(query);
    if at_an_end && source.held_from_beginning(&conversation) == Some(false) {
        let _ = events.send(Event::LibraryEnds { conversation });
    }
}

/// The query of the page after `page` in the same walk, when the server has one: the same
/// query from the page's cursor. None at the end, as [`History`](super::history::History)
/// decides it: `is_last`, no cursor, or the cursor asked with.
fn next_query(query: &HistoryQuery, page: &HistoryPage) -> Option<HistoryQuery> {
    let next = page.next_cursor.as_deref().filter(|c| !c.is_empty())?;
    if page.is_last || query.cursor.as_deref() == Some(next) {
        return None;
    }
    Some(HistoryQuery {
        cursor: Some(next.to_string()),
        ..query.clone()
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    /// A list page holding one empty single chat with `bob`: the fake sources' answer.
    pub(crate) fn bob_only() -> ConversationPage {
        ConversationPage {
            conversations: vec![Conversation {
                id: "bob".into(),
                kind: ChatType::Single,
                unread: 0,
                pinned: false,
                pinned_at: None,
                marks: Vec::new(),
                last_message: None,
            }],
            next_cursor: None,
        }
    }
    use crate::protocol::{ChatType, Conversation, Direction, HistoryFilters};
    use crate::tui::app::ConversationKey;

    /// A fake server: history of `slow` hangs for 30 s; everything else answers at once.
    /// Remembers what it was asked.
    #[derive(Default)]
    struct Fake {
        asked: Arc<Mutex<Vec<String>>>,
    }

    impl Source for Fake {
        async fn conversation_page(
            &self,
            cursor: &str,
            limit: u32,
        ) -> Result<ConversationPage, FetchError> {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push(format!("list {cursor:?} {limit}"));
            }
            if cursor == "broken" {
                return Err(FetchError::new("HTTP 503", true));
            }
            Ok(bob_only())
        }

        async fn history(&self, query: HistoryQuery) -> Result<HistoryPage, FetchError> {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push(format!(
                    "history {} {:?} {:?} {} {:?}{}",
                    query.conversation,
                    query.kind,
                    query.cursor,
                    query.page_size,
                    query.direction,
                    if query.filters.types.is_empty() {
                        String::new()
                    } else {
                        format!(" {:?}", query.filters.types)
                    }
                ));
            }
            if query.conversation == "slow" {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Ok(HistoryPage {
                messages: Vec::new(),
                next_cursor: None,
                is_last: true,
                undecodable: 0,
            })
        }
    }

    fn key(id: &str) -> ConversationKey {
        ConversationKey {
            id: id.into(),
            kind: ChatType::Group,
        }
    }

    /// A request for a page of group `id`'s history, newest first.
    fn history(id: &str, cursor: Option<&str>, request_id: u64) -> FetchRequest {
        FetchRequest::History {
            query: HistoryQuery {
                conversation: id.into(),
                kind: ChatType::Group,
                cursor: cursor.map(str::to_string),
                page_size: crate::tui::history::PAGE_SIZE,
                direction: Direction::Up,
                filters: HistoryFilters::default(),
            },
            request_id,
            read_ahead: false,
        }
    }

    async fn next(handle: &mut FetchHandle) -> Event {
        match tokio::time::timeout(Duration::from_secs(5), handle.events.recv()).await {
            Ok(Some(event)) => event,
            other => panic!("no answer in time: {other:?}"),
        }
    }

    #[tokio::test]
    async fn answers_arrive_as_events_with_their_request_ids() {
        let mut handle = spawn(Fake::default());
        assert!(handle.send(FetchRequest::ConversationPage {
            cursor: None,
            request_id: 1,
        }));
        match next(&mut handle).await {
            Event::ConversationPage {
                request_id: 1,
                result: Ok(page),
            } => assert_eq!(page.conversations.len(), 1),
            other => panic!("unexpected {other:?}"),
        }
        handle.send(history("team", Some("c1"), 2));
        match next(&mut handle).await {
            Event::HistoryPage {
                conversation,
                request_id: 2,
                result: Ok(page),
            } => {
                assert_eq!(conversation, key("team"));
                assert!(page.is_last);
            }
            other => panic!("unexpected {other:?}"),
        }
        handle.send(FetchRequest::ConversationPage {
            cursor: Some("broken".into()),
            request_id: 3,
        });
        match next(&mut handle).await {
            Event::ConversationPage {
                request_id: 3,
                result: Err(e),
            } => assert!(e.retryable),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn requests_use_the_list_page_size_and_pass_history_queries_through() {
        let fake = Fake::default();
        let asked = Arc::clone(&fake.asked);
        let mut fetch = spawn(fake);
        fetch.send(FetchRequest::ConversationPage {
            cursor: None,
            request_id: 1,
        });
        fetch.events.recv().await.expect("the list page");
        let FetchRequest::History { mut query, .. } = history("team", Some("c9"), 2) else {
            unreachable!()
        };
        query.direction = Direction::Down;
        query.filters.types = vec!["img".into()];
        fetch.send(FetchRequest::History {
            query,
            request_id: 2,
            read_ahead: false,
        });
        fetch.events.recv().await.expect("the history page");
        let asked = asked.lock().map(|a| a.clone()).unwrap_or_default();
        assert_eq!(
            asked,
            vec![
                format!("list \"\" {LIST_PAGE_SIZE}"),
                format!(
                    "history team Group Some(\"c9\") {} Down [\"img\"]",
                    crate::tui::history::PAGE_SIZE
                ),
            ]
        );
    }

    #[tokio::test]
    async fn a_hanging_history_request_does_not_block_the_list() {
        let mut handle = spawn(Fake::default());
        handle.send(history("slow", None, 1));
        handle.send(FetchRequest::ConversationPage {
            cursor: None,
            request_id: 2,
        });
        handle.send(history("fast", None, 3));
        let started = std::time::Instant::now();
        let mut ids = vec![];
        for _ in 0..2 {
            ids.push(match next(&mut handle).await {
                Event::ConversationPage { request_id, .. }
                | Event::HistoryPage { request_id, .. } => request_id,
                other => panic!("unexpected {other:?}"),
            });
        }
        ids.sort_unstable();
        assert_eq!(ids, vec![2, 3]);
        assert!(started.elapsed() < Duration::from_secs(5));
        // Dropping the handle aborts the hanging request with the task.
        drop(handle);
    }

    #[tokio::test]
    async fn the_task_stops_when_the_event_loop_goes_away() {
        let (requests, rx) = mpsc::unbounded_channel();
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(serve(
            Arc::new(Fake::default()),
            None,
            pictures::Pictures::new(Picker::halfblocks()),
            rx,
            tx,
        ));
        requests.send(history("slow", None, 1)).ok();
        drop(events);
        let stopped = tokio::time::timeout(Duration::from_secs(5), task).await;
        assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
        assert!(requests.is_closed());
    }

    /// A walk of `PAGES` pages: cursor `None` → page 1, whose next cursor is `c2`, ..., the
    /// last page says `is_last`. Counts how often each cursor was asked for, and can hold
    /// a cursor's answer until told.
    struct Walk {
        asked: Mutex<Vec<Option<String>>>,
        hold: Option<(&'static str, Arc<tokio::sync::Notify>)>,
        asked_signal: Arc<tokio::sync::Notify>,
    }

    const PAGES: u32 = 4;

    impl Walk {
        fn new(hold: Option<(&'static str, Arc<tokio::sync::Notify>)>) -> Walk {
            Walk {
                asked: Mutex::new(Vec::new()),
                hold,
                asked_signal: Arc::default(),
            }
        }

        fn times_asked(&self, cursor: Option<&str>) -> usize {
            self.asked
                .lock()
                .map(|a| a.iter().filter(|c| c.as_deref() == cursor).count())
                .unwrap_or(0)
        }
    }

    impl Source for Arc<Walk> {
        async fn conversation_page(
            &self,
            _cursor: &str,
            _limit: u32,
        ) -> Result<ConversationPage, FetchError> {
            Ok(bob_only())
        }

        async fn history(&self, query: HistoryQuery) -> Result<HistoryPage, FetchError> {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push(query.cursor.clone());
            }
            self.asked_signal.notify_one();
            if let Some((cursor, release)) = &self.hold
                && query.cursor.as_deref() == Some(*cursor)
            {
                release.notified().await;
            }
            let n: u32 = query
                .cursor
                .as_deref()
                .and_then(|c| c.strip_prefix('c'))
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            Ok(HistoryPage {
                messages: Vec::new(),
                next_cursor: (n < PAGES).then(|| format!("c{}", n + 1)),
                is_last: n >= PAGES,
                undecodable: 0,
            })
        }
    }

    fn walk_step(cursor: Option<&str>, request_id: u64) -> FetchRequest {
        let FetchRequest::History { query, .. } = history("team", cursor, request_id) else {
            unreachable!()
        };
        FetchRequest::History {
            query,
            request_id,
            read_ahead: true,
        }
    }

    /// Waits until `walk` has been asked for `cursor` `times` times.
    async fn until_asked(walk: &Walk, cursor: Option<&str>, times: usize) {
        let waited = tokio::time::timeout(Duration::from_secs(5), async {
            while walk.times_asked(cursor) < times {
                walk.asked_signal.notified().await;
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "{cursor:?} was not asked for {times} time(s)"
        );
    }

    fn answered(event: Event) -> (u64, Option<String>) {
        match event {
            Event::HistoryPage {
                request_id,
                result: Ok(page),
                ..
            } => (request_id, page.next_cursor),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_walk_reads_the_next_page_ahead_and_asks_the_server_once_per_page() {
        let walk = Arc::new(Walk::new(None));
        let mut handle = spawn(Arc::clone(&walk));
        handle.send(walk_step(None, 1));
        assert_eq!(answered(next(&mut handle).await), (1, Some("c2".into())));
        // Asked before the state asks for it.
        until_asked(&walk, Some("c2"), 1).await;
        let mut cursor = Some("c2".to_string());
        let mut id = 2;
        while let Some(c) = cursor {
            handle.send(walk_step(Some(&c), id));
            let (answered_id, next_cursor) = answered(next(&mut handle).await);
            assert_eq!(answered_id, id);
            cursor = next_cursor;
            id += 1;
        }
        assert_eq!(id, u64::from(PAGES) + 1, "every page once");
        let asked = walk.asked.lock().map(|a| a.clone()).unwrap_or_default();
        assert_eq!(
            asked,
            vec![
                None,
                Some("c2".into()),
                Some("c3".into()),
                Some("c4".into())
            ],
            "each page asked of the server exactly once, nothing past the last"
        );
    }

    #[tokio::test]
    async fn nothing_is_read_ahead_outside_a_walk_and_a_walk_that_turns_away_drops_it() {
        let walk = Arc::new(Walk::new(None));
        let mut handle = spawn(Arc::clone(&walk));
        handle.send(history("team", None, 1));
        assert_eq!(answered(next(&mut handle).await).0, 1);
        handle.send(history("team", Some("c3"), 2));
        assert_eq!(answered(next(&mut handle).await).0, 2);
        assert_eq!(
            walk.times_asked(Some("c2")),
            0,
            "no read-ahead without a walk"
        );
        assert_eq!(
            walk.times_asked(Some("c4")),
            0,
            "no read-ahead without a walk"
        );

        // A walk reads c2 ahead; the state asks for c3 instead: c2 is dropped, and asking
        // for c2 later goes to the server again.
        handle.send(walk_step(None, 3));
        answered(next(&mut handle).await);
        until_asked(&walk, Some("c2"), 1).await;
        handle.send(history("team", Some("c3"), 4));
        assert_eq!(answered(next(&mut handle).await).0, 4);
        handle.send(history("team", Some("c2"), 5));
        assert_eq!(answered(next(&mut handle).await).0, 5);
        assert_eq!(walk.times_asked(Some("c2")), 2);
    }

    #[tokio::test]
    async fn a_page_still_on_its_way_answers_the_request_for_it_when_it_lands() {
        let release = Arc::new(tokio::sync::Notify::new());
        let walk = Arc::new(Walk::new(Some(("c2", Arc::clone(&release)))));
        let mut handle = spawn(Arc::clone(&walk));
        handle.send(walk_step(None, 1));
        answered(next(&mut handle).await);
        until_asked(&walk, Some("c2"), 1).await;
        handle.send(walk_step(Some("c2"), 2));
        // Nothing answers while the page read ahead hangs.
        let early = tokio::time::timeout(Duration::from_millis(50), handle.events.recv()).await;
        assert!(early.is_err(), "answered before the page was in: {early:?}");
        release.notify_one();
        assert_eq!(answered(next(&mut handle).await), (2, Some("c3".into())));
        assert_eq!(walk.times_asked(Some("c2")), 1, "not asked twice");
    }
}
