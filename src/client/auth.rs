//! Who the client is: the credential it was given, the token it holds, and logging in.
//!
//! A [`Credential`] is what a person gives: a password, a ready token, or an app's
//! credentials ([`AppAccess`]: admin access to any user's history). Internally a
//! credential that can obtain tokens is a [`Grant`] (PROTOCOL.md §8.2), and a client holding
//! a grant can log in again when its token is refused; a bare token cannot. Every grant is
//! one variant of [`Grant`] with its request body: `password`, and for admin access
//! `inherit` (the user's name with `autoCreateUser: false`, sent with an app token as
//! Bearer), whose app token comes from `client_credentials` (client id and secret) or was
//! saved by `roam login`. An app token is kept beside the user's and obtained again only
//! when it is refused or expired.
//!
//! Admin access reads only: the client has no call that writes (marking read is not an
//! HTTP call at all, PROTOCOL.md §2), and the inherited token is used for nothing else.
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
use super::transport::{Bearer, Call, parse};
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
    /// Admin access: the app's credentials obtain the user's token (`inherit`).
    App(AppAccess),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Password(_) => f.write_str("Password(<redacted>)"),
            Credential::Token(_) => f.write_str("Token(<redacted>)"),
            Credential::App(app) => write!(f, "App({app:?})"),
        }
    }
}

/// An app's credentials for admin access: its client id, and its secret and/or an app
/// token obtained before (`roam login`). At least one of the two is needed; without the
/// secret, an app token that is refused or expired cannot be replaced.
#[derive(Clone)]
pub struct AppAccess {
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret.
    pub secret: Option<Secret>,
    /// An app token to use first.
    pub app_token: Option<IssuedToken>,
}

impl fmt::Debug for AppAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppAccess")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("app_token", &self.app_token.as_ref().map(|_| "<redacted>"))
            .finish()
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
    /// `grant_type: inherit` for the client's user, with an app token that
    /// `client_credentials` obtains from this client id and secret (when there is one).
    Inherit {
        client_id: String,
        secret: Option<Secret>,
    },
}

/// The token call with `request` as its body, sending `bearer`.
fn token_call(request: &TokenRequest, bearer: Bearer) -> Result<Call, ClientError> {
    let body = serde_json::to_value(request).map_err(|e| {
        ClientError::InvalidArgument(format!("cannot encode the token request: {e}"))
    })?;
    Ok(Call {
        method: Method::POST,
        path: "token".into(),
        query: Vec::new(),
        body: Some(body),
        bearer,
    })
}

impl Grant {
    /// What must never appear in an error or a log.
    fn secrets(&self) -> Vec<Secret> {
        match self {
            Grant::Password(password) => vec![password.clone()],
            Grant::Inherit { secret, .. } => secret.iter().cloned().collect(),
        }
    }
}

/// The client's side of authentication.
pub(super) struct Auth {
    /// How to obtain a token again; `None` for a bare token.
    grant: Option<Grant>,
    token: RwLock<Option<IssuedToken>>,
    /// The app token of admin access; never held across an await.
    app_token: std::sync::Mutex<Option<IssuedToken>>,
    login_lock: Mutex<()>,
}

