//! The HTTP client of the history protocol (PROTOCOL.md §1-§6): login, conversation lists,
//! history pages, over reqwest with rustls. One concern per file:
//!
//! - [`transport`]: one HTTP exchange: URL, timeouts, the size cap, errors with the
//!   server's words and no secrets;
//! - [`retry`]: whether a refused request is tried again, a pure policy;
//! - [`auth`]: credentials, grants, the token held, logging in;
//! - [`lists`]: the conversation lists; [`history`]: history pages; [`names`]: nicknames
//!   and group and room names; [`files`]: downloading attachments.
//!
//! What it promises the rest of roam:
//! - **Ids follow the one id rule** ([`crate::protocol::ids`], shared with the store): user,
//!   peer, group and sender ids are checked and lowercased before any call, because the
//!   service answers mixed-case ids with empty lists (§1). [`Client::user_was_lowercased`]
//!   lets the UI say so once.
//! - **Success is HTTP 200 only**; every other status is a [`ClientError::Http`] carrying the
//!   server's `error` and `error_description` (§6), sanitized to one line.
//! - **Retries** only what is safe, as [`retry`] decides: 429 and 503 at most
//!   [`MAX_TRIES`] tries, honouring `Retry-After`; a 401 logs in again once when the client
//!   holds a grant (a password), counted apart.
//! - **Timeouts**: connect, per-read and overall, all configurable so tests do not wait 15 s.
//! - **Bounded responses**: bodies are read in chunks and refused past
//!   [`ClientConfig::max_response_bytes`].
//! - **Secrets stay secret**: the token and password never appear in `Debug`, in errors or in
//!   logs. Server text that echoes them back is redacted before it becomes an error.

mod auth;
mod error;
mod files;
mod history;
mod lists;
mod names;
pub mod retry;
mod transport;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

pub use auth::{AppAccess, Credential, IssuedToken, Secret};
pub use error::ClientError;
pub use files::{DEFAULT_MAX_DOWNLOAD_BYTES, DownloadError, DownloadOptions, Progress, SaveTo};
pub use history::MAX_HISTORY_PAGE_SIZE;
pub use lists::{MAX_CURSOR_LIST_LIMIT, MAX_LEGACY_PAGE_SIZE};
pub use names::{MAX_NAME_CHARS, NameMap};
pub use retry::MAX_TRIES;

use crate::protocol::ids;
use auth::Auth;
use error::one_line;
use history::LegacyCursor;
use retry::{Attempts, Refusal, RetryPolicy, Verdict};
use transport::{Bearer, Call, Transport, parse};

/// Default time allowed to open a TCP (and TLS) connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time allowed between two reads of a response: the SDK's 15 s request timeout.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(15);
/// Default cap on one whole request, so a server that trickles bytes cannot hold a call
/// open forever while never tripping the per-read timeout.
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on a response body. A history page of 50 messages is a few hundred KiB at
/// most; 16 MiB leaves room for odd deployments while still bounding memory.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;
/// Default first backoff step for 429/503 without `Retry-After`; it doubles per try.
pub const DEFAULT_RETRY_BASE_DELAY: Duration = Duration::from_millis(500);
/// Default cap on any single wait before a retry, whatever `Retry-After` asks.
pub const DEFAULT_MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// Everything a [`Client`] needs. Build it with [`ClientConfig::new`] and change the public
/// fields for non-default timeouts or limits.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `http://` or `https://` base URL; paths are appended as `{base}/{org}/{app}/...`.
    pub base_url: String,
    /// `org#app`.
    pub appkey: String,
    /// The user id; lowercased by the client.
    pub user: String,
    /// Password or token; its `Debug` is redacted.
    pub credential: Credential,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed between reads (including the wait for the response head).
    pub read_timeout: Duration,
    /// Time allowed for one whole request, body included.
    pub total_timeout: Duration,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: u64,
    /// First backoff step for 429/503 without `Retry-After`.
    pub retry_base_delay: Duration,
    /// Longest single wait before a retry.
    pub max_retry_wait: Duration,
    /// What to call the deployment in the names of local files (library, names cache):
    /// `None` = the server's `host:port`. The embedded demo, whose port changes every run,
    /// is named `demo`.
    pub deployment: Option<String>,
}

