//! `roam login`, `roam logout` and `roam config`: saved tokens and what the configuration
//! comes to.

use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use super::{load_config, runtime};
use crate::client::{AppAccess, Client, ClientConfig, Credential, Secret};
use crate::config::AuthMethod;
use crate::session::tokens::{SavedToken, TokenKey};
use crate::session::{self, Connection, Deployment, Target, blocking, say_connecting};

/// The deployment a login or logout is for; the demo needs neither.
fn deployment(
    connection: Connection,
    command: &str,
) -> Result<(Deployment, crate::config::Config)> {
    let config = load_config()?;
    match session::resolve(connection, &config)? {
        Target::Deployment(d) => Ok((d, config)),
        Target::Demo => bail!(
            "roam {command} needs a deployment: --profile NAME, or --api-url, --appkey and --user"
        ),
    }
}

/// `roam login`: obtains a token (the password grant, or a token given by `ROAM_TOKEN` or
/// typed at a prompt for `auth = "token"`, checked with the server) and saves it.
pub fn login(connection: Connection) -> Result<()> {
    let (d, config) = deployment(connection, "login")?;
    let key = d.token_key();
    let runtime = runtime()?;
    runtime.block_on(async {
        let token = obtain_token(&d, &key).await?;
        let store = session::token_store(&config);
        let saved = token.clone();
        let place = blocking(move || store.save(&key, &saved))
            .await?
            .context("cannot save the token")?;
        let until = token.expires_at.map_or_else(
            || "until the server refuses it".into(),
            |at| format!("until {}", local_time(at)),
        );
        eprintln!(
            "roam: logged in as {}; the token is saved in {place}, {until}",
            d.token_key().describe()
        );
        Ok(())
    })
}

/// A token for `d`, checked with the server: for admin access the app token, obtained with
/// the client secret and checked by obtaining the `as` user's token with it.
async fn obtain_token(d: &Deployment, key: &TokenKey) -> Result<SavedToken> {
    if let Some(client_id) = &d.client_id {
        let secret = match std::env::var(session::CLIENT_SECRET_ENV) {
            Ok(secret) if !secret.is_empty() => secret,
            _ => session::read_client_secret(client_id).await?,
        };
        let client = Client::new(ClientConfig::new(
            &d.api_url,
            &d.appkey,
            &d.user,
            Credential::App(AppAccess {
                client_id: client_id.clone(),
                secret: Some(Secret::new(secret)),
                app_token: None,
            }),
        ))
        .context("bad connection settings")?;
        session::say_connecting_as_admin(&client);
        client.login().await.context("admin access failed")?;
        let issued = client.app_token().context("the server gave no app token")?;
        return Ok(SavedToken {
            token: issued.token,
            expires_at: issued.expires_at,
        });
    }
    let config = |credential| ClientConfig::new(&key.api_url, &key.appkey, &key.user, credential);
    let given = match d.given_token() {
        Some(token) => Some(token.to_string()),
        None if d.auth == AuthMethod::Token => Some(read_token(&d.user).await?),
        None => None,
    };
    if let Some(token) = given {
        let client =
            Client::new(config(Credential::Token(token))).context("bad connection settings")?;
        say_connecting(&client.host());
        let expires_at = client
            .token_expiry()
            .await
            .context("the server does not accept this token")?;
        let token = client.current_token().await.context("no token")?;
        return Ok(SavedToken {
            token,
            expires_at: Some(expires_at),
        });
    }
    let password = session::read_password(&d.user).await?;
    let client =
        Client::new(config(Credential::Password(password))).context("bad connection settings")?;
    say_connecting(&client.host());
    client.login().await.context("login failed")?;
    let issued = client
        .issued_token()
        .await
        .context("the server gave no token")?;
    Ok(SavedToken {
        token: issued.token,
        expires_at: issued.expires_at,
    })
}

async fn read_token(user: &str) -> Result<String> {
    let prompt = format!("token for {user}: ");
    let token = tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
        .await
        .context("token prompt failed")?
        .context("cannot read the token")?;
    if token.trim().is_empty() {
        bail!("the token is empty");
    }
    Ok(token.trim().to_string())
}

/// `roam logout`: deletes the saved token wherever it is.
pub fn logout(connection: Connection) -> Result<()> {
    let (d, config) = deployment(connection, "logout")?;
    let key = d.token_key();
    let store = session::token_store(&config);
    let described = key.describe();
    let deleted = store
        .delete(&key)
        .context("cannot delete the saved token")?;
    if deleted.is_empty() {
        eprintln!("roam: no saved token for {described}");
    }
    for place in deleted {
        eprintln!("roam: deleted the saved token of {described} from {place}");
    }
    Ok(())
}

/// `roam config`: the configuration roam uses, as TOML on stdout, headed by comments that
/// say where it comes from and which credentials are at hand. Secrets are never printed:
/// a token or password shows as `<redacted>` with where it comes from.
pub fn config(connection: Connection) -> Result<()> {
    use std::io::Write;
    let config = load_config()?;
    let mut out = String::new();
    let source = config.source.display();
    if config.found {
        out.push_str(&format!("# config file: {source}\n"));
    } else {
        out.push_str(&format!(
            "# config file: {source} (not found: the defaults)\n"
        ));
    }
    match session::resolve(connection, &config)? {
        Target::Demo => out.push_str("# connects to: the embedded demo\n"),
        Target::Deployment(d) => {
            let key = d.token_key();
            let profile = d
                .profile
                .as_ref()
                .map_or_else(|| "no profile".to_string(), |p| format!("profile {p:?}"));
            out.push_str(&format!(
                "# connects to: {} ({profile}, auth = {:?})\n",
                key.describe(),
                d.auth.name()
            ));
            if d.has_given_token() {
                out.push_str("# token: <redacted>, from ROAM_TOKEN or --token\n");
            }
            let store = session::token_store(&config);
            let file = store.file(&key);
            match store.load(&key) {
                Ok(Some((saved, place))) => {
                    let state = match saved.expires_at {
                        Some(at) if saved.is_fresh(SystemTime::now()) => {
                            format!("valid until {}", local_time(at))
                        }
                        Some(at) => format!("expired {}", local_time(at)),
                        None => "no known expiry".to_string(),
                    };
                    out.push_str(&format!("# saved token: <redacted>, in {place}, {state}\n"));
                }
                Ok(None) => out.push_str(&format!(
                    "# saved token: none (`roam login` saves one; file {})\n",
                    file.display()
                )),
                Err(e) => out.push_str(&format!("# saved token: not used: {e}\n")),
            }
            if let Some(client_id) = &d.client_id {
                out.push_str(&format!(
                    "# admin access: the app {client_id} reads {}'s history\n",
                    d.user
                ));
                if std::env::var_os(session::CLIENT_SECRET_ENV).is_some() {
                    out.push_str("# client secret: <redacted>, from ROAM_CLIENT_SECRET\n");
                }
            }
            if std::env::var_os(session::PASSWORD_ENV).is_some() {
                out.push_str("# password: <redacted>, from ROAM_PASSWORD\n");
            }
        }
    }
    out.push('\n');
    out.push_str(&config.to_toml());
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// A time in the system's zone, to the minute.
fn local_time(at: SystemTime) -> String {
    jiff::Timestamp::try_from(at)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_else(|_| "an unreadable time".into())
}
