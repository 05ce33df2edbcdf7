//! Soak: a flood of failed logins against a real `roam serve` process, while another user
//! reads history. Goal (issue 6): 100 concurrent failed logins for 30 s keep the server's
//! resident set under 200 MB and the reader's page p99 under 50 ms.
//!
//! Two floods, each 100 clients logging in with random user names and wrong passwords as
//! fast as they are answered, with the server's default limits:
//! - from one address (127.0.0.1): the per-address throttle answers most of them 429 at
//!   once;
//! - from 100 addresses (127.0.0.2 to 127.0.0.101, all loopback on Linux): each address gets
//!   its own allowance, so the bounded hashing (one check per core, a short queue) carries
//!   the flood.
//!
//! Meanwhile a reader fetches 20-message pages of its own conversation one after another.
//! The server's VmRSS is sampled from /proc every 50 ms. Prints; asserts nothing.
//!
//! `cargo bench --bench login_flood` (Linux only). `ROAM_SOAK_SECS` changes the 30 s;
//! `ROAM_SOAK_BIN=/path/to/roam` floods another build (an older roam, for comparison). A
//! flood stops early when the server passes 3 GB, so an unbounded server cannot take the
//! machine down.

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use roam::protocol::{ChatType, Content, Message};
use roam::store::Store;
use serde_json::{Map, Value, json};

const CLIENTS: usize = 100;
const BASE_ID: u64 = 1_300_000_000_000_000_000;
/// How long any client here waits for an answer.
const PATIENCE: Duration = Duration::from_secs(10);
/// The resident set at which a flood is stopped early (kB).
const RSS_STOP_KB: u64 = 3 << 20;

/// A database with the reader and 10,000 messages in its chat.
fn database(path: &std::path::Path) {
    let mut store = Store::open(path).expect("open");
    store.set_password("reader", "pw-reader").expect("user");
    let messages: Vec<Message> = (0..10_000u64)
        .map(|i| Message {
            id: BASE_ID + i,
            from: if i % 2 == 0 { "reader" } else { "friend" }.into(),
            to: if i % 2 == 0 { "friend" } else { "reader" }.into(),
            chat_type: ChatType::Single,
            time: 1_700_000_000_000 + i as i64,
            content: Content::Text {
                text: format!("message {i}: some words to make it a realistic size"),
            },
            ext: Map::new(),
            meta: None,
        })
        .collect();
    store.insert_messages(&messages).expect("insert");
}

/// `roam serve` on the database, and the address it announced.
fn start_server(db: &std::path::Path) -> (Child, String) {
    let bin =
        std::env::var_os("ROAM_SOAK_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_roam").into());
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--appkey",
            "acme#chatapp",
            "--db",
        ])
        .arg(db)
        .env("ROAM_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roam serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(url) = line.split("http://").nth(1) {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("address announced");
    (child, addr)
}

/// A line of /proc/PID/status, in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

#[derive(Default)]
struct Counts {
    refused: AtomicU64,
    busy: AtomicU64,
    other: AtomicU64,
}

