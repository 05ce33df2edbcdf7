//! The official Easemob Web SDK against roam's embedded server.
//!
//! `tests/sdk/read.mjs` drives npm `easemob-websdk` (pinned in `tests/sdk/package-lock.json`)
//! against a server started here over a database imported from an export file this test
//! writes: every content kind, a group, a chat room, a pinned conversation, unread counts and
//! marks. It asserts that the SDK sees exactly the expected conversations (cursor, pinned,
//! legacy and paged legacy lists) and every message once, in order, with the fields the SDK
//! derives from them, paging `getHistoryMessages` both ways and the legacy
//! `fetchHistoryMessages`. roam's own client reads the same server for comparison.
//!
//! The SDK test needs `node` and `npm ci` in `tests/sdk`. Without them it prints why and
//! passes, unless `ROAM_REQUIRE_SDK` is set (CI sets it): then it fails.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use roam::client::{Client, ClientConfig, Credential};
use roam::protocol::json::ExportLine;
use roam::protocol::{
    Attachment, ChatType, Content, Conversation, Direction, HistoryFilters, HistoryQuery, Message,
    Size,
};
use roam::server::{ServerConfig, ServerHandle, spawn, spawn_over};
use roam::store::pg::{PgImport, PgStore};
use roam::store::state::{ConversationState, GroupState, StateFile, UserState};
use roam::store::{Db, ImportOptions, Store, StorePool, import_files};
use serde_json::{Map, Value, json};

const APPKEY: &str = "acme#chatapp";
const ME: &str = "alice";
const PASSWORD: &str = "alice-secret";
/// Message ids above 2^53, as the service's are.
const BASE_ID: u64 = 1_234_567_890_123_456_000;
const T0: i64 = 1_716_999_000_000;
/// Small pages, so every list and history is read in several.
const HISTORY_PAGE: usize = 7;
const LIST_PAGE: usize = 2;
const LEGACY_COUNT: usize = 5;
/// How long the whole SDK run may take.
const SDK_DEADLINE: Duration = Duration::from_secs(180);

const PEER: &str = "bob";
const GROUP: &str = "team";
const ROOM: &str = "lobby";
const PINNED_AT: i64 = T0 - 5_000;
/// The mark `getServerConversationsByFilter` searches for (`mark_2`).
const MARK: u32 = 2;
/// The searches read.mjs runs on every conversation (`--search-*`).
const SEARCH_TYPES: [&str; 3] = ["img", "file", "loc"];
const SEARCH_FROM: &str = "carol";
const SEARCH_WINDOW: (i64, i64) = (T0 + 10 * 60_000, T0 + 30 * 60_000);

// ---------------------------------------------------------------------------------------
// The fixture
// ---------------------------------------------------------------------------------------

struct Fixture {
    messages: Vec<Message>,
    state: StateFile,
}

fn attachment(name: &str, secret: Option<&str>, len: Option<u64>) -> Attachment {
    Attachment {
        url: format!("https://a1.easemob.com/acme/chatapp/chatfiles/{name}"),
        secret: secret.map(str::to_string),
        filename: name.to_string(),
        file_length: len,
    }
}

/// One of every content kind, with and without optional parts.
fn every_kind() -> Vec<Content> {
    let mut exts = Map::new();
    exts.insert("name".into(), json!("flower"));
    exts.insert("count".into(), json!("3"));
    vec![
        Content::Text {
            text: "hi bob".into(),
        },
        Content::Image {
            file: attachment("photo.jpg", Some("img-secret"), Some(123_456)),
            size: Some(Size {
                width: 640.0,
                height: 480.0,
            }),
            gif: false,
        },
        Content::Image {
            file: attachment("dance.gif", None, Some(999)),
            size: Some(Size {
                width: 32.0,
                height: 16.0,
            }),
            gif: true,
        },
        Content::Video {
            file: attachment("clip.mp4", Some("video-secret"), Some(5_000_000)),
            duration: Some(12),
            thumb: Some("https://a1.easemob.com/acme/chatapp/chatfiles/clip-thumb".into()),
            thumb_secret: Some("thumb-secret".into()),
            size: Some(Size {
                width: 320.0,
                height: 240.0,
            }),
        },
        Content::Audio {
            file: attachment("voice.amr", Some("audio-secret"), Some(7_000)),
            duration: Some(7),
        },
        Content::File {
            file: attachment("report.pdf", Some("file-secret"), Some(40_960)),
        },
        Content::Location {
            address: "1 Main St, Springfield".into(),
            lat: 39.9042,
            lng: 116.4074,
            building: Some("HQ".into()),
        },
        Content::Command {
            action: "typing".into(),
        },
        Content::Custom {
            event: "gift".into(),
            exts,
        },
        Content::Combined {
            title: "Chat history".into(),
            summary: "bob: lunch?\nalice: sure".into(),
            file: attachment("combined", Some("combine-secret"), Some(321)),
            level: Some(1),
            text: "[Chat history]".into(),
        },
        // Optional parts left out.
        Content::Location {
            address: "nowhere in particular".into(),
            lat: -33.8688,
            lng: 151.2093,
            building: None,
        },
        Content::File {
            file: attachment("open.txt", None, None),
        },
        Content::Video {
            file: attachment("bare.mp4", None, None),
            duration: None,
            thumb: None,
            thumb_secret: None,
            size: None,
        },
        Content::Audio {
            file: attachment("bare.amr", None, None),
            duration: None,
        },
        Content::Custom {
            event: "ping".into(),
            exts: Map::new(),
        },
        Content::Text {
            text: "multi\nline, \"quoted\", <b>not bold</b>, 你好 👋".into(),
        },
    ]
}

