//! The store on its own: users and passwords, conversation lists, history paging, filters,
//! access rules and the state file. The tests of behaviour both back ends share run
//! against each ([`common::backends`]: SQLite, and PostgreSQL when present); those of the
//! SQLite file itself (permissions, journal, old versions) against SQLite.

mod common;

use common::backends::{backends, backends_with};
use common::*;
use roam::protocol::{ChatType, Direction, HistoryFilters, HistoryQuery, Message};
use roam::store::state::{StateError, StateFile};
use roam::store::{Db, Store, StoreError};

fn query(conversation: &str, kind: ChatType, size: u32, direction: Direction) -> HistoryQuery {
    HistoryQuery {
        conversation: conversation.into(),
        kind,
        cursor: None,
        page_size: size,
        direction,
        filters: HistoryFilters::default(),
    }
}

/// Walks every page and returns the ids seen, checking that cursors always move on.
async fn walk(store: &Db, user: &str, mut q: HistoryQuery) -> Vec<u64> {
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.history(user, &q).await.expect("page");
        assert!(page.messages.len() <= q.page_size as usize);
        seen.extend(page.messages.iter().map(|m| m.id));
        pages += 1;
        assert!(pages < 10_000, "paging does not end");
        if page.is_last {
            assert_eq!(page.next_cursor, None);
            break;
        }
        let next = page.next_cursor.expect("a cursor when not last");
        assert_ne!(Some(&next), q.cursor.as_ref(), "cursor must move forward");
        q.cursor = Some(next);
    }
    seen
}

#[tokio::test]
async fn paging_visits_every_message_once_in_order_both_ways() {
    let messages = alice_bob(301);
    let oldest_first = ordered_ids(&messages);
    let mut newest_first = oldest_first.clone();
    newest_first.reverse();
    for store in backends_with("paging", &messages).await {
        let on = store.kind();
        for size in [1, 7, 20, 50] {
            let up = walk(
                &store,
                "alice",
                query("bob", ChatType::Single, size, Direction::Up),
            )
            .await;
            assert_eq!(up, newest_first, "{on}: up, page size {size}");
            // The other participant reads the same conversation.
            let down = walk(
                &store,
                "bob",
                query("alice", ChatType::Single, size, Direction::Down),
            )
            .await;
            assert_eq!(down, oldest_first, "{on}: down, page size {size}");
        }
    }
}

#[tokio::test]
async fn a_page_carries_whole_messages_and_exact_cursors() {
    let messages = alice_bob(10);
    let order = ordered_ids(&messages);
    for store in backends_with("whole", &messages).await {
        let on = store.kind();
        let page = store
            .history("alice", &query("bob", ChatType::Single, 4, Direction::Down))
            .await
            .expect("page");
        assert_eq!(
            page.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
            order[..4],
            "{on}"
        );
        // The cursor is the first message of the next page, inclusive.
        assert_eq!(page.next_cursor, Some(order[4].to_string()), "{on}");
        assert!(!page.is_last, "{on}");
        let original = messages
            .iter()
            .find(|m| m.id == order[0])
            .expect("message exists");
        assert_eq!(&page.messages[0], original, "{on}");
    }
}

#[tokio::test]
async fn filters_keep_types_sender_and_time_range() {
    let messages = alice_bob(100);
    for store in backends_with("filters", &messages).await {
        let on = store.kind();
        let mut q = query("bob", ChatType::Single, 50, Direction::Down);
        q.filters.types = vec!["img".into()];
        let ids = walk(&store, "alice", q.clone()).await;
        let expected: Vec<u64> = ordered_ids(
            &messages
                .iter()
                .filter(|m| m.content.type_name() == "img")
                .cloned()
                .collect::<Vec<_>>(),
        );
        assert_eq!(ids, expected, "{on}");
        assert_eq!(ids.len(), 10, "{on}");

        q.filters.types = vec!["txt".into(), "img".into()];
        q.filters.sender = Some("BOB".into());
        let ids = walk(&store, "alice", q.clone()).await;
        assert_eq!(ids.len(), 50, "{on}");
        assert!(
            ids.iter()
                .all(|id| messages.iter().any(|m| m.id == *id && m.from == "bob")),
            "{on}"
        );

        let (lo, hi) = (1_700_000_000_010, 1_700_000_000_019);
        let q = HistoryQuery {
            filters: HistoryFilters {
                start_time: Some(lo),
                end_time: Some(hi),
                ..HistoryFilters::default()
            },
            ..query("bob", ChatType::Single, 7, Direction::Up)
        };
        let ids = walk(&store, "alice", q).await;
        let mut expected = ordered_ids(
            &messages
                .iter()
                .filter(|m| (lo..=hi).contains(&m.time))
                .cloned()
                .collect::<Vec<_>>(),
        );
        expected.reverse();
        assert_eq!(ids, expected, "{on}");
        assert_eq!(ids.len(), 30, "{on}");
    }
}

