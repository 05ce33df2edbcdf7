//! Search's documents on PostgreSQL: written with each imported batch and for the
//! messages of a database migrated to search, and the trigram index over them.

use std::borrow::Cow;
use std::collections::HashSet;

use futures::{SinkExt, pin_mut};
use tokio_postgres::GenericClient;

use super::TRIGRAM_INDEX;
use crate::store::message_from_row;
use crate::store::pg::PgError;
use crate::store::pg::copy::CopyRows;
use crate::store::pg::probe::{DOC_KEYS, DOC_MESSAGES};
use crate::store::search::{TIE_BITS, fold, searchable_text, time_key};

/// Messages read per statement while indexing a database migrated to search.
const BACKFILL_BATCH: i64 = 2_000;

/// One message's row of `search_docs`, before its key is settled.
pub(in crate::store::pg) struct Doc<'a> {
    /// The stored message id.
    pub msg: i64,
    /// The conversation's row id.
    pub conv: i64,
    /// The message's time.
    pub time: i64,
    /// Its searchable text.
    pub text: &'a str,
}

/// Writes the documents of new messages (in the order given: import gives them in id
/// order, as the SQLite store writes them), inside the caller's transaction. A key is the
/// time and the low bits of the id, moved up past keys already taken, exactly as the
/// SQLite store gives them out one message at a time, so both order ties alike. The
/// messages are new, so a document one has already is left from a batch whose messages
/// never committed (see [`super::super::insert`]): it is replaced, conversation and key
/// included. The caller's transaction, or the one beside it for the same batch, holds the
/// import (or migration) lock: nobody else writes documents meanwhile.
pub(in crate::store::pg) async fn add_docs(
    tx: &impl GenericClient,
    docs: &[Doc<'_>],
) -> Result<(), PgError> {
    if docs.is_empty() {
        return Ok(());
    }
    let msg: HashSet<i64> = docs.iter().map(|d| d.msg).collect();
    let orphans: Vec<i64> = DOC_MESSAGES.holds(tx, &msg).await?.into_iter().collect();
    if !orphans.is_empty() {
        tx.execute("DELETE FROM search_docs WHERE msg = ANY($1)", &[&orphans])
            .await?;
    }
    let natural: Vec<i64> = docs
        .iter()
        .map(|d| time_key(d.time) | (d.msg & ((1 << TIE_BITS) - 1)))
        .collect();
    // Keys taken by documents already stored, as far as they are known: each round
    // settles every key assuming the unknown ones free, then asks about the keys it
    // chose; a round that learns of no taken key is right. Each other round learns of at
    // least one more (of finitely many), so the rounds end.
    let mut taken: HashSet<i64> = HashSet::new();
    let keys = loop {
        let mut given = HashSet::with_capacity(docs.len());
        let mut keys = Vec::with_capacity(docs.len());
        for (d, &k) in docs.iter().zip(&natural) {
            let mut k = k;
            while taken.contains(&k) || given.contains(&k) {
                k = k.checked_add(1).ok_or_else(|| {
                    PgError::Invariant(format!("no search key left for message {}", d.msg))
                })?;
            }
            given.insert(k);
            keys.push(k);
        }
        let before = taken.len();
        taken.extend(DOC_KEYS.holds(tx, &given).await?);
        if taken.len() == before {
            break keys;
        }
    };
    // One binary COPY: the rows go in as they are, with none of a statement's work.
    let sink = tx
        .client()
        .copy_in::<_, std::io::Cursor<Vec<u8>>>(
            "COPY search_docs(msg, key, conv, text, folded, raw) FROM STDIN (FORMAT binary)",
        )
        .await?;
    pin_mut!(sink);
    let mut rows = CopyRows::new();
    for (d, key) in docs.iter().zip(keys) {
        rows.row(6);
        rows.int8(d.msg);
        rows.int8(key);
        rows.int8(d.conv);
        rows.bytes(without_nul(d.text).as_bytes())?;
        rows.bytes(without_nul(&fold(d.text)).as_bytes())?;
        if d.text.contains('\0') {
            rows.bytes(d.text.as_bytes())?;
        } else {
            rows.null();
        }
        if rows.is_full() {
            sink.send(rows.take()).await?;
        }
    }
    sink.send(rows.finish()).await?;
    sink.as_mut().finish().await?;
    Ok(())
}

/// A text as a `TEXT` column can hold it: PostgreSQL refuses NUL characters, so each
/// becomes U+FFFD. The database's test may then take a U+FFFD for a NUL; every candidate
/// is checked again by [`crate::store::search::Matcher`] on the text as written (`raw`), so no hit is wrong.
pub(super) fn without_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Indexes every stored message (the migration to search), inside the migration's
/// transaction. Messages whose stored JSON no longer reads are left out, as their pages
/// leave them out.
pub(in crate::store::pg) async fn index_existing(tx: &impl GenericClient) -> Result<(), PgError> {
    let read = tx
        .prepare(
            "SELECT id, conv, chat_type, sender, receiver, time, json FROM messages
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .await?;
    let mut after = i64::MIN;
    loop {
        let rows = tx.query(&read, &[&after, &BACKFILL_BATCH]).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.try_get(0)?;
        let mut found = Vec::with_capacity(rows.len());
        for r in &rows {
            let chat_type: i16 = r.try_get(2)?;
            let message = message_from_row(
                r.try_get(0)?,
                i64::from(chat_type),
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
                r.try_get(6)?,
            );
            if let Some(text) = message.ok().as_ref().and_then(searchable_text) {
                found.push((r.try_get(0)?, r.try_get(1)?, r.try_get(5)?, text));
            }
        }
        let docs: Vec<Doc<'_>> = found
            .iter()
            .map(|(msg, conv, time, text)| Doc {
                msg: *msg,
                conv: *conv,
                time: *time,
                text,
            })
            .collect();
        add_docs(tx, &docs).await?;
    }
}

/// Makes the trigram index when it is missing, with the `pg_trgm` extension; `false`
/// when the extension cannot be had (not installed, or not allowed to this user): search
/// then walks by key within its budget instead, and the next start tries again. Runs
/// under a savepoint, so a refusal leaves the caller's transaction usable.
async fn ensure_trigram_index(tx: &impl GenericClient) -> Result<bool, PgError> {
    if has_trigram_index(tx).await? {
        return Ok(true);
    }
    tx.batch_execute("SAVEPOINT roam_trgm").await?;
    let made = tx
        .batch_execute(&format!(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm;
             CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON search_docs
                 USING gin (folded gin_trgm_ops);"
        ))
        .await;
    match made {
        Ok(()) => {
            tx.batch_execute("RELEASE SAVEPOINT roam_trgm").await?;
            Ok(true)
        }
        Err(e) => {
            tx.batch_execute("ROLLBACK TO SAVEPOINT roam_trgm").await?;
            tracing::warn!(
                error = %e,
                "no pg_trgm extension: search of 3 or more characters walks the messages \
                 within its budget (install PostgreSQL's contrib modules, or have the \
                 database owner run CREATE EXTENSION pg_trgm, then restart)"
            );
            Ok(false)
        }
    }
}

/// Whether the trigram index is there.
async fn has_trigram_index(client: &impl GenericClient) -> Result<bool, PgError> {
    crate::store::pg::schema::has_relation(client, TRIGRAM_INDEX).await
}

/// Drops the trigram index for an import into a database that has no search documents
/// yet, and says whether it did: made once over all of them at the end
/// ([`make_trigram_index`]), the index costs a fraction of what it costs kept up to date
/// row by row. Meanwhile search walks by key within its budget, as it does without
/// `pg_trgm`; if the import never gets to make it, the next start does. Inside the
/// caller's transaction, which holds the import lock, so no batch is half written.
pub(in crate::store::pg) async fn defer_trigram_index(
    tx: &impl GenericClient,
) -> Result<bool, PgError> {
    let empty: bool = tx
        .query_one("SELECT NOT EXISTS (SELECT 1 FROM search_docs)", &[])
        .await?
        .try_get(0)?;
    if !empty || !has_trigram_index(tx).await? {
        return Ok(false);
    }
    tx.batch_execute(&format!("DROP INDEX IF EXISTS {TRIGRAM_INDEX}"))
        .await?;
    Ok(true)
}

/// Makes the trigram index when it is missing (at each start, and after an import set
/// it aside, see [`defer_trigram_index`]), in a transaction of its own (see
/// [`crate::store::pg::schema::make_bulk_indexes`] for why).
pub(in crate::store::pg) async fn make_trigram_index(
    client: &mut deadpool_postgres::Client,
) -> Result<(), PgError> {
    let plain: &tokio_postgres::Client = client;
    if has_trigram_index(plain).await? {
        return Ok(());
    }
    let tx = client.transaction().await?;
    crate::store::pg::schema::prepare_index_build(&*tx, TRIGRAM_INDEX).await?;
    ensure_trigram_index(&*tx).await?;
    tx.commit().await?;
    Ok(())
}
