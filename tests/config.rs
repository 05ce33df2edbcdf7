//! The config file: profiles, display settings and key bindings parse; every bad file is
//! one clear error naming the file, line and column.

use std::path::Path;
use std::time::Duration;

use roam::config::{AuthMethod, Config, ConfigError, TokenStore, Zone};

const GOOD: &str = r##"
# which profile runs when none is named
default_profile = "demo"
token_store = "file"

[profiles.demo]
api_url = "http://127.0.0.1:5280"
appkey = "roam#demo"
user = "Demo"

[profiles.prod]
api_url = "https://a1.easemob.com"
appkey = "acme#chatapp"
user = "alice"
auth = "token"

[profiles."ops desk"]
api_url = "https://a1.easemob.com"
appkey = "acme#chatapp"
auth = "app"
client_id = "YXA6abc"
as = "li.wei"

[display]
time_format = "%d.%m.%Y %H:%M"
time_zone = "Asia/Shanghai"
refresh_interval = 60
list_width = 40

[display.colors]
accent = "light-blue"
selection = "#ffcc00"
senders = ["cyan", "green", "214"]

[keys]
quit = ["q", "ctrl-c"]
search = "/"
"##;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/roam/config.toml"))
}

/// The error of a bad file as one line, checked to name the file, `line` and a column.
fn error_at(text: &str, line: usize) -> String {
    let error = parse(text).expect_err("a bad file is refused");
    let shown = error.to_string();
    match &error {
        ConfigError::Invalid {
            line: at, column, ..
        } => {
            assert_eq!(*at, line, "{shown}");
            assert!(*column >= 1, "{shown}");
        }
        other => panic!("not an invalid-file error: {other}"),
    }
    assert!(
        shown.starts_with(&format!("/etc/roam/config.toml:{line}:")),
        "{shown}"
    );
    assert!(!shown.contains('\n'), "one line: {shown:?}");
    shown
}

#[test]
fn a_good_file_parses_into_profiles_display_settings_and_keys() {
    let config = parse(GOOD).expect("parses");
    assert!(config.found);
    assert_eq!(config.default_profile.as_deref(), Some("demo"));
    assert_eq!(config.token_store, TokenStore::File);
    let demo = config.profile("demo").expect("demo");
    assert_eq!(demo.api_url.as_deref(), Some("http://127.0.0.1:5280"));
    assert_eq!(demo.user.as_deref(), Some("demo"), "ids are lowercased");
    assert_eq!(demo.auth, AuthMethod::Password, "the default");
    assert_eq!(
        config.profile("prod").expect("prod").auth,
        AuthMethod::Token
    );
    let ops = config.profile("ops desk").expect("quoted names");
    assert_eq!(ops.auth, AuthMethod::App);
    assert_eq!(ops.as_user.as_deref(), Some("li.wei"));
    let d = &config.display;
    assert_eq!(d.time_format.as_deref(), Some("%d.%m.%Y %H:%M"));
    assert_eq!(d.time_zone, Some(Zone::Named("Asia/Shanghai".into())));
    assert_eq!(d.refresh_interval, Some(Duration::from_secs(60)));
    assert_eq!(d.list_width, Some(40));
    assert_eq!(d.colors.senders.as_ref().map(Vec::len), Some(3));
    let quit: Vec<String> = config
        .keys
        .keys("quit")
        .expect("quit is bound")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(quit, ["q", "Ctrl-c"]);
    assert_eq!(config.keys.keys("search").map(<[_]>::len), Some(1));
}

