//! Search on PostgreSQL beyond what both back ends share (tests/search.rs): the trigram
//! index in the plans, documents following deletion, re-import and the migration of an
//! older database, and search without `pg_trgm`. Needs a throwaway cluster (see
//! `common::postgres`); skips, saying so, without one.

mod common;

use common::postgres::raw;
use common::{BASE_ID, postgres, text};
use roam::protocol::{ChatType, Message};
use roam::store::pg::{PgStore, TRIGRAM_INDEX};
use roam::store::{Db, SearchQuery, Store};

fn pg(db: &Db) -> &PgStore {
    match db {
        Db::Postgres(pg) => pg,
        Db::Sqlite(_) => panic!("not PostgreSQL"),
    }
}

fn substring(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        ..SearchQuery::default()
    }
}

/// Every hit of a query, page by page.
async fn search_all(db: &Db, query: &SearchQuery, page: usize) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut cursor = None;
    for _ in 0..10_000 {
        let found = db.search(query, cursor, page).await.expect("search");
        ids.extend(found.hits.iter().map(|h| h.id));
        match found.next {
            Some(next) => cursor = Some(next),
            None => return ids,
        }
    }
    panic!("paging does not end");
}

/// What an in-memory SQLite store holding `messages` finds: the reference.
async fn reference(messages: &[Message], queries: &[&str]) -> Vec<Vec<u64>> {
    let db = Db::single(Store::open_in_memory().expect("store"));
    db.insert_messages(messages).await.expect("insert");
    let mut out = Vec::new();
    for q in queries {
        out.push(search_all(&db, &substring(q), 7).await);
    }
    out
}

async fn found(db: &Db, queries: &[&str]) -> Vec<Vec<u64>> {
    let mut out = Vec::new();
    for q in queries {
        out.push(search_all(db, &substring(q), 7).await);
    }
    out
}

fn corpus() -> Vec<Message> {
    let words = [
        "we moved the index to sqlite",
        "指数退避で再試行",
        "全角ＳＱＬｉｔｅ",
        "hello",
        "退",
    ];
    let people = [("alice", "bob"), ("carol", "bob"), ("dave", "alice")];
    (0..60u64)
        .map(|i| {
            let (from, to) = people[i as usize % 3];
            text(
                BASE_ID + i,
                1_700_000_000_000 + (i as i64 % 7) * 1000,
                from,
                to,
                ChatType::Single,
                words[i as usize % words.len()],
            )
        })
        .collect()
}

const QUERIES: &[&str] = &["sqlite", "退避", "退", "ｓｑｌ", "e", "hello there"];

/// Documents against messages: as many as messages with text, none without its message.
async fn assert_consistent(url: &str) {
    let row = raw(url)
        .await
        .query_one(
            "SELECT (SELECT count(*) FROM search_docs),
                    (SELECT count(*) FROM search_docs WHERE msg NOT IN (SELECT id FROM messages)),
                    (SELECT count(*) FROM messages WHERE type = 'txt')",
            &[],
        )
        .await
        .expect("count");
    let (docs, orphans, texts): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((docs, orphans), (texts, 0));
}

#[tokio::test]
async fn a_long_needle_goes_through_the_trigram_index_and_a_short_one_walks_by_key() {
    let Some((_, url)) = postgres::database("search_plan") else {
        return;
    };
    let db = Db::open(&url).await.expect("store");
    // Many rows, few of them with the needle, as on a real database; then statistics.
    let mut messages = Vec::new();
    for i in 0..20_000u64 {
        let body = if i % 1000 == 0 {
            format!("moved to sqlite in round {i}")
        } else {
            format!("chatter number {i} about lunch")
        };
        let to = format!("peer{}", i % 50);
        messages.push(text(
            BASE_ID + i,
            1_700_000_000_000 + i as i64,
            "alice",
            &to,
            ChatType::Single,
            &body,
        ));
    }
    for batch in messages.chunks(5_000) {
        db.insert_messages(batch).await.expect("insert");
    }
    raw(&url)
        .await
        .batch_execute("VACUUM ANALYZE search_docs")
        .await
        .expect("analyze");
    let plan = pg(&db)
        .search_plan(&substring("SQLite"))
        .await
        .expect("plan");
    assert!(plan.contains(TRIGRAM_INDEX), "{plan}");
    let plan = pg(&db).search_plan(&substring("lu")).await.expect("plan");
    assert!(!plan.contains(TRIGRAM_INDEX), "{plan}");
    assert!(plan.contains("Index Scan Backward"), "{plan}");
    // The test cluster's locale is C: pg_trgm takes no trigram from CJK characters, and
    // a needle it cannot narrow walks by key rather than reading every row.
    let plan = pg(&db)
        .search_plan(&substring("指数退避"))
        .await
        .expect("plan");
    assert!(!plan.contains(TRIGRAM_INDEX), "{plan}");
    let plan = pg(&db).search_plan(&substring("a.b")).await.expect("plan");
    assert!(!plan.contains(TRIGRAM_INDEX), "{plan}");
    // And the index finds what it should.
    assert_eq!(search_all(&db, &substring("sqlite"), 50).await.len(), 20);
}

