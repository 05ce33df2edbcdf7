//! The real `roam` binary in a pseudo-terminal against the embedded demo: keys in, screen
//! text out, as a person would use it.

mod pty;

use std::time::Duration;

use pty::Pty;
/// The demo's big group, pinned and newest: the first row of the list.
use roam::demo::BIG_CONVERSATION as TEAM;
/// As much of the big group's id as the narrowest list shows before cutting it.
const TEAM_SHOWN: &str = "262857469";
/// The big group's name, which replaces its id once names arrive.
const TEAM_NAME: &str = "roam dev team";

/// As much of the big group's name as the narrowest list shows before cutting it.
const TEAM_NAME_SHOWN: &str = "roam dev";

/// The big group is on screen, by id or (once names arrive) by name.
fn team_listed(screen: &str) -> bool {
    screen.contains(TEAM_SHOWN) || screen.contains(TEAM_NAME_SHOWN)
}

const WAIT: Duration = Duration::from_secs(60);

/// The number before " messages loaded" in the status line, if any.
fn loaded(screen: &str) -> usize {
    screen
        .lines()
        .find_map(|line| {
            let end = line
                .find(" messages loaded")
                .or_else(|| line.find(" loaded"))?;
            let digits: String = line[..end]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_digit() || *c == ',')
                .filter(char::is_ascii_digit)
                .collect();
            digits.chars().rev().collect::<String>().parse().ok()
        })
        .unwrap_or(0)
}

fn open_team_roam(cache: &std::path::Path, cols: u16, rows: u16) -> Pty {
    let mut term = Pty::spawn(&[], cols, rows, cache, &[]);
    term.wait_for("the conversation list", WAIT, team_listed);
    // the big group is pinned and newest, so it is the first row and selected.
    term.send(b"\r");
    term.wait_for("the newest page of the big group", WAIT, |s| {
        loaded(s) >= 50
    });
    term
}

#[test]
fn browse_scroll_back_three_pages_search_and_quit_restores_the_terminal() {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut term = open_team_roam(cache.path(), 120, 40);
    let first = term.text();
    assert!(team_listed(&first), "{first}");

    // Scroll up until more than three pages beyond the first are loaded.
    for _ in 0..200 {
        if loaded(&term.text()) > 200 {
            break;
        }
        term.send(b"\x1b[5~"); // PgUp
        std::thread::sleep(Duration::from_millis(40));
    }
    let after = term.wait_for("four pages loaded", WAIT, |s| loaded(s) > 200);
    assert!(after.contains("more on server"), "{after}");

    // Search the loaded history: the input opens, matches are counted.
    term.send(b"/");
    term.send("的".as_bytes());
    // The search input row: the query after `/`, the match count at the right. (Any
    // line with a `/` and a digit would also match a URL in a message.)
    let searched = term.wait_for("a match count", WAIT, |s| {
        s.lines()
            .any(|l| l.contains("/的") && l.chars().any(|c| c.is_ascii_digit()))
    });
    assert!(searched.contains("的"), "{searched}");
    term.send(b"\r");
    term.send(b"n");

    term.send(b"q");
    let status = term
        .wait_exit(Duration::from_secs(10))
        .expect("roam exits on q");
    assert!(status.success(), "exit status {status:?}");
    term.with_screen(|p| {
        let screen = p.screen();
        assert!(!screen.alternate_screen(), "left the alternate screen");
        assert!(!screen.hide_cursor(), "cursor shown again");
        assert!(!screen.bracketed_paste(), "bracketed paste off");
        assert_eq!(
            screen.mouse_protocol_mode(),
            vt100::MouseProtocolMode::None,
            "mouse capture off"
        );
        assert!(p.callbacks().titles.is_empty(), "no title change");
    });
    // Every page browsed is kept in the demo's library, as one stretch from the newest.
    let library = roam::library::Library::open(
        &roam::library::Library::path_for(
            &cache.path().join("data"),
            roam::embedded::DEMO_DEPLOYMENT,
            roam::demo::DEMO_APPKEY,
            roam::demo::DEMO_USER,
        ),
        roam::demo::DEMO_USER,
    )
    .expect("the library");
    let runs = library
        .runs(TEAM, roam::protocol::ChatType::Group)
        .expect("runs");
    assert_eq!(runs.runs().len(), 1, "{runs:?}");
    assert!(library.store().message_count().expect("count") > 200);
}

