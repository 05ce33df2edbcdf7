//! A throwaway PostgreSQL cluster for the tests of one test binary.
//!
//! When the server binaries are present (`ROAM_PG_BIN`, else the newest
//! `/usr/lib/postgresql/N/bin`, else `initdb` on the `PATH`), the first test that asks
//! starts a cluster in a temporary directory: listening on a free loopback port only, its
//! socket in that directory, run by a non-root user (`initdb` refuses root: as root, the
//! cluster belongs to the `postgres` account and its commands go through `runuser`). The
//! superuser logs in over TCP with a random password, so the tests exercise password
//! handling. Each test gets a database of its own ([`database`]).
//!
//! A watchdog process stops the cluster and removes its directory when the test binary
//! exits, however it exits: statics are never dropped.
//!
//! Without the binaries, [`database`] returns `None` and the binary says once, on the real
//! standard error (not the captured one), that its PostgreSQL tests were skipped; with
//! `ROAM_REQUIRE_POSTGRES=1` it panics instead, so CI cannot skip them unnoticed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A running cluster.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    password: String,
    /// The account that owns the cluster when the tests run as root.
    run_as: Option<String>,
}

impl Cluster {
    /// The URL of database `db` (superuser, password included).
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{db}",
            self.password, self.port
        )
    }

    /// The URL of database `db` without the password (for tests of PGPASSWORD, .pgpass).
    pub fn url_without_password(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new, empty database; its name starts with `hint`.
    pub fn create_database(&self, hint: &str) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let clean: String = hint
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect::<String>()
            .to_ascii_lowercase();
        let name = format!("t{}_{clean}", NEXT.fetch_add(1, Ordering::Relaxed));
        let socket = self.dir.to_string_lossy().into_owned();
        let port = self.port.to_string();
        let status = self
            .command("createdb")
            .args(["-h", &socket, "-p", &port, "-U", "postgres", &name])
            .status()
            .expect("createdb runs");
        assert!(status.success(), "createdb {name}: {status}");
        name
    }

    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

/// The shared cluster and a new database in it, as a URL with the password; `None` (after
/// saying so once) when PostgreSQL is not installed.
pub fn database(hint: &str) -> Option<(&'static Cluster, String)> {
    let cluster = cluster()?;
    let name = cluster.create_database(hint);
    let url = cluster.url(&name);
    Some((cluster, url))
}

/// A plain client of the test's own, for looking behind the store's back.
pub async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("raw connect");
    tokio::spawn(conn);
    client
}

/// The one cluster of this test binary, started on first use.
pub fn cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            let required = std::env::var("ROAM_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
            match start() {
                Ok(cluster) => Some(cluster),
                Err(why) if required => {
                    panic!("ROAM_REQUIRE_POSTGRES=1 but no PostgreSQL cluster: {why}")
                }
                Err(why) => {
                    // The real stderr: a passing test's captured output is never shown.
                    let _ = writeln!(
                        std::io::stderr(),
                        "\nNOTE: the PostgreSQL tests of this binary were SKIPPED ({why}); \
                         install PostgreSQL (Debian: apt-get install postgresql) to run them, \
                         ROAM_REQUIRE_POSTGRES=1 makes them mandatory\n"
                    );
                    None
                }
            }
        })
        .as_ref()
}

/// Where the server binaries are. `ROAM_PG_BIN` wins when set, even when it holds no
/// `initdb` (so `ROAM_PG_BIN=/nonexistent` hides PostgreSQL, to see the skip).
fn find_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("ROAM_PG_BIN") {
        let dir = PathBuf::from(dir);
        if !dir.join("initdb").is_file() {
            return Err(format!("no initdb in ROAM_PG_BIN={}", dir.display()));
        }
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((n, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .find(|p| p.join("initdb").is_file() && p.join("pg_ctl").is_file())
        })
        .ok_or_else(|| "no initdb: not in ROAM_PG_BIN, /usr/lib/postgresql or PATH".into())
}

