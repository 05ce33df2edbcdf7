//! roam's own client against roam's own server over real loopback HTTP, for every endpoint;
//! the embedded demo end to end; and the `roam` binary's subcommands.
//!
//! The synthetic database (built in memory) gives alice twelve conversations: bob (301
//! messages with runs of equal timestamps), carol (pinned), the group `team` (pinned, every
//! content kind, three senders), and nine one-message chats `p00`..`p08`. Beside them lie a
//! chat between bob and dave, a group `secret` alice is not in, and the room `lobby`. Ids in
//! the input are partly mixed-case; the client and server must fold them.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::backends::{db_arg, each_backend, fresh_db};
use common::*;
use roam::client::{Client, ClientConfig, ClientError, Credential};
use roam::demo::{
    BIG_CONVERSATION, DEMO_APPKEY, DEMO_PASSWORD, DEMO_USER, DemoHistory, HOSTILE_CONVERSATION,
    ROOM,
};
use roam::protocol::{
    Attachment, ChatType, Content, Conversation, Direction, HistoryFilters, HistoryQuery, Message,
    Size,
};
use roam::server::{ServerConfig, ServerHandle, spawn, spawn_over};
use roam::store::state::StateFile;
use roam::store::{Db, Store, StorePool};
use serde_json::{Map, Value, json};

const APPKEY: &str = "acme#chatapp";
const ALICE_PASSWORD: &str = "pw-alice";
const BOB_PASSWORD: &str = "pw-bob";
/// Messages between alice and bob.
const CHAT_LEN: usize = 301;
/// When alice's chats with p00..p08 happened: newer than bob's, older than the team's.
const PEERS_TIME: i64 = 1_710_000_000_000;
const TEAM_TIME: i64 = 1_750_000_000_000;
const CAROL_TIME: i64 = 1_650_000_000_000;

// ---------------------------------------------------------------------------------------
// The synthetic database
// ---------------------------------------------------------------------------------------

fn file(id: u64, name: &str) -> Attachment {
    Attachment {
        url: format!("https://files.example/chatfiles/{id}"),
        secret: Some(format!("secret-{id}")),
        filename: name.into(),
        file_length: Some(4096 + id % 1000),
    }
}

/// One message of every content kind in the group `TEAM` (spelled mixed-case on purpose),
/// from alice, bob and carol in turn.
fn every_kind() -> Vec<Message> {
    let id = |k: u64| BASE_ID + 50_000 + k;
    let contents = vec![
        Content::Text {
            text: "hello team\nsecond line".into(),
        },
        Content::Image {
            file: file(id(1), "photo.jpg"),
            size: Some(Size {
                width: 640.0,
                height: 480.0,
            }),
            gif: false,
        },
        Content::Image {
            file: file(id(2), "dance.gif"),
            size: Some(Size {
                width: 120.0,
                height: 90.0,
            }),
            gif: true,
        },
        Content::Video {
            file: file(id(3), "clip.mp4"),
            duration: Some(42),
            thumb: Some("https://files.example/thumbs/3".into()),
            thumb_secret: Some("thumb-secret".into()),
            size: Some(Size {
                width: 1280.0,
                height: 720.0,
            }),
        },
        Content::Audio {
            file: file(id(4), "voice.amr"),
            duration: Some(7),
        },
        Content::File {
            file: file(id(5), "report.pdf"),
        },
        Content::Location {
            address: "1 Infinite Loop".into(),
            lat: 37.33182,
            lng: -122.03118,
            building: Some("Building 1".into()),
        },
        Content::Command {
            action: "typing".into(),
        },
        Content::Custom {
            event: "gift".into(),
            exts: Map::from_iter([
                ("name".to_string(), json!("flower")),
                ("count".to_string(), json!("3")),
            ]),
        },
        Content::Combined {
            title: "Chat history".into(),
            summary: "alice: hi\nbob: hello".into(),
            file: file(id(9), "combine.bin"),
            level: Some(1),
            text: "[Chat history]".into(),
        },
    ];
    let senders = ["Alice", "bob", "CAROL"];
    contents
        .into_iter()
        .enumerate()
        .map(|(k, content)| {
            let mut m = text(
                id(k as u64),
                TEAM_TIME + k as i64 * 1000,
                senders[k % 3],
                "TEAM",
                ChatType::Group,
                "",
            );
            m.content = content;
            if k == 0 {
                m.ext = Map::from_iter([
                    ("em_ignore_notification".to_string(), json!(true)),
                    ("priority".to_string(), json!(3)),
                    ("note".to_string(), json!("ext survives")),
                ]);
            }
            m
        })
        .collect()
}

/// Every message of the database, as given to the store (mixed case included).
fn input_messages() -> Vec<Message> {
    // The alice-bob chat with some ids spelled in capitals.
    let mut messages: Vec<Message> = alice_bob(CHAT_LEN)
        .into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            if i % 7 == 0 {
                m.from = capitalize(&m.from);
                m.to = m.to.to_uppercase();
            }
            m
        })
        .collect();
    let single = ChatType::Single;
    for k in 0..5u64 {
        let (from, to) = if k % 2 == 0 {
            ("carol", "alice")
        } else {
            ("alice", "Carol")
        };
        messages.push(text(
            BASE_ID + 20_000 + k,
            CAROL_TIME + k as i64,
            from,
            to,
            single,
            &format!("carol {k}"),
        ));
    }
    for k in 0..9u64 {
        messages.push(text(
            BASE_ID + 30_000 + k,
            PEERS_TIME + k as i64 * 1000,
            &format!("p{k:02}"),
            "alice",
            single,
            &format!("from p{k:02}"),
        ));
    }
    for k in 0..3u64 {
        messages.push(text(
            BASE_ID + 40_000 + k,
            1_720_000_000_000 + k as i64,
            "bob",
            "dave",
            single,
            "between bob and dave",
        ));
    }
    messages.extend(every_kind());
    for k in 0..2u64 {
        messages.push(text(
            BASE_ID + 60_000 + k,
            1_760_000_000_000 + k as i64,
            "dave",
            "secret",
            ChatType::Group,
            "members only",
        ));
    }
    for (k, from) in ["dave", "Eve", "alice", "dave"].iter().enumerate() {
        messages.push(text(
            BASE_ID + 70_000 + k as u64,
            1_770_000_000_000 + k as i64,
            from,
            "Lobby",
            ChatType::Room,
            &format!("room message {k}"),
        ));
    }
    messages
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A message as the store keeps it: ids lowercased.
fn folded(m: &Message) -> Message {
    Message {
        from: m.from.to_ascii_lowercase(),
        to: m.to.to_ascii_lowercase(),
        ..m.clone()
    }
}

/// The folded messages of one conversation in (time, id) order, oldest first.
fn conversation_of(all: &[Message], keep: impl Fn(&Message) -> bool) -> Vec<Message> {
    let mut v: Vec<Message> = all.iter().map(folded).filter(|m| keep(m)).collect();
    v.sort_by_key(|m| (m.time, m.id));
    v
}

fn with_alice_and(peer: &'static str) -> impl Fn(&Message) -> bool {
    move |m| {
        m.chat_type == ChatType::Single
            && ((m.from == "alice" && m.to == peer) || (m.from == peer && m.to == "alice"))
    }
}

fn in_conference(id: &'static str) -> impl Fn(&Message) -> bool {
    move |m| m.chat_type != ChatType::Single && m.to == id
}

const STATE: &str = r#"{
  "users": [{"name": "Alice", "password": "pw-alice"}, {"name": "bob", "password": "pw-bob"}],
  "groups": [{"id": "Team", "members": ["alice", "BOB", "carol"]},
             {"id": "secret", "members": ["dave"]}],
  "conversations": [
    {"user": "alice", "id": "Carol", "type": "chat", "unread": 2, "pinned": true,
     "pinned_at": 1716900000000, "marks": ["mark_0"]},
    {"user": "ALICE", "id": "team", "type": "groupchat", "unread": 7, "pinned": true,
     "pinned_at": 1716900000001, "marks": ["mark_3", "mark_19"]},
    {"user": "alice", "id": "BOB", "type": "chat", "unread": 5},
    {"user": "alice", "id": "p03", "type": "chat", "unread": 1, "marks": ["mark_1"]}
  ]
}"#;

