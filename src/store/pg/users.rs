//! Users who can log in, on PostgreSQL.

use super::{PgError, PgStore};
use crate::store::password::hash_password;
use crate::store::{StoreError, UserRecord, check_id, new_uuid, now_ms};

impl PgStore {
    /// Creates a user or replaces their password; only an argon2id hash is stored (made on
    /// a blocking thread: it takes a core for a while).
    pub async fn set_password(&self, name: &str, password: &str) -> Result<(), StoreError> {
        let name = check_id(name)?;
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| StoreError::Thread(e.to_string()))??;
        self.put_user(&name, &hash).await?;
        Ok(())
    }

    /// Creates or updates a user with a hash already made.
    pub(crate) async fn put_user(&self, name: &str, hash: &str) -> Result<(), PgError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO users(name, password_hash, uuid, created, modified)
                 VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (name) DO UPDATE SET password_hash = $2, modified = $4",
            )
            .await?;
        client
            .execute(&stmt, &[&name, &hash, &new_uuid(), &now_ms()])
            .await?;
        Ok(())
    }

    /// A user who can log in, with their password hash, to verify without holding a
    /// connection. `None` for unknown users and malformed ids.
    pub async fn login_record(&self, name: &str) -> Result<Option<(UserRecord, String)>, PgError> {
        let Ok(name) = check_id(name) else {
            return Ok(None);
        };
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT name, uuid, created, modified, password_hash FROM users WHERE name = $1",
            )
            .await?;
        let Some(r) = client.query_opt(&stmt, &[&name]).await? else {
            return Ok(None);
        };
        Ok(Some((
            UserRecord {
                name: r.try_get(0)?,
                uuid: r.try_get(1)?,
                created: r.try_get(2)?,
                modified: r.try_get(3)?,
            },
            r.try_get(4)?,
        )))
    }

    /// A user's record, when they exist.
    pub async fn user(&self, name: &str) -> Result<Option<UserRecord>, PgError> {
        Ok(self.login_record(name).await?.map(|(user, _)| user))
    }
}
