//! The HTTP client as a [`Source`]. Retrying stays the person's call (R): `retryable`
//! only changes the words.

use std::collections::HashMap;
use std::path::PathBuf;

use tokio::sync::watch;

use super::{FetchError, Source};
use crate::client::{Client, ClientError, DownloadError, DownloadOptions, Progress, SaveTo};
use crate::names_cache::{NameKind, NamesCache};
use crate::protocol::{Attachment, ConversationPage, HistoryPage, HistoryQuery};
use crate::tui::event::DownloadOutcome;
use crate::tui::picture::MAX_PICTURE_BYTES;

/// Where a fetched picture is kept between runs: one file per deployment, account and
/// picture under the cache directory, named by a hash (a URL from a message never becomes
/// a path), private to the person.
struct PictureCache {
    path: PathBuf,
}

impl PictureCache {
    fn new(client: &Client, file: &Attachment, thumbnail: bool) -> PictureCache {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for part in [
            client.deployment().as_str(),
            client.appkey().as_str(),
            client.user(),
            file.url.as_str(),
            if thumbnail { "thumbnail" } else { "file" },
        ] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        let name: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        PictureCache {
            path: crate::config::paths::cache_dir()
                .join("pictures")
                .join(name),
        }
    }

    async fn read(&self) -> Option<Vec<u8>> {
        let bytes = tokio::fs::read(&self.path).await.ok()?;
        (bytes.len() as u64 <= MAX_PICTURE_BYTES).then_some(bytes)
    }

    /// Keeps the picture; a cache that cannot be written only costs a fetch next time.
    async fn write(&self, bytes: &[u8]) {
        let path = self.path.clone();
        let bytes = bytes.to_vec();
        let written = tokio::task::spawn_blocking(move || {
            let Some(dir) = path.parent() else {
                return Ok(());
            };
            crate::config::paths::create_private_dir(dir)?;
            let temp = path.with_extension("part");
            crate::config::paths::write_private_file(&temp, &bytes)?;
            std::fs::rename(&temp, &path)
        })
        .await;
        if let Ok(Err(e)) = written {
            tracing::debug!("cannot keep a picture in the cache: {e}");
        }
    }
}

/// Timeouts, connection trouble, 429 and 5xx may pass; the rest will not.
fn fetch_error(e: &ClientError) -> FetchError {
    let retryable = match e {
        ClientError::Timeout { .. }
        | ClientError::Connect { .. }
        | ClientError::Transport { .. } => true,
        ClientError::Http { status, .. } => *status == 429 || *status >= 500,
        _ => false,
    };
    FetchError::new(e.description(), retryable)
}

impl Source for Client {
    async fn conversation_page(
        &self,
        cursor: &str,
        limit: u32,
    ) -> Result<ConversationPage, FetchError> {
        Client::conversation_page(self, cursor, limit)
            .await
            .map_err(|e| fetch_error(&e))
    }

    async fn history(&self, query: HistoryQuery) -> Result<HistoryPage, FetchError> {
        Client::history(self, &query)
            .await
            .map_err(|e| fetch_error(&e))
    }

    fn admin_reader(&self) -> Option<String> {
        self.admin_client_id().map(|_| self.user().to_string())
    }

    async fn names(
        &self,
        kind: NameKind,
        ids: Vec<String>,
    ) -> Result<HashMap<String, String>, FetchError> {
        match kind {
            NameKind::User => self.nicknames(&ids).await,
            NameKind::Group => self.group_names(&ids).await,
            NameKind::Room => self.room_names(&ids).await,
        }
        .map_err(|e| fetch_error(&e))
    }

    fn names_cache(&self) -> Option<NamesCache> {
        Some(NamesCache::new(
            &crate::config::paths::cache_dir(),
            &self.deployment(),
            &self.appkey(),
            self.user(),
        ))
    }

    async fn picture(&self, file: Attachment, thumbnail: bool) -> Result<Vec<u8>, FetchError> {
        let cache = PictureCache::new(self, &file, thumbnail);
        if let Some(bytes) = cache.read().await {
            return Ok(bytes);
        }
        let options = DownloadOptions {
            max_bytes: MAX_PICTURE_BYTES,
            thumbnail,
            cancel: None,
        };
        let mut bytes = Vec::new();
        match self
            .download(&file, &options, &mut bytes, &mut |_| {})
            .await
        {
            Ok(_) => {}
            Err(DownloadError::Expired) => {
                return Err(FetchError::new("the picture expired on the server", false));
            }
            Err(DownloadError::Client(e)) => return Err(fetch_error(&e)),
            Err(e) => return Err(FetchError::new(e.to_string(), false)),
        }
        cache.write(&bytes).await;
        Ok(bytes)
    }

    async fn download(
        &self,
        file: Attachment,
        dir: PathBuf,
        cancel: watch::Receiver<bool>,
        mut progress: Box<dyn FnMut(Progress) + Send>,
    ) -> DownloadOutcome {
        if let Err(e) = tokio::fs::create_dir_all(&dir).await {
            return DownloadOutcome::Failed(FetchError::new(
                format!(
                    "cannot create the downloads directory {}: {e}",
                    dir.display()
                ),
                false,
            ));
        }
        let options = DownloadOptions {
            cancel: Some(cancel),
            ..DownloadOptions::default()
        };
        match self
            .download_to(&file, SaveTo::Dir(&dir), &options, &mut *progress)
            .await
        {
            Ok(path) => DownloadOutcome::Saved(path),
            Err(DownloadError::Expired) => DownloadOutcome::Expired,
            Err(DownloadError::Cancelled) => DownloadOutcome::Cancelled,
            Err(DownloadError::Client(e)) => DownloadOutcome::Failed(fetch_error(&e)),
            Err(e) => DownloadOutcome::Failed(FetchError::new(e.to_string(), false)),
        }
    }
}
