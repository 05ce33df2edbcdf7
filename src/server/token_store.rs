//! Where a server keeps the tokens it issues: in its own memory over SQLite (one process,
//! a restart logs everybody out, as before), or in the PostgreSQL database, where every
//! server over that database accepts them and they survive restarts.

use super::auth::{Bearer, Holder, MAX_TOKENS_PER_USER, Tokens, bearer_token, expired};
use super::error::ApiError;
use super::log_text::LogText;
use crate::store::pg::{PgStore, TokenHolder, TokenState};

/// The server's tokens.
#[derive(Debug)]
pub(crate) enum TokenStore {
    /// In this process.
    Memory(Tokens),
    /// In the database, shared by every server over it.
    Shared {
        /// The database.
        store: Box<PgStore>,
        /// How long a token lives (ms).
        ttl_ms: i64,
    },
}

/// A database failure while handling a token: logged, answered as the server's fault.
fn store_failed(e: impl std::fmt::Display) -> ApiError {
    let text = e.to_string();
    tracing::error!(error = %LogText::new(&text), "token store failed");
    ApiError::internal()
}

impl TokenStore {
    /// Issues a token for a user.
    pub(crate) async fn issue(&self, user: &str) -> Result<String, ApiError> {
        self.issue_to(Holder::User(user.to_string())).await
    }

    /// Issues a token for an app.
    pub(crate) async fn issue_app(&self, client_id: &str) -> Result<String, ApiError> {
        self.issue_to(Holder::App(client_id.to_string())).await
    }

    async fn issue_to(&self, holder: Holder) -> Result<String, ApiError> {
        match self {
            TokenStore::Memory(tokens) => Ok(match holder {
                Holder::User(user) => tokens.issue(&user),
                Holder::App(app) => tokens.issue_app(&app),
            }),
            TokenStore::Shared { store, ttl_ms } => {
                let holder = match holder {
                    Holder::User(u) => TokenHolder::User(u),
                    Holder::App(a) => TokenHolder::App(a),
                };
                let issued = store
                    .issue_token(&holder, *ttl_ms, MAX_TOKENS_PER_USER)
                    .await
                    .map_err(store_failed)?;
                Ok(issued.token)
            }
        }
    }

    /// Accepts `token` for a user as if issued now (a local reader's).
    pub(crate) async fn accept(&self, user: &str, token: &str) -> Result<(), ApiError> {
        match self {
            TokenStore::Memory(tokens) => {
                tokens.accept(user, token);
                Ok(())
            }
            TokenStore::Shared { store, ttl_ms } => {
                let holder = TokenHolder::User(user.to_lowercase());
                store
                    .accept_token(&holder, token, *ttl_ms, MAX_TOKENS_PER_USER)
                    .await
                    .map_err(store_failed)?;
                Ok(())
            }
        }
    }

    /// The holder and expiry of the live token in an `Authorization` header (see
    /// [`Tokens::check`] for the answers).
    pub(crate) async fn check(&self, header: Option<&[u8]>) -> Result<Bearer, ApiError> {
        match self {
            TokenStore::Memory(tokens) => tokens.check(header),
            TokenStore::Shared { store, .. } => {
                let token = bearer_token(header)?;
                match store.check_token(token).await.map_err(store_failed)? {
                    TokenState::Live(holder, expires_ms) => Ok(Bearer {
                        holder: match holder {
                            TokenHolder::User(u) => Holder::User(u),
                            TokenHolder::App(a) => Holder::App(a),
                        },
                        expires_ms,
                    }),
                    TokenState::Expired => Err(expired()),
                    TokenState::Unknown => Err(ApiError::bad_access_token()),
                }
            }
        }
    }
}
