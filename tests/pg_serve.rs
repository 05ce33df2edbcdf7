//! Several `roam serve` processes over one PostgreSQL database: the demo imported by
//! `roam import --db postgres://...`, a login on one server read on another (and after a
//! restart), and pages that stay consistent while a third process imports. Runs against
//! a throwaway cluster (see `common::postgres`) and skips, saying so, without one.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{BASE_ID, line, postgres, text};
use roam::client::{Client, ClientConfig, Credential};
use roam::demo::{DEMO_APPKEY, DEMO_PASSWORD, DEMO_USER, FAMILY, ROOM};
use roam::protocol::{ChatType, Direction, HistoryFilters, HistoryQuery};

const WAIT: Duration = Duration::from_secs(60);
/// The group the load files write to (the demo user sends, so the demo user reads it).
const LOAD_GROUP: &str = "777000777";
const FIRST_LOAD: u64 = 3_000;
const SECOND_LOAD: u64 = 20_000;

/// `roam` with arguments, run to the end; its standard error on failure.
fn roam(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("roam runs")
}

/// A running `roam serve`; killed on drop.
struct Served {
    child: Child,
    base_url: String,
}

impl Served {
    fn start(url: &str) -> Served {
        Served::start_with(Command::new(env!("CARGO_BIN_EXE_roam")), url)
    }

