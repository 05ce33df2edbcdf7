//! Which PostgreSQL database a `--db postgres://...` names, and with which password.
//!
//! The URL is libpq's (`postgres://user[:password]@host[:port]/dbname[?param=value]`).
//! `tokio-postgres` reads only the URL, so the environment libpq users expect is applied
//! here, at the edge: a missing user is `PGUSER`, then the login name; a missing password
//! is `PGPASSWORD`, then the first matching line of the password file (`PGPASSFILE`, else
//! `~/.pgpass`, ignored unless readable by its owner only, as libpq does).
//!
//! TLS settings are libpq's too: `sslmode` and `sslrootcert` in the URL's query, else
//! `PGSSLMODE` and `PGSSLROOTCERT`. tokio-postgres knows only three of libpq's modes and
//! no CA file, so both are taken out of the URL here and handled by [`super::tls`].
//!
//! The password never leaves this module in text: [`PgTarget`] shows host, port, database
//! and user only, and an unreadable URL is reported without quoting it.

use std::path::{Path, PathBuf};

use super::tls::{SslMode, TlsError, TlsSettings};

/// Why a database URL cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Not a URL tokio-postgres reads (the URL itself is not quoted: it may hold a password).
    #[error("the database URL is not a valid postgres:// URL (not shown: it may hold a password)")]
    BadUrl,
    /// No user in the URL, `PGUSER` or the login name.
    #[error("the database URL names no user, and neither PGUSER nor USER is set")]
    NoUser,
    /// The TLS settings cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// A PostgreSQL database to connect to, password resolved; `Display` and `Debug` never
/// show the password.
#[derive(Clone)]
pub struct PgTarget {
    config: tokio_postgres::Config,
    tls: TlsSettings,
}

/// Whether `--db` names PostgreSQL rather than a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

impl PgTarget {
    /// Reads a URL, completed from the process environment and password file.
    pub fn from_url(url: &str) -> Result<PgTarget, TargetError> {
        PgTarget::from_url_with(url, |name| std::env::var(name).ok(), dirs::home_dir())
    }

    /// [`PgTarget::from_url`] with the environment and home directory given (tests).
    pub fn from_url_with(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
        home: Option<PathBuf>,
    ) -> Result<PgTarget, TargetError> {
        let (url, ssl) = take_tls_params(url);
        let mut config: tokio_postgres::Config = url.parse().map_err(|_| TargetError::BadUrl)?;
        if config.get_user().is_none() {
            let user = env("PGUSER")
                .or_else(|| env("USER"))
                .filter(|u| !u.is_empty())
                .ok_or(TargetError::NoUser)?;
            config.user(user);
        }
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        if config.get_password().is_none() {
            let password = env("PGPASSWORD").filter(|p| !p.is_empty()).or_else(|| {
                let file = env("PGPASSFILE")
                    .map(PathBuf::from)
                    .or_else(|| home.as_ref().map(|h| h.join(".pgpass")))?;
                password_from_file(
                    &file,
                    &PgTarget {
                        config: config.clone(),
                        tls: TlsSettings::disabled(),
                    },
                )
            });
            if let Some(password) = password {
                config.password(password);
            }
        }
        let tls = if only_unix_sockets(&config) {
            // libpq: TLS is never used over a Unix socket, whatever sslmode says.
            TlsSettings::disabled()
        } else {
            let mode = match ssl.mode.or_else(|| env("PGSSLMODE")) {
                None => SslMode::Prefer,
                Some(text) => SslMode::parse(&text).ok_or(TlsError::BadMode(text))?,
            };
            let root_cert = ssl.root_cert.or_else(|| env("PGSSLROOTCERT"));
            TlsSettings::new(mode, root_cert.as_deref(), home.as_deref())?
        };
        config.ssl_mode(tls.mode().wire());
        Ok(PgTarget { config, tls })
    }

    /// The TLS settings: for the pool, and to tell what a connection insists on.
    pub fn tls(&self) -> &TlsSettings {
        &self.tls
    }

    /// The connection settings, password included: for the pool only.
    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The first host, as text (a socket directory for a Unix socket).
    pub fn host(&self) -> String {
        match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        }
    }

    /// The first port (5432 unless the URL says).
    pub fn port(&self) -> u16 {
        self.config.get_ports().first().copied().unwrap_or(5432)
    }

    /// The user.
    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or("")
    }

    /// The database name (the user's name unless the URL says, as libpq does).
    pub fn dbname(&self) -> &str {
        self.config.get_dbname().unwrap_or_else(|| self.user())
    }

    /// Whether a password was found (in the URL, the environment or the password file).
    pub fn has_password(&self) -> bool {
        self.config.get_password().is_some()
    }
}

