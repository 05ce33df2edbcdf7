//! One page of a conversation's history, filters included, at a bounded cost.
//!
//! A page walks `timeline` in (time, id) order from the cursor, by the path that makes the
//! filters part of the walk rather than a test of every message:
//! - no type or sender filter: the timeline itself;
//! - types only: one walk per type over `timeline_by_type`, merged; each stops after a page
//!   and one, so a type that matches nothing costs one index probe;
//! - a sender, with or without types: `timeline_by_sender`, types checked in the index.
//!
//! The time bounds are ranges of every walk. Only the last walk may pass rows it does not
//! keep (a sender's messages of other types), and it looks at no more than the store's
//! scan budget of rows. When the budget is spent before the page is full, the page is
//! returned short with a cursor at the row where the walk stopped: PROTOCOL.md §4 lets a
//! page hold fewer messages than asked, and clients page on `is_last` and `next_key`. The
//! cursor always moves forward, since every request walks at least one row.

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, params, params_from_iter};

use super::schema::{conference_key, id_from_sql, id_to_sql, kind_from_sql, single_key};
use super::{Store, StoreError, check_id, message_from_row};
use crate::protocol::{
    ChatType, Direction, EntryHead, HistoryFilters, HistoryPage, HistoryQuery, Message,
    encode_body_tail, write_meta,
};

/// How many timeline rows a page request may pass over without keeping them, unless
/// [`Store::set_scan_budget`] says otherwise. About a few milliseconds of work.
pub const DEFAULT_SCAN_BUDGET: usize = 20_000;

/// Every content type name the store writes (`Content::type_name`): a filter naming
/// anything else matches nothing, and needs no walk.
const TYPE_NAMES: [&str; 9] = [
    "txt", "img", "video", "audio", "file", "loc", "cmd", "custom", "combine",
];

/// One page of history entries as the server sends them ([`Store::history_entries`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryPage {
    /// The protobuf bytes of each entry's `Meta`, back to back: one buffer for the page
    /// rather than one per message.
    pub(crate) bytes: Vec<u8>,
    /// Where each entry ends in `bytes`.
    pub(crate) ends: Vec<usize>,
    /// The id of the next page's first message; `None` on the last page.
    pub next_cursor: Option<u64>,
    /// No more pages in this direction.
    pub is_last: bool,
}

impl EntryPage {
    /// A page of the given entries (each the protobuf bytes of one `Meta`).
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = &'a [u8]>,
        next_cursor: Option<u64>,
        is_last: bool,
    ) -> EntryPage {
        let mut page = EntryPage {
            bytes: Vec::new(),
            ends: Vec::new(),
            next_cursor,
            is_last,
        };
        for entry in entries {
            page.bytes.extend_from_slice(entry);
            page.ends.push(page.bytes.len());
        }
        page
    }

    /// The entries in page order, each the protobuf bytes of one `Meta`.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        (0..self.ends.len()).map(|i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.bytes[start..self.ends[i]]
        })
    }

    /// All entries' bytes together, for sizing what is built from them.
    pub fn total_bytes(&self) -> usize {
        self.bytes.len()
    }
}

/// A position in a conversation: (time, stored id).
pub(crate) type Position = (i64, i64);

/// The bounds every walk of one request shares.
pub(crate) struct Range {
    pub(crate) conv: i64,
    pub(crate) up: bool,
    /// Inclusive: the cursor is the first message of the page.
    pub(crate) from: Option<Position>,
    pub(crate) start_time: Option<i64>,
    pub(crate) end_time: Option<i64>,
}

/// What one walk found: up to `want` matches in walk order, and where the next page
/// starts (the next match, or the row where the budget ran out); `None` at the end.
pub(crate) struct Walked {
    pub(crate) hits: Vec<Position>,
    pub(crate) next: Option<Position>,
}

