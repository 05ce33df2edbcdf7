//! Names on disk: the nicknames and group and room names the browser fetched, kept a day
//! in the cache directory so the next start shows names at once (issue 8, PROTOCOL.md
//! §8.1).
//!
//! It is its own module, apart from the client (which only asks the server) and the UI
//! state (which must do no I/O): the fetch task calls it, on a blocking thread.
//!
//! - One file per deployment, app key and user (`names-<hash>.json`): what one user may
//!   see of another app's groups never shows up in the wrong place.
//! - Written whole through a temporary file renamed into place, 0600, so a crash leaves
//!   the old file or the new one, never half of one.
//! - Read as untrusted: a file too big, not JSON, of another version or shape is ignored
//!   (logged) and replaced at the next write; an entry with a bad id, a time outside the
//!   day or in the future is dropped; names are cut at [`MAX_NAME_CHARS`]. Nothing in it
//!   can make loading fail or panic.
//! - Files of other deployments untouched for a day are removed when one is written, so
//!   the demo's server (a new port each run) does not fill the directory.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::client::MAX_NAME_CHARS;
use crate::protocol::ids;

/// How long a name is good for, in milliseconds: a day.
pub const NAME_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// The largest file read: far more than the names anyone browses in a day.
const MAX_FILE_BYTES: u64 = 8 << 20;

/// The most entries kept from a file.
const MAX_ENTRIES: usize = 100_000;

/// How far in the future a time may be (clocks differ a little between runs, not more).
const CLOCK_SLACK_MS: i64 = 5 * 60 * 1000;

/// The version of the file's shape.
const VERSION: u32 = 1;

/// What a name belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameKind {
    /// A user: the name is the nickname.
    User,
    /// A group.
    Group,
    /// A chat room.
    Room,
}

/// Whose name: a kind and a lowercased id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameKey {
    /// User, group or room.
    pub kind: NameKind,
    /// The lowercased id.
    pub id: String,
}

impl NameKey {
    /// The key of `id` (lowercased) of this kind.
    pub fn new(kind: NameKind, id: &str) -> NameKey {
        NameKey {
            kind,
            id: id.to_ascii_lowercase(),
        }
    }
}

/// A name as fetched: `None` when the server has none (the id is shown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameEntry {
    /// Whose name.
    pub key: NameKey,
    /// The name, untrusted text; `None`: the server has no name for it.
    pub name: Option<String>,
    /// When it was fetched, in milliseconds since the epoch.
    pub fetched_ms: i64,
}

/// The file's shape.
#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    names: Vec<Stored>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    kind: NameKind,
    id: String,
    #[serde(default)]
    name: Option<String>,
    at: i64,
}

/// The names file of one deployment, app key and user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamesCache {
    path: PathBuf,
}

impl NamesCache {
    /// The file in `dir` for `user` of `appkey` on `deployment` (the client's
    /// [`deployment`](crate::client::Client::deployment) name, stable across runs).
    pub fn new(dir: &Path, deployment: &str, appkey: &str, user: &str) -> NamesCache {
        let mut hash = Sha256::new();
        for part in [deployment, appkey, user] {
            hash.update(part.as_bytes());
            // A separator no part holds, so ("ab", "c") and ("a", "bc") differ.
            hash.update([0]);
        }
        let digest = hash.finalize();
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        NamesCache {
            path: dir.join(format!("names-{hex}.json")),
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries of the file still good at `now_ms`. A missing file is no names; a
    /// file that cannot be read or is not what this module writes is logged and ignored.
    pub fn load(&self, now_ms: i64) -> Vec<NameEntry> {
        let text = match read_capped(&self.path) {
            Ok(Some(text)) => text,
            Ok(None) => return Vec::new(),
            Err(reason) => {
                tracing::warn!(path = %self.path.display(), reason, "names cache ignored");
                return Vec::new();
            }
        };
        let file: File = match serde_json::from_str(&text) {
            Ok(file) => file,
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "names cache ignored: not a names file");
                return Vec::new();
            }
        };
        if file.version != VERSION {
            tracing::warn!(path = %self.path.display(), version = file.version, "names cache ignored: another version");
            return Vec::new();
        }
        file.names
            .into_iter()
            .take(MAX_ENTRIES)
            .filter_map(|s| entry_of(s, now_ms))
            .collect()
    }

