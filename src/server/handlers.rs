//! The endpoint handlers. Each takes the whole request and reads path, query and body
//! itself, so that no extractor rejection can answer with a non-JSON body.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::query::{parse_query, percent_decode};
use crate::protocol::json::{
    CursorEntry, CursorList, Envelope, LegacyEntry, LegacyList, RoamingEntry, RoamingPage,
    RoamingRequest, TokenRequest,
};
use crate::protocol::{
    ChatType, Conversation, Direction, HistoryFilters, HistoryQuery, encode_entry, parse_queue,
};
use crate::store::{StoreError, check_id};

type Shared = State<Arc<AppState>>;
type Answer = Result<Response, ApiError>;

/// The legacy list's length without paging (roam's choice: no 7-day cut).
const LEGACY_LIST_LEN: usize = 10;
/// The largest legacy page.
const MAX_LEGACY_PAGE: usize = 20;
/// The cursor list's page size bounds and default.
const MAX_CURSOR_LIMIT: usize = 50;
const DEFAULT_CURSOR_LIMIT: usize = 20;

/// The path's segments, percent-decoded.
fn segments(uri: &Uri) -> Vec<String> {
    uri.path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

/// Checks `/{org}/{app}` against the configured app key (case-insensitively).
fn check_app(state: &AppState, segs: &[String]) -> Result<(), ApiError> {
    match segs {
        [org, app, ..]
            if org.eq_ignore_ascii_case(&state.org) && app.eq_ignore_ascii_case(&state.app) =>
        {
            Ok(())
        }
        [org, app, ..] => Err(ApiError::app_not_found(org, app)),
        _ => Err(ApiError::resource_not_found("/")),
    }
}

/// Authenticates the request and checks that `{user}` (segment `user_at`) is the token's
/// own user. Returns the lowercased user.
fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    segs: &[String],
    user_at: usize,
) -> Result<(String, i64), ApiError> {
    check_app(state, segs)?;
    let header = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    let (user, expires_ms) = state.tokens.check(header)?;
    let path_user = segs
        .get(user_at)
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    if path_user != user {
        return Err(ApiError::forbidden(format!(
            "user {user:?} may not act on the path of user {path_user:?}"
        )));
    }
    Ok((user, expires_ms))
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A success answer: the payload under `data` with the envelope fields.
fn envelope<T: Serialize>(action: &str, started: Instant, data: T) -> Response {
    let body = Envelope {
        data,
        action: Some(action.to_string()),
        timestamp: Some(now_ms()),
        duration: Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)),
    };
    axum::Json(body).into_response()
}

/// Reads the body up to the configured limit: 413 beyond it, whatever Content-Length says.
async fn read_body(state: &AppState, body: Body, declared: Option<u64>) -> Result<Bytes, ApiError> {
    let limit = state.config.max_body_bytes;
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if e.to_string().contains("length limit exceeded") {
            ApiError::too_large(limit)
        } else {
            ApiError::illegal_argument(format!("request body unreadable: {e}"))
        }
    })
}

/// Parses a JSON body into `T`: not JSON at all is `json_parse`, JSON of the wrong shape is
/// `illegal_argument`.
async fn json_body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    req: Request,
) -> Result<T, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let bytes = read_body(state, req.into_body(), declared).await?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::json_parse(format!("request body is not valid JSON: {e}")))?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::illegal_argument(format!("request body: {e}")))
}

/// Runs store work on the blocking pool.
async fn blocking<R: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&mut crate::store::Store) -> R + Send + 'static,
) -> Result<R, ApiError> {
    let pool = Arc::clone(&state.pool);
    tokio::task::spawn_blocking(move || pool.with(f))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "blocking task failed");
            ApiError::internal()
        })
}

fn respond(result: Answer) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

// -------------------------------------------------------------------------------------
// POST /{org}/{app}/token
// -------------------------------------------------------------------------------------

/// Logs in with the password grant.
pub(super) async fn token(State(state): Shared, req: Request) -> Response {
    respond(token_inner(state, req).await)
}

