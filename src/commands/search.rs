//! `roam search`: every conversation of a store searched at once (see
//! [`crate::store::search`]), newest first; text for a person, the match highlighted on a
//! terminal, or JSON Lines for a script. `--db` names a SQLite file or a PostgreSQL
//! database (`postgres://...`); both give the same hits.
//!
//! The JSON form, one object per hit: `{"id": "...", "conversation": "team" | "alice|bob",
//! "kind": "chat" | "groupchat" | "chatroom", "from", "to", "time", "type", "snippet",
//! "match": [start, end]}` (`match` is the byte range of the match in `snippet`, ids are
//! strings), then one line with the paging state, `{"next_cursor": ..., "is_last": ...}`.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;

use super::names::Names;
use super::output::{self, PagingState, Times};
use super::{load_config, local, quiet_when_output_closed};
use crate::protocol::ChatType;
use crate::store::{Db, SearchCursor, SearchHit, SearchQuery};
use crate::tui::{filter, text, when};

/// Options of `roam search`.
#[derive(Debug)]
pub struct SearchOptions {
    /// Whose library to read, when `db` is not given (no flags: the demo's database).
    pub connection: crate::session::Connection,
    /// The text, or with `regex` a regular expression.
    pub query: String,
    /// Treat the query as a regular expression.
    pub regex: bool,
    /// Only these conversations (group or room ids, user ids, `alice|bob`).
    pub conversations: Vec<String>,
    /// Only messages from this sender.
    pub from: Option<String>,
    /// Only these content kinds.
    pub types: Vec<String>,
    /// Only messages at or after this time, as typed.
    pub since: Option<String>,
    /// Only messages up to this time, as typed.
    pub until: Option<String>,
    /// How many hits to print.
    pub limit: usize,
    /// Continue from a cursor a previous run printed.
    pub cursor: Option<String>,
    /// Print JSON Lines.
    pub json: bool,
    /// The store, a file or a `postgres://` URL; the demo's when absent.
    pub db: Option<PathBuf>,
}

/// One hit as a JSON line.
#[derive(Serialize)]
struct HitJson<'a> {
    id: String,
    conversation: &'a str,
    kind: &'a str,
    from: &'a str,
    to: &'a str,
    time: i64,
    #[serde(rename = "type")]
    type_name: &'a str,
    snippet: &'a str,
    #[serde(rename = "match")]
    matched: [usize; 2],
}

/// `roam search QUERY`.
pub fn search(options: SearchOptions) -> Result<()> {
    let config = load_config()?;
    let times = Times::new(&config.display);
    let now = when::now_in(times.zone());
    let (since, until) =
        local::time_bounds(options.since.as_deref(), options.until.as_deref(), &now)?;
    let types = filter::parse_kinds(options.types.iter().map(String::as_str)).context("--type")?;
    let from = options
        .from
        .as_deref()
        .map(filter::parse_sender)
        .transpose()
        .context("--from")?;
    let mut cursor = options
        .cursor
        .as_deref()
        .map(|c| SearchCursor::parse(c).context("--cursor: not a search cursor"))
        .transpose()?;
    let runtime = super::runtime()?;
    let db = match options.db.as_deref().and_then(super::postgres::url) {
        Some(url) => Db::Postgres(Box::new(
            runtime.block_on(super::postgres::connect(url, 1))?,
        )),
        None => {
            let (store, _) =
                local::open_store(options.db.as_deref(), options.connection.clone(), &config)?;
            Db::single(store)
        }
    };
    let conversations = local::conversations_by(None, &options.conversations, |id| {
        Ok(runtime.block_on(db.find_conversations(None, id))?)
    })?;
    let query = SearchQuery {
        text: options.query.clone(),
        regex: options.regex,
        conversations,
        from,
        types,
        since,
        until,
    };
    let highlight = !options.json && std::io::stdout().is_terminal();
    quiet_when_output_closed((|| {
        let mut out = std::io::stdout().lock();
        let mut printed = 0usize;
        loop {
            let want = (options.limit - printed).min(crate::store::search::MAX_PAGE);
            let page = runtime.block_on(db.search(&query, cursor, want))?;
            if options.json {
                for hit in &page.hits {
                    writeln!(out, "{}", output::terminal_safe_json(&hit_json(hit))?)?;
                }
            } else {
                let names = runtime.block_on(names_for(&db, &page.hits));
                for hit in &page.hits {
                    print_hit(&mut out, hit, &names, &times, highlight)?;
                }
            }
            printed += page.hits.len();
            cursor = page.next;
            if cursor.is_none() || printed >= options.limit {
                break;
            }
        }
        let next = cursor.map(SearchCursor::to_text);
        if options.json {
            let state = PagingState {
                next_cursor: next.as_deref(),
                is_last: next.is_none(),
            };
            writeln!(out, "{}", output::terminal_safe_json(&state)?)?;
        }
        out.flush()?;
        drop(out);
        match next {
            Some(c) => eprintln!("{printed} found; more with --cursor {c}"),
            None => eprintln!("{printed} found"),
        }
        Ok(())
    })())
}

fn hit_json(hit: &SearchHit) -> HitJson<'_> {
    HitJson {
        id: hit.id.to_string(),
        conversation: &hit.conversation,
        kind: hit.kind.wire_name(),
        from: &hit.from,
        to: &hit.to,
        time: hit.time,
        type_name: &hit.type_name,
        snippet: &hit.snippet,
        matched: [hit.matched.start, hit.matched.end],
    }
}

/// The names of the senders and conversations of a page.
async fn names_for(db: &Db, hits: &[SearchHit]) -> Names {
    let mut users = BTreeSet::new();
    let mut conferences = Vec::new();
    for hit in hits {
        users.insert(hit.from.clone());
        match hit.kind {
            ChatType::Single => {
                users.insert(hit.to.clone());
            }
            kind => conferences.push((hit.to.clone(), kind)),
        }
    }
    Names::from_db(db, users, &conferences).await
}

/// `time  conversation  sender  …snippet…`, the match in reverse video on a terminal.
fn print_hit(
    out: &mut impl Write,
    hit: &SearchHit,
    names: &Names,
    times: &Times,
    highlight: bool,
) -> Result<()> {
    let place = match hit.kind {
        ChatType::Single => {
            let (a, b) = hit
                .conversation
                .split_once('|')
                .unwrap_or((&hit.from, &hit.to));
            format!("{} ↔ {}", names.user(a, 24), names.user(b, 24))
        }
        kind => names.conversation(&hit.to, kind, 40),
    };
    let s = &hit.snippet;
    let part = |r: std::ops::Range<usize>| text::one_line(s.get(r).unwrap_or_default(), usize::MAX);
    let (before, matched, after) = (
        part(0..hit.matched.start),
        part(hit.matched.clone()),
        part(hit.matched.end..s.len()),
    );
    let matched = if highlight {
        format!("\u{1b}[1;7m{matched}\u{1b}[0m")
    } else {
        matched
    };
    writeln!(
        out,
        "{}  {}  {}  {before}{matched}{after}",
        times.show(hit.time),
        place,
        names.user(&hit.from, 32),
    )?;
    Ok(())
}
