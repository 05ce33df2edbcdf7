//! Incremental export (`--since-last`): where the previous export to the same file stopped
//! in each conversation, kept beside that file as `FILE.roam-export.json`:
//!
//! ```json
//! {"format": "jsonl", "conversations": {"team": {"time": 1751215305194, "id": "1100710158357274624"}}}
//! ```
//!
//! The next incremental export to that file writes only messages after those marks (by
//! time, then id) and appends them, so the file grows into the whole history. A message
//! that reaches the store later with an older time than its conversation's mark (history
//! fetched backwards) is not picked up by an incremental export: export again without
//! `--since-last` for that. The state is beside the file rather than in the store, so the
//! store is only ever read, and moving the file with its state keeps the series going.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ExportError, Format, Summary};

/// Where a conversation's last export stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// The newest exported message's time (ms).
    pub time: i64,
    /// Its id, as a decimal string.
    pub id: String,
}

/// The state of a series of incremental exports to one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportState {
    /// The format of the file: later exports must append the same.
    pub format: String,
    /// Marks by conversation name.
    pub conversations: BTreeMap<String, Mark>,
}

/// The state file of an export file.
pub fn state_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".roam-export.json");
    PathBuf::from(name)
}

impl ExportState {
    /// The state beside `output`; a new one (everything is new) when there is none yet.
    /// One written for another format is an error: the file cannot mix them.
    pub fn load(output: &Path, format: Format) -> Result<ExportState, ExportError> {
        let path = state_path(output);
        let error = |reason: String| ExportError::State {
            path: path.clone(),
            reason,
        };
        let state = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str::<ExportState>(&text).map_err(|e| {
                error(format!(
                    "unreadable ({e}); remove it to export everything again"
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ExportState {
                format: format.name().to_string(),
                conversations: BTreeMap::new(),
            },
            Err(e) => return Err(error(e.to_string())),
        };
        if state.format != format.name() {
            return Err(error(format!(
                "the file holds a {} export; --since-last appends the same format",
                state.format
            )));
        }
        Ok(state)
    }

    /// Where the previous export of a conversation stopped.
    pub fn after(&self, conversation: &str) -> Option<(i64, u64)> {
        let mark = self.conversations.get(conversation)?;
        Some((mark.time, mark.id.parse().ok()?))
    }

    /// Moves the marks past what an export wrote.
    pub fn advance(&mut self, summary: &Summary) {
        for (conversation, &(time, id)) in &summary.newest {
            let newer = self.after(conversation).is_none_or(|old| old < (time, id));
            if newer {
                self.conversations.insert(
                    conversation.clone(),
                    Mark {
                        time,
                        id: id.to_string(),
                    },
                );
            }
        }
    }

    /// Writes the state beside `output` (whole, then renamed into place).
    pub fn save(&self, output: &Path) -> Result<(), ExportError> {
        let path = state_path(output);
        let error = |reason: String| ExportError::State {
            path: path.clone(),
            reason,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| error(e.to_string()))?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, text + "\n")
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                error(e.to_string())
            })
    }
}