async fn token_inner(state: Arc<AppState>, req: Request) -> Answer {
    check_app(&state, &segments(req.uri()))?;
    let body: TokenRequest = json_body(&state, req).await?;
    if body.grant_type != "password" {
        return Err(ApiError::illegal_argument(format!(
            "grant_type {:?} is not supported; use \"password\"",
            body.grant_type.chars().take(40).collect::<String>()
        )));
    }
    let username = body.username.to_ascii_lowercase();
    let password = body.password;
    let name = username.clone();
    let user = blocking(&state, move |store| -> Result<_, StoreError> {
        if store.verify_password(&name, &password)? {
            store.user(&name)
        } else {
            Ok(None)
        }
    })
    .await??;
    let Some(user) = user else {
        tracing::info!(user = %username.chars().take(64).collect::<String>(), "login refused");
        return Err(ApiError::invalid_grant());
    };
    let token = state.tokens.issue(&user.name);
    tracing::info!(user = %user.name, "token issued");
    let ttl = state.config.token_ttl;
    let expires_in = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0));
    Ok(axum::Json(json!({
        "access_token": token,
        "expires_in": expires_in,
        "user": {
            "uuid": user.uuid,
            "type": "user",
            "created": user.created,
            "modified": user.modified,
            "username": user.name,
            "activated": true,
        }
    }))
    .into_response())
}

// -------------------------------------------------------------------------------------
// GET /{org}/{app}/sdk/users/{user}/token/expires
// -------------------------------------------------------------------------------------

/// The expiry time (ms) of the token in the Authorization header.
pub(super) async fn token_expires(State(state): Shared, req: Request) -> Response {
    let started = Instant::now();
    let segs = segments(req.uri());
    respond(
        authorize(&state, req.headers(), &segs, 4)
            .map(|(_, expires)| envelope("get", started, expires)),
    )
}

// -------------------------------------------------------------------------------------
// Conversation lists
// -------------------------------------------------------------------------------------

/// Authenticates, rate-limits and loads a user's conversation list.
async fn load_list(
    state: &Arc<AppState>,
    req: &Parts,
    user_at: usize,
) -> Result<Vec<Conversation>, ApiError> {
    let segs = segments(&req.uri);
    let (user, _) = authorize(state, &req.headers, &segs, user_at)?;
    if let Some(limiter) = &state.limiter {
        limiter.check(&user)?;
    }
    Ok(blocking(state, move |store| store.conversations(&user)).await??)
}

/// Legacy entries are newest activity first; they carry no pin.
fn by_activity(mut list: Vec<Conversation>) -> Vec<Conversation> {
    list.sort_by(|a, b| {
        b.last_activity().cmp(&a.last_activity()).then_with(|| {
            b.last_message
                .as_ref()
                .map(|m| m.id)
                .cmp(&a.last_message.as_ref().map(|m| m.id))
        })
    });
    list
}

/// The answer of both legacy lists: `list` as legacy entries.
fn legacy_answer(state: &AppState, started: Instant, list: &[Conversation]) -> Response {
    let channel_infos = list
        .iter()
        .map(|c| LegacyEntry::from_conversation(&state.config.appkey, c))
        .collect();
    envelope("get", started, LegacyList { channel_infos })
}

