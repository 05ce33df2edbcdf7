//! The state file: what the service's export format lacks (user passwords, group
//! membership, per-user unread counts, pinned flags and marks), read by
//! `roam import --state FILE`.
//!
//! ```json
//! {
//!   "users": [{ "name": "demo", "password": "roam-demo" },
//!             { "name": "bob", "password_hash": "$argon2id$v=19$..." }],
//!   "groups": [{ "id": "team-roam", "members": ["demo", "bob"] }],
//!   "conversations": [{ "user": "demo", "id": "bob", "type": "chat", "unread": 3,
//!                       "pinned": true, "pinned_at": 1716900000000, "marks": ["mark_0"] }]
//! }
//! ```
//! Every section is optional. A plain `password` is hashed on import and never stored.
//! `type` is `chat` or `groupchat`; chat rooms never appear in conversation lists.

use serde::{Deserialize, Serialize};

/// The whole state file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// Users who can log in.
    #[serde(default)]
    pub users: Vec<UserState>,
    /// Group memberships, so a group shows in a member's list before they speak in it.
    #[serde(default)]
    pub groups: Vec<GroupState>,
    /// Per-user conversation state.
    #[serde(default)]
    pub conversations: Vec<ConversationState>,
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
}

/// One group's members.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupState {
    /// Group id.
    pub id: String,
    /// Member user ids.
    #[serde(default)]
    pub members: Vec<String>,
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
