//! Logs go to a file, never to the terminal under the UI.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use tracing_subscriber::EnvFilter;

/// The default log file: `roam.log` in roam's cache directory (`ROAM_CACHE_DIR` moves it,
/// as the README says).
pub fn default_log_path() -> PathBuf {
    crate::config::paths::cache_dir().join("roam.log")
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_env("ROAM_LOG").unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Sends logs to a file (appending, 0600). Returns the path in use.
pub fn to_file(path: Option<&Path>) -> Result<PathBuf> {
    let path = path.map_or_else(default_log_path, Path::to_path_buf);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    // `mode` only applies when the file is created: a log left readable by others (by an
    // older roam, or by hand) is tightened too, since it names users and conversations.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make the log file {} private", path.display()))?;
    }
    // Ignore a second init (tests may set up logging more than once).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(path)
}

/// Sends logs to standard error: for `roam serve`, which has no UI. Colours only on a
/// terminal: a log file or a pipe gets plain text, with no escape sequence in it.
pub fn to_stderr() {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_existing_log_file_is_made_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("roam.log");
        std::fs::write(&path, "old line\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let used = super::to_file(Some(&path)).expect("log file");
        assert_eq!(used, path);
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}
