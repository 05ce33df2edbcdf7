//! Search across every conversation of a store: case-insensitive substrings (Chinese,
//! Japanese and Korean inside sentences included) or a regular expression, newest first,
//! a page at a time.
//!
//! What is searched is each message's text, or its file name (pictures, videos, voice,
//! files), address (locations) or title, summary and text (merged forwards): one row of
//! `search_docs` per message that has any (schema step 7). Its key is `time << 8 | tie`,
//! so key order is time order and a page walks keys downwards from its cursor:
//! - a needle of 3 or more characters goes through the FTS5 trigram index (SQLite's
//!   `trigram` tokenizer finds any substring of 3 or more characters); each candidate is
//!   then checked by [`Matcher`], which also finds where the match is;
//! - a needle of 1 or 2 characters (two-character Chinese words are the common case, and
//!   trigrams cannot find them) walks `search_docs` by key, inside one conversation when
//!   the search is in one (`search_docs_by_conv`), always inside the time bounds, with the
//!   substring test done by SQLite (`instr`) where it can tell;
//! - a regular expression walks the same way, tested here.
//!
//! Walks tested here, and candidates that fail the other filters, cost at most
//! [`SCAN_BUDGET`] rows per page: a page may come back short with a cursor, as history
//! pages do, so a search that finds little never holds the store for long.

mod matcher;

use std::collections::HashSet;
use std::ops::Range;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

pub(crate) use matcher::{Matcher, fold};

use super::schema::{id_from_sql, id_to_sql, kind_from_sql};
use super::{Store, StoreError, message_from_row};
use crate::protocol::{ChatType, Content, Message};

/// Rows a page may test here (or pass over for the other filters) before it returns short.
pub const SCAN_BUDGET: usize = 200_000;

/// The most hits a page holds.
pub const MAX_PAGE: usize = 500;

/// Characters of context on each side of a match in a snippet.
const SNIPPET_CONTEXT: usize = 40;

/// Bits of a search key below the time: ties within one millisecond (more than 256 in one
/// millisecond take the keys of the next). Few, because the index stores each posting's
/// key as a varint delta from the previous one: with 21 bits, keys a minute apart differed
/// by 2^37 and the index was a third larger.
pub(crate) const TIE_BITS: u32 = 8;

/// The latest time a key orders exactly (ms since the epoch, beyond any real date); later
/// and negative times are clamped, and only their order among themselves is lost.
const MAX_KEYED_TIME: i64 = (1 << (63 - TIE_BITS)) - 1;

/// What to look for, and where.
#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    /// The text (a substring) or, with `regex`, a regular expression.
    pub text: String,
    /// `text` is a regular expression.
    pub regex: bool,
    /// Only these conversations: group or room ids, or `alice|bob` for a single chat (see
    /// [`Store::find_conversations`]); empty = all.
    pub conversations: Vec<String>,
    /// Only messages from this sender.
    pub from: Option<String>,
    /// Only these content kinds (`txt`, `img`, `file`, ...); empty = all.
    pub types: Vec<String>,
    /// Only messages at or after this time (ms since the epoch).
    pub since: Option<i64>,
    /// Only messages at or before this time (ms since the epoch).
    pub until: Option<i64>,
}

/// Where a search page goes on: below this key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchCursor(pub i64);

impl SearchCursor {
    /// The cursor as text, for a command line.
    pub fn to_text(self) -> String {
        self.0.to_string()
    }

    /// A cursor from its text; `None` when it is not one.
    pub fn parse(text: &str) -> Option<SearchCursor> {
        text.trim()
            .parse()
            .ok()
            .filter(|k| *k >= 0)
            .map(SearchCursor)
    }
}

/// One message found.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    /// The message id.
    pub id: u64,
    /// The conversation as [`SearchQuery::conversations`] names it: a group or room id, or
    /// `alice|bob`.
    pub conversation: String,
    /// Single, group or room.
    pub kind: ChatType,
    /// Sender.
    pub from: String,
    /// Receiver: a user, group or room id.
    pub to: String,
    /// Milliseconds since the epoch.
    pub time: i64,
    /// The content kind (`txt`, `img`, ...).
    pub type_name: String,
    /// The searched text around the match, as stored (not yet made safe for a terminal).
    pub snippet: String,
    /// Where the match is in `snippet`, in bytes.
    pub matched: Range<usize>,
}

/// A page of hits, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchPage {
    /// The hits.
    pub hits: Vec<SearchHit>,
    /// Where the next page starts; `None` when nothing is left.
    pub next: Option<SearchCursor>,
}

