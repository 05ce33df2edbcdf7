//! Password verification with bounded cost. Each check runs argon2 (19 MiB, tens of
//! milliseconds of one core); unbounded, a login flood takes every core and, as freed
//! hashing memory stays with the allocator, gigabytes of memory.
//!
//! So: at most `workers` checks run at once (one per core by default), each on the
//! blocking pool with one of at most `workers` reusable [`HashMemory`] buffers; at most
//! `queue` more wait for a turn; a login beyond that is refused at once with 429
//! `reach_limit` and `Retry-After`. No database connection is held during a check: the
//! caller reads the hash first and releases its connection.

use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::error::ApiError;
use super::log_text::LogText;
use crate::store::password::{HashMemory, dummy_hash, verify_with};

/// Seconds a client refused for a full queue is told to wait.
const BUSY_RETRY_AFTER: u64 = 1;

/// Bounded password checking, shared by all login requests.
#[derive(Debug)]
pub(crate) struct PasswordGate {
    /// Checks running or waiting: a permit per admitted login.
    admitted: Arc<Semaphore>,
    /// Checks running: a permit per worker.
    running: Arc<Semaphore>,
    /// Idle hashing memory; never more buffers than workers.
    memory: Arc<Mutex<Vec<HashMemory>>>,
}

impl PasswordGate {
    /// `workers` checks at once (at least one), `queue` more waiting.
    pub(crate) fn new(workers: usize, queue: usize) -> PasswordGate {
        let workers = workers.max(1);
        PasswordGate {
            admitted: Arc::new(Semaphore::new(workers + queue)),
            running: Arc::new(Semaphore::new(workers)),
            memory: Arc::new(Mutex::new(Vec::with_capacity(workers))),
        }
    }

    /// Whether `password` matches the stored `hash`; with no hash (an unknown user) the same
    /// work is done against a hash nobody matches. 429 when the queue is full.
    pub(crate) async fn verify(
        &self,
        hash: Option<String>,
        password: String,
    ) -> Result<bool, ApiError> {
        let admitted = Arc::clone(&self.admitted)
            .try_acquire_owned()
            .map_err(|_| ApiError::reach_limit(BUSY_RETRY_AFTER))?;
        let running = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal())?;
        let memory = Arc::clone(&self.memory);
        let checked = tokio::task::spawn_blocking(move || {
            let mut buffer = memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop()
                .unwrap_or_default();
            let known = hash.is_some();
            let result = verify_with(
                hash.as_deref().unwrap_or_else(|| dummy_hash()),
                &password,
                &mut buffer,
            );
            memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(buffer);
            // The permits go with the memory: while a check runs, its buffer is out.
            drop(running);
            drop(admitted);
            match result {
                Ok(matches) => known && matches,
                Err(e) => {
                    let text = e.to_string();
                    tracing::error!(error = %LogText::new(&text), "stored password hash unusable");
                    false
                }
            }
        })
        .await;
        checked.map_err(|e| {
            let text = e.to_string();
            tracing::error!(error = %LogText::new(&text), "password check failed");
            ApiError::internal()
        })
    }

    /// Hashing memory held by idle buffers, in KiB (for tests).
    #[cfg(test)]
    fn idle_kib(&self) -> usize {
        self.memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(HashMemory::kib)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::password::hash_password;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_is_bounded_in_memory_and_refused_beyond_the_queue() {
        let gate = Arc::new(PasswordGate::new(2, 3));
        let hash = hash_password("right").expect("hash");
        let checks: Vec<_> = (0..40)
            .map(|i| {
                let gate = Arc::clone(&gate);
                let hash = (i % 2 == 0).then(|| hash.clone());
                tokio::spawn(async move { gate.verify(hash, "wrong".into()).await })
            })
            .collect();
        let mut refused = 0;
        let mut checked = 0;
        for c in checks {
            match c.await.expect("task") {
                Ok(matched) => {
                    assert!(!matched);
                    checked += 1;
                }
                Err(e) => {
                    assert_eq!((e.error, e.retry_after), ("reach_limit", Some(1)));
                    refused += 1;
                }
            }
        }
        assert!(checked >= 5, "workers and queue were served: {checked}");
        assert!(refused > 0, "40 at once overflow 2 + 3");
        // Two buffers of 19 MiB at most, whatever the number of checks.
        assert!(gate.idle_kib() <= 2 * 19 * 1024, "{}", gate.idle_kib());
        assert!(
            gate.verify(Some(hash.clone()), "right".into())
                .await
                .expect("ok")
        );
        assert!(!gate.verify(None, "right".into()).await.expect("ok"));
    }
}
