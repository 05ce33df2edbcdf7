//! `roam import` into PostgreSQL against the same import into SQLite: an export of many
//! conversations, in small batches, with duplicates inside and across batches, a kind
//! conflict and times out of order, leaves the same lists and counts in both; importing
//! an overlapping file again adds only what is new. Runs against a throwaway cluster (see
//! `common::postgres`) and skips, saying so, without one.

mod common;

use std::path::{Path, PathBuf};

use common::postgres::raw;
use common::{BASE_ID, image, line, postgres, text};
use roam::protocol::{ChatType, Conversation, Message};
use roam::store::pg::{PgImport, PgStore, TRIGRAM_INDEX};
use roam::store::{ImportOptions, ImportSummary, Store, import_files};

const USERS: u64 = 40;
const GROUPS: u64 = 7;

/// A small deterministic generator (SplitMix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Message `i`: single chats among `USERS` users and a few groups, times jumping back
/// and forth (so a conversation's newest message is not its last line), some images.
fn message(i: u64) -> Message {
    let r = mix(i);
    let from = format!("User{}", r % USERS);
    let time = 1_700_000_000_000 + (mix(r) % 100_000) as i64;
    let id = BASE_ID + i;
    if r.is_multiple_of(5) {
        let group = format!("6600{}", (r >> 8) % GROUPS);
        text(id, time, &from, &group, ChatType::Group, &format!("g {i}"))
    } else {
        let to = format!("user{}", (r >> 16) % USERS);
        if r.is_multiple_of(7) {
            image(id, time, &from, &to, ChatType::Single)
        } else {
            text(id, time, &from, &to, ChatType::Single, &format!("s {i}"))
        }
    }
}

/// Writes an export of messages `range`, plus, every 50 lines, a line repeating an
/// earlier id with other content (the first copy wins) and one room message into a group
/// (a kind conflict, rejected).
fn export(path: &Path, range: std::ops::Range<u64>) -> PathBuf {
    let mut lines = Vec::new();
    for i in range.clone() {
        let m = message(i);
        if m.to != m.from.to_ascii_lowercase() {
            lines.push(line(&m));
        }
        if i % 50 == 49 {
            let earlier = message(i - 30);
            lines.push(line(&text(
                earlier.id,
                earlier.time + 1,
                "someone",
                "else",
                ChatType::Single,
                "a second copy",
            )));
        }
        if i % 500 == 250 {
            let mut room = message(i);
            room.id = BASE_ID + 10_000_000 + i;
            room.to = "66000".into();
            room.chat_type = ChatType::Room;
            lines.push(line(&room));
        }
    }
    std::fs::write(path, lines.join("\n") + "\n").expect("write export");
    path.to_path_buf()
}

/// Small batches, so duplicates and conversations cross batch boundaries.
fn options() -> ImportOptions {
    ImportOptions {
        progress: false,
        batch_size: 97,
        ..ImportOptions::default()
    }
}

fn users() -> Vec<String> {
    (0..USERS).map(|u| format!("user{u}")).collect()
}

/// Every user's list, sorted by conversation id (the order of equal times is free).
fn sorted(mut list: Vec<Conversation>) -> Vec<Conversation> {
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list
}

/// The counts of a summary that both back ends must agree on.
fn counts(s: &ImportSummary) -> (u64, u64, u64, u64) {
    (s.read, s.new, s.duplicates, s.rejected_total)
}

/// The indexes an import into an empty database sets aside and makes at its end.
const SET_ASIDE: [&str; 4] = [
    TRIGRAM_INDEX,
    "messages_by_type",
    "messages_by_sender",
    "search_docs_by_conv",
];

/// Which of `names` the database lacks.
async fn missing_indexes(url: &str, names: &[&str]) -> Vec<String> {
    let client = raw(url).await;
    let mut missing = Vec::new();
    for name in names {
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[name])
            .await
            .expect("index query")
            .get(0);
        if !exists {
            missing.push(name.to_string());
        }
    }
    missing
}

/// A throwaway database's URL, a runtime and a folder for the export files; `None`
/// (said) without PostgreSQL.
fn setup(hint: &str) -> Option<(String, tokio::runtime::Runtime, tempfile::TempDir)> {
    let (_, url) = postgres::database(hint)?;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    Some((url, rt, tempfile::tempdir().expect("dir")))
}

