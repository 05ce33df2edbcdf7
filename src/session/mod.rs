//! Getting a logged-in client: to the embedded demo (no flags, no default profile) or to a
//! real deployment named by flags and/or a profile of the config file, with a token from
//! the environment, a saved token ([`tokens`]) or a password.
//!
//! The order a deployment's credential is looked for in:
//! 1. `--token` / `ROAM_TOKEN`: used as given, never saved.
//! 2. A saved token (`roam login`) that is not about to expire: checked with the server
//!    first (a cheap call), so a revoked token means a password prompt now, not an error
//!    in the middle of browsing. A refused one is deleted.
//! 3. The password (`ROAM_PASSWORD` or a prompt), for `auth = "password"`. When a saved
//!    token was there but expired or refused, the new token replaces it: the person
//!    opted in to saved tokens with `roam login`.
//!
//! Admin access (`--client-id` + `--as USER`, or a profile with `auth = "app"`) reads a
//! user's history with the app's credentials instead: the saved app token (`roam login`),
//! else the client secret from `ROAM_CLIENT_SECRET` or a prompt (never a flag).
//!
//! A password or client secret is never written anywhere.

pub mod tokens;

use std::io::IsTerminal;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::client::{AppAccess, Client, ClientConfig, Credential, IssuedToken, Secret};
use crate::config::{AuthMethod, Config, paths};
use crate::embedded::EmbeddedServer;
use tokens::{SavedToken, TokenKey, TokenStore};

/// Where to connect, as the person gave it on the command line.
#[derive(Clone, Default)]
pub struct Connection {
    /// A profile of the config file.
    pub profile: Option<String>,
    /// Base URL of a real deployment; `None` (and no profile) = the embedded demo.
    pub api_url: Option<String>,
    /// `org#app`.
    pub appkey: Option<String>,
    /// The user.
    pub user: Option<String>,
    /// A token instead of a password.
    pub token: Option<String>,
    /// Admin access: the app's client id (the secret comes from `ROAM_CLIENT_SECRET` or a
    /// prompt, never from a flag).
    pub client_id: Option<String>,
    /// Admin access: whose history to read.
    pub as_user: Option<String>,
}

/// The token is redacted: a `{:?}` of the settings must not put it in a log or an error.
impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("profile", &self.profile)
            .field("api_url", &self.api_url)
            .field("appkey", &self.appkey)
            .field("user", &self.user)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("client_id", &self.client_id)
            .field("as_user", &self.as_user)
            .finish()
    }
}

/// What the flags and the config file come to.
#[derive(Debug)]
pub enum Target {
    /// The embedded demo.
    Demo,
    /// A deployment.
    Deployment(Deployment),
}

/// A deployment and the user to read as.
pub struct Deployment {
    /// The profile it came from, if any.
    pub profile: Option<String>,
    /// Base URL.
    pub api_url: String,
    /// `org#app`.
    pub appkey: String,
    /// The user.
    pub user: String,
    /// How to log in.
    pub auth: AuthMethod,
    /// The app's client id, for `auth = "app"` (admin access; `user` is then the `as`).
    pub client_id: Option<String>,
    /// A token given by flag or environment.
    token: Option<String>,
}

impl std::fmt::Debug for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment")
            .field("profile", &self.profile)
            .field("api_url", &self.api_url)
            .field("appkey", &self.appkey)
            .field("user", &self.user)
            .field("auth", &self.auth)
            .field("client_id", &self.client_id)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Deployment {
    /// The key its saved token is kept under: the app's for admin access (its app token),
    /// else the user's.
    pub fn token_key(&self) -> TokenKey {
        match &self.client_id {
            Some(client_id) => TokenKey::for_app(&self.api_url, &self.appkey, client_id),
            None => TokenKey::new(&self.api_url, &self.appkey, &self.user),
        }
    }

    /// Whether a token came by flag or environment.
    pub fn has_given_token(&self) -> bool {
        self.token.is_some()
    }

    /// The token that came by flag or environment, for `roam login` to check and save.
    pub fn given_token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// ` --profile NAME` when it came from a profile, for commands to suggest.
    pub fn profile_flag(&self) -> String {
        self.profile
            .as_ref()
            .map_or_else(String::new, |p| format!(" --profile {p}"))
    }

    fn client_config(&self, credential: Credential) -> ClientConfig {
        ClientConfig::new(&self.api_url, &self.appkey, &self.user, credential)
    }
}

