//! The state file: what the service's export format lacks (user passwords and nicknames,
//! group membership, group and room names, per-user unread counts, pinned flags and
//! marks), read by `roam import --state FILE`.
//!
//! ```json
//! {
//!   "users": [{ "name": "demo", "password": "roam-demo", "nickname": "Demo" },
//!             { "name": "bob", "password_hash": "$argon2id$v=19$..." },
//!             { "name": "li.wei", "nickname": "李伟" }],
//!   "groups": [{ "id": "262857469362177", "name": "roam team", "description": "",
//!                "members": ["demo", "bob"] }],
//!   "rooms": [{ "id": "262857469362190", "name": "lobby", "description": "say hi" }],
//!   "conversations": [{ "user": "demo", "id": "bob", "type": "chat", "unread": 3,
//!                       "pinned": true, "pinned_at": 1716900000000, "marks": ["mark_0"] }],
//!   "apps": [{ "client_id": "YXA6demo", "client_secret": "..." }]
//! }
//! ```
//! `apps` are the app credentials of admin access (PROTOCOL.md §8.2, `client_credentials`):
//! a plain `client_secret` is hashed on import like a password and never stored; prefer
//! `client_secret_hash`.
//! Every section is optional. A plain `password` is hashed on import and never stored; a
//! user with neither `password` nor `password_hash` cannot log in, and only their nickname
//! is kept. The first member of a group is its owner. Names are the app's text, stored as
//! given within the service's lengths ([`crate::protocol::names`]).
//! `type` is `chat` or `groupchat`; chat rooms never appear in conversation lists.

use serde::{Deserialize, Serialize};

/// The whole state file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// Users who can log in.
    #[serde(default)]
    pub users: Vec<UserState>,
    /// Group memberships, so a group shows in a member's list before they speak in it,
    /// and group names.
    #[serde(default)]
    pub groups: Vec<GroupState>,
    /// Chat room names.
    #[serde(default)]
    pub rooms: Vec<RoomState>,
    /// Per-user conversation state.
    #[serde(default)]
    pub conversations: Vec<ConversationState>,
    /// App credentials for admin access.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<AppCredentials>,
}

/// One app's credentials. `Debug` hides the secret.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppCredentials {
    /// The app's client id.
    pub client_id: String,
    /// A plain client secret, hashed on import (or at `roam serve --app-credentials`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// A PHC-format hash (argon2id) of the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_hash: Option<String>,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("client_secret_hash", &self.client_secret_hash.is_some())
            .finish()
    }
}

/// One user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserState {
    /// User id.
    pub name: String,
    /// A plain password, hashed on import (fine for demo data; prefer `password_hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A PHC-format password hash (argon2id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// The name people see (the `nickname` user attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
}

/// One group's name and members.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupState {
    /// Group id.
    pub id: String,
    /// The group's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the group is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Member user ids; the first is the owner.
    #[serde(default)]
    pub members: Vec<String>,
}

/// One chat room's name (rooms have no members to keep: anyone may read them).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomState {
    /// Room id.
    pub id: String,
    /// The room's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the room is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One user's state of one conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationState {
    /// Whose list this is.
    pub user: String,
    /// The peer or group id.
    pub id: String,
    /// `chat` or `groupchat`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Unread messages.
    #[serde(default)]
    pub unread: u32,
    /// Pinned to the top.
    #[serde(default)]
    pub pinned: bool,
    /// When it was pinned (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_at: Option<i64>,
    /// Marks `mark_0`..`mark_19`.
    #[serde(default)]
    pub marks: Vec<String>,
}

/// Why a state file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read.
    #[error("cannot read state file {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid state file.
    #[error("state file {path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl StateFile {
    /// Reads a state file, saying where it is wrong when it is.
    pub fn load(path: &std::path::Path) -> Result<StateFile, StateError> {
        let text = std::fs::read_to_string(path).map_err(|source| StateError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        StateFile::parse(&text).map_err(|e| StateError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            // serde_json's text ends with the position, which the error already carries.
            message: {
                let text = e.to_string();
                match text.rsplit_once(" at line ") {
                    Some((head, _)) => head.to_string(),
                    None => text,
                }
            },
        })
    }

    /// Parses the JSON text of a state file.
    pub fn parse(text: &str) -> Result<StateFile, serde_json::Error> {
        serde_json::from_str(text)
    }
}
