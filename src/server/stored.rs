//! What the handlers ask of the store, on either back end ([`Db`]): SQLite work on the
//! blocking pool, one pooled connection per call and a slot taken first (`blocking`);
//! PostgreSQL's on the runtime, bounded by its own pool.

use std::collections::HashMap;
use std::sync::Arc;

use super::AppState;
use super::error::ApiError;
use super::log_text::LogText;
use crate::protocol::names::GroupDetails;
use crate::protocol::{Conversation, HistoryQuery};
use crate::store::apps::AppRecord;
use crate::store::files::FileAccess;
use crate::store::{Db, EntryPage, Store, StoreError, UserRecord};

/// Runs SQLite work on the blocking pool, on one pooled connection. A request first waits
/// (asynchronously) for one of the pool's slots, so no more blocking tasks run than there
/// are connections: a burst of requests queues as futures, not as threads waiting on a
/// connection's lock.
pub(super) async fn blocking<R: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&mut Store) -> R + Send + 'static,
) -> Result<R, ApiError> {
    let Db::Sqlite(pool) = &state.db else {
        tracing::error!("SQLite work asked of a PostgreSQL store");
        return Err(ApiError::internal());
    };
    let slot = Arc::clone(&state.store_slots)
        .acquire_owned()
        .await
        .map_err(|_| ApiError::internal())?;
    let pool = Arc::clone(pool);
    tokio::task::spawn_blocking(move || {
        let result = pool.with(f);
        drop(slot);
        result
    })
    .await
    .map_err(|e| {
        let text = e.to_string();
        tracing::error!(error = %LogText::new(&text), "blocking task failed");
        ApiError::internal()
    })
}

/// A user who can log in, with their password hash.
pub(super) async fn login_record(
    state: &Arc<AppState>,
    name: String,
) -> Result<Option<(UserRecord, String)>, ApiError> {
    match &state.db {
        Db::Sqlite(_) => Ok(blocking(state, move |s| s.login_record(&name)).await??),
        Db::Postgres(pg) => Ok(pg.login_record(&name).await.map_err(StoreError::from)?),
    }
}

/// An app and its secret's hash.
pub(super) async fn app_record(
    state: &Arc<AppState>,
    client_id: String,
) -> Result<Option<(AppRecord, String)>, ApiError> {
    match &state.db {
        Db::Sqlite(_) => Ok(blocking(state, move |s| s.app_record(&client_id)).await??),
        Db::Postgres(pg) => Ok(pg.app_record(&client_id).await.map_err(StoreError::from)?),
    }
}

/// The user an app may read as.
pub(super) async fn existing_user(
    state: &Arc<AppState>,
    name: String,
) -> Result<Option<UserRecord>, ApiError> {
    match &state.db {
        Db::Sqlite(_) => Ok(blocking(state, move |s| s.existing_user(&name)).await??),
        Db::Postgres(pg) => Ok(pg.existing_user(&name).await.map_err(StoreError::from)?),
    }
}

/// A user's conversations, newest activity first.
pub(super) async fn conversations(
    state: &Arc<AppState>,
    user: String,
) -> Result<Vec<Conversation>, ApiError> {
    match &state.db {
        Db::Sqlite(_) => Ok(blocking(state, move |s| s.conversations(&user)).await??),
        Db::Postgres(pg) => Ok(pg.conversations(&user).await?),
    }
}

/// One page of history entries.
pub(super) async fn history_entries(
    state: &Arc<AppState>,
    user: String,
    query: HistoryQuery,
) -> Result<EntryPage, ApiError> {
    let appkey = state.config.appkey.clone();
    match &state.db {
        Db::Sqlite(_) => {
            Ok(blocking(state, move |s| s.history_entries(&user, &query, &appkey)).await??)
        }
        Db::Postgres(pg) => Ok(pg.history_entries(&user, &query, &appkey).await?),
    }
}

/// The nicknames of those of `users` who have one.
pub(super) async fn nicknames(
    state: &Arc<AppState>,
    users: Vec<String>,
) -> Result<HashMap<String, String>, ApiError> {
    match &state.db {
        Db::Sqlite(_) => Ok(blocking(state, move |s| s.nicknames(&users)).await??),
        Db::Postgres(pg) => Ok(pg.nicknames(&users).await.map_err(StoreError::from)?),
    }
}

/// The details of the groups a reader may read, in the order asked.
pub(super) async fn group_details(
    state: &Arc<AppState>,
    reader: Option<String>,
    ids: Vec<String>,
) -> Result<Vec<GroupDetails>, ApiError> {
    match &state.db {
        Db::Sqlite(_) => {
            Ok(blocking(state, move |s| s.group_details(reader.as_deref(), &ids)).await??)
        }
        Db::Postgres(pg) => Ok(pg.group_details(reader.as_deref(), &ids).await?),
    }
}

/// The details of rooms, each once, in the order asked.
pub(super) async fn room_details(
    state: &Arc<AppState>,
    ids: Vec<String>,
) -> Result<Vec<GroupDetails>, ApiError> {
    match &state.db {
        Db::Sqlite(_) => Ok(blocking(state, move |store| {
            let mut found: Vec<GroupDetails> = Vec::new();
            for id in &ids {
                if found.iter().any(|d| &d.id == id) {
                    continue;
                }
                if let Some(details) = store.room_details(id)? {
                    found.push(details);
                }
            }
            Ok::<_, StoreError>(found)
        })
        .await??),
        Db::Postgres(pg) => {
            let mut found: Vec<GroupDetails> = Vec::new();
            for id in &ids {
                if found.iter().any(|d| &d.id == id) {
                    continue;
                }
                if let Some(details) = pg.room_details(id).await? {
                    found.push(details);
                }
            }
            Ok(found)
        }
    }
}

/// What a reader may know of a file.
pub(super) async fn file_access(
    state: &Arc<AppState>,
    reader: Option<String>,
    uuid: String,
) -> Result<Option<FileAccess>, ApiError> {
    match &state.db {
        Db::Sqlite(_) => {
            Ok(blocking(state, move |s| s.file_access(reader.as_deref(), &uuid)).await??)
        }
        Db::Postgres(pg) => Ok(pg.file_access(reader.as_deref(), &uuid).await?),
    }
}

/// A stored file's bytes (or a part of them).
pub(super) async fn file_bytes(
    state: &Arc<AppState>,
    uuid: String,
    thumbnail: bool,
    part: std::ops::Range<u64>,
) -> Result<Option<Vec<u8>>, ApiError> {
    match &state.db {
        Db::Sqlite(_) => Ok(blocking(state, move |s| s.file_bytes(&uuid, thumbnail, part)).await??),
        Db::Postgres(pg) => Ok(pg.file_bytes(&uuid, thumbnail, part).await?),
    }
}
