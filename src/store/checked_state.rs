//! A state file checked and hashed, ready for either back end to write: every rule that
//! needs no database is applied here once (ids, marks, types, password hashing), so the
//! SQLite and PostgreSQL writers only write.

use super::password::{check_stored_hash, hash_password};
use super::schema::{conference_key, single_key};
use super::state::StateFile;
use super::{StoreError, apps, check_id};
use crate::protocol::ChatType;

/// A group and its members (ids lowercased).
pub(crate) struct CheckedGroup {
    /// Its index in the file, for messages.
    pub(crate) index: usize,
    pub(crate) id: String,
    pub(crate) members: Vec<String>,
}

/// One user's state of one conversation.
pub(crate) struct CheckedConversation {
    /// Its index in the file, for messages.
    pub(crate) index: usize,
    pub(crate) user: String,
    pub(crate) peer: String,
    pub(crate) key: String,
    pub(crate) kind: ChatType,
    pub(crate) unread: u32,
    pub(crate) pinned: bool,
    pub(crate) pinned_at: Option<i64>,
    /// JSON array of mark names.
    pub(crate) marks: String,
}

/// A state file, checked.
pub(crate) struct CheckedState {
    /// (name, argon2id hash) of users who can log in.
    pub(crate) users: Vec<(String, String)>,
    /// (client id, secret hash) of apps.
    pub(crate) apps: Vec<(String, String)>,
    pub(crate) groups: Vec<CheckedGroup>,
    pub(crate) conversations: Vec<CheckedConversation>,
}

impl CheckedState {
    /// Checks a state file and hashes its plain passwords (slow: argon2, not inside a
    /// transaction).
    pub(crate) fn check(state: &StateFile) -> Result<CheckedState, StoreError> {
        let mut users = Vec::with_capacity(state.users.len());
        for (i, u) in state.users.iter().enumerate() {
            let entry = |e: StoreError| StoreError::State(format!("users[{i}] ({}): {e}", u.name));
            let name = check_id(&u.name).map_err(entry)?;
            let hash = match (&u.password, &u.password_hash) {
                (_, Some(hash)) => {
                    check_stored_hash(hash).map_err(entry)?;
                    hash.clone()
                }
                (Some(plain), None) => hash_password(plain).map_err(entry)?,
                // Named only for completeness (e.g. senders): they cannot log in.
                (None, None) => continue,
            };
            users.push((name, hash));
        }
        let apps = state
            .apps
            .iter()
            .enumerate()
            .map(|(i, a)| apps::hashed(a).map_err(|e| StoreError::State(format!("apps[{i}]: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut groups = Vec::with_capacity(state.groups.len());
        for (i, g) in state.groups.iter().enumerate() {
            let id = check_id(&g.id).map_err(|e| StoreError::State(format!("groups[{i}]: {e}")))?;
            let members = g
                .members
                .iter()
                .map(|m| {
                    check_id(m)
                        .map_err(|e| StoreError::State(format!("groups[{i}] ({id}) member: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            groups.push(CheckedGroup {
                index: i,
                id,
                members,
            });
        }
        let mut conversations = Vec::with_capacity(state.conversations.len());
        for (i, c) in state.conversations.iter().enumerate() {
            let at = |e: String| StoreError::State(format!("conversations[{i}]: {e}"));
            let user = check_id(&c.user).map_err(|e| at(e.to_string()))?;
            let peer = check_id(&c.id).map_err(|e| at(e.to_string()))?;
            let (key, kind) = match c.kind.as_str() {
                "chat" => (single_key(&user, &peer), ChatType::Single),
                "groupchat" => (conference_key(&peer), ChatType::Group),
                other => {
                    return Err(at(format!(
                        "type {other:?} must be \"chat\" or \"groupchat\""
                    )));
                }
            };
            for mark in &c.marks {
                let ok = mark
                    .strip_prefix("mark_")
                    .and_then(|n| n.parse::<u8>().ok())
                    .is_some_and(|n| n <= 19 && mark.len() <= 7);
                if !ok {
                    return Err(at(format!("mark {mark:?} is not mark_0..mark_19")));
                }
            }
            let marks = serde_json::to_string(&c.marks).map_err(|e| at(e.to_string()))?;
            conversations.push(CheckedConversation {
                index: i,
                user,
                peer,
                key,
                kind,
                unread: c.unread,
                pinned: c.pinned,
                pinned_at: c.pinned_at.filter(|_| c.pinned),
                marks,
            });
        }
        Ok(CheckedState {
            users,
            apps,
            groups,
            conversations,
        })
    }
}

/// The error of a group whose id is already another kind of conversation.
pub(crate) fn group_conflict(g: &CheckedGroup, kind: ChatType) -> StoreError {
    StoreError::State(format!(
        "groups[{}] ({}): already a {} conversation, not a group",
        g.index,
        g.id,
        kind.wire_name()
    ))
}

/// The error of a conversation state whose conversation is already another kind.
pub(crate) fn conversation_conflict(c: &CheckedConversation, found: ChatType) -> StoreError {
    StoreError::State(format!(
        "conversations[{}]: {} is already a {} conversation, not {}",
        c.index,
        c.peer,
        found.wire_name(),
        c.kind.wire_name()
    ))
}
