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

use super::app::{Event, FetchError, FetchRequest, LIST_PAGE_SIZE, PAGE_SIZE};
use crate::protocol::{ConversationPage, Direction, HistoryFilters, HistoryPage, HistoryQuery};

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
}

/// The event loop's ends of the fetch task's channels.
#[derive(Debug)]
pub struct FetchHandle {
    /// Requests go in here; sending never waits.
    pub requests: mpsc::UnboundedSender<FetchRequest>,
    /// Answers come out here, as events for [`App::update`](super::app::App::update).
    pub events: mpsc::UnboundedReceiver<Event>,
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
    let task = tokio::spawn(serve(Arc::new(source), rx, tx));
    FetchHandle {
        requests,
        events,
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
        FetchRequest::OlderPage {
            conversation,
            cursor,
            request_id,
        } => {
            let query = HistoryQuery {
                conversation: conversation.id.clone(),
                kind: conversation.kind,
                cursor: cursor.clone(),
                page_size: PAGE_SIZE,
                direction: Direction::Up,
                filters: HistoryFilters::default(),
            };
            let result = source.history(query).await;
            Event::HistoryPage {
                conversation,
                cursor,
                request_id,
                result,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The HTTP client as a Source. `crate::client` is on branch `main`; remove the `cfg` line
// when merging. Retrying stays the person's call (R): `retryable` only changes the words.
// ---------------------------------------------------------------------------------------

#[cfg(any())]
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
    }
}
