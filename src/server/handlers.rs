//! The endpoint handlers. Each names what it needs as extractors ([`super::extract`]), whose
//! refusals are already §6 errors, and returns `Result<_, ApiError>`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{Method, Uri};
use axum::response::Response;
use serde::Serialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, AuthUser, LenientQuery};
use super::log_text::LogText;
use super::page_body::{page_json, page_response};
use super::query::percent_decode;
use super::stored;
use crate::protocol::json::{
    CursorEntry, CursorList, Envelope, LegacyEntry, LegacyList, RoamingRequest, TokenExpiry,
};
use crate::protocol::{
    ChatType, Conversation, Direction, HistoryFilters, HistoryQuery, parse_queue,
};
use crate::store::check_id;

type Shared = State<Arc<AppState>>;

/// The legacy list's length without paging (roam's choice: no 7-day cut).
const LEGACY_LIST_LEN: usize = 10;
/// The largest legacy page.
const MAX_LEGACY_PAGE: usize = 20;
/// The cursor lists' largest page, and the defaults of the list and of the mark search.
const MAX_CURSOR_LIMIT: usize = 50;
const DEFAULT_CURSOR_LIMIT: usize = 20;
const DEFAULT_MARK_LIMIT: usize = 10;

pub(super) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// A success answer: the payload under `data` with the envelope fields.
pub(super) fn envelope<T: Serialize>(action: &str, started: Instant, data: T) -> Json<Envelope<T>> {
    Json(Envelope {
        data,
        action: Some(action.to_string()),
        timestamp: Some(now_ms()),
        duration: Some(elapsed_ms(started)),
    })
}

// -------------------------------------------------------------------------------------
// GET /{org}/{app}/sdk/users/{user}/token/expires
// -------------------------------------------------------------------------------------

/// The expiry time (ms) of the token in the Authorization header.
pub(super) async fn token_expires(user: AuthUser) -> Json<TokenExpiry> {
    Json(TokenExpiry {
        data: user.expires_ms,
        expire_timestamp: Some(user.expires_ms),
        action: Some("get".into()),
        timestamp: Some(now_ms()),
        duration: Some(0),
    })
}

// -------------------------------------------------------------------------------------
// Conversation lists
// -------------------------------------------------------------------------------------

/// Rate-limits and loads a user's conversations, newest activity first (the store's order,
/// which is every list's except the pinned-only one: pins do not move a conversation).
async fn load_list(state: &Arc<AppState>, user: &AuthUser) -> Result<Vec<Conversation>, ApiError> {
    if let Some(limiter) = &state.limiter {
        limiter.check(&user.name)?;
    }
    let name = user.name.clone();
    stored::conversations(state, name).await
}

/// The pinned conversations, newest pin first (a pin without a time last); the sort is
/// stable, so equal pin times keep their activity order.
fn pinned_by_pin_time(mut list: Vec<Conversation>) -> Vec<Conversation> {
    list.retain(|c| c.pinned);
    list.sort_by_key(|c| std::cmp::Reverse(c.pinned_at.unwrap_or(i64::MIN)));
    list
}

/// The answer of both legacy lists: `list` as legacy entries.
fn legacy_answer(
    state: &AppState,
    started: Instant,
    list: &[Conversation],
) -> Json<Envelope<LegacyList>> {
    let channel_infos = list
        .iter()
        .map(|c| LegacyEntry::from_conversation(&state.config.appkey, c))
        .collect();
    envelope("get", started, LegacyList { channel_infos })
}

/// A number parameter: absent or empty takes the default; otherwise it must be in range.
fn number_param(
    q: &HashMap<String, String>,
    name: &str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ApiError> {
    match q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                ApiError::illegal_argument(format!(
                    "{name} must be between {} and {}, got {:?}",
                    range.start(),
                    range.end(),
                    text.chars().take(40).collect::<String>()
                ))
            }),
    }
}

