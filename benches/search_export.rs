//! Search and export over a store of 1,000,000 messages in 1,000 conversations (single
//! chats and groups; text mixing Chinese, Japanese and English), generated deterministically
//! and cached under the build's temp dir (`search_export-1m.sqlite`) since writing it
//! takes a while; delete that file to generate it again.
//!
//! Goals (issue 10): the first 50 results of a 3+ character query under 50 ms and of a 1–2
//! character query under 300 ms, each for a rare and a common term; export of all 1,000,000
//! messages as JSON lines under 10 s and as HTML under 30 s. The index's size on disk
//! relative to the text is printed once.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use roam::export::{Format, Part, Plan, export};
use roam::protocol::{ChatType, Content, Message};
use roam::store::export::MessageRange;
use roam::store::{SearchQuery, Store};
use serde_json::Map;

const MESSAGES: u64 = 1_000_000;
const CONVERSATIONS: u64 = 1_000;

/// A small deterministic generator (SplitMix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

const CHINESE: &[&str] = &[
    "我们",
    "今天",
    "服务器",
    "数据库",
    "测试",
    "会话",
    "列表",
    "消息",
    "同步",
    "导出",
    "客户",
    "问题",
    "已经",
    "修复",
    "明天",
    "发布",
    "版本",
    "性能",
    "日志",
    "重试",
    "退避",
    "接口",
];
const JAPANESE: &[&str] = &[
    "です",
    "ます",
    "サーバー",
    "データベース",
    "テスト",
    "会話",
    "確認",
    "お願いします",
    "リリース",
    "明日",
    "修正",
    "ログ",
    "再試行",
    "検索",
    "して",
    "ください",
    "の",
    "が",
];
const ENGLISH: &[&str] = &[
    "the",
    "server",
    "database",
    "test",
    "conversation",
    "list",
    "message",
    "sync",
    "export",
    "customer",
    "issue",
    "fixed",
    "tomorrow",
    "release",
    "version",
    "performance",
    "logs",
    "retry",
    "backoff",
    "search",
    "deploy",
    "please",
    "check",
    "thanks",
    "sqlite",
];

/// Rare terms: each in 20 messages of the million.
const RARE_LONG: &str = "zebracorn";
const RARE_SHORT: &str = "麒麟";

fn sentence(i: u64) -> String {
    let mut r = mix(i);
    let words = 4 + r % 12;
    let mut out = String::new();
    for w in 0..words {
        r = mix(r ^ w);
        let list = match r % 3 {
            0 => CHINESE,
            1 => JAPANESE,
            _ => ENGLISH,
        };
        let word = list[(r >> 8) as usize % list.len()];
        if list == ENGLISH && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if i % 50_000 == 7 {
        out.push_str(" zebracorn");
    }
    if i % 50_000 == 11 {
        out.push_str("麒麟");
    }
    out
}

fn message(i: u64) -> Message {
    let conv = mix(i ^ 0xc0ffee) % CONVERSATIONS;
    let (from, to, kind) = if conv.is_multiple_of(4) {
        (
            format!("member{}", mix(i) % 20),
            format!("group{conv}"),
            ChatType::Group,
        )
    } else if i.is_multiple_of(2) {
        (
            format!("user{conv}"),
            format!("peer{conv}"),
            ChatType::Single,
        )
    } else {
        (
            format!("peer{conv}"),
            format!("user{conv}"),
            ChatType::Single,
        )
    };
    Message {
        id: 1_300_000_000_000_000_000 + i,
        from,
        to,
        chat_type: kind,
        // Two years, about a minute apart.
        time: 1_690_000_000_000 + i as i64 * 63_000,
        content: Content::Text { text: sentence(i) },
        ext: Map::new(),
        meta: None,
    }
}

/// The cached store, generated when missing.
fn store_path() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("search_export-1m.sqlite");
    if path.exists() {
        return path;
    }
    let tmp = path.with_extension("generating");
    let _ = std::fs::remove_file(&tmp);
    let started = Instant::now();
    let mut store = Store::open(&tmp).expect("store");
    store.set_synchronous("OFF").expect("pragma");
    let batch = 20_000;
    for start in (0..MESSAGES).step_by(batch) {
        let messages: Vec<Message> = (start..start + batch as u64).map(message).collect();
        store.insert_messages(&messages).expect("insert");
    }
    drop(store);
    for suffix in ["-wal", "-shm"] {
        let mut from = tmp.as_os_str().to_owned();
        from.push(suffix);
        let _ = std::fs::remove_file(from);
    }
    std::fs::rename(&tmp, &path).expect("rename");
    eprintln!(
        "generated {MESSAGES} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    path
}

/// The index's size beside the text's, from SQLite's own page accounting.
fn report_sizes(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).expect("open");
    let text: i64 = conn
        .query_row(
            "SELECT sum(length(CAST(text AS BLOB))) FROM search_docs",
            [],
            |r| r.get(0),
        )
        .expect("text bytes");
    let file = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let tables: Vec<(String, i64)> = conn
        .prepare(
            "SELECT name, sum(pgsize) FROM dbstat
             WHERE name LIKE 'search%' GROUP BY name ORDER BY name",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap_or_default();
    eprintln!(
        "text: {:.1} MB; database file: {:.1} MB",
        text as f64 / 1e6,
        file as f64 / 1e6
    );
    for (name, bytes) in tables {
        eprintln!(
            "  {name}: {:.1} MB ({:.2}× the text)",
            bytes as f64 / 1e6,
            bytes as f64 / text as f64
        );
    }
}

fn query(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        ..SearchQuery::default()
    }
}

