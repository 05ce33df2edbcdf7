//! Issued bearer tokens, in the database: a token one server issues is accepted by every
//! server over the same database, and survives restarts.
//!
//! Only the SHA-256 of a token is stored: a copy of the database (a backup) holds no token
//! that works. A token is 256 random bits, so a plain hash is enough (no salt, no slow
//! hash: nothing to guess). Expired tokens are remembered for an hour (so they are
//! answered "expired" rather than "bad"), then purged whenever a token is issued.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::{PgError, PgStore};
use crate::store::now_ms;

/// How long an expired token is still recognised before it is purged (ms).
const REMEMBER_EXPIRED_MS: i64 = 3_600_000;

/// Who a token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenHolder {
    /// A user (lowercase id).
    User(String),
    /// An app, by client id.
    App(String),
}

impl TokenHolder {
    fn parts(&self) -> (bool, &str) {
        match self {
            TokenHolder::User(u) => (false, u),
            TokenHolder::App(a) => (true, a),
        }
    }
}

/// A token just issued. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The bearer token to hand out.
    pub token: String,
    /// When it expires (ms since the epoch).
    pub expires_ms: i64,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("expires_ms", &self.expires_ms)
            .finish()
    }
}

/// What the store knows of a presented token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenState {
    /// Live: who it speaks for, and when it expires.
    Live(TokenHolder, i64),
    /// Issued here, expired.
    Expired,
    /// Never issued here (or purged, or retired).
    Unknown,
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl PgStore {
    /// Issues a new random token (256 bits) for `holder`, living `ttl_ms`. A holder keeps
    /// at most `max_per_holder` live tokens: the oldest beyond that are retired, so
    /// repeated logins cannot grow the table without bound. Tokens expired for an hour are
    /// purged.
    pub async fn issue_token(
        &self,
        holder: &TokenHolder,
        ttl_ms: i64,
        max_per_holder: usize,
    ) -> Result<IssuedToken, PgError> {
        let bytes: [u8; 32] = rand::random();
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let expires_ms = self
            .accept_token(holder, &token, ttl_ms, max_per_holder)
            .await?;
        Ok(IssuedToken { token, expires_ms })
    }

    /// Stores `token` (made by the caller) for `holder` as if issued now; returns its
    /// expiry.
    pub async fn accept_token(
        &self,
        holder: &TokenHolder,
        token: &str,
        ttl_ms: i64,
        max_per_holder: usize,
    ) -> Result<i64, PgError> {
        let now = now_ms();
        let expires_ms = now.saturating_add(ttl_ms.max(0));
        let (app, name) = holder.parts();
        let keep = i64::try_from(max_per_holder.max(1)).unwrap_or(i64::MAX);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO tokens(hash, app, holder, expires_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (hash) DO UPDATE SET app = $2, holder = $3, expires_ms = $4",
            )
            .await?;
        tx.execute(&insert, &[&digest(token), &app, &name, &expires_ms])
            .await?;
        // The holder's tokens beyond the newest `keep`, by issue order.
        let retire = tx
            .prepare_cached(
                "DELETE FROM tokens WHERE app = $1 AND holder = $2 AND serial <= (
                     SELECT serial FROM tokens WHERE app = $1 AND holder = $2
                     ORDER BY serial DESC OFFSET $3 LIMIT 1)",
            )
            .await?;
        tx.execute(&retire, &[&app, &name, &keep]).await?;
        let purge = tx
            .prepare_cached("DELETE FROM tokens WHERE expires_ms < $1")
            .await?;
        tx.execute(&purge, &[&now.saturating_sub(REMEMBER_EXPIRED_MS)])
            .await?;
        tx.commit().await?;
        Ok(expires_ms)
    }

    /// What the store knows of a presented token.
    pub async fn check_token(&self, token: &str) -> Result<TokenState, PgError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT app, holder, expires_ms FROM tokens WHERE hash = $1")
            .await?;
        let Some(row) = client.query_opt(&stmt, &[&digest(token)]).await? else {
            return Ok(TokenState::Unknown);
        };
        let app: bool = row.try_get(0)?;
        let holder: String = row.try_get(1)?;
        let expires_ms: i64 = row.try_get(2)?;
        if expires_ms <= now_ms() {
            return Ok(TokenState::Expired);
        }
        let holder = if app {
            TokenHolder::App(holder)
        } else {
            TokenHolder::User(holder)
        };
        Ok(TokenState::Live(holder, expires_ms))
    }

    /// Removes tokens expired for longer than an hour; returns how many.
    pub async fn purge_tokens(&self) -> Result<u64, PgError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("DELETE FROM tokens WHERE expires_ms < $1")
            .await?;
        Ok(client
            .execute(&stmt, &[&now_ms().saturating_sub(REMEMBER_EXPIRED_MS)])
            .await?)
    }

    /// How many tokens are stored (live or recently expired).
    pub async fn token_count(&self) -> Result<u64, PgError> {
        let client = self.client().await?;
        let n: i64 = client
            .query_one("SELECT count(*) FROM tokens", &[])
            .await?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