/// What both stores settle before walking a page: the matcher, the filters checked on
/// each hit, and the range of keys the page may read (`low` to `high`, both included).
pub(crate) struct Plan<'q> {
    /// The query as asked.
    pub query: &'q SearchQuery,
    /// Tells whether a text matches, and where.
    pub matcher: Matcher,
    /// The lowest key the page may read.
    pub low: i64,
    /// The highest key the page may read: below the cursor, at or before `until`.
    pub high: i64,
    /// The sender filter, lowercased as ids are stored.
    from: Option<String>,
    /// The content kinds filter, lowercased.
    types: HashSet<String>,
}

impl<'q> Plan<'q> {
    /// The plan of a page of `query` below `cursor`; `None` when no key can match (an
    /// empty time range, or a cursor at its start). An error for a text that is not a
    /// search: a bad regular expression, or nothing to look for.
    pub fn new(
        query: &'q SearchQuery,
        cursor: Option<SearchCursor>,
    ) -> Result<Option<Plan<'q>>, StoreError> {
        let matcher = if query.regex {
            Matcher::pattern(&query.text).map_err(|e| StoreError::BadSearch(e.to_string()))?
        } else {
            Matcher::substring(&query.text)
                .ok_or_else(|| StoreError::BadSearch("nothing to search for".into()))?
        };
        let low = query.since.map_or(0, time_key);
        let mut high = query
            .until
            .map_or(i64::MAX, |t| time_key(t) | ((1 << TIE_BITS) - 1));
        if let Some(SearchCursor(below)) = cursor {
            high = high.min(below.saturating_sub(1));
        }
        if low > high || query.since.zip(query.until).is_some_and(|(s, u)| s > u) {
            return Ok(None);
        }
        Ok(Some(Plan {
            query,
            matcher,
            low,
            high,
            from: query.from.as_deref().map(str::to_ascii_lowercase),
            types: query.types.iter().map(|t| t.to_ascii_lowercase()).collect(),
        }))
    }

    /// Whether a found message passes the sender, kind and time filters.
    pub fn wants(&self, hit: &SearchHit) -> bool {
        self.from.as_ref().is_none_or(|f| *f == hit.from)
            && (self.types.is_empty() || self.types.contains(&hit.type_name))
            && self.query.since.is_none_or(|s| hit.time >= s)
            && self.query.until.is_none_or(|u| hit.time <= u)
    }
}

/// The text search looks at in a message, when it has any.
pub(crate) fn searchable_text(message: &Message) -> Option<String> {
    let parts: Vec<&str> = match &message.content {
        Content::Text { text } => vec![text],
        Content::Image { file, .. }
        | Content::Video { file, .. }
        | Content::Audio { file, .. }
        | Content::File { file } => vec![&file.filename],
        Content::Location {
            address, building, ..
        } => vec![address, building.as_deref().unwrap_or_default()],
        Content::Combined {
            title,
            summary,
            text,
            ..
        } => vec![title, summary, text],
        Content::Command { .. } | Content::Custom { .. } => Vec::new(),
    };
    let text = parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    (!text.is_empty()).then_some(text)
}

/// The lowest key of a time.
pub(crate) fn time_key(time: i64) -> i64 {
    time.clamp(0, MAX_KEYED_TIME) << TIE_BITS
}

/// Adds a message's searchable text (`msg` is the stored id) and indexes it. Its key is its
/// time and the low bits of its id, moved up past keys already taken. The index row is
/// written here rather than by a trigger on `search_docs`: FTS5 takes rows written by a
/// trigger about five times slower (measured with SQLite 3.40: 10,000 against 48,000 rows
/// a second), and import writes every message through here.
pub(crate) fn add_doc(
    conn: &Connection,
    msg: i64,
    conv: i64,
    time: i64,
    text: &str,
) -> Result<(), StoreError> {
    let mut key = time_key(time) | (msg & ((1 << TIE_BITS) - 1));
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO search_docs(key, msg, conv, text) VALUES (?1, ?2, ?3, ?4)",
    )?;
    // Each try moves past one taken key; the table holds fewer keys than i64 has.
    while insert.execute(params![key, msg, conv, text])? == 0 {
        if conn
            .prepare_cached("SELECT 1 FROM search_docs WHERE msg = ?1")?
            .exists([msg])?
        {
            return Ok(());
        }
        key = key.checked_add(1).ok_or(StoreError::BadMessage {
            id: id_from_sql(msg),
            reason: "no search key left".into(),
        })?;
    }
    conn.prepare_cached("INSERT INTO search_index(rowid, text) VALUES (?1, ?2)")?
        .execute(params![key, text])?;
    Ok(())
}

