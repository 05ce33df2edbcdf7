//! A 50-message history page out of a 1,000,000-message conversation, requested over
//! loopback from the embedded server and decoded as the client does. The goal is a median
//! under 5 ms: a page must cost the page, not the history.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use roam::protocol::json::{Envelope, RoamingPage};
use roam::protocol::{ChatType, Content, Message, decode_entry};
use roam::server::{ServerConfig, spawn};
use roam::store::{Store, StorePool};
use serde_json::{Map, json};

const MESSAGES: u64 = 1_000_000;
const BASE_ID: u64 = 1_300_000_000_000_000_000;

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
            })
            .collect();
        store.insert_messages(&messages).expect("insert");
    }
    assert_eq!(store.message_count().expect("count"), MESSAGES);
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
    rt.block_on(server.shutdown()).expect("shutdown");
}

criterion_group!(benches, history_page);
criterion_main!(benches);
