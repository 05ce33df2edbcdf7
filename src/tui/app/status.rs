//! The status line: what failed (with the retry key), where a search is, what runs in
//! the background, the last note, and how much of the open conversation is loaded.

use super::App;
use crate::tui::action::Action;
use crate::tui::history::History;
use crate::tui::numbers::thousands;

impl App {
    /// The status line: errors with the retry key, search position or progress, notes,
    /// and how much of the open conversation is loaded.
    pub fn status_line(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(choice) = &self.link_choice {
            parts.push(choice.question());
        }
        self.problems(&mut parts);
        self.search_status(&mut parts);
        self.activities(&mut parts);
        if let Some(n) = &self.note {
            parts.push(n.clone());
        } else if !self.mouse_capture {
            let key = self.key_hint(Action::ToggleMouse);
            parts.push(if key.is_empty() {
                "mouse off".to_string()
            } else {
                format!("mouse off ({key})")
            });
        }
        self.loaded_status(&mut parts);
        parts.join(" · ")
    }

    /// What failed, with the retry key.
    fn problems(&self, parts: &mut Vec<String>) {
        if let Some(e) = self.current_history().and_then(History::error) {
            parts.push(format!("{}{}", e.description, self.retry_hint()));
        } else if let Some((e, _)) = &self.list.error {
            parts.push(format!(
                "conversation list: {}{}",
                e.description,
                self.retry_hint()
            ));
        } else if let Some(stop) = &self.list.stopped {
            parts.push(format!("conversation list incomplete: {stop}"));
        }
    }

    /// Where the search in the loaded history is, and who wrote the current match.
    fn search_status(&self, parts: &mut Vec<String>) {
        if let Some(s) = self.search() {
            if let Some(e) = s.error() {
                parts.push(format!("regex: {e}"));
            } else if let Some(pages) = s.continuing() {
                parts.push(format!(
                    "searching older history… {pages} page{} (Esc stops)",
                    if pages == 1 { "" } else { "s" }
                ));
            } else {
                let p = s.position();
                // Who wrote the current match, by name.
                let from = s
                    .current_hit()
                    .zip(self.current_history())
                    .and_then(|((pos, _), h)| h.sender(h.index_of_position(pos)?));
                match from {
                    Some(from) if !p.is_empty() => {
                        parts.push(format!("{p} · from {}", self.sender_label(from, 24)));
                    }
                    _ if !p.is_empty() => parts.push(p),
                    _ => {}
                }
            }
        }
    }

    /// What runs in the background: paging toward the unread divider, a download, a sync.
    fn activities(&self, parts: &mut Vec<String>) {
        if let Some(p) = self.unread_progress() {
            parts.push(p);
        }
        if let Some(run) = &self.download {
            let stop = self.key_hint(Action::Cancel);
            parts.push(format!("{} · {stop} stops", run.status()));
        }
        if let Some(p) = self.sync_status() {
            parts.push(p);
        }
    }

    /// How much of the open conversation is loaded, or how the list is.
    fn loaded_status(&self, parts: &mut Vec<String>) {
        if let Some(h) = self.current_history() {
            let n = thousands(h.len());
            let left_out = self
                .open
                .as_ref()
                .and_then(|k| self.undecodable.get(k))
                .copied()
                .unwrap_or(0);
            let whole = h.at_beginning() && h.at_newest();
            let library_ends = self
                .open
                .as_ref()
                .is_some_and(|k| self.library_ends.contains(k));
            parts.push(if whole && library_ends {
                format!("all {n} the library holds loaded")
            } else if whole && left_out == 0 {
                format!("all {n} loaded")
            } else if whole {
                format!("{n} loaded")
            } else if h.is_empty() {
                "loading…".to_string()
            } else {
                format!("{n} messages loaded · more on server")
            });
            // Not "all loaded" when some entries could not be read: say how many.
            if left_out > 0 {
                parts.push(format!(
                    "{} entr{} could not be decoded",
                    thousands(usize::try_from(left_out).unwrap_or(usize::MAX)),
                    if left_out == 1 { "y" } else { "ies" }
                ));
            }
        } else if self.list_loading() {
            parts.push("loading conversations…".to_string());
        } else if self.list.complete && self.conversations.is_empty() {
            parts.push("no conversations".to_string());
        }
    }

    /// The first key bound to `action` where the person is: what hints name.
    pub fn key_hint(&self, action: Action) -> String {
        let keys = self.keymap.keys_for(self.mode().browsing(), action);
        keys.split(' ').next().unwrap_or_default().to_string()
    }

    /// ` — press R to retry`, with the key the keymap has (nothing when none is bound).
    pub(super) fn retry_hint(&self) -> String {
        match self.key_hint(Action::Retry) {
            k if k.is_empty() => String::new(),
            k => format!(" — press {k} to retry"),
        }
    }
}