/// Indexes every stored message (the migration to schema step 7). Messages whose stored
/// JSON no longer reads are left out, as their pages leave them out.
pub(crate) fn index_existing(conn: &Connection) -> rusqlite::Result<()> {
    let mut read =
        conn.prepare("SELECT id, conv, chat_type, sender, receiver, time, json FROM messages")?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let time: i64 = r.get(5)?;
        let message = message_from_row(
            id,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            time,
            r.get_ref(6)?.as_str().map_err(rusqlite::Error::from)?,
        );
        if let Some(text) = message.ok().as_ref().and_then(searchable_text) {
            add_doc(conn, id, r.get(1)?, time, &text).map_err(|e| match e {
                StoreError::Sqlite(e) => e,
                other => rusqlite::Error::ToSqlConversionFailure(Box::new(other)),
            })?;
        }
    }
    Ok(())
}

/// The part of `text` around `range`, and where the match is in it.
pub(crate) fn snippet(text: &str, range: Range<usize>) -> (String, Range<usize>) {
    let start = text[..range.start]
        .char_indices()
        .rev()
        .nth(SNIPPET_CONTEXT - 1)
        .map_or(0, |(i, _)| i);
    let end = text[range.end..]
        .char_indices()
        .nth(SNIPPET_CONTEXT)
        .map_or(text.len(), |(i, _)| range.end + i);
    let mut out = String::with_capacity(end - start + 6);
    if start > 0 {
        out.push('…');
    }
    let offset = out.len();
    out.push_str(&text[start..end]);
    if end < text.len() {
        out.push('…');
    }
    (
        out,
        range.start - start + offset..range.end - start + offset,
    )
}

/// How the candidates of a page are walked.
enum Walk {
    /// The trigram index, for the needle as an FTS5 phrase.
    Index(String),
    /// `search_docs` by key, with SQLite's substring test when it has one.
    Scan(Option<(String, bool)>),
}

impl Store {
    /// One page of hits for `query`, newest first, starting below `cursor` (from the top
    /// without one). At most `limit` hits (1 to [`MAX_PAGE`]); fewer, with a cursor, when
    /// the page's budget of rows ran out first.
    pub fn search(
        &self,
        query: &SearchQuery,
        cursor: Option<SearchCursor>,
        limit: usize,
    ) -> Result<SearchPage, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let Some(plan) = Plan::new(query, cursor)? else {
            return Ok(SearchPage::default());
        };
        let matcher = &plan.matcher;
        let convs = self.conversation_rows(&query.conversations)?;
        if !query.conversations.is_empty() && convs.is_empty() {
            return Ok(SearchPage::default());
        }

        let walk = match matcher {
            Matcher::Pattern(_) => Walk::Scan(None),
            // Neither an FTS5 phrase nor `instr` takes a NUL: only the matcher can tell.
            _ if query.text.contains('\0') => Walk::Scan(None),
            _ if query.text.chars().count() >= 3 => {
                Walk::Index(format!("\"{}\"", query.text.replace('"', "\"\"")))
            }
            m => Walk::Scan(m.sql_filter().map(|(n, lowered)| (n.to_string(), lowered))),
        };
        let one_conv = match convs.as_slice() {
            [only] => Some(*only),
            _ => None,
        };
        let mut sql = String::from("SELECT d.key, d.msg, d.conv, d.text FROM ");
        let mut args: Vec<SqlValue> = vec![plan.low.into(), plan.high.into()];
        match &walk {
            Walk::Index(phrase) => {
                sql.push_str(
                    "search_index s JOIN search_docs d ON d.key = s.rowid
                     WHERE s.rowid BETWEEN ?1 AND ?2 AND search_index MATCH ?3",
                );
                args.push(phrase.clone().into());
            }
            Walk::Scan(filter) => {
                sql.push_str("search_docs d WHERE d.key BETWEEN ?1 AND ?2");
                if let Some((needle, lowered)) = filter {
                    sql.push_str(if *lowered {
                        " AND instr(lower(d.text), ?3) > 0"
                    } else {
                        " AND instr(d.text, ?3) > 0"
                    });
                    args.push(needle.clone().into());
                }
            }
        }
        if let Some(conv) = one_conv {
            sql.push_str(&format!(" AND d.conv = ?{}", args.len() + 1));
            args.push(conv.into());
        }
        sql.push_str(match walk {
            Walk::Index(_) => " ORDER BY s.rowid DESC",
            Walk::Scan(_) => " ORDER BY d.key DESC",
        });

