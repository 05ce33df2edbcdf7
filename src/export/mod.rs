//! Export: conversations of a store written as one file, in one of three formats:
//! - [`jsonl`]: the service's export format (PROTOCOL.md §3.3), which `roam import` reads
//!   back exactly;
//! - [`markdown`]: for reading, with a heading per conversation and per day, and names;
//! - [`html`]: one self-contained page (no external resources, no script but roam's own
//!   find box), with a table of contents and day headings.
//!
//! What to export is a [`Plan`]: conversations (by name, as search names them), a time
//! range, and for an incremental export ([`since_last`]) where the previous one stopped in
//! each conversation. Conversations are written one after the other, each oldest first.

pub mod html;
pub mod jsonl;
pub mod markdown;
pub mod since_last;

use std::collections::HashMap;
use std::io::Write;

use jiff::tz::TimeZone;

use crate::protocol::{ChatType, Content, Message};
use crate::store::export::{MessageRange, StoredConversation, StoredMessage};
use crate::store::{Store, StoreError};
use crate::tui::display;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The output could not be written.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    /// The incremental export's state file could not be read or written.
    #[error("export state {path}: {reason}")]
    State {
        /// The state file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The service's JSON Lines export format.
    Jsonl,
    /// Markdown for reading.
    Markdown,
    /// One self-contained HTML page.
    Html,
}

impl Format {
    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }
}

/// One conversation to export.
#[derive(Clone, Debug)]
pub struct Part {
    /// The conversation.
    pub conversation: StoredConversation,
    /// Which of its messages.
    pub range: MessageRange,
}

/// What to export.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// The conversations, in this order.
    pub parts: Vec<Part>,
    /// The zone day headings and times are in (markdown, html).
    pub zone: Option<TimeZone>,
    /// The user the export is for, when one: single chats are titled by the peer.
    pub user: Option<String>,
}

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Messages written.
    pub messages: u64,
    /// Conversations with at least one message written.
    pub conversations: u64,
    /// The newest message written in each conversation: (time, id), by name.
    pub newest: HashMap<String, (i64, u64)>,
}

impl Summary {
    fn count(&mut self, conversation: &str, m: &StoredMessage<'_>) {
        self.messages += 1;
        let entry = self
            .newest
            .entry(conversation.to_string())
            .or_insert((i64::MIN, 0));
        if entry.0 == i64::MIN {
            self.conversations += 1;
        }
        *entry = (*entry).max((m.time, m.id));
    }
}

/// Writes the plan in `format` to `out`.
pub fn export(
    store: &Store,
    plan: &Plan,
    format: Format,
    out: &mut impl Write,
) -> Result<Summary, ExportError> {
    match format {
        Format::Jsonl => jsonl::write(store, plan, out),
        Format::Markdown => markdown::write(store, plan, out),
        Format::Html => html::write(store, plan, out),
    }
}

/// Names for people: nicknames and conversation titles, from the store.
pub(crate) struct Labels {
    nicknames: HashMap<String, String>,
    titles: HashMap<String, String>,
    user: Option<String>,
}

impl Labels {
    /// The names the store holds for the plan's people and conversations.
    pub(crate) fn new(store: &Store, plan: &Plan) -> Result<Labels, ExportError> {
        let nicknames = store.all_nicknames()?;
        let groups: Vec<String> = plan
            .parts
            .iter()
            .filter(|p| p.conversation.kind == ChatType::Group)
            .map(|p| p.conversation.name.clone())
            .collect();
        let mut titles: HashMap<String, String> = store
            .group_details(None, &groups)?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        for p in plan
            .parts
            .iter()
            .filter(|p| p.conversation.kind == ChatType::Room)
        {
            if let Some(d) = store.room_details(&p.conversation.name)? {
                titles.insert(d.id, d.name);
            }
        }
        titles.retain(|_, t| !t.is_empty());
        Ok(Labels {
            nicknames,
            titles,
            user: plan.user.as_ref().map(|u| u.to_ascii_lowercase()),
        })
    }

    /// A user: `nickname (id)`, or the id.
    pub(crate) fn user(&self, id: &str) -> String {
        match self.nicknames.get(id) {
            Some(nick) => format!("{nick} ({id})"),
            None => id.to_string(),
        }
    }

    /// A conversation's title: the group's or room's name and id, or the single chat's
    /// two people (the peer alone when exporting for a user).
    pub(crate) fn title(&self, c: &StoredConversation) -> String {
        match c.kind {
            ChatType::Single => {
                let (a, b) = c.name.split_once('|').unwrap_or((&c.name, ""));
                match self.user.as_deref() {
                    Some(me) if me == a => self.user(b),
                    Some(me) if me == b => self.user(a),
                    _ => format!("{} ↔ {}", self.user(a), self.user(b)),
                }
            }
            ChatType::Group | ChatType::Room => match self.titles.get(&c.name) {
                Some(t) => format!("{t} ({})", c.name),
                None => c.name.clone(),
            },
        }
    }
}

/// The kind of a conversation in words.
pub(crate) fn kind_word(kind: ChatType) -> &'static str {
    match kind {
        ChatType::Single => "chat",
        ChatType::Group => "group",
        ChatType::Room => "chat room",
    }
}

/// What a person reads of a message: a text as sent (control characters other than line
/// breaks and tabs left out), any other kind as its bracketed summary and file URL.
pub(crate) fn readable_body(m: &Message) -> String {
    match &m.content {
        Content::Text { text } => text
            .chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
            .collect(),
        _ => display::body(m),
    }
}

/// A stored message for reading; one whose stored form does not read says so.
pub(crate) fn readable(m: &StoredMessage<'_>) -> String {
    match m.message() {
        Ok(message) => readable_body(&message),
        Err(_) => "[a message roam cannot read]".to_string(),
    }
}

/// A time's day and clock in `zone`: (`2025-06-29 Sunday`, `16:41`).
pub(crate) fn day_and_clock(time: i64, zone: &TimeZone) -> (String, String) {
    match jiff::Timestamp::from_millisecond(time) {
        Ok(t) => {
            let z = t.to_zoned(zone.clone());
            (
                z.strftime("%Y-%m-%d %A").to_string(),
                z.strftime("%H:%M").to_string(),
            )
        }
        Err(_) => ("unknown day".to_string(), String::new()),
    }
}

/// The zone of a plan: its own, or the system's.
pub(crate) fn zone_of(plan: &Plan) -> TimeZone {
    plan.zone.clone().unwrap_or_else(TimeZone::system)
}
