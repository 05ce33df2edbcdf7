//! One store, either back end: what the server, import and the tests call, async.
//!
//! `--db` chooses: a `postgres://` (or `postgresql://`) URL is PostgreSQL ([`PgStore`]);
//! anything else is a SQLite file ([`StorePool`]), as before. SQLite's work runs on the
//! blocking pool, PostgreSQL's on the runtime.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::runtime::Handle;

use super::import::ImportError;
use super::pg::{PgImport, PgStore, is_postgres_url};
use super::search::{SearchCursor, SearchPage, SearchQuery};
use super::state::StateFile;
use super::{
    EntryPage, ImportOptions, ImportSummary, InsertCounts, StateSummary, Store, StoreError,
    StorePool, UserRecord,
};
use crate::protocol::names::GroupDetails;
use crate::protocol::{Conversation, HistoryPage, HistoryQuery, Message};

/// The store behind a server or an import.
#[derive(Clone, Debug)]
pub enum Db {
    /// A SQLite file (or an in-memory database), through a pool of connections.
    Sqlite(Arc<StorePool>),
    /// A PostgreSQL database (boxed: its pool's handle is large, and a store is moved
    /// around far less than it is used).
    Postgres(Box<PgStore>),
}

impl Db {
    /// Opens what `--db` names: a PostgreSQL URL, or a SQLite file (created when missing)
    /// with a server's pool of connections.
    pub async fn open(db: &str) -> Result<Db, StoreError> {
        if is_postgres_url(db) {
            return Ok(Db::Postgres(Box::new(PgStore::connect(db).await?)));
        }
        let path = Path::new(db).to_path_buf();
        let pool = tokio::task::spawn_blocking(move || StorePool::open_for_server(&path))
            .await
            .map_err(|e| StoreError::Thread(e.to_string()))??;
        Ok(Db::Sqlite(Arc::new(pool)))
    }

    /// A SQLite store of one connection (an in-memory database: tests).
    pub fn single(store: Store) -> Db {
        Db::Sqlite(Arc::new(StorePool::single(store)))
    }