/// Works out the target: a named profile (`--profile`), else the default profile when no
/// `--api-url` is given, else the flags alone; flags win over the profile's values.
pub fn resolve(connection: Connection, config: &Config) -> Result<Target> {
    let profile_name = connection.profile.clone().or_else(|| {
        connection
            .api_url
            .is_none()
            .then(|| config.default_profile.clone())
            .flatten()
    });
    let profile = match &profile_name {
        Some(name) => Some(config.profile(name).ok_or_else(|| {
            let known: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
            anyhow::anyhow!(
                "no profile {name:?} in {} ({})",
                config.source.display(),
                if !config.found {
                    "the file does not exist".to_string()
                } else if known.is_empty() {
                    "it has no profiles".to_string()
                } else {
                    format!("its profiles: {}", known.join(", "))
                }
            )
        })?),
        None => None,
    };
    let from_profile = |field: fn(&crate::config::Profile) -> &Option<String>| {
        profile.and_then(|p| field(p).clone())
    };
    let api_url = connection.api_url.or_else(|| from_profile(|p| &p.api_url));
    let appkey = connection.appkey.or_else(|| from_profile(|p| &p.appkey));
    let auth = match &connection.client_id {
        Some(_) => AuthMethod::App,
        None => profile.map(|p| p.auth).unwrap_or_default(),
    };
    if auth != AuthMethod::App && connection.as_user.is_some() {
        bail!(
            "--as USER is admin access: it needs --client-id ID (or a profile with auth = \"app\")"
        );
    }
    let user = if auth == AuthMethod::App {
        if connection.user.is_some() {
            bail!(
                "--user reads with that user's own credentials; with admin access name the user with --as USER"
            );
        }
        if connection.token.is_some() {
            bail!(
                "a user token (--token or ROAM_TOKEN) does not go with admin access (--client-id); unset one of them"
            );
        }
        connection.as_user.or_else(|| from_profile(|p| &p.as_user))
    } else {
        connection.user.or_else(|| from_profile(|p| &p.user))
    };
    let client_id = connection
        .client_id
        .or_else(|| from_profile(|p| &p.client_id))
        .filter(|_| auth == AuthMethod::App);
    let Some(api_url) = api_url else {
        if let Some(name) = &profile_name {
            bail!("profile {name:?} has no api_url");
        }
        if user.is_some() || connection.token.is_some() || appkey.is_some() || client_id.is_some() {
            bail!(
                "--user, --appkey, --token and --client-id need --api-url (or a --profile); without them roam opens the demo"
            );
        }
        return Ok(Target::Demo);
    };
    let missing = |flag: &str, key: &str| match &profile_name {
        Some(name) => anyhow::anyhow!("give {flag}, or {key} in profile {name:?}"),
        None => {
            anyhow::anyhow!("--api-url needs --appkey ORG#APP and --user NAME (missing {flag})")
        }
    };
    let appkey = appkey.ok_or_else(|| missing("--appkey ORG#APP", "appkey"))?;
    let user = match (user, auth) {
        (Some(user), _) => user,
        (None, AuthMethod::App) => return Err(missing("--as USER", "as")),
        (None, _) => return Err(missing("--user NAME", "user")),
    };
    let client_id = match (client_id, auth) {
        (None, AuthMethod::App) => return Err(missing("--client-id ID", "client_id")),
        (client_id, _) => client_id,
    };
    Ok(Target::Deployment(Deployment {
        profile: profile_name,
        api_url,
        appkey,
        user,
        auth,
        client_id,
        token: connection.token,
    }))
}

