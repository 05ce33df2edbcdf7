//! The local library: a person's copy of what roam fetched from one deployment, kept
//! between runs.
//!
//! A library is a store file ([`crate::store`]: the same schema and code the embedded
//! server uses, so `roam serve --db LIBRARY` serves it too), one per deployment, app key
//! and user, in roam's data directory, readable by its owner only. Every page written to
//! it keeps its messages (a message already held is skipped), and an unfiltered page also
//! extends the runs ([`runs`]) that say which stretches of a conversation are held
//! completely. Messages are written before runs, each in its own transaction: a process
//! killed between the two has messages a later page will find again, never a run that
//! claims what is not held.
//!
//! [`sync`] mirrors conversations into a library.

pub mod runs;
pub mod search;
pub mod sync;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::protocol::{ChatType, Conversation, Direction, HistoryPage, HistoryQuery};
use crate::store::state::{ConversationState, StateFile};
use crate::store::{Store, StoreError};
use runs::{Key, Run, Runs};

/// What can go wrong with a library.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The store under it failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Its folder could not be made.
    #[error("cannot create the library folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The runs kept for a conversation are unreadable (edited by hand or damaged): they
    /// are dropped and relearned, so this is only reported, never returned.
    #[error("the library's notes for {0} are unreadable")]
    Notes(String),
}

/// A library open for reading and writing.
pub struct Library {
    store: Store,
    user: String,
    path: PathBuf,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("user", &self.user)
            .field("path", &self.path)
            .finish()
    }
}

/// What writing one page did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRecord {
    /// Messages new to the library.
    pub new_messages: usize,
    /// The run the page is now part of (none for a filtered page, or an empty one that
    /// continued nothing).
    pub run: Option<Run>,
}

impl Library {
    /// Where the library of `user` on the deployment at `host` with `appkey` lives under
    /// `data_dir`: `library/HOST/APPKEY/USER.sqlite`, each part reduced to characters safe
    /// in a file name, with a short digest of the original added when that changed it (so
    /// two deployments never share a file).
    pub fn path_for(data_dir: &Path, host: &str, appkey: &str, user: &str) -> PathBuf {
        data_dir
            .join("library")
            .join(file_part(host))
            .join(file_part(appkey))
            .join(format!("{}.sqlite", file_part(&user.to_lowercase())))
    }

