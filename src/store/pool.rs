//! A few connections to one database, shared by the server's blocking tasks.
//!
//! SQLite connections are not `Sync`; each one sits behind its own mutex and a caller takes
//! whichever is free, so concurrent requests read in parallel (WAL) instead of queuing on
//! one connection.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use super::{Store, StoreError};

/// A small pool of store connections.
#[derive(Debug)]
pub struct StorePool {
    stores: Vec<Mutex<Store>>,
    next: AtomicUsize,
    /// Callers inside [`StorePool::with`] now (waiting for a connection included), and
    /// the most there have been: what shows whether the server bounds its blocking work.
    inside: AtomicUsize,
    peak: AtomicUsize,
}

impl StorePool {
    /// Opens `size` connections (at least one) to a database file.
    pub fn open(path: &Path, size: usize) -> Result<StorePool, StoreError> {
        let stores = (0..size.max(1))
            .map(|_| Store::open(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StorePool::of(stores))
    }

    /// Opens the pool a server uses: [`server_pool_size`] connections.
    pub fn open_for_server(path: &Path) -> Result<StorePool, StoreError> {
        StorePool::open(path, server_pool_size())
    }

    /// A pool of one connection: what an in-memory store can offer, as its data lives in
    /// that connection.
    pub fn single(store: Store) -> StorePool {
        StorePool::of(vec![Mutex::new(store)])
    }

    fn of(stores: Vec<Mutex<Store>>) -> StorePool {
        StorePool {
            stores,
            next: AtomicUsize::new(0),
            inside: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// The most callers that were inside [`StorePool::with`] at once, waiting for a
    /// connection or using one: each is a thread held.
    pub fn peak_callers(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// How many connections the pool holds.
    pub fn size(&self) -> usize {
        self.stores.len()
    }

    /// Sets every connection's scan budget ([`Store::set_scan_budget`]).
    pub fn set_scan_budget(&self, rows: usize) {
        for store in &self.stores {
            lock(store).set_scan_budget(rows);
        }
    }

    /// Runs `f` on a free connection, waiting for one when all are busy. Blocking: call it
    /// from `spawn_blocking`, never on an async worker.
    pub fn with<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let inside = self.inside.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(inside, Ordering::Relaxed);
        let result = self.with_free(f);
        self.inside.fetch_sub(1, Ordering::Relaxed);
        result
    }

    fn with_free<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let n = self.stores.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            match self.stores[(start + i) % n].try_lock() {
                Ok(mut guard) => return f(&mut guard),
                Err(TryLockError::Poisoned(p)) => return f(&mut p.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        f(&mut lock(&self.stores[start]))
    }
}

/// How many connections a server's pool holds: one per core, at least two. A page is
/// CPU work on a warm cache, so more readers than cores only queue in the kernel instead
/// of in the server; two keep one reading while another writes (WAL).
pub fn server_pool_size() -> usize {
    std::thread::available_parallelism()
        .map_or(2, usize::from)
        .max(2)
}

/// Locks a connection; a panic in another holder leaves SQLite consistent (transactions
/// roll back on drop), so a poisoned lock is still usable.
fn lock(m: &Mutex<Store>) -> MutexGuard<'_, Store> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
