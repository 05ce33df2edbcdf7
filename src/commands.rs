//! What each subcommand does, at the edge between the library and the person: errors get
//! `anyhow` context here and become one clear line in `main`.

use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::config::Config;
use crate::protocol::{
    ChatType, Direction, HistoryFilters, HistoryQuery, PageLimits, PageWalk, PagingStop,
};
use crate::server::{ConnectionLimits, ServerConfig};
use crate::session;
use crate::store::pool::StorePool;
use crate::store::state::StateFile;
use crate::store::{self, Store};
use crate::tui::{display, filter, text, when};

pub use crate::session::Connection;

mod account;
mod download;
mod export;
mod local;
mod names;
mod output;
mod postgres;
mod search;
mod sources;
mod sync;
pub use account::{config, login, logout};
pub use download::{DownloadCommand, download};
pub use export::{ExportOptions, export};
use output::{PagingState, Times};
pub use search::{SearchOptions, search};
pub use sync::{SyncArgs, sync};

/// Options of `roam history`.
#[derive(Debug)]
pub struct HistoryOptions {
    /// The conversation id.
    pub id: String,
    /// Single, group or room; `None`: look it up in the conversation list.
    pub kind: Option<ChatType>,
    /// How many messages to print.
    pub limit: u32,
    /// Which way to go.
    pub direction: Direction,
    /// Where to continue.
    pub cursor: Option<String>,
    /// Only messages at or after this time, as typed (`2023-05-01`, `-3d`, ...).
    pub since: Option<String>,
    /// Only messages up to this time, as typed; a date includes that whole day.
    pub until: Option<String>,
    /// Only these content kinds (`img`, `file`, ...); empty = all.
    pub types: Vec<String>,
    /// Only messages from this sender (groups and rooms).
    pub from: Option<String>,
    /// Print JSON lines instead of text.
    pub json: bool,
}

/// Options of `roam import`.
#[derive(Debug)]
pub struct ImportOptions {
    /// The database.
    pub db: PathBuf,
    /// A state file.
    pub state: Option<PathBuf>,
    /// No progress bar.
    pub quiet: bool,
    /// Folders of attachment files, besides the `files` folder beside each export.
    pub files: Vec<PathBuf>,
    /// Export files.
    pub exports: Vec<PathBuf>,
}

/// Options of `roam serve`.
#[derive(Debug)]
pub struct ServeOptions {
    /// The database.
    pub db: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The app key to answer to; the demo's when absent.
    pub appkey: Option<String>,
    /// Apply the list rate limit.
    pub rate_limit: bool,
    /// Token lifetime.
    pub token_ttl_secs: u64,
    /// Create the database when it does not exist (otherwise a missing file is an error).
    pub create: bool,
    /// Connections at once, and how long each may be silent or slow.
    pub connections: ConnectionLimits,
    /// A private file of app credentials for admin access.
    pub app_credentials: Option<PathBuf>,
}

