//! Names (PROTOCOL.md §8.1): users' nicknames and groups' and rooms' names and
//! descriptions, written from the state file and read by the server's name endpoints.
//!
//! Who may read what (roam's choice, the store's access rules of history):
//! - any user's nickname, as the service lets any user of the app read user attributes;
//! - a group's details by those who may read its history (members, and anyone who sent to
//!   it); to anybody else the group does not exist;
//! - a chat room's details by any user.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};

use super::schema::{conference_key, kind_from_sql};
use super::state::StateFile;
use super::{Store, StoreError, check_id, insert};
use crate::protocol::ChatType;
use crate::protocol::names::{
    GroupDetails, MAX_DESCRIPTION_CHARS, MAX_GROUP_NAME_CHARS, MAX_NICKNAME_CHARS,
};

/// The most members a group or room may have, as the details say (the service's default).
pub(crate) const MAX_USERS: u64 = 200;

/// Checks a name from the state file against its length limit.
fn checked<'a>(text: Option<&'a str>, max: usize, what: &str) -> Result<&'a str, String> {
    let text = text.unwrap_or_default();
    if text.chars().count() > max {
        return Err(format!("{what} is longer than {max} characters"));
    }
    Ok(text)
}

/// A user's nickname from the state file, checked: (user id, nickname).
pub(crate) type Nickname = (String, String);

/// A group's or room's names from the state file, checked.
pub(crate) struct CheckedConvName {
    /// Where it came from ("groups" or "rooms", and the index), for messages.
    pub(crate) section: &'static str,
    pub(crate) index: usize,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) owner: String,
    pub(crate) kind: ChatType,
}

impl CheckedConvName {
    /// The error of a group or room whose id is already another kind of conversation.
    pub(crate) fn conflict(&self, found: ChatType) -> StoreError {
        StoreError::State(format!(
            "{}[{}] ({}): already a {} conversation, not a {}",
            self.section,
            self.index,
            self.id,
            found.wire_name(),
            self.kind.wire_name()
        ))
    }
}

/// The names of a state file, checked: (user, nickname) pairs, and groups' and rooms'
/// names (only those that set a name or a description).
pub(crate) fn checked_names(
    state: &StateFile,
) -> Result<(Vec<Nickname>, Vec<CheckedConvName>), StoreError> {
    let mut nicknames = Vec::new();
    for (i, u) in state.users.iter().enumerate() {
        let at = |e: String| StoreError::State(format!("users[{i}] ({}): {e}", u.name));
        let Some(nickname) = u.nickname.as_deref() else {
            continue;
        };
        let name = check_id(&u.name).map_err(|e| at(e.to_string()))?;
        let nickname = checked(Some(nickname), MAX_NICKNAME_CHARS, "nickname").map_err(at)?;
        nicknames.push((name, nickname.to_string()));
    }
    let groups = state.groups.iter().map(|g| {
        let owner = g.members.first().map(String::as_str).unwrap_or_default();
        (
            "groups",
            &g.id,
            &g.name,
            &g.description,
            owner,
            ChatType::Group,
        )
    });
    let rooms = state
        .rooms
        .iter()
        .map(|r| ("rooms", &r.id, &r.name, &r.description, "", ChatType::Room));
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut conv_names = Vec::new();
    for (section, id, name, description, owner, kind) in groups.chain(rooms) {
        let next = index.entry(section).or_default();
        let i = *next;
        *next += 1;
        let at = |e: String| StoreError::State(format!("{section}[{i}] ({id}): {e}"));
        if name.is_none() && description.is_none() {
            continue;
        }
        let gid = check_id(id).map_err(|e| at(e.to_string()))?;
        let owner = if owner.is_empty() {
            String::new()
        } else {
            check_id(owner).map_err(|e| at(e.to_string()))?
        };
        let name = checked(name.as_deref(), MAX_GROUP_NAME_CHARS, "name").map_err(at)?;
        let description =
            checked(description.as_deref(), MAX_DESCRIPTION_CHARS, "description").map_err(at)?;
        conv_names.push(CheckedConvName {
            section,
            index: i,
            id: gid,
            name: name.to_string(),
            description: description.to_string(),
            owner,
            kind,
        });
    }
    Ok((nicknames, conv_names))
}

