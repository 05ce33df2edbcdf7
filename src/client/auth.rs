//! Who the client is: the credential it was given, the token it holds, and logging in.
//!
//! A [`Credential`] is what a person gives: a password, or a ready token. Internally a
//! credential that can obtain tokens is a [`Grant`] (PROTOCOL.md §8.2), and a client holding
//! a grant can log in again when its token is refused; a bare token cannot. Every grant is
//! one variant of [`Grant`] with its request body; the admin grants slot in beside the
//! password: `client_credentials` (client id and secret, no user: an app token) and
//! `inherit` (a user name, sent with an app token as Bearer that its own app grant obtains
//! first, and `autoCreateUser: false`). The rest of the client only asks a grant for its
//! token call and its secrets.
//!
//! Logins are serialized: concurrent calls that find no token, or whose token was refused,
//! log in once between them, not once each.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use super::Client;
use super::error::ClientError;
use super::transport::{Call, parse};
use crate::protocol::json::{Envelope, TokenRequest, TokenResponse};

/// A string that must never be shown: its `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it (a header, a token file).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How the client proves who it is.
#[derive(Clone)]
pub enum Credential {
    /// A password, exchanged for a token at `POST /{org}/{app}/token`; it also lets the client
    /// log in again when the token expires.
    Password(String),
    /// A ready access token; when it expires the client can only report the 401.
    Token(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Password(_) => f.write_str("Password(<redacted>)"),
            Credential::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

/// A token the server issued, with when it stops working when the server said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    /// The bearer token.
    pub token: Secret,
    /// When it expires; `None` when the server gave no lifetime (or 0: no expiry).
    pub expires_at: Option<SystemTime>,
}

impl IssuedToken {
    /// A token that lives `expires_in` seconds from `now` (0 or less: no known end).
    pub fn from_lifetime(token: Secret, expires_in: i64, now: SystemTime) -> IssuedToken {
        let expires_at = u64::try_from(expires_in)
            .ok()
            .filter(|&s| s > 0)
            .and_then(|s| now.checked_add(Duration::from_secs(s)));
        IssuedToken { token, expires_at }
    }
}

/// A way of obtaining a token at `POST /{org}/{app}/token`.
pub(super) enum Grant {
    /// `grant_type: password` for the client's user.
    Password(Secret),
}

impl Grant {
    /// The token call for `user`.
    fn token_call(&self, user: &str) -> Result<Call, ClientError> {
        let body = match self {
            Grant::Password(password) => serde_json::to_value(TokenRequest {
                grant_type: "password".into(),
                username: user.to_string(),
                password: password.expose().to_string(),
                timestamp: Some(now_ms()),
            }),
        }
        .map_err(|e| {
            ClientError::InvalidArgument(format!("cannot encode the token request: {e}"))
        })?;
        Ok(Call {
            method: Method::POST,
            path: "token".into(),
            query: Vec::new(),
            body: Some(body),
            auth: false,
        })
    }

    /// What must never appear in an error or a log.
    fn secrets(&self) -> Vec<&Secret> {
        match self {
            Grant::Password(password) => vec![password],
        }
    }
}

/// The client's side of authentication.
pub(super) struct Auth {
    /// How to obtain a token again; `None` for a bare token.
    grant: Option<Grant>,
    token: RwLock<Option<IssuedToken>>,
    login_lock: Mutex<()>,
}

impl Auth {
    /// Checks a credential: neither a password nor a token may be empty.
    pub fn new(credential: Credential) -> Result<Auth, ClientError> {
        let (grant, token) = match credential {
            Credential::Password(p) if p.is_empty() => {
                return Err(ClientError::Config("the password is empty".into()));
            }
            Credential::Token(t) if t.trim().is_empty() => {
                return Err(ClientError::Config("the token is empty".into()));
            }
            Credential::Password(p) => (Some(Grant::Password(Secret(p))), None),
            Credential::Token(t) => (
                None,
                Some(IssuedToken {
                    token: Secret(t.trim().to_string()),
                    expires_at: None,
                }),
            ),
        };
        Ok(Auth {
            grant,
            token: RwLock::new(token),
            login_lock: Mutex::new(()),
        })
    }

    /// What kind of credential this is, for `Debug`.
    pub fn kind(&self) -> &'static str {
        match self.grant {
            Some(Grant::Password(_)) => "password",
            None => "token",
        }
    }

    /// Whether a refused token can be replaced by logging in again.
    pub fn can_log_in(&self) -> bool {
        self.grant.is_some()
    }

    /// The grant's secrets and `token`: what server text must not show.
    pub fn secrets<'a>(&'a self, token: Option<&'a Secret>) -> Vec<&'a Secret> {
        let mut secrets = self.grant.as_ref().map(Grant::secrets).unwrap_or_default();
        secrets.extend(token);
        secrets
    }
}