fn ext_of(i: usize) -> Map<String, Value> {
    let mut ext = Map::new();
    match i % 4 {
        0 => {}
        1 => {
            ext.insert("em_force_notification".into(), json!(true));
            ext.insert("n".into(), json!(42));
        }
        2 => {
            ext.insert("label".into(), json!("work"));
            ext.insert("nested".into(), json!({"a": [1, 2], "b": "c"}));
        }
        _ => {
            ext.insert("ratio".into(), json!(0.5));
        }
    }
    ext
}

fn fixture() -> Fixture {
    let mut messages = Vec::new();
    let mut push = |from: &str, to: &str, chat_type: ChatType, content: Content| {
        let i = messages.len();
        messages.push(Message {
            id: BASE_ID + i as u64 * 7,
            from: from.into(),
            to: to.into(),
            chat_type,
            time: T0 + i as i64 * 60_000,
            content,
            ext: ext_of(i),
            meta: None,
        });
    };
    // The oldest conversation.
    push("dave", ME, ChatType::Single, text("are you there?"));
    let mut exts = Map::new();
    exts.insert("colour".into(), json!("red"));
    exts.insert("size".into(), json!("xl"));
    let custom = Content::Custom {
        event: "order".into(),
        exts,
    };
    push(ME, "dave", ChatType::Single, custom);
    // Every kind twice with bob, interleaved with the group and the room, which get every
    // kind too (shifted) between plain texts.
    let kinds = every_kind();
    for round in 0..2 {
        for (k, content) in kinds.iter().enumerate() {
            let (from, to) = if k % 2 == 0 { (ME, PEER) } else { (PEER, ME) };
            push(from, to, ChatType::Single, content.clone());
            let shifted = |by: usize, label: &str| {
                if k % 2 == 0 {
                    kinds[(k + by + round) % kinds.len()].clone()
                } else {
                    text(&format!("{label} {round}.{k}"))
                }
            };
            let sender = ["bob", "carol", ME][(k + round) % 3];
            push(sender, GROUP, ChatType::Group, shifted(1, "team"));
            let sender = ["erin", "dave", "carol"][(k + round) % 3];
            push(sender, ROOM, ChatType::Room, shifted(2, "room"));
        }
    }
    // The newest conversation.
    let picture = Content::Image {
        file: attachment("carol.png", Some("carol-secret"), Some(2048)),
        size: Some(Size {
            width: 100.0,
            height: 50.0,
        }),
        gif: false,
    };
    push("carol", ME, ChatType::Single, picture);

    let user = |name: &str, password: &str| UserState {
        name: name.into(),
        password: Some(password.into()),
        ..UserState::default()
    };
    let conversation = |id: &str, kind: &str, unread: u32| ConversationState {
        user: ME.into(),
        id: id.into(),
        kind: kind.into(),
        unread,
        ..ConversationState::default()
    };
    let state = StateFile {
        users: vec![
            user(ME, PASSWORD),
            user("bob", "bob-secret"),
            user("carol", "carol-secret"),
            user("dave", "dave-secret"),
            user("erin", "erin-secret"),
        ],
        groups: vec![GroupState {
            id: GROUP.into(),
            members: vec![ME.into(), "bob".into(), "carol".into()],
            ..GroupState::default()
        }],
        conversations: vec![
            conversation(PEER, "chat", 3),
            conversation("carol", "chat", 1),
            ConversationState {
                pinned: true,
                pinned_at: Some(PINNED_AT),
                marks: vec![format!("mark_{MARK}")],
                ..conversation(GROUP, "groupchat", 7)
            },
            // Pinned after the group: the pinned list puts it first, whatever its activity.
            ConversationState {
                pinned: true,
                pinned_at: Some(PINNED_AT + 1_000),
                marks: vec![format!("mark_{MARK}"), "mark_0".into()],
                ..conversation("dave", "chat", 0)
            },
        ],
        ..StateFile::default()
    };
    Fixture { messages, state }
}

/// The searches, as filters of a conversation of `kind`: the SDK sends no sender filter for
/// single chats.
fn searches(kind: ChatType) -> Vec<HistoryFilters> {
    vec![
        HistoryFilters {
            types: SEARCH_TYPES.iter().map(|t| t.to_string()).collect(),
            ..HistoryFilters::default()
        },
        HistoryFilters {
            sender: (kind != ChatType::Single).then(|| SEARCH_FROM.to_string()),
            ..HistoryFilters::default()
        },
        HistoryFilters {
            start_time: Some(SEARCH_WINDOW.0),
            end_time: Some(SEARCH_WINDOW.1),
            ..HistoryFilters::default()
        },
    ]
}

fn text(s: &str) -> Content {
    Content::Text { text: s.into() }
}

impl Fixture {
    /// The messages of one conversation of [`ME`], oldest first.
    fn history(&self, id: &str, kind: ChatType) -> Vec<Message> {
        let mut out: Vec<Message> = self
            .messages
            .iter()
            .filter(|m| {
                m.chat_type == kind
                    && match kind {
                        ChatType::Single => {
                            (m.from == ME && m.to == id) || (m.from == id && m.to == ME)
                        }
                        _ => m.to == id,
                    }
            })
            .cloned()
            .collect();
        out.sort_by_key(|m| (m.time, m.id));
        out
    }

