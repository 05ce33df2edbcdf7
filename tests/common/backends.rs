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

/// A store back end, for tests that run once per back end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An in-memory SQLite database.
    Sqlite,
    /// A database of its own in the throwaway cluster.
    Postgres,
}

tokio::task_local! {
    /// The back end of the test running in this task (see [`each_backend`]).
    pub static BACKEND: Backend;
}

/// The back ends present: SQLite, and PostgreSQL when a cluster can be had.
pub fn present() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if super::postgres::cluster().is_some() {
        all.push(Backend::Postgres);
    }
    all
}

/// Runs a test body once per back end present, each run seeing its back end in
/// [`BACKEND`] (and so in [`fresh_db`]).
pub async fn each_backend<F, Fut>(body: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in present() {
        BACKEND.scope(backend, body()).await;
    }
}

/// [`each_backend`] for a test without a runtime (one that runs the `roam` binary).
pub fn each_backend_blocking(body: impl Fn()) {
    for backend in present() {
        BACKEND.sync_scope(backend, &body);
    }
}

/// The running test's back end (SQLite outside [`each_backend`]).
pub fn current() -> Backend {
    BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
}

/// What `--db` names for a new, empty store of the running test's back end, for tests of
/// the `roam` binary: a SQLite file in `dir` (not created yet), or a new database's URL.
pub fn db_arg(dir: &std::path::Path, hint: &str) -> String {
    match current() {
        Backend::Sqlite => dir.join(format!("{hint}.sqlite")).display().to_string(),
        Backend::Postgres => {
            super::postgres::database(hint)
                .expect("a cluster: present() said so")
                .1
        }
    }
}

/// A fresh, empty store of the running test's back end (SQLite outside
/// [`each_backend`]).
pub async fn fresh_db(hint: &str) -> Db {
    match current() {
        Backend::Sqlite => Db::single(Store::open_in_memory().expect("in-memory store")),
        Backend::Postgres => {
            let (_, url) = super::postgres::database(hint).expect("a cluster: present() said so");
            Db::open(&url).await.expect("PostgreSQL store")
        }
    }
}
