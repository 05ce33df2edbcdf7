//! Several `roam serve` processes over one PostgreSQL database under many concurrent
//! readers, beside one `roam serve` over a SQLite file: the same 20,000-message
//! conversation in each store, paged newest first by the load generator of
//! `benches/load` (each connection one request in flight, spread in turn over the servers).
//!
//! Run: `cargo bench --bench pg_load -- --noplot` (criterion's flags are accepted and
//! ignored); `--connections 64` and `--seconds 10` change the run. The servers are the
//! real binary, each its own process, as an operator runs them; PostgreSQL is a throwaway
//! cluster on this machine (`tests/common/postgres.rs`), so the servers, the database and
//! the generator all share this machine's cores. Each setup prints pages per second and
//! the latency median and 99th percentile, request written to response read.
//!
//! Without PostgreSQL it says so and measures nothing.

mod load;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use roam::store::{Db, Store};

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

const MESSAGES: u64 = 20_000;

/// One `roam serve` process, stopped when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Served {
    /// Starts `roam serve --db db` on a free loopback port; `env` is added to its
    /// environment.
    fn start(db: &str, home: &Path, env: &[(&str, &str)]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roam"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--appkey",
                "acme#chatapp",
            ])
            .args(["--db", db])
            .env("ROAM_CACHE_DIR", home)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("roam serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        // Reads stderr to its end, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("http://").nth(1) {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("roam serve announces its address");
        let addr = addr.parse().expect("an address");
        Served { child, addr }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One row of the table: a store and how many servers over it.
struct Setup<'a> {
    label: &'a str,
    db: &'a str,
    env: &'a [(&'a str, &'a str)],
    servers: usize,
}

/// Options: how many connections, how long.
fn options() -> (usize, u64) {
    let (mut connections, mut seconds) = (64, 10);
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--connections" => connections = pair[1].parse().expect("--connections N"),
            "--seconds" => seconds = pair[1].parse().expect("--seconds N"),
            _ => {}
        }
    }
    (connections, seconds)
}

fn main() {
    let (connections, seconds) = options();
    let Some((cluster, url)) = postgres::database("load") else {
        eprintln!("PostgreSQL is not installed: nothing measured");
        return;
    };
    let name = url.rsplit('/').next().expect("a database name").to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("loadgen")
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let messages = load::conversation(MESSAGES);

    let sqlite = dir.path().join("load.db");
    {
        let mut store = Store::open(&sqlite).expect("open");
        store.set_synchronous("OFF").expect("pragma");
        store.set_password("alice", "pw").expect("user");
        store.insert_messages(&messages).expect("insert");
    }
    rt.block_on(async {
        let db = Db::open(&url).await.expect("PostgreSQL store");
        db.set_password("alice", "pw").await.expect("user");
        db.insert_messages(&messages).await.expect("insert");
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        client
            .batch_execute("VACUUM ANALYZE")
            .await
            .expect("analyze");
    });

    // The password reaches the servers as libpq's variable, never on their command line.
    let pg = cluster.url_without_password(&name);
    let pg_env = [("PGPASSWORD", cluster.password())];
    let sqlite = sqlite.to_string_lossy().into_owned();
    let setups = [
        Setup {
            label: "SQLite, 1 server",
            db: &sqlite,
            env: &[],
            servers: 1,
        },
        Setup {
            label: "PostgreSQL, 1 server",
            db: &pg,
            env: &pg_env,
            servers: 1,
        },
        Setup {
            label: "PostgreSQL, 2 servers",
            db: &pg,
            env: &pg_env,
            servers: 2,
        },
    ];
    println!(
        "pg_load: {MESSAGES} messages, pages of 50, {connections} connections, {seconds}s per run, {} cores",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "{:<24} {:>10} {:>9} {:>9} {:>9}",
        "setup", "pages", "pages/s", "p50 ms", "p99 ms"
    );
    for Setup {
        label,
        db,
        env,
        servers,
    } in setups
    {
        let served: Vec<Served> = (0..servers)
            .map(|_| Served::start(db, dir.path(), env))
            .collect();
        let addrs: Vec<SocketAddr> = served.iter().map(|s| s.addr).collect();
        // One login: on PostgreSQL the token from the first server works on every other.
        let token = rt.block_on(load::login(&format!("http://{}", addrs[0])));
        let run = rt.block_on(load::run(&addrs, &token, connections, seconds, || {}));
        println!(
            "{label:<24} {:>10} {:>9.0} {:>9.2} {:>9.2}",
            run.latencies.len(),
            run.pages_per_second(),
            run.percentile(0.50),
            run.percentile(0.99),
        );
    }
}