/// One attacker: failed logins as fast as they are answered, until `stop`.
async fn attack(
    http: reqwest::Client,
    url: String,
    id: usize,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let body =
            json!({"grant_type":"password","username":format!("u{id}x{n}"),"password":"wrong"});
        match http.post(&url).json(&body).send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let _ = res.bytes().await;
                match status {
                    400 => counts.refused.fetch_add(1, Ordering::Relaxed),
                    429 => counts.busy.fetch_add(1, Ordering::Relaxed),
                    _ => counts.other.fetch_add(1, Ordering::Relaxed),
                };
            }
            Err(_) => {
                counts.other.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn flood(name: &str, addr: &str, pid: u32, spread: bool, secs: u64) {
    let base = format!("http://{addr}/acme/chatapp");
    // Ten seconds, the patience of every client here: a page or login not answered by then
    // counts as failed.
    let reader = reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .expect("client");
    let login: Value = reader
        .post(format!("{base}/token"))
        .json(&json!({"grant_type":"password","username":"reader","password":"pw-reader"}))
        .send()
        .await
        .expect("reader logs in")
        .json()
        .await
        .expect("json");
    let token = login["access_token"].as_str().expect("token").to_string();
    let page_url = format!("{base}/users/reader/messageroaming");
    let page = || {
        reader
            .post(&page_url)
            .bearer_auth(&token)
            .json(&json!({"queue":"friend@easemob.com","start":-1,"end":-1,"pull_number":20}))
            .send()
    };
    // Quiet baseline: 200 pages.
    let mut quiet = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let res = page().await.expect("page");
        assert_eq!(res.status(), 200);
        let _ = res.bytes().await;
        quiet.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    quiet.sort_by(f64::total_cmp);
    let rss_before = status_kb(pid, "VmRSS:");

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let attackers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let mut builder = reqwest::Client::builder().timeout(PATIENCE);
            if spread {
                builder = builder.local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i as u8)));
            }
            let http = builder.build().expect("client");
            tokio::spawn(attack(
                http,
                format!("{base}/token"),
                i,
                Arc::clone(&stop),
                Arc::clone(&counts),
            ))
        })
        .collect();
    let sampler = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut peak = 0;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(status_kb(pid, "VmRSS:"));
                if peak > RSS_STOP_KB {
                    println!(
                        "   stopped early: the server passed {} MB",
                        RSS_STOP_KB >> 10
                    );
                    stop.store(true, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            peak
        })
    };
    let started = Instant::now();
    let mut loaded = Vec::new();
    let mut failed_pages = 0;
    while started.elapsed() < Duration::from_secs(secs) && !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        match page().await {
            Ok(res) if res.status() == 200 => {
                let _ = res.bytes().await;
                loaded.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            _ => failed_pages += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        let _ = a.await;
    }
    let peak_kb = sampler.await.unwrap_or(0);
    loaded.sort_by(f64::total_cmp);
    let elapsed = started.elapsed().as_secs_f64();
    let refused = counts.refused.load(Ordering::Relaxed);
    let busy = counts.busy.load(Ordering::Relaxed);
    let other = counts.other.load(Ordering::Relaxed);
    println!("== {name}: {CLIENTS} clients, {elapsed:.0} s");
    println!(
        "   logins: {refused} refused after a password check ({:.0}/s), {busy} answered 429 ({:.0}/s), {other} failed or unanswered in 10 s",
        refused as f64 / elapsed,
        busy as f64 / elapsed
    );
    println!(
        "   server RSS: {:.1} MB before, peak {:.1} MB during, {:.1} MB after",
        rss_before as f64 / 1024.0,
        peak_kb as f64 / 1024.0,
        status_kb(pid, "VmRSS:") as f64 / 1024.0
    );
    println!(
        "   reader pages quiet: p50 {:.2} ms, p99 {:.2} ms ({} pages)",
        percentile(&quiet, 50.0),
        percentile(&quiet, 99.0),
        quiet.len()
    );
    println!(
        "   reader pages during the flood: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} pages, {failed_pages} failed or over 10 s)",
        percentile(&loaded, 50.0),
        percentile(&loaded, 99.0),
        loaded.last().copied().unwrap_or(f64::NAN),
        loaded.len()
    );
}

fn main() {
    // `cargo bench` passes harness flags (e.g. `--bench`); this soak takes none.
    let secs: u64 = std::env::var("ROAM_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("flood.sqlite");
    database(&db);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for (name, spread) in [("one address", false), ("100 addresses", true)] {
        // A fresh server per flood: the first one's throttle state must not help the second.
        let (mut server, addr) = start_server(&db);
        runtime.block_on(flood(name, &addr, server.id(), spread, secs));
        println!(
            "   server peak RSS over its life (VmHWM): {:.1} MB",
            status_kb(server.id(), "VmHWM:") as f64 / 1024.0
        );
        let _ = server.kill();
        let _ = server.wait();
    }
}
