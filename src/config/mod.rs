//! The config file: profiles (where and as whom to connect), display settings and key
//! bindings.
//!
//! It lives at `$XDG_CONFIG_HOME/roam/config.toml` (`ROAM_CONFIG` names another file; see
//! [`paths`]), and a missing file is an empty configuration. It is TOML read with serde;
//! every key is known: an unknown key, a value of the wrong type or a value that cannot
//! work (a URL that is not one, a zone that does not exist) is an error naming the file,
//! the line and the column, never a setting silently ignored.
//!
//! **No secret is ever kept here**: a `password` or `token` key is refused with a word on
//! where they go instead (`ROAM_PASSWORD`, `ROAM_TOKEN`, `roam login`). An example with
//! every key is `assets/config.example.toml`.

pub mod display;
pub mod keys;
pub mod paths;
pub mod remember;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::protocol::ids;
pub use display::{Colors, Display, Images, Layout, Zone};
pub use keys::KeyBindings;

/// How a profile logs in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// The user's password (`ROAM_PASSWORD` or a prompt), or a token `roam login` saved.
    #[default]
    Password,
    /// A user token: `ROAM_TOKEN`, or one `roam login` saved.
    Token,
    /// The app's credentials (`client_id`, the secret from `ROAM_CLIENT_SECRET` or a
    /// prompt), reading the history of the user named by `as`.
    App,
}

impl AuthMethod {
    /// As written in the file.
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Token => "token",
            AuthMethod::App => "app",
        }
    }
}

/// Where `roam login` keeps tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenStore {
    /// The OS keyring when there is one, else the file.
    #[default]
    Auto,
    /// The OS keyring only.
    Keyring,
    /// A 0600 file in the data directory only.
    File,
}

impl TokenStore {
    /// As written in the file.
    pub fn name(self) -> &'static str {
        match self {
            TokenStore::Auto => "auto",
            TokenStore::Keyring => "keyring",
            TokenStore::File => "file",
        }
    }
}

/// One profile, checked: every field may be absent (flags fill it in).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// The deployment's REST base URL.
    pub api_url: Option<String>,
    /// `org#app`.
    pub appkey: Option<String>,
    /// The user whose history to read (with `auth = "app"`: see `as_user`).
    pub user: Option<String>,
    /// How to log in.
    pub auth: AuthMethod,
    /// The app's client id (`auth = "app"`).
    pub client_id: Option<String>,
    /// Whose history to read with the app's credentials (`as` in the file).
    pub as_user: Option<String>,
}

/// The whole configuration, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from (or would have been, when missing).
    pub source: PathBuf,
    /// Whether that file exists.
    pub found: bool,
    /// The profile used when none is named and no `--api-url` is given.
    pub default_profile: Option<String>,
    /// Where saved tokens go.
    pub token_store: TokenStore,
    /// Profiles by name.
    pub profiles: BTreeMap<String, Profile>,
    /// Display settings.
    pub display: Display,
    /// Key bindings.
    pub keys: KeyBindings,
    /// Where downloads go (`downloads_dir`); `None`: the platform's download directory
    /// ([`crate::downloads::downloads_dir`]).
    pub downloads_dir: Option<PathBuf>,
}

/// Why the config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It exists but cannot be read.
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not valid TOML, or a key or value is wrong.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong, one line.
        message: String,
    },
}

/// A problem found while checking, at a place in the text.
pub(crate) struct Located {
    span: Range<usize>,
    message: String,
}

impl Located {
    pub(crate) fn new(span: Range<usize>, message: String) -> Located {
        Located { span, message }
    }
}

/// The file as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    default_profile: Option<Spanned<String>>,
    token_store: Option<TokenStore>,
    downloads_dir: Option<Spanned<String>>,
    #[serde(default)]
    profiles: BTreeMap<Spanned<String>, ProfileFile>,
    #[serde(default)]
    display: display::DisplayFile,
    #[serde(default)]
    keys: BTreeMap<Spanned<String>, keys::KeysFile>,
}

/// One profile as written. `password` and `token` are read only to be refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    api_url: Option<Spanned<String>>,
    appkey: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    auth: Option<AuthMethod>,
    client_id: Option<Spanned<String>>,
    #[serde(rename = "as")]
    as_user: Option<Spanned<String>>,
    password: Option<Spanned<toml::Value>>,
    token: Option<Spanned<toml::Value>>,
    client_secret: Option<Spanned<toml::Value>>,
}

