//! Sliding-window limits per key: the service's list rate limit per user, and the failed
//! logins allowed per user name and per peer address before further tries are refused
//! without any password work.
//!
//! Keys come from requests (any user name, any address), so each table is bounded: when it
//! is full, keys whose window has passed are dropped, and a key that still finds no room is
//! not tracked (for failed logins the other table still counts it).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::ApiError;

/// How many keys one table tracks at most.
const MAX_KEYS: usize = 10_000;

/// At most `max` events per `window` per key.
#[derive(Debug)]
pub(crate) struct SlidingWindow<K> {
    max: usize,
    window: Duration,
    events: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Hash + Eq + Clone> SlidingWindow<K> {
    /// At most `max` (at least one) events per `window` per key.
    pub(crate) fn new(max: usize, window: Duration) -> SlidingWindow<K> {
        SlidingWindow {
            max: max.max(1),
            window,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// How long until `key` may have another event; `None` when it may now.
    pub(crate) fn wait(&self, key: &K) -> Option<Duration> {
        let now = Instant::now();
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let recent = events.get_mut(key)?;
        self.expire(recent, now);
        if recent.len() < self.max {
            return None;
        }
        let oldest = recent.front().copied().unwrap_or(now);
        Some(self.window.saturating_sub(now.duration_since(oldest)))
    }

    /// Counts an event for `key`.
    pub(crate) fn record(&self, key: &K) {
        let now = Instant::now();
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if !events.contains_key(key) && events.len() >= MAX_KEYS {
            let window = self.window;
            events.retain(|_, e| e.back().is_some_and(|t| now.duration_since(*t) < window));
            if events.len() >= MAX_KEYS {
                return;
            }
        }
        let recent = events.entry(key.clone()).or_default();
        self.expire(recent, now);
        recent.push_back(now);
        // Only the newest `max` matter.
        while recent.len() > self.max {
            recent.pop_front();
        }
    }

    /// Forgets `key`'s events.
    pub(crate) fn forget(&self, key: &K) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.remove(key);
    }

    fn expire(&self, recent: &mut VecDeque<Instant>, now: Instant) {
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            recent.pop_front();
        }
    }
}

/// A wait as `Retry-After` seconds: rounded up, at least one (0 invites an immediate retry).
fn retry_after(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The service's conversation-list limit: calls per user per window.
#[derive(Debug)]
pub struct RateLimiter {
    calls: SlidingWindow<String>,
}

impl RateLimiter {
    /// At most `max_calls` per `window` per user.
    pub fn new(max_calls: usize, window: Duration) -> RateLimiter {
        RateLimiter {
            calls: SlidingWindow::new(max_calls, window),
        }
    }

    /// Counts a call, or answers 429 with the seconds until one is allowed again.
    pub fn check(&self, user: &str) -> Result<(), ApiError> {
        let user = user.to_string();
        if let Some(wait) = self.calls.wait(&user) {
            return Err(ApiError::reach_limit(retry_after(wait)));
        }
        self.calls.record(&user);
        Ok(())
    }
}

/// Where failed logins are counted for an address: the address itself for IPv4, the /64
/// network for IPv6 (one host commonly holds a whole /64).
fn peer_key(addr: SocketAddr) -> IpAddr {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
        v4 => v4,
    }
}

/// Failed logins per user name and per peer: past either limit, logins are refused with
/// 429 before the database or the password hash is touched. A failure counts for a user
/// name whether or not the user exists, so the refusal tells nothing about who exists.
#[derive(Debug)]
pub struct FailedLogins {
    per_name: Option<SlidingWindow<String>>,
    per_peer: Option<SlidingWindow<IpAddr>>,
}

impl FailedLogins {
    /// `per_name` and `per_peer` failures per `window`; 0 turns that limit off.
    pub fn new(per_name: u32, per_peer: u32, window: Duration) -> FailedLogins {
        FailedLogins {
            per_name: (per_name > 0).then(|| SlidingWindow::new(per_name as usize, window)),
            per_peer: (per_peer > 0).then(|| SlidingWindow::new(per_peer as usize, window)),
        }
    }

