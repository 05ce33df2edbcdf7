//! Search on PostgreSQL: the SQLite store's search ([`crate::store::search`]) with the same
//! hits, order, snippets and cursors.
//!
//! Each message with searchable text has one row of `search_docs` (schema step 4): its
//! key (the SQLite store's `time << 8 | tie`, given out the same way, so key order is time
//! order and a cursor is a key), the text, and the text folded as
//! [`crate::store::search::fold`] folds it. The folded text is what the database tests:
//! a substring of the folded text is exactly what [`Matcher`] finds, whatever the
//! database's locale thinks of letter case. A page walks keys downwards from its cursor:
//! - a needle with 3 or more word characters in a row, when the `pg_trgm` extension is
//!   there, goes through the GIN trigram index on the folded text (`LIKE '%needle%'`);
//! - a needle of 1 or 2 characters (trigrams cannot find them), a needle `pg_trgm` takes
//!   no trigram from, any needle without the extension, and every regular expression
//!   walk `search_docs` by key, inside one
//!   conversation when the search is in one, at most a budget of rows per page; the
//!   substring test is done by the database, a regular expression here with the same
//!   `regex` engine as the SQLite store.
//!
//! Every candidate is checked by [`Matcher`], which also finds where the match is. Rows
//! walked and candidates that fail the other filters cost at most [`SCAN_BUDGET`] per
//! page: a page may come back short with a cursor, never after an unbounded walk.
//!
//! The documents and the trigram index are written by [`docs`].

use std::collections::{HashMap, HashSet};

use tokio_postgres::types::ToSql;

use super::{PgError, PgStore};
use crate::store::StoreError;
use crate::store::schema::{conference_key, id_from_sql, kind_from_sql, single_key};
use crate::store::search::{
    MAX_PAGE, Matcher, Plan, SCAN_BUDGET, SearchCursor, SearchHit, SearchPage, SearchQuery,
    conversation_name, snippet,
};

mod docs;

use docs::without_nul;
pub(super) use docs::{Doc, add_docs, defer_trigram_index, index_existing, make_trigram_index};

/// The GIN trigram index on `search_docs.folded`, made when `pg_trgm` can be had.
pub const TRIGRAM_INDEX: &str = "search_docs_trgm";

/// Rows the first read of a walk asks for; each further read asks for twice as many, up
/// to [`MAX_CHUNK`], so a page that fills at once reads little and one that does not
/// takes few round trips.
const FIRST_CHUNK: usize = 256;

/// The most rows one read of a walk asks for.
const MAX_CHUNK: usize = 16_384;

fn db(e: tokio_postgres::Error) -> StoreError {
    StoreError::from(PgError::from(e))
}

/// What the database offers a needle: whether the trigram index is there, and whether
/// `pg_trgm` sees only ASCII letters and digits as word characters (a database whose
/// `LC_CTYPE` is `C` or `POSIX`).
#[derive(Clone, Copy)]
struct Trigrams {
    index: bool,
    ascii_words: bool,
}

impl Trigrams {
    async fn of(client: &tokio_postgres::Client) -> Result<Trigrams, StoreError> {
        let row = client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL, datctype IN ('C', 'POSIX')
                 FROM pg_database WHERE datname = current_database()",
                &[&TRIGRAM_INDEX],
            )
            .await
            .map_err(db)?;
        Ok(Trigrams {
            index: row.try_get(0).map_err(db)?,
            ascii_words: row.try_get(1).map_err(db)?,
        })
    }

    /// The walk for a matcher. The index only for a needle with a run of 3 or more word
    /// characters: `pg_trgm` takes trigrams from words only, and a pattern it gets none
    /// from would read the whole index and every row (a CJK needle under the `C` locale,
    /// `a.b`); such needles walk by key within the budget instead.
    fn walk(self, matcher: &Matcher) -> Walk {
        let Some(needle) = matcher.folded_needle() else {
            return Walk::Scan(None);
        };
        let word = |c: char| c.is_alphanumeric() && (c.is_ascii() || !self.ascii_words);
        let indexable = needle
            .split(|c: char| !word(c))
            .any(|run| run.chars().count() >= 3);
        // A NUL walks, as on SQLite (where neither index nor `instr` takes one), so
        // pages stop where SQLite's do.
        let indexable = indexable && !needle.contains('\0');
        let needle = without_nul(needle);
        if self.index && indexable {
            Walk::Index(like_anywhere(&needle))
        } else {
            Walk::Scan(Some(needle.into_owned()))
        }
    }
}

/// How the candidates of a page are walked.
enum Walk {
    /// The trigram index, for this `LIKE` pattern of the folded needle.
    Index(String),
    /// `search_docs` by key, with the database's substring test of the folded needle
    /// when there is one (not for a regular expression).
    Scan(Option<String>),
}

