//! Saved tokens: what `roam login` keeps so later runs need no password until the token
//! expires. A token is saved per deployment and user (API URL, app key, user id), never per
//! profile name, so two profiles for one account share it and renaming a profile loses
//! nothing.
//!
//! Where: the OS keyring (through the `keyring` crate: Keychain, Credential Manager, the
//! Secret Service) when there is one, otherwise a file in the data directory
//! (`tokens/<hash>.json`, the directory 0700, the file created 0600 and written whole
//! through a rename). A file that others could read (any group or other permission bit),
//! that another user owns, or that is a link is refused rather than used: a token that
//! leaked is not to be trusted, and the person is told how to fix it. `token_store` in the
//! config picks one place instead of trying both.
//!
//! Only tokens are saved, with their expiry; a password never is.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::client::Secret;
use crate::config::TokenStore as Choice;

/// A token is not reused within this long of its expiry: a run that starts with a token
/// about to lapse would fail halfway.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The keyring's service name for roam's entries.
const KEYRING_SERVICE: &str = "roam";
/// A token file is small; anything larger is not one.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// What starts the `user` of an app's key.
const APP_PREFIX: &str = "app:";

/// Whose token: a deployment and a user on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenKey {
    /// The base URL, without a trailing slash.
    pub api_url: String,
    /// `org#app`.
    pub appkey: String,
    /// The lowercased user id.
    pub user: String,
}

impl TokenKey {
    /// The key of `user` at `appkey` on `api_url`, normalized as the client sends them.
    pub fn new(api_url: &str, appkey: &str, user: &str) -> TokenKey {
        TokenKey {
            api_url: api_url.trim().trim_end_matches('/').to_string(),
            appkey: appkey.trim().to_string(),
            user: user.trim().to_ascii_lowercase(),
        }
    }

    /// The key of an app's token (admin access): `user` is `app:CLIENT_ID`, which no user
    /// id can be (`:` is in none), and keeps the client id's case.
    pub fn for_app(api_url: &str, appkey: &str, client_id: &str) -> TokenKey {
        TokenKey {
            user: format!("{APP_PREFIX}{}", client_id.trim()),
            ..TokenKey::new(api_url, appkey, "")
        }
    }

    /// How a person names it: `alice at acme#chatapp on https://a1.easemob.com`, or
    /// `the app YXA6... at ...`.
    pub fn describe(&self) -> String {
        match self.user.strip_prefix(APP_PREFIX) {
            Some(client_id) => {
                format!("the app {client_id} at {} on {}", self.appkey, self.api_url)
            }
            None => format!("{} at {} on {}", self.user, self.appkey, self.api_url),
        }
    }

    /// The keyring account: readable, so the person can find it in their keyring app.
    fn account(&self) -> String {
        format!("{}@{}@{}", self.user, self.appkey, self.api_url)
    }

    /// The file name: a hash, since a URL does not make a file name.
    fn file_name(&self) -> String {
        let mut hash = Sha256::new();
        for part in [&self.api_url, &self.appkey, &self.user] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        let digest = hash.finalize();
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("{hex}.json")
    }
}

/// A saved token and when it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedToken {
    /// The token.
    pub token: Secret,
    /// When the server said it expires; `None`: it did not say.
    pub expires_at: Option<SystemTime>,
}

impl SavedToken {
    /// Whether it can still be used at `now`: more than [`EXPIRY_MARGIN`] before its expiry
    /// (a token without one is used until the server refuses it).
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        self.expires_at
            .is_none_or(|at| now.checked_add(EXPIRY_MARGIN).is_some_and(|soon| soon < at))
    }
}

