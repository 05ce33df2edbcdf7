//! `roam import`: export files, plain and gzip, with malformed lines, imported twice.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;
use flate2::Compression;
use flate2::write::GzEncoder;
use roam::protocol::{ChatType, Direction, HistoryFilters, HistoryQuery};
use roam::store::import::ImportError;
use roam::store::{ImportOptions, Store, import_files, import_reader};

fn quiet() -> ImportOptions {
    ImportOptions {
        progress: false,
        batch_size: 7,
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

#[test]
fn malformed_lines_are_reported_with_numbers_and_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (text, good) = export_text();
    let path = write_plain(dir.path(), "2024052910.jsonl", &text);
    let mut store = Store::open(&dir.path().join("roam.db")).expect("open");
    let summary = import_files(&mut store, std::slice::from_ref(&path), &quiet()).expect("import");
    assert_eq!(summary.new, good as u64);
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
    assert_eq!(store.message_count().expect("count"), good as u64);
    // Everything good is readable, in order.
    let page = store
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
        .expect("history");
    assert_eq!(page.messages.len(), good);
    assert!(page.is_last);
}

#[test]
fn importing_twice_adds_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (text, good) = export_text();
    let path = write_plain(dir.path(), "export.json", &text);
    let mut store = Store::open(&dir.path().join("roam.db")).expect("open");
    let first = import_files(&mut store, std::slice::from_ref(&path), &quiet()).expect("first");
    let second = import_files(&mut store, &[path], &quiet()).expect("second");
    assert_eq!(first.new, good as u64);
    assert_eq!((second.new, second.duplicates), (0, good as u64));
    assert_eq!(second.rejected_total, 5);
    assert_eq!(store.message_count().expect("count"), good as u64);
    assert_eq!(store.conversations("alice").expect("list").len(), 1);
}

#[test]
fn gzip_is_told_by_magic_bytes_not_the_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let messages = alice_bob(25);
    let text: String = messages.iter().map(|m| line(m) + "\n").collect();
    let gz = write_gz(dir.path(), "hour.gz", &text);
    let disguised = write_gz(dir.path(), "hour-two.jsonl", &text);
    let plain_named_gz = write_plain(dir.path(), "plain.gz", &text);
    for path in [gz, disguised, plain_named_gz] {
        let mut store = Store::open_in_memory().expect("store");
        let summary = import_files(&mut store, std::slice::from_ref(&path), &quiet())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(summary.new, 25, "{}", path.display());
        assert_eq!(summary.rejected_total, 0, "{:?}", summary.rejected);
    }
    // Several files in one run: the second one's messages are duplicates.
    let mut store = Store::open_in_memory().expect("store");
    let a = write_gz(dir.path(), "a.gz", &text);
    let b = write_plain(dir.path(), "b.json", &text);
    let summary = import_files(&mut store, &[a, b], &quiet()).expect("import");
    assert_eq!(
        (summary.read, summary.new, summary.duplicates),
        (50, 25, 25)
    );
}

#[test]
fn a_truncated_gzip_keeps_what_was_read_and_says_where_it_broke() {
    let messages = alice_bob(200);
    let text: String = messages.iter().map(|m| line(m) + "\n").collect();
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(text.as_bytes()).expect("compress");
    let bytes = gz.finish().expect("finish");
    let cut = &bytes[..bytes.len() * 2 / 3];
    let mut store = Store::open_in_memory().expect("store");
    let summary = import_reader(&mut store, "cut.gz", cut, &quiet()).expect("import");
    assert_eq!(summary.rejected_total, 1);
    assert!(
        summary.rejected[0].reason.contains("read error"),
        "{:?}",
        summary.rejected
    );
    assert!(summary.new > 0 && summary.new < 200, "{summary}");
    assert_eq!(store.message_count().expect("count"), summary.new);
}

#[test]
fn a_missing_file_stops_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text: String = alice_bob(5).iter().map(|m| line(m) + "\n").collect();
    let good = write_plain(dir.path(), "good.json", &text);
    let mut store = Store::open_in_memory().expect("store");
    let err = import_files(&mut store, &[good, dir.path().join("nope.json")], &quiet())
        .expect_err("missing file");
    assert!(matches!(err, ImportError::Open { .. }), "{err}");
    assert!(err.to_string().contains("nope.json"));
    assert_eq!(store.message_count().expect("count"), 0);
}

#[test]
fn ids_are_lowercased_on_import() {
    let mut message = text(BASE_ID, 5, "Alice", "BOB", ChatType::Single, "hello");
    let first = line(&message);
    message.id += 1;
    message.from = "TeamLead".into();
    message.to = "Team-X".into();
    message.chat_type = ChatType::Group;
    let text = format!("{first}\n{}\n", line(&message));
    let mut store = Store::open_in_memory().expect("store");
    let summary = import_reader(&mut store, "mem", text.as_bytes(), &quiet()).expect("import");
    assert_eq!(summary.new, 2);
    let list = store.conversations("bob").expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, "alice");
    let last = list[0].last_message.as_ref().expect("last");
    assert_eq!((last.from.as_str(), last.to.as_str()), ("alice", "bob"));
    let list = store.conversations("teamlead").expect("list");
    assert_eq!(list[0].id, "team-x");
}

#[test]
fn ext_key_order_survives_import_and_the_store() {
    let line = r#"{"msg_id":"1300000000000000001","timestamp":5,"direction":"outgoing","from":"alice","to":"bob","chat_type":"chat","payload":{"bodies":[{"type":"custom","customEvent":"gift","customExts":{"zeta":1,"alpha":2,"mid":3}}],"ext":{"zz":1,"aa":{"y":1,"b":2},"mm":"x"},"from":"alice","to":"bob","type":"chat"}}"#;
    let mut store = Store::open_in_memory().expect("store");
    let summary = import_reader(&mut store, "mem", line.as_bytes(), &quiet()).expect("import");
    assert_eq!(summary.new, 1, "{:?}", summary.rejected);
    let q = HistoryQuery {
        conversation: "bob".into(),
        kind: ChatType::Single,
        cursor: None,
        page_size: 10,
        direction: Direction::Up,
        filters: HistoryFilters::default(),
    };
    let page = store.history("alice", &q).expect("history");
    let m = &page.messages[0];
    let keys: Vec<&str> = m.ext.keys().map(String::as_str).collect();
    assert_eq!(keys, ["zz", "aa", "mm"]);
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
    let listed = store.conversations("bob").expect("list");
    let last = listed[0].last_message.as_ref().expect("last");
    let keys: Vec<&str> = last.ext.keys().map(String::as_str).collect();
    assert_eq!(keys, ["zz", "aa", "mm"]);
}
