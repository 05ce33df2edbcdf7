//! The local history database (SQLite) behind the embedded server, and import of the
//! service's export files.
//!
//! Access rules (roam's choice where the service is silent):
//! - a single chat's history is readable by its two participants only; since the key is
//!   built from the asking user and the peer, nobody can name another pair's chat;
//! - a group's history by its members (state file) and by anyone who has sent to it;
//! - a chat room's history by any user, as rooms are public on the service.
//!
//! User, peer and group ids are lowercased on the way in, as the service treats them
//! case-insensitively.

pub mod import;
pub mod pool;
pub mod schema;
pub mod state;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::protocol::json::MessageJson;
use crate::protocol::{ChatType, Conversation, Direction, HistoryPage, HistoryQuery, Message};
use schema::{conference_key, id_from_sql, id_to_sql, kind_from_sql, kind_to_sql, single_key};
use state::StateFile;

pub use import::{ImportOptions, ImportSummary, Rejection, import_files, import_reader};
pub use pool::StorePool;

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file could not be opened.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The database was written by another schema version.
    #[error("database {path} has schema version {found}, this roam expects {expected}")]
    SchemaVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: i64,
        /// The version this build writes.
        expected: i64,
    },
    /// A user id that is not `[a-zA-Z0-9_.-]{1,64}`.
    #[error("invalid user id {0:?}: use 1 to 64 of a-z, 0-9, '_', '.', '-' (not \".\" or \"..\")")]
    InvalidId(String),
    /// An empty password.
    #[error("the password must not be empty")]
    EmptyPassword,
    /// Hashing or reading a password hash failed.
    #[error("password hash: {0}")]
    PasswordHash(String),
    /// A state file entry that cannot be applied.
    #[error("state file: {0}")]
    State(String),
    /// A history cursor this store did not issue for that conversation.
    #[error("cursor {0:?} does not point into this conversation")]
    BadCursor(String),
    /// A page size outside 1..=50.
    #[error("page size must be between 1 and 50, got {0}")]
    BadPageSize(u32),
    /// The user may not read that conversation.
    #[error("user {user:?} may not read conversation {conversation:?}")]
    Forbidden {
        /// The asking user.
        user: String,
        /// The conversation id.
        conversation: String,
    },
    /// A message that cannot be stored (empty sender or receiver).
    #[error("message {id}: {reason}")]
    BadMessage {
        /// The message id.
        id: u64,
        /// Why.
        reason: String,
    },
}

/// A user who can log in (never with the password hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// User id (lowercase).
    pub name: String,
    /// A stable UUID, as the token response carries one.
    pub uuid: String,
    /// Created (ms since the epoch).
    pub created: i64,
    /// Last modified (ms since the epoch).
    pub modified: i64,
}

/// What [`Store::insert_messages`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsertCounts {
    /// Messages stored for the first time.
    pub new: u64,
    /// Messages whose id was already stored (left unchanged).
    pub duplicates: u64,
}

/// What [`Store::apply_state`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateSummary {
    /// Users created or updated.
    pub users: usize,
    /// Group memberships recorded.
    pub memberships: usize,
    /// Conversation states recorded.
    pub conversations: usize,
}

impl std::fmt::Display for StateSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "state: {} users, {} group memberships, {} conversation states",
            self.users, self.memberships, self.conversations
        )
    }
}

/// The history database. One connection; share it between threads with [`StorePool`].
pub struct Store {
    conn: Connection,
    /// Conversation key → row id, kept across import batches so each message costs
    /// one insert, not a lookup too. Cleared whenever a write transaction fails.
    conv_cache: HashMap<String, i64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.conn.path())
            .finish()
    }
}

/// Checks and lowercases a user, peer or group id by the one id rule the client follows
/// too ([`crate::protocol::ids`], PROTOCOL.md §1).
pub fn check_id(id: &str) -> Result<String, StoreError> {
    crate::protocol::ids::check(id)
        .map_err(|_| StoreError::InvalidId(id.chars().take(80).collect()))
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    if password.is_empty() {
        return Err(StoreError::EmptyPassword);
    }
    let salt_bytes: [u8; 16] = rand::random();
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| StoreError::PasswordHash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::PasswordHash(e.to_string()))
}