    /// What each search of [`searches`] finds in a conversation, oldest first.
    fn search(&self, id: &str, kind: ChatType, filters: &HistoryFilters) -> Vec<Message> {
        self.history(id, kind)
            .into_iter()
            .filter(|m| {
                (filters.types.is_empty()
                    || filters.types.iter().any(|t| t == m.content.type_name()))
                    && filters.sender.as_ref().is_none_or(|s| *s == m.from)
                    && filters.start_time.is_none_or(|t| m.time >= t)
                    && filters.end_time.is_none_or(|t| m.time <= t)
            })
            .collect()
    }

    /// [`ME`]'s conversations as the cursor and legacy lists give them: newest activity
    /// first, pins or not (PROTOCOL.md §3.2).
    fn conversations(&self) -> Vec<Conversation> {
        let ids = [
            (PEER, ChatType::Single),
            ("carol", ChatType::Single),
            ("dave", ChatType::Single),
            (GROUP, ChatType::Group),
        ];
        let mut out: Vec<Conversation> = ids
            .iter()
            .map(|&(id, kind)| {
                let state = self.state.conversations.iter().find(|c| c.id == id);
                Conversation {
                    id: id.into(),
                    kind,
                    unread: state.map_or(0, |c| c.unread),
                    pinned: state.is_some_and(|c| c.pinned),
                    pinned_at: state.and_then(|c| c.pinned_at),
                    marks: state.map_or_else(Vec::new, |c| c.marks.clone()),
                    last_message: self.history(id, kind).pop(),
                }
            })
            .collect();
        out.sort_by_key(|c| {
            let last = c.last_message.as_ref().map_or((0, 0), |m| (m.time, m.id));
            (std::cmp::Reverse(last.0), std::cmp::Reverse(last.1))
        });
        out
    }

    /// The pinned conversations, newest pin first.
    fn pinned(&self) -> Vec<Conversation> {
        let mut pinned: Vec<Conversation> = self
            .conversations()
            .into_iter()
            .filter(|c| c.pinned)
            .collect();
        pinned.sort_by_key(|c| std::cmp::Reverse(c.pinned_at));
        pinned
    }

    /// The conversations carrying `mark_{mark}`, newest activity first.
    fn marked(&self, mark: u32) -> Vec<Conversation> {
        let mark = format!("mark_{mark}");
        self.conversations()
            .into_iter()
            .filter(|c| c.marks.contains(&mark))
            .collect()
    }
}

/// Which store the server reads.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A server over the fixture, imported from an export file and a state file as
/// `roam import` reads them, into a SQLite file or a PostgreSQL database (`None` when
/// PostgreSQL is not installed: `common::postgres` says so).
async fn start_server(dir: &Path, backend: Backend) -> Option<(Fixture, ServerHandle)> {
    let fx = fixture();
    let export = dir.join("export.jsonl");
    let mut lines = String::new();
    for m in &fx.messages {
        let direction = if m.from == ME { "outgoing" } else { "incoming" };
        let line = ExportLine::from_message(m, direction);
        lines.push_str(&serde_json::to_string(&line).expect("export line"));
        lines.push('\n');
    }
    std::fs::write(&export, lines).expect("write export");
    let state_path = dir.join("state.json");
    std::fs::write(
        &state_path,
        serde_json::to_string(&fx.state).expect("state"),
    )
    .expect("write");

    let options = ImportOptions {
        progress: false,
        ..ImportOptions::default()
    };
    let state = StateFile::load(&state_path).expect("load state");
    if let Backend::Postgres = backend {
        let (_, url) = common::postgres::database("sdk")?;
        let pg = PgStore::connect(&url).await.expect("PostgreSQL store");
        let writer = pg.clone();
        let runtime = tokio::runtime::Handle::current();
        let summary = tokio::task::spawn_blocking(move || {
            PgImport::new(writer, runtime).import_files(&[export], &options)
        })
        .await
        .expect("import task")
        .expect("import");
        assert_eq!(
            summary.rejected_total, 0,
            "rejected: {:?}",
            summary.rejected
        );
        assert_eq!(summary.new, fx.messages.len() as u64);
        pg.apply_state(&state).await.expect("apply state");
        let server = spawn_over(Db::Postgres(Box::new(pg)), ServerConfig::new(APPKEY), None)
            .await
            .expect("start server");
        return Some((fx, server));
    }
    let mut store = Store::open(&dir.join("roam.sqlite")).expect("open store");
    let summary = import_files(&mut store, &[export], &options).expect("import");
    assert_eq!(
        summary.rejected_total, 0,
        "rejected: {:?}",
        summary.rejected
    );
    assert_eq!(summary.new, fx.messages.len() as u64);
    store.apply_state(&state).expect("apply state");

    let pool = Arc::new(StorePool::single(store));
    let server = spawn(pool, ServerConfig::new(APPKEY), None)
        .await
        .expect("start server");
    Some((fx, server))
}

// ---------------------------------------------------------------------------------------
// roam's own client
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roam_client_reads_the_fixture() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        roam_client_reads(backend).await;
    }
}