#[test]
fn a_many_conversation_import_matches_sqlite_and_a_reimport_adds_only_the_new() {
    let Some((url, rt, dir)) = setup("import_matches") else {
        return;
    };
    let first = export(&dir.path().join("first.jsonl"), 0..3_000);
    // Overlaps the first file's second half, and goes on past it.
    let second = export(&dir.path().join("second.jsonl"), 1_500..4_000);

    let mut sqlite = Store::open(&dir.path().join("roam.db")).expect("sqlite");
    let pg = rt.block_on(PgStore::connect(&url)).expect("store");
    let mut import = PgImport::new(pg.clone(), rt.handle().clone());

    let lite_first =
        import_files(&mut sqlite, std::slice::from_ref(&first), &options()).expect("sqlite import");
    let pg_first = import
        .import_files(std::slice::from_ref(&first), &options())
        .expect("pg import");
    assert!(lite_first.new > 2_000 && lite_first.duplicates >= 59);
    assert!(lite_first.rejected_total >= 6, "{lite_first}");
    assert_eq!(counts(&pg_first), counts(&lite_first));
    assert_eq!(pg_first.rejected, lite_first.rejected);
    // The first import into the empty database set indexes aside and made them again at
    // its end.
    assert_eq!(
        rt.block_on(missing_indexes(&url, &SET_ASIDE)),
        Vec::<String>::new()
    );

    // The same file again adds nothing.
    let pg_again = import
        .import_files(std::slice::from_ref(&first), &options())
        .expect("pg import again");
    assert_eq!(pg_again.new, 0);
    assert_eq!(pg_again.duplicates, lite_first.new + lite_first.duplicates);
    let stored = rt.block_on(pg.message_count()).expect("count");
    assert_eq!(stored, lite_first.new);

    // An overlapping file adds only its new part, as in SQLite.
    let lite_second = import_files(&mut sqlite, std::slice::from_ref(&second), &options())
        .expect("sqlite import");
    let pg_second = import
        .import_files(std::slice::from_ref(&second), &options())
        .expect("pg import");
    assert!(lite_second.new > 500 && lite_second.duplicates > 1_000);
    assert_eq!(counts(&pg_second), counts(&lite_second));
    let stored = rt.block_on(pg.message_count()).expect("count");
    assert_eq!(stored, lite_first.new + lite_second.new);

    // Every list the same: the conversations, their kinds and their newest messages.
    let mut conversations = 0;
    for user in users() {
        let lite = sorted(sqlite.conversations(&user).expect("sqlite list"));
        let pg = sorted(rt.block_on(pg.conversations(&user)).expect("pg list"));
        assert_eq!(pg, lite, "{user}'s list");
        conversations += lite.len();
    }
    assert!(conversations > 500, "{conversations} conversations");
}

#[test]
fn a_start_makes_the_indexes_an_import_that_died_left_aside() {
    let Some((url, rt, dir)) = setup("import_died") else {
        return;
    };
    let file = export(&dir.path().join("export.jsonl"), 0..500);
    let pg = rt.block_on(PgStore::connect(&url)).expect("store");
    PgImport::new(pg, rt.handle().clone())
        .import_files(std::slice::from_ref(&file), &options())
        .expect("import");
    // As an import leaves the database when it dies before its end.
    rt.block_on(async {
        for name in SET_ASIDE {
            raw(&url)
                .await
                .batch_execute(&format!("DROP INDEX {name}"))
                .await
                .expect("drop");
        }
    });
    assert_eq!(rt.block_on(missing_indexes(&url, &SET_ASIDE)).len(), 4);
    let again = rt.block_on(PgStore::connect(&url)).expect("next start");
    assert_eq!(
        rt.block_on(missing_indexes(&url, &SET_ASIDE)),
        Vec::<String>::new()
    );
    assert!(rt.block_on(again.message_count()).expect("count") > 400);
}

#[test]
fn a_batch_spread_over_stored_history_finds_its_duplicates() {
    let Some((url, rt, dir)) = setup("import_spread") else {
        return;
    };
    let first = export(&dir.path().join("first.jsonl"), 0..3_000);
    // Every tenth message between the first file's, and every hundredth of its own:
    // each batch's ids span ten times as many stored messages as it holds.
    let spread = dir.path().join("spread.jsonl");
    let lines: Vec<String> = (0..3_000)
        .filter(|i| i % 10 == 5 || i % 100 == 0)
        .map(|i| {
            let mut m = message(i);
            if i % 10 == 5 {
                m.id = BASE_ID + 1_000_000 + i;
            }
            line(&m)
        })
        .collect();
    std::fs::write(&spread, lines.join("\n") + "\n").expect("write");

    let mut sqlite = Store::open(&dir.path().join("roam.db")).expect("sqlite");
    let pg = rt.block_on(PgStore::connect(&url)).expect("store");
    let mut import = PgImport::new(pg.clone(), rt.handle().clone());
    for file in [&first, &spread] {
        let lite = import_files(&mut sqlite, std::slice::from_ref(file), &options())
            .expect("sqlite import");
        let pg = import
            .import_files(std::slice::from_ref(file), &options())
            .expect("pg import");
        assert_eq!(counts(&pg), counts(&lite));
        if file == &spread {
            assert!(pg.duplicates >= 20, "{pg}");
        }
    }
    let stored = rt.block_on(pg.message_count()).expect("count");
    assert_eq!(stored, sqlite.message_count().expect("sqlite count"));
}

