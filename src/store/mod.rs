//! The local history database (SQLite) behind the embedded server, and import of the
//! service's export files.
//!
//! Access rules (roam's choice where the service is silent):
//! - a single chat's history is readable by its two participants only; since the key is
//!   built from the asking user and the peer, nobody can name another pair's chat;
//! - a group's history by its members (state file) and by anyone who has sent to it;
//! - a chat room's history by any user, as rooms are public on the service;
//! - an attachment by those who may read a message naming it ([`files`]).
//!
//! User, peer and group ids are lowercased on the way in, as the service treats them
//! case-insensitively.

pub mod apps;
mod checked_state;
pub mod db;
pub mod export;
pub mod files;
mod history;
pub mod import;
mod insert;
mod library;
pub(crate) mod names;
pub mod password;
pub mod pg;
pub mod pool;
pub mod schema;
pub mod search;
pub mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, params};

use crate::protocol::json::MessageJson;
use crate::protocol::{ChatType, Conversation, Message};
use checked_state::CheckedState;
use password::{HashMemory, dummy_hash, hash_password, verify_with};
use schema::{conference_key, id_from_sql, kind_from_sql};
use state::StateFile;

pub use db::Db;
pub use history::{DEFAULT_SCAN_BUDGET, EntryPage};
pub use import::{ImportOptions, ImportSummary, Rejection, import_files, import_reader};
pub use insert::InsertCounts;
pub use pool::StorePool;
pub use search::{SearchCursor, SearchHit, SearchPage, SearchQuery};

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL reported an error (never with a password).
    #[error(transparent)]
    Postgres(#[from] pg::PgError),
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
    /// A client id that is not 1 to 128 of `[A-Za-z0-9_.-]`.
    #[error("invalid client id {0:?}: use 1 to 128 of A-Z, a-z, 0-9, '_', '-', '.'")]
    InvalidClientId(String),
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
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(String),
    /// An attachment that cannot be stored (not a uuid, too large).
    #[error("file {0}")]
    File(String),
    /// A search that cannot run: an empty text, or a regular expression that does not
    /// compile.
    #[error("search: {0}")]
    BadSearch(String),
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

/// What [`Store::apply_state`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateSummary {
    /// Users created or updated.
    pub users: usize,
    /// Group memberships recorded.
    pub memberships: usize,
    /// Conversation states recorded.
    pub conversations: usize,
    /// Apps (admin credentials) created or updated.
    pub apps: usize,
    /// Nicknames, group names and room names recorded.
    pub names: usize,
}

impl std::fmt::Display for StateSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "state: {} users, {} group memberships, {} conversation states, {} names",
            self.users, self.memberships, self.conversations, self.names
        )?;
        if self.apps > 0 {
            write!(f, ", {} apps", self.apps)?;
        }
        Ok(())
    }
}

/// The history database. One connection; share it between threads with [`StorePool`].
pub struct Store {
    conn: Connection,
    /// Conversation key → row id, kept across import batches so each message costs
    /// one insert, not a lookup too. Cleared whenever a write transaction fails.
    conv_cache: HashMap<String, insert::CachedConversation>,
    /// Rows a page request may pass over without keeping them.
    scan_budget: usize,
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

pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

pub(crate) fn new_uuid() -> String {
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

    fn init(mut conn: Connection, path: &Path) -> Result<Store, StoreError> {
        conn.set_prepared_statement_cache_capacity(64);
        // A page's walk orders by (time, id) with bound parameters, which makes the
        // bundled SQLite re-prepare the cached statement whenever its bindings change;
        // the plans it would pick are the same ones (every walk seeks its index), so keep
        // them.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        if let Err(found) = schema::init(&mut conn)? {
            return Err(StoreError::SchemaVersion {
                path: path.to_path_buf(),
                found,
                expected: schema::SCHEMA_VERSION,
            });
        }
        Ok(Store {
            conn,
            conv_cache: HashMap::new(),
            scan_budget: history::DEFAULT_SCAN_BUDGET,
        })
    }

