//! Where downloads go and what they are called: a file name from a message (untrusted)
//! made safe, a downloads directory, names that never overwrite, and a temporary file
//! renamed into place only when the download is complete.
//!
//! A name from a message goes through [`safe_file_name`]: the last path component only, no
//! controls or bidi overrides, no leading dot, at most [`MAX_NAME_BYTES`] bytes (cut at a
//! character boundary, the extension kept), and `download` when nothing is left. The
//! file is then [`PendingFile::create`]d as a hidden temporary file beside where it goes
//! and [`PendingFile::keep`] claims the first free name (`name.pdf`, `name (1).pdf`, ...)
//! with `create_new`, so two downloads at once never take the same name and nothing that
//! exists is ever replaced. A pending file that is dropped unkept is removed: a cancelled
//! or failed download leaves nothing behind.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The longest name produced, in bytes: room for ` (9999)` and a temporary suffix within
/// the 255 bytes most file systems allow.
pub const MAX_NAME_BYTES: usize = 200;
/// The name of a file whose name had nothing usable.
pub const FALLBACK_NAME: &str = "download";
/// How many numbered names are tried before giving up.
const MAX_NUMBERED: u32 = 9999;
/// An extension longer than this is part of the name, not kept when cutting.
const MAX_EXTENSION_BYTES: usize = 16;

/// Characters that never go into a file name: controls (C0, DEL, C1), the bidi controls
/// that reorder what a person reads, and zero-width characters that hide in a name.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200B}'..='\u{200F}'
                | '\u{061C}'
                | '\u{FEFF}'
        )
}

/// A safe file name made from `name` (see the module documentation).
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !is_unsafe(*c)).collect();
    let trimmed = cleaned
        .trim()
        .trim_start_matches('.')
        .trim_start()
        .trim_end_matches(['.', ' ']);
    let cut = cut_to_bytes(trimmed, MAX_NAME_BYTES);
    let cut = cut.trim_end_matches(['.', ' ']);
    if cut.is_empty() {
        FALLBACK_NAME.to_string()
    } else {
        cut.to_string()
    }
}

/// `name` in at most `max` bytes, cut at a character boundary; a short extension is kept.
fn cut_to_bytes(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let (stem, ext) = split_extension(name);
    let ext = if ext.len() <= MAX_EXTENSION_BYTES {
        ext
    } else {
        ""
    };
    let room = max - ext.len();
    let stem = if ext.is_empty() { name } else { stem };
    let mut end = room.min(stem.len());
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ext}", &stem[..end])
}

/// A name's stem and extension (with its dot); a name starting with its only dot has none.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    }
}

/// The `n`th alternative of a name: `name (n).ext`; the name itself for 0.
pub fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_string();
    }
    let (stem, ext) = split_extension(name);
    format!("{stem} ({n}){ext}")
}

/// The downloads directory: `configured` when given, else the platform's download
/// directory (`XDG_DOWNLOAD_DIR` on Linux), else `~/Downloads`, else the current
/// directory.
pub fn downloads_dir(configured: Option<&Path>) -> PathBuf {
    if let Some(dir) = configured {
        return dir.to_path_buf();
    }
    dirs::download_dir()
        .or_else(|| dirs::home_dir().map(|home| home.join("Downloads")))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A download being written: a temporary file beside where it goes, removed unless kept.
#[derive(Debug)]
pub struct PendingFile {
    temp: PathBuf,
    dir: PathBuf,
    name: String,
    file: Option<File>,
    kept: bool,
}

impl PendingFile {
    /// Creates the temporary file for a download named `name` (made safe) into `dir`.
    pub fn create(dir: &Path, name: &str) -> io::Result<PendingFile> {
        let name = safe_file_name(name);
        let short = cut_to_bytes(&name, 40);
        for _ in 0..16 {
            let tag: u64 = rand::random();
            let temp = dir.join(format!(".{short}.{tag:016x}.part"));
            match new_file(&temp) {
                Ok(file) => {
                    return Ok(PendingFile {
                        temp,
                        dir: dir.to_path_buf(),
                        name,
                        file: Some(file),
                        kept: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary name",
        ))
    }

    /// The open temporary file, to write the download into.
    pub fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the download file is already closed"))
    }

    /// The name it will get (or a numbered one, when that is taken).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Syncs the file and moves it to the first free name: `name`, `name (1)`, ... Never
    /// replaces a file that exists.
    pub fn keep(mut self) -> io::Result<PathBuf> {
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        for n in 0..=MAX_NUMBERED {
            let path = self.dir.join(numbered(&self.name, n));
            match new_file(&path) {
                // The empty file claims the name; the rename replaces only it.
                Ok(_) => {
                    if let Err(e) = std::fs::rename(&self.temp, &path) {
                        let _ = std::fs::remove_file(&path);
                        return Err(e);
                    }
                    self.kept = true;
                    return Ok(path);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{MAX_NUMBERED} files named like {} exist", self.name),
        ))
    }

    /// Moves the file to exactly `path`, which must not exist.
    pub fn keep_as(mut self, path: &Path) -> io::Result<PathBuf> {
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        new_file(path)?;
        if let Err(e) = std::fs::rename(&self.temp, path) {
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
        self.kept = true;
        Ok(path.to_path_buf())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.kept {
            self.file.take();
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Creates a file that must not exist yet, readable by its owner only (a download may be
/// private).
fn new_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_numbered_before_the_extension() {
        assert_eq!(numbered("a.pdf", 0), "a.pdf");
        assert_eq!(numbered("a.pdf", 1), "a (1).pdf");
        assert_eq!(numbered("archive.tar.gz", 2), "archive.tar (2).gz");
        assert_eq!(numbered("README", 3), "README (3)");
    }
}