/// A start makes missing indexes while an import's batch is in flight without a wait the
/// batch could never end: the batch's documents commit only once its messages are
/// written, so a start holding `messages` while it waits for `search_docs` would wait
/// on it forever.
#[test]
fn a_start_during_an_import_never_holds_the_messages_from_its_batch() {
    let Some((url, rt, _dir)) = setup("import_start") else {
        return;
    };
    rt.block_on(async {
        drop(PgStore::connect(&url).await.expect("store"));
        let admin = raw(&url).await;
        for name in SET_ASIDE {
            admin
                .batch_execute(&format!("DROP INDEX {name}"))
                .await
                .expect("drop");
        }
        // The batch's documents, written and not yet committed.
        let mut docs = raw(&url).await;
        let docs_tx = docs.transaction().await.expect("docs tx");
        docs_tx
            .batch_execute(
                "INSERT INTO search_docs(msg, key, conv, text, folded) VALUES (1, 1, 1, 'a', 'a')",
            )
            .await
            .expect("docs");
        let start = tokio::spawn({
            let url = url.clone();
            async move { PgStore::connect(&url).await.map(drop) }
        });
        // Until the start waits for the documents.
        let waiting = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                       WHERE NOT l.granted AND c.relname = 'search_docs'";
        let mut polls = 0;
        while admin
            .query_one(waiting, &[])
            .await
            .expect("locks")
            .get::<_, i64>(0)
            == 0
        {
            polls += 1;
            assert!(polls < 500, "the start never reached search_docs");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // The batch's messages must still go in.
        let mut messages = raw(&url).await;
        let messages_tx = messages.transaction().await.expect("messages tx");
        messages_tx
            .batch_execute(
                "SET LOCAL lock_timeout = '3s';
                 INSERT INTO messages(id, conv, chat_type, sender, receiver, time, type, json)
                 VALUES (1, 1, 0, 'a', 'b', 1, 'txt', '{}')",
            )
            .await
            .expect("the batch's messages wait on the start");
        docs_tx.commit().await.expect("docs commit");
        messages_tx.commit().await.expect("messages commit");
        start.await.expect("start task").expect("start");
    });
    assert_eq!(
        rt.block_on(missing_indexes(&url, &SET_ASIDE)),
        Vec::<String>::new()
    );
}

/// An export that stops after its first part until the test lets it go on.
struct Paused {
    first: std::io::Cursor<Vec<u8>>,
    rest: std::io::Cursor<Vec<u8>>,
    go_on: Option<std::sync::mpsc::Receiver<()>>,
}

impl std::io::Read for Paused {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.first.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        if let Some(go_on) = self.go_on.take() {
            // A dropped sender (a failed test) goes on too.
            let _ = go_on.recv();
        }
        self.rest.read(buf)
    }
}

/// A server started while a first import has the indexes set aside leaves them to the
/// import, which makes them at its end.
#[test]
fn a_start_during_a_first_import_leaves_the_indexes_to_it() {
    let Some((url, rt, dir)) = setup("import_running") else {
        return;
    };
    let file = export(&dir.path().join("export.jsonl"), 0..1_000);
    let text = std::fs::read(&file).expect("read export");
    let split = text
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(300)
        .map_or(text.len(), |(i, _)| i + 1);
    let (go_on, paused) = std::sync::mpsc::channel();
    let reader = Paused {
        first: std::io::Cursor::new(text[..split].to_vec()),
        rest: std::io::Cursor::new(text[split..].to_vec()),
        go_on: Some(paused),
    };
    let pg = rt.block_on(PgStore::connect(&url)).expect("store");
    let handle = rt.handle().clone();
    let import = std::thread::spawn(move || {
        PgImport::new(pg, handle).import_reader("export.jsonl", reader, &options())
    });
    // Until the import's first batch is in.
    let mut polls = 0;
    while rt.block_on(async {
        raw(&url)
            .await
            .query_one("SELECT count(*) FROM messages", &[])
            .await
            .expect("count")
            .get::<_, i64>(0)
    }) == 0
    {
        polls += 1;
        assert!(polls < 500, "the import never wrote a batch");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let started = rt
        .block_on(PgStore::connect(&url))
        .expect("a start during it");
    assert_eq!(rt.block_on(missing_indexes(&url, &SET_ASIDE)).len(), 4);
    go_on.send(()).expect("go on");
    let summary = import.join().expect("import thread").expect("import");
    assert!(summary.new > 900, "{summary}");
    assert_eq!(
        rt.block_on(missing_indexes(&url, &SET_ASIDE)),
        Vec::<String>::new()
    );
    assert_eq!(
        rt.block_on(started.message_count()).expect("count"),
        summary.new
    );
}