impl Config {
    /// Reads the config file where [`paths::config_file`] says it is.
    pub fn load() -> Result<Config, ConfigError> {
        Config::load_from(&paths::config_file())
    }

    /// Reads `path`; a missing file is the empty configuration.
    pub fn load_from(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config {
                source: path.to_path_buf(),
                ..Config::default()
            }),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses and checks `text`, read from `path` (named in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |span: Option<Range<usize>>, message: &str| {
            let (line, column) = span.map_or((1, 1), |s| line_and_column(text, s.start));
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: one_line(message),
            }
        };
        let file: ConfigFile = toml::from_str(text).map_err(|e| invalid(e.span(), e.message()))?;
        let checked = check(file).map_err(|e| invalid(Some(e.span), &e.message))?;
        Ok(Config {
            source: path.to_path_buf(),
            found: true,
            ..checked
        })
    }

    /// A profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// The configuration as TOML, as `roam config` prints it: what is set, in the file's
    /// own syntax (it holds no secret to redact: secrets never enter it).
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let quoted = |s: &str| toml::Value::String(s.to_string()).to_string();
        if let Some(name) = &self.default_profile {
            let _ = writeln!(out, "default_profile = {}", quoted(name));
        }
        let _ = writeln!(out, "token_store = {}", quoted(self.token_store.name()));
        if let Some(dir) = &self.downloads_dir {
            let _ = writeln!(
                out,
                "downloads_dir = {}",
                quoted(&dir.display().to_string())
            );
        }
        for (name, p) in &self.profiles {
            let _ = writeln!(out, "\n[profiles.{}]", key(name));
            for (field, value) in [
                ("api_url", &p.api_url),
                ("appkey", &p.appkey),
                ("user", &p.user),
            ] {
                if let Some(value) = value {
                    let _ = writeln!(out, "{field} = {}", quoted(value));
                }
            }
            let _ = writeln!(out, "auth = {}", quoted(p.auth.name()));
            for (field, value) in [("client_id", &p.client_id), ("as", &p.as_user)] {
                if let Some(value) = value {
                    let _ = writeln!(out, "{field} = {}", quoted(value));
                }
            }
        }
        let d = &self.display;
        let mut display = String::new();
        if let Some(format) = &d.time_format {
            let _ = writeln!(display, "time_format = {}", quoted(format));
        }
        if let Some(zone) = &d.time_zone {
            let _ = writeln!(display, "time_zone = {}", quoted(zone.name()));
        }
        if let Some(interval) = d.refresh_interval {
            let _ = writeln!(display, "refresh_interval = {}", interval.as_secs());
        }
        if let Some(width) = d.list_width {
            let _ = writeln!(display, "list_width = {width}");
        }
        if let Some(layout) = d.layout {
            let _ = writeln!(display, "layout = {}", quoted(layout.name()));
        }
        if let Some(images) = d.images {
            let _ = writeln!(display, "images = {}", quoted(images.name()));
        }
        if !display.is_empty() {
            let _ = write!(out, "\n[display]\n{display}");
        }
        let c = &d.colors;
        let mut colors = String::new();
        for (role, color) in [
            ("accent", c.accent),
            ("muted", c.muted),
            ("selection", c.selection),
            ("error", c.error),
            ("search_match", c.search_match),
        ] {
            if let Some(color) = color {
                let _ = writeln!(colors, "{role} = {}", quoted(&color.to_string()));
            }
        }
        if let Some(senders) = &c.senders {
            let list: Vec<String> = senders.iter().map(|s| quoted(&s.to_string())).collect();
            let _ = writeln!(colors, "senders = [{}]", list.join(", "));
        }
        if !colors.is_empty() {
            let _ = write!(out, "\n[display.colors]\n{colors}");
        }
        if !self.keys.is_empty() {
            out.push_str("\n[keys]\n");
            for (action, keys) in self.keys.iter() {
                let list: Vec<String> = keys.iter().map(|k| quoted(&k.to_string())).collect();
                let _ = writeln!(out, "{action} = [{}]", list.join(", "));
            }
        }
        out
    }
}

