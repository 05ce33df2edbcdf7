//! `roam download ID MSG_ID [-o PATH]`: one message's attachment, saved as the browser
//! saves it ([`crate::client::Client::download_to`]): into the downloads directory under a
//! safe name that never overwrites, or exactly at `-o PATH` (a directory: into it). A
//! progress bar on a terminal; Ctrl-C cancels and leaves nothing behind.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;

use super::{Connection, conversation_kind, load_config, runtime};
use crate::client::{Client, DownloadError, DownloadOptions, Progress, SaveTo};
use crate::downloads::downloads_dir;
use crate::protocol::{
    ChatType, Direction, HistoryFilters, HistoryQuery, Message, PageLimits, PageWalk,
};
use crate::session;
use crate::tui::text;

/// The content kinds that carry a file: the only pages searched for the message.
const FILE_KINDS: [&str; 5] = ["img", "video", "audio", "file", "combine"];
/// How many pages of attachments are searched for the message before giving up.
const MAX_SEARCH_PAGES: usize = 2000;

/// Options of `roam download`.
#[derive(Debug)]
pub struct DownloadCommand {
    /// The conversation id.
    pub id: String,
    /// Single, group or room; `None`: look it up in the conversation list.
    pub kind: Option<ChatType>,
    /// The message's id.
    pub message: String,
    /// Where to save: a file that must not exist, or a directory.
    pub output: Option<PathBuf>,
    /// The thumbnail instead of the file.
    pub thumbnail: bool,
}

/// Finds a message with an attachment by id, newest first, over pages of attachments only.
async fn find_message(client: &Client, id: &str, kind: ChatType, wanted: u64) -> Result<Message> {
    let mut cursor: Option<String> = None;
    let limits = PageLimits {
        max_pages: MAX_SEARCH_PAGES,
        max_empty_pages: 20,
    };
    let mut walk = PageWalk::starting_at(limits, None);
    loop {
        let query = HistoryQuery {
            conversation: id.to_string(),
            kind,
            cursor: cursor.clone(),
            page_size: 50,
            direction: Direction::Up,
            filters: HistoryFilters {
                types: FILE_KINDS.iter().map(|k| (*k).to_string()).collect(),
                ..HistoryFilters::default()
            },
        };
        let page = client
            .history(&query)
            .await
            .with_context(|| format!("cannot read the history of {}", text::one_line(id, 64)))?;
        if let Some(found) = page.messages.iter().find(|m| m.id == wanted) {
            return Ok(found.clone());
        }
        let next = page.next_cursor.filter(|_| !page.is_last);
        if walk.step(page.messages.len(), next.as_deref()).is_err() || next.is_none() {
            bail!(
                "no message {wanted} with an attachment in {}",
                text::one_line(id, 64)
            );
        }
        cursor = next;
    }
}

/// A progress bar over the file's bytes, on stderr when it is a terminal.
fn progress_bar(name: &str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(text::one_line(name, 40));
    bar
}

/// `roam download ID MSG_ID [-o PATH]`.
pub fn download(connection: Connection, options: DownloadCommand) -> Result<()> {
    let config = load_config()?;
    let wanted: u64 = options.message.trim().parse().with_context(|| {
        format!(
            "message id {:?} is not a decimal number",
            text::one_line(&options.message, 40)
        )
    })?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let session = session::connect(connection, &config).await?;
        let client = &session.client;
        let kind = conversation_kind(client, &options.id, options.kind).await?;
        let message = find_message(client, &options.id, kind, wanted).await?;
        let Some(file) = message.content.attachment() else {
            bail!("message {wanted} has no attachment");
        };
        let file = match (&message.content, options.thumbnail) {
            (
                crate::protocol::Content::Video {
                    thumb: Some(thumb),
                    thumb_secret,
                    ..
                },
                true,
            ) => crate::protocol::Attachment {
                url: thumb.clone(),
                secret: thumb_secret.clone(),
                filename: format!("{}.thumbnail", file.filename),
                file_length: None,
            },
            _ => file.clone(),
        };
        let default_dir;
        let to = match &options.output {
            Some(path) if path.is_dir() => SaveTo::Dir(path),
            Some(path) => SaveTo::Path(path),
            None => {
                default_dir = downloads_dir(config.downloads_dir.as_deref());
                std::fs::create_dir_all(&default_dir).with_context(|| {
                    format!(
                        "cannot create the downloads directory {}",
                        default_dir.display()
                    )
                })?;
                SaveTo::Dir(&default_dir)
            }
        };
        let (cancel, cancelled) = watch::channel(false);
        let download_options = DownloadOptions {
            thumbnail: options.thumbnail
                && !matches!(message.content, crate::protocol::Content::Video { .. }),
            cancel: Some(cancelled),
            ..DownloadOptions::default()
        };
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = cancel.send(true);
            }
        });
        let bar = progress_bar(&file.filename);
        let mut show = |p: Progress| {
            if let Some(total) = p.total {
                bar.set_length(total);
            }
            bar.set_position(p.received);
        };
        let saved = client
            .download_to(&file, to, &download_options, &mut show)
            .await;
        bar.finish_and_clear();
        match saved {
            Ok(path) => {
                println!("{}", text::one_line(&path.display().to_string(), 4096));
                Ok(())
            }
            Err(DownloadError::Expired) => bail!(
                "{} has expired on the server (the service keeps attachments 7 days by default)",
                text::one_line(&file.filename, 120)
            ),
            Err(e) => Err(e).context("download failed"),
        }
    })
}
