//! Downloading attachments (PROTOCOL.md §8.3): `GET /{org}/{app}/chatfiles/{uuid}` with the
//! token and the message's share-secret, streamed to a writer or a file.
//!
//! - **Which server.** The file is asked of this client's own server, by the uuid of the
//!   message's URL: a message is untrusted, and the token must never travel to a host a
//!   message names. A URL that is not a chat file URL is [`DownloadError::NotAChatFile`].
//! - **Streamed.** The body is written chunk by chunk as it arrives, never held whole;
//!   [`Progress`] is reported after each chunk.
//! - **Bounded.** Past [`DownloadOptions::max_bytes`] (announced or counted) the download
//!   stops with [`DownloadError::TooLarge`].
//! - **Cancellable.** Setting the [`DownloadOptions::cancel`] watch to `true` stops it at
//!   once with [`DownloadError::Cancelled`].
//! - **Expired files** (404 `file_expired`, the service keeps files 7 days by default) are
//!   [`DownloadError::Expired`], not a failure of roam's.
//! - **Into a file** ([`Client::download_to`]): a temporary file renamed into place when
//!   complete, under a safe name that never overwrites ([`crate::downloads`]); a
//!   cancelled or failed download leaves nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_LENGTH};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use super::Client;
use super::error::{ClientError, one_line};
use super::retry::{Attempts, Refusal, Verdict, retry_after};
use super::transport::{Call, http_error, read_prefix};
use crate::downloads::PendingFile;
use crate::protocol::Attachment;
use crate::protocol::files::{
    FILE_EXPIRED, SHARE_SECRET_HEADER, SHARE_SECRET_QUERY, THUMBNAIL_HEADER, chatfile_uuid,
};

/// The default cap on one download.
pub const DEFAULT_MAX_DOWNLOAD_BYTES: u64 = 100 << 20;
/// How long a whole download may take (the per-read timeout still applies): longer than a
/// call's, as a file may be large and a link slow.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(3600);
/// How much of an error body is read.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// How to download.
#[derive(Clone, Debug)]
pub struct DownloadOptions {
    /// The largest file accepted, in bytes.
    pub max_bytes: u64,
    /// Ask for the thumbnail (`thumbnail: true`) instead of the file.
    pub thumbnail: bool,
    /// Set to `true` to cancel; `None`: not cancellable.
    pub cancel: Option<watch::Receiver<bool>>,
}

impl Default for DownloadOptions {
    fn default() -> DownloadOptions {
        DownloadOptions {
            max_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
            thumbnail: false,
            cancel: None,
        }
    }
}

/// How far a download is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes received so far.
    pub received: u64,
    /// The whole length, when the server announced it.
    pub total: Option<u64>,
}

/// Where [`Client::download_to`] puts the file.
#[derive(Clone, Copy, Debug)]
pub enum SaveTo<'a> {
    /// Into this directory, named after the attachment's file name (made safe, never
    /// overwriting: `name (1).pdf`).
    Dir(&'a Path),
    /// Exactly this path, which must not exist.
    Path(&'a Path),
}

/// Why a download did not complete.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The server no longer holds the file (404 `file_expired`).
    #[error("the file has expired on the server")]
    Expired,
    /// Cancelled by the caller.
    #[error("the download was cancelled")]
    Cancelled,
    /// Larger than [`DownloadOptions::max_bytes`].
    #[error("the file is larger than the {limit}-byte limit")]
    TooLarge {
        /// The cap.
        limit: u64,
    },
    /// The message's URL is not a chat file URL.
    #[error("the message's URL does not name a chat file")]
    NotAChatFile,
    /// The server refused, or the network failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Writing the file failed.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// Where.
        path: String,
        /// What the system said.
        reason: String,
    },
}

/// The secret to send: the attachment's, or the one in the SDK's URL form.
fn secret_of(file: &Attachment) -> Option<String> {
    if let Some(secret) = file.secret.as_deref().filter(|s| !s.is_empty()) {
        return Some(secret.to_string());
    }
    let query = file.url.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == SHARE_SECRET_QUERY)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// Resolves when `cancel` says `true`; never when there is none or its sender is gone.
async fn cancelled(cancel: &mut Option<watch::Receiver<bool>>) {
    if let Some(rx) = cancel
        && rx.wait_for(|c| *c).await.is_ok()
    {
        return;
    }
    std::future::pending::<()>().await;
}

fn write_error(path: &Path, e: &std::io::Error) -> DownloadError {
    DownloadError::Write {
        path: one_line(&path.display().to_string(), 200),
        reason: e.to_string(),
    }
}