impl Auth {
    /// Checks a credential: neither a password nor a token may be empty, and admin access
    /// needs a client id and a secret or an app token.
    pub fn new(credential: Credential) -> Result<Auth, ClientError> {
        if let Credential::App(app) = credential {
            return Auth::for_app(app);
        }
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
            Credential::App(_) => unreachable!("handled above"),
        };
        Ok(Auth {
            grant,
            token: RwLock::new(token),
            app_token: std::sync::Mutex::new(None),
            login_lock: Mutex::new(()),
        })
    }

    fn for_app(app: AppAccess) -> Result<Auth, ClientError> {
        let client_id = app.client_id.trim().to_string();
        if client_id.is_empty() {
            return Err(ClientError::Config("the client id is empty".into()));
        }
        let secret = app.secret.filter(|s| !s.expose().is_empty());
        let app_token = app
            .app_token
            .filter(|t| !t.token.expose().trim().is_empty());
        if secret.is_none() && app_token.is_none() {
            return Err(ClientError::Config(
                "admin access needs the client secret or a saved app token".into(),
            ));
        }
        Ok(Auth {
            grant: Some(Grant::Inherit { client_id, secret }),
            token: RwLock::new(None),
            app_token: std::sync::Mutex::new(app_token),
            login_lock: Mutex::new(()),
        })
    }

    /// What kind of credential this is, for `Debug`.
    pub fn kind(&self) -> &'static str {
        match self.grant {
            Some(Grant::Password(_)) => "password",
            Some(Grant::Inherit { .. }) => "app",
            None => "token",
        }
    }

    /// The client id when this is admin access.
    pub fn client_id(&self) -> Option<&str> {
        match &self.grant {
            Some(Grant::Inherit { client_id, .. }) => Some(client_id),
            _ => None,
        }
    }

    fn held_app_token(&self) -> Option<IssuedToken> {
        self.app_token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn keep_app_token(&self, token: Option<IssuedToken>) {
        *self.app_token.lock().unwrap_or_else(|p| p.into_inner()) = token;
    }

    /// Whether a refused token can be replaced by logging in again.
    pub fn can_log_in(&self) -> bool {
        self.grant.is_some()
    }

    /// The grant's secrets, the app token and `token`: what server text must not show.
    pub fn secrets(&self, token: Option<&Secret>) -> Vec<Secret> {
        let mut secrets = self.grant.as_ref().map(Grant::secrets).unwrap_or_default();
        secrets.extend(self.held_app_token().map(|t| t.token));
        secrets.extend(token.cloned());
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

    /// The app token of admin access held now, for `roam login` to save. Handle with care.
    pub fn app_token(&self) -> Option<IssuedToken> {
        self.auth.held_app_token()
    }

    /// The app's client id when this client reads with admin access (`inherit`): the
    /// history is then the user's, opened by the app, and every screen says so.
    pub fn admin_client_id(&self) -> Option<&str> {
        self.auth.client_id()
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
        let issued = match &self.auth.grant {
            None => return Ok(()),
            Some(Grant::Password(password)) => {
                let request = TokenRequest::Password {
                    username: self.user.clone(),
                    password: password.expose().to_string(),
                    timestamp: Some(now_ms()),
                };
                self.token_exchange(&token_call(&request, Bearer::Nobody)?)
                    .await?
            }
            Some(Grant::Inherit { client_id, secret }) => {
                self.inherit(client_id, secret.as_ref()).await?
            }
        };
        *self.auth.token.write().await = Some(issued);
        tracing::debug!(user = %self.user, "logged in");
        Ok(())
    }

    /// The user's token for the app (`inherit`): with the app token held when it is not
    /// known to have expired, else with a new one; a held one that is refused is replaced
    /// once, when the secret is at hand.
    async fn inherit(
        &self,
        client_id: &str,
        secret: Option<&Secret>,
    ) -> Result<IssuedToken, ClientError> {
        let now = SystemTime::now();
        let held = self
            .auth
            .held_app_token()
            .filter(|t| t.expires_at.is_none_or(|at| at > now));
        let request = TokenRequest::Inherit {
            username: self.user.clone(),
            auto_create_user: false,
        };
        if let Some(app) = held {
            match self
                .token_exchange(&token_call(&request, Bearer::App(app.token))?)
                .await
            {
                Err(e) if e.status() == Some(401) && secret.is_some() => {
                    tracing::info!("the app token was refused; obtaining a new one");
                }
                other => return other,
            }
        }
        let Some(secret) = secret else {
            return Err(ClientError::Config(
                "the saved app token has expired: give the client secret (ROAM_CLIENT_SECRET)"
                    .into(),
            ));
        };
        self.auth.keep_app_token(None);
        let app_request = TokenRequest::ClientCredentials {
            client_id: client_id.to_string(),
            client_secret: secret.expose().to_string(),
        };
        let app = self
            .token_exchange(&token_call(&app_request, Bearer::Nobody)?)
            .await?;
        self.auth.keep_app_token(Some(app.clone()));
        tracing::debug!(client_id, "obtained an app token");
        self.token_exchange(&token_call(&request, Bearer::App(app.token))?)
            .await
    }

    /// One token call and its token.
    async fn token_exchange(&self, call: &Call) -> Result<IssuedToken, ClientError> {
        let bytes = self.send(call).await?;
        let response: TokenResponse = parse(&call.endpoint(), &bytes, &self.auth.secrets(None))?;
        if response.access_token.trim().is_empty() {
            return Err(ClientError::Malformed {
                endpoint: call.endpoint(),
                reason: "the token response has an empty access_token".into(),
            });
        }
        Ok(IssuedToken::from_lifetime(
            Secret(response.access_token),
            response.expires_in,
            SystemTime::now(),
        ))
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
        let app = |secret: Option<&str>, token: Option<&str>| {
            Credential::App(AppAccess {
                client_id: "YXA6app".into(),
                secret: secret.map(Secret::new),
                app_token: token.map(|t| IssuedToken {
                    token: Secret::new(t),
                    expires_at: None,
                }),
            })
        };
        assert!(
            Auth::new(app(None, None)).is_err(),
            "neither a secret nor a token"
        );
        let auth = Auth::new(app(Some("app-secret-1"), Some("app-token-1"))).expect("ok");
        assert_eq!((auth.kind(), auth.client_id()), ("app", Some("YXA6app")));
        let hidden: Vec<String> = auth
            .secrets(None)
            .iter()
            .map(|s| s.expose().to_string())
            .collect();
        assert_eq!(hidden, ["app-secret-1", "app-token-1"]);
        let shown = format!("{:?}", app(Some("app-secret-1"), Some("app-token-1")));
        assert!(
            !shown.contains("app-secret-1") && !shown.contains("app-token-1"),
            "{shown}"
        );
        assert!(!format!("{:?}", Credential::Password("hunter2".into())).contains("hunter2"));
        assert_eq!(format!("{}", Secret::new("x")), "<redacted>");
        assert_eq!(format!("{:?}", Secret::new("x")), "Secret(<redacted>)");
    }
}
