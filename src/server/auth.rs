//! Bearer tokens, kept in memory, and the opt-in per-user rate limit.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::ApiError;

/// How long an expired token is still recognised (and answered `unauthorized`, "expired")
/// before it is forgotten and reads as a bad token.
const REMEMBER_EXPIRED: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug)]
struct Grant {
    user: String,
    expires: Instant,
    expires_ms: i64,
}

/// The tokens this server issued.
pub struct Tokens {
    ttl: Duration,
    grants: Mutex<HashMap<String, Grant>>,
}

/// The tokens are the keys of `grants`: `Debug` shows how many there are, never them.
impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let live = self.grants.lock().map_or(0, |g| g.len());
        f.debug_struct("Tokens")
            .field("ttl", &self.ttl)
            .field("grants", &live)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// An empty token table whose tokens live `ttl`.
    pub fn new(ttl: Duration) -> Tokens {
        Tokens {
            ttl,
            grants: Mutex::new(HashMap::new()),
        }
    }

    /// Issues a new random token (256 bits) for a user.
    pub fn issue(&self, user: &str) -> String {
        let bytes: [u8; 32] = rand::random();
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let now = Instant::now();
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_ms = jiff::Timestamp::now()
            .as_millisecond()
            .saturating_add(ttl_ms);
        let grant = Grant {
            user: user.to_string(),
            expires: now
                .checked_add(self.ttl)
                .unwrap_or(now + REMEMBER_EXPIRED * 24 * 365),
            expires_ms,
        };
        let mut grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        // checked: a token lifetime near the end of `Instant`'s range (`--token-ttl` is any
        // u64) must not overflow here; such a grant is simply kept.
        grants.retain(|_, g| {
            g.expires
                .checked_add(REMEMBER_EXPIRED)
                .is_none_or(|forget| forget > now)
        });
        grants.insert(token.clone(), grant);
        token
    }

    /// The user and expiry (ms) of a live token. An `Authorization` header that is missing
    /// or empty, and a token that has expired, are `unauthorized`; anything else that is not
    /// a token issued here is `auth_bad_access_token`.
    pub fn check(&self, header: Option<&[u8]>) -> Result<(String, i64), ApiError> {
        let Some(raw) = header else {
            return Err(ApiError::unauthorized(
                "Unable to authenticate: missing Authorization header",
            ));
        };
        let text = std::str::from_utf8(raw).map_err(|_| ApiError::bad_access_token())?;
        let text = text.trim();
        if text.is_empty() {
            return Err(ApiError::unauthorized(
                "Unable to authenticate: empty Authorization header",
            ));
        }
        let token = match text.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(ApiError::bad_access_token()),
        };
        if token.is_empty() {
            return Err(ApiError::unauthorized(
                "Unable to authenticate: empty token",
            ));
        }
        let grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        let grant = grants.get(token).ok_or_else(ApiError::bad_access_token)?;
        if grant.expires <= Instant::now() {
            return Err(ApiError::unauthorized(
                "Unable to authenticate: the access token has expired",
            ));
        }
        Ok((grant.user.clone(), grant.expires_ms))
    }
}

/// A sliding-window limit of calls per user.
#[derive(Debug)]
pub struct RateLimiter {
    max_calls: usize,
    window: Duration,
    calls: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// At most `max_calls` per `window` per user.
    pub fn new(max_calls: usize, window: Duration) -> RateLimiter {
        RateLimiter {
            max_calls: max_calls.max(1),
            window,
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a call, or answers 429 with the seconds until one is allowed again.
    pub fn check(&self, user: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.window;
        let recent = calls.entry(user.to_string()).or_default();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            recent.pop_front();
        }
        if recent.len() >= self.max_calls {
            let wait = recent
                .front()
                .map_or(window, |t| window.saturating_sub(now.duration_since(*t)));
            // Round up: Retry-After is whole seconds and 0 would invite an immediate retry.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(ApiError::reach_limit(secs.max(1)));
        }
        recent.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_distinguish_missing_expired_and_garbage() {
        let tokens = Tokens::new(Duration::from_secs(3600));
        let token = tokens.issue("alice");
        let header = format!("Bearer {token}");
        assert_eq!(
            tokens.check(Some(header.as_bytes())).map(|t| t.0),
            Ok("alice".into())
        );
        assert_eq!(tokens.check(None).map_err(|e| e.error), Err("unauthorized"));
        assert_eq!(
            tokens.check(Some(b"Bearer nope")).map_err(|e| e.error),
            Err("auth_bad_access_token")
        );
        // A zero lifetime is expired the moment it is issued: no sleeping on the clock.
        let expired = Tokens::new(Duration::ZERO);
        let header = format!("Bearer {}", expired.issue("alice"));
        assert_eq!(
            expired.check(Some(header.as_bytes())).map_err(|e| e.error),
            Err("unauthorized")
        );
    }

    #[test]
    fn a_lifetime_at_the_end_of_time_does_not_overflow() {
        // The longest lifetime `Instant` can still add, found by bisection, less a margin.
        let now = Instant::now();
        let (mut fits, mut overflows) = (0u64, u64::MAX);
        while overflows - fits > 1 {
            let mid = fits + (overflows - fits) / 2;
            if now.checked_add(Duration::from_secs(mid)).is_some() {
                fits = mid;
            } else {
                overflows = mid;
            }
        }
        let tokens = Tokens::new(Duration::from_secs(fits - 60));
        let first = tokens.issue("alice");
        // The second issue sweeps old grants, adding to the first one's expiry.
        let second = tokens.issue("bob");
        for (token, user) in [(first, "alice"), (second, "bob")] {
            let header = format!("Bearer {token}");
            assert_eq!(
                tokens.check(Some(header.as_bytes())).map(|t| t.0),
                Ok(user.into())
            );
        }
    }

    #[test]
    fn debug_never_shows_a_token() {
        let tokens = Tokens::new(Duration::from_secs(60));
        let token = tokens.issue("alice");
        let shown = format!("{tokens:?}");
        assert!(!shown.contains(&token), "{shown}");
        assert!(shown.contains("grants: 1"), "{shown}");
    }

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
}