#[tokio::test]
async fn bad_cursors_and_page_sizes_are_errors() {
    for store in backends_with("cursors", &alice_bob(10)).await {
        let on = store.kind();
        let mut q = query("bob", ChatType::Single, 5, Direction::Up);
        q.cursor = Some("not-a-number".into());
        let r = store.history("alice", &q).await;
        assert!(matches!(r, Err(StoreError::BadCursor(_))), "{on}");
        // A real id, but of no message in this conversation.
        q.cursor = Some("42".into());
        let r = store.history("alice", &q).await;
        assert!(matches!(r, Err(StoreError::BadCursor(_))), "{on}");
        q.cursor = None;
        q.page_size = 0;
        let r = store.history("alice", &q).await;
        assert!(matches!(r, Err(StoreError::BadPageSize(0))), "{on}");
        q.page_size = 51;
        let r = store.history("alice", &q).await;
        assert!(matches!(r, Err(StoreError::BadPageSize(51))), "{on}");
    }
}

fn mixed() -> Vec<Message> {
    vec![
        text(
            BASE_ID + 1,
            1000,
            "alice",
            "bob",
            ChatType::Single,
            "hi bob",
        ),
        text(
            BASE_ID + 2,
            2000,
            "carol",
            "alice",
            ChatType::Single,
            "hi alice",
        ),
        text(
            BASE_ID + 3,
            3000,
            "alice",
            "team",
            ChatType::Group,
            "hi team",
        ),
        text(
            BASE_ID + 4,
            4000,
            "dave",
            "lobby",
            ChatType::Room,
            "hi room",
        ),
        text(
            BASE_ID + 5,
            5000,
            "bob",
            "secret",
            ChatType::Group,
            "members only",
        ),
        text(BASE_ID + 6, 500, "Dave", "Carol", ChatType::Single, "case"),
    ]
}

#[tokio::test]
async fn conversation_lists_follow_participation_membership_and_state() {
    for store in backends_with("lists", &mixed()).await {
        let on = store.kind();
        let list = store.conversations("alice").await.expect("list");
        let ids: Vec<(&str, ChatType)> = list.iter().map(|c| (c.id.as_str(), c.kind)).collect();
        // Newest first; never the room; not the group alice is no member of.
        assert_eq!(
            ids,
            [
                ("team", ChatType::Group),
                ("carol", ChatType::Single),
                ("bob", ChatType::Single)
            ],
            "{on}"
        );
        assert_eq!(
            list[0].last_message.as_ref().map(|m| m.id),
            Some(BASE_ID + 3),
            "{on}"
        );
        assert!(
            store
                .conversations("nobody")
                .await
                .expect("list")
                .is_empty()
        );
        // Ids were lowercased on the way in.
        let carol: Vec<String> = store
            .conversations("CAROL")
            .await
            .expect("list")
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(carol, ["alice", "dave"], "{on}");

        let state = StateFile::parse(
            r#"{"groups":[{"id":"secret","members":["alice"]}],
                "conversations":[{"user":"alice","id":"bob","type":"chat","unread":3,
                                  "pinned":true,"pinned_at":77,"marks":["mark_0","mark_19"]}]}"#,
        )
        .expect("state parses");
        let summary = store.apply_state(&state).await.expect("state applies");
        assert_eq!((summary.memberships, summary.conversations), (1, 1), "{on}");
        let list = store.conversations("alice").await.expect("list");
        let ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
        // Newest activity first, the pin moves nothing (PROTOCOL.md §3.2); the group alice
        // just joined shows.
        assert_eq!(ids, ["secret", "team", "carol", "bob"], "{on}");
        let bob = &list[3];
        assert_eq!(
            (bob.unread, bob.pinned, bob.pinned_at),
            (3, true, Some(77)),
            "{on}"
        );
        assert_eq!(bob.marks, ["mark_0", "mark_19"], "{on}");
        assert_eq!(list[0].unread, 0, "{on}");
    }
}

