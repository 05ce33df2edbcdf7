//! Search across every conversation of a store, on both back ends (SQLite, and
//! PostgreSQL when a cluster can be had): the CJK correctness table and random texts
//! against a brute-force scan, filters and paging, the same pages from both back ends,
//! and the SQLite index kept consistent with the messages through import, deletion,
//! re-import and migration (PostgreSQL's: tests/pg_search.rs).

mod common;

use common::backends::{backends_with, each_backend, fresh_db};
use common::*;
use proptest::prelude::*;
use roam::protocol::{ChatType, Message};
use roam::store::{Db, SearchCursor, SearchPage, SearchQuery, Store};

/// The fold the brute force uses, written out plainly: ASCII letters lowered; other
/// characters lowered when that gives one non-ASCII character.
fn fold(text: &str) -> Vec<char> {
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                return c.to_ascii_lowercase();
            }
            let lower: Vec<char> = c.to_lowercase().collect();
            match lower.as_slice() {
                [l] if !l.is_ascii() => *l,
                _ => c,
            }
        })
        .collect()
}

fn contains(text: &str, needle: &str) -> bool {
    let (t, n) = (fold(text), fold(needle));
    !n.is_empty() && t.windows(n.len()).any(|w| w == n.as_slice())
}

fn body(m: &Message) -> &str {
    match &m.content {
        roam::protocol::Content::Text { text } => text,
        _ => "",
    }
}

/// The ids whose text contains `needle`, newest first, by looking at every message.
fn brute_force(messages: &[Message], needle: &str) -> Vec<u64> {
    let mut found: Vec<&Message> = messages
        .iter()
        .filter(|m| contains(body(m), needle))
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse((m.time, m.id)));
    found.iter().map(|m| m.id).collect()
}

/// A store of the running test's back end holding `messages`.
async fn store_with(messages: &[Message]) -> Db {
    let db = fresh_db("search").await;
    db.insert_messages(messages).await.expect("insert");
    db
}

/// Every page of a query, in order (small pages, so cursors are exercised).
async fn pages(db: &Db, query: &SearchQuery, page: usize) -> Vec<SearchPage> {
    let mut out = Vec::new();
    let mut cursor = None;
    for _ in 0..10_000 {
        let found = db.search(query, cursor, page).await.expect("search");
        let next = found.next;
        out.push(found);
        match next {
            Some(next) => {
                assert_ne!(Some(next), cursor, "the cursor moves");
                cursor = Some(next);
            }
            None => return out,
        }
    }
    panic!("paging does not end");
}

/// Every hit of a query, page by page (small pages, so cursors are exercised).
async fn search_all(store: &Db, query: &SearchQuery, page: usize) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut cursor = None;
    for _ in 0..10_000 {
        let found = store.search(query, cursor, page).await.expect("search");
        for hit in &found.hits {
            let needle = &hit.snippet[hit.matched.clone()];
            assert!(
                query.regex || contains(needle, &query.text) && fold(needle) == fold(&query.text),
                "{needle:?} is not {:?}",
                query.text
            );
            ids.push(hit.id);
        }
        match found.next {
            Some(next) => {
                assert_ne!(Some(next), cursor, "the cursor moves");
                cursor = Some(next);
            }
            None => return ids,
        }
    }
    panic!("paging does not end");
}

fn substring(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        ..SearchQuery::default()
    }
}

const SENTENCES: &[&str] = &[
    "我们用指数退避重试，直到服务恢复",
    "指数バックオフ（退避）で再試行します",
    "재시도는 지수 백오프로 합니다",
    "SQLite の FTS5 は速い",
    "we moved the index to sqlite last week",
    "全角ＳＱＬｉｔｅとｓｑｌの混在",
    "emoji 👍🏽 and 🎉 party 🎉",
    "退",
    "避難訓練は明日です",
    "Mixed 中文English日本語한국어",
    "ｶﾀｶﾅ半角とカタカナ全角",
    "CAFÉ au lait, café noir",
    "quote \" and 'single' and %_ wildcards",
];

/// Messages in three conversations, times out of id order.
fn corpus() -> Vec<Message> {
    let convs = [
        ("alice", "bob", ChatType::Single),
        ("carol", "team", ChatType::Group),
        ("dave", "lobby", ChatType::Room),
    ];
    let mut out = Vec::new();
    for (round, text_) in SENTENCES
        .iter()
        .cycle()
        .take(SENTENCES.len() * 4)
        .enumerate()
    {
        let (from, to, kind) = convs[round % 3];
        let id = BASE_ID + (round as u64 * 7919) % 1000;
        let time = 1_700_000_000_000 + (round as i64 % 5) * 1000 + round as i64;
        out.push(text(id, time, from, to, kind, text_));
    }
    out
}

