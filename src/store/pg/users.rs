//! Users who can log in, on PostgreSQL.

use super::{PgError, PgStore};
use crate::store::apps::{AppRecord, check_client_id, derived_uuid};
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

impl PgStore {
    /// An app and its secret's hash, as [`crate::store::Store::app_record`].
    pub async fn app_record(
        &self,
        client_id: &str,
    ) -> Result<Option<(AppRecord, String)>, PgError> {
        let Ok(client_id) = check_client_id(client_id) else {
            return Ok(None);
        };
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT client_id, uuid, secret_hash FROM apps WHERE client_id = $1")
            .await?;
        let Some(r) = client.query_opt(&stmt, &[&client_id]).await? else {
            return Ok(None);
        };
        Ok(Some((
            AppRecord {
                client_id: r.try_get(0)?,
                uuid: r.try_get(1)?,
            },
            r.try_get(2)?,
        )))
    }

    /// The user an app may read as (`inherit`), as
    /// [`crate::store::Store::existing_user`]: an account, or a user the store holds a
    /// conversation list for.
    pub async fn existing_user(&self, name: &str) -> Result<Option<UserRecord>, PgError> {
        let Ok(name) = check_id(name) else {
            return Ok(None);
        };
        if let Some(user) = self.user(&name).await? {
            return Ok(Some(user));
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT 1 FROM user_convs WHERE \"user\" = $1 LIMIT 1")
            .await?;
        let listed = client.query_opt(&stmt, &[&name]).await?.is_some();
        Ok(listed.then(|| UserRecord {
            uuid: derived_uuid(&name),
            name,
            created: 0,
            modified: 0,
        }))
    }
}
