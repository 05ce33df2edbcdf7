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
//! divided by the pages served. The generator speaks HTTP/1.1 keep-alive by hand over
//! `TcpStream`, so its own cost per request stays small.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use roam::protocol::{ChatType, Content, Message};
use roam::server::{ServerConfig, spawn};
use roam::store::{Store, StorePool};
use serde_json::Map;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MESSAGES: u64 = 20_000;
const BASE_ID: u64 = 1_300_000_000_000_000_000;
const SERVER_THREADS: &str = "roam-srv";

fn build(path: &std::path::Path) {
    let mut store = Store::open(path).expect("open");
    store.set_synchronous("OFF").expect("pragma");
    store.set_password("alice", "pw").expect("user");
    let messages: Vec<Message> = (0..MESSAGES)
        .map(|i| Message {
            id: BASE_ID + i,
            from: if i % 2 == 0 { "alice" } else { "bob" }.into(),
            to: if i % 2 == 0 { "bob" } else { "alice" }.into(),
            chat_type: ChatType::Single,
            time: 1_600_000_000_000 + i as i64 * 1_000,
            content: Content::Text {
                text: format!("message {i}: some words to make it a realistic size"),
            },
            ext: Map::new(),
            meta: None,
        })
        .collect();
    store.insert_messages(&messages).expect("insert");
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

/// One keep-alive connection paging until `stop`: the latency of every page, in µs.
async fn connection(
    addr: std::net::SocketAddr,
    token: Arc<str>,
    stop: Arc<AtomicBool>,
) -> Vec<u32> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut latencies = Vec::with_capacity(100_000);
    let mut cursor = String::new();
    let mut buf = Vec::with_capacity(64 << 10);
    while !stop.load(Ordering::Relaxed) {
        let start = if cursor.is_empty() {
            "-1".to_string()
        } else {
            format!("\"{cursor}\"")
        };
        let body =
            format!(r#"{{"queue":"bob@easemob.com","start":{start},"end":-1,"pull_number":50}}"#);
        let request = format!(
            "POST /acme/chatapp/users/alice/messageroaming HTTP/1.1\r\nhost: bench\r\n\
             authorization: Bearer {token}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        );
        let sent = Instant::now();
        stream.write_all(request.as_bytes()).await.expect("write");
        buf.clear();
        let body = read_response(&mut stream, &mut buf).await;
        latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
        let text = std::str::from_utf8(body).expect("utf-8");
        assert!(text.contains("\"msgs\":[{"), "not a page: {text:.200}");
        cursor = match text.find("\"next_key\":\"") {
            Some(at) => {
                let rest = &text[at + 12..];
                rest[..rest.find('"').expect("closing quote")].to_string()
            }
            None => String::new(),
        };
    }
    latencies
}

/// Reads one response with a content-length body into `buf`; returns the body.
async fn read_response<'b>(stream: &mut TcpStream, buf: &'b mut Vec<u8>) -> &'b [u8] {
    let mut chunk = [0u8; 16 << 10];
    loop {
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = std::str::from_utf8(&buf[..head_end]).expect("head");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .expect("content-length");
        let total = head_end + 4 + length;
        while buf.len() < total {
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
        return &buf[head_end + 4..total];
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[at]) / 1000.0
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
    let token: Arc<str> = client_rt.block_on(async {
        let res: serde_json::Value = reqwest::Client::new()
            .post(format!("http://{addr}/acme/chatapp/token"))
            .json(&serde_json::json!({"grant_type":"password","username":"alice","password":"pw"}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        res["access_token"].as_str().expect("token").into()
    });

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
        let stop = Arc::new(AtomicBool::new(false));
        let (cpu_before, _) = threads_named(SERVER_THREADS);
        let started = Instant::now();
        let results = client_rt.block_on(async {
            let tasks: Vec<_> = (0..n)
                .map(|_| tokio::spawn(connection(addr, Arc::clone(&token), Arc::clone(&stop))))
                .collect();
            let mut max_threads = 0;
            let until = Instant::now() + Duration::from_secs(o.seconds);
            while Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(20)).await;
                max_threads = max_threads.max(threads_named(SERVER_THREADS).1);
            }
            stop.store(true, Ordering::Relaxed);
            let mut latencies = Vec::new();
            for t in tasks {
                latencies.extend(t.await.expect("connection task"));
            }
            (latencies, max_threads)
        });
        let elapsed = started.elapsed().as_secs_f64();
        let (cpu_after, _) = threads_named(SERVER_THREADS);
        let (mut latencies, max_threads) = results;
        latencies.sort_unstable();
        let pages = latencies.len();
        let cpu_ms = (cpu_after - cpu_before) as f64 / ticks_per_second() * 1000.0;
        println!(
            "{n:>5} {pages:>10} {:>9.0} {:>9.2} {:>9.2} {max_threads:>13} {:>12.3} ms",
            pages as f64 / elapsed,
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            cpu_ms / pages.max(1) as f64,
        );
    }
    server_rt.block_on(server.shutdown()).expect("shutdown");
}