impl Client {
    /// Downloads an attachment into `out`, reporting progress after each chunk; returns
    /// the bytes written. `out` is flushed; on an error it holds a part of the file.
    pub async fn download<W: AsyncWrite + Unpin>(
        &self,
        file: &Attachment,
        options: &DownloadOptions,
        out: &mut W,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<u64, DownloadError> {
        let uuid = chatfile_uuid(&file.url).ok_or(DownloadError::NotAChatFile)?;
        let mut cancel = options.cancel.clone();
        if cancel.as_ref().is_some_and(|rx| *rx.borrow()) {
            return Err(DownloadError::Cancelled);
        }
        let call = Call::get(format!("chatfiles/{uuid}"));
        let endpoint = call.endpoint();
        let url = self.transport.url(&call)?;
        let secret = secret_of(file);
        let mut attempts = Attempts::default();
        let mut response = loop {
            let token = self.bearer().await?;
            let mut request = self
                .transport
                .http()
                .get(url.clone())
                .timeout(DOWNLOAD_TIMEOUT)
                .bearer_auth(token.expose())
                .header(ACCEPT, "application/octet-stream");
            if let Some(secret) = &secret {
                request = request.header(SHARE_SECRET_HEADER, secret);
            }
            if options.thumbnail {
                request = request.header(THUMBNAIL_HEADER, "true");
            }
            let sent = tokio::select! {
                biased;
                () = cancelled(&mut cancel) => return Err(DownloadError::Cancelled),
                sent = request.send() => sent,
            };
            let mut response =
                sent.map_err(|e| self.transport.transport_error(&endpoint, &url, &e))?;
            let status = response.status();
            if status == StatusCode::OK {
                break response;
            }
            let wait = retry_after(response.headers(), SystemTime::now());
            let body = read_prefix(&mut response, ERROR_BODY_LIMIT).await;
            let mut secrets = self.auth.secrets(Some(&token));
            secrets.extend(secret.clone().map(super::Secret::new));
            let error = http_error(&endpoint, status, &body, &secrets);
            if status == StatusCode::NOT_FOUND && error.server_code() == Some(FILE_EXPIRED) {
                return Err(DownloadError::Expired);
            }
            let refusal = Refusal::of(status.as_u16(), wait);
            if matches!(refusal, Refusal::Busy { .. }) {
                attempts.busy += 1;
            }
            match self.retry.decide(refusal, attempts, self.auth.can_log_in()) {
                Verdict::RetryAfter(wait) => {
                    tokio::select! {
                        biased;
                        () = cancelled(&mut cancel) => return Err(DownloadError::Cancelled),
                        () = tokio::time::sleep(wait) => {}
                    }
                }
                Verdict::LogInAgain => {
                    attempts.logins += 1;
                    self.log_in_again(Some(&token)).await?;
                }
                Verdict::GiveUp => return Err(error.into()),
            }
        };
        let total = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if total.is_some_and(|n| n > options.max_bytes) {
            return Err(DownloadError::TooLarge {
                limit: options.max_bytes,
            });
        }
        let mut received = 0u64;
        progress(Progress { received, total });
        loop {
            let chunk = tokio::select! {
                biased;
                () = cancelled(&mut cancel) => return Err(DownloadError::Cancelled),
                chunk = response.chunk() => chunk,
            };
            let Some(chunk) =
                chunk.map_err(|e| self.transport.transport_error(&endpoint, &url, &e))?
            else {
                break;
            };
            received = received.saturating_add(chunk.len() as u64);
            if received > options.max_bytes {
                return Err(DownloadError::TooLarge {
                    limit: options.max_bytes,
                });
            }
            out.write_all(&chunk)
                .await
                .map_err(|e| write_error(Path::new("the download"), &e))?;
            progress(Progress { received, total });
        }
        out.flush()
            .await
            .map_err(|e| write_error(Path::new("the download"), &e))?;
        Ok(received)
    }

    /// Downloads an attachment into a file (see [`SaveTo`]); returns where it went. The
    /// file appears only when complete.
    pub async fn download_to(
        &self,
        file: &Attachment,
        to: SaveTo<'_>,
        options: &DownloadOptions,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<PathBuf, DownloadError> {
        let (dir, name) = match to {
            SaveTo::Dir(dir) => (dir.to_path_buf(), file.filename.clone()),
            SaveTo::Path(path) => (
                path.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        };
        if let SaveTo::Path(path) = to
            && path.exists()
        {
            return Err(write_error(
                path,
                &std::io::Error::new(std::io::ErrorKind::AlreadyExists, "it exists already"),
            ));
        }
        let mut pending = PendingFile::create(&dir, &name).map_err(|e| write_error(&dir, &e))?;
        let writer = pending
            .file()
            .and_then(|f| f.try_clone())
            .map_err(|e| write_error(&dir, &e))?;
        let mut out = tokio::fs::File::from_std(writer);
        self.download(file, options, &mut out, progress).await?;
        drop(out);
        match to {
            SaveTo::Dir(_) => pending.keep().map_err(|e| write_error(&dir, &e)),
            SaveTo::Path(path) => pending.keep_as(path).map_err(|e| write_error(path, &e)),
        }
    }
}
