//! The PostgreSQL store on its own: connecting by URL, migrations, tokens, logins. Runs
//! against a throwaway cluster (see `common::postgres`) and skips, saying so, without one.

mod common;

use common::postgres;
use common::postgres::raw;
use roam::store::pg::{PgError, PgStore, PgTarget, TokenHolder, TokenState, schema};

/// A store over a new database, or `None` (skipped) without PostgreSQL.
async fn fresh(hint: &str) -> Option<(PgStore, String)> {
    let (_, url) = postgres::database(hint)?;
    let store = PgStore::connect(&url).await.expect("connect and migrate");
    Some((store, url))
}

#[tokio::test]
async fn connecting_creates_the_schema_and_a_second_start_finds_it_done() {
    let Some((store, url)) = fresh("migrate").await else {
        return;
    };
    assert_eq!(
        store.schema_version().await.expect("version"),
        schema::latest()
    );
    assert_eq!(store.message_count().await.expect("count"), 0);
    let again = PgStore::connect(&url).await.expect("second start");
    assert_eq!(
        again.schema_version().await.expect("version"),
        schema::latest()
    );
}

#[tokio::test]
async fn servers_starting_at_once_migrate_once() {
    let Some((cluster, url)) = postgres::database("race") else {
        return;
    };
    let _ = cluster;
    // Eight starts at once on an empty database: without the advisory lock, two would
    // both create the tables and one would fail.
    let starts: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PgStore::connect(&url).await.map(|_| ()) })
        })
        .collect();
    for start in starts {
        start.await.expect("task").expect("every start succeeds");
    }
    let client = raw(&url).await;
    let rows = client
        .query("SELECT version FROM roam_schema", &[])
        .await
        .expect("versions");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i64>(0), schema::latest());
}

