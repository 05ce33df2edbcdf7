//! `roam sync` as a person runs it, on the demo: a summary on stderr, the library in the
//! data folder, and a sync killed with SIGKILL mid-walk that a second run completes, the
//! library then holding exactly the server's messages.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::stored_ids;
use roam::demo::{BOOK_CLUB, DEMO_APPKEY, DEMO_USER, FAMILY};
use roam::library::Library;
use roam::protocol::ChatType;
use roam::store::Store;

const ROAM: &str = env!("CARGO_BIN_EXE_roam");

struct Dirs {
    cache: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl Dirs {
    fn new() -> Dirs {
        Dirs {
            cache: tempfile::tempdir().expect("temp dir"),
            data: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn sync(&self, args: &[&str]) -> Command {
        let mut command = Command::new(ROAM);
        command
            .arg("sync")
            .args(args)
            .env("ROAM_CACHE_DIR", self.cache.path())
            .env("ROAM_DATA_DIR", self.data.path())
            .stdin(Stdio::null());
        command
    }

    fn library_path(&self) -> std::path::PathBuf {
        Library::path_for(self.data.path(), "demo", DEMO_APPKEY, DEMO_USER)
    }
}

fn held_messages(path: &std::path::Path) -> i64 {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .unwrap_or(0)
}

#[test]
fn a_sync_killed_mid_walk_is_completed_by_the_next_one() {
    let dirs = Dirs::new();
    let out = dirs.sync(&[BOOK_CLUB]).output().expect("roam sync runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("synced 1 conversations"), "{stderr}");
    let path = dirs.library_path();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("library file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the library is private: {mode:o}");
    }

    // Five pages a second: killed after a few, well before the family's 21.
    let before = held_messages(&path);
    let mut child = dirs
        .sync(&[FAMILY, "--rate", "5"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("roam sync starts");
    let started = Instant::now();
    while held_messages(&path) < before + 120 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the sync made no progress"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let family_held = held_messages(&path);

    let out = dirs
        .sync(&[FAMILY, "--rate", "0"])
        .output()
        .expect("roam sync runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(held_messages(&path) > family_held, "{stderr}");

    let server =
        Store::open(&roam::embedded::demo_database(dirs.cache.path()).expect("the demo database"))
            .expect("demo store");
    let library = Store::open(&path).expect("library store");
    for conversation in [FAMILY, BOOK_CLUB] {
        assert_eq!(
            stored_ids(&library, DEMO_USER, conversation, ChatType::Group),
            stored_ids(&server, DEMO_USER, conversation, ChatType::Group),
            "{conversation}"
        );
    }
}

#[test]
fn bad_flags_are_clear_errors() {
    let dirs = Dirs::new();
    for (args, expected) in [
        (vec!["--since", "someday"], "--since"),
        (vec!["--rate=-3"], "--rate"),
        (vec!["--rate", "NaN"], "--rate"),
    ] {
        let out = dirs.sync(&args).output().expect("roam sync runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