struct Fixture {
    server: ServerHandle,
    db: Db,
    messages: Vec<Message>,
}

impl Fixture {
    fn config(&self, user: &str, credential: Credential) -> ClientConfig {
        ClientConfig {
            // Nothing here should take long; a hang must fail the test, not stall it.
            total_timeout: Duration::from_secs(20),
            ..ClientConfig::new(self.server.base_url(), APPKEY, user, credential)
        }
    }

    fn client(&self, user: &str, password: &str) -> Client {
        Client::new(self.config(user, Credential::Password(password.into()))).expect("client")
    }

    async fn alice(&self) -> Client {
        let client = self.client("alice", ALICE_PASSWORD);
        client.login().await.expect("alice logs in");
        client
    }

    /// What the store itself lists for a user: the reference for the wire round trip.
    async fn stored_list(&self, user: &str) -> Vec<Conversation> {
        let user = user.to_string();
        self.db.conversations(&user).await.expect("store list")
    }
}

async fn start(config: ServerConfig) -> Fixture {
    let messages = input_messages();
    let db = fresh_db("client").await;
    db.insert_messages(&messages).await.expect("insert");
    db.apply_state(&StateFile::parse(STATE).expect("state parses"))
        .await
        .expect("apply state");
    let server = spawn_over(db.clone(), config, None)
        .await
        .expect("server starts");
    assert!(server.addr().ip().is_loopback());
    Fixture {
        server,
        db,
        messages,
    }
}

async fn fixture() -> Fixture {
    start(ServerConfig::new(APPKEY)).await
}

fn query(conversation: &str, kind: ChatType, page_size: u32, direction: Direction) -> HistoryQuery {
    HistoryQuery {
        conversation: conversation.into(),
        kind,
        cursor: None,
        page_size,
        direction,
        filters: HistoryFilters::default(),
    }
}

/// Follows a history query from its first page to `is_last`, checking the page contract on
/// the way.
async fn walk(client: &Client, mut q: HistoryQuery) -> Vec<Message> {
    q.cursor = None;
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let page = client.history(&q).await.expect("history page");
        assert!(
            page.messages.len() <= q.page_size as usize,
            "a page of {} for page size {}",
            page.messages.len(),
            q.page_size
        );
        out.extend(page.messages);
        match page.next_cursor {
            Some(next) => {
                assert!(!page.is_last);
                assert_ne!(q.cursor.as_deref(), Some(next.as_str()), "cursor stuck");
                q.cursor = Some(next);
            }
            None => {
                assert!(page.is_last);
                return out;
            }
        }
    }
    panic!("history of {} did not end", q.conversation);
}

fn ids(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|m| m.id).collect()
}

fn reversed<T: Clone>(v: &[T]) -> Vec<T> {
    v.iter().rev().cloned().collect()
}

fn list_ids(list: &[Conversation]) -> Vec<&str> {
    list.iter().map(|c| c.id.as_str()).collect()
}

/// alice's list as the protocol orders it: newest activity first, pinned or not (§3.2).
const ALICE_LIST: [&str; 12] = [
    "team", "p08", "p07", "p06", "p05", "p04", "p03", "p02", "p01", "p00", "bob", "carol",
];
/// By activity alone (the legacy lists carry no pins).
const ALICE_BY_ACTIVITY: [&str; 12] = [
    "team", "p08", "p07", "p06", "p05", "p04", "p03", "p02", "p01", "p00", "bob", "carol",
];

// ---------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn login_with_the_right_password_and_the_servers_refusal_of_a_wrong_one() {
    each_backend(login_with_the_right_password_and_the_servers_refusal_of_a_wrong_one_on).await;
}

async fn login_with_the_right_password_and_the_servers_refusal_of_a_wrong_one_on() {
    let f = fixture().await;
    let client = f.client("alice", ALICE_PASSWORD);
    assert!(client.current_token().await.is_none());
    client.login().await.expect("right password");
    assert!(client.current_token().await.is_some());
    assert!(!client.user_was_lowercased());

    for (user, password) in [("alice", "wrong"), ("nobody", "pw-alice"), ("carol", "x")] {
        let error = f
            .client(user, password)
            .login()
            .await
            .expect_err("wrong credentials are refused");
        assert_eq!(error.status(), Some(400), "{error}");
        assert_eq!(error.server_code(), Some("invalid_grant"), "{error}");
        assert!(
            error.description().contains("invalid username or password"),
            "the server's error_description must reach the person: {}",
            error.description()
        );
        assert!(!error.description().contains(password), "{error}");
    }
}

#[tokio::test]
async fn a_mixed_case_user_id_is_folded_and_works() {
    each_backend(a_mixed_case_user_id_is_folded_and_works_on).await;
}

async fn a_mixed_case_user_id_is_folded_and_works_on() {
    let f = fixture().await;
    let client = f.client("ALICE", ALICE_PASSWORD);
    assert!(client.user_was_lowercased());
    assert_eq!(client.user(), "alice");
    client.login().await.expect("login as ALICE");
    let list = client.conversations().await.expect("list");
    assert_eq!(list_ids(&list), ALICE_LIST);
    let chat = walk(&client, query("Bob", ChatType::Single, 50, Direction::Up)).await;
    assert_eq!(chat.len(), CHAT_LEN);
}

#[tokio::test]
async fn the_client_and_the_store_agree_on_what_an_id_is() {
    each_backend(the_client_and_the_store_agree_on_what_an_id_is_on).await;
}