/// Sends `signal` (a `kill` name such as `TERM`) to the process.
fn kill(pid: u32, signal: &str) {
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -{signal}");
}

/// Whether the terminal is back as the shell left it: main screen, cursor shown, no mouse
/// reporting, no bracketed paste. The bytes roam wrote before it stopped or exited may
/// still be on their way through the pseudo-terminal (a loaded machine), so the screen is
/// given a moment to leave the alternate screen first.
fn assert_restored(term: &Pty, after: &str) {
    let start = std::time::Instant::now();
    while term.with_screen(|p| p.screen().alternate_screen())
        && start.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    term.with_screen(|p| {
        let screen = p.screen();
        assert!(
            !screen.alternate_screen(),
            "{after}: still on the alternate screen"
        );
        assert!(!screen.hide_cursor(), "{after}: cursor still hidden");
        assert!(
            !screen.bracketed_paste(),
            "{after}: bracketed paste still on"
        );
        assert_eq!(
            screen.mouse_protocol_mode(),
            vt100::MouseProtocolMode::None,
            "{after}: mouse reporting still on"
        );
    });
}

#[test]
fn every_ending_signal_restores_the_terminal() {
    for signal in ["TERM", "HUP", "INT", "QUIT"] {
        let cache = tempfile::tempdir().expect("temp dir");
        let mut term = Pty::spawn(&[], 100, 30, cache.path(), &[]);
        term.wait_for("the conversation list", WAIT, team_listed);
        assert!(term.with_screen(|p| p.screen().alternate_screen()));
        kill(term.pid().expect("pid"), signal);
        term.wait_exit(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("roam exits on SIG{signal}"));
        assert_restored(&term, &format!("SIG{signal}"));
    }
}

/// The process state letter from /proc: `T` when stopped.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: the state follows the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

#[test]
fn a_stop_gives_the_terminal_back_and_continuing_takes_it_again() {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut term = Pty::spawn(&[], 100, 30, cache.path(), &[]);
    term.wait_for("the conversation list", WAIT, team_listed);
    let pid = term.pid().expect("pid");
    kill(pid, "TSTP");
    let start = std::time::Instant::now();
    while process_state(pid) != Some('T') {
        assert!(start.elapsed() < WAIT, "roam did not stop on SIGTSTP");
        std::thread::sleep(Duration::from_millis(30));
    }
    assert_restored(&term, "SIGTSTP");
    // The shell writes while roam is stopped; continuing must draw over all of it.
    term.with_screen_mut(|p| p.process(b"\x1b[2J\x1b[Hshell$ fg"));
    kill(pid, "CONT");
    let back = term.wait_for("the list drawn again", WAIT, |s| {
        team_listed(s) && !s.contains("shell$")
    });
    assert!(
        term.with_screen(|p| p.screen().alternate_screen()),
        "{back}"
    );
    // And it still answers keys.
    term.send(b"?");
    term.wait_for("the help overlay", WAIT, |s| s.contains("quit"));
    // Esc and q apart: together they read as Alt-q.
    term.send(b"\x1b");
    term.wait_for("the help closed", WAIT, |s| !s.contains("this help"));
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).is_some());
    assert_restored(&term, "q after a stop");
}

#[test]
fn a_terminal_that_never_answers_the_cursor_query_still_gets_the_browser() {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut term = Pty::spawn_with(&[], 100, 30, cache.path(), &[], false);
    term.wait_for("the conversation list", WAIT, team_listed);
    term.send(b"q");
    let status = term.wait_exit(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status:?}");
    // One unanswered question, then roam stopped asking.
    let raw = term.raw();
    let asked = raw.windows(4).filter(|w| w == b"\x1b[6n").count();
    assert_eq!(asked, 1, "cursor queries sent");
}

