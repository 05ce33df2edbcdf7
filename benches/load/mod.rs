//! A bounded loopback load generator for the history endpoint, shared by the load benches:
//! connections that each keep one request in flight, paging alice's conversation with bob
//! newest first (following `next_key`, starting over at the end) until told to stop.
//!
//! It speaks HTTP/1.1 keep-alive by hand over `TcpStream`, so its own cost per request
//! stays small beside the server's.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use roam::protocol::{ChatType, Content, Message};
use serde_json::Map;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The first message id of the conversation the load pages.
pub const BASE_ID: u64 = 1_300_000_000_000_000_000;

/// `n` messages between alice and bob, a second apart, oldest first.
pub fn conversation(n: u64) -> Vec<Message> {
    (0..n)
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
        .collect()
}

/// Logs alice (password `pw`) in at `base` (`http://host:port`); her token.
pub async fn login(base: &str) -> Arc<str> {
    let res: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/acme/chatapp/token"))
        .json(&serde_json::json!({"grant_type":"password","username":"alice","password":"pw"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    res["access_token"].as_str().expect("token").into()
}

/// What one run measured.
pub struct Run {
    /// Every page's latency, request written to response read, in µs, sorted.
    pub latencies: Vec<u32>,
    /// How long the run took.
    pub elapsed: Duration,
}

impl Run {
    /// Pages served per second.
    pub fn pages_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `p` (0 to 1), in ms.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let at = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies[at]) / 1000.0
    }
}

/// Runs `connections` connections for `seconds`, spread in turn over `servers`, all with
/// `token`; `during` is called every 20 ms while they run (to sample the server).
pub async fn run(
    servers: &[SocketAddr],
    token: &Arc<str>,
    connections: usize,
    seconds: u64,
    mut during: impl FnMut(),
) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|i| {
            let addr = servers[i % servers.len()];
            tokio::spawn(connection(addr, Arc::clone(token), Arc::clone(&stop)))
        })
        .collect();
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
        during();
    }
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("connection task"));
    }
    latencies.sort_unstable();
    Run {
        latencies,
        elapsed: started.elapsed(),
    }
}

/// One keep-alive connection paging until `stop`: the latency of every page, in µs.
async fn connection(addr: SocketAddr, token: Arc<str>, stop: Arc<AtomicBool>) -> Vec<u32> {
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