/// Where a token is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The OS keyring.
    Keyring,
    /// A file.
    File(PathBuf),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Keyring => f.write_str("the OS keyring"),
            Place::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Why a token could not be loaded, saved or deleted. No variant holds the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file's permissions let others read it.
    #[error(
        "the token file {} can be read by other users (mode {mode:03o}); it is not used: \
         run `roam logout` to delete it, or `chmod 600` it if you trust it",
        path.display()
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file belongs to another user.
    #[error("the token file {} belongs to another user; it is not used", path.display())]
    NotOwned {
        /// The file.
        path: PathBuf,
    },
    /// The path is a link, a directory or something else that is not a plain file.
    #[error("{} is not a plain file; it is not used as a token file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Reading or writing failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The keyring was asked for (`token_store = "keyring"`) and failed.
    #[error("the OS keyring: {0}")]
    Keyring(String),
}

/// The file and keyring form of a saved token.
#[derive(Serialize, Deserialize)]
struct Record {
    api_url: String,
    appkey: String,
    user: String,
    access_token: String,
    /// Milliseconds since the epoch.
    expires_at_ms: Option<u64>,
}

impl Record {
    fn new(key: &TokenKey, token: &SavedToken) -> Record {
        Record {
            api_url: key.api_url.clone(),
            appkey: key.appkey.clone(),
            user: key.user.clone(),
            access_token: token.token.expose().to_string(),
            expires_at_ms: token.expires_at.and_then(|at| {
                at.duration_since(UNIX_EPOCH)
                    .ok()
                    .and_then(|d| u64::try_from(d.as_millis()).ok())
            }),
        }
    }

    /// The token, when the record is for `key` and holds one.
    fn token_for(self, key: &TokenKey) -> Option<SavedToken> {
        let matches =
            self.api_url == key.api_url && self.appkey == key.appkey && self.user == key.user;
        (matches && !self.access_token.trim().is_empty()).then(|| SavedToken {
            token: Secret::new(self.access_token),
            expires_at: self
                .expires_at_ms
                .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms))),
        })
    }
}

/// Saved tokens in the place the configuration picks.
#[derive(Clone, Debug)]
pub struct TokenStore {
    choice: Choice,
    dir: PathBuf,
}

impl TokenStore {
    /// Tokens in the keyring and/or under `data_dir/tokens`, as `choice` says.
    pub fn new(choice: Choice, data_dir: &Path) -> TokenStore {
        TokenStore {
            choice,
            dir: data_dir.join("tokens"),
        }
    }