/// The known types a filter names, each once: empty keeps every type; `None` when it
/// names only types that do not exist, so nothing can match.
pub(crate) fn kept_types(filters: &HistoryFilters) -> Option<Vec<&'static str>> {
    let mut types: Vec<&'static str> = Vec::new();
    for t in &filters.types {
        if let Some(known) = TYPE_NAMES.iter().find(|k| **k == t.as_str())
            && !types.contains(known)
        {
            types.push(known);
        }
    }
    if !filters.types.is_empty() && types.is_empty() {
        return None;
    }
    Some(types)
}

/// The page among several walks' first pages and one (each in walk order): merged in
/// the walk's order, cut at `want`, the next position after it.
pub(crate) fn merge_walks(mut found: Vec<Position>, up: bool, want: usize) -> Walked {
    found.sort_unstable();
    if up {
        found.reverse();
    }
    let next = found.get(want).copied();
    found.truncate(want);
    Walked { hits: found, next }
}

/// The page size a request may ask for.
pub(crate) fn check_page_size(size: u32) -> Result<(), StoreError> {
    if (1..=50).contains(&size) {
        Ok(())
    } else {
        Err(StoreError::BadPageSize(size))
    }
}

impl Store {
    /// Sets how many rows one page request may pass over without keeping them (at least
    /// one, so every request moves on). For tests and tuning; the default is
    /// [`DEFAULT_SCAN_BUDGET`].
    pub fn set_scan_budget(&mut self, rows: usize) {
        self.scan_budget = rows.max(1);
    }

    /// One page of a conversation's history for `user`.
    ///
    /// Order is (timestamp, id); `Up` goes newest first, `Down` oldest first. The cursor is
    /// the decimal id of the first message of the page (what the previous page returned as
    /// `next_cursor`), inclusive. Groups and rooms share a key space, as they share the
    /// queue domain: `kind` `Group` or `Room` reads the same conversation. A filtered page
    /// may be short, even empty, and still not the last (see the module documentation).
    pub fn history(&self, user: &str, q: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        let Some(walked) = self.page_walk(user, q)? else {
            return Ok(last_page(Vec::new()));
        };
        let mut messages = Vec::with_capacity(walked.hits.len());
        for (_, id) in &walked.hits {
            messages.push(self.stored_message(*id)?);
        }
        Ok(match walked.next {
            None => last_page(messages),
            Some((_, id)) => HistoryPage {
                messages,
                next_cursor: Some(id_from_sql(id).to_string()),
                is_last: false,
                undecodable: 0,
            },
        })
    }

    /// The page [`Store::history`] reads, as the server sends it: each message's history
    /// entry (the protobuf bytes of its `Meta`, PROTOCOL.md §5) for `appkey`, built from
    /// its stored columns and entry body without reading its JSON form.
    pub fn history_entries(
        &self,
        user: &str,
        q: &HistoryQuery,
        appkey: &str,
    ) -> Result<EntryPage, StoreError> {
        let mut page = EntryPage {
            bytes: Vec::new(),
            ends: Vec::new(),
            next_cursor: None,
            is_last: true,
        };
        // One read transaction for the page's fifty-odd statements: one snapshot, and one
        // WAL read lock taken and released instead of one per statement. Dropped, it ends
        // (nothing was written).
        let read = self.conn.unchecked_transaction()?;
        let Some(walked) = self.page_walk(user, q)? else {
            return Ok(page);
        };
        page.bytes.reserve(walked.hits.len() * 256);
        page.ends.reserve(walked.hits.len());
        let mut stmt = self.conn.prepare_cached(
            "SELECT chat_type, sender, receiver, time, body FROM messages WHERE id = ?1",
        )?;
        for (_, id) in &walked.hits {
            let mut rows = stmt.query([id])?;
            let Some(r) = rows.next()? else {
                return Err(not_stored(*id));
            };
            let tail = r
                .get_ref(4)?
                .as_blob_or_null()
                .map_err(rusqlite::Error::from)?;
            match tail {
                Some(tail) => {
                    let head = EntryHead {
                        id: id_from_sql(*id),
                        time: r.get(3)?,
                        chat_type: kind_from_sql(r.get(0)?),
                        from: r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?,
                        to: r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?,
                    };
                    write_meta(&head, appkey, tail, &mut page.bytes);
                }
                // Written before bodies were stored and unreadable then: the JSON form
                // says why.
                None => {
                    drop(rows);
                    let message = self.stored_message(*id)?;
                    let head = EntryHead {
                        id: message.id,
                        time: message.time,
                        chat_type: message.chat_type,
                        from: &message.from,
                        to: &message.to,
                    };
                    write_meta(&head, appkey, &encode_body_tail(&message), &mut page.bytes);
                }
            }
            page.ends.push(page.bytes.len());
        }
        if let Some((_, id)) = walked.next {
            page.next_cursor = Some(id_from_sql(id));
            page.is_last = false;
        }
        drop(stmt);
        read.commit()?;
        Ok(page)
    }

