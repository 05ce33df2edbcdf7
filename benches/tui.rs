//! The browser's speed goals, measured on the real state machine and views:
//!
//! - `start`: the steps `roam` takes from launch to the first drawn conversation list on
//!   the demo, with the demo database already cached (the second run): goal < 40 ms.
//!   `demo_to_first_list_frame` is today's path; `old_shape` is the path before issue 12
//!   point 4, in the same run: the assets hashed on every start to find the cache, and
//!   the demo user's password stored with a strong (default argon2id) hash. The ratio of
//!   the medians is printed.
//! - `draw`: one 200×60 frame (ratatui `TestBackend`) of a conversation with 1,000,000
//!   loaded messages, at the newest end and mid-way up after scrolling: goal < 2 ms and
//!   within 2× of the same frame with 1,000 loaded. `scroll_draw` adds the key press.
//! - `prepend`: `update(Event::HistoryPage)` merging an older 50-message page into
//!   1,000,000 loaded: goal < 1 ms.
//! - `append`: `update(Event::HistoryPage)` merging a newer 50-message page (a refresh's
//!   answer) at the newest end of 1,000,000 loaded: goal < 1 ms.
//! - `search`: keystrokes in the search input over 1,000,000 loaded: goal < 200 ms.
//!
//! Histories are built through `App::update`, page by page, as the event loop would.
//! Memory per message is `benches/memory.rs`.

mod common;

use std::cell::RefCell;
use std::path::PathBuf;

use sha2::Digest;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    CTX, HEIGHT, WIDTH, answer, ch, ctrl, loaded_app, older_page, press, scroll_to_middle,
};
use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use crossterm::event::KeyCode;
use jiff::tz::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use roam::client::{Client, ClientConfig, Credential};
use roam::demo::{DEMO_APPKEY, DEMO_PASSWORD, DEMO_USER};
use roam::embedded::demo_database;
use roam::protocol::HistoryPage;
use roam::server::{ServerConfig, ServerHandle, spawn};
use roam::store::StorePool;
use roam::tui::app::{App, Effect, Event, FetchRequest};
use roam::tui::fetch;
use roam::tui::view;

/// The big conversation: a million loaded out of two on the "server", so older pages
/// remain to be prepended.
const MILLION: u64 = 1_000_000;
const THOUSAND: u64 = 1_000;
const TOTAL: u64 = 2_000_000;

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal")
}

fn draw(terminal: &mut Terminal<TestBackend>, app: &App) {
    terminal
        .draw(|frame| view::draw(app, &CTX, frame))
        .expect("draw");
}

/// Builds the app and says how long that took.
fn build(loaded: u64) -> App {
    let started = Instant::now();
    let app = loaded_app(loaded, TOTAL);
    eprintln!(
        "loaded {loaded} messages through update in {:.2?}",
        started.elapsed()
    );
    app
}

// ----- start ---------------------------------------------------------------------------

/// What `roam` does before its first frame with conversations, in-process: the cached
/// demo database, the embedded server, login, the first list page through the fetch
/// path, and the frames the event loop draws (loading, then the list).
async fn start(shape: &Shape, terminal: &mut Terminal<TestBackend>) -> (ServerHandle, App) {
    let db = match shape {
        Shape::Today(cache) => {
            let dir = cache.to_path_buf();
            tokio::task::spawn_blocking(move || demo_database(&dir))
                .await
                .expect("task")
                .expect("demo database")
        }
        Shape::Old(db) => {
            // What finding the cache cost before: a digest of all the assets.
            let mut hash = sha2::Sha256::new();
            hash.update(roam::embedded::DEMO_HISTORY);
            hash.update(roam::embedded::DEMO_STATE.as_bytes());
            std::hint::black_box(hash.finalize());
            db.clone()
        }
    };
    let pool = StorePool::open(&db, 2).expect("pool");
    let server = spawn(Arc::new(pool), ServerConfig::new(DEMO_APPKEY), None)
        .await
        .expect("server");
    let client = Client::new(ClientConfig::new(
        server.base_url(),
        DEMO_APPKEY.to_string(),
        DEMO_USER.to_string(),
        Credential::Password(DEMO_PASSWORD.to_string()),
    ))
    .expect("client");
    client.login().await.expect("login");
    let tz = TimeZone::try_system().unwrap_or(TimeZone::UTC);
    let mut app = App::new(WIDTH, HEIGHT, tz);
    let mut fx = app.start();
    draw(terminal, &app);
    while app.conversations().is_empty() {
        let (cursor, request_id) = fx
            .iter()
            .find_map(|e| match e {
                Effect::Fetch(FetchRequest::ConversationPage { cursor, request_id }) => {
                    Some((cursor.clone(), *request_id))
                }
                _ => None,
            })
            .expect("a list request");
        // As the fetch task asks.
        let result = fetch::Source::conversation_page(
            &client,
            cursor.as_deref().unwrap_or(""),
            roam::tui::app::LIST_PAGE_SIZE,
        )
        .await;
        fx = app.update(Event::ConversationPage { request_id, result });
    }
    draw(terminal, &app);
    (server, app)
}