/// A table key, quoted when it is not a bare key.
fn key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        toml::Value::String(name.to_string()).to_string()
    }
}

/// Checks the file's values; the result lacks only its source.
fn check(file: ConfigFile) -> Result<Config, Located> {
    let mut profiles = BTreeMap::new();
    for (name, p) in file.profiles {
        let profile = check_profile(&name, p)?;
        profiles.insert(name.into_inner(), profile);
    }
    let default_profile = match file.default_profile {
        Some(name) if !profiles.contains_key(name.get_ref()) => {
            let known: Vec<&str> = profiles.keys().map(String::as_str).collect();
            return Err(Located::new(
                name.span(),
                format!(
                    "default_profile {:?} is not a profile here ({})",
                    name.get_ref(),
                    if known.is_empty() {
                        "there are none".to_string()
                    } else {
                        format!("profiles: {}", known.join(", "))
                    }
                ),
            ));
        }
        other => other.map(Spanned::into_inner),
    };
    Ok(Config {
        source: PathBuf::new(),
        found: true,
        default_profile,
        token_store: file.token_store.unwrap_or_default(),
        profiles,
        display: Display::from_file(file.display)?,
        keys: KeyBindings::from_file(file.keys)?,
        downloads_dir: file.downloads_dir.map(check_downloads_dir).transpose()?,
    })
}

/// `downloads_dir`: an absolute path, or one starting with `~/` (the home directory).
fn check_downloads_dir(dir: Spanned<String>) -> Result<PathBuf, Located> {
    let text = dir.get_ref();
    let path = match text.strip_prefix("~/") {
        Some(rest) => dirs::home_dir().map(|home| home.join(rest)),
        None => Some(PathBuf::from(text)),
    };
    match path {
        Some(path) if path.is_absolute() => Ok(path),
        _ => Err(Located::new(
            dir.span(),
            "downloads_dir must be an absolute path or start with ~/".to_string(),
        )),
    }
}

fn check_profile(name: &Spanned<String>, p: ProfileFile) -> Result<Profile, Located> {
    for (secret, instead) in [
        (&p.password, "ROAM_PASSWORD, the prompt, or `roam login`"),
        (&p.token, "ROAM_TOKEN or `roam login`"),
        (&p.client_secret, "ROAM_CLIENT_SECRET or the prompt"),
    ] {
        if let Some(value) = secret {
            return Err(Located::new(
                value.span(),
                format!("secrets are never kept in the config file: use {instead}"),
            ));
        }
    }
    if name.get_ref().is_empty() || name.get_ref().len() > 64 {
        return Err(Located::new(
            name.span(),
            "a profile name is 1 to 64 characters".into(),
        ));
    }
    let api_url = p
        .api_url
        .map(|url| {
            let text = url.get_ref().trim().to_string();
            match reqwest::Url::parse(&text) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(text),
                _ => Err(Located::new(
                    url.span(),
                    format!("api_url {text:?} is not an http:// or https:// URL"),
                )),
            }
        })
        .transpose()?;
    let appkey = p
        .appkey
        .map(|key| {
            let text = key.get_ref().trim();
            match text.split_once('#') {
                Some((org, app)) if ids::is_id(org) && ids::is_id(app) => Ok(text.to_string()),
                _ => Err(Located::new(
                    key.span(),
                    format!("appkey {text:?} is not org#app"),
                )),
            }
        })
        .transpose()?;
    let id = |field: &str, value: Option<Spanned<String>>| {
        value
            .map(|v| {
                ids::check(v.get_ref().trim())
                    .map_err(|e| Located::new(v.span(), format!("{field}: {e}")))
            })
            .transpose()
    };
    let user = id("user", p.user)?;
    let as_user = id("as", p.as_user)?;
    let client_id = p
        .client_id
        .map(|c| c.into_inner().trim().to_string())
        .filter(|c| !c.is_empty());
    Ok(Profile {
        api_url,
        appkey,
        user,
        auth: p.auth.unwrap_or_default(),
        client_id,
        as_user,
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// toml's messages may span lines; a person reads one.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_from_one_in_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        assert_eq!(line_and_column(text, text.find('=').unwrap()), (1, 3));
        assert_eq!(line_and_column(text, text.rfind('=').unwrap()), (2, 4));
        assert_eq!(line_and_column(text, 1000), (3, 1));
    }
}
