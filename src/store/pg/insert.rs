//! Storing messages on PostgreSQL: import's write path, one transaction per batch (and
//! one beside it for the batch's search documents, see [`PgStore::insert_batch`]).
//!
//! The same rules as the SQLite store ([`crate::store::insert`]): a message id already
//! stored, or seen earlier in the batch, is a duplicate and the first copy wins; a message
//! must agree with its conversation's kind (fixed by its first message or the state file).
//! What differs is the cost per message: the batch's ids and conversations are looked up
//! in one statement each, the accepted messages go in with one binary `COPY`, and the
//! conversations' newest messages and list rows are one statement each; their search
//! documents ([`super::search`]) are written at the same time on another connection.
//!
//! Imports take an advisory lock for their transaction, so two imports into one database
//! take turns instead of failing on each other's ids; readers are not blocked by a batch
//! (only, for a moment, by an import into empty tables setting their indexes aside, see
//! [`super::import`]), and see a batch's messages whole or not at all.

use std::collections::{HashMap, HashSet};

use futures::{SinkExt, pin_mut};

use super::copy::CopyRows;
use super::{PgError, PgStore};
use crate::protocol::{ChatType, Message};
use crate::store::insert::{PreparedMessage, kind_conflict};
use crate::store::schema::{kind_from_sql, kind_to_sql};
use crate::store::{InsertCounts, StoreError};

/// The advisory lock key imports hold ("roamimpt" in ASCII, less the top bit).
pub(super) const IMPORT_LOCK: i64 = 0x726f_616d_696d_7074;

/// At most this many bytes of prepared messages per batch (about 70,000 short messages).
/// The reading thread parses the next batch while this one is written, so only the first
/// batch's parsing is not hidden behind the database's work: smaller is better for that.
/// But each batch also updates every conversation it touches once, and sorts its rows by
/// conversation so they land together in the indexes: bigger is better for those. On the
/// many-conversation bench (`pg_import`) 32 MiB beat 8 MiB and import's usual 64 MiB.
pub(super) const PG_BATCH_BYTES: usize = 32 << 20;

/// A conversation as the write path needs it.
#[derive(Clone, Copy, Debug)]
struct Conv {
    id: i64,
    kind: ChatType,
}

impl PgStore {
    /// Stores messages in one transaction (see the module documentation).
    pub async fn insert_messages(&self, messages: &[Message]) -> Result<InsertCounts, StoreError> {
        let prepared = messages
            .iter()
            .map(PreparedMessage::new)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.insert_prepared(&prepared).await?)
    }

    /// [`PgStore::insert_messages`] for messages already prepared.
    pub async fn insert_prepared(
        &self,
        messages: &[PreparedMessage],
    ) -> Result<InsertCounts, PgError> {
        self.insert_batch(messages, &mut Known::default()).await
    }

    /// [`PgStore::insert_prepared`], skipping the look-ups and list rows that earlier
    /// batches of the same import made (`known`, which it extends once the batch is
    /// committed).
    ///
    /// The search documents go in on a second connection while the messages go in on
    /// the first: the database works on each in its own process, so on two cores in
    /// about the time of the longer. They are two transactions, committed documents
    /// first, then messages, both only when both succeeded. A failure before the
    /// commits leaves nothing. A crash between them leaves documents of messages not
    /// stored: search passes over those (it reads each hit's message), and storing the
    /// messages later replaces them ([`super::search::add_docs`]). When the pool has no
    /// second connection free, one transaction does both, one after the other.
    pub(super) async fn insert_batch(
        &self,
        messages: &[PreparedMessage],
        known: &mut Known,
    ) -> Result<InsertCounts, PgError> {
        let mut client = self.client().await?;
        // Taken before the import lock, and never waited for: a batch waiting for the
        // pool while holding the lock could wait on a batch that waits for the lock.
        let mut docs_client = self.spare_client().await;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&IMPORT_LOCK])
            .await?;

        // Ids already stored, and conversations already known, in one statement each.
        let stored = stored_ids(&tx, messages).await?;
        let mut convs = known_convs(&tx, messages, known).await?;
        let checked = check(messages, &stored, &convs);
        create_convs(&tx, &checked.new_kinds, &mut convs).await?;
        let docs = docs_of(messages, &checked.accepted, &convs)?;

        // The documents' transaction begins once the lock is held, and commits before
        // the messages' releases it: document writers take turns as imports do.
        let members = match &mut docs_client {
            Some(docs_client) => {
                let docs_tx = docs_client.transaction().await?;
                let (written, indexed) = tokio::join!(
                    write_messages(&tx, messages, &checked.accepted, &convs, known),
                    super::search::add_docs(&*docs_tx, &docs),
                );
                let members = written?;
                indexed?;
                docs_tx.commit().await?;
                members
            }
            None => {
                let members =
                    write_messages(&tx, messages, &checked.accepted, &convs, known).await?;
                super::search::add_docs(&*tx, &docs).await?;
                members
            }
        };
        tx.commit().await?;
        known.learn(
            convs,
            members.into_iter().map(|(user, conv, _)| (user, conv)),
        );
        Ok(checked.counts)
    }

    /// A second pooled connection if one is free (or can be opened) right away.
    pub(super) async fn spare_client(&self) -> Option<deadpool_postgres::Object> {
        let at_once = deadpool_postgres::Timeouts {
            wait: Some(std::time::Duration::ZERO),
            ..self.pool.timeouts()
        };
        self.pool.timeout_get(&at_once).await.ok()
    }
}