/// Which start is measured.
enum Shape {
    /// Today's: the cache found from the remembered digest, a light demo hash.
    Today(PathBuf),
    /// Before issue 12: this database (the demo user with a strong hash), found after
    /// hashing the assets.
    Old(PathBuf),
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn bench_start(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("temp dir");
    // The first run imports the demo; what is measured is every run after it.
    let started = Instant::now();
    let db = demo_database(cache.path()).expect("first import");
    eprintln!("first run: demo imported in {:.2?}", started.elapsed());
    let old_dir = tempfile::tempdir().expect("temp dir");
    let old_db = old_dir.path().join("demo-old.sqlite");
    std::fs::copy(&db, &old_db).expect("copy the demo database");
    roam::store::Store::open(&old_db)
        .and_then(|mut s| s.set_password(DEMO_USER, DEMO_PASSWORD))
        .expect("a strong hash for the old shape");
    let shapes = [
        (
            "demo_to_first_list_frame",
            Shape::Today(cache.path().to_path_buf()),
        ),
        ("old_shape", Shape::Old(old_db)),
    ];
    let mut medians = Vec::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let mut group = c.benchmark_group("start");
    group.sample_size(20);
    for (name, shape) in &shapes {
        let mut times = Vec::new();
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut terminal = terminal();
                    let t = Instant::now();
                    let (server, app) = rt.block_on(start(shape, &mut terminal));
                    let d = t.elapsed();
                    total += d;
                    times.push(d);
                    assert!(!app.conversations().is_empty());
                    rt.block_on(server.shutdown()).expect("shutdown");
                }
                total
            });
        });
        medians.push(median(times));
    }
    group.finish();
    if let [today, old] = medians[..] {
        eprintln!(
            "start: today {today:.2?}, old shape {old:.2?} (medians of single starts): old/today = {:.1}×",
            old.as_secs_f64() / today.as_secs_f64().max(f64::EPSILON)
        );
    }
}

// ----- draw, prepend, search -----------------------------------------------------------

fn bench_draw(c: &mut Criterion, app: &mut App, label: &str) {
    let mut group = c.benchmark_group("draw");
    let mut t = terminal();
    group.bench_function(format!("newest/{label}"), |b| b.iter(|| draw(&mut t, app)));

    // One line up and back down, and the frame after each: what holding a key costs.
    let mut up = true;
    group.bench_function(format!("scroll_line_and_draw/{label}"), |b| {
        b.iter(|| {
            let key = if up { KeyCode::Up } else { KeyCode::Down };
            up = !up;
            app.update(press(key));
            draw(&mut t, app);
        });
    });
    app.update(press(KeyCode::End));

    let started = Instant::now();
    scroll_to_middle(app);
    eprintln!(
        "{label}: scrolled to the middle (rev {}) in {:.2?}",
        app.current_history().map_or(0, common::from_newest),
        started.elapsed()
    );
    group.bench_function(format!("middle/{label}"), |b| b.iter(|| draw(&mut t, app)));
    app.update(press(KeyCode::End));
    group.finish();
}

/// Merging the next older page: the request is put in flight outside the measurement
/// (`Home` scrolls to the top, which asks for it), the answer's `update` is measured.
fn bench_prepend(c: &mut Criterion, app: &mut App, label: &str) {
    let app = RefCell::new(app);
    let before = app.borrow().current_history().map_or(0, |h| h.len());
    let mut group = c.benchmark_group("prepend");
    // Every iteration adds 50 messages for good: keep their number bounded (a few
    // thousand iterations, so 1M grows by about a quarter; the figure printed after says).
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(300));
    group.bench_function(format!("page_of_50/{label}"), |b| {
        b.iter_batched(
            || {
                let mut app = app.borrow_mut();
                let in_flight = app
                    .current_history()
                    .and_then(|h| h.in_flight())
                    .map(|f| (f.cursor.clone(), f.request_id));
                let (cursor, id) = in_flight
                    .or_else(|| older_page(&app.update(press(KeyCode::Home))))
                    .expect("a request for an older page");
                answer(cursor, id, TOTAL)
            },
            |event| app.borrow_mut().update(event),
            BatchSize::PerIteration,
        );
    });
    group.finish();
    let after = app.borrow().current_history().map_or(0, |h| h.len());
    eprintln!("prepend/{label}: {before} loaded before, {after} after");
}

