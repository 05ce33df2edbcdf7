//! The embedded server under abuse: login floods, throttles and what a login holds; silent,
//! slow and too many connections.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::backends::{each_backend, fresh_db};
use common::*;
use reqwest::StatusCode;
use roam::server::{ConnectionLimits, LoginLimits, ServerConfig, ServerHandle, spawn_over};
use roam::store::state::StateFile;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const APPKEY: &str = "acme#chatapp";

/// A server over one pooled connection with alice, bob and a chat between them; `slow`
/// holds a hash that takes long to check (for ordering tests, never for timing).
async fn serve(config: ServerConfig, slow_hash: Option<&str>) -> ServerHandle {
    let db = fresh_db("limits").await;
    db.insert_messages(&alice_bob(30)).await.expect("insert");
    let mut users = vec![
        json!({"name":"alice","password":"pw-alice"}),
        json!({"name":"bob","password":"pw-bob"}),
    ];
    if let Some(hash) = slow_hash {
        users.push(json!({"name":"slow","password_hash":hash}));
    }
    let state = StateFile::parse(&json!({ "users": users }).to_string()).expect("state");
    db.apply_state(&state).await.expect("apply");
    spawn_over(db, config, None).await.expect("server starts")
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
    each_backend(failed_logins_hold_a_name_known_or_not_then_refuse_even_the_right_password_on)
        .await;
}

async fn failed_logins_hold_a_name_known_or_not_then_refuse_even_the_right_password_on() {
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
    each_backend(failed_logins_hold_an_address_whatever_the_names_on).await;
}

async fn failed_logins_hold_an_address_whatever_the_names_on() {
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
    each_backend(a_login_flood_beyond_the_queue_is_refused_at_once_on).await;
}

async fn a_login_flood_beyond_the_queue_is_refused_at_once_on() {
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
    each_backend(a_password_check_holds_no_database_connection_on).await;
}