/// `GET /users/{user}/user_channels`: the 10 most recent conversations.
pub(super) async fn legacy_list(
    State(state): Shared,
    user: AuthUser,
) -> Result<Json<Envelope<LegacyList>>, ApiError> {
    let started = Instant::now();
    let list = load_list(&state, &user).await?;
    let shown = list.len().min(LEGACY_LIST_LEN);
    Ok(legacy_answer(&state, started, &list[..shown]))
}

/// `GET /users/{user}/user_channels/page?pageNum=&pageSize=`.
pub(super) async fn paged_list(
    State(state): Shared,
    user: AuthUser,
    LenientQuery(q): LenientQuery,
) -> Result<Json<Envelope<LegacyList>>, ApiError> {
    let started = Instant::now();
    let page_num = number_param(&q, "pageNum", 1, 1..=usize::MAX)?;
    let page_size = number_param(&q, "pageSize", MAX_LEGACY_PAGE, 1..=MAX_LEGACY_PAGE)?;
    let list = load_list(&state, &user).await?;
    let start = (page_num - 1).saturating_mul(page_size).min(list.len());
    let end = start.saturating_add(page_size).min(list.len());
    Ok(legacy_answer(&state, started, &list[start..end]))
}

/// One page of a cursor list (the conversation list, the pinned list, a mark search). The
/// cursor is the offset of the next page, opaque to clients; `""` is the first page and, in
/// the answer, the last.
fn cursor_page(
    state: &AppState,
    started: Instant,
    q: &HashMap<String, String>,
    default_limit: usize,
    list: &[Conversation],
) -> Result<Json<Envelope<CursorList>>, ApiError> {
    let limit = number_param(q, "limit", default_limit, 1..=MAX_CURSOR_LIMIT)?;
    let offset = match q.get("cursor").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => 0,
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| ApiError::illegal_argument("cursor is not one this server issued"))?,
    };
    let start = offset.min(list.len());
    let end = start.saturating_add(limit).min(list.len());
    let cursor = if end < list.len() {
        end.to_string()
    } else {
        String::new()
    };
    let channel_infos = list[start..end]
        .iter()
        .map(|c| CursorEntry::from_conversation(&state.config.appkey, c))
        .collect();
    Ok(envelope(
        "get",
        started,
        CursorList {
            cursor,
            channel_infos,
        },
    ))
}

/// `GET /sdk/user/{user}/user_channels/list?limit=&cursor=[&is_top=true]`: newest activity
/// first; with `is_top=true` the pinned ones only, newest pin first.
pub(super) async fn cursor_list(
    State(state): Shared,
    user: AuthUser,
    LenientQuery(q): LenientQuery,
) -> Result<Json<Envelope<CursorList>>, ApiError> {
    let started = Instant::now();
    let pinned_only = q
        .get("is_top")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let mut list = load_list(&state, &user).await?;
    if pinned_only {
        list = pinned_by_pin_time(list);
    }
    cursor_page(&state, started, &q, DEFAULT_CURSOR_LIMIT, &list)
}

/// `GET /sdk/user/{user}/user_channels/mark/search?limit=&cursor=&mark=mark_N`: the
/// conversations carrying one mark, newest activity first.
pub(super) async fn mark_search(
    State(state): Shared,
    user: AuthUser,
    LenientQuery(q): LenientQuery,
) -> Result<Json<Envelope<CursorList>>, ApiError> {
    let started = Instant::now();
    let mark = q.get("mark").map(|s| s.trim()).unwrap_or("");
    if !is_mark(mark) {
        return Err(ApiError::illegal_argument(format!(
            "mark must be mark_0 to mark_19, got {:?}",
            mark.chars().take(40).collect::<String>()
        )));
    }
    let mut list = load_list(&state, &user).await?;
    list.retain(|c| c.marks.iter().any(|m| m == mark));
    cursor_page(&state, started, &q, DEFAULT_MARK_LIMIT, &list)
}

/// `mark_0` to `mark_19`, written without leading zeros.
fn is_mark(text: &str) -> bool {
    text.strip_prefix("mark_")
        .filter(|n| n.len() == 1 || !n.starts_with('0'))
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| n <= 19)
}

