//! `roam import` into PostgreSQL: the export files read and prepared by import's reading
//! thread (as for SQLite), each batch written by [`PgStore::insert_batch`].
//!
//! An import into a database with no search documents yet sets the trigram index aside
//! and makes it once at the end: built over all the documents at once it costs a
//! fraction of keeping it up to date row by row, which was the largest part of a bulk
//! import's time. Pages never use that index; search walks by key meanwhile, within its
//! budget, as it does on a database without `pg_trgm`.

use std::path::{Path, PathBuf};

use super::insert::{Known, PG_BATCH_BYTES};
use super::search::{defer_trigram_index, make_trigram_index};
use super::{PgError, PgStore};
use crate::store::import::files::{FileWriter, FilesSummary, import_attachments_into};
use crate::store::import::{BatchWriter, ImportError, import_files_into, import_reader_into};
use crate::store::insert::PreparedMessage;
use crate::store::{ImportOptions, ImportSummary, InsertCounts, StoreError};

/// Import's writer into PostgreSQL: each batch one transaction on the given runtime,
/// from import's (blocking) writing thread.
pub struct PgImport {
    store: PgStore,
    runtime: tokio::runtime::Handle,
    known: Known,
    /// Whether the trigram index was set aside: `None` until the first batch asks.
    deferred_index: Option<bool>,
}

impl PgImport {
    /// A writer into `store` that runs its statements on `runtime` (call it from outside
    /// that runtime: it blocks on each batch).
    pub fn new(store: PgStore, runtime: tokio::runtime::Handle) -> PgImport {
        PgImport {
            store,
            runtime,
            known: Known::default(),
            deferred_index: None,
        }
    }

    /// Loads the attachments of one folder, as
    /// [`crate::store::import::files::import_attachments`] does into SQLite.
    pub fn import_attachments(&mut self, dir: &Path) -> Result<FilesSummary, ImportError> {
        import_attachments_into(self, dir)
    }

    /// Imports export files in order, as [`crate::store::import_files`] does into SQLite.
    pub fn import_files(
        &mut self,
        paths: &[PathBuf],
        options: &ImportOptions,
    ) -> Result<ImportSummary, ImportError> {
        let options = pg_options(options);
        let imported = import_files_into(self, paths, &options);
        self.finish(imported)
    }

    /// Imports one stream named `name` in rejections, as
    /// [`crate::store::import_reader`] does into SQLite.
    pub fn import_reader<R: std::io::Read + Send>(
        &mut self,
        name: &str,
        reader: R,
        options: &ImportOptions,
    ) -> Result<ImportSummary, ImportError> {
        let options = pg_options(options);
        let imported = import_reader_into(self, name, reader, &options);
        self.finish(imported)
    }

    /// Makes the trigram index again if this import set it aside, whether the import
    /// succeeded or not. The import's own error comes first; the index's is logged then
    /// (the next start makes it).
    fn finish(
        &mut self,
        imported: Result<ImportSummary, ImportError>,
    ) -> Result<ImportSummary, ImportError> {
        if self.deferred_index.take() != Some(true) {
            return imported;
        }
        let store = &self.store;
        let made: Result<(), PgError> = self.runtime.block_on(async {
            let mut client = store.client().await?;
            make_trigram_index(&mut client).await
        });
        match (imported, made) {
            (Ok(summary), Ok(())) => Ok(summary),
            (Ok(_), Err(e)) => Err(ImportError::Store(e.into())),
            (Err(e), made) => {
                if let Err(index) = made {
                    tracing::warn!(error = %index, "trigram index not made after a failed import");
                }
                Err(e)
            }
        }
    }
}

/// Import's options with PostgreSQL's batch size (see [`PG_BATCH_BYTES`]).
fn pg_options(options: &ImportOptions) -> ImportOptions {
    ImportOptions {
        batch_bytes: options.batch_bytes.min(PG_BATCH_BYTES),
        ..options.clone()
    }
}

impl FileWriter for PgImport {
    fn file_name(&mut self, uuid: &str) -> Result<Option<String>, StoreError> {
        let store = &self.store;
        self.runtime.block_on(store.file_name(uuid))
    }

    fn put_file(
        &mut self,
        uuid: &str,
        content_type: &str,
        bytes: &[u8],
        thumbnail: Option<&[u8]>,
    ) -> Result<crate::store::files::PutFile, StoreError> {
        let store = &self.store;
        self.runtime
            .block_on(store.put_file(uuid, content_type, bytes, thumbnail, None))
    }
}

impl BatchWriter for PgImport {
    fn write_batch(&mut self, batch: &[PreparedMessage]) -> Result<InsertCounts, StoreError> {
        let store = &self.store;
        if self.deferred_index.is_none() {
            let deferred: Result<bool, PgError> = self.runtime.block_on(async {
                let mut client = store.client().await?;
                defer_trigram_index(&mut client).await
            });
            self.deferred_index = Some(deferred?);
        }
        Ok(self
            .runtime
            .block_on(store.insert_batch(batch, &mut self.known))?)
    }
}
