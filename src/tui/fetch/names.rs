//! Names in the fetch task: a [`FetchRequest::Names`](super::FetchRequest::Names) is
//! answered from the disk cache where it has a fresh name (unless the request says
//! `refresh`), the rest from the server, one call per kind (the client batches them);
//! what the server answered is written back to the disk cache. Disk I/O runs on a
//! blocking thread, never on the UI's.
//!
//! A kind whose fetch fails is logged and its ids reported as failed: the browser shows
//! the ids and asks again later. No failure of the disk cache is more than a log line.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Source;
use crate::names_cache::{NameEntry, NameKey, NameKind, NameTable, NamesCache};

/// The disk cache and the names read from it, loaded at the first request.
pub(super) struct NamesDisk {
    cache: NamesCache,
    table: Mutex<Option<NameTable>>,
}

impl NamesDisk {
    pub(super) fn new(cache: NamesCache) -> NamesDisk {
        NamesDisk {
            cache,
            table: Mutex::new(None),
        }
    }

    /// The table, read from the file the first time. Blocking.
    fn table(&self, now_ms: i64) -> MutexGuard<'_, Option<NameTable>> {
        // Nothing that holds the lock can panic half-way: a poisoned table is still whole.
        let mut table = self
            .table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if table.is_none() {
            let loaded = self.cache.load(now_ms);
            tracing::debug!(names = loaded.len(), "names cache read");
            *table = Some(loaded.into_iter().map(|e| (e.key.clone(), e)).collect());
        }
        table
    }

    /// The fresh entries for `ids`. Blocking.
    fn lookup(&self, ids: &[NameKey], now_ms: i64) -> Vec<NameEntry> {
        let table = self.table(now_ms);
        let Some(table) = table.as_ref() else {
            return Vec::new();
        };
        ids.iter()
            .filter_map(|key| table.get(key))
            .filter(|e| e.fetched_ms > now_ms.saturating_sub(crate::names_cache::NAME_LIFETIME_MS))
            .cloned()
            .collect()
    }

    /// Adds `entries` and writes the file. Blocking.
    fn store(&self, entries: Vec<NameEntry>, now_ms: i64) {
        let mut guard = self.table(now_ms);
        let table = guard.get_or_insert_with(NameTable::new);
        for entry in entries {
            table.insert(entry.key.clone(), entry);
        }
        if let Err(e) = self.cache.save(table.values(), now_ms) {
            tracing::warn!(path = %self.cache.path().display(), error = %e, "names cache not written");
        }
    }
}

/// Runs `job` on a blocking thread; `fallback` if that thread could not finish.
async fn blocking<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static, fallback: T) -> T {
    tokio::task::spawn_blocking(job).await.unwrap_or(fallback)
}

