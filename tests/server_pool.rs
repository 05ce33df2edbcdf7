//! The server's store work is bounded by its pool: a burst of history requests waits for
//! the pool's connections as futures, and never holds more threads in the pool than it has
//! connections.

mod common;

use std::sync::Arc;

use common::*;
use roam::protocol::ChatType;
use roam::server::{ServerConfig, spawn};
use roam::store::{Store, StorePool};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_pages_holds_no_more_threads_than_connections() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pool.db");
    {
        let mut store = Store::open(&path).expect("open");
        store.set_password("alice", "pw").expect("user");
        let messages: Vec<_> = (0..3_000u64)
            .map(|i| {
                let from = if i % 2 == 0 { "alice" } else { "bob" };
                text(
                    BASE_ID + i,
                    1_600_000_000_000 + i as i64,
                    from,
                    "crowd",
                    ChatType::Group,
                    "hi",
                )
            })
            .collect();
        store.insert_messages(&messages).expect("insert");
    }
    let pool = Arc::new(StorePool::open(&path, 2).expect("pool"));
    let server = spawn(Arc::clone(&pool), ServerConfig::new("acme#chatapp"), None)
        .await
        .expect("server");
    let base = format!("{}/acme/chatapp", server.base_url());
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/token"))
        .json(&json!({"grant_type":"password","username":"alice","password":"pw"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["access_token"].as_str().expect("token").to_string();
    // A filter that walks the whole group: each request holds its connection a while.
    let body = json!({"queue":"crowd@conference.easemob.com","start":-1,"end":-1,
                      "pull_number":50,"msgType":"img","userId":"bob"});
    let requests: Vec<_> = (0..64)
        .map(|_| {
            let http = http.clone();
            let url = format!("{base}/users/alice/messageroaming");
            let token = token.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let res = http.post(url).bearer_auth(token).json(&body).send().await;
                res.expect("page").status().as_u16()
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.expect("request task"), 200);
    }
    assert!(
        pool.peak_callers() <= pool.size(),
        "{} callers in a pool of {}",
        pool.peak_callers(),
        pool.size()
    );
    server.shutdown().await.expect("shutdown");
}
