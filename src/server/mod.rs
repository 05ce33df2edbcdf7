//! The embedded Easemob-compatible server (PROTOCOL.md §2-§6) over a store: a SQLite
//! [`StorePool`], or PostgreSQL shared by several servers ([`Db`], [`spawn_over`]).
//!
//! Routes live under `/{org}/{app}/...`. Every answer roam writes, errors included, is JSON
//! in the service's shape; nothing a client sends can make it answer 500 or panic (what
//! hyper refuses while parsing a request head is hyper's bare status: see
//! `listener`). Store calls go through `stored`, one function per question, either back
//! end. SQLite work runs on the blocking pool, one pooled connection per
//! request, never held across a password check; a request takes one of the pool's slots
//! before it is handed to a blocking thread, so those threads are never more than the
//! connections. History pages are the store's entry bytes written into the answer
//! (`page_body`).
//!
//! The parts: `listener` accepts (connection cap, header and idle timeout, graceful stop);
//! the router adds body and request timeouts and the JSON error net ([`error`]);
//! `extract` turns a request into what handlers need (`AuthUser`, `ApiJson`, ...);
//! `grants` answers the token call (password, app and inherit grants); `handlers` answer
//! the rest, `names` the name endpoints (§8.1), `files` attachments (§8.3); `hashing` and [`throttle`] bound what
//! logins cost; `auth` keeps the
//! tokens in memory, `token_store` in memory or in PostgreSQL; [`log_text`] escapes
//! request strings for the log.
//!
//! roam's choices where the service differs or is silent:
//! - the legacy list without paging returns the 10 most recent conversations regardless of
//!   age (the service cuts at 7 days, which would empty it over old demo data);
//! - another user's path is 403 `forbidden_op`;
//! - over SQLite, tokens live in memory only: a restart logs everybody out; over
//!   PostgreSQL they live in the database (`token_store`), shared by every server;
//! - an app token reads no user's data itself: it obtains the user's token (`inherit`);
//! - chat rooms' history is readable by every user (see [`crate::store`]);
//! - an attachment is served only to those who may read a message naming it, with that
//!   message's share-secret; a missing secret is 401, a wrong one 403 (see `files`).

pub mod app_credentials;
mod auth;
pub mod error;
mod extract;
mod files;
mod grants;
mod handlers;
mod hashing;
mod listener;
pub mod log_text;
mod names;
pub mod page_body;
pub mod query;
mod stored;
pub mod throttle;
mod token_store;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::store::{Db, StorePool};
use auth::Tokens;
pub use grants::ServedApp;
use hashing::PasswordGate;
use listener::OpenConnections;
pub use listener::{ConnectionLimits, default_max_connections};
use throttle::{FailedLogins, RateLimiter};
use token_store::TokenStore;

/// Where the server listens unless told otherwise: loopback, an ephemeral port.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// How the server behaves.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The app key `org#app` the routes answer to.
    pub appkey: String,
    /// How long a token lives.
    pub token_ttl: Duration,
    /// Limit conversation-list calls to 5 per minute per user, as the service does.
    pub rate_limit: bool,
    /// The largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// What logins may cost.
    pub login: LoginLimits,
    /// What connections may cost.
    pub connections: ConnectionLimits,
    /// App credentials accepted besides the store's (`roam serve --app-credentials`).
    pub apps: Vec<ServedApp>,
    /// A token accepted for one user without a login. For serving a local
    /// file its owner opens in process (the library offline), where there is no password
    /// to ask; the token is random and never leaves the process.
    pub local_reader: Option<LocalReader>,
}

/// One user who reads with a token made for this run, without a login.
#[derive(Clone)]
pub struct LocalReader {
    /// The user id.
    pub user: String,
    /// The token; `Debug` never shows it.
    pub token: String,
}

impl std::fmt::Debug for LocalReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalReader")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// What logins may cost: password checks at once and waiting, and failed logins allowed
/// per user name and per peer address before further tries are refused with 429.
#[derive(Clone, Debug)]
pub struct LoginLimits {
    /// Password checks running at once (argon2, 19 MiB and one core each).
    pub hash_workers: usize,
    /// Password checks waiting for a worker; beyond them a login is refused at once.
    pub hash_queue: usize,
    /// Failed logins per user name per window (0: no limit).
    pub failures_per_name: u32,
    /// Failed logins per peer address (IPv6: per /64) per window (0: no limit).
    pub failures_per_peer: u32,
    /// The window of the two limits above.
    pub failure_window: Duration,
}

