//! `roam import` into PostgreSQL: the export files read and prepared by import's reading
//! thread (as for SQLite), each batch written by [`PgStore::insert_batch`].
//!
//! An import into an empty database sets indexes aside and makes them once at its end,
//! over all the rows at once, which costs a fraction of keeping them up to date row by
//! row (that upkeep was most of a bulk import's time): when there are no search documents
//! yet, their trigram and conversation indexes (search walks by key meanwhile, within its
//! budget, as it does without `pg_trgm`); when there are no messages yet, their filter
//! indexes (a filtered page walks the conversation's page index meanwhile). They are made
//! at the end on two connections side by side, the trigram index on one and the b-tree
//! indexes on the other, whether the import succeeded or not; an import that died before
//! makes the next start make them. While such an import runs it holds [`RUN_LOCK`], so a
//! server started meanwhile leaves the indexes to it instead of building them at once
//! (which would wait on the import's batches, then slow the rest of it down).

use std::path::{Path, PathBuf};

use tokio_postgres::GenericClient;

use super::insert::{IMPORT_LOCK, Known, PG_BATCH_BYTES};
use super::schema::{BULK_INDEXES, has_relation, make_bulk_indexes};
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
    /// The indexes set aside: `None` until the first batch asks.
    set_aside: Option<SetAside>,
    /// Held while indexes are set aside.
    run_lock: Option<RunLock>,
}

impl PgImport {
    /// A writer into `store` that runs its statements on `runtime` (call it from outside
    /// that runtime: it blocks on each batch).
    pub fn new(store: PgStore, runtime: tokio::runtime::Handle) -> PgImport {
        PgImport {
            store,
            runtime,
            known: Known::default(),
            set_aside: None,
            run_lock: None,
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

    /// Makes the indexes this import set aside, whether it succeeded or not. The
    /// import's own error comes first; the indexes' is logged then (the next start makes
    /// them).
    fn finish(
        &mut self,
        imported: Result<ImportSummary, ImportError>,
    ) -> Result<ImportSummary, ImportError> {
        let Some(set_aside) = self.set_aside.take() else {
            return imported;
        };
        let run_lock = self.run_lock.take();
        let made = self.runtime.block_on(async {
            let made = set_aside.make(&self.store).await;
            if let Some(lock) = run_lock {
                lock.release().await;
            }
            made
        });
        match (imported, made) {
            (Ok(summary), Ok(())) => Ok(summary),
            (Ok(_), Err(e)) => Err(ImportError::Store(e.into())),
            (Err(e), made) => {
                if let Err(index) = made {
                    tracing::warn!(error = %index, "indexes not made after a failed import");
                }
                Err(e)
            }
        }
    }
}

/// Which indexes an import set aside.
#[derive(Clone, Copy, Debug)]
struct SetAside {
    /// Search's trigram index.
    trigram: bool,
    /// Any of the [`BULK_INDEXES`].
    bulk: bool,
}

impl SetAside {
    /// Sets aside what an import into this database need not keep up to date (see the
    /// module documentation), under the import lock, so no batch is half written. When
    /// it set anything aside, the [`RunLock`] it returns is to be held until the indexes
    /// are made again.
    async fn take(store: &PgStore) -> Result<(SetAside, Option<RunLock>), PgError> {
        let mut client = store.client().await?;
        // Taken before any index goes, so a server that starts meanwhile sees the import.
        let run_lock = RunLock::take(store).await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&IMPORT_LOCK])
            .await?;
        let set_aside = SetAside {
            trigram: defer_trigram_index(&*tx).await?,
            bulk: defer_bulk_indexes(&*tx).await?,
        };
        tx.commit().await?;
        if !set_aside.trigram && !set_aside.bulk {
            run_lock.release().await;
            return Ok((set_aside, None));
        }
        tracing::info!(
            trigram = set_aside.trigram,
            bulk = set_aside.bulk,
            "indexes set aside for the import; made again at its end"
        );
        Ok((set_aside, Some(run_lock)))
    }

    /// Makes the indexes set aside on two connections, the trigram index on one and the
    /// b-tree indexes on the other: the database builds them in two processes, so on two
    /// cores in about the time of the longer.
    async fn make(self, store: &PgStore) -> Result<(), PgError> {
        let trigram = async {
            if self.trigram {
                make_trigram_index(&mut store.client().await?).await?;
            }
            Ok::<_, PgError>(())
        };
        let bulk = async {
            if self.bulk {
                make_bulk_indexes(&mut store.client().await?).await?;
            }
            Ok::<_, PgError>(())
        };
        let (trigram, bulk) = tokio::join!(trigram, bulk);
        trigram.and(bulk)
    }
}

/// The advisory lock ("roamrun" in ASCII) an import holds, shared, while it has indexes
/// set aside; a start that cannot take it alone leaves the indexes to the import.
const RUN_LOCK: i64 = 0x0072_6f61_6d72_756e;

/// [`RUN_LOCK`] held on a pooled connection of its own (a session lock: it lasts until
/// released or the connection closes).
struct RunLock(Option<deadpool_postgres::Object>);

impl RunLock {
    /// Takes the lock on a spare connection. A pool with none to spare goes without
    /// (never waiting for one: the import needs the others), and a server that starts
    /// meanwhile builds the indexes itself, as it would without this lock.
    async fn take(store: &PgStore) -> Result<RunLock, PgError> {
        let Some(client) = store.spare_client().await else {
            return Ok(RunLock(None));
        };
        client
            .execute("SELECT pg_advisory_lock_shared($1)", &[&RUN_LOCK])
            .await?;
        Ok(RunLock(Some(client)))
    }

    /// Releases the lock; should that fail, closes its connection, which releases it too.
    async fn release(mut self) {
        if let Some(client) = self.0.take() {
            let released = client
                .execute("SELECT pg_advisory_unlock_shared($1)", &[&RUN_LOCK])
                .await;
            if released.is_err() {
                drop(deadpool_postgres::Object::take(client));
            }
        }
    }
}

impl Drop for RunLock {
    /// A lock never released goes with its connection, never back to the pool.
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// Whether an import that set indexes aside is running (see [`RUN_LOCK`]): a start then
/// leaves them to it.
pub(super) async fn indexes_aside_by_a_running_import(
    client: &mut deadpool_postgres::Client,
) -> Result<bool, PgError> {
    let tx = client.transaction().await?;
    let free: bool = tx
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&RUN_LOCK])
        .await?
        .try_get(0)?;
    tx.commit().await?;
    Ok(!free)
}

/// Drops the [`BULK_INDEXES`] of the tables that are empty, and says whether it dropped
/// any, inside the caller's transaction (which holds the import lock).
async fn defer_bulk_indexes(tx: &impl GenericClient) -> Result<bool, PgError> {
    let mut dropped = false;
    for (table, name, _) in BULK_INDEXES {
        // `table` is one of roam's own names, never input.
        let empty: bool = tx
            .query_one(&format!("SELECT NOT EXISTS (SELECT 1 FROM {table})"), &[])
            .await?
            .try_get(0)?;
        if empty && has_relation(tx, name).await? {
            tx.batch_execute(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
            dropped = true;
        }
    }
    Ok(dropped)
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
        if self.set_aside.is_none() {
            let (set_aside, run_lock) = self.runtime.block_on(SetAside::take(store))?;
            self.set_aside = Some(set_aside);
            self.run_lock = run_lock;
        }
        Ok(self
            .runtime
            .block_on(store.insert_batch(batch, &mut self.known))?)
    }
}