/// A logged-in client, and the embedded server when it serves the demo.
pub struct Session {
    /// The client, logged in.
    pub client: Client,
    /// Keeps the embedded demo server running for as long as the session lives.
    pub embedded: Option<EmbeddedServer>,
    /// Things to tell the person once (e.g. that an id was lowercased).
    pub notices: Vec<String>,
    /// The client reads the person's library, not the deployment ([`offline`]).
    pub offline: bool,
}

/// The environment variable a password may come from.
pub const PASSWORD_ENV: &str = "ROAM_PASSWORD";

/// Connects and logs in. A login failure is an error here, before any UI starts.
pub async fn connect(connection: Connection, config: &Config) -> Result<Session> {
    let mut notices = Vec::new();
    let (client, embedded) = match resolve(connection, config)? {
        Target::Demo => {
            let demo = crate::embedded::start_demo()
                .await
                .context("cannot start the embedded demo server")?;
            let client = Client::new(demo.client_config()).context("bad connection settings")?;
            say_connecting(&format!("the demo at {}", client.host()));
            client.login().await.context("login failed")?;
            (client, Some(demo))
        }
        Target::Deployment(deployment) => (deploy(&deployment, config, &mut notices).await?, None),
    };
    if client.user_was_lowercased() {
        notices.insert(0, format!("user id lowercased to {}", client.user()));
    }
    Ok(Session {
        client,
        embedded,
        notices,
        offline: false,
    })
}

/// The person's library of the target (see [`crate::library`]) served in process to its
/// user, read-only: `roam --offline`, and the browser when the deployment cannot be
/// reached. No credential is asked: the file is the person's own.
pub async fn offline(connection: Connection, config: &Config) -> Result<Session> {
    let place = match library_of(connection, config)? {
        Some(place) => place,
        None => LibraryPlace::demo(),
    };
    let LibraryPlace {
        path,
        deployment,
        appkey,
        user,
    } = place;
    if !path.exists() {
        bail!(
            "there is no library of {user} on {deployment} yet ({}): browse or run `roam sync` while online first",
            path.display()
        );
    }
    let server = crate::embedded::serve_local(&path, &appkey, &user, &deployment).await?;
    let client = Client::new(server.client_config()).context("bad connection settings")?;
    Ok(Session {
        client,
        embedded: Some(server),
        notices: vec![format!(
            "offline: {user}'s library of {deployment}, read-only"
        )],
        offline: true,
    })
}

/// Where a person's library of one deployment, app key and user lives.
#[derive(Clone, Debug)]
pub struct LibraryPlace {
    /// The file.
    pub path: std::path::PathBuf,
    /// The deployment's name ([`Client::deployment`]).
    pub deployment: String,
    /// `org#app`.
    pub appkey: String,
    /// Whose library it is.
    pub user: String,
}

impl LibraryPlace {
    fn new(deployment: String, appkey: String, user: String) -> LibraryPlace {
        LibraryPlace {
            path: crate::library::Library::path_for(
                &paths::data_dir(),
                &deployment,
                &appkey,
                &user,
            ),
            deployment,
            appkey,
            user,
        }
    }

    /// The demo's library (the pages browsed in the demo).
    pub fn demo() -> LibraryPlace {
        LibraryPlace::new(
            crate::embedded::DEMO_DEPLOYMENT.to_string(),
            crate::demo::DEMO_APPKEY.to_string(),
            crate::demo::DEMO_USER.to_string(),
        )
    }
}

