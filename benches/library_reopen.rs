//! Reopening a conversation the library holds: from opening the library file to the first
//! page of a 100,000-message conversation in hand, read from the library with no request
//! (the source counts requests, and the run fails if one is made). The first frame then
//! costs a draw (`tui` measures that: well under a millisecond at 200×60).
//!
//! Run: `cargo bench --bench library_reopen -- --noplot`.

use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use roam::library::Library;
use roam::protocol::{
    ChatType, Content, Conversation, ConversationPage, Direction, HistoryFilters, HistoryPage,
    HistoryQuery, Message,
};
use roam::tui::app::FetchError;
use roam::tui::fetch::{Keeping, Source};
use serde_json::Map;

const MESSAGES: u64 = 100_000;
const BASE_ID: u64 = 1_300_000_000_000_000_000;

fn message(i: u64) -> Message {
    Message {
        id: BASE_ID + i,
        from: if i.is_multiple_of(2) { "alice" } else { "bob" }.into(),
        to: if i.is_multiple_of(2) { "bob" } else { "alice" }.into(),
        chat_type: ChatType::Single,
        time: 1_600_000_000_000 + i as i64 * 1_000,
        content: Content::Text {
            text: format!("message {i}: some words to make it a realistic size"),
        },
        ext: Map::new(),
        meta: None,
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

/// The list says bob's newest message; history must never be asked.
#[derive(Default)]
struct ListOnly {
    asked: AtomicUsize,
}

impl Source for ListOnly {
    async fn conversation_page(&self, _: &str, _: u32) -> Result<ConversationPage, FetchError> {
        Ok(ConversationPage {
            conversations: vec![Conversation {
                id: "bob".into(),
                kind: ChatType::Single,
                unread: 0,
                pinned: false,
                pinned_at: None,
                marks: Vec::new(),
                last_message: Some(message(MESSAGES - 1)),
            }],
            next_cursor: None,
        })
    }

    async fn history(&self, _: HistoryQuery) -> Result<HistoryPage, FetchError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Err(FetchError::new("no requests here", false))
    }
}

/// A library holding the whole conversation as one stretch, as a walk would leave it.
fn build(path: &std::path::Path) {
    let mut library = Library::open(path, "alice").expect("library");
    library.store().set_synchronous("OFF").expect("pragma");
    let mut joins = None;
    let mut top = MESSAGES;
    while top > 0 {
        let bottom = top.saturating_sub(50);
        let page = HistoryPage {
            messages: (bottom..top).rev().map(message).collect(),
            next_cursor: (bottom > 0).then(|| (bottom - 1).to_string()),
            is_last: bottom == 0,
            undecodable: 0,
        };
        let cursor = (top < MESSAGES).then(|| top.to_string());
        library
            .record_page(&query(cursor), &page, joins)
            .expect("page kept");
        joins = page.messages.last().map(roam::library::runs::Key::of);
        top = bottom;
    }
    assert!(
        library
            .runs("bob", ChatType::Single)
            .expect("runs")
            .complete()
    );
}

fn bench_reopen(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("library.sqlite");
    build(&path);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("library");
    group.bench_function("reopen_100k_to_first_page", |b| {
        b.iter(|| {
            let library = Library::open(&path, "alice").expect("library");
            let (keeping, _kept) = Keeping::new(ListOnly::default(), Some(library));
            let page = rt.block_on(async {
                keeping.conversation_page("", 50).await.expect("list");
                keeping.history(query(None)).await.expect("first page")
            });
            assert_eq!(page.messages.len(), 50);
            assert_eq!(page.messages[0].id, BASE_ID + MESSAGES - 1);
        })
    });
    group.finish();
}

criterion_group!(benches, bench_reopen);
criterion_main!(benches);
