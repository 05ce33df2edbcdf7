//! Mirroring conversations into the library: only what is missing, resumable, idempotent.
//!
//! Each conversation is walked back from its newest message in unfiltered pages. A page
//! that runs into a stretch the library already holds completely merges with it, and the
//! walk jumps past that stretch to the cursor kept at its older end, so what is held is
//! never fetched again: a second sync of an unchanged conversation costs one page. The
//! walk ends at the beginning of the conversation, at `since`, or when the server's pages
//! stop going back in time (an error, so a broken server cannot keep it going forever).
//! Each page is written as it arrives: a sync killed at any point loses at most the page
//! in flight, and the next one continues from the runs.
//!
//! Limits: history requests are paced (10 a second unless told otherwise); the list is
//! read once per sync through the client, whose retry policy honours `429` and
//! `Retry-After` for both.

use std::time::Duration;

use tokio::time::Instant;

use super::runs::Key;
use super::{Library, LibraryError};
use crate::client::{Client, ClientError};
use crate::protocol::{ChatType, Conversation, Direction, HistoryFilters, HistoryQuery};

/// History requests a second when the person does not say.
pub const DEFAULT_RATE: f64 = 10.0;

/// Pages in a row without a message (the server filters events out of pages) before a walk
/// gives up on a conversation.
const MAX_EMPTY_PAGES: u32 = 20;

/// What to sync.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// The conversations to sync (ids as in the list); empty = every listed one.
    pub conversations: Vec<String>,
    /// Only messages at or after this time (ms) are wanted.
    pub since: Option<i64>,
    /// History requests per second; `None` = as fast as the server answers.
    pub rate: Option<f64>,
    /// Requests for one conversation at most: a server whose history never ends cannot
    /// keep a sync going.
    pub max_pages: u64,
}

/// [`SyncOptions::max_pages`] unless told otherwise: 50 million messages.
pub const DEFAULT_MAX_PAGES: u64 = 1_000_000;

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions {
            conversations: Vec::new(),
            since: None,
            rate: Some(DEFAULT_RATE),
            max_pages: DEFAULT_MAX_PAGES,
        }
    }
}

/// What went wrong with a sync as a whole (one conversation failing is in the summary).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The list could not be read.
    #[error("cannot read the conversation list: {0}")]
    List(#[source] ClientError),
    /// The library could not be written.
    #[error(transparent)]
    Library(#[from] LibraryError),
    /// A conversation asked for is not in the list.
    #[error("{0} is not in the conversation list")]
    NotListed(String),
}

/// How one conversation's sync ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Held from its beginning (or from `since`) to its newest message.
    Complete,
    /// Stopped early: the reason.
    Failed(String),
}

/// One conversation's part of a sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationSync {
    /// The conversation.
    pub id: String,
    /// Its kind.
    pub kind: ChatType,
    /// Requests made.
    pub pages: u64,
    /// Messages new to the library.
    pub new_messages: u64,
    /// How it ended.
    pub outcome: Outcome,
}

/// What a whole sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// Each conversation, in the order synced.
    pub conversations: Vec<ConversationSync>,
}

impl SyncSummary {
    /// Requests made for history.
    pub fn pages(&self) -> u64 {
        self.conversations.iter().map(|c| c.pages).sum()
    }

    /// Messages new to the library.
    pub fn new_messages(&self) -> u64 {
        self.conversations.iter().map(|c| c.new_messages).sum()
    }

    /// Conversations that stopped early.
    pub fn failed(&self) -> impl Iterator<Item = &ConversationSync> {
        self.conversations
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
    }
}

/// Told how a sync goes (the CLI draws progress bars from it).
pub trait Progress {
    /// The conversations about to be synced.
    fn started(&mut self, _conversations: &[Conversation]) {}
    /// A conversation's walk begins.
    fn conversation(&mut self, _conversation: &Conversation) {}
    /// A page was kept: its new messages, and the time of its oldest message.
    fn page(&mut self, _new_messages: usize, _oldest_time: Option<i64>) {}
    /// A conversation's walk ended.
    fn finished(&mut self, _result: &ConversationSync) {}
}

/// No progress shown.
impl Progress for () {}

/// Spaces requests `1 / rate` seconds apart.
struct Pace {
    gap: Option<Duration>,
    next: Instant,
}