/// The library of the deployment the connection names, without connecting; `None` for the
/// demo (no flags, no default profile).
pub fn library_of(connection: Connection, config: &Config) -> Result<Option<LibraryPlace>> {
    match resolve(connection, config)? {
        Target::Demo => Ok(None),
        Target::Deployment(d) => {
            // Built only to name the deployment as the online client does; it never sends.
            let naming = Client::new(d.client_config(Credential::Token("offline".into())))
                .context("bad connection settings")?;
            Ok(Some(LibraryPlace::new(
                naming.deployment(),
                naming.appkey(),
                naming.user().to_string(),
            )))
        }
    }
}

/// Whether `error` says the deployment could not be reached at all (rather than, say,
/// refusing the login): then the library can stand in for it.
pub fn unreachable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<crate::client::ClientError>(),
            Some(
                crate::client::ClientError::Connect { .. }
                    | crate::client::ClientError::Timeout { .. }
            )
        )
    })
}

/// The client of a deployment, logged in as the module doc says.
async fn deploy(d: &Deployment, config: &Config, notices: &mut Vec<String>) -> Result<Client> {
    if let Some(token) = &d.token {
        let client = Client::new(d.client_config(Credential::Token(token.clone())))
            .context("bad connection settings")?;
        say_connecting(&client.host());
        return Ok(client);
    }
    if let Some(client_id) = &d.client_id {
        return admin(d, client_id, config, notices).await;
    }
    let store = token_store(config);
    let key = d.token_key();
    let saved = load_saved(&store, &key)
        .await
        .context("cannot use the saved token")?;
    let mut said = false;
    let mut replace_saved = false;
    if let Some(saved) = saved {
        replace_saved = true;
        if saved.is_fresh(SystemTime::now()) {
            let client =
                Client::new(d.client_config(Credential::Token(saved.token.expose().to_string())))
                    .context("bad connection settings")?;
            say_connecting(&client.host());
            said = true;
            match client.token_expiry().await {
                Ok(_) => return Ok(client),
                Err(e) if e.status() == Some(401) => {
                    tracing::info!("the saved token was refused; logging in again");
                    notices.push("the saved token was refused; logged in again".into());
                    delete_saved(&store, &key).await?;
                }
                Err(e) => return Err(e).context("cannot check the saved token"),
            }
        }
    }
    if d.auth == AuthMethod::Token {
        bail!(
            "no token for {}: set ROAM_TOKEN, or run `roam login{}`",
            key.describe(),
            d.profile_flag()
        );
    }
    let password = read_password(&d.user).await?;
    let client = Client::new(d.client_config(Credential::Password(password)))
        .context("bad connection settings")?;
    if !said {
        say_connecting(&client.host());
    }
    client.login().await.context("login failed")?;
    if replace_saved && let Some(issued) = client.issued_token().await {
        let token = SavedToken {
            token: issued.token,
            expires_at: issued.expires_at,
        };
        let place = blocking(move || store.save(&key, &token)).await??;
        tracing::info!(%place, "saved the new token");
    }
    Ok(client)
}

