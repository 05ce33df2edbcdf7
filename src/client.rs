//! The HTTP client of the history protocol (PROTOCOL.md §1-§6): login, conversation lists,
//! history pages, over reqwest with rustls.
//!
//! What it promises the rest of roam:
//! - **Ids are lowercased** (user, peer, group, sender) before any call, because the service
//!   answers mixed-case ids with empty lists (§1). [`Client::user_was_lowercased`] lets the UI
//!   say so once.
//! - **Success is HTTP 200 only**; every other status is a [`ClientError::Http`] carrying the
//!   server's `error` and `error_description` (§6), sanitized to one line.
//! - **Retries** only what is safe: 429 and 503, at most [`MAX_TRIES`] tries in all, waiting as
//!   `Retry-After` says (delta-seconds or an HTTP date, capped) or with exponential backoff.
//!   Nothing else is retried: not 500 (the request may have had effects we cannot see), not
//!   400/401/403 unchanged, and not connect failures (a refused or unreachable host does not
//!   heal in a second, and the person should hear about it at once rather than after a
//!   backoff). A 401 logs in again once when a password is at hand and repeats the call once.
//! - **Timeouts**: connect, per-read and overall, all configurable so tests do not wait 15 s.
//! - **Bounded responses**: bodies are read in chunks and refused past
//!   [`ClientConfig::max_response_bytes`].
//! - **Secrets stay secret**: the token and password never appear in `Debug`, in errors or in
//!   logs. Server text that echoes them back is redacted before it becomes an error.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

use crate::protocol::json::{
    CursorList, Envelope, ErrorBody, LegacyList, RoamingPage, RoamingRequest, TokenRequest,
    TokenResponse,
};
use crate::protocol::{
    ChatType, Conversation, ConversationPage, HistoryPage, HistoryQuery, Message, PageLimits,
    PageWalk, PagingStop, decode_entry, normalize_id, queue_for,
};

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
/// Tries in all (first call included) for a request answered with 429 or 503.
pub const MAX_TRIES: u32 = 3;
/// The largest `limit` of the cursor conversation list (§2).
pub const MAX_CURSOR_LIST_LIMIT: u32 = 50;
/// The largest `pageSize` of the paged legacy conversation list (§2).
pub const MAX_LEGACY_PAGE_SIZE: u32 = 20;
/// The largest history page the service documents (§4).
pub const MAX_HISTORY_PAGE_SIZE: u32 = 50;

/// Error bodies are read only this far: enough for any §6 body, and a huge error page
/// should not turn into a "too large" error hiding the status.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// How much of an unreadable body an error quotes.
const EXCERPT_CHARS: usize = 120;
/// How long one line of server text in an error may get.
const SERVER_TEXT_CHARS: usize = 300;

// ---------------------------------------------------------------------------------------
// Secrets and configuration
// ---------------------------------------------------------------------------------------

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
        }
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why a call failed. Every text in it is one line, sanitized, and free of the token and
/// password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The configuration cannot work (bad app key, URL, user id, empty credential...).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An argument of a call is out of range or not an id.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The server answered with a status other than 200.
    #[error("{}", http_text(endpoint, *status, error, description, excerpt))]
    Http {
        /// Method and path below `/{org}/{app}/`, e.g. `POST users/alice/messageroaming`.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The server's `error` code (`invalid_grant`...), empty when the body had none.
        error: String,
        /// The server's `error_description`, empty when the body had none.
        description: String,
        /// A short sanitized excerpt of a body that was not a §6 error body, else empty.
        excerpt: String,
    },
    /// The server stopped answering within the read or overall timeout.
    #[error("{endpoint}: {addr} did not answer in time")]
    Timeout {
        /// Method and path.
        endpoint: String,
        /// `host:port`.
        addr: String,
    },
    /// No connection could be opened.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// What the system said.
        reason: String,
    },
    /// The connection failed after it was opened (reset, TLS failure...).
    #[error("{endpoint}: network error with {addr}: {reason}")]
    Transport {
        /// Method and path.
        endpoint: String,
        /// `host:port`.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// A 200 whose body is not what the protocol says (not JSON, no `data`, a cursor that
    /// does not move...).
    #[error("{endpoint}: malformed response: {reason}")]
    Malformed {
        /// Method and path.
        endpoint: String,
        /// What was wrong.
        reason: String,
    },
    /// The body exceeded [`ClientConfig::max_response_bytes`].
    #[error("{endpoint}: response larger than {limit} bytes")]
    TooLarge {
        /// Method and path.
        endpoint: String,
        /// The cap.
        limit: u64,
    },
}

fn http_text(endpoint: &str, status: u16, error: &str, description: &str, excerpt: &str) -> String {
    let mut text = format!("{endpoint}: HTTP {status}");
    if !error.is_empty() {
        text.push(' ');
        text.push_str(error);
    }
    if !description.is_empty() {
        text.push_str(": ");
        text.push_str(description);
    } else if let Some(reason) = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        text.push_str(": ");
        text.push_str(reason);
    }
    if !excerpt.is_empty() {
        text.push_str(" (body: ");
        text.push_str(excerpt);
        text.push(')');
    }
    text
}