    /// Whether statements keep their query plans when their bindings change (the query
    /// planner stability guarantee; on unless told otherwise). For benchmarks that
    /// measure what re-preparing costs.
    pub fn keep_query_plans(&self, keep: bool) -> Result<(), StoreError> {
        self.conn
            .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, keep)?;
        Ok(())
    }

    /// Creates a user or replaces their password; only an argon2id hash is stored.
    pub fn set_password(&mut self, name: &str, password: &str) -> Result<(), StoreError> {
        let name = check_id(name)?;
        let hash = hash_password(password)?;
        self.make_private()?;
        self.put_user(&name, &hash)
    }

    /// Makes the database file (and its `-wal` and `-shm` files) readable by its owner only,
    /// before password hashes are written into it: a file created by another tool, an older
    /// roam or by hand may be readable by everyone.
    fn make_private(&self) -> Result<(), StoreError> {
        #[cfg(unix)]
        if let Some(path) = self.conn.path().filter(|p| !p.is_empty()) {
            use std::os::unix::fs::PermissionsExt;
            for suffix in ["", "-wal", "-shm"] {
                let file = PathBuf::from(format!("{path}{suffix}"));
                match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(StoreError::PasswordHash(format!(
                            "cannot make {} private before writing password hashes: {e}",
                            file.display()
                        )));
                    }
                }
            }
        }
        Ok(())
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
    /// after the same work as a real check. It holds this connection for the whole hash:
    /// a server reads [`Store::login_record`] instead and verifies with the connection
    /// released.
    pub fn verify_password(&self, name: &str, password: &str) -> Result<bool, StoreError> {
        let mut memory = HashMemory::default();
        match self.login_record(name)? {
            Some((_, hash)) => Ok(verify_with(&hash, password, &mut memory).unwrap_or(false)),
            None => {
                let _ = verify_with(dummy_hash(), password, &mut memory);
                Ok(false)
            }
        }
    }

    /// A user who can log in, with their password hash (a PHC string), to be verified with
    /// [`password::verify_with`] after this connection is released. `None` for unknown
    /// users and malformed ids.
    pub fn login_record(&self, name: &str) -> Result<Option<(UserRecord, String)>, StoreError> {
        let Ok(name) = check_id(name) else {
            return Ok(None);
        };
        Ok(self
            .conn
            .prepare_cached(
                "SELECT name, uuid, created, modified, password_hash FROM users WHERE name = ?1",
            )?
            .query_row([name], |r| {
                Ok((
                    UserRecord {
                        name: r.get(0)?,
                        uuid: r.get(1)?,
                        created: r.get(2)?,
                        modified: r.get(3)?,
                    },
                    r.get(4)?,
                ))
            })
            .optional()?)
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

    /// Applies a state file: users (plain passwords hashed here), group memberships,
    /// per-user conversation state and names, all in one transaction. Applying it again updates in
    /// place.
    pub fn apply_state(&mut self, state: &StateFile) -> Result<StateSummary, StoreError> {
        let mut summary = StateSummary::default();
        // Checked and hashed first: argon2 is slow and has no business inside the write
        // transaction.
        let checked = CheckedState::check(state)?;
        if !checked.users.is_empty() || !checked.apps.is_empty() {
            self.make_private()?;
        }
        let tx = self.conn.transaction()?;
        let result = (|| -> Result<(), StoreError> {
            apps::put_apps(&tx, &checked.apps)?;
            summary.apps = checked.apps.len();
            for (name, hash) in &checked.users {
                let now = now_ms();
                tx.prepare_cached(
                    "INSERT INTO users(name, password_hash, uuid, created, modified)
                     VALUES (?1, ?2, ?3, ?4, ?4)
                     ON CONFLICT(name) DO UPDATE SET password_hash = ?2, modified = ?4",
                )?
                .execute(params![name, hash, new_uuid(), now])?;
                summary.users += 1;
            }
            for g in &checked.groups {
                let conv =
                    insert::state_conversation(&tx, &conference_key(&g.id), ChatType::Group)?
                        .map_err(|kind| checked_state::group_conflict(g, kind))?;
                for member in &g.members {
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO user_convs(user, conv, peer) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![member, conv, g.id])?;
                    summary.memberships += 1;
                }
            }
            for c in &checked.conversations {
                let conv = insert::state_conversation(&tx, &c.key, c.kind)?
                    .map_err(|found| checked_state::conversation_conflict(c, found))?;
                tx.prepare_cached(
                    "INSERT INTO user_convs(user, conv, peer, unread, pinned, pinned_at, marks)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT(user, conv) DO UPDATE SET
                        unread = ?4, pinned = ?5, pinned_at = ?6, marks = ?7",
                )?
                .execute(params![
                    c.user,
                    conv,
                    c.peer,
                    c.unread,
                    c.pinned,
                    c.pinned_at,
                    c.marks
                ])?;
                summary.conversations += 1;
            }
            summary.names = names::apply_names(&tx, state)?;
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

    /// A user's conversation list: single chats they took part in and groups they belong
    /// to or sent to (never rooms, never conversations without messages); newest activity
    /// first, pins or not (PROTOCOL.md §3.2); unread, pins and marks from the state file.
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
             ORDER BY c.last_time DESC, c.last_id DESC",
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

    #[cfg(unix)]
    #[test]
    fn an_existing_database_file_becomes_private_when_hashes_are_written() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("roam.sqlite");
        let mode = |p: &Path| std::fs::metadata(p).expect("file").permissions().mode() & 0o777;
        let readable = std::fs::Permissions::from_mode(0o644);
        // A file made readable by everyone (by hand, or another tool) before roam writes.
        drop(Store::open(&path).expect("store"));
        std::fs::set_permissions(&path, readable.clone()).expect("chmod");
        let mut store = Store::open(&path).expect("store");
        assert_eq!(mode(&path), 0o644);
        let state =
            StateFile::parse(r#"{"users":[{"name":"alice","password":"pw"}]}"#).expect("state");
        store.apply_state(&state).expect("apply");
        for file in [path.clone(), dir.path().join("roam.sqlite-wal")] {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        // And through `set_password`.
        std::fs::set_permissions(&path, readable).expect("chmod");
        store.set_password("bob", "pw").expect("user");
        assert_eq!(mode(&path), 0o600);
    }
}
