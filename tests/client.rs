//! The client against small axum mock servers on 127.0.0.1: request shapes, paging,
//! decoding, retries, timeouts, limits and secrecy. Each mock records every request so
//! tests can count calls and read exactly what the client sent.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;
use roam::client::{Client, ClientConfig, ClientError, Credential};
use roam::protocol::pb::{MessageBody, Meta, message_body, meta};
use roam::protocol::{ChatType, Direction, HistoryFilters, HistoryQuery, Message, encode_entry};
use serde_json::{Value, json};

const APPKEY: &str = "acme#chatapp";
const PREFIX: &str = "/acme/chatapp/";
const TOKEN: &str = "tok-SECRET-4f9a";
const PASSWORD: &str = "pw-SECRET-77";

/// One request as the mock saw it.
#[derive(Clone, Debug)]
struct Req {
    method: String,
    /// Path below `/acme/chatapp/`.
    path: String,
    query: String,
    auth: Option<String>,
    body: Value,
}

impl Req {
    fn param(&self, name: &str) -> Option<String> {
        // Decode as a form so tests see the value the client meant, not its encoding.
        url_pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("utf8")
}

/// What the mock answers.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    /// `Some` = one body with a Content-Length; `None` = the chunks, streamed.
    body: Option<Vec<u8>>,
    chunks: Vec<Vec<u8>>,
    delay: Duration,
}

impl Reply {
    fn json(status: u16, value: Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: Some(value.to_string().into_bytes()),
            chunks: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    fn ok(data: Value) -> Reply {
        Reply::json(
            200,
            json!({"action": "get", "timestamp": 1, "duration": 0, "data": data}),
        )
    }

    fn error(status: u16, code: &str, description: &str) -> Reply {
        Reply::json(
            status,
            json!({"error": code, "exception": "x", "timestamp": 1, "duration": 0,
                   "error_description": description}),
        )
    }

    fn text(status: u16, text: &str) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "text/html".into())],
            body: Some(text.as_bytes().to_vec()),
            chunks: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

type Responder = dyn Fn(&Req, usize) -> Reply + Send + Sync;

#[derive(Clone)]
struct Mock {
    log: Arc<Mutex<Vec<Req>>>,
    respond: Arc<Responder>,
}

impl Mock {
    fn requests(&self) -> Vec<Req> {
        self.log.lock().expect("log").clone()
    }

    /// Requests whose path ends with `suffix`.
    fn calls(&self, suffix: &str) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with(suffix))
            .collect()
    }
}

async fn handle(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let req = Req {
        method: method.to_string(),
        path: path.strip_prefix(PREFIX).unwrap_or(path).to_string(),
        query: uri.query().unwrap_or("").to_string(),
        auth: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let earlier = {
        let mut log = mock.log.lock().expect("log");
        let earlier = log.iter().filter(|r| r.path == req.path).count();
        log.push(req.clone());
        earlier
    };
    let reply = (mock.respond)(&req, earlier);
    tokio::time::sleep(reply.delay).await;
    let mut builder = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        builder = builder.header(*name, value);
    }
    let body = match reply.body {
        Some(bytes) => Body::from(bytes),
        None => Body::from_stream(futures::stream::iter(
            reply
                .chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
        )),
    };
    builder.body(body).expect("response")
}

/// Starts a mock on 127.0.0.1 and returns its base URL.
async fn start(respond: impl Fn(&Req, usize) -> Reply + Send + Sync + 'static) -> (String, Mock) {
    let mock = Mock {
        log: Arc::new(Mutex::new(Vec::new())),
        respond: Arc::new(respond),
    };
    let app = Router::new().fallback(handle).with_state(mock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), mock)
}

fn config(base: &str, user: &str, credential: Credential) -> ClientConfig {
    let mut config = ClientConfig::new(base, APPKEY, user, credential);
    config.read_timeout = Duration::from_secs(5);
    config.retry_base_delay = Duration::from_millis(20);
    config
}

fn token_client(base: &str) -> Client {
    Client::new(config(base, "alice", Credential::Token(TOKEN.into()))).expect("client")
}

fn password_client(base: &str, user: &str) -> Client {
    Client::new(config(base, user, Credential::Password(PASSWORD.into()))).expect("client")
}

fn token_reply(token: &str) -> Reply {
    Reply::json(
        200,
        json!({"access_token": token, "expires_in": 3600,
               "user": {"uuid": "u1", "type": "user", "created": 1, "modified": 1,
                        "username": "alice", "activated": true}}),
    )
}

fn text_message(id: u64, from: &str, to: &str, kind: ChatType, body: &str) -> Message {
    let time = 1_700_000_000_000 + (id % 1_000_000) as i64;
    common::text(id, time, from, to, kind, body)
}

fn entry(message: &Message) -> Value {
    json!({"msg": encode_entry(message, APPKEY)})
}

