//! Getting a logged-in client: to the embedded demo (no flags) or to a real deployment.

use anyhow::{Context, Result, bail};

use crate::client::{Client, ClientConfig, Credential};
use crate::embedded::EmbeddedDemo;

/// Where to connect, as the person gave it on the command line.
#[derive(Default)]
pub struct Connection {
    /// Base URL of a real deployment; `None` = the embedded demo.
    pub api_url: Option<String>,
    /// `org#app`.
    pub appkey: Option<String>,
    /// The user.
    pub user: Option<String>,
    /// A token instead of a password.
    pub token: Option<String>,
}

/// The token is redacted: a `{:?}` of the settings must not put it in a log or an error.
impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("api_url", &self.api_url)
            .field("appkey", &self.appkey)
            .field("user", &self.user)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A logged-in client, and the embedded server when it serves the demo.
pub struct Session {
    /// The client, logged in.
    pub client: Client,
    /// Keeps the embedded demo server running for as long as the session lives.
    pub embedded: Option<EmbeddedDemo>,
    /// Things to tell the person once (e.g. that an id was lowercased).
    pub notices: Vec<String>,
}

/// The environment variable a password may come from.
pub const PASSWORD_ENV: &str = "ROAM_PASSWORD";

/// Connects and logs in. A login failure is an error here, before any UI starts.
pub async fn connect(connection: Connection) -> Result<Session> {
    let (config, embedded) = match connection.api_url {
        None => {
            if connection.user.is_some() || connection.token.is_some() {
                bail!(
                    "--user and --token need --api-url and --appkey (without them roam opens the demo)"
                );
            }
            let demo = crate::embedded::start_demo()
                .await
                .context("cannot start the embedded demo server")?;
            (demo.client_config(), Some(demo))
        }
        Some(api_url) => {
            let (Some(appkey), Some(user)) = (connection.appkey, connection.user) else {
                bail!("--api-url needs --appkey ORG#APP and --user NAME");
            };
            let credential = match connection.token {
                Some(token) => Credential::Token(token),
                None => Credential::Password(read_password(&user).await?),
            };
            (ClientConfig::new(api_url, appkey, user, credential), None)
        }
    };
    let client = Client::new(config).context("bad connection settings")?;
    let mut notices = Vec::new();
    if client.user_was_lowercased() {
        notices.push(format!("user id lowercased to {}", client.user()));
    }
    client.login().await.context("login failed")?;
    Ok(Session {
        client,
        embedded,
        notices,
    })
}

async fn read_password(user: &str) -> Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    let prompt = format!("password for {user} (or set {PASSWORD_ENV}): ");
    tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
        .await
        .context("password prompt failed")?
        .context("cannot read the password")
}

#[cfg(test)]
mod tests {
    use super::Connection;

    #[test]
    fn debug_never_shows_the_token() {
        let connection = Connection {
            user: Some("alice".into()),
            token: Some("YWMtsecret".into()),
            ..Connection::default()
        };
        let shown = format!("{connection:?}");
        assert!(!shown.contains("YWMtsecret"), "{shown}");
        assert!(shown.contains("alice"), "{shown}");
    }
}