impl Default for LoginLimits {
    /// One check per core, four waiting per core; 5 failures per name and 20 per address
    /// per minute.
    fn default() -> LoginLimits {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        LoginLimits {
            hash_workers: cores,
            hash_queue: 4 * cores,
            failures_per_name: 5,
            failures_per_peer: 20,
            failure_window: Duration::from_secs(60),
        }
    }
}

impl ServerConfig {
    /// A configuration for an app key with the defaults: tokens for 24 hours, no rate
    /// limit, bodies up to 64 KiB, [`LoginLimits::default`], [`ConnectionLimits::default`].
    pub fn new(appkey: impl Into<String>) -> ServerConfig {
        ServerConfig {
            appkey: appkey.into(),
            token_ttl: Duration::from_secs(24 * 3600),
            rate_limit: false,
            max_body_bytes: 64 << 10,
            login: LoginLimits::default(),
            connections: ConnectionLimits::default(),
            apps: Vec::new(),
            local_reader: None,
        }
    }
}

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The app key is not `org#app`.
    #[error("app key {0:?} must look like org#app")]
    BadAppkey(String),
    /// Binding the address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server failed: {0}")]
    Serve(#[from] std::io::Error),
    /// The server task panicked or was cancelled.
    #[error("server task ended abnormally: {0}")]
    Task(String),
}

/// Everything the handlers share.
pub(crate) struct AppState {
    pub(crate) config: ServerConfig,
    /// Lowercased org and app of the app key.
    pub(crate) org: String,
    pub(crate) app: String,
    pub(crate) db: Db,
    /// One permit per pooled SQLite connection, taken before store work is handed to a
    /// blocking thread: it bounds those threads to the pool's size.
    pub(crate) store_slots: Arc<tokio::sync::Semaphore>,
    pub(crate) tokens: TokenStore,
    pub(crate) limiter: Option<RateLimiter>,
    pub(crate) passwords: PasswordGate,
    pub(crate) failed_logins: FailedLogins,
}

/// Splits and lowercases an app key.
fn split_appkey(appkey: &str) -> Result<(String, String), ServerError> {
    let bad = || ServerError::BadAppkey(appkey.to_string());
    let (org, app) = appkey.split_once('#').ok_or_else(bad)?;
    let ok = |s: &str| !s.is_empty() && !s.contains(['/', '#', '?', ' ']);
    if !ok(org) || !ok(app) {
        return Err(bad());
    }
    Ok((org.to_ascii_lowercase(), app.to_ascii_lowercase()))
}

/// The server's routes over a SQLite store pool, ready to serve (tests drive it directly).
pub fn router(pool: Arc<StorePool>, config: ServerConfig) -> Result<Router, ServerError> {
    let (org, app) = split_appkey(&config.appkey)?;
    let tokens = Tokens::new(config.token_ttl);
    if let Some(reader) = &config.local_reader {
        tokens.accept(&reader.user, &reader.token);
    }
    Ok(routes(
        Db::Sqlite(pool),
        TokenStore::Memory(tokens),
        config,
        org,
        app,
    ))
}

/// The server's routes over either store. Over PostgreSQL, tokens live in the database
/// (shared by every server over it); over SQLite, in this process.
pub async fn router_over(db: Db, config: ServerConfig) -> Result<Router, ServerError> {
    let pg = match &db {
        Db::Sqlite(pool) => return router(Arc::clone(pool), config),
        Db::Postgres(pg) => pg.clone(),
    };
    let (org, app) = split_appkey(&config.appkey)?;
    let tokens = TokenStore::Shared {
        store: pg,
        ttl_ms: i64::try_from(config.token_ttl.as_millis()).unwrap_or(i64::MAX),
    };
    if let Some(reader) = &config.local_reader {
        tokens
            .accept(&reader.user, &reader.token)
            .await
            .map_err(|_| ServerError::Task("cannot store the local reader's token".into()))?;
    }
    Ok(routes(db, tokens, config, org, app))
}

