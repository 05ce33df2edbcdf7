//! The PostgreSQL schema and its versioned migrations.
//!
//! The tables mirror the SQLite store's ([`crate::store::schema`]) where the data is the
//! same; what differs is where PostgreSQL does better on its own: no separate timeline
//! (a page walks `messages`' own b-tree indexes, which lead with the conversation), and
//! tokens live here so every server over the database shares them.
//!
//! Migrations run on every start, in one transaction, after
//! `pg_advisory_xact_lock(MIGRATION_LOCK)`: two servers starting at once take turns, and
//! the second finds the work done. A database migrated by a newer roam is refused.
//! After the migration commits, each start makes the indexes an import may have set aside
//! ([`BULK_INDEXES`], and search's trigram index when the `pg_trgm` extension can be had,
//! see [`super::search`]) if they are missing, each in a transaction of its own.

use tokio_postgres::GenericClient;

use super::PgError;

/// The advisory lock key held while migrating (a constant only roam uses: "roam" in ASCII).
pub const MIGRATION_LOCK: i64 = 0x726f_616d;

/// The migrations, in order: version N is `MIGRATIONS[N - 1]`. Never edit one that has
/// shipped; add the next.
pub const MIGRATIONS: &[&str] = &[
    // 1: users, apps, conversations, messages, lists, tokens.
    r#"
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,          -- argon2id, PHC string; never a plain password
    uuid          TEXT NOT NULL,
    created       BIGINT NOT NULL,
    modified      BIGINT NOT NULL
);

CREATE TABLE apps (
    client_id   TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,            -- argon2id, PHC string; never a plain secret
    uuid        TEXT NOT NULL
);

-- One row per conversation: 'u:alice|bob' (sorted pair) or 'g:groupid'.
CREATE TABLE convs (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key       TEXT NOT NULL UNIQUE,
    kind      SMALLINT NOT NULL,          -- 0 single, 1 group, 2 room
    last_time BIGINT,
    last_id   BIGINT
);

-- id: the u64 message id with its top bit flipped, read as i64 (signed order is the
-- unsigned order).
CREATE TABLE messages (
    id        BIGINT PRIMARY KEY,
    conv      BIGINT NOT NULL,
    chat_type SMALLINT NOT NULL,
    sender    TEXT NOT NULL,
    receiver  TEXT NOT NULL,
    time      BIGINT NOT NULL,
    type      TEXT NOT NULL,
    json      TEXT NOT NULL,
    body      BYTEA                       -- the entry body's stored part
);
-- What a page walks: a conversation in (time, id) order, by type, by sender. Each leads
-- with the conversation, so a page is a range of one index, never a sort.
CREATE INDEX messages_page ON messages (conv, time, id);
CREATE INDEX messages_by_type ON messages (conv, type, time, id);
CREATE INDEX messages_by_sender ON messages (conv, sender, time, id) INCLUDE (type);

CREATE TABLE user_convs (
    "user"    TEXT NOT NULL,
    conv      BIGINT NOT NULL,
    peer      TEXT NOT NULL,
    unread    BIGINT NOT NULL DEFAULT 0,
    pinned    BOOLEAN NOT NULL DEFAULT FALSE,
    pinned_at BIGINT,
    marks     TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY ("user", conv)
);

-- Issued tokens, by the SHA-256 of the token (the token itself is never stored).
CREATE TABLE tokens (
    hash       BYTEA PRIMARY KEY,
    app        BOOLEAN NOT NULL,          -- an app's token (client_credentials), not a user's
    holder     TEXT NOT NULL,             -- user id or client id
    serial     BIGINT GENERATED ALWAYS AS IDENTITY,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX tokens_by_holder ON tokens (app, holder, serial);
CREATE INDEX tokens_by_expiry ON tokens (expires_ms);
"#,
    // 2: names (PROTOCOL.md §8.1), from the state file.
    r#"
CREATE TABLE user_names (
    name     TEXT PRIMARY KEY,
    nickname TEXT NOT NULL
);
CREATE TABLE conv_names (
    conv        BIGINT PRIMARY KEY,       -- convs.id of a group or a room
    name        TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    owner       TEXT NOT NULL DEFAULT '',
    created     BIGINT NOT NULL DEFAULT 0
);
"#,
    // 3: attachments (PROTOCOL.md §8.3): which messages name which chat file, written with
    // each message, and the files' bytes from `roam import`'s `files/` folders.
    r#"
CREATE TABLE message_files (
    uuid    TEXT NOT NULL,                -- lowercase
    message BIGINT NOT NULL,              -- messages.id
    secret  TEXT,
    PRIMARY KEY (uuid, message)
);
CREATE TABLE files (
    uuid         TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    thumbnail    BYTEA,
    expires      BIGINT
);
"#,
    // 4: search (see `super::search`): one row per message with searchable text, keyed
    // as the SQLite store keys it; the text folded for the database's substring test.
    // The trigram index on `folded` is made apart from the steps (it needs `pg_trgm`).
    r#"
CREATE TABLE search_docs (
    msg    BIGINT PRIMARY KEY,            -- messages.id
    key    BIGINT NOT NULL UNIQUE,        -- time << 8 | tie: newest first is key order
    conv   BIGINT NOT NULL,
    text   TEXT NOT NULL,             -- NUL characters as U+FFFD (TEXT cannot hold them)
    folded TEXT NOT NULL,             -- the text folded as search folds it, likewise
    raw    BYTEA                      -- the text as written, when it holds a NUL
);
CREATE INDEX search_docs_by_conv ON search_docs (conv, key);
-- A message deleted takes its document with it.
CREATE FUNCTION roam_search_docs_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_docs WHERE msg = OLD.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER search_docs_follow_messages AFTER DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION roam_search_docs_follow();
"#,
];

