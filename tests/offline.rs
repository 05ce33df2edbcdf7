//! The library offline, as a person meets it in a terminal: `roam --offline` browses what
//! an earlier run kept, and a deployment that cannot be reached falls back to its library
//! with a clear status, or to a clear error when there is none.

mod pty;

use std::time::Duration;

use pty::Pty;
use roam::library::Library;
use roam::protocol::{
    ChatType, Content, Conversation, Direction, HistoryFilters, HistoryPage, HistoryQuery, Message,
};

const WAIT: Duration = Duration::from_secs(60);

/// Nothing listens on port 1 of loopback.
const UNREACHABLE: &str = "http://127.0.0.1:1";

fn message(i: u64) -> Message {
    Message {
        id: 1_300_000_000_000_000_000 + i,
        from: "bob".into(),
        to: "alice".into(),
        chat_type: ChatType::Single,
        time: 1_700_000_000_000 + i as i64 * 60_000,
        content: Content::Text {
            text: format!("kept message {i}"),
        },
        ext: Default::default(),
        meta: None,
    }
}

/// A library of alice on the unreachable deployment, holding 30 messages from bob, the
/// whole conversation.
fn library_of_alice(data: &std::path::Path) {
    library_of_alice_holding(data, true);
}

/// The same, holding bob's 30 newest messages: from the beginning when `beginning`, else
/// with older ones left on the server.
fn library_of_alice_holding(data: &std::path::Path, beginning: bool) {
    let path = Library::path_for(data, "127.0.0.1:1", "acme#chatapp", "alice");
    let mut library = Library::open(&path, "alice").expect("library");
    let messages: Vec<Message> = (0..30).rev().map(message).collect();
    library
        .record_conversations(&[Conversation {
            id: "bob".into(),
            kind: ChatType::Single,
            unread: 0,
            pinned: false,
            pinned_at: None,
            marks: Vec::new(),
            last_message: Some(message(29)),
        }])
        .expect("list kept");
    let query = HistoryQuery {
        conversation: "bob".into(),
        kind: ChatType::Single,
        cursor: None,
        page_size: 50,
        direction: Direction::Up,
        filters: HistoryFilters::default(),
    };
    let page = HistoryPage {
        messages,
        next_cursor: (!beginning).then(|| "older".to_string()),
        is_last: beginning,
        undecodable: 0,
    };
    library.record_page(&query, &page, None).expect("page kept");
}

fn deployment_args() -> Vec<&'static str> {
    vec![
        "--api-url",
        UNREACHABLE,
        "--appkey",
        "acme#chatapp",
        "--user",
        "alice",
    ]
}