#[tokio::test]
async fn access_rules_for_groups_rooms_and_single_chats() {
    for store in backends_with("access", &mixed()).await {
        let on = store.kind();
        let q = |id: &str| query(id, ChatType::Group, 20, Direction::Up);
        let count = |r: Result<roam::protocol::HistoryPage, StoreError>| {
            r.map(|p| p.messages.len()).map_err(|e| e.to_string())
        };
        // Sent to it: allowed.
        assert_eq!(
            count(store.history("alice", &q("team")).await),
            Ok(1),
            "{on}"
        );
        // Not a member, never sent: forbidden.
        let r = store.history("alice", &q("secret")).await;
        assert!(matches!(r, Err(StoreError::Forbidden { .. })), "{on}");
        // Rooms: any user.
        assert_eq!(
            count(store.history("erin", &q("lobby")).await),
            Ok(1),
            "{on}"
        );
        // A single chat is always the asker's own pair: someone else sees nothing of it.
        let single = query("bob", ChatType::Single, 20, Direction::Up);
        assert_eq!(count(store.history("erin", &single).await), Ok(0), "{on}");
        let own = query("alice", ChatType::Single, 20, Direction::Up);
        assert_eq!(count(store.history("bob", &own).await), Ok(1), "{on}");
        // Membership from the state file opens the group.
        let state = StateFile::parse(r#"{"groups":[{"id":"secret","members":["Alice"]}]}"#)
            .expect("state parses");
        store.apply_state(&state).await.expect("applies");
        assert_eq!(
            count(store.history("alice", &q("secret")).await),
            Ok(1),
            "{on}"
        );
    }
}

#[test]
fn passwords_are_hashed_and_verified() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("roam.db");
    {
        let mut store = Store::open(&path).expect("open");
        store.set_password("Alice", "correct horse").expect("set");
        assert!(
            store
                .verify_password("alice", "correct horse")
                .expect("verify")
        );
        assert!(
            store
                .verify_password("ALICE", "correct horse")
                .expect("verify")
        );
        assert!(!store.verify_password("alice", "wrong").expect("verify"));
        assert!(
            !store
                .verify_password("nobody", "correct horse")
                .expect("verify")
        );
        assert!(!store.verify_password("bad id!", "x").expect("verify"));
        assert!(matches!(
            store.set_password("a b", "x"),
            Err(StoreError::InvalidId(_))
        ));
        assert!(matches!(
            store.set_password("bob", ""),
            Err(StoreError::EmptyPassword)
        ));
        let user = store.user("alice").expect("query").expect("exists");
        assert_eq!(user.name, "alice");
        assert_eq!(user.uuid.len(), 36);
    }
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM users WHERE name='alice'",
            [],
            |r| r.get(0),
        )
        .expect("row");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(journal, "wal");
}

