//! Syncing the open conversation to its beginning in the background (`s`): the fetch task
//! walks it ([`FetchRequest::Sync`]), the status line shows how far it got, Esc stops it,
//! and a note says how it ended. One sync runs at a time; browsing goes on meanwhile.

use super::{App, Effect, FetchRequest};
use crate::tui::display;
use crate::tui::event::{ConversationKey, SyncEnd, SyncProgress};
use crate::tui::numbers::thousands;

/// A sync running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Syncing {
    request_id: u64,
    key: ConversationKey,
    progress: SyncProgress,
}

impl App {
    /// A sync is running.
    pub fn sync_running(&self) -> bool {
        self.syncing.is_some()
    }

    /// `s`: starts syncing the open conversation.
    pub(super) fn start_sync(&mut self, fx: &mut Vec<Effect>) {
        if let Some(s) = &self.syncing {
            let label = self.conversation_label(&s.key, 32);
            self.note = Some(format!("already syncing {label} (Esc stops)"));
            return;
        }
        let Some(key) = self.open.clone() else {
            self.note = Some("open a conversation to sync it".into());
            return;
        };
        let request_id = self.next_id();
        fx.push(Effect::Fetch(FetchRequest::Sync {
            request_id,
            conversation: key.clone(),
        }));
        self.syncing = Some(Syncing {
            request_id,
            key,
            progress: SyncProgress::default(),
        });
    }

    /// Stops the sync running; true when one was.
    pub(super) fn stop_sync(&mut self, fx: &mut Vec<Effect>) -> bool {
        let Some(s) = self.syncing.take() else {
            return false;
        };
        fx.push(Effect::Fetch(FetchRequest::StopSync {
            request_id: s.request_id,
        }));
        let label = self.conversation_label(&s.key, 32);
        self.note = Some(format!(
            "sync of {label} stopped after {} messages (what was kept stays kept)",
            thousands(usize::try_from(s.progress.messages).unwrap_or(usize::MAX))
        ));
        true
    }

    /// How the sync goes, from the fetch task.
    pub(super) fn on_sync(&mut self, request_id: u64, progress: SyncProgress) {
        let Some(s) = self.syncing.as_mut().filter(|s| s.request_id == request_id) else {
            return;
        };
        s.progress = progress.clone();
        let key = s.key.clone();
        let Some(ended) = progress.ended else {
            return;
        };
        let label = self.conversation_label(&key, 32);
        let messages = thousands(usize::try_from(progress.messages).unwrap_or(usize::MAX));
        self.note = Some(match ended {
            SyncEnd::Beginning => {
                format!("{label} is in the library to its beginning: {messages} messages")
            }
            SyncEnd::Failed(why) => format!("sync of {label} stopped: {why}"),
        });
        self.syncing = None;
    }

    /// The status line's word on the sync running.
    pub(super) fn sync_status(&self) -> Option<String> {
        let s = self.syncing.as_ref()?;
        let label = self.conversation_label(&s.key, 24);
        let messages = thousands(usize::try_from(s.progress.messages).unwrap_or(usize::MAX));
        let back_to = s
            .progress
            .oldest
            .map(|t| format!(", back to {}", display::date_time(t, &self.tz)))
            .unwrap_or_default();
        Some(format!(
            "syncing {label}… {messages} messages{back_to} (Esc stops)"
        ))
    }
}
