//! The entries the server sends, built from stored columns and stored entry bodies: byte
//! for byte what encoding the page's messages gives, for every page, filter and kind, on
//! both back ends (see `common::backends`), and in a SQLite database migrated from schema
//! version 2.

mod common;

use common::backends::{Backend, current, each_backend, fresh_db};
use common::*;
use roam::protocol::history::encode_meta;
use roam::protocol::{ChatType, Content, Direction, HistoryFilters, HistoryQuery, Message};
use roam::store::{Db, Store};
use serde_json::json;

const APPKEY: &str = "acme#chatapp";

/// A group of mixed kinds and senders, with ext fields, plus a single chat.
fn messages() -> Vec<Message> {
    let mut all = alice_bob(40);
    for i in 0..60u64 {
        let from = ["alice", "Bob", "carol"][(i % 3) as usize];
        let mut m = match i % 4 {
            0 => image(
                BASE_ID + 1_000 + i,
                1_700_000_000_000 + i as i64 / 2,
                from,
                "Team",
                ChatType::Group,
            ),
            1 => Message {
                content: Content::Location {
                    address: "here".into(),
                    lat: 1.5,
                    lng: -2.25,
                    building: Some("b".into()),
                },
                ..text(
                    BASE_ID + 1_000 + i,
                    1_700_000_000_000 + i as i64 / 2,
                    from,
                    "Team",
                    ChatType::Group,
                    "",
                )
            },
            _ => text(
                BASE_ID + 1_000 + i,
                1_700_000_000_000 + i as i64 / 2,
                from,
                "Team",
                ChatType::Group,
                "你好 \"quoted\"",
            ),
        };
        if i % 5 == 0 {
            m.ext.insert("n".into(), json!(i));
            m.ext.insert("o".into(), json!({"deep": [1.25, null, "x"]}));
        }
        all.push(m);
    }
    all
}

fn queries() -> Vec<(&'static str, HistoryQuery)> {
    let q =
        |conversation: &str, kind, direction, types: &[&str], sender: Option<&str>| HistoryQuery {
            conversation: conversation.into(),
            kind,
            cursor: None,
            page_size: 7,
            direction,
            filters: HistoryFilters {
                types: types.iter().map(|t| t.to_string()).collect(),
                sender: sender.map(str::to_string),
                ..HistoryFilters::default()
            },
        };
    vec![
        (
            "alice",
            q("bob", ChatType::Single, Direction::Up, &[], None),
        ),
        (
            "bob",
            q("alice", ChatType::Single, Direction::Down, &[], None),
        ),
        (
            "alice",
            q("team", ChatType::Group, Direction::Up, &[], None),
        ),
        (
            "alice",
            q(
                "team",
                ChatType::Group,
                Direction::Down,
                &["img", "loc"],
                None,
            ),
        ),
        (
            "carol",
            q(
                "team",
                ChatType::Group,
                Direction::Up,
                &["txt"],
                Some("bob"),
            ),
        ),
        (
            "alice",
            q("team", ChatType::Group, Direction::Up, &["nothing"], None),
        ),
        (
            "alice",
            q("nobody", ChatType::Single, Direction::Up, &[], None),
        ),
    ]
}

/// Walks every query's pages both ways of reading, checking entries, cursors and ends
/// agree; returns how many entries were compared.
async fn entries_match_messages(db: &Db) -> usize {
    let mut compared = 0;
    for (user, mut q) in queries() {
        for _ in 0..100 {
            let page = db.history(user, &q).await.expect("page");
            let entries = db.history_entries(user, &q, APPKEY).await.expect("entries");
            let expected: Vec<Vec<u8>> = page
                .messages
                .iter()
                .map(|m| encode_meta(m, APPKEY))
                .collect();
            let got: Vec<Vec<u8>> = entries.entries().map(<[u8]>::to_vec).collect();
            assert_eq!(got, expected, "{} {user} {q:?}", db.kind());
            compared += got.len();
            assert_eq!(entries.is_last, page.is_last);
            assert_eq!(entries.next_cursor.map(|c| c.to_string()), page.next_cursor);
            match page.next_cursor {
                Some(next) => q.cursor = Some(next),
                None => break,
            }
        }
    }
    compared
}

