//! The embedded server over loopback, with reqwest and with raw sockets: exact JSON shapes,
//! history paging, filters, auth and error bodies.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::backends::{each_backend, fresh_db};
use common::*;
use reqwest::StatusCode;
use roam::protocol::{ChatType, Content, Message, decode_entry};
use roam::server::{ServerConfig, ServerHandle, spawn_over};
use roam::store::state::StateFile;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const APPKEY: &str = "acme#chatapp";
const N: usize = 301;

struct Fixture {
    server: ServerHandle,
    http: reqwest::Client,
    messages: Vec<Message>,
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}/acme/chatapp{path}", self.server.base_url())
    }

    async fn login(&self, user: &str, password: &str) -> String {
        let res = self
            .http
            .post(self.url("/token"))
            .json(
                &json!({"grant_type":"password","username":user,"password":password,"timestamp":1}),
            )
            .send()
            .await
            .expect("token call");
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_string()
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let res = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        let status = res.status();
        (status, res.json().await.expect("JSON body"))
    }

    async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let res = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("post");
        let status = res.status();
        (status, res.json().await.expect("JSON body"))
    }
}

fn custom(id: u64, time: i64, from: &str, to: &str) -> Message {
    let mut exts = Map::new();
    exts.insert("name".into(), json!("flower"));
    exts.insert("count".into(), json!(3));
    Message {
        content: Content::Custom {
            event: "gift".into(),
            exts,
        },
        ..text(id, time, from, to, ChatType::Group, "")
    }
}

async fn start(config: ServerConfig) -> Fixture {
    start_with(config, Vec::new()).await
}

async fn start_with(config: ServerConfig, extra: Vec<Message>) -> Fixture {
    start_with_state(config, extra, Vec::new()).await
}

/// The fixture with `extra` messages and `extra_state` conversation states for alice.
async fn start_with_state(
    config: ServerConfig,
    extra: Vec<Message>,
    extra_state: Vec<Value>,
) -> Fixture {
    let mut messages = alice_bob(N);
    messages.extend(extra);
    messages.extend([
        text(
            BASE_ID + 10_001,
            1_600_000_000_000,
            "carol",
            "alice",
            ChatType::Single,
            "old",
        ),
        text(
            BASE_ID + 10_002,
            1_800_000_000_000,
            "bob",
            "team",
            ChatType::Group,
            "team 1",
        ),
        custom(BASE_ID + 10_003, 1_800_000_000_001, "alice", "team"),
        text(
            BASE_ID + 10_004,
            1_800_000_000_002,
            "dave",
            "lobby",
            ChatType::Room,
            "room",
        ),
        text(
            BASE_ID + 10_005,
            1_800_000_000_003,
            "dave",
            "secret",
            ChatType::Group,
            "no",
        ),
    ]);
    let mut state: Value = serde_json::from_str(
        r#"{"users":[{"name":"alice","password":"pw-alice"},{"name":"bob","password":"pw-bob"}],
            "conversations":[{"user":"alice","id":"carol","type":"chat","unread":2,
                              "pinned":true,"pinned_at":1716900000000,"marks":["mark_0"]},
                             {"user":"alice","id":"team","type":"groupchat",
                              "pinned":true,"pinned_at":1716800000000,
                              "marks":["mark_3","mark_0"]}]}"#,
    )
    .expect("state JSON");
    if let Some(list) = state["conversations"].as_array_mut() {
        list.extend(extra_state);
    }
    let state = StateFile::parse(&state.to_string()).expect("state");
    let db = fresh_db("server").await;
    db.insert_messages(&messages).await.expect("insert");
    db.apply_state(&state).await.expect("apply");
    let server = spawn_over(db, config, None).await.expect("server starts");
    assert!(server.addr().ip().is_loopback());
    Fixture {
        server,
        http: reqwest::Client::new(),
        messages,
    }
}