/// Writes the nicknames, group names and room names of a state file inside its
/// transaction; returns how many names were written. Groups' and rooms' conversation rows
/// are created when missing, with their kind fixed, as memberships do.
pub(super) fn apply_names(tx: &Transaction<'_>, state: &StateFile) -> Result<usize, StoreError> {
    let (nicknames, conv_names) = checked_names(state)?;
    let mut written = 0;
    for (name, nickname) in &nicknames {
        tx.prepare_cached(
            "INSERT INTO user_names(name, nickname) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET nickname = ?2",
        )?
        .execute(params![name, nickname])?;
        written += 1;
    }
    for n in &conv_names {
        let conv = insert::state_conversation(tx, &conference_key(&n.id), n.kind)?
            .map_err(|found| n.conflict(found))?;
        tx.prepare_cached(
            "INSERT INTO conv_names(conv, name, description, owner, created)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(conv) DO UPDATE SET name = ?2, description = ?3, owner = ?4",
        )?
        .execute(params![
            conv,
            n.name,
            n.description,
            n.owner,
            super::now_ms()
        ])?;
        written += 1;
    }
    Ok(written)
}

impl Store {
    /// The nicknames of those of `users` who have one, by lowercased user id. Ids that are
    /// not ids have none.
    pub fn nicknames(&self, users: &[String]) -> Result<HashMap<String, String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT nickname FROM user_names WHERE name = ?1")?;
        let mut out = HashMap::new();
        for user in users {
            let Ok(id) = check_id(user) else {
                continue;
            };
            if let Some(nickname) = stmt
                .query_row([&id], |r| r.get::<_, String>(0))
                .optional()?
            {
                out.insert(id, nickname);
            }
        }
        Ok(out)
    }

    /// The details of those of the groups `ids` that `reader` may see (see the module
    /// documentation; `None` is the app's administrator, who sees every group), in the order asked, each once. Rooms are not groups here.
    pub fn group_details(
        &self,
        reader: Option<&str>,
        ids: &[String],
    ) -> Result<Vec<GroupDetails>, StoreError> {
        let reader = match reader.map(check_id) {
            Some(Err(_)) => return Ok(Vec::new()),
            Some(Ok(user)) => Some(user),
            None => None,
        };
        let mut out: Vec<GroupDetails> = Vec::new();
        for id in ids {
            let Ok(id) = check_id(id) else {
                continue;
            };
            if out.iter().any(|d| d.id == id) {
                continue;
            }
            let Some((conv, details)) = self.details(&id, ChatType::Group)? else {
                continue;
            };
            let readable = match &reader {
                None => true,
                Some(user) => self
                    .conn
                    .prepare_cached("SELECT 1 FROM user_convs WHERE user = ?1 AND conv = ?2")?
                    .exists(params![user, conv])?,
            };
            if readable {
                out.push(GroupDetails {
                    public: Some(false),
                    avatar: Some(String::new()),
                    ..details
                });
            }
        }
        Ok(out)
    }

    /// The details of a chat room, when there is one by that id (any user may see them).
    pub fn room_details(&self, id: &str) -> Result<Option<GroupDetails>, StoreError> {
        let Ok(id) = check_id(id) else {
            return Ok(None);
        };
        Ok(self.details(&id, ChatType::Room)?.map(|(_, d)| d))
    }

    /// A group's or room's conversation row and details, when it exists and is of `kind`.
    /// One with no names set reads with an empty name, as on the service.
    fn details(&self, id: &str, kind: ChatType) -> Result<Option<(i64, GroupDetails)>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT c.id, c.kind, n.name, n.description, n.owner, n.created,
                        (SELECT count(*) FROM user_convs uc WHERE uc.conv = c.id)
                 FROM convs c LEFT JOIN conv_names n ON n.conv = c.id
                 WHERE c.key = ?1",
            )?
            .query_row([conference_key(id)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .optional()?;
        let Some((conv, found, name, description, owner, created, members)) = row else {
            return Ok(None);
        };
        if kind_from_sql(found) != kind {
            return Ok(None);
        }
        Ok(Some((
            conv,
            GroupDetails {
                id: id.to_string(),
                name: name.unwrap_or_default(),
                description: description.unwrap_or_default(),
                owner: owner.unwrap_or_default(),
                created: created.unwrap_or_default(),
                affiliations_count: u64::try_from(members).unwrap_or(0),
                maxusers: MAX_USERS,
                public: None,
                custom: String::new(),
                avatar: None,
            },
        )))
    }
}