/// A batch's messages sorted out: which are stored, which are not and why, and the
/// conversations first seen in it.
struct Checked<'m> {
    counts: InsertCounts,
    /// Indexes of the messages to store, in the batch's order.
    accepted: Vec<usize>,
    /// New conversations, each with the kind its first accepted message gives it.
    new_kinds: HashMap<&'m str, ChatType>,
}

/// Checks each message in order: a duplicate of a stored message or of an earlier one
/// in the batch is counted, one that contradicts its conversation's kind is rejected,
/// and the first accepted message of a new conversation fixes its kind.
fn check<'m>(
    messages: &'m [PreparedMessage],
    stored: &HashSet<i64>,
    convs: &HashMap<String, Conv>,
) -> Checked<'m> {
    let mut counts = InsertCounts::default();
    let mut seen = HashSet::with_capacity(messages.len());
    let mut accepted: Vec<usize> = Vec::with_capacity(messages.len());
    let mut new_kinds: HashMap<&str, ChatType> = HashMap::new();
    for (index, m) in messages.iter().enumerate() {
        if !seen.insert(m.id) || stored.contains(&m.id) {
            counts.duplicates += 1;
            continue;
        }
        let kind = match convs.get(m.key.as_str()) {
            Some(conv) => conv.kind,
            None => *new_kinds.entry(m.key.as_str()).or_insert(m.kind),
        };
        if kind != m.kind {
            counts.rejected.push((index, kind_conflict(m, kind)));
            continue;
        }
        accepted.push(index);
    }
    counts.new = accepted.len() as u64;
    Checked {
        counts,
        accepted,
        new_kinds,
    }
}

/// The search documents of the accepted messages, in id order: keys that collide are
/// settled in that order, as the SQLite store settles them, so both give the same
/// cursors.
fn docs_of<'m>(
    messages: &'m [PreparedMessage],
    accepted: &[usize],
    convs: &HashMap<String, Conv>,
) -> Result<Vec<super::search::Doc<'m>>, PgError> {
    let mut by_id = accepted.to_vec();
    by_id.sort_unstable_by_key(|&i| messages[i].id);
    let mut docs = Vec::with_capacity(accepted.len());
    for &i in &by_id {
        let m = &messages[i];
        if let Some(text) = &m.search_text {
            docs.push(super::search::Doc {
                msg: m.id,
                conv: conv_id(convs, m)?,
                time: m.time,
                text,
            });
        }
    }
    Ok(docs)
}

