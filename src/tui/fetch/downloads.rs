//! Downloads run by the fetch task: one sub-task each, cancellable by request id, with
//! their progress sent a few times a second rather than after every chunk (a fast
//! download would otherwise flood the event loop with frames nobody can read).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::Source;
use crate::client::Progress;
use crate::protocol::Attachment;
use crate::tui::event::{DownloadOutcome, Event};

/// The shortest time between two progress events of one download.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The cancel switches of the downloads that run, by request id.
#[derive(Default)]
pub(super) struct Running {
    cancels: HashMap<u64, watch::Sender<bool>>,
}

impl Running {
    /// A cancel switch for a new download. Switches of finished downloads (nobody holds
    /// their other end) are dropped here, so the map stays as small as what runs.
    pub(super) fn start(&mut self, request_id: u64) -> watch::Receiver<bool> {
        self.cancels.retain(|_, tx| !tx.is_closed());
        let (tx, rx) = watch::channel(false);
        self.cancels.insert(request_id, tx);
        rx
    }

    /// Stops the download `request_id`, if it still runs.
    pub(super) fn cancel(&mut self, request_id: u64) {
        if let Some(tx) = self.cancels.remove(&request_id) {
            let _ = tx.send(true);
        }
    }
}

/// Runs one download and sends its progress and its end as events.
pub(super) async fn run<S: Source>(
    source: &S,
    request_id: u64,
    file: Attachment,
    dir: PathBuf,
    cancel: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<Event>,
) {
    let progress_events = events.clone();
    let mut last: Option<Instant> = None;
    let progress = Box::new(move |p: Progress| {
        let due = last.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY);
        if due {
            last = Some(Instant::now());
            let _ = progress_events.send(Event::DownloadProgress {
                request_id,
                received: p.received,
                total: p.total,
            });
        }
    });
    let outcome: DownloadOutcome = source.download(file, dir, cancel, progress).await;
    let _ = events.send(Event::Downloaded {
        request_id,
        outcome,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ConversationPage, HistoryPage, HistoryQuery};
    use crate::tui::event::FetchRequest;
    use crate::tui::fetch::{FetchError, spawn};

    /// Sends a thousand chunks as fast as it can, then waits to be cancelled.
    struct Endless;

    impl Source for Endless {
        async fn conversation_page(&self, _: &str, _: u32) -> Result<ConversationPage, FetchError> {
            Err(FetchError::new("not here", false))
        }

        async fn history(&self, _: HistoryQuery) -> Result<HistoryPage, FetchError> {
            Err(FetchError::new("not here", false))
        }

        async fn download(
            &self,
            _: Attachment,
            _: PathBuf,
            mut cancel: watch::Receiver<bool>,
            mut progress: Box<dyn FnMut(Progress) + Send>,
        ) -> DownloadOutcome {
            for i in 1..=1000 {
                progress(Progress {
                    received: i * 1024,
                    total: None,
                });
            }
            match cancel.wait_for(|c| *c).await {
                Ok(_) => DownloadOutcome::Cancelled,
                Err(_) => DownloadOutcome::Failed(FetchError::new("nobody cancels", false)),
            }
        }
    }

    #[tokio::test]
    async fn progress_is_throttled_and_a_cancel_ends_the_download() {
        let mut fetch = spawn(Endless);
        assert!(fetch.send(FetchRequest::Download {
            request_id: 7,
            file: Attachment::default(),
            dir: PathBuf::from("."),
        }));
        let first = fetch.events.recv().await.expect("progress");
        assert_eq!(
            first,
            Event::DownloadProgress {
                request_id: 7,
                received: 1024,
                total: None
            }
        );
        assert!(fetch.send(FetchRequest::CancelDownload { request_id: 7 }));
        let mut progress_events = 1;
        let end = loop {
            match tokio::time::timeout(Duration::from_secs(10), fetch.events.recv()).await {
                Ok(Some(Event::DownloadProgress { .. })) => progress_events += 1,
                Ok(Some(event)) => break event,
                other => panic!("no end of the download: {other:?}"),
            }
        };
        assert_eq!(
            end,
            Event::Downloaded {
                request_id: 7,
                outcome: DownloadOutcome::Cancelled
            }
        );
        // A thousand chunks within far less than 100 ms make one event, not a thousand.
        assert!(progress_events < 10, "{progress_events} progress events");
    }
}