    /// Opens (creating when missing) the library at `path` for `user`; its folder is made
    /// readable by the owner only.
    pub fn open(path: &Path, user: &str) -> Result<Library, LibraryError> {
        if let Some(folder) = path.parent() {
            make_folder(folder)?;
        }
        let store = Store::open(path)?;
        store.prepare_library()?;
        Ok(Library {
            store,
            user: user.to_lowercase(),
            path: path.to_path_buf(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The user whose library this is.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The store under the library, for reading (pages, lists, search).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The runs held of a conversation. Unreadable notes read as none (they are relearned).
    pub fn runs(&self, conversation: &str, kind: ChatType) -> Result<Runs, LibraryError> {
        let key = runs_key(conversation, kind);
        let Some(text) = self.store.library_note(&key)? else {
            return Ok(Runs::default());
        };
        match serde_json::from_str::<Vec<Run>>(&text) {
            Ok(list) => Ok(Runs::from_runs(list)),
            Err(_) => {
                tracing::warn!("{}", LibraryError::Notes(key));
                Ok(Runs::default())
            }
        }
    }

    fn put_runs(
        &self,
        conversation: &str,
        kind: ChatType,
        runs: &Runs,
    ) -> Result<(), LibraryError> {
        let text =
            serde_json::to_string(runs.runs()).map_err(|e| StoreError::State(e.to_string()))?;
        self.store
            .set_library_note(&runs_key(conversation, kind), &text)?;
        Ok(())
    }

    /// Keeps a conversation list: each entry's newest message, and the user's unread
    /// counts, pins and marks (chat rooms are never in the list).
    pub fn record_conversations(&mut self, list: &[Conversation]) -> Result<(), LibraryError> {
        let newest: Vec<_> = list.iter().filter_map(|c| c.last_message.clone()).collect();
        self.store.insert_messages(&newest)?;
        let state = StateFile {
            conversations: list
                .iter()
                .filter(|c| c.kind != ChatType::Room)
                .map(|c| ConversationState {
                    user: self.user.clone(),
                    id: c.id.clone(),
                    kind: c.kind.wire_name().to_string(),
                    unread: c.unread,
                    pinned: c.pinned,
                    pinned_at: c.pinned_at,
                    marks: c.marks.clone(),
                })
                .collect(),
            ..StateFile::default()
        };
        self.store.apply_state(&state)?;
        Ok(())
    }

    /// Keeps one page the server gave for `query`. `joins` is the key of the message the
    /// page continues from, when it is the next page of a walk: the previous page's last
    /// message, so the two are known to be one stretch.
    pub fn record_page(
        &mut self,
        query: &HistoryQuery,
        page: &HistoryPage,
        joins: Option<Key>,
    ) -> Result<PageRecord, LibraryError> {
        let counts = self.store.insert_messages(&page.messages)?;
        let mut record = PageRecord {
            new_messages: counts.new as usize,
            run: None,
        };
        // A type or sender filter leaves gaps; a time bound does not (a page is still
        // consecutive messages), but it hides what lies past the bound: such a page is no
        // beginning, and its cursor (made for the bounded query) is not kept.
        let filters = &query.filters;
        if !filters.types.is_empty() || filters.sender.is_some() {
            return Ok(record);
        }
        let bounded = filters.start_time.is_some() || filters.end_time.is_some();
        let mut runs = self.runs(&query.conversation, query.kind)?;
        let oldest = page.messages.iter().map(Key::of).min();
        let newest = page.messages.iter().map(Key::of).max();
        let touched = match (query.direction, oldest, newest) {
            (Direction::Up, Some(oldest), Some(newest)) => {
                runs.add(Run {
                    oldest,
                    newest: joins.map_or(newest, |j| j.max(newest)),
                    beginning: page.is_last && filters.start_time.is_none(),
                    resume: if page.is_last || bounded {
                        None
                    } else {
                        page.next_cursor.clone()
                    },
                });
                Some(oldest)
            }
            (Direction::Up, _, _) => match joins {
                Some(j) if page.is_last && filters.start_time.is_none() => {
                    runs.reach_beginning(j).then_some(j)
                }
                _ => None,
            },
            (Direction::Down, Some(oldest), Some(newest)) => {
                let from_beginning =
                    query.cursor.is_none() && joins.is_none() && filters.start_time.is_none();
                runs.add(Run {
                    oldest: joins.map_or(oldest, |j| j.min(oldest)),
                    newest,
                    beginning: from_beginning,
                    resume: None,
                });
                Some(newest)
            }
            (Direction::Down, _, _) => None,
        };
        if let Some(key) = touched {
            self.put_runs(&query.conversation, query.kind, &runs)?;
            record.run = runs.containing(key).cloned();
        }
        Ok(record)
    }
}

/// Where a page read from the library starts, going back in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// At this message (it is the page's first).
    At(Key),
    /// Just older than this message (the last one of the page before).
    Below(Key),
}

impl Library {
    /// A page of up to `limit` messages, newest first, read from the stretch held
    /// completely that `from` lies in; `None` when no held stretch goes on from there.
    /// The page never leaves the stretch; [`HeldPage::at_run_end`] says it reached the
    /// stretch's older end, where the stretch's beginning or server cursor takes over.
    pub fn held_page(
        &self,
        conversation: &str,
        kind: ChatType,
        from: From,
        limit: usize,
    ) -> Result<Option<HeldPage>, LibraryError> {
        let runs = self.runs(conversation, kind)?;
        let key = match from {
            From::At(key) | From::Below(key) => key,
        };
        let Some(run) = runs.containing(key) else {
            return Ok(None);
        };
        if matches!(from, From::Below(k) if k == run.oldest) {
            return Ok(None);
        }
        let query = HistoryQuery {
            conversation: conversation.to_string(),
            kind,
            cursor: Some(key.id.to_string()),
            page_size: u32::try_from(limit + 1).unwrap_or(u32::MAX).min(50),
            direction: Direction::Up,
            filters: Default::default(),
        };
        let page = self.store.history(&self.user, &query)?;
        let mut messages: Vec<_> = page
            .messages
            .into_iter()
            .filter(|m| {
                let k = Key::of(m);
                run.oldest <= k && k <= key && !(matches!(from, From::Below(b) if b == k))
            })
            .collect();
        messages.truncate(limit);
        let Some(last) = messages.last().map(Key::of) else {
            return Ok(None);
        };
        Ok(Some(HeldPage {
            messages,
            at_run_end: last == run.oldest,
            run: run.clone(),
            last,
        }))
    }
}

/// A page read from the library.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldPage {
    /// Newest first.
    pub messages: Vec<crate::protocol::Message>,
    /// Its last (oldest) message.
    pub last: Key,
    /// Whether that is the held stretch's oldest message.
    pub at_run_end: bool,
    /// The held stretch it was read from.
    pub run: Run,
}

/// The note key of a conversation's runs.
fn runs_key(conversation: &str, kind: ChatType) -> String {
    format!("runs:{}:{}", kind.wire_name(), conversation.to_lowercase())
}

/// `part` reduced to characters safe in a file name on every system; when anything had to
/// change, a short digest of the original follows.
fn file_part(part: &str) -> String {
    let safe: String = part
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    if safe == part && !safe.is_empty() {
        return safe.to_string();
    }
    let digest = Sha256::digest(part.as_bytes());
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{safe}~{short}")
}

/// Makes `folder` and its missing parents; the folder, and every parent made here, are
/// readable by the owner only (folders that were there already are left as they are).
fn make_folder(folder: &Path) -> Result<(), LibraryError> {
    let err = |source| LibraryError::Folder {
        path: folder.to_path_buf(),
        source,
    };
    let made: Vec<&Path> = folder.ancestors().take_while(|p| !p.exists()).collect();
    std::fs::create_dir_all(folder).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let private = || std::fs::Permissions::from_mode(0o700);
        for path in made.iter().copied().chain(std::iter::once(folder)) {
            std::fs::set_permissions(path, private()).map_err(err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_folders_made_for_a_library_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = Library::path_for(dir.path(), "a1.easemob.com", "org#app", "alice");
        Library::open(&path, "alice").expect("library");
        let mode = |p: &Path| std::fs::metadata(p).expect("there").permissions().mode() & 0o777;
        for folder in path.ancestors().skip(1).take(3) {
            assert_eq!(mode(folder), 0o700, "{}", folder.display());
        }
        assert_ne!(
            mode(dir.path()),
            0o000,
            "a folder that was there is left alone"
        );
        assert_eq!(mode(&path) & 0o077, 0, "the file is the owner's");
    }

    #[test]
    fn file_parts_are_safe_and_distinct() {
        assert_eq!(file_part("a1-easemob.com"), "a1-easemob.com");
        for hostile in [
            "../..", "..", "", "a/b", "a\\b", "a\u{0}b", "李伟", ".hidden",
        ] {
            let part = file_part(hostile);
            assert!(
                !part.is_empty() && !part.starts_with('.') && !part.contains(['/', '\\', '\0']),
                "{hostile:?} -> {part:?}"
            );
        }
        assert_ne!(
            file_part("a/b"),
            file_part("a:b"),
            "a digest keeps them apart"
        );
    }
}
