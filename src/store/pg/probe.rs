//! Which of many values a unique `BIGINT` column already holds, asked cheaply when the
//! values are new.
//!
//! An import asks this of every batch: are these message ids stored, do these messages
//! have search documents, are these search keys taken. Its values grow with time, so a
//! new batch's range usually holds nothing yet: one range of the column's index, from
//! the smallest value to the largest, costs one descent, where looking up each value
//! costs one descent per value (and planning a statement with an array of thousands).
//! When the range holds many other rows (values spread over stored history), it gives
//! up after a bounded number and looks the values up one by one.

use std::collections::HashSet;

use tokio_postgres::GenericClient;

use super::PgError;

/// A unique `BIGINT` column probed; its table and column names are roam's own constants,
/// never input.
#[derive(Clone, Copy, Debug)]
pub(super) struct Column {
    /// The table.
    pub table: &'static str,
    /// The column (indexed, unique).
    pub column: &'static str,
}

impl Column {
    /// Which of `values` the column holds, inside the caller's transaction.
    pub(super) async fn holds(
        self,
        tx: &impl GenericClient,
        values: &HashSet<i64>,
    ) -> Result<HashSet<i64>, PgError> {
        let (Some(&low), Some(&high)) = (values.iter().min(), values.iter().max()) else {
            return Ok(HashSet::new());
        };
        let Column { table, column } = self;
        let limit = i64::try_from(values.len() * 2 + 1).unwrap_or(i64::MAX);
        let range =
            format!("SELECT {column} FROM {table} WHERE {column} BETWEEN $1 AND $2 LIMIT $3");
        let rows = tx.query(&range, &[&low, &high, &limit]).await?;
        let mut held = HashSet::new();
        if (rows.len() as i64) < limit {
            for r in rows {
                let value: i64 = r.try_get(0)?;
                if values.contains(&value) {
                    held.insert(value);
                }
            }
            return Ok(held);
        }
        let values: Vec<i64> = values.iter().copied().collect();
        let each = format!("SELECT {column} FROM {table} WHERE {column} = ANY($1)");
        for r in tx.query(&each, &[&values]).await? {
            held.insert(r.try_get(0)?);
        }
        Ok(held)
    }
}

/// Messages' ids.
pub(super) const MESSAGE_IDS: Column = Column {
    table: "messages",
    column: "id",
};
/// The messages that have a search document.
pub(super) const DOC_MESSAGES: Column = Column {
    table: "search_docs",
    column: "msg",
};
/// Search documents' keys.
pub(super) const DOC_KEYS: Column = Column {
    table: "search_docs",
    column: "key",
};
