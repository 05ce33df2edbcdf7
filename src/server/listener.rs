//! Accepting connections: at most `max_connections` open at once, each served by hyper's
//! HTTP/1 connection with a header-read timeout, and a graceful stop.
//!
//! The cap is a semaphore taken before `accept`: past it, new connections wait in the
//! kernel's backlog until one closes, and the server never runs out of descriptors for the
//! ones it has. A connection that sends no complete request head within `header_timeout`
//! is closed; hyper starts that timer whenever a connection waits for a request, so the
//! same timeout closes idle keep-alive connections. Request bodies and whole requests are
//! timed by tower-http layers on the router (see [`super::router`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::log_text::LogText;

/// What a connection may cost: how many at once, how long each may stay silent or slow.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// Connections open at once; more wait to be accepted. Keep it below the process's
    /// descriptor limit (the database and the log need some too).
    pub max_connections: usize,
    /// Time to send a complete request head, and the most a connection may stay idle
    /// between requests.
    pub header_timeout: Duration,
    /// The longest pause while a request body arrives (408 past it).
    pub body_timeout: Duration,
    /// The longest a whole request may take, body and answer (408 past it).
    pub request_timeout: Duration,
    /// How long a stop waits for requests in flight before closing their connections.
    pub shutdown_grace: Duration,
    /// The largest request head (request line and headers) accepted; 431 past it.
    pub max_header_bytes: usize,
}

/// Descriptors kept back from connections: database files (three per pooled connection),
/// the listener, standard streams, the runtime's own.
const RESERVED_DESCRIPTORS: u64 = 32;

/// The most connections this process can hold: 512, or fewer when its descriptor limit is
/// low (never under 8).
pub fn default_max_connections() -> usize {
    #[cfg(unix)]
    let budget = {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        limit
            .current
            .map_or(u64::MAX, |n| n.saturating_sub(RESERVED_DESCRIPTORS))
    };
    #[cfg(not(unix))]
    let budget = u64::MAX;
    usize::try_from(budget.clamp(8, 512)).unwrap_or(512)
}

impl Default for ConnectionLimits {
    /// [`default_max_connections`], 20 s for a request head or between requests, 20 s of
    /// silence in a body, 30 s per request, 10 s of grace at shutdown, 32 KiB of request
    /// head.
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: default_max_connections(),
            header_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            max_header_bytes: 32 << 10,
        }
    }
}

/// How many connections are open; shared with the server's handle.
#[derive(Clone, Debug)]
pub(crate) struct OpenConnections {
    slots: Arc<Semaphore>,
    max: usize,
}

impl OpenConnections {
    pub(crate) fn new(max: usize) -> OpenConnections {
        let max = max.max(1);
        OpenConnections {
            slots: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// Connections open now.
    pub(crate) fn count(&self) -> usize {
        self.max.saturating_sub(self.slots.available_permits())
    }
}

/// Serves `router` on `listener` until `stop` resolves, then lets requests in flight
/// finish (at most `shutdown_grace`) and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    open: OpenConnections,
    stop: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes.max(1024));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&open.slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Answers are small: send them at once rather than waiting to fill a packet.
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                let text = e.to_string();
                tracing::debug!(peer = %peer, error = %LogText::new(&text), "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!("requests still in flight after the shutdown grace; closing them");
        }
    }
}

/// An accept that failed. A connection reset before it was accepted concerns that client
/// only; anything else (out of descriptors, mostly) gets a pause before the next try, so
/// the loop does not spin.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    let text = e.to_string();
    tracing::warn!(error = %LogText::new(&text), "accept failed; retrying shortly");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