/// A needle as a `LIKE` pattern that finds it anywhere (`\` is `LIKE`'s escape).
fn like_anywhere(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The statement that reads up to `$4` candidates at or below key `$2` (and at or above
/// `$1`), newest first. Columns: key, msg, conv, text, chat_type, sender, receiver, time,
/// type, conversation key, whether the row is a candidate (a walked row that fails the
/// database's test comes back without its text, so the walk can go on below it), and
/// the text as written when it holds a NUL (see [`without_nul`]).
fn walk_sql(walk: &Walk, one_conv: bool) -> String {
    let conv = if one_conv { " AND conv = $5" } else { "" };
    let inner = match walk {
        Walk::Index(_) => format!(
            "SELECT key, msg, conv, text, raw, TRUE AS hit FROM search_docs
             WHERE key BETWEEN $1 AND $2 AND folded LIKE $3{conv}
             ORDER BY key DESC LIMIT $4"
        ),
        Walk::Scan(filter) => {
            // Without a needle ($3 is NULL) every row walked is a candidate.
            let test = if filter.is_some() {
                "strpos(folded, $3) > 0"
            } else {
                "$3::text IS NULL"
            };
            format!(
                "SELECT key, msg, conv, text, raw, {test} AS hit FROM search_docs
                 WHERE key BETWEEN $1 AND $2{conv}
                 ORDER BY key DESC LIMIT $4"
            )
        }
    };
    format!(
        "SELECT d.key, d.msg, d.conv, CASE WHEN d.hit THEN d.text END,
                m.chat_type, m.sender, m.receiver, m.time, m.type, c.key, d.hit,
                CASE WHEN d.hit THEN d.raw END
         FROM ({inner}) d
         LEFT JOIN messages m ON d.hit AND m.id = d.msg
         LEFT JOIN convs c ON d.hit AND c.id = d.conv
         ORDER BY d.key DESC"
    )
}

impl PgStore {
    /// One page of hits for `query`, newest first, starting below `cursor`, as
    /// [`crate::store::Store::search`]: at most `limit` hits (1 to [`MAX_PAGE`]); fewer,
    /// with a cursor, when the page's budget of rows ran out first.
    pub async fn search(
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
        let (low, mut high) = (plan.low, plan.high);
        let client = self.client().await?;
        let convs = conversation_rows(&client, &query.conversations).await?;
        if !query.conversations.is_empty() && convs.is_empty() {
            return Ok(SearchPage::default());
        }

        let walk = Trigrams::of(&client).await?.walk(matcher);
        let one_conv = match convs.as_slice() {
            [only] => Some(*only),
            _ => None,
        };
        // Prepared for this page only: the planner sees the pattern, and a generic plan
        // never turns a rare needle's index lookup into a walk of every row.
        let stmt = client
            .prepare(&walk_sql(&walk, one_conv.is_some()))
            .await
            .map_err(db)?;
        let needle: Option<&str> = match &walk {
            Walk::Index(p) => Some(p),
            Walk::Scan(n) => n.as_deref(),
        };
        // Where a full page stops, and so its cursor, as on SQLite: at the next row its
        // walk reads. That is the next candidate when SQLite's walk tests the needle
        // itself (its trigram index, or `instr` for 1 or 2 characters the database can
        // compare); every row when only the matcher can tell (a regular expression, or
        // 1 or 2 characters folded beyond ASCII, or a NUL). Rows the database test
        // turned down still spend budget here, so the walk stays bounded.
        let every_row_read = query.regex
            || query.text.contains('\0')
            || (query.text.chars().count() < 3 && matcher.sql_filter().is_none());
        let convs: HashSet<i64> = convs.into_iter().collect();
        let mut page = SearchPage::default();
        let mut spent = 0usize;
        let mut chunk = FIRST_CHUNK;
        // Each read either comes back short (the walk is done) or moves `high` below
        // its last row; each row either ends the page, becomes a hit (at most `limit`)
        // or spends budget (at most SCAN_BUDGET): the reads end.
        loop {
            let most = (limit - page.hits.len()) + (SCAN_BUDGET - spent) + 1;
            let ask = chunk.max(limit - page.hits.len() + 1).min(most) as i64;
            chunk = (chunk * 2).min(MAX_CHUNK);
            let mut args: Vec<&(dyn ToSql + Sync)> = vec![&low, &high, &needle, &ask];
            if let Some(conv) = &one_conv {
                args.push(conv);
            }
            let rows = client.query(&stmt, &args).await.map_err(db)?;
            for r in &rows {
                let key: i64 = r.try_get(0).map_err(db)?;
                let candidate: bool = r.try_get(10).map_err(db)?;
                let full = page.hits.len() == limit && (candidate || every_row_read);
                if full || spent == SCAN_BUDGET {
                    page.next = Some(SearchCursor(key.saturating_add(1)));
                    return Ok(page);
                }
                let conv: i64 = r.try_get(2).map_err(db)?;
                let raw: Option<&[u8]> = r.try_get(11).map_err(db)?;
                let text: Option<&str> = match raw {
                    Some(raw) => std::str::from_utf8(raw).ok(),
                    None => r.try_get(3).map_err(db)?,
                };
                let found = match text {
                    Some(text) if candidate && (convs.is_empty() || convs.contains(&conv)) => {
                        matcher.find(text).map(|range| (text, range))
                    }
                    _ => None,
                };
                let hit = match found {
                    Some((text, range)) => hit_of(r, text, range)?,
                    None => None,
                };
                let wanted = hit.filter(|hit| plan.wants(hit));
                match wanted {
                    Some(hit) => page.hits.push(hit),
                    None => spent += 1,
                }
            }
            let last = match rows.last() {
                Some(r) if rows.len() as i64 == ask => r.try_get::<_, i64>(0).map_err(db)?,
                _ => return Ok(page),
            };
            high = last - 1;
            if high < low {
                return Ok(page);
            }
        }
    }

    /// The conversations an id given on a command line may mean, as
    /// [`crate::store::Store::find_conversations`].
    pub async fn find_conversations(
        &self,
        user: Option<&str>,
        id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let client = &self.client().await?;
        let id = id.trim().to_ascii_lowercase();
        if let Some(user) = user {
            let user = user.to_ascii_lowercase();
            for name in [format!("{user}|{id}"), id.clone()] {
                if !conversation_rows(client, std::slice::from_ref(&name))
                    .await?
                    .is_empty()
                {
                    return Ok(vec![name]);
                }
            }
            return Ok(Vec::new());
        }
        let exists = !conversation_rows(client, std::slice::from_ref(&id))
            .await?
            .is_empty();
        if exists {
            return Ok(vec![id]);
        }
        if id.contains('|') {
            return Ok(Vec::new());
        }
        // Byte order, as the SQLite store sorts them, whatever the database's collation.
        let rows = client
            .query(
                "SELECT c.key FROM user_convs uc JOIN convs c ON c.id = uc.conv
                 WHERE uc.\"user\" = $1 AND c.kind = 0 ORDER BY c.key COLLATE \"C\"",
                &[&id],
            )
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| Ok(conversation_name(r.try_get::<_, &str>(0).map_err(db)?)))
            .collect()
    }

    /// The plan PostgreSQL makes for the first read of a search page (`EXPLAIN`), for
    /// tests and tuning: whether a needle goes through the trigram index.
    pub async fn search_plan(&self, query: &SearchQuery) -> Result<String, StoreError> {
        let client = self.client().await?;
        let matcher = Matcher::substring(&query.text)
            .ok_or_else(|| StoreError::BadSearch("nothing to search for".into()))?;
        let walk = Trigrams::of(&client).await?.walk(&matcher);
        let needle = match &walk {
            Walk::Index(p) | Walk::Scan(Some(p)) => p.clone(),
            Walk::Scan(None) => String::new(),
        };
        let ask = (FIRST_CHUNK as i64) + 1;
        let rows = client
            .query(
                &format!("EXPLAIN {}", walk_sql(&walk, false)),
                &[&0_i64, &i64::MAX, &needle, &ask],
            )
            .await
            .map_err(db)?;
        let lines: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<_, String>(0))
            .collect::<Result<_, _>>()
            .map_err(db)?;
        Ok(lines.join("\n"))
    }
}

