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
//! Where the data comes from is a [`Source`]: the HTTP client in the program, a fake in
//! tests.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::app::{Event, FetchError, FetchRequest, LIST_PAGE_SIZE};
use super::event::ConversationKey;
use crate::protocol::{ConversationPage, HistoryPage, HistoryQuery};

/// Where conversation lists and history pages come from.
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
}

/// The event loop's ends of the fetch task's channels.
#[derive(Debug)]
pub struct FetchHandle {
    /// Requests go in here; sending never waits.
    pub requests: mpsc::UnboundedSender<FetchRequest>,
    /// Answers come out here, as events for [`App::update`](super::app::App::update).
    pub events: mpsc::UnboundedReceiver<Event>,
    /// The source's [`Source::admin_reader`].
    pub admin_reader: Option<String>,
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

/// Starts the fetch task on the current tokio runtime, owning `source`.
pub fn spawn<S: Source>(source: S) -> FetchHandle {
    let (requests, rx) = mpsc::unbounded_channel();
    let (tx, events) = mpsc::unbounded_channel();
    let admin_reader = source.admin_reader();
    let task = tokio::spawn(serve(Arc::new(source), rx, tx));
    FetchHandle {
        requests,
        events,
        admin_reader,
        task,
    }
}

/// The fetch task: one sub-task per request, until the request channel closes or nobody
/// listens for answers. Aborting it (or returning) aborts the sub-tasks with the
/// [`JoinSet`].
async fn serve<S: Source>(
    source: Arc<S>,
    mut requests: mpsc::UnboundedReceiver<FetchRequest>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut running = JoinSet::new();
    loop {
        tokio::select! {
            request = requests.recv() => {
                let Some(request) = request else { break };
                let source = Arc::clone(&source);
                let events = events.clone();
                running.spawn(async move {
                    let event = answer(&*source, request).await;
                    // The event loop may be gone; then nobody wants the answer.
                    let _ = events.send(event);
                });
            }
            // Reap finished sub-tasks so the set does not grow with the session.
            Some(_) = running.join_next(), if !running.is_empty() => {}
            () = events.closed() => break,
        }
    }
    running.abort_all();
}

/// Runs one request against `source` and wraps the result as the event that answers it.
pub async fn answer<S: Source>(source: &S, request: FetchRequest) -> Event {
    match request {
        FetchRequest::ConversationPage { cursor, request_id } => {
            let result = source
                .conversation_page(cursor.as_deref().unwrap_or(""), LIST_PAGE_SIZE)
                .await;
            Event::ConversationPage { request_id, result }
        }
        FetchRequest::History { query, request_id } => {
            let conversation = ConversationKey::of_query(&query);
            let result = source.history(query).await;
            Event::HistoryPage {
                conversation,
                request_id,
                result,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The HTTP client as a Source. Retrying stays the person's call (R): `retryable` only
// changes the words.
// ---------------------------------------------------------------------------------------

mod client_source {
    use super::{FetchError, Source};
    use crate::client::{Client, ClientError};
    use crate::protocol::{ConversationPage, HistoryPage, HistoryQuery};

    /// Timeouts, connection trouble, 429 and 5xx may pass; the rest will not.
    fn fetch_error(e: &ClientError) -> FetchError {
        let retryable = match e {
            ClientError::Timeout { .. }
            | ClientError::Connect { .. }
            | ClientError::Transport { .. } => true,
            ClientError::Http { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        };
        FetchError::new(e.description(), retryable)
    }

    impl Source for Client {
        async fn conversation_page(
            &self,
            cursor: &str,
            limit: u32,
        ) -> Result<ConversationPage, FetchError> {
            Client::conversation_page(self, cursor, limit)
                .await
                .map_err(|e| fetch_error(&e))
        }

        async fn history(&self, query: HistoryQuery) -> Result<HistoryPage, FetchError> {
            Client::history(self, &query)
                .await
                .map_err(|e| fetch_error(&e))
        }

        fn admin_reader(&self) -> Option<String> {
            self.admin_client_id().map(|_| self.user().to_string())
        }
    }
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
        asked: Mutex<Vec<String>>,
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
        answer(
            &fake,
            FetchRequest::ConversationPage {
                cursor: None,
                request_id: 1,
            },
        )
        .await;
        let FetchRequest::History { mut query, .. } = history("team", Some("c9"), 2) else {
            unreachable!()
        };
        query.direction = Direction::Down;
        query.filters.types = vec!["img".into()];
        answer(
            &fake,
            FetchRequest::History {
                query,
                request_id: 2,
            },
        )
        .await;
        let asked = fake.asked.lock().map(|a| a.clone()).unwrap_or_default();
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
        let task = tokio::spawn(serve(Arc::new(Fake::default()), rx, tx));
        requests.send(history("slow", None, 1)).ok();
        drop(events);
        let stopped = tokio::time::timeout(Duration::from_secs(5), task).await;
        assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
        assert!(requests.is_closed());
    }
}