impl std::fmt::Display for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "postgres://{}@{}:{}/{}",
            self.user(),
            self.host(),
            self.port(),
            self.dbname()
        )
    }
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgTarget({self})")
    }
}

/// The password of the first line of a password file that matches the target
/// (`host:port:database:user:password`, `*` matching anything, `\` escaping `:` and `\`).
/// A file others may read is ignored, as libpq ignores it.
fn password_from_file(file: &Path, target: &PgTarget) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %file.display(),
                "password file ignored: it must be readable by its owner only (chmod 0600)"
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(file).ok()?;
    let port = target.port().to_string();
    let wanted = [
        target.host(),
        port,
        target.dbname().to_string(),
        target.user().to_string(),
    ];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = split_fields(line);
            if fields.len() < 5 {
                return None;
            }
            let host_ok = |f: &str| {
                f == "*" || f == wanted[0] || (f == "localhost" && wanted[0] == "127.0.0.1")
            };
            let matches = host_ok(&fields[0])
                && fields[1..4]
                    .iter()
                    .zip(&wanted[1..])
                    .all(|(f, w)| f == "*" || f == w);
            matches.then(|| fields[4..].join(":"))
        })
}

/// The TLS parameters of a URL's query, taken out because tokio-postgres refuses them.
#[derive(Debug, Default, PartialEq, Eq)]
struct TlsParams {
    mode: Option<String>,
    root_cert: Option<String>,
}

/// The URL without its `sslmode` and `sslrootcert` parameters, and their (percent-decoded)
/// values; the rest of the URL is left exactly as written.
fn take_tls_params(url: &str) -> (String, TlsParams) {
    let mut params = TlsParams::default();
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), params);
    };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match percent_decode(key).as_str() {
            "sslmode" => params.mode = Some(percent_decode(value)),
            "sslrootcert" => params.root_cert = Some(percent_decode(value)),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, params)
}

/// `%XX` escapes decoded (as tokio-postgres decodes URL values; `+` stays a plus); a
/// broken escape is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether every host is a Unix socket directory (then TLS is never tried).
fn only_unix_sockets(config: &tokio_postgres::Config) -> bool {
    let hosts = config.get_hosts();
    #[cfg(unix)]
    let unix =
        |h: &tokio_postgres::config::Host| matches!(h, tokio_postgres::config::Host::Unix(_));
    #[cfg(not(unix))]
    let unix = |_: &tokio_postgres::config::Host| false;
    !hosts.is_empty() && hosts.iter().all(unix)
}

