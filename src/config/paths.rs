//! Where roam keeps things: the config file, the cache (the demo database, the log) and the
//! data directory (saved tokens). Each can be moved by an environment variable, which is
//! also how tests keep away from the person's own files.

use std::path::PathBuf;

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "ROAM_CONFIG";
/// The environment variable that moves roam's cache directory.
pub const CACHE_DIR_ENV: &str = "ROAM_CACHE_DIR";
/// The environment variable that moves roam's data directory.
pub const DATA_DIR_ENV: &str = "ROAM_DATA_DIR";

/// A directory from `var` when it is set and not empty.
fn from_env(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The config file: `$ROAM_CONFIG`, else `$XDG_CONFIG_HOME/roam/config.toml`, else the
/// platform's config directory (`~/.config` on Linux).
pub fn config_file() -> PathBuf {
    if let Some(file) = from_env(CONFIG_ENV) {
        return file;
    }
    // The XDG variable counts on every platform: people set it on macOS too.
    let base = from_env("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(dirs::config_dir)
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("roam").join("config.toml")
}

/// roam's cache directory: `$ROAM_CACHE_DIR`, else the platform's cache directory.
pub fn cache_dir() -> PathBuf {
    from_env(CACHE_DIR_ENV).unwrap_or_else(|| {
        dirs::cache_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("roam")
    })
}

/// roam's data directory (saved tokens): `$ROAM_DATA_DIR`, else the platform's data
/// directory (`~/.local/share/roam` on Linux).
pub fn data_dir() -> PathBuf {
    from_env(DATA_DIR_ENV).unwrap_or_else(|| {
        dirs::data_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("roam")
    })
}

/// Makes `dir` and its missing parents, readable by the owner only where made here.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to `path` (replacing it), in a file only its owner can read.
pub fn write_private_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