/// A READ_ACK event entry: a history entry that is not a message.
fn read_ack_entry() -> Value {
    let body = MessageBody {
        r#type: Some(message_body::Type::ReadAck as i32),
        ack_message_id: Some(5),
        ..MessageBody::default()
    };
    let meta = Meta {
        id: Some(99),
        timestamp: Some(1),
        ns: Some(meta::NameSpace::Chat as i32),
        payload: Some(body.encode_to_vec()),
        ..Meta::default()
    };
    json!({"msg": STANDARD.encode(meta.encode_to_vec())})
}

fn cursor_entry(id: &str, kind: &str, pinned: bool) -> Value {
    json!({"session_to": id, "session_type": kind, "is_top": pinned, "unread_num": 1,
           "marks": [], "meta": {}})
}

fn group_query(cursor: Option<&str>) -> HistoryQuery {
    HistoryQuery {
        conversation: "Team1".into(),
        kind: ChatType::Group,
        cursor: cursor.map(str::to_string),
        page_size: 30,
        direction: Direction::Up,
        filters: HistoryFilters {
            types: vec!["txt".into(), "img".into()],
            sender: Some("Carol".into()),
            start_time: Some(100),
            end_time: Some(200),
        },
    }
}

// ---------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn login_exchanges_the_password_and_sends_the_token() {
    let (base, mock) = start(|req, _| match req.path.as_str() {
        "token" => token_reply(TOKEN),
        _ => Reply::ok(json!({"channel_infos": []})),
    })
    .await;
    let client = password_client(&base, "Alice");
    assert!(client.user_was_lowercased());
    client.login().await.expect("login");
    let login = &mock.calls("token")[0];
    assert_eq!(login.method, "POST");
    assert_eq!(login.auth, None, "the token call carries no auth header");
    assert_eq!(login.body["grant_type"], "password");
    assert_eq!(login.body["username"], "alice");
    assert_eq!(login.body["password"], PASSWORD);
    assert!(login.body["timestamp"].as_i64().is_some_and(|t| t > 0));

    client.legacy_conversations().await.expect("list");
    let list = &mock.calls("user_channels")[0];
    assert_eq!(
        list.auth.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(mock.calls("token").len(), 1, "logged in once");
}

#[tokio::test]
async fn the_first_call_logs_in_when_nobody_did() {
    let (base, mock) = start(|req, _| match req.path.as_str() {
        "token" => token_reply(TOKEN),
        _ => Reply::ok(json!({"channel_infos": []})),
    })
    .await;
    let client = password_client(&base, "alice");
    client.legacy_conversations().await.expect("list");
    assert_eq!(mock.calls("token").len(), 1);
    assert_eq!(
        mock.calls("user_channels")[0].auth.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn invalid_grant_surfaces_the_servers_description() {
    let (base, mock) =
        start(|_, _| Reply::error(400, "invalid_grant", "invalid username or password")).await;
    let client = password_client(&base, "alice");
    let err = client.login().await.expect_err("refused");
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.server_code(), Some("invalid_grant"));
    assert!(
        err.description()
            .starts_with("invalid username or password"),
        "{}",
        err.description()
    );
    assert!(err.to_string().contains("invalid username or password"));
    assert_eq!(mock.requests().len(), 1, "400 is not retried");
}

// ---------------------------------------------------------------------------------------
// Conversation lists
// ---------------------------------------------------------------------------------------

const ODD_CURSOR: &str = "c 2+/=&x";

#[tokio::test]
async fn the_cursor_list_pages_until_the_cursor_is_empty() {
    let (base, mock) = start(|req, _| {
        let cursor = req.param("cursor").unwrap_or_default();
        match cursor.as_str() {
            "" => Reply::ok(json!({"cursor": "c1",
                "channel_infos": [cursor_entry("bob", "chat", true), cursor_entry("g1", "groupchat", false)]})),
            "c1" => Reply::ok(json!({"cursor": ODD_CURSOR,
                "channel_infos": [cursor_entry("carol", "chat", false)]})),
            c if c == ODD_CURSOR => Reply::ok(json!({"cursor": "",
                "channel_infos": [cursor_entry("dave", "chat", false)]})),
            other => Reply::error(400, "illegal_argument", &format!("bad cursor {other}")),
        }
    })
    .await;
    let client = token_client(&base);
    let all = client.conversations().await.expect("all pages");
    let ids: Vec<_> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["bob", "g1", "carol", "dave"]);
    assert!(all[0].pinned);
    assert_eq!(all[1].kind, ChatType::Group);

    let calls = mock.calls("user_channels/list");
    assert_eq!(calls.len(), 3);
    for call in &calls {
        assert_eq!(call.path, "sdk/user/alice/user_channels/list");
        assert_eq!(call.param("limit").as_deref(), Some("50"));
        assert_eq!(call.param("need_mark").as_deref(), Some("true"));
        assert_eq!(call.param("needEmptySession").as_deref(), Some("false"));
        assert_eq!(call.param("is_top"), None);
    }
    // The odd cursor arrived as one value: it was encoded.
    assert_eq!(calls[2].param("cursor").as_deref(), Some(ODD_CURSOR));
    assert!(!calls[2].query.contains("&x"), "{}", calls[2].query);

    let page = client.conversation_page("c1", 7).await.expect("page");
    assert_eq!(page.next_cursor.as_deref(), Some(ODD_CURSOR));
    assert_eq!(page.conversations.len(), 1);
    let pinned = client
        .pinned_conversation_page("", 5)
        .await
        .expect("pinned");
    assert_eq!(pinned.next_cursor.as_deref(), Some("c1"));
    let last = mock.requests().pop().expect("request");
    assert_eq!(last.param("is_top").as_deref(), Some("true"));
    assert_eq!(last.param("limit").as_deref(), Some("5"));

    let err = client.conversation_page("", 51).await.expect_err("limit");
    assert!(matches!(err, ClientError::InvalidArgument(_)));
}

