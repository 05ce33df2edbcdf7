//! The SQLite schema and the small encodings it relies on.
//!
//! Messages keep their JSON form (PROTOCOL.md §3.3) as text in `messages`, keyed by id and
//! written in arrival order, and beside it the part of their history entry (PROTOCOL.md §5)
//! that only the message decides, so a page is rows turned into bytes. What pages walk is `timeline`: one narrow row per message,
//! clustered by conversation and (time, id), with indexes for the type and sender filters.
//! Conversations get an integer key so those stay narrow, and a per-user table is
//! maintained by import so listing a user's conversations never scans messages.

use rusqlite::Connection;

use crate::protocol::{ChatType, encode_body_tail};

/// The schema version written to `PRAGMA user_version`; a database with a newer version is
/// refused rather than misread, an older one is migrated.
pub const SCHEMA_VERSION: i64 = 7;

/// Creates the tables when they do not exist.
pub(crate) const CREATE: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,          -- argon2id, PHC string; never a plain password
    uuid          TEXT NOT NULL,
    created       INTEGER NOT NULL,
    modified      INTEGER NOT NULL
);

-- Apps that may obtain admin tokens (grant_type client_credentials), from the state file.
CREATE TABLE IF NOT EXISTS apps (
    client_id   TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,            -- argon2id, PHC string; never a plain secret
    uuid        TEXT NOT NULL
);

-- One row per conversation: a single chat (shared by both users), a group or a room.
-- last_time/last_id point at the newest message, NULL while it has none.
CREATE TABLE IF NOT EXISTS convs (
    id        INTEGER PRIMARY KEY,
    key       TEXT NOT NULL UNIQUE,       -- 'u:alice|bob' (sorted pair) or 'g:groupid'
    kind      INTEGER NOT NULL,           -- 0 single, 1 group, 2 room
    last_time INTEGER,
    last_id   INTEGER
);

-- id holds the u64 message id with its top bit flipped, read as i64, so SQLite's signed
-- order is the unsigned order even for ids at or above 2^63. Exports arrive in id order,
-- so rows are appended.
CREATE TABLE IF NOT EXISTS messages (
    id        INTEGER PRIMARY KEY,
    conv      INTEGER NOT NULL,
    chat_type INTEGER NOT NULL,
    sender    TEXT NOT NULL,
    receiver  TEXT NOT NULL,
    time      INTEGER NOT NULL,
    type      TEXT NOT NULL,              -- content type name: txt, img, ...
    json      TEXT NOT NULL,              -- the JSON message form
    body      BLOB                        -- MessageBody fields 4-5 (contents, ext) as
                                          -- protobuf; NULL only when json is unreadable
);

-- Each conversation's messages in (time, id) order: what a page walks, a filter included,
-- so a page costs the page. Narrow, so import can keep it sorted cheaply.
CREATE TABLE IF NOT EXISTS timeline (
    conv      INTEGER NOT NULL,
    time      INTEGER NOT NULL,
    id        INTEGER NOT NULL,           -- messages.id
    type      TEXT NOT NULL,
    sender    TEXT NOT NULL,
    PRIMARY KEY (conv, time, id)
) WITHOUT ROWID;
-- The msgType filter: one walk per type.
CREATE INDEX IF NOT EXISTS timeline_by_type ON timeline(conv, type, time, id);
-- The userId filter; `type` rides along so sender and type together are checked in the
-- index.
CREATE INDEX IF NOT EXISTS timeline_by_sender ON timeline(conv, sender, time, id, type);

-- A user's conversation list, maintained by import (single chats taken part in, groups
-- sent to) and by the state file (group members, unread, pins, marks).
CREATE TABLE IF NOT EXISTS user_convs (
    user      TEXT NOT NULL,
    conv      INTEGER NOT NULL,
    peer      TEXT NOT NULL,              -- the other user, or the group id
    unread    INTEGER NOT NULL DEFAULT 0,
    pinned    INTEGER NOT NULL DEFAULT 0,
    pinned_at INTEGER,
    marks     TEXT NOT NULL DEFAULT '[]', -- JSON array of mark names
    PRIMARY KEY (user, conv)
) WITHOUT ROWID;
"#;