#[test]
fn an_unreachable_deployment_falls_back_to_its_library() {
    let cache = tempfile::tempdir().expect("temp dir");
    library_of_alice(&cache.path().join("data"));
    let mut term = Pty::spawn(
        &deployment_args(),
        100,
        30,
        cache.path(),
        &[("ROAM_PASSWORD", "never-sent")],
    );
    let screen = term.wait_for("the library's list", WAIT, |s| {
        s.contains("bob") && s.contains("cannot be reached")
    });
    assert!(screen.contains("offline"), "{screen}");
    term.send(b"\r");
    term.wait_for("the kept history", WAIT, |s| s.contains("kept message 29"));
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn offline_says_so_and_reads_the_library() {
    let cache = tempfile::tempdir().expect("temp dir");
    library_of_alice(&cache.path().join("data"));
    let mut args = deployment_args();
    args.push("--offline");
    let mut term = Pty::spawn(&args, 100, 30, cache.path(), &[]);
    let screen = term.wait_for("the library's list", WAIT, |s| {
        s.contains("bob") && s.contains("offline")
    });
    assert!(!screen.contains("cannot be reached"), "{screen}");
    term.send(b"\r");
    // After a key the notices are gone; where the history comes from stays.
    term.wait_for("the kept history, still said offline", WAIT, |s| {
        s.contains("kept message") && s.contains("offline · library")
    });
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn offline_the_oldest_message_held_is_where_the_library_ends_unless_it_is_the_beginning() {
    for beginning in [false, true] {
        let cache = tempfile::tempdir().expect("temp dir");
        library_of_alice_holding(&cache.path().join("data"), beginning);
        let mut args = deployment_args();
        args.push("--offline");
        let mut term = Pty::spawn(&args, 100, 30, cache.path(), &[]);
        term.wait_for("the library's list", WAIT, |s| s.contains("bob"));
        term.send(b"\r");
        // 28: 29 is in the list's preview too.
        term.wait_for("the kept history", WAIT, |s| s.contains("kept message 28"));
        term.send(b"g");
        let screen = term.wait_for("the top of what is held", WAIT, |s| {
            s.contains("kept message 0")
        });
        let ends = screen.contains("the library ends here");
        let begins = screen.contains("beginning of conversation");
        assert_eq!((ends, begins), (!beginning, beginning), "{screen}");
        term.send(b"q");
        assert!(term.wait_exit(Duration::from_secs(10)).is_some());
    }
}

#[test]
fn offline_the_search_of_all_history_reads_the_library() {
    let cache = tempfile::tempdir().expect("temp dir");
    library_of_alice(&cache.path().join("data"));
    let mut args = deployment_args();
    args.push("--offline");
    let mut term = Pty::spawn(&args, 100, 30, cache.path(), &[]);
    term.wait_for("the library's list", WAIT, |s| s.contains("bob"));
    term.send(b"S");
    term.wait_for("the search-all view", WAIT, |s| {
        s.contains("search all history")
    });
    term.send(b"message 1\r");
    // 19, 18, ... 10 and 1: eleven, newest first.
    let screen = term.wait_for("the library's hits", WAIT, |s| s.contains("/11 found"));
    assert!(screen.contains("kept message 19"), "{screen}");
    term.send(b"\r");
    term.wait_for("the newest hit opened", WAIT, |s| {
        s.lines().any(|l| {
            l.split_once("┃▌")
                .is_some_and(|(_, b)| b.contains("kept message 19"))
        })
    });
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn without_a_library_an_unreachable_deployment_is_one_clear_error() {
    let cache = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(deployment_args())
        .env("ROAM_CACHE_DIR", cache.path())
        .env("ROAM_DATA_DIR", cache.path().join("data"))
        .env("ROAM_CONFIG", cache.path().join("no-config.toml"))
        .env("ROAM_PASSWORD", "never-sent")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("roam runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no library") && stderr.contains("127.0.0.1:1"),
        "{stderr}"
    );
}

#[test]
fn search_and_export_read_the_library_without_the_server() {
    let cache = tempfile::tempdir().expect("temp dir");
    library_of_alice(&cache.path().join("data"));
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_roam"))
            .args(args)
            .args(deployment_args())
            .env("ROAM_CACHE_DIR", cache.path())
            .env("ROAM_DATA_DIR", cache.path().join("data"))
            .env("ROAM_CONFIG", cache.path().join("no-config.toml"))
            .stdin(std::process::Stdio::null())
            .output()
            .expect("roam runs");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{args:?}: {stderr}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let found = run(&["search", "kept message 2", "--json"]);
    // 2, 20..29: eleven messages, then the paging line.
    assert_eq!(found.lines().count(), 12, "{found}");
    let markdown = run(&["export", "bob", "--format", "markdown"]);
    assert!(markdown.contains("kept message 29") && markdown.contains("kept message 0"));
}

#[test]
fn open_browses_any_database_as_one_of_its_users() {
    let cache = tempfile::tempdir().expect("temp dir");
    let file = cache.path().join("export.sqlite");
    {
        let mut store = roam::store::Store::open(&file).expect("store");
        let messages: Vec<Message> = (0..30).map(message).collect();
        store.insert_messages(&messages).expect("messages");
    }
    let file = file.to_string_lossy().to_string();
    let mut term = Pty::spawn(
        &["open", &file, "--user", "alice"],
        100,
        30,
        cache.path(),
        &[],
    );
    let screen = term.wait_for("alice's list", WAIT, |s| s.contains("bob"));
    assert!(
        screen.contains("export.sqlite"),
        "the status says whose and which: {screen}"
    );
    term.send(b"\r");
    term.wait_for("the history", WAIT, |s| s.contains("kept message 29"));
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).is_some());
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(["open", "/nonexistent/x.sqlite", "--user", "alice"])
        .output()
        .expect("roam runs");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
}
