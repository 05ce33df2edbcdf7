//! What a handler needs from a request, as axum extractors whose rejection is the §6 error
//! body: the app in the path, the authenticated user, a lenient query string, a JSON body
//! and the peer's address. A handler names what it needs in its arguments; nothing it
//! cannot get reaches it, and every refusal is JSON.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::auth::Holder;
use super::error::ApiError;
use super::query::parse_query;

/// The `{org}`, `{app}` and `{user}` segments of a matched route, percent-decoded.
struct PathSegments {
    org: String,
    app: String,
    user: Option<String>,
}

impl PathSegments {
    async fn read(parts: &mut Parts, state: &Arc<AppState>) -> Result<PathSegments, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::illegal_argument(format!("request path: {}", e.body_text())))?;
        let mut segments = PathSegments {
            org: String::new(),
            app: String::new(),
            user: None,
        };
        for (name, value) in &params {
            match name {
                "org" => segments.org = value.to_string(),
                "app" => segments.app = value.to_string(),
                "user" => segments.user = Some(value.to_ascii_lowercase()),
                _ => {}
            }
        }
        Ok(segments)
    }

    /// The app key's org and app, compared case-insensitively.
    fn check_app(&self, state: &AppState) -> Result<(), ApiError> {
        if self.org.eq_ignore_ascii_case(&state.org) && self.app.eq_ignore_ascii_case(&state.app) {
            Ok(())
        } else {
            Err(ApiError::app_not_found(&self.org, &self.app))
        }
    }
}

/// A route under this server's `/{org}/{app}`; any other app is 404
/// `organization_application_not_found`.
#[derive(Debug)]
pub(crate) struct KnownApp;

impl FromRequestParts<Arc<AppState>> for KnownApp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<KnownApp, ApiError> {
        PathSegments::read(parts, state).await?.check_app(state)?;
        Ok(KnownApp)
    }
}

/// The user a live bearer token belongs to, acting on their own `{user}` path: a wrong app
/// is 404, a missing, expired or foreign token 401, another user's path 403, and so is an
/// app token: admin access reads a user's history with that user's token (`inherit`), never
/// as the app (PROTOCOL.md §2: the path is the token's own user).
#[derive(Debug)]
pub(crate) struct AuthUser {
    /// The user id (lowercase).
    pub(crate) name: String,
    /// When the token expires (ms since the epoch).
    pub(crate) expires_ms: i64,
}

impl FromRequestParts<Arc<AppState>> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<AuthUser, ApiError> {
        let segments = PathSegments::read(parts, state).await?;
        segments.check_app(state)?;
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        let bearer = state.tokens.check(header).await?;
        let Holder::User(name) = bearer.holder else {
            return Err(ApiError::forbidden(
                "an app token does not read a user's data: obtain the user's token with \
                 grant_type inherit",
            ));
        };
        let expires_ms = bearer.expires_ms;
        let path_user = segments.user.unwrap_or_default();
        if path_user != name {
            return Err(ApiError::forbidden(format!(
                "user {name:?} may not act on the path of user {:?}",
                path_user.chars().take(80).collect::<String>()
            )));
        }
        Ok(AuthUser { name, expires_ms })
    }
}

/// The app a live bearer token belongs to (the `inherit` grant's caller): a missing, expired
/// or foreign token is 401, a user's token 403.
#[derive(Debug)]
pub(crate) struct AppBearer {
    /// The app's client id.
    pub(crate) client_id: String,
}

impl AppBearer {
    /// The app of the `Authorization` header in `headers`.
    pub(crate) async fn from_headers(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<AppBearer, ApiError> {
        let header = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
        match state.tokens.check(header).await?.holder {
            Holder::App(client_id) => Ok(AppBearer { client_id }),
            Holder::User(_) => Err(ApiError::forbidden(
                "only an app token (grant_type client_credentials) can obtain another user's token",
            )),
        }
    }
}

/// Who holds a live bearer token, on a route that names no user (the name endpoints): a
/// wrong app is 404, a missing, expired or foreign token 401. An app token is the app's
/// administrator, as on the service.
#[derive(Debug)]
pub(crate) struct Caller {
    /// The user id (lowercase); `None` for an app token.
    pub(crate) user: Option<String>,
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Caller, ApiError> {
        PathSegments::read(parts, state).await?.check_app(state)?;
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        let user = match state.tokens.check(header).await?.holder {
            Holder::User(name) => Some(name),
            Holder::App(_) => None,
        };
        Ok(Caller { user })
    }
}

/// The query string, read leniently (see [`super::query`]): never a rejection.
#[derive(Debug)]
pub(crate) struct LenientQuery(pub(crate) HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for LenientQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> Result<LenientQuery, std::convert::Infallible> {
        Ok(LenientQuery(parse_query(parts.uri.query())))
    }
}

/// The address the request came from, when the server knows it (it always does when it
/// serves a socket; a router driven directly in a test may not).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peer(pub(crate) Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> Result<Peer, std::convert::Infallible> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        ))
    }
}

/// A JSON body of type `T`. Not JSON at all is 400 `json_parse`; JSON of the wrong shape 400
/// `illegal_argument`; over the body limit ([`axum::extract::DefaultBodyLimit`]) 413. The
/// `Content-Type` is not checked: the service does not insist on it either.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<ApiJson<T>, ApiError> {
        let limit = state.config.max_body_bytes;
        // A declared length over the limit is refused before a byte of the body is read.
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::too_large(limit));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| body_error(rejection, limit))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::json_parse(format!("request body is not valid JSON: {e}")))?;
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|e| ApiError::illegal_argument(format!("request body: {e}")))
    }
}

/// Why a body could not be read: over the limit, too slow, or broken off.
fn body_error(rejection: BytesRejection, limit: usize) -> ApiError {
    match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            ApiError::too_large(limit)
        }
        BytesRejection::FailedToBufferBody(FailedToBufferBody::UnknownBodyError(e))
            if is_timeout(&e) =>
        {
            ApiError::request_timeout("the request body did not arrive in time")
        }
        other => {
            ApiError::illegal_argument(format!("request body unreadable: {}", other.body_text()))
        }
    }
}

/// Whether a body error is the body timeout (tower-http's `TimeoutError`) somewhere in its
/// chain of causes.
fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}
