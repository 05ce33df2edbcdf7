//! The embedded demo: the bundled history imported once into a cached database (reused
//! while the asset is unchanged), served in-process on 127.0.0.1 over real HTTP. The first
//! import takes a moment: on a terminal it says `preparing the demo history…` with a
//! progress bar, rather than leaving the screen blank.
//!
//! Starting it again costs little:
//! - The demo's passwords are public (they are in the bundled state file), so the demo
//!   database stores their hashes with the lightest argon2id parameters: a login to the
//!   demo costs microseconds instead of the tens of milliseconds (and 19 MiB) a strong
//!   hash asks for. The server verifies with whatever parameters a PHC string names, so
//!   only the demo is light; users of real stores keep strong hashes.
//! - Which cached database belongs to this build's assets is named by a digest of them.
//!   The assets are compiled into the executable, so the digest is computed once per
//!   executable and remembered in `demo-assets.stamp` beside the databases, keyed by the
//!   executable's path, size, modification time and inode; later starts read the stamp
//!   instead of hashing 4.6 MB.

use std::io::{IsTerminal, Read};
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::client::{ClientConfig, Credential};
use crate::demo::{DEMO_APPKEY, DEMO_PASSWORD, DEMO_USER};
use crate::server::{LocalReader, ServerConfig, ServerHandle};
use crate::store::Store;
use crate::store::import::{ImportOptions, import_reader};
use crate::store::pool::StorePool;
use crate::store::schema::SCHEMA_VERSION;
use crate::store::state::StateFile;

/// The bundled demo export (gzip JSON lines).
pub const DEMO_HISTORY: &[u8] = include_bytes!("../assets/demo-history.jsonl.gz");
/// The demo's name for local files (its port changes every run).
pub const DEMO_DEPLOYMENT: &str = "demo";

/// The bundled demo state file.
pub const DEMO_STATE: &str = include_str!("../assets/demo-state.json");

/// Bump when the database schema or the way the demo is imported changes, so old cached
/// demo databases are not reused (the schema version is part of the digest as well).
const CACHE_GENERATION: &str = "5";

/// Where the digest of this executable's demo assets is remembered, in the cache folder.
const STAMP_FILE: &str = "demo-assets.stamp";

/// Executables remembered in the stamp: the program, its tests and benches share a cache.
const STAMP_ENTRIES: usize = 16;

pub use crate::config::paths::{CACHE_DIR_ENV, cache_dir};

/// A server running in this process on loopback: the demo, or a local store (the
/// library offline), and how a client reaches it.
pub struct EmbeddedServer {
    server: ServerHandle,
    client: ClientConfig,
}

impl EmbeddedServer {
    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// How a client reaches it as the user it serves.
    pub fn client_config(&self) -> ClientConfig {
        self.client.clone()
    }
}

/// Starts the demo server on an ephemeral loopback port.
pub async fn start_demo() -> Result<EmbeddedServer> {
    let db = tokio::task::spawn_blocking(|| demo_database(&cache_dir()))
        .await
        .context("demo import task failed")??;
    let pool = StorePool::open(&db, 2)
        .with_context(|| format!("cannot open the demo database {}", db.display()))?;
    let server = crate::server::spawn(Arc::new(pool), ServerConfig::new(DEMO_APPKEY), None)
        .await
        .with_context(|| format!("cannot serve {}", db.display()))?;
    let client = ClientConfig {
        deployment: Some(DEMO_DEPLOYMENT.to_string()),
        ..ClientConfig::new(
            server.base_url(),
            DEMO_APPKEY.to_string(),
            DEMO_USER.to_string(),
            Credential::Password(DEMO_PASSWORD.to_string()),
        )
    };
    Ok(EmbeddedServer { server, client })
}

/// Serves a local store file (a library) on an ephemeral loopback port to `user` alone,
/// with a random token made for this run: the file is the person's own, so no password
/// is asked. `deployment` names the deployment it holds (for the names cache).
pub async fn serve_local(
    path: &Path,
    appkey: &str,
    user: &str,
    deployment: &str,
) -> Result<EmbeddedServer> {
    let pool =
        StorePool::open(path, 2).with_context(|| format!("cannot open {}", path.display()))?;
    let bytes: [u8; 32] = rand::random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let config = ServerConfig {
        local_reader: Some(LocalReader {
            user: user.to_string(),
            token: token.clone(),
        }),
        ..ServerConfig::new(appkey)
    };
    let server = crate::server::spawn(Arc::new(pool), config, None)
        .await
        .with_context(|| format!("cannot serve {}", path.display()))?;
    let client = ClientConfig {
        deployment: Some(deployment.to_string()),
        ..ClientConfig::new(server.base_url(), appkey, user, Credential::Token(token))
    };
    Ok(EmbeddedServer { server, client })
}