/// A found row as a hit; `None` when its message is gone.
fn hit_of(
    r: &tokio_postgres::Row,
    text: &str,
    range: std::ops::Range<usize>,
) -> Result<Option<SearchHit>, StoreError> {
    let Some(kind) = r.try_get::<_, Option<i16>>(4).map_err(db)? else {
        return Ok(None);
    };
    let Some(key) = r.try_get::<_, Option<&str>>(9).map_err(db)? else {
        return Ok(None);
    };
    let (snippet, matched) = snippet(text, range);
    Ok(Some(SearchHit {
        id: id_from_sql(r.try_get(1).map_err(db)?),
        conversation: conversation_name(key),
        kind: kind_from_sql(i64::from(kind)),
        from: r.try_get(5).map_err(db)?,
        to: r.try_get(6).map_err(db)?,
        time: r.try_get(7).map_err(db)?,
        type_name: r.try_get(8).map_err(db)?,
        snippet,
        matched,
    }))
}

/// The row ids of conversations named as [`SearchQuery::conversations`] names them, in
/// the order named, each once; names that are no conversation are left out.
async fn conversation_rows(
    client: &deadpool_postgres::Client,
    names: &[String],
) -> Result<Vec<i64>, StoreError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = names
        .iter()
        .map(|name| {
            let name = name.trim().to_ascii_lowercase();
            match name.split_once('|') {
                Some((a, b)) => single_key(a, b),
                None => conference_key(&name),
            }
        })
        .collect();
    let stmt = client
        .prepare_cached("SELECT key, id FROM convs WHERE key = ANY($1)")
        .await
        .map_err(db)?;
    let found: HashMap<String, i64> = client
        .query(&stmt, &[&keys])
        .await
        .map_err(db)?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(db)?;
    let mut out = Vec::new();
    for key in &keys {
        if let Some(id) = found.get(key)
            && !out.contains(id)
        {
            out.push(*id);
        }
    }
    Ok(out)
}