/// The names of `ids`: the disk's fresh ones (unless `refresh`), then the server's for
/// the rest. Returns the names found and the ids whose fetch failed.
pub(super) async fn look_up<S: Source>(
    source: &S,
    disk: Option<Arc<NamesDisk>>,
    ids: Vec<NameKey>,
    refresh: bool,
) -> (Vec<NameEntry>, Vec<NameKey>) {
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let mut found = Vec::new();
    if let Some(disk) = disk.as_ref().filter(|_| !refresh) {
        let disk = Arc::clone(disk);
        let asked = ids.clone();
        found = blocking(move || disk.lookup(&asked, now_ms), Vec::new()).await;
    }
    let mut missing: BTreeMap<NameKind, Vec<String>> = BTreeMap::new();
    for key in ids {
        if !found.iter().any(|e| e.key == key) {
            missing.entry(key.kind).or_default().push(key.id);
        }
    }
    let mut fetched = Vec::new();
    let mut failed = Vec::new();
    for (kind, asked) in missing {
        match source.names(kind, asked.clone()).await {
            Ok(mut names) => {
                let fetched_ms = jiff::Timestamp::now().as_millisecond();
                fetched.extend(asked.into_iter().map(|id| NameEntry {
                    name: names.remove(&id),
                    key: NameKey { kind, id },
                    fetched_ms,
                }));
            }
            Err(e) => {
                // Debug formatting escapes what the server said.
                tracing::warn!(?kind, ids = asked.len(), error = ?e.description, "names not fetched; ids shown");
                failed.extend(asked.into_iter().map(|id| NameKey { kind, id }));
            }
        }
    }
    if let Some(disk) = disk.filter(|_| !fetched.is_empty()) {
        let entries = fetched.clone();
        blocking(move || disk.store(entries, now_ms), ()).await;
    }
    found.extend(fetched);
    (found, failed)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::protocol::{ConversationPage, HistoryPage, HistoryQuery};
    use crate::tui::event::FetchError;

    /// Knows li.wei's nickname and the group's name; rooms fail. Counts what it is asked.
    #[derive(Default)]
    struct Fake {
        asked: Mutex<Vec<(NameKind, Vec<String>)>>,
    }

    impl Fake {
        fn asked(&self) -> Vec<(NameKind, Vec<String>)> {
            self.asked.lock().map(|a| a.clone()).unwrap_or_default()
        }
    }

    impl Source for Fake {
        async fn conversation_page(&self, _: &str, _: u32) -> Result<ConversationPage, FetchError> {
            Err(FetchError::new("not here", false))
        }

        async fn history(&self, _: HistoryQuery) -> Result<HistoryPage, FetchError> {
            Err(FetchError::new("not here", false))
        }

        async fn names(
            &self,
            kind: NameKind,
            ids: Vec<String>,
        ) -> Result<HashMap<String, String>, FetchError> {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push((kind, ids.clone()));
            }
            let known = [
                ((NameKind::User, "li.wei"), "李伟"),
                ((NameKind::Group, "262857469362177"), "roam dev team"),
            ];
            match kind {
                NameKind::Room => Err(FetchError::new("HTTP 503 \u{1b}[2J", true)),
                _ => Ok(ids
                    .into_iter()
                    .filter_map(|id| {
                        let name = known.iter().find(|((k, i), _)| *k == kind && *i == id)?.1;
                        Some((id, name.to_string()))
                    })
                    .collect()),
            }
        }
    }

    fn keys() -> Vec<NameKey> {
        vec![
            NameKey::new(NameKind::User, "li.wei"),
            NameKey::new(NameKind::User, "bob"),
            NameKey::new(NameKind::Group, "262857469362177"),
            NameKey::new(NameKind::Room, "lobby"),
        ]
    }

    fn disk(dir: &std::path::Path) -> Arc<NamesDisk> {
        Arc::new(NamesDisk::new(NamesCache::new(
            dir,
            "http://127.0.0.1:1",
            "org#app",
            "me",
        )))
    }

    fn by_key(found: &[NameEntry]) -> Vec<(String, Option<String>)> {
        let mut v: Vec<_> = found
            .iter()
            .map(|e| (e.key.id.clone(), e.name.clone()))
            .collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn the_disk_answers_what_it_has_the_server_the_rest_and_failures_are_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = Fake::default();
        let (found, failed) = look_up(&fake, Some(disk(dir.path())), keys(), false).await;
        assert_eq!(
            by_key(&found),
            vec![
                ("262857469362177".into(), Some("roam dev team".into())),
                ("bob".into(), None),
                ("li.wei".into(), Some("李伟".into())),
            ]
        );
        assert_eq!(failed, vec![NameKey::new(NameKind::Room, "lobby")]);
        assert_eq!(fake.asked().len(), 3, "one call per kind");

        // Another run: the disk has all but the room, whose fetch failed.
        let again = Fake::default();
        let (found_again, failed) = look_up(&again, Some(disk(dir.path())), keys(), false).await;
        assert_eq!(by_key(&found_again), by_key(&found));
        assert_eq!(failed.len(), 1);
        assert_eq!(
            again.asked(),
            vec![(NameKind::Room, vec!["lobby".to_string()])],
            "only what the disk lacks"
        );

        // r: past the disk, to the server.
        let refreshed = Fake::default();
        look_up(&refreshed, Some(disk(dir.path())), keys(), true).await;
        assert_eq!(refreshed.asked().len(), 3);
    }

    #[tokio::test]
    async fn without_a_disk_cache_the_server_answers() {
        let fake = Fake::default();
        let (found, _) = look_up(&fake, None, keys()[..1].to_vec(), false).await;
        assert_eq!(by_key(&found), vec![("li.wei".into(), Some("李伟".into()))]);
    }
}
