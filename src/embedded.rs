//! The embedded demo: the bundled history imported once into a cached database (reused
//! while the asset is unchanged), served in-process on 127.0.0.1 over real HTTP. The first
//! import takes a moment: on a terminal it says `preparing the demo history…` with a
//! progress bar, rather than leaving the screen blank.

use std::io::{IsTerminal, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
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
const CACHE_GENERATION: &str = "3";

pub use crate::config::paths::{CACHE_DIR_ENV, cache_dir};

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
    let progress = progress_bar();
    let reader = Counting {
        inner: DEMO_HISTORY,
        progress: progress.clone(),
    };
    let summary = import_reader(&mut store, "demo-history", reader, &options);
    progress.finish_and_clear();
    let summary = summary?;
    if !summary.is_complete() {
        anyhow::bail!("the bundled demo history has rejected lines: {summary}");
    }
    store.apply_state(&state)?;
    Ok(())
}

/// The first run's progress: on a terminal, `preparing the demo history… [===>  ] 40%`
/// over the bytes of the bundled history read; hidden elsewhere.
fn progress_bar() -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(DEMO_HISTORY.len() as u64), target);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {percent}%") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("preparing the demo history…");
    // Drawn at once: the first chunk may take a while to decompress and import.
    bar.tick();
    bar
}

/// Counts the bytes read for the progress bar.
struct Counting<R> {
    inner: R,
    progress: ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}