#[tokio::test]
async fn the_cjk_table_matches_a_brute_force_scan() {
    each_backend(the_cjk_table_matches_a_brute_force_scan_on).await;
}

async fn the_cjk_table_matches_a_brute_force_scan_on() {
    let messages = corpus();
    let store = store_with(&messages).await;
    let queries = [
        // Inside sentences, 1, 2 and 3+ characters.
        "退",
        "避",
        "退避",
        "指数退避",
        "数退避重",
        "バ",
        "バック",
        "ク",
        "の",
        "백오프",
        "오",
        "지수 백", // mixed scripts
        "中文E",
        "English日本",
        "語한",
        "FTS5 は", // ASCII case
        "sqlite",
        "SQLITE",
        "e",
        "ex", // full-width and half-width forms
        "ｓｑｌ",
        "ＳＱＬ",
        "Ｌｉ",
        "ｶﾀ",
        "カタ",
        "ﾅ半", // emoji, alone and with text
        "👍",
        "👍🏽",
        "🎉 party",
        "🎉", // accents, quotes, LIKE wildcards
        "é",
        "CAFÉ",
        "Café n",
        "\"",
        "\" and '",
        "%_",
        "_",
        "nothing here",
        "退避です",
    ];
    for q in queries {
        let expected = brute_force(&messages, q);
        for page in [1, 3, 50] {
            assert_eq!(
                search_all(&store, &substring(q), page).await,
                expected,
                "{q:?}"
            );
        }
    }
    // The demo's two words, for the record: both found.
    assert!(!brute_force(&messages, "退避").is_empty());
    assert!(!brute_force(&messages, "sqlite").is_empty());
}

#[tokio::test]
async fn filters_narrow_and_hits_say_where_they_are() {
    each_backend(filters_narrow_and_hits_say_where_they_are_on).await;
}

async fn filters_narrow_and_hits_say_where_they_are_on() {
    let messages = corpus();
    let store = store_with(&messages).await;
    for q in ["退避", "sqlite", "e"] {
        let in_team = SearchQuery {
            conversations: vec!["team".into()],
            ..substring(q)
        };
        let expected: Vec<u64> = brute_force(&messages, q)
            .into_iter()
            .filter(|id| messages.iter().any(|m| m.id == *id && m.to == "team"))
            .collect();
        assert_eq!(search_all(&store, &in_team, 2).await, expected, "{q}");
        let pair = SearchQuery {
            conversations: vec!["bob|alice".into()],
            from: Some("ALICE".into()),
            ..substring(q)
        };
        let expected: Vec<u64> = brute_force(&messages, q)
            .into_iter()
            .filter(|id| messages.iter().any(|m| m.id == *id && m.to == "bob"))
            .collect();
        assert_eq!(search_all(&store, &pair, 2).await, expected, "{q}");
        let late = SearchQuery {
            since: Some(1_700_000_003_000),
            until: Some(1_700_000_004_020),
            ..substring(q)
        };
        let expected: Vec<u64> = brute_force(&messages, q)
            .into_iter()
            .filter(|id| {
                messages.iter().any(|m| {
                    m.id == *id && (1_700_000_003_000..=1_700_000_004_020).contains(&m.time)
                })
            })
            .collect();
        assert_eq!(search_all(&store, &late, 2).await, expected, "{q}");
        let images = SearchQuery {
            types: vec!["img".into()],
            ..substring(q)
        };
        assert!(search_all(&store, &images, 5).await.is_empty());
    }
    let page = store
        .search(&substring("退避"), None, 50)
        .await
        .expect("search");
    let hit = &page.hits[0];
    let newest = messages
        .iter()
        .filter(|m| contains(body(m), "退避"))
        .max_by_key(|m| (m.time, m.id))
        .expect("one");
    assert_eq!(
        (hit.id, hit.time, hit.from.as_str()),
        (newest.id, newest.time, "alice")
    );
    assert_eq!(hit.conversation, "alice|bob");
    assert_eq!(&hit.snippet[hit.matched.clone()], "退避");
    assert!(
        store
            .search(
                &SearchQuery {
                    conversations: vec!["nobody".into()],
                    ..substring("e")
                },
                None,
                5
            )
            .await
            .expect("search")
            .hits
            .is_empty()
    );
}

