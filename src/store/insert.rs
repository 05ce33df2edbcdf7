//! Storing messages: import's write path.
//!
//! A message is first prepared ([`PreparedMessage`]: ids lowercased, its conversation's key
//! and its stored JSON form made), which needs no database, so import does it on its
//! reading thread. A batch of prepared messages is then one transaction, in three steps:
//! 1. In the batch's order, each message is checked. A message id already stored, or seen
//!    earlier in the batch, is a duplicate: the first copy wins. A message must agree with
//!    its conversation's kind, which the conversation's first message (or the state file)
//!    fixed; one that does not is rejected, never applied, so an import cannot turn a
//!    private group into a public room. Conversations are created here, and only for a
//!    message that will be stored, so a duplicate never leaves an empty conversation.
//! 2. The accepted messages are written twice: to `messages` in id order, which for an
//!    export (in time order, with time-based ids) appends; and to `timeline` sorted by
//!    (conversation, time, id). The timeline and its indexes all lead with the
//!    conversation, so sorted rows touch each of their pages once per batch. In file order,
//!    an export spread over many conversations touched a random page of every index for
//!    every message, which is what made such imports slow.
//!    Messages with text (or a file name, an address) are also written to the search
//!    index ([`super::search`]).
//! 3. Per conversation: its newest message, and the rows of its members' conversation lists.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::schema::{conference_key, id_to_sql, kind_from_sql, kind_to_sql, single_key};
use super::{Store, StoreError};
use crate::protocol::json::MessageJson;
use crate::protocol::{ChatType, Message, encode_body_tail};

/// How many conversations the cache keeps before it starts over: it saves a lookup per
/// message, and must not grow with the whole history.
const MAX_CACHED_CONVERSATIONS: usize = 200_000;

/// What [`Store::insert_messages`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InsertCounts {
    /// Messages stored for the first time.
    pub new: u64,
    /// Messages whose id was already stored (left unchanged).
    pub duplicates: u64,
    /// Messages not stored because they contradict their conversation's kind: the index
    /// into the batch and why.
    pub rejected: Vec<(usize, String)>,
}

/// A message ready for [`Store::insert_prepared`].
#[derive(Clone, Debug)]
pub struct PreparedMessage {
    /// The stored id.
    pub(crate) id: i64,
    pub(crate) kind: ChatType,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) time: i64,
    pub(crate) type_name: &'static str,
    /// The conversation's key.
    pub(crate) key: String,
    /// The stored JSON form.
    pub(crate) json: String,
    /// The entry body's stored part ([`crate::protocol::encode_body_tail`]).
    pub(crate) body: Option<Vec<u8>>,
    /// The chat files it names ([`super::files::linked_files`]).
    pub(crate) files: Vec<(String, Option<String>)>,
    /// What search looks at ([`super::search::searchable_text`]).
    pub(crate) search_text: Option<String>,
}

impl PreparedMessage {
    /// Prepares a message: sender and receiver lowercased (and not empty), the
    /// conversation's key and the JSON form made.
    pub fn new(message: &Message) -> Result<PreparedMessage, StoreError> {
        let from = message.from.to_ascii_lowercase();
        let to = message.to.to_ascii_lowercase();
        if from.is_empty() || to.is_empty() {
            return Err(StoreError::BadMessage {
                id: message.id,
                reason: "empty sender or receiver".into(),
            });
        }
        let mut form = MessageJson::from_message(message);
        // Read back from the columns (`message_from_row`), so only the lowercased ids are
        // kept.
        form.from.clone_from(&from);
        form.to.clone_from(&to);
        let json = serde_json::to_string(&form).map_err(|e| StoreError::BadMessage {
            id: message.id,
            reason: e.to_string(),
        })?;
        // From the message as pages read it back from the JSON form, so the stored body is
        // what the JSON form would serve; a form that does not read back keeps no body, and
        // its page reports it as before.
        let body = form
            .to_message(message.id, message.time, Some(message.chat_type))
            .ok()
            .map(|stored| encode_body_tail(&stored));
        let key = match message.chat_type {
            ChatType::Single => single_key(&from, &to),
            ChatType::Group | ChatType::Room => conference_key(&to),
        };
        Ok(PreparedMessage {
            id: id_to_sql(message.id),
            kind: message.chat_type,
            from,
            to,
            time: message.time,
            type_name: message.content.type_name(),
            key,
            json,
            body,
            files: super::files::linked_files(message),
            search_text: super::search::searchable_text(message),
        })
    }