/// The client of admin access (`auth = "app"`): the saved app token of `roam login` when
/// there is a fresh one (with the secret of `ROAM_CLIENT_SECRET` beside it when set, to
/// replace it should it be refused), else the secret from `ROAM_CLIENT_SECRET` or a prompt.
/// A saved app token that the server refuses is deleted; a new one replaces it.
async fn admin(
    d: &Deployment,
    client_id: &str,
    config: &Config,
    notices: &mut Vec<String>,
) -> Result<Client> {
    let store = token_store(config);
    let key = d.token_key();
    let saved = load_saved(&store, &key)
        .await
        .context("cannot use the saved app token")?;
    let env_secret = std::env::var(CLIENT_SECRET_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let access = |secret: Option<Secret>, app_token: Option<IssuedToken>| {
        d.client_config(Credential::App(AppAccess {
            client_id: client_id.to_string(),
            secret,
            app_token,
        }))
    };
    let replace_saved = saved.is_some();
    let mut said = false;
    if let Some(saved) = saved.filter(|t| t.is_fresh(SystemTime::now())) {
        let token = IssuedToken {
            token: saved.token,
            expires_at: saved.expires_at,
        };
        let client = Client::new(access(env_secret.clone(), Some(token)))
            .context("bad connection settings")?;
        say_connecting_as_admin(&client);
        said = true;
        match client.login().await {
            Ok(()) => return Ok(client),
            Err(e) if e.status() == Some(401) => {
                tracing::info!("the saved app token was refused");
                notices.push("the saved app token was refused; obtained a new one".into());
                delete_saved(&store, &key).await?;
            }
            Err(e) => return Err(e).context("admin access failed"),
        }
    }
    let secret = match env_secret {
        Some(secret) => secret,
        None => Secret::new(read_client_secret(client_id).await?),
    };
    let client = Client::new(access(Some(secret), None)).context("bad connection settings")?;
    if !said {
        say_connecting_as_admin(&client);
    }
    client.login().await.context("admin access failed")?;
    if replace_saved && let Some(issued) = client.app_token() {
        let token = SavedToken {
            token: issued.token,
            expires_at: issued.expires_at,
        };
        let place = blocking(move || store.save(&key, &token)).await??;
        tracing::info!(%place, "saved the new app token");
    }
    Ok(client)
}

/// The environment variable the client secret of admin access may come from.
pub const CLIENT_SECRET_ENV: &str = "ROAM_CLIENT_SECRET";

/// The client secret from a prompt that does not echo.
pub async fn read_client_secret(client_id: &str) -> Result<String> {
    let prompt = format!("client secret of {client_id} (or set {CLIENT_SECRET_ENV}): ");
    let secret = tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
        .await
        .context("client secret prompt failed")?
        .context("cannot read the client secret")?;
    if secret.is_empty() {
        bail!("the client secret is empty");
    }
    Ok(secret)
}

/// `connecting to HOST as USER (admin access)…`: the line says whose history this is and
/// that it is opened with the app's credentials.
pub fn say_connecting_as_admin(client: &Client) {
    say_connecting(&format!(
        "{} as {} (admin access)",
        client.host(),
        client.user()
    ));
}

/// The token store the configuration picks, in the data directory.
pub fn token_store(config: &Config) -> TokenStore {
    TokenStore::new(config.token_store, &paths::data_dir())
}

/// The token saved under `key`, read off the async threads.
async fn load_saved(store: &TokenStore, key: &TokenKey) -> Result<Option<SavedToken>> {
    let (store, key) = (store.clone(), key.clone());
    Ok(blocking(move || store.load(&key))
        .await??
        .map(|(saved, _place)| saved))
}

/// Deletes the token saved under `key` (the server refused it), off the async threads.
async fn delete_saved(store: &TokenStore, key: &TokenKey) -> Result<()> {
    let (store, key) = (store.clone(), key.clone());
    blocking(move || store.delete(&key)).await??;
    Ok(())
}

/// Runs keyring and file work off the async threads: a keyring may talk to a service.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("a background task failed")
}

/// `connecting to HOST…` on stderr before the first request, when stderr is a terminal.
/// A person waiting on a slow server sees what roam is doing; a script's stderr holds only
/// what went wrong and what it must act on (the next cursor), so it gets no such line.
pub fn say_connecting(host: &str) {
    tracing::info!(host, "connecting");
    if std::io::stderr().is_terminal() {
        eprintln!("connecting to {host}…");
    }
}

