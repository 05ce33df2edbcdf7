//! The local library and `sync` against the embedded server over loopback: a sync holds
//! exactly the server's messages, a second one asks only for what is newer, an interrupted
//! one continues where it stopped, `since` bounds the walk, and a server whose pages never
//! end cannot keep a sync going.

mod common;

use std::sync::Arc;

use common::*;
use roam::client::{Client, ClientConfig, Credential};
use roam::library::Library;
use roam::library::sync::{Outcome, Progress, SyncOptions, sync};
use roam::protocol::{ChatType, Direction, HistoryFilters, HistoryPage, HistoryQuery};
use roam::server::{ServerConfig, ServerHandle, spawn};
use roam::store::state::StateFile;
use roam::store::{Store, StorePool};
use serde_json::json;

const APPKEY: &str = "acme#chatapp";
const TEAM: &str = "262857469362177";
/// Messages in the single chat and in the group.
const SINGLE: usize = 1_234;
const GROUP: usize = 321;

fn group_messages(n: usize, from_id: u64) -> Vec<roam::protocol::Message> {
    (0..n)
        .map(|i| {
            text(
                from_id + i as u64,
                1_710_000_000_000 + i as i64 * 1_000,
                if i % 3 == 0 { "carol" } else { "bob" },
                TEAM,
                ChatType::Group,
                &format!("team {i}"),
            )
        })
        .collect()
}

struct Fixture {
    server: ServerHandle,
    pool: Arc<StorePool>,
    _dir: tempfile::TempDir,
    library_path: std::path::PathBuf,
}

async fn fixture() -> Fixture {
    let mut store = Store::open_in_memory().expect("store");
    store.insert_messages(&alice_bob(SINGLE)).expect("single");
    store
        .insert_messages(&group_messages(GROUP, BASE_ID + 10_000_000))
        .expect("group");
    let state = json!({
        "users": [{"name": "alice", "password": "pw-alice"}],
        "groups": [{"id": TEAM, "members": ["alice", "bob", "carol"]}]
    });
    store
        .apply_state(&StateFile::parse(&state.to_string()).expect("state"))
        .expect("applies");
    let pool = Arc::new(StorePool::single(store));
    let server = spawn(Arc::clone(&pool), ServerConfig::new(APPKEY), None)
        .await
        .expect("server");
    let dir = tempfile::tempdir().expect("temp dir");
    let library_path = Library::path_for(dir.path(), "127.0.0.1", APPKEY, "alice");
    Fixture {
        server,
        pool,
        _dir: dir,
        library_path,
    }
}

impl Fixture {
    fn client(&self) -> Client {
        Client::new(ClientConfig::new(
            self.server.base_url(),
            APPKEY,
            "alice",
            Credential::Password("pw-alice".into()),
        ))
        .expect("client")
    }

    fn library(&self) -> Library {
        Library::open(&self.library_path, "alice").expect("library")
    }
}

fn unpaced() -> SyncOptions {
    SyncOptions {
        rate: None,
        ..SyncOptions::default()
    }
}

fn same_as_server(f: &Fixture, library: &Library) {
    for (conversation, kind) in [("bob", ChatType::Single), (TEAM, ChatType::Group)] {
        let held = stored_ids(library.store(), "alice", conversation, kind);
        let served = f.pool.with(|s| stored_ids(s, "alice", conversation, kind));
        assert_eq!(held.len(), served.len(), "{conversation}");
        assert_eq!(held, served, "{conversation}");
    }
}

#[tokio::test]
async fn a_sync_holds_exactly_the_servers_messages_and_a_second_asks_one_page_each() {
    let f = fixture().await;
    let client = f.client();
    let mut library = f.library();
    let first = sync(&client, &mut library, &unpaced(), &mut ())
        .await
        .expect("sync");
    // The list gave each conversation's newest message; the walks the rest.
    assert_eq!(
        first.new_messages(),
        (SINGLE + GROUP - 2) as u64,
        "{first:?}"
    );
    assert_eq!(first.failed().count(), 0, "{first:?}");
    same_as_server(&f, &library);
    for (conversation, kind) in [("bob", ChatType::Single), (TEAM, ChatType::Group)] {
        assert!(
            library.runs(conversation, kind).expect("runs").complete(),
            "{conversation} held from its beginning"
        );
    }
    // The list is kept too, so the library can be browsed (and served) as alice.
    let listed: Vec<String> = library
        .store()
        .conversations("alice")
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(listed.contains(&"bob".to_string()) && listed.contains(&TEAM.to_string()));

    let second = sync(&client, &mut library, &unpaced(), &mut ())
        .await
        .expect("second sync");
    assert_eq!(second.new_messages(), 0);
    assert_eq!(second.pages(), 2, "one page per conversation: {second:?}");
}

