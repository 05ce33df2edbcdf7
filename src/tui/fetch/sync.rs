//! Syncing the open conversation to its beginning in the background
//! ([`FetchRequest::Sync`](super::FetchRequest::Sync)): a walk back from the newest message,
//! page by page, through the source. Behind [`Keeping`](super::Keeping) that is exactly a
//! sync: pages the library holds are read from it without a request, the others are asked
//! of the server and written to the library as one stretch.
//!
//! Requests to the server are paced ([`SERVER_GAP`] apart, the service's default history
//! rate); pages read from the library are not. Progress goes to the state every
//! [`REPORT_EVERY`] and when the walk ends. The walk ends at the beginning, on an error,
//! when a cursor repeats or none is given, or after [`MAX_PAGES`]; stopping it is aborting
//! its task (the fetch task does that for [`FetchRequest::StopSync`](super::FetchRequest)).

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Event, Source, keeping};
use crate::protocol::{Direction, HistoryFilters, HistoryQuery};
use crate::tui::event::{ConversationKey, SyncEnd, SyncProgress};

/// The gap between two requests to the server: 10 a second.
pub const SERVER_GAP: Duration = Duration::from_millis(100);

/// How often progress is reported while the walk runs.
pub const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Pages one sync reads at most (50 million messages).
pub const MAX_PAGES: u64 = 1_000_000;

/// Why a source that keeps nothing cannot sync.
pub const NOT_KEPT: &str = "pages are not kept here (offline, or no library): nothing to sync into";

/// Walks `conversation` back to its beginning through `source`, telling `events` how it
/// goes as request `request_id`.
pub async fn run<S: Source>(
    source: &S,
    conversation: ConversationKey,
    request_id: u64,
    events: &mpsc::UnboundedSender<Event>,
) {
    let send = |progress: &SyncProgress| {
        let _ = events.send(Event::Sync {
            request_id,
            progress: progress.clone(),
        });
    };
    let mut progress = SyncProgress::default();
    if !source.keeps_pages() {
        progress.ended = Some(SyncEnd::Failed(NOT_KEPT.into()));
        send(&progress);
        return;
    }
    let ended = walk(source, conversation, &mut progress, |p| send(p)).await;
    progress.ended = Some(ended);
    send(&progress);
}

async fn walk<S: Source>(
    source: &S,
    conversation: ConversationKey,
    progress: &mut SyncProgress,
    report: impl Fn(&SyncProgress),
) -> SyncEnd {
    let mut query = HistoryQuery {
        conversation: conversation.id,
        kind: conversation.kind,
        cursor: None,
        page_size: 50,
        direction: Direction::Up,
        filters: HistoryFilters::default(),
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut next_request = Instant::now();
    let mut reported = Instant::now();
    loop {
        if progress.pages >= MAX_PAGES {
            return SyncEnd::Failed(format!("stopped after {MAX_PAGES} pages"));
        }
        tokio::time::sleep_until(next_request).await;
        let started = Instant::now();
        let page = match source.history(query.clone()).await {
            Ok(page) => page,
            Err(e) => return SyncEnd::Failed(e.description),
        };
        progress.pages += 1;
        progress.messages += page.messages.len() as u64;
        if let Some(oldest) = page.messages.iter().map(|m| m.time).min() {
            progress.oldest = Some(progress.oldest.map_or(oldest, |o| o.min(oldest)));
        }
        next_request = if keeping::is_held(&query, &page) {
            Instant::now()
        } else {
            started + SERVER_GAP
        };
        if page.is_last {
            return SyncEnd::Beginning;
        }
        let Some(next) = page.next_cursor.filter(|c| !c.is_empty()) else {
            return SyncEnd::Failed("the server gave no cursor to go on".into());
        };
        if !seen.insert(next.clone()) {
            return SyncEnd::Failed("the server's cursors repeat; stopped".into());
        }
        query.cursor = Some(next);
        if reported.elapsed() >= REPORT_EVERY {
            report(progress);
            reported = Instant::now();
        }
    }
}