async fn the_client_and_the_store_agree_on_what_an_id_is_on() {
    let f = fixture().await;
    let client = f.alice().await;
    let longest = "a".repeat(64);
    let too_long = "a".repeat(65);
    // What both take: the client asks, the server's store answers (an empty history).
    for id in [longest.as_str(), "x.y", "..."] {
        let page = client
            .history(&query(id, ChatType::Single, 10, Direction::Up))
            .await
            .unwrap_or_else(|e| panic!("{id:?}: {e}"));
        assert!(page.messages.is_empty() && page.is_last);
        assert!(roam::store::check_id(id).is_ok(), "{id:?}");
    }
    // What both refuse: the client before any request, the store on its own.
    for id in [too_long.as_str(), ".", "..", "a/b", "\u{212a}"] {
        let error = client
            .history(&query(id, ChatType::Single, 10, Direction::Up))
            .await
            .expect_err(id);
        assert!(
            matches!(error, roam::client::ClientError::InvalidArgument(_)),
            "{id:?}: {error}"
        );
        assert!(roam::store::check_id(id).is_err(), "{id:?}");
        let mut store = Store::open_in_memory().expect("store");
        assert!(store.set_password(id, "pw").is_err(), "{id:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Conversation lists
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_cursor_list_pages_with_every_limit_and_matches_the_store() {
    each_backend(the_cursor_list_pages_with_every_limit_and_matches_the_store_on).await;
}

async fn the_cursor_list_pages_with_every_limit_and_matches_the_store_on() {
    let f = fixture().await;
    let client = f.alice().await;
    let stored = f.stored_list("alice").await;
    assert_eq!(list_ids(&stored), ALICE_LIST, "the fixture itself");

    let all = client.conversations().await.expect("whole list");
    assert_eq!(all, stored, "the list must survive the wire unchanged");

    for limit in [1u32, 2, 5, 50] {
        let mut got = Vec::new();
        let mut cursor = String::new();
        let mut pages = 0;
        loop {
            let page = client
                .conversation_page(&cursor, limit)
                .await
                .expect("page");
            pages += 1;
            assert!(page.conversations.len() <= limit as usize);
            got.extend(page.conversations);
            match page.next_cursor {
                Some(next) => cursor = next,
                None => break,
            }
        }
        assert_eq!(got, stored, "limit {limit}");
        assert_eq!(
            pages,
            ALICE_LIST.len().div_ceil(limit as usize),
            "limit {limit}"
        );
    }

    // What the state file said, spot-checked independently of the store.
    let by_id = |id: &str| all.iter().find(|c| c.id == id).expect(id).clone();
    let team = by_id("team");
    assert_eq!(team.kind, ChatType::Group);
    assert_eq!((team.unread, team.pinned), (7, true));
    assert_eq!(team.pinned_at, Some(1_716_900_000_001));
    assert_eq!(team.marks, ["mark_3", "mark_19"]);
    assert_eq!(
        team.last_message.as_ref().map(|m| m.id),
        Some(BASE_ID + 50_009)
    );
    let carol = by_id("carol");
    assert_eq!(carol.kind, ChatType::Single);
    assert_eq!((carol.unread, carol.pinned), (2, true));
    assert_eq!(carol.marks, ["mark_0"]);
    let bob = by_id("bob");
    assert_eq!((bob.unread, bob.pinned, bob.pinned_at), (5, false, None));
    assert!(bob.marks.is_empty());
    let last = bob.last_message.expect("bob's last message");
    assert_eq!(last.time, 1_700_000_000_100);
    assert_eq!(
        (last.from.as_str(), last.to.as_str()),
        ("alice", "bob"),
        "ids arrive folded"
    );
    assert_eq!(
        (by_id("p03").unread, by_id("p03").marks),
        (1, vec!["mark_1".to_string()])
    );
    assert_eq!(by_id("p04").unread, 0);
    assert!(
        !all.iter()
            .any(|c| ["lobby", "secret", "dave"].contains(&c.id.as_str())),
        "rooms, foreign groups and others' chats are not listed"
    );

    // bob sees his own list, dave's chat included, and never alice's pins.
    let bob_client = f.client("bob", BOB_PASSWORD);
    let bob_list = bob_client.conversations().await.expect("bob's list");
    assert_eq!(list_ids(&bob_list), ["team", "dave", "alice"]);
    assert!(bob_list.iter().all(|c| !c.pinned && c.unread == 0));
}

#[tokio::test]
async fn pinned_only_lists_hold_the_pins_and_page() {
    each_backend(pinned_only_lists_hold_the_pins_and_page_on).await;
}

async fn pinned_only_lists_hold_the_pins_and_page_on() {
    let f = fixture().await;
    let client = f.alice().await;
    let pinned = client.pinned_conversations().await.expect("pinned");
    assert_eq!(list_ids(&pinned), ["team", "carol"]);
    assert!(pinned.iter().all(|c| c.pinned));
    let stored: Vec<Conversation> = f
        .stored_list("alice")
        .await
        .into_iter()
        .filter(|c| c.pinned)
        .collect();
    assert_eq!(pinned, stored);

    let first = client
        .pinned_conversation_page("", 1)
        .await
        .expect("page 1");
    assert_eq!(list_ids(&first.conversations), ["team"]);
    let cursor = first.next_cursor.expect("a second page");
    let second = client
        .pinned_conversation_page(&cursor, 1)
        .await
        .expect("page 2");
    assert_eq!(list_ids(&second.conversations), ["carol"]);
    assert_eq!(second.next_cursor, None);

    // bob pinned nothing.
    let bob = f.client("bob", BOB_PASSWORD);
    assert!(bob.pinned_conversations().await.expect("bob").is_empty());
}

#[tokio::test]
async fn marked_pages_hold_the_conversations_with_that_mark() {
    each_backend(marked_pages_hold_the_conversations_with_that_mark_on).await;
}

async fn marked_pages_hold_the_conversations_with_that_mark_on() {
    let f = fixture().await;
    let client = f.alice().await;
    let stored = f.stored_list("alice").await;
    for (mark, want) in [
        (0, vec!["carol"]),
        (3, vec!["team"]),
        (19, vec!["team"]),
        (1, vec!["p03"]),
        (5, vec![]),
    ] {
        let page = client
            .marked_conversation_page(mark, "", 10)
            .await
            .unwrap_or_else(|e| panic!("mark_{mark}: {e}"));
        assert_eq!(list_ids(&page.conversations), want, "mark_{mark}");
        assert_eq!(page.next_cursor, None);
        for c in &page.conversations {
            let s = stored.iter().find(|s| s.id == c.id).expect("stored");
            assert_eq!(c, s, "mark_{mark}: the cursor list's entry");
        }
    }
    assert!(matches!(
        client.marked_conversation_page(20, "", 10).await,
        Err(ClientError::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn legacy_lists_whole_and_paged() {
    each_backend(legacy_lists_whole_and_paged_on).await;
}

async fn legacy_lists_whole_and_paged_on() {
    let f = fixture().await;
    let client = f.alice().await;
    let stored = f.stored_list("alice").await;

    let legacy = client.legacy_conversations().await.expect("legacy list");
    assert_eq!(
        list_ids(&legacy),
        ALICE_BY_ACTIVITY[..10],
        "the ten most recent, newest first"
    );
    for c in &legacy {
        let s = stored.iter().find(|s| s.id == c.id).expect("stored");
        assert_eq!((c.kind, c.unread), (s.kind, s.unread), "{}", c.id);
        assert_eq!(c.last_message, s.last_message, "{}", c.id);
    }

    for size in [1u32, 5, 20] {
        let mut got = Vec::new();
        for page in 1.. {
            let list = client
                .legacy_conversation_page(page, size)
                .await
                .expect("legacy page");
            assert!(list.len() <= size as usize);
            if list.is_empty() {
                break;
            }
            got.extend(list);
            assert!(page < 100, "legacy paging did not end");
        }
        assert_eq!(list_ids(&got), ALICE_BY_ACTIVITY, "page size {size}");
    }
    let beyond = client
        .legacy_conversation_page(7, 5)
        .await
        .expect("a page past the end");
    assert!(beyond.is_empty());
}

#[tokio::test]
async fn the_sixth_list_call_in_a_minute_is_refused_after_the_clients_retries() {
    each_backend(the_sixth_list_call_in_a_minute_is_refused_after_the_clients_retries_on).await;
}

async fn the_sixth_list_call_in_a_minute_is_refused_after_the_clients_retries_on() {
    let f = start(ServerConfig {
        rate_limit: true,
        ..ServerConfig::new(APPKEY)
    })
    .await;
    let mut config = f.config("alice", Credential::Password(ALICE_PASSWORD.into()));
    // The server asks for up to a minute; the test must not wait that long.
    config.retry_base_delay = Duration::from_millis(1);
    config.max_retry_wait = Duration::from_millis(20);
    let client = Client::new(config).expect("client");
    client.login().await.expect("login is not rate-limited");

    for i in 0..5 {
        client
            .conversation_page("", 50)
            .await
            .unwrap_or_else(|e| panic!("call {} is within the limit: {e}", i + 1));
    }
    let started = Instant::now();
    let error = client
        .conversation_page("", 50)
        .await
        .expect_err("the sixth call is over the limit");
    assert!(started.elapsed() < Duration::from_secs(5), "capped waits");
    assert_eq!(error.status(), Some(429), "{error}");
    assert_eq!(error.server_code(), Some("reach_limit"));
    assert!(
        error
            .description()
            .contains("This request has reached api limit"),
        "{}",
        error.description()
    );
    // The legacy lists count against the same limit; history does not.
    let error = client
        .legacy_conversations()
        .await
        .expect_err("limited too");
    assert_eq!(error.status(), Some(429));
    walk(&client, query("bob", ChatType::Single, 50, Direction::Up)).await;
    // Another user has a limit of their own.
    let bob = f.client("bob", BOB_PASSWORD);
    bob.conversations()
        .await
        .expect("bob is not limited by alice");
}

// ---------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn history_visits_every_message_once_in_order_both_ways_for_every_page_size() {
    each_backend(history_visits_every_message_once_in_order_both_ways_for_every_page_size_on).await;
}

async fn history_visits_every_message_once_in_order_both_ways_for_every_page_size_on() {
    let f = fixture().await;
    let client = f.alice().await;
    let chat = conversation_of(&f.messages, with_alice_and("bob"));
    assert_eq!(chat.len(), CHAT_LEN);
    assert_eq!(
        ids(&chat),
        ordered_ids(&alice_bob(CHAT_LEN)),
        "the store's order: (time, id)"
    );
    for size in [1u32, 7, 20, 50] {
        let down = walk(
            &client,
            query("bob", ChatType::Single, size, Direction::Down),
        )
        .await;
        assert_eq!(down, chat, "down, page size {size}");
        let up = walk(&client, query("bob", ChatType::Single, size, Direction::Up)).await;
        assert_eq!(up, reversed(&chat), "up, page size {size}");
    }
    // The peer named in capitals reads the same conversation.
    let upper = walk(&client, query("BOB", ChatType::Single, 50, Direction::Down)).await;
    assert_eq!(upper, chat);
}

#[tokio::test]
async fn every_content_kind_survives_store_server_and_client() {
    each_backend(every_content_kind_survives_store_server_and_client_on).await;
}

async fn every_content_kind_survives_store_server_and_client_on() {
    let f = fixture().await;
    let client = f.alice().await;
    let team = conversation_of(&f.messages, in_conference("team"));
    assert_eq!(team.len(), 10);
    for size in [1u32, 3, 50] {
        let got = walk(
            &client,
            query("Team", ChatType::Group, size, Direction::Down),
        )
        .await;
        for (g, want) in got.iter().zip(&team) {
            assert_eq!(g, want, "{} message", want.content.type_name());
        }
        assert_eq!(got.len(), team.len());
    }
    let kinds: HashSet<&str> = team.iter().map(|m| m.content.type_name()).collect();
    assert_eq!(kinds.len(), 9, "every kind is in the fixture: {kinds:?}");
}

#[tokio::test]
async fn history_filters_reach_the_server_and_page() {
    each_backend(history_filters_reach_the_server_and_page_on).await;
}

async fn history_filters_reach_the_server_and_page_on() {
    let f = fixture().await;
    let client = f.alice().await;
    let chat = conversation_of(&f.messages, with_alice_and("bob"));
    let team = conversation_of(&f.messages, in_conference("team"));

    let filtered = |base: HistoryQuery, filters: HistoryFilters| HistoryQuery { filters, ..base };
    let types = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    // Types, going back in time.
    let images = walk(
        &client,
        filtered(
            query("bob", ChatType::Single, 7, Direction::Up),
            HistoryFilters {
                types: types(&["img"]),
                ..HistoryFilters::default()
            },
        ),
    )
    .await;
    let want: Vec<Message> = chat
        .iter()
        .rev()
        .filter(|m| m.content.type_name() == "img")
        .cloned()
        .collect();
    assert_eq!(want.len(), 30);
    assert_eq!(images, want);

    // A time window (bounds inclusive), going forward.
    let (start, end) = (1_700_000_000_010, 1_700_000_000_020);
    let window = walk(
        &client,
        filtered(
            query("bob", ChatType::Single, 7, Direction::Down),
            HistoryFilters {
                start_time: Some(start),
                end_time: Some(end),
                ..HistoryFilters::default()
            },
        ),
    )
    .await;
    let want: Vec<Message> = chat
        .iter()
        .filter(|m| (start..=end).contains(&m.time))
        .cloned()
        .collect();
    assert_eq!(want.len(), 33);
    assert_eq!(window, want);

    // A sender, named in capitals, in the group.
    let from_carol = walk(
        &client,
        filtered(
            query("team", ChatType::Group, 1, Direction::Down),
            HistoryFilters {
                sender: Some("CAROL".into()),
                ..HistoryFilters::default()
            },
        ),
    )
    .await;
    let want: Vec<Message> = team.iter().filter(|m| m.from == "carol").cloned().collect();
    assert_eq!(want.len(), 3);
    assert_eq!(from_carol, want);

    // All of them at once.
    let all = walk(
        &client,
        filtered(
            query("team", ChatType::Group, 1, Direction::Up),
            HistoryFilters {
                types: types(&["img", "video", "txt"]),
                sender: Some("Alice".into()),
                start_time: Some(TEAM_TIME),
                end_time: Some(TEAM_TIME + 8_000),
            },
        ),
    )
    .await;
    let want: Vec<Message> = team
        .iter()
        .rev()
        .filter(|m| {
            m.from == "alice"
                && ["img", "video", "txt"].contains(&m.content.type_name())
                && m.time <= TEAM_TIME + 8_000
        })
        .cloned()
        .collect();
    assert_eq!(ids(&want), [BASE_ID + 50_003, BASE_ID + 50_000]);
    assert_eq!(all, want);

    // A window with nothing in it is one empty last page.
    let none = client
        .history(&filtered(
            query("bob", ChatType::Single, 20, Direction::Up),
            HistoryFilters {
                start_time: Some(1),
                end_time: Some(2),
                ..HistoryFilters::default()
            },
        ))
        .await
        .expect("empty window");
    assert!(none.messages.is_empty() && none.is_last && none.next_cursor.is_none());
}

#[tokio::test]
async fn fetch_history_loops_to_count_oldest_first_continues_and_resets() {
    each_backend(fetch_history_loops_to_count_oldest_first_continues_and_resets_on).await;
}

async fn fetch_history_loops_to_count_oldest_first_continues_and_resets_on() {
    let f = fixture().await;
    let client = f.alice().await;
    let chat = conversation_of(&f.messages, with_alice_and("bob"));

    // 25 needs two of the legacy call's 20-message pages; the 15 left over are kept.
    let first = client
        .fetch_history("bob", ChatType::Single, 25)
        .await
        .expect("first batch");
    assert_eq!(first, chat[CHAT_LEN - 25..], "the newest 25, oldest first");
    let second = client
        .fetch_history("BOB", ChatType::Single, 25)
        .await
        .expect("second batch");
    assert_eq!(second, chat[CHAT_LEN - 50..CHAT_LEN - 25], "continues back");

    // Going on to the beginning returns everything exactly once.
    let mut rest: Vec<Message> = Vec::new();
    loop {
        let batch = client
            .fetch_history("bob", ChatType::Single, 33)
            .await
            .expect("batch");
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 33);
        rest.splice(0..0, batch);
    }
    assert_eq!(rest, chat[..CHAT_LEN - 50]);
    assert!(
        client
            .fetch_history("bob", ChatType::Single, 5)
            .await
            .expect("after the beginning")
            .is_empty()
    );

    // A reset starts again at the newest message.
    client.reset_history_cursor("Bob").await;
    let again = client
        .fetch_history("bob", ChatType::Single, 3)
        .await
        .expect("after reset");
    assert_eq!(again, chat[CHAT_LEN - 3..]);

    // Conversations keep separate cursors; a group reads as a group.
    let team = conversation_of(&f.messages, in_conference("team"));
    let all_team = client
        .fetch_history("team", ChatType::Group, 100)
        .await
        .expect("team");
    assert_eq!(all_team, team);
    let next = client
        .fetch_history("bob", ChatType::Single, 2)
        .await
        .expect("bob again");
    assert_eq!(next, chat[CHAT_LEN - 5..CHAT_LEN - 3]);
}

#[tokio::test]
async fn room_history_is_read_by_its_queue() {
    each_backend(room_history_is_read_by_its_queue_on).await;
}

async fn room_history_is_read_by_its_queue_on() {
    let f = fixture().await;
    let client = f.alice().await;
    let lobby = conversation_of(&f.messages, in_conference("lobby"));
    assert_eq!(lobby.len(), 4);
    assert!(lobby.iter().all(|m| m.chat_type == ChatType::Room));
    for size in [1u32, 50] {
        let got = walk(&client, query("Lobby", ChatType::Room, size, Direction::Up)).await;
        assert_eq!(got, reversed(&lobby), "page size {size}");
    }
    // Rooms are open: bob, who never wrote there, reads it too.
    let bob = f.client("bob", BOB_PASSWORD);
    let got = walk(&bob, query("lobby", ChatType::Room, 2, Direction::Down)).await;
    assert_eq!(got, lobby);
}

#[tokio::test]
async fn other_peoples_conversations_are_not_readable() {
    each_backend(other_peoples_conversations_are_not_readable_on).await;
}

async fn other_peoples_conversations_are_not_readable_on() {
    let f = fixture().await;
    let alice = f.alice().await;

    // The single-chat key is built from the asking user: naming dave gives alice her own
    // (non-existent) chat with dave, never bob's. The server answers with an empty last
    // page.
    let bob_dave = conversation_of(&f.messages, |m| {
        m.chat_type == ChatType::Single && (m.from == "dave" || m.to == "dave")
    });
    assert_eq!(bob_dave.len(), 3, "the chat exists");
    let bob = f.client("bob", BOB_PASSWORD);
    let got = walk(&bob, query("dave", ChatType::Single, 50, Direction::Up)).await;
    assert_eq!(got, reversed(&bob_dave), "bob reads his chat");
    let page = alice
        .history(&query("dave", ChatType::Single, 50, Direction::Up))
        .await
        .expect("an empty page, not an error");
    assert!(page.messages.is_empty(), "{:?}", ids(&page.messages));
    assert!(page.is_last);
    assert_eq!(page.next_cursor, None);
    // Nor through fetch_history.
    assert!(
        alice
            .fetch_history("dave", ChatType::Single, 10)
            .await
            .expect("empty")
            .is_empty()
    );

    // A group alice neither belongs to nor wrote to is 403 forbidden_op.
    for kind in [ChatType::Group, ChatType::Room] {
        let error = alice
            .history(&query("secret", kind, 20, Direction::Up))
            .await
            .expect_err("not a member");
        assert_eq!(error.status(), Some(403), "{error}");
        assert_eq!(error.server_code(), Some("forbidden_op"));
        assert!(
            error.description().contains("secret"),
            "{}",
            error.description()
        );
    }
    let error = alice
        .fetch_history("secret", ChatType::Group, 5)
        .await
        .expect_err("not a member");
    assert_eq!(error.status(), Some(403));

    // carol is a member of team by the state file but cannot log in: no password.
    let error = f
        .client("carol", "anything")
        .login()
        .await
        .expect_err("no password");
    assert_eq!(error.server_code(), Some("invalid_grant"));
}

// ---------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_expired_token_means_one_transparent_login_with_a_password_and_a_clear_error_without() {
    each_backend(
        an_expired_token_means_one_transparent_login_with_a_password_and_a_clear_error_without_on,
    )
    .await;
}

async fn an_expired_token_means_one_transparent_login_with_a_password_and_a_clear_error_without_on()
{
    const TTL: Duration = Duration::from_millis(2500);
    let f = start(ServerConfig {
        token_ttl: TTL,
        ..ServerConfig::new(APPKEY)
    })
    .await;
    let client = f.alice().await;
    let first_token = client.current_token().await.expect("a token");
    let token_client =
        Client::new(f.config("alice", Credential::Token(first_token.expose().to_string())))
            .expect("token client");
    assert_eq!(
        token_client
            .conversations()
            .await
            .expect("fresh token works")
            .len(),
        ALICE_LIST.len()
    );

    tokio::time::sleep(TTL + Duration::from_millis(200)).await;

    // With a password: the 401 is answered by logging in again, and the call succeeds.
    let list = client.conversations().await.expect("re-logged in");
    assert_eq!(list_ids(&list), ALICE_LIST);
    let second_token = client.current_token().await.expect("a token");
    assert_ne!(first_token, second_token, "a new token was fetched");
    let page = client
        .history(&query("bob", ChatType::Single, 5, Direction::Up))
        .await
        .expect("history with the new token");
    assert_eq!(page.messages.len(), 5);

    // With a token: nothing to log in with, so the 401 is the answer.
    let error = token_client
        .conversations()
        .await
        .expect_err("the token expired");
    assert_eq!(error.status(), Some(401), "{error}");
    assert_eq!(error.server_code(), Some("unauthorized"));
    assert!(
        error.description().contains("expired"),
        "{}",
        error.description()
    );
    let error = token_client
        .history(&query("bob", ChatType::Single, 5, Direction::Up))
        .await
        .expect_err("the token expired");
    assert_eq!(error.status(), Some(401), "{error}");
}

// ---------------------------------------------------------------------------------------
// The embedded demo
// ---------------------------------------------------------------------------------------

/// The generated demo, once per test binary.
fn demo() -> &'static DemoHistory {
    static DEMO: OnceLock<DemoHistory> = OnceLock::new();
    DEMO.get_or_init(roam::demo::generate)
}

/// The ids of one demo conversation (group or room), oldest first.
fn demo_conference_ids(id: &str) -> Vec<u64> {
    let mut v: Vec<(i64, u64)> = demo()
        .lines
        .iter()
        .filter(|l| l.chat_type != "chat" && l.to == id)
        .map(|l| (l.timestamp, l.msg_id.parse().expect("numeric id")))
        .collect();
    v.sort();
    v.into_iter().map(|(_, id)| id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_demo_end_to_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().to_path_buf();
    let import = tokio::task::spawn_blocking(move || roam::embedded::demo_database(&cache));
    let generated = tokio::task::spawn_blocking(demo);
    let db = import.await.expect("import task").expect("demo database");
    assert!(db.starts_with(dir.path()), "{}", db.display());
    let pool = StorePool::open(&db, 2).expect("open the demo database");
    let server = spawn(Arc::new(pool), ServerConfig::new(DEMO_APPKEY), None)
        .await
        .expect("server");
    let client = Client::new(ClientConfig::new(
        server.base_url(),
        DEMO_APPKEY,
        DEMO_USER,
        Credential::Password(DEMO_PASSWORD.into()),
    ))
    .expect("client");
    client.login().await.expect("the demo user logs in");
    let history = generated.await.expect("generate");

    // The list is what the generator says, rooms left out.
    let list = client.conversations().await.expect("the demo list");
    let mut got: Vec<(String, ChatType, u32, bool)> = list
        .iter()
        .map(|c| (c.id.clone(), c.kind, c.unread, c.pinned))
        .collect();
    let mut want: Vec<(String, ChatType, u32, bool)> = history
        .conversations
        .iter()
        .filter(|c| c.kind != ChatType::Room)
        .map(|c| (c.id.clone(), c.kind, c.unread, c.pinned))
        .collect();
    assert!(
        list.iter()
            .all(|c| c.id != ROOM && c.kind != ChatType::Room)
    );
    assert!(
        list.windows(2)
            .all(|w| w[0].last_activity() >= w[1].last_activity()),
        "newest activity first, pinned or not"
    );
    got.sort_by(|a, b| a.0.cmp(&b.0));
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);

    // The whole big group, one direction, 50 at a time.
    let want_ids = demo_conference_ids(BIG_CONVERSATION);
    let count = history
        .conversation(BIG_CONVERSATION)
        .expect("the big group")
        .messages;
    assert_eq!(want_ids.len(), count);
    assert!(count > 100_000);
    let started = Instant::now();
    let mut q = query(BIG_CONVERSATION, ChatType::Group, 50, Direction::Down);
    let mut got_ids: Vec<u64> = Vec::with_capacity(count);
    loop {
        let page = client.history(&q).await.expect("a page of team-roam");
        got_ids.extend(page.messages.iter().map(|m| m.id));
        match page.next_cursor {
            Some(next) => q.cursor = Some(next),
            None => break,
        }
        assert!(got_ids.len() <= count, "more messages than the group holds");
    }
    eprintln!(
        "paged {} messages of {BIG_CONVERSATION} in {:?}",
        got_ids.len(),
        started.elapsed()
    );
    assert_eq!(got_ids.len(), count);
    assert!(
        got_ids.windows(2).all(|w| w[0] < w[1]),
        "ids strictly increasing"
    );
    assert!(got_ids == want_ids, "exactly the generated messages");

    // The room is not listed, but its history is there.
    let lobby = walk(&client, query(ROOM, ChatType::Room, 50, Direction::Down)).await;
    assert_eq!(ids(&lobby), demo_conference_ids(ROOM));
    server.shutdown().await.expect("shutdown");
}

// ---------------------------------------------------------------------------------------
// The `roam` binary
// ---------------------------------------------------------------------------------------

/// A cache directory for the binary's embedded demo, inside the build's own temp dir (never
/// the person's cache), with the demo database imported once per test binary.
fn cli_cache() -> &'static Path {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("client_server-cache");
        roam::embedded::demo_database(&dir).expect("demo database for the CLI");
        dir
    })
}