/// A SQLite store of one connection, for a file opened here.
fn file_db(store: Store) -> Db {
    Db::single(store)
}

#[tokio::test]
async fn served_entries_are_the_encoded_page() {
    each_backend(|| async {
        let db = fresh_db("entries").await;
        db.insert_messages(&messages()).await.expect("insert");
        assert_eq!(
            entries_match_messages(&db).await,
            40 * 2 + 60 + 30 + 10,
            "{}",
            db.kind()
        );
    })
    .await;
}

#[tokio::test]
async fn a_forbidden_or_bad_request_is_refused_the_same_way() {
    each_backend(|| async {
        let db = fresh_db("refused").await;
        db.insert_messages(&messages()).await.expect("insert");
        let (_, mut q) = queries().remove(2);
        let old = db.history("dave", &q).await.expect_err("dave is no member");
        let new = db
            .history_entries("dave", &q, APPKEY)
            .await
            .expect_err("nor here");
        assert!(
            matches!(old, roam::store::StoreError::Forbidden { .. }),
            "{}: {old}",
            db.kind()
        );
        assert_eq!(old.to_string(), new.to_string(), "{}", db.kind());
        q.cursor = Some("12".into());
        let old = db
            .history("alice", &q)
            .await
            .expect_err("a cursor from nowhere");
        let new = db
            .history_entries("alice", &q, APPKEY)
            .await
            .expect_err("nor here");
        assert_eq!(old.to_string(), new.to_string(), "{}", db.kind());
    })
    .await;
}

// SQLite only: schema version 2 is an old SQLite file; PostgreSQL stores began later.
#[tokio::test]
async fn a_version_2_database_gets_its_entry_bodies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("v2.db");
    {
        let mut store = Store::open(&path).expect("open");
        store.insert_messages(&messages()).expect("insert");
    }
    // Version 2's messages table: no body column.
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch("ALTER TABLE messages DROP COLUMN body; PRAGMA user_version = 2;")
        .expect("back to version 2");
    drop(conn);
    let store = Store::open(&path).expect("migrates");
    let (version, missing): (i64, i64) = rusqlite::Connection::open(&path)
        .expect("open")
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT count(*) FROM messages WHERE body IS NULL)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("version");
    assert_eq!((version, missing), (roam::store::schema::SCHEMA_VERSION, 0));
    assert_eq!(
        entries_match_messages(&file_db(store)).await,
        40 * 2 + 60 + 30 + 10
    );
}

/// A store holding [`messages`] with the stored body of every third message removed: a
/// SQLite file changed behind the store's back, or a PostgreSQL database.
async fn with_some_bodies_forgotten(dir: &std::path::Path) -> Db {
    match current() {
        Backend::Sqlite => {
            let path = dir.join("partial.db");
            let mut store = Store::open(&path).expect("open");
            store.insert_messages(&messages()).expect("insert");
            let forgotten = rusqlite::Connection::open(&path)
                .expect("open")
                .execute("UPDATE messages SET body = NULL WHERE rowid % 3 = 0", [])
                .expect("forget some bodies");
            assert!(forgotten > 30, "{forgotten}");
            file_db(store)
        }
        Backend::Postgres => {
            let (_, url) = postgres::database("bodies").expect("a cluster: present() said so");
            let db = Db::open(&url).await.expect("PostgreSQL store");
            db.insert_messages(&messages()).await.expect("insert");
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("raw connect");
            tokio::spawn(conn);
            let forgotten = client
                .execute("UPDATE messages SET body = NULL WHERE id % 3 = 0", &[])
                .await
                .expect("forget some bodies");
            assert!(forgotten > 30, "{forgotten}");
            db
        }
    }
}

#[tokio::test]
async fn a_message_without_a_stored_body_is_served_from_its_json() {
    each_backend(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = with_some_bodies_forgotten(dir.path()).await;
        assert_eq!(
            entries_match_messages(&db).await,
            40 * 2 + 60 + 30 + 10,
            "{}",
            db.kind()
        );
    })
    .await;
}