/// Version 1 had no timeline: pages walked an index of `messages`, and filters scanned
/// the conversation. Its timeline is built from its messages in the timeline's own order.
/// Conversation rows without messages or list entries (left by duplicate lines) go, so
/// they do not fix a conversation's kind.
const FROM_VERSION_1: &str = r#"
INSERT INTO timeline(conv, time, id, type, sender)
    SELECT conv, time, id, type, sender FROM messages ORDER BY conv, time, id;
DROP INDEX IF EXISTS messages_by_conv;
DELETE FROM convs WHERE last_id IS NULL AND id NOT IN (SELECT conv FROM user_convs);
"#;

/// Version 3 stores each message's entry body (`messages.body`, see
/// [`crate::protocol::encode_body_tail`]), written at import; older files get the column
/// and have it filled from their JSON, once. A message whose JSON cannot be read keeps
/// NULL, and pages report it as they always did.
fn add_entry_bodies(tx: &Connection) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE messages ADD COLUMN body BLOB")?;
    let mut read =
        tx.prepare("SELECT id, chat_type, sender, receiver, time, json FROM messages")?;
    let mut write = tx.prepare("UPDATE messages SET body = ?2 WHERE id = ?1")?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let message = super::message_from_row(
            id,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get_ref(5)?.as_str().map_err(rusqlite::Error::from)?,
        );
        if let Ok(message) = message {
            write.execute(rusqlite::params![id, encode_body_tail(&message)])?;
        }
    }
    Ok(())
}

// Version 4 adds `apps` (app credentials for the admin grants); CREATE makes it.

