//! The real `roam serve` process: what reaches its log, how it stops on a signal, and how
//! it treats the database file it is given. The first three run on both back ends (a
//! SQLite file, and a PostgreSQL database when a cluster can be had: `common::backends`),
//! the database's user added by the real `roam user add`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::backends::{Backend, present};
use serde_json::{Value, json};

const APPKEY: &str = "acme#chatapp";
const WAIT: Duration = Duration::from_secs(30);

/// A database of `backend` with one user, alice, added by `roam user add`: what `--db`
/// names (a file in `dir`, or a PostgreSQL URL).
fn database(dir: &Path, backend: Backend) -> String {
    let db = match backend {
        Backend::Sqlite => dir.join("roam.sqlite").display().to_string(),
        Backend::Postgres => {
            common::postgres::database("serve")
                .expect("a cluster: present() said so")
                .1
        }
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(["user", "add", "--db", &db, "alice", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roam user add starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"pw-alice\n")
        .expect("password");
    let out = child.wait_with_output().expect("roam user add ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{backend:?}: {err}");
    assert!(err.contains("alice can now log in"), "{backend:?}: {err}");
    db
}

/// A running `roam serve`, its standard error collected as it is written.
struct Served {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Served {
    fn start(db: impl AsRef<std::ffi::OsStr>, extra: &[&str]) -> Served {
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
            .args(extra)
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
                    let _ = tx.send(url.trim().to_string());
                }
                collected.lock().expect("log").push_str(&text);
                line.clear();
            }
        });
        let addr = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no address announced: {}", log.lock().expect("log")));
        Served { child, addr, log }
    }

    fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// Sends a signal by PID, as a service manager does.
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to end; its exit code.
    fn wait(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "roam serve did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange on a fresh connection: the status and the body.
fn exchange(addr: &str, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    stream.write_all(request).expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {text:?}"));
    (status, body.to_string())
}

fn post(addr: &str, path: &str, token: Option<&str>, body: &Value) -> (u16, String) {
    let body = body.to_string();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "POST /acme/chatapp{path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, request.as_bytes())
}

#[test]
fn request_strings_reach_the_log_escaped() {
    for backend in present() {
        request_strings_reach_the_log_escaped_on(backend);
    }
}

fn request_strings_reach_the_log_escaped_on(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let served = Served::start(database(dir.path(), backend), &[]);
    let hostile = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n2030-01-01T00:00:00Z  INFO roam: forged\u{9b}31m\u{202e}";
    let (status, body) = post(
        &served.addr,
        "/token",
        None,
        &json!({"grant_type":"password","username":hostile,"password":"x"}),
    );
    assert_eq!(status, 400, "{body}");
    // The refusal is logged before it is answered; give the writer a moment all the same.
    let deadline = Instant::now() + WAIT;
    while !served.log().contains("login refused") {
        assert!(
            Instant::now() < deadline,
            "no refusal logged: {}",
            served.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = served.log();
    for bad in ['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}'] {
        assert!(!log.contains(bad), "{:?} reached the log: {log:?}", bad);
    }
    assert!(
        !log.lines()
            .any(|l| l.contains("INFO roam: forged") && !l.contains("login refused")),
        "a forged line: {log}"
    );
    assert!(log.contains("\\u{001b}]0;pwned"), "{log}");
}

/// Logs alice in over a raw connection; her token.
fn token(addr: &str) -> String {
    let (status, body) = post(
        addr,
        "/token",
        None,
        &json!({"grant_type":"password","username":"alice","password":"pw-alice"}),
    );
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    body["access_token"].as_str().expect("token").to_string()
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_closes_the_database() {
    for backend in present() {
        sigterm_finishes_the_request_in_flight_on(backend);
    }
}

fn sigterm_finishes_the_request_in_flight_on(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let db = database(dir.path(), backend);
    let mut served = Served::start(&db, &[]);
    let token = token(&served.addr);
    // A request whose body is still arriving when the signal comes.
    let body = json!({"queue":"bob@easemob.com","start":-1,"end":-1}).to_string();
    let head = format!(
        "POST /acme/chatapp/users/alice/messageroaming HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(&served.addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(&body.as_bytes()[..10]).expect("write");
    std::thread::sleep(Duration::from_millis(200));
    served.signal("TERM");
    let deadline = Instant::now() + WAIT;
    while !served.log().contains("SIGTERM") {
        assert!(
            Instant::now() < deadline,
            "no SIGTERM noticed: {}",
            served.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // New connections are no longer taken...
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        TcpStream::connect(&served.addr).is_err(),
        "still accepting after SIGTERM"
    );
    // ...but the request in flight is answered in full.
    stream.write_all(&body.as_bytes()[10..]).expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{backend:?}: {text}");
    assert!(text.contains("\"is_last\""), "{text}");
    assert_eq!(served.wait(), Some(0), "{}", served.log());
    assert!(served.log().contains("roam: stopped"), "{}", served.log());
    // Closed cleanly: the last connection folded SQLite's write-ahead log into the file
    // (PostgreSQL has no such file of roam's).
    if backend == Backend::Sqlite {
        let wal = PathBuf::from(format!("{db}-wal"));
        assert!(!wal.exists(), "{} left behind", wal.display());
    }
}

#[test]
fn sigint_stops_it_too() {
    for backend in present() {
        let dir = tempfile::tempdir().expect("dir");
        let mut served = Served::start(database(dir.path(), backend), &[]);
        served.signal("INT");
        assert_eq!(served.wait(), Some(0), "{backend:?}: {}", served.log());
        assert!(served.log().contains("roam: stopped"), "{}", served.log());
    }
}

// SQLite only: a missing file and the new file's mode; a PostgreSQL database is never
// created by roam (its errors are in tests/pg_serve.rs).

#[test]
fn a_missing_database_is_an_error_unless_create_is_given() {
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("typo.sqlite");
    let out = Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&missing)
        .stdin(Stdio::null())
        .output()
        .expect("roam runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not exist") && err.contains("--create"),
        "{err}"
    );
    assert!(!missing.exists(), "nothing was created");

    let mut served = Served::start(&missing, &["--create"]);
    assert!(missing.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&missing)
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    served.signal("TERM");
    assert_eq!(served.wait(), Some(0), "{}", served.log());
}
