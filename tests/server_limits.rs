//! The embedded server under abuse: login floods, throttles, and what a login holds.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use roam::server::{LoginLimits, ServerConfig, ServerHandle, spawn};
use roam::store::state::StateFile;
use roam::store::{Store, StorePool};
use serde_json::{Value, json};

const APPKEY: &str = "acme#chatapp";

/// A server over one pooled connection with alice, bob and a chat between them; `slow`
/// holds a hash that takes long to check (for ordering tests, never for timing).
async fn serve(config: ServerConfig, slow_hash: Option<&str>) -> ServerHandle {
    let mut store = Store::open_in_memory().expect("store");
    store.insert_messages(&alice_bob(30)).expect("insert");
    let mut users = vec![
        json!({"name":"alice","password":"pw-alice"}),
        json!({"name":"bob","password":"pw-bob"}),
    ];
    if let Some(hash) = slow_hash {
        users.push(json!({"name":"slow","password_hash":hash}));
    }
    let state = StateFile::parse(&json!({ "users": users }).to_string()).expect("state");
    store.apply_state(&state).expect("apply");
    spawn(Arc::new(StorePool::single(store)), config, None)
        .await
        .expect("server starts")
}

fn url(server: &ServerHandle, path: &str) -> String {
    format!("{}/acme/chatapp{path}", server.base_url())
}

/// A login attempt: status, `Retry-After` and the JSON body.
async fn login(
    http: &reqwest::Client,
    server: &ServerHandle,
    user: &str,
    password: &str,
) -> (StatusCode, Option<u64>, Value) {
    let res = http
        .post(url(server, "/token"))
        .json(&json!({"grant_type":"password","username":user,"password":password}))
        .send()
        .await
        .expect("token call");
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (status, retry, res.json().await.expect("JSON body"))
}

fn limits(per_name: u32, per_peer: u32) -> ServerConfig {
    ServerConfig {
        login: LoginLimits {
            failures_per_name: per_name,
            failures_per_peer: per_peer,
            ..LoginLimits::default()
        },
        ..ServerConfig::new(APPKEY)
    }
}

fn assert_reach_limit(status: StatusCode, retry: Option<u64>, body: &Value) {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "reach_limit", "{body}");
    assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "{retry:?}");
}

#[tokio::test]
async fn failed_logins_hold_a_name_known_or_not_then_refuse_even_the_right_password() {
    let server = serve(limits(3, 0), None).await;
    let http = reqwest::Client::new();
    for user in ["alice", "nobody"] {
        for _ in 0..3 {
            let (status, _, body) = login(&http, &server, user, "wrong").await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["error"], "invalid_grant");
        }
        // Held, whether the user exists or not: the answer tells nothing about that.
        let (status, retry, body) = login(&http, &server, user, "pw-alice").await;
        assert_reach_limit(status, retry, &body);
    }
    // Another name from the same address is not held.
    let (status, _, body) = login(&http, &server, "bob", "pw-bob").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn failed_logins_hold_an_address_whatever_the_names() {
    let server = serve(limits(0, 4), None).await;
    let http = reqwest::Client::new();
    for i in 0..4 {
        let (status, _, body) = login(&http, &server, &format!("user{i}"), "x").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let (status, retry, body) = login(&http, &server, "bob", "pw-bob").await;
    assert_reach_limit(status, retry, &body);
}

#[tokio::test]
async fn a_login_flood_beyond_the_queue_is_refused_at_once() {
    let config = ServerConfig {
        login: LoginLimits {
            hash_workers: 1,
            hash_queue: 1,
            failures_per_name: 0,
            failures_per_peer: 0,
            ..LoginLimits::default()
        },
        ..ServerConfig::new(APPKEY)
    };
    let server = Arc::new(serve(config, None).await);
    let http = reqwest::Client::new();
    let attempts: Vec<_> = (0..24)
        .map(|i| {
            let (http, server) = (http.clone(), Arc::clone(&server));
            tokio::spawn(async move { login(&http, &server, &format!("u{i}"), "x").await })
        })
        .collect();
    let mut busy = 0;
    for a in attempts {
        let (status, retry, body) = a.await.expect("task");
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["error"], "reach_limit", "{body}");
            assert_eq!(retry, Some(1));
            busy += 1;
        } else {
            assert_eq!(body["error"], "invalid_grant", "{body}");
        }
    }
    assert!(
        busy > 0,
        "24 logins at once over one worker and one place in the queue"
    );
    // And the server is still there for the right password.
    let (status, _, body) = login(&http, &server, "alice", "pw-alice").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// An argon2id hash that takes long to check (64 MiB, 12 passes).
fn slow_hash() -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(64 * 1024, 12, 1, None).expect("params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(b"pw-slow", &SaltString::encode_b64(&[9; 16]).expect("salt"))
        .expect("hash")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_check_holds_no_database_connection() {
    let hash = slow_hash();
    // One pooled connection: if the check held it, the history read below would wait.
    let server = Arc::new(serve(ServerConfig::new(APPKEY), Some(&hash)).await);
    let http = reqwest::Client::new();
    let (status, _, body) = login(&http, &server, "alice", "pw-alice").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().expect("token").to_string();

    let slow_login = {
        let (http, server) = (http.clone(), Arc::clone(&server));
        tokio::spawn(async move { login(&http, &server, "slow", "pw-slow").await })
    };
    // Let the slow login reach its password check.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let res = http
        .post(url(&server, "/users/alice/messageroaming"))
        .bearer_auth(&token)
        .json(&json!({"queue":"bob@easemob.com","start":-1,"end":-1,"pull_number":5}))
        .send()
        .await
        .expect("history");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        !slow_login.is_finished(),
        "the history page was answered only after the password check"
    );
    let (status, _, body) = slow_login.await.expect("task");
    assert_eq!(status, StatusCode::OK, "{body}");
}