    /// About how many bytes of memory it holds: what import's batch budget counts.
    pub fn memory_size(&self) -> usize {
        size_of::<PreparedMessage>()
            + self.from.capacity()
            + self.to.capacity()
            + self.key.capacity()
            + self.json.capacity()
            + self.body.as_ref().map_or(0, Vec::capacity)
            + self
                .files
                .iter()
                .map(|(u, s)| u.capacity() + s.as_ref().map_or(0, String::capacity))
                .sum::<usize>()
            + self.search_text.as_ref().map_or(0, String::capacity)
    }
}

/// A conversation as the write path needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CachedConversation {
    id: i64,
    kind: ChatType,
    /// Whether it has messages: a single chat's list rows are written with its first
    /// message, so later batches need not write them again.
    has_messages: bool,
}

/// A message accepted for writing: where it goes and its place in the batch.
struct Accepted {
    conv: i64,
    time: i64,
    id: i64,
    index: usize,
    /// The first message its conversation gets.
    first: bool,
}

/// Why a message may not go into a conversation of `existing` kind.
pub(crate) fn kind_conflict(message: &PreparedMessage, existing: ChatType) -> String {
    format!(
        "a {} message to {:?}, which is a {} conversation: a conversation's type is fixed \
         by its first message or the state file",
        message.kind.wire_name(),
        message.to,
        existing.wire_name()
    )
}

impl Store {
    /// Stores messages in one transaction, skipping ids already stored and rejecting
    /// messages that contradict their conversation's kind. Ids are lowercased on the way
    /// in. This is import's write path, open for bulk loaders and benchmarks.
    pub fn insert_messages(&mut self, messages: &[Message]) -> Result<InsertCounts, StoreError> {
        let prepared = messages
            .iter()
            .map(PreparedMessage::new)
            .collect::<Result<Vec<_>, _>>()?;
        self.insert_prepared(&prepared)
    }

    /// [`Store::insert_messages`] for messages already prepared.
    pub fn insert_prepared(
        &mut self,
        messages: &[PreparedMessage],
    ) -> Result<InsertCounts, StoreError> {
        let result = self.insert_batch(messages);
        if result.is_err() {
            // The cache may name conversations the rolled-back transaction created.
            self.conv_cache.clear();
        }
        result
    }

    fn insert_batch(&mut self, messages: &[PreparedMessage]) -> Result<InsertCounts, StoreError> {
        if self.conv_cache.len() > MAX_CACHED_CONVERSATIONS {
            self.conv_cache.clear();
        }
        let mut counts = InsertCounts::default();
        // Immediate: the duplicate checks must see what the inserts will see.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;

        // 1. Check each message in order; create conversations for accepted ones.
        let mut accepted = Vec::with_capacity(messages.len());
        let mut seen = HashSet::with_capacity(messages.len());
        {
            let mut stored = tx.prepare_cached("SELECT 1 FROM messages WHERE id = ?1")?;
            for (index, message) in messages.iter().enumerate() {
                if !seen.insert(message.id) || stored.exists([message.id])? {
                    counts.duplicates += 1;
                    continue;
                }
                let cached = self.conv_cache.get(&message.key).copied();
                let conv = match cached {
                    Some(conv) => conv,
                    None => find_or_create(&tx, &message.key, message.kind)?,
                };
                if conv.kind != message.kind {
                    counts
                        .rejected
                        .push((index, kind_conflict(message, conv.kind)));
                    if cached.is_none() {
                        self.conv_cache.insert(message.key.clone(), conv);
                    }
                    continue;
                }
                accepted.push(Accepted {
                    conv: conv.id,
                    time: message.time,
                    id: message.id,
                    index,
                    first: !conv.has_messages,
                });
                if cached.is_none() || !conv.has_messages {
                    // A failed batch clears the whole cache, so this cannot outlive a
                    // rollback.
                    let conv = CachedConversation {
                        has_messages: true,
                        ..conv
                    };
                    self.conv_cache.insert(message.key.clone(), conv);
                }
            }
        }

        // 2. Write them: messages in id order, the timeline in its own order.
        accepted.sort_unstable_by_key(|a| a.id);
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages(id, conv, chat_type, sender, receiver, time, type, json, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for a in &accepted {
                let m = &messages[a.index];
                insert.execute(params![
                    a.id,
                    a.conv,
                    kind_to_sql(m.kind),
                    m.from,
                    m.to,
                    a.time,
                    m.type_name,
                    m.json,
                    m.body
                ])?;
                super::files::write_links(&tx, a.id, &m.files)?;
                if let Some(text) = &m.search_text {
                    super::search::add_doc(&tx, a.id, a.conv, a.time, text)?;
                }
            }
        }
        accepted.sort_unstable_by_key(|a| (a.conv, a.time, a.id));
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO timeline(conv, time, id, type, sender) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for a in &accepted {
                let m = &messages[a.index];
                insert.execute(params![a.conv, a.time, a.id, m.type_name, m.from])?;
            }
        }
        counts.new = accepted.len() as u64;

