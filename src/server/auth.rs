//! Bearer tokens, kept in memory. A token is either a user's (the password and `inherit`
//! grants) or an app's (the `client_credentials` grant, PROTOCOL.md §8.2); which one is
//! part of the token's record, so an app token can never pass for a user's.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::ApiError;

/// How long an expired token is still recognised (and answered `unauthorized`, "expired")
/// before it is forgotten and reads as a bad token.
const REMEMBER_EXPIRED: Duration = Duration::from_secs(3600);

/// Live tokens one user may hold: logging in again past it retires the oldest, so repeated
/// logins cannot grow the table without bound.
pub(crate) const MAX_TOKENS_PER_USER: usize = 64;

/// Who a token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// A user (lowercase id): their own history.
    User(String),
    /// An app, by client id: admin access, which may obtain user tokens (`inherit`).
    App(String),
}

/// A live token's holder and expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bearer {
    /// Who it speaks for.
    pub holder: Holder,
    /// When it expires (ms since the epoch).
    pub expires_ms: i64,
}

#[derive(Clone, Debug)]
struct Grant {
    holder: Holder,
    /// Issue order: the oldest of a user's tokens is retired first.
    serial: u64,
    expires: Instant,
    expires_ms: i64,
}

/// The tokens this server issued.
pub struct Tokens {
    ttl: Duration,
    issued: AtomicU64,
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
            issued: AtomicU64::new(0),
            grants: Mutex::new(HashMap::new()),
        }
    }

    /// Issues a new random token (256 bits) for a user.
    pub fn issue(&self, user: &str) -> String {
        self.issue_to(Holder::User(user.to_string()))
    }

    /// Issues a new random token (256 bits) for an app.
    pub fn issue_app(&self, client_id: &str) -> String {
        self.issue_to(Holder::App(client_id.to_string()))
    }

    /// Accepts `token` (made by the caller, e.g. for a local reader) for a user, as if
    /// issued now.
    pub fn accept(&self, user: &str, token: &str) {
        self.grant(Holder::User(user.to_lowercase()), token.to_string());
    }

    fn issue_to(&self, holder: Holder) -> String {
        let bytes: [u8; 32] = rand::random();
        let token = URL_SAFE_NO_PAD.encode(bytes);
        self.grant(holder, token.clone());
        token
    }

    fn grant(&self, holder: Holder, token: String) {
        let now = Instant::now();
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_ms = jiff::Timestamp::now()
            .as_millisecond()
            .saturating_add(ttl_ms);
        let grant = Grant {
            holder: holder.clone(),
            serial: self.issued.fetch_add(1, Ordering::Relaxed),
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
        let mine: Vec<(&String, u64)> = grants
            .iter()
            .filter(|(_, g)| g.holder == holder)
            .map(|(t, g)| (t, g.serial))
            .collect();
        if mine.len() >= MAX_TOKENS_PER_USER
            && let Some(oldest) = mine
                .iter()
                .min_by_key(|(_, s)| *s)
                .map(|(t, _)| (*t).clone())
        {
            grants.remove(&oldest);
        }
        grants.insert(token, grant);
    }

    /// The holder and expiry of a live token. An `Authorization` header that is missing
    /// or empty, and a token that has expired, are `unauthorized`; anything else that is not
    /// a token issued here is `auth_bad_access_token`.
    pub fn check(&self, header: Option<&[u8]>) -> Result<Bearer, ApiError> {
        let token = bearer_token(header)?;
        let grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        let grant = grants.get(token).ok_or_else(ApiError::bad_access_token)?;
        if grant.expires <= Instant::now() {
            return Err(expired());
        }
        Ok(Bearer {
            holder: grant.holder.clone(),
            expires_ms: grant.expires_ms,
        })
    }
}

/// The token of an `Authorization: Bearer ...` header. A header that is missing or empty,
/// or an empty token, is `unauthorized`; any other scheme or unreadable bytes are
/// `auth_bad_access_token`.
pub(crate) fn bearer_token(header: Option<&[u8]>) -> Result<&str, ApiError> {
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
    Ok(token)
}

/// The answer to a token that was issued and has expired.
pub(crate) fn expired() -> ApiError {
    ApiError::unauthorized("Unable to authenticate: the access token has expired")
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
            tokens.check(Some(header.as_bytes())).map(|t| t.holder),
            Ok(Holder::User("alice".into()))
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
                tokens.check(Some(header.as_bytes())).map(|t| t.holder),
                Ok(Holder::User(user.into()))
            );
        }
    }

    #[test]
    fn app_tokens_are_told_apart_from_user_tokens_of_the_same_name() {
        let tokens = Tokens::new(Duration::from_secs(3600));
        let app = tokens.issue_app("alice");
        let user = tokens.issue("alice");
        let check = |t: &str| tokens.check(Some(format!("Bearer {t}").as_bytes()));
        assert_eq!(
            check(&app).map(|b| b.holder),
            Ok(Holder::App("alice".into()))
        );
        assert_eq!(
            check(&user).map(|b| b.holder),
            Ok(Holder::User("alice".into()))
        );
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
    fn repeated_logins_keep_a_bounded_number_of_tokens() {
        let tokens = Tokens::new(Duration::from_secs(3600));
        let first = tokens.issue("alice");
        let bob = tokens.issue("bob");
        for _ in 0..MAX_TOKENS_PER_USER {
            tokens.issue("alice");
        }
        let held = tokens.grants.lock().expect("lock").len();
        assert_eq!(held, MAX_TOKENS_PER_USER + 1, "alice's newest and bob's");
        let check = |t: &str| tokens.check(Some(format!("Bearer {t}").as_bytes()));
        assert_eq!(
            check(&first).map_err(|e| e.error),
            Err("auth_bad_access_token")
        );
        assert_eq!(
            check(&bob).map(|t| t.holder),
            Ok(Holder::User("bob".into()))
        );
    }
}