    /// Writes `entries` still good at `now_ms` as the whole file, atomically, and removes
    /// other names files untouched for a day.
    pub fn save<'a>(
        &self,
        entries: impl IntoIterator<Item = &'a NameEntry>,
        now_ms: i64,
    ) -> std::io::Result<()> {
        let names: Vec<Stored> = entries
            .into_iter()
            .filter(|e| good_at(e.fetched_ms, now_ms))
            .take(MAX_ENTRIES)
            .map(|e| Stored {
                kind: e.key.kind,
                id: e.key.id.clone(),
                name: e.name.clone(),
                at: e.fetched_ms,
            })
            .collect();
        let text = serde_json::to_string(&File {
            version: VERSION,
            names,
        })
        .map_err(std::io::Error::other)?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        write_atomic(dir, &self.path, text.as_bytes())?;
        remove_stale(dir, &self.path);
        Ok(())
    }
}

/// The file's text; `None` when there is none. Too big or not UTF-8 is an error.
fn read_capped(path: &Path) -> Result<Option<String>, String> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!("{} bytes, more than {MAX_FILE_BYTES}", meta.len()));
    }
    let mut bytes = Vec::new();
    // Capped again while reading: the file may grow between the two looks.
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_FILE_BYTES + 1),
        &mut bytes,
    )
    .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err("grew past the limit while read".into());
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| "not UTF-8".into())
}

/// A time within the last day and not in the future (beyond a little clock slack).
fn good_at(fetched_ms: i64, now_ms: i64) -> bool {
    fetched_ms > now_ms.saturating_sub(NAME_LIFETIME_MS)
        && fetched_ms <= now_ms.saturating_add(CLOCK_SLACK_MS)
}

/// A stored entry as the browser may use it, or nothing.
fn entry_of(s: Stored, now_ms: i64) -> Option<NameEntry> {
    if !good_at(s.at, now_ms) {
        return None;
    }
    let id = ids::check(&s.id).ok()?;
    let name = s
        .name
        .filter(|n| !n.trim().is_empty())
        .map(|n| n.chars().take(MAX_NAME_CHARS).collect());
    Some(NameEntry {
        key: NameKey { kind: s.kind, id },
        name,
        fetched_ms: s.at,
    })
}