#[test]
fn the_emoji_setting_skips_the_terminal_probe() {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut term = Pty::spawn(
        &[],
        100,
        30,
        cache.path(),
        &[("ROAM_EMOJI_SEQUENCES", "parts")],
    );
    term.wait_for("the conversation list", WAIT, team_listed);
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).is_some());
    let raw = term.raw();
    assert!(
        !raw.windows(4).any(|w| w == b"\x1b[6n"),
        "the terminal was asked"
    );
}

#[test]
fn narrow_terminals_show_one_pane_and_resize_keeps_working() {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut term = open_team_roam(cache.path(), 60, 20);
    let narrow = term.text();
    // One pane at a time below 80 columns: the list is not beside the history.
    assert!(!narrow.contains("conversations"), "{narrow}");
    term.resize(120, 40);
    term.wait_for("both panes after resize", WAIT, |s| {
        // mallory's row reads "Mallory…" once his (hostile) nickname arrives.
        s.contains("conversations") && s.to_lowercase().contains("mallory") && loaded(s) >= 50
    });
    term.resize(1, 1);
    std::thread::sleep(Duration::from_millis(200));
    term.resize(80, 24);
    term.wait_for("a usable screen again", WAIT, team_listed);
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn a_login_failure_is_one_clear_line_before_any_ui() {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut term = Pty::spawn(
        &[
            "--api-url",
            "http://127.0.0.1:1",
            "--appkey",
            "a#b",
            "--user",
            "u",
        ],
        100,
        30,
        cache.path(),
        &[("ROAM_PASSWORD", "not-the-password")],
    );
    let status = term
        .wait_exit(Duration::from_secs(30))
        .expect("roam gives up");
    assert!(!status.success());
    let text = term.text();
    assert!(text.contains("roam:"), "{text}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");
    assert!(!term.with_screen(|p| p.screen().alternate_screen()));
}

/// A deployment whose history endpoint stalls for 30 s: login and the list answer at once.
/// Returns its base URL; the server lives on its own thread until the test process ends.
fn stalling_deployment() -> String {
    use axum::Json;
    use axum::routing::{get, post};
    use serde_json::json;

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/a/b/token",
                    post(|| async { Json(json!({"access_token": "t0k3n", "expires_in": 3600})) }),
                )
                .route(
                    "/a/b/sdk/user/u/user_channels/list",
                    get(|| async {
                        Json(json!({"data": {"cursor": "", "channel_infos": [{
                            "session_to": "stalled-peer", "session_type": "chat",
                            "is_top": false, "unread_num": 3, "marks": [], "meta": {}
                        }]}}))
                    }),
                )
                .route(
                    "/a/b/users/u/messageroaming",
                    post(|| async {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        Json(json!({"data": {"msgs": [], "next_key": "", "is_last": true}}))
                    }),
                );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let addr = listener.local_addr().expect("address");
            tx.send(format!("http://{addr}"))
                .expect("hand over the address");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("server started")
}

