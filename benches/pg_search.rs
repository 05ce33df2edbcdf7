//! Search on PostgreSQL on this machine (a throwaway cluster over loopback, see
//! `tests/common/postgres.rs`): what search's documents and trigram index cost import
//! (200,000 messages over 5,000 conversations imported into a database with the index and
//! into one without it, messages a second printed), then a 50-hit page out of those
//! 200,000 messages: a rare and a common needle through the index, a one-character needle
//! and a regular expression walking by key.
//!
//! Without PostgreSQL it says so and measures nothing.

use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use roam::protocol::json::ExportLine;
use roam::protocol::{ChatType, Content, Message};
use roam::store::pg::{PgImport, PgStore, TRIGRAM_INDEX};
use roam::store::{Db, ImportOptions, SearchQuery};
use serde_json::Map;

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

const MESSAGES: u64 = 200_000;
const PEERS: u64 = 5_000;
const BASE_ID: u64 = 1_300_000_000_000_000_000;

/// Words of the texts; "sqlite" only in one message of a thousand.
const WORDS: &[&str] = &[
    "lunch",
    "meeting",
    "deploy",
    "review",
    "coffee",
    "release",
    "bug",
    "index",
    "retry",
    "backoff",
    "退避",
    "再試行",
    "지수",
    "日本語",
    "moved",
    "tomorrow",
    "weekend",
    "build",
];

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

fn message(i: u64) -> Message {
    let mut text = String::new();
    for k in 0..8 {
        let w = WORDS[(mix(i * 8 + k) % WORDS.len() as u64) as usize];
        text.push_str(w);
        text.push(' ');
    }
    if i.is_multiple_of(1000) {
        text.push_str("we moved the index to sqlite");
    }
    Message {
        id: BASE_ID + i,
        from: "carol".into(),
        to: format!("user{}", i % PEERS),
        chat_type: ChatType::Single,
        time: 1_600_000_000_000 + i as i64,
        content: Content::Text { text },
        ext: Map::new(),
        meta: None,
    }
}

fn export(path: &PathBuf) {
    use std::io::Write;
    let file = std::fs::File::create(path).expect("export file");
    let mut out = std::io::BufWriter::new(file);
    for i in 0..MESSAGES {
        let line = ExportLine::from_message(&message(i), "outgoing");
        serde_json::to_writer(&mut out, &line).expect("line");
        out.write_all(b"\n").expect("newline");
    }
    out.flush().expect("flush");
}

/// Imports the export into a new database, with or without the trigram index; prints the
/// rate.
fn import(rt: &tokio::runtime::Runtime, file: &PathBuf, with_index: bool) -> PgStore {
    let hint = if with_index {
        "with_index"
    } else {
        "without_index"
    };
    let (_, url) = postgres::database(hint).expect("cluster");
    let pg = rt.block_on(PgStore::connect(&url)).expect("store");
    if !with_index {
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            client
                .batch_execute(&format!("DROP INDEX {TRIGRAM_INDEX}"))
                .await
                .expect("drop index");
        });
    }
    let options = ImportOptions {
        progress: false,
        ..ImportOptions::default()
    };
    let started = Instant::now();
    let summary = PgImport::new(pg.clone(), rt.handle().clone())
        .import_files(std::slice::from_ref(file), &options)
        .expect("import");
    let elapsed = started.elapsed();
    assert_eq!(summary.new, MESSAGES);
    eprintln!(
        "import into PostgreSQL {hint}: {MESSAGES} messages over {PEERS} conversations in \
         {elapsed:.2?}: {:.0} messages/s",
        MESSAGES as f64 / elapsed.as_secs_f64()
    );
    pg
}

fn pg_search(c: &mut Criterion) {
    if postgres::cluster().is_none() {
        eprintln!("PostgreSQL is not installed: nothing measured");
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("spread.jsonl");
    export(&file);
    // Each twice, alternating, so a machine busy at one moment shows as a spread.
    import(&rt, &file, false);
    import(&rt, &file, true);
    import(&rt, &file, false);
    let pg = import(&rt, &file, true);
    let db = Db::Postgres(Box::new(pg));

    let mut group = c.benchmark_group("pg_search");
    let cases: [(&str, SearchQuery); 4] = [
        (
            "rare_needle_index",
            SearchQuery {
                text: "SQLite".into(),
                ..SearchQuery::default()
            },
        ),
        (
            "common_needle_index",
            SearchQuery {
                text: "deploy".into(),
                ..SearchQuery::default()
            },
        ),
        (
            "one_char_walk",
            SearchQuery {
                text: "q".into(),
                ..SearchQuery::default()
            },
        ),
        (
            "regex_walk",
            SearchQuery {
                text: "sql(ite)?".into(),
                regex: true,
                ..SearchQuery::default()
            },
        ),
    ];
    for (name, query) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| rt.block_on(db.search(query, None, 50)).expect("search"))
        });
    }
    group.finish();
}

criterion_group!(benches, pg_search);
criterion_main!(benches);