    /// Checks the request and walks to its page: the positions of its messages and of the
    /// next page; `None` when nothing can match (no such conversation, types that do not
    /// exist).
    fn page_walk(&self, user: &str, q: &HistoryQuery) -> Result<Option<Walked>, StoreError> {
        check_page_size(q.page_size)?;
        let user = check_id(user)?;
        let peer = check_id(&q.conversation)?;
        let key = match q.kind {
            ChatType::Single => single_key(&user, &peer),
            ChatType::Group | ChatType::Room => conference_key(&peer),
        };
        let conv: Option<(i64, i64)> = self
            .conn
            .prepare_cached("SELECT id, kind FROM convs WHERE key = ?1")?
            .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((conv, kind)) = conv else {
            return Ok(None);
        };
        if kind_from_sql(kind) == ChatType::Group {
            let allowed = self
                .conn
                .prepare_cached("SELECT 1 FROM user_convs WHERE user = ?1 AND conv = ?2")?
                .exists(params![user, conv])?;
            if !allowed {
                return Err(StoreError::Forbidden {
                    user,
                    conversation: peer,
                });
            }
        }
        let from = match &q.cursor {
            None => None,
            Some(cursor) => {
                let id: u64 = cursor
                    .parse()
                    .map_err(|_| StoreError::BadCursor(cursor.chars().take(40).collect()))?;
                let id = id_to_sql(id);
                let time: Option<i64> = self
                    .conn
                    .prepare_cached("SELECT time FROM messages WHERE id = ?1 AND conv = ?2")?
                    .query_row(params![id, conv], |r| r.get(0))
                    .optional()?;
                let time = time.ok_or_else(|| StoreError::BadCursor(cursor.clone()))?;
                Some((time, id))
            }
        };
        let range = Range {
            conv,
            up: q.direction == Direction::Up,
            from,
            start_time: q.filters.start_time,
            end_time: q.filters.end_time,
        };
        let want = q.page_size as usize;

        let Some(types) = kept_types(&q.filters) else {
            return Ok(None);
        };
        let sender = q
            .filters
            .sender
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase);