fn roam_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roam"));
    cmd.args(args)
        .env("ROAM_CACHE_DIR", cli_cache())
        // No config file, no saved tokens: never the person's own.
        .env("ROAM_CONFIG", cli_cache().join("no-config.toml"))
        .env("ROAM_DATA_DIR", cli_cache().join("data"))
        .env_remove("ROAM_PASSWORD")
        .env_remove("ROAM_TOKEN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("roam runs")
}

fn roam(args: &[&str]) -> Output {
    run(&mut roam_command(args))
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_success(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstderr: {}",
        o.status,
        stderr(o)
    );
}

/// The ids of the message lines of `roam history` text output (continuation lines are
/// indented).
fn printed_ids(o: &Output) -> Vec<u64> {
    stdout(o)
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| {
            l.split_whitespace()
                .next()
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("not a message line: {l:?}"))
        })
        .collect()
}

/// The cursor `roam history` printed on stderr.
fn next_cursor(o: &Output) -> String {
    let err = stderr(o);
    let line = err
        .lines()
        .find(|l| l.starts_with("next cursor: "))
        .unwrap_or_else(|| panic!("no next cursor in {err:?}"));
    line["next cursor: ".len()..]
        .split_whitespace()
        .next()
        .expect("a cursor")
        .to_string()
}