async fn a_password_check_holds_no_database_connection_on() {
    let hash = slow_hash();
    // One pooled connection: if a password check held it, the history read below would
    // wait behind the checks, and at least the first login would be answered before it.
    let server = Arc::new(serve(ServerConfig::new(APPKEY), Some(&hash)).await);
    let http = reqwest::Client::new();
    let (status, _, body) = login(&http, &server, "alice", "pw-alice").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().expect("token").to_string();

    let slow_logins: Vec<_> = (0..4)
        .map(|_| {
            let (http, server) = (http.clone(), Arc::clone(&server));
            tokio::spawn(async move { login(&http, &server, "slow", "pw-slow").await })
        })
        .collect();
    // Let the slow logins reach their password checks.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let res = http
        .post(url(&server, "/users/alice/messageroaming"))
        .bearer_auth(&token)
        .json(&json!({"queue":"bob@easemob.com","start":-1,"end":-1,"pull_number":5}))
        .send()
        .await
        .expect("history");
    assert_eq!(res.status(), StatusCode::OK);
    let finished = slow_logins.iter().filter(|l| l.is_finished()).count();
    assert_eq!(
        finished, 0,
        "the history page was answered only after a password check"
    );
    for l in slow_logins {
        let (status, _, body) = l.await.expect("task");
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

// -------------------------------------------------------------------------------------
// Connections: timeouts and the cap
// -------------------------------------------------------------------------------------

fn connection_limits(limits: ConnectionLimits) -> ServerConfig {
    ServerConfig {
        connections: limits,
        ..ServerConfig::new(APPKEY)
    }
}

/// Reads until the server closes the connection; what it sent. Fails after `WAIT`.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("the server closed the connection in time")
        .expect("read");
    raw
}

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn silent_and_idle_connections_are_closed() {
    each_backend(silent_and_idle_connections_are_closed_on).await;
}

async fn silent_and_idle_connections_are_closed_on() {
    let server = serve(
        connection_limits(ConnectionLimits {
            header_timeout: Duration::from_millis(300),
            ..ConnectionLimits::default()
        }),
        None,
    )
    .await;
    // Never a byte.
    let mut silent = TcpStream::connect(server.addr()).await.expect("connect");
    assert!(read_until_closed(&mut silent).await.is_empty());
    // Half a request head, then nothing.
    let mut slow = TcpStream::connect(server.addr()).await.expect("connect");
    slow.write_all(b"GET /acme/chatapp/users/alice/user_channels HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    read_until_closed(&mut slow).await;
    // A whole request on a keep-alive connection, answered, then idle.
    let mut idle = TcpStream::connect(server.addr()).await.expect("connect");
    idle.write_all(b"GET /acme/chatapp/nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answered = String::from_utf8(read_until_closed(&mut idle).await).expect("utf-8");
    assert!(answered.starts_with("HTTP/1.1 404"), "{answered}");
    assert!(
        answered.contains("service_resource_not_found"),
        "{answered}"
    );
}

#[tokio::test]
async fn a_stalled_body_gets_a_json_408() {
    each_backend(a_stalled_body_gets_a_json_408_on).await;
}

async fn a_stalled_body_gets_a_json_408_on() {
    let server = serve(
        connection_limits(ConnectionLimits {
            body_timeout: Duration::from_millis(300),
            ..ConnectionLimits::default()
        }),
        None,
    )
    .await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(b"POST /acme/chatapp/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"grant_type\":")
        .await
        .expect("write");
    let (status, body) = response(&read_until_closed(&mut stream).await);
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"], "request_timeout", "{body}");
}

#[tokio::test]
async fn a_request_dribbled_past_its_deadline_gets_a_json_408() {
    each_backend(a_request_dribbled_past_its_deadline_gets_a_json_408_on).await;
}

async fn a_request_dribbled_past_its_deadline_gets_a_json_408_on() {
    let server = serve(
        connection_limits(ConnectionLimits {
            request_timeout: Duration::from_millis(400),
            ..ConnectionLimits::default()
        }),
        None,
    )
    .await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(b"POST /acme/chatapp/token HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        .await
        .expect("write");
    // A byte every 50 ms: never a pause long enough for the body timeout.
    let answer = async {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            tokio::select! {
                n = stream.read(&mut buf) => match n.expect("read") {
                    0 => return raw,
                    n => raw.extend_from_slice(&buf[..n]),
                },
                () = tokio::time::sleep(Duration::from_millis(50)) => {
                    // The server may already have answered and closed: ignore write errors.
                    let _ = stream.write_all(b" ").await;
                }
            }
        }
    };
    let raw = tokio::time::timeout(WAIT, answer)
        .await
        .expect("answered in time");
    let (status, body) = response(&raw);
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"], "request_timeout", "{body}");
}

/// The status and JSON body of one raw HTTP/1.1 response.
fn response(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    (status, body)
}

#[tokio::test]
async fn the_connection_cap_holds_and_waiting_clients_are_served_in_turn() {
    each_backend(the_connection_cap_holds_and_waiting_clients_are_served_in_turn_on).await;
}

async fn the_connection_cap_holds_and_waiting_clients_are_served_in_turn_on() {
    const CAP: usize = 3;
    let server = serve(
        connection_limits(ConnectionLimits {
            max_connections: CAP,
            header_timeout: Duration::from_millis(700),
            ..ConnectionLimits::default()
        }),
        None,
    )
    .await;
    // Twice the cap in silent connections: the kernel queues what the server does not take.
    let mut silent = Vec::new();
    for _ in 0..2 * CAP {
        silent.push(TcpStream::connect(server.addr()).await.expect("connect"));
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.open_connections() < CAP {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server took none"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A client behind them is answered once silent ones time out, and the server never
    // holds more than the cap meanwhile.
    let client = tokio::spawn({
        let url = url(&server, "/nothing");
        async move { reqwest::get(url).await.map(|r| r.status()) }
    });
    let mut most = 0;
    while !client.is_finished() {
        most = most.max(server.open_connections());
        assert!(
            tokio::time::Instant::now() < deadline,
            "the client was never served"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(most <= CAP, "{most} connections open at once");
    assert_eq!(
        client.await.expect("task").expect("answer"),
        StatusCode::NOT_FOUND
    );
    for mut s in silent {
        read_until_closed(&mut s).await;
    }
}

// -------------------------------------------------------------------------------------
// Every error is JSON, as far as roam decides it
// -------------------------------------------------------------------------------------

/// One raw request on its own connection; the whole response as text.
async fn raw(server: &ServerHandle, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream.write_all(request).await.expect("write");
    String::from_utf8_lossy(&read_until_closed(&mut stream).await).into_owned()
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn head_is_get_without_the_body_and_a_json_405_where_get_is_not_served() {
    each_backend(head_is_get_without_the_body_and_a_json_405_where_get_is_not_served_on).await;
}

async fn head_is_get_without_the_body_and_a_json_405_where_get_is_not_served_on() {
    let server = serve(ServerConfig::new(APPKEY), None).await;
    for (path, status) in [
        ("/acme/chatapp/users/alice/user_channels", "401"),
        ("/acme/chatapp/nothing", "404"),
        ("/acme/chatapp/token", "405"),
    ] {
        let get = raw(
            &server,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        let head = raw(
            &server,
            format!("HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{head}");
        assert_eq!(
            header(&head, "content-type"),
            Some("application/json"),
            "{head}"
        );
        // The length of the JSON body a GET gets (the 405 names the method, HEAD not GET);
        // HTTP sends no body after HEAD.
        let body = get.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        assert!(serde_json::from_str::<Value>(body).is_ok(), "{get}");
        let length: usize = header(&head, "content-length")
            .and_then(|v| v.parse().ok())
            .expect("content-length");
        if status == "405" {
            assert_eq!(length, body.len() + "HEAD".len() - "GET".len(), "{head}");
        } else {
            assert_eq!(length, body.len(), "{head}");
        }
        assert!(head.ends_with("\r\n\r\n"), "no body after HEAD: {head}");
    }
}

#[tokio::test]
async fn broken_bodies_and_unreadable_paths_get_json() {
    each_backend(broken_bodies_and_unreadable_paths_get_json_on).await;
}

async fn broken_bodies_and_unreadable_paths_get_json_on() {
    let server = serve(ServerConfig::new(APPKEY), None).await;
    // Chunked framing that breaks after the head was accepted: the handler's body read fails.
    let broken = raw(
        &server,
        b"POST /acme/chatapp/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"gra\r\nzz\r\n",
    )
    .await;
    let (status, body) = response(broken.as_bytes());
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "illegal_argument", "{body}");
    // A path segment whose escapes are not UTF-8.
    let bad_path = raw(
        &server,
        b"GET /acme/chatapp/users/%ff%fe/user_channels HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (status, body) = response(bad_path.as_bytes());
    assert_eq!(status, 400, "{body}");
    // A body over the limit, declared or not.
    let big = format!(
        "POST /acme/chatapp/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{}\r\n0\r\n\r\n",
        100_000,
        "x".repeat(100_000)
    );
    let (status, body) = response(raw(&server, big.as_bytes()).await.as_bytes());
    assert_eq!(status, 413, "{body}");
}

/// What roam cannot decide: a request hyper refuses while reading its head (bytes no HTTP
/// allows, an unreadable Content-Length, a head over the limit) is answered by hyper
/// itself with a bare status and no body, and the connection closed (README,
/// "Reliability"). This pins that it is refused at once and never reaches a handler.
#[tokio::test]
async fn malformed_heads_are_refused_at_once_by_hyper() {
    each_backend(malformed_heads_are_refused_at_once_by_hyper_on).await;
}

async fn malformed_heads_are_refused_at_once_by_hyper_on() {
    let server = serve(ServerConfig::new(APPKEY), None).await;
    let long_head = format!(
        "GET /acme/chatapp/x HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(40 << 10)
    );
    for (request, status) in [
        (
            &b"GET /acme/chatapp/x HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n"[..],
            "400",
        ),
        (
            b"POST /acme/chatapp/token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            "400",
        ),
        (long_head.as_bytes(), "431"),
    ] {
        let answer = raw(&server, request).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        assert_eq!(header(&answer, "content-length"), Some("0"), "{answer}");
    }
}