/// Version 5 adds names (PROTOCOL.md §8.1): a nickname per user, whether they can log in
/// or only appear as senders, and a name, description, owner and creation time per group
/// or room. A step of its own: older databases simply gain the empty tables.
const NAMES: &str = r#"
CREATE TABLE IF NOT EXISTS user_names (
    name     TEXT PRIMARY KEY,            -- user id, lowercase
    nickname TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS conv_names (
    conv        INTEGER PRIMARY KEY,      -- convs.id of a group or a room
    name        TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    owner       TEXT NOT NULL DEFAULT '',
    created     INTEGER NOT NULL DEFAULT 0
);
"#;

/// Version 6 adds attachments (PROTOCOL.md §8.3): which messages name which chat file
/// (`message_files`, written with each message, so access follows the message's
/// conversation) and the files' bytes (`files`, from `roam import`'s `files/` folder). A
/// step of its own; older databases have their messages' attachments linked once
/// ([`super::files::link_stored_messages`]).
pub(crate) const FILES: &str = r#"
CREATE TABLE IF NOT EXISTS message_files (
    uuid    TEXT NOT NULL,                -- the URL's chatfiles/{uuid}, lowercase
    message INTEGER NOT NULL,             -- messages.id
    secret  TEXT,                         -- the share-secret the message carries
    PRIMARY KEY (uuid, message)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS files (
    uuid         TEXT PRIMARY KEY,        -- lowercase
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    thumbnail    BLOB,                    -- served for `thumbnail: true` when present
    expires      INTEGER                  -- ms since the epoch; NULL: kept
);
"#;

/// Version 7 adds search over every conversation ([`super::search`]): one row per message
/// with searchable text (its text, file name or address) in `search_docs`, keyed by
/// `time << 8 | tie` so that key order is time order, and an FTS5 trigram index over it
/// (external content: the text is stored once). Import writes both (a trigger would make
/// import five times slower, see [`super::search`]); triggers take deleted messages out
/// of both.
/// Existing messages are indexed by the migration.
pub(crate) const SEARCH: &str = r#"
CREATE TABLE IF NOT EXISTS search_docs (
    key  INTEGER PRIMARY KEY,             -- time << 8 | tie: key order is time order
    msg  INTEGER NOT NULL UNIQUE,         -- messages.id
    conv INTEGER NOT NULL,
    text TEXT NOT NULL
);
-- A conversation's documents newest first, for scans bounded by conversation and time.
CREATE INDEX IF NOT EXISTS search_docs_by_conv ON search_docs(conv, key);
CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(
    text, content = 'search_docs', content_rowid = 'key', tokenize = 'trigram'
);
CREATE TRIGGER IF NOT EXISTS search_docs_removed AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_index(search_index, rowid, text) VALUES ('delete', old.key, old.text);
END;
CREATE TRIGGER IF NOT EXISTS search_docs_follow_messages AFTER DELETE ON messages BEGIN
    DELETE FROM search_docs WHERE msg = old.id;
END;
"#;

/// Creates, migrates or checks the schema on an open connection. `Err(version)` when the
/// database is newer than this roam.
pub(crate) fn init(conn: &mut Connection) -> rusqlite::Result<Result<(), i64>> {
    let version = user_version(conn)?;
    if version == SCHEMA_VERSION {
        return Ok(Ok(()));
    }
    if !(0..=SCHEMA_VERSION).contains(&version) {
        return Ok(Err(version));
    }
    // Immediate, and the version read again inside: several connections may open an old
    // file at once, and only one may migrate it.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version = user_version(&tx)?;
    if !(0..=SCHEMA_VERSION).contains(&version) {
        return Ok(Err(version));
    }
    if version < SCHEMA_VERSION {
        tx.execute_batch(CREATE)?;
        if version == 1 {
            tx.execute_batch(FROM_VERSION_1)?;
        }
        if (1..3).contains(&version) {
            add_entry_bodies(&tx)?;
        }
        if version < 5 {
            tx.execute_batch(NAMES)?;
        }
        if version < 6 {
            tx.execute_batch(FILES)?;
            if version > 0 {
                super::files::link_stored_messages(&tx)?;
            }
        }
        if version < 7 {
            tx.execute_batch(SEARCH)?;
            // A new file has no messages; an older one has its messages indexed once.
            if version > 0 {
                super::search::index_existing(&tx)?;
            }
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()?;
    Ok(Ok(()))
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// A message id as stored: the top bit flipped so signed order equals unsigned order.
pub fn id_to_sql(id: u64) -> i64 {
    (id ^ (1 << 63)) as i64
}

/// The message id back from its stored form.
pub fn id_from_sql(stored: i64) -> u64 {
    (stored as u64) ^ (1 << 63)
}

/// The stored number of a chat type.
pub fn kind_to_sql(kind: ChatType) -> i64 {
    match kind {
        ChatType::Single => 0,
        ChatType::Group => 1,
        ChatType::Room => 2,
    }
}

/// A chat type from its stored number; unknown numbers read as a group, the most
/// restrictive kind that still shows.
pub fn kind_from_sql(n: i64) -> ChatType {
    match n {
        0 => ChatType::Single,
        2 => ChatType::Room,
        _ => ChatType::Group,
    }
}

/// The conversation key of a single chat: both users share one key, whoever sent.
pub fn single_key(a: &str, b: &str) -> String {
    if a <= b {
        format!("u:{a}|{b}")
    } else {
        format!("u:{b}|{a}")
    }
}

/// The conversation key of a group or room. Both share the `conference` queue domain, so
/// they share one key space too.
pub fn conference_key(id: &str) -> String {
    format!("g:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_ids_keep_unsigned_order() {
        let ids = [0u64, 1, (1 << 53) + 1, (1 << 63) - 1, 1 << 63, u64::MAX];
        for pair in ids.windows(2) {
            assert!(id_to_sql(pair[0]) < id_to_sql(pair[1]), "{pair:?}");
        }
        for id in ids {
            assert_eq!(id_from_sql(id_to_sql(id)), id);
        }
    }

    #[test]
    fn single_keys_do_not_depend_on_who_sent() {
        assert_eq!(single_key("bob", "alice"), single_key("alice", "bob"));
        assert_ne!(single_key("bob", "alice"), conference_key("alice|bob"));
    }
}
