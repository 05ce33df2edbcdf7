//! What one history page of 50 costs the server in process, the old path's shape beside
//! the new, on the same database in one run.
//!
//! - old: `Store::history` (each message's JSON form parsed back), the walk's statement
//!   re-prepared whenever its bindings change (the query planner stability guarantee
//!   off, as before), each message encoded as a protobuf entry and base64 `String`, and
//!   the envelope serialized by serde, as the handler did;
//! - new: `Store::history_entries` (stored columns and entry bodies, statements keeping
//!   their plans) and the answer written straight into one buffer (`page_json`).
//!
//! Pages: the newest 50 of a 100,000-message single chat, and 50 from its middle (a
//! cursor). criterion measures each; then both shapes run interleaved, 20 rounds of 200
//! pages each, and the median per-page time of each and their ratio are printed, which
//! holds on a busy machine better than two absolute figures.
//!
//! Run: `cargo bench --bench page_cost -- --noplot`.

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use roam::protocol::json::{Envelope, RoamingEntry, RoamingPage};
use roam::protocol::{
    ChatType, Content, Direction, HistoryFilters, HistoryQuery, Message, encode_entry,
};
use roam::server::page_body::page_json;
use roam::store::Store;
use serde_json::Map;

const MESSAGES: u64 = 100_000;
const BASE_ID: u64 = 1_300_000_000_000_000_000;
const APPKEY: &str = "acme#chatapp";

fn build(path: &std::path::Path) {
    let mut store = Store::open(path).expect("open");
    store.set_synchronous("OFF").expect("pragma");
    let messages: Vec<Message> = (0..MESSAGES)
        .map(|i| Message {
            id: BASE_ID + i,
            from: if i % 2 == 0 { "alice" } else { "bob" }.into(),
            to: if i % 2 == 0 { "bob" } else { "alice" }.into(),
            chat_type: ChatType::Single,
            time: 1_600_000_000_000 + (i / 2) as i64,
            content: Content::Text {
                text: format!("message {i}: some words to make it a realistic size"),
            },
            ext: Map::new(),
            meta: None,
        })
        .collect();
    store.insert_messages(&messages).expect("insert");
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

/// The old handler's shape: messages, then an entry `String` each, then serde.
fn old_page(store: &Store, q: &HistoryQuery) -> Vec<u8> {
    let page = store.history("alice", q).expect("page");
    let envelope = Envelope {
        data: RoamingPage {
            msgs: page
                .messages
                .iter()
                .map(|m| RoamingEntry {
                    msg: encode_entry(m, APPKEY),
                })
                .collect(),
            next_key: page.next_cursor.unwrap_or_default(),
            is_last: page.is_last,
        },
        action: Some("post".to_string()),
        timestamp: Some(1_764_000_000_000),
        duration: Some(0),
    };
    serde_json::to_vec(&envelope).expect("json")
}

/// The new handler's shape.
fn new_page(store: &Store, q: &HistoryQuery) -> Vec<u8> {
    let page = store.history_entries("alice", q, APPKEY).expect("page");
    page_json(&page, 1_764_000_000_000, 0).into_bytes()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn page_cost(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pages.db");
    build(&path);
    let old = Store::open(&path).expect("open");
    old.keep_query_plans(false).expect("old planner behaviour");
    let new = Store::open(&path).expect("open");
    let pages = [
        ("newest_50", query(None)),
        (
            "middle_50",
            query(Some((BASE_ID + MESSAGES / 2).to_string())),
        ),
    ];
    for (_, q) in &pages {
        // Both shapes answer the same bytes.
        assert_eq!(old_page(&old, q), new_page(&new, q));
    }

    let mut group = c.benchmark_group("page_cost_100k");
    for (name, q) in &pages {
        group.bench_function(format!("{name}/old_shape"), |b| {
            b.iter(|| old_page(&old, q))
        });
        group.bench_function(format!("{name}/new"), |b| b.iter(|| new_page(&new, q)));
    }
    group.finish();

    for (name, q) in &pages {
        let (mut olds, mut news) = (Vec::new(), Vec::new());
        for _ in 0..20 {
            let started = Instant::now();
            for _ in 0..200 {
                std::hint::black_box(old_page(&old, q));
            }
            olds.push(started.elapsed().as_secs_f64() * 1e6 / 200.0);
            let started = Instant::now();
            for _ in 0..200 {
                std::hint::black_box(new_page(&new, q));
            }
            news.push(started.elapsed().as_secs_f64() * 1e6 / 200.0);
        }
        let (o, n) = (median(olds), median(news));
        println!(
            "page_cost {name}: old shape {o:.1} µs/page, new {n:.1} µs/page, old/new = {:.2}x \
             (interleaved, median of 20 rounds of 200 pages)",
            o / n
        );
    }
}

criterion_group!(benches, page_cost);
criterion_main!(benches);
