//! Reading whole conversations back out, oldest first, for export: every message of a
//! conversation in (time, id) order by its timeline, inside time bounds, after a mark.

use rusqlite::params;

use super::schema::{id_from_sql, id_to_sql, kind_from_sql};
use super::search::conversation_name;
use super::{Store, StoreError, message_from_row};
use crate::protocol::{ChatType, Message};

/// A conversation of the store, named as search names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConversation {
    /// A group or room id, or `alice|bob` for a single chat.
    pub name: String,
    /// Single, group or room.
    pub kind: ChatType,
}

/// Which messages of a conversation to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageRange {
    /// At or after this time (ms).
    pub since: Option<i64>,
    /// At or before this time (ms).
    pub until: Option<i64>,
    /// Only after this (time, id): where an earlier export stopped.
    pub after: Option<(i64, u64)>,
}

/// One stored message as export reads it: the columns and the stored JSON form.
#[derive(Debug)]
pub struct StoredMessage<'a> {
    /// The message id.
    pub id: u64,
    /// Single, group or room.
    pub kind: ChatType,
    /// Sender.
    pub from: &'a str,
    /// Receiver.
    pub to: &'a str,
    /// Milliseconds since the epoch.
    pub time: i64,
    /// The stored JSON form (PROTOCOL.md §3.3), as import wrote it.
    pub json: &'a str,
}

impl StoredMessage<'_> {
    /// The message itself.
    pub fn message(&self) -> Result<Message, StoreError> {
        message_from_row(
            id_to_sql(self.id),
            super::schema::kind_to_sql(self.kind),
            self.from.to_string(),
            self.to.to_string(),
            self.time,
            self.json,
        )
    }
}

impl Store {
    /// Every conversation with messages, by name. With a user, only theirs (their
    /// conversation list: single chats and groups, no rooms).
    pub fn stored_conversations(
        &self,
        user: Option<&str>,
    ) -> Result<Vec<StoredConversation>, StoreError> {
        let mut stmt = match user {
            Some(_) => self.conn.prepare_cached(
                "SELECT c.key, c.kind FROM user_convs uc JOIN convs c ON c.id = uc.conv
                 WHERE uc.user = ?1 AND c.kind != 2 AND c.last_id IS NOT NULL ORDER BY c.key",
            )?,
            None => self.conn.prepare_cached(
                "SELECT key, kind FROM convs WHERE last_id IS NOT NULL AND ?1 IS NULL
                 ORDER BY key",
            )?,
        };
        let user = user.map(str::to_ascii_lowercase);
        let rows = stmt.query_map([user], |r| {
            Ok(StoredConversation {
                name: conversation_name(&r.get::<_, String>(0)?),
                kind: kind_from_sql(r.get(1)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every nickname the store holds, by user id.
    pub fn all_nicknames(&self) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, nickname FROM user_names WHERE nickname != ''")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many messages of a conversation are in `range`.
    pub fn count_messages(
        &self,
        conversation: &str,
        range: MessageRange,
    ) -> Result<u64, StoreError> {
        let Some(conv) = self
            .conversation_rows(&[conversation.to_string()])?
            .first()
            .copied()
        else {
            return Ok(0);
        };
        let (low, high) = bounds(range);
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM timeline
                 WHERE conv = ?1 AND (time, id) > (?2, ?3) AND time <= ?4",
            )?
            .query_row(params![conv, low.0, low.1, high], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Calls `each` with every message of a conversation in `range`, oldest first. Stops
    /// at the first error `each` returns.
    pub fn for_each_message<E: From<StoreError>>(
        &self,
        conversation: &str,
        range: MessageRange,
        mut each: impl FnMut(&StoredMessage<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(conv) = self
            .conversation_rows(&[conversation.to_string()])?
            .first()
            .copied()
        else {
            return Ok(());
        };
        let (low, high) = bounds(range);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT m.id, m.chat_type, m.sender, m.receiver, m.time, m.json
                 FROM timeline t JOIN messages m ON m.id = t.id
                 WHERE t.conv = ?1 AND (t.time, t.id) > (?2, ?3) AND t.time <= ?4
                 ORDER BY t.time, t.id",
            )
            .map_err(StoreError::from)?;
        let mut rows = stmt
            .query(params![conv, low.0, low.1, high])
            .map_err(StoreError::from)?;
        while let Some(r) = rows.next().map_err(StoreError::from)? {
            let text = |i| -> Result<&str, StoreError> {
                Ok(r.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
            };
            let message = StoredMessage {
                id: id_from_sql(r.get(0).map_err(StoreError::from)?),
                kind: kind_from_sql(r.get(1).map_err(StoreError::from)?),
                from: text(2)?,
                to: text(3)?,
                time: r.get(4).map_err(StoreError::from)?,
                json: text(5)?,
            };
            each(&message)?;
        }
        Ok(())
    }
}

/// The lowest (time, stored id) excluded and the highest time included.
fn bounds(range: MessageRange) -> ((i64, i64), i64) {
    // Exclusive bounds: just before `since`'s first millisecond.
    let since = range
        .since
        .map_or((i64::MIN, i64::MIN), |s| (s.saturating_sub(1), i64::MAX));
    let after = range
        .after
        .map_or((i64::MIN, i64::MIN), |(t, id)| (t, id_to_sql(id)));
    (since.max(after), range.until.unwrap_or(i64::MAX))
}
