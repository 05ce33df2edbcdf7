//! Names in the CLI's text output: nicknames and group and room names fetched once per
//! command for the ids it is about to print, shown as `name (id)` so scripts and people
//! both find what they need. A name that cannot be fetched is a warning in the log, never a
//! failure nor a line on stderr (scripts read stderr): the id alone is still right. JSON
//! output keeps ids only.

use std::collections::BTreeSet;

use crate::client::{Client, NameMap};
use crate::protocol::ChatType;
use crate::tui::text;

/// The names known for one command's output.
#[derive(Debug, Default)]
pub(super) struct Names {
    users: NameMap,
    conferences: NameMap,
}

impl Names {
    /// Fetches the names of `users` and of the conferences (`ids` with their kind).
    pub(super) async fn fetch(
        client: &Client,
        users: BTreeSet<String>,
        conferences: &[(String, ChatType)],
    ) -> Names {
        let warn = |what: &str, e: crate::client::ClientError| {
            tracing::warn!(what, error = %e.description(), "names not shown");
            NameMap::new()
        };
        let users: Vec<String> = users.into_iter().collect();
        let of_kind = |kind: ChatType| -> Vec<String> {
            conferences
                .iter()
                .filter(|(_, k)| *k == kind)
                .map(|(id, _)| id.clone())
                .collect()
        };
        let users = match client.nicknames(&users).await {
            Ok(names) => names,
            Err(e) => warn("nicknames", e),
        };
        let mut conferences = match client.group_names(&of_kind(ChatType::Group)).await {
            Ok(names) => names,
            Err(e) => warn("group names", e),
        };
        match client.room_names(&of_kind(ChatType::Room)).await {
            Ok(names) => conferences.extend(names),
            Err(e) => {
                warn("room names", e);
            }
        }
        Names { users, conferences }
    }

    /// The names a store holds for `users` and the conferences (no server involved: the
    /// store's own name tables), from either back end (`--db` a file or a PostgreSQL
    /// URL). A store that cannot say is a warning in the log.
    pub(super) async fn from_db(
        db: &crate::store::Db,
        users: BTreeSet<String>,
        conferences: &[(String, ChatType)],
    ) -> Names {
        let users: Vec<String> = users.into_iter().collect();
        let users = db.nicknames(&users).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "nicknames not shown");
            NameMap::new()
        });
        let mut names = NameMap::new();
        let groups: Vec<String> = conferences
            .iter()
            .filter(|(_, k)| *k == ChatType::Group)
            .map(|(id, _)| id.clone())
            .collect();
        match db.group_details(None, &groups).await {
            Ok(found) => names.extend(found.into_iter().map(|d| (d.id, d.name))),
            Err(e) => tracing::warn!(error = %e, "group names not shown"),
        }
        for (id, _) in conferences.iter().filter(|(_, k)| *k == ChatType::Room) {
            if let Ok(Some(d)) = db.room_details(id).await {
                names.insert(d.id, d.name);
            }
        }
        names.retain(|_, name| !name.is_empty());
        Names {
            users,
            conferences: names,
        }
    }

    /// A user as shown: `name (id)`, or the id; one line, at most `width` columns.
    pub(super) fn user(&self, id: &str, width: usize) -> String {
        label(self.users.get(id), id, width)
    }

    /// A conversation as shown: `name (id)`, or the id; one line, at most `width` columns.
    pub(super) fn conversation(&self, id: &str, kind: ChatType, width: usize) -> String {
        match kind {
            ChatType::Single => self.user(id, width),
            ChatType::Group | ChatType::Room => label(self.conferences.get(id), id, width),
        }
    }
}

/// `name (id)` through the display-text function, the id kept whole when it fits.
fn label(name: Option<&String>, id: &str, width: usize) -> String {
    let id = text::one_line(id, width);
    let Some(name) = name else {
        return id;
    };
    let room = width.saturating_sub(text::width(&id) + 3);
    let name = text::one_line(name, room);
    if name.is_empty() {
        return id;
    }
    format!("{name} ({id})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_one_inert_line_with_the_id() {
        let hostile = "Mallory\u{1b}[31m\u{202e}gnp\nexe".to_string();
        let shown = label(Some(&hostile), "mallory", 40);
        assert!(shown.ends_with(" (mallory)"), "{shown}");
        assert!(!shown.contains(['\u{1b}', '\u{202e}', '\n']), "{shown:?}");
        assert_eq!(label(None, "li.wei", 40), "li.wei");
        assert_eq!(
            label(Some(&"李伟".to_string()), "li.wei", 40),
            "李伟 (li.wei)"
        );
        let long = "名".repeat(100);
        assert!(text::width(&label(Some(&long), "li.wei", 20)) <= 20);
    }
}
