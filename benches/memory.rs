//! Memory per loaded message: the resident set before and after loading 1,000,000 messages
//! into an `App` through `update`, minus the bytes of their text. Goal: under 300 bytes
//! per message beyond its text. Prints; asserts nothing.
//!
//! The heap bytes the program holds (counted by a wrapping allocator) are printed too:
//! the resident set adds the allocator's own overhead and fragmentation to them.
//!
//! `cargo bench --bench memory`

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

use roam::protocol::Message;

const MILLION: u64 = 1_000_000;
const TOTAL: u64 = 2_000_000;

/// A field of /proc/self/status, in bytes (`VmRSS`, `VmHWM`...).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    // Criterion-style arguments (`--bench`) are ignored; a filter that is not "memory"
    // skips the run, so `cargo bench -- draw` does not pay for this.
    if let Some(filter) = std::env::args().skip(1).find(|a| !a.starts_with('-'))
        && !"memory".contains(filter.as_str())
    {
        return;
    }
    // Touch the lazily initialised parts (time zone, regex tables) before measuring.
    drop(common::loaded_app(1_000, TOTAL));

    let before = status_bytes("VmRSS");
    let live_before = LIVE.load(Ordering::Relaxed) as u64;
    let started = Instant::now();
    let app = common::loaded_app(MILLION, TOTAL);
    let elapsed = started.elapsed();
    let after = status_bytes("VmRSS");
    let live = (LIVE.load(Ordering::Relaxed) as u64).saturating_sub(live_before);
    let peak = status_bytes("VmHWM");
    let len = app.current_history().map_or(0, |h| h.len()) as u64;
    let text = common::text_bytes(TOTAL - len..TOTAL);

    let grown = after.saturating_sub(before);
    let per = |b: u64| b as f64 / len as f64;
    println!("memory: {len} messages loaded through App::update in {elapsed:.2?}");
    println!(
        "memory: resident set {:.1} MiB → {:.1} MiB (peak {:.1} MiB): +{:.1} MiB",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        peak as f64 / 1048576.0,
        grown as f64 / 1048576.0
    );
    println!(
        "memory: {:.0} bytes per message in all; text {:.0} bytes per message on average",
        per(grown),
        per(text)
    );
    println!(
        "memory: {:.0} bytes per message beyond its text (goal < 300)",
        per(grown.saturating_sub(text))
    );
    println!(
        "memory: heap held: {:.1} MiB, {:.0} bytes per message, {:.0} beyond its text \
         (the rest of the resident set is the allocator's overhead and free space)",
        live as f64 / 1048576.0,
        per(live),
        per(live.saturating_sub(text))
    );
    println!(
        "memory: (size_of::<Message>() = {} bytes)",
        std::mem::size_of::<Message>()
    );
    drop(app);
}
