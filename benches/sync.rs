//! `sync` from the embedded server over loopback into a fresh library, unpaced: messages
//! kept per second (goal: at least 20,000), and what a second, incremental sync of the
//! unchanged history costs (one request a conversation).
//!
//! The server holds 50,000 messages in one single chat and 10,000 in a group, the kind of
//! text a chat holds. Each sample syncs into a new library file (WAL, `synchronous=NORMAL`,
//! as the browser and `roam sync` write it).
//!
//! Run: `cargo bench --bench sync -- --noplot`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use roam::client::{Client, ClientConfig, Credential};
use roam::library::Library;
use roam::library::sync::{SyncOptions, sync};
use roam::protocol::{ChatType, Content, Message};
use roam::server::{ServerConfig, spawn};
use roam::store::state::StateFile;
use roam::store::{Store, StorePool};
use serde_json::Map;

const SINGLE: u64 = 50_000;
const GROUP: u64 = 10_000;
const BASE_ID: u64 = 1_300_000_000_000_000_000;
const APPKEY: &str = "acme#chatapp";

fn message(i: u64, from: &str, to: &str, kind: ChatType) -> Message {
    Message {
        id: BASE_ID + i,
        from: from.into(),
        to: to.into(),
        chat_type: kind,
        time: 1_600_000_000_000 + i as i64 * 1_000,
        content: Content::Text {
            text: format!("message {i}: some words to make it a realistic size, 一些中文"),
        },
        ext: Map::new(),
        meta: None,
    }
}

fn build(path: &std::path::Path) {
    let mut store = Store::open(path).expect("open");
    store.set_synchronous("OFF").expect("pragma");
    let mut messages: Vec<Message> = (0..SINGLE)
        .map(|i| {
            if i % 2 == 0 {
                message(i, "alice", "bob", ChatType::Single)
            } else {
                message(i, "bob", "alice", ChatType::Single)
            }
        })
        .collect();
    messages.extend((SINGLE..SINGLE + GROUP).map(|i| message(i, "bob", "team", ChatType::Group)));
    store.insert_messages(&messages).expect("insert");
    let state = r#"{"users":[{"name":"alice","password":"pw"}],
                    "groups":[{"id":"team","members":["alice","bob"]}]}"#;
    store
        .apply_state(&StateFile::parse(state).expect("state"))
        .expect("state applies");
}

fn bench_sync(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("server.sqlite");
    build(&db);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let pool = Arc::new(StorePool::open_for_server(&db).expect("pool"));
    let server = rt
        .block_on(spawn(pool, ServerConfig::new(APPKEY), None))
        .expect("server");
    let client = Client::new(ClientConfig::new(
        server.base_url(),
        APPKEY,
        "alice",
        Credential::Password("pw".into()),
    ))
    .expect("client");
    let options = SyncOptions {
        rate: None,
        ..SyncOptions::default()
    };
    let libraries = tempfile::tempdir().expect("temp dir");
    let mut fresh = 0;
    let mut rates = Vec::new();
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("fresh_library_60k", |b| {
        b.iter(|| {
            fresh += 1;
            let path = libraries.path().join(format!("l{fresh}.sqlite"));
            let mut library = Library::open(&path, "alice").expect("library");
            let started = Instant::now();
            let summary = rt
                .block_on(sync(&client, &mut library, &options, &mut ()))
                .expect("sync");
            let took = started.elapsed();
            assert_eq!(summary.failed().count(), 0);
            assert_eq!(
                library.store().message_count().expect("count"),
                SINGLE + GROUP
            );
            rates.push((SINGLE + GROUP) as f64 / took.as_secs_f64());
        })
    });
    let path = libraries.path().join("incremental.sqlite");
    let mut library = Library::open(&path, "alice").expect("library");
    rt.block_on(sync(&client, &mut library, &options, &mut ()))
        .expect("first sync");
    group.bench_function("unchanged_again", |b| {
        b.iter(|| {
            let summary = rt
                .block_on(sync(&client, &mut library, &options, &mut ()))
                .expect("sync");
            assert_eq!(summary.pages(), 2);
        })
    });
    group.finish();
    rates.sort_by(f64::total_cmp);
    if let Some(median) = rates.get(rates.len() / 2) {
        eprintln!("sync into a fresh library: median {median:.0} messages/s");
    }
}

criterion_group!(benches, bench_sync);
criterion_main!(benches);
