//! Both store back ends for one test: the same test runs against each.
//!
//! SQLite always (in memory); PostgreSQL when a throwaway cluster can be had
//! ([`super::postgres`], which says when it skipped), each test in a database of its own.

use roam::protocol::Message;
use roam::store::{Db, Store};

/// A fresh, empty store of each back end present.
pub async fn backends(hint: &str) -> Vec<Db> {
    let mut dbs = vec![Db::single(
        Store::open_in_memory().expect("in-memory store"),
    )];
    if let Some((_, url)) = super::postgres::database(hint) {
        dbs.push(Db::open(&url).await.expect("PostgreSQL store"));
    }
    dbs
}

/// [`backends`], each holding `messages`.
pub async fn backends_with(hint: &str, messages: &[Message]) -> Vec<Db> {
    let dbs = backends(hint).await;
    for db in &dbs {
        db.insert_messages(messages).await.expect("insert");
    }
    dbs
}