/// Writes the accepted messages, their conversations' newest messages and list rows,
/// and the chat files they name, inside `tx`. Returns the list rows it made sure of
/// (user, conversation, peer), for [`Known`] once committed.
async fn write_messages<'m>(
    tx: &deadpool_postgres::Transaction<'_>,
    messages: &'m [PreparedMessage],
    accepted: &[usize],
    convs: &HashMap<String, Conv>,
    known: &Known,
) -> Result<HashSet<(&'m str, i64, &'m str)>, PgError> {
    // 1. The messages, in one binary COPY, encoded by hand and sent in large chunks. In
    //    (conversation, time, id) order: the page indexes all lead with the
    //    conversation, so each row goes next to the one before and the index pages it
    //    touches stay in the CPU's caches (an export's time order scatters them).
    let mut order: Vec<(i64, i64, i64, usize)> = Vec::with_capacity(accepted.len());
    for &i in accepted {
        let m = &messages[i];
        order.push((conv_id(convs, m)?, m.time, m.id, i));
    }
    order.sort_unstable();
    let sink = tx
        .copy_in::<_, std::io::Cursor<Vec<u8>>>(
            "COPY messages(id, conv, chat_type, sender, receiver, time, type, json, body)
             FROM STDIN (FORMAT binary)",
        )
        .await?;
    pin_mut!(sink);
    let mut rows = CopyRows::new();
    for &(conv, _, _, i) in &order {
        let m = &messages[i];
        rows.row(9);
        rows.int8(m.id);
        rows.int8(conv);
        rows.int2(kind_to_sql(m.kind) as i16);
        rows.bytes(m.from.as_bytes())?;
        rows.bytes(m.to.as_bytes())?;
        rows.int8(m.time);
        rows.bytes(m.type_name.as_bytes())?;
        rows.bytes(m.json.as_bytes())?;
        match &m.body {
            Some(body) => rows.bytes(body)?,
            None => rows.null(),
        }
        if rows.is_full() {
            sink.send(rows.take()).await?;
        }
    }
    sink.send(rows.finish()).await?;
    sink.as_mut().finish().await?;

    // 2. Per conversation: the newest message, and its members' list rows.
    let mut newest: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut members: HashSet<(&str, i64, &str)> = HashSet::new();
    for &i in accepted {
        let m = &messages[i];
        let conv = conv_id(convs, m)?;
        let at = newest.entry(conv).or_insert((m.time, m.id));
        *at = (*at).max((m.time, m.id));
        match m.kind {
            ChatType::Single => {
                members.insert((&m.from, conv, &m.to));
                members.insert((&m.to, conv, &m.from));
            }
            ChatType::Group => {
                members.insert((&m.from, conv, &m.to));
            }
            // Rooms never show in conversation lists.
            ChatType::Room => {}
        }
    }
    members.retain(|&(user, conv, _)| !known.has_member(user, conv));
    let (conv, (time, id)): (Vec<i64>, (Vec<i64>, Vec<i64>)) = newest.into_iter().unzip();
    let update = tx
        .prepare_cached(
            "UPDATE convs c SET last_time = u.t, last_id = u.i
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(conv, t, i)
             WHERE c.id = u.conv
               AND (c.last_id IS NULL OR (c.last_time, c.last_id) < (u.t, u.i))",
        )
        .await?;
    tx.execute(&update, &[&conv, &time, &id]).await?;
    let mut users = Vec::with_capacity(members.len());
    let mut conv = Vec::with_capacity(members.len());
    let mut peer = Vec::with_capacity(members.len());
    for &(u, c, p) in &members {
        users.push(u);
        conv.push(c);
        peer.push(p);
    }
    let member = tx
        .prepare_cached(
            "INSERT INTO user_convs(\"user\", conv, peer)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
             ON CONFLICT DO NOTHING",
        )
        .await?;
    tx.execute(&member, &[&users, &conv, &peer]).await?;

    // 3. The chat files the messages name.
    let mut uuids = Vec::new();
    let mut owners = Vec::new();
    let mut secrets = Vec::new();
    for &i in accepted {
        for (uuid, secret) in &messages[i].files {
            uuids.push(uuid.as_str());
            owners.push(messages[i].id);
            secrets.push(secret.as_deref());
        }
    }
    if !uuids.is_empty() {
        let link = tx
            .prepare_cached(
                "INSERT INTO message_files(uuid, message, secret)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        tx.execute(&link, &[&uuids, &owners, &secrets]).await?;
    }
    Ok(members)
}

/// The conversations and list rows an import's committed batches made or found, so the
/// next batches neither look them up nor insert them again. Neither is ever deleted or
/// changed in what is kept here (a conversation's id and kind, that a list row exists),
/// so what a committed batch saw stays true.
#[derive(Default)]
pub(super) struct Known {
    convs: HashMap<String, Conv>,
    /// Per conversation, the users whose list row exists.
    members: HashMap<i64, HashSet<String>>,
    member_count: usize,
}

/// How many entries [`Known`] holds at most; past it, it starts over (an import of a
/// very large number of conversations pays the look-ups again, not the memory).
const KNOWN_MAX: usize = 1 << 20;

impl Known {
    fn has_member(&self, user: &str, conv: i64) -> bool {
        self.members
            .get(&conv)
            .is_some_and(|users| users.contains(user))
    }

    /// Keeps what a committed batch used.
    fn learn<'a>(
        &mut self,
        convs: HashMap<String, Conv>,
        members: impl Iterator<Item = (&'a str, i64)>,
    ) {
        if self.convs.len() + self.member_count > KNOWN_MAX {
            *self = Known::default();
        }
        self.convs.extend(convs);
        for (user, conv) in members {
            if self
                .members
                .entry(conv)
                .or_default()
                .insert(user.to_string())
            {
                self.member_count += 1;
            }
        }
    }
}

/// Which of the batch's ids are stored already (see [`super::probe`]).
async fn stored_ids(
    tx: &deadpool_postgres::Transaction<'_>,
    messages: &[PreparedMessage],
) -> Result<HashSet<i64>, PgError> {
    let ids: HashSet<i64> = messages.iter().map(|m| m.id).collect();
    super::probe::MESSAGE_IDS.holds(&**tx, &ids).await
}

/// The conversations the batch names that exist already.
async fn known_convs(
    tx: &deadpool_postgres::Transaction<'_>,
    messages: &[PreparedMessage],
    known: &Known,
) -> Result<HashMap<String, Conv>, PgError> {
    let mut found = HashMap::new();
    let mut keys = HashSet::new();
    for m in messages {
        match known.convs.get(&m.key) {
            Some(conv) => {
                if !found.contains_key(&m.key) {
                    found.insert(m.key.clone(), *conv);
                }
            }
            None => {
                keys.insert(m.key.as_str());
            }
        }
    }
    if keys.is_empty() {
        return Ok(found);
    }
    let keys: Vec<&str> = keys.into_iter().collect();
    let stmt = tx
        .prepare_cached("SELECT key, id, kind FROM convs WHERE key = ANY($1)")
        .await?;
    for r in tx.query(&stmt, &[&keys]).await? {
        let kind: i16 = r.try_get(2)?;
        found.insert(
            r.try_get(0)?,
            Conv {
                id: r.try_get(1)?,
                kind: kind_from_sql(i64::from(kind)),
            },
        );
    }
    Ok(found)
}

/// Creates the batch's new conversations and adds them to `convs`.
async fn create_convs(
    tx: &deadpool_postgres::Transaction<'_>,
    new: &HashMap<&str, ChatType>,
    convs: &mut HashMap<String, Conv>,
) -> Result<(), PgError> {
    if new.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = new.keys().copied().collect();
    let kinds: Vec<i16> = keys.iter().map(|k| kind_to_sql(new[k]) as i16).collect();
    // The import lock keeps other imports out; the state file may still have made one.
    let stmt = tx
        .prepare_cached(
            "INSERT INTO convs(key, kind) SELECT * FROM unnest($1::text[], $2::smallint[])
             ON CONFLICT (key) DO NOTHING",
        )
        .await?;
    tx.execute(&stmt, &[&keys, &kinds]).await?;
    let stmt = tx
        .prepare_cached("SELECT key, id, kind FROM convs WHERE key = ANY($1)")
        .await?;
    for r in tx.query(&stmt, &[&keys]).await? {
        let kind: i16 = r.try_get(2)?;
        convs.insert(
            r.try_get(0)?,
            Conv {
                id: r.try_get(1)?,
                kind: kind_from_sql(i64::from(kind)),
            },
        );
    }
    Ok(())
}

fn conv_id(convs: &HashMap<String, Conv>, m: &PreparedMessage) -> Result<i64, PgError> {
    convs
        .get(&m.key)
        .map(|c| c.id)
        .ok_or_else(|| PgError::Invariant(format!("conversation {:?} vanished mid-batch", m.key)))
}