/// One line for the person: the error and its causes, joined.
pub fn describe_error(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for (i, cause) in error.chain().enumerate() {
        let text = cause.to_string();
        if i > 0 {
            if line.contains(&text) {
                continue;
            }
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    text::one_line(&line, 400)
}

/// The config file, with its path in the error.
fn load_config() -> Result<Config> {
    Ok(Config::load()?)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `roam` (no subcommand): the browser.
pub fn browse(connection: Connection, offline: bool, log: Option<PathBuf>) -> Result<()> {
    let config = load_config()?;
    let preferences = crate::tui::preferences::Preferences::from_config(&config)
        .with_context(|| format!("{}: [keys]", config.source.display()))?;
    let _log = crate::logging::to_file(log.as_deref())?;
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "roam starts");
    let runtime = runtime()?;
    let named = connection.clone();
    runtime.block_on(async {
        let session = if offline {
            session::offline(connection, &config).await?
        } else {
            match session::connect(connection.clone(), &config).await {
                Ok(session) => session,
                // Out of reach: the library stands in, when there is one.
                Err(e) if session::unreachable(&e) => {
                    let mut session = session::offline(connection, &config)
                        .await
                        .map_err(|_| e.context("and there is no library to browse offline"))?;
                    session
                        .notices
                        .insert(0, "the deployment cannot be reached".into());
                    session
                }
                Err(e) => return Err(e),
            }
        };
        // Every page the browser fetches online is kept; a library that cannot be opened
        // is said once and browsing goes on without it.
        let (library, library_notice) = if session.offline {
            (None, None)
        } else {
            match sync::library_for(&session) {
                Ok(library) => (Some(library), None),
                Err(e) => {
                    tracing::warn!("{e:#}");
                    let notice = format!("pages are not kept: {}", describe_error(&e));
                    (None, Some(notice))
                }
            }
        };
        // The embedded server (if any) lives in `session.embedded` until the browser closes.
        let session::Session {
            client,
            embedded,
            mut notices,
            offline,
        } = session;
        notices.extend(library_notice);
        let searcher = sources::searcher_for(
            &named,
            &config,
            offline,
            embedded.is_some(),
            &client,
            library.as_ref(),
        );
        let (source, kept) = crate::tui::fetch::Keeping::new(client, library);
        let source = match searcher {
            Some(searcher) => source.searching(searcher),
            None => source,
        };
        // Offline, the library says which conversations it holds from their beginning.
        let served = offline
            .then(|| sources::served_library(&named, &config))
            .flatten();
        let source = match served {
            Some(library) => source.serving(library),
            None => source,
        };
        let source = if offline {
            source.labelled("offline · library")
        } else {
            source
        };
        let result = crate::tui::run::run(source, notices, preferences).await;
        // The pages fetched last are still being written: a moment for them.
        tokio::task::spawn_blocking(move || kept.wait(Duration::from_secs(2)))
            .await
            .ok();
        drop(embedded);
        result
    })
}

/// `roam open FILE --user USER`: the browser over a local database, served in process to
/// that user alone with a token made for this run, read-only.
pub fn open(file: &Path, user: &str, log: Option<PathBuf>) -> Result<()> {
    if !file.exists() {
        bail!("the database {} does not exist", file.display());
    }
    let user = crate::protocol::ids::check(user.trim())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("--user")?;
    let config = load_config()?;
    let preferences = crate::tui::preferences::Preferences::from_config(&config)
        .with_context(|| format!("{}: [keys]", config.source.display()))?;
    let _log = crate::logging::to_file(log.as_deref())?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let server =
            crate::embedded::serve_local(file, LOCAL_APPKEY, &user, &format!("file {name}"))
                .await?;
        let client = crate::client::Client::new(server.client_config())
            .context("bad connection settings")?;
        let (source, _kept) = crate::tui::fetch::Keeping::new(client, None);
        let source = match crate::library::search::SearchAll::open(file, &user, true) {
            Ok(searcher) => source.searching(searcher),
            Err(e) => {
                tracing::warn!("search of all history is off: {e}");
                source
            }
        };
        let label = format!(
            "{} · {}",
            text::one_line(&user, 32),
            text::one_line(&name, 40)
        );
        let result = crate::tui::run::run(source.labelled(label), Vec::new(), preferences).await;
        drop(server);
        result
    })
}

/// The app key a local database is served under: a store does not know one, and client and
/// server only need to agree.
const LOCAL_APPKEY: &str = "local#file";

