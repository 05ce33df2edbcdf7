//! `POST /{org}/{app}/token`: the three grants of PROTOCOL.md §8.2.
//!
//! - `password`: a user's own token.
//! - `client_credentials`: an app (admin) token for the app's client id and secret, from
//!   `roam serve --app-credentials FILE` or the store's `apps` (state file). A wrong id or
//!   secret is 400 `invalid_grant`, as the service answers, and counts as a failed login:
//!   the same throttle per name (the client id) and per address, before any hash work.
//! - `inherit`: a user's token for an app token (Bearer). Without a live app token it is
//!   refused (401, or 403 for a user's token); a user who does not exist is 404
//!   `service_resource_not_found`: this server never creates users, whatever
//!   `autoCreateUser` says.
//!
//! Secrets are checked like passwords (argon2 through the bounded [`PasswordGate`]), and
//! no token, password or secret is ever logged.
//!
//! [`PasswordGate`]: super::hashing::PasswordGate

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, AppBearer, KnownApp, Peer};
use super::log_text::LogText;
use super::stored;
use crate::protocol::json::{TokenRequest, TokenResponse, TokenUser};
use crate::store::apps::check_client_id;
use crate::store::{UserRecord, check_id};

/// One app whose credentials the server accepts besides the store's, with only the hash
/// of its secret. `Debug` shows the client id alone.
#[derive(Clone, PartialEq, Eq)]
pub struct ServedApp {
    /// The client id.
    pub client_id: String,
    /// An argon2id PHC hash of the client secret.
    pub secret_hash: String,
    /// The `application` of its token responses.
    pub uuid: String,
}

impl std::fmt::Debug for ServedApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedApp")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Answers the token call with the grant the body names.
pub(super) async fn token(
    State(state): State<Arc<AppState>>,
    _: KnownApp,
    Peer(peer): Peer,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    match body {
        TokenRequest::Password {
            username, password, ..
        } => password_grant(&state, peer, username, password).await,
        TokenRequest::ClientCredentials {
            client_id,
            client_secret,
        } => app_grant(&state, peer, client_id, client_secret).await,
        TokenRequest::Inherit { username, .. } => {
            let app = AppBearer::from_headers(&state, &headers).await?;
            inherit_grant(&state, &app, &username).await
        }
    }
}

/// The password grant. The user's hash is read with a pooled connection that is released
/// before the (bounded) password check; failed logins are throttled per name and per
/// address before any of that work.
async fn password_grant(
    state: &Arc<AppState>,
    peer: Option<SocketAddr>,
    username: String,
    password: String,
) -> Result<Json<TokenResponse>, ApiError> {
    let refused = |name: &str| {
        state.failed_logins.failed(name, peer);
        tracing::info!(user = %LogText::with_max(name, 64), "login refused");
        ApiError::invalid_grant()
    };
    // Nobody has an id outside the id rules: no password work to hide that.
    let Ok(name) = check_id(&username) else {
        let name = username.to_ascii_lowercase();
        state.failed_logins.check(&name, peer)?;
        return Err(refused(&name));
    };
    state.failed_logins.check(&name, peer)?;
    let lookup = name.clone();
    let record = stored::login_record(state, lookup).await?;
    let (user, hash) = match record {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let matches = state.passwords.verify(hash, password).await?;
    let Some(user) = user.filter(|_| matches) else {
        return Err(refused(&name));
    };
    state.failed_logins.succeeded(&name);
    let token = state.tokens.issue(&user.name).await?;
    tracing::info!(user = %LogText::new(&user.name), "token issued");
    Ok(user_token(state, token, user))
}

/// The throttle's key for an app: a client id is counted apart from any user name (`:` is
/// in no user id).
fn throttle_key(client_id: &str) -> String {
    let id: String = client_id.chars().take(128).collect();
    format!("app:{id}")
}

/// The `client_credentials` grant: an app token for a known client id and its secret.
async fn app_grant(
    state: &Arc<AppState>,
    peer: Option<SocketAddr>,
    client_id: String,
    client_secret: String,
) -> Result<Json<TokenResponse>, ApiError> {
    let key = throttle_key(&client_id);
    state.failed_logins.check(&key, peer)?;
    let refused = || {
        state.failed_logins.failed(&key, peer);
        tracing::info!(client_id = %LogText::with_max(&client_id, 128), "app token refused");
        ApiError::invalid_client()
    };
    let Ok(id) = check_client_id(&client_id) else {
        return Err(refused());
    };
    let served = state
        .config
        .apps
        .iter()
        .find(|a| a.client_id == id)
        .map(|a| (a.uuid.clone(), a.secret_hash.clone()));
    let found = match served {
        Some(found) => Some(found),
        None => {
            let lookup = id.to_string();
            stored::app_record(state, lookup)
                .await?
                .map(|(app, hash)| (app.uuid, hash))
        }
    };
    let (uuid, hash) = found.unzip();
    let matches = state.passwords.verify(hash, client_secret).await?;
    let Some(uuid) = uuid.filter(|_| matches) else {
        return Err(refused());
    };
    state.failed_logins.succeeded(&key);
    let token = state.tokens.issue_app(id).await?;
    tracing::info!(client_id = %LogText::new(id), "app token issued");
    Ok(Json(TokenResponse {
        access_token: token,
        expires_in: expires_in(state),
        user: None,
        application: Some(uuid),
    }))
}

/// The `inherit` grant: the token of a user who exists, for a live app token.
async fn inherit_grant(
    state: &Arc<AppState>,
    app: &AppBearer,
    username: &str,
) -> Result<Json<TokenResponse>, ApiError> {
    let missing = || {
        ApiError::resource_not_found(&format!(
            "user {}: no such user (users are never created here)",
            username.chars().take(64).collect::<String>()
        ))
    };
    let Ok(name) = check_id(username) else {
        return Err(missing());
    };
    let lookup = name.clone();
    let user = stored::existing_user(state, lookup)
        .await?
        .ok_or_else(missing)?;
    let token = state.tokens.issue(&user.name).await?;
    tracing::info!(
        user = %LogText::new(&user.name),
        client_id = %LogText::new(&app.client_id),
        "user token issued to an app"
    );
    Ok(user_token(state, token, user))
}

/// Seconds a new token lives, rounded up.
fn expires_in(state: &AppState) -> i64 {
    let ttl = state.config.token_ttl;
    let secs = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0));
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// A user token's response, as the password grant gives it.
fn user_token(state: &AppState, token: String, user: UserRecord) -> Json<TokenResponse> {
    Json(TokenResponse {
        access_token: token,
        expires_in: expires_in(state),
        user: Some(TokenUser {
            uuid: user.uuid,
            kind: "user".into(),
            created: user.created,
            modified: user.modified,
            username: user.name,
            activated: true,
        }),
        application: None,
    })
}