/// A password file line's fields: `:` separates, `\` escapes the next character.
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        }
    }

    #[test]
    fn only_postgres_urls_name_postgres() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("postgresql://u@h/db"));
        assert!(!is_postgres_url("roam.sqlite"));
        assert!(!is_postgres_url("/tmp/postgres://x"));
    }

    #[test]
    fn the_password_is_never_shown() {
        let t =
            PgTarget::from_url_with("postgres://ann:s3cret@db.example:6543/roam", env(&[]), None)
                .expect("url");
        assert!(t.has_password());
        for shown in [t.to_string(), format!("{t:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }
        assert_eq!(t.to_string(), "postgres://ann@db.example:6543/roam");
        let bad = PgTarget::from_url_with("postgres://ann:s3cret@[::1/roam", env(&[]), None);
        let text = bad.expect_err("bad url").to_string();
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn user_and_password_come_from_the_environment_when_the_url_has_none() {
        let vars = [("PGUSER", "ann"), ("PGPASSWORD", "pw"), ("USER", "root")];
        let t =
            PgTarget::from_url_with("postgres://localhost/roam", env(&vars), None).expect("url");
        assert_eq!(t.user(), "ann");
        assert_eq!(t.config().get_password(), Some(&b"pw"[..]));
        let t = PgTarget::from_url_with("postgres://localhost/roam", env(&[("USER", "bo")]), None)
            .expect("url");
        assert_eq!(t.user(), "bo");
        assert!(!t.has_password());
        let none = PgTarget::from_url_with("postgres://localhost/roam", env(&[]), None);
        assert!(matches!(none, Err(TargetError::NoUser)));
        // A password in the URL wins over the environment.
        let t = PgTarget::from_url_with("postgres://ann:url@localhost/roam", env(&vars), None)
            .expect("url");
        assert_eq!(t.config().get_password(), Some(&b"url"[..]));
    }

    #[cfg(unix)]
    #[test]
    fn the_password_file_is_read_when_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join(".pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:*:ann:no\nlocalhost:5433:roam:ann:wrong\n\
             localhost:5432:roam:ann:a\\:b\\\\c\n*:*:*:*:fallback\n",
        )
        .expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let home = Some(dir.path().to_path_buf());
        let t = PgTarget::from_url_with("postgres://ann@localhost/roam", env(&[]), home.clone())
            .expect("url");
        assert_eq!(t.config().get_password(), Some(&b"a:b\\c"[..]));
        let t = PgTarget::from_url_with("postgres://zed@localhost/x", env(&[]), home.clone())
            .expect("url");
        assert_eq!(t.config().get_password(), Some(&b"fallback"[..]));
        // PGPASSFILE names another file.
        let other = dir.path().join("pass");
        std::fs::write(&other, "*:*:*:*:other\n").expect("write");
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let path = other.display().to_string();
        let vars = [("PGPASSFILE", path.as_str())];
        let t = PgTarget::from_url_with("postgres://ann@localhost/roam", env(&vars), home.clone())
            .expect("url");
        assert_eq!(t.config().get_password(), Some(&b"other"[..]));
        // Readable by others: ignored.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let t =
            PgTarget::from_url_with("postgres://ann@localhost/roam", env(&[]), home).expect("url");
        assert!(!t.has_password());
    }

    #[test]
    fn tls_parameters_are_taken_out_of_the_url() {
        let (url, p) = take_tls_params(
            "postgres://a:b@h/db?application_name=x&sslmode=verify-full&sslrootcert=%2Ftmp%2Fca+1.pem",
        );
        assert_eq!(url, "postgres://a:b@h/db?application_name=x");
        assert_eq!(p.mode.as_deref(), Some("verify-full"));
        assert_eq!(p.root_cert.as_deref(), Some("/tmp/ca+1.pem"));
        let (url, p) = take_tls_params("postgres://h/db?sslmode=disable");
        assert_eq!(url, "postgres://h/db");
        assert_eq!(p.mode.as_deref(), Some("disable"));
        let (url, p) = take_tls_params("postgres://h/db");
        assert_eq!((url.as_str(), p), ("postgres://h/db", TlsParams::default()));
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn sslmode_comes_from_the_url_then_the_environment() {
        use tokio_postgres::config::SslMode as Wire;
        let t = PgTarget::from_url_with("postgres://ann@h/db", env(&[]), None).expect("url");
        assert_eq!(t.tls().mode(), SslMode::Prefer);
        assert_eq!(t.config().get_ssl_mode(), Wire::Prefer);
        let vars = [("PGSSLMODE", "disable")];
        let t = PgTarget::from_url_with("postgres://ann@h/db", env(&vars), None).expect("url");
        assert_eq!(t.tls().mode(), SslMode::Disable);
        assert_eq!(t.config().get_ssl_mode(), Wire::Disable);
        let t = PgTarget::from_url_with("postgres://ann@h/db?sslmode=verify-ca", env(&vars), None)
            .expect("url");
        assert_eq!(t.tls().mode(), SslMode::VerifyCa);
        assert_eq!(t.config().get_ssl_mode(), Wire::Require);
        let bad = PgTarget::from_url_with("postgres://ann:pw@h/db?sslmode=always", env(&[]), None);
        let text = bad.expect_err("bad mode").to_string();
        assert!(
            text.contains("\"always\"") && !text.contains("pw@"),
            "{text}"
        );
        // A CA file from the environment (missing here, so an error naming it).
        let vars = [("PGSSLROOTCERT", "/nonexistent/ca.pem")];
        let url = "postgres://ann@h/db?sslmode=verify-full";
        let err = PgTarget::from_url_with(url, env(&vars), None).expect_err("missing CA");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_unix_socket_never_uses_tls() {
        let url = "postgres://ann@%2Fvar%2Frun%2Fpostgresql/db?sslmode=verify-full";
        let t = PgTarget::from_url_with(url, env(&[]), None).expect("url");
        assert_eq!(t.tls().mode(), SslMode::Disable);
        assert_eq!(
            t.config().get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
    }
}
