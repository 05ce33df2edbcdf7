//! The PostgreSQL back end of the store: the same data as the SQLite file, in a database
//! several `roam serve` processes share.
//!
//! Async end to end (`tokio-postgres` under a `deadpool-postgres` pool), every statement
//! prepared once per connection and cached. Connections go over TCP, with TLS as libpq's
//! `sslmode` asks (rustls; `prefer` by default: TLS when the server offers it), or over a
//! Unix socket (never TLS).
//!
//! The parts: [`target`] reads the URL and the libpq environment; [`tls`] makes the TLS
//! connector for the `sslmode` and `sslrootcert` it found; [`schema`] creates and
//! migrates; `users` holds logins; `tokens` the issued tokens.

mod copy;
mod files;
mod history;
mod import;
mod insert;
mod names;
mod probe;
pub mod schema;
mod search;
mod state;
pub mod target;
pub mod tls;
mod tokens;
mod users;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

pub use import::PgImport;
pub use search::TRIGRAM_INDEX;
pub use target::{PgTarget, TargetError, is_postgres_url};
pub use tls::{RootSource, SslMode, TlsError, TlsSettings};
pub use tokens::{IssuedToken, TokenHolder, TokenState};

/// Why a PostgreSQL store operation failed. No variant carries the password.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The URL could not be used.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The server reported an error, or the connection failed.
    #[error("PostgreSQL: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No connection could be had from the pool.
    #[error("PostgreSQL connection pool: {0}")]
    Pool(String),
    /// The database does not hold what the store just wrote (another writer changed it).
    #[error("PostgreSQL store: {0}")]
    Invariant(String),
    /// Connecting failed.
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// The database (shown without its password).
        target: String,
        /// Why.
        reason: String,
    },
    /// The database was migrated by a newer roam.
    #[error("the database has roam schema version {found}, this roam expects {expected} at most")]
    SchemaVersion {
        /// The version found.
        found: i64,
        /// The version this build writes.
        expected: i64,
    },
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> PgError {
        match e {
            deadpool_postgres::PoolError::Backend(db) => PgError::Db(db),
            other => PgError::Pool(other.to_string()),
        }
    }
}

/// The PostgreSQL store: a pool of connections to one database. Cheap to clone (the
/// pool is shared).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    target: PgTarget,
    /// Rows a page request may pass over without keeping them.
    scan_budget: usize,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database a URL names (see [`PgTarget::from_url`]) and creates or
    /// migrates its schema.
    pub async fn connect(url: &str) -> Result<PgStore, PgError> {
        PgStore::open(PgTarget::from_url(url)?, default_pool_size()).await
    }

    /// Connects with at most `size` connections (at least one), migrates, and makes the
    /// indexes an import set aside if they are missing and no import that will make them
    /// is running (which takes as long as building them: see [`schema::BULK_INDEXES`]).
    pub async fn open(target: PgTarget, size: usize) -> Result<PgStore, PgError> {
        let tls = target
            .tls()
            .connector()
            .map_err(|reason| PgError::Connect {
                target: target.to_string(),
                reason,
            })?;
        let manager = Manager::from_config(
            target.config().clone(),
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(size.max(1))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| PgError::Pool(e.to_string()))?;
        let store = PgStore {
            pool,
            target,
            scan_budget: crate::store::DEFAULT_SCAN_BUDGET,
        };
        let mut client = store.pool.get().await.map_err(|e| PgError::Connect {
            target: store.target.to_string(),
            reason: match e {
                deadpool_postgres::PoolError::Backend(db) => {
                    tls::explain(&db, store.target.tls()).unwrap_or_else(|| tls::with_sources(&db))
                }
                other => other.to_string(),
            },
        })?;
        let tx = client.transaction().await?;
        schema::migrate(&*tx).await?;
        tx.commit().await?;
        if import::indexes_aside_by_a_running_import(&mut client).await? {
            tracing::info!("an import is running that builds the missing indexes at its end");
            return Ok(store);
        }
        // Pages and search work without them, only slower: a start goes on, saying why.
        if let Err(e) = schema::make_bulk_indexes(&mut client).await {
            tracing::warn!(error = %e, "a filter or search index is missing and could not be made");
        }
        if let Err(e) = search::make_trigram_index(&mut client).await {
            tracing::warn!(error = %e, "search's trigram index could not be made");
        }
        Ok(store)
    }

    /// Sets how many rows one page request may pass over without keeping them (at least
    /// one), as [`crate::store::Store::set_scan_budget`].
    pub fn set_scan_budget(&mut self, rows: usize) {
        self.scan_budget = rows.max(1);
    }

    /// The database it serves (without the password).
    pub fn target(&self) -> &PgTarget {
        &self.target
    }

    /// A pooled connection.
    async fn client(&self) -> Result<deadpool_postgres::Object, PgError> {
        Ok(self.pool.get().await?)
    }

    /// How many messages are stored.
    pub async fn message_count(&self) -> Result<u64, PgError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT count(*) FROM messages")
            .await?;
        let n: i64 = client.query_one(&stmt, &[]).await?.try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Whether this store's connections are encrypted, as the server sees them
    /// (`pg_stat_ssl`): to log it, and for tests that must not trust the client's word.
    pub async fn connection_encrypted(&self) -> Result<bool, PgError> {
        let client = self.client().await?;
        Ok(client
            .query_one(
                "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
                &[],
            )
            .await?
            .try_get(0)?)
    }

    /// The schema version of the database.
    pub async fn schema_version(&self) -> Result<i64, PgError> {
        let client = self.client().await?;
        Ok(client
            .query_one("SELECT version FROM roam_schema", &[])
            .await?
            .try_get(0)?)
    }
}

/// Connections per server: a page is one or two short statements, so a few per core
/// keep the cores busy while others wait on the network.
pub fn default_pool_size() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from) * 4
}
