//! Admin access (issue 8 point 2, PROTOCOL.md §8.2): an app's credentials obtain an app
//! token (`client_credentials`), which obtains any existing user's token (`inherit`), and
//! roam reads that user's history with it. Against the embedded server over loopback, and
//! the real binaries; refusals included, and no secret or token anywhere it can be seen.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::backends::{db_arg, each_backend, each_backend_blocking, fresh_db};
use common::{BASE_ID, line, text};
use roam::client::{AppAccess, Client, ClientConfig, Credential, IssuedToken, Secret};
use roam::protocol::ChatType;
use roam::server::{LoginLimits, ServerConfig, ServerHandle, spawn_over};
use roam::store::Db;
use roam::store::state::StateFile;
use serde_json::{Value, json};

const APPKEY: &str = "acme#chatapp";
const CLIENT_ID: &str = "YXA6adminapp";
const SECRET: &str = "app-secret-7f3c9d1e";

/// li.wei has history and a list but no password; demo logs in with one; the app is in
/// the state file.
fn state() -> StateFile {
    StateFile::parse(&format!(
        r#"{{"users":[{{"name":"demo","password":"pw-demo"}}],
            "conversations":[{{"user":"li.wei","id":"bob","type":"chat","unread":2}}],
            "apps":[{{"client_id":"{CLIENT_ID}","client_secret":"{SECRET}"}}]}}"#
    ))
    .expect("state")
}

fn messages() -> Vec<roam::protocol::Message> {
    (0..3)
        .map(|i| {
            text(
                BASE_ID + i,
                1_700_000_000_000 + i as i64,
                if i % 2 == 0 { "li.wei" } else { "bob" },
                if i % 2 == 0 { "bob" } else { "li.wei" },
                ChatType::Single,
                &format!("hello {i}"),
            )
        })
        .collect()
}

struct Fixture {
    server: ServerHandle,
    db: Db,
}

async fn start(config: ServerConfig) -> Fixture {
    let db = fresh_db("admin").await;
    db.insert_messages(&messages()).await.expect("insert");
    db.apply_state(&state()).await.expect("state");
    let server = spawn_over(db.clone(), config, None).await.expect("server");
    Fixture { server, db }
}

impl Fixture {
    /// POST /token with `body` and an optional bearer: status and JSON body.
    async fn token(&self, body: Value, bearer: Option<&str>) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}/acme/chatapp/token", self.server.base_url()))
            .json(&body);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.expect("token call");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    async fn get(&self, path: &str, bearer: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .get(format!("{}/acme/chatapp/{path}", self.server.base_url()))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("get");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    async fn app_token(&self) -> String {
        let (status, body) = self
            .token(
                json!({"grant_type":"client_credentials","client_id":CLIENT_ID,"client_secret":SECRET}),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().expect("a token").to_string()
    }

    async fn exists(&self, user: &str) -> bool {
        self.db.existing_user(user).await.expect("store").is_some()
    }
}

fn inherit(user: &str) -> Value {
    json!({"grant_type":"inherit","username":user,"autoCreateUser":false})
}

#[tokio::test]
async fn an_app_token_obtains_an_existing_users_token_and_is_no_users_token_itself() {
    each_backend(an_app_token_obtains_an_existing_users_token_and_is_no_users_token_itself_on)
        .await;
}

async fn an_app_token_obtains_an_existing_users_token_and_is_no_users_token_itself_on() {
    let f = start(ServerConfig::new(APPKEY)).await;
    let (status, body) = f
        .token(
            json!({"grant_type":"client_credentials","client_id":CLIENT_ID,"client_secret":SECRET}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["expires_in"].as_i64().is_some_and(|s| s > 0), "{body}");
    assert!(
        body["application"].is_string() && body.get("user").is_none(),
        "{body}"
    );
    let app = body["access_token"].as_str().expect("token").to_string();

    // The app token is not a user: it reads nobody's list, not even a user named like it.
    let (status, body) = f
        .get("sdk/user/li.wei/user_channels/list?limit=10", &app)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("forbidden_op"))
    );

    let (status, body) = f.token(inherit("Li.Wei"), Some(&app)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["username"], "li.wei");
    let user_token = body["access_token"].as_str().expect("token").to_string();
    let (status, body) = f
        .get("sdk/user/li.wei/user_channels/list?limit=10", &user_token)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["channel_infos"].as_array().map(Vec::len),
        Some(1)
    );
    // A user token of li.wei is li.wei's only.
    let (status, _) = f
        .get("sdk/user/demo/user_channels/list?limit=10", &user_token)
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn inherit_is_refused_without_an_app_token() {
    each_backend(inherit_is_refused_without_an_app_token_on).await;
}

