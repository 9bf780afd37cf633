//! Knowing cheaply whether the catalog changed, for readers that ask on every request.
//!
//! The catalog's generation lives in SQLite, and reading it takes the database's file locks
//! (system calls, and the connection's mutex): too much to pay on every API request of a busy
//! server. `Freshness` answers from memory instead, and asks SQLite again only when
//! - a [`Store`](crate::Store) of this process, on the same data directory, has committed a
//!   change since (a process-wide counter per directory, bumped after each commit), or
//! - [`MAX_AGE`] has passed since SQLite was last asked (changes made by another process,
//!   such as `kleber import` next to a running server).
//!
//! So a change made in this process is seen by the next request; one made by another process
//! within [`MAX_AGE`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Longest time a change made by another process may go unseen.
pub const MAX_AGE: Duration = Duration::from_millis(10);

/// Commit counters of this process, by canonical data directory.
static LOCAL_COMMITS: LazyLock<Mutex<HashMap<PathBuf, Arc<AtomicU64>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn local_counter(root: &Path) -> Arc<AtomicU64> {
    let key = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut counters = LOCAL_COMMITS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(counters.entry(key).or_default())
}

/// The last generation read from SQLite, and when.
pub(crate) struct Freshness {
    local: Arc<AtomicU64>,
    seen_local: AtomicU64,
    /// Nanoseconds after `epoch` of the last read; 0 before the first.
    checked_at: AtomicU64,
    generation: AtomicI64,
    epoch: Instant,
}

impl Freshness {
    pub(crate) fn new(root: &Path) -> Freshness {
        Freshness {
            local: local_counter(root),
            seen_local: AtomicU64::new(0),
            checked_at: AtomicU64::new(0),
            generation: AtomicI64::new(0),
            epoch: Instant::now(),
        }
    }

    /// Records that this process committed a change (call after the commit).
    pub(crate) fn committed(&self) {
        self.local.fetch_add(1, Ordering::AcqRel);
    }

    /// The generation, from memory when it cannot have changed, else from `read`.
    pub(crate) fn generation<E>(&self, read: impl FnOnce() -> Result<i64, E>) -> Result<i64, E> {
        let local = self.local.load(Ordering::Acquire);
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1);
        let checked_at = self.checked_at.load(Ordering::Acquire);
        let max_age = u64::try_from(MAX_AGE.as_nanos()).unwrap_or(u64::MAX);
        if checked_at != 0
            && now.saturating_sub(checked_at) < max_age
            && self.seen_local.load(Ordering::Acquire) == local
        {
            return Ok(self.generation.load(Ordering::Acquire));
        }
        // `local` was loaded before the read: a commit racing with it bumps the counter past
        // `seen_local`, so the next call reads again.
        let generation = read()?;
        self.generation.store(generation, Ordering::Release);
        self.seen_local.store(local, Ordering::Release);
        self.checked_at.store(now, Ordering::Release);
        Ok(generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn reads_again_after_a_local_commit_and_after_max_age_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let freshness = Freshness::new(dir.path());
        let reads = Cell::new(0);
        let read = |value: i64| {
            let reads = &reads;
            move || -> Result<i64, ()> {
                reads.set(reads.get() + 1);
                Ok(value)
            }
        };
        assert_eq!(freshness.generation(read(1)), Ok(1));
        assert_eq!(freshness.generation(read(2)), Ok(1), "within MAX_AGE, from memory");
        assert_eq!(reads.get(), 1);
        // Another Store of this process on the same directory commits: seen at once.
        Freshness::new(dir.path()).committed();
        assert_eq!(freshness.generation(read(3)), Ok(3));
        assert_eq!(reads.get(), 2);
        std::thread::sleep(MAX_AGE + Duration::from_millis(5));
        assert_eq!(freshness.generation(read(4)), Ok(4), "after MAX_AGE, read again");
        assert_eq!(reads.get(), 3);
    }

    #[test]
    fn other_directories_do_not_invalidate() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let freshness = Freshness::new(a.path());
        assert_eq!(freshness.generation(|| Ok::<_, ()>(7)), Ok(7));
        Freshness::new(b.path()).committed();
        assert_eq!(freshness.generation(|| Ok::<_, ()>(8)), Ok(7));
    }
}