async fn roam_client_reads(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((fx, server)) = start_server(dir.path(), backend).await else {
        return;
    };
    let client = Client::new(ClientConfig::new(
        server.base_url(),
        APPKEY,
        ME,
        Credential::Password(PASSWORD.into()),
    ))
    .expect("client");
    client.login().await.expect("login");

    assert_eq!(
        client.conversations().await.expect("cursor list"),
        fx.conversations()
    );
    let pinned = fx.pinned();
    assert_eq!(pinned.len(), 2);
    assert_eq!(client.pinned_conversations().await.expect("pinned"), pinned);
    // The legacy lists know nothing of pins and marks.
    let legacy: Vec<(String, u32, Option<Message>)> = fx
        .conversations()
        .into_iter()
        .map(|c| (c.id, c.unread, c.last_message))
        .collect();
    let strip = |list: Vec<Conversation>| -> Vec<(String, u32, Option<Message>)> {
        list.into_iter()
            .map(|c| (c.id, c.unread, c.last_message))
            .collect()
    };
    assert_eq!(
        strip(client.legacy_conversations().await.expect("legacy")),
        legacy
    );
    let mut paged = Vec::new();
    for page in 1.. {
        let got = client
            .legacy_conversation_page(page, LIST_PAGE as u32)
            .await
            .expect("legacy page");
        let n = got.len();
        paged.extend(got);
        if n < LIST_PAGE {
            break;
        }
    }
    assert_eq!(strip(paged), legacy);

    for (id, kind) in [
        (PEER, ChatType::Single),
        (GROUP, ChatType::Group),
        (ROOM, ChatType::Room),
    ] {
        let expected = fx.history(id, kind);
        assert!(expected.len() > 2 * HISTORY_PAGE, "{id}: too few messages");
        let all = HistoryFilters::default();
        let down = client_history(&client, id, kind, Direction::Down, &all).await;
        assert_eq!(down, expected, "{id} down");
        let mut up = client_history(&client, id, kind, Direction::Up, &all).await;
        up.reverse();
        assert_eq!(up, expected, "{id} up");
        // The legacy call: batches oldest first, each going further back.
        client.reset_history_cursor(id).await;
        let mut legacy = Vec::new();
        loop {
            let batch = client
                .fetch_history(id, kind, LEGACY_COUNT)
                .await
                .expect("fetch_history");
            if batch.is_empty() {
                break;
            }
            legacy.splice(0..0, batch);
        }
        assert_eq!(legacy, expected, "{id} legacy");
        for filters in searches(kind) {
            let found = client_history(&client, id, kind, Direction::Down, &filters).await;
            assert_eq!(found, fx.search(id, kind, &filters), "{id} {filters:?}");
        }
    }
    assert_eq!(client.undecodable_entries(), 0);
    server.shutdown().await.expect("shutdown");
}

async fn client_history(
    client: &Client,
    id: &str,
    kind: ChatType,
    direction: Direction,
    filters: &HistoryFilters,
) -> Vec<Message> {
    let mut out = Vec::new();
    let mut cursor = None;
    for _ in 0..1000 {
        let page = client
            .history(&HistoryQuery {
                conversation: id.into(),
                kind,
                cursor: cursor.clone(),
                page_size: HISTORY_PAGE as u32,
                direction,
                filters: filters.clone(),
            })
            .await
            .expect("history page");
        out.extend(page.messages);
        if page.is_last {
            return out;
        }
        cursor = page.next_cursor;
    }
    panic!("{id}: history never ended");
}

// ---------------------------------------------------------------------------------------
// The official SDK
// ---------------------------------------------------------------------------------------

/// `tests/sdk` when node and the SDK are installed; `None` (after saying why) when they are
/// not and `ROAM_REQUIRE_SDK` is unset. With `ROAM_REQUIRE_SDK` set, missing pieces panic.
fn sdk_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("sdk");
    let problem = match Command::new("node").arg("--version").output() {
        Err(e) => Some(format!("`node` cannot be run ({e})")),
        Ok(out) if !out.status.success() => {
            Some(format!("`node --version` failed: {}", out.status))
        }
        Ok(_)
            if !dir
                .join("node_modules/easemob-websdk/package.json")
                .is_file() =>
        {
            Some(format!(
                "{} is missing: run `npm ci` in {}",
                dir.join("node_modules/easemob-websdk").display(),
                dir.display()
            ))
        }
        Ok(_) => None,
    };
    let Some(problem) = problem else {
        return Some(dir);
    };
    let required = std::env::var("ROAM_REQUIRE_SDK").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(!required, "ROAM_REQUIRE_SDK is set but {problem}");
    eprintln!("skipping the official SDK test: {problem} (set ROAM_REQUIRE_SDK=1 to fail instead)");
    None
}

/// Runs `node read.mjs` and returns its JSON document, failing with its stderr otherwise.
fn run_sdk(dir: &Path, args: &[String]) -> Value {
    let mut child = Command::new("node")
        .current_dir(dir)
        .arg("read.mjs")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn node");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).map(|_| s)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break status;
        }
        if started.elapsed() > SDK_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("read.mjs ran longer than {SDK_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out.join().expect("stdout thread").expect("read stdout");
    let stderr = err.join().expect("stderr thread").expect("read stderr");
    assert!(
        status.success(),
        "read.mjs failed ({status}):\n{stderr}\n--- stdout ---\n{}",
        stdout.chars().take(4000).collect::<String>()
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("read.mjs printed no JSON document ({e}):\n{stdout}\n{stderr}"))
}

