//! A 50-message history page out of a 1,000,000-message conversation, requested over
//! loopback from the embedded server and decoded as the client does. The goal is a median
//! under 5 ms: a page must cost the page, not the history.
//!
//! Filters too: in a 100,000-message group, a `msgType` filter, a `userId` filter, and
//! both together, each matching nothing, over HTTP; and in-process, the store's page
//! beside the query version 1 ran (the conversation index, the filter tested on every
//! message), measured in the same run.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use roam::protocol::json::{Envelope, RoamingPage};
use roam::protocol::{ChatType, Content, Message, decode_entry};
use roam::protocol::{Direction, HistoryFilters, HistoryQuery};
use roam::server::{ServerConfig, spawn};
use roam::store::{Store, StorePool};
use serde_json::{Map, json};

const MESSAGES: u64 = 1_000_000;
const BASE_ID: u64 = 1_300_000_000_000_000_000;
/// The group's size, its id, and its eight senders (alice among them, so she may read it).
const GROUP_MESSAGES: u64 = 100_000;
const GROUP: &str = "crowd";
const SENDERS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

/// Builds the database with the fast bulk path: big batches, synchronous off.
fn build(path: &std::path::Path) {
    let mut store = Store::open(path).expect("open");
    store.set_synchronous("OFF").expect("pragma");
    store.set_password("alice", "pw").expect("user");
    let batch = 100_000u64;
    for start in (0..MESSAGES).step_by(batch as usize) {
        let messages: Vec<Message> = (start..start + batch)
            .map(|i| Message {
                id: BASE_ID + i,
                from: if i % 2 == 0 {
                    "alice".into()
                } else {
                    "bob".into()
                },
                to: if i % 2 == 0 {
                    "bob".into()
                } else {
                    "alice".into()
                },
                chat_type: ChatType::Single,
                // Two messages per millisecond: ties broken by id.
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
    // The group: text and images, ids above the single chat's.
    let group: Vec<Message> = (0..GROUP_MESSAGES)
        .map(|i| Message {
            id: BASE_ID + MESSAGES + i,
            from: SENDERS[(i % 8) as usize].into(),
            to: GROUP.into(),
            chat_type: ChatType::Group,
            time: 1_600_000_000_000 + i as i64 * 1_000,
            content: Content::Text {
                text: format!("message {i} to the crowd, of an ordinary length"),
            },
            ext: Map::new(),
            meta: None,
        })
        .collect();
    store.insert_messages(&group).expect("insert");
    assert_eq!(
        store.message_count().expect("count"),
        MESSAGES + GROUP_MESSAGES
    );
}

/// The page query of schema version 1: the conversation index walked in order, every
/// message tested against `filter` (SQL over `?2`, `?3`). Run on the same file, through
/// an index of that shape.
fn old_filtered_page(
    conn: &rusqlite::Connection,
    conv: i64,
    filter: &str,
    values: &[&str],
) -> usize {
    let sql = format!(
        "SELECT id, chat_type, sender, receiver, time, json FROM messages
         INDEXED BY old_messages_by_conv
         WHERE conv = ?1 AND {filter} ORDER BY time DESC, id DESC LIMIT 51"
    );
    let mut stmt = conn.prepare_cached(&sql).expect("prepare");
    let mut args: Vec<rusqlite::types::Value> = vec![conv.into()];
    args.extend(
        values
            .iter()
            .map(|v| rusqlite::types::Value::Text(v.to_string())),
    );
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(5))
        .expect("query");
    rows.count()
}

fn filtered_query(types: &[&str], sender: Option<&str>) -> HistoryQuery {
    HistoryQuery {
        conversation: GROUP.into(),
        kind: ChatType::Group,
        cursor: None,
        page_size: 50,
        direction: Direction::Up,
        filters: HistoryFilters {
            types: types.iter().map(|t| t.to_string()).collect(),
            sender: sender.map(str::to_string),
            ..HistoryFilters::default()
        },
    }
}

/// The filters that match nothing in the group: (name, request body fields, the same as
/// a store query, the version 1 filter and its values).
type Filter = (
    &'static str,
    serde_json::Value,
    HistoryQuery,
    (&'static str, &'static [&'static str]),
);

fn filters() -> Vec<Filter> {
    vec![
        (
            "type_matching_nothing",
            json!({"msgType": "loc"}),
            filtered_query(&["loc"], None),
            ("type IN (?2)", &["loc"]),
        ),
        (
            "sender_matching_nothing",
            json!({"userId": "nobody"}),
            filtered_query(&[], Some("nobody")),
            ("sender = ?2", &["nobody"]),
        ),
        (
            "sender_and_type_matching_nothing",
            json!({"msgType": "loc", "userId": "bob"}),
            filtered_query(&["loc"], Some("bob")),
            ("sender = ?2 AND type IN (?3)", &["bob", "loc"]),
        ),
    ]
}

fn filtered_pages(c: &mut Criterion, path: &std::path::Path) {
    let store = Store::open(path).expect("open");
    // Version 1's conversation index, for the old query only; the store never uses it.
    let old = rusqlite::Connection::open(path).expect("open");
    old.execute_batch(
        "CREATE INDEX IF NOT EXISTS old_messages_by_conv ON messages(conv, time, id)",
    )
    .expect("old index");
    let conv: i64 = old
        .query_row(
            "SELECT id FROM convs WHERE key = ?1",
            [format!("g:{GROUP}")],
            |r| r.get(0),
        )
        .expect("group");
    let mut group = c.benchmark_group("filtered_page_100k_group_in_process");
    for (name, _, query, old_filter) in filters() {
        group.bench_function(format!("{name}/store"), |b| {
            b.iter(|| {
                let page = store.history("alice", &query).expect("page");
                assert!(page.messages.is_empty());
                page
            });
        });
        let (filter, values) = old_filter;
        group.bench_function(format!("{name}/version_1_query"), |b| {
            b.iter(|| assert_eq!(old_filtered_page(&old, conv, filter, values), 0));
        });
    }
    group.finish();
    old.execute_batch("DROP INDEX old_messages_by_conv")
        .expect("drop old index");
}

fn history_page(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("million.db");
    let started = std::time::Instant::now();
    build(&path);
    eprintln!("built {MESSAGES} messages in {:.1?}", started.elapsed());

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pool = Arc::new(StorePool::open(&path, 4).expect("pool"));
    let server = rt
        .block_on(spawn(pool, ServerConfig::new("acme#chatapp"), None))
        .expect("server");
    let http = reqwest::Client::new();
    let base = format!("{}/acme/chatapp", server.base_url());
    let token: String = rt.block_on(async {
        let res: serde_json::Value = http
            .post(format!("{base}/token"))
            .json(&json!({"grant_type":"password","username":"alice","password":"pw"}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        res["access_token"].as_str().expect("token").to_string()
    });
    let url = format!("{base}/users/alice/messageroaming");

    let fetch = |body: serde_json::Value| {
        let http = http.clone();
        let url = url.clone();
        let token = token.clone();
        async move {
            let page: Envelope<RoamingPage> = http
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .expect("page")
                .json()
                .await
                .expect("json");
            let messages: Vec<Message> = page
                .data
                .msgs
                .iter()
                .filter_map(|m| decode_entry(&m.msg).ok().flatten())
                .collect();
            assert_eq!(messages.len(), 50);
            messages
        }
    };

    let mut group = c.benchmark_group("history_page_1m");
    group.bench_function("newest_50", |b| {
        b.to_async(&rt).iter(|| {
            fetch(json!({"queue":"bob@easemob.com","start":-1,"end":-1,"pull_number":50}))
        });
    });
    let middle = (BASE_ID + MESSAGES / 2).to_string();
    group.bench_function("middle_50_up", |b| {
        b.to_async(&rt).iter(|| {
            fetch(json!({"queue":"bob@easemob.com","start":middle,"end":-1,"pull_number":50}))
        });
    });
    group.bench_function("oldest_50_down", |b| {
        b.to_async(&rt).iter(|| {
            fetch(json!({"queue":"bob@easemob.com","start":-1,"end":-1,"pull_number":50,"is_positive":true}))
        });
    });
    group.finish();

    let mut group = c.benchmark_group("filtered_page_100k_group_http");
    for (name, fields, _, _) in filters() {
        let mut body = json!({"queue":format!("{GROUP}@conference.easemob.com"),"start":-1,"end":-1,"pull_number":50});
        if let (Some(body), Some(fields)) = (body.as_object_mut(), fields.as_object()) {
            body.extend(fields.clone());
        }
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let http = http.clone();
                let url = url.clone();
                let token = token.clone();
                let body = body.clone();
                async move {
                    let page: Envelope<RoamingPage> = http
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .expect("page")
                        .json()
                        .await
                        .expect("json");
                    assert!(page.data.msgs.is_empty());
                    page
                }
            });
        });
    }
    group.finish();
    rt.block_on(server.shutdown()).expect("shutdown");
    filtered_pages(c, &path);
}

criterion_group!(benches, history_page);
criterion_main!(benches);