/// Up to 50 hits from the top, following cursors of short pages.
fn first_50(store: &Store, q: &SearchQuery) -> usize {
    let mut found = 0;
    let mut cursor = None;
    loop {
        let page = store.search(q, cursor, 50 - found).expect("search");
        found += page.hits.len();
        match page.next {
            Some(next) if found < 50 => cursor = Some(next),
            _ => return found,
        }
    }
}

fn bench(c: &mut Criterion) {
    let path = store_path();
    report_sizes(&path);
    let store = Store::open(&path).expect("store");
    let mut group = c.benchmark_group("search_1m");
    group.sample_size(20);
    for (name, text) in [
        ("3+ chars, common (sqlite)", "sqlite"),
        ("3+ chars, common (データベース)", "データベース"),
        ("3+ chars, rare (zebracorn)", RARE_LONG),
        ("3+ chars, none (not there)", "nowhere at all"),
        ("2 chars, common (退避)", "退避"),
        ("1 char, common (の)", "の"),
        ("2 chars, rare (麒麟)", RARE_SHORT),
    ] {
        let q = query(text);
        eprintln!("{name}: {} hits in the first 50", first_50(&store, &q));
        group.bench_function(name, |b| b.iter(|| first_50(&store, &q)));
    }
    let in_one = SearchQuery {
        conversations: vec!["group4".into()],
        ..query(RARE_SHORT)
    };
    group.bench_function("2 chars, rare, in one conversation", |b| {
        b.iter(|| first_50(&store, &in_one))
    });
    group.finish();

    let plan = Plan {
        parts: store
            .stored_conversations(None)
            .expect("conversations")
            .into_iter()
            .map(|conversation| Part {
                conversation,
                range: MessageRange::default(),
            })
            .collect(),
        zone: Some(jiff::tz::TimeZone::UTC),
        user: None,
    };
    let mut group = c.benchmark_group("export_1m");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    for (name, format) in [("jsonl", Format::Jsonl), ("html", Format::Html)] {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("export-1m.{name}"));
        group.bench_function(name, |b| {
            b.iter(|| {
                let file = std::fs::File::create(&out).expect("create");
                let mut w = std::io::BufWriter::new(file);
                let summary = export(&store, &plan, format, &mut w).expect("export");
                assert_eq!(summary.messages, MESSAGES);
            })
        });
        let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        eprintln!("{name}: {:.1} MB", size as f64 / 1e6);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