async fn inherit_is_refused_without_an_app_token_on() {
    let f = start(ServerConfig::new(APPKEY)).await;
    let (status, body) = f.token(inherit("li.wei"), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, body) = f.token(inherit("li.wei"), Some("not-a-token")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("auth_bad_access_token"))
    );
    // A user's own token does not open another user's history.
    let (status, body) = f
        .token(
            json!({"grant_type":"password","username":"demo","password":"pw-demo"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let demo = body["access_token"].as_str().expect("token").to_string();
    let (status, body) = f.token(inherit("li.wei"), Some(&demo)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("forbidden_op"))
    );
}

#[tokio::test]
async fn a_wrong_secret_or_client_id_is_invalid_grant_and_never_echoed() {
    each_backend(a_wrong_secret_or_client_id_is_invalid_grant_and_never_echoed_on).await;
}

async fn a_wrong_secret_or_client_id_is_invalid_grant_and_never_echoed_on() {
    let f = start(ServerConfig::new(APPKEY)).await;
    for (client_id, secret) in [(CLIENT_ID, "wrong-secret-42"), ("YXA6nobody", SECRET)] {
        let (status, body) = f
            .token(
                json!({"grant_type":"client_credentials","client_id":client_id,"client_secret":secret}),
                None,
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        assert!(body["error_description"].is_string(), "{body}");
        let text = body.to_string();
        assert!(!text.contains(secret), "{text}");
    }
}

#[tokio::test]
async fn failed_app_logins_are_throttled_like_failed_logins() {
    each_backend(failed_app_logins_are_throttled_like_failed_logins_on).await;
}

async fn failed_app_logins_are_throttled_like_failed_logins_on() {
    let config = ServerConfig {
        login: LoginLimits {
            failures_per_name: 2,
            ..LoginLimits::default()
        },
        ..ServerConfig::new(APPKEY)
    };
    let f = start(config).await;
    let wrong =
        json!({"grant_type":"client_credentials","client_id":CLIENT_ID,"client_secret":"nope"});
    for _ in 0..2 {
        assert_eq!(f.token(wrong.clone(), None).await.0, 400);
    }
    let right =
        json!({"grant_type":"client_credentials","client_id":CLIENT_ID,"client_secret":SECRET});
    let (status, body) = f.token(right, None).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("reach_limit")));
}

#[tokio::test]
async fn inherit_for_a_user_who_does_not_exist_is_404_and_creates_nobody() {
    each_backend(inherit_for_a_user_who_does_not_exist_is_404_and_creates_nobody_on).await;
}

async fn inherit_for_a_user_who_does_not_exist_is_404_and_creates_nobody_on() {
    let f = start(ServerConfig::new(APPKEY)).await;
    let app = f.app_token().await;
    for auto_create in [false, true] {
        let body = json!({"grant_type":"inherit","username":"nobody","autoCreateUser":auto_create});
        let (status, body) = f.token(body, Some(&app)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("service_resource_not_found"))
        );
    }
    assert!(!f.exists("nobody").await, "the user was created");
    let (status, _) = f.token(inherit("nobody"), Some(&app)).await;
    assert_eq!(status, 404, "still nobody after the refusals");
}

#[tokio::test]
async fn apps_given_to_the_server_work_beside_the_stored_ones_and_are_no_users() {
    each_backend(apps_given_to_the_server_work_beside_the_stored_ones_and_are_no_users_on).await;
}