/// Writes `bytes` to `path` through a 0600 temporary file in `dir` renamed into place.
fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let stem = path
        .file_name()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{stem}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    written
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// Removes the names files in `dir` other than `keep` not written for a day. Best
/// effort: whatever cannot be read or removed stays.
fn remove_stale(dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let day = Duration::from_millis(NAME_LIFETIME_MS.unsigned_abs());
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("names-") && n.ends_with(".json"));
        if !ours || path == keep {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > day);
        if old {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The entries by key: what the fetch task keeps between writes.
pub type NameTable = HashMap<NameKey, NameEntry>;

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000_000;

    fn entry(kind: NameKind, id: &str, name: Option<&str>, at: i64) -> NameEntry {
        NameEntry {
            key: NameKey::new(kind, id),
            name: name.map(str::to_string),
            fetched_ms: at,
        }
    }

    fn cache(dir: &Path) -> NamesCache {
        NamesCache::new(dir, "http://127.0.0.1:5080", "org#app", "li.wei")
    }

    #[test]
    fn one_file_per_deployment_appkey_and_user() {
        let dir = Path::new("/cache");
        let a = cache(dir);
        assert_eq!(a, cache(dir));
        assert_ne!(
            a,
            NamesCache::new(dir, "http://127.0.0.1:5081", "org#app", "li.wei")
        );
        assert_ne!(
            a,
            NamesCache::new(dir, "http://127.0.0.1:5080", "org#ap", "pli.wei")
        );
        assert_ne!(
            a,
            NamesCache::new(dir, "http://127.0.0.1:5080", "org#app", "bob")
        );
        let name = a.path().file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            name.starts_with("names-") && name.ends_with(".json"),
            "{name}"
        );
    }

    #[test]
    fn names_written_come_back_until_a_day_has_passed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let c = cache(dir.path());
        let entries = vec![
            entry(NameKind::User, "li.wei", Some("李伟"), NOW - 1000),
            entry(
                NameKind::Group,
                "262857469362177",
                Some("roam dev team"),
                NOW,
            ),
            entry(NameKind::Room, "lobby", None, NOW - NAME_LIFETIME_MS / 2),
        ];
        c.save(&entries, NOW).expect("saved");
        assert_eq!(c.load(NOW), entries);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(c.path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        // Half a day on, the room's entry has expired; the others have not.
        let later = NOW + NAME_LIFETIME_MS / 2 + 1;
        assert_eq!(c.load(later), entries[..2].to_vec());
        assert_eq!(c.load(NOW + NAME_LIFETIME_MS + 1), Vec::new());
    }

    #[test]
    fn a_missing_or_corrupt_file_is_no_names() {
        let dir = tempfile::tempdir().expect("temp dir");
        let c = cache(dir.path());
        assert_eq!(c.load(NOW), Vec::new());
        for bad in [
            &b"not json"[..],
            b"{\"version\":1,\"names\":[{\"kind\":\"user\"",
            b"{\"version\":2,\"names\":[]}",
            b"{\"version\":1,\"names\":{}}",
            b"[1,2,3]",
            b"\xff\xfe\x00",
            b"",
        ] {
            std::fs::write(c.path(), bad).expect("write");
            assert_eq!(
                c.load(NOW),
                Vec::new(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // A directory where the file should be.
        std::fs::remove_file(c.path()).expect("remove");
        std::fs::create_dir(c.path()).expect("dir");
        assert_eq!(c.load(NOW), Vec::new());
    }

    #[test]
    fn hostile_entries_are_dropped_or_cut() {
        let dir = tempfile::tempdir().expect("temp dir");
        let c = cache(dir.path());
        let long = "x".repeat(MAX_NAME_CHARS * 10);
        let text = serde_json::json!({"version": 1, "names": [
            {"kind": "user", "id": "../../etc", "name": "bad id", "at": NOW},
            {"kind": "user", "id": "mallory\u{1b}]0;t\u{7}", "name": "bad id", "at": NOW},
            {"kind": "user", "id": "future", "name": "forever", "at": i64::MAX},
            {"kind": "user", "id": "old", "name": "old", "at": i64::MIN},
            {"kind": "bot", "id": "x", "name": "unknown kind", "at": NOW},
        ]});
        // An unknown kind fails the whole file: it is not one this module wrote.
        std::fs::write(c.path(), text.to_string()).expect("write");
        assert_eq!(c.load(NOW), Vec::new());
        let text = serde_json::json!({"version": 1, "names": [
            {"kind": "user", "id": "../../etc", "name": "bad id", "at": NOW},
            {"kind": "user", "id": "future", "name": "forever", "at": i64::MAX},
            {"kind": "user", "id": "old", "name": "old", "at": i64::MIN},
            {"kind": "user", "id": "Long", "name": long, "at": NOW},
            {"kind": "user", "id": "blank", "name": "  ", "at": NOW},
        ]});
        std::fs::write(c.path(), text.to_string()).expect("write");
        let loaded = c.load(NOW);
        assert_eq!(loaded.len(), 2, "{loaded:?}");
        assert_eq!(loaded[0].key, NameKey::new(NameKind::User, "long"));
        assert_eq!(
            loaded[0].name.as_deref().map(|n| n.chars().count()),
            Some(MAX_NAME_CHARS)
        );
        assert_eq!(loaded[1].name, None, "a blank name is no name");
    }

    #[test]
    fn a_file_too_big_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let c = cache(dir.path());
        let entries = vec![entry(NameKind::User, "li.wei", Some("李伟"), NOW)];
        c.save(&entries, NOW).expect("saved");
        assert_eq!(c.load(NOW), entries);
        // The same names padded past the limit: valid JSON, but not read.
        let mut text = std::fs::read(c.path()).expect("read");
        text.resize(
            usize::try_from(MAX_FILE_BYTES).unwrap_or(usize::MAX) + 1,
            b' ',
        );
        std::fs::write(c.path(), text).expect("write");
        assert_eq!(c.load(NOW), Vec::new());
        // Writing replaces it.
        c.save(&entries, NOW).expect("saved");
        assert_eq!(c.load(NOW), entries);
    }
}