impl ClientError {
    /// One line for a person, as a status line shows it: the server's own
    /// `error_description` first when there is one.
    pub fn description(&self) -> String {
        match self {
            ClientError::Http {
                status,
                error,
                description,
                excerpt,
                ..
            } => {
                let code = if error.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status} {error}")
                };
                if !description.is_empty() {
                    format!("{description} ({code})")
                } else {
                    let reason = StatusCode::from_u16(*status)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("unexpected status");
                    if excerpt.is_empty() {
                        format!("server answered {reason} ({code})")
                    } else {
                        format!("server answered {reason} ({code}): {excerpt}")
                    }
                }
            }
            ClientError::Timeout { addr, .. } => {
                format!("the server at {addr} did not answer in time")
            }
            ClientError::Connect { addr, reason } => format!("cannot connect to {addr}: {reason}"),
            ClientError::Transport { addr, reason, .. } => {
                format!("network error with {addr}: {reason}")
            }
            ClientError::Malformed { reason, .. } => {
                format!("the server sent something unreadable: {reason}")
            }
            ClientError::TooLarge { limit, .. } => {
                format!("the server's answer is larger than the {limit}-byte limit")
            }
            ClientError::Config(text) | ClientError::InvalidArgument(text) => text.clone(),
        }
    }

    /// The HTTP status, for errors that have one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `error` code (`invalid_grant`, `forbidden_op`...), when it sent one.
    pub fn server_code(&self) -> Option<&str> {
        match self {
            ClientError::Http { error, .. } if !error.is_empty() => Some(error),
            _ => None,
        }
    }
}

/// What one attempt of a request came to, for the retry loop.
enum Failure {
    /// Give up with this error.
    Fatal(ClientError),
    /// 429 or 503: may be retried after the given wait (from `Retry-After`).
    Retry(ClientError, Option<Duration>),
    /// 401: may be retried after logging in again.
    Unauthorized(ClientError),
}

// ---------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------

/// Where the legacy [`Client::fetch_history`] stands in one conversation, going back in time.
#[derive(Default)]
struct LegacyCursor {
    /// The `next_key` to send next; `None` before the first page.
    cursor: Option<String>,
    /// Messages fetched but not yet returned, newest first: a page may hold more than the
    /// caller asked for, and dropping the rest would skip them forever.
    buffered: VecDeque<Message>,
    /// The server said `is_last`.
    exhausted: bool,
}

/// One request to make: method, path below `/{org}/{app}/`, query pairs, JSON body.
struct Call {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
    /// Send the bearer token (every call but the token call).
    auth: bool,
}

