//! The state file on PostgreSQL: users, apps, group memberships, per-user conversation
//! state and names, in one transaction (the SQLite store's rules, see
//! [`crate::store::Store::apply_state`]).

use super::{PgError, PgStore};
use crate::protocol::ChatType;
use crate::store::checked_state::{self, CheckedState};
use crate::store::names::checked_names;
use crate::store::schema::{conference_key, kind_from_sql, kind_to_sql};
use crate::store::state::StateFile;
use crate::store::{StateSummary, StoreError, new_uuid, now_ms};

impl PgStore {
    /// Applies a state file (see the module documentation); applying it again updates in
    /// place.
    pub async fn apply_state(&self, state: &StateFile) -> Result<StateSummary, StoreError> {
        let owned = state.clone();
        let checked = tokio::task::spawn_blocking(move || CheckedState::check(&owned))
            .await
            .map_err(|e| StoreError::Thread(e.to_string()))??;
        let mut summary = StateSummary::default();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(PgError::from)?;
        let db = |e: tokio_postgres::Error| StoreError::from(PgError::from(e));
        // Imports and state files change conversations' kinds' owners: one at a time.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&super::insert::IMPORT_LOCK],
        )
        .await
        .map_err(db)?;
        let put_app = tx
            .prepare_cached(
                "INSERT INTO apps(client_id, secret_hash, uuid) VALUES ($1, $2, $3)
                 ON CONFLICT (client_id) DO UPDATE SET secret_hash = $2",
            )
            .await
            .map_err(db)?;
        for (client_id, hash) in &checked.apps {
            tx.execute(&put_app, &[client_id, hash, &new_uuid()])
                .await
                .map_err(db)?;
            summary.apps += 1;
        }
        let put_user = tx
            .prepare_cached(
                "INSERT INTO users(name, password_hash, uuid, created, modified)
                 VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (name) DO UPDATE SET password_hash = $2, modified = $4",
            )
            .await
            .map_err(db)?;
        for (name, hash) in &checked.users {
            tx.execute(&put_user, &[name, hash, &new_uuid(), &now_ms()])
                .await
                .map_err(db)?;
            summary.users += 1;
        }
        let member = tx
            .prepare_cached(
                "INSERT INTO user_convs(\"user\", conv, peer) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(db)?;
        for g in &checked.groups {
            let conv = state_conversation(&tx, &conference_key(&g.id), ChatType::Group)
                .await?
                .map_err(|kind| checked_state::group_conflict(g, kind))?;
            for m in &g.members {
                tx.execute(&member, &[m, &conv, &g.id]).await.map_err(db)?;
                summary.memberships += 1;
            }
        }
        let put_state = tx
            .prepare_cached(
                "INSERT INTO user_convs(\"user\", conv, peer, unread, pinned, pinned_at, marks)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (\"user\", conv) DO UPDATE SET
                    unread = $4, pinned = $5, pinned_at = $6, marks = $7",
            )
            .await
            .map_err(db)?;
        for c in &checked.conversations {
            let conv = state_conversation(&tx, &c.key, c.kind)
                .await?
                .map_err(|found| checked_state::conversation_conflict(c, found))?;
            let unread = i64::from(c.unread);
            tx.execute(
                &put_state,
                &[
                    &c.user,
                    &conv,
                    &c.peer,
                    &unread,
                    &c.pinned,
                    &c.pinned_at,
                    &c.marks,
                ],
            )
            .await
            .map_err(db)?;
            summary.conversations += 1;
        }
        let (nicknames, conv_names) = checked_names(state)?;
        let put_nickname = tx
            .prepare_cached(
                "INSERT INTO user_names(name, nickname) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET nickname = $2",
            )
            .await
            .map_err(db)?;
        for (name, nickname) in &nicknames {
            tx.execute(&put_nickname, &[name, nickname])
                .await
                .map_err(db)?;
            summary.names += 1;
        }
        let put_names = tx
            .prepare_cached(
                "INSERT INTO conv_names(conv, name, description, owner, created)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (conv) DO UPDATE SET name = $2, description = $3, owner = $4",
            )
            .await
            .map_err(db)?;
        for n in &conv_names {
            let conv = state_conversation(&tx, &conference_key(&n.id), n.kind)
                .await?
                .map_err(|found| n.conflict(found))?;
            tx.execute(
                &put_names,
                &[&conv, &n.name, &n.description, &n.owner, &now_ms()],
            )
            .await
            .map_err(db)?;
            summary.names += 1;
        }
        tx.commit().await.map_err(db)?;
        Ok(summary)
    }
}

/// The id of a conversation for the state file, created when new; `Err(kind)` when it
/// exists with another kind.
async fn state_conversation(
    tx: &deadpool_postgres::Transaction<'_>,
    key: &str,
    kind: ChatType,
) -> Result<Result<i64, ChatType>, PgError> {
    let create = tx
        .prepare_cached("INSERT INTO convs(key, kind) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .await?;
    tx.execute(&create, &[&key, &(kind_to_sql(kind) as i16)])
        .await?;
    let find = tx
        .prepare_cached("SELECT id, kind FROM convs WHERE key = $1")
        .await?;
    let row = tx.query_one(&find, &[&key]).await?;
    let found: i16 = row.try_get(1)?;
    let found = kind_from_sql(i64::from(found));
    Ok(if found == kind {
        Ok(row.try_get(0)?)
    } else {
        Err(found)
    })
}
