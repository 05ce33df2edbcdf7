//! `roam sync`: mirrors conversations into the person's local library, with a bar per
//! conversation and one overall on a terminal, and a summary at the end.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{load_config, runtime};
use crate::config::paths::data_dir;
use crate::library::Library;
use crate::library::sync::{
    self as library_sync, ConversationSync, Outcome, Progress, SyncOptions,
};
use crate::protocol::Conversation;
use crate::session::{self, Connection};
use crate::tui::{text, when};

/// What `roam sync` was asked.
#[derive(Debug)]
pub struct SyncArgs {
    /// Conversations to sync; all when empty.
    pub ids: Vec<String>,
    /// `--since`, as typed.
    pub since: Option<String>,
    /// History requests per second; 0 = unpaced.
    pub rate: f64,
    /// No progress bars.
    pub quiet: bool,
}

/// The library a session writes to: one per deployment, app key and user.
pub fn library_for(session: &session::Session) -> Result<Library> {
    let path = Library::path_for(
        &data_dir(),
        &session.client.deployment(),
        &session.client.appkey(),
        session.client.user(),
    );
    Library::open(&path, session.client.user())
        .with_context(|| format!("cannot open the library {}", path.display()))
}

/// `roam sync [ID...] [--since WHEN] [--rate N]`.
pub fn sync(connection: Connection, args: SyncArgs) -> Result<()> {
    let config = load_config()?;
    let since = args
        .since
        .as_deref()
        .map(|v| when::parse(v, &jiff::Zoned::now()).map(|w| w.start))
        .transpose()
        .context("--since")?;
    if !(args.rate.is_finite() && args.rate >= 0.0) {
        anyhow::bail!("--rate must be a number of requests per second, 0 for no limit");
    }
    let options = SyncOptions {
        conversations: args.ids,
        since,
        rate: (args.rate > 0.0).then_some(args.rate),
        ..SyncOptions::default()
    };
    let runtime = runtime()?;
    runtime.block_on(async {
        let session = session::connect(connection, &config).await?;
        let mut library = library_for(&session)?;
        let started = Instant::now();
        let mut bars = Bars::new(!args.quiet && std::io::stderr().is_terminal());
        let summary = library_sync::sync(&session.client, &mut library, &options, &mut bars)
            .await
            .context("sync stopped")?;
        bars.done();
        let seconds = started.elapsed().as_secs_f64();
        let failed: Vec<&ConversationSync> = summary.failed().collect();
        eprintln!(
            "synced {} conversations into {}: {} new messages in {} requests, {:.1} s{}",
            summary.conversations.len(),
            library.path().display(),
            summary.new_messages(),
            summary.pages(),
            seconds,
            if failed.is_empty() {
                String::new()
            } else {
                format!("; {} stopped early (run again to continue)", failed.len())
            }
        );
        for c in &failed {
            if let Outcome::Failed(reason) = &c.outcome {
                eprintln!(
                    "  {}: {}",
                    text::one_line(&c.id, 64),
                    text::one_line(reason, 200)
                );
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("{} conversations are not complete", failed.len())
        }
    })
}

/// Brings the library of the deployment `connection` names up to date before an export:
/// the conversations `ids` names (all when none), from `since` on; progress bars on a
/// terminal and a line when done. Conversations that stop early are said, not an error:
/// the export takes what the library holds.
pub(super) fn sync_for_export(
    connection: Connection,
    config: &crate::config::Config,
    ids: &[String],
    since: Option<i64>,
) -> Result<()> {
    let options = SyncOptions {
        conversations: ids.to_vec(),
        since,
        ..SyncOptions::default()
    };
    let runtime = runtime()?;
    runtime.block_on(async {
        let session = session::connect(connection, config).await?;
        let mut library = library_for(&session)?;
        let mut bars = Bars::new(std::io::stderr().is_terminal());
        let summary = library_sync::sync(&session.client, &mut library, &options, &mut bars)
            .await
            .context("sync stopped")?;
        bars.done();
        let failed = summary.failed().count();
        eprintln!(
            "synced first: {} new messages in {} requests{}",
            summary.new_messages(),
            summary.pages(),
            if failed == 0 {
                String::new()
            } else {
                format!("; {failed} conversations stopped early")
            }
        );
        Ok(())
    })
}

/// Progress bars on stderr: conversations overall, and the one being walked.
struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    current: ProgressBar,
}

impl Bars {
    fn new(shown: bool) -> Bars {
        let target = if shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} conversations {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let current = multi.add(ProgressBar::new_spinner());
        current.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Bars {
            multi,
            overall,
            current,
        }
    }

    fn done(&self) {
        self.current.finish_and_clear();
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

impl Progress for Bars {
    fn started(&mut self, conversations: &[Conversation]) {
        self.overall.set_length(conversations.len() as u64);
    }

    fn conversation(&mut self, conversation: &Conversation) {
        self.current
            .set_prefix(text::one_line(&conversation.id, 40));
        self.current.set_message("newest page");
        self.current.set_position(0);
    }

    fn page(&mut self, new_messages: usize, oldest_time: Option<i64>) {
        self.current.inc(new_messages as u64);
        let back_to = oldest_time
            .and_then(|t| jiff::Timestamp::from_millisecond(t).ok())
            .map(|t| format!(", back to {}", t.strftime("%Y-%m-%d")))
            .unwrap_or_default();
        self.current
            .set_message(format!("{} new messages{back_to}", self.current.position()));
    }

    fn finished(&mut self, _result: &ConversationSync) {
        self.overall.inc(1);
    }
}