#[test]
fn cli_conversations_lists_the_demo_with_unread_counts() {
    let o = roam(&["conversations"]);
    assert_success(&o);
    let out = stdout(&o);
    let team = out
        .lines()
        .find(|l| l.contains(BIG_CONVERSATION))
        .unwrap_or_else(|| panic!("no {BIG_CONVERSATION} in {out}"));
    let unread = demo().conversation(BIG_CONVERSATION).expect("team").unread;
    assert_eq!(unread, 1350);
    assert!(team.contains(" 1350 "), "{team}");
    let listed = demo()
        .conversations
        .iter()
        .filter(|c| c.kind != ChatType::Room)
        .count();
    assert_eq!(out.lines().count(), listed, "{out}");
    assert!(!out.contains(ROOM), "rooms are not listed: {out}");

    let o = roam(&["conversations", "--json"]);
    assert_success(&o);
    let list: Vec<Conversation> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON conversation per line"))
        .collect();
    assert_eq!(list.len(), listed);
    let team = list
        .iter()
        .find(|c| c.id == BIG_CONVERSATION)
        .expect("team-roam");
    assert_eq!((team.kind, team.unread), (ChatType::Group, 1350));
    // 64-bit ids are strings, as the SDK gives them.
    for line in stdout(&o).lines() {
        let value: Value = serde_json::from_str(line).expect("JSON");
        if let Some(last) = value["last_message"].as_object() {
            assert!(last["id"].is_string(), "{line}");
        }
    }
}