impl ClientConfig {
    /// A configuration with the default timeouts and limits.
    pub fn new(
        base_url: impl Into<String>,
        appkey: impl Into<String>,
        user: impl Into<String>,
        credential: Credential,
    ) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            appkey: appkey.into(),
            user: user.into(),
            credential,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            total_timeout: DEFAULT_TOTAL_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retry_base_delay: DEFAULT_RETRY_BASE_DELAY,
            max_retry_wait: DEFAULT_MAX_RETRY_WAIT,
            deployment: None,
        }
    }
}

/// A client of one user on one app. Cheap to share behind an `Arc`; calls may run
/// concurrently (the legacy [`Client::fetch_history`] calls are serialized, see there).
pub struct Client {
    transport: Transport,
    retry: RetryPolicy,
    /// Lowercased user id.
    user: String,
    user_was_lowercased: bool,
    deployment: Option<String>,
    auth: Auth,
    legacy_cursors: Mutex<HashMap<String, LegacyCursor>>,
    undecodable: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.transport.base_url())
            .field("appkey", &self.appkey())
            .field("user", &self.user)
            .field("credential", &self.auth.kind())
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Checks the configuration and builds the client. No request is made: a password is
    /// exchanged for a token by [`Client::login`], or by the first call that needs one.
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        let transport = Transport::new(&config)?;
        let user = ids::normalize(config.user.trim()).map_err(|_| {
            ClientError::Config(format!(
                "user id {:?} must be 1 to {} letters, digits, '_', '.' or '-'",
                one_line(&config.user, 80),
                ids::MAX_ID_LEN
            ))
        })?;
        let auth = Auth::new(config.credential)?;
        Ok(Client {
            transport,
            retry: RetryPolicy {
                max_tries: MAX_TRIES,
                base_delay: config.retry_base_delay,
                max_wait: config.max_retry_wait,
            },
            user: user.id,
            user_was_lowercased: user.was_lowercased,
            deployment: config.deployment,
            auth,
            legacy_cursors: Mutex::new(HashMap::new()),
            undecodable: AtomicU64::new(0),
        })
    }

    /// The user id as sent: lowercased.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Whether lowercasing changed the configured user id, so the UI can say so once.
    pub fn user_was_lowercased(&self) -> bool {
        self.user_was_lowercased
    }

    /// The app key, `org#app`.
    pub fn appkey(&self) -> String {
        self.transport.appkey()
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    /// `host:port` of the server, as a person names it ("connecting to ...").
    pub fn host(&self) -> String {
        self.transport.host()
    }

    /// The deployment's name for local files: the configured one, else `host:port`. Stable
    /// across runs, so a library or a cache is found again.
    pub fn deployment(&self) -> String {
        self.deployment.clone().unwrap_or_else(|| self.host())
    }

    /// History entries that could not be decoded (bad base64 or protobuf) since the client
    /// was built. They are skipped so one bad entry does not cost the whole page; each is
    /// logged at `warn`, and this count lets the UI say that something was left out.
    pub fn undecodable_entries(&self) -> u64 {
        self.undecodable.load(Ordering::Relaxed)
    }

    /// Sends a call, trying again as the [`retry`] policy says, and returns the 200 body.
    async fn send(&self, call: &Call) -> Result<Vec<u8>, ClientError> {
        let url = self.transport.url(call)?;
        let mut attempts = Attempts::default();
        loop {
            let token = match &call.bearer {
                // Boxed: logging in sends a request itself.
                Bearer::User => Some(Box::pin(self.bearer()).await?),
                Bearer::App(app) => Some(app.clone()),
                Bearer::Nobody => None,
            };
            let secrets = self.auth.secrets(token.as_ref());
            let refused = match self
                .transport
                .exchange(call, &url, token.as_ref(), &secrets)
                .await
            {
                Ok(body) => return Ok(body),
                Err(refused) => refused,
            };
            if matches!(refused.refusal, Refusal::Busy { .. }) {
                attempts.busy += 1;
            }
            // Only the user's token is replaced by logging in; an app token refused is the
            // inherit call's own business.
            let can_log_in = matches!(call.bearer, Bearer::User) && self.auth.can_log_in();
            let endpoint = call.endpoint();
            match self.retry.decide(refused.refusal, attempts, can_log_in) {
                Verdict::RetryAfter(wait) => {
                    tracing::warn!(%endpoint, status = refused.error.status(), ?wait, tries = attempts.busy, "server busy; retrying");
                    tokio::time::sleep(wait).await;
                }
                Verdict::LogInAgain => {
                    tracing::info!(%endpoint, "token refused; logging in again");
                    attempts.logins += 1;
                    Box::pin(self.log_in_again(token.as_ref())).await?;
                }
                Verdict::GiveUp => return Err(refused.error),
            }
        }
    }

    /// Sends a call and parses its 200 body.
    async fn get_json<T: DeserializeOwned>(&self, call: &Call) -> Result<T, ClientError> {
        let bytes = self.send(call).await?;
        let token = self.current_token().await;
        parse(&call.endpoint(), &bytes, &self.auth.secrets(token.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base: &str, appkey: &str, user: &str) -> ClientConfig {
        ClientConfig::new(base, appkey, user, Credential::Password("pw".into()))
    }

    #[test]
    fn config_is_validated_with_clear_errors() {
        let err = |c: ClientConfig| Client::new(c).err().map(|e| e.to_string());
        assert!(err(config("http://h", "acme", "a")).is_some_and(|e| e.contains("org#app")));
        assert!(err(config("http://h", "#app", "a")).is_some_and(|e| e.contains("org#app")));
        assert!(err(config("http://h", "acme#", "a")).is_some_and(|e| e.contains("org#app")));
        assert!(err(config("ftp://h", "a#b", "a")).is_some_and(|e| e.contains("http")));
        assert!(err(config("not a url", "a#b", "a")).is_some_and(|e| e.contains("not a URL")));
        assert!(err(config("http://h", "a#b", "a/b")).is_some_and(|e| e.contains("user id")));
        assert!(err(config("http://h", "a#b", "..")).is_some_and(|e| e.contains("user id")));
        let mut c = config("http://h", "a#b", "a");
        c.credential = Credential::Token(" ".into());
        assert!(err(c).is_some_and(|e| e.contains("token is empty")));
        let client = Client::new(config("http://h:8080/api/", "a#b", "Alice")).expect("valid");
        assert_eq!(client.user(), "alice");
        assert!(client.user_was_lowercased());
        assert_eq!(client.base_url(), "http://h:8080/api");
        assert_eq!(client.host(), "h:8080");
        assert_eq!(client.appkey(), "a#b");
        assert_eq!(
            client.deployment(),
            "h:8080",
            "named by its host when not told"
        );
        let named = ClientConfig {
            deployment: Some("demo".into()),
            ..config("http://127.0.0.1:41234", "a#b", "a")
        };
        assert_eq!(Client::new(named).expect("valid").deployment(), "demo");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let mut c = config("http://h", "a#b", "a");
        c.credential = Credential::Password("hunter2-pw".into());
        assert!(!format!("{c:?}").contains("hunter2"));
        c.credential = Credential::Token("tok-123-abc".into());
        assert!(!format!("{c:?}").contains("tok-123"));
        let client = Client::new(c).expect("valid");
        assert!(!format!("{client:?}").contains("tok-123"));
    }
}
