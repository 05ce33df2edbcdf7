//! `roam import`: export files, plain and gzip, with malformed lines, imported twice; on
//! both back ends (see `common::backends`), through the library and the real binary. (How
//! batches bound memory: tests/import_batches.rs.)

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::backends::{db_arg, each_backend, fresh_db};
use common::*;
use flate2::Compression;
use flate2::write::GzEncoder;
use roam::protocol::{ChatType, Direction, HistoryFilters, HistoryQuery};
use roam::store::import::ImportError;
use roam::store::{Db, ImportOptions};

fn quiet() -> ImportOptions {
    ImportOptions {
        progress: false,
        batch_size: 7,
        ..ImportOptions::default()
    }
}

/// An export with good lines and, at known line numbers, bad ones.
fn export_text() -> (String, usize) {
    let messages = alice_bob(40);
    let mut lines: Vec<String> = messages.iter().map(line).collect();
    lines.insert(2, "{not json".into()); // line 3
    lines.insert(5, String::new()); // line 6: blank, skipped silently
    lines.insert(
        9,
        r#"{"msg_id":"12ab","timestamp":1,"from":"a","to":"b","chat_type":"chat","payload":{"bodies":[{"type":"txt","msg":"x"}]}}"#.into(),
    ); // line 10
    lines.insert(
        12,
        r#"{"msg_id":"5","timestamp":1,"from":"a","to":"b","chat_type":"walkie","payload":{"bodies":[{"type":"txt","msg":"x"}]}}"#.into(),
    ); // line 13
    lines.insert(
        20,
        r#"{"msg_id":"6","timestamp":1,"from":"a","to":"b","chat_type":"chat","payload":{"bodies":[]}}"#.into(),
    ); // line 21
    lines.insert(
        30,
        r#"{"msg_id":"7","timestamp":1,"from":"a b","to":"b","chat_type":"chat","payload":{"bodies":[{"type":"txt","msg":"x"}]}}"#.into(),
    ); // line 31
    (lines.join("\n") + "\r\n", 40)
}

fn write_plain(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write export");
    path
}

