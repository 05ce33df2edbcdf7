//! Issue 12 point 3: a search continuing into older history over the whole big demo group
//! (`BIG_CONVERSATION`, about 107,000 messages), in the browser and in the bare client, in
//! one run, with the ratio printed.
//!
//! - `client_alone`: `Client::history` page after page, newest first, from the newest
//!   message to the beginning: the floor the browser is measured against.
//! - `browser`: the real event loop (`tui::run::event_loop`) over a 200×60 `TestBackend`,
//!   with the real fetch task and state machine, against the same embedded server: the
//!   big group is opened, a query that matches nothing is typed and `Ctrl-o` continues the
//!   search to the beginning. Timed from `Ctrl-o` until the loop has taken the keys sent
//!   once the server gave the last page.
//!
//! Each sample times one whole walk of each, one after the other, so both see the same
//! machine; the ratio of the medians is printed at the end (goal: at most 1.3).

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use futures::channel::mpsc as fmpsc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use roam::client::{Client, ClientConfig, Credential};
use roam::demo::{BIG_CONVERSATION, DEMO_APPKEY, DEMO_PASSWORD, DEMO_USER};
use roam::embedded::demo_database;
use roam::protocol::{
    ChatType, ConversationPage, Direction, HistoryFilters, HistoryPage, HistoryQuery,
};
use roam::server::{ServerConfig, ServerHandle, spawn};
use roam::store::StorePool;
use roam::tui::app::FetchError;
use roam::tui::fetch::{self, Source};
use roam::tui::preferences::Preferences;
use roam::tui::run::event_loop;
use tokio::sync::{Notify, mpsc};

/// The client shared by every walk, as the browser's source: the list holds only the big
/// group (so Enter opens it), and the source says when the list and the last page are in.
struct Watched {
    client: Arc<Client>,
    listed: Arc<Notify>,
    first_page: Arc<Notify>,
    last_page: Arc<Notify>,
}

impl Source for Watched {
    async fn conversation_page(
        &self,
        cursor: &str,
        limit: u32,
    ) -> Result<ConversationPage, FetchError> {
        let mut page = self
            .client
            .conversation_page(cursor, limit)
            .await
            .map_err(|e| FetchError::new(e.description(), false))?;
        page.conversations.retain(|c| c.id == BIG_CONVERSATION);
        self.listed.notify_one();
        Ok(page)
    }

    async fn history(&self, query: HistoryQuery) -> Result<HistoryPage, FetchError> {
        let page = self
            .client
            .history(&query)
            .await
            .map_err(|e| FetchError::new(e.description(), false))?;
        self.first_page.notify_one();
        if page.is_last {
            self.last_page.notify_one();
        }
        Ok(page)
    }
}

/// The bare client's walk: pages until the beginning. Returns the messages seen.
async fn client_walk(client: &Client) -> usize {
    let mut query = HistoryQuery {
        conversation: BIG_CONVERSATION.to_string(),
        kind: ChatType::Group,
        cursor: None,
        page_size: 50,
        direction: Direction::Up,
        filters: HistoryFilters::default(),
    };
    let mut seen = 0;
    loop {
        let page = client.history(&query).await.expect("page");
        seen += page.messages.len();
        match page.next_cursor {
            Some(c) if !page.is_last && query.cursor.as_deref() != Some(c.as_str()) => {
                query.cursor = Some(c);
            }
            _ => return seen,
        }
    }
}

fn press(code: KeyCode, modifiers: KeyModifiers) -> io::Result<TermEvent> {
    Ok(TermEvent::Key(KeyEvent::new(code, modifiers)))
}

/// The browser's walk: see the module docs. Returns the time from `Ctrl-o` to the end.
async fn browser_walk(client: &Arc<Client>) -> Duration {
    let source = Watched {
        client: Arc::clone(client),
        listed: Arc::default(),
        first_page: Arc::default(),
        last_page: Arc::default(),
    };
    let (listed, first_page, last_page) = (
        Arc::clone(&source.listed),
        Arc::clone(&source.first_page),
        Arc::clone(&source.last_page),
    );
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("test terminal");
    let (tx, rx) = fmpsc::unbounded::<io::Result<TermEvent>>();
    let started = Mutex::new(None);
    let driver = async {
        listed.notified().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = tx.unbounded_send(press(KeyCode::Enter, KeyModifiers::NONE));
        first_page.notified().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        for c in "/zqxjvw".chars() {
            let _ = tx.unbounded_send(press(KeyCode::Char(c), KeyModifiers::NONE));
        }
        if let Ok(mut s) = started.lock() {
            *s = Some(Instant::now());
        }
        let _ = tx.unbounded_send(press(KeyCode::Char('o'), KeyModifiers::CONTROL));
        last_page.notified().await;
        let _ = tx.unbounded_send(press(KeyCode::Enter, KeyModifiers::NONE));
        let _ = tx.unbounded_send(press(KeyCode::Char('q'), KeyModifiers::NONE));
    };
    let mut never_stopped = |_| Ok(());
    let (result, ()) = tokio::join!(
        event_loop(
            &mut terminal,
            rx,
            fetch::spawn(source),
            Vec::new(),
            Preferences {
                zone: jiff::tz::TimeZone::UTC,
                ..Preferences::default()
            },
            mpsc::unbounded_channel().1,
            &mut never_stopped,
        ),
        driver
    );
    let ended = Instant::now();
    result.expect("event loop");
    let started = started.lock().ok().and_then(|s| *s).expect("started");
    ended - started
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn bench_walk(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let db = demo_database(cache.path()).expect("demo database");
    let pool = StorePool::open(&db, 2).expect("pool");
    let server: ServerHandle = rt
        .block_on(spawn(Arc::new(pool), ServerConfig::new(DEMO_APPKEY), None))
        .expect("server");
    let client = Arc::new(
        Client::new(ClientConfig::new(
            server.base_url(),
            DEMO_APPKEY.to_string(),
            DEMO_USER.to_string(),
            Credential::Password(DEMO_PASSWORD.to_string()),
        ))
        .expect("client"),
    );
    rt.block_on(client.login()).expect("login");
    let seen = rt.block_on(client_walk(&client));
    eprintln!("{BIG_CONVERSATION}: {seen} messages");

    let bare = Arc::new(Mutex::new(Vec::new()));
    let browser = Arc::new(Mutex::new(Vec::new()));
    let mut group = c.benchmark_group("search_walk");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(30));
    group.bench_function("client_alone", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                rt.block_on(client_walk(&client));
                let d = t.elapsed();
                total += d;
                if let Ok(mut v) = bare.lock() {
                    v.push(d);
                }
            }
            total
        });
    });
    group.bench_function("browser", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let d = rt.block_on(browser_walk(&client));
                total += d;
                if let Ok(mut v) = browser.lock() {
                    v.push(d);
                }
            }
            total
        });
    });
    group.finish();
    let bare = median(bare.lock().map(|v| v.clone()).unwrap_or_default());
    let browser = median(browser.lock().map(|v| v.clone()).unwrap_or_default());
    eprintln!(
        "search_walk: client alone {bare:.2?}, browser {browser:.2?} (medians): browser/client = {:.2}× (goal ≤ 1.3×)",
        browser.as_secs_f64() / bare.as_secs_f64().max(f64::EPSILON)
    );
    rt.block_on(server.shutdown()).expect("shutdown");
}

criterion_group!(benches, bench_walk);
criterion_main!(benches);