// -------------------------------------------------------------------------------------
// POST /{org}/{app}/users/{user}/messageroaming
// -------------------------------------------------------------------------------------

/// One page of a conversation's history: the store's entry bytes, base64-encoded into
/// the answer as it is written.
pub(super) async fn roaming(
    State(state): Shared,
    user: AuthUser,
    ApiJson(body): ApiJson<RoamingRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let query = history_query(&body)?;
    let page = stored::history_entries(&state, user.name, query).await?;
    let json = page_json(&page, now_ms(), elapsed_ms(started));
    Ok(page_response(json))
}

/// The store's query for a `messageroaming` body, every field checked.
fn history_query(body: &RoamingRequest) -> Result<HistoryQuery, ApiError> {
    let (id, conference) = parse_queue(body.queue.trim()).ok_or_else(|| {
        ApiError::illegal_argument(format!(
            "queue {:?} must end in @easemob.com or @conference.easemob.com",
            body.queue.chars().take(80).collect::<String>()
        ))
    })?;
    let conversation =
        check_id(id).map_err(|e| ApiError::illegal_argument(format!("queue: {e}")))?;
    let page_size = body.page_size().map_err(ApiError::illegal_argument)?;
    let cursor = body.cursor().map_err(ApiError::illegal_argument)?;
    let sender = match body
        .user_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => {
            Some(check_id(s).map_err(|e| ApiError::illegal_argument(format!("userId: {e}")))?)
        }
        None => None,
    };
    Ok(HistoryQuery {
        conversation,
        kind: if conference {
            ChatType::Group
        } else {
            ChatType::Single
        },
        cursor: cursor.map(|c| c.to_string()),
        page_size,
        direction: if body.is_positive == Some(true) {
            Direction::Down
        } else {
            Direction::Up
        },
        filters: HistoryFilters {
            types: body.types(),
            sender,
            start_time: body.start_time,
            end_time: body.end_time,
        },
    })
}

// -------------------------------------------------------------------------------------
// Fallbacks
// -------------------------------------------------------------------------------------

/// The path's segments, percent-decoded (fallbacks match no route, so no path parameters).
fn segments(uri: &Uri) -> Vec<String> {
    uri.path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

/// A wrong app named in the first two segments, when it is one.
fn wrong_app(state: &AppState, segs: &[String]) -> Option<ApiError> {
    match segs {
        [org, app, ..]
            if !(org.eq_ignore_ascii_case(&state.org) && app.eq_ignore_ascii_case(&state.app)) =>
        {
            Some(ApiError::app_not_found(org, app))
        }
        _ => None,
    }
}

/// Unknown paths: 404 with the service's body, naming the app when it is the wrong one.
pub(super) async fn not_found(State(state): Shared, uri: Uri) -> ApiError {
    wrong_app(&state, &segments(&uri)).unwrap_or_else(|| ApiError::resource_not_found(uri.path()))
}

/// A known path with the wrong method (a wrong app is still the first thing to say).
pub(super) async fn method_not_allowed(State(state): Shared, method: Method, uri: Uri) -> ApiError {
    wrong_app(&state, &segments(&uri))
        .unwrap_or_else(|| ApiError::method_not_allowed(method.as_str(), uri.path()))
}

/// Logs one line per request: method, path (never the query or headers, which may carry
/// tokens), status and time taken. Method and path come from the request: escaped.
pub(super) async fn log_request(req: Request, next: axum::middleware::Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    tracing::debug!(
        method = %LogText::new(method.as_str()),
        path = %LogText::with_max(&path, 200),
        status = response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_mark_0_to_mark_19() {
        for ok in ["mark_0", "mark_9", "mark_10", "mark_19"] {
            assert!(is_mark(ok), "{ok}");
        }
        for bad in [
            "", "mark_", "mark_20", "mark_01", "mark_-1", "Mark_1", "mark_1 ", "x",
        ] {
            assert!(!is_mark(bad), "{bad}");
        }
    }
}