fn write_gz(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).expect("create");
    let mut gz = GzEncoder::new(file, Compression::fast());
    gz.write_all(text.as_bytes()).expect("compress");
    gz.finish().expect("finish");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_lines_are_reported_with_numbers_and_skipped() {
    each_backend(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (text, good) = export_text();
        let path = write_plain(dir.path(), "2024052910.jsonl", &text);
        let db = fresh_db("malformed").await;
        let summary = db
            .import_files(std::slice::from_ref(&path), &quiet())
            .await
            .expect("import");
        assert_eq!(summary.new, good as u64, "{}", db.kind());
        assert_eq!(summary.duplicates, 0);
        assert_eq!(summary.rejected_total, 5);
        assert_eq!(summary.read, good as u64 + 5);
        let lines: Vec<u64> = summary.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 10, 13, 21, 31]);
        let shown: Vec<String> = summary.rejected.iter().map(ToString::to_string).collect();
        let name = path.display().to_string();
        assert!(
            shown[0].starts_with(&format!("{name}:3: not an export line")),
            "{}",
            shown[0]
        );
        assert!(shown[1].contains("12ab"), "{}", shown[1]);
        assert!(shown[2].contains("walkie"), "{}", shown[2]);
        assert!(shown[3].contains("no body"), "{}", shown[3]);
        assert!(shown[4].contains("from"), "{}", shown[4]);
        assert_eq!(db.message_count().await.expect("count"), good as u64);
        // Everything good is readable, in order.
        let page = db
            .history(
                "alice",
                &HistoryQuery {
                    conversation: "bob".into(),
                    kind: ChatType::Single,
                    cursor: None,
                    page_size: 50,
                    direction: Direction::Down,
                    filters: HistoryFilters::default(),
                },
            )
            .await
            .expect("history");
        assert_eq!(page.messages.len(), good);
        assert!(page.is_last);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_twice_adds_nothing() {
    each_backend(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (text, good) = export_text();
        let path = write_plain(dir.path(), "export.json", &text);
        let db = fresh_db("twice").await;
        let first = db
            .import_files(std::slice::from_ref(&path), &quiet())
            .await
            .expect("first");
        let second = db.import_files(&[path], &quiet()).await.expect("second");
        assert_eq!(first.new, good as u64, "{}", db.kind());
        assert_eq!((second.new, second.duplicates), (0, good as u64));
        assert_eq!(second.rejected_total, 5);
        assert_eq!(db.message_count().await.expect("count"), good as u64);
        assert_eq!(db.conversations("alice").await.expect("list").len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_is_told_by_magic_bytes_not_the_name() {
    each_backend(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let messages = alice_bob(25);
        let text: String = messages.iter().map(|m| line(m) + "\n").collect();
        let gz = write_gz(dir.path(), "hour.gz", &text);
        let disguised = write_gz(dir.path(), "hour-two.jsonl", &text);
        let plain_named_gz = write_plain(dir.path(), "plain.gz", &text);
        for path in [gz, disguised, plain_named_gz] {
            let db = fresh_db("gzip").await;
            let summary = db
                .import_files(std::slice::from_ref(&path), &quiet())
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(summary.new, 25, "{} {}", db.kind(), path.display());
            assert_eq!(summary.rejected_total, 0, "{:?}", summary.rejected);
        }
        // Several files in one run: the second one's messages are duplicates.
        let db = fresh_db("gzip_two").await;
        let a = write_gz(dir.path(), "a.gz", &text);
        let b = write_plain(dir.path(), "b.json", &text);
        let summary = db.import_files(&[a, b], &quiet()).await.expect("import");
        assert_eq!(
            (summary.read, summary.new, summary.duplicates),
            (50, 25, 25),
            "{}",
            db.kind()
        );
    })
    .await;
}

/// 200 export lines, gzipped: (the text, the compressed bytes).
fn gzipped_export() -> (String, Vec<u8>) {
    let text: String = alice_bob(200).iter().map(|m| line(m) + "\n").collect();
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(text.as_bytes()).expect("compress");
    (text, gz.finish().expect("finish"))
}

/// The byte offset just after line `n` of `text`.
fn end_of_line(text: &str, n: u64) -> u64 {
    text.split_inclusive('\n')
        .take(n as usize)
        .map(|l| l.len() as u64)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_gzip_keeps_what_was_read_and_says_where_it_broke() {
    each_backend(|| async {
        let (text, bytes) = gzipped_export();
        let cut = bytes[..bytes.len() * 2 / 3].to_vec();
        let cut_len = cut.len() as u64;
        let db = fresh_db("truncated").await;
        let summary = db
            .import_reader("cut.gz", std::io::Cursor::new(cut), &quiet())
            .await
            .expect("import");
        assert!(!summary.is_complete());
        assert_eq!(summary.rejected_total, 0, "{:?}", summary.rejected);
        assert_eq!(summary.unreadable.len(), 1, "{summary}");
        let broke = &summary.unreadable[0];
        assert_eq!(broke.file, "cut.gz");
        // Every whole line before the break was imported, and the offsets say where it is.
        assert!(broke.line > 0 && broke.line < 200, "{broke}");
        assert_eq!(summary.new, broke.line, "{} {summary}", db.kind());
        assert_eq!(db.message_count().await.expect("count"), summary.new);
        assert!(
            broke.content_offset >= end_of_line(&text, broke.line),
            "{broke}"
        );
        assert!(
            broke.content_offset < end_of_line(&text, broke.line + 1),
            "{broke}"
        );
        assert!(broke.offset > 0 && broke.offset <= cut_len, "{broke}");
        let shown = broke.to_string();
        assert!(
            shown.starts_with(&format!(
                "cut.gz: unreadable after line {} (byte {} of the file, byte {} of its content)",
                broke.line, broke.offset, broke.content_offset
            )),
            "{shown}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_gzip_keeps_what_was_read_and_says_where_it_broke() {
    each_backend(|| async {
        let (_, mut bytes) = gzipped_export();
        // Garbage in the middle of the deflate stream (past the 10-byte header).
        let middle = bytes.len() / 2;
        for b in &mut bytes[middle..middle + 16] {
            *b ^= 0x5a;
        }
        let db = fresh_db("corrupt").await;
        let summary = db
            .import_reader("bad.gz", std::io::Cursor::new(bytes), &quiet())
            .await
            .expect("import");
        assert_eq!(summary.unreadable.len(), 1, "{summary}");
        let broke = &summary.unreadable[0];
        assert!(broke.line < 200, "{broke}");
        assert!(broke.offset > 10, "{broke}");
        // Lines decoded before the garbage are kept; none after it.
        assert_eq!(
            db.message_count().await.expect("count"),
            summary.new,
            "{}",
            db.kind()
        );
        assert!(summary.new <= broke.line, "{summary} {broke}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roam_import_fails_on_a_truncated_export_and_keeps_what_it_read() {
    each_backend(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_, bytes) = gzipped_export();
        let cut = dir.path().join("2024052910.gz");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
        let good_text: String = alice_bob(3)
            .iter()
            .map(|m| {
                let mut m = m.clone();
                m.id += 10_000;
                line(&m) + "\n"
            })
            .collect();
        let good = write_plain(dir.path(), "next.json", &good_text);
        let db = db_arg(dir.path(), "cli_truncated");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_roam"))
            .args(["import", "--quiet", "--db", &db])
            .arg(&cut)
            .arg(&good)
            .output()
            .expect("run roam");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!("{}: unreadable after line", cut.display())),
            "{stderr}"
        );
        assert!(stderr.contains("could not be read to the end"), "{stderr}");
        // The lines before the break, and the next file, are in the database.
        let stored = Db::open(&db)
            .await
            .expect("open")
            .message_count()
            .await
            .expect("count");
        let imported: u64 = stderr
            .split(" new,")
            .next()
            .and_then(|head| head.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("the summary line names the new messages");
        assert_eq!(stored, imported, "{stderr}");
        assert!(stored > 3, "{stderr}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_stops_before_anything_is_written() {
    each_backend(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let text: String = alice_bob(5).iter().map(|m| line(m) + "\n").collect();
        let good = write_plain(dir.path(), "good.json", &text);
        let db = fresh_db("missing").await;
        let err = db
            .import_files(&[good, dir.path().join("nope.json")], &quiet())
            .await
            .expect_err("missing file");
        assert!(matches!(err, ImportError::Open { .. }), "{err}");
        assert!(err.to_string().contains("nope.json"));
        assert_eq!(db.message_count().await.expect("count"), 0, "{}", db.kind());
    })
    .await;
}

/// Imports `text` (export lines) as one stream named "mem".
async fn import_text(db: &Db, text: String) -> roam::store::ImportSummary {
    db.import_reader("mem", std::io::Cursor::new(text.into_bytes()), &quiet())
        .await
        .expect("import")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_lowercased_on_import() {
    each_backend(|| async {
        let mut message = text(BASE_ID, 5, "Alice", "BOB", ChatType::Single, "hello");
        let first = line(&message);
        message.id += 1;
        message.from = "TeamLead".into();
        message.to = "Team-X".into();
        message.chat_type = ChatType::Group;
        let db = fresh_db("lowercase").await;
        let summary = import_text(&db, format!("{first}\n{}\n", line(&message))).await;
        assert_eq!(summary.new, 2, "{}", db.kind());
        let list = db.conversations("bob").await.expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, "alice");
        let last = list[0].last_message.as_ref().expect("last");
        assert_eq!((last.from.as_str(), last.to.as_str()), ("alice", "bob"));
        let list = db.conversations("teamlead").await.expect("list");
        assert_eq!(list[0].id, "team-x", "{}", db.kind());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ext_key_order_survives_import_and_the_store() {
    each_backend(|| async {
        let line = r#"{"msg_id":"1300000000000000001","timestamp":5,"direction":"outgoing","from":"alice","to":"bob","chat_type":"chat","payload":{"bodies":[{"type":"custom","customEvent":"gift","customExts":{"zeta":1,"alpha":2,"mid":3}}],"ext":{"zz":1,"aa":{"y":1,"b":2},"mm":"x"},"from":"alice","to":"bob","type":"chat"}}"#;
        let db = fresh_db("ext_order").await;
        let summary = import_text(&db, line.to_string()).await;
        assert_eq!(summary.new, 1, "{:?}", summary.rejected);
        let q = HistoryQuery {
            conversation: "bob".into(),
            kind: ChatType::Single,
            cursor: None,
            page_size: 10,
            direction: Direction::Up,
            filters: HistoryFilters::default(),
        };
        let page = db.history("alice", &q).await.expect("history");
        let m = &page.messages[0];
        let keys: Vec<&str> = m.ext.keys().map(String::as_str).collect();
        assert_eq!(keys, ["zz", "aa", "mm"], "{}", db.kind());
        let nested: Vec<&str> = m.ext["aa"]
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(nested, ["y", "b"]);
        match &m.content {
            roam::protocol::Content::Custom { exts, .. } => {
                let keys: Vec<&str> = exts.keys().map(String::as_str).collect();
                assert_eq!(keys, ["zeta", "alpha", "mid"]);
            }
            other => panic!("{other:?}"),
        }
        let listed = db.conversations("bob").await.expect("list");
        let last = listed[0].last_message.as_ref().expect("last");
        let keys: Vec<&str> = last.ext.keys().map(String::as_str).collect();
        assert_eq!(keys, ["zz", "aa", "mm"], "{}", db.kind());
    })
    .await;
}

/// A private group of bob and carol with five messages, as export lines.
fn private_group_lines() -> Vec<String> {
    (0..5)
        .map(|i| {
            let from = if i % 2 == 0 { "bob" } else { "carol" };
            line(&text(
                BASE_ID + i,
                1_000 + i as i64,
                from,
                "secret",
                ChatType::Group,
                "members only",
            ))
        })
        .collect()
}

fn group_query(kind: ChatType) -> HistoryQuery {
    HistoryQuery {
        conversation: "secret".into(),
        kind,
        cursor: None,
        page_size: 50,
        direction: Direction::Up,
        filters: HistoryFilters::default(),
    }
}

/// The group is still private: a non-member reads nothing of it as a group or a room, and
/// it stays in its members' lists.
async fn assert_still_private(db: &Db) {
    for kind in [ChatType::Group, ChatType::Room] {
        let read = db.history("mallory", &group_query(kind)).await;
        assert!(
            matches!(read, Err(roam::store::StoreError::Forbidden { .. })),
            "{} {kind:?}: {read:?}",
            db.kind()
        );
    }
    for member in ["bob", "carol"] {
        let list = db.conversations(member).await.expect("list");
        assert!(
            list.iter()
                .any(|c| c.id == "secret" && c.kind == ChatType::Group),
            "{member}: {list:?}"
        );
    }
    let page = db
        .history("bob", &group_query(ChatType::Group))
        .await
        .expect("page");
    assert_eq!(page.messages.len(), 5);
    assert!(page.messages.iter().all(|m| m.from != "mallory"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_room_line_addressed_to_a_private_group_is_rejected_not_applied() {
    each_backend(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = roam::store::state::StateFile::parse(
            r#"{"groups":[{"id":"secret","members":["bob","carol"]}]}"#,
        )
        .expect("state");
        // The attack: one chat-room line to the group's id, the newest line of the export.
        let attack = line(&text(
            BASE_ID + 100,
            9_999,
            "mallory",
            "secret",
            ChatType::Room,
            "a room now?",
        ));
        let mut lines = private_group_lines();
        lines.push(attack.clone());
        let path = write_plain(dir.path(), "export.jsonl", &(lines.join("\n") + "\n"));
        let db = fresh_db("private").await;
        let summary = db
            .import_files(std::slice::from_ref(&path), &quiet())
            .await
            .expect("import");
        db.apply_state(&state).await.expect("state");
        assert_eq!(
            (summary.new, summary.rejected_total),
            (5, 1),
            "{} {summary}",
            db.kind()
        );
        let shown = summary.rejected[0].to_string();
        assert!(
            shown.starts_with(&format!(
                "{}:6: a chatroom message to \"secret\", which is a groupchat conversation",
                path.display()
            )),
            "{shown}"
        );
        assert_still_private(&db).await;
        assert_eq!(db.message_count().await.expect("count"), 5);

        // The state file fixes the kind before any message: the attack as the group's first
        // line is rejected too, and the group's own lines still go in.
        let db = fresh_db("private_state_first").await;
        db.apply_state(&state).await.expect("state");
        let export = format!("{attack}\n{}\n", private_group_lines().join("\n"));
        let summary = import_text(&db, export).await;
        assert_eq!(
            (summary.new, summary.rejected_total),
            (5, 1),
            "{} {summary}",
            db.kind()
        );
        assert_eq!(summary.rejected[0].line, 1);
        assert_still_private(&db).await;

        // And a room stays a room: a group line to a room's id is rejected the same way.
        let room = line(&text(
            BASE_ID + 200,
            1,
            "dave",
            "lobby",
            ChatType::Room,
            "hi",
        ));
        let group = line(&text(
            BASE_ID + 201,
            2,
            "erin",
            "lobby",
            ChatType::Group,
            "mine?",
        ));
        let summary = import_text(&db, format!("{room}\n{group}\n")).await;
        assert_eq!(
            (summary.new, summary.rejected_total),
            (1, 1),
            "{} {summary}",
            db.kind()
        );
        assert!(summary.rejected[0].reason.contains("chatroom conversation"));
        assert!(db.conversations("erin").await.expect("list").is_empty());
    })
    .await;
}
