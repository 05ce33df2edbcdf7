//! Admin access in the store: the apps whose credentials obtain app tokens
//! (`client_credentials`, PROTOCOL.md §8.2), and who counts as a user an app may read as
//! (`inherit`).
//!
//! A client secret is treated as a password: only its argon2id hash is stored, checked
//! with the same bounded work. The store never creates a user for admin access: `inherit`
//! finds a user who exists or nobody.

use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::password::{check_stored_hash, hash_password};
use super::state::AppCredentials;
use super::{Store, StoreError, UserRecord, check_id, new_uuid};

/// The longest client id accepted (the service's look like `YXA6` and 22 more characters).
pub const MAX_CLIENT_ID_LEN: usize = 128;

/// An app that may obtain admin tokens (never with its secret's hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppRecord {
    /// The client id, as given (client ids are case-sensitive).
    pub client_id: String,
    /// A stable UUID: the token response's `application`.
    pub uuid: String,
}

/// Checks a client id: 1 to [`MAX_CLIENT_ID_LEN`] ASCII letters, digits, `_`, `-` or `.`.
pub fn check_client_id(client_id: &str) -> Result<&str, StoreError> {
    let ok = !client_id.is_empty()
        && client_id.len() <= MAX_CLIENT_ID_LEN
        && client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(client_id)
    } else {
        Err(StoreError::InvalidClientId(
            client_id.chars().take(80).collect(),
        ))
    }
}

/// The client id and the hash to keep of one app's credentials: a plain secret is hashed
/// here (slow: argon2), a given hash is checked.
pub fn hashed(app: &AppCredentials) -> Result<(String, String), StoreError> {
    let client_id = check_client_id(app.client_id.trim())?.to_string();
    let hash = match (&app.client_secret, &app.client_secret_hash) {
        (_, Some(hash)) => {
            check_stored_hash(hash)?;
            hash.clone()
        }
        (Some(plain), None) => hash_password(plain)?,
        (None, None) => {
            return Err(StoreError::State(format!(
                "app {client_id} has neither client_secret nor client_secret_hash"
            )));
        }
    };
    Ok((client_id, hash))
}

/// Adds apps or replaces their secrets, inside the state file's transaction.
pub(super) fn put_apps(tx: &Transaction<'_>, apps: &[(String, String)]) -> Result<(), StoreError> {
    for (client_id, hash) in apps {
        tx.prepare_cached(
            "INSERT INTO apps(client_id, secret_hash, uuid) VALUES (?1, ?2, ?3)
             ON CONFLICT(client_id) DO UPDATE SET secret_hash = ?2",
        )?
        .execute(params![client_id, hash, new_uuid()])?;
    }
    Ok(())
}

/// The stable UUID of an app given to the server rather than stored in its database.
pub fn app_uuid(client_id: &str) -> String {
    derived_uuid(&format!("app:{client_id}"))
}

/// A UUID-shaped name for a user who has history but no account row: stable, so the
/// same user gets the same one every time.
pub(crate) fn derived_uuid(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl Store {
    /// An app and its secret's hash (a PHC string), to be verified after this connection
    /// is released. `None` for unknown apps and malformed client ids.
    pub fn app_record(&self, client_id: &str) -> Result<Option<(AppRecord, String)>, StoreError> {
        let Ok(client_id) = check_client_id(client_id) else {
            return Ok(None);
        };
        Ok(self
            .conn
            .prepare_cached("SELECT client_id, uuid, secret_hash FROM apps WHERE client_id = ?1")?
            .query_row([client_id], |r| {
                Ok((
                    AppRecord {
                        client_id: r.get(0)?,
                        uuid: r.get(1)?,
                    },
                    r.get(2)?,
                ))
            })
            .optional()?)
    }

    /// The user an app may read as (`inherit`): one with an account, or one the store
    /// holds a conversation list for (users named in history without a password). `None`
    /// for anybody else: admin access never creates a user.
    pub fn existing_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let Ok(name) = check_id(name) else {
            return Ok(None);
        };
        if let Some(user) = self.user(&name)? {
            return Ok(Some(user));
        }
        let listed: Option<i64> = self
            .conn
            .prepare_cached("SELECT 1 FROM user_convs WHERE user = ?1 LIMIT 1")?
            .query_row([&name], |r| r.get(0))
            .optional()?;
        Ok(listed.map(|_| UserRecord {
            uuid: derived_uuid(&name),
            name,
            created: 0,
            modified: 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::state::StateFile;

    #[test]
    fn client_ids_are_checked() {
        assert!(check_client_id("YXA6wDs-MARqEeSO0VcBzaqg11").is_ok());
        assert!(check_client_id("").is_err());
        assert!(check_client_id("a b").is_err());
        assert!(check_client_id("a/b").is_err());
        assert!(check_client_id(&"x".repeat(MAX_CLIENT_ID_LEN + 1)).is_err());
    }

    #[test]
    fn apps_from_the_state_file_keep_only_a_hash_and_users_are_never_created() {
        let mut store = Store::open_in_memory().expect("store");
        let state = StateFile::parse(
            r#"{"apps":[{"client_id":"YXA6app","client_secret":"s3cret-app"}],
                "conversations":[{"user":"li.wei","id":"bob","type":"chat"}]}"#,
        )
        .expect("state");
        store.apply_state(&state).expect("apply");
        let (app, hash) = store.app_record("YXA6app").expect("read").expect("app");
        assert_eq!(app.client_id, "YXA6app");
        assert!(hash.starts_with("$argon2id$") && !hash.contains("s3cret-app"));
        assert!(
            store.app_record("yxa6app").expect("read").is_none(),
            "case counts"
        );
        let listed = store
            .existing_user("Li.Wei")
            .expect("read")
            .expect("exists");
        assert_eq!(listed.name, "li.wei");
        assert_eq!(
            store.existing_user("li.wei").expect("read").map(|u| u.uuid),
            Some(listed.uuid)
        );
        assert!(store.existing_user("nobody").expect("read").is_none());
        assert!(store.user("nobody").expect("read").is_none());
    }

    #[test]
    fn a_version_3_database_gains_the_apps_table() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("v3.db");
        drop(Store::open(&path).expect("create"));
        rusqlite::Connection::open(&path)
            .expect("open")
            .execute_batch("DROP TABLE apps; PRAGMA user_version = 3;")
            .expect("make it version 3");
        let mut store = Store::open(&path).expect("migrates");
        let state = StateFile::parse(r#"{"apps":[{"client_id":"YXA6app","client_secret":"s"}]}"#)
            .expect("state");
        store.apply_state(&state).expect("apply");
        assert!(store.app_record("YXA6app").expect("read").is_some());
    }
}