#[test]
fn input_stays_answered_while_the_server_stalls() {
    let cache = tempfile::tempdir().expect("temp dir");
    let base = stalling_deployment();
    let mut term = Pty::spawn(
        &["--api-url", &base, "--appkey", "a#b", "--user", "u"],
        100,
        30,
        cache.path(),
        &[("ROAM_PASSWORD", "pw")],
    );
    term.wait_for("the list", WAIT, |s| s.contains("stalled-peer"));
    term.send(b"\r");
    term.wait_for("the history request in flight", WAIT, |s| {
        s.contains("loading")
    });
    // The request hangs for 30 s; the help overlay still opens and closes at once.
    term.send(b"?");
    term.wait_for("the help overlay", Duration::from_secs(5), |s| {
        s.contains("quit")
    });
    term.send(b"\x1b");
    term.send(b"\t");
    term.send(b"q");
    let started = std::time::Instant::now();
    let status = term
        .wait_exit(Duration::from_secs(10))
        .expect("q quits while the request hangs");
    assert!(status.success());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_jump_to_a_2022_date_in_team_roam_shows_that_day() {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut term = Pty::spawn(&[], 120, 40, cache.path(), &[("TZ", "UTC")]);
    term.wait_for("the conversation list", WAIT, team_listed);
    term.send(b"\r");
    term.wait_for("the newest page of the big group", WAIT, |s| {
        loaded(s) >= 50
    });
    term.send(b"t");
    term.wait_for("the jump prompt", WAIT, |s| s.contains("jump to:"));
    term.send(b"2022-06-01\r");
    let screen = term.wait_for("June 1st 2022 at the top", WAIT, |s| {
        s.contains("▸ 2022-06-01 00:00") && s.contains("2022-06-01 Wed")
    });
    // The sticky date row (the first row in the pane) says the day.
    let sticky = screen
        .lines()
        .find(|l| l.contains("2022-06-01 Wed ─"))
        .expect("the sticky date row");
    assert!(sticky.contains("┃2022-06-01 Wed"), "{screen}");
    // Back ('') returns to the newest messages.
    term.send(b"''");
    term.wait_for("back at the newest", WAIT, |s| !s.contains("2022-06-01"));
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn history_since_and_until_print_only_that_range() {
    let cache = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roam"))
        .args([
            "history",
            TEAM,
            "--group",
            "--since",
            "2022-03-01",
            "--until",
            "2022-03-02",
            "--limit",
            "1000",
            "--json",
        ])
        .env("ROAM_CACHE_DIR", cache.path())
        .env("TZ", "UTC")
        .output()
        .expect("run roam history");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    // Messages, then the paging state: the range ends, so nothing is left to continue.
    let (state, messages) = lines.split_last().expect("some lines");
    assert_eq!(state["is_last"], serde_json::Value::Bool(true), "{state}");
    let times: Vec<i64> = messages
        .iter()
        .map(|v| v["time"].as_i64().expect("a time"))
        .collect();
    assert!(times.len() > 10, "a busy group has messages on those days");
    let start = 1_646_092_800_000; // 2022-03-01 00:00 UTC
    let end = start + 2 * 86_400_000; // --until 2022-03-02 includes that day
    assert!(times.iter().all(|t| (start..end).contains(t)), "{times:?}");
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_roam"))
        .args(["history", TEAM, "--group", "--since", "someday"])
        .env("ROAM_CACHE_DIR", cache.path())
        .output()
        .expect("run roam history");
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("--since") && stderr.contains("someday"),
        "{stderr}"
    );
}

/// The demo database roam imported into `cache`.
fn demo_db(cache: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(cache)
        .expect("cache dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "sqlite"))
        .expect("the demo database")
}

/// A message to the big group from li.wei saying `text`, after everything in the demo.
fn team_message(id_offset: u64, text: &str) -> roam::protocol::Message {
    roam::protocol::Message {
        id: 1_150_000_000_000_000_000 + id_offset,
        from: "li.wei".into(),
        to: TEAM.into(),
        chat_type: roam::protocol::ChatType::Group,
        time: 1_751_328_000_000 + id_offset as i64 * 60_000, // 2025-07-01 00:00 UTC
        content: roam::protocol::Content::Text { text: text.into() },
        ext: serde_json::Map::new(),
        meta: None,
    }
}

#[test]
fn a_message_added_to_the_served_database_appears_without_a_restart() {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut term = open_team_roam(cache.path(), 120, 40);
    let mut store = roam::store::Store::open(&demo_db(cache.path())).expect("open the store");
    store
        .insert_messages(&[team_message(1, "added while roam runs")])
        .expect("insert");
    // r asks for what is newer; at the newest message the view follows it.
    term.send(b"r");
    term.wait_for("the new message after r", WAIT, |s| {
        s.contains("added while roam runs")
    });
    // The timer (every 30 s) brings the next one with no key pressed.
    store
        .insert_messages(&[team_message(2, "and this one on its own")])
        .expect("insert");
    term.wait_for(
        "the next message, by the timer",
        Duration::from_secs(75),
        |s| s.contains("and this one on its own"),
    );
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn the_cli_text_output_names_users_groups_and_keeps_ids_in_json() {
    let cache = tempfile::tempdir().expect("temp dir");
    let roam = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_roam"))
            .args(args)
            .env("ROAM_CACHE_DIR", cache.path())
            .output()
            .expect("run roam");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let list = roam(&["conversations"]);
    for shown in [
        "roam dev team (262857469362177)",
        "李伟 (li.wei)",
        "田中ゆき (tanaka_yuki)",
        "Omar Haddad (omar.haddad)",
    ] {
        assert!(list.contains(shown), "{shown} in {list}");
    }
    // mallory's nickname is hostile: shown, but inert.
    assert!(list.contains("(mallory)"), "{list}");
    assert!(!list.contains(['\u{1b}', '\u{202e}', '\u{7}']), "{list:?}");
    let json = roam(&["conversations", "--json"]);
    assert!(json.contains("\"262857469362177\"") && !json.contains("roam dev team"));
    let history = roam(&["history", TEAM, "--group", "--limit", "30"]);
    assert!(
        [
            "李伟 (li.wei)",
            "Sarah Chen (sarah.chen)",
            "田中ゆき (tanaka_yuki)"
        ]
        .iter()
        .any(|n| history.contains(n)),
        "{history}"
    );
}

#[test]
fn the_demo_shows_nicknames_and_group_names_and_ids_on_request() {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut term = Pty::spawn(&[], 120, 40, cache.path(), &[]);
    // The list: the big group by its name, a single chat by its peer's nickname.
    term.wait_for("names in the list", WAIT, |s| {
        s.contains(TEAM_NAME) && s.contains("李伟")
    });
    // Its history: senders by nickname, the title by the group's name.
    term.send(b"\r");
    let history = term.wait_for("names in the history", WAIT, |s| {
        loaded(s) >= 50 && s.contains(&format!("# {TEAM_NAME}"))
    });
    assert!(!history.contains(&format!("# {TEAM}")), "{history}");
    // I shows ids beside names, and hides them again.
    term.send(b"I");
    term.wait_for("ids beside names", WAIT, |s| {
        s.contains(&format!("{TEAM_NAME} ({TEAM})"))
    });
    term.send(b"I");
    term.wait_for("names alone again", WAIT, |s| {
        s.contains(TEAM_NAME) && !s.contains(&format!("({TEAM})"))
    });
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).is_some());
    // The names were kept on disk for the next start.
    let kept = std::fs::read_dir(cache.path())
        .expect("the cache dir")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .find(|n| n.starts_with("names-") && n.ends_with(".json"))
        .expect("a names file in the cache dir");
    let text = std::fs::read_to_string(cache.path().join(kept)).expect("read");
    assert!(text.contains(TEAM_NAME) && text.contains("李伟"), "{text}");
}

#[test]
fn the_pdf_omar_sent_downloads_into_the_downloads_directory() {
    let cache = tempfile::tempdir().expect("temp dir");
    let downloads = cache.path().join("downloads");
    let config = cache.path().join("config.toml");
    std::fs::write(
        &config,
        format!("downloads_dir = {:?}\n", downloads.display().to_string()),
    )
    .expect("write the config");
    let config = config.display().to_string();
    let mut term = Pty::spawn(&[], 120, 40, cache.path(), &[("ROAM_CONFIG", &config)]);
    term.wait_for("the conversation list", WAIT, team_listed);
    term.send(b":omar.haddad\r");
    // His ten messages, the PDF newest (the list's row shows it too: wait for the pane).
    term.wait_for("Omar's conversation, the PDF newest", WAIT, |s| {
        loaded(s) == 10
    });
    term.send(b"d");
    let screen = term.wait_for("the download to finish", WAIT, |s| s.contains("saved "));
    let saved: Vec<_> = std::fs::read_dir(&downloads)
        .expect("the downloads directory was made")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(saved, ["محضر_الاجتماع_دبي.pdf"], "{screen}");
    let bytes = std::fs::read(downloads.join(&saved[0])).expect("read the download");
    assert_eq!(bytes, roam::demo::files::pdf(), "the demo's PDF, whole");
    term.send(b"q");
    term.wait_exit(WAIT).expect("quits");
}

/// The conversations of the hits on screen in the search-all view: the name on each hit's
/// first row (`┃▌# roam dev team · 李伟        2025-06-29 16:41┃`).
fn hit_conversations(screen: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in screen.lines() {
        let Some(rest) = line.strip_prefix('┃') else {
            continue;
        };
        let rest = rest.trim_start_matches('▌');
        // A hit's first row ends with its date and time.
        let trimmed = rest.trim_end_matches('┃').trim_end();
        let dated = trimmed.len() > 16
            && trimmed
                .get(trimmed.len() - 16..)
                .is_some_and(|t| t.as_bytes()[4] == b'-' && t.as_bytes()[13] == b':');
        let Some((place, _)) = rest.split_once(" · ").filter(|_| dated) else {
            continue;
        };
        let name = place.trim_start_matches([' ', '#', '&']).trim().to_string();
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

#[test]
fn searching_all_history_for_a_two_character_word_finds_it_everywhere_and_opens_a_hit() {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut term = Pty::spawn(&[], 120, 40, cache.path(), &[("TZ", "UTC")]);
    term.wait_for("the conversation list", WAIT, team_listed);
    term.send(b"S");
    term.wait_for("the search-all view", WAIT, |s| {
        s.contains("search all history")
    });
    term.send("退避".as_bytes());
    term.send(b"\r");
    let screen = term.wait_for("hits from several conversations", WAIT, |s| {
        s.contains(" found") && hit_conversations(s).len() > 1
    });
    let places = hit_conversations(&screen);
    assert!(places.len() > 1, "{places:?}\n{screen}");
    // The selected hit's snippet: the row after its first row.
    let lines: Vec<&str> = screen.lines().collect();
    let snippet = lines
        .iter()
        .position(|l| l.starts_with("┃▌") && l.contains(" · "))
        .and_then(|i| lines.get(i + 1))
        .expect("the selected hit's snippet row")
        .trim_start_matches(['┃', '▌', ' '])
        .trim_end_matches(['┃', ' '])
        .trim_matches('…')
        .to_string();
    assert!(snippet.contains("退避"), "{snippet:?}");
    term.send(b"\r");
    // The conversation opens at the message, selected (its rows carry the mark).
    let opened = term.wait_for("the hit selected in its conversation", WAIT, |s| {
        s.contains("hit 1 of")
            && s.lines().any(|l| {
                l.split_once("┃▌")
                    .is_some_and(|(_, body)| body.contains("退避"))
            })
    });
    assert!(!opened.contains("search all history"), "{opened}");
    // Back to the hits, then a longer query: the trigram index answers it.
    term.send(b"S");
    term.wait_for("the hits again", WAIT, |s| s.contains("search all history"));
    term.send(b"S");
    term.send(b"\x7f\x7f");
    term.send(b"sqlite\r");
    let screen = term.wait_for("hits for sqlite", WAIT, |s| {
        let searched = s
            .lines()
            .nth(1)
            .is_some_and(|input| input.contains("sqlite") && !input.contains('█'));
        searched && s.contains(" found") && s.to_lowercase().matches("sqlite").count() > 2
    });
    assert!(!hit_conversations(&screen).is_empty(), "{screen}");
    assert!(!screen.contains("退避"), "the old hits are gone: {screen}");
    term.send(b"\x1b");
    term.wait_for("the view closed", WAIT, |s| {
        !s.contains("search all history")
    });
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).is_some());
}