/// What `formatAttachUrl` makes of a stored URL: the SDK swaps its scheme and host for the
/// API base URL.
fn sdk_rebase(base: &str, url: &str) -> String {
    match url.get(9..).and_then(|rest| rest.find('/')) {
        Some(i) => format!("{base}{}", &url[9 + i..]),
        None => format!("{base}{url}"),
    }
}

/// The download URL the SDK builds from a protobuf content: rebased, `?em-redirect=true`,
/// `&share-secret=` when there is a secret.
fn sdk_download_url(base: &str, file: &Attachment) -> String {
    if file.url.is_empty() {
        return String::new();
    }
    let mut url = sdk_rebase(base, &file.url);
    if !file.url.contains("?em-redirect") {
        url.push_str("?em-redirect=true");
        if let Some(secret) = file.secret.as_deref().filter(|s| !s.is_empty()) {
            url.push_str("&share-secret=");
            url.push_str(secret);
        }
    }
    url
}

fn sdk_chat_type(kind: ChatType) -> &'static str {
    match kind {
        ChatType::Single => "singleChat",
        ChatType::Group => "groupChat",
        ChatType::Room => "chatRoom",
    }
}

/// Exactly what `getHistoryMessages` (and `fetchHistoryMessages` with `format: true`) give
/// for a message, as read.mjs prints it (without `accessToken`, `onlineState`, `file`).
fn sdk_history_message(base: &str, m: &Message) -> Value {
    let mut v = json!({
        "id": m.id.to_string(),
        "type": m.content.type_name(),
        "chatType": sdk_chat_type(m.chat_type),
        "from": m.from,
        "to": m.to,
        "time": m.time,
        "ext": m.ext,
    });
    let o = v.as_object_mut().expect("object");
    let secret = |f: &Attachment| f.secret.clone().unwrap_or_default();
    let len = |f: &Attachment| f.file_length.unwrap_or(0);
    let size = |s: &Option<Size>| s.as_ref().map_or((0.0, 0.0), |s| (s.width, s.height));
    match &m.content {
        Content::Text { text } => {
            o.insert("msg".into(), json!(text));
        }
        Content::Image {
            file,
            size: sz,
            gif,
        } => {
            let url = sdk_download_url(base, file);
            let (w, h) = size(sz);
            o.insert("thumb".into(), json!(format!("{url}&thumbnail=true")));
            o.insert("url".into(), json!(url));
            o.insert("width".into(), json!(w));
            o.insert("height".into(), json!(h));
            o.insert("secret".into(), json!(secret(file)));
            o.insert("thumb_secret".into(), json!(secret(file)));
            o.insert("file_length".into(), json!(len(file)));
            if *gif {
                o.insert("isGif".into(), json!(true));
            }
        }
        Content::Video {
            file,
            duration,
            thumb,
            thumb_secret,
            ..
        } => {
            o.insert("url".into(), json!(sdk_download_url(base, file)));
            o.insert("secret".into(), json!(secret(file)));
            let thumb = thumb
                .as_deref()
                .map_or(String::new(), |t| sdk_rebase(base, t));
            o.insert("thumb".into(), json!(thumb));
            o.insert(
                "thumb_secret".into(),
                json!(thumb_secret.clone().unwrap_or_default()),
            );
            o.insert("filename".into(), json!(file.filename));
            o.insert("length".into(), json!(duration.unwrap_or(0)));
            o.insert("file_length".into(), json!(len(file)));
            o.insert("filetype".into(), json!(""));
        }
        Content::Audio { file, duration } => {
            o.insert("url".into(), json!(sdk_download_url(base, file)));
            o.insert("secret".into(), json!(secret(file)));
            o.insert("filename".into(), json!(file.filename));
            o.insert("length".into(), json!(duration.unwrap_or(0)));
            o.insert("file_length".into(), json!(len(file)));
            o.insert("filetype".into(), json!(""));
        }
        Content::File { file } => {
            o.insert("url".into(), json!(sdk_download_url(base, file)));
            o.insert("secret".into(), json!(secret(file)));
            o.insert("filename".into(), json!(file.filename));
            o.insert("length".into(), json!(0));
            o.insert("file_length".into(), json!(len(file)));
            o.insert("filetype".into(), json!(""));
        }
        Content::Location {
            address,
            lat,
            lng,
            building,
        } => {
            o.insert("addr".into(), json!(address));
            o.insert("lat".into(), json!(lat));
            o.insert("lng".into(), json!(lng));
            o.insert(
                "buildingName".into(),
                json!(building.clone().unwrap_or_default()),
            );
        }
        Content::Command { action } => {
            o.insert("action".into(), json!(action));
        }
        Content::Custom { event, exts } => {
            o.insert("customEvent".into(), json!(event));
            o.insert("customExts".into(), json!(exts));
            o.insert("params".into(), json!({}));
        }
        Content::Combined {
            title,
            summary,
            file,
            level,
            text,
        } => {
            o.insert("title".into(), json!(title));
            o.insert("summary".into(), json!(summary));
            o.insert("url".into(), json!(sdk_download_url(base, file)));
            o.insert("secret".into(), json!(secret(file)));
            o.insert("file_length".into(), json!(len(file)));
            o.insert("filename".into(), json!(file.filename));
            o.insert("compatibleText".into(), json!(text));
            o.insert("combineLevel".into(), json!(level.unwrap_or(0)));
        }
    }
    if m.chat_type == ChatType::Room {
        o.insert("priority".into(), json!("normal"));
        o.insert("broadcast".into(), json!(false));
    }
    v
}

