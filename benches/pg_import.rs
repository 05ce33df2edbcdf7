//! `roam import` into PostgreSQL on this machine (a throwaway cluster over loopback, see
//! `tests/common/postgres.rs`), on the many-conversation export shape: 200,000 messages
//! over 5,000 conversations, every message to another peer, as an app's export is. Each
//! run imports the file into a fresh database, so every message is new; the rate
//! (messages a second) is criterion's throughput and is printed at the end.
//!
//! The goal is at least 100,000 messages/s. Without PostgreSQL it says so and measures
//! nothing.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use roam::protocol::json::ExportLine;
use roam::protocol::{ChatType, Content, Message};
use roam::store::ImportOptions;
use roam::store::pg::{PgImport, PgStore};
use serde_json::Map;

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

/// The import measured: this many messages over this many conversations.
const SPREAD: u64 = 200_000;
const SPREAD_PEERS: u64 = 5_000;
const BASE_ID: u64 = 1_300_000_000_000_000_000;

/// Message `i` of the export: from carol to one of the peers in turn.
fn message(i: u64) -> Message {
    Message {
        id: BASE_ID + i,
        from: "carol".into(),
        to: format!("user{}", i % SPREAD_PEERS),
        chat_type: ChatType::Single,
        time: 1_600_000_000_000 + i as i64,
        content: Content::Text {
            text: format!("message {}", BASE_ID + i),
        },
        ext: Map::new(),
        meta: None,
    }
}

/// Writes the export file.
fn export(path: &Path) {
    use std::io::Write;
    let file = std::fs::File::create(path).expect("export file");
    let mut out = std::io::BufWriter::new(file);
    for i in 0..SPREAD {
        let line = ExportLine::from_message(&message(i), "outgoing");
        serde_json::to_writer(&mut out, &line).expect("line");
        out.write_all(b"\n").expect("newline");
    }
    out.flush().expect("flush");
}

fn pg_import(c: &mut Criterion) {
    let Some(cluster) = postgres::cluster() else {
        eprintln!("PostgreSQL is not installed: nothing measured");
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let spread = dir.path().join("spread.jsonl");
    export(&spread);
    let options = ImportOptions {
        progress: false,
        ..ImportOptions::default()
    };

    let mut total = Duration::ZERO;
    let mut runs = 0u32;
    let mut group = c.benchmark_group("pg_import");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(SPREAD));
    group.bench_function("spread_200k_over_5k_convs", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                // A fresh database each run: an import into a full one adds nothing.
                let url = cluster.url(&cluster.create_database("bench_import"));
                let pg = rt.block_on(PgStore::connect(&url)).expect("store");
                let started = Instant::now();
                let summary = PgImport::new(pg, rt.handle().clone())
                    .import_files(std::slice::from_ref(&spread), &options)
                    .expect("import");
                elapsed += started.elapsed();
                assert_eq!(summary.new, SPREAD);
            }
            total += elapsed;
            runs += iters as u32;
            elapsed
        });
    });
    group.finish();
    if runs > 0 {
        let mean = total / runs;
        eprintln!(
            "import into PostgreSQL: {SPREAD} messages over {SPREAD_PEERS} conversations in {mean:.2?} (mean of {runs}): {:.0} messages/s",
            SPREAD as f64 / mean.as_secs_f64()
        );
    }
}

criterion_group!(benches, pg_import);
criterion_main!(benches);
