//! The whole `roam` process on the demo, as a person or a script meets it: from spawning
//! the executable to its exit, with the demo database already prepared (a second run).
//!
//! - `conversations`: `roam conversations`, the demo's list printed as text (the embedded
//!   server started in process, a login, one list call, names);
//! - `history`: `roam history <the demo's largest group> --limit 50`, one page printed;
//! - `version`: `roam --version`, the floor any run pays (loading the executable).
//!
//! The cache folder is a temporary one, prepared by one untimed run first.
//!
//! Run: `cargo bench --bench process_start -- --noplot`.

use std::path::Path;
use std::process::{Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};

const ROAM: &str = env!("CARGO_BIN_EXE_roam");

fn run(cache: &Path, args: &[&str]) {
    let status = Command::new(ROAM)
        .args(args)
        .env("ROAM_CACHE_DIR", cache)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("roam runs");
    assert!(status.success(), "roam {args:?} failed: {status}");
}

fn bench_process(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("temp dir");
    let largest_group = roam::demo::BIG_CONVERSATION;
    let history = ["history", largest_group, "--limit", "50"];
    run(cache.path(), &["conversations"]);
    let mut group = c.benchmark_group("process");
    group.sample_size(30);
    group.bench_function("version", |b| b.iter(|| run(cache.path(), &["--version"])));
    group.bench_function("conversations", |b| {
        b.iter(|| run(cache.path(), &["conversations"]))
    });
    group.bench_function("history", |b| b.iter(|| run(cache.path(), &history)));
    group.finish();
}

criterion_group!(benches, bench_process);
criterion_main!(benches);
