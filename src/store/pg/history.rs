//! Conversation lists and history pages on PostgreSQL, at the SQLite store's cost: a page
//! walks one index range from the cursor (the walks and their rules are the SQLite
//! store's, see [`crate::store::history`]), then reads the page's rows by id, and the
//! rows of the page are all it reads.
//!
//! Every walk is one statement on an index that leads with the conversation: all
//! messages (`messages_page`), one type (`messages_by_type`, one walk per type, merged),
//! or one sender (`messages_by_sender`, types checked in the index, within the store's
//! scan budget).

use tokio_postgres::types::ToSql;

use super::{PgError, PgStore};
use crate::protocol::{
    ChatType, Conversation, Direction, EntryHead, HistoryPage, HistoryQuery, encode_body_tail,
    write_meta,
};
use crate::store::history::{
    EntryPage, Position, Range, Walked, check_page_size, kept_types, last_page, merge_walks,
    not_stored,
};
use crate::store::schema::{conference_key, id_from_sql, id_to_sql, kind_from_sql, single_key};
use crate::store::{StoreError, check_id, message_from_row};

/// One walk: the index it reads and the equality beyond the conversation.
#[derive(Clone, Copy)]
pub(crate) enum Walk<'a> {
    All,
    Type(&'a &'static str),
    Sender(&'a String),
}