#[test]
fn state_users_accept_plain_passwords_and_argon2id_hashes_only() {
    let mut store = Store::open_in_memory().expect("store");
    store.set_password("template", "pw2").expect("set");
    let state =
        StateFile::parse(r#"{"users":[{"name":"demo","password":"roam-demo"}]}"#).expect("parses");
    store.apply_state(&state).expect("applies");
    assert!(store.verify_password("demo", "roam-demo").expect("verify"));

    for (bad, why) in [
        (
            r#"{"users":[{"name":"x","password_hash":"plain"}]}"#,
            "not a PHC",
        ),
        (
            r#"{"users":[{"name":"no way","password":"p"}]}"#,
            "invalid user id",
        ),
        (
            r#"{"conversations":[{"user":"a","id":"r","type":"chatroom"}]}"#,
            "chatroom",
        ),
        (
            r#"{"conversations":[{"user":"a","id":"b","type":"chat","marks":["mark_20"]}]}"#,
            "mark_20",
        ),
    ] {
        let state = StateFile::parse(bad).expect("parses");
        let err = store.apply_state(&state).expect_err(bad).to_string();
        assert!(err.contains(why), "{bad}: {err}");
    }
    // A user named without any password is skipped: listed for completeness, never a login.
    let state = StateFile::parse(r#"{"users":[{"name":"nopass"}]}"#).expect("parses");
    assert_eq!(store.apply_state(&state).expect("applies").users, 0);
    assert!(store.user("nopass").expect("query").is_none());
    assert!(!store.verify_password("nopass", "").expect("query"));
    // A failing state file changes nothing: the valid group before the bad entry is gone.
    let state = StateFile::parse(
        r#"{"groups":[{"id":"g1","members":["demo"]}],
            "conversations":[{"user":"demo","id":"g1","type":"nope"}]}"#,
    )
    .expect("parses");
    assert!(store.apply_state(&state).is_err());
    store
        .insert_messages(&[text(BASE_ID, 1, "bob", "g1", ChatType::Group, "x")])
        .expect("insert");
    assert!(matches!(
        store.history("demo", &query("g1", ChatType::Group, 5, Direction::Up)),
        Err(StoreError::Forbidden { .. })
    ));
}

#[test]
fn state_file_loader_says_where_it_is_wrong() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.json");
    assert!(matches!(
        StateFile::load(&missing),
        Err(StateError::Io { .. })
    ));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"users\": [],\n  \"colour\": 1\n}\n").expect("write");
    match StateFile::load(&bad) {
        Err(StateError::Parse { line, message, .. }) => {
            assert_eq!(line, 3);
            assert!(message.contains("colour"), "{message}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    let good = dir.path().join("good.json");
    std::fs::write(&good, r#"{"users":[{"name":"demo","password":"x"}]}"#).expect("write");
    assert_eq!(StateFile::load(&good).expect("loads").users.len(), 1);
}

#[test]
fn reopening_a_file_keeps_everything() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("roam.db");
    let messages = alice_bob(30);
    {
        let mut store = Store::open(&path).expect("open");
        store.insert_messages(&messages).expect("insert");
    }
    let mut store = Store::open(&path).expect("reopen");
    assert_eq!(store.message_count().expect("count"), 30);
    let again = store.insert_messages(&messages).expect("insert again");
    assert_eq!((again.new, again.duplicates), (0, 30));
    assert_eq!(store.conversations("bob").expect("list").len(), 1);
}

#[cfg(unix)]
#[test]
fn a_new_database_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.sqlite");
    let store = Store::open(&path).expect("open");
    drop(store);
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

/// A group conversation of `n` messages from four senders, of four types, with runs of
/// equal times: the ground for the filter tests.
fn busy_group(n: u64) -> Vec<Message> {
    let senders = ["alice", "bob", "carol", "dave"];
    (0..n)
        .map(|i| {
            let from = senders[(i * 7 % 11 % 4) as usize];
            let time = 1_700_000_000_000 + (i / 3) as i64;
            let id = BASE_ID + i * 13 % n;
            let mut m = text(id, time, from, "team", ChatType::Group, &format!("m{i}"));
            match i % 10 {
                3 | 7 => m = image(id, time, from, "team", ChatType::Group),
                5 => {
                    m.content = roam::protocol::Content::Custom {
                        event: "gift".into(),
                        exts: serde_json::Map::new(),
                    }
                }
                9 if from == "carol" => {
                    m.content = roam::protocol::Content::Location {
                        address: "here".into(),
                        lat: 1.0,
                        lng: 2.0,
                        building: None,
                    }
                }
                _ => {}
            }
            m
        })
        .collect()
}

/// What a filtered walk must return: the oracle, in the walk's order.
fn expected(messages: &[Message], q: &HistoryQuery) -> Vec<u64> {
    let f = &q.filters;
    let kept: Vec<Message> = messages
        .iter()
        .filter(|m| f.types.is_empty() || f.types.iter().any(|t| t == m.content.type_name()))
        .filter(|m| {
            f.sender
                .as_deref()
                .is_none_or(|s| s.is_empty() || m.from == s.to_ascii_lowercase())
        })
        .filter(|m| f.start_time.is_none_or(|t| m.time >= t))
        .filter(|m| f.end_time.is_none_or(|t| m.time <= t))
        .cloned()
        .collect();
    let mut ids = ordered_ids(&kept);
    if q.direction == Direction::Up {
        ids.reverse();
    }
    ids
}

#[tokio::test]
async fn filtered_pages_keep_exactly_what_matches_even_when_the_scan_budget_cuts_them_short() {
    let messages = busy_group(300);
    let types: [&[&str]; 6] = [
        &[],
        &["img"],
        &["img", "loc"],
        &["loc", "txt", "custom", "txt"],
        &["hologram"],
        &["img", "hologram"],
    ];
    let senders = [None, Some("bob"), Some("CAROL"), Some("nobody"), Some("")];
    let ranges = [
        (None, None),
        (Some(1_700_000_000_020), Some(1_700_000_000_070)),
    ];
    for mut store in backends_with("budget", &messages).await {
        let on = store.kind();
        for budget in [roam::store::DEFAULT_SCAN_BUDGET, 4] {
            store.set_scan_budget(budget);
            for t in types {
                for sender in senders {
                    for (start_time, end_time) in ranges {
                        for direction in [Direction::Up, Direction::Down] {
                            for size in [3, 50] {
                                let q = HistoryQuery {
                                    filters: HistoryFilters {
                                        types: t.iter().map(|s| s.to_string()).collect(),
                                        sender: sender.map(str::to_string),
                                        start_time,
                                        end_time,
                                    },
                                    ..query("team", ChatType::Group, size, direction)
                                };
                                assert_eq!(
                                    walk(&store, "alice", q.clone()).await,
                                    expected(&messages, &q),
                                    "{on}, budget {budget}: {q:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn a_filter_matching_nothing_costs_the_budget_per_page_not_the_history() {
    let messages = busy_group(300);
    let bobs = messages.iter().filter(|m| m.from == "bob").count() as u64;
    for mut store in backends_with("nothing", &messages).await {
        let on = store.kind();
        // A type alone, or a sender alone, is an index seek: one empty, last page.
        for (types, sender) in [(vec!["video".to_string()], None), (vec![], Some("erin"))] {
            let q = HistoryQuery {
                filters: HistoryFilters {
                    types,
                    sender: sender.map(str::to_string),
                    ..HistoryFilters::default()
                },
                ..query("team", ChatType::Group, 50, Direction::Up)
            };
            let page = store.history("alice", &q).await.expect("page");
            assert!(page.messages.is_empty() && page.is_last, "{on}: {q:?}");
        }
        // A sender and a type they never sent: the walk over the sender's messages passes
        // at most the budget of rows per page, each page empty with a cursor that moves on.
        store.set_scan_budget(10);
        let mut q = HistoryQuery {
            filters: HistoryFilters {
                types: vec!["loc".into()],
                sender: Some("bob".into()),
                ..HistoryFilters::default()
            },
            ..query("team", ChatType::Group, 50, Direction::Up)
        };
        let mut pages = 0;
        loop {
            let page = store.history("alice", &q).await.expect("page");
            pages += 1;
            assert!(page.messages.is_empty(), "{on}");
            assert!(pages <= 1000, "{on}: paging does not end");
            if page.is_last {
                break;
            }
            q.cursor = page.next_cursor;
        }
        assert_eq!(pages, bobs.div_ceil(10), "{on}: {bobs} messages from bob");
    }
}

#[tokio::test]
async fn the_state_file_cannot_change_a_conversations_kind() {
    for store in backends_with("kind", &mixed()).await {
        let on = store.kind();
        // "lobby" is a room (its first message said so): a state file cannot make it a
        // group.
        let state =
            StateFile::parse(r#"{"groups":[{"id":"lobby","members":["erin"]}]}"#).expect("parses");
        let err = store
            .apply_state(&state)
            .await
            .expect_err("a room")
            .to_string();
        assert!(
            err.contains("lobby") && err.contains("chatroom"),
            "{on}: {err}"
        );
        let state = StateFile::parse(
            r#"{"conversations":[{"user":"erin","id":"lobby","type":"groupchat","unread":1}]}"#,
        )
        .expect("parses");
        let err = store
            .apply_state(&state)
            .await
            .expect_err("a room")
            .to_string();
        assert!(
            err.contains("lobby") && err.contains("chatroom"),
            "{on}: {err}"
        );
        assert!(
            store.conversations("erin").await.expect("list").is_empty(),
            "{on}"
        );
    }
}

#[tokio::test]
async fn duplicates_and_kind_conflicts_are_counted_not_stored() {
    for store in backends("duplicates").await {
        let on = store.kind();
        let first = text(BASE_ID, 1, "alice", "bob", ChatType::Single, "hi");
        store.insert_messages(&[first]).await.expect("insert");
        // The same id again, addressed elsewhere: a duplicate, and nothing else; within a
        // batch the first copy wins.
        let again = [
            text(BASE_ID, 2, "alice", "carol", ChatType::Single, "copy"),
            text(BASE_ID, 3, "mallory", "lobby", ChatType::Room, "copy"),
            text(BASE_ID + 2, 5, "erin", "lobby", ChatType::Group, "y"),
            text(BASE_ID + 2, 6, "erin", "lobby", ChatType::Group, "y again"),
        ];
        let counts = store.insert_messages(&again).await.expect("insert");
        assert_eq!((counts.new, counts.duplicates), (1, 3), "{on}");
        // So the duplicate fixed no kind: "lobby" became a group, and a room message to it
        // is rejected.
        let counts = store
            .insert_messages(&[
                text(BASE_ID + 1, 4, "erin", "lobby", ChatType::Group, "x"),
                text(BASE_ID + 3, 7, "dave", "lobby", ChatType::Room, "z"),
            ])
            .await
            .expect("insert");
        assert_eq!((counts.new, counts.rejected.len()), (1, 1), "{on}");
        assert_eq!(counts.rejected[0].0, 1, "{on}");
        let list = store.conversations("erin").await.expect("list");
        assert_eq!(list.len(), 1, "{on}");
        assert_eq!(list[0].kind, ChatType::Group, "{on}");
        assert_eq!(
            list[0].last_message.as_ref().map(|m| m.id),
            Some(BASE_ID + 2),
            "{on}"
        );
        assert!(
            store.conversations("carol").await.expect("list").is_empty(),
            "{on}"
        );
        assert_eq!(store.message_count().await.expect("count"), 3, "{on}");
    }
}

/// The number of conversation rows, read from the file itself.
fn conversation_rows(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row("SELECT count(*) FROM convs", [], |r| r.get(0))
        .expect("count")
}

#[test]
fn a_duplicate_message_id_leaves_no_empty_conversation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("roam.db");
    let mut store = Store::open(&path).expect("open");
    let first = text(BASE_ID, 1, "alice", "bob", ChatType::Single, "hi");
    store.insert_messages(&[first]).expect("insert");
    assert_eq!(conversation_rows(&path), 1);
    // The same id again, addressed elsewhere: a duplicate, and nothing else.
    let again = [
        text(BASE_ID, 2, "alice", "carol", ChatType::Single, "copy"),
        text(BASE_ID, 3, "mallory", "lobby", ChatType::Room, "copy"),
    ];
    let counts = store.insert_messages(&again).expect("insert");
    assert_eq!((counts.new, counts.duplicates), (0, 2));
    assert_eq!(conversation_rows(&path), 1);
    // So the duplicate fixed no kind: "lobby" can still become a group.
    let counts = store
        .insert_messages(&[text(BASE_ID + 1, 4, "erin", "lobby", ChatType::Group, "x")])
        .expect("insert");
    assert_eq!((counts.new, counts.rejected.len()), (1, 0));
    let list = store.conversations("erin").expect("list");
    assert_eq!(list[0].kind, ChatType::Group);
}

/// The schema of version 1, as roam wrote it before the timeline.
const SCHEMA_1: &str = r#"
CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, uuid TEXT NOT NULL,
    created INTEGER NOT NULL, modified INTEGER NOT NULL);
CREATE TABLE convs (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind INTEGER NOT NULL,
    last_time INTEGER, last_id INTEGER);
CREATE TABLE messages (id INTEGER PRIMARY KEY, conv INTEGER NOT NULL,
    chat_type INTEGER NOT NULL, sender TEXT NOT NULL, receiver TEXT NOT NULL,
    time INTEGER NOT NULL, type TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX messages_by_conv ON messages(conv, time, id);
CREATE TABLE user_convs (user TEXT NOT NULL, conv INTEGER NOT NULL, peer TEXT NOT NULL,
    unread INTEGER NOT NULL DEFAULT 0, pinned INTEGER NOT NULL DEFAULT 0,
    pinned_at INTEGER, marks TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (user, conv))
    WITHOUT ROWID;
PRAGMA user_version = 1;
"#;

/// Writes `messages` (one group, "team", with alice a member) the way version 1 stored
/// them, plus an empty conversation row a duplicate line left behind.
fn write_version_1(path: &std::path::Path, messages: &[Message]) {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.execute_batch(SCHEMA_1).expect("schema 1");
    conn.execute_batch(
        "INSERT INTO convs(id, key, kind) VALUES (1, 'g:team', 1), (2, 'g:ghost', 2);
         INSERT INTO user_convs(user, conv, peer) VALUES ('alice', 1, 'team');",
    )
    .expect("conversations");
    let flip = |id: u64| (id ^ (1 << 63)) as i64;
    for m in messages {
        let json = serde_json::to_string(&roam::protocol::json::MessageJson::from_message(m))
            .expect("json");
        conn.execute(
            "INSERT INTO messages VALUES (?1, 1, 1, ?2, 'team', ?3, ?4, ?5)",
            rusqlite::params![flip(m.id), m.from, m.time, m.content.type_name(), json],
        )
        .expect("message");
    }
    let newest = messages.iter().max_by_key(|m| (m.time, m.id)).expect("one");
    conn.execute(
        "UPDATE convs SET last_time = ?1, last_id = ?2 WHERE id = 1",
        rusqlite::params![newest.time, flip(newest.id)],
    )
    .expect("newest");
}

#[tokio::test]
async fn a_version_1_database_is_migrated_and_pages_as_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.db");
    let messages = busy_group(120);
    write_version_1(&path, &messages);
    let store = Db::single(Store::open(&path).expect("migrates"));
    let version: i64 = rusqlite::Connection::open(&path)
        .expect("open")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, roam::store::schema::SCHEMA_VERSION);
    // Every page and every filter reads the migrated timeline.
    let mut q = query("team", ChatType::Group, 7, Direction::Down);
    assert_eq!(
        walk(&store, "alice", q.clone()).await,
        expected(&messages, &q)
    );
    q.filters.types = vec!["img".into(), "custom".into()];
    assert_eq!(
        walk(&store, "alice", q.clone()).await,
        expected(&messages, &q)
    );
    q.filters.sender = Some("bob".into());
    assert_eq!(
        walk(&store, "alice", q.clone()).await,
        expected(&messages, &q)
    );
    // The empty row a duplicate left is gone; the group is still listed.
    assert_eq!(conversation_rows(&path), 1);
    assert_eq!(
        store.conversations("alice").await.expect("list")[0].id,
        "team"
    );
    // Importing goes on into the migrated file, and reopening migrates nothing twice.
    let more = text(
        BASE_ID + 1_000,
        1_800_000_000_000,
        "alice",
        "team",
        ChatType::Group,
        "new",
    );
    store.insert_messages(&[more]).await.expect("insert");
    drop(store);
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.message_count().expect("count"), 121);
    let newest = store
        .history("alice", &query("team", ChatType::Group, 1, Direction::Up))
        .expect("page");
    assert_eq!(newest.messages[0].id, BASE_ID + 1_000);
}

#[test]
fn a_database_from_a_newer_roam_is_refused() {
    use roam::store::schema::SCHEMA_VERSION;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("new.db");
    rusqlite::Connection::open(&path)
        .expect("open")
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .expect("version");
    match Store::open(&path) {
        Err(StoreError::SchemaVersion {
            found, expected, ..
        }) if found == SCHEMA_VERSION + 1 && expected == SCHEMA_VERSION => {}
        other => panic!("expected a schema version error, got {other:?}"),
    }
}