#[tokio::test]
async fn a_repeated_list_cursor_stops_with_an_error() {
    let (base, mock) = start(|req, _| {
        let next = if req.param("cursor").unwrap_or_default() == "a" {
            "b"
        } else {
            "a"
        };
        Reply::ok(json!({"cursor": next, "channel_infos": [cursor_entry("bob", "chat", false)]}))
    })
    .await;
    let client = token_client(&base);
    let err = client.conversations().await.expect_err("loop");
    assert!(matches!(err, ClientError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("repeated"), "{err}");
    assert_eq!(mock.requests().len(), 3, "\"\" -> a -> b -> a stops");
}

fn legacy_entry(channel_id: &str) -> Value {
    let payload = json!({"bodies": [{"type": "txt", "msg": "hi"}], "ext": {},
                         "from": "bob", "to": "alice", "type": "chat"});
    json!({"channel_id": channel_id, "unread_num": 2,
           "meta": {"id": "1234567890123456789", "from": "acme#chatapp_bob@easemob.com/web",
                    "to": "acme#chatapp_alice@easemob.com", "timestamp": 1716999999000u64,
                    "payload": payload.to_string()}})
}

#[tokio::test]
async fn legacy_lists_are_read_and_paged() {
    let (base, mock) = start(|req, _| match req.path.as_str() {
        "users/alice/user_channels" => Reply::ok(json!({"channel_infos": [
            legacy_entry("acme#chatapp_bob@easemob.com"),
            legacy_entry("acme#chatapp_g_1@conference.easemob.com"),
            legacy_entry("@@"),
        ]})),
        "users/alice/user_channels/page" => Reply::ok(json!({"channel_infos": [
            legacy_entry("acme#chatapp_carol@easemob.com"),
        ]})),
        _ => Reply::error(404, "service_resource_not_found", "no such path"),
    })
    .await;
    let client = token_client(&base);
    let list = client.legacy_conversations().await.expect("legacy");
    assert_eq!(list.len(), 2, "the unreadable channel id is skipped");
    assert_eq!(list[0].id, "bob");
    assert_eq!(list[0].kind, ChatType::Single);
    assert_eq!(list[0].unread, 2);
    let last = list[0].last_message.as_ref().expect("last message");
    assert_eq!(last.id, 1_234_567_890_123_456_789);
    assert_eq!(list[1].id, "g_1");
    assert_eq!(list[1].kind, ChatType::Group);

    let page = client.legacy_conversation_page(2, 10).await.expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, "carol");
    let call = mock.calls("user_channels/page").pop().expect("call");
    assert_eq!(call.param("pageNum").as_deref(), Some("2"));
    assert_eq!(call.param("pageSize").as_deref(), Some("10"));

    assert!(client.legacy_conversation_page(0, 10).await.is_err());
    assert!(client.legacy_conversation_page(1, 21).await.is_err());
    assert_eq!(mock.requests().len(), 2, "bad arguments make no request");
}

// ---------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn history_sends_exactly_the_documented_fields_and_decodes_the_page() {
    let m1 = text_message(
        12_345_678_901_234_567_890,
        "carol",
        "team1",
        ChatType::Group,
        "newest",
    );
    let m2 = text_message(
        12_345_678_901_234_567_000,
        "carol",
        "team1",
        ChatType::Group,
        "older",
    );
    let entries = vec![
        entry(&m1),
        read_ack_entry(),
        json!({"msg": "%%% not base64"}),
        entry(&m2),
    ];
    let (base, mock) = start(move |req, _| {
        if req.body["start"] == json!(-1) {
            Reply::ok(
                json!({"msgs": entries, "next_key": "12345678901234566000", "is_last": false}),
            )
        } else {
            Reply::ok(json!({"msgs": [], "next_key": "", "is_last": true}))
        }
    })
    .await;
    let client = token_client(&base);
    let page = client.history(&group_query(None)).await.expect("page");

    let call = &mock.calls("messageroaming")[0];
    assert_eq!(call.method, "POST");
    assert_eq!(call.path, "users/alice/messageroaming");
    assert_eq!(
        call.body,
        json!({
            "queue": "team1@conference.easemob.com",
            "start": -1,
            "end": -1,
            "pull_number": 30,
            "is_positive": false,
            "msgType": "txt,img",
            "startTime": 100,
            "endTime": 200,
            "userId": "carol",
        })
    );
    assert_eq!(
        page.messages,
        vec![m1, m2],
        "the event and the bad entry are skipped"
    );
    assert_eq!(client.undecodable_entries(), 1);
    assert!(!page.is_last);
    assert_eq!(page.next_cursor.as_deref(), Some("12345678901234566000"));

    let page2 = client
        .history(&group_query(page.next_cursor.as_deref()))
        .await
        .expect("page 2");
    assert_eq!(
        mock.calls("messageroaming")[1].body["start"],
        "12345678901234566000"
    );
    assert!(page2.is_last);
    assert_eq!(page2.next_cursor, None);
}