        let convs: HashSet<i64> = convs.into_iter().collect();
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(args))?;
        let mut page = SearchPage::default();
        let mut spent = 0usize;
        while let Some(r) = rows.next()? {
            let key: i64 = r.get(0)?;
            if page.hits.len() == limit {
                page.next = Some(SearchCursor(key + 1));
                break;
            }
            if spent == SCAN_BUDGET {
                page.next = Some(SearchCursor(key + 1));
                break;
            }
            let conv: i64 = r.get(2)?;
            let text = r.get_ref(3)?.as_str().map_err(rusqlite::Error::from)?;
            let found = if convs.is_empty() || convs.contains(&conv) {
                matcher.find(text)
            } else {
                None
            };
            let hit = match found {
                Some(range) => self.hit(r.get(1)?, text, range)?,
                None => None,
            };
            let wanted = hit.filter(|hit| plan.wants(hit));
            match wanted {
                Some(hit) => page.hits.push(hit),
                None => spent += 1,
            }
        }
        Ok(page)
    }

    /// A found message as a hit; `None` when its message is gone.
    fn hit(
        &self,
        msg: i64,
        text: &str,
        range: Range<usize>,
    ) -> Result<Option<SearchHit>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT m.chat_type, m.sender, m.receiver, m.time, m.type, c.key
                 FROM messages m JOIN convs c ON c.id = m.conv WHERE m.id = ?1",
            )?
            .query_row([msg], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .optional()?;
        let Some((kind, from, to, time, type_name, key)) = row else {
            return Ok(None);
        };
        let (snippet, matched) = snippet(text, range);
        Ok(Some(SearchHit {
            id: id_from_sql(msg),
            conversation: conversation_name(&key),
            kind: kind_from_sql(kind),
            from,
            to,
            time,
            type_name,
            snippet,
            matched,
        }))
    }

    /// The row ids of conversations named as [`SearchQuery::conversations`] names them;
    /// names that are no conversation are left out.
    pub(crate) fn conversation_rows(&self, names: &[String]) -> Result<Vec<i64>, StoreError> {
        let mut find = self
            .conn
            .prepare_cached("SELECT id FROM convs WHERE key = ?1")?;
        let mut out = Vec::new();
        for name in names {
            let name = name.trim().to_ascii_lowercase();
            let key = match name.split_once('|') {
                Some((a, b)) => super::schema::single_key(a, b),
                None => super::schema::conference_key(&name),
            };
            if let Some(id) = find.query_row([key], |r| r.get(0)).optional()?
                && !out.contains(&id)
            {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The conversations an id given on a command line may mean, as
    /// [`SearchQuery::conversations`] names them. Seen by `user`: their single chat with
    /// that peer, or that group or room. Without a user: a group or room of that id, a
    /// single chat given as `alice|bob`, or every single chat of that user.
    pub fn find_conversations(
        &self,
        user: Option<&str>,
        id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let id = id.trim().to_ascii_lowercase();
        let exists = |name: &str| -> Result<bool, StoreError> {
            Ok(!self.conversation_rows(&[name.to_string()])?.is_empty())
        };
        if let Some(user) = user {
            let user = user.to_ascii_lowercase();
            let pair = format!("{user}|{id}");
            return Ok([pair, id.clone()]
                .into_iter()
                .filter(|n| exists(n).unwrap_or(false))
                .take(1)
                .collect());
        }
        if id.contains('|') || exists(&id)? {
            return Ok(if exists(&id)? { vec![id] } else { Vec::new() });
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.key FROM user_convs uc JOIN convs c ON c.id = uc.conv
             WHERE uc.user = ?1 AND c.kind = 0 ORDER BY c.key",
        )?;
        let keys = stmt
            .query_map([&id], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(keys.iter().map(|k| conversation_name(k)).collect())
    }

    /// A message by id, when stored.
    pub fn message(&self, id: u64) -> Result<Option<Message>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT chat_type, sender, receiver, time, json FROM messages WHERE id = ?1",
            )?
            .query_row([id_to_sql(id)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .optional()?;
        row.map(|(kind, from, to, time, json)| {
            message_from_row(id_to_sql(id), kind, from, to, time, &json)
        })
        .transpose()
    }
}

/// A conversation key (`u:alice|bob`, `g:team`) as search names it.
pub(crate) fn conversation_name(key: &str) -> String {
    key.split_once(':')
        .map_or(key, |(_, rest)| rest)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_keep_the_match_range_and_mark_cuts() {
        let text = format!("{}退避{}", "前".repeat(50), "後".repeat(50));
        let start = text.find("退避").expect("there");
        let (s, r) = snippet(&text, start..start + "退避".len());
        assert_eq!(&s[r.clone()], "退避");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        let (s, r) = snippet("abc", 1..2);
        assert_eq!((s.as_str(), r), ("abc", 1..2));
    }

    #[test]
    fn keys_order_by_time_and_clamp() {
        assert!(time_key(1) > time_key(0));
        assert_eq!(time_key(-5), 0);
        assert_eq!(time_key(i64::MAX), MAX_KEYED_TIME << TIE_BITS);
        assert!(time_key(i64::MAX) > 0);
    }
}