/// A reader that closed standard output early (`roam conversations | head`) has what it
/// wanted: that ends the command quietly and successfully. Only the two commands that print
/// to standard output use this; nothing else of theirs does I/O that can break a pipe.
fn quiet_when_output_closed(result: Result<()>) -> Result<()> {
    match result {
        Err(error)
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// `roam conversations`: one line per conversation, or JSON Lines.
pub fn conversations(connection: Connection, json: bool) -> Result<()> {
    let config = load_config()?;
    let runtime = runtime()?;
    quiet_when_output_closed(runtime.block_on(async {
        let session = session::connect(connection, &config).await?;
        let list = session
            .client
            .conversations()
            .await
            .context("cannot read the conversation list")?;
        let mut out = std::io::stdout().lock();
        if json {
            for c in &list {
                writeln!(out, "{}", output::terminal_safe_json(c)?)?;
            }
            out.flush()?;
            return Ok(());
        }
        let times = Times::new(&config.display);
        let users = list
            .iter()
            .filter(|c| c.kind == ChatType::Single)
            .map(|c| c.id.clone())
            .chain(
                list.iter()
                    .filter_map(|c| c.last_message.as_ref().map(|m| m.from.clone())),
            )
            .collect();
        let conferences: Vec<(String, ChatType)> = list
            .iter()
            .filter(|c| c.kind != ChatType::Single)
            .map(|c| (c.id.clone(), c.kind))
            .collect();
        let names = names::Names::fetch(&session.client, users, &conferences).await;
        for c in &list {
            let kind = match c.kind {
                ChatType::Single => "chat ",
                ChatType::Group => "group",
                ChatType::Room => "room ",
            };
            let pin = if c.pinned { "📌" } else { "  " };
            let preview = c
                .last_message
                .as_ref()
                .map(|m| format!("{}: {}", names.user(&m.from, 40), display::preview(m, 80)))
                .unwrap_or_default();
            let shown = names.conversation(&c.id, c.kind, 48);
            let pad = 36usize.saturating_sub(text::width(&shown));
            writeln!(
                out,
                "{pin} {kind} {shown}{:pad$} {:>5}  {}  {}",
                "",
                c.unread,
                c.last_message
                    .as_ref()
                    .map_or_else(|| times.blank(), |m| times.show(m.time)),
                text::one_line(&preview, 80)
            )?;
        }
        out.flush()?;
        Ok(())
    }))
}

/// The kind of conversation `id` is, from the user's list when the person did not say. A
/// conversation that is not listed is an error naming the flags: reading it as a single
/// chat would print nothing and look like an empty history.
async fn conversation_kind(
    client: &crate::client::Client,
    id: &str,
    given: Option<ChatType>,
) -> Result<ChatType> {
    if let Some(kind) = given {
        return Ok(kind);
    }
    let wanted = crate::protocol::ids::check(id.trim())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("not a conversation id")?;
    let list = client
        .conversations()
        .await
        .context("cannot read the conversation list to find the conversation's kind")?;
    match list.iter().find(|c| c.id == wanted) {
        Some(c) => Ok(c.kind),
        None => bail!(
            "{} is not in {}'s conversation list; say what it is with --single, --group or --room \
             (chat rooms and old conversations are not listed)",
            text::one_line(&wanted, 64),
            client.user()
        ),
    }
}

/// `roam history ID`: pages until `limit` messages are printed or the history ends. Where
/// to continue goes to stderr and, with `--json`, into the stream as its last line; stderr
/// also says how many entries were left out as undecodable, and why it stopped early when
/// the server's cursors would not end (then it fails).
pub fn history(connection: Connection, options: HistoryOptions) -> Result<()> {
    let config = load_config()?;
    let runtime = runtime()?;
    let times = Times::new(&config.display);
    // Typos in the filters are reported before anything connects.
    let filters = history_filters(&options, &when::now_in(times.zone()))?;
    quiet_when_output_closed(runtime.block_on(async {
        let session = session::connect(connection, &config).await?;
        let kind = conversation_kind(&session.client, &options.id, options.kind).await?;
        if filters.sender.is_some() && kind == ChatType::Single {
            bail!("--from works in groups and rooms, not in a single chat");
        }
        let mut cursor = options.cursor.clone();
        let mut walk = PageWalk::starting_at(PageLimits::HISTORY, cursor.as_deref());
        let mut printed = 0u32;
        let mut undecodable = 0u64;
        let mut stopped = None;
        let mut out = std::io::stdout().lock();
        while printed < options.limit {
            let page_size = (options.limit - printed).min(50);
            let query = HistoryQuery {
                conversation: options.id.clone(),
                kind,
                cursor: cursor.clone(),
                page_size,
                direction: options.direction,
                filters: filters.clone(),
            };
            let page = session
                .client
                .history(&query)
                .await
                .with_context(|| format!("cannot read the history of {}", options.id))?;
            let names = if options.json {
                names::Names::default()
            } else {
                let senders = page.messages.iter().map(|m| m.from.clone()).collect();
                names::Names::fetch(&session.client, senders, &[]).await
            };
            for m in &page.messages {
                let sender = names.user(&m.from, 40);
                output::print_message(&mut out, m, options.json, &times, &sender)?;
                printed = printed.saturating_add(1);
            }
            undecodable += page.undecodable;
            let next = page.next_cursor.filter(|_| !page.is_last);
            if let Err(stop) = walk.step(page.messages.len(), next.as_deref()) {
                stopped = Some((stop, next));
                break;
            }
            cursor = next;
            if cursor.is_none() {
                break;
            }
        }
        // The state line ends a stream that succeeded; a failure ends with the error.
        let nothing_decoded = undecodable > 0 && printed == 0;
        if options.json && stopped.is_none() && !nothing_decoded {
            let state = PagingState {
                next_cursor: cursor.as_deref(),
                is_last: cursor.is_none(),
            };
            writeln!(out, "{}", output::terminal_safe_json(&state)?)?;
        }
        out.flush()?;
        drop(out);
        if undecodable > 0 {
            eprintln!(
                "roam: left out {undecodable} history entr{} that could not be decoded",
                if undecodable == 1 { "y" } else { "ies" }
            );
        }
        if let Some((stop, next)) = stopped {
            // Empty pages may end some day: say where to go on. A repeating cursor will not.
            let resume = match (&stop, next) {
                (PagingStop::EmptyPages { .. }, Some(next)) => {
                    format!(" (continue with --cursor {})", output::shown_cursor(&next))
                }
                _ => String::new(),
            };
            bail!(
                "stopped reading the history of {}: {stop}{resume}",
                text::one_line(&options.id, 64)
            );
        }
        if nothing_decoded {
            let resume = cursor.map_or(String::new(), |c| {
                format!(" (continue with --cursor {})", output::shown_cursor(&c))
            });
            bail!(
                "no history entry of {} could be decoded{resume}",
                text::one_line(&options.id, 64)
            );
        }
        match cursor {
            Some(c) => {
                let c = output::shown_cursor(&c);
                eprintln!("next cursor: {c}  (continue with --cursor {c})");
            }
            None => eprintln!("end of history in this direction"),
        }
        Ok(())
    }))
}

/// The server-side filters `roam history`'s options ask for.
fn history_filters(options: &HistoryOptions, now: &jiff::Zoned) -> Result<HistoryFilters> {
    let read = |flag: &str, value: &Option<String>| -> Result<Option<when::When>> {
        value
            .as_deref()
            .map(|v| when::parse(v, now).with_context(|| format!("--{flag}")))
            .transpose()
    };
    let since = read("since", &options.since)?;
    let until = read("until", &options.until)?;
    if let (Some(s), Some(u)) = (since, until)
        && s.start > u.end
    {
        bail!("--since is after --until: nothing can match");
    }
    let types = filter::parse_kinds(options.types.iter().map(String::as_str)).context("--type")?;
    let sender = options
        .from
        .as_deref()
        .map(filter::parse_sender)
        .transpose()
        .context("--from")?;
    Ok(HistoryFilters {
        types,
        sender,
        start_time: since.map(|w| w.start),
        end_time: until.map(|w| w.end),
    })
}

/// Tells the person what an import did: each skipped line by file and number, so they can
/// find and fix it, the totals, and the files that broke off. Returns how many did.
fn report_import(summary: &store::ImportSummary) -> usize {
    for rejection in &summary.rejected {
        eprintln!(
            "roam: skipped {}",
            text::one_line(&rejection.to_string(), 400)
        );
    }
    let unlisted = summary
        .rejected_total
        .saturating_sub(summary.rejected.len() as u64);
    if unlisted > 0 {
        eprintln!("roam: skipped {unlisted} more malformed lines (not listed)");
    }
    eprintln!("{summary}");
    for unreadable in &summary.unreadable {
        eprintln!("roam: {}", text::one_line(&unreadable.to_string(), 400));
    }
    summary.unreadable.len()
}

/// `roam import`: messages first, then the state file, whose group members and unread
/// counts refer to conversations the messages create.
pub fn import(options: ImportOptions) -> Result<()> {
    if options.exports.is_empty() && options.state.is_none() && options.files.is_empty() {
        bail!("nothing to import: name export files, --state FILE and/or --files DIR");
    }
    let state = options
        .state
        .as_deref()
        .map(|path| {
            StateFile::load(path)
                .with_context(|| format!("cannot read the state file {}", path.display()))
        })
        .transpose()?;
    if let Some(url) = postgres::url(&options.db) {
        return postgres::import(url, &options, state);
    }
    let mut store = Store::open(&options.db)
        .with_context(|| format!("cannot open the database {}", options.db.display()))?;
    let mut incomplete = 0;
    if !options.exports.is_empty() {
        let import_options = store::import::ImportOptions {
            progress: !options.quiet && std::io::stderr().is_terminal(),
            ..store::import::ImportOptions::default()
        };
        let summary = store::import::import_files(&mut store, &options.exports, &import_options)
            .with_context(|| format!("import into {} failed", options.db.display()))?;
        incomplete = report_import(&summary);
    }
    if let Some(state) = state {
        let summary = store
            .apply_state(&state)
            .context("cannot apply the state file")?;
        eprintln!("{summary}");
    }
    let mut folders = store::import::files::folders_beside(&options.exports);
    for dir in &options.files {
        if !folders.contains(dir) {
            folders.push(dir.clone());
        }
    }
    for dir in folders {
        let summary = store::import::files::import_attachments(&mut store, &dir)
            .with_context(|| format!("cannot load the attachments in {}", dir.display()))?;
        for skipped in &summary.skipped {
            eprintln!("roam: skipped {}", text::one_line(skipped, 400));
        }
        eprintln!(
            "{} ({})",
            summary,
            text::one_line(&dir.display().to_string(), 200)
        );
    }
    if incomplete > 0 {
        bail!("{incomplete} export files could not be read to the end (see above)");
    }
    Ok(())
}

/// `roam serve`: serves until SIGINT or SIGTERM, then stops accepting, lets requests in
/// flight finish and closes the database.
pub fn serve(options: ServeOptions) -> Result<()> {
    if let Some(url) = postgres::url(&options.db) {
        return postgres::serve(url, &options);
    }
    // A typo in --db must not quietly serve a new, empty database.
    if !options.create && !options.db.exists() {
        bail!(
            "the database {} does not exist (import into it first, or add --create to start an empty one)",
            options.db.display()
        );
    }
    let apps = match &options.app_credentials {
        Some(path) => crate::server::app_credentials::load(path)?,
        None => Vec::new(),
    };
    crate::logging::to_stderr();
    let runtime = runtime()?;
    runtime.block_on(async {
        let appkey = options
            .appkey
            .unwrap_or_else(|| crate::demo::DEMO_APPKEY.to_string());
        let config = ServerConfig {
            token_ttl: Duration::from_secs(options.token_ttl_secs),
            rate_limit: options.rate_limit,
            connections: options.connections,
            apps,
            ..ServerConfig::new(appkey)
        };
        let stop = stop_signal()?;
        let pool = Arc::new(
            StorePool::open_for_server(&options.db)
                .with_context(|| format!("cannot open the database {}", options.db.display()))?,
        );
        let server = crate::server::spawn(Arc::clone(&pool), config, Some(options.listen))
            .await
            .with_context(|| format!("cannot serve {}", options.db.display()))?;
        eprintln!(
            "roam: serving {} at {}",
            options.db.display(),
            server.base_url()
        );
        let signal = stop.await;
        eprintln!("roam: {signal}: finishing requests in flight");
        server.shutdown().await.context("shutdown failed")?;
        // The last connection to close checkpoints the write-ahead log into the database.
        match Arc::try_unwrap(pool) {
            Ok(pool) => drop(pool),
            Err(_) => eprintln!("roam: requests still running at exit; the database will recover"),
        }
        eprintln!("roam: stopped");
        Ok(())
    })
}

/// SIGINT (Ctrl-C) or, on Unix, SIGTERM (a service manager's stop): the handlers are
/// installed when this returns, so a signal that comes before the returned future is
/// awaited still stops the server gracefully. The future yields the signal's name.
fn stop_signal() -> Result<impl std::future::Future<Output = &'static str>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt()).context("cannot wait for SIGINT")?;
        let mut term = signal(SignalKind::terminate()).context("cannot wait for SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            // Without a handler Ctrl-C ends the process anyway; with one it stops cleanly.
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        })
    }
}

