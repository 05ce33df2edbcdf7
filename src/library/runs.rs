//! Which stretches of a conversation the library holds completely.
//!
//! A run is a stretch of one conversation's history, from its oldest message to its newest
//! (both held), in which the library holds every message the server had when it was
//! fetched: one page is a run, and a page fetched right after another in the same walk
//! continues that page's run. Runs that share a message are one run. Two runs that only
//! border each other stay two: the server's cursors are opaque, so nothing says that no
//! message lies between them until a page bridges them.
//!
//! A run may reach the beginning of the conversation (a walk back got `is_last`), and
//! otherwise keeps the server's cursor for the page just older than it (`resume`), so a
//! sync continues where an earlier one stopped without paging through what is held.

use serde::{Deserialize, Serialize};

/// Where a message sits in its conversation: the server orders history by time, then id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// The message's time (ms since the epoch).
    pub time: i64,
    /// The message's id.
    pub id: u64,
}

impl Key {
    /// The key of `message`.
    pub fn of(message: &crate::protocol::Message) -> Key {
        Key {
            time: message.time,
            id: message.id,
        }
    }
}

/// One stretch held completely.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Its oldest message.
    pub oldest: Key,
    /// Its newest message.
    pub newest: Key,
    /// Nothing is older than `oldest`: the beginning of the conversation is held.
    pub beginning: bool,
    /// The server's cursor for the page just older than `oldest`, when known and the
    /// beginning is not reached.
    pub resume: Option<String>,
}

impl Run {
    /// Whether `key` lies within the run (held, or known not to exist).
    pub fn covers(&self, key: Key) -> bool {
        self.oldest <= key && key <= self.newest
    }

    fn overlaps(&self, other: &Run) -> bool {
        self.oldest <= other.newest && other.oldest <= self.newest
    }
}

/// A conversation's runs: disjoint, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Runs {
    runs: Vec<Run>,
}

impl Runs {
    /// The runs as stored (any order, possibly overlapping), made disjoint.
    pub fn from_runs(runs: impl IntoIterator<Item = Run>) -> Runs {
        let mut out = Runs::default();
        for run in runs {
            out.add(run);
        }
        out
    }

    /// The runs, oldest first.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// The newest run.
    pub fn newest(&self) -> Option<&Run> {
        self.runs.last()
    }

    /// The run that covers `key`.
    pub fn containing(&self, key: Key) -> Option<&Run> {
        self.runs.iter().find(|run| run.covers(key))
    }

    /// Whether the whole conversation, up to the newest run's newest message, is held.
    pub fn complete(&self) -> bool {
        matches!(self.runs.as_slice(), [only] if only.beginning)
    }

    /// Adds a run, merging it with every run it overlaps.
    pub fn add(&mut self, run: Run) {
        let mut merged = run;
        let mut kept = Vec::with_capacity(self.runs.len() + 1);
        for existing in self.runs.drain(..) {
            if existing.overlaps(&merged) {
                merged = merge(merged, existing);
            } else {
                kept.push(existing);
            }
        }
        let at = kept.partition_point(|r| r.oldest < merged.oldest);
        kept.insert(at, merged);
        self.runs = kept;
    }

    /// Marks the run covering `key` as reaching the beginning (a walk back from it found
    /// nothing older). Returns whether there was one.
    pub fn reach_beginning(&mut self, key: Key) -> bool {
        let Some(at) = self.runs.iter().position(|run| run.covers(key)) else {
            return false;
        };
        let run = &mut self.runs[at];
        run.beginning = true;
        run.resume = None;
        // Whatever older runs there were, this one reaches the beginning: they are older
        // than nothing and must have been wrong (the history changed on the server).
        self.runs.drain(..at);
        true
    }
}

/// Two overlapping runs as one: the older end's beginning and cursor win.
fn merge(a: Run, b: Run) -> Run {
    let (older, newer) = if a.oldest <= b.oldest { (a, b) } else { (b, a) };
    let tied = older.oldest == newer.oldest;
    Run {
        oldest: older.oldest,
        newest: older.newest.max(newer.newest),
        beginning: older.beginning || (tied && newer.beginning),
        resume: if older.beginning || (tied && newer.beginning) {
            None
        } else {
            older.resume.or(if tied { newer.resume } else { None })
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(n: u64) -> Key {
        Key {
            time: n as i64 * 10,
            id: n,
        }
    }

    fn run(oldest: u64, newest: u64) -> Run {
        Run {
            oldest: key(oldest),
            newest: key(newest),
            beginning: false,
            resume: Some(format!("before-{oldest}")),
        }
    }

    #[test]
    fn overlapping_runs_merge_and_bordering_ones_stay_apart() {
        let mut runs = Runs::default();
        runs.add(run(10, 20));
        runs.add(run(21, 30));
        assert_eq!(
            runs.runs().len(),
            2,
            "bordering is not known to be contiguous"
        );
        runs.add(run(20, 21));
        assert_eq!(
            runs.runs(),
            [Run {
                resume: Some("before-10".into()),
                ..run(10, 30)
            }]
        );
    }

    #[test]
    fn the_older_ends_cursor_and_beginning_survive_a_merge() {
        let mut runs = Runs::default();
        runs.add(Run {
            beginning: true,
            resume: None,
            ..run(0, 5)
        });
        runs.add(run(40, 50));
        runs.add(run(3, 45));
        assert_eq!(runs.runs().len(), 1);
        assert!(runs.complete());
        assert_eq!(runs.newest().map(|r| r.newest), Some(key(50)));
    }

    #[test]
    fn reaching_the_beginning_from_a_run_drops_older_runs() {
        let mut runs = Runs::from_runs([run(1, 2), run(10, 20)]);
        assert!(runs.reach_beginning(key(15)));
        assert_eq!(runs.runs().len(), 1);
        assert!(runs.complete());
        assert!(!runs.reach_beginning(key(5)), "no run covers 5 any more");
    }

    proptest! {
        /// Whatever order pages of one history arrive in, a key is covered by the runs
        /// exactly when some page (or a chain of overlapping pages) covers it, and the runs
        /// stay disjoint and sorted.
        #[test]
        fn runs_cover_exactly_what_pages_cover(
            pages in proptest::collection::vec((0u64..200, 0u64..20), 0..30)
        ) {
            let mut runs = Runs::default();
            let mut covered = std::collections::BTreeSet::new();
            for (start, len) in &pages {
                runs.add(run(*start, start + len));
                covered.extend(*start..=start + len);
            }
            for pair in runs.runs().windows(2) {
                prop_assert!(pair[0].newest < pair[1].oldest, "{:?}", runs);
            }
            for n in 0..230 {
                prop_assert_eq!(runs.containing(key(n)).is_some(), covered.contains(&n), "key {}", n);
            }
        }
    }
}