/// Which conversation list a last message comes from.
#[derive(Clone, Copy, PartialEq)]
enum List {
    /// `getServerConversations` and `getServerPinnedConversations`.
    Cursor,
    /// `getConversationlist`, with and without paging.
    Legacy,
}

/// The fields of a conversation's last message as the SDK reads them from the JSON form of
/// the lists. Unlike history, the download URL carries no share secret (the SDK looks for
/// `secretKey`, which the JSON form does not have) and a GIF flag is always present.
fn sdk_list_message(base: &str, m: &Message, list: List) -> Value {
    // The cursor list maps the chat type; the legacy list leaves it as sent, except `chat`.
    let chat_type = match (list, m.chat_type) {
        (_, ChatType::Single) => "singleChat",
        (List::Cursor, kind) => sdk_chat_type(kind),
        (List::Legacy, kind) => kind.wire_name(),
    };
    let mut v = json!({
        "id": m.id.to_string(),
        "type": m.content.type_name(),
        "chatType": chat_type,
        "from": m.from,
        "to": m.to,
        "time": m.time,
        "ext": m.ext,
    });
    let o = v.as_object_mut().expect("object");
    let url = |f: &Attachment| format!("{}?em-redirect=true", sdk_rebase(base, &f.url));
    let secret = |f: &Attachment| f.secret.clone().unwrap_or_default();
    let len = |f: &Attachment| f.file_length.unwrap_or(0);
    match &m.content {
        Content::Text { text } => {
            o.insert("msg".into(), json!(text));
        }
        Content::Image { file, size, gif } => {
            let (w, h) = size.as_ref().map_or((0.0, 0.0), |s| (s.width, s.height));
            o.insert("url".into(), json!(url(file)));
            o.insert(
                "thumb".into(),
                json!(format!("{}&thumbnail=true", url(file))),
            );
            o.insert("secret".into(), json!(secret(file)));
            o.insert("width".into(), json!(w));
            o.insert("height".into(), json!(h));
            o.insert("file_length".into(), json!(len(file)));
            o.insert("isGif".into(), json!(gif));
        }
        Content::Video { file, .. } | Content::Audio { file, .. } | Content::File { file } => {
            o.insert("url".into(), json!(url(file)));
            o.insert("secret".into(), json!(secret(file)));
            o.insert("filename".into(), json!(file.filename));
            o.insert("file_length".into(), json!(len(file)));
        }
        Content::Location {
            address,
            lat,
            lng,
            building,
        } => {
            o.insert("addr".into(), json!(address));
            o.insert("lat".into(), json!(lat));
            o.insert("lng".into(), json!(lng));
            o.insert(
                "buildingName".into(),
                json!(building.clone().unwrap_or_default()),
            );
        }
        Content::Command { action } => {
            o.insert("action".into(), json!(action));
        }
        Content::Custom { event, exts } => {
            o.insert("customEvent".into(), json!(event));
            // The cursor list merges the one-key objects; the legacy list keeps the array.
            if list == List::Cursor {
                o.insert("customExts".into(), json!(exts));
            }
        }
        Content::Combined {
            title,
            summary,
            file,
            ..
        } => {
            o.insert("title".into(), json!(title));
            o.insert("summary".into(), json!(summary));
            o.insert("url".into(), json!(url(file)));
            o.insert("secret".into(), json!(secret(file)));
            o.insert("filename".into(), json!(file.filename));
            o.insert("file_length".into(), json!(len(file)));
        }
    }
    v
}

/// A legacy list's custom `customExts`: the JSON form's array of one-key objects, as sent.
fn assert_legacy_custom_exts(what: &str, got: &Value, m: &Message) {
    let Content::Custom { exts, .. } = &m.content else {
        return;
    };
    let items = got["customExts"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: customExts is no array: {got}"));
    let mut merged = Map::new();
    for item in items {
        let one = item.as_object().expect("customExts item");
        assert_eq!(one.len(), 1, "{what}: customExts item {item}");
        merged.extend(one.clone());
    }
    assert_eq!(&merged, exts, "{what}: customExts");
}

/// JSON as JavaScript sees it: a number is a number, whether written `640` or `640.0`.
fn js(v: &Value) -> Value {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(js).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), js(v))).collect()),
        _ => v.clone(),
    }
}

fn assert_subset(what: &str, got: &Value, want: &Value) {
    let (Some(got_o), Some(want_o)) = (got.as_object(), want.as_object()) else {
        panic!("{what}: expected an object, got {got}");
    };
    for (k, w) in want_o {
        assert_eq!(
            got_o.get(k).map(js),
            Some(js(w)),
            "{what}: field {k} in {got}"
        );
    }
}

fn channel_id(c: &Conversation) -> String {
    let domain = match c.kind {
        ChatType::Single => "easemob.com",
        _ => "conference.easemob.com",
    };
    format!("{APPKEY}_{}@{domain}", c.id)
}