/// The b-tree indexes an import into an empty table sets aside and makes at its end
/// (see [`super::import`]), by table, name and definition, as their steps made them: the
/// messages' filter indexes (what a page with a type or a sender filter walks) and the
/// search documents' conversation index. Each start makes any that are missing, so an
/// import that died before its end loses nothing for long.
pub(super) const BULK_INDEXES: [(&str, &str, &str); 3] = [
    (
        "messages",
        "messages_by_type",
        "ON messages (conv, type, time, id)",
    ),
    (
        "messages",
        "messages_by_sender",
        "ON messages (conv, sender, time, id) INCLUDE (type)",
    ),
    (
        "search_docs",
        "search_docs_by_conv",
        "ON search_docs (conv, key)",
    ),
];

/// The version that added search: a database migrated from before it has its messages
/// indexed.
const SEARCH_VERSION: i64 = 4;

/// The version this roam writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema to [`latest`] inside `tx` (a transaction the caller commits), under
/// the migration lock. Returns the version found before.
pub async fn migrate(tx: &impl GenericClient) -> Result<i64, PgError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    // Asked first, so a migrated database's start logs no "already exists" notice.
    if !has_relation(tx, "roam_schema").await? {
        tx.batch_execute("CREATE TABLE IF NOT EXISTS roam_schema (version BIGINT NOT NULL)")
            .await?;
    }
    let found: i64 = match tx.query_opt("SELECT version FROM roam_schema", &[]).await? {
        Some(row) => row.try_get(0)?,
        None => {
            tx.execute("INSERT INTO roam_schema(version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    if found > latest() {
        return Err(PgError::SchemaVersion {
            found,
            expected: latest(),
        });
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        tx.batch_execute(step).await?;
        let version = i as i64 + 1;
        tx.execute("UPDATE roam_schema SET version = $1", &[&version])
            .await?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    if found < SEARCH_VERSION {
        super::search::index_existing(tx).await?;
    }
    Ok(found)
}

/// Makes each of the [`BULK_INDEXES`] that is missing, in a transaction of its own. Tries
/// every one; the first failure is returned.
///
/// An index build waits for the writers of its table to finish. An import's batch holds
/// `messages` while it waits for its search documents to commit (see
/// [`super::insert`]), so a transaction that built an index on one of those tables and
/// then waited for the other could wait for that batch forever, in a cycle PostgreSQL
/// cannot see (it runs through roam). One table per transaction has no cycle.
pub(super) async fn make_bulk_indexes(
    client: &mut deadpool_postgres::Client,
) -> Result<(), PgError> {
    let mut first_failure = None;
    for (_, name, definition) in BULK_INDEXES {
        if let Err(e) = make_index(client, name, definition).await {
            first_failure.get_or_insert(e);
        }
    }
    first_failure.map_or(Ok(()), Err)
}

/// Makes the index `name` (`CREATE INDEX name definition`) unless it exists.
async fn make_index(
    client: &mut deadpool_postgres::Client,
    name: &str,
    definition: &str,
) -> Result<(), PgError> {
    let plain: &tokio_postgres::Client = client;
    if has_relation(plain, name).await? {
        return Ok(());
    }
    let tx = client.transaction().await?;
    prepare_index_build(&*tx, name).await?;
    if !has_relation(&*tx, name).await? {
        tx.batch_execute(&format!("CREATE INDEX IF NOT EXISTS {name} {definition}"))
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Readies a transaction to make the missing index `name`: under an advisory lock of
/// that index's own, so two servers starting at once do not build it side by side (the
/// second finds it made) while other indexes can be; with no statement timeout (a build
/// over many rows takes what it takes); and with at least 256 MB to sort in, so the build
/// sorts in memory (a database given more keeps its own).
pub(super) async fn prepare_index_build(
    tx: &impl GenericClient,
    name: &str,
) -> Result<(), PgError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('roam index ' || $1, 0))",
        &[&name],
    )
    .await?;
    tx.batch_execute(
        "SET LOCAL statement_timeout = 0;
         SELECT set_config('maintenance_work_mem', greatest(setting::bigint, 262144) || 'kB', true)
         FROM pg_settings WHERE name = 'maintenance_work_mem';",
    )
    .await?;
    Ok(())
}

/// Whether the table or index `name` exists.
pub(super) async fn has_relation(client: &impl GenericClient, name: &str) -> Result<bool, PgError> {
    Ok(client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .await?
        .try_get(0)?)
}
