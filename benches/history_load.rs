//! A bounded loopback load generator for the history endpoint: N connections, each with
//! one request in flight, paging a 20,000-message conversation newest first (following
//! `next_key`, starting over at the end) for a fixed time, against the embedded server in
//! this process.
//!
//! Run: `cargo bench --bench history_load -- --noplot` (criterion's flags are accepted and
//! ignored). `--connections 1,16,64` and `--seconds 5` change the runs; `--pool N` opens
//! the server with N SQLite connections instead of its default.
//!
//! The server runs on its own tokio runtime, as `roam serve` does (a worker per core), its
//! threads named `roam-srv`; the generator on a runtime of one thread named `loadgen`, so
//! both share the machine's cores as a real client on the same host would. Each run
//! prints pages per second, the latency median and 99th percentile (measured by the
//! generator, request written to response read), the most server threads seen (sampled
//! every 20 ms from `/proc/self/task`), and the server's CPU per page: the user and
//! system time of the `roam-srv` threads (from `/proc/self/task/*/stat`) over the run,
//! divided by the pages served. The generator itself is `benches/load`.

mod load;

use std::sync::Arc;
use std::time::Duration;

use roam::server::{ServerConfig, spawn};
use roam::store::{Store, StorePool};

const MESSAGES: u64 = 20_000;
const SERVER_THREADS: &str = "roam-srv";

fn build(path: &std::path::Path) {
    let mut store = Store::open(path).expect("open");
    store.set_synchronous("OFF").expect("pragma");
    store.set_password("alice", "pw").expect("user");
    store
        .insert_messages(&load::conversation(MESSAGES))
        .expect("insert");
}

/// What the run's options say.
struct Options {
    connections: Vec<usize>,
    seconds: u64,
    pool: Option<usize>,
}

fn options() -> Options {
    let mut o = Options {
        connections: vec![1, 16, 64],
        seconds: 5,
        pool: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1);
        match (args[i].as_str(), value) {
            ("--connections", Some(v)) => {
                o.connections = v.split(',').filter_map(|n| n.trim().parse().ok()).collect();
                i += 1;
            }
            ("--seconds", Some(v)) => {
                o.seconds = v.parse().expect("--seconds N");
                i += 1;
            }
            ("--pool", Some(v)) => {
                o.pool = Some(v.parse().expect("--pool N"));
                i += 1;
            }
            // criterion's and cargo's flags (--bench, --noplot, a filter): not ours.
            _ => {}
        }
        i += 1;
    }
    o
}

/// CPU time (ticks) and count of this process's threads named `name`.
fn threads_named(name: &str) -> (u64, usize) {
    let mut ticks = 0;
    let mut count = 0;
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    for task in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ... : comm may hold spaces, so split after the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(name) {
            continue;
        }
        count += 1;
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // utime and stime are fields 14 and 15 of stat, 12 and 13 after the comm.
        let utime: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0);
        let stime: u64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
        ticks += utime + stime;
    }
    (ticks, count)
}

/// Clock ticks per second of `/proc/*/stat` times: Linux's USER_HZ, fixed at 100 by its ABI.
fn ticks_per_second() -> f64 {
    100.0
}

fn main() {
    let o = options();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("load.db");
    build(&path);

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(SERVER_THREADS)
        // Idle blocking threads stay, so their CPU time stays countable for the run.
        .thread_keep_alive(Duration::from_secs(3600))
        .build()
        .expect("server runtime");
    let pool = match o.pool {
        Some(n) => StorePool::open(&path, n),
        None => StorePool::open_for_server(&path),
    }
    .expect("pool");
    let pool_size = pool.size();
    let server = server_rt
        .block_on(spawn(
            Arc::new(pool),
            ServerConfig::new("acme#chatapp"),
            None,
        ))
        .expect("server");
    let addr = server.addr();

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("loadgen")
        .build()
        .expect("client runtime");
    let token = client_rt.block_on(load::login(&format!("http://{addr}")));

    println!(
        "history_load: {MESSAGES} messages, pages of 50, {}s per run, {} cores, pool of {pool_size}",
        o.seconds,
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "{:>5} {:>10} {:>9} {:>9} {:>9} {:>13} {:>15}",
        "conns", "pages", "pages/s", "p50 ms", "p99 ms", "max threads", "srv CPU/page"
    );
    for &n in &o.connections {
        let (cpu_before, _) = threads_named(SERVER_THREADS);
        let mut max_threads = 0;
        let run = client_rt.block_on(load::run(&[addr], &token, n, o.seconds, || {
            max_threads = max_threads.max(threads_named(SERVER_THREADS).1);
        }));
        let (cpu_after, _) = threads_named(SERVER_THREADS);
        let pages = run.latencies.len();
        let cpu_ms = (cpu_after - cpu_before) as f64 / ticks_per_second() * 1000.0;
        println!(
            "{n:>5} {pages:>10} {:>9.0} {:>9.2} {:>9.2} {max_threads:>13} {:>12.3} ms",
            run.pages_per_second(),
            run.percentile(0.50),
            run.percentile(0.99),
            cpu_ms / pages.max(1) as f64,
        );
    }
    server_rt.block_on(server.shutdown()).expect("shutdown");
}
