//! `roam serve` over PostgreSQL on this machine (a throwaway cluster over loopback, see
//! `tests/common/postgres.rs`): a 50-message history page out of a 10,000,000-message
//! conversation, over HTTP and decoded as the client does, at the
//! newest end, the middle and the oldest end, with and without a type filter.
//!
//! Without PostgreSQL it says so and measures nothing.

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use roam::protocol::json::{Envelope, RoamingPage};
use roam::protocol::{ChatType, Content, Message, decode_entry};
use roam::server::{ServerConfig, spawn_over};
use roam::store::Db;
use roam::store::pg::PgStore;
use serde_json::{Map, json};

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

/// The conversation paged: alice and bob.
const MESSAGES: u64 = 10_000_000;
/// Messages written to PostgreSQL per statement while building the conversation.
const BATCH: u64 = 100_000;
/// Where the conversation's ids start, past `BASE_ID` (import's bench is `pg_import`).
const SPREAD: u64 = 200_000;
const BASE_ID: u64 = 1_300_000_000_000_000_000;

fn message(id: u64, time: i64, from: &str, to: &str, image: bool) -> Message {
    let content = if image {
        Content::Custom {
            event: "gift".into(),
            exts: Map::new(),
        }
    } else {
        Content::Text {
            text: format!("message {id}"),
        }
    };
    Message {
        id,
        from: from.into(),
        to: to.into(),
        chat_type: ChatType::Single,
        time,
        content,
        ext: Map::new(),
        meta: None,
    }
}

fn pg_page(c: &mut Criterion) {
    let Some((_, url)) = postgres::database("bench") else {
        eprintln!("PostgreSQL is not installed: nothing measured");
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pg = rt.block_on(PgStore::connect(&url)).expect("store");
    rt.block_on(pg.set_password("alice", "pw")).expect("user");
    // One big conversation; every tenth message is not text, for the type filter. Written
    // in batches straight into the store: an export file of it would be gigabytes.
    let started = Instant::now();
    rt.block_on(async {
        for first in (0..MESSAGES).step_by(BATCH as usize) {
            let batch: Vec<Message> = (first..(first + BATCH).min(MESSAGES))
                .map(|i| {
                    let (from, to) = if i % 2 == 0 {
                        ("alice", "bob")
                    } else {
                        ("bob", "alice")
                    };
                    message(
                        BASE_ID + SPREAD + i,
                        1_700_000_000_000 + i as i64,
                        from,
                        to,
                        i % 10 == 0,
                    )
                })
                .collect();
            pg.insert_messages(&batch).await.expect("insert");
        }
    });
    eprintln!("built {MESSAGES} messages in {:.1?}", started.elapsed());
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        client
            .batch_execute("VACUUM ANALYZE")
            .await
            .expect("analyze");
    });

    let server = rt
        .block_on(spawn_over(
            Db::Postgres(Box::new(pg)),
            ServerConfig::new("acme#chatapp"),
            None,
        ))
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

    let middle = (BASE_ID + SPREAD + MESSAGES / 2).to_string();
    let ends = [
        ("newest", json!({"start":-1,"pull_number":50})),
        ("middle", json!({"start":middle,"pull_number":50})),
        (
            "oldest",
            json!({"start":-1,"pull_number":50,"is_positive":true}),
        ),
    ];
    let mut group = c.benchmark_group("pg_history_page_10m");
    for (name, fields) in ends {
        for filtered in [false, true] {
            let mut body = json!({"queue":"bob@easemob.com","end":-1});
            if let (Some(body), Some(fields)) = (body.as_object_mut(), fields.as_object()) {
                body.extend(fields.clone());
                if filtered {
                    body.insert("msgType".into(), json!("custom"));
                }
            }
            let label = if filtered {
                format!("{name}_custom")
            } else {
                name.to_string()
            };
            group.bench_function(label, |b| {
                b.to_async(&rt).iter(|| fetch(body.clone()));
            });
        }
    }
    group.finish();
    rt.block_on(server.shutdown()).expect("shutdown");
}

criterion_group!(benches, pg_page);
criterion_main!(benches);
