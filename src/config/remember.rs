//! Changing one display setting in the config file from the browser (the layout key
//! remembers its choice), leaving the rest of the file exactly as the person wrote it:
//! comments, order and spacing (`toml_edit`). A file that is not valid TOML is never
//! touched; the change is written to a temporary file beside it and renamed into place,
//! so a crash leaves the old file or the new one, never half of one.

use std::path::{Path, PathBuf};

/// Why a setting could not be remembered.
#[derive(Debug, thiserror::Error)]
pub enum RememberError {
    /// Reading or writing the file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not valid TOML (or `[display]` is not a table): left alone.
    #[error("{path} has errors; it was left as it is")]
    Unreadable {
        /// The file.
        path: PathBuf,
    },
}

/// Sets `[display] key = "value"` in the config file at `path`, creating the file (and
/// its folder) when there is none.
pub fn set_display(path: &Path, key: &str, value: &str) -> Result<(), RememberError> {
    let io = |source| RememberError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let unreadable = || RememberError::Unreadable {
        path: path.to_path_buf(),
    };
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|_| unreadable())?;
    let display = doc
        .entry("display")
        .or_insert_with(toml_edit::table)
        .as_table_like_mut()
        .ok_or_else(unreadable)?;
    display.insert(key, toml_edit::value(value));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let temp = path.with_extension(format!("toml.{}.tmp", std::process::id()));
    std::fs::write(&temp, doc.to_string()).map_err(io)?;
    if let Ok(meta) = std::fs::metadata(path) {
        // The file keeps who may read it.
        let _ = std::fs::set_permissions(&temp, meta.permissions());
    }
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_is_changed_and_everything_else_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.toml");
        let before = "# my settings\ntoken_store = \"file\" # the usual\n\n\
                      [display]\n# times\ntime_zone = \"UTC\"\nlayout = \"comfortable\"\n";
        std::fs::write(&path, before).expect("write");
        set_display(&path, "layout", "compact").expect("remembered");
        let after = std::fs::read_to_string(&path).expect("read");
        assert_eq!(after, before.replace("\"comfortable\"", "\"compact\""));
        let config = crate::config::Config::load_from(&path).expect("still a valid config");
        assert_eq!(config.display.layout, Some(crate::config::Layout::Compact));
    }

    #[test]
    fn a_missing_file_is_made_and_a_broken_one_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("roam").join("config.toml");
        set_display(&path, "layout", "compact").expect("made");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "[display]\nlayout = \"compact\"\n"
        );
        let broken = "[display\nlayout = ";
        std::fs::write(&path, broken).expect("write");
        let e = set_display(&path, "layout", "compact").expect_err("refused");
        assert!(e.to_string().contains("has errors"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), broken);
    }
}
