//! The embedded demo: the bundled history imported once into a cached database (reused
//! while the asset is unchanged), served in-process on 127.0.0.1 over real HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::client::{ClientConfig, Credential};
use crate::demo::{DEMO_APPKEY, DEMO_PASSWORD, DEMO_USER};
use crate::server::{ServerConfig, ServerHandle};
use crate::store::Store;
use crate::store::import::{ImportOptions, import_reader};
use crate::store::pool::StorePool;
use crate::store::state::StateFile;

/// The bundled demo export (gzip JSON lines).
pub const DEMO_HISTORY: &[u8] = include_bytes!("../assets/demo-history.jsonl.gz");
/// The bundled demo state file.
pub const DEMO_STATE: &str = include_str!("../assets/demo-state.json");

/// Bump when the database schema changes, so old cached demo databases are not reused.
const CACHE_GENERATION: &str = "2";

/// The environment variable that moves roam's cache directory (tests use it).
pub const CACHE_DIR_ENV: &str = "ROAM_CACHE_DIR";

/// The running demo server.
pub struct EmbeddedDemo {
    server: ServerHandle,
}

impl EmbeddedDemo {
    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// How a client reaches it as the demo user.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::new(
            format!("http://{}", self.addr()),
            DEMO_APPKEY.to_string(),
            DEMO_USER.to_string(),
            Credential::Password(DEMO_PASSWORD.to_string()),
        )
    }
}

/// roam's cache directory: `$ROAM_CACHE_DIR`, else the platform's cache directory.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os(CACHE_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => dirs::cache_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("roam"),
    }
}

/// Starts the demo server on an ephemeral loopback port.
pub async fn start_demo() -> Result<EmbeddedDemo> {
    let db = tokio::task::spawn_blocking(|| demo_database(&cache_dir()))
        .await
        .context("demo import task failed")??;
    let pool = StorePool::open(&db, 2)
        .with_context(|| format!("cannot open the demo database {}", db.display()))?;
    let server = crate::server::spawn(Arc::new(pool), ServerConfig::new(DEMO_APPKEY), None)
        .await
        .with_context(|| format!("cannot serve {}", db.display()))?;
    Ok(EmbeddedDemo { server })
}

/// The cached demo database in `dir`, importing the bundled assets when no database for
/// this exact asset exists yet. The import goes to a temporary file renamed into place, so
/// an interrupted first run never leaves a half-imported cache behind.
pub fn demo_database(dir: &Path) -> Result<PathBuf> {
    let mut hash = Sha256::new();
    hash.update(CACHE_GENERATION.as_bytes());
    hash.update(DEMO_HISTORY);
    hash.update(DEMO_STATE.as_bytes());
    let digest = hash.finalize();
    let tag: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("demo-{tag}.sqlite"));
    if path.exists() {
        return Ok(path);
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the cache directory {}", dir.display()))?;
    let tmp = dir.join(format!("demo-{tag}.{}.importing", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    import_demo(&tmp).context("cannot import the demo history")?;
    std::fs::rename(&tmp, &path)
        .with_context(|| format!("cannot move the demo database to {}", path.display()))?;
    Ok(path)
}

/// Imports the bundled history and state into a new database at `path`, closing it after so
/// the file can be renamed.
fn import_demo(path: &Path) -> Result<()> {
    let state = StateFile::parse(DEMO_STATE).context("the bundled demo state is malformed")?;
    let mut store = Store::open(path)?;
    let options = ImportOptions {
        progress: false,
        ..ImportOptions::default()
    };
    let summary = import_reader(&mut store, "demo-history", DEMO_HISTORY, &options)?;
    if !summary.is_complete() {
        anyhow::bail!("the bundled demo history has rejected lines: {summary}");
    }
    store.apply_state(&state)?;
    Ok(())
}