fn start() -> Result<Cluster, String> {
    let bin = find_bin()?;
    let root = rustix::process::geteuid().is_root();
    let run_as = root.then(|| "postgres".to_string());
    let dir = tempfile::Builder::new()
        .prefix("roam-pg-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?
        .keep();
    let password: String = (0..24)
        .map(|_| char::from(b'a' + rand_byte() % 26))
        .collect();
    let cluster = Cluster {
        bin,
        dir,
        port: free_port()?,
        password,
        run_as,
    };
    if let Some(user) = &cluster.run_as {
        let status = Command::new("chown")
            .args(["-R", user])
            .arg(&cluster.dir)
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !status.success() {
            return Err(format!("chown {user} {}: {status}", cluster.dir.display()));
        }
    }
    watch(&cluster)?;
    let data = cluster.dir.join("data");
    let pwfile = cluster.dir.join("pw");
    std::fs::write(&pwfile, &cluster.password).map_err(|e| format!("pwfile: {e}"))?;
    if let Some(user) = &cluster.run_as {
        let _ = Command::new("chown").arg(user).arg(&pwfile).status();
    }
    run(cluster
        .command("initdb")
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "-E", "UTF8", "--locale=C"])
        .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
        .arg(format!("--pwfile={}", pwfile.display())))?;
    let options = format!(
        "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        cluster.port,
        cluster.dir.display()
    );
    run(cluster
        .command("pg_ctl")
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(cluster.dir.join("log"))
        .args(["-o", &options, "-w", "start"]))?;
    Ok(cluster)
}

/// Runs a setup command, its output kept for the error.
fn run(command: &mut Command) -> Result<(), String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Starts the watchdog: a shell that waits for this process to end, then stops the
/// cluster at once and removes its directory.
fn watch(cluster: &Cluster) -> Result<(), String> {
    let pg_ctl = cluster.bin.join("pg_ctl");
    let stop = match &cluster.run_as {
        Some(user) => format!("runuser -u {user} -- '{}'", pg_ctl.display()),
        None => format!("'{}'", pg_ctl.display()),
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {stop} -D '{dir}/data' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = quoted(&cluster.dir)?,
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("watchdog: {e}"))?;
    Ok(())
}

/// A path safe inside single quotes (temp dirs never hold quotes; refuse if one does).
fn quoted(path: &Path) -> Result<String, String> {
    let text = path.to_string_lossy().into_owned();
    if text.contains('\'') {
        return Err(format!("temp dir {text:?} holds a quote"));
    }
    Ok(text)
}

/// A loopback port nobody listens on now.
fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}

fn rand_byte() -> u8 {
    rand::random()
}

/// A cluster of the caller's own, apart from the shared one of [`cluster`] (for tests
/// that change the server, such as turning TLS on); `None` when PostgreSQL is not
/// installed, as [`cluster`] (a panic under `ROAM_REQUIRE_POSTGRES=1`).
pub fn own_cluster() -> Option<Cluster> {
    match start() {
        Ok(cluster) => Some(cluster),
        Err(why) if std::env::var("ROAM_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!("ROAM_REQUIRE_POSTGRES=1 but no PostgreSQL cluster: {why}")
        }
        Err(why) => {
            let _ = writeln!(
                std::io::stderr(),
                "\nNOTE: a PostgreSQL test cluster of this binary was not started ({why}): \
                 its tests are SKIPPED\n"
            );
            None
        }
    }
}

impl Cluster {
    /// Turns TLS on with this server certificate and key (PEM): the files go in the
    /// cluster's directory, owned by the cluster's account and private (PostgreSQL refuses
    /// a key others may read); `ssl = on` is set and the configuration reloaded. Returns
    /// once the server says `ssl` is on.
    pub fn enable_tls(&self, cert_pem: &str, key_pem: &str) -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt;
        let cert = self.dir.join("server.crt");
        let key = self.dir.join("server.key");
        for (path, text) in [(&cert, cert_pem), (&key, key_pem)] {
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("chmod {}: {e}", path.display()))?;
            if let Some(user) = &self.run_as {
                run(Command::new("chown").arg(user).arg(path))?;
            }
        }
        let conf = self.dir.join("data").join("postgresql.conf");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(|e| format!("{}: {e}", conf.display()))?;
        writeln!(
            file,
            "\nssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'",
            quoted(&cert)?,
            quoted(&key)?
        )
        .map_err(|e| format!("{}: {e}", conf.display()))?;
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("reload"))?;
        // A reload is a signal: wait until the server has read it.
        let socket = self.dir.to_string_lossy().into_owned();
        let port = self.port.to_string();
        for _ in 0..100 {
            let out = self
                .command("psql")
                .args([
                    "-h", &socket, "-p", &port, "-U", "postgres", "-d", "postgres",
                ])
                .args(["-Atc", "SHOW ssl"])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("psql: {e}"))?;
            if String::from_utf8_lossy(&out.stdout).trim() == "on" {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        Err(format!(
            "ssl is still off after the reload; server log:\n{log}"
        ))
    }
}