#[tokio::test]
async fn new_messages_on_the_server_cost_only_the_pages_that_hold_them() {
    let f = fixture().await;
    let client = f.client();
    let mut library = f.library();
    sync(&client, &mut library, &unpaced(), &mut ())
        .await
        .expect("sync");
    // 120 new group messages: three pages of 50 reach what is held.
    f.pool
        .with(|s| s.insert_messages(&group_messages(GROUP + 120, BASE_ID + 10_000_000)))
        .expect("new messages");
    let again = sync(
        &client,
        &mut library,
        &SyncOptions {
            conversations: vec![TEAM.into()],
            ..unpaced()
        },
        &mut (),
    )
    .await
    .expect("sync again");
    assert_eq!(again.new_messages(), 119, "the newest came with the list");
    assert_eq!(again.pages(), 3, "{again:?}");
    same_as_server(&f, &library);
    assert!(
        library
            .runs(TEAM, ChatType::Group)
            .expect("runs")
            .complete()
    );
}

/// Stops the sync (as a kill would) after a number of pages.
struct StopAfter(usize);

impl Progress for StopAfter {
    fn page(&mut self, _: usize, _: Option<i64>) {
        self.0 = self.0.saturating_sub(1);
        if self.0 == 0 {
            panic!("stopped");
        }
    }
}

#[tokio::test]
async fn an_interrupted_sync_continues_where_it_stopped() {
    let f = fixture().await;
    let client = f.client();
    {
        let mut library = f.library();
        let stopped = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(sync(
            &client,
            &mut library,
            &SyncOptions {
                conversations: vec!["bob".into()],
                ..unpaced()
            },
            &mut StopAfter(10),
        )))
        .await;
        assert!(stopped.is_err(), "the sync was stopped");
    }
    let mut library = f.library();
    let held = stored_ids(library.store(), "alice", "bob", ChatType::Single).len();
    assert!((400..=500).contains(&held), "ten pages kept: {held}");
    let resumed = sync(&client, &mut library, &unpaced(), &mut ())
        .await
        .expect("resumed");
    same_as_server(&f, &library);
    let bob = resumed
        .conversations
        .iter()
        .find(|c| c.id == "bob")
        .expect("bob synced");
    // The newest page, then straight past the 450 held: (1234 - 450) / 50 pages.
    assert!(
        bob.pages <= 1 + 16,
        "held pages are not fetched again: {bob:?}"
    );
    assert_eq!(bob.new_messages, (SINGLE - held) as u64);
}

#[tokio::test]
async fn since_bounds_the_walk() {
    let f = fixture().await;
    let client = f.client();
    let mut library = f.library();
    // The group's messages are a second apart: the newest 90 are at or after this, so
    // the second page of 50 goes past it and the walk stops there.
    let since = 1_710_000_000_000 + (GROUP as i64 - 90) * 1_000;
    let summary = sync(
        &client,
        &mut library,
        &SyncOptions {
            conversations: vec![TEAM.into()],
            since: Some(since),
            ..unpaced()
        },
        &mut (),
    )
    .await
    .expect("sync");
    assert_eq!(summary.pages(), 2, "{summary:?}");
    let held = stored_ids(library.store(), "alice", TEAM, ChatType::Group).len();
    assert_eq!(held, 100, "two whole pages: {summary:?}");
    assert!(
        !library
            .runs(TEAM, ChatType::Group)
            .expect("runs")
            .complete()
    );
}

#[tokio::test]
async fn a_conversation_not_in_the_list_is_an_error() {
    let f = fixture().await;
    let mut library = f.library();
    let err = sync(
        &f.client(),
        &mut library,
        &SyncOptions {
            conversations: vec!["nobody".into()],
            ..unpaced()
        },
        &mut (),
    )
    .await
    .expect_err("not listed");
    assert!(err.to_string().contains("nobody"), "{err}");
}

#[tokio::test]
async fn filtered_pages_keep_messages_but_claim_no_stretch() {
    let f = fixture().await;
    let client = f.client();
    let mut library = f.library();
    let query = HistoryQuery {
        conversation: TEAM.into(),
        kind: ChatType::Group,
        cursor: None,
        page_size: 50,
        direction: Direction::Up,
        filters: HistoryFilters {
            sender: Some("carol".into()),
            ..HistoryFilters::default()
        },
    };
    let page: HistoryPage = client.history(&query).await.expect("page");
    let record = library.record_page(&query, &page, None).expect("kept");
    assert_eq!(record.new_messages, 50);
    assert_eq!(record.run, None);
    assert!(
        library
            .runs(TEAM, ChatType::Group)
            .expect("runs")
            .runs()
            .is_empty()
    );
}