async fn apps_given_to_the_server_work_beside_the_stored_ones_and_are_no_users_on() {
    // An app whose client id reads like a user id is still no user.
    let given = roam::server::ServedApp {
        client_id: "li.wei".into(),
        secret_hash: roam::store::password::hash_password("given-secret").expect("hash"),
        uuid: "u".into(),
    };
    let f = start(ServerConfig {
        apps: vec![given],
        ..ServerConfig::new(APPKEY)
    })
    .await;
    let (status, body) = f
        .token(
            json!({"grant_type":"client_credentials","client_id":"li.wei","client_secret":"given-secret"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let app = body["access_token"].as_str().expect("token").to_string();
    let (status, body) = f
        .get("sdk/user/li.wei/user_channels/list?limit=10", &app)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("forbidden_op"))
    );
    assert!(
        !f.app_token().await.is_empty(),
        "the stored app still works"
    );
}

fn app_client(f: &Fixture, user: &str, secret: Option<&str>, app_token: Option<String>) -> Client {
    Client::new(ClientConfig::new(
        f.server.base_url(),
        APPKEY,
        user,
        Credential::App(AppAccess {
            client_id: CLIENT_ID.into(),
            secret: secret.map(Secret::new),
            app_token: app_token.map(|t| IssuedToken {
                token: Secret::new(t),
                expires_at: None,
            }),
        }),
    ))
    .expect("client")
}

#[tokio::test]
async fn the_client_reads_a_users_history_with_the_apps_credentials() {
    each_backend(the_client_reads_a_users_history_with_the_apps_credentials_on).await;
}

async fn the_client_reads_a_users_history_with_the_apps_credentials_on() {
    let f = start(ServerConfig::new(APPKEY)).await;
    let client = app_client(&f, "li.wei", Some(SECRET), None);
    assert_eq!(client.admin_client_id(), Some(CLIENT_ID));
    let list = client.conversations().await.expect("li.wei's list");
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].id.as_str(), list[0].unread), ("bob", 2));
    let app = client.app_token().expect("the app token is kept");
    assert!(!format!("{client:?}").contains(SECRET));

    // A saved app token alone (roam login) is enough; no secret needed.
    let saved = app_client(&f, "li.wei", None, Some(app.token.expose().to_string()));
    assert_eq!(saved.conversations().await.expect("list").len(), 1);

    // A refused app token without the secret is a clear error; with it, a new token.
    let stale = app_client(&f, "li.wei", None, Some("stale-app-token".into()));
    let e = stale.login().await.expect_err("refused");
    assert_eq!(e.status(), Some(401));
    assert!(!e.to_string().contains("stale-app-token"), "{e}");
    let renewed = app_client(&f, "li.wei", Some(SECRET), Some("stale-app-token".into()));
    renewed.login().await.expect("a new app token");

    // Someone who does not exist: an error, and still nobody.
    let ghost = app_client(&f, "ghost", Some(SECRET), None);
    let e = ghost.login().await.expect_err("no such user");
    assert_eq!(e.status(), Some(404));
    assert!(!e.to_string().contains(SECRET), "{e}");
    assert!(!f.exists("ghost").await);
}

// ---------------------------------------------------------------------------------------
// The real binaries: roam serve with --app-credentials, roam history with --client-id/--as.
// ---------------------------------------------------------------------------------------

/// A database of the running test's back end with li.wei's history and no app (what
/// `--db` names), and a 0600 credentials file for the app.
fn served_files(dir: &Path) -> (String, PathBuf) {
    let exports = dir.join("export.jsonl");
    let lines: Vec<String> = messages().iter().map(line).collect();
    std::fs::write(&exports, lines.join("\n")).expect("export");
    let mut state = state();
    state.apps.clear();
    let state_path = dir.join("state.json");
    std::fs::write(&state_path, serde_json::to_string(&state).expect("json")).expect("state");
    let db = db_arg(dir, "admin");
    let status = Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(["import", "--quiet", "--db", &db])
        .arg("--state")
        .arg(&state_path)
        .arg(&exports)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("import runs");
    assert!(status.success());
    let creds = dir.join("apps.json");
    std::fs::write(
        &creds,
        json!({"apps":[{"client_id":CLIENT_ID,"client_secret":SECRET}]}).to_string(),
    )
    .expect("credentials");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    (db, creds)
}