/// The password from `ROAM_PASSWORD` or a prompt.
pub async fn read_password(user: &str) -> Result<String> {
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
    use super::*;

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

    fn config(text: &str) -> Config {
        Config::parse(text, std::path::Path::new("c.toml")).expect("config")
    }

    const PROFILES: &str = r#"
default_profile = "demo"
[profiles.demo]
api_url = "http://127.0.0.1:5280"
appkey = "roam#demo"
user = "demo"
[profiles.prod]
api_url = "https://a1.easemob.com"
appkey = "acme#chatapp"
user = "alice"
auth = "token"
"#;

    fn deployment(target: Target) -> Deployment {
        match target {
            Target::Deployment(d) => d,
            Target::Demo => panic!("a deployment expected"),
        }
    }

    #[test]
    fn no_flags_and_no_default_profile_is_the_demo() {
        let target = resolve(Connection::default(), &config("")).expect("demo");
        assert!(matches!(target, Target::Demo));
    }

    #[test]
    fn the_default_profile_applies_unless_a_profile_or_api_url_is_given() {
        let c = config(PROFILES);
        let d = deployment(resolve(Connection::default(), &c).expect("default"));
        assert_eq!(
            (d.profile.as_deref(), d.user.as_str()),
            (Some("demo"), "demo")
        );
        let named = Connection {
            profile: Some("prod".into()),
            user: Some("bob".into()),
            ..Connection::default()
        };
        let d = deployment(resolve(named, &c).expect("prod"));
        assert_eq!(d.api_url, "https://a1.easemob.com");
        assert_eq!(d.user, "bob", "a flag wins over the profile");
        assert_eq!(d.auth, AuthMethod::Token);
        let flags = Connection {
            api_url: Some("http://h".into()),
            appkey: Some("a#b".into()),
            user: Some("u".into()),
            ..Connection::default()
        };
        let d = deployment(resolve(flags, &c).expect("flags"));
        assert_eq!((d.profile, d.appkey.as_str()), (None, "a#b"));
    }

    #[test]
    fn an_app_profile_reads_as_its_user_and_keeps_its_token_under_the_app() {
        let c = config(&format!(
            "{PROFILES}[profiles.support]\napi_url = \"https://a1.easemob.com\"\nappkey = \"acme#chatapp\"\nauth = \"app\"\nclient_id = \"YXA6app\"\nas = \"li.wei\"\n"
        ));
        let support = Connection {
            profile: Some("support".into()),
            ..Connection::default()
        };
        let d = deployment(resolve(support, &c).expect("support"));
        assert_eq!(d.auth, AuthMethod::App);
        assert_eq!(
            (d.user.as_str(), d.client_id.as_deref()),
            ("li.wei", Some("YXA6app"))
        );
        assert_eq!(d.token_key().user, "app:YXA6app");
        assert!(d.token_key().describe().starts_with("the app YXA6app"));
        // Flags: --client-id makes it admin access, --as names the user.
        let flags = Connection {
            profile: Some("prod".into()),
            client_id: Some("YXA6other".into()),
            as_user: Some("omar.haddad".into()),
            ..Connection::default()
        };
        let d = deployment(resolve(flags, &c).expect("flags"));
        assert_eq!((d.auth, d.user.as_str()), (AuthMethod::App, "omar.haddad"));
        let no_as = Connection {
            profile: Some("prod".into()),
            client_id: Some("YXA6other".into()),
            ..Connection::default()
        };
        let e = resolve(no_as, &c).expect_err("no --as").to_string();
        assert!(e.contains("--as"), "{e}");
    }

    #[test]
    fn an_unknown_profile_or_a_missing_value_is_a_clear_error() {
        let c = config(PROFILES);
        let unknown = Connection {
            profile: Some("staging".into()),
            ..Connection::default()
        };
        let e = resolve(unknown, &c).expect_err("unknown").to_string();
        assert!(e.contains("staging") && e.contains("demo, prod"), "{e}");
        let half = Connection {
            api_url: Some("http://h".into()),
            ..Connection::default()
        };
        let e = resolve(half, &c).expect_err("no appkey").to_string();
        assert!(e.contains("--appkey"), "{e}");
        let stray = Connection {
            user: Some("u".into()),
            ..Connection::default()
        };
        let e = resolve(stray, &config("")).expect_err("no url").to_string();
        assert!(e.contains("--api-url"), "{e}");
    }
}