/// A hash nobody's password matches, verified for unknown users so that a login costs the
/// same whether or not the user exists.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("roam: no such user").unwrap_or_default())
}

fn verify_hash(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Reads a stored message row back into a message.
fn message_from_row(
    id: i64,
    chat_type: i64,
    sender: String,
    receiver: String,
    time: i64,
    json: &str,
) -> Result<Message, StoreError> {
    let id = id_from_sql(id);
    let form: MessageJson = serde_json::from_str(json).map_err(|e| StoreError::BadMessage {
        id,
        reason: format!("stored JSON unreadable: {e}"),
    })?;
    let kind = kind_from_sql(chat_type);
    let mut message =
        form.to_message(id, time, Some(kind))
            .map_err(|e| StoreError::BadMessage {
                id,
                reason: e.to_string(),
            })?;
    message.chat_type = kind;
    message.from = sender;
    message.to = receiver;
    Ok(message)
}

/// The conversation key of a message, lowercased ids assumed.
fn key_of(message: &Message) -> String {
    match message.chat_type {
        ChatType::Single => single_key(&message.from, &message.to),
        ChatType::Group | ChatType::Room => conference_key(&message.to),
    }
}

impl Store {
    /// Opens (creating when missing) a database file: WAL journal, a busy timeout, and the
    /// schema checked or created. A new file is readable by its owner only.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        create_private(path);
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // WAL lets the server's readers go on while an import writes.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        Store::init(conn, path)
    }

    /// Opens a private in-memory database (tests, benchmarks).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        Store::init(conn, Path::new(":memory:"))
    }

    fn init(conn: Connection, path: &Path) -> Result<Store, StoreError> {
        conn.set_prepared_statement_cache_capacity(64);
        if let Err(found) = schema::init(&conn)? {
            return Err(StoreError::SchemaVersion {
                path: path.to_path_buf(),
                found,
                expected: schema::SCHEMA_VERSION,
            });
        }
        Ok(Store {
            conn,
            conv_cache: HashMap::new(),
        })
    }

    /// Creates a user or replaces their password; only an argon2id hash is stored.
    pub fn set_password(&mut self, name: &str, password: &str) -> Result<(), StoreError> {
        let name = check_id(name)?;
        let hash = hash_password(password)?;
        self.put_user(&name, &hash)
    }

    fn put_user(&self, name: &str, hash: &str) -> Result<(), StoreError> {
        let now = now_ms();
        self.conn
            .prepare_cached(
                "INSERT INTO users(name, password_hash, uuid, created, modified)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT(name) DO UPDATE SET password_hash = ?2, modified = ?4",
            )?
            .execute(params![name, hash, new_uuid(), now])?;
        Ok(())
    }

    /// Whether the password is the user's. Unknown users and malformed ids are `false`,
    /// after the same work as a real check.
    pub fn verify_password(&self, name: &str, password: &str) -> Result<bool, StoreError> {
        let stored: Option<String> = match check_id(name) {
            Ok(name) => self
                .conn
                .prepare_cached("SELECT password_hash FROM users WHERE name = ?1")?
                .query_row([name], |r| r.get(0))
                .optional()?,
            Err(_) => None,
        };
        match stored {
            Some(hash) => Ok(verify_hash(&hash, password)),
            None => {
                verify_hash(dummy_hash(), password);
                Ok(false)
            }
        }
    }

    /// A user's record, when they exist.
    pub fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let Ok(name) = check_id(name) else {
            return Ok(None);
        };
        Ok(self
            .conn
            .prepare_cached("SELECT name, uuid, created, modified FROM users WHERE name = ?1")?
            .query_row([name], |r| {
                Ok(UserRecord {
                    name: r.get(0)?,
                    uuid: r.get(1)?,
                    created: r.get(2)?,
                    modified: r.get(3)?,
                })
            })
            .optional()?)
    }

    /// How many messages are stored.
    pub fn message_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Sets `PRAGMA synchronous`: imports use `FULL` so a committed batch survives a power
    /// cut; `OFF` is for throwaway databases (benchmarks).
    pub fn set_synchronous(&self, mode: &str) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "synchronous", mode)?;
        Ok(())
    }

    /// Applies a state file: users (plain passwords hashed here), group memberships and
    /// per-user conversation state, all in one transaction. Applying it again updates in
    /// place.
    pub fn apply_state(&mut self, state: &StateFile) -> Result<StateSummary, StoreError> {
        let mut summary = StateSummary::default();
        // Hash first: argon2 is slow and has no business inside the write transaction.
        let mut users = Vec::with_capacity(state.users.len());
        for (i, u) in state.users.iter().enumerate() {
            let entry = |e: StoreError| StoreError::State(format!("users[{i}] ({}): {e}", u.name));
            let name = check_id(&u.name).map_err(entry)?;
            let hash = match (&u.password, &u.password_hash) {
                (_, Some(hash)) => {
                    let parsed = PasswordHash::new(hash).map_err(|e| {
                        entry(StoreError::PasswordHash(format!("not a PHC string: {e}")))
                    })?;
                    if parsed.algorithm.as_str() != "argon2id" {
                        return Err(entry(StoreError::PasswordHash(format!(
                            "algorithm {} is not argon2id",
                            parsed.algorithm
                        ))));
                    }
                    hash.clone()
                }
                (Some(plain), None) => hash_password(plain).map_err(entry)?,
                // Named only for completeness (e.g. senders): they cannot log in.
                (None, None) => continue,
            };
            users.push((name, hash));
        }
        let tx = self.conn.transaction()?;
        let result = (|| -> Result<(), StoreError> {
            for (name, hash) in &users {
                let now = now_ms();
                tx.prepare_cached(
                    "INSERT INTO users(name, password_hash, uuid, created, modified)
                     VALUES (?1, ?2, ?3, ?4, ?4)
                     ON CONFLICT(name) DO UPDATE SET password_hash = ?2, modified = ?4",
                )?
                .execute(params![name, hash, new_uuid(), now])?;
                summary.users += 1;
            }
            for (i, g) in state.groups.iter().enumerate() {
                let gid =
                    check_id(&g.id).map_err(|e| StoreError::State(format!("groups[{i}]: {e}")))?;
                let conv = ensure_conv(&tx, &conference_key(&gid), ChatType::Group)?;
                for m in &g.members {
                    let member = check_id(m).map_err(|e| {
                        StoreError::State(format!("groups[{i}] ({gid}) member: {e}"))
                    })?;
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO user_convs(user, conv, peer) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![member, conv, gid])?;
                    summary.memberships += 1;
                }
            }
            for (i, c) in state.conversations.iter().enumerate() {
                let at = |e: String| StoreError::State(format!("conversations[{i}]: {e}"));
                let user = check_id(&c.user).map_err(|e| at(e.to_string()))?;
                let peer = check_id(&c.id).map_err(|e| at(e.to_string()))?;
                let (key, kind) = match c.kind.as_str() {
                    "chat" => (single_key(&user, &peer), ChatType::Single),
                    "groupchat" => (conference_key(&peer), ChatType::Group),
                    other => {
                        return Err(at(format!(
                            "type {other:?} must be \"chat\" or \"groupchat\""
                        )));
                    }
                };
                for mark in &c.marks {
                    let ok = mark
                        .strip_prefix("mark_")
                        .and_then(|n| n.parse::<u8>().ok())
                        .is_some_and(|n| n <= 19 && mark.len() <= 7);
                    if !ok {
                        return Err(at(format!("mark {mark:?} is not mark_0..mark_19")));
                    }
                }
                let marks = serde_json::to_string(&c.marks).map_err(|e| at(e.to_string()))?;
                let conv = ensure_conv(&tx, &key, kind)?;
                tx.prepare_cached(
                    "INSERT INTO user_convs(user, conv, peer, unread, pinned, pinned_at, marks)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT(user, conv) DO UPDATE SET
                        unread = ?4, pinned = ?5, pinned_at = ?6, marks = ?7",
                )?
                .execute(params![
                    user,
                    conv,
                    peer,
                    c.unread,
                    c.pinned,
                    c.pinned_at.filter(|_| c.pinned),
                    marks
                ])?;
                summary.conversations += 1;
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                tx.commit()?;
                Ok(summary)
            }
            Err(e) => {
                // Dropping the transaction rolls back; the cache may name rolled-back rows.
                drop(tx);
                self.conv_cache.clear();
                Err(e)
            }
        }
    }

    /// Stores messages in one transaction, skipping ids already stored. Ids are lowercased
    /// on the way in. This is import's write path, open for bulk loaders and benchmarks.
    pub fn insert_messages(&mut self, messages: &[Message]) -> Result<InsertCounts, StoreError> {
        let result = self.insert_batch(messages);
        if result.is_err() {
            self.conv_cache.clear();
        }
        result
    }

    fn insert_batch(&mut self, messages: &[Message]) -> Result<InsertCounts, StoreError> {
        let mut counts = InsertCounts::default();
        let tx = self.conn.transaction()?;
        // Per conversation: the newest new message and its kind; per user: list rows.
        let mut newest: HashMap<i64, (i64, i64, ChatType)> = HashMap::new();
        let mut rows: HashSet<(String, i64, String)> = HashSet::new();
        let mut singles: HashSet<i64> = HashSet::new();
        let mut group_senders: HashMap<i64, HashSet<String>> = HashMap::new();
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO messages(id, conv, chat_type, sender, receiver, time, type, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut owned;
            for original in messages {
                let mut message = original;
                if has_upper(&message.from) || has_upper(&message.to) {
                    owned = original.clone();
                    owned.from = owned.from.to_ascii_lowercase();
                    owned.to = owned.to.to_ascii_lowercase();
                    message = &owned;
                }
                if message.from.is_empty() || message.to.is_empty() {
                    return Err(StoreError::BadMessage {
                        id: message.id,
                        reason: "empty sender or receiver".into(),
                    });
                }
                let key = key_of(message);
                let conv = match self.conv_cache.get(&key) {
                    Some(id) => *id,
                    None => {
                        let id = ensure_conv(&tx, &key, message.chat_type)?;
                        self.conv_cache.insert(key, id);
                        id
                    }
                };
                let json =
                    serde_json::to_string(&MessageJson::from_message(message)).map_err(|e| {
                        StoreError::BadMessage {
                            id: message.id,
                            reason: e.to_string(),
                        }
                    })?;
                let sql_id = id_to_sql(message.id);
                let changed = insert.execute(params![
                    sql_id,
                    conv,
                    kind_to_sql(message.chat_type),
                    message.from,
                    message.to,
                    message.time,
                    message.content.type_name(),
                    json
                ])?;
                if changed == 0 {
                    counts.duplicates += 1;
                    continue;
                }
                counts.new += 1;
                let entry = newest
                    .entry(conv)
                    .or_insert((message.time, sql_id, message.chat_type));
                if (message.time, sql_id) > (entry.0, entry.1) {
                    *entry = (message.time, sql_id, message.chat_type);
                }
                match message.chat_type {
                    // A single chat's pair is fixed by its key: both rows once per batch.
                    ChatType::Single => {
                        if singles.insert(conv) {
                            rows.insert((message.from.clone(), conv, message.to.clone()));
                            rows.insert((message.to.clone(), conv, message.from.clone()));
                        }
                    }
                    ChatType::Group => {
                        let senders = group_senders.entry(conv).or_default();
                        if !senders.contains(message.from.as_str()) {
                            senders.insert(message.from.clone());
                            rows.insert((message.from.clone(), conv, message.to.clone()));
                        }
                    }
                    // Rooms never show in conversation lists.
                    ChatType::Room => {}
                }
            }
        }
        {
            let mut update = tx.prepare_cached(
                "UPDATE convs SET
                    kind = CASE WHEN last_id IS NULL THEN ?4 ELSE kind END,
                    last_time = ?2, last_id = ?3
                 WHERE id = ?1 AND (last_id IS NULL OR (last_time, last_id) < (?2, ?3))",
            )?;
            for (conv, (time, id, kind)) in &newest {
                update.execute(params![conv, time, id, kind_to_sql(*kind)])?;
            }
            let mut member = tx.prepare_cached(
                "INSERT OR IGNORE INTO user_convs(user, conv, peer) VALUES (?1, ?2, ?3)",
            )?;
            for (user, conv, peer) in &rows {
                member.execute(params![user, conv, peer])?;
            }
        }
        tx.commit()?;
        Ok(counts)
    }

    /// A user's conversation list: single chats they took part in and groups they belong
    /// to or sent to (never rooms, never conversations without messages); pinned first,
    /// then newest activity; unread, pins and marks from the state file.
    pub fn conversations(&self, user: &str) -> Result<Vec<Conversation>, StoreError> {
        let Ok(user) = check_id(user) else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT uc.peer, c.kind, uc.unread, uc.pinned, uc.pinned_at, uc.marks,
                    m.id, m.chat_type, m.sender, m.receiver, m.time, m.json
             FROM user_convs uc
             JOIN convs c ON c.id = uc.conv
             JOIN messages m ON m.id = c.last_id
             WHERE uc.user = ?1 AND c.kind != 2
             ORDER BY uc.pinned DESC, c.last_time DESC, c.last_id DESC",
        )?;
        let mut rows = stmt.query([&user])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let marks: String = r.get(5)?;
            let json: String = r.get(11)?;
            let last = message_from_row(
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                &json,
            );
            let pinned: bool = r.get(3)?;
            out.push(Conversation {
                id: r.get(0)?,
                kind: kind_from_sql(r.get(1)?),
                unread: r.get(2)?,
                pinned,
                pinned_at: r.get(4)?,
                marks: serde_json::from_str(&marks).unwrap_or_default(),
                // A stored message that no longer reads is shown as an empty conversation
                // rather than hiding the whole list.
                last_message: last.ok(),
            });
        }
        Ok(out)
    }

    /// One page of a conversation's history for `user`.
    ///
    /// Order is (timestamp, id); `Up` goes newest first, `Down` oldest first. The cursor is
    /// the decimal id of the first message of the page (what the previous page returned as
    /// `next_cursor`), inclusive. Groups and rooms share a key space, as they share the
    /// queue domain: `kind` `Group` or `Room` reads the same conversation.
    pub fn history(&self, user: &str, q: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        if !(1..=50).contains(&q.page_size) {
            return Err(StoreError::BadPageSize(q.page_size));
        }
        let user = check_id(user)?;
        let peer = check_id(&q.conversation)?;
        let key = match q.kind {
            ChatType::Single => single_key(&user, &peer),
            ChatType::Group | ChatType::Room => conference_key(&peer),
        };
        let empty = HistoryPage {
            messages: Vec::new(),
            next_cursor: None,
            is_last: true,
            undecodable: 0,
        };
        let conv: Option<(i64, i64)> = self
            .conn
            .prepare_cached("SELECT id, kind FROM convs WHERE key = ?1")?
            .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((conv, kind)) = conv else {
            return Ok(empty);
        };
        if kind_from_sql(kind) == ChatType::Group {
            let allowed = self
                .conn
                .prepare_cached("SELECT 1 FROM user_convs WHERE user = ?1 AND conv = ?2")?
                .exists(params![user, conv])?;
            if !allowed {
                return Err(StoreError::Forbidden {
                    user,
                    conversation: peer,
                });
            }
        }

        let mut sql = String::from(
            "SELECT id, chat_type, sender, receiver, time, json FROM messages WHERE conv = ?",
        );
        let mut args: Vec<SqlValue> = vec![SqlValue::Integer(conv)];
        let up = q.direction == Direction::Up;
        if let Some(cursor) = &q.cursor {
            let id: u64 = cursor
                .parse()
                .map_err(|_| StoreError::BadCursor(cursor.chars().take(40).collect()))?;
            let time: Option<i64> = self
                .conn
                .prepare_cached("SELECT time FROM messages WHERE id = ?1 AND conv = ?2")?
                .query_row(params![id_to_sql(id), conv], |r| r.get(0))
                .optional()?;
            let time = time.ok_or_else(|| StoreError::BadCursor(cursor.clone()))?;
            sql.push_str(if up {
                " AND (time, id) <= (?, ?)"
            } else {
                " AND (time, id) >= (?, ?)"
            });
            args.push(SqlValue::Integer(time));
            args.push(SqlValue::Integer(id_to_sql(id)));
        }
        let f = &q.filters;
        if let Some(start) = f.start_time {
            sql.push_str(" AND time >= ?");
            args.push(SqlValue::Integer(start));
        }
        if let Some(end) = f.end_time {
            sql.push_str(" AND time <= ?");
            args.push(SqlValue::Integer(end));
        }
        if let Some(sender) = f.sender.as_deref().filter(|s| !s.is_empty()) {
            sql.push_str(" AND sender = ?");
            args.push(SqlValue::Text(sender.to_ascii_lowercase()));
        }
        if !f.types.is_empty() {
            sql.push_str(" AND type IN (");
            for (i, t) in f.types.iter().enumerate() {
                sql.push_str(if i == 0 { "?" } else { ", ?" });
                args.push(SqlValue::Text(t.clone()));
            }
            sql.push(')');
        }
        sql.push_str(if up {
            " ORDER BY time DESC, id DESC LIMIT ?"
        } else {
            " ORDER BY time ASC, id ASC LIMIT ?"
        });
        // One more than asked: it tells whether there is a next page and where it starts.
        args.push(SqlValue::Integer(i64::from(q.page_size) + 1));

        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(args))?;
        let mut messages = Vec::with_capacity(q.page_size as usize + 1);
        let mut next = None;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if messages.len() == q.page_size as usize {
                next = Some(id_from_sql(id).to_string());
                break;
            }
            let json: String = r.get(5)?;
            messages.push(message_from_row(
                id,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                &json,
            )?);
        }
        Ok(HistoryPage {
            messages,
            is_last: next.is_none(),
            undecodable: 0,
            next_cursor: next,
        })
    }
}

