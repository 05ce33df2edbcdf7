//! The name endpoints (PROTOCOL.md §8.1): users' nicknames, groups' and rooms' details.
//!
//! Any logged-in user of the app, and the app itself (an app token), may call them; what each answer holds follows the store's
//! rules ([`crate::store`]): every user's nickname, the groups the caller may read (an app
//! token reads every group), every room. roam's choices where the service is silent:
//! - a group the caller may not read, and an id that names no group (or no room), is left
//!   out of `data`, so the answer does not tell the two apart; an answer may be `[]`;
//! - a user without a nickname is absent from `data`;
//! - ids are checked by the one id rule and lowercased; one that is not an id is 400
//!   `illegal_argument`, and so are an empty list and more than
//!   [`MAX_ATTRIBUTE_TARGETS`] users or [`MAX_GROUPS_PER_CALL`] groups or rooms;
//! - `chatrooms/{ids}` takes comma-joined ids as `chatgroups/{ids}` does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, State};
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, Caller};
use super::handlers::envelope;
use super::stored;
use crate::protocol::json::Envelope;
use crate::protocol::names::{
    AttributesData, AttributesRequest, GroupDetails, MAX_ATTRIBUTE_TARGETS, MAX_GROUPS_PER_CALL,
};
use crate::store::check_id;

type Shared = State<Arc<AppState>>;

/// The only attribute the store keeps.
const NICKNAME: &str = "nickname";

/// Checks and lowercases a list of ids: at least one, at most `max`, each an id.
fn checked_ids<'a>(
    ids: impl Iterator<Item = &'a str>,
    max: usize,
    what: &str,
) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for id in ids {
        if out.len() == max {
            return Err(ApiError::illegal_argument(format!(
                "at most {max} {what} per call"
            )));
        }
        out.push(check_id(id).map_err(|e| ApiError::illegal_argument(format!("{what}: {e}")))?);
    }
    if out.is_empty() {
        return Err(ApiError::illegal_argument(format!("no {what} named")));
    }
    Ok(out)
}

/// `POST /{org}/{app}/metadata/user/get`: the asked attributes of up to 100 users.
pub(super) async fn user_attributes(
    State(state): Shared,
    _: Caller,
    ApiJson(body): ApiJson<AttributesRequest>,
) -> Result<Json<Envelope<AttributesData>>, ApiError> {
    let started = Instant::now();
    let targets = checked_ids(
        body.targets.iter().map(String::as_str),
        MAX_ATTRIBUTE_TARGETS,
        "targets",
    )?;
    let wants_nickname =
        body.properties.is_empty() || body.properties.iter().any(|p| p == NICKNAME);
    let nicknames = if wants_nickname {
        stored::nicknames(&state, targets).await?
    } else {
        HashMap::new()
    };
    let data = nicknames
        .into_iter()
        .map(|(user, nickname)| {
            (
                user,
                HashMap::from([(NICKNAME.to_string(), Value::String(nickname))]),
            )
        })
        .collect();
    Ok(envelope("get", started, data))
}

/// The comma-joined ids of the `{ids}` path segment.
fn path_ids(
    params: Result<RawPathParams, RawPathParamsRejection>,
    what: &str,
) -> Result<Vec<String>, ApiError> {
    let params = params
        .map_err(|e| ApiError::illegal_argument(format!("request path: {}", e.body_text())))?;
    let raw = params
        .iter()
        .find(|(name, _)| *name == "ids")
        .map(|(_, value)| value.to_string())
        .unwrap_or_default();
    checked_ids(
        raw.split(',').map(str::trim).filter(|s| !s.is_empty()),
        MAX_GROUPS_PER_CALL,
        what,
    )
}

/// `GET /{org}/{app}/chatgroups/{id1,id2,...}`: the details of the groups the caller may
/// read, in the order asked.
pub(super) async fn group_details(
    State(state): Shared,
    caller: Caller,
    params: Result<RawPathParams, RawPathParamsRejection>,
) -> Result<Json<Envelope<Vec<GroupDetails>>>, ApiError> {
    let started = Instant::now();
    let ids = path_ids(params, "group ids")?;
    let data = stored::group_details(&state, caller.user, ids).await?;
    Ok(envelope("get", started, data))
}

/// `GET /{org}/{app}/chatrooms/{id}` (or several, comma-joined): the rooms' details.
pub(super) async fn room_details(
    State(state): Shared,
    _: Caller,
    params: Result<RawPathParams, RawPathParamsRejection>,
) -> Result<Json<Envelope<Vec<GroupDetails>>>, ApiError> {
    let started = Instant::now();
    let ids = path_ids(params, "room ids")?;
    let data = stored::room_details(&state, ids).await?;
    Ok(envelope("get", started, data))
}