#[tokio::test]
async fn regular_expressions_test_every_candidate() {
    each_backend(regular_expressions_test_every_candidate_on).await;
}

async fn regular_expressions_test_every_candidate_on() {
    let messages = corpus();
    let store = store_with(&messages).await;
    let query = SearchQuery {
        text: "sq(l|ｌ)".into(),
        regex: true,
        ..SearchQuery::default()
    };
    let re = regex::RegexBuilder::new("sq(l|ｌ)")
        .case_insensitive(true)
        .build()
        .expect("regex");
    let mut expected: Vec<&Message> = messages.iter().filter(|m| re.is_match(body(m))).collect();
    expected.sort_by_key(|m| std::cmp::Reverse((m.time, m.id)));
    let expected: Vec<u64> = expected.iter().map(|m| m.id).collect();
    assert!(!expected.is_empty());
    assert_eq!(search_all(&store, &query, 4).await, expected);
    let bad = SearchQuery {
        text: "(".into(),
        regex: true,
        ..SearchQuery::default()
    };
    assert!(store.search(&bad, None, 5).await.is_err());
    assert!(store.search(&substring(""), None, 5).await.is_err());
}

#[tokio::test]
async fn file_names_are_searched_too() {
    each_backend(file_names_are_searched_too_on).await;
}

async fn file_names_are_searched_too_on() {
    let picture = image(BASE_ID, 1, "alice", "bob", ChatType::Single);
    let store = store_with(&[picture]).await;
    let page = store
        .search(&substring("a.PNG"), None, 5)
        .await
        .expect("search");
    assert_eq!(page.hits.len(), 1);
    assert_eq!(page.hits[0].type_name, "img");
}

/// The FTS5 index agrees with its content table (`integrity-check` with rank 1 compares
/// the index with the external content), and every message with text has one row.
fn assert_consistent(conn: &rusqlite::Connection) {
    conn.execute(
        "INSERT INTO search_index(search_index, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .expect("the index matches its content");
    let (docs, orphans): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(*) FILTER (WHERE msg NOT IN (SELECT id FROM messages))
             FROM search_docs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count");
    let texts: i64 = conn
        .query_row(
            "SELECT count(*) FROM messages WHERE type = 'txt'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!((docs, orphans), (texts, 0));
}

#[tokio::test]
async fn the_index_follows_import_deletion_and_reimport() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("s.sqlite");
    let messages = corpus();
    let queries = ["退避", "sqlite", "e", "👍", "ｓｑｌ"];
    let store = Db::single(Store::open(&path).expect("store"));
    store.insert_messages(&messages).await.expect("insert");
    let mut before: Vec<Vec<u64>> = Vec::new();
    for q in queries {
        before.push(search_all(&store, &substring(q), 7).await);
    }
    let conn = rusqlite::Connection::open(&path).expect("open");
    assert_consistent(&conn);
    // Deleting messages (the store has no deletion yet: as one would, timeline rows too)
    // takes them out of the index.
    conn.execute(
        "DELETE FROM timeline WHERE id IN (SELECT id FROM messages WHERE sender = 'carol')",
        [],
    )
    .expect("delete");
    let deleted = conn
        .execute("DELETE FROM messages WHERE sender = 'carol'", [])
        .expect("delete");
    assert!(deleted > 0);
    assert_consistent(&conn);
    let left: Vec<Message> = messages
        .iter()
        .filter(|m| m.from != "carol")
        .cloned()
        .collect();
    for q in queries {
        assert_eq!(
            search_all(&store, &substring(q), 7).await,
            brute_force(&left, q),
            "{q}"
        );
    }
    // Importing everything again brings back exactly what was deleted.
    store.insert_messages(&messages).await.expect("reimport");
    assert_consistent(&conn);
    let mut after: Vec<Vec<u64>> = Vec::new();
    for q in queries {
        after.push(search_all(&store, &substring(q), 7).await);
    }
    assert_eq!(after, before);
}

#[tokio::test]
async fn an_older_store_is_indexed_when_opened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.sqlite");
    let messages = corpus();
    Store::open(&path)
        .expect("store")
        .insert_messages(&messages)
        .expect("insert");
    // Made to look like schema version 5, before search.
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "DROP TRIGGER search_docs_follow_messages; DROP TABLE search_index;
         DROP TABLE search_docs; PRAGMA user_version = 5;",
    )
    .expect("downgrade");
    drop(conn);
    let store = Db::single(Store::open(&path).expect("migrated"));
    for q in ["退避", "sqlite", "避"] {
        assert_eq!(
            search_all(&store, &substring(q), 50).await,
            brute_force(&messages, q),
            "{q}"
        );
    }
    assert_consistent(&rusqlite::Connection::open(&path).expect("open"));
}