/// `roam user add`.
pub fn user_add(db: &Path, name: &str, password_stdin: bool) -> Result<()> {
    let password = if password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the password from standard input")?;
        text.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password(format!("password for {name}: "))
            .context("cannot read the password")?;
        let again = rpassword::prompt_password("again: ").context("cannot read the password")?;
        if first != again {
            bail!("the passwords differ");
        }
        first
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    if let Some(url) = postgres::url(db) {
        return postgres::user_add(url, name, &password);
    }
    let mut store = Store::open(db).with_context(|| format!("cannot open {}", db.display()))?;
    store
        .set_password(name, &password)
        .with_context(|| format!("cannot set the password of {name}"))?;
    eprintln!("roam: {name} can now log in");
    Ok(())
}

#[cfg(test)]
mod history_option_tests {
    use super::*;

    fn options(since: Option<&str>, until: Option<&str>) -> HistoryOptions {
        HistoryOptions {
            id: "team-roam".into(),
            kind: Some(ChatType::Group),
            limit: 20,
            direction: Direction::Up,
            cursor: None,
            since: since.map(str::to_string),
            until: until.map(str::to_string),
            types: vec!["img".into(), "FILE".into()],
            from: Some("Li.Wei".into()),
            json: false,
        }
    }

    #[test]
    fn since_and_until_become_time_filters_in_the_local_zone() {
        let tz = jiff::tz::TimeZone::fixed(jiff::tz::offset(8));
        let now = jiff::Timestamp::from_millisecond(1_709_611_200_000)
            .expect("a time")
            .to_zoned(tz);
        let f = history_filters(&options(Some("2024-01-01"), Some("2024-01-31")), &now)
            .expect("readable");
        // Midnight in UTC+8 is 16:00 UTC the day before; --until includes its whole day.
        assert_eq!(f.start_time, Some(1_704_038_400_000));
        assert_eq!(f.end_time, Some(1_706_716_800_000 - 1));
        assert_eq!(f.types, ["img", "file"]);
        assert_eq!(f.sender.as_deref(), Some("li.wei"));
        let mut none = options(None, None);
        none.types.clear();
        none.from = None;
        let none = history_filters(&none, &now).expect("no filters");
        assert_eq!(none, HistoryFilters::default());
        let mut bad_kind = options(None, None);
        bad_kind.types = vec!["pictures".into()];
        let e = history_filters(&bad_kind, &now).expect_err("not a kind");
        assert!(format!("{e:#}").contains("--type"), "{e:#}");
        let bad = history_filters(&options(Some("whenever"), None), &now).expect_err("bad");
        assert!(format!("{bad:#}").contains("--since"), "{bad:#}");
        assert!(history_filters(&options(Some("2024-02-01"), Some("2024-01-01")), &now).is_err());
    }
}