/// A fake deployment listing one single chat with bob, whose history calls answer `page`
/// (called once per request); a client of alice on it.
async fn fake_deployment(
    page: impl Fn() -> serde_json::Value + Clone + Send + Sync + 'static,
) -> Client {
    use axum::Router;
    use axum::routing::{get, post};
    let list = json!({"data": {"cursor": "", "channel_infos": [
        {"session_to": "bob", "session_type": "chat", "unread_num": 0, "meta": {}}
    ]}});
    let token = json!({"access_token": "t", "expires_in": 3600});
    let app = Router::new()
        .route(
            "/acme/chatapp/token",
            post(move || async move { axum::Json(token) }),
        )
        .route(
            "/acme/chatapp/users/alice/messageroaming",
            post(move || {
                let page = page.clone();
                async move { axum::Json(page()) }
            }),
        )
        .fallback(get(move || async move { axum::Json(list) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Client::new(ClientConfig::new(
        &base,
        APPKEY,
        "alice",
        Credential::Password("pw".into()),
    ))
    .expect("client")
}

/// A history page of one message from bob, `back` seconds before a fixed time, with a
/// cursor to go on.
fn page_back(back: u64) -> serde_json::Value {
    let message = text(
        BASE_ID - back,
        1_700_000_000_000 - back as i64 * 1_000,
        "bob",
        "alice",
        ChatType::Single,
        "again",
    );
    let entry = roam::protocol::encode_entry(&message, APPKEY);
    let next = format!("cursor-{}", back + 1);
    json!({"data": {"msgs": [{"msg": entry}], "next_key": next, "is_last": false}})
}

#[tokio::test]
async fn a_server_whose_pages_never_go_back_cannot_keep_a_sync_going() {
    // Every history call answers the same page with a cursor to go on.
    let client = fake_deployment(|| page_back(0)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut library = Library::open(&dir.path().join("l.sqlite"), "alice").expect("library");
    let summary = sync(&client, &mut library, &unpaced(), &mut ())
        .await
        .expect("the sync itself ends");
    let bob = &summary.conversations[0];
    assert!(matches!(bob.outcome, Outcome::Failed(_)), "{bob:?}");
    assert!(bob.pages <= 2, "{bob:?}");
}

#[tokio::test]
async fn a_history_that_never_ends_stops_at_the_request_cap() {
    // Every call goes further back: a history without a beginning.
    let calls = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = Arc::clone(&calls);
    let client = fake_deployment(move || {
        page_back(counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
    })
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut library = Library::open(&dir.path().join("l.sqlite"), "alice").expect("library");
    let options = SyncOptions {
        max_pages: 30,
        ..unpaced()
    };
    let summary = sync(&client, &mut library, &options, &mut ())
        .await
        .expect("the sync itself ends");
    let bob = &summary.conversations[0];
    assert!(
        matches!(&bob.outcome, Outcome::Failed(why) if why.contains("30")),
        "{bob:?}"
    );
    assert_eq!(bob.pages, 30);
}

#[tokio::test]
async fn time_bounds_keep_a_stretch_but_never_claim_the_beginning() {
    let f = fixture().await;
    let client = f.client();
    let mut library = f.library();
    let group = |cursor, direction, start_time| HistoryQuery {
        conversation: TEAM.into(),
        kind: ChatType::Group,
        cursor,
        page_size: 50,
        direction,
        filters: HistoryFilters {
            start_time,
            ..HistoryFilters::default()
        },
    };
    // The newest 20 messages, asked with a start bound: all there is after it, but not
    // the beginning of the group.
    let since = 1_710_000_000_000 + (GROUP as i64 - 20) * 1_000;
    let query = group(None, Direction::Up, Some(since));
    let page = client.history(&query).await.expect("page");
    assert!(page.is_last && page.messages.len() == 20);
    let record = library.record_page(&query, &page, None).expect("kept");
    let run = record.run.expect("a time bound still keeps a stretch");
    assert!(!run.beginning && run.resume.is_none(), "{run:?}");

    // New messages arrive; the browser's refresh asks oldest first from its newest
    // message's time: the answer continues the stretch.
    f.pool
        .with(|s| s.insert_messages(&group_messages(GROUP + 30, BASE_ID + 10_000_000)))
        .expect("new messages");
    let query = group(None, Direction::Down, Some(run.newest.time));
    let page = client.history(&query).await.expect("refresh");
    library.record_page(&query, &page, None).expect("kept");
    let runs = library.runs(TEAM, ChatType::Group).expect("runs");
    assert_eq!(runs.runs().len(), 1, "{runs:?}");
    assert_eq!(runs.runs()[0].oldest, run.oldest);
    assert_eq!(
        runs.runs()[0].newest.time,
        1_710_000_000_000 + (GROUP as i64 + 29) * 1_000
    );
    assert!(!runs.runs()[0].beginning);
}