#[tokio::test]
async fn single_chat_history_has_null_filters_and_goes_down_when_asked() {
    let (base, mock) =
        start(|_, _| Reply::ok(json!({"msgs": [], "next_key": "", "is_last": true}))).await;
    let client = token_client(&base);
    let query = HistoryQuery {
        conversation: "BOB".into(),
        kind: ChatType::Single,
        cursor: None,
        page_size: 50,
        direction: Direction::Down,
        filters: HistoryFilters {
            sender: Some("bob".into()),
            ..HistoryFilters::default()
        },
    };
    let page = client.history(&query).await.expect("page");
    assert!(page.is_last && page.next_cursor.is_none() && page.messages.is_empty());
    assert_eq!(
        mock.requests()[0].body,
        json!({"queue": "bob@easemob.com", "start": -1, "end": -1, "pull_number": 50,
               "is_positive": true, "msgType": "", "startTime": null, "endTime": null,
               "userId": null})
    );
    let mut bad = query.clone();
    bad.page_size = 0;
    assert!(matches!(
        client.history(&bad).await,
        Err(ClientError::InvalidArgument(_))
    ));
    bad.page_size = 10;
    bad.conversation = "../x".into();
    assert!(matches!(
        client.history(&bad).await,
        Err(ClientError::InvalidArgument(_))
    ));
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn history_pages_on_is_last_not_on_the_count() {
    // A short page that is not last, then a page without next_key that says it is not last.
    let m = text_message(7, "bob", "alice", ChatType::Single, "x");
    let (base, _mock) = start(move |req, _| {
        if req.body["start"] == json!(-1) {
            Reply::ok(json!({"msgs": [entry(&m)], "next_key": "6", "is_last": false}))
        } else {
            Reply::ok(json!({"msgs": [], "next_key": "", "is_last": false}))
        }
    })
    .await;
    let client = token_client(&base);
    let mut query = group_query(None);
    query.kind = ChatType::Single;
    query.conversation = "bob".into();
    let page = client.history(&query).await.expect("page");
    assert_eq!(page.messages.len(), 1);
    assert!(!page.is_last, "fewer than asked is not the end");
    query.cursor = page.next_cursor;
    let page = client.history(&query).await.expect("page 2");
    assert!(page.is_last, "no next_key: nowhere further to go");
    assert_eq!(page.next_cursor, None);
}

#[tokio::test]
async fn a_history_cursor_that_does_not_move_is_an_error() {
    let (base, _mock) =
        start(|_, _| Reply::ok(json!({"msgs": [], "next_key": "5", "is_last": false}))).await;
    let client = token_client(&base);
    let err = client
        .history(&group_query(Some("5")))
        .await
        .expect_err("stuck cursor");
    assert!(matches!(err, ClientError::Malformed { .. }), "{err:?}");
}

/// A history of ids 1..=45 in `bob`'s chat, served newest first in pages of 20 with the
/// embedded server's cursor rule (next_key = first id of the next page).
fn legacy_history(req: &Req) -> Reply {
    let start = match &req.body["start"] {
        Value::String(s) => s.parse::<u64>().expect("cursor"),
        _ => 45,
    };
    let ids: Vec<u64> = (1..=start).rev().take(20).collect();
    let msgs: Vec<Value> = ids
        .iter()
        .map(|&id| entry(&text_message(id, "bob", "alice", ChatType::Single, "m")))
        .collect();
    let next = ids.last().copied().unwrap_or(1) - 1;
    if next == 0 {
        Reply::ok(json!({"msgs": msgs, "next_key": "", "is_last": true}))
    } else {
        Reply::ok(json!({"msgs": msgs, "next_key": next.to_string(), "is_last": false}))
    }
}

#[tokio::test]
async fn fetch_history_loops_returns_oldest_first_and_continues_from_its_cache() {
    let (base, mock) = start(|req, _| legacy_history(req)).await;
    let client = token_client(&base);
    let ids = |messages: Vec<Message>| messages.iter().map(|m| m.id).collect::<Vec<_>>();

    let first = client
        .fetch_history("Bob", ChatType::Single, 25)
        .await
        .expect("first");
    assert_eq!(ids(first), (21..=45).collect::<Vec<_>>());
    let calls = mock.calls("messageroaming");
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].body,
        json!({"queue": "bob@easemob.com", "start": -1, "end": -1}),
        "the legacy call sends only queue, start and end"
    );
    assert_eq!(
        calls[1].body,
        json!({"queue": "bob@easemob.com", "start": "25", "end": -1})
    );

    let second = client
        .fetch_history("bob", ChatType::Single, 25)
        .await
        .expect("second");
    assert_eq!(
        ids(second),
        (1..=20).collect::<Vec<_>>(),
        "no message skipped"
    );
    assert_eq!(mock.calls("messageroaming").len(), 3);

    let third = client
        .fetch_history("bob", ChatType::Single, 25)
        .await
        .expect("third");
    assert!(third.is_empty());
    assert_eq!(
        mock.calls("messageroaming").len(),
        3,
        "nothing asked after is_last"
    );

    client.reset_history_cursor("BOB").await;
    let again = client
        .fetch_history("bob", ChatType::Single, 5)
        .await
        .expect("after reset");
    assert_eq!(ids(again), (41..=45).collect::<Vec<_>>());
    assert_eq!(mock.calls("messageroaming")[3].body["start"], json!(-1));

    client.reset_all_history_cursors().await;
    let again = client
        .fetch_history("bob", ChatType::Single, 1)
        .await
        .expect("after reset all");
    assert_eq!(ids(again), vec![45]);
}