fn assert_cursor_list(base: &str, what: &str, got: &Value, want: &[Conversation]) {
    let got = got
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"));
    let ids: Vec<&str> = got
        .iter()
        .map(|c| c["id"].as_str().unwrap_or("?"))
        .collect();
    let want_ids: Vec<&str> = want.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, want_ids, "{what}: conversations and their order");
    for (g, w) in got.iter().zip(want) {
        let what = format!("{what} {}", w.id);
        let kind = match w.kind {
            ChatType::Single => "singleChat",
            _ => "groupChat",
        };
        assert_eq!(g["type"], json!(kind), "{what}: type");
        assert_eq!(g["unread"], json!(w.unread), "{what}: unread");
        assert_eq!(g["pinned"], json!(w.pinned), "{what}: pinned");
        let pinned_time = if w.pinned {
            w.pinned_at.unwrap_or(0)
        } else {
            0
        };
        assert_eq!(g["pinnedTime"], json!(pinned_time), "{what}: pinnedTime");
        // The SDK turns `mark_N` into N.
        let marks: Vec<u32> = w
            .marks
            .iter()
            .map(|m| m.trim_start_matches("mark_").parse().expect("mark"))
            .collect();
        assert_eq!(g["marks"], json!(marks), "{what}: marks");
        let last = w
            .last_message
            .as_ref()
            .expect("fixture conversations have messages");
        assert_subset(
            &format!("{what} lastMessage"),
            &g["lastMessage"],
            &sdk_list_message(base, last, List::Cursor),
        );
    }
}

fn assert_legacy_list(base: &str, what: &str, got: &Value, want: &[Conversation]) {
    let got = got
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"));
    let ids: Vec<&str> = got
        .iter()
        .map(|c| c["channel_id"].as_str().unwrap_or("?"))
        .collect();
    let want_ids: Vec<String> = want.iter().map(channel_id).collect();
    assert_eq!(ids, want_ids, "{what}: conversations and their order");
    for (g, w) in got.iter().zip(want) {
        let what = format!("{what} {}", w.id);
        assert_eq!(g["unread_num"], json!(w.unread), "{what}: unread_num");
        let last = w
            .last_message
            .as_ref()
            .expect("fixture conversations have messages");
        let what = format!("{what} lastMessage");
        let got = &g["lastMessage"];
        assert_subset(&what, got, &sdk_list_message(base, last, List::Legacy));
        assert_legacy_custom_exts(&what, got, last);
    }
}