#[test]
fn cli_history_pages_with_cursors_and_directions() {
    let all = demo_conference_ids(BIG_CONVERSATION);
    let n = all.len();

    let first = roam(&["history", BIG_CONVERSATION, "--group", "--limit", "120"]);
    assert_success(&first);
    let first_ids = printed_ids(&first);
    assert_eq!(first_ids.len(), 120);
    assert_eq!(
        first_ids,
        reversed(&all[n - 120..]),
        "the newest 120, newest first"
    );
    let cursor = next_cursor(&first);

    let second = roam(&[
        "history",
        BIG_CONVERSATION,
        "--group",
        "--limit",
        "120",
        "--cursor",
        &cursor,
    ]);
    assert_success(&second);
    let second_ids = printed_ids(&second);
    assert_eq!(
        second_ids,
        reversed(&all[n - 240..n - 120]),
        "the next older 120, no overlap, no gap"
    );

    let down = roam(&[
        "history",
        BIG_CONVERSATION,
        "--group",
        "--limit",
        "75",
        "--direction",
        "down",
    ]);
    assert_success(&down);
    assert_eq!(printed_ids(&down), all[..75], "down starts at the oldest");
    let cursor = next_cursor(&down);
    let on = roam(&[
        "history",
        BIG_CONVERSATION,
        "--group",
        "--limit",
        "5",
        "--direction",
        "down",
        "--cursor",
        &cursor,
    ]);
    assert_success(&on);
    assert_eq!(printed_ids(&on), all[75..80]);

    // The end of a short conversation is said, not a cursor.
    let lobby = demo_conference_ids(ROOM);
    let o = roam(&["history", ROOM, "--room", "--limit", "100000"]);
    assert_success(&o);
    assert_eq!(printed_ids(&o), reversed(&lobby));
    assert!(stderr(&o).contains("end of history"), "{}", stderr(&o));
}

/// C0 controls but newline and tab, DEL, and C1 controls.
fn control_chars(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c)
        })
        .collect()
}

