//! Notes a person's local library keeps beside the history it holds: which stretches of
//! each conversation are held completely, where a sync stopped. A table of its own that
//! the server never reads, so a library stays a store `roam serve --db` can serve; what the
//! notes mean belongs to [`crate::library`], the store only keeps text by key.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

const CREATE_NOTES: &str = "CREATE TABLE IF NOT EXISTS library_notes (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID";

impl Store {
    /// Makes the notes table, once, when this store is opened as a library.
    pub fn prepare_library(&self) -> Result<(), StoreError> {
        self.conn.execute_batch(CREATE_NOTES)?;
        Ok(())
    }

    /// The note kept under `key`, if any (none in a store that was never a library).
    pub fn library_note(&self, key: &str) -> Result<Option<String>, StoreError> {
        let exists = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'library_notes'",
            )?
            .exists([])?;
        if !exists {
            return Ok(None);
        }
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM library_notes WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// Keeps `value` under `key`, replacing what was there.
    pub fn set_library_note(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.prepare_library()?;
        self.conn
            .prepare_cached(
                "INSERT INTO library_notes(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = ?2",
            )?
            .execute(params![key, value])?;
        Ok(())
    }
}
