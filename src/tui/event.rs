//! The messages between the parts of the browser: what happens ([`Event`]), what must be
//! done ([`Effect`]), what the fetch task is asked ([`FetchRequest`]), and the key that names
//! a conversation ([`ConversationKey`]).
//!
//! They live here, apart from the state machine, so the window ([`history`](super::history)),
//! the search ([`search`](super::search)), the fetch task and the state machine
//! ([`app`](super::app)) share them without importing each other in a circle.

use std::path::PathBuf;

use crossterm::event::{KeyEvent, MouseEvent};

use super::action::Action;
use super::picture::Picture;

use crate::names_cache::{NameEntry, NameKey};
use crate::protocol::{
    Attachment, ChatType, Conversation, ConversationPage, HistoryPage, HistoryQuery,
};

/// Which conversation: the id alone is ambiguous, since a user and a group may share one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConversationKey {
    /// The peer user, group or room id.
    pub id: String,
    /// Single, group or room.
    pub kind: ChatType,
}

impl ConversationKey {
    /// The key of the conversation a history query asks about.
    pub fn of_query(q: &HistoryQuery) -> ConversationKey {
        ConversationKey {
            id: q.conversation.clone(),
            kind: q.kind,
        }
    }

    /// The key of the conversation a search hit is in.
    pub fn of_hit(hit: &FoundMessage) -> ConversationKey {
        ConversationKey {
            id: hit.conversation.clone(),
            kind: hit.kind,
        }
    }

    /// The key of a conversation in the list.
    pub fn of(c: &Conversation) -> ConversationKey {
        ConversationKey {
            id: c.id.clone(),
            kind: c.kind,
        }
    }
}

/// Why a fetch failed, as the person should read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError {
    /// The server's `error_description`, or what went wrong on the way.
    pub description: String,
    /// Trying again may work (timeouts, 429, 5xx). Retrying is always the person's call
    /// (R); this only changes the wording.
    pub retryable: bool,
}

impl FetchError {
    /// An error with this description.
    pub fn new(description: impl Into<String>, retryable: bool) -> FetchError {
        FetchError {
            description: description.into(),
            retryable,
        }
    }
}

/// Something that happened, for [`App::update`].
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A key press (releases are ignored): the keymap turns it into an action.
    Key(KeyEvent),
    /// An action, as if its key had been pressed.
    Action(Action),
    /// A mouse event: wheel and left click are used.
    Mouse(MouseEvent),
    /// The terminal's new size, columns × rows.
    Resize(u16, u16),
    /// The answer to [`FetchRequest::ConversationPage`].
    ConversationPage {
        /// The request's id.
        request_id: u64,
        /// The page or why not.
        result: Result<ConversationPage, FetchError>,
    },
    /// The answer to [`FetchRequest::History`].
    HistoryPage {
        /// The conversation it was asked for.
        conversation: ConversationKey,
        /// The request's id: it finds the window waiting for it.
        request_id: u64,
        /// The page (messages in the order of the request's direction) or why not.
        result: Result<HistoryPage, FetchError>,
    },
    /// The answer to [`FetchRequest::Names`]: never an error as a whole, since a name that
    /// cannot be had is shown as its id.
    Names {
        /// The request's id.
        request_id: u64,
        /// The names found, from the disk cache or the server; a `None` name: the server
        /// has none.
        names: Vec<NameEntry>,
        /// The ids whose names could not be fetched (logged by the fetch task).
        failed: Vec<NameKey>,
    },
    /// How far the download [`FetchRequest::Download`] is: sent at most a few times a
    /// second.
    DownloadProgress {
        /// The request's id.
        request_id: u64,
        /// Bytes received so far.
        received: u64,
        /// The whole length, when the server announced it.
        total: Option<u64>,
    },
    /// The end of the download [`FetchRequest::Download`].
    Downloaded {
        /// The request's id.
        request_id: u64,
        /// Where the file is, or why there is none.
        outcome: DownloadOutcome,
    },
    /// The answer to [`FetchRequest::Picture`]: the picture encoded for the terminal, or
    /// why it cannot be shown.
    Picture {
        /// The request's id.
        request_id: u64,
        /// The picture, or the reason in the person's words.
        result: Result<Picture, String>,
    },
    /// The terminal or the system could not do what an effect asked (no program to open
    /// links with, say): shown as a note.
    HostFailed(String),
    /// The answer to [`FetchRequest::SearchAll`].
    SearchAll {
        /// The request's id: only the search still waiting takes it.
        request_id: u64,
        /// The hits, newest first, or why not.
        result: Result<FoundPage, FetchError>,
    },
    /// The history of this conversation comes from a library (offline) that does not hold
    /// it from its beginning: the oldest message there is where the library's copy ends,
    /// not where the conversation begins.
    LibraryEnds {
        /// The conversation.
        conversation: ConversationKey,
    },
    /// How a [`FetchRequest::Sync`] goes: sent every few pages and once when it ends.
    Sync {
        /// The sync's request id.
        request_id: u64,
        /// How far it got.
        progress: SyncProgress,
    },
    /// Show the open conversation at this time (ms): the first message at or after it at
    /// the top of the pane, marked.
    JumpTo(i64),
    /// The render tick: animations, and the wall clock the state reads times against.
    Tick {
        /// Now, in milliseconds since the epoch (UTC).
        now_ms: i64,
    },
}

