//! When a refused request is tried again: a pure decision over what has happened so far,
//! tested without a server. The client obeys it; nothing here waits or sends.
//!
//! The rules (PROTOCOL.md §6):
//! - **429 and 503** mean "busy": tried again, at most [`MAX_TRIES`] tries in all, after the
//!   wait `Retry-After` asks for (delta-seconds or an HTTP date) or an exponential backoff,
//!   each wait capped.
//! - **401** means the token is gone: when the client can log in again (it holds a grant,
//!   such as a password) it does so once and repeats the request. This repeat is counted
//!   apart from the busy tries: a request answered 503, 503, 401 still gets its login and
//!   one more try, and a server that keeps answering 401 gets exactly one login.
//! - **Everything else** is final: not 500 (the request may have had effects we cannot
//!   see), not 400/403 (the same request gets the same answer), and not connect failures
//!   (a refused or unreachable host does not heal in a second, and the person should hear
//!   of it at once rather than after a backoff).

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Tries in all (the first included) for a request answered with 429 or 503.
pub const MAX_TRIES: u32 = 3;

/// How patient the client is with a busy server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all for 429/503.
    pub max_tries: u32,
    /// The first backoff step without `Retry-After`; it doubles per try.
    pub base_delay: Duration,
    /// The longest single wait, whatever `Retry-After` asks.
    pub max_wait: Duration,
}

/// How the server refused one try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 429 or 503, with the wait its `Retry-After` asked for.
    Busy {
        /// The parsed `Retry-After`, when present and readable.
        retry_after: Option<Duration>,
    },
    /// 401: the token was not accepted.
    Unauthorized,
    /// Anything else.
    Final,
}

impl Refusal {
    /// Classifies a status.
    pub fn of(status: u16, retry_after: Option<Duration>) -> Refusal {
        match status {
            429 | 503 => Refusal::Busy { retry_after },
            401 => Refusal::Unauthorized,
            _ => Refusal::Final,
        }
    }
}

/// What has happened to one request so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Busy answers so far, the one being decided on included.
    pub busy: u32,
    /// Logins made again after a 401.
    pub logins: u32,
}

/// What to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Wait this long, then send the request again.
    RetryAfter(Duration),
    /// Log in again, then send the request again.
    LogInAgain,
    /// Report the refusal.
    GiveUp,
}

impl RetryPolicy {
    /// The decision for `refusal`, after `attempts`; `can_log_in` says whether the client
    /// holds a grant it can log in with again (a bare token cannot).
    pub fn decide(&self, refusal: Refusal, attempts: Attempts, can_log_in: bool) -> Verdict {
        match refusal {
            Refusal::Busy { retry_after } if attempts.busy < self.max_tries => {
                let doublings = attempts.busy.saturating_sub(1).min(16);
                let backoff = self.base_delay.saturating_mul(1 << doublings);
                Verdict::RetryAfter(retry_after.unwrap_or(backoff).min(self.max_wait))
            }
            Refusal::Unauthorized if can_log_in && attempts.logins == 0 => Verdict::LogInAgain,
            _ => Verdict::GiveUp,
        }
    }
}

/// The wait a `Retry-After` header asks for: delta-seconds or an HTTP date (a date in the
/// past means "now"). `None` when absent or unreadable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const POLICY: RetryPolicy = RetryPolicy {
        max_tries: MAX_TRIES,
        base_delay: Duration::from_millis(500),
        max_wait: Duration::from_secs(30),
    };

    fn busy(retry_after: Option<u64>) -> Refusal {
        Refusal::Busy {
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    fn after(busy: u32, logins: u32) -> Attempts {
        Attempts { busy, logins }
    }

    #[test]
    fn busy_answers_are_tried_three_times_in_all_with_a_doubling_backoff() {
        assert_eq!(
            POLICY.decide(busy(None), after(1, 0), false),
            Verdict::RetryAfter(Duration::from_millis(500))
        );
        assert_eq!(
            POLICY.decide(busy(None), after(2, 0), false),
            Verdict::RetryAfter(Duration::from_millis(1000))
        );
        assert_eq!(
            POLICY.decide(busy(None), after(3, 0), false),
            Verdict::GiveUp
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        assert_eq!(
            POLICY.decide(busy(Some(7)), after(1, 0), false),
            Verdict::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            POLICY.decide(busy(Some(3600)), after(1, 0), false),
            Verdict::RetryAfter(Duration::from_secs(30))
        );
    }

    #[test]
    fn a_401_logs_in_again_once_and_only_with_a_grant_to_log_in_with() {
        assert_eq!(
            POLICY.decide(Refusal::Unauthorized, after(0, 0), true),
            Verdict::LogInAgain
        );
        assert_eq!(
            POLICY.decide(Refusal::Unauthorized, after(0, 1), true),
            Verdict::GiveUp
        );
        assert_eq!(
            POLICY.decide(Refusal::Unauthorized, after(0, 0), false),
            Verdict::GiveUp
        );
    }

    #[test]
    fn the_login_after_a_401_is_counted_apart_from_the_busy_tries() {
        // Two busy answers used two of three tries; a 401 still gets its login...
        assert_eq!(
            POLICY.decide(Refusal::Unauthorized, after(2, 0), true),
            Verdict::LogInAgain
        );
        // ...and after the login, the busy budget is what it was.
        assert_eq!(
            POLICY.decide(busy(None), after(3, 1), true),
            Verdict::GiveUp
        );
        assert_eq!(
            POLICY.decide(busy(None), after(2, 1), true),
            Verdict::RetryAfter(Duration::from_millis(1000))
        );
    }

    #[test]
    fn everything_else_is_final() {
        for status in [400, 403, 404, 413, 500, 502, 504, 204] {
            assert_eq!(Refusal::of(status, None), Refusal::Final, "{status}");
            assert_eq!(
                POLICY.decide(Refusal::of(status, None), after(0, 0), true),
                Verdict::GiveUp
            );
        }
        assert_eq!(Refusal::of(429, None), busy(None));
        assert_eq!(Refusal::of(503, None), busy(None));
        assert_eq!(Refusal::of(401, None), Refusal::Unauthorized);
    }

    #[test]
    fn a_huge_try_count_does_not_overflow_the_backoff() {
        let patient = RetryPolicy {
            max_tries: u32::MAX,
            ..POLICY
        };
        assert_eq!(
            patient.decide(busy(None), after(1000, 0), false),
            Verdict::RetryAfter(Duration::from_secs(30))
        );
    }

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
}