    /// [`Served::start`] with `command` (the `roam` binary, its environment set).
    fn start_with(mut command: Command, url: &str) -> Served {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--db", url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("roam serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                all.push_str(&line);
                all.push('\n');
                if let Some(addr) = line.split("http://").nth(1) {
                    let _ = tx.send(Ok(format!("http://{}", addr.trim())));
                }
            }
            let _ = tx.send(Err(all));
        });
        let base_url = match rx.recv_timeout(WAIT) {
            Ok(Ok(url)) => url,
            Ok(Err(log)) => panic!("roam serve ended: {log}"),
            Err(_) => panic!("roam serve announced no address"),
        };
        Served { child, base_url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(base_url: &str, credential: Credential) -> Client {
    Client::new(ClientConfig {
        total_timeout: Duration::from_secs(30),
        ..ClientConfig::new(base_url, DEMO_APPKEY, DEMO_USER, credential)
    })
    .expect("client")
}

/// An export file of `n` messages from the demo user to the load group, ids from
/// `first`, times spread so that later files interleave with earlier ones.
fn load_file(dir: &Path, name: &str, first: u64, n: u64, step: i64, offset: i64) -> String {
    let path = dir.join(name);
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let time = 1_800_000_000_000 + offset + i as i64 * step;
            line(&text(
                BASE_ID + first + i,
                time,
                DEMO_USER,
                LOAD_GROUP,
                ChatType::Group,
                &format!("load {}", first + i),
            ))
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").expect("write export");
    path.display().to_string()
}

/// Every message of the load group oldest first, as one walk of pages sees it; checks
/// that no message comes twice and the order never goes back.
async fn walk(client: &Client) -> Vec<u64> {
    let mut q = HistoryQuery {
        conversation: LOAD_GROUP.into(),
        kind: ChatType::Group,
        cursor: None,
        page_size: 50,
        direction: Direction::Down,
        filters: HistoryFilters::default(),
    };
    let mut seen: Vec<(i64, u64)> = Vec::new();
    for _ in 0..10_000 {
        let page = client.history(&q).await.expect("page");
        seen.extend(page.messages.iter().map(|m| (m.time, m.id)));
        if page.is_last {
            let ids: Vec<u64> = seen.iter().map(|(_, id)| *id).collect();
            let unique: HashSet<u64> = ids.iter().copied().collect();
            assert_eq!(unique.len(), ids.len(), "a message came twice");
            assert!(seen.windows(2).all(|w| w[0] < w[1]), "the order went back");
            return ids;
        }
        q.cursor = page.next_cursor;
    }
    panic!("paging did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_over_one_database_share_logins_and_stay_consistent_during_an_import() {
    let Some((_, url)) = postgres::database("serve") else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let first = load_file(dir.path(), "load-1.jsonl", 0, FIRST_LOAD, 10, 0);
    let imported = roam(&[
        "import",
        "--quiet",
        "--db",
        &url,
        "assets/demo-history.jsonl.gz",
        &first,
        "--state",
        "assets/demo-state.json",
    ]);
    let log = String::from_utf8_lossy(&imported.stderr);
    assert!(imported.status.success(), "{log}");
    let password = url
        .split(':')
        .nth(2)
        .and_then(|p| p.split('@').next())
        .expect("password in url");
    assert!(
        !log.contains(password),
        "the import shows the password: {log}"
    );

    let one = Served::start(&url);
    let two = Served::start(&url);

    // Logged in on one server; the token reads on the other.
    let on_one = client(&one.base_url, Credential::Password(DEMO_PASSWORD.into()));
    on_one.login().await.expect("login on the first server");
    let token = on_one.current_token().await.expect("a token");
    let on_two = client(&two.base_url, Credential::Token(token.expose().to_string()));
    let list_one = on_one.conversations().await.expect("list on one");
    let list_two = on_two.conversations().await.expect("list on two");
    assert!(
        list_one.len() > 3,
        "the demo's conversations: {}",
        list_one.len()
    );
    assert_eq!(list_one, list_two);
    assert!(list_two.iter().any(|c| c.id == FAMILY));
    let family = HistoryQuery {
        conversation: FAMILY.into(),
        kind: ChatType::Group,
        cursor: None,
        page_size: 50,
        direction: Direction::Up,
        filters: HistoryFilters::default(),
    };
    let page_one = on_one.history(&family).await.expect("page on one");
    let page_two = on_two.history(&family).await.expect("page on two");
    assert_eq!(page_one.messages.len(), 50);
    assert_eq!(page_one, page_two);
    // Names come from the state file through either server.
    let nicknames = on_two
        .nicknames(&["li.wei".to_string(), "nobody".to_string()])
        .await
        .expect("nicknames");
    assert_eq!(nicknames.get("li.wei").map(String::as_str), Some("李伟"));
    assert_eq!(nicknames.len(), 1);
    let groups = on_two
        .group_names(&[FAMILY.to_string()])
        .await
        .expect("groups");
    assert_eq!(groups.get(FAMILY).map(String::as_str), Some("王家 family"));
    let rooms = on_one.room_names(&[ROOM.to_string()]).await.expect("rooms");
    assert_eq!(rooms.get(ROOM).map(String::as_str), Some("Lobby"));

    // A third process imports while the second server is paged, again and again: no walk
    // sees a message twice or out of order, and none misses one that was there before.
    let before: HashSet<u64> = walk(&on_two).await.into_iter().collect();
    assert_eq!(before.len() as u64, FIRST_LOAD);
    // Interleaved: every 7 ms from 3 ms on, older and newer than the first load too.
    let second = load_file(
        dir.path(),
        "load-2.jsonl",
        FIRST_LOAD,
        SECOND_LOAD,
        7,
        -20_003,
    );
    let mut importer = Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(["import", "--quiet", "--db", &url, &second])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("import starts");
    let mut walks = 0;
    loop {
        let done = importer.try_wait().expect("import status").is_some();
        let seen: HashSet<u64> = walk(&on_two).await.into_iter().collect();
        assert!(
            before.is_subset(&seen),
            "a walk missed a message that was there"
        );
        walks += 1;
        if done {
            break;
        }
        assert!(walks < 1_000, "the import does not end");
    }
    eprintln!("{walks} walks during the import");
    assert!(importer.wait().expect("import ends").success());
    let after = walk(&on_one).await;
    assert_eq!(after.len() as u64, FIRST_LOAD + SECOND_LOAD);

    // The token outlives the server that issued it.
    drop(one);
    let again = Served::start(&url);
    let after_restart = client(
        &again.base_url,
        Credential::Token(token.expose().to_string()),
    );
    assert_eq!(
        after_restart
            .conversations()
            .await
            .expect("list after restart"),
        on_two.conversations().await.expect("list on two")
    );
}

#[tokio::test]
async fn roam_user_add_writes_a_login_into_postgresql() {
    use std::io::Write;
    let Some((_, url)) = postgres::database("useradd") else {
        return;
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(["user", "add", "--db", &url, "carol", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roam user add starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"pw-carol\n")
        .expect("password");
    let out = child.wait_with_output().expect("roam user add ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = roam::store::pg::PgStore::connect(&url)
        .await
        .expect("store");
    let (user, hash) = store
        .login_record("carol")
        .await
        .expect("record")
        .expect("carol exists");
    assert_eq!(user.name, "carol");
    assert!(hash.starts_with("$argon2id$"));
}

/// `roam` with arguments and no PostgreSQL settings from this environment: only `env`.
fn roam_with_env(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_roam"));
    command.args(args);
    for var in ["PGPASSWORD", "PGPASSFILE", "PGUSER", "PGHOST", "PGPORT"] {
        command.env_remove(var);
    }
    let mut child = command
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roam starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("stdin");
    child.wait_with_output().expect("roam ends")
}

/// Runs `import`, `user add` and `serve` against `url`: each must fail at once with a
/// message naming the database, never showing `password`.
fn each_command_fails_clearly(url: &str, password: &str, expected: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let export = load_file(dir.path(), "one.jsonl", 0, 1, 1, 0);
    let runs: [&[&str]; 3] = [
        &["import", "--quiet", "--db", url, export.as_str()],
        &["user", "add", "--db", url, "carol", "--password-stdin"],
        &["serve", "--listen", "127.0.0.1:0", "--db", url],
    ];
    for args in runs {
        let out = roam_with_env(args, &[], b"pw-carol\n");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(
            !err.contains(password),
            "{args:?} shows the password: {err}"
        );
        assert!(
            err.lines().count() <= 6,
            "{args:?}: not one clear error: {err}"
        );
    }
}

#[tokio::test]
async fn a_bad_or_unreachable_database_is_a_clear_error_without_the_password() {
    // Nobody listens on this port (the binary gets no PostgreSQL of its own either).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let unreachable = format!("postgres://roam:s3cret-unreachable@127.0.0.1:{port}/roam");
    each_command_fails_clearly(
        &unreachable,
        "s3cret-unreachable",
        &format!("cannot open the database postgres://roam@127.0.0.1:{port}/roam"),
    );
    each_command_fails_clearly(
        "postgres://roam:s3cret-bad-url@127.0.0.1:notaport/roam",
        "s3cret-bad-url",
        "not a valid postgres:// URL",
    );
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    // A real server that refuses the password.
    let db = cluster.create_database("wrongpw");
    let wrong = format!(
        "postgres://postgres:s3cret-wrong@127.0.0.1:{}/{db}",
        cluster.port()
    );
    each_command_fails_clearly(&wrong, "s3cret-wrong", "cannot open the database");
    each_command_fails_clearly(&wrong, cluster.password(), "cannot open the database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_can_come_from_pgpassword_or_a_private_pgpass_file() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let db = cluster.create_database("pgpassword");
    let url = cluster.url_without_password(&db);
    let home = tempfile::tempdir().expect("home");
    let home_dir = home.path().display().to_string();
    let add = ["user", "add", "--db", &url, DEMO_USER, "--password-stdin"];

    // Without a password anywhere the server refuses: the ones below are what log in.
    let out = roam_with_env(&add, &[("HOME", &home_dir)], b"pw\n");
    assert!(!out.status.success());

    // PGPASSWORD, through `roam user add` and `roam import`.
    let password = cluster.password();
    let with_env = [("HOME", home_dir.as_str()), ("PGPASSWORD", password)];
    let out = roam_with_env(&add, &with_env, format!("{DEMO_PASSWORD}\n").as_bytes());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let export = load_file(home.path(), "load.jsonl", 0, 120, 1, 0);
    let out = roam_with_env(
        &["import", "--quiet", "--db", &url, &export],
        &with_env,
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("120 new"), "{err}");

    // A password file readable by others is ignored, as libpq ignores it.
    let file = home.path().join(".pgpass");
    std::fs::write(
        &file,
        format!("127.0.0.1:{}:{db}:postgres:{password}\n", cluster.port()),
    )
    .expect("write .pgpass");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = roam_with_env(&add, &[("HOME", &home_dir)], b"pw\n");
    assert!(!out.status.success(), "a 0644 .pgpass was read");

    // ~/.pgpass (0600): `roam serve` logs in with it and answers the client.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut command = Command::new(env!("CARGO_BIN_EXE_roam"));
    for var in ["PGPASSWORD", "PGPASSFILE", "PGUSER", "PGHOST", "PGPORT"] {
        command.env_remove(var);
    }
    command.env("HOME", &home_dir);
    let served = Served::start_with(command, &url);
    let on_it = client(&served.base_url, Credential::Password(DEMO_PASSWORD.into()));
    on_it.login().await.expect("login");
    assert_eq!(walk(&on_it).await.len(), 120);
}