/// Merging a newer 50-message page at the newest end, as a refresh brings it: `r` asks
/// for it outside the measurement, the answer's `update` is measured.
fn bench_append(c: &mut Criterion, app: &mut App, label: &str) {
    let app = RefCell::new(app);
    let before = app.borrow().current_history().map_or(0, |h| h.len());
    let mut group = c.benchmark_group("append");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(300));
    let mut next = 0u64;
    group.bench_function(format!("page_of_50/{label}"), |b| {
        b.iter_batched(
            || {
                let mut app = app.borrow_mut();
                let fx = app.update(ch('r'));
                let request_id = fx
                    .iter()
                    .find_map(|e| match e {
                        Effect::Fetch(FetchRequest::History { request_id, .. }) => {
                            Some(*request_id)
                        }
                        _ => None,
                    })
                    .expect("r asks for newer messages");
                let messages = (0..50)
                    .map(|_| {
                        next += 1;
                        let mut m = common::message(0, 1);
                        m.id = u64::MAX / 2 + next;
                        m.time = common::NEWEST + next as i64 * 1000;
                        m
                    })
                    .collect();
                Event::HistoryPage {
                    conversation: common::key(),
                    request_id,
                    result: Ok(HistoryPage {
                        messages,
                        next_cursor: None,
                        is_last: true,
                        undecodable: 0,
                    }),
                }
            },
            |event| app.borrow_mut().update(event),
            BatchSize::PerIteration,
        );
    });
    group.finish();
    let after = app.borrow().current_history().map_or(0, |h| h.len());
    eprintln!("append/{label}: {before} loaded before, {after} after");
}

/// Opens a fresh search input, types `prefix` (plain mode), then turns regex mode on if
/// asked: the state before the measured keystroke(s).
fn fresh_search(app: &mut App, prefix: &str, regex: bool) {
    app.update(press(KeyCode::Esc));
    app.update(ch('/'));
    for c in prefix.chars() {
        app.update(ch(c));
    }
    if regex {
        app.update(ctrl('r'));
    }
}

fn bench_search(c: &mut Criterion, app: &mut App, label: &str) {
    let app = RefCell::new(app);
    let mut group = c.benchmark_group("search");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    // (name, prefix typed before, regex mode, the keys measured)
    let cases: [(&str, &str, bool, &str); 6] = [
        // Plain: the first character scans everything; later ones only narrow.
        ("plain_rare/first_key", "", false, "q"),
        ("plain_rare/whole_query", "", false, "quokka"),
        ("plain_often/first_key", "", false, "t"),
        ("plain_often/whole_query", "", false, "the"),
        // Regex: every keystroke scans everything; measured: the one completing it.
        ("regex_rare/last_key", "qu[o0]k+", true, "a"),
        ("regex_often/last_key", "the|我", true, "们"),
    ];
    for (name, prefix, regex, keys) in cases {
        group.bench_function(format!("{name}/{label}"), |b| {
            b.iter_batched(
                || fresh_search(&mut app.borrow_mut(), prefix, regex),
                |()| {
                    let mut app = app.borrow_mut();
                    for c in keys.chars() {
                        app.update(ch(c));
                    }
                },
                BatchSize::PerIteration,
            );
        });
        // (Nothing ran when a filter skipped the case.)
        if let Some(s) = app
            .borrow()
            .search()
            .filter(|s| s.query() == format!("{prefix}{keys}"))
        {
            eprintln!(
                "search/{name}/{label}: {:?} → {} matching messages",
                s.query(),
                s.count()
            );
        }
    }
    group.finish();
    app.borrow_mut().update(press(KeyCode::Esc));
}

fn bench_history(c: &mut Criterion) {
    let mut small = build(THOUSAND);
    bench_draw(c, &mut small, "1k");
    drop(small);

    let mut big = build(MILLION);
    bench_draw(c, &mut big, "1m");
    bench_search(c, &mut big, "1m");
    bench_prepend(c, &mut big, "1m");
    bench_append(c, &mut big, "1m");
}

criterion_group!(benches, bench_start, bench_history);
criterion_main!(benches);