/// The cached demo database in `dir`, importing the bundled assets when no database for
/// this exact asset exists yet. The import goes to a temporary file renamed into place, so
/// an interrupted first run never leaves a half-imported cache behind.
pub fn demo_database(dir: &Path) -> Result<PathBuf> {
    let tag = match executable_identity() {
        Some(identity) => remembered_tag(dir, &identity, assets_tag),
        None => assets_tag(),
    };
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

/// The digest naming the cached database of the bundled assets: 16 hex digits.
fn assets_tag() -> String {
    let mut hash = Sha256::new();
    hash.update(CACHE_GENERATION.as_bytes());
    hash.update(SCHEMA_VERSION.to_le_bytes());
    hash.update(DEMO_HISTORY);
    hash.update(DEMO_STATE.as_bytes());
    let digest = hash.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The running executable as the stamp knows it: path, size, modification time (ns) and
/// inode. A rebuilt or replaced executable differs in one of them.
fn executable_identity() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(&exe).ok()?;
    let path = exe.to_str()?;
    // One line per executable in the stamp: a path with a line break is not remembered.
    if path.contains(['\n', '\r']) {
        return None;
    }
    Some(format!(
        "{} {}.{:09} {} {path}",
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino()
    ))
}

/// The tag remembered in `dir`'s stamp for `identity`, or `compute`d and remembered. The
/// stamp is a cache: when it cannot be read or written, the tag is computed.
fn remembered_tag(dir: &Path, identity: &str, compute: impl FnOnce() -> String) -> String {
    let stamp = dir.join(STAMP_FILE);
    let text = std::fs::read_to_string(&stamp).unwrap_or_default();
    let entries: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(tag, _)| tag.len() == 16 && tag.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    if let Some((tag, _)) = entries.iter().find(|(_, id)| *id == identity) {
        return (*tag).to_string();
    }
    let tag = compute();
    let mut lines = vec![format!("{tag} {identity}")];
    lines.extend(
        entries
            .iter()
            .take(STAMP_ENTRIES - 1)
            .map(|(t, id)| format!("{t} {id}")),
    );
    // Written whole and renamed into place: a concurrent start reads the old or the new.
    let tmp = dir.join(format!("{STAMP_FILE}.{}.tmp", std::process::id()));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&tmp, lines.join("\n") + "\n"))
        .and_then(|()| std::fs::rename(&tmp, &stamp));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        tracing::debug!("cannot remember the demo asset digest: {e}");
    }
    tag
}

/// The demo's state with each plain password replaced by a light hash of it (see the
/// module docs): the passwords are public, so the hash protects nothing and only costs
/// every start time.
fn light_demo_state() -> Result<StateFile> {
    let mut state = StateFile::parse(DEMO_STATE).context("the bundled demo state is malformed")?;
    for user in &mut state.users {
        if user.password_hash.is_none()
            && let Some(plain) = user.password.take()
        {
            user.password_hash = Some(light_hash(&plain)?);
        }
    }
    Ok(state)
}

/// An argon2id hash of `password` with the least memory and time argon2 allows.
fn light_hash(password: &str) -> Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(Params::MIN_M_COST, Params::MIN_T_COST, 1, None)
        .map_err(|e| anyhow::anyhow!("light argon2 parameters: {e}"))?;
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| anyhow::anyhow!("demo password salt: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("demo password hash: {e}"))?
        .to_string())
}

/// Imports the bundled history and state into a new database at `path`, closing it after so
/// the file can be renamed.
fn import_demo(path: &Path) -> Result<()> {
    let state = light_demo_state()?;
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
    crate::demo::files::store_demo_files(&mut store)?;
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::store::password::{HashMemory, verify_with};

    #[test]
    fn the_asset_digest_is_computed_once_per_executable_and_remembered() {
        let dir = tempfile::tempdir().expect("temp dir");
        let computed = Cell::new(0);
        let compute = || {
            computed.set(computed.get() + 1);
            assets_tag()
        };
        let first = remembered_tag(dir.path(), "100 1.000000001 7 /bin/roam", compute);
        assert_eq!(first, assets_tag());
        let again = remembered_tag(dir.path(), "100 1.000000001 7 /bin/roam", compute);
        assert_eq!(
            (again, computed.get()),
            (first.clone(), 1),
            "read, not hashed"
        );
        // A rebuilt executable (another modification time) hashes again; both are kept.
        remembered_tag(dir.path(), "100 2.000000001 7 /bin/roam", compute);
        assert_eq!(computed.get(), 2);
        remembered_tag(dir.path(), "100 1.000000001 7 /bin/roam", compute);
        assert_eq!(computed.get(), 2);
        // A damaged stamp is ignored, never trusted.
        std::fs::write(dir.path().join(STAMP_FILE), "zz not-a-tag\n").expect("write");
        assert_eq!(
            remembered_tag(dir.path(), "zz not-a-tag", compute),
            assets_tag()
        );
        assert_eq!(computed.get(), 3);
    }

    #[test]
    fn demo_passwords_get_light_hashes_that_verify() {
        let state = light_demo_state().expect("state");
        let demo = state
            .users
            .iter()
            .find(|u| u.name == DEMO_USER)
            .expect("the demo user");
        assert_eq!(demo.password, None, "no plain password is imported");
        let hash = demo.password_hash.as_deref().expect("a hash");
        assert!(hash.contains("m=8,t=1,p=1"), "{hash}");
        let mut memory = HashMemory::default();
        assert!(verify_with(hash, DEMO_PASSWORD, &mut memory).expect("verify"));
        assert!(!verify_with(hash, "roam-demo!", &mut memory).expect("verify"));
        assert!(memory.kib() <= 8, "light: {} KiB", memory.kib());
    }
}