async fn fixture() -> (Fixture, String) {
    let f = start(ServerConfig::new(APPKEY)).await;
    let token = f.login("alice", "pw-alice").await;
    (f, token)
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// An error answer: the status and the exact §6 body.
fn assert_error(status: StatusCode, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(
        keys(body),
        set(&[
            "error",
            "exception",
            "timestamp",
            "duration",
            "error_description"
        ]),
        "{body}"
    );
    assert_eq!(body["error"], code, "{body}");
    assert!(body["exception"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        body["timestamp"]
            .as_i64()
            .is_some_and(|t| t > 1_600_000_000_000)
    );
    assert_eq!(body["duration"], 0);
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
}

fn assert_envelope(body: &Value, action: &str) {
    assert_eq!(
        keys(body),
        set(&["action", "timestamp", "duration", "data"]),
        "{body}"
    );
    assert_eq!(body["action"], action);
    assert!(body["timestamp"].as_i64().is_some());
    assert!(body["duration"].as_i64().is_some());
}

// -------------------------------------------------------------------------------------
// Token
// -------------------------------------------------------------------------------------

#[tokio::test]
async fn token_has_the_service_shape_and_refuses_wrong_passwords() {
    each_backend(token_has_the_service_shape_and_refuses_wrong_passwords_on).await;
}

async fn token_has_the_service_shape_and_refuses_wrong_passwords_on() {
    let f = start(ServerConfig::new(APPKEY)).await;
    let res = f
        .http
        .post(f.url("/token"))
        .json(&json!({"grant_type":"password","username":"Alice","password":"pw-alice","timestamp":1}))
        .send()
        .await
        .expect("call");
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.expect("json");
    assert_eq!(keys(&body), set(&["access_token", "expires_in", "user"]));
    let token = body["access_token"].as_str().expect("string");
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    assert_eq!(body["expires_in"], 24 * 3600);
    assert_eq!(
        keys(&body["user"]),
        set(&[
            "uuid",
            "type",
            "created",
            "modified",
            "username",
            "activated"
        ])
    );
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["user"]["type"], "user");
    assert_eq!(body["user"]["activated"], true);
    assert!(body["user"]["created"].as_i64().is_some());

    for (user, pw) in [("alice", "nope"), ("nobody", "pw-alice"), ("bad id", "x")] {
        let res = f
            .http
            .post(f.url("/token"))
            .json(&json!({"grant_type":"password","username":user,"password":pw}))
            .send()
            .await
            .expect("call");
        let status = res.status();
        let body: Value = res.json().await.expect("json");
        assert_error(status, &body, 400, "invalid_grant");
        assert_eq!(body["error_description"], "invalid username or password");
    }

    let res = f
        .http
        .post(f.url("/token"))
        .header("content-type", "application/json")
        .body("{\"grant_type\":")
        .send()
        .await
        .expect("call");
    let status = res.status();
    assert_error(status, &res.json().await.expect("json"), 400, "json_parse");
    let res = f
        .http
        .post(f.url("/token"))
        .json(&json!({"grant_type":"password"}))
        .send()
        .await
        .expect("call");
    let status = res.status();
    assert_error(
        status,
        &res.json().await.expect("json"),
        400,
        "illegal_argument",
    );
}

// -------------------------------------------------------------------------------------
// Conversation lists
// -------------------------------------------------------------------------------------

fn check_meta(meta: &Value) {
    assert_eq!(
        keys(meta),
        set(&["id", "from", "to", "timestamp", "payload"]),
        "{meta}"
    );
    let id = meta["id"].as_str().expect("id is a string");
    assert!(id.parse::<u64>().is_ok());
    let payload: Value =
        serde_json::from_str(meta["payload"].as_str().expect("payload is a JSON string"))
            .expect("payload parses");
    assert!(payload["ext"].is_object(), "{payload}");
    assert!(payload["bodies"].is_array());
}

#[tokio::test]
async fn legacy_lists_have_the_service_shape() {
    each_backend(legacy_lists_have_the_service_shape_on).await;
}

async fn legacy_lists_have_the_service_shape_on() {
    let (f, token) = fixture().await;
    let (status, body) = f.get(&token, "/users/alice/user_channels").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_envelope(&body, "get");
    assert_eq!(keys(&body["data"]), set(&["channel_infos"]));
    let entries = body["data"]["channel_infos"].as_array().expect("array");
    let ids: Vec<&str> = entries
        .iter()
        .map(|e| e["channel_id"].as_str().expect("id"))
        .collect();
    // Newest activity first, whatever the age (the 2020 chat with carol included); no room,
    // not the group alice never joined.
    assert_eq!(
        ids,
        [
            "acme#chatapp_team@conference.easemob.com",
            "acme#chatapp_bob@easemob.com",
            "acme#chatapp_carol@easemob.com"
        ]
    );
    for e in entries {
        assert_eq!(keys(e), set(&["channel_id", "unread_num", "meta"]));
        check_meta(&e["meta"]);
    }
    assert_eq!(entries[2]["unread_num"], 2);
    assert_eq!(entries[1]["meta"]["to"], "acme#chatapp_bob@easemob.com");

    // Paged: pages of one, concatenated, are the same list.
    let mut paged = Vec::new();
    for n in 1..=4 {
        let (status, body) = f
            .get(
                &token,
                &format!("/users/alice/user_channels/page?pageNum={n}&pageSize=1"),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_envelope(&body, "get");
        paged.extend(
            body["data"]["channel_infos"]
                .as_array()
                .expect("array")
                .clone(),
        );
    }
    assert_eq!(&paged, entries);
    for bad in [
        "pageNum=0&pageSize=5",
        "pageNum=1&pageSize=21",
        "pageNum=1&pageSize=0",
        "pageNum=x",
    ] {
        let (status, body) = f
            .get(&token, &format!("/users/alice/user_channels/page?{bad}"))
            .await;
        assert_error(status, &body, 400, "illegal_argument");
    }
}

#[tokio::test]
async fn the_legacy_list_holds_the_ten_most_recent_of_any_age() {
    each_backend(the_legacy_list_holds_the_ten_most_recent_of_any_age_on).await;
}

async fn the_legacy_list_holds_the_ten_most_recent_of_any_age_on() {
    // Twelve more peers, all older than 2023 and older than the fixture's chats but carol's.
    let extra = (0..12)
        .map(|i| {
            let time = 1_650_000_000_000 + i * 1000;
            text(
                BASE_ID + 20_000 + i as u64,
                time,
                &format!("peer{i}"),
                "alice",
                ChatType::Single,
                "hi",
            )
        })
        .collect();
    let f = start_with(ServerConfig::new(APPKEY), extra).await;
    let token = f.login("alice", "pw-alice").await;
    let (status, body) = f.get(&token, "/users/alice/user_channels").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = body["data"]["channel_infos"]
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["channel_id"].as_str().expect("id"))
        .collect();
    let mut expected = vec![
        "acme#chatapp_team@conference.easemob.com".to_string(),
        "acme#chatapp_bob@easemob.com".to_string(),
    ];
    expected.extend(
        (4..12)
            .rev()
            .map(|i| format!("acme#chatapp_peer{i}@easemob.com")),
    );
    assert_eq!(ids, expected);
    // The cursor list has them all: 3 + 12.
    let (_, body) = f
        .get(&token, "/sdk/user/alice/user_channels/list?limit=50")
        .await;
    assert_eq!(
        body["data"]["channel_infos"].as_array().map(Vec::len),
        Some(15)
    );
}

/// Every entry of a cursor list (`path` without `cursor`), page by page.
async fn cursor_pages(f: &Fixture, token: &str, path: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, body) = f.get(token, &format!("{path}&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_envelope(&body, "get");
        assert_eq!(keys(&body["data"]), set(&["cursor", "channel_infos"]));
        entries.extend(
            body["data"]["channel_infos"]
                .as_array()
                .expect("array")
                .clone(),
        );
        cursor = body["data"]["cursor"]
            .as_str()
            .expect("cursor string")
            .to_string();
        if cursor.is_empty() {
            return entries;
        }
        assert!(entries.len() < 10, "cursor never ends");
    }
}

fn session_ids(entries: &[Value]) -> Vec<(&str, &str)> {
    entries
        .iter()
        .map(|e| {
            (
                e["session_to"].as_str().expect("to"),
                e["session_type"].as_str().expect("type"),
            )
        })
        .collect()
}

#[tokio::test]
async fn cursor_list_pages_by_activity_only_with_service_shapes() {
    each_backend(cursor_list_pages_by_activity_only_with_service_shapes_on).await;
}

async fn cursor_list_pages_by_activity_only_with_service_shapes_on() {
    let (f, token) = fixture().await;
    let entries = cursor_pages(
        &f,
        &token,
        "/sdk/user/alice/user_channels/list?limit=1&need_mark=true&needEmptySession=false",
    )
    .await;
    // Newest activity first; carol's pin does not lift her old conversation (§3.2).
    assert_eq!(
        session_ids(&entries),
        [("team", "groupchat"), ("bob", "chat"), ("carol", "chat")]
    );
    for e in &entries {
        assert_eq!(
            keys(e),
            set(&[
                "session_to",
                "session_type",
                "is_top",
                "update_top_status_time",
                "unread_num",
                "marks",
                "meta"
            ]),
            "{e}"
        );
        check_meta(&e["meta"]);
    }
    assert_eq!(entries[2]["is_top"], true);
    assert_eq!(entries[2]["update_top_status_time"], 1716900000000i64);
    assert_eq!(entries[2]["marks"], json!(["mark_0"]));
    assert_eq!(entries[1]["is_top"], false);
    // The group's last message is custom: its exts are an array of one-key objects, in the
    // sender's order.
    let payload: Value =
        serde_json::from_str(entries[0]["meta"]["payload"].as_str().expect("payload"))
            .expect("json");
    assert_eq!(payload["bodies"][0]["type"], "custom");
    assert_eq!(
        payload["bodies"][0]["customExts"],
        json!([{"name": "flower"}, {"count": 3}])
    );

    // Default limit 20: everything on one page.
    let (_, body) = f.get(&token, "/sdk/user/alice/user_channels/list").await;
    assert_eq!(
        body["data"]["channel_infos"].as_array().map(Vec::len),
        Some(3)
    );

    for bad in ["limit=0", "limit=51", "limit=-1", "limit=abc", "cursor=zzz"] {
        let (status, body) = f
            .get(&token, &format!("/sdk/user/alice/user_channels/list?{bad}"))
            .await;
        assert_error(status, &body, 400, "illegal_argument");
    }
}

#[tokio::test]
async fn pinned_list_is_ordered_by_pin_time_newest_first() {
    each_backend(pinned_list_is_ordered_by_pin_time_newest_first_on).await;
}

async fn pinned_list_is_ordered_by_pin_time_newest_first_on() {
    let (f, token) = fixture().await;
    // team is the newest activity but was pinned before carol.
    let entries = cursor_pages(
        &f,
        &token,
        "/sdk/user/alice/user_channels/list?limit=1&is_top=true",
    )
    .await;
    assert_eq!(
        session_ids(&entries),
        [("carol", "chat"), ("team", "groupchat")]
    );
    assert_eq!(entries[1]["update_top_status_time"], 1716800000000i64);
    assert!(entries.iter().all(|e| e["is_top"] == true));
}

#[tokio::test]
async fn mark_search_lists_the_conversations_carrying_a_mark() {
    each_backend(mark_search_lists_the_conversations_carrying_a_mark_on).await;
}

async fn mark_search_lists_the_conversations_carrying_a_mark_on() {
    let (f, token) = fixture().await;
    let path = "/sdk/user/alice/user_channels/mark/search?limit=1&need_mark=true&mark=mark_0";
    let entries = cursor_pages(&f, &token, path).await;
    assert_eq!(
        session_ids(&entries),
        [("team", "groupchat"), ("carol", "chat")]
    );
    for e in &entries {
        assert!(
            e["marks"]
                .as_array()
                .expect("marks")
                .contains(&json!("mark_0"))
        );
        check_meta(&e["meta"]);
    }
    let (status, body) = f
        .get(
            &token,
            "/sdk/user/alice/user_channels/mark/search?&mark=mark_3&_v=1",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        session_ids(body["data"]["channel_infos"].as_array().expect("array")),
        [("team", "groupchat")]
    );
    assert_eq!(body["data"]["cursor"], "");
    let (_, body) = f
        .get(
            &token,
            "/sdk/user/alice/user_channels/mark/search?mark=mark_19",
        )
        .await;
    assert_eq!(body["data"]["channel_infos"], json!([]));
    for bad in [
        "mark=mark_20",
        "mark=",
        "mark=x",
        "mark=mark_0&limit=0",
        "mark=mark_0&limit=51",
    ] {
        let (status, body) = f
            .get(
                &token,
                &format!("/sdk/user/alice/user_channels/mark/search?{bad}"),
            )
            .await;
        assert_error(status, &body, 400, "illegal_argument");
    }
    let (status, body) = f
        .get(
            &token,
            "/sdk/user/bob/user_channels/mark/search?mark=mark_0",
        )
        .await;
    assert_error(status, &body, 403, "forbidden_op");
}

#[tokio::test]
async fn mark_search_pages_ten_by_default() {
    each_backend(mark_search_pages_ten_by_default_on).await;
}

async fn mark_search_pages_ten_by_default_on() {
    // Twelve conversations carrying mark_1.
    let extra: Vec<Message> = (0..12)
        .map(|i| {
            text(
                BASE_ID + 20_000 + i,
                1_750_000_000_000 + i as i64,
                &format!("peer{i:02}"),
                "alice",
                ChatType::Single,
                "hi",
            )
        })
        .collect();
    let marked: Vec<Value> = (0..12)
        .map(
            |i| json!({"user":"alice","id":format!("peer{i:02}"),"type":"chat","marks":["mark_1"]}),
        )
        .collect();
    let f = start_with_state(ServerConfig::new(APPKEY), extra, marked).await;
    let token = f.login("alice", "pw-alice").await;
    let (status, body) = f
        .get(
            &token,
            "/sdk/user/alice/user_channels/mark/search?mark=mark_1",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = session_ids(body["data"]["channel_infos"].as_array().expect("array"))
        .into_iter()
        .map(|(id, _)| id.to_string())
        .collect::<Vec<_>>();
    let want: Vec<String> = (2..12).rev().map(|i| format!("peer{i:02}")).collect();
    assert_eq!(first, want, "newest activity first, ten of them");
    let cursor = body["data"]["cursor"].as_str().expect("cursor").to_string();
    assert!(!cursor.is_empty());
    let (_, body) = f
        .get(
            &token,
            &format!("/sdk/user/alice/user_channels/mark/search?mark=mark_1&cursor={cursor}"),
        )
        .await;
    assert_eq!(
        session_ids(body["data"]["channel_infos"].as_array().expect("array")),
        [("peer01", "chat"), ("peer00", "chat")]
    );
    assert_eq!(body["data"]["cursor"], "");
}

#[tokio::test]
async fn conversation_lists_are_rate_limited_when_asked() {
    each_backend(conversation_lists_are_rate_limited_when_asked_on).await;
}

async fn conversation_lists_are_rate_limited_when_asked_on() {
    let mut config = ServerConfig::new(APPKEY);
    config.rate_limit = true;
    let f = start(config).await;
    let token = f.login("alice", "pw-alice").await;
    let paths = [
        "/users/alice/user_channels",
        "/users/alice/user_channels/page?pageNum=1&pageSize=5",
        "/sdk/user/alice/user_channels/list?limit=5",
        "/users/alice/user_channels",
        "/sdk/user/alice/user_channels/list",
    ];
    for p in paths {
        assert_eq!(f.get(&token, p).await.0, StatusCode::OK, "{p}");
    }
    let res = f
        .http
        .get(f.url("/sdk/user/alice/user_channels/list"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("call");
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry));
    let status = res.status();
    let body: Value = res.json().await.expect("json");
    assert_error(status, &body, 429, "reach_limit");
    assert_eq!(
        body["error_description"],
        "This request has reached api limit"
    );
    // Per user, and history is not limited.
    let bob = f.login("bob", "pw-bob").await;
    assert_eq!(
        f.get(&bob, "/users/bob/user_channels").await.0,
        StatusCode::OK
    );
    let (status, _) = f
        .post(
            &token,
            "/users/alice/messageroaming",
            &json!({"queue":"bob@easemob.com","start":-1,"end":-1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

// -------------------------------------------------------------------------------------
// History
// -------------------------------------------------------------------------------------

async fn roam_page(f: &Fixture, token: &str, body: &Value) -> (Vec<u64>, String, bool) {
    let (status, res) = f.post(token, "/users/alice/messageroaming", body).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_envelope(&res, "post");
    assert_eq!(keys(&res["data"]), set(&["msgs", "next_key", "is_last"]));
    let msgs = res["data"]["msgs"].as_array().expect("msgs");
    let ids = msgs
        .iter()
        .map(|m| {
            assert_eq!(keys(m), set(&["msg"]));
            let message = decode_entry(m["msg"].as_str().expect("base64"))
                .expect("decodes")
                .expect("a message, not an event");
            message.id
        })
        .collect();
    (
        ids,
        res["data"]["next_key"]
            .as_str()
            .expect("next_key string")
            .to_string(),
        res["data"]["is_last"].as_bool().expect("is_last bool"),
    )
}

async fn walk(f: &Fixture, token: &str, base: Value) -> Vec<u64> {
    let mut seen = Vec::new();
    let mut body = base.clone();
    body["start"] = json!(-1);
    for _ in 0..1000 {
        let (ids, next, last) = roam_page(f, token, &body).await;
        seen.extend(ids);
        if last {
            assert_eq!(next, "");
            return seen;
        }
        assert!(next.parse::<u64>().is_ok(), "{next}");
        assert_ne!(body["start"], json!(next), "next_key must move forward");
        body["start"] = json!(next);
    }
    panic!("history never reached is_last");
}

#[tokio::test]
async fn history_pages_visit_every_message_once_in_order() {
    each_backend(history_pages_visit_every_message_once_in_order_on).await;
}

async fn history_pages_visit_every_message_once_in_order_on() {
    let (f, token) = fixture().await;
    let single: Vec<Message> = f
        .messages
        .iter()
        .filter(|m| m.to == "bob" || m.to == "alice")
        .filter(|m| m.from != "carol")
        .cloned()
        .collect();
    assert_eq!(single.len(), N);
    let oldest_first = ordered_ids(&single);
    let mut newest_first = oldest_first.clone();
    newest_first.reverse();
    for size in [1, 7, 20, 50] {
        let up = walk(&f, &token, json!({"queue":"bob@easemob.com","pull_number":size,"is_positive":false,"msgType":"","startTime":null,"endTime":null,"userId":null,"end":-1})).await;
        assert_eq!(up, newest_first, "up, {size}");
        let down = walk(
            &f,
            &token,
            json!({"queue":"bob@easemob.com","pull_number":size,"is_positive":true,"end":-1}),
        )
        .await;
        assert_eq!(down, oldest_first, "down, {size}");
    }
    // The legacy call: queue, start, end only: 20 newest first.
    let (ids, next, last) = roam_page(
        &f,
        &token,
        &json!({"queue":"BOB@easemob.com","start":-1,"end":-1}),
    )
    .await;
    assert_eq!(ids, newest_first[..20]);
    assert_eq!(next, newest_first[20].to_string());
    assert!(!last);
    // A string "-1" and null start at the newest end too.
    for start in [json!("-1"), Value::Null, json!("")] {
        let (ids, _, _) = roam_page(
            &f,
            &token,
            &json!({"queue":"bob@easemob.com","start":start,"pull_number":"3"}),
        )
        .await;
        assert_eq!(ids, newest_first[..3]);
    }
}

#[tokio::test]
async fn history_entries_decode_to_the_stored_messages() {
    each_backend(history_entries_decode_to_the_stored_messages_on).await;
}

async fn history_entries_decode_to_the_stored_messages_on() {
    let (f, token) = fixture().await;
    let (status, res) = f
        .post(
            &token,
            "/users/alice/messageroaming",
            &json!({"queue":"team@conference.easemob.com","start":-1,"end":-1,"pull_number":50}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let decoded: Vec<Message> = res["data"]["msgs"]
        .as_array()
        .expect("msgs")
        .iter()
        .filter_map(|m| decode_entry(m["msg"].as_str()?).ok().flatten())
        .collect();
    let mut expected: Vec<Message> = f
        .messages
        .iter()
        .filter(|m| m.to == "team")
        .cloned()
        .collect();
    expected.reverse();
    assert_eq!(decoded, expected);
    assert_eq!(res["data"]["is_last"], true);
    assert_eq!(res["data"]["next_key"], "");
}

#[tokio::test]
async fn history_filters_by_type_sender_and_time() {
    each_backend(history_filters_by_type_sender_and_time_on).await;
}

async fn history_filters_by_type_sender_and_time_on() {
    let (f, token) = fixture().await;
    let base = json!({"queue":"bob@easemob.com","pull_number":7,"is_positive":true,"msgType":"img","end":-1});
    let ids = walk(&f, &token, base).await;
    let imgs: Vec<Message> = f
        .messages
        .iter()
        .filter(|m| m.content.type_name() == "img")
        .cloned()
        .collect();
    assert_eq!(ids, ordered_ids(&imgs));
    assert_eq!(ids.len(), N / 10);

    let base = json!({"queue":"bob@easemob.com","pull_number":50,"msgType":"txt,img","userId":"Bob","end":-1});
    let ids = walk(&f, &token, base).await;
    assert_eq!(ids.len(), N / 2);
    assert!(
        ids.iter()
            .all(|id| f.messages.iter().any(|m| m.id == *id && m.from == "bob"))
    );

    let (lo, hi) = (1_700_000_000_020i64, 1_700_000_000_029i64);
    let base =
        json!({"queue":"bob@easemob.com","pull_number":20,"startTime":lo,"endTime":hi,"end":-1});
    let ids = walk(&f, &token, base).await;
    let in_range: Vec<Message> = f
        .messages
        .iter()
        .filter(|m| (lo..=hi).contains(&m.time))
        .cloned()
        .collect();
    let mut expected = ordered_ids(&in_range);
    expected.reverse();
    assert_eq!(ids, expected);
    assert_eq!(ids.len(), 30);
}

#[tokio::test]
async fn history_access_follows_membership_and_rooms_are_open() {
    each_backend(history_access_follows_membership_and_rooms_are_open_on).await;
}

async fn history_access_follows_membership_and_rooms_are_open_on() {
    let (f, token) = fixture().await;
    let (status, body) = f
        .post(
            &token,
            "/users/alice/messageroaming",
            &json!({"queue":"secret@conference.easemob.com","start":-1,"end":-1}),
        )
        .await;
    assert_error(status, &body, 403, "forbidden_op");
    let (ids, _, last) = roam_page(
        &f,
        &token,
        &json!({"queue":"lobby@conference.easemob.com","start":-1,"end":-1}),
    )
    .await;
    assert_eq!((ids, last), (vec![BASE_ID + 10_004], true));
    let (ids, next, last) = roam_page(
        &f,
        &token,
        &json!({"queue":"nobody@easemob.com","start":-1,"end":-1}),
    )
    .await;
    assert_eq!((ids.len(), next.as_str(), last), (0, "", true));
}

#[tokio::test]
async fn bad_history_requests_get_4xx_json_never_500() {
    each_backend(bad_history_requests_get_4xx_json_never_500_on).await;
}

async fn bad_history_requests_get_4xx_json_never_500_on() {
    let (f, token) = fixture().await;
    for pull in [
        json!(0),
        json!(51),
        json!(-1),
        json!("abc"),
        json!(2.5),
        json!([1]),
    ] {
        let (status, body) = f
            .post(
                &token,
                "/users/alice/messageroaming",
                &json!({"queue":"bob@easemob.com","start":-1,"end":-1,"pull_number":pull}),
            )
            .await;
        assert_error(status, &body, 400, "illegal_argument");
    }
    for body in [
        json!({"queue":"bob@example.com","start":-1}),
        json!({"queue":"bob","start":-1}),
        json!({"queue":"@easemob.com","start":-1}),
        json!({"queue":"b o b@easemob.com","start":-1}),
        json!({"queue":"bob@easemob.com","start":"not-a-cursor"}),
        json!({"queue":"bob@easemob.com","start":"42"}),
        json!({"queue":"bob@easemob.com","start":{"x":1}}),
        json!({"queue":"bob@easemob.com","userId":"no way"}),
        json!({"start":-1}),
        json!({"queue":7}),
        json!([1, 2]),
    ] {
        let (status, res) = f.post(&token, "/users/alice/messageroaming", &body).await;
        assert_error(status, &res, 400, "illegal_argument");
    }
    for raw in ["{", "", "nope", "{\"queue\":\"bob@easemob.com\",}"] {
        let res = f
            .http
            .post(f.url("/users/alice/messageroaming"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .expect("call");
        let status = res.status();
        assert_error(status, &res.json().await.expect("json"), 400, "json_parse");
    }
    let huge = json!({"queue":"bob@easemob.com","msgType": "x".repeat(200_000)});
    let (status, body) = f.post(&token, "/users/alice/messageroaming", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "request_entity_too_large");
    // Chunked, with no Content-Length: the limit holds too.
    let mut stream = tokio::net::TcpStream::connect(f.server.addr())
        .await
        .expect("connect");
    let head = format!(
        "POST /acme/chatapp/users/alice/messageroaming HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let chunk = format!("1000\r\n{}\r\n", " ".repeat(4096));
    for _ in 0..100 {
        // The server may answer and close before reading everything: stop writing then.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("request_entity_too_large"), "{text}");
}

// -------------------------------------------------------------------------------------
// Auth, paths
// -------------------------------------------------------------------------------------

#[tokio::test]
async fn auth_errors_have_exact_bodies() {
    each_backend(auth_errors_have_exact_bodies_on).await;
}

async fn auth_errors_have_exact_bodies_on() {
    let mut config = ServerConfig::new(APPKEY);
    // Long enough for the calls below on a loaded machine; the expiry is waited for, below.
    const TTL_MS: i64 = 3000;
    config.token_ttl = Duration::from_millis(TTL_MS as u64);
    let f = start(config).await;
    let token = f.login("alice", "pw-alice").await;
    let roaming = json!({"queue":"bob@easemob.com","start":-1,"end":-1});

    let res = f
        .http
        .post(f.url("/users/alice/messageroaming"))
        .json(&roaming)
        .send()
        .await
        .expect("call");
    let status = res.status();
    assert_error(
        status,
        &res.json().await.expect("json"),
        401,
        "unauthorized",
    );
    let (status, body) = f
        .post("garbage", "/users/alice/messageroaming", &roaming)
        .await;
    assert_error(status, &body, 401, "auth_bad_access_token");
    let res = f
        .http
        .get(f.url("/users/alice/user_channels"))
        .header("authorization", "Basic YWxpY2U6cHc=")
        .send()
        .await
        .expect("call");
    let status = res.status();
    assert_error(
        status,
        &res.json().await.expect("json"),
        401,
        "auth_bad_access_token",
    );

    // Another user's path, whatever the case of the segment.
    let (status, body) = f.post(&token, "/users/bob/messageroaming", &roaming).await;
    assert_error(status, &body, 403, "forbidden_op");
    let (status, body) = f.get(&token, "/sdk/user/bob/user_channels/list").await;
    assert_error(status, &body, 403, "forbidden_op");
    let (status, _) = f.get(&token, "/users/ALICE/user_channels").await;
    assert_eq!(status, StatusCode::OK);

    let before = jiff::Timestamp::now().as_millisecond();
    let (status, body) = f.get(&token, "/sdk/users/alice/token/expires").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The envelope, and the expiry also at the top level, where the SDK's renewToken reads it.
    assert_eq!(
        keys(&body),
        set(&[
            "action",
            "timestamp",
            "duration",
            "data",
            "expire_timestamp"
        ]),
        "{body}"
    );
    assert_eq!(body["action"], "get");
    let expires = body["data"].as_i64().expect("ms");
    assert_eq!(body["expire_timestamp"], expires, "{body}");
    assert!(
        expires > before && expires <= before + TTL_MS,
        "{expires} vs {before}"
    );
    let (status, body) = f.get(&token, "/sdk/users/bob/token/expires").await;
    assert_error(status, &body, 403, "forbidden_op");

    // Until the expiry the server announced has passed, however long the calls above took.
    while jiff::Timestamp::now().as_millisecond() <= expires + 50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = f
        .post(&token, "/users/alice/messageroaming", &roaming)
        .await;
    assert_error(status, &body, 401, "unauthorized");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("expired"))
    );
    let (status, body) = f.get(&token, "/sdk/users/alice/token/expires").await;
    assert_error(status, &body, 401, "unauthorized");
}

#[tokio::test]
async fn unknown_apps_paths_and_methods_get_json_404s() {
    each_backend(unknown_apps_paths_and_methods_get_json_404s_on).await;
}

async fn unknown_apps_paths_and_methods_get_json_404s_on() {
    let (f, token) = fixture().await;
    let base = f.server.base_url();
    for (url, code, status) in [
        (
            format!("{base}/other/chatapp/users/alice/user_channels"),
            "organization_application_not_found",
            404,
        ),
        (
            format!("{base}/acme/other/token"),
            "organization_application_not_found",
            404,
        ),
        (
            format!("{base}/acme/chatapp/users/alice/nothing"),
            "service_resource_not_found",
            404,
        ),
        (
            format!("{base}/acme/chatapp"),
            "service_resource_not_found",
            404,
        ),
        (format!("{base}/"), "service_resource_not_found", 404),
        (
            format!("{base}/acme/chatapp/token"),
            "method_not_allowed",
            405,
        ),
    ] {
        let res = f
            .http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("call");
        let got = res.status();
        assert_error(got, &res.json().await.expect("json"), status, code);
    }
    // The app key matches case-insensitively.
    let res = f
        .http
        .get(format!("{base}/ACME/ChatApp/users/alice/user_channels"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("call");
    assert_eq!(res.status(), StatusCode::OK);
}

// -------------------------------------------------------------------------------------
// The SDK's query strings, byte for byte
// -------------------------------------------------------------------------------------

/// Sends a hand-written HTTP/1.1 request and returns the status and JSON body.
async fn raw_get(f: &Fixture, target: &str, token: &str) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(f.server.addr())
        .await
        .expect("connect");
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        f.server.addr()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}")),
    )
}

#[tokio::test]
async fn sdk_query_strings_are_tolerated_as_sent() {
    each_backend(sdk_query_strings_are_tolerated_as_sent_on).await;
}

async fn sdk_query_strings_are_tolerated_as_sent_on() {
    let (f, token) = fixture().await;
    let (status, body) = raw_get(
        &f,
        "/acme/chatapp/sdk/user/alice/user_channels/list?&limit=2&cursor=&need_mark=true&needEmptySession=false&_v=1716999999999",
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["channel_infos"].as_array().map(Vec::len),
        Some(2)
    );
    let cursor = body["data"]["cursor"].as_str().expect("cursor").to_string();
    assert!(!cursor.is_empty());
    let (status, body) = raw_get(
        &f,
        &format!("/acme/chatapp/sdk/user/alice/user_channels/list?&limit=2&cursor={cursor}&need_mark=true&_v=1&unknown=x|y&is_top=false"),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["channel_infos"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(body["data"]["cursor"], "");
    let (status, body) = raw_get(
        &f,
        "/acme/chatapp/users/alice/user_channels/page?&pageNum=1&pageSize=2&_v=1716999999999",
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["channel_infos"].as_array().map(Vec::len),
        Some(2)
    );
    let (status, body) = raw_get(
        &f,
        "/acme/chatapp/users/alice/user_channels?_v=1716999999999&&",
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = raw_get(
        &f,
        "/acme/chatapp/sdk/users/alice/token/expires?&_v=1",
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = raw_get(
        &f,
        "/acme/chatapp/sdk/user/alice/user_channels/list?limit=%35%30&cursor=%",
        &token,
    )
    .await;
    assert_eq!(status, 400, "a literal % is no cursor: {body}");
    assert_eq!(body["error"], "illegal_argument");
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    each_backend(shutdown_stops_the_server_on).await;
}

async fn shutdown_stops_the_server_on() {
    let (f, _) = fixture().await;
    let addr = f.server.addr();
    f.server.shutdown().await.expect("clean shutdown");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