#[tokio::test]
async fn a_database_from_a_newer_roam_is_refused() {
    let Some((_, url)) = fresh("newer").await else {
        return;
    };
    raw(&url)
        .await
        .execute("UPDATE roam_schema SET version = 999", &[])
        .await
        .expect("bump");
    let err = PgStore::connect(&url).await.expect_err("refused");
    assert!(
        matches!(err, PgError::SchemaVersion { found: 999, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_an_error_that_never_shows_a_password() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let db = cluster.create_database("wrongpw");
    let url = format!(
        "postgres://postgres:not-the-Password-42@127.0.0.1:{}/{db}",
        cluster.port()
    );
    let err = PgStore::connect(&url).await.expect_err("refused");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("not-the-Password-42"), "{text}");
    assert!(!text.contains(cluster.password()), "{text}");
    assert!(text.contains("127.0.0.1"), "names the database: {text}");
}

#[tokio::test]
async fn a_password_from_the_password_file_logs_in() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let db = cluster.create_database("pgpass");
    let home = tempfile::tempdir().expect("home");
    let file = home.path().join(".pgpass");
    std::fs::write(
        &file,
        format!(
            "127.0.0.1:{}:{db}:postgres:{}\n",
            cluster.port(),
            cluster.password()
        ),
    )
    .expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let url = cluster.url_without_password(&db);
    let target =
        PgTarget::from_url_with(&url, |_| None, Some(home.path().to_path_buf())).expect("url");
    assert!(target.has_password());
    let store = PgStore::open(target, 2)
        .await
        .expect("logs in with .pgpass");
    assert_eq!(store.message_count().await.expect("count"), 0);
    // And PGPASSWORD, the way libpq users give it.
    let password = cluster.password().to_string();
    let target = PgTarget::from_url_with(
        &url,
        |name| (name == "PGPASSWORD").then(|| password.clone()),
        None,
    )
    .expect("url");
    PgStore::open(target, 1)
        .await
        .expect("logs in with PGPASSWORD");
}

#[tokio::test]
async fn logins_are_stored_hashed() {
    let Some((store, url)) = fresh("users").await else {
        return;
    };
    assert_eq!(store.login_record("alice").await.expect("none"), None);
    store.set_password("Alice", "pw1").await.expect("set");
    let (user, hash) = store
        .login_record("ALICE")
        .await
        .expect("record")
        .expect("alice exists");
    assert_eq!(user.name, "alice");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert_eq!(store.login_record("../x").await.expect("bad id"), None);
    let stored: String = raw(&url)
        .await
        .query_one("SELECT password_hash FROM users", &[])
        .await
        .expect("row")
        .get(0);
    assert!(!stored.contains("pw1"));
}

#[tokio::test]
async fn a_token_issued_through_one_store_is_accepted_by_another() {
    let Some((one, url)) = fresh("tokens").await else {
        return;
    };
    let other = PgStore::connect(&url).await.expect("second server");
    let alice = TokenHolder::User("alice".into());
    let issued = one.issue_token(&alice, 60_000, 64).await.expect("issue");
    assert!(!format!("{issued:?}").contains(&issued.token));
    assert_eq!(
        other.check_token(&issued.token).await.expect("check"),
        TokenState::Live(alice.clone(), issued.expires_ms)
    );
    assert_eq!(
        other.check_token("nope").await.expect("check"),
        TokenState::Unknown
    );
    // An app's token is told apart from a user's of the same name.
    let app = one
        .issue_token(&TokenHolder::App("alice".into()), 60_000, 64)
        .await
        .expect("issue");
    assert_eq!(
        other.check_token(&app.token).await.expect("check"),
        TokenState::Live(TokenHolder::App("alice".into()), app.expires_ms)
    );
    // Only the hash is stored.
    let client = raw(&url).await;
    for row in client
        .query("SELECT hash, holder FROM tokens", &[])
        .await
        .expect("rows")
    {
        let hash: Vec<u8> = row.get(0);
        assert_eq!(hash.len(), 32);
        assert_ne!(hash, issued.token.as_bytes());
    }
}

#[tokio::test]
async fn expired_tokens_are_told_apart_then_purged() {
    let Some((store, url)) = fresh("expiry").await else {
        return;
    };
    let bob = TokenHolder::User("bob".into());
    // Zero lifetime: expired the moment it is issued, no sleeping on the clock.
    let expired = store.issue_token(&bob, 0, 64).await.expect("issue");
    assert_eq!(
        store.check_token(&expired.token).await.expect("check"),
        TokenState::Expired
    );
    // Expired long ago (moved back by hand): purged.
    raw(&url)
        .await
        .execute("UPDATE tokens SET expires_ms = expires_ms - 7200000", &[])
        .await
        .expect("age");
    assert_eq!(store.purge_tokens().await.expect("purge"), 1);
    assert_eq!(
        store.check_token(&expired.token).await.expect("check"),
        TokenState::Unknown
    );
}

#[tokio::test]
async fn repeated_logins_keep_a_bounded_number_of_tokens() {
    let Some((store, _)) = fresh("bounded").await else {
        return;
    };
    let carol = TokenHolder::User("carol".into());
    let dave = TokenHolder::User("dave".into());
    let first = store.issue_token(&carol, 60_000, 3).await.expect("issue");
    let other = store.issue_token(&dave, 60_000, 3).await.expect("issue");
    let mut last = None;
    for _ in 0..3 {
        last = Some(store.issue_token(&carol, 60_000, 3).await.expect("issue"));
    }
    assert_eq!(
        store.token_count().await.expect("count"),
        4,
        "carol's 3 and dave's"
    );
    assert_eq!(
        store.check_token(&first.token).await.expect("check"),
        TokenState::Unknown,
        "the oldest is retired"
    );
    let last = last.expect("issued");
    assert!(matches!(
        store.check_token(&last.token).await.expect("check"),
        TokenState::Live(..)
    ));
    assert!(matches!(
        store.check_token(&other.token).await.expect("check"),
        TokenState::Live(..)
    ));
}

#[tokio::test]
async fn every_page_walk_is_an_index_range_without_a_sort() {
    use roam::protocol::ChatType;
    let Some((store, url)) = fresh("plans").await else {
        return;
    };
    // Enough rows over enough conversations that a scan of the table would cost more
    // than the page, as on a real database; then the planner's statistics.
    let mut messages = Vec::new();
    for peer in 0..40u64 {
        for i in 0..500u64 {
            let id = common::BASE_ID + peer * 1_000 + i;
            let (from, to) = if peer == 0 {
                // bob sends one message in ten: a sender filter that picks few.
                if i % 10 == 0 {
                    ("bob", "alice")
                } else {
                    ("alice", "bob")
                }
            } else {
                ("alice", "carol")
            };
            let to = if peer == 0 {
                to.to_string()
            } else {
                format!("{to}{peer}")
            };
            let time = 1_700_000_000_000 + i as i64;
            messages.push(if i % 5 == 0 {
                common::image(id, time, from, &to, ChatType::Single)
            } else {
                common::text(id, time, from, &to, ChatType::Single, "hello")
            });
        }
    }
    for batch in messages.chunks(5_000) {
        store.insert_messages(batch).await.expect("insert");
    }
    raw(&url)
        .await
        .batch_execute("VACUUM ANALYZE messages")
        .await
        .expect("analyze");
    let plans = store.walk_plans("u:alice|bob").await.expect("plans");
    assert_eq!(
        plans.len(),
        32,
        "4 walks, 2 directions, with and without cursor and time bounds"
    );
    for (sql, plan) in plans {
        let index = if sql.contains("AND sender =") {
            "messages_by_sender"
        } else if sql.contains("AND type =") {
            "messages_by_type"
        } else {
            "messages_page"
        };
        let what = format!("{sql}\n{plan}");
        assert!(plan.contains("Index") && plan.contains(index), "{what}");
        assert!(!plan.contains("Sort"), "sorts: {what}");
        assert!(!plan.contains("Seq Scan"), "scans: {what}");
        assert!(!plan.contains("Bitmap"), "gathers before ordering: {what}");
    }
}