/// The `data` of the token-expiry answer: milliseconds since the epoch.
#[derive(Deserialize)]
#[serde(untagged)]
enum ExpiryMs {
    Number(i64),
    Text(String),
}

impl Client {
    /// Logs in with the client's grant (`POST /{org}/{app}/token`) and keeps the token.
    /// With a token credential there is nothing to exchange and this returns at once.
    pub async fn login(&self) -> Result<(), ClientError> {
        let _guard = self.auth.login_lock.lock().await;
        self.login_locked().await
    }

    /// The access token held now, if any: for writing a token file. Handle with care.
    pub async fn current_token(&self) -> Option<Secret> {
        self.auth
            .token
            .read()
            .await
            .as_ref()
            .map(|t| t.token.clone())
    }

    /// The token held now with its expiry as the server gave it at login.
    pub async fn issued_token(&self) -> Option<IssuedToken> {
        self.auth.token.read().await.clone()
    }

    /// Asks the server when the token held now expires (`GET
    /// sdk/users/{user}/token/expires`): a token the server no longer accepts is a 401
    /// here, which makes this the check of a saved token before it is used.
    pub async fn token_expiry(&self) -> Result<SystemTime, ClientError> {
        let call = Call::get(format!("sdk/users/{}/token/expires", self.user));
        let answer: Envelope<ExpiryMs> = self.get_json(&call).await?;
        let ms = match answer.data {
            ExpiryMs::Number(ms) => Some(ms),
            ExpiryMs::Text(text) => text.trim().parse().ok(),
        };
        ms.and_then(|ms| u64::try_from(ms).ok())
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
            .ok_or_else(|| ClientError::Malformed {
                endpoint: call.endpoint(),
                reason: "the expiry is not a time in milliseconds".into(),
            })
    }

    /// Logs in; the caller holds `login_lock`.
    async fn login_locked(&self) -> Result<(), ClientError> {
        let Some(grant) = &self.auth.grant else {
            return Ok(());
        };
        let call = grant.token_call(&self.user)?;
        let bytes = self.send(&call).await?;
        let response: TokenResponse = parse(&call.endpoint(), &bytes, &self.auth.secrets(None))?;
        if response.access_token.trim().is_empty() {
            return Err(ClientError::Malformed {
                endpoint: call.endpoint(),
                reason: "the token response has an empty access_token".into(),
            });
        }
        let issued = IssuedToken::from_lifetime(
            Secret(response.access_token),
            response.expires_in,
            SystemTime::now(),
        );
        *self.auth.token.write().await = Some(issued);
        tracing::debug!(user = %self.user, expires_in = response.expires_in, "logged in");
        Ok(())
    }

    /// The token to send, logging in first when there is none yet.
    pub(super) async fn bearer(&self) -> Result<Secret, ClientError> {
        if let Some(token) = self.current_token().await {
            return Ok(token);
        }
        let _guard = self.auth.login_lock.lock().await;
        // Another call may have logged in while this one waited for the lock.
        if self.auth.token.read().await.is_none() {
            self.login_locked().await?;
        }
        self.current_token().await.ok_or_else(|| {
            ClientError::Config("no token: log in with a password or give a token".into())
        })
    }

    /// Logs in again after `refused` was refused, unless another call already replaced it.
    pub(super) async fn log_in_again(&self, refused: Option<&Secret>) -> Result<(), ClientError> {
        let _guard = self.auth.login_lock.lock().await;
        if self.current_token().await.as_ref() == refused {
            self.login_locked().await?;
        }
        Ok(())
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifetime_becomes_an_expiry_and_zero_means_none() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let token = || Secret::new("t");
        assert_eq!(
            IssuedToken::from_lifetime(token(), 3600, now).expires_at,
            Some(now + Duration::from_secs(3600))
        );
        assert_eq!(IssuedToken::from_lifetime(token(), 0, now).expires_at, None);
        assert_eq!(
            IssuedToken::from_lifetime(token(), -5, now).expires_at,
            None
        );
        assert_eq!(
            IssuedToken::from_lifetime(token(), i64::MAX, now).expires_at,
            None,
            "past what a clock holds: no known end rather than a panic"
        );
    }

    #[test]
    fn credentials_are_checked_and_never_shown() {
        assert!(Auth::new(Credential::Password(String::new())).is_err());
        assert!(Auth::new(Credential::Token(" ".into())).is_err());
        let auth = Auth::new(Credential::Password("hunter2".into())).expect("ok");
        assert!(auth.can_log_in());
        assert_eq!(auth.kind(), "password");
        let auth = Auth::new(Credential::Token("tok".into())).expect("ok");
        assert!(!auth.can_log_in());
        assert!(!format!("{:?}", Credential::Password("hunter2".into())).contains("hunter2"));
        assert_eq!(format!("{}", Secret::new("x")), "<redacted>");
        assert_eq!(format!("{:?}", Secret::new("x")), "Secret(<redacted>)");
    }
}