fn assert_messages(what: &str, got: &Value, want: &[Value]) {
    let got = got
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"));
    let ids: Vec<&str> = got
        .iter()
        .map(|m| m["id"].as_str().unwrap_or("?"))
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "{what}: a message came twice: {ids:?}"
    );
    let want_ids: Vec<&str> = want.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, want_ids, "{what}: messages and their order");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(js(g), js(w), "{what}: message {}", w["id"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_reads_the_fixture() {
    let Some(sdk) = sdk_dir() else {
        return;
    };
    for backend in [Backend::Sqlite, Backend::Postgres] {
        official_sdk_reads(&sdk, backend).await;
    }
}

async fn official_sdk_reads(sdk: &Path, backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((fx, server)) = start_server(dir.path(), backend).await else {
        return;
    };
    let base = server.base_url();
    let args: Vec<String> = [
        "--api-url",
        &base,
        "--appkey",
        APPKEY,
        "--user",
        ME,
        "--password",
        PASSWORD,
        "--conversation",
        PEER,
        "--group",
        GROUP,
        "--chatroom",
        ROOM,
        "--page-size",
        &HISTORY_PAGE.to_string(),
        "--list-page-size",
        &LIST_PAGE.to_string(),
        "--legacy-count",
        &LEGACY_COUNT.to_string(),
        "--mark",
        &MARK.to_string(),
        "--search-types",
        &SEARCH_TYPES.join(","),
        "--search-from",
        SEARCH_FROM,
        "--search-window",
        &format!("{},{}", SEARCH_WINDOW.0, SEARCH_WINDOW.1),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let sdk = sdk.to_path_buf();
    let doc = tokio::task::spawn_blocking(move || run_sdk(&sdk, &args))
        .await
        .expect("SDK run");

    // The SDK under test is the pinned one.
    let package: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/package.json"),
        )
        .expect("package.json"),
    )
    .expect("package.json is JSON");
    assert_eq!(
        doc["sdk"]["version"], package["dependencies"]["easemob-websdk"],
        "installed SDK is not the pinned one: run npm ci in tests/sdk"
    );
    assert_eq!(doc["login"]["user"], json!(ME));
    assert_eq!(doc["login"]["grantType"], json!("password"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let expires = doc["login"]["tokenExpires"]["data"]
        .as_i64()
        .unwrap_or_else(|| panic!("token expiry: {}", doc["login"]));
    assert!(
        expires > now && expires <= now + 24 * 3600 * 1000 + 60_000,
        "token expiry {expires} (now {now})"
    );

    assert_eq!(
        doc["login"]["tokenExpires"]["expireTimestamp"],
        json!(expires),
        "getTokenExpireTimestamp: expire_timestamp, which renewToken reads"
    );

    let conversations = fx.conversations();
    assert_cursor_list(
        &base,
        "getServerConversations",
        &doc["conversations"],
        &conversations,
    );
    let pages: Vec<usize> = serde_json::from_value(doc["conversationPages"].clone()).unwrap();
    assert!(
        pages.len() > 1 && pages.iter().all(|&n| n <= LIST_PAGE),
        "cursor list pages: {pages:?}"
    );
    let pinned = fx.pinned();
    let activity: Vec<&str> = conversations
        .iter()
        .filter(|c| c.pinned)
        .map(|c| c.id.as_str())
        .collect();
    assert_ne!(
        pinned.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        activity,
        "the fixture's pin order must differ from its activity order"
    );
    assert_cursor_list(
        &base,
        "getServerConversationsByFilter",
        &doc["markedConversations"],
        &fx.marked(MARK),
    );
    assert_cursor_list(
        &base,
        "getServerPinnedConversations",
        &doc["pinnedConversations"],
        &pinned,
    );
    let legacy = fx.conversations();
    assert_legacy_list(
        &base,
        "getConversationlist",
        &doc["legacyConversations"],
        &legacy,
    );
    assert_legacy_list(
        &base,
        "getConversationlist(paged)",
        &doc["legacyPagedConversations"],
        &legacy,
    );

    let histories = doc["histories"].as_array().expect("histories");
    let targets = [
        (PEER, ChatType::Single),
        (GROUP, ChatType::Group),
        (ROOM, ChatType::Room),
    ];
    assert_eq!(histories.len(), targets.len());
    for (h, (id, kind)) in histories.iter().zip(targets) {
        assert_eq!(h["id"], json!(id));
        assert_eq!(h["chatType"], json!(sdk_chat_type(kind)));
        let expected: Vec<Value> = fx
            .history(id, kind)
            .iter()
            .map(|m| sdk_history_message(&base, m))
            .collect();
        assert!(expected.len() > 2 * HISTORY_PAGE);
        assert_messages(&format!("{id} down"), &h["down"], &expected);
        let reversed: Vec<Value> = expected.iter().rev().cloned().collect();
        assert_messages(&format!("{id} up"), &h["up"], &reversed);
        for pages in ["upPages", "downPages"] {
            let pages: Vec<usize> = serde_json::from_value(h[pages].clone()).unwrap();
            assert!(
                pages.len() >= expected.len() / HISTORY_PAGE
                    && pages.iter().all(|&n| n <= HISTORY_PAGE),
                "{id} {pages:?}"
            );
        }
        let searched = h["searches"].as_array().expect("searches");
        let filters = searches(kind);
        assert_eq!(searched.len(), filters.len());
        for (s, f) in searched.iter().zip(&filters) {
            let want: Vec<Value> = fx
                .search(id, kind, f)
                .iter()
                .map(|m| sdk_history_message(&base, m))
                .collect();
            assert!(!want.is_empty(), "{id} {f:?} finds nothing: a weak fixture");
            assert_messages(
                &format!("{id} {}", s["searchOptions"]),
                &s["messages"],
                &want,
            );
        }
        if kind == ChatType::Room {
            assert!(
                h.get("legacy").is_none(),
                "the legacy call has no chat rooms"
            );
            continue;
        }
        assert_messages(&format!("{id} legacy"), &h["legacy"], &expected);
        // Without `format: true` the SDK's older shape: same messages, in order, except that
        // it leaves combined messages empty.
        let raw = h["legacyRaw"].as_array().expect("legacyRaw");
        assert_eq!(raw.len(), expected.len(), "{id} legacyRaw");
        for (r, m) in raw.iter().zip(fx.history(id, kind)) {
            if matches!(m.content, Content::Combined { .. }) {
                assert_eq!(r, &json!({}), "{id} legacyRaw combined");
            } else {
                assert_eq!(r["id"], json!(m.id.to_string()), "{id} legacyRaw");
                assert_eq!(r["type"], json!(m.chat_type.wire_name()), "{id} legacyRaw");
            }
        }
    }

    // What went over the wire is what PROTOCOL.md describes, and nothing else.
    let requests = doc["requests"].as_array().expect("requests");
    let token = &requests[0];
    assert_eq!(token["path"], json!("/acme/chatapp/token"));
    assert_eq!(token["body"]["grant_type"], json!("password"));
    assert_eq!(token["body"]["username"], json!(ME));
    for r in requests {
        let path = r["path"].as_str().expect("path");
        let known = [
            "/acme/chatapp/token",
            "/acme/chatapp/sdk/users/alice/token/expires",
            "/acme/chatapp/sdk/user/alice/user_channels/list?",
            "/acme/chatapp/sdk/user/alice/user_channels/mark/search?",
            "/acme/chatapp/users/alice/user_channels",
            "/acme/chatapp/users/alice/messageroaming",
        ];
        assert!(
            known.iter().any(|k| path.starts_with(k)),
            "unexpected request {r}"
        );
    }
    let roaming: Vec<&Value> = requests
        .iter()
        .filter(|r| r["path"] == json!("/acme/chatapp/users/alice/messageroaming"))
        .collect();
    assert!(roaming.iter().any(|r| r["body"]["start"] == json!(-1)));
    assert!(roaming.iter().any(|r| r["body"]["start"].is_string()));
    assert!(
        roaming
            .iter()
            .any(|r| r["body"].get("pull_number").is_none()),
        "the legacy call sends no pull_number"
    );
    server.shutdown().await.expect("shutdown");
}
