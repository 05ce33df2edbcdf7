//! Names (PROTOCOL.md §8.1): users' nicknames, groups' and chat rooms' names, for showing
//! instead of ids.
//!
//! - Users go [`MAX_ATTRIBUTE_TARGETS`] to a call and groups [`MAX_GROUPS_PER_CALL`];
//!   rooms one to a call, as the service's path takes one. Every loop runs over the ids
//!   asked (deduplicated), so it ends.
//! - Ids are checked by the one id rule and lowercased; one that is not an id has no name
//!   and is not sent.
//! - Answers are untrusted: an id nobody asked about is ignored, a name that is not a
//!   string or is blank is no name, a name past [`MAX_NAME_CHARS`] is cut there; a `data`
//!   of the wrong shape, an entry without an id and more entries than ids asked are
//!   [`ClientError::Malformed`]. Names are not cleaned here: they reach a screen only
//!   through the display-text function.

use std::collections::{HashMap, HashSet};

use reqwest::Method;
use serde_json::{Value, json};

use super::Client;
use super::error::ClientError;
use super::transport::Call;
use crate::protocol::ids;
use crate::protocol::json::Envelope;
use crate::protocol::names::{MAX_ATTRIBUTE_TARGETS, MAX_GROUPS_PER_CALL};

/// The longest name kept, in characters: more never fits a line.
pub const MAX_NAME_CHARS: usize = 256;

/// Names by lowercased id.
pub type NameMap = HashMap<String, String>;

/// The ids of `asked` that are ids, lowercased, each once, in the order given.
fn unique_ids(asked: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    asked
        .iter()
        .filter_map(|id| ids::check(id.trim()).ok())
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// A name as kept: a string that is not blank, cut at [`MAX_NAME_CHARS`].
fn name_of(value: Option<&Value>) -> Option<String> {
    let text = value?.as_str()?;
    if text.trim().is_empty() {
        return None;
    }
    Some(text.chars().take(MAX_NAME_CHARS).collect())
}

impl Client {
    /// The nicknames of `users` that have one (`metadata/user/get`, in batches of
    /// [`MAX_ATTRIBUTE_TARGETS`]).
    pub async fn nicknames(&self, users: &[String]) -> Result<NameMap, ClientError> {
        let mut names = NameMap::new();
        for batch in unique_ids(users).chunks(MAX_ATTRIBUTE_TARGETS) {
            let call = Call {
                method: Method::POST,
                body: Some(json!({"targets": batch, "properties": ["nickname"]})),
                ..Call::get("metadata/user/get".to_string())
            };
            let answer: Envelope<Value> = self.get_json(&call).await?;
            let malformed = |reason: String| ClientError::Malformed {
                endpoint: call.endpoint(),
                reason,
            };
            let Value::Object(users) = answer.data else {
                return Err(malformed("user attributes: data is not an object".into()));
            };
            if users.len() > batch.len() {
                return Err(malformed(format!(
                    "user attributes: {} users in the answer for {} asked",
                    users.len(),
                    batch.len()
                )));
            }
            for (user, attributes) in users {
                let user = user.to_ascii_lowercase();
                if !batch.contains(&user) {
                    continue;
                }
                match attributes {
                    Value::Object(attributes) => {
                        if let Some(name) = name_of(attributes.get("nickname")) {
                            names.insert(user, name);
                        }
                    }
                    // `{}` is the service's "no attributes"; null reads the same.
                    Value::Null => {}
                    _ => {
                        return Err(malformed(format!(
                            "user attributes of {user:?} are not an object"
                        )));
                    }
                }
            }
        }
        Ok(names)
    }

    /// The names of `groups` the user may see (`chatgroups/{ids}`, in batches of
    /// [`MAX_GROUPS_PER_CALL`]).
    pub async fn group_names(&self, groups: &[String]) -> Result<NameMap, ClientError> {
        let mut names = NameMap::new();
        for batch in unique_ids(groups).chunks(MAX_GROUPS_PER_CALL) {
            let call = Call {
                query: vec![("joined_time", "true".to_string())],
                ..Call::get(format!("chatgroups/{}", batch.join(",")))
            };
            self.details_into(&call, batch, &mut names).await?;
        }
        Ok(names)
    }

    /// The names of chat `rooms` (`chatrooms/{id}`, one call each).
    pub async fn room_names(&self, rooms: &[String]) -> Result<NameMap, ClientError> {
        let mut names = NameMap::new();
        for room in unique_ids(rooms) {
            let call = Call::get(format!("chatrooms/{room}"));
            self.details_into(&call, std::slice::from_ref(&room), &mut names)
                .await?;
        }
        Ok(names)
    }

    /// Sends a details call for `asked` and adds the names it carries to `names`.
    async fn details_into(
        &self,
        call: &Call,
        asked: &[String],
        names: &mut NameMap,
    ) -> Result<(), ClientError> {
        let answer: Envelope<Value> = self.get_json(call).await?;
        let malformed = |reason: String| ClientError::Malformed {
            endpoint: call.endpoint(),
            reason,
        };
        let Value::Array(entries) = answer.data else {
            return Err(malformed("details: data is not a list".into()));
        };
        if entries.len() > asked.len() {
            return Err(malformed(format!(
                "details: {} entries in the answer for {} asked",
                entries.len(),
                asked.len()
            )));
        }
        for entry in entries {
            let id = entry
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed("details: an entry has no id".into()))?
                .to_ascii_lowercase();
            if !asked.contains(&id) {
                continue;
            }
            if let Some(name) = name_of(entry.get("name")) {
                names.insert(id, name);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_lowercased_and_deduplicated() {
        let asked: Vec<String> = ["Li.Wei", "li.wei", "bad id", "", "262857469362177"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(unique_ids(&asked), vec!["li.wei", "262857469362177"]);
    }

    #[test]
    fn names_are_strings_not_blank_and_capped() {
        assert_eq!(name_of(Some(&json!("李伟"))), Some("李伟".into()));
        assert_eq!(name_of(Some(&json!(" "))), None);
        assert_eq!(name_of(Some(&json!(7))), None);
        assert_eq!(name_of(None), None);
        let long = "x".repeat(MAX_NAME_CHARS * 4);
        assert_eq!(
            name_of(Some(&json!(long))).map(|n| n.chars().count()),
            Some(MAX_NAME_CHARS)
        );
    }
}
