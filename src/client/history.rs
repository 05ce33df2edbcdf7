//! History (PROTOCOL.md §4): one page of a conversation in either direction with its
//! filters, and the SDK's legacy `fetchHistoryMessages`, which keeps a cursor per
//! conversation. Pages follow `is_last` and `next_key`, never the count.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use reqwest::Method;

use super::Client;
use super::error::{ClientError, one_line};
use super::transport::Call;
use crate::protocol::ids;
use crate::protocol::json::{Envelope, RoamingPage, RoamingRequest};
use crate::protocol::{
    ChatType, HistoryPage, HistoryQuery, Message, PageLimits, PageWalk, PagingStop, decode_entry,
    queue_for,
};

/// The largest history page the service documents (§4).
pub const MAX_HISTORY_PAGE_SIZE: u32 = 50;

/// Where the legacy [`Client::fetch_history`] stands in one conversation, going back in time.
#[derive(Default)]
pub(super) struct LegacyCursor {
    /// The `next_key` to send next; `None` before the first page.
    cursor: Option<String>,
    /// Messages fetched but not yet returned, newest first: a page may hold more than the
    /// caller asked for, and dropping the rest would skip them forever.
    buffered: VecDeque<Message>,
    /// The server said `is_last`.
    exhausted: bool,
}

impl Client {
    /// One page of a conversation's history (§4). Pages follow `is_last` and `next_key`,
    /// never the count: a page may hold fewer messages than asked while more exist.
    /// `next_cursor` is `None` exactly when `is_last`; a server that says "not last" but
    /// gives no `next_key` is taken at its `next_key` (the end), because asking again
    /// without a cursor would restart at the newest page.
    pub async fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, ClientError> {
        if !(1..=MAX_HISTORY_PAGE_SIZE).contains(&query.page_size) {
            return Err(ClientError::InvalidArgument(format!(
                "history page size must be 1 to {MAX_HISTORY_PAGE_SIZE}, got {}",
                query.page_size
            )));
        }
        let id = conversation_id(&query.conversation)?;
        let sender = match (&query.filters.sender, query.kind) {
            // The sender filter means nothing in a one-to-one chat; the SDK sends null.
            (_, ChatType::Single) | (None, _) => None,
            (Some(sender), _) => Some(conversation_id(sender)?),
        };
        let cursor = query.cursor.as_deref().filter(|c| !c.is_empty());
        let mut body = RoamingRequest::paged(
            queue_for(&id, query.kind),
            cursor,
            query.page_size,
            query.direction,
        );
        body.msg_type = Some(query.filters.types.join(","));
        body.start_time = query.filters.start_time;
        body.end_time = query.filters.end_time;
        body.user_id = sender;
        self.roaming(&body, cursor).await
    }

    /// Posts one `messageroaming` body and decodes the page.
    async fn roaming(
        &self,
        body: &RoamingRequest,
        cursor: Option<&str>,
    ) -> Result<HistoryPage, ClientError> {
        let body = serde_json::to_value(body).map_err(|e| {
            ClientError::InvalidArgument(format!("cannot encode the history request: {e}"))
        })?;
        let call = Call {
            method: Method::POST,
            body: Some(body),
            ..Call::get(format!("users/{}/messageroaming", self.user))
        };
        let page: Envelope<RoamingPage> = self.get_json(&call).await?;
        self.decode_page(&call.endpoint(), page.data, cursor)
    }