#[test]
fn what_roam_config_prints_reads_back_as_the_same_configuration() {
    let config = parse(GOOD).expect("parses");
    let printed = config.to_toml();
    let again = parse(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
    assert_eq!(again, config);
}

#[test]
fn an_empty_or_missing_file_is_the_empty_configuration() {
    let config = parse("").expect("empty");
    assert!(config.profiles.is_empty() && config.keys.is_empty());
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("nope.toml");
    let config = Config::load_from(&missing).expect("missing is fine");
    assert!(!config.found);
    assert_eq!(config.source, missing);
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let shown = error_at("token_store = \"file\"\n\n[display]\ncolour = \"red\"\n", 4);
    assert!(shown.contains("colour"), "{shown}");
    let shown = error_at(
        "[profiles.prod]\napi_url = \"https://x.example\"\napi_key = \"a#b\"\n",
        3,
    );
    assert!(shown.contains("api_key"), "{shown}");
    let shown = error_at("\n\nthemes = 1\n", 3);
    assert!(shown.contains("themes"), "{shown}");
}

#[test]
fn broken_toml_is_named_with_its_line() {
    error_at("[profiles.prod]\napi_url = \"https://x.example\n", 2);
    error_at("a = = 1\n", 1);
}

#[test]
fn wrong_types_and_values_that_cannot_work_are_named_with_their_line() {
    for (text, line, needle) in [
        ("[profiles.p]\nauth = \"kerberos\"\n", 2, "kerberos"),
        ("[profiles.p]\napi_url = \"ftp://x\"\n", 2, "api_url"),
        ("[profiles.p]\nappkey = \"acme\"\n", 2, "org#app"),
        ("[profiles.p]\nuser = \"a/b\"\n", 2, "user"),
        ("[profiles.p]\nuser = 7\n", 2, "string"),
        ("default_profile = \"prod\"\n", 1, "prod"),
        ("token_store = \"cloud\"\n", 1, "cloud"),
        (
            "[display]\ntime_zone = \"Mars/Olympus\"\n",
            2,
            "Mars/Olympus",
        ),
        ("[display]\ntime_format = \"%K\"\n", 2, "time_format"),
        ("[display]\nlist_width = 5\n", 2, "list_width"),
        ("[display]\nrefresh_interval = -1\n", 2, "refresh_interval"),
        (
            "[display.colors]\naccent = \"ultraviolet\"\n",
            2,
            "ultraviolet",
        ),
        ("[display.colors]\nsenders = []\n", 2, "senders"),
        ("[keys]\nquit = \"hyper-q\"\n", 2, "hyper-q"),
        ("[keys]\nQuit = \"q\"\n", 2, "action"),
        ("[keys]\nteleport = \"t\"\n", 2, "teleport"),
        ("[keys]\nquit = []\n", 2, "quit"),
        ("[keys]\nquit = \"q\"\nsearch = [\"/\", \"q\"]\n", 3, "both"),
    ] {
        let shown = error_at(text, line);
        assert!(shown.contains(needle), "{needle:?} not in {shown}");
    }
}

#[test]
fn secrets_in_the_file_are_refused_with_where_they_go_instead() {
    let shown = error_at(
        "[profiles.prod]\nuser = \"alice\"\npassword = \"hunter2\"\n",
        3,
    );
    assert!(shown.contains("ROAM_PASSWORD"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let shown = error_at("[profiles.prod]\ntoken = \"YWMt-secret\"\n", 2);
    assert!(
        shown.contains("ROAM_TOKEN") && !shown.contains("YWMt"),
        "{shown}"
    );
}

#[test]
fn the_shipped_example_config_parses() {
    let example = include_str!("../assets/config.example.toml");
    let config = parse(example).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.default_profile, None, "the demo stays the default");
    let demo = config.profile("demo").expect("a demo profile");
    assert_eq!(demo.appkey.as_deref(), Some("roam#demo"));
    assert_eq!(demo.user.as_deref(), Some("demo"));
}

// ---------------------------------------------------------------------------------------
// Profiles, `roam login`, saved tokens and `roam config`: the real binary against roam's
// own server over loopback
// ---------------------------------------------------------------------------------------

mod common;

use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use roam::server::{ServerConfig, ServerHandle, spawn};
use roam::store::{Store, StorePool};

const APPKEY: &str = "acme#chatapp";
const PASSWORD: &str = "pw-alice-7f3e";

/// A server with alice (and her chat with bob) and a folder for roam's config and data.
struct Deployment {
    /// Serves for as long as the test holds it.
    _server: ServerHandle,
    dir: tempfile::TempDir,
}

async fn deployment(token_ttl: Duration) -> Deployment {
    let mut store = Store::open_in_memory().expect("store");
    store
        .insert_messages(&common::alice_bob(6))
        .expect("messages");
    store.set_password("alice", PASSWORD).expect("alice");
    let config = ServerConfig {
        token_ttl,
        ..ServerConfig::new(APPKEY)
    };
    let server = spawn(Arc::new(StorePool::single(store)), config, None)
        .await
        .expect("server");
    let dir = tempfile::tempdir().expect("dir");
    let text = format!(
        "token_store = \"file\"\n\n[profiles.local]\napi_url = \"{}\"\nappkey = \"{APPKEY}\"\nuser = \"alice\"\n",
        server.base_url()
    );
    std::fs::write(dir.path().join("config.toml"), text).expect("config");
    Deployment {
        _server: server,
        dir,
    }
}

impl Deployment {
    fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    /// The one token file of the data directory, if there is one.
    fn token_file(&self) -> Option<std::path::PathBuf> {
        let dir = self.data_dir().join("tokens");
        let files: Vec<_> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        assert!(files.len() <= 1, "{files:?}");
        files.into_iter().next()
    }

    /// Runs roam with this folder's config and data directory, and `password` (if any) in
    /// ROAM_PASSWORD. There is never a terminal to prompt on: without a password, a login
    /// fails rather than waits.
    async fn roam(&self, args: &[&str], password: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_roam"));
        cmd.args(args)
            .env("ROAM_CONFIG", self.dir.path().join("config.toml"))
            .env("ROAM_DATA_DIR", self.data_dir())
            .env("ROAM_CACHE_DIR", self.dir.path().join("cache"))
            .env_remove("ROAM_TOKEN")
            .env_remove("ROAM_PASSWORD")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(password) = password {
            cmd.env("ROAM_PASSWORD", password);
        }
        tokio::task::spawn_blocking(move || cmd.output().expect("roam runs"))
            .await
            .expect("runner")
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(o.status.success(), "exit {:?}: {}", o.status, stderr(o));
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_saves_a_private_token_that_later_runs_use_without_a_password() {
    let d = deployment(Duration::from_secs(24 * 3600)).await;
    let o = d.roam(&["login", "-p", "local"], Some(PASSWORD)).await;
    assert_ok(&o);
    let err = stderr(&o);
    assert!(err.contains("logged in as alice"), "{err}");
    let file = d.token_file().expect("a token file");
    assert!(err.contains(&file.display().to_string()), "{err}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&file), 0o600, "the token file is private");
        assert_eq!(mode(file.parent().expect("dir")), 0o700);
    }
    let saved = std::fs::read_to_string(&file).expect("read");
    assert!(!saved.contains(PASSWORD), "a password is never written");
    assert!(saved.contains("access_token"), "{saved}");
    assert!(!err.contains(PASSWORD));

    // A wrong password in the environment proves the token is what logs in now.
    for args in [
        &["conversations", "-p", "local"][..],
        &["--profile", "local", "history", "bob"],
    ] {
        let o = d.roam(args, Some("not-the-password")).await;
        assert_ok(&o);
        assert!(!stdout(&o).is_empty(), "{args:?}");
    }

    // `roam config` says where the token is, never what it is.
    let token = serde_json::from_str::<serde_json::Value>(&saved).expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let o = d.roam(&["config", "-p", "local"], None).await;
    assert_ok(&o);
    let out = stdout(&o);
    assert!(out.contains("config.toml"), "{out}");
    assert!(out.contains("saved token: <redacted>"), "{out}");
    assert!(out.contains("valid until"), "{out}");
    assert!(!out.contains(&token) && !stderr(&o).contains(&token));

    // After logout the token is gone: a wrong password fails again.
    let o = d.roam(&["logout", "-p", "local"], None).await;
    assert_ok(&o);
    assert!(
        stderr(&o).contains("deleted the saved token"),
        "{}",
        stderr(&o)
    );
    assert!(d.token_file().is_none());
    let o = d
        .roam(&["conversations", "-p", "local"], Some("nope"))
        .await;
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("invalid username or password"),
        "{}",
        stderr(&o)
    );
    let o = d.roam(&["logout", "-p", "local"], None).await;
    assert_ok(&o);
    assert!(stderr(&o).contains("no saved token"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_near_its_expiry_is_not_used_and_the_new_login_replaces_it() {
    // Tokens live a minute: within the reuse margin from the start.
    let d = deployment(Duration::from_secs(60)).await;
    assert_ok(&d.roam(&["login", "-p", "local"], Some(PASSWORD)).await);
    let first = std::fs::read_to_string(d.token_file().expect("saved")).expect("read");
    let o = d
        .roam(&["conversations", "-p", "local"], Some("wrong"))
        .await;
    assert!(!o.status.success(), "an expiring token is not reused");
    assert!(stderr(&o).contains("login failed"), "{}", stderr(&o));
    let o = d
        .roam(&["conversations", "-p", "local"], Some(PASSWORD))
        .await;
    assert_ok(&o);
    let second = std::fs::read_to_string(d.token_file().expect("saved")).expect("read");
    assert_ne!(first, second, "the new token replaced the old one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_server_refuses_is_deleted_and_the_password_logs_in() {
    let d = deployment(Duration::from_secs(24 * 3600)).await;
    assert_ok(&d.roam(&["login", "-p", "local"], Some(PASSWORD)).await);
    let file = d.token_file().expect("saved");
    let text = std::fs::read_to_string(&file).expect("read");
    let mut record: serde_json::Value = serde_json::from_str(&text).expect("json");
    record["access_token"] = "YWMt-revoked".into();
    std::fs::write(&file, record.to_string()).expect("write");
    let o = d
        .roam(&["conversations", "-p", "local"], Some(PASSWORD))
        .await;
    assert_ok(&o);
    let now = std::fs::read_to_string(&file).expect("a new token was saved");
    assert!(!now.contains("YWMt-revoked"));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let d = deployment(Duration::from_secs(24 * 3600)).await;
    assert_ok(&d.roam(&["login", "-p", "local"], Some(PASSWORD)).await);
    let file = d.token_file().expect("saved");
    let token =
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&file).expect("read"))
            .expect("json")["access_token"]
            .as_str()
            .expect("token")
            .to_string();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = d
        .roam(&["conversations", "-p", "local"], Some(PASSWORD))
        .await;
    assert!(!o.status.success(), "a readable token file is refused");
    let err = stderr(&o);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(
        err.contains("mode 644") && err.contains("roam logout"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains(&token) && !stdout(&o).contains(&token));
    // `roam logout` still clears it.
    assert_ok(&d.roam(&["logout", "-p", "local"], None).await);
    assert!(d.token_file().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_file_stops_roam_with_its_line() {
    let d = deployment(Duration::from_secs(3600)).await;
    let good = std::fs::read_to_string(d.dir.path().join("config.toml")).expect("read");
    std::fs::write(
        d.dir.path().join("config.toml"),
        "token_store = \"file\"\n\n[display]\ncolour = \"red\"\n",
    )
    .expect("write");
    let o = d.roam(&["conversations"], None).await;
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.starts_with("roam: "), "{err}");
    assert!(
        err.contains("config.toml:4:") && err.contains("colour"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::write(d.dir.path().join("config.toml"), good).expect("write");
    let o = d.roam(&["-p", "nowhere", "conversations"], None).await;
    assert!(
        stderr(&o).contains("no profile \"nowhere\""),
        "{}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_profile_without_a_token_says_how_to_get_one() {
    let d = deployment(Duration::from_secs(3600)).await;
    let path = d.dir.path().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("read") + "auth = \"token\"\n";
    std::fs::write(&path, text).expect("write");
    let o = d
        .roam(&["conversations", "-p", "local"], Some(PASSWORD))
        .await;
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("ROAM_TOKEN") && err.contains("roam login --profile local"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_zone_and_time_format_write_the_cli_times() {
    let d = deployment(Duration::from_secs(3600)).await;
    let path = d.dir.path().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("read")
        + "\n[display]\ntime_zone = \"Asia/Tokyo\"\ntime_format = \"%Y/%m/%d %H:%M:%S\"\n";
    std::fs::write(&path, text).expect("write");
    // alice and bob's first message: 1_700_000_000_000 ms, 2023-11-14 22:13:20 UTC.
    let o = d
        .roam(
            &[
                "history",
                "bob",
                "-p",
                "local",
                "--direction",
                "down",
                "--limit",
                "1",
            ],
            Some(PASSWORD),
        )
        .await;
    assert_ok(&o);
    assert!(
        stdout(&o).contains("  2023/11/15 07:13:20  "),
        "{}",
        stdout(&o)
    );
    let o = d
        .roam(&["conversations", "-p", "local"], Some(PASSWORD))
        .await;
    assert_ok(&o);
    assert!(stdout(&o).contains(" 2023/11/15 07:13:"), "{}", stdout(&o));
}