/// Something the event loop must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send this request to the fetch task.
    Fetch(FetchRequest),
    /// Restore the terminal and exit.
    Quit,
    /// Restore the terminal and stop the process until it is continued (`fg`), then draw
    /// again.
    Suspend,
    /// Put this text on the system clipboard through the terminal (OSC 52). Already
    /// sanitized and capped by the state.
    Copy(String),
    /// Turn mouse reporting (clicks and the wheel) on or off.
    MouseCapture(bool),
    /// Remember `[display] key = value` in the config file (the layout key's choice).
    RememberSetting {
        /// The setting's name in `[display]`.
        key: &'static str,
        /// Its value.
        value: String,
    },
    /// Open this link with the system's opener. Already checked ([`crate::links`]) and
    /// confirmed by the person.
    OpenLink(String),
}

/// How a download ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownloadOutcome {
    /// Complete, at this path.
    Saved(PathBuf),
    /// The server no longer holds the file (the service deletes attachments after 7 days
    /// by default): not a failure of anyone's.
    Expired,
    /// Stopped by the person.
    Cancelled,
    /// Refused or broken on the way.
    Failed(FetchError),
}

/// A request for the fetch task; its answer comes back as an [`Event`] with the same id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchRequest {
    /// A page of the conversation list (cursor list API, [`LIST_PAGE_SIZE`](super::app::LIST_PAGE_SIZE) per page).
    ConversationPage {
        /// `None` = the first page.
        cursor: Option<String>,
        /// Echo in [`Event::ConversationPage`].
        request_id: u64,
    },
    /// A page of a conversation's history, either way, with its filters.
    History {
        /// What to ask for.
        query: HistoryQuery,
        /// Echo in [`Event::HistoryPage`].
        request_id: u64,
        /// A step of a walk through history: the fetch task asks for the next page as
        /// soon as this one is in, so it is on its way before the state asks for it.
        read_ahead: bool,
    },
    /// The names of users, groups and rooms on screen: from the disk cache when it has a
    /// fresh one, else from the server, batched by kind.
    Names {
        /// Echo in [`Event::Names`].
        request_id: u64,
        /// Whose names, each once.
        ids: Vec<NameKey>,
        /// Skip the disk cache: `r` asks the server again.
        refresh: bool,
    },
    /// Download a message's attachment into `dir`, under a safe name that never overwrites
    /// ([`crate::downloads`]); progress comes back as [`Event::DownloadProgress`], the end
    /// as [`Event::Downloaded`].
    Download {
        /// Echo in the answers.
        request_id: u64,
        /// The message's attachment.
        file: Attachment,
        /// The downloads directory (created when missing).
        dir: PathBuf,
    },
    /// A message's picture for the details panel, fetched (or read from the cache),
    /// decoded and encoded to fit `fits` (columns, rows) off the UI thread.
    Picture {
        /// Echo in [`Event::Picture`].
        request_id: u64,
        /// The picture's file.
        file: Attachment,
        /// Ask for the server's thumbnail of it (a picture too large to fetch whole).
        thumbnail: bool,
        /// The box of cells it must fit.
        fits: (u16, u16),
    },
    /// Stop the download with this request id; it ends as [`DownloadOutcome::Cancelled`].
    CancelDownload {
        /// The download's request id.
        request_id: u64,
    },
    /// A page of hits of a search across every conversation in the library (the demo's
    /// store in the demo), newest first.
    SearchAll {
        /// Echo in [`Event::SearchAll`].
        request_id: u64,
        /// What was typed.
        text: String,
        /// `text` is a regular expression.
        regex: bool,
        /// Where the page starts: `None` for the newest hits, else the previous page's
        /// [`FoundPage::next`].
        cursor: Option<i64>,
    },
    /// Keep a conversation in the library back to its beginning, in the background: every
    /// page from the newest back, those the library holds read from it, the others asked
    /// of the server (paced) and kept. Answered by [`Event::Sync`] as it goes.
    Sync {
        /// Echo in [`Event::Sync`]; also what [`FetchRequest::StopSync`] names.
        request_id: u64,
        /// The conversation.
        conversation: ConversationKey,
    },
    /// Stop the sync started by request `request_id` (what was kept stays kept).
    StopSync {
        /// The sync's request id.
        request_id: u64,
    },
}

/// How far a sync of one conversation got.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncProgress {
    /// Pages read (from the library where it holds them, else from the server).
    pub pages: u64,
    /// Messages in them.
    pub messages: u64,
    /// The time of the oldest message reached (ms).
    pub oldest: Option<i64>,
    /// `None` while it runs; then how it ended.
    pub ended: Option<SyncEnd>,
}

/// How a sync ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncEnd {
    /// The library holds the conversation from its beginning to where the sync started.
    Beginning,
    /// It stopped early: why.
    Failed(String),
}

/// One message a search across every conversation found, and a page of them, newest
/// first: the library's own (its snippet is untrusted, drawn only through
/// [`text`](super::text)).
pub use crate::library::search::{Found as FoundMessage, FoundPage};