struct Served {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Served {
    fn start(db: &str, creds: &Path) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roam"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--appkey",
                APPKEY,
                "--db",
            ])
            .arg(db)
            .arg("--app-credentials")
            .arg(creds)
            .env("ROAM_LOG", "debug")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("roam serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let collected = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                let text = String::from_utf8_lossy(&line).into_owned();
                if let Some(url) = text.split("http://").nth(1) {
                    let _ = tx.send(format!("http://{}", url.trim()));
                }
                collected.lock().expect("log").push_str(&text);
                line.clear();
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no address: {}", log.lock().expect("log")));
        Served { child, url, log }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `roam` with `args`, its config, cache and data under `dir/home`, and `env`: exit code,
/// stdout, stderr.
fn roam(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let home = dir.join("home");
    let mut command = Command::new(env!("CARGO_BIN_EXE_roam"));
    command
        .args(args)
        .env("ROAM_CONFIG", home.join("config.toml"))
        .env("ROAM_CACHE_DIR", home.join("cache"))
        .env("ROAM_DATA_DIR", home.join("data"))
        .env("ROAM_LOG", "debug")
        .env_remove("ROAM_TOKEN")
        .env_remove("ROAM_PASSWORD")
        .env_remove("ROAM_CLIENT_SECRET")
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("roam runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file under `dir`, as text.
fn all_text(dir: &Path) -> String {
    let mut text = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return text;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&all_text(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

#[test]
fn roam_history_as_li_wei_with_the_apps_credentials_reads_her_history_from_roam_serve() {
    each_backend_blocking(roam_history_as_li_wei_on);
}

fn roam_history_as_li_wei_on() {
    let dir = tempfile::tempdir().expect("dir");
    let (db, creds) = served_files(dir.path());
    let served = Served::start(&db, &creds);
    let args = [
        "history",
        "bob",
        "--api-url",
        &served.url,
        "--appkey",
        APPKEY,
        "--client-id",
        CLIENT_ID,
        "--as",
        "li.wei",
        "--json",
    ];
    let (code, stdout, stderr) = roam(dir.path(), &args, &[("ROAM_CLIENT_SECRET", SECRET)]);
    assert_eq!(code, Some(0), "{stderr}");
    for i in 0..3 {
        assert!(stdout.contains(&format!("hello {i}")), "{stdout}");
    }
    // The secret went by environment only: not in the arguments `ps` shows, the output,
    // the errors, roam's log or the server's log; and no token was printed either.
    assert!(!args.iter().any(|a| a.contains(SECRET)));
    let client_log = all_text(&dir.path().join("home"));
    let server_log = served.log.lock().expect("log").clone();
    for (what, text) in [
        ("stdout", &stdout),
        ("stderr", &stderr),
        ("roam's files", &client_log),
        ("the server log", &server_log),
    ] {
        assert!(!text.contains(SECRET), "the secret in {what}: {text}");
        assert!(!text.contains("access_token"), "a token in {what}: {text}");
    }
    assert!(
        server_log.contains("user token issued to an app"),
        "{server_log}"
    );

    // A wrong secret fails like the service says, without echoing it.
    let (code, _, stderr) = roam(
        dir.path(),
        &args,
        &[("ROAM_CLIENT_SECRET", "wrong-secret-x1")],
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("invalid_grant") || stderr.contains("client_id"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-secret-x1"), "{stderr}");

    // Somebody who does not exist is an error, and is not created.
    let mut ghost = args;
    ghost[9] = "ghost";
    let (code, _, stderr) = roam(dir.path(), &ghost, &[("ROAM_CLIENT_SECRET", SECRET)]);
    assert_eq!(code, Some(1), "{stderr}");
    drop(served);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let ghost = runtime.block_on(async {
        let store = Db::open(&db).await.expect("db");
        store.existing_user("ghost").await.expect("read")
    });
    assert!(ghost.is_none());
}

#[test]
fn roam_login_saves_the_app_token_and_later_runs_need_no_secret() {
    each_backend_blocking(roam_login_saves_the_app_token_on);
}

fn roam_login_saves_the_app_token_on() {
    let dir = tempfile::tempdir().expect("dir");
    let (db, creds) = served_files(dir.path());
    let served = Served::start(&db, &creds);
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    // An app profile: client_id and as, never the secret.
    std::fs::write(
        home.join("config.toml"),
        format!(
            "token_store = \"file\"\n[profiles.support]\napi_url = \"{}\"\nappkey = \"{APPKEY}\"\nauth = \"app\"\nclient_id = \"{CLIENT_ID}\"\nas = \"li.wei\"\n",
            served.url
        ),
    )
    .expect("config");
    let (code, _, stderr) = roam(
        dir.path(),
        &["login", "-p", "support"],
        &[("ROAM_CLIENT_SECRET", SECRET)],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(CLIENT_ID), "{stderr}");
    let saved = all_text(&home.join("data"));
    assert!(
        saved.contains("access_token") && !saved.contains(SECRET),
        "{saved}"
    );
    #[cfg(unix)]
    for entry in std::fs::read_dir(home.join("data/tokens"))
        .expect("tokens")
        .flatten()
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = entry.metadata().expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", entry.path().display());
    }
    // No secret now: the saved app token opens li.wei's history.
    let (code, stdout, stderr) = roam(dir.path(), &["history", "bob", "-p", "support"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("hello 2"), "{stdout}");
    let (code, _, stderr) = roam(dir.path(), &["logout", "-p", "support"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!all_text(&home.join("data")).contains("access_token"));
}

#[test]
fn there_is_no_flag_for_the_client_secret() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, stdout, stderr) = roam(
        dir.path(),
        &["conversations", "--client-secret", "flag-secret-1"],
        &[],
    );
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(!stderr.contains("flag-secret-1"), "{stderr}");
    let (_, help, _) = roam(dir.path(), &["--help"], &[]);
    assert!(
        help.contains("--client-id") && help.contains("--as"),
        "{help}"
    );
    assert!(!help.contains("--client-secret"), "{help}");
}

#[test]
fn as_without_a_client_id_and_user_with_one_are_clear_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let base = [
        "conversations",
        "--api-url",
        "http://127.0.0.1:9",
        "--appkey",
        APPKEY,
    ];
    let (code, _, stderr) = roam(dir.path(), &[&base[..], &["--as", "li.wei"]].concat(), &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("--client-id"), "{stderr}");
    let both = [&base[..], &["--client-id", CLIENT_ID, "--user", "li.wei"]].concat();
    let (code, _, stderr) = roam(dir.path(), &both, &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("--as"), "{stderr}");
}

#[test]
fn the_status_line_says_whose_history_and_that_it_is_admin_access() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use roam::tui::app::App;
    use roam::tui::view::{self, ViewContext};
    let mut terminal = Terminal::new(TestBackend::new(80, 12)).expect("terminal");
    let mut app = App::new(80, 12, jiff::tz::TimeZone::UTC);
    let bottom = |terminal: &Terminal<TestBackend>| {
        let buffer = terminal.backend().buffer();
        (0..80)
            .map(|x| buffer[(x, 11)].symbol().to_string())
            .collect::<String>()
    };
    let ctx = ViewContext::now();
    terminal.draw(|f| view::draw(&app, &ctx, f)).expect("draw");
    assert!(!bottom(&terminal).contains("admin access"));
    app.set_admin_reader(Some("li.wei".into()));
    terminal.draw(|f| view::draw(&app, &ctx, f)).expect("draw");
    let line = bottom(&terminal);
    assert!(line.starts_with("li.wei · admin access"), "{line:?}");
}