impl Pace {
    fn new(rate: Option<f64>) -> Pace {
        let gap = rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r));
        Pace {
            gap,
            next: Instant::now(),
        }
    }

    async fn wait(&mut self) {
        let Some(gap) = self.gap else { return };
        tokio::time::sleep_until(self.next).await;
        self.next = Instant::now().max(self.next) + gap;
    }
}

/// Syncs the conversations `options` names (or all listed) into `library`.
pub async fn sync(
    client: &Client,
    library: &mut Library,
    options: &SyncOptions,
    progress: &mut dyn Progress,
) -> Result<SyncSummary, SyncError> {
    let list = client.conversations().await.map_err(SyncError::List)?;
    library.record_conversations(&list)?;
    let chosen: Vec<Conversation> = if options.conversations.is_empty() {
        list
    } else {
        let mut chosen = Vec::new();
        for wanted in &options.conversations {
            let wanted = wanted.trim().to_lowercase();
            match list.iter().find(|c| c.id == wanted) {
                Some(c) => chosen.push(c.clone()),
                None => return Err(SyncError::NotListed(wanted)),
            }
        }
        chosen
    };
    progress.started(&chosen);
    let mut pace = Pace::new(options.rate);
    let mut summary = SyncSummary::default();
    for conversation in &chosen {
        progress.conversation(conversation);
        let result = walk(client, library, conversation, options, &mut pace, progress).await?;
        progress.finished(&result);
        summary.conversations.push(result);
    }
    Ok(summary)
}

/// Walks one conversation back from its newest message, past what is held. Errors from
/// the server end this conversation's walk (in its result); the library's end the sync.
async fn walk(
    client: &Client,
    library: &mut Library,
    conversation: &Conversation,
    options: &SyncOptions,
    pace: &mut Pace,
    progress: &mut dyn Progress,
) -> Result<ConversationSync, LibraryError> {
    let mut result = ConversationSync {
        id: conversation.id.clone(),
        kind: conversation.kind,
        pages: 0,
        new_messages: 0,
        outcome: Outcome::Complete,
    };
    let mut query = HistoryQuery {
        conversation: conversation.id.clone(),
        kind: conversation.kind,
        cursor: None,
        page_size: 50,
        direction: Direction::Up,
        filters: HistoryFilters::default(),
    };
    let mut joins: Option<Key> = None;
    let mut empty_pages = 0;
    loop {
        if result.pages >= options.max_pages {
            result.outcome = Outcome::Failed(format!(
                "stopped after {} requests; run again to go on",
                options.max_pages
            ));
            return Ok(result);
        }
        pace.wait().await;
        let page = match client.history(&query).await {
            Ok(page) => page,
            Err(e) => {
                result.outcome = Outcome::Failed(e.to_string());
                return Ok(result);
            }
        };
        result.pages += 1;
        let record = library.record_page(&query, &page, joins)?;
        result.new_messages += record.new_messages as u64;
        let oldest = page.messages.iter().map(Key::of).min();
        progress.page(record.new_messages, oldest.map(|k| k.time));
        if page.is_last {
            return Ok(result);
        }
        // Where the held stretch this page is part of ends: past it is the next request.
        let (reached, resume) = match (&record.run, oldest) {
            (Some(run), _) if run.resume.is_some() => (Some(run.oldest), run.resume.clone()),
            // No cursor kept past the stretch: page on through it.
            _ => (oldest.or(joins), page.next_cursor.clone()),
        };
        if record.run.as_ref().is_some_and(|run| run.beginning) {
            return Ok(result);
        }
        if page.messages.is_empty() {
            empty_pages += 1;
            if empty_pages >= MAX_EMPTY_PAGES {
                result.outcome = Outcome::Failed(format!("{MAX_EMPTY_PAGES} empty pages in a row"));
                return Ok(result);
            }
        } else {
            empty_pages = 0;
        }
        if let (Some(reached), Some(before)) = (reached, joins)
            && reached >= before
            && !page.messages.is_empty()
        {
            result.outcome = Outcome::Failed(
                "the server's pages stopped going back in time; stopped here".into(),
            );
            return Ok(result);
        }
        if let (Some(since), Some(reached)) = (options.since, reached)
            && reached.time < since
        {
            return Ok(result);
        }
        let Some(resume) = resume else {
            result.outcome = Outcome::Failed("the server gave no cursor to go on".into());
            return Ok(result);
        };
        query.cursor = Some(resume);
        joins = reached;
    }
}
