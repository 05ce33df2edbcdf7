//! Import throughput: export lines parsed and written to a file database with the import's
//! own settings (WAL, synchronous=FULL, batches). The goal is at least 50,000 messages/s.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use roam::protocol::json::ExportLine;
use roam::protocol::{ChatType, Content, Message};
use roam::store::{ImportOptions, Store, import_reader};
use serde_json::Map;

const MESSAGES: usize = 100_000;

/// An export of `n` messages spread over a few single chats and groups.
fn export(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 260);
    for i in 0..n {
        let (to, kind) = match i % 4 {
            0 => ("bob", ChatType::Single),
            1 => ("carol", ChatType::Single),
            2 => ("team", ChatType::Group),
            _ => ("lobby", ChatType::Room),
        };
        let message = Message {
            id: 1_300_000_000_000_000_000 + i as u64,
            from: if i % 3 == 0 {
                "alice".into()
            } else {
                "dave".into()
            },
            to: to.into(),
            chat_type: kind,
            time: 1_700_000_000_000 + i as i64 * 250,
            content: Content::Text {
                text: format!("message number {i}: a sentence of ordinary length"),
            },
            ext: Map::new(),
        };
        let line = ExportLine::from_message(&message, "outgoing");
        if let Ok(text) = serde_json::to_string(&line) {
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        }
    }
    out
}

fn import(c: &mut Criterion) {
    let data = export(MESSAGES);
    let options = ImportOptions {
        progress: false,
        ..ImportOptions::default()
    };
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.bench_function("100k_plain_to_file", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = Store::open(&dir.path().join("bench.db")).expect("open");
                (dir, store)
            },
            |(dir, mut store)| {
                let summary =
                    import_reader(&mut store, "bench", data.as_slice(), &options).expect("import");
                assert_eq!(summary.new, MESSAGES as u64);
                (dir, store)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, import);
criterion_main!(benches);
