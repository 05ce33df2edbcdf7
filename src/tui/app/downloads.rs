//! Downloading the selected message's attachment into the downloads directory: one
//! download at a time, its progress in the status line, Esc or Ctrl-c stops it, and how
//! it ended as a note. The fetch task does the work ([`FetchRequest::Download`]); the
//! file's name is made safe there ([`crate::downloads`]).

use std::path::{Path, PathBuf};

use super::{App, Effect, FetchRequest};
use crate::tui::event::DownloadOutcome;
use crate::tui::numbers::human_size;
use crate::tui::text;

/// The most columns a file name takes in the status line.
const NAME_WIDTH: usize = 40;

/// The download that runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadRun {
    request_id: u64,
    /// The attachment's file name, for the status line (sanitized, one line).
    name: String,
    received: u64,
    total: Option<u64>,
}

impl DownloadRun {
    /// What the status line says about it: `downloading a.pdf 45% · 9.4 MB of 21 MB`.
    pub fn status(&self) -> String {
        match self.total.filter(|t| *t > 0) {
            Some(total) => format!(
                "downloading {} {}% · {} of {}",
                self.name,
                (self.received.min(total) * 100) / total,
                human_size(self.received),
                human_size(total)
            ),
            None => format!("downloading {} · {}", self.name, human_size(self.received)),
        }
    }
}

impl App {
    /// Where downloads go.
    pub fn downloads_dir(&self) -> &Path {
        &self.downloads_dir
    }

    /// Downloads go into `dir` (the config's `downloads_dir`, else the system's).
    pub fn set_downloads_dir(&mut self, dir: PathBuf) {
        self.downloads_dir = dir;
    }

    /// The download that runs, if one does.
    pub fn download(&self) -> Option<&DownloadRun> {
        self.download.as_ref()
    }

    /// Downloads the selected message's attachment (selecting the newest message in view
    /// first when none is).
    pub(super) fn start_download(&mut self, fx: &mut Vec<Effect>) {
        if let Some(run) = &self.download {
            let stop = self.key_hint(crate::tui::action::Action::Cancel);
            self.note = Some(format!(
                "{} is still downloading · {stop} stops it",
                run.name
            ));
            return;
        }
        let Some(msg) = self.selected_message() else {
            self.note = Some("no message to download from".into());
            return;
        };
        let Some(file) = msg.content.attachment().filter(|a| !a.url.is_empty()) else {
            self.note = Some("this message has no attachment".into());
            return;
        };
        let request_id = self.next_id();
        self.download = Some(DownloadRun {
            request_id,
            name: text::one_line(&file.filename, NAME_WIDTH),
            received: 0,
            total: file.file_length,
        });
        fx.push(Effect::Fetch(FetchRequest::Download {
            request_id,
            file: file.clone(),
            dir: self.downloads_dir.clone(),
        }));
    }

    /// Stops the download that runs; false when none does.
    pub(super) fn cancel_download(&mut self, fx: &mut Vec<Effect>) -> bool {
        let Some(run) = self.download.take() else {
            return false;
        };
        fx.push(Effect::Fetch(FetchRequest::CancelDownload {
            request_id: run.request_id,
        }));
        self.note = Some(format!("download of {} stopped", run.name));
        true
    }

    /// Bytes arrived.
    pub(super) fn on_download_progress(
        &mut self,
        request_id: u64,
        received: u64,
        total: Option<u64>,
    ) {
        if let Some(run) = self
            .download
            .as_mut()
            .filter(|r| r.request_id == request_id)
        {
            run.received = received;
            run.total = total.or(run.total);
        }
    }

    /// The download ended: where the file is, or why there is none.
    pub(super) fn on_downloaded(&mut self, request_id: u64, outcome: DownloadOutcome) {
        let Some(run) = self.download.take_if(|r| r.request_id == request_id) else {
            // Stopped by the person already (the note says so), or never asked.
            return;
        };
        self.note = Some(match outcome {
            DownloadOutcome::Saved(path) => {
                format!("saved {}", text::one_line(&path.display().to_string(), 512))
            }
            DownloadOutcome::Expired => format!(
                "{} expired on the server (the service keeps attachments 7 days by default)",
                run.name
            ),
            DownloadOutcome::Cancelled => format!("download of {} stopped", run.name),
            DownloadOutcome::Failed(e) => format!(
                "download of {} failed: {}",
                run.name,
                text::one_line(&e.description, 200)
            ),
        });
    }
}