        // 3. Per conversation (a run of the sorted rows): the newest message, list rows.
        {
            let mut newest = tx.prepare_cached(
                "UPDATE convs SET last_time = ?2, last_id = ?3
                 WHERE id = ?1 AND (last_id IS NULL OR (last_time, last_id) < (?2, ?3))",
            )?;
            let mut member = tx.prepare_cached(
                "INSERT OR IGNORE INTO user_convs(user, conv, peer) VALUES (?1, ?2, ?3)",
            )?;
            for run in accepted.chunk_by(|a, b| a.conv == b.conv) {
                let last = &run[run.len() - 1];
                newest.execute(params![last.conv, last.time, last.id])?;
                let m = &messages[run[0].index];
                match m.kind {
                    // A single chat's pair is fixed by its key: both rows with its first
                    // message.
                    ChatType::Single => {
                        if run.iter().any(|a| a.first) {
                            member.execute(params![m.from, last.conv, m.to])?;
                            member.execute(params![m.to, last.conv, m.from])?;
                        }
                    }
                    ChatType::Group => {
                        let mut senders = HashSet::new();
                        for a in run {
                            let sender = messages[a.index].from.as_str();
                            if senders.insert(sender) {
                                member.execute(params![sender, a.conv, m.to])?;
                            }
                        }
                    }
                    // Rooms never show in conversation lists.
                    ChatType::Room => {}
                }
            }
        }
        tx.commit()?;
        Ok(counts)
    }
}

/// A conversation by key, created (without messages, of `kind`) when new.
fn find_or_create(
    conn: &rusqlite::Connection,
    key: &str,
    kind: ChatType,
) -> Result<CachedConversation, StoreError> {
    let found = conn
        .prepare_cached("SELECT id, kind, last_id IS NOT NULL FROM convs WHERE key = ?1")?
        .query_row([key], |r| {
            Ok(CachedConversation {
                id: r.get(0)?,
                kind: kind_from_sql(r.get(1)?),
                has_messages: r.get(2)?,
            })
        })
        .optional()?;
    if let Some(found) = found {
        return Ok(found);
    }
    conn.prepare_cached("INSERT INTO convs(key, kind) VALUES (?1, ?2)")?
        .execute(params![key, kind_to_sql(kind)])?;
    Ok(CachedConversation {
        id: conn.last_insert_rowid(),
        kind,
        has_messages: false,
    })
}

/// The row id of a conversation for the state file, created when new; `Err(kind)` when it
/// exists with another kind.
pub(crate) fn state_conversation(
    conn: &rusqlite::Connection,
    key: &str,
    kind: ChatType,
) -> Result<Result<i64, ChatType>, StoreError> {
    let conv = find_or_create(conn, key, kind)?;
    Ok(if conv.kind == kind {
        Ok(conv.id)
    } else {
        Err(conv.kind)
    })
}