    /// Refuses a login from `peer` for `name` while either has failed too often.
    pub fn check(&self, name: &str, peer: Option<SocketAddr>) -> Result<(), ApiError> {
        let by_name = self
            .per_name
            .as_ref()
            .and_then(|t| t.wait(&name.to_string()));
        let by_peer = self
            .per_peer
            .as_ref()
            .zip(peer)
            .and_then(|(t, p)| t.wait(&peer_key(p)));
        match by_name.max(by_peer) {
            Some(wait) => Err(ApiError::reach_limit(retry_after(wait))),
            None => Ok(()),
        }
    }

    /// Counts a failed login.
    pub fn failed(&self, name: &str, peer: Option<SocketAddr>) {
        if let Some(t) = &self.per_name {
            t.record(&name.to_string());
        }
        if let (Some(t), Some(p)) = (&self.per_peer, peer) {
            t.record(&peer_key(p));
        }
    }

    /// A successful login clears its name's failures (not its address's: one address may
    /// serve an attacker and a person alike).
    pub fn succeeded(&self, name: &str) {
        if let Some(t) = &self.per_name {
            t.forget(&name.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_counts_per_user() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        let err = limiter.check("a").err();
        assert_eq!(err.as_ref().map(|e| e.error), Some("reach_limit"));
        assert!(
            err.and_then(|e| e.retry_after)
                .is_some_and(|s| (1..=60).contains(&s))
        );
        assert!(limiter.check("b").is_ok());
    }

    #[test]
    fn failed_logins_limit_names_and_peers_separately() {
        let logins = FailedLogins::new(2, 3, Duration::from_secs(60));
        let one: SocketAddr = "192.0.2.1:1000".parse().expect("addr");
        let other: SocketAddr = "192.0.2.2:1000".parse().expect("addr");
        logins.failed("alice", Some(one));
        assert!(logins.check("alice", Some(one)).is_ok());
        logins.failed("alice", Some(other));
        // Two failures for alice, from anywhere: her name is held.
        let err = logins.check("alice", Some(other)).err();
        assert_eq!(err.as_ref().map(|e| e.error), Some("reach_limit"));
        assert!(logins.check("bob", Some(other)).is_ok());
        logins.failed("bob", Some(one));
        logins.failed("carol", Some(one));
        // Three failures from `one`, whatever the names: the address is held.
        assert!(logins.check("dave", Some(one)).is_err());
        assert!(logins.check("dave", Some(other)).is_ok());
        assert!(logins.check("dave", None).is_ok());
        // Her own success clears alice's name.
        logins.succeeded("alice");
        assert!(logins.check("alice", Some(other)).is_ok());
    }

    #[test]
    fn ipv6_peers_count_by_their_64_network() {
        let a: SocketAddr = "[2001:db8:1:2:aaaa::1]:1".parse().expect("addr");
        let b: SocketAddr = "[2001:db8:1:2:bbbb::9]:2".parse().expect("addr");
        let c: SocketAddr = "[2001:db8:1:3::1]:3".parse().expect("addr");
        assert_eq!(peer_key(a), peer_key(b));
        assert_ne!(peer_key(a), peer_key(c));
        let mapped: SocketAddr = "[::ffff:192.0.2.7]:4".parse().expect("addr");
        assert_eq!(peer_key(mapped), "192.0.2.7".parse::<IpAddr>().expect("ip"));
    }

    #[test]
    fn a_full_table_drops_expired_keys_and_stays_bounded() {
        let window = SlidingWindow::<u32>::new(1, Duration::ZERO);
        for key in 0..(MAX_KEYS as u32 + 10) {
            window.record(&key);
        }
        let held = window.events.lock().expect("lock").len();
        assert!(held <= MAX_KEYS, "{held}");
        let live = SlidingWindow::<u32>::new(1, Duration::from_secs(60));
        for key in 0..(MAX_KEYS as u32 + 10) {
            live.record(&key);
        }
        assert_eq!(live.events.lock().expect("lock").len(), MAX_KEYS);
        assert!(
            live.wait(&(MAX_KEYS as u32 + 5)).is_none(),
            "untracked, not refused"
        );
    }
}