impl PgStore {
    /// A user's conversation list, as [`crate::store::Store::conversations`].
    pub async fn conversations(&self, user: &str) -> Result<Vec<Conversation>, StoreError> {
        let Ok(user) = check_id(user) else {
            return Ok(Vec::new());
        };
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT uc.peer, c.kind, uc.unread, uc.pinned, uc.pinned_at, uc.marks,
                        m.id, m.chat_type, m.sender, m.receiver, m.time, m.json
                 FROM user_convs uc
                 JOIN convs c ON c.id = uc.conv
                 JOIN messages m ON m.id = c.last_id
                 WHERE uc.\"user\" = $1 AND c.kind != 2
                 ORDER BY c.last_time DESC, c.last_id DESC",
            )
            .await
            .map_err(PgError::from)?;
        let rows = client.query(&stmt, &[&user]).await.map_err(PgError::from)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let get = |e: tokio_postgres::Error| StoreError::from(PgError::from(e));
            let kind: i16 = r.try_get(1).map_err(get)?;
            let chat_type: i16 = r.try_get(7).map_err(get)?;
            let marks: String = r.try_get(5).map_err(get)?;
            let json: String = r.try_get(11).map_err(get)?;
            let unread: i64 = r.try_get(2).map_err(get)?;
            let last = message_from_row(
                r.try_get(6).map_err(get)?,
                i64::from(chat_type),
                r.try_get(8).map_err(get)?,
                r.try_get(9).map_err(get)?,
                r.try_get(10).map_err(get)?,
                &json,
            );
            out.push(Conversation {
                id: r.try_get(0).map_err(get)?,
                kind: kind_from_sql(i64::from(kind)),
                unread: u32::try_from(unread.max(0)).unwrap_or(u32::MAX),
                pinned: r.try_get(3).map_err(get)?,
                pinned_at: r.try_get(4).map_err(get)?,
                marks: serde_json::from_str(&marks).unwrap_or_default(),
                last_message: last.ok(),
            });
        }
        Ok(out)
    }

    /// One page of a conversation's history, as [`crate::store::Store::history`].
    pub async fn history(&self, user: &str, q: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        let client = self.client().await?;
        let Some(walked) = page_walk(&client, user, q, self.scan_budget).await? else {
            return Ok(last_page(Vec::new()));
        };
        let ids: Vec<i64> = walked.hits.iter().map(|(_, id)| *id).collect();
        let stmt = client
            .prepare_cached(
                "SELECT id, chat_type, sender, receiver, time, json FROM messages
                 WHERE id = ANY($1)",
            )
            .await
            .map_err(PgError::from)?;
        let rows = client.query(&stmt, &[&ids]).await.map_err(PgError::from)?;
        let mut by_id = std::collections::HashMap::with_capacity(rows.len());
        for r in rows {
            let get = |e: tokio_postgres::Error| StoreError::from(PgError::from(e));
            let id: i64 = r.try_get(0).map_err(get)?;
            let chat_type: i16 = r.try_get(1).map_err(get)?;
            let json: String = r.try_get(5).map_err(get)?;
            let message = message_from_row(
                id,
                i64::from(chat_type),
                r.try_get(2).map_err(get)?,
                r.try_get(3).map_err(get)?,
                r.try_get(4).map_err(get)?,
                &json,
            )?;
            by_id.insert(id, message);
        }
        let messages = ids
            .iter()
            .map(|id| by_id.remove(id).ok_or_else(|| not_stored(*id)))
            .collect::<Result<Vec<_>, _>>()?;
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

    /// The page [`PgStore::history`] reads, as the server sends it: each message's history
    /// entry for `appkey` (see [`crate::store::Store::history_entries`]).
    pub async fn history_entries(
        &self,
        user: &str,
        q: &HistoryQuery,
        appkey: &str,
    ) -> Result<EntryPage, StoreError> {
        let mut page = EntryPage::from_entries(std::iter::empty(), None, true);
        let mut client = self.client().await?;
        // One snapshot for the walk and the rows: an import committing in between cannot
        // make the page name a message it then does not find.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(PgError::from)?;
        let Some(walked) = page_walk(&tx, user, q, self.scan_budget).await? else {
            return Ok(page);
        };
        let ids: Vec<i64> = walked.hits.iter().map(|(_, id)| *id).collect();
        let stmt = tx
            .prepare_cached(
                "SELECT id, chat_type, sender, receiver, time, body, json FROM messages
                 WHERE id = ANY($1)",
            )
            .await
            .map_err(PgError::from)?;
        let rows = tx.query(&stmt, &[&ids]).await.map_err(PgError::from)?;
        let position: std::collections::HashMap<i64, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut ordered: Vec<Option<tokio_postgres::Row>> = (0..ids.len()).map(|_| None).collect();
        for r in rows {
            let id: i64 = r.try_get(0).map_err(PgError::from)?;
            if let Some(&i) = position.get(&id) {
                ordered[i] = Some(r);
            }
        }
        page.bytes.reserve(ids.len() * 256);
        for (row, id) in ordered.into_iter().zip(&ids) {
            let r = row.ok_or_else(|| not_stored(*id))?;
            let get = |e: tokio_postgres::Error| StoreError::from(PgError::from(e));
            let chat_type: i16 = r.try_get(1).map_err(get)?;
            let body: Option<&[u8]> = r.try_get(5).map_err(get)?;
            match body {
                Some(tail) => {
                    let head = EntryHead {
                        id: id_from_sql(*id),
                        time: r.try_get(4).map_err(get)?,
                        chat_type: kind_from_sql(i64::from(chat_type)),
                        from: r.try_get(2).map_err(get)?,
                        to: r.try_get(3).map_err(get)?,
                    };
                    write_meta(&head, appkey, tail, &mut page.bytes);
                }
                // A JSON form that did not read back at import: it says why.
                None => {
                    let json: &str = r.try_get(6).map_err(get)?;
                    let message = message_from_row(
                        *id,
                        i64::from(chat_type),
                        r.try_get(2).map_err(get)?,
                        r.try_get(3).map_err(get)?,
                        r.try_get(4).map_err(get)?,
                        json,
                    )?;
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
        tx.commit().await.map_err(PgError::from)?;
        Ok(page)
    }
}

/// Checks the request and walks to its page (see the SQLite store's `page_walk`, whose
/// rules these are).
async fn page_walk(
    client: &impl deadpool_postgres::GenericClient,
    user: &str,
    q: &HistoryQuery,
    scan_budget: usize,
) -> Result<Option<Walked>, StoreError> {
    check_page_size(q.page_size)?;
    let user = check_id(user)?;
    let peer = check_id(&q.conversation)?;
    let key = match q.kind {
        ChatType::Single => single_key(&user, &peer),
        ChatType::Group | ChatType::Room => conference_key(&peer),
    };
    let db = |e: tokio_postgres::Error| StoreError::from(PgError::from(e));
    let stmt = client
        .prepare_cached("SELECT id, kind FROM convs WHERE key = $1")
        .await
        .map_err(db)?;
    let Some(row) = client.query_opt(&stmt, &[&key]).await.map_err(db)? else {
        return Ok(None);
    };
    let conv: i64 = row.try_get(0).map_err(db)?;
    let kind: i16 = row.try_get(1).map_err(db)?;
    if kind_from_sql(i64::from(kind)) == ChatType::Group {
        let stmt = client
            .prepare_cached("SELECT 1 FROM user_convs WHERE \"user\" = $1 AND conv = $2")
            .await
            .map_err(db)?;
        if client
            .query_opt(&stmt, &[&user, &conv])
            .await
            .map_err(db)?
            .is_none()
        {
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
            let stmt = client
                .prepare_cached("SELECT time FROM messages WHERE id = $1 AND conv = $2")
                .await
                .map_err(db)?;
            let row = client.query_opt(&stmt, &[&id, &conv]).await.map_err(db)?;
            let row = row.ok_or_else(|| StoreError::BadCursor(cursor.clone()))?;
            Some((row.try_get::<_, i64>(0).map_err(db)?, id))
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
            walk(
                client,
                Walk::Sender(&sender),
                keep,
                &range,
                want,
                scan_budget,
            )
            .await?
        }
        (None, []) => walk(client, Walk::All, None, &range, want, scan_budget).await?,
        (None, [one]) => walk(client, Walk::Type(one), None, &range, want, scan_budget).await?,
        (None, several) => {
            let mut found = Vec::new();
            for t in several {
                let w = walk(client, Walk::Type(t), None, &range, want, scan_budget).await?;
                found.extend(w.hits);
                found.extend(w.next);
            }
            merge_walks(found, range.up, want)
        }
    };
    Ok(Some(walked))
}

/// One walk within `range`; with `keep`, only rows of those types count and the walk
/// passes over at most the scan budget of rows.
async fn walk(
    client: &impl deadpool_postgres::GenericClient,
    what: Walk<'_>,
    keep: Option<&[&str]>,
    range: &Range,
    want: usize,
    scan_budget: usize,
) -> Result<Walked, StoreError> {
    let budget = if keep.is_some() {
        scan_budget
    } else {
        want + 1
    };
    let keep: Option<Vec<&str>> = keep.map(<[&str]>::to_vec);
    let limit = i64::try_from(budget + 1).unwrap_or(i64::MAX);
    let (sql, args) = walk_sql(what, keep.as_ref(), range, &limit);
    let db = |e: tokio_postgres::Error| StoreError::from(PgError::from(e));
    let stmt = client.prepare_cached(&sql).await.map_err(db)?;
    let rows = client.query(&stmt, &args).await.map_err(db)?;
    let mut hits = Vec::with_capacity(want);
    // The row after the budget is where the next page starts.
    for (passed, r) in rows.into_iter().enumerate() {
        let at: Position = (r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?);
        if passed == budget {
            return Ok(Walked {
                hits,
                next: Some(at),
            });
        }
        if !r.try_get::<_, bool>(2).map_err(db)? {
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

/// The statement of one walk, returning (time, id, kept) for at most `limit` rows, and
/// its arguments. The statement's text depends only on which bounds are present, so a
/// few dozen prepared statements cover every walk.
pub(crate) fn walk_sql<'a>(
    what: Walk<'a>,
    keep: Option<&'a Vec<&'a str>>,
    range: &'a Range,
    limit: &'a i64,
) -> (String, Vec<&'a (dyn ToSql + Sync)>) {
    let mut args: Vec<&'a (dyn ToSql + Sync)> = Vec::new();
    let mut arg = |sql: &mut String, value: &'a (dyn ToSql + Sync)| {
        args.push(value);
        sql.push_str(&format!("${}", args.len()));
    };
    let mut sql = String::from("SELECT time, id, ");
    match keep {
        Some(types) => {
            sql.push_str("type = ANY(");
            arg(&mut sql, types);
            sql.push_str("::text[])");
        }
        None => sql.push_str("TRUE"),
    }
    sql.push_str(" FROM messages WHERE conv = ");
    arg(&mut sql, &range.conv);
    match what {
        Walk::All => {}
        Walk::Type(t) => {
            sql.push_str(" AND type = ");
            arg(&mut sql, t);
        }
        Walk::Sender(s) => {
            sql.push_str(" AND sender = ");
            arg(&mut sql, s);
        }
    }
    if let Some((time, id)) = &range.from {
        sql.push_str(if range.up {
            " AND (time, id) <= ("
        } else {
            " AND (time, id) >= ("
        });
        arg(&mut sql, time);
        sql.push_str(", ");
        arg(&mut sql, id);
        sql.push(')');
    }
    if let Some(start) = &range.start_time {
        sql.push_str(" AND time >= ");
        arg(&mut sql, start);
    }
    if let Some(end) = &range.end_time {
        sql.push_str(" AND time <= ");
        arg(&mut sql, end);
    }
    sql.push_str(if range.up {
        " ORDER BY time DESC, id DESC LIMIT "
    } else {
        " ORDER BY time ASC, id ASC LIMIT "
    });
    arg(&mut sql, limit);
    (sql, args)
}

impl PgStore {
    /// The plan PostgreSQL picks for every kind of walk a page can make in conversation
    /// `key` (`u:alice|bob`, `g:group`): each walk's statement and its `EXPLAIN`, for every
    /// index, direction, cursor and time bound. For tests, and for an operator checking
    /// that pages cost the page on their data.
    pub async fn walk_plans(&self, key: &str) -> Result<Vec<(String, String)>, StoreError> {
        let client = self.client().await?;
        let db = |e: tokio_postgres::Error| StoreError::from(PgError::from(e));
        let row = client
            .query_opt("SELECT id FROM convs WHERE key = $1", &[&key])
            .await
            .map_err(db)?;
        let conv: i64 = match row {
            Some(r) => r.try_get(0).map_err(db)?,
            None => return Ok(Vec::new()),
        };
        // A cursor and a time bound in the middle of the conversation, as a real page has.
        let middle = client
            .query_opt(
                "SELECT time, id FROM messages WHERE conv = $1 ORDER BY time, id
                 OFFSET (SELECT count(*) / 2 FROM messages WHERE conv = $1) LIMIT 1",
                &[&conv],
            )
            .await
            .map_err(db)?;
        let Some(middle) = middle else {
            return Ok(Vec::new());
        };
        let middle: Position = (
            middle.try_get(0).map_err(db)?,
            middle.try_get(1).map_err(db)?,
        );
        let img: &'static str = "img";
        let sender = "bob".to_string();
        let keep = vec!["img", "loc"];
        let limit = 51_i64;
        let walks: [(Walk<'_>, Option<&Vec<&str>>); 4] = [
            (Walk::All, None),
            (Walk::Type(&img), None),
            (Walk::Sender(&sender), None),
            (Walk::Sender(&sender), Some(&keep)),
        ];
        let mut plans = Vec::new();
        for (what, keep) in walks {
            for up in [true, false] {
                for from in [None, Some(middle)] {
                    for (start_time, end_time) in [(None, None), (Some(middle.0), Some(i64::MAX))] {
                        let range = Range {
                            conv,
                            up,
                            from,
                            start_time,
                            end_time,
                        };
                        let (sql, args) = walk_sql(what, keep, &range, &limit);
                        let rows = client
                            .query(&format!("EXPLAIN {sql}"), &args)
                            .await
                            .map_err(db)?;
                        let plan = rows
                            .iter()
                            .map(|r| r.try_get::<_, String>(0))
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(db)?
                            .join("\n");
                        plans.push((sql, plan));
                    }
                }
            }
        }
        Ok(plans)
    }
}