        let walked = match (sender, types.as_slice()) {
            (Some(sender), types) => {
                let keep = (!types.is_empty()).then_some(types);
                self.walk(
                    "timeline_by_sender",
                    ("sender", sender.as_str()),
                    keep,
                    &range,
                    want,
                )?
            }
            (None, []) => self.walk("timeline", ("", ""), None, &range, want)?,
            (None, [one]) => self.walk("timeline_by_type", ("type", one), None, &range, want)?,
            (None, several) => {
                // Each type's first page and one, merged: the page is among them.
                let mut found = Vec::new();
                for t in several {
                    let w = self.walk("timeline_by_type", ("type", t), None, &range, want)?;
                    found.extend(w.hits);
                    found.extend(w.next);
                }
                merge_walks(found, range.up, want)
            }
        };
        Ok(Some(walked))
    }

    /// Walks one index of the timeline within `range`: the conversation, then `column` =
    /// `value` when a column is named. With `keep`, only rows of those types count, and
    /// the walk passes over at most the scan budget of rows.
    fn walk(
        &self,
        index: &str,
        (column, value): (&str, &str),
        keep: Option<&[&str]>,
        range: &Range,
        want: usize,
    ) -> Result<Walked, StoreError> {
        // Without a type check every row is kept: a page and one tells where the next
        // page starts. With one, the budget and one tells where the walk stopped.
        let budget = if keep.is_some() {
            self.scan_budget
        } else {
            want + 1
        };
        let (sql, args) = walk_sql(index, (column, value), keep, range, budget + 1);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(args))?;
        let mut hits = Vec::with_capacity(want);
        let mut passed = 0;
        while let Some(r) = rows.next()? {
            let at: Position = (r.get(0)?, r.get(1)?);
            if passed == budget {
                return Ok(Walked {
                    hits,
                    next: Some(at),
                });
            }
            passed += 1;
            if !r.get::<_, bool>(2)? {
                continue;
            }
            if hits.len() == want {
                return Ok(Walked {
                    hits,
                    next: Some(at),
                });
            }
            hits.push(at);
        }
        Ok(Walked { hits, next: None })
    }

    /// A stored message by its stored id.
    fn stored_message(&self, id: i64) -> Result<Message, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT chat_type, sender, receiver, time, json FROM messages WHERE id = ?1",
        )?;
        let row = stmt
            .query_row([id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .optional()?;
        let Some((chat_type, sender, receiver, time, json)) = row else {
            return Err(not_stored(id));
        };
        message_from_row(id, chat_type, sender, receiver, time, &json)
    }
}

