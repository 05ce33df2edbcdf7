//! Names (PROTOCOL.md §8.1) end to end over loopback: the state file's names in the store,
//! the embedded server's three endpoints with their refusals and limits, and roam's
//! client against them (batching, and hostile answers from a fake server).
//!
//! The database: alice and bob can log in; li.wei, tanaka.yuki and omar.haddad only have
//! nicknames. The group 262857469362177 has alice and bob; the group 262857469362178 only
//! bob; the room 262857469362190 is open to all.

mod common;

use std::sync::Arc;

use common::backends::{each_backend, fresh_db};
use common::*;
use reqwest::StatusCode;
use roam::client::{Client, ClientConfig, ClientError, Credential, MAX_NAME_CHARS};
use roam::protocol::ChatType;
use roam::protocol::names::{MAX_ATTRIBUTE_TARGETS, MAX_GROUP_NAME_CHARS};
use roam::server::{ServerConfig, ServerHandle, spawn, spawn_over};
use roam::store::state::StateFile;
use roam::store::{Store, StoreError, StorePool};
use serde_json::{Value, json};

const APPKEY: &str = "acme#chatapp";
const TEAM: &str = "262857469362177";
const BOBS: &str = "262857469362178";
const ROOM: &str = "262857469362190";
/// A name that tries everything a terminal could be made to do.
const HOSTILE: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}\u{202e}evil\r\nline";

fn state() -> StateFile {
    StateFile::parse(
        &json!({
            "users": [
                {"name": "alice", "password": "pw-alice", "nickname": "Alice A."},
                {"name": "bob", "password": "pw-bob"},
                {"name": "li.wei", "nickname": "李伟"},
                {"name": "Tanaka.Yuki", "nickname": "田中ゆき"},
                {"name": "omar.haddad", "nickname": "Omar Haddad"},
                {"name": "mallory", "nickname": HOSTILE}
            ],
            "groups": [
                {"id": TEAM, "name": "roam team", "description": "the builders",
                 "members": ["alice", "bob"]},
                {"id": BOBS, "name": "bob's secret", "members": ["bob"]}
            ],
            "rooms": [{"id": ROOM, "name": "lobby", "description": "say hi"}],
            "apps": [{"client_id": "support-desk", "client_secret": "desk-secret"}]
        })
        .to_string(),
    )
    .expect("state parses")
}

fn store() -> Store {
    let mut store = Store::open_in_memory().expect("store");
    store
        .insert_messages(&[text(
            BASE_ID,
            1_700_000_000_000,
            "alice",
            TEAM,
            ChatType::Group,
            "hi",
        )])
        .expect("insert");
    store.apply_state(&state()).expect("state applies");
    store
}

async fn server() -> ServerHandle {
    let db = fresh_db("names").await;
    db.insert_messages(&[text(
        BASE_ID,
        1_700_000_000_000,
        "alice",
        TEAM,
        ChatType::Group,
        "hi",
    )])
    .await
    .expect("insert");
    db.apply_state(&state()).await.expect("state applies");
    spawn_over(db, ServerConfig::new(APPKEY), None)
        .await
        .expect("server starts")
}

struct Http {
    base: String,
    http: reqwest::Client,
}

impl Http {
    fn new(server: &ServerHandle) -> Http {
        Http {
            base: format!("{}/acme/chatapp", server.base_url()),
            http: reqwest::Client::new(),
        }
    }

    async fn login(&self, user: &str, password: &str) -> String {
        let body: Value = self
            .http
            .post(format!("{}/token", self.base))
            .json(&json!({"grant_type":"password","username":user,"password":password}))
            .send()
            .await
            .expect("token call")
            .json()
            .await
            .expect("json");
        body["access_token"].as_str().expect("token").to_string()
    }

    async fn answer(res: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let res = res.send().await.expect("request");
        let status = res.status();
        (status, res.json().await.expect("JSON body"))
    }

    async fn get(&self, token: Option<&str>, path: &str) -> (StatusCode, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        Http::answer(req).await
    }

    async fn attributes(&self, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}/metadata/user/get", self.base))
            .json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        Http::answer(req).await
    }
}