#[tokio::test]
async fn ids_are_lowercased_in_paths_and_bodies() {
    let (base, mock) = start(|req, _| match req.path.as_str() {
        "token" => token_reply(TOKEN),
        p if p.ends_with("messageroaming") => {
            Reply::ok(json!({"msgs": [], "next_key": "", "is_last": true}))
        }
        p if p.ends_with("list") => Reply::ok(json!({"cursor": "", "channel_infos": []})),
        _ => Reply::ok(json!({"channel_infos": []})),
    })
    .await;
    let client = password_client(&base, "Alice.Smith");
    assert_eq!(client.user(), "alice.smith");
    client.conversations().await.expect("list");
    client.legacy_conversations().await.expect("legacy");
    client.history(&group_query(None)).await.expect("history");
    let paths: Vec<_> = mock.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "token",
            "sdk/user/alice.smith/user_channels/list",
            "users/alice.smith/user_channels",
            "users/alice.smith/messageroaming",
        ]
    );
    assert_eq!(mock.calls("token")[0].body["username"], "alice.smith");
    let history = &mock.calls("messageroaming")[0];
    assert_eq!(history.body["queue"], "team1@conference.easemob.com");
    assert_eq!(history.body["userId"], "carol");
}

// ---------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------

fn empty_list() -> Reply {
    Reply::ok(json!({"channel_infos": []}))
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_wait() {
    let (base, mock) = start(|_, n| {
        if n == 0 {
            Reply::error(429, "reach_limit", "This request has reached api limit")
                .header("retry-after", "1")
        } else {
            empty_list()
        }
    })
    .await;
    let client = token_client(&base);
    let started = Instant::now();
    client
        .legacy_conversations()
        .await
        .expect("second try succeeds");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn a_503_three_times_gives_up_after_three_calls() {
    let (base, mock) = start(|_, _| Reply::error(503, "", "server busy")).await;
    let client = token_client(&base);
    let err = client.legacy_conversations().await.expect_err("busy");
    assert_eq!(err.status(), Some(503));
    assert!(err.description().contains("server busy"));
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let (base, mock) = start(|_, n| {
        if n == 0 {
            let when = SystemTime::now() + Duration::from_secs(2);
            Reply::error(503, "", "busy").header("retry-after", httpdate::fmt_http_date(when))
        } else {
            empty_list()
        }
    })
    .await;
    let client = token_client(&base);
    let started = Instant::now();
    client.legacy_conversations().await.expect("retried");
    // The date has whole seconds: the wait is between 1 and 2 s.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn a_500_is_not_retried() {
    let (base, mock) =
        start(|_, _| Reply::text(500, "<html><body>\nInternal\x1b[31m error\n</body></html>"))
            .await;
    let client = token_client(&base);
    let err = client.legacy_conversations().await.expect_err("500");
    assert_eq!(err.status(), Some(500));
    assert_eq!(mock.requests().len(), 1);
    // A non-JSON error body still gives the status and a short, inert excerpt.
    let text = err.to_string();
    assert!(text.contains("HTTP 500"), "{text}");
    assert!(text.contains("Internal"), "{text}");
    assert!(!text.contains('\x1b') && !text.contains('\n'), "{text:?}");
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let (base, mock) =
        start(|_, _| Reply::error(400, "illegal_argument", "pull_number out of range")).await;
    let client = token_client(&base);
    let err = client.history(&group_query(None)).await.expect_err("400");
    assert_eq!(err.server_code(), Some("illegal_argument"));
    assert_eq!(
        err.description(),
        "pull_number out of range (HTTP 400 illegal_argument)"
    );
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn a_401_logs_in_again_once_and_repeats_the_call() {
    let (base, mock) = start(|req, n| match req.path.as_str() {
        // The first login hands out a token the server then refuses.
        "token" => token_reply(if n == 0 { "tok-old" } else { "tok-new" }),
        _ if req.auth.as_deref() == Some("Bearer tok-new") => empty_list(),
        _ => Reply::error(401, "unauthorized", "token expired"),
    })
    .await;
    let client = password_client(&base, "alice");
    client.login().await.expect("login");
    client.legacy_conversations().await.expect("after re-login");
    assert_eq!(mock.calls("token").len(), 2);
    assert_eq!(mock.calls("user_channels").len(), 2);
}

#[tokio::test]
async fn a_401_that_persists_is_reported_after_one_re_login() {
    let (base, mock) = start(|req, _| match req.path.as_str() {
        "token" => token_reply(TOKEN),
        _ => Reply::error(401, "unauthorized", "no"),
    })
    .await;
    let client = password_client(&base, "alice");
    let err = client.legacy_conversations().await.expect_err("401");
    assert_eq!(err.status(), Some(401));
    assert_eq!(mock.calls("token").len(), 2);
    assert_eq!(mock.calls("user_channels").len(), 2);
}

#[tokio::test]
async fn the_login_after_a_401_does_not_use_up_the_busy_tries() {
    // The first token is refused; after the login the list is busy twice, and the third
    // busy try (of three) gets through.
    let (base, mock) = start(|req, n| match req.path.as_str() {
        "token" => token_reply(if n == 0 { "tok-old" } else { "tok-new" }),
        _ if req.auth.as_deref() != Some("Bearer tok-new") => {
            Reply::error(401, "unauthorized", "token expired")
        }
        _ if n < 3 => Reply::error(503, "", "busy"),
        _ => empty_list(),
    })
    .await;
    let client = password_client(&base, "alice");
    client
        .legacy_conversations()
        .await
        .expect("a login and two busy answers still leave a try");
    assert_eq!(mock.calls("token").len(), 2);
    assert_eq!(mock.calls("user_channels").len(), 4);
}

#[tokio::test]
async fn a_401_with_a_token_credential_is_an_error_without_a_loop() {
    let (base, mock) = start(|_, _| Reply::error(401, "auth_bad_access_token", "bad token")).await;
    let client = token_client(&base);
    let err = client.legacy_conversations().await.expect_err("401");
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.server_code(), Some("auth_bad_access_token"));
    assert_eq!(mock.requests().len(), 1);
    assert!(mock.calls("token").is_empty());
}

// ---------------------------------------------------------------------------------------
// Timeouts, limits, malformed answers
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_stalled_server_times_out() {
    let (base, _mock) = start(|_, _| {
        let mut reply = empty_list();
        reply.delay = Duration::from_secs(3);
        reply
    })
    .await;
    let mut config = config(&base, "alice", Credential::Token(TOKEN.into()));
    config.read_timeout = Duration::from_millis(300);
    let client = Client::new(config).expect("client");
    let started = Instant::now();
    let err = client.legacy_conversations().await.expect_err("stall");
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(err.description().contains("did not answer in time"));
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_or_without_a_length() {
    let big = json!({"data": {"channel_infos": [], "pad": "x".repeat(4096)}}).to_string();
    let chunked = big.clone();
    let (base, _mock) = start(move |req, _| {
        if req.path.ends_with("page") {
            Reply {
                status: 200,
                headers: vec![],
                body: None,
                chunks: chunked.as_bytes().chunks(512).map(<[u8]>::to_vec).collect(),
                delay: Duration::ZERO,
            }
        } else {
            Reply::text(200, &big)
        }
    })
    .await;
    let mut config = config(&base, "alice", Credential::Token(TOKEN.into()));
    config.max_response_bytes = 1024;
    let client = Client::new(config).expect("client");
    let err = client.legacy_conversations().await.expect_err("too large");
    assert!(
        matches!(err, ClientError::TooLarge { limit: 1024, .. }),
        "{err:?}"
    );
    let err = client
        .legacy_conversation_page(1, 5)
        .await
        .expect_err("too large, streamed");
    assert!(matches!(err, ClientError::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn a_200_that_is_not_json_or_lacks_data_is_malformed() {
    let (base, _mock) = start(|req, _| {
        if req.path.ends_with("page") {
            Reply::json(200, json!({"action": "get"}))
        } else {
            Reply::text(200, "<html>proxy login</html>")
        }
    })
    .await;
    let client = token_client(&base);
    let err = client.legacy_conversations().await.expect_err("not json");
    assert!(matches!(err, ClientError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("proxy login"), "{err}");
    let err = client
        .legacy_conversation_page(1, 5)
        .await
        .expect_err("no data");
    assert!(matches!(err, ClientError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("data"), "{err}");
}

#[tokio::test]
async fn a_204_is_an_error() {
    let (base, _mock) = start(|_, _| Reply::text(204, "")).await;
    let client = token_client(&base);
    let err = client.legacy_conversations().await.expect_err("204");
    assert_eq!(err.status(), Some(204));
    assert!(
        err.description().contains("only 200"),
        "{}",
        err.description()
    );
}

#[tokio::test]
async fn a_closed_port_is_a_quick_connect_error_naming_the_address() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let client = token_client(&format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    let err = client.legacy_conversations().await.expect_err("refused");
    assert!(started.elapsed() < Duration::from_secs(2));
    match &err {
        ClientError::Connect { addr, .. } => assert_eq!(addr, &format!("127.0.0.1:{port}")),
        other => panic!("expected a connect error, got {other:?}"),
    }
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")));
}

// ---------------------------------------------------------------------------------------
// Secrecy
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn secrets_never_appear_in_errors_or_debug_even_when_the_server_echoes_them() {
    let (base, _mock) = start(|req, _| {
        let echo = format!("{} {}", req.auth.clone().unwrap_or_default(), req.body);
        match req.path.as_str() {
            "token" if req.body["username"] == "bob" => Reply::error(400, "invalid_grant", &echo),
            "token" => token_reply(TOKEN),
            p if p.ends_with("page") => Reply::text(502, &echo),
            p if p.ends_with("messageroaming") => Reply::text(200, &echo),
            _ => Reply::error(403, &echo, &echo),
        }
    })
    .await;
    let mut errors = Vec::new();
    let bob = password_client(&base, "bob");
    errors.push(bob.login().await.expect_err("refused"));
    let alice = password_client(&base, "alice");
    errors.push(alice.legacy_conversations().await.expect_err("403"));
    errors.push(alice.legacy_conversation_page(1, 3).await.expect_err("502"));
    errors.push(
        alice
            .history(&group_query(None))
            .await
            .expect_err("not json"),
    );
    for err in &errors {
        for text in [err.to_string(), format!("{err:?}"), err.description()] {
            assert!(!text.contains(TOKEN), "token leaked: {text}");
            assert!(!text.contains(PASSWORD), "password leaked: {text}");
        }
    }
    // The echo did reach the errors, redacted.
    assert!(
        errors[1].to_string().contains("<redacted>"),
        "{}",
        errors[1]
    );
    let debug = format!("{alice:?}");
    assert!(
        !debug.contains(TOKEN) && !debug.contains(PASSWORD),
        "{debug}"
    );
    let token = alice.current_token().await.expect("token");
    assert!(!format!("{token:?} {token}").contains(TOKEN));
    assert_eq!(token.expose(), TOKEN);
}

/// The fetch task runs the client on a multi-threaded runtime: its futures must be `Send`
/// and the client shareable. This fails to compile otherwise.
#[test]
fn the_client_and_its_futures_can_cross_threads() {
    fn send<T: Send>(_: &T) {}
    fn shared<T: Send + Sync>() {}
    shared::<Client>();
    let client = token_client("http://127.0.0.1:9");
    let query = group_query(None);
    send(&client.login());
    send(&client.conversations());
    send(&client.conversation_page("", 20));
    send(&client.legacy_conversations());
    send(&client.history(&query));
    send(&client.fetch_history("bob", ChatType::Single, 20));
    send(&client.reset_history_cursor("bob"));
}

// ---------------------------------------------------------------------------------------
// Hostile servers: every paging loop ends, and says why
// ---------------------------------------------------------------------------------------

/// An empty history page that is never the last, with a new cursor each time.
fn endless_empty_history(_: &Req, earlier: usize) -> Reply {
    Reply::ok(json!({"msgs": [], "next_key": format!("k{earlier}"), "is_last": false}))
}

/// Runs a future that must end, failing the test instead of hanging when it does not.
async fn must_end<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("the client kept paging")
}

#[tokio::test]
async fn fetch_history_stops_on_empty_pages_whose_cursor_keeps_changing() {
    let (base, mock) = start(endless_empty_history).await;
    let client = token_client(&base);
    let err = must_end(client.fetch_history("bob", ChatType::Single, 20))
        .await
        .expect_err("no end");
    assert!(matches!(err, ClientError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("empty but not the last"), "{err}");
    assert_eq!(mock.calls("messageroaming").len(), 20);
}

#[tokio::test]
async fn fetch_history_stops_on_a_cursor_cycle_longer_than_one_page() {
    let m = text_message(7, "bob", "alice", ChatType::Single, "x");
    let (base, mock) = start(move |_, earlier| {
        let next = ["a", "b", "c"][earlier % 3];
        Reply::ok(json!({"msgs": [entry(&m)], "next_key": next, "is_last": false}))
    })
    .await;
    let client = token_client(&base);
    let err = must_end(client.fetch_history("bob", ChatType::Single, 1000))
        .await
        .expect_err("cycle");
    assert!(err.to_string().contains("repeated a cursor"), "{err}");
    assert_eq!(mock.calls("messageroaming").len(), 4, "a, b, c, a stops");
}

#[tokio::test]
async fn the_conversation_list_stops_on_empty_pages_and_on_a_cursor_that_never_ends() {
    let (base, mock) = start(|_, earlier| {
        Reply::ok(json!({"cursor": format!("e{earlier}"), "channel_infos": []}))
    })
    .await;
    let err = must_end(token_client(&base).conversations())
        .await
        .expect_err("empty pages");
    assert!(err.to_string().contains("empty but not the last"), "{err}");
    assert_eq!(mock.requests().len(), 10);

    let (base, mock) = start(|_, earlier| {
        Reply::ok(json!({"cursor": format!("n{earlier}"),
                         "channel_infos": [cursor_entry(&format!("u{earlier}"), "chat", false)]}))
    })
    .await;
    let err = must_end(token_client(&base).conversations())
        .await
        .expect_err("no end");
    assert!(err.to_string().contains("no end after 200 pages"), "{err}");
    assert_eq!(mock.requests().len(), 200);
}

#[tokio::test]
async fn the_browser_stops_loading_a_list_whose_cursor_never_ends() {
    use roam::tui::app::{App, Effect, FetchRequest};
    let (base, mock) = start(|_, earlier| {
        Reply::ok(json!({"cursor": format!("n{earlier}"),
                         "channel_infos": [cursor_entry(&format!("u{earlier}"), "chat", false)]}))
    })
    .await;
    let mut fetch = roam::tui::fetch::spawn(token_client(&base));
    let mut app = App::new(100, 30, jiff::tz::TimeZone::UTC);
    let mut effects = app.start();
    // The event loop's part, without a terminal: each fetch through the fetch task, its
    // answer fed back.
    let mut answered = 0;
    while let Some(Effect::Fetch(request)) = effects.pop() {
        assert!(
            matches!(request, FetchRequest::ConversationPage { .. }),
            "{request:?}"
        );
        answered += 1;
        assert!(answered <= 1000, "the browser kept paging the list");
        assert!(fetch.send(request));
        let event = fetch.events.recv().await.expect("an answer");
        effects = app.update(event);
    }
    assert_eq!(mock.requests().len(), 200);
    assert!(!app.list_loading());
    assert_eq!(app.conversations().len(), 200, "what came is shown");
    let status = app.status_line();
    assert!(
        status.contains("conversation list incomplete: no end after 200 pages"),
        "{status}"
    );
}

// ----- the `roam` binary against hostile servers ---------------------------------------

/// Runs `roam --api-url BASE ... ARGS` with the token from ROAM_TOKEN, killing it (and
/// failing the test) if it has not ended within a minute.
async fn roam_against(base: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_roam"));
    cmd.args(["--api-url", base, "--appkey", APPKEY, "--user", "alice"])
        .args(args)
        .env("ROAM_TOKEN", TOKEN)
        // No config file: never the person's own.
        .env("ROAM_CONFIG", "/nonexistent/roam-test/config.toml")
        .env_remove("ROAM_PASSWORD")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("roam starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "roam {args:?} kept running",
                    args = cmd.get_args().collect::<Vec<_>>()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("output")
    })
    .await
    .expect("the runner")
}

fn stderr_lines(o: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn cli_history_stops_on_empty_pages_and_says_where_to_go_on() {
    let (base, mock) = start(endless_empty_history).await;
    let o = roam_against(&base, &["history", "bob", "--single", "--limit", "100"]).await;
    assert!(!o.status.success(), "stopped early is a failure");
    assert!(o.stdout.is_empty());
    let err = stderr_lines(&o);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0]
            .starts_with("roam: stopped reading the history of bob: 20 pages in a row were empty")
            && err[0].ends_with("(continue with --cursor k19)"),
        "{err:?}"
    );
    assert_eq!(mock.calls("messageroaming").len(), 20);
}

#[tokio::test]
async fn cli_history_stops_on_a_cursor_cycle() {
    let m = text_message(7, "bob", "alice", ChatType::Single, "x");
    let (base, mock) = start(move |_, earlier| {
        let next = ["a", "b", "c"][earlier % 3];
        Reply::ok(json!({"msgs": [entry(&m)], "next_key": next, "is_last": false}))
    })
    .await;
    let o = roam_against(&base, &["history", "bob", "--single", "--limit", "100"]).await;
    assert!(!o.status.success());
    let err = stderr_lines(&o);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].contains("repeated a cursor"), "{err:?}");
    assert_eq!(mock.calls("messageroaming").len(), 4);
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 4);
}

#[tokio::test]
async fn cli_history_says_how_many_entries_it_could_not_decode() {
    let good = text_message(7, "bob", "alice", ChatType::Single, "x");
    let (base, _mock) = start(move |_, _| {
        Reply::ok(
            json!({"msgs": [entry(&good), {"msg": "%%%"}, {"msg": "AAAA"}],
                         "next_key": "", "is_last": true}),
        )
    })
    .await;
    let o = roam_against(&base, &["history", "bob", "--single"]).await;
    assert!(o.status.success(), "{:?}", stderr_lines(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
    let err = stderr_lines(&o);
    assert!(
        err.contains(&"roam: left out 2 history entries that could not be decoded".to_string()),
        "{err:?}"
    );

    // Nothing decoded: a failure, with the count.
    let (base, _mock) =
        start(|_, _| Reply::ok(json!({"msgs": [{"msg": "%%%"}], "next_key": "", "is_last": true})))
            .await;
    let o = roam_against(&base, &["history", "bob", "--single", "--json"]).await;
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
    assert_eq!(
        stderr_lines(&o),
        [
            "roam: left out 1 history entry that could not be decoded",
            "roam: no history entry of bob could be decoded"
        ]
    );
}