/// Creates a missing database file with mode 0600 before SQLite opens it: it holds password
/// hashes and everybody's history, and SQLite's default would follow the umask (often
/// world-readable). SQLite gives the `-wal` and `-shm` files the database file's mode.
/// Best effort: when this fails, opening reports the real problem.
fn create_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let name = path.as_os_str();
        // `:memory:` and `file:` URIs are SQLite's to interpret, not file names.
        let uri = name.to_str().is_some_and(|n| n.starts_with("file:"));
        if name.is_empty() || name == ":memory:" || uri {
            return;
        }
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn has_upper(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_uppercase())
}

/// The row id of a conversation, creating it (without messages) when new.
fn ensure_conv(conn: &Connection, key: &str, kind: ChatType) -> Result<i64, StoreError> {
    conn.prepare_cached("INSERT OR IGNORE INTO convs(key, kind) VALUES (?1, ?2)")?
        .execute(params![key, kind_to_sql(kind)])?;
    Ok(conn
        .prepare_cached("SELECT id FROM convs WHERE key = ?1")?
        .query_row([key], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_new_database_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("roam.sqlite");
        let mut store = Store::open(&path).expect("store");
        store.set_password("alice", "pw").expect("user");
        for file in [path.clone(), dir.path().join("roam.sqlite-wal")] {
            let mode = std::fs::metadata(&file).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{} {mode:o}", file.display());
        }
    }

    /// The page query must walk the (conv, time, id) index, not sort the conversation.
    #[test]
    fn history_pages_use_the_index_without_sorting() {
        let store = Store::open_in_memory().expect("store");
        for (cmp, order) in [("<=", "DESC"), (">=", "ASC")] {
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT id, json FROM messages WHERE conv = 1
                 AND (time, id) {cmp} (5, 6) ORDER BY time {order}, id {order} LIMIT 51"
            );
            let mut stmt = store.conn.prepare(&sql).expect("prepare");
            let plan: Vec<String> = stmt
                .query_map([], |r| r.get::<_, String>(3))
                .expect("plan")
                .collect::<Result<_, _>>()
                .expect("rows");
            let plan = plan.join("\n");
            assert!(plan.contains("messages_by_conv"), "{plan}");
            assert!(plan.contains("time"), "range on time expected: {plan}");
            assert!(
                !plan.contains("TEMP B-TREE"),
                "sorts instead of walking: {plan}"
            );
        }
    }
}