/// A number parameter: absent or empty takes the default; otherwise it must be in range.
fn number_param(
    q: &std::collections::HashMap<String, String>,
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
pub(super) async fn legacy_list(State(state): Shared, req: Request) -> Response {
    let started = Instant::now();
    let (req, _) = req.into_parts();
    respond(
        async {
            let list = by_activity(load_list(&state, &req, 3).await?);
            let shown = list.len().min(LEGACY_LIST_LEN);
            Ok(legacy_answer(&state, started, &list[..shown]))
        }
        .await,
    )
}

/// `GET /users/{user}/user_channels/page?pageNum=&pageSize=`.
pub(super) async fn paged_list(State(state): Shared, req: Request) -> Response {
    let started = Instant::now();
    let (req, _) = req.into_parts();
    respond(
        async {
            let q = parse_query(req.uri.query());
            let page_num = number_param(&q, "pageNum", 1, 1..=usize::MAX)?;
            let page_size = number_param(&q, "pageSize", MAX_LEGACY_PAGE, 1..=MAX_LEGACY_PAGE)?;
            let list = by_activity(load_list(&state, &req, 3).await?);
            let start = (page_num - 1).saturating_mul(page_size).min(list.len());
            let end = start.saturating_add(page_size).min(list.len());
            Ok(legacy_answer(&state, started, &list[start..end]))
        }
        .await,
    )
}

/// `GET /sdk/user/{user}/user_channels/list?limit=&cursor=[&is_top=true]`: pinned first,
/// then newest activity. The cursor is the offset of the next page, opaque to clients.
pub(super) async fn cursor_list(State(state): Shared, req: Request) -> Response {
    let started = Instant::now();
    let (req, _) = req.into_parts();
    respond(
        async {
            let q = parse_query(req.uri.query());
            let limit = number_param(&q, "limit", DEFAULT_CURSOR_LIMIT, 1..=MAX_CURSOR_LIMIT)?;
            let offset = match q.get("cursor").map(|s| s.trim()).filter(|s| !s.is_empty()) {
                None => 0,
                Some(c) => c.parse::<usize>().map_err(|_| {
                    ApiError::illegal_argument("cursor is not one this server issued")
                })?,
            };
            let pinned_only = q
                .get("is_top")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
            let mut list = load_list(&state, &req, 4).await?;
            if pinned_only {
                list.retain(|c| c.pinned);
            }
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
        .await,
    )
}

// -------------------------------------------------------------------------------------
// POST /{org}/{app}/users/{user}/messageroaming
// -------------------------------------------------------------------------------------

/// One page of a conversation's history.
pub(super) async fn roaming(State(state): Shared, req: Request) -> Response {
    let started = Instant::now();
    respond(roaming_inner(&state, req, started).await)
}

async fn roaming_inner(state: &Arc<AppState>, req: Request, started: Instant) -> Answer {
    let segs = segments(req.uri());
    let (user, _) = authorize(state, req.headers(), &segs, 3)?;
    let body: RoamingRequest = json_body(state, req).await?;
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
    let query = HistoryQuery {
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
    };
    let appkey = state.config.appkey.clone();
    let page = blocking(state, move |store| -> Result<RoamingPage, StoreError> {
        let page = store.history(&user, &query)?;
        Ok(RoamingPage {
            msgs: page
                .messages
                .iter()
                .map(|m| RoamingEntry {
                    msg: encode_entry(m, &appkey),
                })
                .collect(),
            next_key: page.next_cursor.unwrap_or_default(),
            is_last: page.is_last,
        })
    })
    .await??;
    Ok(envelope("post", started, page))
}

// -------------------------------------------------------------------------------------
// Fallbacks
// -------------------------------------------------------------------------------------

/// Unknown paths: 404 with the service's body, naming the app when it is the wrong one.
pub(super) async fn not_found(State(state): Shared, req: Request) -> Response {
    let segs = segments(req.uri());
    let error = match check_app(&state, &segs) {
        Err(e) if segs.len() >= 2 => e,
        _ => ApiError::resource_not_found(req.uri().path()),
    };
    error.into_response()
}

/// A known path with the wrong method (a wrong app is still the first thing to say).
pub(super) async fn method_not_allowed(State(state): Shared, req: Request) -> Response {
    if let Err(e) = check_app(&state, &segments(req.uri())) {
        return e.into_response();
    }
    let method: &Method = req.method();
    ApiError::method_not_allowed(method.as_str(), req.uri().path()).into_response()
}

/// Logs one line per request: method, path (never the query or headers, which may carry
/// tokens), status and time taken.
pub(super) async fn log_request(req: Request, next: axum::middleware::Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().chars().take(200).collect::<String>();
    let response = next.run(req).await;
    tracing::debug!(
        %method,
        %path,
        status = response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}