fn routes(db: Db, tokens: TokenStore, config: ServerConfig, org: String, app: String) -> Router {
    let limiter = config
        .rate_limit
        .then(|| RateLimiter::new(5, Duration::from_secs(60)));
    let max_body = config.max_body_bytes;
    let timeouts = config.connections.clone();
    let login = &config.login;
    let passwords = PasswordGate::new(login.hash_workers, login.hash_queue);
    let failed_logins = FailedLogins::new(
        login.failures_per_name,
        login.failures_per_peer,
        login.failure_window,
    );
    let state = Arc::new(AppState {
        passwords,
        failed_logins,
        tokens,
        config,
        org,
        app,
        store_slots: Arc::new(tokio::sync::Semaphore::new(match &db {
            Db::Sqlite(pool) => pool.size(),
            Db::Postgres(_) => crate::store::pg::default_pool_size(),
        })),
        db,
        limiter,
    });
    Router::new()
        .route("/{org}/{app}/token", post(grants::token))
        .route(
            "/{org}/{app}/users/{user}/user_channels",
            get(handlers::legacy_list),
        )
        .route(
            "/{org}/{app}/users/{user}/user_channels/page",
            get(handlers::paged_list),
        )
        .route(
            "/{org}/{app}/sdk/user/{user}/user_channels/list",
            get(handlers::cursor_list),
        )
        .route(
            "/{org}/{app}/sdk/user/{user}/user_channels/mark/search",
            get(handlers::mark_search),
        )
        .route(
            "/{org}/{app}/users/{user}/messageroaming",
            post(handlers::roaming),
        )
        .route(
            "/{org}/{app}/sdk/users/{user}/token/expires",
            get(handlers::token_expires),
        )
        .route(
            "/{org}/{app}/metadata/user/get",
            post(names::user_attributes),
        )
        .route("/{org}/{app}/chatgroups/{ids}", get(names::group_details))
        .route("/{org}/{app}/chatrooms/{ids}", get(names::room_details))
        .route("/{org}/{app}/chatfiles/{uuid}", get(files::chatfile))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyTimeoutLayer::new(timeouts.body_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeouts.request_timeout,
        ))
        .layer(axum::middleware::from_fn(handlers::log_request))
        // Outermost: whatever a layer below answered without a §6 body gets one.
        .layer(axum::middleware::map_response(error::every_error_is_json))
        .with_state(state)
}

/// A server running in the background. Dropping the handle stops it too.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    open: OpenConnections,
}

impl ServerHandle {
    /// The address it listens on (with the real port when asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients use: `http://addr`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections open now (never more than [`ConnectionLimits::max_connections`]).
    pub fn open_connections(&self) -> usize {
        self.open.count()
    }

    /// Stops accepting, lets requests in flight finish (within
    /// [`ConnectionLimits::shutdown_grace`]), and waits for the server to end.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.shutdown.take() {
            // The receiver is gone only when the server already stopped: nothing to do.
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(|e| ServerError::Task(e.to_string())),
            None => Ok(()),
        }
    }
}

/// Binds `addr` (loopback with an ephemeral port when `None`) and serves in the background
/// on the current tokio runtime.
pub async fn spawn(
    pool: Arc<StorePool>,
    config: ServerConfig,
    addr: Option<SocketAddr>,
) -> Result<ServerHandle, ServerError> {
    spawn_over(Db::Sqlite(pool), config, addr).await
}

/// [`spawn`] over either store (see [`router_over`]).
pub async fn spawn_over(
    db: Db,
    config: ServerConfig,
    addr: Option<SocketAddr>,
) -> Result<ServerHandle, ServerError> {
    let limits = config.connections.clone();
    let router = router_over(db, config).await?;
    let addr = addr.unwrap_or(DEFAULT_LISTEN);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    let (tx, rx) = oneshot::channel::<()>();
    let open = OpenConnections::new(limits.max_connections);
    let task = tokio::spawn(listener::serve(
        listener,
        router,
        limits,
        open.clone(),
        async {
            // Resolves on an explicit shutdown and when the handle is dropped.
            let _ = rx.await;
        },
    ));
    tracing::info!(addr = %bound, "history server listening");
    Ok(ServerHandle {
        addr: bound,
        shutdown: Some(tx),
        open,
        task: Some(task),
    })
}
