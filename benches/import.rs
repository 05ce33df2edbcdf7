//! Import throughput: export lines parsed and written to a file database with the import's
//! own settings (WAL, synchronous=FULL, batches bounded by bytes), in two shapes:
//! - 100,000 lines over a handful of conversations;
//! - 1,000,000 lines over 80,000 conversations (nine in ten single chats among 100,000
//!   users, the rest groups), in time order with time-based ids, as an hourly export of a
//!   busy app arrives. Every line lands in a different place of the conversation index.
//!
//! The goal is at least 100,000 messages/s for both.

use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use roam::protocol::json::ExportLine;
use roam::protocol::{ChatType, Content, Message};
use roam::store::{ImportOptions, Store, import_reader};
use serde_json::Map;

/// A small deterministic generator (SplitMix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn push_line(out: &mut Vec<u8>, message: &Message) {
    let line = ExportLine::from_message(message, "outgoing");
    if let Ok(text) = serde_json::to_string(&line) {
        out.extend_from_slice(text.as_bytes());
        out.push(b'\n');
    }
}

fn text(i: u64) -> Content {
    Content::Text {
        text: format!("message number {i}: a sentence of ordinary length"),
    }
}

/// An export of `n` messages spread over a few single chats and groups.
fn few_conversations(n: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(n as usize * 260);
    for i in 0..n {
        let (to, kind) = match i % 4 {
            0 => ("bob", ChatType::Single),
            1 => ("carol", ChatType::Single),
            2 => ("team", ChatType::Group),
            _ => ("lobby", ChatType::Room),
        };
        let message = Message {
            id: 1_300_000_000_000_000_000 + i,
            from: if i % 3 == 0 { "alice" } else { "dave" }.into(),
            to: to.into(),
            chat_type: kind,
            time: 1_700_000_000_000 + i as i64 * 250,
            content: text(i),
            ext: Map::new(),
            meta: None,
        };
        push_line(&mut out, &message);
    }
    out
}

/// An export of `n` messages, each in one of `conversations` conversations picked at
/// random: nine in ten single chats between two of 100,000 users, one in ten groups.
fn many_conversations(n: u64, conversations: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(n as usize * 300);
    for i in 0..n {
        let r = mix(i);
        let c = r % conversations;
        let (from, to, kind) = if c % 10 < 9 {
            let (a, b) = (c * 2 % 100_000, (c * 7 + 1) % 100_000);
            let (a, b) = if r >> 40 & 1 == 0 { (a, b) } else { (b, a) };
            (format!("user{a}"), format!("user{b}"), ChatType::Single)
        } else {
            let sender = (r >> 20) % 100_000;
            (
                format!("user{sender}"),
                format!("group{c}"),
                ChatType::Group,
            )
        };
        let message = Message {
            // Time-based ids: increasing, a little jitter below the millisecond.
            id: 1_300_000_000_000_000_000 + i * 1_000 + (r >> 50) % 1_000,
            from,
            to,
            chat_type: kind,
            time: 1_700_000_000_000 + i as i64 * 50,
            content: text(i),
            ext: Map::new(),
            meta: None,
        };
        push_line(&mut out, &message);
    }
    out
}

/// Imports `data` (`messages` lines) into a new file database per iteration; ten
/// iterations take about `seconds`.
fn bench_shape(c: &mut Criterion, name: &str, data: &[u8], messages: u64, seconds: u64) {
    let options = ImportOptions {
        progress: false,
        ..ImportOptions::default()
    };
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(seconds));
    group.throughput(Throughput::Elements(messages));
    group.bench_function(name, |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = Store::open(&dir.path().join("bench.db")).expect("open");
                (dir, store)
            },
            |(dir, mut store)| {
                let summary = import_reader(&mut store, "bench", data, &options).expect("import");
                assert_eq!(summary.new, messages);
                (dir, store)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn import(c: &mut Criterion) {
    let data = few_conversations(100_000);
    bench_shape(c, "100k_plain_to_file", &data, 100_000, 8);
    drop(data);
    let data = many_conversations(1_000_000, 80_000);
    bench_shape(c, "1m_over_80k_conversations", &data, 1_000_000, 90);
}

criterion_group!(benches, import);
criterion_main!(benches);
