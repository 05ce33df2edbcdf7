//! Shared test data: export lines and messages built from the protocol types.
#![allow(dead_code)]

pub mod backends;
pub mod postgres;

use roam::protocol::json::ExportLine;
use roam::protocol::{
    Attachment, ChatType, Content, Direction, HistoryFilters, HistoryQuery, Message,
};
use roam::store::Store;
use serde_json::Map;

/// A text message.
pub fn text(id: u64, time: i64, from: &str, to: &str, kind: ChatType, body: &str) -> Message {
    Message {
        id,
        from: from.into(),
        to: to.into(),
        chat_type: kind,
        time,
        content: Content::Text { text: body.into() },
        ext: Map::new(),
        meta: None,
    }
}

/// An image message.
pub fn image(id: u64, time: i64, from: &str, to: &str, kind: ChatType) -> Message {
    Message {
        content: Content::Image {
            file: Attachment {
                url: format!("https://files.example/{id}"),
                secret: Some("s".into()),
                filename: "a.png".into(),
                file_length: Some(10),
            },
            size: None,
            gif: false,
        },
        ..text(id, time, from, to, kind, "")
    }
}

/// One export line (JSON, no newline).
pub fn line(message: &Message) -> String {
    serde_json::to_string(&ExportLine::from_message(message, "outgoing"))
        .expect("export line serializes")
}

/// Base id: above 2^53, as real ids are.
pub const BASE_ID: u64 = 1_300_000_000_000_000_000;

/// A conversation of `n` text messages between alice and bob, alternating senders, with
/// runs of equal timestamps (three messages per millisecond) and ids that do not follow
/// time order inside a run, so ordering by (time, id) is really exercised.
pub fn alice_bob(n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| {
            let time = 1_700_000_000_000 + (i / 3) as i64;
            // Within a run of three, ids go 2,1,0: the id breaks the tie, not insertion.
            let id = BASE_ID + (i / 3 * 3 + (2 - i % 3)) as u64;
            let (from, to) = if i % 2 == 0 {
                ("alice", "bob")
            } else {
                ("bob", "alice")
            };
            if i % 10 == 9 {
                image(id, time, from, to, ChatType::Single)
            } else {
                text(
                    id,
                    time,
                    from,
                    to,
                    ChatType::Single,
                    &format!("message {i}"),
                )
            }
        })
        .collect()
}

/// Ids in (time, id) order, oldest first.
pub fn ordered_ids(messages: &[Message]) -> Vec<u64> {
    let mut v: Vec<(i64, u64)> = messages.iter().map(|m| (m.time, m.id)).collect();
    v.sort();
    v.into_iter().map(|(_, id)| id).collect()
}

/// Every message id of a conversation in `store` as `user` reads it, oldest first.
pub fn stored_ids(store: &Store, user: &str, conversation: &str, kind: ChatType) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut cursor = None;
    for _ in 0..10_000 {
        let query = HistoryQuery {
            conversation: conversation.into(),
            kind,
            cursor: cursor.take(),
            page_size: 50,
            direction: Direction::Down,
            filters: HistoryFilters::default(),
        };
        let page = store.history(user, &query).expect("page");
        ids.extend(page.messages.iter().map(|m| m.id));
        if page.is_last {
            return ids;
        }
        cursor = page.next_cursor;
    }
    panic!("the store's pages did not end");
}

/// Everything a store file holds about its messages, row by row (conversation key and kind,
/// columns, JSON and entry body), in id order: two stores hold the same messages exactly
/// when these are equal.
pub fn dump(store_path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(store_path).expect("open");
    let mut stmt = conn
        .prepare(
            "SELECT m.id, c.key, c.kind, m.chat_type, m.sender, m.receiver, m.time, m.type,
                    m.json, hex(m.body)
             FROM messages m JOIN convs c ON c.id = m.conv ORDER BY m.id",
        )
        .expect("prepare");
    stmt.query_map([], |r| {
        let mut row = Vec::new();
        for i in 0..10 {
            row.push(format!("{:?}", r.get_ref(i)?));
        }
        Ok(row.join(" "))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}