fn client(server: &ServerHandle, user: &str, password: &str) -> Client {
    Client::new(ClientConfig::new(
        server.base_url(),
        APPKEY,
        user,
        Credential::Password(password.into()),
    ))
    .expect("client")
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// The store and the state file
// ---------------------------------------------------------------------------------------

#[test]
fn the_state_file_names_users_groups_and_rooms() {
    let store = store();
    let nicknames = store
        .nicknames(&strings(&[
            "LI.WEI",
            "tanaka.yuki",
            "bob",
            "nobody",
            "not an id",
        ]))
        .expect("nicknames");
    assert_eq!(nicknames.len(), 2, "{nicknames:?}");
    assert_eq!(nicknames["li.wei"], "李伟");
    assert_eq!(nicknames["tanaka.yuki"], "田中ゆき");
    let groups = store
        .group_details(Some("alice"), &strings(&[TEAM, BOBS, TEAM, ROOM]))
        .expect("groups");
    assert_eq!(
        groups.len(),
        1,
        "alice sees her group once, not bob's, not the room"
    );
    assert_eq!(groups[0].name, "roam team");
    assert_eq!(groups[0].description, "the builders");
    assert_eq!(groups[0].owner, "alice");
    assert_eq!(groups[0].affiliations_count, 2);
    let room = store.room_details(ROOM).expect("room").expect("a room");
    assert_eq!(
        (room.name.as_str(), room.description.as_str()),
        ("lobby", "say hi")
    );
    assert_eq!(
        store.room_details(TEAM).expect("room"),
        None,
        "a group is no room"
    );
}

#[test]
fn names_past_the_services_limits_are_refused_with_the_entry_named() {
    let mut store = Store::open_in_memory().expect("store");
    let long = "x".repeat(MAX_GROUP_NAME_CHARS + 1);
    let state = StateFile::parse(&json!({"groups": [{"id": "g1", "name": long}]}).to_string())
        .expect("parses");
    match store.apply_state(&state) {
        Err(StoreError::State(text)) => {
            assert!(
                text.contains("groups[0] (g1)") && text.contains("name"),
                "{text}"
            );
        }
        other => panic!("expected a state error, got {other:?}"),
    }
    // Nothing of the failed file stayed.
    assert!(store.room_details("g1").expect("read").is_none());
    let state = StateFile::parse(
        r#"{"rooms":[{"id":"g1","name":"ok"}],"groups":[{"id":"g1","name":"no"}]}"#,
    )
    .expect("parses");
    let err = store
        .apply_state(&state)
        .expect_err("a room is not a group");
    assert!(err.to_string().contains("already a"), "{err}");
}

#[test]
fn a_version_4_database_gains_the_name_tables() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("v4.db");
    {
        let mut store = Store::open(&path).expect("store");
        store
            .apply_state(&StateFile::default())
            .expect("empty state");
    }
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch("DROP TABLE user_names; DROP TABLE conv_names; PRAGMA user_version = 4;")
        .expect("back to version 4");
    drop(conn);
    let mut store = Store::open(&path).expect("migrates");
    store.apply_state(&state()).expect("names written");
    assert_eq!(
        store.nicknames(&strings(&["li.wei"])).expect("read")["li.wei"],
        "李伟"
    );
}

// ---------------------------------------------------------------------------------------
// The server's endpoints
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn user_attributes_answer_nicknames_in_the_services_shape() {
    each_backend(user_attributes_answer_nicknames_in_the_services_shape_on).await;
}