    /// The file a key's token goes to (whether or not it exists).
    pub fn file(&self, key: &TokenKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// The saved token of `key` and where it was, if any. Blocking: the keyring may talk
    /// to a service.
    pub fn load(&self, key: &TokenKey) -> Result<Option<(SavedToken, Place)>, TokenError> {
        if let Some(entry) = self.keyring(key)? {
            match entry.get_password() {
                Ok(text) => {
                    if let Some(token) = serde_json::from_str::<Record>(&text)
                        .ok()
                        .and_then(|r| r.token_for(key))
                    {
                        return Ok(Some((token, Place::Keyring)));
                    }
                    tracing::warn!("an unreadable roam entry in the OS keyring was ignored");
                }
                Err(keyring::Error::NoEntry) => {}
                Err(e) => self.keyring_failed("read", &e)?,
            }
        }
        if self.choice == Choice::Keyring {
            return Ok(None);
        }
        let path = self.file(key);
        Ok(read_private(&path)?
            .and_then(|text| serde_json::from_str::<Record>(&text).ok())
            .and_then(|record| record.token_for(key))
            .map(|token| (token, Place::File(path))))
    }

    /// Saves `token` for `key`: in the keyring when there is one (and the choice allows),
    /// else in the file. Returns where it went.
    pub fn save(&self, key: &TokenKey, token: &SavedToken) -> Result<Place, TokenError> {
        let text = serde_json::to_string(&Record::new(key, token)).map_err(|e| TokenError::Io {
            action: "encode a token for",
            path: self.file(key),
            source: std::io::Error::other(e),
        })?;
        if let Some(entry) = self.keyring(key)? {
            match entry.set_password(&text) {
                Ok(()) => {
                    // A file from before the keyring was there would shadow nothing, but
                    // it is a copy of an old token: remove it.
                    let _ = std::fs::remove_file(self.file(key));
                    return Ok(Place::Keyring);
                }
                Err(e) => self.keyring_failed("write", &e)?,
            }
        }
        let path = self.file(key);
        write_private(&self.dir, &path, &text)?;
        Ok(Place::File(path))
    }

    /// Deletes the saved token of `key` wherever it is; returns the places it was found.
    pub fn delete(&self, key: &TokenKey) -> Result<Vec<Place>, TokenError> {
        let mut deleted = Vec::new();
        if let Some(entry) = self.keyring(key)? {
            match entry.delete_credential() {
                Ok(()) => deleted.push(Place::Keyring),
                Err(keyring::Error::NoEntry) => {}
                Err(e) => self.keyring_failed("delete from", &e)?,
            }
        }
        if self.choice != Choice::Keyring {
            let path = self.file(key);
            match std::fs::remove_file(&path) {
                Ok(()) => deleted.push(Place::File(path)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(TokenError::Io {
                        action: "delete",
                        path,
                        source,
                    });
                }
            }
        }
        Ok(deleted)
    }

    /// The keyring entry of `key` when the choice allows the keyring and one is there;
    /// `Err` only when the keyring was asked for and is missing.
    fn keyring(&self, key: &TokenKey) -> Result<Option<keyring::Entry>, TokenError> {
        if self.choice == Choice::File {
            return Ok(None);
        }
        let entry = keyring::Entry::store_status()
            .as_ref()
            .map_err(ToString::to_string)
            .and_then(|()| {
                keyring::Entry::new(KEYRING_SERVICE, &key.account()).map_err(|e| e.to_string())
            });
        match entry {
            Ok(entry) => Ok(Some(entry)),
            Err(reason) if self.choice == Choice::Keyring => Err(TokenError::Keyring(format!(
                "not available ({reason}); set token_store = \"file\" in the config"
            ))),
            Err(reason) => {
                tracing::debug!(%reason, "no OS keyring; tokens go to a file");
                Ok(None)
            }
        }
    }

    /// With `auto`, a keyring that fails is passed over for the file; with `keyring` it
    /// is the error.
    fn keyring_failed(&self, action: &str, error: &keyring::Error) -> Result<(), TokenError> {
        if self.choice == Choice::Keyring {
            return Err(TokenError::Keyring(format!("cannot {action} it: {error}")));
        }
        tracing::warn!(%error, "the OS keyring failed to {action} a token; using the file");
        Ok(())
    }
}

/// Reads a private file: `None` when it does not exist, an error when it is not private.
fn read_private(path: &Path) -> Result<Option<String>, TokenError> {
    let io = |action, source| TokenError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => {
            return Err(TokenError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", e)),
    }
    let file = std::fs::File::open(path).map_err(|e| io("open", e))?;
    // Checked on the open file, so a swap between the look and the open changes nothing.
    let meta = file.metadata().map_err(|e| io("read", e))?;
    check_private(path, &meta)?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| io("read", e))?;
    Ok(Some(text))
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), TokenError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !meta.is_file() {
        return Err(TokenError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    if meta.uid() != rustix::process::getuid().as_raw() {
        return Err(TokenError::NotOwned {
            path: path.to_path_buf(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(TokenError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), TokenError> {
    // Elsewhere the data directory's own access rules keep the file private.
    if meta.is_file() {
        Ok(())
    } else {
        Err(TokenError::NotAFile {
            path: path.to_path_buf(),
        })
    }
}

/// Writes `text` to `path` in `dir` (created 0700), through a 0600 temporary file renamed
/// into place: the file is never readable by others, not even for a moment, and never
/// half-written.
fn write_private(dir: &Path, path: &Path, text: &str) -> Result<(), TokenError> {
    let io = |action, path: &Path, source| TokenError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| io("create the directory", dir, e))?;
    let tmp = dir.join(format!(".{}.{}.tmp", key_stem(path), std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("write", path, e));
    }
    Ok(())
}

fn key_stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}
