//! `roam import` writes in batches bounded by their size in bytes, not their number of
//! lines: long lines never make it read far ahead of what is committed. On both back ends
//! (see `common::backends`).

mod common;

use std::path::Path;

use common::backends::{Backend, current, db_arg, each_backend};
use common::{BASE_ID, line, text};
use roam::protocol::ChatType;
use roam::store::{Db, ImportOptions, Store};

/// Gives `data` in small reads and notes, at each, how many bytes it has given and how
/// many messages another connection sees committed.
struct Watching {
    data: Vec<u8>,
    given: usize,
    /// Counts the committed messages over a connection of its own.
    committed: Box<dyn FnMut() -> Result<u64, String> + Send>,
    log: std::sync::Arc<std::sync::Mutex<Vec<(usize, u64)>>>,
}

impl std::io::Read for Watching {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(64 << 10).min(self.data.len() - self.given);
        buf[..n].copy_from_slice(&self.data[self.given..self.given + n]);
        self.given += n;
        let committed = (self.committed)().map_err(std::io::Error::other)?;
        if let Ok(mut log) = self.log.lock() {
            log.push((self.given, committed));
        }
        Ok(n)
    }
}

/// A store on disk for the running test's back end, and a way to count its committed
/// messages over another connection (from a thread outside the runtime).
async fn watched_db(dir: &Path) -> (Db, Box<dyn FnMut() -> Result<u64, String> + Send>) {
    let target = db_arg(dir, "watched");
    let db = Db::open(&target).await.expect("open");
    let counter: Box<dyn FnMut() -> Result<u64, String> + Send> = match current() {
        Backend::Sqlite => {
            let other = Store::open(Path::new(&target)).expect("second connection");
            Box::new(move || other.message_count().map_err(|e| e.to_string()))
        }
        Backend::Postgres => {
            let other = Db::open(&target).await.expect("second connection");
            let runtime = tokio::runtime::Handle::current();
            Box::new(move || {
                runtime
                    .block_on(other.message_count())
                    .map_err(|e| e.to_string())
            })
        }
    };
    (db, counter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lines_are_written_in_batches_bounded_by_bytes_not_lines() {
    each_backend(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, committed) = watched_db(dir.path()).await;
        // 100 lines of about 100 KiB each: 10 MiB, far below any line count limit.
        let body = "x".repeat(100 << 10);
        let lines: Vec<String> = (0..100u64)
            .map(|i| {
                line(&text(
                    BASE_ID + i,
                    1_000_000 + i as i64,
                    "alice",
                    "bob",
                    ChatType::Single,
                    &body,
                ))
            })
            .collect();
        let line_len = lines[0].len() + 1;
        assert!(lines.iter().all(|l| l.len() + 1 == line_len));
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let reader = Watching {
            data: (lines.join("\n") + "\n").into_bytes(),
            given: 0,
            committed,
            log: std::sync::Arc::clone(&log),
        };
        let options = ImportOptions {
            progress: false,
            batch_bytes: 1 << 20,
            ..ImportOptions::default()
        };
        let summary = db
            .import_reader("long", reader, &options)
            .await
            .expect("import");
        assert_eq!(summary.new, 100, "{} {summary}", db.kind());
        // Reading never ran more than about two batches (plus the read buffer and a line)
        // ahead of what was committed: that, not the line count, bounds the memory.
        let log = log.lock().expect("log");
        let ahead = log
            .iter()
            .map(|(given, committed)| given.saturating_sub(*committed as usize * line_len))
            .max()
            .expect("reads");
        assert!(
            ahead < 4 << 20,
            "{}: read {ahead} bytes ahead of the database",
            db.kind()
        );
    })
    .await;
}