async fn user_attributes_answer_nicknames_in_the_services_shape_on() {
    let server = server().await;
    let http = Http::new(&server);
    let token = http.login("bob", "pw-bob").await;
    let (status, body) = http
        .attributes(
            Some(&token),
            &json!({"targets": ["li.wei", "Omar.Haddad", "bob", "nobody"],
                    "properties": ["nickname", "avatarurl"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"],
        json!({"li.wei": {"nickname": "李伟"}, "omar.haddad": {"nickname": "Omar Haddad"}})
    );
    assert!(
        body["timestamp"].is_i64() && body["action"] == "get",
        "{body}"
    );
    // Without properties every attribute is asked; asking others gives none.
    let (_, all) = http
        .attributes(Some(&token), &json!({"targets": ["li.wei"]}))
        .await;
    assert_eq!(all["data"]["li.wei"]["nickname"], "李伟");
    let (_, other) = http
        .attributes(
            Some(&token),
            &json!({"targets": ["li.wei"], "properties": ["mail"]}),
        )
        .await;
    assert_eq!(other["data"], json!({}));
    // A hostile nickname is served as stored: showing it safely is the client's job.
    let (_, hostile) = http
        .attributes(Some(&token), &json!({"targets": ["mallory"]}))
        .await;
    assert_eq!(hostile["data"]["mallory"]["nickname"], HOSTILE);
}

#[tokio::test]
async fn user_attributes_refuse_no_token_no_targets_too_many_and_bad_ids() {
    each_backend(user_attributes_refuse_no_token_no_targets_too_many_and_bad_ids_on).await;
}

async fn user_attributes_refuse_no_token_no_targets_too_many_and_bad_ids_on() {
    let server = server().await;
    let http = Http::new(&server);
    let token = http.login("alice", "pw-alice").await;
    let (status, body) = http.attributes(None, &json!({"targets": ["li.wei"]})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (status, body) = http
        .attributes(Some("not-a-token"), &json!({"targets": ["li.wei"]}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("auth_bad_access_token"))
    );
    let refused = |body: &Value| body["error"].as_str().map(str::to_string);
    let (status, body) = http.attributes(Some(&token), &json!({"targets": []})).await;
    assert_eq!(
        (status, refused(&body)),
        (StatusCode::BAD_REQUEST, Some("illegal_argument".into()))
    );
    let targets: Vec<String> = (0..=MAX_ATTRIBUTE_TARGETS)
        .map(|i| format!("u{i}"))
        .collect();
    let (status, body) = http
        .attributes(Some(&token), &json!({ "targets": targets }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("at most 100")),
        "{body}"
    );
    let (status, _) = http
        .attributes(
            Some(&token),
            &json!({ "targets": &targets[..MAX_ATTRIBUTE_TARGETS] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "exactly 100 is fine");
    let (status, body) = http
        .attributes(Some(&token), &json!({"targets": ["../etc"]}))
        .await;
    assert_eq!(
        (status, refused(&body)),
        (StatusCode::BAD_REQUEST, Some("illegal_argument".into()))
    );
    let (status, body) = http
        .attributes(Some(&token), &json!({"targets": "li.wei"}))
        .await;
    assert_eq!(
        (status, refused(&body)),
        (StatusCode::BAD_REQUEST, Some("illegal_argument".into()))
    );
    // Another app is not this one.
    let res = reqwest::Client::new()
        .post(format!("{}/other/app/metadata/user/get", server.base_url()))
        .bearer_auth(&token)
        .json(&json!({"targets": ["li.wei"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn group_details_show_only_the_groups_the_caller_may_read() {
    each_backend(group_details_show_only_the_groups_the_caller_may_read_on).await;
}

async fn group_details_show_only_the_groups_the_caller_may_read_on() {
    let server = server().await;
    let http = Http::new(&server);
    let alice = http.login("alice", "pw-alice").await;
    let bob = http.login("bob", "pw-bob").await;
    let path = format!("/chatgroups/{TEAM},{BOBS},{ROOM},999?joined_time=true");
    let (status, body) = http.get(Some(&alice), &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = body["data"].as_array().expect("a list");
    assert_eq!(data.len(), 1, "alice reads her group only: {body}");
    let team = &data[0];
    assert_eq!(team["id"], TEAM);
    assert_eq!(team["name"], "roam team");
    assert_eq!(team["description"], "the builders");
    assert_eq!(team["owner"], "alice");
    assert_eq!(team["affiliations_count"], 2);
    for field in ["created", "maxusers"] {
        assert!(team[field].is_i64(), "{field}: {team}");
    }
    assert_eq!(team["public"], false);
    assert!(
        team["custom"].is_string() && team["avatar"].is_string(),
        "{team}"
    );
    let (_, body) = http.get(Some(&bob), &path).await;
    let names: Vec<&str> = body["data"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(names, ["roam team", "bob's secret"], "in the order asked");
    // A group alice may not read reads as one that does not exist.
    let (status, body) = http.get(Some(&alice), &format!("/chatgroups/{BOBS}")).await;
    assert_eq!((status, body["data"].clone()), (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn an_app_token_reads_every_group_as_the_apps_administrator() {
    each_backend(an_app_token_reads_every_group_as_the_apps_administrator_on).await;
}

async fn an_app_token_reads_every_group_as_the_apps_administrator_on() {
    let server = server().await;
    let http = Http::new(&server);
    let body: Value = http
        .http
        .post(format!("{}/token", http.base))
        .json(
            &json!({"grant_type":"client_credentials","client_id":"support-desk",
                      "client_secret":"desk-secret"}),
        )
        .send()
        .await
        .expect("token call")
        .json()
        .await
        .expect("json");
    let app = body["access_token"].as_str().expect("an app token");
    let (status, body) = http
        .get(Some(app), &format!("/chatgroups/{TEAM},{BOBS}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["data"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(names, ["roam team", "bob's secret"]);
    let (status, body) = http
        .attributes(
            Some(app),
            &json!({"targets": ["li.wei"], "properties": ["nickname"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["li.wei"]["nickname"], "李伟");
}

#[tokio::test]
async fn group_details_refuse_no_token_too_many_and_bad_ids() {
    each_backend(group_details_refuse_no_token_too_many_and_bad_ids_on).await;
}

async fn group_details_refuse_no_token_too_many_and_bad_ids_on() {
    let server = server().await;
    let http = Http::new(&server);
    let alice = http.login("alice", "pw-alice").await;
    let (status, _) = http.get(None, &format!("/chatgroups/{TEAM}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let many: Vec<String> = (0..=100).map(|i| i.to_string()).collect();
    let (status, body) = http
        .get(Some(&alice), &format!("/chatgroups/{}", many.join(",")))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = http
        .get(
            Some(&alice),
            &format!("/chatgroups/{}", many[..100].join(",")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for bad in ["%20,%20", "a%2Fb", "a%00b", "1,.,2"] {
        let (status, body) = http.get(Some(&alice), &format!("/chatgroups/{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "illegal_argument", "{bad}");
    }
}

#[tokio::test]
async fn room_details_are_open_to_every_user() {
    each_backend(room_details_are_open_to_every_user_on).await;
}

async fn room_details_are_open_to_every_user_on() {
    let server = server().await;
    let http = Http::new(&server);
    let bob = http.login("bob", "pw-bob").await;
    let (status, body) = http.get(Some(&bob), &format!("/chatrooms/{ROOM}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"][0]["name"], "lobby");
    assert_eq!(body["data"][0]["description"], "say hi");
    assert!(body["data"][0]["maxusers"].is_i64());
    let (_, body) = http.get(Some(&bob), &format!("/chatrooms/{TEAM}")).await;
    assert_eq!(body["data"], json!([]), "a group is not a room");
    let (status, _) = http.get(None, &format!("/chatrooms/{ROOM}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = http.get(Some(&bob), "/chatrooms/a%2Fb").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------------------------------
// roam's client against the embedded server
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_client_reads_nicknames_group_names_and_room_names() {
    each_backend(the_client_reads_nicknames_group_names_and_room_names_on).await;
}

async fn the_client_reads_nicknames_group_names_and_room_names_on() {
    let server = server().await;
    let alice = client(&server, "alice", "pw-alice");
    let nicknames = alice
        .nicknames(&strings(&[
            "li.wei",
            "TANAKA.YUKI",
            "bob",
            "omar.haddad",
            "bad id",
        ]))
        .await
        .expect("nicknames");
    assert_eq!(nicknames.len(), 3, "{nicknames:?}");
    assert_eq!(nicknames["tanaka.yuki"], "田中ゆき");
    assert_eq!(nicknames["omar.haddad"], "Omar Haddad");
    let groups = alice
        .group_names(&strings(&[TEAM, BOBS]))
        .await
        .expect("groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[TEAM], "roam team");
    let rooms = alice
        .room_names(&strings(&[ROOM, "404"]))
        .await
        .expect("rooms");
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[ROOM], "lobby");
    let hostile = alice
        .nicknames(&strings(&["mallory"]))
        .await
        .expect("hostile");
    assert_eq!(
        hostile["mallory"], HOSTILE,
        "kept as sent, cleaned only on screen"
    );
}

#[tokio::test]
async fn the_client_batches_users_by_one_hundred() {
    // 250 users with nicknames: three calls, and the server refuses more than 100 per call.
    let mut users = Vec::new();
    for i in 0..250 {
        users.push(json!({"name": format!("user{i}"), "nickname": format!("User {i}")}));
    }
    users.push(json!({"name": "alice", "password": "pw-alice"}));
    let mut store = Store::open_in_memory().expect("store");
    store
        .apply_state(&StateFile::parse(&json!({ "users": users }).to_string()).expect("state"))
        .expect("applies");
    let pool = Arc::new(StorePool::single(store));
    let server = spawn(pool, ServerConfig::new(APPKEY), None)
        .await
        .expect("server");
    let alice = client(&server, "alice", "pw-alice");
    let asked: Vec<String> = (0..250).map(|i| format!("user{i}")).collect();
    let names = alice.nicknames(&asked).await.expect("nicknames");
    assert_eq!(names.len(), 250);
    assert_eq!(names["user249"], "User 249");
    let groups: Vec<String> = (0..250).map(|i| format!("{}", 1_000 + i)).collect();
    assert!(alice.group_names(&groups).await.expect("groups").is_empty());
}

// ---------------------------------------------------------------------------------------
// roam's client against a hostile server
// ---------------------------------------------------------------------------------------

/// A server that answers every name call with `body` (and the token call with a token).
async fn hostile_server(body: Value) -> String {
    use axum::Router;
    use axum::routing::{get, post};
    let token = json!({"access_token": "t", "expires_in": 3600});
    let answer = move || {
        let body = body.clone();
        async move { axum::Json(body) }
    };
    let app = Router::new()
        .route(
            "/acme/chatapp/token",
            post(move || {
                let token = token.clone();
                async move { axum::Json(token) }
            }),
        )
        .route("/acme/chatapp/metadata/user/get", post(answer.clone()))
        .route("/acme/chatapp/chatgroups/{ids}", get(answer.clone()))
        .route("/acme/chatapp/chatrooms/{id}", get(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn hostile_client(body: Value) -> Client {
    let base = hostile_server(body).await;
    Client::new(ClientConfig::new(
        base,
        APPKEY,
        "alice",
        Credential::Password("pw".into()),
    ))
    .expect("client")
}

fn malformed(result: Result<roam::client::NameMap, ClientError>) -> String {
    match result {
        Err(e @ ClientError::Malformed { .. }) => e.to_string(),
        other => panic!("expected a malformed answer, got {other:?}"),
    }
}

#[tokio::test]
async fn hostile_answers_are_clear_errors_or_inert() {
    let asked = strings(&["li.wei", "bob"]);
    let c = hostile_client(json!({"data": ["not", "an", "object"]})).await;
    assert!(malformed(c.nicknames(&asked).await).contains("not an object"));
    let c = hostile_client(json!({"data": {"li.wei": 7}})).await;
    assert!(malformed(c.nicknames(&asked).await).contains("li.wei"));
    let many: serde_json::Map<String, Value> = (0..5)
        .map(|i| (format!("u{i}"), json!({"nickname": "x"})))
        .collect();
    let c = hostile_client(json!({ "data": many })).await;
    assert!(malformed(c.nicknames(&asked).await).contains("5 users"));
    let c = hostile_client(json!({"data": {"group": "no list"}})).await;
    assert!(malformed(c.group_names(&asked).await).contains("not a list"));
    let c = hostile_client(json!({"data": [{"name": "no id"}]})).await;
    assert!(malformed(c.room_names(&asked).await).contains("no id"));
    let c = hostile_client(json!({"data": [{"id": "a"}, {"id": "b"}]})).await;
    assert!(malformed(c.room_names(&asked).await).contains("2 entries"));
    // Names nobody asked for are ignored, odd ones are no name, huge ones are cut.
    let huge = "名".repeat(MAX_NAME_CHARS * 100);
    let c = hostile_client(json!({"data": {
        "li.wei": {"nickname": huge}, "bob": {"nickname": 3}, "eve": {"nickname": "Eve"}
    }}))
    .await;
    let names = c
        .nicknames(&strings(&["li.wei", "bob", "carol"]))
        .await
        .expect("inert");
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(names["li.wei"].chars().count(), MAX_NAME_CHARS);
    let c = hostile_client(
        json!({"data": [{"id": "LI.WEI", "name": HOSTILE}, {"id": "x", "name": "X"}]}),
    )
    .await;
    let names = c.group_names(&asked).await.expect("inert");
    assert_eq!(names.len(), 1);
    assert_eq!(names["li.wei"], HOSTILE);
}
