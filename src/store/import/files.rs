//! Attachment files beside an export: `roam import` loads the bytes of the chat files its
//! messages name.
//!
//! The layout: a folder named `files` beside an export file (or one given with `--files`)
//! holding one file per attachment, named by the uuid of the attachment's URL (the last
//! segment of `.../chatfiles/{uuid}`), and optionally that file's thumbnail as
//! `{uuid}.thumbnail`:
//!
//! ```text
//! export/
//!   2024060112.jsonl.gz
//!   files/
//!     0c0f5f3a-e66b-11e3-8863-f1c202c2b3ae
//!     0c0f5f3a-e66b-11e3-8863-f1c202c2b3ae.thumbnail
//! ```
//!
//! Files are loaded after the messages, since a file is stored only when a message names
//! it (nothing could download it otherwise). Its media type follows the file name the
//! message gives it. A name that is not a uuid, a file larger than
//! [`MAX_FILE_BYTES`], anything not a regular file, and a file that cannot be read are
//! reported and skipped; a uuid already holding bytes keeps them.

use std::fmt;
use std::path::{Path, PathBuf};

use super::ImportError;
use crate::protocol::files::is_uuid;
use crate::store::files::{MAX_FILE_BYTES, PutFile, content_type_for};
use crate::store::{Store, StoreError};

/// The folder of attachments beside an export file.
pub const FILES_DIR: &str = "files";
/// What a thumbnail's name adds to its file's uuid.
pub const THUMBNAIL_SUFFIX: &str = ".thumbnail";
/// How many skipped files a summary lists; the rest are counted.
const MAX_LISTED: usize = 100;

/// What loading a folder of attachments did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilesSummary {
    /// Files stored.
    pub stored: u64,
    /// Files whose uuid already held bytes.
    pub already_stored: u64,
    /// Files no stored message names.
    pub not_named: u64,
    /// Files skipped, counted.
    pub skipped_total: u64,
    /// The first skipped files with why (the name as found, not yet escaped).
    pub skipped: Vec<String>,
}

impl FilesSummary {
    fn skip(&mut self, what: String) {
        self.skipped_total += 1;
        if self.skipped.len() < MAX_LISTED {
            self.skipped.push(what);
        }
    }
}

impl fmt::Display for FilesSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "attachments: {} stored, {} already stored, {} named by no message, {} skipped",
            self.stored, self.already_stored, self.not_named, self.skipped_total
        )
    }
}

/// The `files` folders beside `exports` that exist, each once.
pub fn folders_beside(exports: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for export in exports {
        let dir = export
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join(FILES_DIR);
        if dir.is_dir() && !out.contains(&dir) {
            out.push(dir);
        }
    }
    out
}

/// Reads a file of at most [`MAX_FILE_BYTES`]; `Err` says why not.
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} bytes, more than the {MAX_FILE_BYTES}-byte limit",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    // It may have grown since.
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("more than the {MAX_FILE_BYTES}-byte limit"));
    }
    Ok(bytes)
}

/// Where attachments are loaded: a SQLite store, or a PostgreSQL one.
pub(crate) trait FileWriter {
    /// The file name the first message naming `uuid` gives it.
    fn file_name(&mut self, uuid: &str) -> Result<Option<String>, StoreError>;
    /// Stores a file's bytes when a message names it (see [`Store::put_file`]).
    fn put_file(
        &mut self,
        uuid: &str,
        content_type: &str,
        bytes: &[u8],
        thumbnail: Option<&[u8]>,
    ) -> Result<PutFile, StoreError>;
}

impl FileWriter for Store {
    fn file_name(&mut self, uuid: &str) -> Result<Option<String>, StoreError> {
        Store::file_name(self, uuid)
    }

    fn put_file(
        &mut self,
        uuid: &str,
        content_type: &str,
        bytes: &[u8],
        thumbnail: Option<&[u8]>,
    ) -> Result<PutFile, StoreError> {
        Store::put_file(self, uuid, content_type, bytes, thumbnail, None)
    }
}

/// Loads the attachments of one folder (see the module documentation).
pub fn import_attachments(store: &mut Store, dir: &Path) -> Result<FilesSummary, ImportError> {
    import_attachments_into(store, dir)
}

/// [`import_attachments`] into any [`FileWriter`].
pub(crate) fn import_attachments_into(
    store: &mut dyn FileWriter,
    dir: &Path,
) -> Result<FilesSummary, ImportError> {
    let open = |source| ImportError::Open {
        path: dir.to_path_buf(),
        source,
    };
    let mut names: Vec<String> = Vec::new();
    let mut summary = FilesSummary::default();
    for entry in std::fs::read_dir(dir).map_err(open)? {
        let entry = entry.map_err(open)?;
        match entry.file_name().into_string() {
            Ok(name) => names.push(name),
            Err(name) => summary.skip(format!("{}: not a uuid", name.to_string_lossy())),
        }
    }
    names.sort();
    for name in &names {
        if let Some(uuid) = name.strip_suffix(THUMBNAIL_SUFFIX) {
            if !names.iter().any(|n| n == uuid) {
                summary.skip(format!("{name}: a thumbnail without its file"));
            }
            continue;
        }
        if !is_uuid(name) {
            summary.skip(format!("{name}: not a uuid"));
            continue;
        }
        let bytes = match read_bounded(&dir.join(name)) {
            Ok(bytes) => bytes,
            Err(why) => {
                summary.skip(format!("{name}: {why}"));
                continue;
            }
        };
        let thumb_name = format!("{name}{THUMBNAIL_SUFFIX}");
        let thumbnail = if names.contains(&thumb_name) {
            match read_bounded(&dir.join(&thumb_name)) {
                Ok(bytes) => Some(bytes),
                Err(why) => {
                    summary.skip(format!("{thumb_name}: {why}"));
                    None
                }
            }
        } else {
            None
        };
        let content_type = store
            .file_name(name)?
            .map_or("application/octet-stream", |n| content_type_for(&n));
        match store.put_file(name, content_type, &bytes, thumbnail.as_deref()) {
            Ok(PutFile::Stored) => summary.stored += 1,
            Ok(PutFile::AlreadyStored) => summary.already_stored += 1,
            Ok(PutFile::NotNamed) => summary.not_named += 1,
            Err(StoreError::File(why)) => summary.skip(why),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(summary)
}