#[tokio::test]
async fn documents_follow_deletion_and_reimport() {
    let Some((_, url)) = postgres::database("search_follow") else {
        return;
    };
    let messages = corpus();
    let db = Db::open(&url).await.expect("store");
    db.insert_messages(&messages).await.expect("insert");
    assert_consistent(&url).await;
    let before = found(&db, QUERIES).await;
    assert_eq!(before, reference(&messages, QUERIES).await);
    let deleted = raw(&url)
        .await
        .execute("DELETE FROM messages WHERE sender = 'carol'", &[])
        .await
        .expect("delete");
    assert!(deleted > 0);
    assert_consistent(&url).await;
    let left: Vec<Message> = messages
        .iter()
        .filter(|m| m.from != "carol")
        .cloned()
        .collect();
    assert_eq!(found(&db, QUERIES).await, reference(&left, QUERIES).await);
    db.insert_messages(&messages).await.expect("reimport");
    assert_consistent(&url).await;
    assert_eq!(found(&db, QUERIES).await, before);
}

#[tokio::test]
async fn an_older_database_is_indexed_when_opened() {
    let Some((_, url)) = postgres::database("search_migrate") else {
        return;
    };
    let messages = corpus();
    let db = Db::open(&url).await.expect("store");
    db.insert_messages(&messages).await.expect("insert");
    drop(db);
    // Made to look like schema version 3, before search.
    raw(&url)
        .await
        .batch_execute(
            "DROP TABLE search_docs;
             DROP FUNCTION roam_search_docs_follow() CASCADE;
             UPDATE roam_schema SET version = 3;",
        )
        .await
        .expect("downgrade");
    let db = Db::open(&url).await.expect("migrated");
    assert_consistent(&url).await;
    assert_eq!(
        found(&db, QUERIES).await,
        reference(&messages, QUERIES).await
    );
    let version: i64 = raw(&url)
        .await
        .query_one("SELECT version FROM roam_schema", &[])
        .await
        .expect("version")
        .get(0);
    assert_eq!(version, roam::store::pg::schema::latest());
}

#[tokio::test]
async fn without_pg_trgm_search_walks_and_finds_the_same() {
    let Some((cluster, url)) = postgres::database("search_notrgm") else {
        return;
    };
    // A role that may not create extensions (no CREATE on the database) but owns its
    // tables: the migration must still succeed, without the index.
    let name = url.rsplit('/').next().expect("database name").to_string();
    let admin = raw(&url).await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {name}_user LOGIN PASSWORD 'plain-test-pw';
             REVOKE CREATE ON DATABASE {name} FROM PUBLIC;
             GRANT CONNECT ON DATABASE {name} TO {name}_user;
             GRANT CREATE, USAGE ON SCHEMA public TO {name}_user;"
        ))
        .await
        .expect("role");
    let limited = format!(
        "postgres://{name}_user:plain-test-pw@127.0.0.1:{}/{name}",
        cluster.port()
    );
    let messages = corpus();
    let db = Db::open(&limited)
        .await
        .expect("migrates without the extension");
    let has_index: bool = admin
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&TRIGRAM_INDEX])
        .await
        .expect("index?")
        .get(0);
    assert!(!has_index, "no extension, no index");
    db.insert_messages(&messages).await.expect("insert");
    assert_eq!(
        found(&db, QUERIES).await,
        reference(&messages, QUERIES).await
    );
    let plan = pg(&db)
        .search_plan(&substring("sqlite"))
        .await
        .expect("plan");
    assert!(!plan.contains(TRIGRAM_INDEX), "{plan}");
    // Once the extension can be had, the next start makes the index.
    admin
        .batch_execute(&format!("GRANT CREATE ON DATABASE {name} TO {name}_user"))
        .await
        .expect("grant");
    drop(db);
    let db = Db::open(&limited).await.expect("reopen");
    let has_index: bool = admin
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&TRIGRAM_INDEX])
        .await
        .expect("index?")
        .get(0);
    assert!(has_index, "made on the next start");
    assert_eq!(
        found(&db, QUERIES).await,
        reference(&messages, QUERIES).await
    );
}
