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
}

impl StorePool {
    /// Opens `size` connections (at least one) to a database file.
    pub fn open(path: &Path, size: usize) -> Result<StorePool, StoreError> {
        let stores = (0..size.max(1))
            .map(|_| Store::open(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StorePool {
            stores,
            next: AtomicUsize::new(0),
        })
    }

    /// A pool of one connection: what an in-memory store can offer, as its data lives in
    /// that connection.
    pub fn single(store: Store) -> StorePool {
        StorePool {
            stores: vec![Mutex::new(store)],
            next: AtomicUsize::new(0),
        }
    }

    /// How many connections the pool holds.
    pub fn size(&self) -> usize {
        self.stores.len()
    }

    /// Runs `f` on a free connection, waiting for one when all are busy. Blocking: call it
    /// from `spawn_blocking`, never on an async worker.
    pub fn with<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
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

/// Locks a connection; a panic in another holder leaves SQLite consistent (transactions
/// roll back on drop), so a poisoned lock is still usable.
fn lock(m: &Mutex<Store>) -> MutexGuard<'_, Store> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