impl Call {
    fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A client of one user on one app. Cheap to share behind an `Arc`; calls may run
/// concurrently (the legacy [`Client::fetch_history`] calls are serialized, see there).
pub struct Client {
    http: reqwest::Client,
    /// Base URL without a trailing slash.
    base: String,
    org: String,
    app: String,
    /// Lowercased user id.
    user: String,
    user_was_lowercased: bool,
    password: Option<Secret>,
    token: RwLock<Option<Secret>>,
    /// Serializes logins so concurrent 401s log in once, not once each.
    login_lock: Mutex<()>,
    max_response_bytes: u64,
    retry_base_delay: Duration,
    max_retry_wait: Duration,
    connect_timeout: Duration,
    legacy_cursors: Mutex<HashMap<String, LegacyCursor>>,
    undecodable: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credential = if self.password.is_some() {
            "password"
        } else {
            "token"
        };
        f.debug_struct("Client")
            .field("base_url", &self.base)
            .field("appkey", &self.appkey())
            .field("user", &self.user)
            .field("credential", &credential)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Ids that go into paths and queues: the documented user-id alphabet (§1), which group and
/// room ids (decimal) also fit. Anything else could change the path (`/`, `..`) or the
/// queue (`@`).
fn is_id(id: &str, max_len: usize) -> bool {
    !id.is_empty()
        && id.len() <= max_len
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && id != "."
        && id != ".."
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Client {
    /// Checks the configuration and builds the client. No request is made: a password is
    /// exchanged for a token by [`Client::login`], or by the first call that needs one.
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        let (org, app) = config
            .appkey
            .split_once('#')
            .filter(|(org, app)| is_id(org, 128) && is_id(app, 128))
            .ok_or_else(|| {
                ClientError::Config(format!(
                    "app key {:?} must be org#app, both parts non-empty letters, digits, '_', '.' or '-'",
                    one_line(&config.appkey, 80)
                ))
            })?;
        let base = config.base_url.trim().trim_end_matches('/').to_string();
        let url = Url::parse(&base).map_err(|e| {
            ClientError::Config(format!(
                "API URL {:?} is not a URL: {e}",
                one_line(&base, 120)
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::Config(format!(
                "API URL must start with http:// or https://, not {}://",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ClientError::Config("API URL has no host".into()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ClientError::Config(
                "API URL must not have a query or fragment".into(),
            ));
        }
        // Credentials in the URL would travel into reqwest's error texts and logs.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ClientError::Config(
                "API URL must not carry a user name or password".into(),
            ));
        }
        let (user, user_was_lowercased) = normalize_id(config.user.trim());
        if !is_id(&user, 64) {
            return Err(ClientError::Config(format!(
                "user id {:?} must be 1 to 64 letters, digits, '_', '.' or '-'",
                one_line(&config.user, 80)
            )));
        }
        let (password, token) = match config.credential {
            Credential::Password(p) if p.is_empty() => {
                return Err(ClientError::Config("the password is empty".into()));
            }
            Credential::Token(t) if t.trim().is_empty() => {
                return Err(ClientError::Config("the token is empty".into()));
            }
            Credential::Password(p) => (Some(Secret(p)), None),
            Credential::Token(t) => (None, Some(Secret(t.trim().to_string()))),
        };
        for (name, d) in [
            ("connect timeout", config.connect_timeout),
            ("read timeout", config.read_timeout),
            ("total timeout", config.total_timeout),
        ] {
            if d.is_zero() {
                return Err(ClientError::Config(format!("the {name} must not be zero")));
            }
        }
        if config.max_response_bytes == 0 {
            return Err(ClientError::Config(
                "the response size limit must not be zero".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.total_timeout)
            // The protocol has no redirects; following one would resend the token to
            // wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("roam/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            org: org.to_string(),
            app: app.to_string(),
            user,
            user_was_lowercased,
            password,
            token: RwLock::new(token),
            login_lock: Mutex::new(()),
            max_response_bytes: config.max_response_bytes,
            retry_base_delay: config.retry_base_delay,
            max_retry_wait: config.max_retry_wait,
            connect_timeout: config.connect_timeout,
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
        format!("{}#{}", self.org, self.app)
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The access token held now, if any: for writing a token file. Handle with care.
    pub async fn current_token(&self) -> Option<Secret> {
        self.token.read().await.clone()
    }

    /// History entries that could not be decoded (bad base64 or protobuf) since the client
    /// was built. They are skipped so one bad entry does not cost the whole page; each is
    /// logged at `warn`, and this count lets the UI say that something was left out.
    pub fn undecodable_entries(&self) -> u64 {
        self.undecodable.load(Ordering::Relaxed)
    }

    /// Logs in with the password (`POST /{org}/{app}/token`) and keeps the token. With a
    /// token credential there is nothing to exchange and this returns at once.
    pub async fn login(&self) -> Result<(), ClientError> {
        let _guard = self.login_lock.lock().await;
        self.login_locked().await
    }

    /// Logs in; the caller holds `login_lock`.
    async fn login_locked(&self) -> Result<(), ClientError> {
        let Some(password) = &self.password else {
            return Ok(());
        };
        let request = TokenRequest {
            grant_type: "password".into(),
            username: self.user.clone(),
            password: password.expose().to_string(),
            timestamp: Some(now_ms()),
        };
        let body = serde_json::to_value(&request).map_err(|e| {
            ClientError::InvalidArgument(format!("cannot encode the token request: {e}"))
        })?;
        let call = Call {
            method: Method::POST,
            path: "token".into(),
            query: Vec::new(),
            body: Some(body),
            auth: false,
        };
        let bytes = self.send(&call).await?;
        let response: TokenResponse = self.parse(&call.endpoint(), &bytes, None)?;
        if response.access_token.trim().is_empty() {
            return Err(ClientError::Malformed {
                endpoint: call.endpoint(),
                reason: "the token response has an empty access_token".into(),
            });
        }
        *self.token.write().await = Some(Secret(response.access_token));
        tracing::debug!(user = %self.user, expires_in = response.expires_in, "logged in");
        Ok(())
    }

    /// The token to send, logging in first when there is none yet.
    async fn bearer(&self) -> Result<Secret, ClientError> {
        if let Some(token) = self.token.read().await.clone() {
            return Ok(token);
        }
        let _guard = self.login_lock.lock().await;
        // Another call may have logged in while this one waited for the lock.
        if self.token.read().await.is_none() {
            self.login_locked().await?;
        }
        self.token.read().await.clone().ok_or_else(|| {
            ClientError::Config("no token: log in with a password or give a token".into())
        })
    }

    /// Logs in again after `failed` was refused, unless another call already replaced it.
    async fn refresh_token(&self, failed: Option<&Secret>) -> Result<(), ClientError> {
        let _guard = self.login_lock.lock().await;
        if self.token.read().await.as_ref() == failed {
            self.login_locked().await?;
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------
    // Conversation lists
    // -----------------------------------------------------------------------------------

    /// One page of the cursor conversation list (§2): `cursor` is `""` for the first page or a
    /// previous page's `next_cursor`; `limit` is 1..=50.
    pub async fn conversation_page(
        &self,
        cursor: &str,
        limit: u32,
    ) -> Result<ConversationPage, ClientError> {
        self.cursor_list_page(cursor, limit, false).await
    }

    /// Like [`Client::conversation_page`], pinned conversations only (`is_top=true`).
    pub async fn pinned_conversation_page(
        &self,
        cursor: &str,
        limit: u32,
    ) -> Result<ConversationPage, ClientError> {
        self.cursor_list_page(cursor, limit, true).await
    }

    /// One page of the conversations carrying mark `mark_{mark}` (`mark` 0..=19), newest
    /// activity first (`sdk/user/{user}/user_channels/mark/search`, §2); `cursor` and
    /// `limit` as for [`Client::conversation_page`].
    pub async fn marked_conversation_page(
        &self,
        mark: u8,
        cursor: &str,
        limit: u32,
    ) -> Result<ConversationPage, ClientError> {
        if mark > 19 || !(1..=MAX_CURSOR_LIST_LIMIT).contains(&limit) {
            return Err(ClientError::InvalidArgument(format!(
                "mark must be 0 to 19 and limit 1 to {MAX_CURSOR_LIST_LIMIT}, got {mark} and {limit}"
            )));
        }
        let call = Call {
            method: Method::GET,
            path: format!("sdk/user/{}/user_channels/mark/search", self.user),
            query: vec![
                ("limit", limit.to_string()),
                ("cursor", cursor.to_string()),
                ("need_mark", "true".to_string()),
                ("mark", format!("mark_{mark}")),
            ],
            body: None,
            auth: true,
        };
        let list: Envelope<CursorList> = self.get_json(&call).await?;
        Ok(ConversationPage {
            conversations: list
                .data
                .channel_infos
                .iter()
                .map(|entry| entry.to_conversation())
                .collect(),
            next_cursor: Some(list.data.cursor).filter(|c| !c.is_empty()),
        })
    }

    /// The whole cursor conversation list, page after page until the cursor comes back empty.
    /// Pages are as large as the service allows: the list is rate-limited per user (§6).
    pub async fn conversations(&self) -> Result<Vec<Conversation>, ClientError> {
        self.all_cursor_pages(false).await
    }

    /// The whole list of pinned conversations.
    pub async fn pinned_conversations(&self) -> Result<Vec<Conversation>, ClientError> {
        self.all_cursor_pages(true).await
    }

    /// Follows the list's cursors within [`PageLimits::LIST`]: a server whose cursor repeats,
    /// whose pages stay empty or that never ends is an error, not an endless loop.
    async fn all_cursor_pages(&self, pinned: bool) -> Result<Vec<Conversation>, ClientError> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        let mut walk = PageWalk::new(PageLimits::LIST);
        loop {
            let page = self
                .cursor_list_page(&cursor, MAX_CURSOR_LIST_LIMIT, pinned)
                .await?;
            walk.step(page.conversations.len(), page.next_cursor.as_deref())
                .map_err(|stop| ClientError::Malformed {
                    endpoint: format!("GET {}", self.cursor_list_path()),
                    reason: format!("conversation list: {stop}"),
                })?;
            all.extend(page.conversations);
            match page.next_cursor {
                Some(next) => cursor = next,
                None => return Ok(all),
            }
        }
    }

    fn cursor_list_path(&self) -> String {
        format!("sdk/user/{}/user_channels/list", self.user)
    }

    async fn cursor_list_page(
        &self,
        cursor: &str,
        limit: u32,
        pinned: bool,
    ) -> Result<ConversationPage, ClientError> {
        if !(1..=MAX_CURSOR_LIST_LIMIT).contains(&limit) {
            return Err(ClientError::InvalidArgument(format!(
                "conversation list limit must be 1 to {MAX_CURSOR_LIST_LIMIT}, got {limit}"
            )));
        }
        let mut query = vec![
            ("limit", limit.to_string()),
            ("cursor", cursor.to_string()),
            ("need_mark", "true".to_string()),
            ("needEmptySession", "false".to_string()),
        ];
        if pinned {
            query.push(("is_top", "true".to_string()));
        }
        let call = Call {
            method: Method::GET,
            path: self.cursor_list_path(),
            query,
            body: None,
            auth: true,
        };
        let list: Envelope<CursorList> = self.get_json(&call).await?;
        let conversations = list
            .data
            .channel_infos
            .iter()
            .map(|entry| entry.to_conversation())
            .collect();
        let next_cursor = Some(list.data.cursor).filter(|c| !c.is_empty());
        Ok(ConversationPage {
            conversations,
            next_cursor,
        })
    }

    /// The legacy conversation list (`users/{user}/user_channels`): by default the service
    /// gives only the 10 most recent of the last 7 days. Entries with an unreadable
    /// `channel_id` are skipped and logged.
    pub async fn legacy_conversations(&self) -> Result<Vec<Conversation>, ClientError> {
        let call = Call {
            method: Method::GET,
            path: format!("users/{}/user_channels", self.user),
            query: Vec::new(),
            body: None,
            auth: true,
        };
        let list: Envelope<LegacyList> = self.get_json(&call).await?;
        Ok(legacy_to_conversations(&list.data))
    }

    /// One page of the paged legacy list (`users/{user}/user_channels/page`): `page_num` from
    /// 1, `page_size` 1..=20.
    pub async fn legacy_conversation_page(
        &self,
        page_num: u32,
        page_size: u32,
    ) -> Result<Vec<Conversation>, ClientError> {
        if page_num == 0 {
            return Err(ClientError::InvalidArgument(
                "legacy list pages count from 1".into(),
            ));
        }
        if !(1..=MAX_LEGACY_PAGE_SIZE).contains(&page_size) {
            return Err(ClientError::InvalidArgument(format!(
                "legacy list page size must be 1 to {MAX_LEGACY_PAGE_SIZE}, got {page_size}"
            )));
        }
        let call = Call {
            method: Method::GET,
            path: format!("users/{}/user_channels/page", self.user),
            query: vec![
                ("pageNum", page_num.to_string()),
                ("pageSize", page_size.to_string()),
            ],
            body: None,
            auth: true,
        };
        let list: Envelope<LegacyList> = self.get_json(&call).await?;
        Ok(legacy_to_conversations(&list.data))
    }

    // -----------------------------------------------------------------------------------
    // History
    // -----------------------------------------------------------------------------------

    /// One page of a conversation's history (§4). Pages follow `is_last` and `next_key`,
    /// never the count: a page may hold fewer messages than asked while more exist.
    /// `next_cursor` is `None` exactly when `is_last`; a server that says "not last" but
    /// gives no `next_key` is taken at its `next_key` (the end), because asking again
    /// without a cursor would restart at the newest page.
    pub async fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, ClientError> {
        if !(1..=MAX_HISTORY_PAGE_SIZE).contains(&query.page_size) {
            return Err(ClientError::InvalidArgument(format!(
                "history page size must be 1 to {MAX_HISTORY_PAGE_SIZE}, got {}",
                query.page_size
            )));
        }
        let id = conversation_id(&query.conversation)?;
        let sender = match (&query.filters.sender, query.kind) {
            // The sender filter means nothing in a one-to-one chat; the SDK sends null.
            (_, ChatType::Single) | (None, _) => None,
            (Some(sender), _) => Some(conversation_id(sender)?),
        };
        let cursor = query.cursor.as_deref().filter(|c| !c.is_empty());
        let mut body = RoamingRequest::paged(
            queue_for(&id, query.kind),
            cursor,
            query.page_size,
            query.direction,
        );
        body.msg_type = Some(query.filters.types.join(","));
        body.start_time = query.filters.start_time;
        body.end_time = query.filters.end_time;
        body.user_id = sender;
        self.roaming(&body, cursor).await
    }

    /// Posts one `messageroaming` body and decodes the page.
    async fn roaming(
        &self,
        body: &RoamingRequest,
        cursor: Option<&str>,
    ) -> Result<HistoryPage, ClientError> {
        let body = serde_json::to_value(body).map_err(|e| {
            ClientError::InvalidArgument(format!("cannot encode the history request: {e}"))
        })?;
        let call = Call {
            method: Method::POST,
            path: format!("users/{}/messageroaming", self.user),
            query: Vec::new(),
            body: Some(body),
            auth: true,
        };
        let page: Envelope<RoamingPage> = self.get_json(&call).await?;
        self.decode_page(&call.endpoint(), page.data, cursor)
    }

    fn decode_page(
        &self,
        endpoint: &str,
        page: RoamingPage,
        cursor: Option<&str>,
    ) -> Result<HistoryPage, ClientError> {
        let mut messages = Vec::with_capacity(page.msgs.len());
        let mut undecodable = 0;
        for (index, entry) in page.msgs.iter().enumerate() {
            match decode_entry(&entry.msg) {
                Ok(Some(message)) => messages.push(message),
                // Events (acks, recalls, edits) and other namespaces: not messages (§5).
                Ok(None) => {}
                Err(e) => {
                    undecodable += 1;
                    self.undecodable.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%endpoint, index, error = %e, "skipped an undecodable history entry");
                }
            }
        }
        let mut is_last = page.is_last;
        if !is_last && page.next_key.is_empty() {
            tracing::warn!(%endpoint, "page is not last but has no next_key; treating it as the end");
            is_last = true;
        }
        if !is_last && Some(page.next_key.as_str()) == cursor {
            return Err(ClientError::Malformed {
                endpoint: endpoint.to_string(),
                reason: format!(
                    "the server answered cursor {:?} with the same cursor; the history would repeat",
                    one_line(&page.next_key, 60)
                ),
            });
        }
        Ok(HistoryPage {
            messages,
            next_cursor: (!is_last).then_some(page.next_key),
            is_last,
            undecodable,
        })
    }

    /// The SDK's legacy `fetchHistoryMessages`: sends only `queue`, `start` and `end`, pages
    /// back in time until it holds `count` messages or the beginning, and returns them
    /// oldest first. A per-conversation cursor makes the next call continue further back;
    /// messages of the last page beyond `count` are kept for that next call rather than
    /// skipped. After the beginning it returns an empty list without asking the server.
    ///
    /// Calls are serialized (one lock over all conversations' cursors), so two overlapping
    /// calls for one conversation cannot fetch the same page twice. On an error, what was
    /// already fetched stays buffered for the next call.
    pub async fn fetch_history(
        &self,
        conversation: &str,
        kind: ChatType,
        count: usize,
    ) -> Result<Vec<Message>, ClientError> {
        let id = conversation_id(conversation)?;
        let queue = queue_for(&id, kind);
        let mut cursors = self.legacy_cursors.lock().await;
        let state = cursors.entry(queue.clone()).or_default();
        let mut out = Vec::with_capacity(count.min(1024));
        let mut walk = PageWalk::starting_at(PageLimits::HISTORY, state.cursor.as_deref());
        loop {
            while out.len() < count {
                match state.buffered.pop_front() {
                    Some(message) => out.push(message),
                    None => break,
                }
            }
            if out.len() >= count || state.exhausted {
                break;
            }
            let start = state.cursor.as_deref();
            let body = RoamingRequest::legacy(queue.clone(), start);
            let page = match self.roaming(&body, start).await {
                Ok(page) => page,
                Err(e) => {
                    // Keep what this call took, in order, for the next call.
                    for message in out.into_iter().rev() {
                        state.buffered.push_front(message);
                    }
                    return Err(e);
                }
            };
            let step = walk.step(page.messages.len(), page.next_cursor.as_deref());
            // A page whose cursor was seen before may repeat messages: it is not kept. Any
            // other page is, so the next call goes on from there.
            if !matches!(step, Err(PagingStop::RepeatedCursor { .. })) {
                state.buffered.extend(page.messages);
                state.exhausted = page.is_last;
                state.cursor = page.next_cursor;
            }
            if let Err(stop) = step {
                for message in out.into_iter().rev() {
                    state.buffered.push_front(message);
                }
                return Err(ClientError::Malformed {
                    endpoint: format!("POST users/{}/messageroaming", self.user),
                    reason: format!("history: {stop}"),
                });
            }
        }
        out.reverse();
        Ok(out)
    }

    /// Forgets where [`Client::fetch_history`] stands in a conversation (any chat type), so
    /// the next call starts again at the newest message.
    pub async fn reset_history_cursor(&self, conversation: &str) {
        let (id, _) = normalize_id(conversation.trim());
        let mut cursors = self.legacy_cursors.lock().await;
        cursors.remove(&queue_for(&id, ChatType::Single));
        cursors.remove(&queue_for(&id, ChatType::Group));
    }

    /// Forgets every conversation's [`Client::fetch_history`] position.
    pub async fn reset_all_history_cursors(&self) {
        self.legacy_cursors.lock().await.clear();
    }

    // -----------------------------------------------------------------------------------
    // Transport
    // -----------------------------------------------------------------------------------

    async fn get_json<T: DeserializeOwned>(&self, call: &Call) -> Result<T, ClientError> {
        let bytes = self.send(call).await?;
        let token = self.token.read().await.clone();
        self.parse(&call.endpoint(), &bytes, token.as_ref())
    }

    fn parse<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        bytes: &[u8],
        token: Option<&Secret>,
    ) -> Result<T, ClientError> {
        serde_json::from_slice(bytes).map_err(|e| {
            let reason = if e.is_data() {
                format!("unexpected JSON: {e}")
            } else {
                let text = self.redact(&String::from_utf8_lossy(bytes), token);
                let excerpt = one_line(&text, EXCERPT_CHARS);
                if excerpt.is_empty() {
                    "the body is empty, not JSON".to_string()
                } else {
                    format!("the body is not JSON: {excerpt}")
                }
            };
            ClientError::Malformed {
                endpoint: endpoint.to_string(),
                reason,
            }
        })
    }

    fn url(&self, call: &Call) -> Result<Url, ClientError> {
        let mut url = Url::parse(&format!(
            "{}/{}/{}/{}",
            self.base, self.org, self.app, call.path
        ))
        .map_err(|e| ClientError::Config(format!("cannot build a URL from the API URL: {e}")))?;
        if !call.query.is_empty() {
            // Encodes each value: cursors are opaque and may hold '+', '/', '=' or '&'.
            url.query_pairs_mut().extend_pairs(call.query.iter());
        }
        Ok(url)
    }

    /// Sends a call with the retry rules of the module doc and returns the 200 body.
    async fn send(&self, call: &Call) -> Result<Vec<u8>, ClientError> {
        let url = self.url(call)?;
        let endpoint = call.endpoint();
        let mut tries = 0;
        let mut logged_in_again = false;
        loop {
            tries += 1;
            let token = if call.auth {
                // Boxed: logging in sends a request itself.
                Some(Box::pin(self.bearer()).await?)
            } else {
                None
            };
            match self.attempt(call, &url, &endpoint, token.as_ref()).await {
                Ok(body) => return Ok(body),
                Err(Failure::Retry(error, retry_after)) if tries < MAX_TRIES => {
                    let backoff = self.retry_base_delay.saturating_mul(1 << (tries - 1));
                    let wait = retry_after.unwrap_or(backoff).min(self.max_retry_wait);
                    tracing::warn!(%endpoint, status = error.status(), ?wait, tries, "server busy; retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(Failure::Unauthorized(error))
                    if call.auth && self.password.is_some() && !logged_in_again =>
                {
                    tracing::info!(%endpoint, status = error.status(), "token refused; logging in again");
                    logged_in_again = true;
                    Box::pin(self.refresh_token(token.as_ref())).await?;
                }
                Err(Failure::Fatal(error))
                | Err(Failure::Retry(error, _))
                | Err(Failure::Unauthorized(error)) => return Err(error),
            }
        }
    }

    /// One HTTP exchange.
    async fn attempt(
        &self,
        call: &Call,
        url: &Url,
        endpoint: &str,
        token: Option<&Secret>,
    ) -> Result<Vec<u8>, Failure> {
        let mut request = self.http.request(call.method.clone(), url.clone());
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let started = Instant::now();
        let mut response = request
            .send()
            .await
            .map_err(|e| Failure::Fatal(self.transport_error(endpoint, url, &e)))?;
        let status = response.status();
        tracing::debug!(%endpoint, status = status.as_u16(), elapsed = ?started.elapsed(), "response");
        if status == StatusCode::OK {
            return self
                .read_body(&mut response, endpoint, url)
                .await
                .map_err(Failure::Fatal);
        }
        let retry_after = retry_after(response.headers(), SystemTime::now());
        // An error body that cannot be read in full still leaves the status to report.
        let body = read_prefix(&mut response, ERROR_BODY_LIMIT).await;
        let error = self.http_error(endpoint, status, &body, token);
        Err(match status.as_u16() {
            429 | 503 => Failure::Retry(error, retry_after),
            401 => Failure::Unauthorized(error),
            _ => Failure::Fatal(error),
        })
    }

    /// Reads a 200 body in chunks, refusing it past the size cap.
    async fn read_body(
        &self,
        response: &mut reqwest::Response,
        endpoint: &str,
        url: &Url,
    ) -> Result<Vec<u8>, ClientError> {
        let too_large = || ClientError::TooLarge {
            endpoint: endpoint.to_string(),
            limit: self.max_response_bytes,
        };
        let announced = response.content_length();
        if announced.is_some_and(|n| n > self.max_response_bytes) {
            return Err(too_large());
        }
        // Trust the announced length for the first allocation only up to 1 MiB.
        let capacity = announced.unwrap_or(0).min(1 << 20);
        let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(endpoint, url, &e))?
        {
            if (body.len() + chunk.len()) as u64 > self.max_response_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn http_error(
        &self,
        endpoint: &str,
        status: StatusCode,
        body: &[u8],
        token: Option<&Secret>,
    ) -> ClientError {
        let (error, description, excerpt) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) if !parsed.error.is_empty() || !parsed.error_description.is_empty() => (
                one_line(&self.redact(&parsed.error, token), 60),
                one_line(
                    &self.redact(&parsed.error_description, token),
                    SERVER_TEXT_CHARS,
                ),
                String::new(),
            ),
            _ => {
                let text = self.redact(&String::from_utf8_lossy(body), token);
                (String::new(), String::new(), one_line(&text, EXCERPT_CHARS))
            }
        };
        let description = if description.is_empty() && status.is_success() {
            format!(
                "only 200 carries a result, the server answered {}",
                status.as_u16()
            )
        } else {
            description
        };
        ClientError::Http {
            endpoint: endpoint.to_string(),
            status: status.as_u16(),
            error,
            description,
            excerpt,
        }
    }

    /// Removes the token and password from server text: a misbehaving server or proxy may
    /// echo the request back in its error page.
    fn redact(&self, text: &str, token: Option<&Secret>) -> String {
        let mut text = text.to_string();
        for secret in [token, self.password.as_ref()].into_iter().flatten() {
            if !secret.0.is_empty() {
                text = text.replace(secret.0.as_str(), "<redacted>");
            }
        }
        text
    }

    fn transport_error(&self, endpoint: &str, url: &Url, e: &reqwest::Error) -> ClientError {
        let addr = format!(
            "{}:{}",
            url.host_str().unwrap_or("?"),
            url.port_or_known_default().unwrap_or(0)
        );
        // The innermost cause is the useful part ("Connection refused"); reqwest's own text
        // repeats the URL.
        let mut cause: &dyn std::error::Error = e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        let reason = one_line(&cause.to_string(), SERVER_TEXT_CHARS);
        if e.is_connect() {
            let reason = if e.is_timeout() {
                format!("no connection within {:?}", self.connect_timeout)
            } else {
                reason
            };
            ClientError::Connect { addr, reason }
        } else if e.is_timeout() {
            ClientError::Timeout {
                endpoint: endpoint.to_string(),
                addr,
            }
        } else {
            ClientError::Transport {
                endpoint: endpoint.to_string(),
                addr,
                reason,
            }
        }
    }
}

fn legacy_to_conversations(list: &LegacyList) -> Vec<Conversation> {
    list.channel_infos
        .iter()
        .filter_map(|entry| {
            let conversation = entry.to_conversation();
            if conversation.is_none() {
                tracing::warn!(channel_id = %one_line(&entry.channel_id, 80), "skipped a conversation with an unreadable channel_id");
            }
            conversation
        })
        .collect()
}

/// Lowercases and checks a peer, group, room or sender id.
fn conversation_id(id: &str) -> Result<String, ClientError> {
    let (id, _) = normalize_id(id.trim());
    if is_id(&id, 128) {
        Ok(id)
    } else {
        Err(ClientError::InvalidArgument(format!(
            "{:?} is not an id: letters, digits, '_', '.' or '-' expected",
            one_line(&id, 80)
        )))
    }
}

/// Reads at most `limit` bytes of a body; a failure ends the read with what arrived.
async fn read_prefix(response: &mut reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body
}

/// The wait a `Retry-After` header asks for: delta-seconds or an HTTP date (a date in the
/// past means "now"). `None` when absent or unreadable.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Server text as one short, inert line: controls and line breaks become spaces (runs
/// collapsed), bidi controls become `?`, and the text is cut at `max_chars`.
fn one_line(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut pending_space = false;
    for c in text.chars() {
        let c = match c {
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' => '?',
            c if c.is_whitespace() || c.is_control() => ' ',
            c => c,
        };
        if c == ' ' {
            pending_space = !out.is_empty();
            continue;
        }
        if count + usize::from(pending_space) >= max_chars {
            out.push('…');
            return out;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(value).expect("header"));
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_after(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(12));
        assert_eq!(
            retry_after(&headers(&later), now),
            Some(Duration::from_secs(12))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(12));
        assert_eq!(retry_after(&headers(&earlier), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn one_line_makes_server_text_inert_and_short() {
        assert_eq!(one_line("a\n\r\tb\x1b[2Jc", 50), "a b [2Jc");
        assert_eq!(one_line("x\u{202E}y", 50), "x?y");
        assert_eq!(one_line("  lead  trail  ", 50), "lead trail");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("abc", 3), "abc");
    }

    #[test]
    fn ids_are_checked() {
        assert!(is_id("bob_1.x-y", 64));
        assert!(!is_id("", 64));
        assert!(!is_id("..", 64));
        assert!(!is_id("a/b", 64));
        assert!(!is_id("a@b", 64));
        assert!(!is_id(&"a".repeat(65), 64));
        assert_eq!(conversation_id(" Bob ").ok(), Some("bob".to_string()));
    }

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
        let mut c = config("http://h", "a#b", "a");
        c.credential = Credential::Token(" ".into());
        assert!(err(c).is_some_and(|e| e.contains("token is empty")));
        let client = Client::new(config("http://h:8080/api/", "a#b", "Alice")).expect("valid");
        assert_eq!(client.user(), "alice");
        assert!(client.user_was_lowercased());
        assert_eq!(client.base_url(), "http://h:8080/api");
        assert_eq!(client.appkey(), "a#b");
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
        assert_eq!(format!("{}", Secret::new("x")), "<redacted>");
    }

    #[test]
    fn http_errors_describe_themselves_with_the_server_text_first() {
        let e = ClientError::Http {
            endpoint: "POST token".into(),
            status: 400,
            error: "invalid_grant".into(),
            description: "invalid username or password".into(),
            excerpt: String::new(),
        };
        assert_eq!(
            e.description(),
            "invalid username or password (HTTP 400 invalid_grant)"
        );
        assert_eq!(
            e.to_string(),
            "POST token: HTTP 400 invalid_grant: invalid username or password"
        );
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.server_code(), Some("invalid_grant"));
    }
}