/// The query of one walk, returning (time, id, kept) for at most `limit` rows.
fn walk_sql(
    index: &str,
    (column, value): (&str, &str),
    keep: Option<&[&str]>,
    range: &Range,
    limit: usize,
) -> (String, Vec<SqlValue>) {
    let mut sql = String::from("SELECT time, id, ");
    let mut args: Vec<SqlValue> = Vec::new();
    match keep {
        Some(types) => {
            sql.push_str("type IN (");
            for (i, t) in types.iter().enumerate() {
                sql.push_str(if i == 0 { "?" } else { ", ?" });
                args.push(SqlValue::Text((*t).to_string()));
            }
            sql.push(')');
        }
        None => sql.push('1'),
    }
    // The primary key is the table itself: only secondary indexes are named.
    sql.push_str(" FROM timeline");
    if index != "timeline" {
        sql.push_str(" INDEXED BY ");
        sql.push_str(index);
    }
    sql.push_str(" WHERE conv = ?");
    args.push(SqlValue::Integer(range.conv));
    if !column.is_empty() {
        sql.push_str(" AND ");
        sql.push_str(column);
        sql.push_str(" = ?");
        args.push(SqlValue::Text(value.to_string()));
    }
    if let Some((time, id)) = range.from {
        sql.push_str(if range.up {
            " AND (time, id) <= (?, ?)"
        } else {
            " AND (time, id) >= (?, ?)"
        });
        args.push(SqlValue::Integer(time));
        args.push(SqlValue::Integer(id));
    }
    if let Some(start) = range.start_time {
        sql.push_str(" AND time >= ?");
        args.push(SqlValue::Integer(start));
    }
    if let Some(end) = range.end_time {
        sql.push_str(" AND time <= ?");
        args.push(SqlValue::Integer(end));
    }
    sql.push_str(if range.up {
        " ORDER BY time DESC, id DESC LIMIT ?"
    } else {
        " ORDER BY time ASC, id ASC LIMIT ?"
    });
    args.push(SqlValue::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    (sql, args)
}

pub(crate) fn not_stored(id: i64) -> StoreError {
    StoreError::BadMessage {
        id: id_from_sql(id),
        reason: "in the timeline but not stored".into(),
    }
}

pub(crate) fn last_page(messages: Vec<Message>) -> HistoryPage {
    HistoryPage {
        messages,
        next_cursor: None,
        is_last: true,
        undecodable: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan SQLite picks for a query, one line per step.
    fn plan(store: &Store, sql: &str, args: Vec<SqlValue>) -> String {
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepare");
        let lines: Vec<String> = stmt
            .query_map(params_from_iter(args), |r| r.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        lines.join("\n")
    }

    /// A type filter drops names the store never writes, so the list must name every kind.
    #[test]
    fn type_names_cover_every_kind_of_content() {
        use crate::protocol::{Attachment, Content};
        let file = Attachment {
            url: String::new(),
            secret: None,
            filename: String::new(),
            file_length: None,
        };
        let all = [
            Content::Text {
                text: String::new(),
            },
            Content::Image {
                file: file.clone(),
                size: None,
                gif: false,
            },
            Content::Video {
                file: file.clone(),
                duration: None,
                thumb: None,
                thumb_secret: None,
                size: None,
            },
            Content::Audio {
                file: file.clone(),
                duration: None,
            },
            Content::File { file: file.clone() },
            Content::Location {
                address: String::new(),
                lat: 0.0,
                lng: 0.0,
                building: None,
            },
            Content::Command {
                action: String::new(),
            },
            Content::Custom {
                event: String::new(),
                exts: serde_json::Map::new(),
            },
            Content::Combined {
                title: String::new(),
                summary: String::new(),
                file,
                level: None,
                text: String::new(),
            },
        ];
        for content in &all {
            // No wildcard: a new kind of content does not compile until it is listed here.
            match content {
                Content::Text { .. }
                | Content::Image { .. }
                | Content::Video { .. }
                | Content::Audio { .. }
                | Content::File { .. }
                | Content::Location { .. }
                | Content::Command { .. }
                | Content::Custom { .. }
                | Content::Combined { .. } => {}
            }
            assert!(TYPE_NAMES.contains(&content.type_name()), "{content:?}");
        }
        assert_eq!(all.len(), TYPE_NAMES.len());
    }

    /// Every walk a page can make seeks its index to the conversation (and the type or
    /// sender), ranges over time, and walks in order: never a scan, never a sort.
    #[test]
    fn every_page_walk_seeks_its_index_without_sorting() {
        let store = Store::open_in_memory().expect("store");
        // (index, equality column, types checked in the index, the seek expected)
        type Walk<'a> = (&'a str, (&'a str, &'a str), Option<&'a [&'a str]>, &'a str);
        let walks: [Walk; 4] = [
            (
                "timeline",
                ("", ""),
                None,
                "SEARCH timeline USING PRIMARY KEY (conv=?",
            ),
            (
                "timeline_by_type",
                ("type", "img"),
                None,
                "INDEX timeline_by_type (conv=? AND type=?",
            ),
            (
                "timeline_by_sender",
                ("sender", "bob"),
                None,
                "INDEX timeline_by_sender (conv=? AND sender=?",
            ),
            (
                "timeline_by_sender",
                ("sender", "bob"),
                Some(&["img", "loc"]),
                "USING COVERING INDEX timeline_by_sender (conv=? AND sender=?",
            ),
        ];
        for (index, column, keep, seek) in walks {
            for up in [true, false] {
                for from in [None, Some((5, 6))] {
                    for (start_time, end_time) in [(None, None), (Some(1), Some(9))] {
                        let range = Range {
                            conv: 1,
                            up,
                            from,
                            start_time,
                            end_time,
                        };
                        let (sql, args) = walk_sql(index, column, keep, &range, 51);
                        let plan = plan(&store, &sql, args);
                        let what = format!("{sql}\n{plan}");
                        assert!(plan.contains(seek), "{what}");
                        if from.is_some() || start_time.is_some() {
                            assert!(plan.contains("time"), "a range on time: {what}");
                        }
                        assert!(!plan.contains("TEMP B-TREE"), "sorts: {what}");
                        assert!(!plan.contains("SCAN"), "scans: {what}");
                    }
                }
            }
        }
    }
}