    /// Which back end, for messages: "SQLite" or "PostgreSQL".
    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }

    /// Sets how many rows one page request may pass over without keeping them (tests and
    /// tuning; see [`Store::set_scan_budget`]).
    pub fn set_scan_budget(&mut self, rows: usize) {
        match self {
            Db::Sqlite(pool) => pool.set_scan_budget(rows),
            Db::Postgres(pg) => pg.set_scan_budget(rows),
        }
    }

    /// Runs SQLite work on the blocking pool.
    async fn sqlite<R: Send + 'static>(
        pool: &Arc<StorePool>,
        f: impl FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let pool = Arc::clone(pool);
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|e| StoreError::Thread(e.to_string()))?
    }

    /// Creates a user or replaces their password.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let (name, password) = (name.to_string(), password.to_string());
                Db::sqlite(pool, move |s| s.set_password(&name, &password)).await
            }
            Db::Postgres(pg) => pg.set_password(name, password).await,
        }
    }

    /// A user who can log in, with their password hash.
    pub async fn login_record(
        &self,
        name: &str,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let name = name.to_string();
                Db::sqlite(pool, move |s| s.login_record(&name)).await
            }
            Db::Postgres(pg) => Ok(pg.login_record(name).await?),
        }
    }

    /// The user an app may read as (`inherit`): an account, or a user with a list.
    pub async fn existing_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let name = name.to_string();
                Db::sqlite(pool, move |s| s.existing_user(&name)).await
            }
            Db::Postgres(pg) => Ok(pg.existing_user(name).await?),
        }
    }

    /// A user's conversation list, newest activity first.
    pub async fn conversations(&self, user: &str) -> Result<Vec<Conversation>, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let user = user.to_string();
                Db::sqlite(pool, move |s| s.conversations(&user)).await
            }
            Db::Postgres(pg) => pg.conversations(user).await,
        }
    }

    /// One page of a conversation's history.
    pub async fn history(&self, user: &str, q: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let (user, q) = (user.to_string(), q.clone());
                Db::sqlite(pool, move |s| s.history(&user, &q)).await
            }
            Db::Postgres(pg) => pg.history(user, q).await,
        }
    }

    /// One page of history entries as the server sends them.
    pub async fn history_entries(
        &self,
        user: &str,
        q: &HistoryQuery,
        appkey: &str,
    ) -> Result<EntryPage, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let (user, q, appkey) = (user.to_string(), q.clone(), appkey.to_string());
                Db::sqlite(pool, move |s| s.history_entries(&user, &q, &appkey)).await
            }
            Db::Postgres(pg) => pg.history_entries(user, q, appkey).await,
        }
    }

    /// Stores messages in one transaction (import's write path).
    pub async fn insert_messages(&self, messages: &[Message]) -> Result<InsertCounts, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let messages = messages.to_vec();
                Db::sqlite(pool, move |s| s.insert_messages(&messages)).await
            }
            Db::Postgres(pg) => pg.insert_messages(messages).await,
        }
    }

    /// Applies a state file.
    pub async fn apply_state(&self, state: &StateFile) -> Result<StateSummary, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let state = state.clone();
                Db::sqlite(pool, move |s| s.apply_state(&state)).await
            }
            Db::Postgres(pg) => pg.apply_state(state).await,
        }
    }

    /// Stores a file's bytes under `uuid` when a message names it (see
    /// [`Store::put_file`]).
    pub async fn put_file(
        &self,
        uuid: &str,
        content_type: &str,
        bytes: &[u8],
        thumbnail: Option<&[u8]>,
        expires: Option<i64>,
    ) -> Result<super::files::PutFile, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let (uuid, content_type) = (uuid.to_string(), content_type.to_string());
                let (bytes, thumbnail) = (bytes.to_vec(), thumbnail.map(<[u8]>::to_vec));
                Db::sqlite(pool, move |s| {
                    s.put_file(&uuid, &content_type, &bytes, thumbnail.as_deref(), expires)
                })
                .await
            }
            Db::Postgres(pg) => {
                pg.put_file(uuid, content_type, bytes, thumbnail, expires)
                    .await
            }
        }
    }

    /// How many messages are stored.
    pub async fn message_count(&self) -> Result<u64, StoreError> {
        match self {
            Db::Sqlite(pool) => Db::sqlite(pool, |s| s.message_count()).await,
            Db::Postgres(pg) => Ok(pg.message_count().await?),
        }
    }

    /// One page of search hits, newest first, below `cursor` (see
    /// [`crate::store::search`]; both back ends give the same hits in the same order).
    pub async fn search(
        &self,
        query: &SearchQuery,
        cursor: Option<SearchCursor>,
        limit: usize,
    ) -> Result<SearchPage, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let query = query.clone();
                Db::sqlite(pool, move |s| s.search(&query, cursor, limit)).await
            }
            Db::Postgres(pg) => pg.search(query, cursor, limit).await,
        }
    }

    /// The conversations an id given on a command line may mean, as search names them
    /// (see [`Store::find_conversations`]).
    pub async fn find_conversations(
        &self,
        user: Option<&str>,
        id: &str,
    ) -> Result<Vec<String>, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let (user, id) = (user.map(str::to_string), id.to_string());
                Db::sqlite(pool, move |s| s.find_conversations(user.as_deref(), &id)).await
            }
            Db::Postgres(pg) => pg.find_conversations(user, id).await,
        }
    }

    /// The nicknames of those of `users` who have one, by lowercase id.
    pub async fn nicknames(
        &self,
        users: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let users = users.to_vec();
                Db::sqlite(pool, move |s| s.nicknames(&users)).await
            }
            Db::Postgres(pg) => Ok(pg.nicknames(users).await?),
        }
    }

    /// The details of the groups `reader` may read (all of them: `None`).
    pub async fn group_details(
        &self,
        reader: Option<&str>,
        ids: &[String],
    ) -> Result<Vec<GroupDetails>, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let (reader, ids) = (reader.map(str::to_string), ids.to_vec());
                Db::sqlite(pool, move |s| s.group_details(reader.as_deref(), &ids)).await
            }
            Db::Postgres(pg) => pg.group_details(reader, ids).await,
        }
    }

    /// The details of a chat room, when stored.
    pub async fn room_details(&self, id: &str) -> Result<Option<GroupDetails>, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let id = id.to_string();
                Db::sqlite(pool, move |s| s.room_details(&id)).await
            }
            Db::Postgres(pg) => pg.room_details(id).await,
        }
    }

    /// Imports export files in order, as `roam import` does into either back end (see
    /// [`super::import_files`]; PostgreSQL writes through [`super::pg::PgImport`]).
    pub async fn import_files(
        &self,
        paths: &[PathBuf],
        options: &ImportOptions,
    ) -> Result<ImportSummary, ImportError> {
        let (paths, options) = (paths.to_vec(), options.clone());
        match self {
            Db::Sqlite(pool) => {
                let pool = Arc::clone(pool);
                blocking(move || pool.with(|s| super::import_files(s, &paths, &options))).await
            }
            Db::Postgres(pg) => {
                let mut writer = PgImport::new((**pg).clone(), Handle::current());
                blocking(move || writer.import_files(&paths, &options)).await
            }
        }
    }

    /// Imports one stream named `name` in rejections (see [`super::import_reader`]).
    pub async fn import_reader<R: Read + Send + 'static>(
        &self,
        name: &str,
        reader: R,
        options: &ImportOptions,
    ) -> Result<ImportSummary, ImportError> {
        let (name, options) = (name.to_string(), options.clone());
        match self {
            Db::Sqlite(pool) => {
                let pool = Arc::clone(pool);
                blocking(move || pool.with(|s| super::import_reader(s, &name, reader, &options)))
                    .await
            }
            Db::Postgres(pg) => {
                let mut writer = PgImport::new((**pg).clone(), Handle::current());
                blocking(move || writer.import_reader(&name, reader, &options)).await
            }
        }
    }

    /// What `reader` may know of the stored file `uuid` (`None` as reader: the app's
    /// administrator), as the server checks it (see [`Store::file_access`]).
    pub async fn file_access(
        &self,
        reader: Option<&str>,
        uuid: &str,
    ) -> Result<Option<super::files::FileAccess>, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let (reader, uuid) = (reader.map(str::to_string), uuid.to_string());
                Db::sqlite(pool, move |s| s.file_access(reader.as_deref(), &uuid)).await
            }
            Db::Postgres(pg) => pg.file_access(reader, uuid).await,
        }
    }

    /// Bytes `range` of a stored file or its thumbnail (see [`Store::file_bytes`]; check
    /// [`Db::file_access`] first).
    pub async fn file_bytes(
        &self,
        uuid: &str,
        thumbnail: bool,
        range: std::ops::Range<u64>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Db::Sqlite(pool) => {
                let uuid = uuid.to_string();
                Db::sqlite(pool, move |s| s.file_bytes(&uuid, thumbnail, range)).await
            }
            Db::Postgres(pg) => pg.file_bytes(uuid, thumbnail, range).await,
        }
    }
}

/// Runs an import on the blocking pool: it reads files and, for PostgreSQL, blocks on the
/// runtime for each batch, so it must not run on one of the runtime's own threads.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, ImportError> + Send + 'static,
) -> Result<R, ImportError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ImportError::Store(StoreError::Thread(e.to_string())))?
}