#[test]
fn a_cursor_from_text_reads_back() {
    let c = SearchCursor(42);
    assert_eq!(SearchCursor::parse(&c.to_text()), Some(c));
    assert_eq!(SearchCursor::parse("-1"), None);
    assert_eq!(SearchCursor::parse("x"), None);
}

/// Characters that test folding, widths, scripts and surrogate pairs.
const ALPHABET: &[char] = &[
    'a', 'B', 'b', ' ', '中', '文', '退', '避', 'ア', 'ｱ', 'Ａ', 'ａ', '👍', '한', 'É', 'é', '"',
];

fn sentence(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(ALPHABET), 0..max)
        .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_texts_match_a_brute_force_scan(
        texts in proptest::collection::vec(sentence(14), 1..40),
        needles in proptest::collection::vec(sentence(5), 1..6),
    ) {
        let messages: Vec<Message> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| text(BASE_ID + i as u64, 1_000 + (i as i64 % 4), "alice", "bob", ChatType::Single, t))
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(each_backend(|| async {
            let store = store_with(&messages).await;
            for needle in needles.iter().filter(|n| !n.is_empty()) {
                assert_eq!(
                    search_all(&store, &substring(needle), 3).await,
                    brute_force(&messages, needle),
                    "{:?}", needle
                );
            }
        }));
    }
}

/// Messages that share milliseconds and the low bits of their ids, so search keys collide
/// and are moved up: ties must order alike on both back ends and page without loss.
fn ties() -> Vec<Message> {
    let mut out = Vec::new();
    for i in 0..60u64 {
        // Every 256th id shares its low 8 bits; three times only.
        let id = BASE_ID + 10_000 + (i % 20) * 256 + i / 20;
        let time = 1_700_000_000_000 + (i as i64 % 3);
        let body = match i % 4 {
            0 => "退避 and sqlite",
            1 => "just sqlite",
            2 => "退避のみ",
            _ => "nothing",
        };
        out.push(text(id, time, "alice", "bob", ChatType::Single, body));
    }
    out
}

#[tokio::test]
async fn both_back_ends_give_the_same_pages() {
    let mut messages = corpus();
    messages.extend(ties());
    // A NUL inside a text (PostgreSQL's TEXT cannot hold one).
    messages.push(text(
        BASE_ID + 20_000,
        1_700_000_000_500,
        "alice",
        "bob",
        ChatType::Single,
        "a NUL\u{0} before SQLite",
    ));
    let dbs = backends_with("search_same", &messages).await;
    let queries = [
        substring("退避"),
        substring("避"),
        substring("sqlite"),
        substring("e"),
        substring("ＳＱＬ"),
        SearchQuery {
            text: "sq(l|ｌ)".into(),
            regex: true,
            ..SearchQuery::default()
        },
        SearchQuery {
            text: "nul.before".into(),
            regex: true,
            ..SearchQuery::default()
        },
        substring("\u{0} bef"),
        SearchQuery {
            conversations: vec!["team".into(), "bob|alice".into()],
            ..substring("退避")
        },
        SearchQuery {
            from: Some("alice".into()),
            since: Some(1_700_000_000_001),
            until: Some(1_700_000_003_000),
            ..substring("s")
        },
    ];
    for query in &queries {
        for size in [1, 3, 50] {
            let mut all = Vec::new();
            for db in &dbs {
                all.push(pages(db, query, size).await);
            }
            // Each back end: every hit once, newest first.
            for (db, got) in dbs.iter().zip(&all) {
                let hits: Vec<(i64, u64)> = got
                    .iter()
                    .flat_map(|p| p.hits.iter().map(|h| (h.time, h.id)))
                    .collect();
                let mut once = hits.clone();
                once.sort_unstable_by_key(|h| h.1);
                once.dedup_by_key(|h| h.1);
                assert_eq!(
                    once.len(),
                    hits.len(),
                    "{} {query:?}: a hit twice",
                    db.kind()
                );
                assert!(
                    hits.windows(2).all(|w| w[0].0 >= w[1].0),
                    "{} {query:?}: newest first",
                    db.kind()
                );
            }
            // And the same pages, hits, snippets and cursors on each.
            for (db, got) in dbs.iter().zip(&all).skip(1) {
                assert_eq!(got, &all[0], "{} against SQLite: {query:?}", db.kind());
            }
        }
    }
}
