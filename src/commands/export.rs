//! `roam export`: conversations of a store (the demo's without `--db`) to a file or
//! standard output as JSON lines, Markdown or HTML (see [`crate::export`]). A deployment's
//! library is synced first (the conversations named, or all), unless `--offline`.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::output::Times;
use super::{load_config, local, quiet_when_output_closed};
use crate::export::since_last::ExportState;
use crate::export::{self, Format, Part, Plan};
use crate::store::export::{MessageRange, StoredConversation};
use crate::tui::{text, when};

/// Options of `roam export`.
#[derive(Debug)]
pub struct ExportOptions {
    /// Whose library to read, when `db` is not given (no flags: the demo's database).
    pub connection: crate::session::Connection,
    /// The conversations (group or room ids, user ids, `alice|bob`; with `user`, as that
    /// user names them).
    pub ids: Vec<String>,
    /// Every conversation (the user's, with `user`).
    pub all: bool,
    /// The format.
    pub format: Format,
    /// Only messages at or after this time, as typed.
    pub since: Option<String>,
    /// Only messages up to this time, as typed.
    pub until: Option<String>,
    /// Only what is new since the previous export to `output`, appended to it.
    pub since_last: bool,
    /// The file to write; standard output when absent.
    pub output: Option<PathBuf>,
    /// The store; the demo's when absent.
    pub db: Option<PathBuf>,
    /// Export as this user sees it: their conversations, single chats by peer.
    pub user: Option<String>,
    /// Do not sync the library first.
    pub offline: bool,
}

/// `roam export`.
pub fn export(options: ExportOptions) -> Result<()> {
    if options.all != options.ids.is_empty() {
        bail!("name the conversations to export, or give --all (not both)");
    }
    if options.since_last && options.output.is_none() {
        bail!("--since-last needs -o FILE: the file the previous export went to");
    }
    if options.since_last && options.format == Format::Html {
        bail!(
            "--since-last appends to the file, and an HTML page cannot grow: use jsonl or markdown"
        );
    }
    let config = load_config()?;
    let times = Times::new(&config.display);
    let now = when::now_in(times.zone());
    let (since, until) =
        local::time_bounds(options.since.as_deref(), options.until.as_deref(), &now)?;
    // A deployment's library is brought up to date first (the demo's store and a --db file
    // are complete as they are); when that fails, what the library holds is exported.
    // (A --user alone names whose view of the demo to take, as in `local::open_store`.)
    let names_deployment = options.connection.api_url.is_some()
        || options.connection.profile.is_some()
        || config.default_profile.is_some();
    if !options.offline
        && options.db.is_none()
        && names_deployment
        && crate::session::library_of(options.connection.clone(), &config)
            .ok()
            .flatten()
            .is_some()
        && let Err(e) =
            super::sync::sync_for_export(options.connection.clone(), &config, &options.ids, since)
    {
        eprintln!(
            "roam: not synced first ({}); exporting what the library holds",
            super::describe_error(&e)
        );
    }
    let (store, _) = local::open_store(options.db.as_deref(), options.connection.clone(), &config)?;
    let user = options.user.as_deref().map(str::to_ascii_lowercase);
    let theirs = store.stored_conversations(user.as_deref())?;
    if let Some(user) = &user
        && theirs.is_empty()
    {
        bail!(
            "{} has no conversations in this store",
            text::one_line(user, 64)
        );
    }
    let conversations: Vec<StoredConversation> = if options.all {
        theirs
    } else {
        let names = local::conversations(&store, user.as_deref(), &options.ids)?;
        let every = store.stored_conversations(None)?;
        names
            .iter()
            .filter_map(|n| every.iter().find(|c| &c.name == n).cloned())
            .collect()
    };
    let mut state = match (&options.output, options.since_last) {
        (Some(path), true) => Some(ExportState::load(path, options.format)?),
        _ => None,
    };
    let plan = Plan {
        parts: conversations
            .into_iter()
            .map(|conversation| Part {
                range: MessageRange {
                    since,
                    until,
                    after: state.as_ref().and_then(|s| s.after(&conversation.name)),
                },
                conversation,
            })
            .collect(),
        zone: Some(times.zone().clone()),
        user,
    };
    let summary = match &options.output {
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            let result = export::export(&store, &plan, options.format, &mut out);
            return quiet_when_output_closed(
                result.map(|s| report(&s, None)).map_err(anyhow::Error::new),
            );
        }
        Some(path) if options.since_last => {
            let file = open_private(path, true)?;
            let mut out = BufWriter::new(file);
            let summary = export::export(&store, &plan, options.format, &mut out)?;
            out.into_inner()
                .map_err(|e| e.into_error())
                .and_then(|f| f.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            summary
        }
        Some(path) => {
            // Whole or not at all: written beside, then renamed over the old file.
            let mut tmp = path.as_os_str().to_owned();
            tmp.push(format!(".{}.tmp", std::process::id()));
            let tmp = PathBuf::from(tmp);
            let written = (|| -> Result<export::Summary> {
                let mut out = BufWriter::new(open_private(&tmp, false)?);
                let summary = export::export(&store, &plan, options.format, &mut out)?;
                out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                std::fs::rename(&tmp, path)?;
                Ok(summary)
            })();
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            written.with_context(|| format!("cannot write {}", path.display()))?
        }
    };
    if let (Some(state), Some(path)) = (&mut state, &options.output) {
        state.advance(&summary);
        state.save(path)?;
    }
    report(&summary, options.output.as_deref());
    Ok(())
}

/// A file only its owner can read (an export holds people's messages): appended to, or
/// created anew.
fn open_private(path: &Path, append: bool) -> Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

fn report(summary: &export::Summary, path: Option<&Path>) {
    let to = path.map_or(String::new(), |p| format!(" to {}", p.display()));
    eprintln!(
        "exported {} messages from {} conversations{to}",
        summary.messages, summary.conversations
    );
}