    fn decode_page(
        &self,
        endpoint: &str,
        page: RoamingPage,
        cursor: Option<&str>,
    ) -> Result<HistoryPage, ClientError> {
        let mut messages = Vec::with_capacity(page.msgs.len());
        let mut undecodable = 0;
        for (index, entry) in page.msgs.iter().enumerate() {
            match decode_entry(&entry.msg) {
                Ok(Some(message)) => messages.push(message),
                // Events (acks, recalls, edits) and other namespaces: not messages (§5).
                Ok(None) => {}
                Err(e) => {
                    undecodable += 1;
                    self.undecodable.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%endpoint, index, error = %e, "skipped an undecodable history entry");
                }
            }
        }
        let mut is_last = page.is_last;
        if !is_last && page.next_key.is_empty() {
            tracing::warn!(%endpoint, "page is not last but has no next_key; treating it as the end");
            is_last = true;
        }
        if !is_last && Some(page.next_key.as_str()) == cursor {
            return Err(ClientError::Malformed {
                endpoint: endpoint.to_string(),
                reason: format!(
                    "the server answered cursor {:?} with the same cursor; the history would repeat",
                    one_line(&page.next_key, 60)
                ),
            });
        }
        Ok(HistoryPage {
            messages,
            next_cursor: (!is_last).then_some(page.next_key),
            is_last,
            undecodable,
        })
    }

    /// The SDK's legacy `fetchHistoryMessages`: sends only `queue`, `start` and `end`, pages
    /// back in time until it holds `count` messages or the beginning, and returns them
    /// oldest first. A per-conversation cursor makes the next call continue further back;
    /// messages of the last page beyond `count` are kept for that next call rather than
    /// skipped. After the beginning it returns an empty list without asking the server.
    ///
    /// Calls are serialized (one lock over all conversations' cursors), so two overlapping
    /// calls for one conversation cannot fetch the same page twice. On an error, what was
    /// already fetched stays buffered for the next call.
    pub async fn fetch_history(
        &self,
        conversation: &str,
        kind: ChatType,
        count: usize,
    ) -> Result<Vec<Message>, ClientError> {
        let id = conversation_id(conversation)?;
        let queue = queue_for(&id, kind);
        let mut cursors = self.legacy_cursors.lock().await;
        let state = cursors.entry(queue.clone()).or_default();
        let mut out = Vec::with_capacity(count.min(1024));
        let mut walk = PageWalk::starting_at(PageLimits::HISTORY, state.cursor.as_deref());
        loop {
            while out.len() < count {
                match state.buffered.pop_front() {
                    Some(message) => out.push(message),
                    None => break,
                }
            }
            if out.len() >= count || state.exhausted {
                break;
            }
            let start = state.cursor.as_deref();
            let body = RoamingRequest::legacy(queue.clone(), start);
            let page = match self.roaming(&body, start).await {
                Ok(page) => page,
                Err(e) => {
                    // Keep what this call took, in order, for the next call.
                    for message in out.into_iter().rev() {
                        state.buffered.push_front(message);
                    }
                    return Err(e);
                }
            };
            let step = walk.step(page.messages.len(), page.next_cursor.as_deref());
            // A page whose cursor was seen before may repeat messages: it is not kept. Any
            // other page is, so the next call goes on from there.
            if !matches!(step, Err(PagingStop::RepeatedCursor { .. })) {
                state.buffered.extend(page.messages);
                state.exhausted = page.is_last;
                state.cursor = page.next_cursor;
            }
            if let Err(stop) = step {
                for message in out.into_iter().rev() {
                    state.buffered.push_front(message);
                }
                return Err(ClientError::Malformed {
                    endpoint: format!("POST users/{}/messageroaming", self.user),
                    reason: format!("history: {stop}"),
                });
            }
        }
        out.reverse();
        Ok(out)
    }

    /// Forgets where [`Client::fetch_history`] stands in a conversation (any chat type), so
    /// the next call starts again at the newest message.
    pub async fn reset_history_cursor(&self, conversation: &str) {
        // Not an id: no cursor was ever kept for it.
        let Ok(id) = conversation_id(conversation) else {
            return;
        };
        let mut cursors = self.legacy_cursors.lock().await;
        cursors.remove(&queue_for(&id, ChatType::Single));
        cursors.remove(&queue_for(&id, ChatType::Group));
    }

    /// Forgets every conversation's [`Client::fetch_history`] position.
    pub async fn reset_all_history_cursors(&self) {
        self.legacy_cursors.lock().await.clear();
    }
}

/// Checks and lowercases a peer, group, room or sender id by the one id rule.
fn conversation_id(id: &str) -> Result<String, ClientError> {
    ids::check(id.trim()).map_err(|e| ClientError::InvalidArgument(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_follow_the_one_id_rule() {
        assert_eq!(conversation_id(" Bob ").ok(), Some("bob".to_string()));
        assert!(conversation_id("..").is_err());
        assert!(conversation_id(&"a".repeat(65)).is_err());
        assert!(conversation_id(&"a".repeat(64)).is_ok());
    }
}