/// Bidi embedding, override and isolate controls, and the directional marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[test]
fn cli_history_neutralises_hostile_text() {
    let count = demo()
        .conversation(HOSTILE_CONVERSATION)
        .expect("mallory")
        .messages;
    let limit = count.to_string();
    let o = roam(&["history", HOSTILE_CONVERSATION, "--limit", &limit]);
    assert_success(&o);
    assert!(!o.stdout.contains(&0x1b), "ESC reached the terminal");
    let out = stdout(&o);
    assert_eq!(
        control_chars(&out),
        Vec::<char>::new(),
        "control characters in the output"
    );
    assert!(
        !out.chars().any(is_bidi_control),
        "bidi controls in the output"
    );
    assert_eq!(printed_ids(&o).len(), count);

    // JSON lines parse, and the hostile text is escaped, not raw, in them.
    let o = roam(&["history", HOSTILE_CONVERSATION, "--limit", &limit, "--json"]);
    assert_success(&o);
    assert!(!o.stdout.contains(&0x1b), "raw ESC in JSON output");
    let out = stdout(&o);
    assert_eq!(
        control_chars(&out),
        Vec::<char>::new(),
        "raw controls in JSON"
    );
    assert!(
        !out.chars().any(is_bidi_control),
        "raw bidi controls in JSON"
    );
    let messages: Vec<Message> = json_messages(&out);
    assert_eq!(messages.len(), count);
    // Escaped, not dropped: the parsed text is the hostile text itself.
    let texts: String = messages
        .iter()
        .filter_map(|m| match &m.content {
            Content::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(texts.contains('\u{1b}'), "ESC kept, escaped");
    assert!(texts.contains('\u{9b}'), "C1 CSI kept, escaped");
    assert!(
        texts.chars().any(is_bidi_control),
        "bidi controls kept, escaped"
    );
}

#[test]
fn cli_history_json_escapes_invisible_formatters() {
    let count = demo()
        .conversation(HOSTILE_CONVERSATION)
        .expect("mallory")
        .messages
        .to_string();
    let o = roam(&["history", HOSTILE_CONVERSATION, "--limit", &count, "--json"]);
    assert_success(&o);
    let out = stdout(&o);
    let raw: Vec<char> = out
        .lines()
        .flat_map(str::chars)
        .filter(|&c| !roam::tui::text::shown_as_is(c))
        .collect();
    assert!(raw.is_empty(), "raw in JSON: {raw:?}");
    let texts: String = json_messages(&out)
        .into_iter()
        .filter_map(|m| match m.content {
            Content::Text { text } => Some(text),
            _ => None,
        })
        .collect();
    assert!(
        texts.contains('\u{200b}') && texts.contains('\u{feff}'),
        "escaped, not dropped"
    );
}

/// The messages of `roam history --json` output: every line but the last, the paging state.
fn json_messages(out: &str) -> Vec<Message> {
    let lines: Vec<&str> = out.lines().collect();
    let (state, messages) = lines.split_last().expect("at least the paging state");
    let state: Value = serde_json::from_str(state).expect("the paging state is JSON");
    assert!(
        state.get("is_last").is_some(),
        "the last line is the state: {state}"
    );
    messages
        .iter()
        .map(|l| serde_json::from_str(l).expect("a JSON message per line"))
        .collect()
}

#[test]
fn cli_history_json_lines_are_the_messages_then_the_paging_state() {
    let o = roam(&[
        "history",
        BIG_CONVERSATION,
        "--group",
        "--limit",
        "60",
        "--json",
    ]);
    assert_success(&o);
    let values: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(values.len(), 61, "60 messages and the paging state");
    let (state, messages) = values.split_last().expect("lines");
    let all = demo_conference_ids(BIG_CONVERSATION);
    let ids: Vec<u64> = messages
        .iter()
        .map(|v| {
            v["id"]
                .as_str()
                .expect("ids are strings, as the SDK gives them")
                .parse()
                .expect("a decimal u64")
        })
        .collect();
    assert_eq!(ids, reversed(&all[all.len() - 60..]));
    assert!(messages.iter().all(|v| v["chat_type"] == "group"));
    assert!(
        ids.iter().any(|&id| id > 1 << 53),
        "ids beyond 2^53 are exercised"
    );

    // The state line and stderr agree on where to go on.
    assert_eq!(state.as_object().map(|o| o.len()), Some(2), "{state}");
    assert_eq!(state["is_last"], false);
    assert_eq!(
        state["next_cursor"].as_str(),
        Some(next_cursor(&o).as_str())
    );

    // At the end: no cursor, is_last.
    let o = roam(&["history", ROOM, "--room", "--limit", "100000", "--json"]);
    assert_success(&o);
    let last: Value =
        serde_json::from_str(stdout(&o).lines().last().expect("lines")).expect("JSON");
    assert_eq!(last, json!({"next_cursor": null, "is_last": true}));
}

#[test]
fn cli_history_without_a_kind_looks_the_conversation_up_in_the_list() {
    let with_flag = roam(&["history", BIG_CONVERSATION, "--group", "--limit", "30"]);
    assert_success(&with_flag);
    let looked_up = roam(&["history", BIG_CONVERSATION, "--limit", "30"]);
    assert_success(&looked_up);
    assert_eq!(printed_ids(&looked_up), printed_ids(&with_flag));
    assert_eq!(printed_ids(&looked_up).len(), 30);

    // A room is never listed: an error naming the flags, not an empty "history".
    let o = roam(&["history", ROOM, "--limit", "5"]);
    let line = assert_clear_failure(&o, ROOM);
    for flag in ["--single", "--group", "--room"] {
        assert!(line.contains(flag), "{line}");
    }
    assert!(o.stdout.is_empty());
    assert!(!stderr(&o).contains("end of history"), "{}", stderr(&o));
    // Said, it reads.
    let o = roam(&["history", ROOM, "--room", "--limit", "5"]);
    assert_success(&o);
    assert_eq!(printed_ids(&o).len(), 5);
    // --single for a peer that is not listed reads it as a chat (here: nothing).
    let o = roam(&["history", "nobody-here", "--single"]);
    assert_success(&o);
    assert!(o.stdout.is_empty());
    let o = roam(&["history", "x", "--single", "--group"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// A failure: non-zero exit, fast, with the first line of stderr saying what was wrong.
fn assert_clear_failure(o: &Output, needle: &str) -> String {
    assert!(!o.status.success(), "must fail: {}", stderr(o));
    let err = stderr(o);
    let first = err.lines().next().unwrap_or("").to_string();
    assert!(
        first.contains(needle),
        "{needle:?} not in {first:?} ({err})"
    );
    assert!(!err.contains("panicked"), "{err}");
    first
}

#[test]
fn cli_bad_flags_exit_non_zero_with_a_clear_line() {
    let o = roam(&["history"]);
    let line = assert_clear_failure(&o, "<ID>");
    assert!(line.starts_with("roam: "), "{line}");
    assert_eq!(stderr(&o).lines().count(), 1, "one line: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(2));

    let o = roam(&["--bogus"]);
    assert_clear_failure(&o, "--bogus");
    assert_eq!(o.status.code(), Some(2));

    let o = roam(&["history", "x", "--limit", "0"]);
    assert_clear_failure(&o, "--limit");
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());

    // A user without a deployment is a usage error of roam's own, in one line.
    let o = roam(&["conversations", "--user", "bob"]);
    assert_clear_failure(&o, "roam:");
}

#[test]
fn cli_an_unreachable_server_fails_quickly_naming_the_address() {
    let started = Instant::now();
    let o = run(roam_command(&[
        "--api-url",
        "http://127.0.0.1:1",
        "--appkey",
        "a#b",
        "--user",
        "u",
        "conversations",
    ])
    .env("ROAM_PASSWORD", "x"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let line = assert_clear_failure(&o, "127.0.0.1:1");
    assert_eq!(stderr(&o).lines().count(), 1, "one line: {}", stderr(&o));
    assert!(line.starts_with("roam: "), "{line}");
    assert!(o.stdout.is_empty());
}

#[test]
fn cli_a_token_on_the_command_line_is_warned_about_and_never_printed() {
    const SECRET: &str = "YWMt-cli-secret-token-81f2";
    let deployment = [
        "--api-url",
        "http://127.0.0.1:1",
        "--appkey",
        "a#b",
        "--user",
        "u",
    ];
    let warning = "roam: warning: --token on the command line can be read by other users (ps); \
                   set ROAM_TOKEN instead";
    // Before or after the subcommand: the warning comes first, on one line.
    for args in [
        [&deployment[..], &["--token", SECRET, "conversations"]].concat(),
        [&deployment[..], &["conversations", "--token", SECRET]].concat(),
    ] {
        let o = roam(&args);
        let err = stderr(&o);
        assert_eq!(err.lines().next(), Some(warning), "{err}");
        assert_eq!(err.lines().count(), 2, "the warning and the error: {err}");
        assert!(!err.contains(SECRET) && !stdout(&o).contains(SECRET));
    }
    // From ROAM_TOKEN: the same call, no warning.
    let o = run(
        roam_command(&[&deployment[..], &["conversations"]].concat()).env("ROAM_TOKEN", SECRET),
    );
    let err = stderr(&o);
    assert!(!err.contains("warning") && !err.contains(SECRET), "{err}");
    assert!(err.contains("127.0.0.1:1"), "the token was used: {err}");
}

#[test]
fn cli_a_closed_pipe_ends_quietly_with_status_0() {
    use std::io::BufRead;
    // Far more than a pipe holds, so roam is still writing when the reader goes away.
    let mut child = roam_command(&["history", BIG_CONVERSATION, "--group", "--limit", "5000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roam starts");
    let mut first = String::new();
    let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    reader.read_line(&mut first).expect("a first line");
    assert!(!first.is_empty());
    drop(reader);
    let o = child.wait_with_output().expect("roam ends");
    assert!(o.status.success(), "exit {:?}: {}", o.status, stderr(&o));
    assert_eq!(stderr(&o), "", "quiet");
}

#[test]
fn cli_each_subcommand_shows_and_takes_only_its_own_flags() {
    // The flags a help text lists, as whole words (`--token-ttl` is not `--token`).
    let help = |args: &[&str]| {
        let o = roam(args);
        assert_success(&o);
        stdout(&o)
            .split_whitespace()
            .filter(|w| w.starts_with("--"))
            .map(|w| w.trim_end_matches([',', '.']).to_string())
            .collect::<Vec<String>>()
    };
    let connection = ["--profile", "--api-url", "--appkey", "--user", "--token"];
    let import = help(&["import", "--help"]);
    let user_add = help(&["user", "add", "--help"]);
    for flag in connection.iter().chain(&["--log"]) {
        let flag = flag.to_string();
        assert!(!import.contains(&flag), "import: {import:?}");
        assert!(!user_add.contains(&flag), "user add: {user_add:?}");
    }
    let serve = help(&["serve", "--help"]);
    for flag in ["--api-url", "--user", "--token", "--log"] {
        assert!(!serve.contains(&flag.to_string()), "serve: {serve:?}");
    }
    assert!(serve.contains(&"--appkey".to_string()), "{serve:?}");
    for args in [&["conversations", "--help"][..], &["history", "--help"]] {
        let text = help(args);
        for flag in connection {
            assert!(text.contains(&flag.to_string()), "{args:?}: {text:?}");
        }
    }

    // A flag before a subcommand it does not apply to is a usage error, in one line.
    for (args, flag) in [
        (
            &["--user", "bob", "import", "--db", "x.sqlite"][..],
            "--user",
        ),
        (
            &["--appkey", "a#b", "serve", "--db", "x.sqlite"],
            "--appkey",
        ),
        (&["--log", "x.log", "history", "bob"], "--log"),
        (&["import", "--token", "t", "--db", "x.sqlite"], "--token"),
    ] {
        let o = roam(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("roam: ") && err.contains(flag), "{err}");
    }
    // Connection flags still go before conversations and history, or after.
    let o = run(roam_command(&[
        "--api-url",
        "http://127.0.0.1:1",
        "history",
        "bob",
        "--appkey",
        "a#b",
        "--user",
        "u",
    ])
    .env("ROAM_TOKEN", "t"));
    assert_clear_failure(&o, "127.0.0.1:1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_import_reports_bad_lines_and_imports_once() {
    each_backend(cli_import_reports_bad_lines_and_imports_once_on).await;
}

async fn cli_import_reports_bad_lines_and_imports_once_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = dir.path().join("export.jsonl");
    let db = db_arg(dir.path(), "history");
    let messages = alice_bob(4);
    let mut text = String::new();
    text.push_str(&line(&messages[0]));
    text.push('\n');
    text.push_str(&line(&messages[1]));
    text.push('\n');
    text.push_str("{\"msg_id\": \"this line is broken\"\n");
    text.push_str(&line(&messages[2]));
    text.push('\n');
    text.push_str(&line(&messages[3]));
    text.push('\n');
    std::fs::write(&export, text).expect("write export");
    let export = export.to_str().expect("utf-8 path");
    let db_arg = db.as_str();

    let o = roam(&["import", "--db", db_arg, "--quiet", export]);
    assert_success(&o);
    let err = stderr(&o);
    assert!(err.contains("5 lines read: 4 new"), "{err}");
    assert!(err.contains("1 rejected"), "{err}");
    assert!(
        err.contains(&format!("{export}:3:")),
        "the bad line is named by file and number: {err}"
    );

    let o = roam(&["import", "--db", db_arg, "--quiet", export]);
    assert_success(&o);
    let err = stderr(&o);
    assert!(err.contains(": 0 new, 4 already stored"), "{err}");

    let store = Db::open(&db).await.expect("open");
    assert_eq!(store.message_count().await.expect("count"), 4);

    let o = roam(&["import", "--db", db_arg]);
    assert_clear_failure(&o, "nothing to import");
    let missing = dir.path().join("missing.jsonl");
    let o = roam(&["import", "--db", db_arg, missing.to_str().expect("path")]);
    assert_clear_failure(&o, "missing.jsonl");
}

/// Whether `name` logs in to `db` with `password`, as the server checks it.
async fn verify_password(db: &Db, name: &str, password: &str) -> bool {
    use roam::store::password::{HashMemory, verify_with};
    match db.login_record(name).await.expect("login record") {
        Some((_, hash)) => verify_with(&hash, password, &mut HashMemory::default()).expect("hash"),
        None => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_user_add_sets_a_password_read_from_stdin() {
    each_backend(cli_user_add_sets_a_password_read_from_stdin_on).await;
}

async fn cli_user_add_sets_a_password_read_from_stdin_on() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = db_arg(dir.path(), "users");
    let db_arg = db.as_str();
    let mut child = roam_command(&["user", "add", "--db", db_arg, "Zoe", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"s3cret pass\n")
        .expect("write password");
    let o = child.wait_with_output().expect("wait");
    assert_success(&o);
    assert!(!stderr(&o).contains("s3cret"), "{}", stderr(&o));

    let store = Db::open(&db).await.expect("open");
    assert!(verify_password(&store, "zoe", "s3cret pass").await);
    assert!(verify_password(&store, "ZOE", "s3cret pass").await);
    assert!(!verify_password(&store, "zoe", "s3cret pass\n").await);
    assert!(!verify_password(&store, "zoe", "wrong").await);

    // An empty password is refused.
    let mut child = roam_command(&["user", "add", "--db", db_arg, "yan", "--password-stdin"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"\n")
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert_clear_failure(&o, "empty");
    assert!(store.existing_user("yan").await.expect("lookup").is_none());
}

// ---------------------------------------------------------------------------------------
// What a person sees on a terminal before the first answer, and the log
// ---------------------------------------------------------------------------------------

mod pty;

const PTY_WAIT: Duration = Duration::from_secs(60);

#[test]
fn on_a_terminal_roam_says_it_is_connecting_before_the_first_request() {
    let mut term = pty::Pty::spawn(&["conversations"], 120, 40, cli_cache(), &[]);
    term.wait_exit(PTY_WAIT).expect("roam conversations ends");
    let screen = term.text();
    let first = screen.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("connecting to the demo at 127.0.0.1:") && first.ends_with('…'),
        "{screen}"
    );
    assert!(screen.contains(BIG_CONVERSATION), "then the list: {screen}");
}

#[test]
fn the_first_demo_run_shows_progress_and_the_log_goes_to_the_cache_directory() {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut term = pty::Pty::spawn(&[], 120, 40, cache.path(), &[]);
    // By id, or by name once names arrive.
    term.wait_for("the conversation list", PTY_WAIT, |s| {
        s.contains(BIG_CONVERSATION) || s.contains("roam dev team")
    });
    let raw = String::from_utf8_lossy(&term.raw()).into_owned();
    assert!(raw.contains("preparing the demo history…"), "{raw:?}");
    assert!(
        raw.contains("connecting to the demo at 127.0.0.1:"),
        "{raw:?}"
    );
    term.send(b"q");
    term.wait_exit(PTY_WAIT).expect("roam quits");

    // ROAM_CACHE_DIR holds the log, as the README says; a file gets no colours.
    let log = std::fs::read_to_string(cache.path().join("roam.log")).expect("roam.log");
    assert!(log.contains("connecting"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no ANSI escapes in a log file: {log:?}"
    );

    // The second run reuses the prepared history: nothing to prepare.
    let mut term = pty::Pty::spawn(&["conversations"], 120, 40, cache.path(), &[]);
    term.wait_exit(PTY_WAIT).expect("roam conversations ends");
    let raw = String::from_utf8_lossy(&term.raw()).into_owned();
    assert!(!raw.contains("preparing"), "{raw:?}");
}
