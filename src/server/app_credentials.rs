//! `roam serve --app-credentials FILE`: app credentials for admin access kept out of the
//! command line (where `ps` shows them) and out of the database.
//!
//! The file is JSON, the state file's `apps` section on its own:
//! `{"apps": [{"client_id": "YXA6...", "client_secret": "..."}]}` (or `client_secret_hash`,
//! an argon2id PHC string). It must be a plain file of the user running the server that
//! nobody else can read (mode 0600 or stricter); anything else is refused, naming the file
//! and never quoting it. Plain secrets are hashed when it is read and only the hashes kept.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::grants::ServedApp;
use crate::store::apps::hashed;
use crate::store::state::AppCredentials;

/// A credentials file is small; anything larger is not one.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Why the file cannot be used. No variant quotes its content.
#[derive(Debug, thiserror::Error)]
pub enum AppCredentialsError {
    /// Opening or reading failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Others may read it, or it is not the user's own plain file.
    #[error("{} {reason}; it is not used (chmod 600 it)", path.display())]
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// It is not the JSON described above, or an entry is wrong.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, without the file's text.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    apps: Vec<AppCredentials>,
}

/// Reads, checks and hashes the apps of a credentials file. Blocking (argon2).
pub fn load(path: &Path) -> Result<Vec<ServedApp>, AppCredentialsError> {
    let io = |source| AppCredentialsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let not_private = |reason: String| AppCredentialsError::NotPrivate {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(not_private("is not a plain file".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if meta.uid() != rustix::process::getuid().as_raw() {
            return Err(not_private("belongs to another user".into()));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(not_private(format!(
                "can be read by other users (mode {mode:03o})"
            )));
        }
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(io)?;
    let invalid = |reason: String| AppCredentialsError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    // serde_json's messages may quote a value (a secret): say where, not what.
    let parsed: CredentialsFile = serde_json::from_str(&text).map_err(|e| {
        invalid(format!(
            "not {{\"apps\": [{{\"client_id\", \"client_secret\"}}]}} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    parsed
        .apps
        .iter()
        .enumerate()
        .map(|(i, app)| {
            let (client_id, secret_hash) =
                hashed(app).map_err(|e| invalid(format!("apps[{i}]: {e}")))?;
            Ok(ServedApp {
                uuid: crate::store::apps::app_uuid(&client_id),
                client_id,
                secret_hash,
            })
        })
        .collect()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join("apps.json");
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    #[test]
    fn a_private_file_is_read_and_hashed_and_an_open_one_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let text = r#"{"apps":[{"client_id":"YXA6app","client_secret":"file-secret-9"}]}"#;
        let path = write(dir.path(), text, 0o600);
        let apps = load(&path).expect("private");
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].client_id, "YXA6app");
        assert!(!apps[0].secret_hash.contains("file-secret-9"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = load(&path).expect_err("open").to_string();
        assert!(e.contains("644") && !e.contains("file-secret-9"), "{e}");
        let path = write(
            dir.path(),
            r#"{"apps":[{"client_id":"x","client_secret":"file-secret-9",}]}"#,
            0o600,
        );
        let e = load(&path).expect_err("bad JSON").to_string();
        assert!(!e.contains("file-secret-9"), "{e}");
    }
}
